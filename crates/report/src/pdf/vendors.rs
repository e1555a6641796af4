//! Vendor detail: what the catalog says about each vendor reached, and its products.

use super::country_name;
use crate::layout::{ColumnSpec, Layout};
use crate::model::ReportModel;
use crate::{group_digits, human_bytes};
use xborder_engine::run::{Analysis, Catalogs};

pub(super) fn vendor_details(
    l: &mut Layout,
    catalogs: &Catalogs,
    a: &Analysis,
    model: &ReportModel,
) {
    l.heading("Vendor detail");
    for v in &model.vendor_details {
        l.subheading(&v.name);
        let listed = |l: &Layout, items: &[String]| {
            if items.is_empty() {
                l.tr.s("none")
            } else {
                items.join(", ")
            }
        };
        let questions: Vec<(String, String)> = v
            .relay_questions
            .iter()
            .map(|(product, q)| (l.tr.s("Ask the relay"), format!("{product}: {q}")))
            .collect();
        let rows = [
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
                listed(l, &v.regions),
            ),
            (
                "Importer".into(),
                format!("{} ({})", v.importer, v.importer_country),
            ),
            ("Processing scope".into(), listed(l, &v.scopes)),
            (
                "Source".into(),
                format!("{} ({})", v.source_url, v.source_as_of),
            ),
        ];
        l.key_values(&rows, 8.0);
        if !questions.is_empty() {
            l.key_values(&questions, 8.0);
        }
        let rows: Vec<Vec<String>> = v
            .products
            .iter()
            .map(|&i| &a.tables.summary_by_vendor[i])
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
