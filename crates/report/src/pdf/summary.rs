//! The executive summary: verdicts, key figures and conclusions, egress totals and one
//! sentence per regime.

use super::regime_name;
use crate::layout::{ColumnSpec, Layout};
use crate::model::{shown_regimes, ReportModel};
use crate::tf;
use crate::{group_digits, human_bytes};
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
    super::conclusions::key_figures_and_conclusions(l, catalogs, model);
    let f = &a.totals.flows;
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
                    group_digits(model.totals.ai.flows),
                    human_bytes(model.totals.ai.bytes_out)
                ),
            ),
            (
                "Rejected records".into(),
                group_digits(model.quality.rejected_records),
            ),
        ],
        10.0,
    );
    l.subheading("Cross-border AI egress by regime");
    let shown: Vec<_> = shown_regimes(catalogs)
        .into_iter()
        .filter_map(|r| model.regime(&r.id).map(|node| (r, node)))
        .collect();
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|(regime, node)| {
            vec![
                regime.id.clone(),
                group_digits(node.figures.flows),
                human_bytes(node.figures.bytes_out),
                node.vendor_count.to_string(),
                node.sites
                    .iter()
                    .map(|s| s.site.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                node.destinations.join(", "),
            ]
        })
        .collect();
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
    for (regime, node) in &shown {
        let sentence = if regime.kind == RegimeKind::NoRestriction {
            tf!(
                l.tr,
                "{} ({}): no transfer restriction is in force; egress from these sites is not a finding.",
                regime.id,
                regime_name(&l.tr, regime)
            )
        } else if node.findings.is_empty() {
            tf!(
                l.tr,
                "{} ({}): no AI-vendor egress was a cross-border transfer in this period.",
                regime.id,
                regime_name(&l.tr, regime)
            )
        } else {
            tf!(l.tr, "{} ({}): {} flows from {} site(s) reached {} AI vendor(s) abroad; the largest by bytes out was {}.",
                regime.id,
                regime_name(&l.tr, regime),
                group_digits(node.figures.flows),
                node.sites.len(),
                node.vendor_count,
                node.top_vendor.as_deref().unwrap_or("")
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
