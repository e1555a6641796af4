//! Organisational views of AI egress: the AI-tool policy (violations, per-rule summary and
//! daily series for the before/after chart) and the department breakdown from the asset
//! inventory.
//!
//! Fed one AI-vendor egress flow at a time by the pipeline. Rule matching is memoised per
//! (site, product) and the deciding rule per (site, product, day), so the per-flow cost is
//! a few hash look-ups.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use serde::Serialize;

use super::FlowSum;
use crate::classify::assets::Assets;
use crate::classify::policy::{Policy, Tool, Verdict};
use crate::classify::sites::{Sites, UNKNOWN_SITE};
use crate::classify::vendors::{ProductId, VendorCatalog};
use xborder_model::period::{day_string, rfc3339};
use xborder_model::schema::FlowRecord;

/// policy_violations.csv before privacy filtering: flows under a `banned` verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule_id: String,
    pub effective_from: String,
    pub source_site: String,
    pub site_country: String,
    pub src_ip: String,
    pub hostname: String,
    pub owner: String,
    /// The user a proxy or gateway logged for the requests (empty for plain flows).
    pub user: String,
    pub department: String,
    pub vendor: String,
    pub product: String,
    pub day: String,
    pub flows: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// The earliest violation of this rule at this site.
    pub first_at_site: bool,
}

/// policy_summary.csv: one row per (rule, site the rule covers or saw traffic from).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PolicySummaryRow {
    pub rule_id: String,
    pub verdict: String,
    pub effective_from: String,
    pub effective_until: String,
    pub source_site: String,
    pub site_country: String,
    /// Flows to the rule's tools from this site before effective_from.
    pub flows_before: u64,
    pub bytes_out_before: u64,
    /// Flows this rule decided while in effect.
    pub flows_in_effect: u64,
    pub bytes_out_in_effect: u64,
    pub distinct_sources_in_effect: u64,
    /// For banned rules: `yes` when no flow was seen after the ban, else `no`; `n/a` otherwise.
    pub held: String,
    pub first_violation: String,
    pub last_violation: String,
    pub reason: String,
    pub memo: String,
}

/// Daily flows to a rule's tools over all covered sites, for the before/after chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDay {
    pub rule_id: String,
    pub day: i32,
    pub flows: u64,
    pub bytes_out: u64,
}

/// findings_by_department.csv: AI egress per department, regime (or `none`) and product.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DepartmentRow {
    pub regime: String,
    pub department: String,
    pub source_site: String,
    pub vendor: String,
    pub product: String,
    pub flows: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub distinct_sources: u64,
}

/// Everything the organisational views produced.
#[derive(Debug, Clone, Default)]
pub struct OrgResults {
    pub policy_applied: bool,
    pub violations: Vec<Violation>,
    pub summary: Vec<PolicySummaryRow>,
    pub daily: Vec<RuleDay>,
    pub departments: Option<Vec<DepartmentRow>>,
}

pub type ViolationKey = (
    usize,
    u16,
    IpAddr,
    ProductId,
    i32,
    Option<usize>,
    Option<String>,
);
/// (department, site, product, regimes) → sums and distinct sources.
pub type DepartmentKey = (String, u16, ProductId, String);

/// The sums behind the policy and department views, in a partial result: keyed by rule
/// (index into the policy), site (index into the sites file), source address, product,
/// UTC day, asset (index into the inventory) and user, as [`OrgTracker`] keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgSums {
    /// Flows and bytes out to a rule's tools from a site before the rule took effect there.
    pub before: BTreeMap<(usize, u16), (u64, u64)>,
    pub daily: BTreeMap<(usize, u16, i32), FlowSum>,
    pub governed: BTreeMap<(usize, u16), (FlowSum, BTreeSet<IpAddr>)>,
    pub violations: BTreeMap<ViolationKey, FlowSum>,
    pub departments: BTreeMap<DepartmentKey, (FlowSum, BTreeSet<IpAddr>)>,
}

impl OrgSums {
    /// Add another part of the run's sums: counts and bytes add, distinct sources unite.
    pub fn merge(&mut self, other: OrgSums) {
        for (k, v) in other.before {
            let b = self.before.entry(k).or_default();
            b.0 += v.0;
            b.1 = b.1.saturating_add(v.1);
        }
        for (k, v) in other.daily {
            self.daily.entry(k).and_modify(|s| s.merge(&v)).or_insert(v);
        }
        for (k, v) in other.violations {
            self.violations
                .entry(k)
                .and_modify(|s| s.merge(&v))
                .or_insert(v);
        }
        for (k, v) in other.governed {
            merge_sources(&mut self.governed, k, v);
        }
        for (k, v) in other.departments {
            merge_sources(&mut self.departments, k, v);
        }
    }
}

/// Add a sum with its distinct sources to the entry `key` of `map`.
fn merge_sources<K: Ord>(
    map: &mut BTreeMap<K, (FlowSum, BTreeSet<IpAddr>)>,
    key: K,
    (sum, sources): (FlowSum, BTreeSet<IpAddr>),
) {
    match map.entry(key) {
        std::collections::btree_map::Entry::Vacant(v) => {
            v.insert((sum, sources));
        }
        std::collections::btree_map::Entry::Occupied(mut o) => {
            let (s, set) = o.get_mut();
            s.merge(&sum);
            set.extend(sources);
        }
    }
}

/// Accumulates the organisational views during the flow pass.
pub struct OrgTracker<'a> {
    policy: Option<&'a Policy>,
    assets: Option<&'a Assets>,
    sites: &'a Sites,
    vendors: &'a VendorCatalog,
    matches: HashMap<(u16, ProductId), Vec<usize>>,
    decisions: HashMap<(u16, ProductId, i32), Option<usize>>,
    /// Flows and bytes out to a rule's tools from a site before the rule took effect there.
    before: HashMap<(usize, u16), (u64, u64)>,
    daily: BTreeMap<(usize, u16, i32), FlowSum>,
    governed: HashMap<(usize, u16), (FlowSum, HashSet<IpAddr>)>,
    violations: HashMap<ViolationKey, FlowSum>,
    departments: HashMap<DepartmentKey, (FlowSum, HashSet<IpAddr>)>,
}

impl<'a> OrgTracker<'a> {
    pub fn new(
        policy: Option<&'a Policy>,
        assets: Option<&'a Assets>,
        sites: &'a Sites,
        vendors: &'a VendorCatalog,
    ) -> Self {
        OrgTracker {
            policy,
            assets,
            sites,
            vendors,
            matches: HashMap::new(),
            decisions: HashMap::new(),
            before: HashMap::new(),
            daily: BTreeMap::new(),
            governed: HashMap::new(),
            violations: HashMap::new(),
            departments: HashMap::new(),
        }
    }

    /// A site's time zone; UTC for egress from no configured site.
    fn timezone(&self, site: u16) -> chrono_tz::Tz {
        self.sites
            .sites
            .get(usize::from(site))
            .map_or(chrono_tz::UTC, |s| s.timezone)
    }

    fn site(&self, site: u16) -> (&str, &str) {
        match self.sites.sites.get(usize::from(site)) {
            Some(s) => (s.name.as_str(), s.country.as_str()),
            None => (UNKNOWN_SITE, ""),
        }
    }

    fn tool(&self, product: ProductId) -> Tool<'a> {
        let vendors = self.vendors;
        let p = vendors.product(product);
        Tool {
            vendor: &vendors.vendors[p.vendor].id,
            product: &p.id,
            category: &p.category,
        }
    }

    /// Record one AI-vendor egress flow. `regimes` is the `;`-joined list of regimes under
    /// which it is a transfer (empty when none).
    pub fn observe(
        &mut self,
        flow: &FlowRecord,
        site: u16,
        product: ProductId,
        day: i32,
        regimes: &str,
    ) {
        self.observe_as(flow, site, product, day, regimes, None);
    }

    /// [`Self::observe`] for a request a proxy logged with its user: violations are kept
    /// per user as well as per source address.
    pub fn observe_as(
        &mut self,
        flow: &FlowRecord,
        site: u16,
        product: ProductId,
        day: i32,
        regimes: &str,
        user: Option<&str>,
    ) {
        if self.policy.is_none() && self.assets.is_none() {
            return;
        }
        let asset = self.assets.and_then(|a| {
            let found = a.lookup(flow.src_ip, flow.ts)?;
            a.entries.iter().position(|e| std::ptr::eq(e, found))
        });
        if let Some(policy) = self.policy {
            let (site_name, site_country) = self.site(site);
            let (site_name, site_country) = (site_name.to_string(), site_country.to_string());
            let tool = self.tool(product);
            let matched = self
                .matches
                .entry((site, product))
                .or_insert_with(|| {
                    (0..policy.rules.len())
                        .filter(|i| policy.rules[*i].matches(&tool, &site_name, &site_country))
                        .collect()
                })
                .clone();
            let tz = self.timezone(site);
            for r in matched {
                self.daily
                    .entry((r, site, day))
                    .or_insert_with(|| FlowSum::new(flow.ts))
                    .add(flow);
                if flow.ts < policy.rules[r].effective_from.start_in(tz) {
                    let b = self.before.entry((r, site)).or_default();
                    b.0 += 1;
                    b.1 = b.1.saturating_add(flow.bytes_out.unwrap_or(0));
                }
            }
            // One decision serves a whole UTC day unless a rule starts or ends inside it at
            // this site (a local-midnight ban at a site east or west of UTC).
            let day_start = i64::from(day) * 86_400_000_000;
            let split = policy
                .rules
                .iter()
                .any(|r| r.changes_within(day_start, day_start + 86_400_000_000, tz));
            let decided = if split {
                policy.decide(&tool, &site_name, &site_country, tz, flow.ts)
            } else {
                *self
                    .decisions
                    .entry((site, product, day))
                    .or_insert_with(|| {
                        policy.decide(&tool, &site_name, &site_country, tz, day_start)
                    })
            };
            if let Some(r) = decided {
                let g = self
                    .governed
                    .entry((r, site))
                    .or_insert_with(|| (FlowSum::new(flow.ts), HashSet::new()));
                g.0.add(flow);
                g.1.insert(flow.src_ip);
                if policy.rules[r].verdict == Verdict::Banned {
                    self.violations
                        .entry((
                            r,
                            site,
                            flow.src_ip,
                            product,
                            day,
                            asset,
                            user.map(str::to_string),
                        ))
                        .or_insert_with(|| FlowSum::new(flow.ts))
                        .add(flow);
                }
            }
        }
        if let Some(assets) = self.assets {
            let department = asset
                .map(|i| assets.entries[i].department.clone())
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "(not in inventory)".to_string());
            let d = self
                .departments
                .entry((department, site, product, regimes.to_string()))
                .or_insert_with(|| (FlowSum::new(flow.ts), HashSet::new()));
            d.0.add(flow);
            d.1.insert(flow.src_ip);
        }
    }

    /// An empty tracker for one fold shard, with the same policy, inventory and catalogs.
    pub fn for_shard(&self) -> Self {
        OrgTracker::new(self.policy, self.assets, self.sites, self.vendors)
    }

    /// Whether the policy or department views are wanted at all.
    pub fn is_active(&self) -> bool {
        self.policy.is_some() || self.assets.is_some()
    }

    /// Take the sums and distinct sources gathered so far, for a partial result. The
    /// memoised rule matches and decisions stay.
    pub fn take_sums(&mut self) -> OrgSums {
        OrgSums {
            before: std::mem::take(&mut self.before).into_iter().collect(),
            daily: std::mem::take(&mut self.daily),
            governed: std::mem::take(&mut self.governed)
                .into_iter()
                .map(|(k, (s, set))| (k, (s, set.into_iter().collect())))
                .collect(),
            violations: std::mem::take(&mut self.violations).into_iter().collect(),
            departments: std::mem::take(&mut self.departments)
                .into_iter()
                .map(|(k, (s, set))| (k, (s, set.into_iter().collect())))
                .collect(),
        }
    }

    /// Add the sums and distinct sources of a partial result ([`OrgSums::merge`] does the
    /// adding; a run absorbs a few partials, so the round trip through it costs little).
    pub fn absorb(&mut self, sums: OrgSums) {
        let mut all = self.take_sums();
        all.merge(sums);
        self.before = all.before.into_iter().collect();
        self.daily = all.daily;
        self.governed = all
            .governed
            .into_iter()
            .map(|(k, (s, set))| (k, (s, set.into_iter().collect())))
            .collect();
        self.violations = all.violations.into_iter().collect();
        self.departments = all
            .departments
            .into_iter()
            .map(|(k, (s, set))| (k, (s, set.into_iter().collect())))
            .collect();
    }

    /// Build the sorted result tables.
    pub fn finish(self) -> OrgResults {
        let mut out = OrgResults {
            policy_applied: self.policy.is_some(),
            ..OrgResults::default()
        };
        let vendors = self.vendors;
        if let Some(policy) = self.policy {
            let mut violations: Vec<Violation> = self
                .violations
                .iter()
                .map(|((r, site, ip, product, day, asset, user), s)| {
                    let (site_name, country) = self.site(*site);
                    let a = asset.and_then(|i| self.assets.map(|x| &x.entries[i]));
                    Violation {
                        rule_id: policy.rules[*r].id.clone(),
                        effective_from: policy.rules[*r].effective_from.to_string(),
                        source_site: site_name.to_string(),
                        site_country: country.to_string(),
                        src_ip: ip.to_string(),
                        hostname: a.map(|a| a.hostname.clone()).unwrap_or_default(),
                        owner: a.map(|a| a.owner.clone()).unwrap_or_default(),
                        user: user.clone().unwrap_or_default(),
                        department: a.map(|a| a.department.clone()).unwrap_or_default(),
                        vendor: vendors.vendor_of(*product).name.clone(),
                        product: vendors.product(*product).name.clone(),
                        day: day_string(*day),
                        flows: s.flows,
                        bytes_out: s.bytes_out,
                        bytes_in: s.bytes_in,
                        first_seen: rfc3339(s.first),
                        last_seen: rfc3339(s.last),
                        first_at_site: false,
                    }
                })
                .collect();
            violations.sort_by(|a, b| {
                (
                    &a.rule_id,
                    &a.source_site,
                    &a.day,
                    &a.src_ip,
                    &a.vendor,
                    &a.product,
                    &a.first_seen,
                    &a.user,
                )
                    .cmp(&(
                        &b.rule_id,
                        &b.source_site,
                        &b.day,
                        &b.src_ip,
                        &b.vendor,
                        &b.product,
                        &b.first_seen,
                        &b.user,
                    ))
            });
            // Highlight the first use after the ban at each site.
            let mut earliest: BTreeMap<(String, String), String> = BTreeMap::new();
            for v in &violations {
                let e = earliest
                    .entry((v.rule_id.clone(), v.source_site.clone()))
                    .or_insert_with(|| v.first_seen.clone());
                if v.first_seen < *e {
                    *e = v.first_seen.clone();
                }
            }
            let mut marked: BTreeSet<(String, String)> = BTreeSet::new();
            for v in &mut violations {
                let key = (v.rule_id.clone(), v.source_site.clone());
                if earliest.get(&key) == Some(&v.first_seen) && marked.insert(key) {
                    v.first_at_site = true;
                }
            }

            for (ri, rule) in policy.rules.iter().enumerate() {
                // Sites the rule covers, plus any site it saw traffic from.
                let mut sites: BTreeSet<u16> = BTreeSet::new();
                for (i, s) in self.sites.sites.iter().enumerate() {
                    let covered = if !rule.sites.is_empty() {
                        rule.sites.contains(&s.name)
                    } else if !rule.site_countries.is_empty() {
                        rule.site_countries.contains(&s.country)
                    } else {
                        true
                    };
                    if covered {
                        sites.insert(i as u16);
                    }
                }
                sites.extend(
                    self.daily
                        .keys()
                        .filter(|(r, _, _)| *r == ri)
                        .map(|(_, s, _)| *s),
                );
                for site in sites {
                    let (site_name, country) = self.site(site);
                    let before = self.before.get(&(ri, site)).copied().unwrap_or((0, 0));
                    let governed = self.governed.get(&(ri, site));
                    let site_violations: Vec<&Violation> = violations
                        .iter()
                        .filter(|v| v.rule_id == rule.id && v.source_site == site_name)
                        .collect();
                    let banned = rule.verdict == Verdict::Banned;
                    out.summary.push(PolicySummaryRow {
                        rule_id: rule.id.clone(),
                        verdict: rule.verdict.as_str().to_string(),
                        effective_from: rule.effective_from.to_string(),
                        effective_until: rule
                            .effective_until
                            .map(|d| d.to_string())
                            .unwrap_or_default(),
                        source_site: site_name.to_string(),
                        site_country: country.to_string(),
                        flows_before: before.0,
                        bytes_out_before: before.1,
                        flows_in_effect: governed.map(|g| g.0.flows).unwrap_or(0),
                        bytes_out_in_effect: governed.map(|g| g.0.bytes_out).unwrap_or(0),
                        distinct_sources_in_effect: governed.map(|g| g.1.len() as u64).unwrap_or(0),
                        held: if !banned {
                            "n/a".into()
                        } else if site_violations.is_empty() {
                            "yes".into()
                        } else {
                            "no".into()
                        },
                        first_violation: site_violations
                            .iter()
                            .map(|v| v.first_seen.clone())
                            .min()
                            .unwrap_or_default(),
                        last_violation: site_violations
                            .iter()
                            .map(|v| v.last_seen.clone())
                            .max()
                            .unwrap_or_default(),
                        reason: rule.reason.clone(),
                        memo: rule.memo.clone().unwrap_or_default(),
                    });
                }
                let mut per_day: BTreeMap<i32, (u64, u64)> = BTreeMap::new();
                for ((r, _, d), v) in &self.daily {
                    if *r == ri {
                        let e = per_day.entry(*d).or_default();
                        e.0 += v.flows;
                        e.1 += v.bytes_out;
                    }
                }
                out.daily.extend(
                    per_day
                        .into_iter()
                        .map(|(day, (flows, bytes_out))| RuleDay {
                            rule_id: rule.id.clone(),
                            day,
                            flows,
                            bytes_out,
                        }),
                );
            }
            out.violations = violations;
        }
        if self.assets.is_some() {
            type Acc = (u64, u64, u64, HashSet<IpAddr>);
            let mut merged: BTreeMap<(String, String, String, String, String), Acc> =
                BTreeMap::new();
            for ((dept, site, product, regimes), (s, sources)) in &self.departments {
                let (site_name, _) = self.site(*site);
                let list: Vec<&str> = if regimes.is_empty() {
                    vec!["none"]
                } else {
                    regimes.split(';').collect()
                };
                for regime in list {
                    let key = (
                        regime.to_string(),
                        dept.clone(),
                        site_name.to_string(),
                        vendors.vendor_of(*product).name.clone(),
                        vendors.product(*product).name.clone(),
                    );
                    let e = merged
                        .entry(key)
                        .or_insert_with(|| (0, 0, 0, HashSet::new()));
                    e.0 += s.flows;
                    e.1 += s.bytes_out;
                    e.2 += s.bytes_in;
                    e.3.extend(sources.iter().copied());
                }
            }
            out.departments = Some(
                merged
                    .into_iter()
                    .map(
                        |(
                            (regime, department, source_site, vendor, product),
                            (flows, bytes_out, bytes_in, sources),
                        )| DepartmentRow {
                            regime,
                            department,
                            source_site,
                            vendor,
                            product,
                            flows,
                            bytes_out,
                            bytes_in,
                            distinct_sources: sources.len() as u64,
                        },
                    )
                    .collect(),
            );
        }
        out
    }
}
