//! Report sections that say what the run could see and what it concluded: the verdicts on
//! the executive-summary page, the coverage timeline, candidate AI destinations and the
//! hashes of the inputs behind the verdicts. Every figure comes from `coverage`,
//! `candidates` and `verdict`; these functions only lay them out.

use crate::group_digits;
use crate::human_bytes;
use crate::layout::{text_width, ColumnSpec, DayMark, Layout, MARGIN_X};
use crate::model::ReportModel;
use crate::tf;
use xborder_engine::run::{Analysis, Catalogs};
use xborder_engine::verdict::{Reason, RegimeState, State};

const GREEN: (f32, f32, f32) = (0.10, 0.45, 0.20);
const RED: (f32, f32, f32) = (0.75, 0.22, 0.17);
const AMBER: (f32, f32, f32) = (0.78, 0.47, 0.02);
const PURPLE: (f32, f32, f32) = (0.36, 0.25, 0.60);
const GREY: (f32, f32, f32) = (0.45, 0.45, 0.50);

fn reason_lines(l: &Layout, reasons: &[Reason]) -> Vec<String> {
    reasons
        .iter()
        .map(|r| l.tr.f(r.template, &r.args))
        .collect()
}

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |v| format!("{:.0}%", v * 100.0))
}

/// The verdicts, each with its state and reasons, for the executive-summary page.
pub(super) fn verdicts(l: &mut Layout, catalogs: &Catalogs, a: &Analysis) {
    l.subheading("Verdicts");
    if a.observed.is_none() {
        l.ensure(8.0);
        l.text_at(
            MARGIN_X,
            l.y,
            10.5,
            true,
            RED,
            "No flow record was accepted in the period: nothing could be judged.",
        );
        l.y -= 7.0;
    }
    let v = &a.verdicts;
    // Titles line up after the widest badge in use.
    let badge_column = [
        "HELD",
        "VIOLATED",
        "UNDETERMINED",
        "TRANSFERS FOUND",
        "NONE FOUND",
        "ATTRIBUTION NOT POSSIBLE",
    ]
    .iter()
    .map(|b| text_width(&l.tr.s(b), 9.0, true) + 3.0)
    .fold(0.0, f32::max);
    if catalogs.policy.is_none() {
        l.paragraph(
            "No policy was given (--policy): there are no rule verdicts, only regime verdicts.",
            8.5,
        );
    } else if v.policy.is_empty() {
        l.paragraph(
            "The policy has no banned rule: there is nothing to hold or violate.",
            8.5,
        );
    }
    for p in &v.policy {
        let (badge, color) = match p.state {
            State::Held => ("HELD", GREEN),
            State::Violated => ("VIOLATED", RED),
            State::Undetermined => ("UNDETERMINED", AMBER),
        };
        let title = tf!(l.tr, "Rule {} at {}", p.rule_id, p.site);
        let mut lines = vec![tf!(
            l.tr,
            "in effect from {} ({})",
            p.in_effect_from,
            p.timezone
        )];
        lines.extend(reason_lines(l, &p.reasons));
        if p.state == State::Held {
            lines.push(l.tr.ui(
                "No use of the banned tools while the rule was in effect, and the logs covered the site throughout.",
            ));
        }
        l.badge_item(badge, color, &title, &lines, 9.0, badge_column);
    }
    for r in &v.regimes {
        let (badge, color) = match r.state {
            RegimeState::TransfersFound => ("TRANSFERS FOUND", PURPLE),
            RegimeState::NoneFound => ("NONE FOUND", GREEN),
            RegimeState::Undetermined => ("UNDETERMINED", AMBER),
            RegimeState::AttributionNotPossible => ("ATTRIBUTION NOT POSSIBLE", GREY),
        };
        let title = match r.state {
            RegimeState::TransfersFound => tf!(
                l.tr,
                "{} at {}: {} cross-border AI flows, {} out",
                r.regime,
                r.site,
                group_digits(r.flows),
                human_bytes(r.bytes_out)
            ),
            _ => tf!(l.tr, "{} at {}", r.regime, r.site),
        };
        let lines = reason_lines(l, &r.reasons);
        l.badge_item(badge, color, &title, &lines, 9.0, badge_column);
    }
    l.y -= 2.0;
}

/// The coverage timeline (site by day, gaps marked, ban dates drawn) and per-site figures.
pub(super) fn coverage_section(l: &mut Layout, a: &Analysis, model: &ReportModel) {
    let c = &a.coverage;
    l.heading("Log coverage");
    let t = &c.thresholds;
    l.paragraph(
        &tf!(l.tr, "What the logs could see, per site and day. A run of {} or more days without flow records from a site is a gap; a verdict over a gap, over a site whose egress had less than {}% DNS or server-name visibility, with a vendor catalog older than {} days, or with unreviewed candidate AI destinations is undetermined. coverage.csv holds the counts per site, source and day.",
            t.min_gap_days,
            format!("{:.0}", t.min_dns_visibility * 100.0),
            t.max_catalog_age_days
        ),
        8.5,
    );
    let cov = &model.coverage;
    let Some(range) = cov.range else {
        l.paragraph("No record was accepted: there is no coverage to show.", 9.0);
        return;
    };
    let rows: Vec<(String, Vec<DayMark>)> = cov
        .rows
        .iter()
        .map(|r| (r.site.clone(), r.marks.clone()))
        .collect();
    let markers: Vec<(i32, String)> = model
        .bans
        .iter()
        .map(|b| (b.day, tf!(l.tr, "ban from {}", b.effective_from)))
        .collect();
    // At most 40 sites per grid, so a large organisation's timeline still fits a page.
    for chunk in rows.chunks(40) {
        l.day_grid(
            "Flow records per site and day (UTC)",
            range,
            chunk,
            &markers,
        );
    }
    let table: Vec<Vec<String>> = c
        .sites
        .iter()
        .zip(&cov.rows)
        .map(|(s, r)| {
            vec![
                s.site.clone(),
                group_digits(s.totals.flow_records),
                group_digits(s.totals.dns_records),
                group_digits(s.totals.egress_flows),
                percent(r.dns_visibility),
                percent(r.hostname_visibility),
                if r.gaps.is_empty() {
                    "-".into()
                } else {
                    r.gaps.join(", ")
                },
            ]
        })
        .collect();
    l.table(
        &[
            ColumnSpec::left("Site", 20.0),
            ColumnSpec::right("Flow records", 18.0),
            ColumnSpec::right("DNS records", 18.0),
            ColumnSpec::right("Egress flows", 18.0),
            ColumnSpec::right("DNS visibility", 18.0),
            ColumnSpec::right("SNI/Host", 14.0),
            ColumnSpec::left("Gaps", 40.0),
        ],
        &table,
        7.5,
    );
    for s in &c.sites {
        for ch in &s.source_changes {
            let sentence = if ch.change == "starts" {
                tf!(
                    l.tr,
                    "{}: source {} starts on {}, {} day(s) after the period begins.",
                    s.site,
                    ch.source,
                    ch.day,
                    ch.days_missing
                )
            } else {
                tf!(
                    l.tr,
                    "{}: source {} stops on {}, {} day(s) before the period ends.",
                    s.site,
                    ch.source,
                    ch.day,
                    ch.days_missing
                )
            };
            l.bullet(&sentence, 8.5);
        }
    }
    l.y -= 2.0;
}

/// Candidate AI destinations for review.
pub(super) fn candidates_section(l: &mut Layout, a: &Analysis) {
    l.heading("Candidate AI destinations");
    l.paragraph(
        &tf!(l.tr, "Egress that no catalog entry attributes, to names that look like AI services (labels such as ai, llm, gpt, model, copilot, inference or chat, or a known relay or gateway), with at least {} out. Until a name is listed in a reviewed-candidates file (--reviewed-candidates), verdicts at the sites that reached it while a rule was in effect stay undetermined. candidates.csv lists them.",
            human_bytes(a.coverage.thresholds.candidate_min_bytes)
        ),
        8.5,
    );
    if a.candidates.is_empty() {
        l.paragraph("No candidate AI destination reached the threshold.", 9.0);
        return;
    }
    let rows: Vec<Vec<String>> = a
        .candidates
        .iter()
        .map(|c| {
            vec![
                c.hostname.clone(),
                c.matched.to_string(),
                c.sites
                    .iter()
                    .map(|s| s.site.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                group_digits(c.flows),
                human_bytes(c.bytes_out),
                if c.reviewed { "yes" } else { "no" }.to_string(),
            ]
        })
        .collect();
    l.table(
        &[
            ColumnSpec::left("Name", 50.0),
            ColumnSpec::left("Matched", 16.0),
            ColumnSpec::left("Sites", 30.0),
            ColumnSpec::right("Flows", 14.0),
            ColumnSpec::right("Bytes out", 18.0),
            ColumnSpec::left("Reviewed", 14.0),
        ],
        &rows,
        8.0,
    );
}

/// Provenance: every input that can change a verdict, with its SHA-256.
pub(super) fn verdict_inputs(l: &mut Layout, a: &Analysis) {
    l.subheading("Inputs that can change a verdict");
    let rows: Vec<Vec<String>> = a
        .verdict_inputs
        .iter()
        .map(|i| {
            vec![
                i.role.clone(),
                i.path
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or(&i.path)
                    .to_string(),
                i.sha256.clone(),
            ]
        })
        .collect();
    l.table(
        &[
            ColumnSpec::left("Role", 22.0),
            ColumnSpec::left("File", 36.0),
            ColumnSpec::left("SHA-256", 100.0),
        ],
        &rows,
        7.0,
    );
}
