//! Changes since a baseline run; also the standalone PDF of `xborder diff`.

use crate::human_bytes;
use crate::i18n::{Lang, Tr};
use crate::layout::{register_fonts, stamp, ColumnSpec, Layout, ACCENT, MARGIN_X, PAGE_H, PAGE_W};
use printpdf::{PdfDocument, PdfPage, PdfSaveOptions};
use xborder_model::error::Result;

/// The changes-since-baseline section; also used on its own by `xborder diff`.
pub fn changes_section(l: &mut Layout, changes: &[crate::diff::Change]) {
    l.heading("Changes since the baseline");
    if changes
        .iter()
        .all(|c| c.change == "bytes_out" && c.delta == 0)
    {
        l.paragraph("No changes.", 9.0);
    }
    for (kind, title) in [
        ("vendor_new", "New AI vendors per site"),
        ("vendor_gone", "AI vendors no longer seen per site"),
        ("country_new", "New cross-border destination countries"),
        ("country_gone", "Destination countries no longer seen"),
        ("violation_new", "New policy violations"),
    ] {
        let rows: Vec<Vec<String>> = changes
            .iter()
            .filter(|c| c.change == kind)
            .map(|c| {
                vec![
                    c.source_site.clone(),
                    if c.vendor.is_empty() {
                        c.regime.clone()
                    } else {
                        c.vendor.clone()
                    },
                    if c.destination_country.is_empty() {
                        c.product.clone()
                    } else {
                        c.destination_country.clone()
                    },
                    c.detail.clone(),
                ]
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        l.subheading(title);
        l.table(
            &[
                ColumnSpec::left("Site", 18.0),
                ColumnSpec::left("Vendor / regime", 24.0),
                ColumnSpec::left("Product / country", 24.0),
                ColumnSpec::left("Detail", 40.0),
            ],
            &rows,
            8.0,
        );
    }
    let growth: Vec<Vec<String>> = changes
        .iter()
        .filter(|c| c.change == "bytes_out" && c.delta != 0)
        .map(|c| {
            vec![
                c.vendor.clone(),
                c.regime.clone(),
                human_bytes(c.old_value),
                human_bytes(c.new_value),
                c.detail.clone(),
            ]
        })
        .collect();
    if !growth.is_empty() {
        l.subheading("Bytes out per vendor and regime");
        l.table(
            &[
                ColumnSpec::left("Vendor", 24.0),
                ColumnSpec::left("Regime", 12.0),
                ColumnSpec::right("Baseline", 16.0),
                ColumnSpec::right("Now", 16.0),
                ColumnSpec::right("Change", 14.0),
            ],
            &growth,
            8.0,
        );
    }
}

/// A standalone PDF holding only the changes section (for `xborder diff`).
pub fn render_changes(
    old: &str,
    new: &str,
    changes: &[crate::diff::Change],
    generated_epoch: i64,
) -> Result<Vec<u8>> {
    let mut doc = PdfDocument::new("xborder: change between two runs");
    let fonts = register_fonts(&mut doc)?;
    let t = Tr::new(Lang::En);
    let mut l = Layout::new(fonts.clone(), t.clone());
    l.text_at(
        MARGIN_X,
        l.y,
        18.0,
        true,
        ACCENT,
        "xborder: change between two runs",
    );
    l.y -= 9.0;
    l.key_values(
        &[
            ("Baseline".into(), old.to_string()),
            ("Compared".into(), new.to_string()),
        ],
        9.0,
    );
    changes_section(&mut l, changes);
    let mut pages = l.into_pages();
    stamp(
        &mut pages,
        &format!("xborder diff  |  {old} -> {new}"),
        &fonts,
        &t,
    );
    if let Ok(when) = printpdf::OffsetDateTime::from_unix_timestamp(generated_epoch) {
        doc.metadata.info.creation_date = when;
        doc.metadata.info.modification_date = when;
        doc.metadata.info.metadata_date = when;
    }
    let pdf_pages: Vec<PdfPage> = pages
        .into_iter()
        .map(|ops| PdfPage::new(printpdf::Mm(PAGE_W), printpdf::Mm(PAGE_H), ops))
        .collect();
    let mut warnings = Vec::new();
    Ok(doc.with_pages(pdf_pages).save(
        &PdfSaveOptions {
            subset_fonts: true,
            ..Default::default()
        },
        &mut warnings,
    ))
}
