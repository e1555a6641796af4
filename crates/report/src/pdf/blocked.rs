//! Blocked attempts: requests a proxy or gateway refused.

use crate::group_digits;
use crate::layout::{ColumnSpec, Layout};
use std::collections::BTreeMap;
use xborder_engine::run::Analysis;

/// Requests to AI vendors that a proxy or gateway refused, per site and day: not egress,
/// but the evidence that a ban was enforced.
pub(super) fn blocked_attempts(l: &mut Layout, a: &Analysis) {
    l.paragraph(
        "Requests to AI vendors that a web proxy, gateway or URL filter refused. Nothing left the network, so they are not counted as egress; they show that a block was enforced and who still tried. blocked_attempts.csv has them per day, site, department, tool and host.",
        9.0,
    );
    let mut per: BTreeMap<(&str, &str, &str, &str), (u64, u64)> = BTreeMap::new();
    for r in &a.blocked {
        let e = per
            .entry((
                r.day.as_str(),
                r.source_site.as_str(),
                r.product.as_str(),
                r.rule_id.as_str(),
            ))
            .or_default();
        e.0 += r.attempts;
        e.1 += r.distinct_sources;
    }
    let rows: Vec<Vec<String>> = per
        .iter()
        .map(|((day, site, product, rule), (n, sources))| {
            vec![
                day.to_string(),
                site.to_string(),
                product.to_string(),
                rule.to_string(),
                group_digits(*n),
                group_digits(*sources),
            ]
        })
        .collect();
    l.table(
        &[
            ColumnSpec::left("Day", 18.0),
            ColumnSpec::left("Site", 18.0),
            ColumnSpec::left("Product", 30.0),
            ColumnSpec::left("Rule", 22.0),
            ColumnSpec::right("Attempts", 12.0),
            ColumnSpec::right("Sources", 12.0),
        ],
        &rows,
        8.0,
    );
}
