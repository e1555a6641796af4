//! Top vendors: bytes sent to each AI vendor, and summary_by_vendor.csv as a table.

use crate::layout::{ColumnSpec, Layout};
use crate::model::ReportModel;
use crate::{group_digits, human_bytes};
use xborder_engine::run::Analysis;

pub(super) fn top_vendors(l: &mut Layout, a: &Analysis, model: &ReportModel) {
    l.heading("Top vendors");
    let items = &model.top_vendors;
    if items.is_empty() {
        l.paragraph("No AI-vendor egress was observed.", 10.0);
        return;
    }
    l.bar_chart(
        "Bytes sent to each AI vendor (all sites, all destinations)",
        items,
        &|v| human_bytes(v),
    );
    let rows: Vec<Vec<String>> = a
        .tables
        .summary_by_vendor
        .iter()
        .map(|r| {
            vec![
                r.vendor.clone(),
                r.product.clone(),
                r.category.clone(),
                group_digits(r.flows),
                human_bytes(r.bytes_out),
                group_digits(r.cross_border_flows),
                r.distinct_sources.to_string(),
                r.destination_countries.replace(';', ", "),
            ]
        })
        .collect();
    l.table(
        &[
            ColumnSpec::left("Vendor", 16.0),
            ColumnSpec::left("Product", 24.0),
            ColumnSpec::left("Category", 16.0),
            ColumnSpec::right("Flows", 10.0),
            ColumnSpec::right("Bytes out", 15.0),
            ColumnSpec::right("Cross-border", 15.0),
            ColumnSpec::right("Srcs", 8.0),
            ColumnSpec::left("Destinations", 16.0),
        ],
        &rows,
        7.5,
    );
}
