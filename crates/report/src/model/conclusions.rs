//! The executive summary's conclusions: which site sent the most abroad, which country
//! received the most and at which vendor, which bans were broken, and otherwise how much
//! AI egress stayed at home.

use std::collections::BTreeMap;

use super::{groups, largest_first, BanOutcome, BanRule, Totals};
use xborder_engine::aggregate::FindingRow;

/// Sentences in the executive summary.
pub const CONCLUSIONS: usize = 3;

/// One conclusion; the renderer words it in the report language.
#[derive(Debug, Clone, PartialEq)]
pub enum Conclusion {
    /// The site that sent the most cross-border bytes.
    TopSite { site: String, bytes_out: u64 },
    /// No AI-vendor egress crossed a border.
    NoCrossBorder,
    /// The destination country with the most cross-border bytes, and its largest vendor.
    TopCountry {
        country: String,
        bytes_out: u64,
        vendor: String,
    },
    /// A banned tool used at some sites after its ban date.
    BanBroken {
        products: Vec<String>,
        sites: usize,
        effective_from: String,
    },
    /// The percentage of AI-vendor bytes out that did not cross a border under a regime.
    StayedWithin { percent: f64 },
}

/// The top destination country (from `countries`, ranked largest first) with its bytes
/// and the vendor that received the most there, each egress group once.
pub(super) fn top_country(
    f: &[FindingRow],
    countries: &[(String, u64)],
) -> Option<(String, u64, String)> {
    let (country, bytes) = countries.first()?;
    let mut vendors: BTreeMap<String, u64> = BTreeMap::new();
    for (r, g) in groups(f) {
        if r.destination_country == *country {
            let b = vendors.entry(r.vendor.clone()).or_default();
            *b = b.saturating_add(g.bytes_out);
        }
    }
    let vendor = largest_first(vendors)
        .into_iter()
        .next()
        .map(|(v, _)| v)
        .unwrap_or_default();
    Some((country.clone(), *bytes, vendor))
}

/// At most [`CONCLUSIONS`], in this order: the top site (or that nothing crossed a
/// border), the top country, each broken ban, and, when room is left, the share that
/// stayed at home.
pub(super) fn conclusions(
    site_bytes: &[(String, u64)],
    top_country: Option<(String, u64, String)>,
    broken_bans: &[&BanRule],
    totals: &Totals,
) -> Vec<Conclusion> {
    let mut out = Vec::new();
    match site_bytes.first() {
        Some((site, b)) => out.push(Conclusion::TopSite {
            site: site.clone(),
            bytes_out: *b,
        }),
        None => out.push(Conclusion::NoCrossBorder),
    }
    if let Some((country, bytes_out, vendor)) = top_country {
        out.push(Conclusion::TopCountry {
            country,
            bytes_out,
            vendor,
        });
    }
    for ban in broken_bans {
        if let BanOutcome::Broken(sites) = &ban.outcome {
            if !sites.is_empty() {
                out.push(Conclusion::BanBroken {
                    products: ban.products_after_ban.clone(),
                    sites: sites.len(),
                    effective_from: ban.effective_from.clone(),
                });
            }
        }
    }
    let total = totals.ai.bytes_out;
    if out.len() < CONCLUSIONS && total > 0 {
        let cross = totals.ai_cross_border_bytes_out;
        out.push(Conclusion::StayedWithin {
            percent: (total - cross.min(total)) as f64 * 100.0 / total as f64,
        });
    }
    out.truncate(CONCLUSIONS);
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_rows::{finding, tables};
    use super::super::{Figures, Totals};
    use super::*;

    fn ban(id: &str, sites: &[&str]) -> BanRule {
        BanRule {
            rule_id: id.into(),
            effective_from: "2026-07-10".into(),
            reason: String::new(),
            outcome: BanOutcome::Broken(sites.iter().map(|s| s.to_string()).collect()),
            covered_sites: 2,
            sites: vec![],
            day: 0,
            daily: vec![],
            first_uses: vec![],
            products_after_ban: vec!["ChatGPT".into()],
        }
    }

    #[test]
    fn top_country_names_its_largest_vendor() {
        let f = tables().findings;
        let countries = super::super::charts::countries(&f);
        assert_eq!(
            top_country(&f, &countries),
            Some(("US".to_string(), 1000, "Anthropic".to_string()))
        );
        assert_eq!(top_country(&[], &[]), None);
        // A tie between vendors goes to the first name.
        let tied = [
            finding("R", "S", "Zeta", "g1", 1, 5),
            finding("R", "S", "Beta", "g2", 1, 5),
        ];
        assert_eq!(
            top_country(&tied, &[("SG".into(), 10)]).map(|c| c.2),
            Some("Beta".to_string())
        );
    }

    #[test]
    fn at_most_three_conclusions_and_the_home_share_only_when_room_is_left() {
        let totals = Totals {
            ai: Figures {
                flows: 4,
                bytes_out: 400,
            },
            ai_cross_border_bytes_out: 100,
            ..Totals::default()
        };
        let sites = [("Shanghai".to_string(), 100)];
        let top = Some(("US".to_string(), 100, "OpenAI".to_string()));
        let c = conclusions(&sites, top.clone(), &[], &totals);
        assert_eq!(c.len(), 3);
        assert_eq!(c[2], Conclusion::StayedWithin { percent: 75.0 });
        let (b1, b2) = (
            ban("r1", &["Shanghai"]),
            ban("r2", &["Shanghai", "Beijing"]),
        );
        let c = conclusions(&sites, top, &[&b1, &b2], &totals);
        assert_eq!(c.len(), 3);
        assert_eq!(
            c[2],
            Conclusion::BanBroken {
                products: vec!["ChatGPT".into()],
                sites: 1,
                effective_from: "2026-07-10".into()
            }
        );
    }

    #[test]
    fn nothing_abroad_and_no_egress_gives_one_sentence() {
        let c = conclusions(&[], None, &[], &Totals::default());
        assert_eq!(c, vec![Conclusion::NoCrossBorder]);
    }
}
