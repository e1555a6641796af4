//! report.pdf: the human-readable audit report.
//!
//! Sections: cover, contents, executive summary, findings, top vendors, methodology,
//! data quality, provenance. Text is real text in embedded font subsets (fonts.rs), so it
//! can be searched and extracted. Dates come from the run context, never the wall clock, so a
//! rerun with SOURCE_DATE_EPOCH gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use printpdf::{PdfDocument, PdfPage, PdfSaveOptions};

use super::i18n::{Lang, Tr};
use super::layout::{
    register_fonts, stamp, text_width, ColumnSpec, Layout, ACCENT, INK, MARGIN_X, MUTED, PAGE_H,
    PAGE_W,
};
use super::model::{shown_regimes, ReportModel};
use super::pdf_nav::{NavEntry, Navigation};
use super::{group_digits, human_bytes, RunContext};
use crate::tf;
use xborder_engine::classify::regimes::RegimeKind;
use xborder_engine::classify::sites::UNKNOWN_SITE;
use xborder_engine::run::{Analysis, AnalyzeOptions, Catalogs};
use xborder_model::error::{Error, Result};
use xborder_model::period::rfc3339;

fn basename(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Render the report to PDF bytes.
pub fn render(
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    a: &Analysis,
    ctx: &RunContext,
    changes: Option<&[crate::diff::Change]>,
    lang: Lang,
) -> Result<Rendered> {
    let id = xborder_engine::run::run_id(opts, a);
    let t = Tr::new(lang);
    let title = t.ui("Cross-border egress to AI vendors: audit report");
    let mut doc = PdfDocument::new(&title);
    let fonts = register_fonts(&mut doc)?;
    let mut l = Layout::new(fonts.clone(), t.clone());
    cover(&mut l, opts, catalogs, a, ctx, &id);
    l.new_page();
    // The contents page is filled in after the body is laid out, when page numbers are known.
    let contents_page = l.page_number();
    l.new_page();
    let model = ReportModel::build(catalogs, a);
    executive_summary(&mut l, catalogs, a, &model);
    charts(&mut l, catalogs, &model);
    findings(&mut l, a);
    super::pdf_assurance::coverage_section(&mut l, catalogs, a);
    regime_sections(&mut l, catalogs, a, &model);
    site_sections(&mut l, catalogs, a, &model);
    top_vendors(&mut l, a);
    vendor_details(&mut l, catalogs, a);
    super::pdf_assurance::candidates_section(&mut l, a);
    if let Some(policy) = &catalogs.policy {
        policy_section(&mut l, policy, a);
    } else if !a.blocked.is_empty() {
        l.heading("Blocked attempts");
        blocked_attempts(&mut l, a);
    }
    if let Some(rows) = &a.org.departments {
        departments_section(&mut l, rows);
    }
    if let Some(changes) = changes {
        changes_section(&mut l, changes);
    }
    methodology(&mut l, opts, catalogs);
    data_quality(&mut l, a);
    provenance(&mut l, catalogs, a, ctx);

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

fn cover(
    l: &mut Layout,
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    a: &Analysis,
    ctx: &RunContext,
    id: &str,
) {
    l.rect(0.0, PAGE_H - 70.0, PAGE_W, 70.0, ACCENT);
    l.text_at(
        MARGIN_X,
        PAGE_H - 32.0,
        24.0,
        true,
        (1.0, 1.0, 1.0),
        "Cross-border egress to AI vendors",
    );
    l.text_at(
        MARGIN_X,
        PAGE_H - 44.0,
        13.0,
        false,
        (1.0, 1.0, 1.0),
        "Audit report from network flow and DNS logs",
    );
    l.text_at(
        MARGIN_X,
        PAGE_H - 56.0,
        10.0,
        false,
        (0.85, 0.9, 1.0),
        &tf!(l.tr, "Period: {}", period_label(&l.tr, &opts.period.label)),
    );
    l.y = PAGE_H - 86.0;
    let mut scope = vec![
        ("Period".to_string(), period_text(&l.tr, opts, a)),
        (
            "Generated".to_string(),
            tf!(l.tr, "{} by xborder {}", ctx.generated_at, ctx.tool_version),
        ),
        ("Run id".to_string(), id.to_string()),
        (
            "Scope".to_string(),
            tf!(
                l.tr,
                "{} input files ({} read, {} skipped); {} flow records and {} DNS records read",
                a.files.len(),
                a.totals.files_read,
                a.totals.files_skipped,
                group_digits(a.totals.flow_records.read),
                group_digits(a.totals.dns_records.read)
            ),
        ),
        (
            "Regimes".to_string(),
            catalogs
                .regimes
                .regimes
                .iter()
                .map(|r| r.id.clone())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    let sites = if catalogs.sites.sites.is_empty() {
        "none configured: all egress is reported as unknown_site".to_string()
    } else {
        catalogs
            .sites
            .sites
            .iter()
            .map(|s| tf!(l.tr, "{} ({})", s.name, s.country))
            .collect::<Vec<_>>()
            .join(", ")
    };
    scope.push(("Sites".to_string(), sites));
    l.key_values(&scope, 10.0);
    l.y -= 6.0;
    l.paragraph_indented(
        "This report lists network egress from the organisation's sites to AI vendors and judges each destination country against the configured legal regimes. Figures are observed network traffic, not content: a flow to an AI vendor shows that data left, not what it contained. Each finding therefore needs a content classification before it is treated as a transfer of personal information or important data.",
        9.5,
        0.0,
        MUTED,
    );
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

fn period_text(t: &Tr, opts: &AnalyzeOptions, a: &Analysis) -> String {
    let bounds = match (opts.period.from, opts.period.to) {
        (Some(f), Some(to)) => tf!(t, "{} to {} (exclusive)", rfc3339(f), rfc3339(to)),
        (Some(f), None) => tf!(t, "from {}", rfc3339(f)),
        (None, Some(to)) => tf!(t, "before {}", rfc3339(to)),
        (None, None) => t.ui("no period filter"),
    };
    match a.observed {
        Some((first, last)) => tf!(
            t,
            "{}; flows observed {} to {}",
            bounds,
            rfc3339(first),
            rfc3339(last)
        ),
        None => bounds,
    }
}

fn executive_summary(l: &mut Layout, catalogs: &Catalogs, a: &Analysis, model: &ReportModel) {
    l.heading("Executive summary");
    super::pdf_assurance::verdicts(l, catalogs, a);
    key_figures_and_conclusions(l, catalogs, a, model);
    let f = &a.totals.flows;
    let ai_bytes: u64 = a.tables.summary_by_vendor.iter().map(|r| r.bytes_out).sum();
    l.key_values(
        &[
            (
                "Accepted flows".into(),
                group_digits(a.totals.flow_records.accepted),
            ),
            (
                "Egress flows".into(),
                tf!(
                    l.tr,
                    "{} from sites, {} from unknown sources",
                    group_digits(f.egress),
                    group_digits(f.egress_unknown_site)
                ),
            ),
            (
                "AI-vendor egress".into(),
                tf!(
                    l.tr,
                    "{} flows, {} sent",
                    group_digits(f.ai_vendor),
                    human_bytes(ai_bytes)
                ),
            ),
            (
                "Rejected records".into(),
                group_digits(
                    a.totals.flow_records.rejected
                        + a.totals.dns_records.rejected
                        + a.totals.proxy_records.rejected,
                ),
            ),
        ],
        10.0,
    );
    l.subheading("Cross-border AI egress by regime");
    let mut rows = Vec::new();
    for regime in shown_regimes(catalogs) {
        let hits: Vec<_> = a
            .tables
            .findings
            .iter()
            .filter(|r| r.regime == regime.id)
            .collect();
        let flows: u64 = hits.iter().map(|r| r.flows).sum();
        let bytes: u64 = hits.iter().map(|r| r.bytes_out).sum();
        let vendors: BTreeSet<&str> = hits.iter().map(|r| r.vendor.as_str()).collect();
        let sites: BTreeSet<&str> = hits.iter().map(|r| r.source_site.as_str()).collect();
        let countries: BTreeSet<&str> = hits
            .iter()
            .map(|r| r.destination_country.as_str())
            .collect();
        rows.push(vec![
            regime.id.clone(),
            group_digits(flows),
            human_bytes(bytes),
            vendors.len().to_string(),
            sites.into_iter().collect::<Vec<_>>().join(", "),
            countries.into_iter().collect::<Vec<_>>().join(", "),
        ]);
    }
    l.table(
        &[
            ColumnSpec::left("Regime", 14.0),
            ColumnSpec::right("Flows", 14.0),
            ColumnSpec::right("Bytes out", 18.0),
            ColumnSpec::right("Vendors", 14.0),
            ColumnSpec::left("Sites", 30.0),
            ColumnSpec::left("Destinations", 24.0),
        ],
        &rows,
        8.5,
    );
    for regime in shown_regimes(catalogs) {
        let hits: Vec<_> = a
            .tables
            .findings
            .iter()
            .filter(|r| r.regime == regime.id)
            .collect();
        let sentence = if regime.kind == RegimeKind::NoRestriction {
            tf!(
                l.tr,
                "{} ({}): no transfer restriction is in force; egress from these sites is not a finding.",
                regime.id,
                regime_name(&l.tr, regime)
            )
        } else if hits.is_empty() {
            tf!(
                l.tr,
                "{} ({}): no AI-vendor egress was a cross-border transfer in this period.",
                regime.id,
                regime_name(&l.tr, regime)
            )
        } else {
            let mut by_vendor: BTreeMap<&str, u64> = BTreeMap::new();
            for h in &hits {
                *by_vendor.entry(h.vendor.as_str()).or_default() += h.bytes_out;
            }
            let top = by_vendor
                .iter()
                .max_by_key(|(_, b)| **b)
                .map(|(v, _)| *v)
                .unwrap_or("");
            tf!(l.tr, "{} ({}): {} flows from {} site(s) reached {} AI vendor(s) abroad; the largest by bytes out was {}.",
                regime.id,
                regime_name(&l.tr, regime),
                group_digits(hits.iter().map(|r| r.flows).sum()),
                hits.iter().map(|r| r.source_site.as_str()).collect::<BTreeSet<_>>().len(),
                by_vendor.len(),
                top
            )
        };
        l.bullet(&sentence, 9.0);
    }
    if f.egress_unknown_site > 0 {
        l.bullet(
            &tf!(l.tr, "{} egress flows came from sources in no configured site ({}); they are judged under no regime. Add their networks to the sites file.",
                group_digits(f.egress_unknown_site),
                UNKNOWN_SITE
            ),
            9.0,
        );
    }
    l.y -= 2.0;
}

fn findings(l: &mut Layout, a: &Analysis) {
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
fn basis_short(basis: &str) -> String {
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

fn top_vendors(l: &mut Layout, a: &Analysis) {
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

fn methodology(l: &mut Layout, opts: &AnalyzeOptions, catalogs: &Catalogs) {
    l.heading("Methodology and limitations");
    l.subheading("Egress");
    l.paragraph("A flow is egress when its originator lies in a configured site (longest prefix wins) and its destination is not a special-purpose address (RFC 6890: private, loopback, link-local, CGNAT, documentation, multicast, unique-local and similar). Flows opened from outside are inbound, not egress. Egress from a local address in no site is reported as unknown_site and judged under no regime.", 9.0);
    l.subheading("Attribution");
    l.paragraph(&tf!(l.tr, "dns: the query name of the most recent DNS response to the same client whose answers contain the flow's destination, seen at or before the flow started. The answer counts for its TTL plus {} s of grace, and never longer than {} s. The hostname is the name queried, not a CNAME target. An answer seen by another client never attributes a flow, because CDN addresses are shared by unrelated sites. ip_range: otherwise, an address in a range the vendor publishes as its own. none: otherwise.",
        opts.dns_window.ttl_grace_s, opts.dns_window.max_age_s
    ), 9.0);
    if !catalogs.snapshots.files.is_empty() || catalogs.ptr.network.is_some() {
        l.paragraph(&tf!(l.tr, "Weaker evidence, used only when dns and ip_range give nothing. snapshot: the organisation's own resolver answered this address for a vendor host in a dated snapshot taken by `xborder resolve` ({} file(s)), at most {} s before or after the flow; the client's own DNS answer was not seen, and CDN addresses are shared and rotate. ptr: the address's reverse DNS (PTR) name, looked up during this run, matches a vendor host; PTR names are set by the address owner and are not proof of the name the client used. Reverse look-ups {}.",
            catalogs.snapshots.files.len(),
            opts.snapshot_max_distance_s,
            if catalogs.ptr.network.is_some() { "were made (see run.json network)" } else { "were not made" }
        ), 9.0);
    }
    l.subheading("Geolocation");
    l.paragraph(&tf!(l.tr, "Destination countries come from the MaxMind-format database {} ({}, built {}). Each distinct address is looked up once. Anycast and CDN addresses are placed where the database registers them, which may differ from where the vendor processes data; the vendor's headquarters country is reported separately. Addresses absent from the database are reported as ZZ and treated as cross-border (undetermined) rather than hidden.",
        catalogs.geoip.identity.path, catalogs.geoip.identity.database_type, catalogs.geoip.identity.build_date
    ), 9.0);
    l.subheading("Regime rules");
    for r in shown_regimes(catalogs) {
        // The English report keeps the catalog's English name here; others name the law
        // in their language (the official title of PRC law in Chinese).
        let name = match l.tr.lang {
            Lang::En => r.name.clone(),
            _ => regime_name(&l.tr, r),
        };
        let obligation = l.tr.s(&r.obligation);
        l.paragraph(&tf!(l.tr, "{} - {}: {}", r.id, name, obligation), 8.5);
        let citation = l.tr.s(&r.citation);
        l.paragraph_indented(&tf!(l.tr, "Citation: {}", citation), 8.0, 4.0, MUTED);
    }
    l.subheading("Limitations");
    for s in [
        "Network logs show that bytes left, not what they contained. Whether a flow carried personal information, important data or source code needs content classification.",
        "DNS attribution proves that the same client resolved a vendor name to the destination shortly before; it cannot rule out that another name on a shared CDN address was used. Encrypted DNS (DoH/DoT) bypasses DNS logs and leaves such flows to ip_range or none.",
        "snapshot and ptr attributions are weaker than dns and ip_range: resolution time differs from flow time, and a shared address may serve other names. The data quality section shows how many flows each method attributed.",
        "Traffic through a web proxy is attributed to the laptop behind it only when the proxy's own logs are given (proxy_host: the host the proxy logged for the client's request); the proxy's flows in hours its logs cover are not counted again, and those in hours they do not cover are reported as the proxy's egress (data quality: proxy egress without proxy logs). Without TLS interception a proxy logs only the host of a CONNECT, not the path; requests without a logged server address have an unknown destination country (ZZ). Traffic through a VPN is attributed to the VPN concentrator.",
        "sni and http_host attributions rest on the name the client itself sent on the connection (TLS server name, HTTP Host); they outrank DNS, and where they contradict a weaker method the data quality section counts it. Encrypted Client Hello hides the real server name.",
        "Byte counts follow each input format (docs/formats.md): payload bytes from the originator for Zeek, bytes to the server for Suricata; one-direction exports (NetFlow, VPC) are turned round so return traffic counts as received; Cisco ASA totals cover both directions and are reported as sent. Unset counts are treated as 0 and counted in the data quality section.",
    ] {
        l.bullet(s, 8.5);
    }
    l.y -= 2.0;
}

fn data_quality(l: &mut Layout, a: &Analysis) {
    l.heading("Data quality");
    l.paragraph("Every record read is accounted for: read = accepted + rejected + duplicate + outside period + filtered. A duplicate flow is the same connection seen again (same connection id, endpoints, protocol and start time); a record that reuses a connection id for a different connection is a conflict, counted as egress like the other and listed in conflicts.csv, so a forged export can never hide real traffic. Duplicate DNS records are repeated DNS transactions. Filtered records were read and deliberately not used (for example AWS NODATA rows or Suricata alert events), each with a reason in run.json; rejects are listed in rejects.csv with file, line, field and reason. Files inside input directories that no reader recognises are listed as skipped.", 9.0);
    let by_method = &a.totals.flows.ai_by_method;
    let methods: Vec<String> = xborder_engine::attribute::Method::ALL
        .iter()
        .filter_map(|m| {
            let weak = matches!(
                m,
                xborder_engine::attribute::Method::Snapshot
                    | xborder_engine::attribute::Method::Ptr
            );
            by_method.get(m.as_str()).map(|n| {
                format!(
                    "{} {}{}",
                    m.as_str(),
                    group_digits(*n),
                    if weak { " (weaker evidence)" } else { "" }
                )
            })
        })
        .collect();
    l.paragraph(
        &tf!(
            l.tr,
            "AI-vendor egress flows by attribution method: {}.",
            if methods.is_empty() {
                "none".to_string()
            } else {
                methods.join(", ")
            }
        ),
        9.0,
    );
    if !a.totals.flows.attribution_disagreements.is_empty() {
        let d: Vec<String> = a
            .totals
            .flows
            .attribution_disagreements
            .iter()
            .map(|(k, n)| format!("{k} {}", group_digits(*n)))
            .collect();
        l.paragraph(
            &tf!(
                l.tr,
                "Flows where a stronger method overruled a weaker one that named another vendor or none (stronger_vs_weaker): {}.",
                d.join(", ")
            ),
            9.0,
        );
    }
    let rows: Vec<Vec<String>> = a
        .files
        .iter()
        .map(|f| {
            let reasons = f
                .counts
                .rejected_by_reason
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .chain(
                    f.counts
                        .filtered_by_reason
                        .iter()
                        .map(|(k, v)| format!("{k} {v} (filtered)")),
                )
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                basename(&f.path).to_string(),
                f.format.clone(),
                group_digits(f.counts.read),
                group_digits(f.counts.accepted),
                group_digits(f.counts.rejected),
                group_digits(f.counts.duplicate),
                group_digits(f.counts.outside_period),
                group_digits(f.counts.filtered),
                reasons,
            ]
        })
        .collect();
    l.table(
        &[
            ColumnSpec::left("File", 22.0),
            ColumnSpec::left("Format", 16.0),
            ColumnSpec::right("Read", 10.0),
            ColumnSpec::right("Accepted", 11.0),
            ColumnSpec::right("Rejected", 10.0),
            ColumnSpec::right("Dup", 7.0),
            ColumnSpec::right("Outside", 8.0),
            ColumnSpec::right("Filtered", 8.0),
            ColumnSpec::left("Reject reasons", 19.0),
        ],
        &rows,
        7.5,
    );
    let f = &a.totals.flows;
    l.key_values(
        &[
            ("Egress from sites".into(), group_digits(f.egress)),
            (
                "Egress, unknown site".into(),
                group_digits(f.egress_unknown_site),
            ),
            ("Internal".into(), group_digits(f.internal)),
            ("Inbound".into(), group_digits(f.inbound)),
            ("Byte counts unset".into(), group_digits(f.bytes_unset)),
            (
                "Connection-id conflicts (conflicts.csv)".into(),
                group_digits(f.uid_conflicts),
            ),
            (
                "Return-direction records".into(),
                group_digits(f.return_direction),
            ),
            (
                "Byte totals of both directions".into(),
                group_digits(f.bytes_combined),
            ),
            (
                "Connections with a server name".into(),
                tf!(
                    l.tr,
                    "{} ({} kept for attribution)",
                    group_digits(a.hostnames.connections_named),
                    group_digits(a.hostnames.connections_kept)
                ),
            ),
            (
                "DNS answers kept".into(),
                tf!(
                    l.tr,
                    "{} of {} address answers ({} vendor addresses)",
                    group_digits(a.dns.answers_kept),
                    group_digits(a.dns.address_answers),
                    group_digits(a.dns.vendor_addresses)
                ),
            ),
        ],
        9.0,
    );
    let p = &a.totals.proxy;
    if p.requests > 0 || !p.proxies.is_empty() {
        l.key_values(
            &[
                (
                    "Proxy requests".into(),
                    tf!(
                        l.tr,
                        "{} allowed, {} blocked ({} to AI vendors), {} other",
                        group_digits(p.allowed),
                        group_digits(p.blocked),
                        group_digits(p.blocked_ai_vendor),
                        group_digits(p.other)
                    ),
                ),
                (
                    "Flows carried by proxy logs".into(),
                    group_digits(p.flows_carried_by_proxy_logs),
                ),
                (
                    "Proxy egress without proxy logs".into(),
                    group_digits(p.proxy_egress_without_proxy_logs),
                ),
                (
                    "Proxy requests without a server address".into(),
                    group_digits(p.without_server_address),
                ),
                ("Proxies".into(), p.proxies.join(", ")),
            ],
            9.0,
        );
        if p.proxy_egress_without_proxy_logs > 0 {
            l.paragraph("Proxy egress without proxy logs: flows from a proxy in hours its own log does not cover. They are counted as the proxy's egress (its site, no person or department) because no request in the proxy logs accounts for them; supply the proxy's logs for those hours to attribute them.", 9.0);
        }
    }
}

fn provenance(l: &mut Layout, catalogs: &Catalogs, a: &Analysis, ctx: &RunContext) {
    l.heading("Provenance");
    l.subheading("Inputs");
    let rows: Vec<Vec<String>> = a
        .files
        .iter()
        .map(|f| {
            vec![
                basename(&f.path).to_string(),
                group_digits(f.size_bytes),
                f.sha256.clone(),
            ]
        })
        .collect();
    l.table(
        &[
            ColumnSpec::left("File", 30.0),
            ColumnSpec::right("Bytes", 14.0),
            ColumnSpec::left("SHA-256", 100.0),
        ],
        &rows,
        7.0,
    );
    l.subheading("GeoIP database");
    let g = &a.geoip;
    l.key_values(
        &[
            ("Path".into(), g.path.clone()),
            ("Type".into(), g.database_type.clone()),
            (
                "Build date".into(),
                tf!(l.tr, "{} (epoch {})", g.build_date, g.build_epoch),
            ),
            ("SHA-256".into(), g.sha256.clone()),
        ],
        8.0,
    );
    l.subheading("Catalogs");
    let mut rows: Vec<(String, String)> = Vec::new();
    for c in &a.catalogs {
        rows.push((
            c.kind.clone(),
            tf!(
                l.tr,
                "{}, version {} (as of {})",
                c.path,
                c.version,
                c.as_of
            ),
        ));
        rows.push((String::new(), format!("SHA-256 {}", c.sha256)));
        if let Some(days) = xborder_engine::classify::catalog_age_days(&c.as_of, ctx.report_date())
        {
            rows.push((
                String::new(),
                tf!(l.tr, "{} days old on the report date", days),
            ));
        }
    }
    let (_, warnings) = super::catalog_ages(&a.catalogs, ctx);
    for w in warnings {
        rows.push((l.tr.s("Warning").to_string(), w));
    }
    if let (Some(p), Some(h)) = (&catalogs.sites.source, &catalogs.sites.sha256) {
        rows.push(("sites".into(), p.clone()));
        rows.push((String::new(), format!("SHA-256 {h}")));
    }
    l.key_values(&rows, 8.0);
    super::pdf_assurance::verdict_inputs(l, a);
}

fn policy_section(l: &mut Layout, policy: &xborder_engine::classify::policy::Policy, a: &Analysis) {
    l.heading("Policy compliance");
    l.paragraph(
        &tf!(l.tr, "Policy: {} (version {}). A flow is a violation when the most specific rule in effect at its time (a rule's dates start at midnight in the site's time zone) bans the tool at its site. policy_violations.csv lists them per rule, site, source, product and day; policy_summary.csv has one row per rule and site.",
            policy.header.name, policy.header.version
        ),
        9.0,
    );
    for rule in policy
        .rules
        .iter()
        .filter(|r| r.verdict == xborder_engine::classify::policy::Verdict::Banned)
    {
        let rows: Vec<_> = a
            .org
            .summary
            .iter()
            .filter(|r| r.rule_id == rule.id)
            .collect();
        let broken: Vec<_> = rows.iter().filter(|r| r.held == "no").collect();
        let states: Vec<&xborder_engine::verdict::PolicyVerdict> = a
            .verdicts
            .policy
            .iter()
            .filter(|v| v.rule_id == rule.id)
            .collect();
        let unknown: Vec<&str> = states
            .iter()
            .filter(|v| v.state == xborder_engine::verdict::State::Undetermined)
            .map(|v| v.site.as_str())
            .collect();
        let verdict = if broken.is_empty() && !unknown.is_empty() {
            tf!(
                l.tr,
                "Did the ban hold? UNDETERMINED at {} of {} covered sites: {}.",
                unknown.len(),
                rows.len(),
                unknown.join(", ")
            )
        } else if broken.is_empty() {
            tf!(
                l.tr,
                "Did the ban hold? YES. No use of the banned tools after {} at any covered site.",
                rule.effective_from
            )
        } else {
            tf!(
                l.tr,
                "Did the ban hold? NO, at {} of {} covered sites: {}.",
                broken.len(),
                rows.len(),
                broken
                    .iter()
                    .map(|r| r.source_site.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        l.subheading(&tf!(
            l.tr,
            "Rule {}: banned from {}",
            rule.id,
            rule.effective_from
        ));
        l.paragraph(&rule.reason, 8.5);
        let color = if broken.is_empty() && !unknown.is_empty() {
            (0.78, 0.47, 0.02)
        } else if broken.is_empty() {
            (0.1, 0.45, 0.2)
        } else {
            (0.75, 0.22, 0.17)
        };
        l.ensure(9.0);
        l.text_at(MARGIN_X, l.y, 12.0, true, color, &verdict);
        l.y -= 8.0;
        if broken.is_empty() && !unknown.is_empty() {
            l.paragraph(
                "The logs could not show whether the ban held at these sites; the verdicts in the executive summary give the reasons.",
                8.5,
            );
        }
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.source_site.clone(),
                    group_digits(r.flows_before),
                    group_digits(r.flows_in_effect),
                    human_bytes(r.bytes_out_in_effect),
                    r.distinct_sources_in_effect.to_string(),
                    states
                        .iter()
                        .find(|v| v.site == r.source_site)
                        .map_or_else(|| r.held.clone(), |v| v.state.as_str().to_string()),
                    r.first_violation.clone(),
                ]
            })
            .collect();
        l.table(
            &[
                ColumnSpec::left("Site", 18.0),
                ColumnSpec::right("Flows before", 16.0),
                ColumnSpec::right("Flows after", 16.0),
                ColumnSpec::right("Bytes after", 16.0),
                ColumnSpec::right("Sources", 12.0),
                ColumnSpec::left("Verdict", 16.0),
                ColumnSpec::left("First use after the ban", 34.0),
            ],
            &table,
            8.0,
        );
        let points: Vec<(i32, u64)> = a
            .org
            .daily
            .iter()
            .filter(|d| d.rule_id == rule.id)
            .map(|d| (d.day, d.flows))
            .collect();
        let marker_day = (rule.effective_from.date()
            - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default())
        .num_days() as i32;
        l.time_bars(
            "Daily flows to the banned tools from covered sites, before and after the ban",
            &points,
            Some((marker_day, &tf!(l.tr, "ban from {}", rule.effective_from))),
            true,
            &|v| group_digits(v),
        );
        let firsts: Vec<Vec<String>> = a
            .org
            .violations
            .iter()
            .filter(|v| v.rule_id == rule.id && v.first_at_site)
            .map(|v| {
                vec![
                    v.source_site.clone(),
                    v.first_seen.clone(),
                    v.department.clone(),
                    v.product.clone(),
                ]
            })
            .collect();
        if !firsts.is_empty() {
            l.paragraph("First use after the ban, per site:", 9.0);
            l.table(
                &[
                    ColumnSpec::left("Site", 18.0),
                    ColumnSpec::left("First seen", 34.0),
                    ColumnSpec::left("Department", 24.0),
                    ColumnSpec::left("Product", 30.0),
                ],
                &firsts,
                8.0,
            );
        }
    }
    let others: Vec<Vec<String>> = a
        .org
        .summary
        .iter()
        .filter(|r| r.verdict != "banned" && r.flows_in_effect > 0)
        .map(|r| {
            vec![
                r.rule_id.clone(),
                r.verdict.clone(),
                r.source_site.clone(),
                group_digits(r.flows_in_effect),
                human_bytes(r.bytes_out_in_effect),
            ]
        })
        .collect();
    if !a.blocked.is_empty() {
        l.subheading("Blocked attempts");
        blocked_attempts(l, a);
    }
    if !others.is_empty() {
        l.subheading("Allowed and review verdicts in effect");
        l.table(
            &[
                ColumnSpec::left("Rule", 30.0),
                ColumnSpec::left("Verdict", 14.0),
                ColumnSpec::left("Site", 18.0),
                ColumnSpec::right("Flows", 14.0),
                ColumnSpec::right("Bytes out", 16.0),
            ],
            &others,
            8.0,
        );
    }
}

/// Requests to AI vendors that a proxy or gateway refused, per site and day: not egress,
/// but the evidence that a ban was enforced.
fn blocked_attempts(l: &mut Layout, a: &Analysis) {
    l.paragraph(
        "Requests to AI vendors that a web proxy, gateway or URL filter refused. Nothing left the network, so they are not counted as egress; they show that a block was enforced and who still tried. blocked_attempts.csv has them per day, site, department, tool and host.",
        9.0,
    );
    let mut per: BTreeMap<(&str, &str, &str, &str), (u64, u64)> = BTreeMap::new();
    for r in &a.blocked {
        let e = per
            .entry((
                r.day.as_str(),
                r.source_site.as_str(),
                r.product.as_str(),
                r.rule_id.as_str(),
            ))
            .or_default();
        e.0 += r.attempts;
        e.1 += r.distinct_sources;
    }
    let rows: Vec<Vec<String>> = per
        .iter()
        .map(|((day, site, product, rule), (n, sources))| {
            vec![
                day.to_string(),
                site.to_string(),
                product.to_string(),
                rule.to_string(),
                group_digits(*n),
                group_digits(*sources),
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

fn departments_section(l: &mut Layout, rows: &[xborder_engine::aggregate::org::DepartmentRow]) {
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

/// The regime's name in the report language; the English report adds the Chinese name.
pub(crate) fn regime_name(t: &Tr, r: &xborder_engine::classify::regimes::Regime) -> String {
    if let (Lang::ZhCn, Some(title)) = (t.lang, super::i18n_law_zh::official_title(&r.id)) {
        return title.to_string();
    }
    match (t.lang, &r.name_zh) {
        (Lang::ZhCn, Some(zh)) => zh.clone(),
        (Lang::En, Some(zh)) => format!("{} ({zh})", r.name),
        _ => r.name.clone(),
    }
}

fn key_figures_and_conclusions(
    l: &mut Layout,
    catalogs: &Catalogs,
    a: &Analysis,
    model: &ReportModel,
) {
    let f = &a.tables.findings;
    let t = &model.totals;
    l.subheading("Key figures");
    l.key_figures(&[
        (
            "Cross-border AI flows".into(),
            group_digits(t.cross_border.flows),
        ),
        (
            "Cross-border bytes out".into(),
            human_bytes(t.cross_border.bytes_out),
        ),
        ("AI vendors reached".into(), t.vendors.to_string()),
        ("Sites".into(), t.sites.to_string()),
    ]);
    l.subheading("Conclusions");
    let mut sentences = Vec::new();
    let mut by_country: BTreeMap<&str, (u64, BTreeMap<&str, u64>)> = BTreeMap::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for r in f {
        if !seen.insert(&r.finding_id) {
            continue;
        }
        let c = by_country.entry(&r.destination_country).or_default();
        c.0 += r.bytes_out;
        *c.1.entry(&r.vendor).or_default() += r.bytes_out;
    }
    if let Some((site, b)) = model.site_bytes.first() {
        sentences.push(tf!(
            l.tr,
            "{} sent {} to AI vendors abroad, the most of any site.",
            site,
            human_bytes(*b)
        ));
    } else {
        sentences
            .push(l.tr.ui("No AI-vendor egress crossed a border under the configured regimes."));
    }
    if let Some((country, (b, vendors))) = by_country.iter().max_by_key(|(_, v)| v.0) {
        let top = vendors
            .iter()
            .max_by_key(|(_, b)| **b)
            .map(|(v, _)| *v)
            .unwrap_or("");
        let name = country_name(&l.tr, catalogs, country).to_string();
        sentences.push(tf!(
            l.tr,
            "{} received the most cross-border bytes from this organisation ({}), mainly at {}.",
            name,
            human_bytes(*b),
            top
        ));
    }
    let banned: Vec<_> = a.org.summary.iter().filter(|r| r.held == "no").collect();
    if let Some(policy) = &catalogs.policy {
        for rule in policy
            .rules
            .iter()
            .filter(|r| r.verdict == xborder_engine::classify::policy::Verdict::Banned)
        {
            let n = banned.iter().filter(|r| r.rule_id == rule.id).count();
            if n > 0 {
                let products: BTreeSet<&str> = a
                    .org
                    .violations
                    .iter()
                    .filter(|v| v.rule_id == rule.id)
                    .map(|v| v.product.as_str())
                    .collect();
                let list = products.into_iter().collect::<Vec<_>>().join(", ");
                sentences.push(tf!(
                    l.tr,
                    "{} was used from {} site(s) after its ban date ({}).",
                    list,
                    n,
                    rule.effective_from
                ));
            }
        }
    }
    if sentences.len() < 3 {
        let total: u64 = a.tables.summary_by_vendor.iter().map(|r| r.bytes_out).sum();
        let cross: u64 = a
            .tables
            .summary_by_vendor
            .iter()
            .map(|r| r.cross_border_bytes_out)
            .sum();
        if total > 0 {
            let pct = format!(
                "{:.0}%",
                (total - cross.min(total)) as f64 * 100.0 / total as f64
            );
            sentences.push(tf!(l.tr, "{} of AI-vendor egress stayed within its source country or came from sites under no configured regime.", pct));
        }
    }
    for sentence in sentences.iter().take(3) {
        l.bullet(sentence, 9.5);
    }
    l.y -= 2.0;
}

fn charts(l: &mut Layout, catalogs: &Catalogs, model: &ReportModel) {
    let top = |v: &[(String, u64)]| v.iter().take(12).cloned().collect::<Vec<_>>();
    l.bar_chart(
        "Bytes out by regime (cross-border AI egress)",
        &top(&model.regime_bytes),
        &|v| human_bytes(v),
    );
    let countries: Vec<(String, u64)> = model
        .countries
        .iter()
        .map(|(code, b)| {
            (
                format!("{code} {}", country_name(&l.tr, catalogs, code)),
                *b,
            )
        })
        .collect();
    l.bar_chart(
        "Destination countries of cross-border AI egress (bytes out)",
        &top(&countries),
        &|v| human_bytes(v),
    );
    let points: Vec<(i32, u64)> = model
        .daily
        .iter()
        .map(|(d, flows, _)| (*d, *flows))
        .collect();
    let marker = model
        .bans
        .first()
        .map(|b| (b.day, tf!(l.tr, "ban from {}", b.effective_from)));
    l.time_bars(
        "Daily AI-vendor egress (flows)",
        &points,
        marker.as_ref().map(|(d, s)| (*d, s.as_str())),
        false,
        &|v| group_digits(v),
    );
    let h = &model.heat;
    let mut cols = h.vendors.clone();
    let mut values = h.values.clone();
    if h.hidden_vendors > 0 {
        cols.push(l.tr.ui("others"));
        for (row, other) in values.iter_mut().zip(&h.others) {
            row.push(*other);
        }
    }
    l.heat_table("Site x vendor: bytes out", &h.sites, &cols, &values, &|v| {
        human_bytes(v)
    });
    if h.hidden_vendors > 0 {
        l.paragraph(
            &tf!(
                l.tr,
                "The {} vendors with the most bytes out have a column each; the other {} are summed under \"others\" (summary_by_vendor.csv lists every vendor).",
                h.vendors.len(),
                h.hidden_vendors
            ),
            8.0,
        );
    }
}

fn regime_sections(l: &mut Layout, catalogs: &Catalogs, a: &Analysis, model: &ReportModel) {
    l.heading("Findings by regime");
    for r in shown_regimes(catalogs) {
        let rows: Vec<_> = a
            .tables
            .findings
            .iter()
            .filter(|f| f.regime == r.id)
            .collect();
        l.subheading(&format!("{} - {}", r.id, regime_name(&l.tr, r)));
        l.key_values(
            &[
                ("Rule".into(), r.rule_id.clone()),
                ("Citation".into(), r.citation.clone()),
                ("Obligation".into(), r.obligation.clone()),
            ],
            8.0,
        );
        if rows.is_empty() {
            l.paragraph("No findings under this regime.", 9.0);
            continue;
        }
        let Some(node) = model.regime(&r.id) else {
            continue;
        };
        l.paragraph(
            &tf!(l.tr, "{} cross-border AI flows ({}) from {} site(s) to {} vendor(s); the largest was {}.", group_digits(node.figures.flows), human_bytes(node.figures.bytes_out), node.sites.len(), node.vendor_count, node.top_vendor.as_deref().unwrap_or("")),
            9.0,
        );
        if !r.auditor_evidence.is_empty() {
            l.paragraph("What an auditor should ask for", 8.5);
            for e in &r.auditor_evidence {
                l.bullet(e, 8.0);
            }
        }
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|f| {
                vec![
                    f.source_site.clone(),
                    f.destination_country.clone(),
                    f.vendor.clone(),
                    f.product.clone(),
                    f.attribution.clone(),
                    group_digits(f.flows),
                    human_bytes(f.bytes_out),
                ]
            })
            .collect();
        // The method tells apart rows that are otherwise alike (one group by DNS, one by
        // IP range).
        l.table(
            &[
                ColumnSpec::left("Site", 16.0),
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
}

fn site_sections(l: &mut Layout, catalogs: &Catalogs, a: &Analysis, model: &ReportModel) {
    l.heading("Findings by site");
    for site in &model.sites {
        let findings: Vec<_> = a
            .tables
            .findings
            .iter()
            .filter(|f| f.source_site == site.site)
            .collect();
        let country = country_name(&l.tr, catalogs, &site.country);
        l.subheading(&tf!(l.tr, "{} ({})", site.site, country));
        l.paragraph(
            &tf!(
                l.tr,
                "Site {} ({}): {} AI-vendor flows, {} sent, of which {} flows were cross-border.",
                site.site,
                site.country,
                group_digits(site.ai.flows),
                human_bytes(site.ai.bytes_out),
                group_digits(site.cross_border_flows)
            ),
            9.0,
        );
        if findings.is_empty() {
            l.paragraph("No cross-border AI egress from this site.", 8.5);
            continue;
        }
        let table: Vec<Vec<String>> = findings
            .iter()
            .map(|f| {
                vec![
                    f.regime.clone(),
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
                ColumnSpec::left("Regime", 12.0),
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
}

fn vendor_details(l: &mut Layout, catalogs: &Catalogs, a: &Analysis) {
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
/// bookmarks and contents links (pdf_nav.rs).
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
