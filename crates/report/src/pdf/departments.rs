//! AI egress by department, from the asset inventory.

use crate::layout::{ColumnSpec, Layout};
use crate::{group_digits, human_bytes};
use std::collections::BTreeMap;

pub(super) fn departments_section(
    l: &mut Layout,
    rows: &[xborder_engine::aggregate::org::DepartmentRow],
) {
    l.heading("AI egress by department");
    l.paragraph(
        "From the asset inventory. Individuals are not named in this report; findings_by_department.csv has the full breakdown, and host names and owners appear in policy_violations.csv only when the run was made with --show-owners.",
        9.0,
    );
    let mut totals: BTreeMap<(&str, &str), (u64, u64)> = BTreeMap::new();
    for r in rows {
        let e = totals
            .entry((r.department.as_str(), r.regime.as_str()))
            .or_default();
        e.0 += r.flows;
        e.1 += r.bytes_out;
    }
    let table: Vec<Vec<String>> = totals
        .iter()
        .map(|((d, regime), (f, b))| {
            vec![
                d.to_string(),
                regime.to_string(),
                group_digits(*f),
                human_bytes(*b),
            ]
        })
        .collect();
    l.table(
        &[
            ColumnSpec::left("Department", 40.0),
            ColumnSpec::left("Regime", 14.0),
            ColumnSpec::right("Flows", 14.0),
            ColumnSpec::right("Bytes out", 16.0),
        ],
        &table,
        8.0,
    );
}
