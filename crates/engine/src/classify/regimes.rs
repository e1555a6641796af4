//! Legal regimes as data: which source countries a regime governs, which destinations it
//! treats as domestic, and which transfer bases (adequacy, conditional) it recognises.
//!
//! Most regimes are destination rules (a flow leaves the source jurisdiction). Three other
//! shapes exist in law and are expressed by `kind`: a localisation rule (domestic storage
//! first, which no transfer basis cures), a recipient rule that depends on the country the
//! vendor operates from rather than on where the packets went (the US DOJ rule on countries
//! of concern), and a jurisdiction with no transfer restriction in force (recorded so the
//! catalog says so, never a finding).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::Deserialize;

use super::countries::{Countries, UNKNOWN_COUNTRY};
use super::vendors::Vendor;
use super::{CatalogHeader, CatalogIdentity, CatalogText, SourceRef};
use xborder_model::error::{Error, Result};

/// GeoIP pseudo-code for an address located only to Asia/Pacific: as unlocated as `ZZ`
/// (for PIPL it may even be mainland China), so never judged as a definite country.
pub const ASIA_PACIFIC_UNLOCATED: &str = "AP";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegimesFile {
    catalog: CatalogHeader,
    #[serde(default)]
    regime: Vec<RegimeEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegimeEntry {
    id: String,
    name: String,
    #[serde(default)]
    name_zh: Option<String>,
    jurisdiction: String,
    #[serde(default)]
    kind: Option<String>,
    in_force: String,
    #[serde(default)]
    in_force_until: Option<String>,
    rule_id: String,
    citation: String,
    source_countries: Vec<String>,
    #[serde(default)]
    domestic_destinations: Vec<String>,
    #[serde(default)]
    recipient_countries: Vec<String>,
    obligation: String,
    #[serde(default)]
    auditor_evidence: Vec<String>,
    default_basis: String,
    sources: Vec<SourceRef>,
    #[serde(default)]
    basis: Vec<BasisEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BasisEntry {
    destination: String,
    kind: String,
    decision: String,
    scope: String,
    #[serde(default)]
    recipient_list: Option<String>,
    #[serde(default)]
    valid_from: Option<String>,
    #[serde(default)]
    valid_until: Option<String>,
}

/// What makes a flow a finding under a regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegimeKind {
    /// Source in the regime's countries, destination outside its domestic destinations;
    /// the basis entries say how the regime recognises the destination.
    Transfer,
    /// Same trigger as `Transfer`, but the rule is that the data must first be stored at
    /// home (e.g. Russia 152-FZ Art. 18(5)): no adequacy or contract cures it, so a
    /// localisation regime has no basis entries.
    Localisation,
    /// Source in the regime's countries and the vendor operated from one of the
    /// regime's recipient countries, whatever the destination address (28 CFR 202: a US
    /// site sending to a PRC-operated API in Singapore or the US is still caught).
    RecipientCountry,
    /// No transfer restriction is in force (e.g. Hong Kong PDPO s.33 never commenced).
    /// Recorded so reports say so instead of staying silent; never a finding.
    NoRestriction,
}

impl RegimeKind {
    fn parse(s: Option<&str>) -> Option<Self> {
        Some(match s.unwrap_or("transfer") {
            "transfer" => RegimeKind::Transfer,
            "localisation" => RegimeKind::Localisation,
            "recipient-country" => RegimeKind::RecipientCountry,
            "no-restriction" => RegimeKind::NoRestriction,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RegimeKind::Transfer => "transfer",
            RegimeKind::Localisation => "localisation",
            RegimeKind::RecipientCountry => "recipient-country",
            RegimeKind::NoRestriction => "no-restriction",
        }
    }
}

/// How a regime recognises transfers to one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BasisKind {
    /// The destination as a whole is covered.
    Adequacy,
    /// Covered only for some recipients (e.g. US: DPF-certified organisations).
    Conditional,
}

#[derive(Debug, Clone)]
pub struct Basis {
    /// The code or `@GROUP` as written in the catalog.
    pub destination: String,
    /// `destination` expanded against the country catalog.
    pub destinations: BTreeSet<String>,
    pub kind: BasisKind,
    pub decision: String,
    pub scope: String,
    /// For a conditional basis: the list the recipient must be on when it is not the
    /// EU-U.S. DPF list the vendor catalog records (e.g. the UK Extension).
    pub recipient_list: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

/// One regime, resolved against the country catalog.
#[derive(Debug, Clone)]
pub struct Regime {
    pub id: String,
    pub name: String,
    pub name_zh: Option<String>,
    pub jurisdiction: String,
    pub kind: RegimeKind,
    /// First day the rule applies; flows before it are not findings under it.
    pub in_force: NaiveDate,
    /// Last day the rule applies, for a rule since replaced.
    pub in_force_until: Option<NaiveDate>,
    pub rule_id: String,
    pub citation: String,
    pub obligation: String,
    pub auditor_evidence: Vec<String>,
    pub default_basis: String,
    pub sources: Vec<SourceRef>,
    pub source_countries: BTreeSet<String>,
    pub domestic_destinations: BTreeSet<String>,
    /// For `RecipientCountry`: the vendor operator countries that trigger the rule.
    pub recipient_countries: BTreeSet<String>,
    pub bases: Vec<Basis>,
}

/// What the decision knows about who received a flow: the vendor, when attributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient<'a> {
    /// The vendor catalog's `dpf_certified` (EU-U.S. DPF list): yes, no, n/a, unverified.
    pub dpf_certified: &'a str,
    /// The country the vendor operates from (the catalog's `hq_country`).
    pub operator_country: &'a str,
}

impl<'a> From<&'a Vendor> for Recipient<'a> {
    fn from(v: &'a Vendor) -> Self {
        Recipient {
            dpf_certified: v.dpf_certified.as_str(),
            operator_country: v.hq_country.as_str(),
        }
    }
}

/// A regime's verdict on one flow: it is a cross-border transfer under this regime.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Finding {
    pub regime: String,
    pub rule_id: String,
    pub citation: String,
    pub transfer_basis: String,
}

#[derive(Debug, Clone)]
pub struct Regimes {
    pub identity: CatalogIdentity,
    pub regimes: Vec<Regime>,
}

/// A `YYYY-MM-DD` field, refused with the file, regime and field named when it is not a
/// real calendar date (`2021-02-30` is not).
fn parse_date(ctx: &str, field: &str, value: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        Error::config(
            ctx,
            format!("field `{field}`: `{value}` is not a valid YYYY-MM-DD calendar date"),
        )
    })
}

impl Regimes {
    pub fn load(text: &CatalogText, countries: &Countries) -> Result<Self> {
        let file: RegimesFile = text.parse()?;
        let identity = text.identity("regimes", &file.catalog);
        let label = text.label.as_str();
        if file.regime.is_empty() {
            return Err(Error::config(
                label,
                "the regime catalog has no [[regime]] entries: every flow would be judged \
                 under no regime and the run would report no findings",
            ));
        }
        let mut regimes = Vec::new();
        for r in file.regime {
            if regimes.iter().any(|x: &Regime| x.id == r.id) {
                return Err(Error::config(
                    label,
                    format!("regime `{}` is defined twice", r.id),
                ));
            }
            let ctx = format!("{label} (regime {})", r.id);
            if r.sources.is_empty() {
                return Err(Error::config(
                    &ctx,
                    "field `sources`: the regime has no sources",
                ));
            }
            let kind = RegimeKind::parse(r.kind.as_deref()).ok_or_else(|| {
                Error::config(
                    &ctx,
                    format!(
                        "field `kind`: `{}` must be transfer, localisation, recipient-country \
                         or no-restriction",
                        r.kind.as_deref().unwrap_or_default()
                    ),
                )
            })?;
            let in_force = parse_date(&ctx, "in_force", &r.in_force)?;
            let in_force_until = r
                .in_force_until
                .as_deref()
                .map(|s| parse_date(&ctx, "in_force_until", s))
                .transpose()?;
            if let Some(until) = in_force_until {
                if until < in_force {
                    return Err(Error::config(
                        &ctx,
                        format!("field `in_force_until`: {until} is before `in_force` {in_force}"),
                    ));
                }
            }
            let recipient_countries = countries.expand(&ctx, &r.recipient_countries)?;
            match kind {
                RegimeKind::RecipientCountry if recipient_countries.is_empty() => {
                    return Err(Error::config(
                        &ctx,
                        "field `recipient_countries`: a recipient-country regime needs at \
                         least one country",
                    ))
                }
                RegimeKind::RecipientCountry => {}
                _ if !recipient_countries.is_empty() => {
                    return Err(Error::config(
                        &ctx,
                        format!(
                            "field `recipient_countries` is only for kind recipient-country, \
                             not {}",
                            kind.as_str()
                        ),
                    ))
                }
                _ => {}
            }
            if kind != RegimeKind::Transfer && !r.basis.is_empty() {
                return Err(Error::config(
                    &ctx,
                    format!(
                        "a {} regime cannot have [[regime.basis]] entries: only a transfer \
                         regime recognises destinations",
                        kind.as_str()
                    ),
                ));
            }
            let mut bases = Vec::new();
            for b in r.basis {
                let bctx = format!("{ctx} (basis {})", b.destination);
                let destinations = countries.expand(&bctx, std::slice::from_ref(&b.destination))?;
                let kind = match b.kind.as_str() {
                    "adequacy" => BasisKind::Adequacy,
                    "conditional" => BasisKind::Conditional,
                    other => {
                        return Err(Error::config(
                            &bctx,
                            format!("field `kind`: `{other}` must be adequacy or conditional"),
                        ))
                    }
                };
                let valid_from = b
                    .valid_from
                    .as_deref()
                    .map(|s| parse_date(&bctx, "valid_from", s))
                    .transpose()?;
                let valid_until = b
                    .valid_until
                    .as_deref()
                    .map(|s| parse_date(&bctx, "valid_until", s))
                    .transpose()?;
                if let (Some(from), Some(until)) = (valid_from, valid_until) {
                    if from > until {
                        return Err(Error::config(
                            &bctx,
                            format!("field `valid_from`: {from} is after `valid_until` {until}"),
                        ));
                    }
                }
                bases.push(Basis {
                    destination: b.destination,
                    destinations,
                    kind,
                    decision: b.decision,
                    scope: b.scope,
                    recipient_list: b.recipient_list,
                    valid_from,
                    valid_until,
                });
            }
            regimes.push(Regime {
                source_countries: countries.expand(&ctx, &r.source_countries)?,
                domestic_destinations: countries.expand(&ctx, &r.domestic_destinations)?,
                recipient_countries,
                id: r.id,
                name: r.name,
                name_zh: r.name_zh,
                jurisdiction: r.jurisdiction,
                kind,
                in_force,
                in_force_until,
                rule_id: r.rule_id,
                citation: r.citation,
                obligation: r.obligation,
                auditor_evidence: r.auditor_evidence,
                default_basis: r.default_basis,
                sources: r.sources,
                bases,
            });
        }
        Ok(Regimes { identity, regimes })
    }

    /// The regimes that govern at least one of `source_countries` (the configured sites'
    /// countries), in catalog order; every regime when no country is given. Reports list
    /// these, so a mainland-only organisation is not shown twenty empty regimes, while a
    /// jurisdiction with no restriction in force (Hong Kong) is still shown for its sites.
    pub fn for_sources<'a, S: AsRef<str>>(&'a self, source_countries: &[S]) -> Vec<&'a Regime> {
        self.regimes
            .iter()
            .filter(|r| {
                source_countries.is_empty()
                    || source_countries
                        .iter()
                        .any(|c| r.source_countries.contains(c.as_ref()))
            })
            .collect()
    }

    /// Every regime under which a flow from `source_country` to `destination_country` on
    /// `day`, received by `recipient` when the vendor is known, is a finding. An
    /// unlocatable destination (`ZZ`, `AP`) is reported, never assumed domestic: silence
    /// would hide exactly the flows an auditor must ask about.
    pub fn evaluate(
        &self,
        source_country: &str,
        destination_country: &str,
        day: NaiveDate,
        recipient: Option<Recipient<'_>>,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        for r in &self.regimes {
            if !r.source_countries.contains(source_country) || !r.in_force_on(day) {
                continue;
            }
            let transfer_basis = match r.kind {
                RegimeKind::NoRestriction => continue,
                RegimeKind::Transfer | RegimeKind::Localisation
                    if r.domestic_destinations.contains(destination_country) =>
                {
                    continue
                }
                RegimeKind::Transfer => r.basis_for(destination_country, day, recipient),
                RegimeKind::Localisation if is_unlocated(destination_country) => {
                    format!(
                        "{}; localisation: {}",
                        undetermined(destination_country),
                        r.default_basis
                    )
                }
                RegimeKind::Localisation => format!("localisation: {}", r.default_basis),
                RegimeKind::RecipientCountry => match recipient {
                    Some(v) if r.recipient_countries.contains(v.operator_country) => format!(
                        "{} (vendor operated from {})",
                        r.default_basis, v.operator_country
                    ),
                    _ => continue,
                },
            };
            out.push(Finding {
                regime: r.id.clone(),
                rule_id: r.rule_id.clone(),
                citation: r.citation.clone(),
                transfer_basis,
            });
        }
        out
    }
}

/// Destinations GeoIP could not place in one country.
fn is_unlocated(destination: &str) -> bool {
    destination == UNKNOWN_COUNTRY || destination == ASIA_PACIFIC_UNLOCATED
}

fn undetermined(destination: &str) -> String {
    if destination == ASIA_PACIFIC_UNLOCATED {
        "undetermined (destination located only to Asia/Pacific, code AP)".into()
    } else {
        "undetermined (destination could not be geolocated)".into()
    }
}

impl Regime {
    /// Whether the rule applied on `day`.
    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        day >= self.in_force && self.in_force_until.is_none_or(|u| day <= u)
    }

    fn basis_for(
        &self,
        destination: &str,
        day: NaiveDate,
        recipient: Option<Recipient<'_>>,
    ) -> String {
        if is_unlocated(destination) {
            return undetermined(destination);
        }
        let basis = self.bases.iter().find(|b| {
            b.destinations.contains(destination)
                && b.valid_from.is_none_or(|f| day >= f)
                && b.valid_until.is_none_or(|u| day <= u)
        });
        let Some(b) = basis else {
            return self.default_basis.clone();
        };
        if b.kind == BasisKind::Adequacy {
            return format!("adequacy: {} ({})", b.decision, b.scope);
        }
        // A conditional basis covers only listed recipients. A vendor the catalog records
        // as not certified, or as one the framework cannot cover (not a US organisation),
        // gets the regime's default: "conditional" would suggest a cover it cannot have.
        let certified = match recipient.map(|v| v.dpf_certified) {
            Some("no") => {
                return format!(
                    "{}; {} does not cover this vendor (not certified)",
                    self.default_basis, b.decision
                )
            }
            Some("n/a") => {
                return format!(
                    "{}; {} does not apply to this vendor (not an organisation it can certify)",
                    self.default_basis, b.decision
                )
            }
            Some("yes") => match &b.recipient_list {
                None => "vendor listed as certified".to_string(),
                Some(list) => format!(
                    "vendor listed under the EU-U.S. DPF; confirm its entry also covers the {list}"
                ),
            },
            Some(_) => "vendor certification unverified".to_string(),
            None => "recipient unknown".to_string(),
        };
        format!("conditional: {} ({}); {certified}", b.decision, b.scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::embedded;

    fn countries() -> Countries {
        Countries::load(&CatalogText::load(None, "c", embedded::COUNTRIES).unwrap()).unwrap()
    }

    fn regimes() -> Regimes {
        Regimes::load(
            &CatalogText::load(None, "r", embedded::REGIMES).unwrap(),
            &countries(),
        )
        .unwrap()
    }

    fn load_str(text: &str) -> Result<Regimes> {
        Regimes::load(
            &CatalogText {
                label: "my-regimes.toml".into(),
                text: text.into(),
            },
            &countries(),
        )
    }

    fn ids(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|x| x.regime.as_str()).collect()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn vendor<'a>(dpf: &'a str, country: &'a str) -> Option<Recipient<'a>> {
        Some(Recipient {
            dpf_certified: dpf,
            operator_country: country,
        })
    }

    /// The one finding under `id`, or a panic naming what was found.
    fn basis(
        r: &Regimes,
        src: &str,
        dst: &str,
        d: NaiveDate,
        v: Option<Recipient>,
        id: &str,
    ) -> String {
        let f = r.evaluate(src, dst, d, v);
        f.iter()
            .find(|x| x.regime == id)
            .unwrap_or_else(|| panic!("no {id} finding for {src}->{dst}: {:?}", ids(&f)))
            .transfer_basis
            .clone()
    }

    const JULY: (i32, u32, u32) = (2026, 7, 2);

    fn july() -> NaiveDate {
        day(JULY.0, JULY.1, JULY.2)
    }

    #[test]
    fn prc_rules_treat_hk_mo_tw_as_abroad() {
        let r = regimes();
        for dest in ["US", "HK", "MO", "TW", "SG", "ZZ", "AP"] {
            assert_eq!(
                ids(&r.evaluate("CN", dest, july(), None)),
                vec!["PIPL", "DSL"],
                "{dest}"
            );
        }
        assert!(r.evaluate("CN", "CN", july(), None).is_empty());
    }

    #[test]
    fn pipl_names_the_certification_route_and_article_41() {
        let r = regimes();
        let pipl = r.regimes.iter().find(|x| x.id == "PIPL").unwrap();
        assert!(pipl.citation.contains("Art. 41") && pipl.citation.contains("Order No. 20"));
        assert!(pipl
            .obligation
            .contains("critical information infrastructure operator"));
        assert!(pipl
            .obligation
            .contains("sensitive personal information is never exempt"));
        assert!(basis(&r, "CN", "US", july(), None, "PIPL").contains("outbound certification"));
        let dsl = r.regimes.iter().find(|x| x.id == "DSL").unwrap();
        assert!(dsl.citation.contains("GB/T 43697-2024"));
    }

    #[test]
    fn asia_pacific_pseudo_code_is_undetermined_like_zz() {
        let r = regimes();
        for (src, id) in [
            ("CN", "PIPL"),
            ("DE", "GDPR"),
            ("GB", "UK-GDPR"),
            ("JP", "APPI"),
        ] {
            let b = basis(&r, src, "AP", july(), vendor("yes", "US"), id);
            assert!(b.starts_with("undetermined"), "{id}: {b}");
            let b = basis(&r, src, "ZZ", july(), None, id);
            assert!(b.starts_with("undetermined"), "{id}: {b}");
        }
        let loc = basis(&r, "RU", "AP", july(), None, "152-FZ-LOC");
        assert!(
            loc.starts_with("undetermined") && loc.contains("localisation"),
            "{loc}"
        );
    }

    #[test]
    fn gdpr_bases() {
        let r = regimes();
        assert!(r.evaluate("DE", "FR", july(), None).is_empty());
        assert!(r.evaluate("DE", "EU", july(), None).is_empty());
        let us = basis(&r, "DE", "US", july(), vendor("unverified", "US"), "GDPR");
        assert!(
            us.starts_with("conditional:") && us.contains("C-703/25 P"),
            "{us}"
        );
        assert!(us.ends_with("vendor certification unverified"), "{us}");
        let us = basis(&r, "DE", "US", july(), vendor("yes", "US"), "GDPR");
        assert!(us.ends_with("vendor listed as certified"), "{us}");
        // The DPF decision did not exist before 10 July 2023.
        let before = basis(&r, "DE", "US", day(2023, 7, 9), vendor("yes", "US"), "GDPR");
        assert!(before.starts_with("none"), "{before}");
        let ch = basis(&r, "IE", "CH", july(), None, "GDPR");
        assert!(ch.starts_with("adequacy:"), "{ch}");
        let cn = basis(&r, "DE", "CN", july(), vendor("n/a", "CN"), "GDPR");
        assert!(cn.starts_with("none"), "{cn}");
        // Brazil's decision applies only from its adoption date.
        assert!(basis(&r, "DE", "BR", day(2025, 12, 1), None, "GDPR").starts_with("none"));
        assert!(basis(&r, "DE", "BR", july(), None, "GDPR").starts_with("adequacy"));
        // The UK renewal runs to 27 December 2031.
        assert!(basis(&r, "DE", "GB", day(2031, 12, 27), None, "GDPR").starts_with("adequacy"));
        assert!(basis(&r, "DE", "GB", day(2031, 12, 28), None, "GDPR").starts_with("none"));
        let gdpr = r.regimes.iter().find(|x| x.id == "GDPR").unwrap();
        assert!(gdpr.citation.contains("Art. 48") && gdpr.citation.contains("2021/914"));
    }

    #[test]
    fn a_vendor_the_dpf_cannot_cover_gets_no_conditional_basis() {
        let r = regimes();
        // Mistral (FR, n/a) reached at a US address: the DPF cannot cover it.
        let na = basis(&r, "DE", "US", july(), vendor("n/a", "FR"), "GDPR");
        assert!(
            na.starts_with("none") && na.contains("does not apply"),
            "{na}"
        );
        let no = basis(&r, "DE", "US", july(), vendor("no", "US"), "GDPR");
        assert!(
            no.starts_with("none") && no.contains("not certified"),
            "{no}"
        );
        let uk = basis(&r, "GB", "US", july(), vendor("n/a", "FR"), "UK-GDPR");
        assert!(uk.starts_with("none"), "{uk}");
        // An unattributed flow keeps the conditional wording: the recipient is unknown.
        let unknown = basis(&r, "DE", "US", july(), None, "GDPR");
        assert!(unknown.starts_with("conditional:") && unknown.ends_with("recipient unknown"));
    }

    #[test]
    fn eea_includes_outermost_regions_and_aland() {
        let r = regimes();
        for dest in ["AX", "GF", "GP", "MQ", "RE", "YT", "MF"] {
            assert!(r.evaluate("FR", dest, july(), None).is_empty(), "{dest}");
            assert!(basis(&r, "GB", dest, july(), None, "UK-GDPR").starts_with("adequacy"));
        }
        // ... and a site in Reunion is an EEA source.
        assert_eq!(ids(&r.evaluate("RE", "US", july(), None)), vec!["GDPR"]);
    }

    #[test]
    fn uk_gdpr_with_the_uk_extension() {
        let r = regimes();
        assert!(r.evaluate("GB", "GB", july(), None).is_empty());
        assert_eq!(ids(&r.evaluate("GB", "FR", july(), None)), vec!["UK-GDPR"]);
        for dest in ["FR", "EU", "GI", "CH", "JP", "KR", "NZ"] {
            let b = basis(&r, "GB", dest, july(), None, "UK-GDPR");
            assert!(b.starts_with("adequacy"), "{dest}: {b}");
        }
        let us = basis(&r, "GB", "US", july(), vendor("yes", "US"), "UK-GDPR");
        assert!(
            us.starts_with("conditional:")
                && us.contains("SI 2023/1028")
                && us.contains("UK Extension"),
            "{us}"
        );
        let before = basis(
            &r,
            "GB",
            "US",
            day(2023, 10, 11),
            vendor("yes", "US"),
            "UK-GDPR",
        );
        assert!(before.starts_with("none"), "{before}");
        assert!(basis(&r, "GB", "CN", july(), None, "UK-GDPR").starts_with("none"));
        assert!(basis(&r, "GB", "KR", day(2022, 12, 18), None, "UK-GDPR").starts_with("none"));
    }

    #[test]
    fn swiss_fadp_with_the_swiss_us_dpf() {
        let r = regimes();
        assert_eq!(ids(&r.evaluate("CH", "DE", july(), None)), vec!["FADP"]);
        assert!(basis(&r, "CH", "DE", july(), None, "FADP").starts_with("adequacy"));
        assert!(basis(&r, "CH", "GB", july(), None, "FADP").starts_with("adequacy"));
        let us = basis(&r, "CH", "US", july(), vendor("yes", "US"), "FADP");
        assert!(
            us.contains("Swiss-U.S. DPF") && us.starts_with("conditional"),
            "{us}"
        );
        assert!(basis(&r, "CH", "US", day(2024, 9, 14), None, "FADP").starts_with("none"));
        assert!(basis(&r, "CH", "JP", july(), None, "FADP").starts_with("none"));
        assert!(basis(&r, "CH", "CN", july(), vendor("n/a", "CN"), "FADP").starts_with("none"));
    }

    #[test]
    fn asian_regimes() {
        let r = regimes();
        // Japan: EEA and UK designated, the US is not.
        assert!(basis(&r, "JP", "DE", july(), None, "APPI").starts_with("adequacy"));
        assert!(basis(&r, "JP", "GB", july(), None, "APPI").starts_with("adequacy"));
        assert!(basis(&r, "JP", "US", july(), vendor("yes", "US"), "APPI").starts_with("none"));
        // Korea: the EU recognition applies from its announcement.
        assert!(basis(&r, "KR", "FR", july(), None, "PIPA").starts_with("adequacy"));
        assert!(basis(&r, "KR", "FR", day(2025, 9, 15), None, "PIPA").starts_with("none"));
        assert!(basis(&r, "KR", "US", july(), None, "PIPA").starts_with("none"));
        // Singapore: no destination list, a domestic flow is no finding.
        assert!(r.evaluate("SG", "SG", july(), None).is_empty());
        assert!(basis(&r, "SG", "US", july(), None, "SG-PDPA").contains("legally enforceable"));
        // India: permitted by default, and s.16 not yet commenced in 2026.
        assert!(r.evaluate("IN", "US", july(), None).is_empty());
        assert!(basis(&r, "IN", "US", day(2027, 6, 1), None, "DPDP").starts_with("permitted"));
        // Vietnam: Decree 13 to the end of 2025, the PDPL from 2026.
        assert_eq!(
            ids(&r.evaluate("VN", "US", day(2025, 12, 31), None)),
            vec!["VN-PDPD"]
        );
        assert_eq!(
            ids(&r.evaluate("VN", "US", day(2026, 1, 1), None)),
            vec!["VN-PDPL"]
        );
        assert!(r.evaluate("VN", "US", day(2023, 6, 30), None).is_empty());
        assert!(basis(&r, "VN", "SG", july(), None, "VN-PDPL").contains("A05"));
    }

    #[test]
    fn greater_china_sources() {
        let r = regimes();
        // Hong Kong is recorded, with no restriction in force: never a finding.
        let hk = r.regimes.iter().find(|x| x.id == "HK-PDPO").unwrap();
        assert_eq!(hk.kind, RegimeKind::NoRestriction);
        for dest in ["US", "CN", "ZZ"] {
            assert!(r
                .evaluate("HK", dest, july(), vendor("n/a", "CN"))
                .is_empty());
        }
        // Macao: the mainland is abroad.
        assert_eq!(ids(&r.evaluate("MO", "CN", july(), None)), vec!["MO-PDPA"]);
        assert!(r.evaluate("MO", "MO", july(), None).is_empty());
        // Taiwan: permitted unless a sector order restricts it.
        assert!(basis(&r, "TW", "CN", july(), None, "TW-PDPA").starts_with("permitted"));
    }

    #[test]
    fn russia_transfer_and_localisation() {
        let r = regimes();
        assert_eq!(
            ids(&r.evaluate("RU", "DE", july(), None)),
            vec!["152-FZ", "152-FZ-LOC"]
        );
        assert!(r.evaluate("RU", "RU", july(), None).is_empty());
        let loc = basis(&r, "RU", "DE", july(), None, "152-FZ-LOC");
        assert!(loc.starts_with("localisation:"), "{loc}");
        // The Art. 12 notification regime dates from 2023-03-01; localisation from 2015.
        assert_eq!(
            ids(&r.evaluate("RU", "DE", day(2020, 1, 1), None)),
            vec!["152-FZ-LOC"]
        );
        assert!(r.evaluate("RU", "DE", day(2015, 8, 31), None).is_empty());
    }

    #[test]
    fn other_regimes() {
        let r = regimes();
        assert!(basis(&r, "BR", "DE", july(), None, "LGPD").starts_with("adequacy"));
        assert!(basis(&r, "BR", "US", july(), vendor("yes", "US"), "LGPD").starts_with("none"));
        assert!(basis(&r, "SA", "US", july(), None, "SA-PDPL").starts_with("none"));
        assert!(r.evaluate("SA", "US", day(2024, 9, 13), None).is_empty());
        let tr = basis(&r, "TR", "US", july(), None, "KVKK");
        assert!(
            tr.starts_with("none") && tr.contains("five business days"),
            "{tr}"
        );
    }

    #[test]
    fn us_rule_depends_on_the_vendor_operator_not_the_destination() {
        let r = regimes();
        // A PRC-operated API is caught wherever it is served from, the US included.
        for dest in ["CN", "SG", "US", "ZZ"] {
            let f = r.evaluate("US", dest, july(), vendor("n/a", "CN"));
            assert_eq!(ids(&f), vec!["US-DSP"], "{dest}");
            assert!(f[0].transfer_basis.contains("operated from CN"));
        }
        for country in ["HK", "MO", "RU", "IR", "KP", "CU", "VE"] {
            assert_eq!(
                ids(&r.evaluate("US", "US", july(), vendor("n/a", country))),
                vec!["US-DSP"]
            );
        }
        // A US vendor, an unattributed flow, or a non-US site: no finding.
        assert!(r
            .evaluate("US", "CN", july(), vendor("yes", "US"))
            .is_empty());
        assert!(r
            .evaluate("US", "CN", july(), vendor("n/a", "SG"))
            .is_empty());
        assert!(r.evaluate("US", "CN", july(), None).is_empty());
        assert!(!ids(&r.evaluate("DE", "CN", july(), vendor("n/a", "CN"))).contains(&"US-DSP"));
        // Not before the rule's effective date.
        assert!(r
            .evaluate("US", "CN", day(2025, 4, 7), vendor("n/a", "CN"))
            .is_empty());
    }

    #[test]
    fn reports_list_the_regimes_of_the_configured_sites() {
        let r = regimes();
        let shown =
            |c: &[&str]| -> Vec<String> { r.for_sources(c).iter().map(|x| x.id.clone()).collect() };
        assert_eq!(shown(&["CN"]), vec!["PIPL", "DSL"]);
        assert_eq!(shown(&["HK", "DE"]), vec!["GDPR", "HK-PDPO"]);
        assert_eq!(shown(&["VN"]), vec!["VN-PDPD", "VN-PDPL"]);
        assert_eq!(r.for_sources::<&str>(&[]).len(), r.regimes.len());
    }

    #[test]
    fn every_shipped_regime_is_sourced_and_dated() {
        let r = regimes();
        assert_eq!(r.regimes.len(), 20);
        for g in &r.regimes {
            assert!(!g.sources.is_empty(), "{}", g.id);
            for s in &g.sources {
                assert!(
                    NaiveDate::parse_from_str(&s.as_of, "%Y-%m-%d").is_ok(),
                    "{} {}",
                    g.id,
                    s.as_of
                );
            }
        }
        assert_eq!(r.identity.as_of, "2026-12-05");
    }

    const MINIMAL: &str = "[catalog]\nname='t'\nversion='1'\nas_of='2026-12-05'\n";

    fn regime(extra: &str) -> String {
        format!(
            "{MINIMAL}[[regime]]\nid='X'\nname='X'\njurisdiction='DE'\nrule_id='X-1'\n\
             citation='c'\nsource_countries=['DE']\ndomestic_destinations=['DE']\n\
             obligation='o'\ndefault_basis='none'\nsources=[{{url='u',as_of='2026-12-05'}}]\n{extra}"
        )
    }

    fn err(text: &str) -> String {
        match load_str(text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn an_impossible_in_force_date_is_refused_naming_file_regime_and_field() {
        let e = err(&regime("in_force='2021-02-30'\n"));
        assert!(
            e.contains("my-regimes.toml") && e.contains("regime X") && e.contains("in_force"),
            "{e}"
        );
        let e = err(&regime(
            "in_force='2021-01-01'\nin_force_until='2020-13-01'\n",
        ));
        assert!(e.contains("in_force_until"), "{e}");
        let e = err(&regime(
            "in_force='2021-01-01'\nin_force_until='2020-12-31'\n",
        ));
        assert!(e.contains("in_force_until") && e.contains("before"), "{e}");
    }

    #[test]
    fn inverted_or_impossible_basis_validity_is_refused() {
        let b = |from: &str, until: &str| {
            regime(&format!(
                "in_force='2018-05-25'\n[[regime.basis]]\ndestination='US'\nkind='adequacy'\n\
                 decision='d'\nscope='s'\nvalid_from='{from}'\nvalid_until='{until}'\n"
            ))
        };
        let e = err(&b("2031-01-01", "2030-12-31"));
        assert!(
            e.contains("my-regimes.toml")
                && e.contains("regime X")
                && e.contains("basis US")
                && e.contains("valid_from")
                && e.contains("valid_until"),
            "{e}"
        );
        let e = err(&b("2030-02-29", "2031-01-01"));
        assert!(e.contains("valid_from") && e.contains("2030-02-29"), "{e}");
        let e = err(&b("2030-01-01", "2031-04-31"));
        assert!(e.contains("valid_until"), "{e}");
        // Same-day validity is a legitimate one-day window.
        assert!(load_str(&b("2030-01-01", "2030-01-01")).is_ok());
    }

    #[test]
    fn an_empty_regime_catalog_is_refused() {
        let e = err(MINIMAL);
        assert!(
            e.contains("my-regimes.toml") && e.contains("no [[regime]]"),
            "{e}"
        );
    }

    #[test]
    fn kinds_are_checked_at_load() {
        let e = err(&regime("in_force='2020-01-01'\nkind='sometimes'\n"));
        assert!(e.contains("kind"), "{e}");
        let e = err(&regime("in_force='2020-01-01'\nkind='recipient-country'\n"));
        assert!(e.contains("recipient_countries"), "{e}");
        let e = err(&regime(
            "in_force='2020-01-01'\nrecipient_countries=['CN']\n",
        ));
        assert!(e.contains("recipient_countries"), "{e}");
        let e = err(&regime(
            "in_force='2020-01-01'\nkind='localisation'\n[[regime.basis]]\ndestination='US'\n\
             kind='adequacy'\ndecision='d'\nscope='s'\n",
        ));
        assert!(e.contains("localisation") && e.contains("basis"), "{e}");
        let e = err(&regime(
            "in_force='2020-01-01'\nrecipient_countries=['XX']\nkind='recipient-country'\n",
        ));
        assert!(e.contains("XX"), "{e}");
    }

    #[test]
    fn a_group_basis_expands() {
        let r = load_str(&regime(
            "in_force='2020-01-01'\n[[regime.basis]]\ndestination='@EEA'\nkind='adequacy'\n\
             decision='d'\nscope='s'\n",
        ))
        .unwrap();
        assert!(basis(&r, "DE", "NO", july(), None, "X").starts_with("adequacy"));
        assert!(basis(&r, "DE", "US", july(), None, "X").starts_with("none"));
    }
}
