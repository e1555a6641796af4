//! report.pdf: the human-readable audit report.
//!
//! This module sets the document up (fonts, contents page, running footer, PDF/A
//! metadata, bookmarks); each section is laid out by its own file, and every figure a
//! section shows comes from the report model (`crate::model`), computed once for the PDF
//! and the HTML report. Text is real text in embedded font subsets (fonts.rs), so it can
//! be searched and extracted. Dates come from the run context, never the wall clock, so a
//! rerun with SOURCE_DATE_EPOCH gives the same bytes.

mod assurance;
mod blocked;
mod changes;
mod charts;
mod conclusions;
mod cover;
mod data_quality;
mod departments;
mod findings;
mod methodology;
mod nav;
mod policy;
mod provenance;
mod regimes;
mod sites;
mod summary;
mod top_vendors;
mod vendors;

use printpdf::{PdfDocument, PdfPage, PdfSaveOptions};

pub use changes::{changes_section, render_changes};

use crate::i18n::{Lang, Tr};
use crate::layout::{
    register_fonts, stamp, text_width, ColumnSpec, Layout, INK, MARGIN_X, PAGE_H, PAGE_W,
};
use crate::model::ReportModel;
use crate::tf;
use crate::RunContext;
use crate::{group_digits, human_bytes};
use nav::{NavEntry, Navigation};
use xborder_engine::run::{Analysis, AnalyzeOptions, Catalogs};
use xborder_model::error::{Error, Result};

/// Render the report to PDF bytes.
pub fn render(
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    a: &Analysis,
    model: &ReportModel,
    ctx: &RunContext,
    changes: Option<&[crate::diff::Change]>,
    lang: Lang,
) -> Result<Rendered> {
    let id = &model.run_id;
    let t = Tr::new(lang);
    let title = t.ui("Cross-border egress to AI vendors: audit report");
    let mut doc = PdfDocument::new(&title);
    let fonts = register_fonts(&mut doc)?;
    let mut l = Layout::new(fonts.clone(), t.clone());
    cover::cover(&mut l, opts, catalogs, a, ctx, id);
    l.new_page();
    // The contents page is filled in after the body is laid out, when page numbers are known.
    let contents_page = l.page_number();
    l.new_page();
    summary::executive_summary(&mut l, catalogs, a, model);
    charts::charts(&mut l, catalogs, model);
    findings::findings(&mut l, a);
    assurance::coverage_section(&mut l, a, model);
    regimes::regime_sections(&mut l, catalogs, a, model);
    sites::site_sections(&mut l, catalogs, a, model);
    top_vendors::top_vendors(&mut l, a, model);
    vendors::vendor_details(&mut l, catalogs, a, model);
    assurance::candidates_section(&mut l, a);
    if let Some(policy) = &model.policy {
        policy::policy_section(&mut l, policy, model);
    } else if !model.blocked.is_empty() {
        l.heading("Blocked attempts");
        blocked::blocked_attempts(&mut l, &model.blocked);
    }
    if let Some(rows) = &model.departments {
        departments::departments_section(&mut l, rows);
    }
    if let Some(changes) = changes {
        changes::changes_section(&mut l, changes);
    }
    methodology::methodology(&mut l, opts, catalogs);
    data_quality::data_quality(&mut l, a, &model.quality);
    provenance::provenance(&mut l, catalogs, a, ctx);

    let sections = l.sections.clone();
    let glyph_warnings: Vec<String> = l
        .missing_glyphs
        .iter()
        .map(|(text, chars)| {
            format!(
                "the report fonts have no glyph for {} in \"{}\": shown as a box",
                chars
                    .iter()
                    .map(|c| format!("'{c}' (U+{:04X})", u32::from(*c)))
                    .collect::<Vec<_>>()
                    .join(", "),
                xborder_model::text::escape_control(text)
            )
        })
        .collect();
    let mut pages = l.into_pages();
    let mut toc = Layout::new(fonts.clone(), t.clone());
    toc.heading("Contents");
    let mut nav = Navigation {
        contents_page,
        entries: Vec::new(),
    };
    let mm = |v: f32| v * 72.0 / 25.4;
    for (title, page) in &sections {
        let p = page.to_string();
        toc.text_at(MARGIN_X, toc.y, 10.5, false, INK, title);
        let w = text_width(&p, 10.5, false);
        toc.text_at(PAGE_W - MARGIN_X - w, toc.y, 10.5, false, INK, &p);
        // The whole line, from below the baseline to above the capitals, is the link.
        nav.entries.push(NavEntry {
            title: title.clone(),
            page: *page,
            contents_rect: [
                mm(MARGIN_X),
                mm(toc.y - 2.0),
                mm(PAGE_W - MARGIN_X),
                mm(toc.y + 4.5),
            ],
        });
        toc.y -= 7.0;
    }
    if let (Some(slot), Some(first)) = (
        pages.get_mut(contents_page - 1),
        toc.into_pages().into_iter().next(),
    ) {
        *slot = first;
    }
    stamp(
        &mut pages,
        &tf!(
            t,
            "xborder audit report  |  run {}  |  period {}",
            id,
            period_label(&t, &opts.period.label)
        ),
        &fonts,
        &t,
    );

    let when =
        printpdf::OffsetDateTime::from_unix_timestamp(ctx.generated_at_epoch).map_err(|e| {
            Error::Report {
                path: "report.pdf".into(),
                message: format!("invalid generation time: {e:?}"),
            }
        })?;
    doc.metadata.info.creation_date = when;
    doc.metadata.info.modification_date = when;
    doc.metadata.info.metadata_date = when;
    doc.metadata.info.author = "xborder".into();
    doc.metadata.info.creator = format!("xborder {}", ctx.tool_version);
    doc.metadata.info.producer = format!("xborder {} (printpdf)", ctx.tool_version);
    let doc_subject = tf!(
        t,
        "Cross-border egress to AI vendors, period {}",
        period_label(&t, &opts.period.label)
    );
    doc.metadata.info.subject = doc_subject.clone();
    doc.metadata.info.keywords = vec![
        "cross-border transfer".into(),
        "AI vendors".into(),
        "PIPL".into(),
        "DSL".into(),
        "GDPR".into(),
    ];
    doc.metadata.info.identifier = format!("xborder-run-{id}");
    doc.metadata.info.document_title = title.clone();
    doc.metadata.info.conformance = printpdf::PdfConformance::A2B_2011_PDF_1_7;
    let pdf_pages: Vec<PdfPage> = pages
        .into_iter()
        .map(|ops| PdfPage::new(printpdf::Mm(PAGE_W), printpdf::Mm(PAGE_H), ops))
        .collect();
    let mut warnings = Vec::new();
    let bytes = doc.with_pages(pdf_pages).save(
        &PdfSaveOptions {
            subset_fonts: true,
            ..Default::default()
        },
        &mut warnings,
    );
    Ok(Rendered {
        bytes: add_pdfa_metadata(&bytes, &title, &doc_subject, ctx, lang, &nav)?,
        warnings: glyph_warnings,
    })
}

/// A rendered PDF and what the reader should be warned about.
pub struct Rendered {
    pub bytes: Vec<u8>,
    /// Text drawn with characters the embedded fonts lack, naming the text.
    pub warnings: Vec<String>,
}

/// The file name of a path, without its directories.
fn basename(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The period's label in the report language: `2026-Q3` as given, and the labels xborder
/// makes itself (`all records`, `A to B (exclusive)`, `from A`, `before B`) translated.
pub(crate) fn period_label(t: &Tr, label: &str) -> String {
    if let Some((a, b)) = label
        .strip_suffix(" (exclusive)")
        .and_then(|r| r.split_once(" to "))
    {
        return tf!(t, "{} to {} (exclusive)", a, b);
    }
    if let Some(a) = label.strip_prefix("from ") {
        return tf!(t, "from {}", a);
    }
    if let Some(b) = label.strip_prefix("before ") {
        return tf!(t, "before {}", b);
    }
    t.s(label)
}

/// The regime's name in the report language; the English report adds the Chinese name.
pub(crate) fn regime_name(t: &Tr, r: &xborder_engine::classify::regimes::Regime) -> String {
    if let (Lang::ZhCn, Some(title)) = (t.lang, crate::i18n_law_zh::official_title(&r.id)) {
        return title.to_string();
    }
    match (t.lang, &r.name_zh) {
        (Lang::ZhCn, Some(zh)) => zh.clone(),
        (Lang::En, Some(zh)) => format!("{} ({zh})", r.name),
        _ => r.name.clone(),
    }
}

/// A country's name in the report language.
pub(crate) fn country_name(t: &Tr, catalogs: &Catalogs, code: &str) -> String {
    match t.lang {
        Lang::ZhCn => catalogs.countries.name_zh(code).unwrap_or(code).to_string(),
        Lang::En => catalogs.countries.name(code).to_string(),
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Add the XMP packet PDF/A-2b asks for (pdfaid part 2, conformance B, with the same title,
/// dates and producer as the document information dictionary). printpdf writes the output
/// intent and embeds the fonts; this adds the identification it does not write, and the
/// bookmarks and contents links (nav.rs).
fn add_pdfa_metadata(
    bytes: &[u8],
    title: &str,
    subject: &str,
    ctx: &RunContext,
    lang: Lang,
    nav: &Navigation,
) -> Result<Vec<u8>> {
    let fail = |m: String| Error::Report {
        path: "report.pdf".into(),
        message: m,
    };
    let mut doc =
        lopdf::Document::load_mem(bytes).map_err(|e| fail(format!("re-reading the PDF: {e}")))?;
    let when = &ctx.generated_at;
    let xmp = format!(
        concat!(
            "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n",
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n",
            " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n",
            "  <rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\" ",
            "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" ",
            "xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n",
            "   <pdfaid:part>2</pdfaid:part>\n",
            "   <pdfaid:conformance>B</pdfaid:conformance>\n",
            "   <dc:format>application/pdf</dc:format>\n",
            "   <dc:language><rdf:Bag><rdf:li>{lang}</rdf:li></rdf:Bag></dc:language>\n",
            "   <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{title}</rdf:li></rdf:Alt></dc:title>\n",
            "   <dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">{subject}</rdf:li></rdf:Alt></dc:description>\n",
            "   <dc:creator><rdf:Seq><rdf:li>xborder</rdf:li></rdf:Seq></dc:creator>\n",
            "   <xmp:CreateDate>{when}</xmp:CreateDate>\n",
            "   <xmp:ModifyDate>{when}</xmp:ModifyDate>\n",
            "   <xmp:MetadataDate>{when}</xmp:MetadataDate>\n",
            "   <xmp:CreatorTool>xborder {version}</xmp:CreatorTool>\n",
            "   <pdf:Producer>xborder {version} (printpdf)</pdf:Producer>\n",
            "  </rdf:Description>\n",
            " </rdf:RDF>\n",
            "</x:xmpmeta>\n",
            "<?xpacket end=\"w\"?>"
        ),
        lang = lang.tag(),
        title = xml_escape(title),
        subject = xml_escape(subject),
        when = when,
        version = ctx.tool_version,
    );
    let mut dict = lopdf::Dictionary::new();
    dict.set("Type", lopdf::Object::Name(b"Metadata".to_vec()));
    dict.set("Subtype", lopdf::Object::Name(b"XML".to_vec()));
    let id = doc.add_object(lopdf::Stream::new(dict, xmp.into_bytes()));
    let catalog = doc
        .catalog_mut()
        .map_err(|e| fail(format!("no document catalog: {e}")))?;
    catalog.set("Metadata", lopdf::Object::Reference(id));
    catalog.set("Lang", lopdf::Object::string_literal(lang.tag()));
    nav.apply(&mut doc).map_err(fail)?;
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .map_err(|e| fail(format!("writing the PDF: {e}")))?;
    Ok(out)
}

/// A table of findings (indexes into the findings table): the first column as `first`
/// (its heading and width) names, then destination, vendor, product, method, flows and
/// bytes out. Used by the regime and site sections.
fn finding_table(
    l: &mut Layout,
    a: &Analysis,
    findings: &[usize],
    first: (&str, f32),
    first_cell: impl Fn(&xborder_engine::aggregate::FindingRow) -> String,
) {
    let table: Vec<Vec<String>> = findings
        .iter()
        .map(|&i| &a.tables.findings[i])
        .map(|f| {
            vec![
                first_cell(f),
                f.destination_country.clone(),
                f.vendor.clone(),
                f.product.clone(),
                f.attribution.clone(),
                group_digits(f.flows),
                human_bytes(f.bytes_out),
            ]
        })
        .collect();
    l.table(
        &[
            ColumnSpec::left(first.0, first.1),
            ColumnSpec::left("Dest", 10.0),
            ColumnSpec::left("Vendor", 20.0),
            ColumnSpec::left("Product", 30.0),
            ColumnSpec::left("Method", 12.0),
            ColumnSpec::right("Flows", 12.0),
            ColumnSpec::right("Bytes out", 16.0),
        ],
        &table,
        7.5,
    );
}

#[cfg(test)]
mod period_label_tests {
    use super::*;

    #[test]
    fn labels_xborder_makes_are_translated_and_named_periods_kept() {
        let zh = Tr::new(Lang::ZhCn);
        assert_eq!(period_label(&zh, "all records"), "全部记录");
        assert_eq!(
            period_label(&zh, "2026-07-06 to 2026-07-16 (exclusive)"),
            "2026-07-06 至 2026-07-16（不含）"
        );
        assert_eq!(period_label(&zh, "from 2026-07-06"), "自 2026-07-06");
        assert_eq!(period_label(&zh, "2026-Q3"), "2026-Q3");
        let en = Tr::new(Lang::En);
        assert_eq!(period_label(&en, "all records"), "all records");
    }
}
