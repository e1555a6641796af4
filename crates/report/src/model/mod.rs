//! The report model: every figure that report.pdf and report.html show, computed once.
//!
//! A total that each renderer summed for itself could drift (one counting a flow under
//! two regimes twice, the other once); the renderers only format what this module
//! computes, and a test compares the HTML's figures with it. Each concern has its own
//! file, with unit tests on small hand-built tables:
//!
//! - `regimes`: the regime → site → vendor → finding drill-down;
//! - `sites`: each configured site's AI egress;
//! - `charts`: rankings by country, site and regime, the site × vendor table, ban marks;
//! - `conclusions`: the executive summary's three sentences;
//! - `vendors`: the top vendors and what the catalog says about each vendor reached;
//! - `coverage`: the day marks and gap labels of the coverage timeline;
//! - `quality`: the data-quality figures;
//! - `policy`: per banned rule, did it hold; other verdicts; blocked attempts;
//!   departments.

mod charts;
mod conclusions;
mod coverage;
mod policy;
mod quality;
mod regimes;
mod sites;
mod vendors;

use std::collections::{BTreeMap, BTreeSet};

pub use charts::{BanMark, Heat, CHART_BARS, HEAT_VENDORS};
pub use conclusions::{Conclusion, CONCLUSIONS};
pub use coverage::{Coverage, CoverageRow, DayMark};
pub use policy::{
    BanOutcome, BanRule, BanSiteRow, BlockedRow, DepartmentTotal, FirstUse, OtherVerdict,
    PolicyModel,
};
pub use quality::{DataQuality, MethodCount};
pub use regimes::{RegimeNode, SiteNode, VendorNode};
pub use sites::SiteFigures;
pub use vendors::{VendorDetail, TOP_VENDORS};

use xborder_engine::aggregate::FindingRow;
use xborder_engine::run::{Analysis, AnalyzeOptions, Catalogs};

/// Flows and bytes out, each egress group (finding id) counted once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub flows: u64,
    pub bytes_out: u64,
}

/// The headline figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Cross-border AI egress, each egress group once.
    pub cross_border: Figures,
    /// Vendors reached across a border.
    pub vendors: usize,
    /// Sites with cross-border AI egress.
    pub sites: usize,
    /// All AI-vendor egress: the flows counted by the fold, the bytes of
    /// summary_by_vendor.csv.
    pub ai: Figures,
    /// Bytes out of summary_by_vendor.csv that crossed a border under a regime.
    pub ai_cross_border_bytes_out: u64,
}

/// Everything the two reports count.
#[derive(Debug, Clone)]
pub struct ReportModel {
    /// The run's id, from the engine ([`xborder_engine::run::run_id`]).
    pub run_id: String,
    pub totals: Totals,
    /// One node per regime shown, in catalog order.
    pub regimes: Vec<RegimeNode>,
    /// One entry per configured site, in the sites file's order.
    pub sites: Vec<SiteFigures>,
    /// Cross-border bytes out per destination country code, largest first.
    pub countries: Vec<(String, u64)>,
    /// Cross-border bytes out per site, largest first.
    pub site_bytes: Vec<(String, u64)>,
    /// Cross-border bytes out per regime, largest first; regimes without any left out.
    pub regime_bytes: Vec<(String, u64)>,
    /// AI-vendor egress per day: (days since 1970-01-01, flows, bytes out).
    pub daily: Vec<(i32, u64, u64)>,
    /// First days of banned rules, one mark per distinct day, in policy order.
    pub bans: Vec<BanMark>,
    pub heat: Heat,
    /// The executive summary's conclusions, at most [`CONCLUSIONS`].
    pub conclusions: Vec<Conclusion>,
    /// Bytes out per AI vendor (all sites, all destinations), the largest
    /// [`TOP_VENDORS`].
    pub top_vendors: Vec<(String, u64)>,
    /// Each vendor reached, in catalog order.
    pub vendor_details: Vec<VendorDetail>,
    pub coverage: Coverage,
    pub quality: DataQuality,
    /// Present when a policy was given.
    pub policy: Option<PolicyModel>,
    /// Blocked attempts per day, site, product and rule.
    pub blocked: Vec<BlockedRow>,
    /// AI egress per department and regime; present with an asset inventory.
    pub departments: Option<Vec<DepartmentTotal>>,
}

/// Rank (name, value) pairs largest first; equal values in name order, so a tie always
/// ranks the same way.
pub fn largest_first(m: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    v
}

/// Each egress group (finding id) once, in order of first appearance, with its figures.
///
/// The rows of one group under one regime cover different flows (different days or
/// transfer bases), so they add up; under two regimes they count the same flows again, so
/// the group counts as much as its largest regime (fewer flows would undercount it). This
/// is exact unless two regimes cover a group on disjoint days, where it is a lower bound.
pub fn groups<'a>(
    rows: impl IntoIterator<Item = &'a FindingRow>,
) -> Vec<(&'a FindingRow, Figures)> {
    let mut order: Vec<&'a FindingRow> = Vec::new();
    let mut per: BTreeMap<&'a str, BTreeMap<&'a str, Figures>> = BTreeMap::new();
    for r in rows {
        let regimes = per.entry(r.finding_id.as_str()).or_insert_with(|| {
            order.push(r);
            BTreeMap::new()
        });
        let f = regimes.entry(r.regime.as_str()).or_default();
        f.flows = f.flows.saturating_add(r.flows);
        f.bytes_out = f.bytes_out.saturating_add(r.bytes_out);
    }
    order
        .into_iter()
        .map(|r| {
            let largest = per
                .get(r.finding_id.as_str())
                .into_iter()
                .flat_map(|m| m.values())
                .copied()
                .max_by(|x, y| x.flows.cmp(&y.flows).then(x.bytes_out.cmp(&y.bytes_out)))
                .unwrap_or_default();
            (r, largest)
        })
        .collect()
}

/// Sum flows and bytes over finding rows, each egress group once ([`groups`]).
pub fn figures<'a>(rows: impl IntoIterator<Item = &'a FindingRow>) -> Figures {
    groups(rows)
        .into_iter()
        .fold(Figures::default(), |acc, (_, f)| Figures {
            flows: acc.flows.saturating_add(f.flows),
            bytes_out: acc.bytes_out.saturating_add(f.bytes_out),
        })
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
    pub fn build(opts: &AnalyzeOptions, catalogs: &Catalogs, a: &Analysis) -> Self {
        let t = &a.tables;
        let f = &t.findings;
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
        let totals = totals(t, a.totals.flows.ai_vendor);
        let countries = charts::countries(f);
        let site_bytes = charts::site_bytes(f);
        let policy = catalogs
            .policy
            .as_ref()
            .map(|p| policy::policy(p, &a.org, &a.verdicts.policy));
        let breaches: Vec<&BanRule> = policy
            .iter()
            .flat_map(|p| p.bans.iter())
            .filter(|b| matches!(b.outcome, BanOutcome::Broken(_)))
            .collect();
        let conclusions = conclusions::conclusions(
            &site_bytes,
            conclusions::top_country(f, &countries),
            &breaches,
            &totals,
        );
        ReportModel {
            run_id: xborder_engine::run::run_id(opts, a),
            regimes: regimes::regime_nodes(f, &regime_ids),
            sites: sites::site_figures(t, &site_names),
            regime_bytes: charts::regime_bytes(f, &regime_ids),
            daily: t.daily_ai.clone(),
            bans: catalogs
                .policy
                .as_ref()
                .map(charts::ban_marks)
                .unwrap_or_default(),
            heat: charts::heat(&t.site_vendor_bytes),
            top_vendors: vendors::top_vendors(&t.summary_by_vendor),
            vendor_details: vendors::vendor_details(&catalogs.vendors, &t.summary_by_vendor),
            coverage: coverage::coverage(&a.coverage),
            quality: quality::data_quality(&a.totals),
            blocked: policy::blocked(&a.blocked),
            departments: a.org.departments.as_deref().map(policy::departments),
            conclusions,
            countries,
            site_bytes,
            totals,
            policy,
        }
    }

    /// The regime node of `id`, if shown.
    pub fn regime(&self, id: &str) -> Option<&RegimeNode> {
        self.regimes.iter().find(|r| r.id == id)
    }
}

/// The headline figures from the tables and the fold's count of AI-vendor flows.
fn totals(t: &xborder_engine::aggregate::Tables, ai_flows: u64) -> Totals {
    let f = &t.findings;
    let sum = |g: fn(&xborder_engine::aggregate::VendorSummaryRow) -> u64| {
        t.summary_by_vendor
            .iter()
            .fold(0u64, |acc, r| acc.saturating_add(g(r)))
    };
    Totals {
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
        ai: Figures {
            flows: ai_flows,
            bytes_out: sum(|r| r.bytes_out),
        },
        ai_cross_border_bytes_out: sum(|r| r.cross_border_bytes_out),
    }
}

#[cfg(test)]
pub(crate) mod test_rows {
    //! Small hand-built rows shared by the model's tests.

    use xborder_engine::aggregate::{FindingRow, Tables, VendorSummaryRow};
    use xborder_engine::classify::policy::{Boundary, Policy, PolicyHeader, Rule, Verdict};

    pub fn finding(
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

    pub fn summary(vendor: &str, product: &str, bytes: u64, cross: u64) -> VendorSummaryRow {
        VendorSummaryRow {
            vendor: vendor.into(),
            vendor_hq_country: "US".into(),
            product: product.into(),
            category: "llm".into(),
            flows: 1,
            bytes_out: bytes,
            bytes_in: 0,
            cross_border_flows: u64::from(cross > 0),
            cross_border_bytes_out: cross,
            distinct_sources: 1,
            sites: "Shanghai".into(),
            destination_countries: "US".into(),
            first_seen: String::new(),
            last_seen: String::new(),
        }
    }

    pub fn rule(id: &str, verdict: Verdict, july_day: u32) -> Rule {
        Rule {
            id: id.into(),
            verdict,
            effective_from: Boundary::Date(
                chrono::NaiveDate::from_ymd_opt(2026, 7, july_day).unwrap(),
            ),
            effective_until: None,
            reason: format!("{id} reason"),
            memo: None,
            products: vec![],
            vendors: vec![],
            categories: vec![],
            sites: vec![],
            site_countries: vec![],
        }
    }

    /// A policy named "AI use", version 3, of these rules.
    pub fn policy_of(rules: Vec<Rule>) -> Policy {
        Policy {
            header: PolicyHeader {
                name: "AI use".into(),
                version: "3".into(),
                owner: None,
                notes: None,
            },
            rules,
            path: String::new(),
            sha256: String::new(),
        }
    }

    /// One egress group (g1) under two regimes, two more under one.
    pub fn tables() -> Tables {
        Tables {
            findings: vec![
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
            summary_by_vendor: vec![
                summary("Anthropic", "Claude API", 1100, 1000),
                summary("OpenAI", "OpenAI API", 700, 700),
                summary("OpenAI", "ChatGPT", 200, 0),
            ],
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_rows::{finding, tables};
    use super::*;

    #[test]
    fn a_group_under_two_regimes_is_counted_once_in_the_totals() {
        let t = totals(&tables(), 19);
        assert_eq!(
            t.cross_border,
            Figures {
                flows: 17,
                bytes_out: 1700
            }
        );
        assert_eq!((t.vendors, t.sites), (2, 2));
        assert_eq!(
            t.ai,
            Figures {
                flows: 19,
                bytes_out: 2000
            }
        );
        assert_eq!(t.ai_cross_border_bytes_out, 1700);
    }

    #[test]
    fn rows_of_one_group_under_one_regime_add_up() {
        // g1 under PIPL on two bases (days before and after a decision): 4 + 6 flows;
        // under DSL on one basis: 10. The group counts 10, not the first row's 4.
        let rows = [
            finding("CN-PIPL", "S", "OpenAI", "g1", 4, 40),
            finding("CN-PIPL", "S", "OpenAI", "g1", 6, 60),
            finding("CN-DSL", "S", "OpenAI", "g1", 10, 100),
            finding("CN-DSL", "S", "OpenAI", "g2", 1, 1),
        ];
        assert_eq!(
            figures(&rows),
            Figures {
                flows: 11,
                bytes_out: 101
            }
        );
        assert_eq!(figures(&rows[..2]).flows, 10);
        let g = groups(&rows);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].0.finding_id, "g1");
        // A regime covering only part of the group does not shrink it.
        let partial = [
            finding("CN-PIPL", "S", "OpenAI", "g1", 10, 100),
            finding("CN-DSL", "S", "OpenAI", "g1", 3, 30),
        ];
        assert_eq!(figures(&partial).flows, 10);
    }

    #[test]
    fn empty_tables_give_zeros() {
        let t = totals(&xborder_engine::aggregate::Tables::default(), 0);
        assert_eq!(t, Totals::default());
        assert_eq!(figures([]), Figures::default());
    }

    #[test]
    fn ties_rank_by_name() {
        let m: BTreeMap<String, u64> = [("b", 5), ("a", 5), ("c", 9)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let ranked = largest_first(m);
        let names: Vec<&str> = ranked.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(names, ["c", "a", "b"]);
    }
}
