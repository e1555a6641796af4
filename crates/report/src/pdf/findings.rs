//! The findings table, one row per findings.csv row.

use crate::layout::{ColumnSpec, Layout};
use crate::{group_digits, human_bytes};
use xborder_engine::run::Analysis;

pub(super) fn findings(l: &mut Layout, a: &Analysis) {
    l.heading("Findings");
    l.paragraph(
        "AI-vendor egress that is a cross-border transfer under a regime, one row per regime, site, destination country, vendor, product and attribution method. findings.csv holds the same rows with the full citation and transfer basis.",
        9.0,
    );
    if a.tables.findings.is_empty() {
        l.paragraph("No findings.", 10.0);
        return;
    }
    let rows: Vec<Vec<String>> = a
        .tables
        .findings
        .iter()
        .map(|r| {
            vec![
                r.regime.clone(),
                r.source_site.clone(),
                r.destination_country.clone(),
                r.vendor.clone(),
                r.product.clone(),
                r.attribution.clone(),
                basis_short(&r.transfer_basis),
                group_digits(r.flows),
                human_bytes(r.bytes_out),
                r.distinct_sources.to_string(),
            ]
        })
        .collect();
    l.table(
        &[
            ColumnSpec::left("Regime", 11.0),
            ColumnSpec::left("Site", 14.0),
            ColumnSpec::left("Dest", 9.0),
            ColumnSpec::left("Vendor", 16.0),
            ColumnSpec::left("Product", 20.0),
            ColumnSpec::left("Method", 11.0),
            ColumnSpec::left("Basis", 16.0),
            ColumnSpec::right("Flows", 10.0),
            ColumnSpec::right("Bytes out", 15.0),
            ColumnSpec::right("Srcs", 8.0),
        ],
        &rows,
        7.5,
    );
}

/// The kind of basis without the decision text, for narrow table cells.
pub(super) fn basis_short(basis: &str) -> String {
    // An onward-transfer basis (classify::onward) names its reason first; keep the
    // reason's head, which a `(` inside an entity name would otherwise cut.
    if let Some(rest) = basis.strip_prefix("importer ") {
        let head = rest.split(" (EDPB").next().unwrap_or(rest);
        return format!("importer {}", head.trim());
    }
    basis
        .split([':', '('])
        .next()
        .unwrap_or(basis)
        .trim()
        .to_string()
}

#[cfg(test)]
mod basis_tests {
    use super::basis_short;

    #[test]
    fn onward_bases_keep_their_reason_in_the_short_form() {
        assert_eq!(basis_short("adequacy: Decision 2021/1772 (UK)"), "adequacy");
        assert_eq!(
            basis_short("importer GitHub (Microsoft) established in US (EDPB Guidelines 05/2021: x): conditional: y"),
            "importer GitHub (Microsoft) established in US"
        );
        assert_eq!(
            basis_short("potential onward transfer: DMXAPI model relay relays requests"),
            "potential onward transfer"
        );
    }
}
