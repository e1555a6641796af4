//! The rankings behind the charts: bytes by destination country, site and regime, the
//! site × vendor table, and the ban dates drawn on timelines.

use std::collections::{BTreeMap, BTreeSet};

use super::{epoch_day, figures, groups, largest_first};
use xborder_engine::aggregate::FindingRow;
use xborder_engine::classify::policy::{Policy, Verdict};

/// Columns of the site × vendor heat table before the rest is summed as "others".
pub const HEAT_VENDORS: usize = 6;

/// Bars of a ranking chart in the PDF.
pub const CHART_BARS: usize = 12;

/// The site × vendor table of bytes out: the largest vendors, and the rest as "others".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heat {
    pub sites: Vec<String>,
    pub vendors: Vec<String>,
    /// `values[site][vendor]`.
    pub values: Vec<Vec<u64>>,
    /// Vendors beyond [`HEAT_VENDORS`], summed per site; empty when none is hidden.
    pub others: Vec<u64>,
    pub hidden_vendors: usize,
}

/// A ban's first day, drawn on timelines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanMark {
    pub day: i32,
    pub rule_id: String,
    pub effective_from: String,
}

/// Cross-border bytes out per destination country, each egress group once, largest first.
pub(super) fn countries(f: &[FindingRow]) -> Vec<(String, u64)> {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    for (r, g) in groups(f) {
        let b = m.entry(r.destination_country.clone()).or_default();
        *b = b.saturating_add(g.bytes_out);
    }
    largest_first(m)
}

/// Cross-border bytes out per site, each egress group once, largest first.
pub(super) fn site_bytes(f: &[FindingRow]) -> Vec<(String, u64)> {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    for (r, g) in groups(f) {
        let b = m.entry(r.source_site.clone()).or_default();
        *b = b.saturating_add(g.bytes_out);
    }
    largest_first(m)
}

/// Cross-border bytes out per regime shown, largest first; regimes without any left out.
pub(super) fn regime_bytes(f: &[FindingRow], regime_ids: &[String]) -> Vec<(String, u64)> {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    for id in regime_ids {
        let b = figures(f.iter().filter(|r| r.regime == *id)).bytes_out;
        if b > 0 {
            m.insert(id.clone(), b);
        }
    }
    largest_first(m)
}

/// The first day of each banned rule, one mark per distinct day, in policy order.
pub(super) fn ban_marks(p: &Policy) -> Vec<BanMark> {
    let mut marks: Vec<BanMark> = Vec::new();
    for r in p.rules.iter().filter(|r| r.verdict == Verdict::Banned) {
        let day = epoch_day(r.effective_from.date());
        if !marks.iter().any(|m| m.day == day) {
            marks.push(BanMark {
                day,
                rule_id: r.id.clone(),
                effective_from: r.effective_from.to_string(),
            });
        }
    }
    marks
}

/// The site × vendor table from (site, vendor, flows, bytes out).
pub(super) fn heat(cells: &[(String, String, u64, u64)]) -> Heat {
    let mut sites: BTreeSet<String> = BTreeSet::new();
    let mut vendor_totals: BTreeMap<String, u64> = BTreeMap::new();
    for (site, vendor, _, b) in cells {
        sites.insert(site.clone());
        let t = vendor_totals.entry(vendor.clone()).or_default();
        *t = t.saturating_add(*b);
    }
    let ranked = largest_first(vendor_totals);
    let hidden_vendors = ranked.len().saturating_sub(HEAT_VENDORS);
    let vendors: Vec<String> = ranked
        .into_iter()
        .take(HEAT_VENDORS)
        .map(|(v, _)| v)
        .collect();
    let sites: Vec<String> = sites.into_iter().collect();
    let mut values = vec![vec![0u64; vendors.len()]; sites.len()];
    let mut others = vec![0u64; if hidden_vendors > 0 { sites.len() } else { 0 }];
    for (site, vendor, _, b) in cells {
        let Ok(s) = sites.binary_search(site) else {
            continue;
        };
        match vendors.iter().position(|v| v == vendor) {
            Some(v) => values[s][v] = values[s][v].saturating_add(*b),
            None => {
                if let Some(o) = others.get_mut(s) {
                    *o = o.saturating_add(*b);
                }
            }
        }
    }
    Heat {
        sites,
        vendors,
        values,
        others,
        hidden_vendors,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_rows::tables;
    use super::*;

    #[test]
    fn rankings_count_each_group_once_largest_first() {
        let f = tables().findings;
        assert_eq!(
            countries(&f),
            vec![("US".to_string(), 1000), ("SG".to_string(), 700)]
        );
        assert_eq!(
            site_bytes(&f),
            vec![("Shanghai".to_string(), 1500), ("Beijing".to_string(), 200)]
        );
        assert_eq!(
            regime_bytes(&f, &["CN-PIPL".into(), "CN-DSL".into(), "EU-GDPR".into()]),
            vec![("CN-PIPL".to_string(), 1700), ("CN-DSL".to_string(), 1000)]
        );
        assert!(countries(&[]).is_empty());
    }

    #[test]
    fn heat_table_sums_hidden_vendors_as_others() {
        let cells: Vec<(String, String, u64, u64)> = (0..8u64)
            .map(|i| ("S".to_string(), format!("V{i}"), 1, 100 - i))
            .chain([("T".to_string(), "V7".to_string(), 1, 1)])
            .collect();
        let h = heat(&cells);
        assert_eq!(h.vendors, ["V0", "V1", "V2", "V3", "V4", "V5"]);
        assert_eq!(h.hidden_vendors, 2);
        assert_eq!(h.others, vec![94 + 93, 1]);
        assert_eq!(h.values[1], vec![0; 6]);
        let small = heat(&cells[..3]);
        assert!(small.others.is_empty());
        assert_eq!(small.hidden_vendors, 0);
        assert_eq!(heat(&[]), Heat::default());
    }

    #[test]
    fn one_ban_mark_per_first_day_in_policy_order() {
        use super::super::test_rows::{policy_of, rule};
        let p = policy_of(vec![
            rule("late", Verdict::Banned, 20),
            rule("allowed", Verdict::Allowed, 1),
            rule("early", Verdict::Banned, 10),
            rule("same-day", Verdict::Banned, 20),
        ]);
        let marks = ban_marks(&p);
        let got: Vec<(i32, &str, &str)> = marks
            .iter()
            .map(|m| (m.day, m.rule_id.as_str(), m.effective_from.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (20_654, "late", "2026-07-20"),
                (20_644, "early", "2026-07-10")
            ]
        );
        assert!(ban_marks(&policy_of(vec![])).is_empty());
    }
}
