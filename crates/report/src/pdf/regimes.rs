//! Findings by regime: each regime shown, its rule and its findings.

use super::regime_name;
use crate::layout::Layout;
use crate::model::{shown_regimes, ReportModel};
use crate::tf;
use crate::{group_digits, human_bytes};
use xborder_engine::run::{Analysis, Catalogs};

pub(super) fn regime_sections(
    l: &mut Layout,
    catalogs: &Catalogs,
    a: &Analysis,
    model: &ReportModel,
) {
    l.heading("Findings by regime");
    for r in shown_regimes(catalogs) {
        let Some(node) = model.regime(&r.id) else {
            continue;
        };
        l.subheading(&format!("{} - {}", r.id, regime_name(&l.tr, r)));
        l.key_values(
            &[
                ("Rule".into(), r.rule_id.clone()),
                ("Citation".into(), r.citation.clone()),
                ("Obligation".into(), r.obligation.clone()),
            ],
            8.0,
        );
        if node.findings.is_empty() {
            l.paragraph("No findings under this regime.", 9.0);
            continue;
        }
        l.paragraph(
            &tf!(l.tr, "{} cross-border AI flows ({}) from {} site(s) to {} vendor(s); the largest was {}.", group_digits(node.figures.flows), human_bytes(node.figures.bytes_out), node.sites.len(), node.vendor_count, node.top_vendor.as_deref().unwrap_or("")),
            9.0,
        );
        if !r.auditor_evidence.is_empty() {
            l.paragraph("What an auditor should ask for", 8.5);
            for e in &r.auditor_evidence {
                l.bullet(e, 8.0);
            }
        }
        // The method tells apart rows that are otherwise alike (one group by DNS, one by
        // IP range).
        super::finding_table(l, a, &node.findings, ("Site", 16.0), |f| {
            f.source_site.clone()
        });
    }
}
