//! Top vendors: bytes sent to each AI vendor, and summary_by_vendor.csv as a table.

use crate::layout::{ColumnSpec, Layout};
use crate::{group_digits, human_bytes};
use std::collections::BTreeMap;
use xborder_engine::run::Analysis;

pub(super) fn top_vendors(l: &mut Layout, a: &Analysis) {
    l.heading("Top vendors");
    let mut by_vendor: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for r in &a.tables.summary_by_vendor {
        let e = by_vendor.entry(r.vendor.as_str()).or_default();
        e.0 += r.bytes_out;
        e.1 += r.flows;
    }
    let mut items: Vec<(String, u64)> = by_vendor
        .iter()
        .map(|(v, (b, _))| (v.to_string(), *b))
        .collect();
    items.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    items.truncate(15);
    if items.is_empty() {
        l.paragraph("No AI-vendor egress was observed.", 10.0);
        return;
    }
    l.bar_chart(
        "Bytes sent to each AI vendor (all sites, all destinations)",
        &items,
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
