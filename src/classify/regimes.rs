//! Legal regimes as data: which source countries a regime governs, which destinations it
//! treats as domestic, and which transfer bases (adequacy, conditional) it recognises.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::Deserialize;

use super::countries::{Countries, UNKNOWN_COUNTRY};
use super::{CatalogHeader, CatalogIdentity, CatalogText, SourceRef};
use crate::error::{Error, Result};

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
    in_force: String,
    rule_id: String,
    citation: String,
    source_countries: Vec<String>,
    domestic_destinations: Vec<String>,
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
    valid_from: Option<String>,
    #[serde(default)]
    valid_until: Option<String>,
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
    pub destination: String,
    pub kind: BasisKind,
    pub decision: String,
    pub scope: String,
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
    pub in_force: String,
    pub rule_id: String,
    pub citation: String,
    pub obligation: String,
    pub auditor_evidence: Vec<String>,
    pub default_basis: String,
    pub sources: Vec<SourceRef>,
    pub source_countries: BTreeSet<String>,
    pub domestic_destinations: BTreeSet<String>,
    pub bases: Vec<Basis>,
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

impl Regimes {
    pub fn load(text: &CatalogText, countries: &Countries) -> Result<Self> {
        let file: RegimesFile = text.parse()?;
        let identity = text.identity("regimes", &file.catalog);
        let label = text.label.as_str();
        let mut regimes = Vec::new();
        for r in file.regime {
            if regimes.iter().any(|x: &Regime| x.id == r.id) {
                return Err(Error::config(
                    label,
                    format!("regime `{}` is defined twice", r.id),
                ));
            }
            if r.sources.is_empty() {
                return Err(Error::config(
                    label,
                    format!("regime `{}` has no sources", r.id),
                ));
            }
            let ctx = format!("{label} (regime {})", r.id);
            let mut bases = Vec::new();
            for b in r.basis {
                if !countries.contains(&b.destination) {
                    return Err(Error::config(
                        &ctx,
                        format!("unknown basis destination `{}`", b.destination),
                    ));
                }
                let kind = match b.kind.as_str() {
                    "adequacy" => BasisKind::Adequacy,
                    "conditional" => BasisKind::Conditional,
                    other => {
                        return Err(Error::config(
                            &ctx,
                            format!("basis kind `{other}` must be adequacy or conditional"),
                        ))
                    }
                };
                let date = |d: &Option<String>| -> Result<Option<NaiveDate>> {
                    d.as_deref()
                        .map(|s| {
                            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                                Error::config(&ctx, format!("`{s}` is not a YYYY-MM-DD date"))
                            })
                        })
                        .transpose()
                };
                bases.push(Basis {
                    destination: b.destination.clone(),
                    kind,
                    decision: b.decision,
                    scope: b.scope,
                    valid_from: date(&b.valid_from)?,
                    valid_until: date(&b.valid_until)?,
                });
            }
            regimes.push(Regime {
                source_countries: countries.expand(&ctx, &r.source_countries)?,
                domestic_destinations: countries.expand(&ctx, &r.domestic_destinations)?,
                id: r.id,
                name: r.name,
                name_zh: r.name_zh,
                jurisdiction: r.jurisdiction,
                in_force: r.in_force,
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

    /// Every regime under which a transfer from `source_country` to `destination_country`
    /// on `day` is cross-border. An unlocatable destination (`ZZ`) is reported, never
    /// assumed domestic: silence would hide exactly the flows an auditor must ask about.
    pub fn evaluate(
        &self,
        source_country: &str,
        destination_country: &str,
        day: NaiveDate,
        vendor_dpf: Option<&str>,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        for r in &self.regimes {
            if !r.source_countries.contains(source_country)
                || r.domestic_destinations.contains(destination_country)
            {
                continue;
            }
            out.push(Finding {
                regime: r.id.clone(),
                rule_id: r.rule_id.clone(),
                citation: r.citation.clone(),
                transfer_basis: r.basis_for(destination_country, day, vendor_dpf),
            });
        }
        out
    }
}

impl Regime {
    fn basis_for(&self, destination: &str, day: NaiveDate, vendor_dpf: Option<&str>) -> String {
        if destination == UNKNOWN_COUNTRY {
            return "undetermined (destination could not be geolocated)".into();
        }
        let basis = self.bases.iter().find(|b| {
            b.destination == destination
                && b.valid_from.is_none_or(|f| day >= f)
                && b.valid_until.is_none_or(|u| day <= u)
        });
        match basis {
            Some(b) if b.kind == BasisKind::Adequacy => {
                format!("adequacy: {} ({})", b.decision, b.scope)
            }
            Some(b) => {
                let certified = match vendor_dpf {
                    Some("yes") => "vendor listed as certified",
                    Some("no") => "vendor not certified",
                    Some("n/a") => "not applicable to this vendor",
                    Some(_) => "vendor certification unverified",
                    None => "recipient unknown",
                };
                format!("conditional: {} ({}); {certified}", b.decision, b.scope)
            }
            None => self.default_basis.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::embedded;

    fn regimes() -> Regimes {
        let c =
            Countries::load(&CatalogText::load(None, "c", embedded::COUNTRIES).unwrap()).unwrap();
        Regimes::load(
            &CatalogText::load(None, "r", embedded::REGIMES).unwrap(),
            &c,
        )
        .unwrap()
    }

    fn ids(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|x| x.regime.as_str()).collect()
    }

    #[test]
    fn prc_rules_treat_hk_mo_tw_as_abroad() {
        let r = regimes();
        let day = NaiveDate::from_ymd_opt(2026, 8, 1).unwrap();
        for dest in ["US", "HK", "MO", "TW", "SG", "ZZ"] {
            assert_eq!(
                ids(&r.evaluate("CN", dest, day, None)),
                vec!["PIPL", "DSL"],
                "{dest}"
            );
        }
        assert!(r.evaluate("CN", "CN", day, None).is_empty());
        assert!(r.evaluate("HK", "US", day, None).is_empty());
    }

    #[test]
    fn gdpr_bases() {
        let r = regimes();
        let day = NaiveDate::from_ymd_opt(2026, 8, 1).unwrap();
        assert!(r.evaluate("DE", "FR", day, None).is_empty());
        assert!(r.evaluate("DE", "EU", day, None).is_empty());
        let us = r.evaluate("DE", "US", day, Some("unverified"));
        assert_eq!(ids(&us), vec!["GDPR"]);
        assert!(
            us[0].transfer_basis.starts_with("conditional:"),
            "{}",
            us[0].transfer_basis
        );
        let ch = r.evaluate("IE", "CH", day, None);
        assert!(
            ch[0].transfer_basis.starts_with("adequacy:"),
            "{}",
            ch[0].transfer_basis
        );
        let cn = r.evaluate("DE", "CN", day, Some("n/a"));
        assert!(
            cn[0].transfer_basis.starts_with("none"),
            "{}",
            cn[0].transfer_basis
        );
        // Brazil's decision applies only from its adoption date.
        let before = r.evaluate(
            "DE",
            "BR",
            NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
            None,
        );
        assert!(before[0].transfer_basis.starts_with("none"));
        let after = r.evaluate("DE", "BR", day, None);
        assert!(after[0].transfer_basis.starts_with("adequacy"));
    }
}
