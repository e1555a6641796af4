//! Verdicts a regulator can rely on: `held`, `violated` or `undetermined`, with reasons.
//!
//! Absence of evidence is not evidence of absence. A banned rule *held* at a site only
//! when the logs could have shown a violation and did not: the site had flow records while
//! the rule was in effect, no gap of [`CoverageThresholds::min_gap_days`] days or more, enough
//! of its egress was attributable by name (DNS answers or server names), the vendor
//! catalog was recent, and no unreviewed candidate AI destination was seen from it. A
//! violation observed is `violated` whatever the coverage. Anything else is
//! `undetermined`, and each reason says what was missing.
//!
//! Regime findings get the same honesty: for each regime and each site it governs,
//! `transfers_found`, `none_found`, `undetermined`, or `attribution_not_possible` when
//! none of the site's egress carried a DNS answer or a server name.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::aggregate::org::PolicySummaryRow;
use crate::aggregate::FindingRow;
use crate::candidates::Candidate;
use crate::classify::policy::{Policy, Verdict};
use crate::classify::regimes::Regimes;
use crate::classify::sites::Sites;
use crate::coverage::{Coverage, CoverageThresholds, SiteCoverage};
use xborder_model::period::{day_date, day_of, day_string, rfc3339, Period};
use xborder_model::schema::Micros;

/// The state of a policy verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Held,
    Violated,
    Undetermined,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Held => "held",
            State::Violated => "violated",
            State::Undetermined => "undetermined",
        }
    }
}

/// The state of a regime at a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegimeState {
    TransfersFound,
    NoneFound,
    Undetermined,
    AttributionNotPossible,
}

impl RegimeState {
    pub fn as_str(self) -> &'static str {
        match self {
            RegimeState::TransfersFound => "transfers_found",
            RegimeState::NoneFound => "none_found",
            RegimeState::Undetermined => "undetermined",
            RegimeState::AttributionNotPossible => "attribution_not_possible",
        }
    }
}

/// Why a verdict has its state. `template` is English with `{}` placeholders filled from
/// `args` in order, so the report can translate it; [`Reason::text`] is the English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// Stable code: no_records, not_in_effect, gap, dns_visibility, catalog_age,
    /// candidates, violation, attribution_not_possible, not_a_site.
    pub code: &'static str,
    pub template: &'static str,
    pub args: Vec<String>,
}

impl Reason {
    fn new(code: &'static str, template: &'static str, args: Vec<String>) -> Self {
        Reason {
            code,
            template,
            args,
        }
    }

    /// The reason in English.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mut args = self.args.iter();
        let mut rest = self.template;
        while let Some(i) = rest.find("{}") {
            out.push_str(&rest[..i]);
            out.push_str(args.next().map(String::as_str).unwrap_or(""));
            rest = &rest[i + 2..];
        }
        out.push_str(rest);
        out
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Reason", 2)?;
        st.serialize_field("code", self.code)?;
        st.serialize_field("text", &self.text())?;
        st.end()
    }
}

/// The verdict on one banned rule at one site.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyVerdict {
    pub rule_id: String,
    pub site: String,
    pub site_country: String,
    pub timezone: String,
    /// When the rule took effect at this site (RFC 3339, UTC).
    pub in_effect_from: String,
    /// When it stopped (exclusive), if it did.
    pub in_effect_until: Option<String>,
    pub state: State,
    pub reasons: Vec<Reason>,
    /// Flows to the banned tools while the rule was in effect.
    pub flows_in_effect: u64,
    pub first_violation: Option<String>,
}

/// The state of one regime at one site it governs.
#[derive(Debug, Clone, Serialize)]
pub struct RegimeVerdict {
    pub regime: String,
    pub site: String,
    pub site_country: String,
    pub state: RegimeState,
    pub reasons: Vec<Reason>,
    pub flows: u64,
    pub bytes_out: u64,
}

/// All verdicts of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdicts {
    pub policy: Vec<PolicyVerdict>,
    pub regimes: Vec<RegimeVerdict>,
}

impl Verdicts {
    pub fn any_policy(&self, state: State) -> bool {
        self.policy.iter().any(|v| v.state == state)
    }

    /// Whether any verdict, policy or regime, could not be decided.
    pub fn any_undetermined(&self) -> bool {
        self.any_policy(State::Undetermined)
            || self.regimes.iter().any(|r| {
                matches!(
                    r.state,
                    RegimeState::Undetermined | RegimeState::AttributionNotPossible
                )
            })
    }
}

/// Everything verdicts are judged from.
pub struct Evidence<'a> {
    pub policy: Option<&'a Policy>,
    pub sites: &'a Sites,
    pub regimes: &'a Regimes,
    pub period: &'a Period,
    pub coverage: &'a Coverage,
    pub summary: &'a [PolicySummaryRow],
    pub findings: &'a [FindingRow],
    pub candidates: &'a [Candidate],
    /// `as_of` of the vendor catalog (YYYY-MM-DD), if it has one.
    pub vendor_catalog_as_of: Option<&'a str>,
}

fn pct(x: f64) -> String {
    let p = x * 100.0;
    if p > 0.0 && p < 1.0 {
        format!("{p:.1}")
    } else {
        format!("{p:.0}")
    }
}

/// The days `[first, last]` a window `[start, end)` covers inside the judged range.
fn clip(range: Option<(i32, i32)>, start: Micros, end: Option<Micros>) -> Option<(i32, i32)> {
    let (a, b) = range?;
    let first = a.max(day_of(start));
    let last = match end {
        Some(e) => b.min(day_of(e - 1)),
        None => b,
    };
    (first <= last).then_some((first, last))
}

/// Coverage reasons for a site over days `[first, last]`; `instants` bound candidate
/// sightings. Empty when coverage passes.
fn coverage_reasons(
    e: &Evidence<'_>,
    site: &SiteCoverage,
    (first, last): (i32, i32),
    instants: (Micros, Option<Micros>),
) -> Vec<Reason> {
    let t: &CoverageThresholds = &e.coverage.thresholds;
    let mut out = Vec::new();
    let c = site.between(first, last);
    // A gap is named whole, so a sensor that went quiet before the rule took effect shows
    // where it stopped.
    for g in site.gaps.iter().filter(|g| g.overlaps(first, last)) {
        out.push(Reason::new(
            "gap",
            "gap of {} day(s) without flow records from {} to {}",
            vec![g.days().to_string(), g.from(), g.to()],
        ));
    }
    if c.flow_records == 0 {
        if out.is_empty() {
            out.push(Reason::new(
                "no_records",
                "no records: no flow records from this site from {} to {}",
                vec![day_string(first), day_string(last)],
            ));
        }
        return out;
    }
    if c.egress_flows > 0 {
        let share = c.egress_name_visible as f64 / c.egress_flows as f64;
        if share < t.min_dns_visibility {
            out.push(Reason::new(
                "dns_visibility",
                "DNS visibility {}% below the {}% threshold ({} of {} egress flows had a DNS answer or server name)",
                vec![
                    pct(share),
                    pct(t.min_dns_visibility),
                    c.egress_name_visible.to_string(),
                    c.egress_flows.to_string(),
                ],
            ));
        }
    }
    if let Some(as_of) = e
        .vendor_catalog_as_of
        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    {
        let age = (day_date(last) - as_of).num_days();
        if age > i64::from(t.max_catalog_age_days) {
            out.push(Reason::new(
                "catalog_age",
                "catalog older than {} days: the vendor catalog is as of {}, {} days before {}",
                vec![
                    t.max_catalog_age_days.to_string(),
                    as_of.to_string(),
                    age.to_string(),
                    day_string(last),
                ],
            ));
        }
    }
    let (start, end) = instants;
    let names: Vec<&str> = e
        .candidates
        .iter()
        .filter(|c| !c.reviewed)
        .filter(|c| {
            c.sites.iter().any(|s| {
                s.site == site.site && s.last_seen >= start && end.is_none_or(|e| s.first_seen < e)
            })
        })
        .map(|c| c.hostname.as_str())
        .collect();
    if !names.is_empty() {
        out.push(Reason::new(
            "candidates",
            "unreviewed candidate AI destinations ({}): {}",
            vec![names.len().to_string(), names.join(", ")],
        ));
    }
    out
}

/// Judge every banned rule at every site it covers, and every regime at every site.
pub fn judge(e: &Evidence<'_>) -> Verdicts {
    let mut out = Verdicts::default();
    let range = e.coverage.range;
    let period_start = e.period.from.unwrap_or(i64::MIN);
    if let Some(policy) = e.policy {
        for row in e.summary.iter().filter(|r| r.verdict == "banned") {
            let Some(rule) = policy.rules.iter().find(|r| r.id == row.rule_id) else {
                continue;
            };
            let site = e.sites.sites.iter().find(|s| s.name == row.source_site);
            let tz = site.map_or(chrono_tz::UTC, |s| s.timezone);
            let (from, until) = rule.window_in(tz);
            let start = from.max(period_start);
            let end = match (until, e.period.to) {
                (Some(u), Some(p)) => Some(u.min(p)),
                (u, p) => u.or(p),
            };
            let mut v = PolicyVerdict {
                rule_id: rule.id.clone(),
                site: row.source_site.clone(),
                site_country: row.site_country.clone(),
                timezone: tz.name().to_string(),
                in_effect_from: rfc3339(from),
                in_effect_until: until.map(rfc3339),
                state: State::Undetermined,
                reasons: Vec::new(),
                flows_in_effect: row.flows_in_effect,
                first_violation: (!row.first_violation.is_empty())
                    .then(|| row.first_violation.clone()),
            };
            if row.held == "no" {
                v.state = State::Violated;
                v.reasons.push(Reason::new(
                    "violation",
                    "{} flow(s) to the banned tools while the rule was in effect; the first at {}",
                    vec![row.flows_in_effect.to_string(), row.first_violation.clone()],
                ));
                out.policy.push(v);
                continue;
            }
            let coverage = e.coverage.site(&row.source_site);
            match (clip(range, start, end), coverage) {
                (_, None) => v.reasons.push(Reason::new(
                    "not_a_site",
                    "sources in no configured site have no coverage to judge",
                    Vec::new(),
                )),
                (None, Some(c)) => {
                    let site_records = range.map_or(0, |(a, b)| c.between(a, b).flow_records);
                    if site_records == 0 {
                        v.reasons.push(match range {
                            Some((a, b)) => Reason::new(
                                "no_records",
                                "no records: no flow records from this site from {} to {}",
                                vec![day_string(a), day_string(b)],
                            ),
                            None => Reason::new(
                                "no_records",
                                "no records: no flow record was accepted in the period",
                                Vec::new(),
                            ),
                        });
                    }
                    v.reasons.push(Reason::new(
                        "not_in_effect",
                        "the rule was not in effect during the period (in effect from {})",
                        vec![rfc3339(from)],
                    ));
                }
                (Some(days), Some(c)) => {
                    v.reasons = coverage_reasons(e, c, days, (start, end));
                    if v.reasons.is_empty() {
                        v.state = State::Held;
                    }
                }
            }
            out.policy.push(v);
        }
    }
    for regime in &e.regimes.regimes {
        // A regime with no transfer restriction in force (Hong Kong) can find nothing, so
        // there is nothing to hold or to leave undetermined; the report lists it apart.
        if regime.kind == crate::classify::regimes::RegimeKind::NoRestriction {
            continue;
        }
        for site in &e.sites.sites {
            if !regime.source_countries.contains(&site.country) {
                continue;
            }
            let hits: Vec<&FindingRow> = e
                .findings
                .iter()
                .filter(|f| f.regime == regime.id && f.source_site == site.name)
                .collect();
            // A flow under two of the regime's rules is one flow: count each group once.
            let mut seen = BTreeSet::new();
            let (mut flows, mut bytes_out) = (0u64, 0u64);
            for h in &hits {
                if seen.insert(h.finding_id.as_str()) {
                    flows += h.flows;
                    bytes_out = bytes_out.saturating_add(h.bytes_out);
                }
            }
            let mut reasons = Vec::new();
            let coverage = e.coverage.site(&site.name);
            let state = match (range, coverage) {
                (Some(days), Some(c)) => {
                    let start = e.period.from.unwrap_or(i64::from(days.0) * 86_400_000_000);
                    reasons = coverage_reasons(e, c, days, (start, e.period.to));
                    let totals = c.between(days.0, days.1);
                    let blind = totals.egress_flows > 0 && totals.egress_name_visible == 0;
                    if blind {
                        reasons.retain(|r| r.code != "dns_visibility");
                        reasons.push(Reason::new(
                            "attribution_not_possible",
                            "attribution not possible: none of {} egress flows had a DNS answer or a server name (SNI/Host); only published vendor address ranges could attribute them",
                            vec![totals.egress_flows.to_string()],
                        ));
                    }
                    if !hits.is_empty() {
                        RegimeState::TransfersFound
                    } else if blind {
                        RegimeState::AttributionNotPossible
                    } else if reasons.is_empty() {
                        RegimeState::NoneFound
                    } else {
                        RegimeState::Undetermined
                    }
                }
                _ => {
                    reasons.push(Reason::new(
                        "no_records",
                        "no records: no flow record was accepted in the period",
                        Vec::new(),
                    ));
                    if hits.is_empty() {
                        RegimeState::Undetermined
                    } else {
                        RegimeState::TransfersFound
                    }
                }
            };
            out.regimes.push(RegimeVerdict {
                regime: regime.id.clone(),
                site: site.name.clone(),
                site_country: site.country.clone(),
                state,
                reasons,
                flows,
                bytes_out,
            });
        }
    }
    out
}

/// `analyze --fail-on`: conditions that make a finished run exit non-zero, for batch jobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailOn {
    pub violation: bool,
    pub undetermined: bool,
    pub rejects: bool,
    pub no_data: bool,
}

/// Exit code when a policy verdict is `violated` (with `--fail-on violation`).
pub const EXIT_VIOLATION: u8 = 10;
/// Exit code when a verdict is undetermined (with `--fail-on undetermined`).
pub const EXIT_UNDETERMINED: u8 = 11;
/// Exit code when no flow record was accepted in the period (with `--fail-on no-data`).
pub const EXIT_NO_DATA: u8 = 12;
/// Exit code when any record was rejected (with `--fail-on rejects`).
pub const EXIT_REJECTS: u8 = 13;

impl FailOn {
    /// Parse `violation,undetermined,rejects,no-data` (any subset, any order).
    pub fn parse(s: &str) -> std::result::Result<FailOn, String> {
        let mut f = FailOn::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "violation" => f.violation = true,
                "undetermined" => f.undetermined = true,
                "rejects" => f.rejects = true,
                "no-data" => f.no_data = true,
                other => {
                    return Err(format!(
                        "`{other}` is not one of violation, undetermined, rejects, no-data"
                    ))
                }
            }
        }
        if f == FailOn::default() {
            return Err("give at least one of violation, undetermined, rejects, no-data".into());
        }
        Ok(f)
    }

    /// The exit code for what the run found, `None` for success. Checked in the order
    /// violation, no-data, undetermined, rejects: the first that holds and was asked for.
    pub fn exit_code(&self, verdicts: &Verdicts, no_data: bool, rejected: u64) -> Option<u8> {
        if self.violation && verdicts.any_policy(State::Violated) {
            Some(EXIT_VIOLATION)
        } else if self.no_data && no_data {
            Some(EXIT_NO_DATA)
        } else if self.undetermined && (no_data || verdicts.any_undetermined()) {
            Some(EXIT_UNDETERMINED)
        } else if self.rejects && rejected > 0 {
            Some(EXIT_REJECTS)
        } else {
            None
        }
    }
}

/// Whether `policy` has any banned rule (the only rules with a held/violated verdict).
pub fn has_banned_rules(policy: Option<&Policy>) -> bool {
    policy.is_some_and(|p| p.rules.iter().any(|r| r.verdict == Verdict::Banned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidates::CandidateSite;
    use crate::classify::countries::Countries;
    use crate::classify::vendors::VendorCatalog;
    use crate::classify::{embedded, CatalogText};
    use crate::coverage::CoverageTracker;

    const DAY: i64 = 86_400_000_000;

    struct World {
        sites: Sites,
        policy: Policy,
        regimes: Regimes,
    }

    fn world() -> World {
        let c =
            Countries::load(&CatalogText::load(None, "c", embedded::COUNTRIES).unwrap()).unwrap();
        let v =
            VendorCatalog::load(&CatalogText::load(None, "v", embedded::VENDORS).unwrap()).unwrap();
        let regimes = Regimes::load(
            &CatalogText::load(None, "r", embedded::REGIMES).unwrap(),
            &c,
        )
        .unwrap();
        let sites = Sites::parse(
            "s",
            "[[site]]\nname='hz'\ncountry='CN'\ncidrs=['10.10.0.0/16']\ntimezone='Asia/Shanghai'\n",
            &c,
        )
        .unwrap();
        // Day 10 of 1970 is 1970-01-11; the ban starts then, Shanghai midnight.
        let policy = Policy::parse(
            "p",
            "[policy]\nname='p'\nversion='1'\n[[rule]]\nid='ban'\nverdict='banned'\neffective_from='1970-01-11'\nreason='r'\nvendors=['anthropic']\n",
            &v,
            &sites,
        )
        .unwrap();
        World {
            sites,
            policy,
            regimes,
        }
    }

    fn summary(held: &str) -> PolicySummaryRow {
        PolicySummaryRow {
            rule_id: "ban".into(),
            verdict: "banned".into(),
            effective_from: "1970-01-11".into(),
            effective_until: String::new(),
            source_site: "hz".into(),
            site_country: "CN".into(),
            flows_before: 0,
            bytes_out_before: 0,
            flows_in_effect: if held == "no" { 3 } else { 0 },
            bytes_out_in_effect: 0,
            distinct_sources_in_effect: 0,
            held: held.into(),
            first_violation: if held == "no" {
                "1970-01-15T00:00:00Z".into()
            } else {
                String::new()
            },
            last_violation: String::new(),
            reason: String::new(),
            memo: String::new(),
        }
    }

    /// Flows on `days` (each with a DNS answer when `dns`), over a 20-day period.
    fn coverage(days: impl Iterator<Item = i64>, dns: bool) -> Coverage {
        let mut t = CoverageTracker::default();
        let s = t.source("zeek-conn");
        for d in days {
            t.flow(0, s, d * DAY + 3_600_000_000);
            t.egress(0, s, d * DAY + 3_600_000_000, dns, false);
        }
        t.finish(
            &["hz".to_string()],
            &period(),
            CoverageThresholds {
                max_catalog_age_days: 100_000,
                ..CoverageThresholds::default()
            },
        )
    }

    fn period() -> Period {
        Period {
            from: Some(0),
            to: Some(20 * DAY),
            label: "p".into(),
        }
    }

    fn judge_with(w: &World, cov: &Coverage, held: &str, candidates: &[Candidate]) -> Verdicts {
        let rows = [summary(held)];
        let p = period();
        judge(&Evidence {
            policy: Some(&w.policy),
            sites: &w.sites,
            regimes: &w.regimes,
            period: &p,
            coverage: cov,
            summary: &rows,
            findings: &[],
            candidates,
            vendor_catalog_as_of: Some("1970-01-01"),
        })
    }

    #[test]
    fn fail_on_picks_the_first_condition_that_holds() {
        let w = world();
        let violated = judge_with(&w, &coverage(0..20, true), "no", &[]);
        let held = judge_with(&w, &coverage(0..20, true), "yes", &[]);
        let all = FailOn::parse("rejects,no-data,undetermined,violation").unwrap();
        assert_eq!(all.exit_code(&violated, false, 5), Some(EXIT_VIOLATION));
        assert_eq!(all.exit_code(&held, true, 5), Some(EXIT_NO_DATA));
        assert_eq!(all.exit_code(&held, false, 5), Some(EXIT_REJECTS));
        assert_eq!(all.exit_code(&held, false, 0), None);
        let only = FailOn::parse("undetermined").unwrap();
        assert_eq!(only.exit_code(&violated, false, 0), None);
        assert_eq!(only.exit_code(&held, true, 0), Some(EXIT_UNDETERMINED));
        assert!(FailOn::parse("violations").is_err());
        assert!(FailOn::parse("").is_err());
    }

    #[test]
    fn a_fully_covered_clean_site_held() {
        let w = world();
        let v = judge_with(&w, &coverage(0..20, true), "yes", &[]);
        assert_eq!(v.policy.len(), 1);
        assert_eq!(v.policy[0].state, State::Held, "{:?}", v.policy[0].reasons);
        // 1970-01-11 00:00 in Shanghai.
        assert_eq!(v.policy[0].in_effect_from, "1970-01-10T16:00:00Z");
        assert!(v.regimes.iter().all(|r| r.state == RegimeState::NoneFound));
    }

    #[test]
    fn flows_that_stop_before_the_ban_are_undetermined_naming_the_gap() {
        let w = world();
        let v = judge_with(&w, &coverage(0..5, true), "yes", &[]);
        let p = &v.policy[0];
        assert_eq!(p.state, State::Undetermined);
        // The window starts on the UTC day of Shanghai midnight (day 9) and runs to day 19;
        // the site's last records were on day 4.
        assert_eq!(
            p.reasons[0].text(),
            "gap of 15 day(s) without flow records from 1970-01-06 to 1970-01-20"
        );
        assert_eq!(p.reasons.len(), 1);
        let v = judge_with(&w, &coverage(0..14, true), "yes", &[]);
        let p = &v.policy[0];
        assert_eq!(p.state, State::Undetermined);
        assert_eq!(
            p.reasons[0].text(),
            "gap of 6 day(s) without flow records from 1970-01-15 to 1970-01-20"
        );
    }

    #[test]
    fn a_rule_that_starts_after_the_period_is_not_held() {
        let w = world();
        let cov = coverage(0..20, true);
        let rows = [summary("yes")];
        // Days 0 to 4 only: the ban starts on day 10.
        let early = Period {
            from: Some(0),
            to: Some(5 * DAY),
            label: "p".into(),
        };
        let v = judge(&Evidence {
            policy: Some(&w.policy),
            sites: &w.sites,
            regimes: &w.regimes,
            period: &early,
            coverage: &Coverage {
                range: Some((0, 4)),
                ..cov.clone()
            },
            summary: &rows,
            findings: &[],
            candidates: &[],
            vendor_catalog_as_of: None,
        });
        assert_eq!(v.policy[0].state, State::Undetermined);
        let codes: Vec<&str> = v.policy[0].reasons.iter().map(|r| r.code).collect();
        assert_eq!(codes, ["not_in_effect"]);
    }

    #[test]
    fn a_violation_is_violated_whatever_the_coverage() {
        let w = world();
        let v = judge_with(&w, &coverage(0..3, false), "no", &[]);
        assert_eq!(v.policy[0].state, State::Violated);
        assert_eq!(v.policy[0].reasons[0].code, "violation");
    }

    #[test]
    fn low_dns_visibility_and_no_names_at_all() {
        let w = world();
        let v = judge_with(&w, &coverage(0..20, false), "yes", &[]);
        assert_eq!(v.policy[0].state, State::Undetermined);
        assert_eq!(
            v.policy[0].reasons[0].text(),
            "DNS visibility 0% below the 50% threshold (0 of 11 egress flows had a DNS answer or server name)"
        );
        let pipl = v.regimes.iter().find(|r| r.regime == "PIPL").unwrap();
        assert_eq!(pipl.state, RegimeState::AttributionNotPossible);
        assert!(pipl.reasons[0]
            .text()
            .starts_with("attribution not possible"));
    }

    #[test]
    fn an_empty_period_is_never_held() {
        let w = world();
        let v = judge_with(&w, &coverage(std::iter::empty(), true), "yes", &[]);
        assert_eq!(v.policy[0].state, State::Undetermined);
        assert_eq!(v.policy[0].reasons[0].code, "no_records");
        assert!(v
            .regimes
            .iter()
            .all(|r| r.state == RegimeState::Undetermined && r.reasons[0].code == "no_records"));
    }

    #[test]
    fn unreviewed_candidates_and_an_old_catalog_keep_it_undetermined() {
        let w = world();
        let cand = Candidate {
            hostname: "llm.example.net".into(),
            matched: "llm",
            reviewed: false,
            flows: 1,
            bytes_out: 5_000_000,
            bytes_in: 0,
            first_seen: 15 * DAY,
            last_seen: 15 * DAY,
            destination_count: 1,
            destinations: vec![],
            sites: vec![CandidateSite {
                site: "hz".into(),
                flows: 1,
                bytes_out: 5_000_000,
                first_seen: 15 * DAY,
                last_seen: 15 * DAY,
            }],
        };
        let cov = coverage(0..20, true);
        let v = judge_with(&w, &cov, "yes", std::slice::from_ref(&cand));
        assert_eq!(v.policy[0].state, State::Undetermined);
        assert_eq!(
            v.policy[0].reasons[0].text(),
            "unreviewed candidate AI destinations (1): llm.example.net"
        );
        let reviewed = Candidate {
            reviewed: true,
            ..cand.clone()
        };
        let v = judge_with(&w, &cov, "yes", &[reviewed]);
        assert_eq!(v.policy[0].state, State::Held);
        // Seen only before the ban: it does not touch the ban's verdict.
        let before = Candidate {
            sites: vec![CandidateSite {
                first_seen: DAY,
                last_seen: 2 * DAY,
                ..cand.sites[0].clone()
            }],
            ..cand.clone()
        };
        let v = judge_with(&w, &cov, "yes", &[before]);
        assert_eq!(v.policy[0].state, State::Held);
        let old = Coverage {
            thresholds: CoverageThresholds {
                max_catalog_age_days: 5,
                ..cov.thresholds
            },
            ..cov.clone()
        };
        let v = judge_with(&w, &old, "yes", &[]);
        assert_eq!(v.policy[0].reasons[0].code, "catalog_age");
    }
}
