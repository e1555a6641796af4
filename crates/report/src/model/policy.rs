//! Policy figures: for each banned rule, did it hold at each covered site; the other
//! verdicts in effect; blocked attempts; AI egress per department.

use std::collections::{BTreeMap, BTreeSet};

use super::epoch_day;
use xborder_engine::aggregate::blocked::BlockedRow as BlockedTableRow;
use xborder_engine::aggregate::org::{DepartmentRow, OrgResults};
use xborder_engine::classify::policy::{Policy, Verdict};
use xborder_engine::verdict::{PolicyVerdict, State};

/// Whether a ban held over the sites it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BanOutcome {
    /// No use after the ban at any covered site, and every verdict determined.
    Held,
    /// Used after the ban at these sites.
    Broken(Vec<String>),
    /// Not used, but the logs could not show it at these sites.
    Undetermined(Vec<String>),
}

/// One covered site under a banned rule (a policy_summary.csv row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanSiteRow {
    pub site: String,
    pub flows_before: u64,
    pub flows_in_effect: u64,
    pub bytes_out_in_effect: u64,
    pub sources_in_effect: u64,
    /// The verdict's state at this site, or the summary's `held` when there is none.
    pub verdict: String,
    pub first_violation: String,
}

/// The first use of a banned tool at a site after the ban.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstUse {
    pub site: String,
    pub first_seen: String,
    pub department: String,
    pub product: String,
}

/// One banned rule of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanRule {
    pub rule_id: String,
    pub effective_from: String,
    pub reason: String,
    pub outcome: BanOutcome,
    pub covered_sites: usize,
    pub sites: Vec<BanSiteRow>,
    /// The ban's first day (days since 1970-01-01).
    pub day: i32,
    /// Flows to the banned tools per day: (day, flows).
    pub daily: Vec<(i32, u64)>,
    pub first_uses: Vec<FirstUse>,
    /// The products used after the ban, each once, in name order.
    pub products_after_ban: Vec<String>,
}

/// A rule that is not a ban, with flows while in effect at a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherVerdict {
    pub rule_id: String,
    pub verdict: String,
    pub site: String,
    pub flows_in_effect: u64,
    pub bytes_out_in_effect: u64,
}

/// The policy's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyModel {
    pub name: String,
    pub version: String,
    /// Banned rules, in policy order.
    pub bans: Vec<BanRule>,
    pub others: Vec<OtherVerdict>,
}

/// Blocked attempts of one day, site, product and rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedRow {
    pub day: String,
    pub site: String,
    pub product: String,
    pub rule_id: String,
    pub attempts: u64,
    /// The distinct sources of each department and host, added up.
    pub sources: u64,
}

/// AI egress of one department under one regime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentTotal {
    pub department: String,
    pub regime: String,
    pub flows: u64,
    pub bytes_out: u64,
}

/// The policy's figures from the org tables and the policy verdicts.
pub(super) fn policy(p: &Policy, org: &OrgResults, verdicts: &[PolicyVerdict]) -> PolicyModel {
    let bans = p
        .rules
        .iter()
        .filter(|r| r.verdict == Verdict::Banned)
        .map(|rule| {
            let rows: Vec<_> = org
                .summary
                .iter()
                .filter(|r| r.rule_id == rule.id)
                .collect();
            let broken: Vec<String> = rows
                .iter()
                .filter(|r| r.held == "no")
                .map(|r| r.source_site.clone())
                .collect();
            let states: Vec<&PolicyVerdict> =
                verdicts.iter().filter(|v| v.rule_id == rule.id).collect();
            let unknown: Vec<String> = states
                .iter()
                .filter(|v| v.state == State::Undetermined)
                .map(|v| v.site.clone())
                .collect();
            let outcome = if !broken.is_empty() {
                BanOutcome::Broken(broken)
            } else if !unknown.is_empty() {
                BanOutcome::Undetermined(unknown)
            } else {
                BanOutcome::Held
            };
            let sites = rows
                .iter()
                .map(|r| BanSiteRow {
                    site: r.source_site.clone(),
                    flows_before: r.flows_before,
                    flows_in_effect: r.flows_in_effect,
                    bytes_out_in_effect: r.bytes_out_in_effect,
                    sources_in_effect: r.distinct_sources_in_effect,
                    verdict: states
                        .iter()
                        .find(|v| v.site == r.source_site)
                        .map_or_else(|| r.held.clone(), |v| v.state.as_str().to_string()),
                    first_violation: r.first_violation.clone(),
                })
                .collect();
            let violations = org.violations.iter().filter(|v| v.rule_id == rule.id);
            BanRule {
                rule_id: rule.id.clone(),
                effective_from: rule.effective_from.to_string(),
                reason: rule.reason.clone(),
                outcome,
                covered_sites: rows.len(),
                sites,
                day: epoch_day(rule.effective_from.date()),
                daily: org
                    .daily
                    .iter()
                    .filter(|d| d.rule_id == rule.id)
                    .map(|d| (d.day, d.flows))
                    .collect(),
                first_uses: violations
                    .clone()
                    .filter(|v| v.first_at_site)
                    .map(|v| FirstUse {
                        site: v.source_site.clone(),
                        first_seen: v.first_seen.clone(),
                        department: v.department.clone(),
                        product: v.product.clone(),
                    })
                    .collect(),
                products_after_ban: violations
                    .map(|v| v.product.as_str())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            }
        })
        .collect();
    let others = org
        .summary
        .iter()
        .filter(|r| r.verdict != "banned" && r.flows_in_effect > 0)
        .map(|r| OtherVerdict {
            rule_id: r.rule_id.clone(),
            verdict: r.verdict.clone(),
            site: r.source_site.clone(),
            flows_in_effect: r.flows_in_effect,
            bytes_out_in_effect: r.bytes_out_in_effect,
        })
        .collect();
    PolicyModel {
        name: p.header.name.clone(),
        version: p.header.version.clone(),
        bans,
        others,
    }
}

/// Blocked attempts summed per (day, site, product, rule), in that order.
pub(super) fn blocked(rows: &[BlockedTableRow]) -> Vec<BlockedRow> {
    let mut per: BTreeMap<(&str, &str, &str, &str), (u64, u64)> = BTreeMap::new();
    for r in rows {
        let e = per
            .entry((
                r.day.as_str(),
                r.source_site.as_str(),
                r.product.as_str(),
                r.rule_id.as_str(),
            ))
            .or_default();
        e.0 = e.0.saturating_add(r.attempts);
        e.1 = e.1.saturating_add(r.distinct_sources);
    }
    per.into_iter()
        .map(
            |((day, site, product, rule), (attempts, sources))| BlockedRow {
                day: day.to_string(),
                site: site.to_string(),
                product: product.to_string(),
                rule_id: rule.to_string(),
                attempts,
                sources,
            },
        )
        .collect()
}

/// AI egress summed per (department, regime), in that order.
pub(super) fn departments(rows: &[DepartmentRow]) -> Vec<DepartmentTotal> {
    let mut totals: BTreeMap<(&str, &str), (u64, u64)> = BTreeMap::new();
    for r in rows {
        let e = totals
            .entry((r.department.as_str(), r.regime.as_str()))
            .or_default();
        e.0 = e.0.saturating_add(r.flows);
        e.1 = e.1.saturating_add(r.bytes_out);
    }
    totals
        .into_iter()
        .map(
            |((department, regime), (flows, bytes_out))| DepartmentTotal {
                department: department.to_string(),
                regime: regime.to_string(),
                flows,
                bytes_out,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_rows::{policy_of, rule};
    use super::*;
    use xborder_engine::aggregate::org::{PolicySummaryRow, RuleDay, Violation};

    fn summary(
        rule_id: &str,
        verdict: &str,
        site: &str,
        held: &str,
        after: u64,
    ) -> PolicySummaryRow {
        PolicySummaryRow {
            rule_id: rule_id.into(),
            verdict: verdict.into(),
            effective_from: "2026-07-10".into(),
            effective_until: String::new(),
            source_site: site.into(),
            site_country: "CN".into(),
            flows_before: 4,
            bytes_out_before: 400,
            flows_in_effect: after,
            bytes_out_in_effect: after * 100,
            distinct_sources_in_effect: after.min(1),
            held: held.into(),
            first_violation: String::new(),
            last_violation: String::new(),
            reason: String::new(),
            memo: String::new(),
        }
    }

    fn violation(rule_id: &str, site: &str, product: &str, first: bool) -> Violation {
        Violation {
            rule_id: rule_id.into(),
            effective_from: "2026-07-10".into(),
            source_site: site.into(),
            site_country: "CN".into(),
            src_ip: "10.0.0.1".into(),
            hostname: String::new(),
            owner: String::new(),
            user: String::new(),
            department: "Sales".into(),
            vendor: "OpenAI".into(),
            product: product.into(),
            day: "2026-07-11".into(),
            flows: 1,
            bytes_out: 1,
            bytes_in: 0,
            first_seen: "2026-07-11T09:00:00Z".into(),
            last_seen: String::new(),
            first_at_site: first,
        }
    }

    fn verdict(rule_id: &str, site: &str, state: State) -> PolicyVerdict {
        PolicyVerdict {
            rule_id: rule_id.into(),
            site: site.into(),
            site_country: "CN".into(),
            timezone: "Asia/Shanghai".into(),
            in_effect_from: String::new(),
            in_effect_until: None,
            state,
            reasons: vec![],
            flows_in_effect: 0,
            first_violation: None,
        }
    }

    #[test]
    fn each_ban_held_broken_or_undetermined_per_covered_site() {
        let p = policy_of(vec![
            rule("no-chatgpt", Verdict::Banned, 10),
            rule("no-deepseek", Verdict::Banned, 10),
            rule("no-grok", Verdict::Banned, 10),
            rule("claude-ok", Verdict::Allowed, 10),
        ]);
        let org = OrgResults {
            summary: vec![
                summary("no-chatgpt", "banned", "Shanghai", "no", 3),
                summary("no-chatgpt", "banned", "Beijing", "yes", 0),
                summary("no-deepseek", "banned", "Beijing", "yes", 0),
                summary("claude-ok", "allowed", "Beijing", "", 9),
                summary("claude-ok", "allowed", "Shanghai", "", 0),
            ],
            violations: vec![
                violation("no-chatgpt", "Shanghai", "ChatGPT", true),
                violation("no-chatgpt", "Shanghai", "OpenAI API", false),
                violation("no-chatgpt", "Shanghai", "ChatGPT", false),
            ],
            daily: vec![
                RuleDay {
                    rule_id: "no-chatgpt".into(),
                    day: 20_645,
                    flows: 3,
                    bytes_out: 300,
                },
                RuleDay {
                    rule_id: "no-deepseek".into(),
                    day: 20_645,
                    flows: 1,
                    bytes_out: 1,
                },
            ],
            ..OrgResults::default()
        };
        let verdicts = [
            verdict("no-chatgpt", "Shanghai", State::Violated),
            verdict("no-deepseek", "Beijing", State::Undetermined),
        ];
        let m = policy(&p, &org, &verdicts);
        assert_eq!((m.name.as_str(), m.version.as_str()), ("AI use", "3"));
        let ids: Vec<&str> = m.bans.iter().map(|b| b.rule_id.as_str()).collect();
        assert_eq!(ids, ["no-chatgpt", "no-deepseek", "no-grok"]);

        let chatgpt = &m.bans[0];
        assert_eq!(chatgpt.outcome, BanOutcome::Broken(vec!["Shanghai".into()]));
        assert_eq!(chatgpt.covered_sites, 2);
        assert_eq!(chatgpt.effective_from, "2026-07-10");
        assert_eq!(chatgpt.day, 20_644);
        assert_eq!(chatgpt.daily, [(20_645, 3)]);
        // The verdict's state where there is one, else the summary's `held`.
        let states: Vec<&str> = chatgpt.sites.iter().map(|s| s.verdict.as_str()).collect();
        assert_eq!(states, ["violated", "yes"]);
        assert_eq!(chatgpt.first_uses.len(), 1);
        assert_eq!(chatgpt.products_after_ban, ["ChatGPT", "OpenAI API"]);

        assert_eq!(
            m.bans[1].outcome,
            BanOutcome::Undetermined(vec!["Beijing".into()])
        );
        // No covered site and no verdict: held, with nothing to show.
        assert_eq!(m.bans[2].outcome, BanOutcome::Held);
        assert_eq!(m.bans[2].covered_sites, 0);
        assert!(m.bans[2].products_after_ban.is_empty());

        // Only rules that are not bans and had flows while in effect.
        assert_eq!(m.others.len(), 1);
        assert_eq!(
            (m.others[0].site.as_str(), m.others[0].flows_in_effect),
            ("Beijing", 9)
        );
    }

    fn blocked_row(day: &str, site: &str, dept: &str, host: &str, n: u64) -> BlockedTableRow {
        BlockedTableRow {
            day: day.into(),
            source_site: site.into(),
            site_country: "CN".into(),
            department: dept.into(),
            vendor: "OpenAI".into(),
            product: "ChatGPT".into(),
            hostname: host.into(),
            rule_id: "no-chatgpt".into(),
            verdict: "banned".into(),
            attempts: n,
            distinct_sources: 1,
            first_seen: String::new(),
            last_seen: String::new(),
        }
    }

    #[test]
    fn blocked_attempts_sum_over_departments_and_hosts() {
        let rows = [
            blocked_row("2026-07-11", "Shanghai", "R&D", "chatgpt.com", 3),
            blocked_row("2026-07-10", "Shanghai", "Sales", "chatgpt.com", 1),
            blocked_row("2026-07-11", "Shanghai", "Sales", "api.openai.com", 2),
        ];
        let b = blocked(&rows);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].day, "2026-07-10");
        assert_eq!((b[1].attempts, b[1].sources), (5, 2));
        assert!(blocked(&[]).is_empty());
    }

    #[test]
    fn departments_sum_per_department_and_regime() {
        let row = |dept: &str, regime: &str, flows: u64| DepartmentRow {
            regime: regime.into(),
            department: dept.into(),
            source_site: "Shanghai".into(),
            vendor: "OpenAI".into(),
            product: "ChatGPT".into(),
            flows,
            bytes_out: flows * 10,
            bytes_in: 0,
            distinct_sources: 1,
        };
        let d = departments(&[
            row("Sales", "CN-PIPL", 2),
            row("R&D", "CN-PIPL", 1),
            row("Sales", "CN-PIPL", 3),
            row("Sales", "CN-DSL", 4),
        ]);
        let got: Vec<(&str, &str, u64, u64)> = d
            .iter()
            .map(|t| {
                (
                    t.department.as_str(),
                    t.regime.as_str(),
                    t.flows,
                    t.bytes_out,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("R&D", "CN-PIPL", 1, 10),
                ("Sales", "CN-DSL", 4, 40),
                ("Sales", "CN-PIPL", 5, 50)
            ]
        );
        assert!(departments(&[]).is_empty());
    }
}
