//! Vendor detail: what the catalog says about each vendor reached, and its products.

use super::country_name;
use crate::layout::{ColumnSpec, Layout};
use crate::{group_digits, human_bytes};
use std::collections::BTreeSet;
use xborder_engine::run::{Analysis, Catalogs};

pub(super) fn vendor_details(l: &mut Layout, catalogs: &Catalogs, a: &Analysis) {
    l.heading("Vendor detail");
    let used: BTreeSet<&str> = a
        .tables
        .summary_by_vendor
        .iter()
        .map(|r| r.vendor.as_str())
        .collect();
    for v in catalogs
        .vendors
        .vendors
        .iter()
        .filter(|v| used.contains(v.name.as_str()))
    {
        l.subheading(&v.name);
        let regions: BTreeSet<String> = catalogs
            .vendors
            .products
            .iter()
            .filter(|p| catalogs.vendors.vendors[p.vendor].id == v.id)
            .flat_map(|p| p.regions.iter().map(|(h, c)| format!("{h}: {c}")))
            .collect();
        let scopes: BTreeSet<String> = catalogs
            .vendors
            .products
            .iter()
            .filter(|p| catalogs.vendors.vendors[p.vendor].id == v.id)
            .flat_map(|p| {
                p.processing
                    .iter()
                    .map(|(h, s)| format!("{h}: {}", s.as_str()))
            })
            .collect();
        let questions: Vec<(String, String)> = catalogs
            .vendors
            .products
            .iter()
            .filter(|p| catalogs.vendors.vendors[p.vendor].id == v.id)
            .filter_map(|p| {
                p.upstream_question
                    .as_ref()
                    .map(|q| (l.tr.s("Ask the relay"), format!("{}: {q}", p.name)))
            })
            .collect();
        let newest = v
            .sources
            .iter()
            .map(|s| s.as_of.as_str())
            .max()
            .unwrap_or("");
        l.key_values(
            &[
                (
                    "HQ".into(),
                    format!(
                        "{} {}",
                        v.hq_country,
                        country_name(&l.tr, catalogs, &v.hq_country)
                    ),
                ),
                (
                    "Documented processing regions".into(),
                    if regions.is_empty() {
                        l.tr.s("none")
                    } else {
                        regions.into_iter().collect::<Vec<_>>().join(", ")
                    },
                ),
                (
                    "Importer".into(),
                    format!(
                        "{} ({})",
                        v.importer_entity.as_deref().unwrap_or(&v.name),
                        v.importer_country
                    ),
                ),
                (
                    "Processing scope".into(),
                    if scopes.is_empty() {
                        l.tr.s("none")
                    } else {
                        scopes.into_iter().collect::<Vec<_>>().join(", ")
                    },
                ),
                (
                    "Source".into(),
                    format!(
                        "{} ({})",
                        v.sources.first().map(|s| s.url.as_str()).unwrap_or(""),
                        newest
                    ),
                ),
            ],
            8.0,
        );
        if !questions.is_empty() {
            l.key_values(&questions, 8.0);
        }
        let rows: Vec<Vec<String>> = a
            .tables
            .summary_by_vendor
            .iter()
            .filter(|r| r.vendor == v.name)
            .map(|r| {
                vec![
                    r.product.clone(),
                    r.category.clone(),
                    group_digits(r.flows),
                    human_bytes(r.bytes_out),
                    group_digits(r.cross_border_flows),
                    r.sites.replace(';', ", "),
                ]
            })
            .collect();
        l.table(
            &[
                ColumnSpec::left("Product", 34.0),
                ColumnSpec::left("Category", 16.0),
                ColumnSpec::right("Flows", 12.0),
                ColumnSpec::right("Bytes out", 16.0),
                ColumnSpec::right("Cross-border", 16.0),
                ColumnSpec::left("Sites", 24.0),
            ],
            &rows,
            7.5,
        );
    }
}
