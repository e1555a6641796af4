//! The report model: every figure that both report.pdf and report.html show, computed once.
//!
//! A total that each renderer summed for itself could drift (one counting a flow under
//! two regimes twice, the other once); the renderers only format what this module
//! computes, and a test compares the HTML's figures with it.

use std::collections::{BTreeMap, BTreeSet};

use xborder_engine::aggregate::FindingRow;
use xborder_engine::classify::policy::Verdict;
use xborder_engine::run::{Analysis, Catalogs};

/// Columns of the site × vendor heat table before the rest is summed as "others".
pub const HEAT_VENDORS: usize = 6;

/// Flows and bytes out, each egress group (finding id) counted once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub flows: u64,
    pub bytes_out: u64,
}

/// The headline figures of cross-border AI egress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub cross_border: Figures,
    pub vendors: usize,
    pub sites: usize,
}

/// One vendor reached from one site under one regime, with its findings.
#[derive(Debug, Clone)]
pub struct VendorNode {
    pub vendor: String,
    pub figures: Figures,
    /// Indexes into `Analysis::tables.findings`.
    pub findings: Vec<usize>,
}

/// One site under one regime.
#[derive(Debug, Clone)]
pub struct SiteNode {
    pub site: String,
    pub figures: Figures,
    pub vendors: Vec<VendorNode>,
}

/// One regime governing a configured site, with its drill-down.
#[derive(Debug, Clone)]
pub struct RegimeNode {
    pub id: String,
    pub figures: Figures,
    /// The vendor with the most bytes out under this regime.
    pub top_vendor: Option<String>,
    pub vendor_count: usize,
    pub sites: Vec<SiteNode>,
}

/// AI-vendor egress of one configured site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFigures {
    pub site: String,
    pub country: String,
    /// All AI-vendor egress from the site (domestic and cross-border).
    pub ai: Figures,
    /// Cross-border AI flows, each egress group once.
    pub cross_border_flows: u64,
}

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

/// Everything the two reports count.
#[derive(Debug, Clone)]
pub struct ReportModel {
    pub totals: Totals,
    pub regimes: Vec<RegimeNode>,
    pub sites: Vec<SiteFigures>,
    /// Cross-border bytes out per destination country code, largest first.
    pub countries: Vec<(String, u64)>,
    /// Cross-border bytes out per site, largest first.
    pub site_bytes: Vec<(String, u64)>,
    /// Cross-border bytes out per regime, largest first.
    pub regime_bytes: Vec<(String, u64)>,
    /// AI-vendor egress per day: (days since 1970-01-01, flows, bytes out).
    pub daily: Vec<(i32, u64, u64)>,
    /// First days of banned rules, one mark per distinct day, in policy order.
    pub bans: Vec<BanMark>,
    pub heat: Heat,
}

fn largest_first(m: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    v
}

/// Sum flows and bytes over finding rows, each egress group once.
pub fn figures<'a>(rows: impl IntoIterator<Item = &'a FindingRow>) -> Figures {
    let mut seen = BTreeSet::new();
    let mut out = Figures::default();
    for r in rows {
        if seen.insert(r.finding_id.as_str()) {
            out.flows += r.flows;
            out.bytes_out = out.bytes_out.saturating_add(r.bytes_out);
        }
    }
    out
}

/// Days since 1970-01-01 of a date.
pub fn epoch_day(d: chrono::NaiveDate) -> i32 {
    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days() as i32
}

/// The regimes governing the configured sites' countries (all of them without sites).
pub fn shown_regimes(catalogs: &Catalogs) -> Vec<&xborder_engine::classify::regimes::Regime> {
    let countries: Vec<&str> = catalogs
        .sites
        .sites
        .iter()
        .map(|s| s.country.as_str())
        .collect();
    catalogs.regimes.for_sources(&countries)
}

impl ReportModel {
    /// Compute the model of one run.
    pub fn build(catalogs: &Catalogs, a: &Analysis) -> Self {
        let regime_ids: Vec<String> = shown_regimes(catalogs)
            .iter()
            .map(|r| r.id.clone())
            .collect();
        let site_names: Vec<(String, String)> = catalogs
            .sites
            .sites
            .iter()
            .map(|s| (s.name.clone(), s.country.clone()))
            .collect();
        let bans = catalogs
            .policy
            .as_ref()
            .map(|p| {
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
            })
            .unwrap_or_default();
        Self::from_parts(&a.tables, &regime_ids, &site_names, bans)
    }

    /// The model from the aggregate tables, the regimes shown, the configured sites
    /// (name, country) and the ban marks.
    pub fn from_parts(
        t: &xborder_engine::aggregate::Tables,
        regime_ids: &[String],
        site_names: &[(String, String)],
        bans: Vec<BanMark>,
    ) -> Self {
        let f = &t.findings;
        let totals = Totals {
            cross_border: figures(f),
            vendors: f
                .iter()
                .map(|r| r.vendor.as_str())
                .collect::<BTreeSet<_>>()
                .len(),
            sites: f
                .iter()
                .map(|r| r.source_site.as_str())
                .collect::<BTreeSet<_>>()
                .len(),
        };
        let regimes = regime_ids
            .iter()
            .map(|id| {
                let idx: Vec<usize> = (0..f.len()).filter(|&i| f[i].regime == *id).collect();
                let mut by_site: BTreeMap<&str, BTreeMap<&str, Vec<usize>>> = BTreeMap::new();
                for &i in &idx {
                    by_site
                        .entry(&f[i].source_site)
                        .or_default()
                        .entry(&f[i].vendor)
                        .or_default()
                        .push(i);
                }
                let mut vendor_bytes: BTreeMap<String, u64> = BTreeMap::new();
                let sites = by_site
                    .into_iter()
                    .map(|(site, vendors)| {
                        let vendors: Vec<VendorNode> = vendors
                            .into_iter()
                            .map(|(vendor, findings)| {
                                let figures = figures(findings.iter().map(|&i| &f[i]));
                                *vendor_bytes.entry(vendor.to_string()).or_default() +=
                                    figures.bytes_out;
                                VendorNode {
                                    vendor: vendor.to_string(),
                                    figures,
                                    findings,
                                }
                            })
                            .collect();
                        let rows = vendors
                            .iter()
                            .flat_map(|v| v.findings.iter().map(|&i| &f[i]));
                        SiteNode {
                            site: site.to_string(),
                            figures: figures(rows),
                            vendors,
                        }
                    })
                    .collect();
                let top_vendor = largest_first(vendor_bytes.clone())
                    .into_iter()
                    .next()
                    .map(|(v, _)| v);
                RegimeNode {
                    id: id.clone(),
                    figures: figures(idx.iter().map(|&i| &f[i])),
                    top_vendor,
                    vendor_count: vendor_bytes.len(),
                    sites,
                }
            })
            .collect();
        let sites = site_names
            .iter()
            .map(|(name, country)| {
                let ai = t.site_vendor_bytes.iter().filter(|x| x.0 == *name).fold(
                    Figures::default(),
                    |acc, x| Figures {
                        flows: acc.flows + x.2,
                        bytes_out: acc.bytes_out.saturating_add(x.3),
                    },
                );
                SiteFigures {
                    site: name.clone(),
                    country: country.clone(),
                    ai,
                    cross_border_flows: figures(f.iter().filter(|r| r.source_site == *name)).flows,
                }
            })
            .collect();
        let mut countries: BTreeMap<String, u64> = BTreeMap::new();
        let mut site_bytes: BTreeMap<String, u64> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for r in f.iter().filter(|r| seen.insert(r.finding_id.as_str())) {
            *countries.entry(r.destination_country.clone()).or_default() += r.bytes_out;
            *site_bytes.entry(r.source_site.clone()).or_default() += r.bytes_out;
        }
        let mut regime_bytes: BTreeMap<String, u64> = BTreeMap::new();
        for id in regime_ids {
            let b = figures(f.iter().filter(|r| r.regime == *id)).bytes_out;
            if b > 0 {
                regime_bytes.insert(id.clone(), b);
            }
        }
        ReportModel {
            totals,
            regimes,
            sites,
            countries: largest_first(countries),
            site_bytes: largest_first(site_bytes),
            regime_bytes: largest_first(regime_bytes),
            daily: t.daily_ai.clone(),
            bans,
            heat: heat(&t.site_vendor_bytes),
        }
    }

    /// The regime node of `id`, if shown.
    pub fn regime(&self, id: &str) -> Option<&RegimeNode> {
        self.regimes.iter().find(|r| r.id == id)
    }
}

/// The site × vendor table from (site, vendor, flows, bytes out).
fn heat(cells: &[(String, String, u64, u64)]) -> Heat {
    let mut sites: BTreeSet<String> = BTreeSet::new();
    let mut vendor_totals: BTreeMap<String, u64> = BTreeMap::new();
    for (site, vendor, _, b) in cells {
        sites.insert(site.clone());
        *vendor_totals.entry(vendor.clone()).or_default() += b;
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
            Some(v) => values[s][v] += b,
            None => {
                if let Some(o) = others.get_mut(s) {
                    *o += b;
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
    use super::*;
    use xborder_engine::aggregate::Tables;

    fn finding(
        regime: &str,
        site: &str,
        vendor: &str,
        id: &str,
        flows: u64,
        bytes: u64,
    ) -> FindingRow {
        FindingRow {
            regime: regime.into(),
            rule_id: format!("{regime}-rule"),
            citation: String::new(),
            source_site: site.into(),
            source_country: "CN".into(),
            destination_country: if vendor == "Anthropic" {
                "US".into()
            } else {
                "SG".into()
            },
            vendor: vendor.into(),
            vendor_hq_country: "US".into(),
            product: format!("{vendor} API"),
            category: "llm".into(),
            attribution: "dns".into(),
            transfer_basis: String::new(),
            flows,
            bytes_out: bytes,
            bytes_in: 0,
            distinct_sources: 1,
            first_seen: String::new(),
            last_seen: String::new(),
            finding_id: id.into(),
        }
    }

    fn tables() -> Tables {
        Tables {
            findings: vec![
                // One egress group under two regimes: one flow group, counted once overall.
                finding("CN-PIPL", "Shanghai", "Anthropic", "g1", 10, 1000),
                finding("CN-DSL", "Shanghai", "Anthropic", "g1", 10, 1000),
                finding("CN-PIPL", "Shanghai", "OpenAI", "g2", 5, 500),
                finding("CN-PIPL", "Beijing", "OpenAI", "g3", 2, 200),
            ],
            site_vendor_bytes: vec![
                ("Beijing".into(), "OpenAI".into(), 2, 200),
                ("Shanghai".into(), "Anthropic".into(), 12, 1100),
                ("Shanghai".into(), "OpenAI".into(), 5, 500),
            ],
            daily_ai: vec![(20_000, 17, 1700)],
            ..Default::default()
        }
    }

    fn model() -> ReportModel {
        ReportModel::from_parts(
            &tables(),
            &["CN-PIPL".into(), "CN-DSL".into(), "EU-GDPR".into()],
            &[
                ("Shanghai".into(), "CN".into()),
                ("Beijing".into(), "CN".into()),
                ("Idle".into(), "CN".into()),
            ],
            vec![],
        )
    }

    #[test]
    fn a_group_under_two_regimes_is_counted_once_in_the_totals() {
        let m = model();
        assert_eq!(
            m.totals.cross_border,
            Figures {
                flows: 17,
                bytes_out: 1700
            }
        );
        assert_eq!((m.totals.vendors, m.totals.sites), (2, 2));
        assert_eq!(
            m.regime("CN-PIPL").unwrap().figures,
            Figures {
                flows: 17,
                bytes_out: 1700
            }
        );
        assert_eq!(
            m.regime("CN-DSL").unwrap().figures,
            Figures {
                flows: 10,
                bytes_out: 1000
            }
        );
        assert_eq!(m.regime("EU-GDPR").unwrap().figures, Figures::default());
        assert_eq!(
            m.regime_bytes,
            vec![("CN-PIPL".to_string(), 1700), ("CN-DSL".to_string(), 1000)]
        );
        assert_eq!(
            m.countries,
            vec![("US".to_string(), 1000), ("SG".to_string(), 700)]
        );
    }

    #[test]
    fn regimes_drill_down_to_sites_vendors_and_findings() {
        let m = model();
        let pipl = m.regime("CN-PIPL").unwrap();
        assert_eq!(pipl.top_vendor.as_deref(), Some("Anthropic"));
        assert_eq!(pipl.vendor_count, 2);
        let sites: Vec<&str> = pipl.sites.iter().map(|s| s.site.as_str()).collect();
        assert_eq!(sites, ["Beijing", "Shanghai"]);
        let shanghai = &pipl.sites[1];
        assert_eq!(
            shanghai.figures,
            Figures {
                flows: 15,
                bytes_out: 1500
            }
        );
        assert_eq!(shanghai.vendors[0].vendor, "Anthropic");
        assert_eq!(shanghai.vendors[0].findings, vec![0]);
        assert_eq!(shanghai.vendors[1].findings, vec![2]);
    }

    #[test]
    fn sites_show_all_ai_egress_and_their_cross_border_share() {
        let m = model();
        assert_eq!(
            m.sites[0],
            SiteFigures {
                site: "Shanghai".into(),
                country: "CN".into(),
                ai: Figures {
                    flows: 17,
                    bytes_out: 1600
                },
                cross_border_flows: 15,
            }
        );
        assert_eq!(m.sites[2].ai, Figures::default());
        assert_eq!(m.site_bytes[0], ("Shanghai".to_string(), 1500));
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
    }
}
