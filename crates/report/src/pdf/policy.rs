//! Policy compliance: did each ban hold, per site, with the daily flows around the ban date.

use crate::layout::{ColumnSpec, Layout, MARGIN_X};
use crate::tf;
use crate::{group_digits, human_bytes};
use xborder_engine::run::Analysis;

pub(super) fn policy_section(
    l: &mut Layout,
    policy: &xborder_engine::classify::policy::Policy,
    a: &Analysis,
) {
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
        super::blocked::blocked_attempts(l, a);
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
