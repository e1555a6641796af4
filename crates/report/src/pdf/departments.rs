//! AI egress by department, from the asset inventory.

use crate::layout::{ColumnSpec, Layout};
use crate::model::DepartmentTotal;
use crate::{group_digits, human_bytes};

pub(super) fn departments_section(l: &mut Layout, rows: &[DepartmentTotal]) {
    l.heading("AI egress by department");
    l.paragraph(
        "From the asset inventory. Individuals are not named in this report; findings_by_department.csv has the full breakdown, and host names and owners appear in policy_violations.csv only when the run was made with --show-owners.",
        9.0,
    );
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.department.clone(),
                r.regime.clone(),
                group_digits(r.flows),
                human_bytes(r.bytes_out),
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
