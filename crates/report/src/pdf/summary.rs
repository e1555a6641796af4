//! The executive summary: verdicts, key figures, egress totals and one sentence per regime.

use super::regime_name;
use crate::layout::{ColumnSpec, Layout};
use crate::model::{shown_regimes, ReportModel};
use crate::tf;
use crate::{group_digits, human_bytes};
use std::collections::{BTreeMap, BTreeSet};
use xborder_engine::classify::regimes::RegimeKind;
use xborder_engine::classify::sites::UNKNOWN_SITE;
use xborder_engine::run::{Analysis, Catalogs};

pub(super) fn executive_summary(
    l: &mut Layout,
    catalogs: &Catalogs,
    a: &Analysis,
    model: &ReportModel,
) {
    l.heading("Executive summary");
    super::assurance::verdicts(l, catalogs, a);
    super::conclusions::key_figures_and_conclusions(l, catalogs, a, model);
    let f = &a.totals.flows;
    let ai_bytes: u64 = a.tables.summary_by_vendor.iter().map(|r| r.bytes_out).sum();
    l.key_values(
        &[
            (
                "Accepted flows".into(),
                group_digits(a.totals.flow_records.accepted),
            ),
            (
                "Egress flows".into(),
                tf!(
                    l.tr,
                    "{} from sites, {} from unknown sources",
                    group_digits(f.egress),
                    group_digits(f.egress_unknown_site)
                ),
            ),
            (
                "AI-vendor egress".into(),
                tf!(
                    l.tr,
                    "{} flows, {} sent",
                    group_digits(f.ai_vendor),
                    human_bytes(ai_bytes)
                ),
            ),
            (
                "Rejected records".into(),
                group_digits(
                    a.totals.flow_records.rejected
                        + a.totals.dns_records.rejected
                        + a.totals.proxy_records.rejected,
                ),
            ),
        ],
        10.0,
    );
    l.subheading("Cross-border AI egress by regime");
    let mut rows = Vec::new();
    for regime in shown_regimes(catalogs) {
        let hits: Vec<_> = a
            .tables
            .findings
            .iter()
            .filter(|r| r.regime == regime.id)
            .collect();
        let flows: u64 = hits.iter().map(|r| r.flows).sum();
        let bytes: u64 = hits.iter().map(|r| r.bytes_out).sum();
        let vendors: BTreeSet<&str> = hits.iter().map(|r| r.vendor.as_str()).collect();
        let sites: BTreeSet<&str> = hits.iter().map(|r| r.source_site.as_str()).collect();
        let countries: BTreeSet<&str> = hits
            .iter()
            .map(|r| r.destination_country.as_str())
            .collect();
        rows.push(vec![
            regime.id.clone(),
            group_digits(flows),
            human_bytes(bytes),
            vendors.len().to_string(),
            sites.into_iter().collect::<Vec<_>>().join(", "),
            countries.into_iter().collect::<Vec<_>>().join(", "),
        ]);
    }
    l.table(
        &[
            ColumnSpec::left("Regime", 14.0),
            ColumnSpec::right("Flows", 14.0),
            ColumnSpec::right("Bytes out", 18.0),
            ColumnSpec::right("Vendors", 14.0),
            ColumnSpec::left("Sites", 30.0),
            ColumnSpec::left("Destinations", 24.0),
        ],
        &rows,
        8.5,
    );
    for regime in shown_regimes(catalogs) {
        let hits: Vec<_> = a
            .tables
            .findings
            .iter()
            .filter(|r| r.regime == regime.id)
            .collect();
        let sentence = if regime.kind == RegimeKind::NoRestriction {
            tf!(
                l.tr,
                "{} ({}): no transfer restriction is in force; egress from these sites is not a finding.",
                regime.id,
                regime_name(&l.tr, regime)
            )
        } else if hits.is_empty() {
            tf!(
                l.tr,
                "{} ({}): no AI-vendor egress was a cross-border transfer in this period.",
                regime.id,
                regime_name(&l.tr, regime)
            )
        } else {
            let mut by_vendor: BTreeMap<&str, u64> = BTreeMap::new();
            for h in &hits {
                *by_vendor.entry(h.vendor.as_str()).or_default() += h.bytes_out;
            }
            let top = by_vendor
                .iter()
                .max_by_key(|(_, b)| **b)
                .map(|(v, _)| *v)
                .unwrap_or("");
            tf!(l.tr, "{} ({}): {} flows from {} site(s) reached {} AI vendor(s) abroad; the largest by bytes out was {}.",
                regime.id,
                regime_name(&l.tr, regime),
                group_digits(hits.iter().map(|r| r.flows).sum()),
                hits.iter().map(|r| r.source_site.as_str()).collect::<BTreeSet<_>>().len(),
                by_vendor.len(),
                top
            )
        };
        l.bullet(&sentence, 9.0);
    }
    if f.egress_unknown_site > 0 {
        l.bullet(
            &tf!(l.tr, "{} egress flows came from sources in no configured site ({}); they are judged under no regime. Add their networks to the sites file.",
                group_digits(f.egress_unknown_site),
                UNKNOWN_SITE
            ),
            9.0,
        );
    }
    l.y -= 2.0;
}
