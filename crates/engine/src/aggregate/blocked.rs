//! Blocked attempts: requests to AI vendors that a proxy or gateway refused. They are not
//! egress (nothing left), but they are the evidence that a ban was enforced, and they show
//! who still tried. Counted per day, site, department and tool; the policy rule deciding
//! that tool at that site on that day is named when a policy was given.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use serde::Serialize;

use xborder_model::period::{day_string, rfc3339};
use xborder_model::schema::Micros;

/// blocked_attempts.csv: one row per (day, site, department, tool, host, rule).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BlockedRow {
    pub day: String,
    pub source_site: String,
    pub site_country: String,
    /// From the asset inventory (`--assets`); empty without one.
    pub department: String,
    pub vendor: String,
    pub product: String,
    pub hostname: String,
    /// The policy rule deciding this tool at this site on this day, and its verdict.
    pub rule_id: String,
    pub verdict: String,
    pub attempts: u64,
    pub distinct_sources: u64,
    pub first_seen: String,
    pub last_seen: String,
}

/// What identifies one group of blocked attempts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BlockedKey {
    pub day: i32,
    pub source_site: String,
    pub site_country: String,
    pub department: String,
    pub vendor: String,
    pub product: String,
    pub hostname: String,
    pub rule_id: String,
    pub verdict: String,
}

#[derive(Debug, Clone)]
struct Sum {
    attempts: u64,
    sources: HashSet<IpAddr>,
    first: Micros,
    last: Micros,
}

/// Accumulates blocked attempts during the proxy pass.
#[derive(Debug, Default)]
pub struct BlockedTally {
    groups: BTreeMap<BlockedKey, Sum>,
}

impl BlockedTally {
    pub fn add(&mut self, key: BlockedKey, source: IpAddr, ts: Micros) {
        let s = self.groups.entry(key).or_insert_with(|| Sum {
            attempts: 0,
            sources: HashSet::new(),
            first: ts,
            last: ts,
        });
        s.attempts += 1;
        s.sources.insert(source);
        s.first = s.first.min(ts);
        s.last = s.last.max(ts);
    }

    /// Rows in key order (day, site, department, vendor, product, host, rule).
    pub fn rows(&self) -> Vec<BlockedRow> {
        self.groups
            .iter()
            .map(|(k, s)| BlockedRow {
                day: day_string(k.day),
                source_site: k.source_site.clone(),
                site_country: k.site_country.clone(),
                department: k.department.clone(),
                vendor: k.vendor.clone(),
                product: k.product.clone(),
                hostname: k.hostname.clone(),
                rule_id: k.rule_id.clone(),
                verdict: k.verdict.clone(),
                attempts: s.attempts,
                distinct_sources: s.sources.len() as u64,
                first_seen: rfc3339(s.first),
                last_seen: rfc3339(s.last),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(day: i32, site: &str) -> BlockedKey {
        BlockedKey {
            day,
            source_site: site.into(),
            site_country: "FR".into(),
            department: String::new(),
            vendor: "DeepSeek".into(),
            product: "DeepSeek Chat".into(),
            hostname: "chat.deepseek.com".into(),
            rule_id: "no-deepseek".into(),
            verdict: "banned".into(),
        }
    }

    #[test]
    fn attempts_group_per_day_and_site_with_distinct_sources() {
        let mut t = BlockedTally::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        t.add(key(1, "paris"), a, 86_400_000_000 + 5);
        t.add(key(1, "paris"), a, 86_400_000_000 + 1);
        t.add(key(1, "paris"), b, 86_400_000_000 + 9);
        t.add(key(0, "paris"), a, 3);
        let rows = t.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].day, "1970-01-01");
        assert_eq!(
            (rows[1].attempts, rows[1].distinct_sources),
            (3, 2),
            "{rows:?}"
        );
        assert_eq!(rows[1].first_seen, "1970-01-02T00:00:00.000001Z");
    }
}
