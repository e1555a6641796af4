//! Policy compliance: did each ban hold, per site, with the daily flows around the ban
//! date, the first use after it, blocked attempts and the other verdicts in effect.

use crate::layout::{ColumnSpec, Layout, MARGIN_X};
use crate::model::{BanOutcome, PolicyModel, ReportModel};
use crate::tf;
use crate::{group_digits, human_bytes};

pub(super) fn policy_section(l: &mut Layout, policy: &PolicyModel, model: &ReportModel) {
    l.heading("Policy compliance");
    l.paragraph(
        &tf!(l.tr, "Policy: {} (version {}). A flow is a violation when the most specific rule in effect at its time (a rule's dates start at midnight in the site's time zone) bans the tool at its site. policy_violations.csv lists them per rule, site, source, product and day; policy_summary.csv has one row per rule and site.",
            policy.name, policy.version
        ),
        9.0,
    );
    for rule in &policy.bans {
        let verdict = match &rule.outcome {
            BanOutcome::Undetermined(sites) => tf!(
                l.tr,
                "Did the ban hold? UNDETERMINED at {} of {} covered sites: {}.",
                sites.len(),
                rule.covered_sites,
                sites.join(", ")
            ),
            BanOutcome::Held => tf!(
                l.tr,
                "Did the ban hold? YES. No use of the banned tools after {} at any covered site.",
                rule.effective_from
            ),
            BanOutcome::Broken(sites) => tf!(
                l.tr,
                "Did the ban hold? NO, at {} of {} covered sites: {}.",
                sites.len(),
                rule.covered_sites,
                sites.join(", ")
            ),
        };
        l.subheading(&tf!(
            l.tr,
            "Rule {}: banned from {}",
            rule.rule_id,
            rule.effective_from
        ));
        l.paragraph(&rule.reason, 8.5);
        let color = match rule.outcome {
            BanOutcome::Undetermined(_) => (0.78, 0.47, 0.02),
            BanOutcome::Held => (0.1, 0.45, 0.2),
            BanOutcome::Broken(_) => (0.75, 0.22, 0.17),
        };
        l.ensure(9.0);
        l.text_at(MARGIN_X, l.y, 12.0, true, color, &verdict);
        l.y -= 8.0;
        if matches!(rule.outcome, BanOutcome::Undetermined(_)) {
            l.paragraph(
                "The logs could not show whether the ban held at these sites; the verdicts in the executive summary give the reasons.",
                8.5,
            );
        }
        let table: Vec<Vec<String>> = rule
            .sites
            .iter()
            .map(|r| {
                vec![
                    r.site.clone(),
                    group_digits(r.flows_before),
                    group_digits(r.flows_in_effect),
                    human_bytes(r.bytes_out_in_effect),
                    r.sources_in_effect.to_string(),
                    r.verdict.clone(),
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
        l.time_bars(
            "Daily flows to the banned tools from covered sites, before and after the ban",
            &rule.daily,
            Some((rule.day, &tf!(l.tr, "ban from {}", rule.effective_from))),
            true,
            &|v| group_digits(v),
        );
        let firsts: Vec<Vec<String>> = rule
            .first_uses
            .iter()
            .map(|v| {
                vec![
                    v.site.clone(),
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
    let others: Vec<Vec<String>> = policy
        .others
        .iter()
        .map(|r| {
            vec![
                r.rule_id.clone(),
                r.verdict.clone(),
                r.site.clone(),
                group_digits(r.flows_in_effect),
                human_bytes(r.bytes_out_in_effect),
            ]
        })
        .collect();
    if !model.blocked.is_empty() {
        l.subheading("Blocked attempts");
        super::blocked::blocked_attempts(l, &model.blocked);
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
