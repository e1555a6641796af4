//! The `resolve` job: a dated snapshot of what every catalog host resolves to, taken from
//! the organisation's own resolvers. One row per (host, address); a look-up that gives no
//! address (NXDOMAIN, SERVFAIL, timeout, no data) is a row too, so nothing is lost.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use hickory_resolver::proto::rr::{Name, RData, RecordType};

use super::resolver::{failure_rcode, DnsClient, RCODE_NODATA};
use super::{now_micros, Progress};
use crate::attribute::snapshot::{RCODE_NOERROR, SNAPSHOT_COLUMNS};
use crate::classify::vendors::VendorCatalog;
use xborder_model::error::{Error, Result};
use xborder_model::schema::Micros;

/// The rcode of a catalog pattern that was not resolved (it names no single host).
pub const RCODE_SKIPPED_PATTERN: &str = "SKIPPED_PATTERN";

/// Default number of hosts resolved at once.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// One snapshot row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRow {
    pub host: String,
    /// `A`, `AAAA`, or empty for a skipped pattern.
    pub record_type: String,
    pub ip: Option<IpAddr>,
    /// The queried name and each CNAME target, joined by ` > `; empty without CNAMEs.
    pub cname_chain: String,
    pub ttl: Option<u32>,
    pub resolved_at: Micros,
    pub resolver: String,
    pub rcode: String,
    pub detail: String,
}

impl SnapshotRow {
    fn sort_key(&self) -> (&str, &str, Option<IpAddr>, &str) {
        (&self.host, &self.record_type, self.ip, &self.rcode)
    }
}

/// Counts for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolveSummary {
    pub hosts: usize,
    pub patterns_skipped: usize,
    pub address_rows: usize,
    pub failure_rows: usize,
}

/// The names a catalog asks to resolve: exact hosts and dedicated apexes (suffixes), and
/// the `*` patterns, which are listed but not resolved.
pub fn catalog_names(catalog: &VendorCatalog) -> (Vec<String>, Vec<String>) {
    let (hosts, patterns) = catalog.resolvable_names();
    (hosts, patterns)
}

/// Resolve `hosts` (A and AAAA each) with at most `concurrency` hosts in flight.
pub async fn resolve_hosts(
    client: &DnsClient,
    hosts: &[String],
    concurrency: usize,
    progress: &Progress,
) -> Vec<SnapshotRow> {
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for host in hosts {
        let client = client.clone();
        let sem = sem.clone();
        let host = host.clone();
        set.spawn(async move {
            // The semaphore is never closed, so acquiring only fails if it were.
            let _permit = sem.acquire_owned().await.ok();
            resolve_one(&client, &host).await
        });
    }
    let mut rows = Vec::new();
    let mut done = 0;
    while let Some(res) = set.join_next().await {
        done += 1;
        progress.set(done);
        if let Ok(r) = res {
            rows.extend(r);
        }
    }
    progress.finish();
    rows
}

/// A and AAAA for one host.
async fn resolve_one(client: &DnsClient, host: &str) -> Vec<SnapshotRow> {
    let resolver = client.label();
    let fqdn = format!("{}.", host.trim_end_matches('.'));
    let name = match Name::from_ascii(&fqdn) {
        Ok(n) => n,
        Err(e) => {
            return vec![SnapshotRow {
                host: host.to_string(),
                record_type: String::new(),
                ip: None,
                cname_chain: String::new(),
                ttl: None,
                resolved_at: now_micros(),
                resolver,
                rcode: super::resolver::RCODE_ERROR.to_string(),
                detail: format!("not a DNS name: {e}"),
            }]
        }
    };
    let (a, aaaa) = tokio::join!(
        client.resolver.lookup(name.clone(), RecordType::A),
        client.resolver.lookup(name.clone(), RecordType::AAAA)
    );
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (rtype, result) in [(RecordType::A, a), (RecordType::AAAA, aaaa)] {
        let at = now_micros();
        let base = SnapshotRow {
            host: host.to_string(),
            record_type: rtype.to_string(),
            ip: None,
            cname_chain: String::new(),
            ttl: None,
            resolved_at: at,
            resolver: resolver.clone(),
            rcode: RCODE_NOERROR.to_string(),
            detail: String::new(),
        };
        match result {
            Ok(lookup) => {
                let answers = lookup.answers();
                let chain = cname_chain(&name, answers);
                let before = rows.len();
                for r in answers {
                    let ip = match &r.data {
                        RData::A(a) if rtype == RecordType::A => IpAddr::V4(a.0),
                        RData::AAAA(a) if rtype == RecordType::AAAA => IpAddr::V6(a.0),
                        _ => continue,
                    };
                    rows.push(SnapshotRow {
                        ip: Some(ip),
                        cname_chain: chain.clone(),
                        ttl: Some(r.ttl),
                        ..base.clone()
                    });
                }
                if rows.len() == before {
                    failures.push(SnapshotRow {
                        cname_chain: chain,
                        rcode: RCODE_NODATA.to_string(),
                        detail: "no address records".into(),
                        ..base
                    });
                }
            }
            Err(e) => {
                let (rcode, detail) = failure_rcode(&e);
                failures.push(SnapshotRow {
                    rcode,
                    detail,
                    ..base
                });
            }
        }
    }
    // "No AAAA" beside a working A (or the reverse) is normal; every other failure is kept.
    let has_address = !rows.is_empty();
    rows.extend(
        failures
            .into_iter()
            .filter(|f| !(has_address && f.rcode == RCODE_NODATA)),
    );
    rows
}

/// `host > target1 > target2`, following CNAME records from the queried name.
fn cname_chain(query: &Name, answers: &[hickory_resolver::proto::rr::Record]) -> String {
    let mut chain = vec![display_name(query)];
    let mut current = query.clone();
    let mut seen = BTreeSet::new();
    while let Some(target) = answers.iter().find_map(|r| match &r.data {
        RData::CNAME(c) if r.name == current => Some(c.0.clone()),
        _ => None,
    }) {
        if !seen.insert(target.to_ascii()) {
            break; // a CNAME loop
        }
        chain.push(display_name(&target));
        current = target;
    }
    if chain.len() == 1 {
        String::new()
    } else {
        chain.join(" > ")
    }
}

fn display_name(n: &Name) -> String {
    n.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

/// Rows for the patterns that were not resolved.
pub fn skipped_rows(patterns: &[String], resolver: &str, at: Micros) -> Vec<SnapshotRow> {
    patterns
        .iter()
        .map(|p| SnapshotRow {
            host: p.clone(),
            record_type: String::new(),
            ip: None,
            cname_chain: String::new(),
            ttl: None,
            resolved_at: at,
            resolver: resolver.to_string(),
            rcode: RCODE_SKIPPED_PATTERN.to_string(),
            detail: "a host pattern (`*` stands for one label) names no single host".into(),
        })
        .collect()
}

/// Sort rows and write them as snapshot CSV.
pub fn write_snapshot(rows: &mut [SnapshotRow], out: &mut dyn std::io::Write) -> Result<()> {
    rows.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let io = |e: csv::Error| Error::Dns(format!("writing the snapshot: {e}"));
    let mut w = csv::Writer::from_writer(out);
    w.write_record(SNAPSHOT_COLUMNS).map_err(io)?;
    for r in rows.iter() {
        w.write_record([
            r.host.as_str(),
            &r.record_type,
            &r.ip.map(|ip| ip.to_string()).unwrap_or_default(),
            &r.cname_chain,
            &r.ttl.map(|t| t.to_string()).unwrap_or_default(),
            &xborder_model::period::rfc3339(r.resolved_at),
            &r.resolver,
            &r.rcode,
            &r.detail,
        ])
        .map_err(io)?;
    }
    w.flush()
        .map_err(|e| Error::Dns(format!("writing the snapshot: {e}")))?;
    Ok(())
}

/// Summarise rows for the summary line.
pub fn summarise(rows: &[SnapshotRow], hosts: usize) -> ResolveSummary {
    ResolveSummary {
        hosts,
        patterns_skipped: rows
            .iter()
            .filter(|r| r.rcode == RCODE_SKIPPED_PATTERN)
            .count(),
        address_rows: rows.iter().filter(|r| r.ip.is_some()).count(),
        failure_rows: rows
            .iter()
            .filter(|r| r.ip.is_none() && r.rcode != RCODE_SKIPPED_PATTERN)
            .count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_sorted_and_written_with_the_documented_columns() {
        let mut rows = vec![
            SnapshotRow {
                host: "b.test".into(),
                record_type: "A".into(),
                ip: Some("192.0.2.2".parse().unwrap()),
                cname_chain: "b.test > c.test".into(),
                ttl: Some(60),
                resolved_at: 1_783_641_600_000_000,
                resolver: "127.0.0.1:53".into(),
                rcode: "NOERROR".into(),
                detail: String::new(),
            },
            SnapshotRow {
                host: "a.test".into(),
                record_type: "A".into(),
                ip: None,
                cname_chain: String::new(),
                ttl: None,
                resolved_at: 1_783_641_600_000_000,
                resolver: "127.0.0.1:53".into(),
                rcode: "NXDOMAIN".into(),
                detail: "x, y".into(),
            },
        ];
        let mut out = Vec::new();
        write_snapshot(&mut rows, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], SNAPSHOT_COLUMNS.join(","));
        assert!(
            lines[1].starts_with("a.test,A,,,,2026-07-10T00:00:00Z,127.0.0.1:53,NXDOMAIN,\"x, y\""),
            "{}",
            lines[1]
        );
        assert!(lines[2].starts_with("b.test,A,192.0.2.2,b.test > c.test,60,"));
        let s = summarise(&rows, 2);
        assert_eq!((s.address_rows, s.failure_rows), (1, 1));
    }
}
