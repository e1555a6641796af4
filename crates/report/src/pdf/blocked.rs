//! Blocked attempts: requests a proxy or gateway refused.

use crate::group_digits;
use crate::layout::{ColumnSpec, Layout};
use crate::model::BlockedRow;

pub(super) fn blocked_attempts(l: &mut Layout, blocked: &[BlockedRow]) {
    l.paragraph(
        "Requests to AI vendors that a web proxy, gateway or URL filter refused. Nothing left the network, so they are not counted as egress; they show that a block was enforced and who still tried. blocked_attempts.csv has them per day, site, department, tool and host.",
        9.0,
    );
    let rows: Vec<Vec<String>> = blocked
        .iter()
        .map(|r| {
            vec![
                r.day.clone(),
                r.site.clone(),
                r.product.clone(),
                r.rule_id.clone(),
                group_digits(r.attempts),
                group_digits(r.sources),
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
