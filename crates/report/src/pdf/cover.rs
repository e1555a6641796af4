//! The cover page: title, period, run id and the scope of the run.

use super::period_label;
use crate::i18n::Tr;
use crate::layout::{Layout, ACCENT, MARGIN_X, MUTED, PAGE_H, PAGE_W};
use crate::tf;
use crate::{group_digits, RunContext};
use xborder_engine::run::{Analysis, AnalyzeOptions, Catalogs};
use xborder_model::period::rfc3339;

pub(super) fn cover(
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

pub(super) fn period_text(t: &Tr, opts: &AnalyzeOptions, a: &Analysis) -> String {
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
