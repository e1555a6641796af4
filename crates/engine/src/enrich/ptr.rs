//! Reverse (PTR) look-ups for unattributed egress destinations (`analyze --reverse-dns`).
//!
//! Bounded (at most `max_lookups` destinations, the ones with the most bytes first),
//! cached (each distinct destination is asked once per run, and the answer reused for all
//! of its flows), and rate-limited (at most `rate_per_s` queries started per second, with
//! `concurrency` in flight). A PTR name that matches the vendor catalog attributes the
//! destination's flows with method `ptr`, the weakest method.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::proto::rr::{Name, RData};
use serde::Serialize;

use super::resolver::{failure_rcode, DnsClient};
use super::{now_micros, Progress};
use crate::attribute::snapshot::RCODE_NOERROR;
use crate::classify::vendors::{ProductId, VendorCatalog};

/// Default `--reverse-dns-min-bytes`: 1 MB (10^6 bytes) in and out per destination.
pub const DEFAULT_MIN_BYTES: u64 = 1_000_000;
/// Default `--reverse-dns-max-lookups`.
pub const DEFAULT_MAX_LOOKUPS: usize = 500;
/// Default `--reverse-dns-rate` (queries started per second).
pub const DEFAULT_RATE_PER_S: u32 = 20;
/// PTR look-ups in flight at once.
pub const CONCURRENCY: usize = 4;

/// Settings for the reverse look-ups.
#[derive(Debug, Clone)]
pub struct PtrSettings {
    pub min_bytes: u64,
    pub max_lookups: usize,
    pub rate_per_s: u32,
}

impl Default for PtrSettings {
    fn default() -> Self {
        PtrSettings {
            min_bytes: DEFAULT_MIN_BYTES,
            max_lookups: DEFAULT_MAX_LOOKUPS,
            rate_per_s: DEFAULT_RATE_PER_S,
        }
    }
}

/// One PTR look-up as run.json records it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PtrResult {
    pub ip: IpAddr,
    /// Bytes (out + in) of the destination's unattributed egress flows.
    pub bytes: u64,
    /// The first PTR name, lower case, without the trailing dot.
    pub name: Option<String>,
    pub rcode: String,
    pub detail: String,
    pub looked_up_at: String,
    /// `vendor / product` when the name matches the catalog.
    pub matched: Option<String>,
    /// Always `ptr`.
    pub label: &'static str,
}

/// The network record of a run (run.json `network`).
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct NetworkRecord {
    pub enabled: bool,
    pub purpose: String,
    pub resolver_source: String,
    pub resolvers: Vec<String>,
    pub min_bytes: u64,
    pub max_lookups: usize,
    pub rate_per_s: u32,
    /// Unattributed destinations at or above `min_bytes`.
    pub candidates: usize,
    /// Candidates not looked up because of `max_lookups`.
    pub skipped_over_limit: usize,
    pub lookups: usize,
    pub answered: usize,
    pub matched_vendor: usize,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub results: Vec<PtrResult>,
}

/// PTR answers that attribute flows, keyed by destination.
#[derive(Debug, Clone, Default)]
pub struct PtrTable {
    by_ip: HashMap<IpAddr, (ProductId, u32)>,
    names: Vec<String>,
    /// What was done on the network; `None` when --reverse-dns was not given.
    pub network: Option<NetworkRecord>,
}

impl PtrTable {
    pub fn get(&self, ip: IpAddr) -> Option<(ProductId, u32)> {
        self.by_ip.get(&ip).copied()
    }

    pub fn name(&self, id: u32) -> &str {
        self.names
            .get(id as usize)
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Build the table from look-up results.
    pub fn from_results(
        results: Vec<PtrResult>,
        catalog: &VendorCatalog,
        mut network: NetworkRecord,
    ) -> Self {
        let mut table = PtrTable::default();
        let mut results = results;
        for r in results.iter_mut() {
            let Some(name) = &r.name else { continue };
            if let Some(p) = catalog.match_host(name) {
                let id = table.names.len() as u32;
                table.names.push(name.clone());
                table.by_ip.insert(r.ip, (p, id));
                r.matched = Some(format!(
                    "{} / {}",
                    catalog.vendor_of(p).name,
                    catalog.product(p).name
                ));
            }
        }
        network.answered = results.iter().filter(|r| r.name.is_some()).count();
        network.matched_vendor = results.iter().filter(|r| r.matched.is_some()).count();
        network.lookups = results.len();
        network.results = results;
        table.network = Some(network);
        table
    }
}

/// Pick the destinations to look up: at least `min_bytes`, most bytes first (then by
/// address), at most `max_lookups`. Returns them and how many candidates were left out.
pub fn select(unattributed: &HashMap<IpAddr, u64>, s: &PtrSettings) -> (Vec<(IpAddr, u64)>, usize) {
    let mut c: Vec<(IpAddr, u64)> = unattributed
        .iter()
        .filter(|(_, b)| **b >= s.min_bytes)
        .map(|(ip, b)| (*ip, *b))
        .collect();
    c.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let total = c.len();
    c.truncate(s.max_lookups);
    let skipped = total - c.len();
    (c, skipped)
}

/// Look up the PTR names of `targets`, rate-limited; results sorted by address.
pub async fn lookup_all(
    client: &DnsClient,
    targets: &[(IpAddr, u64)],
    rate_per_s: u32,
) -> Vec<PtrResult> {
    let progress = Progress::new("reverse DNS", targets.len());
    let sem = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let period = Duration::from_secs_f64(1.0 / f64::from(rate_per_s.max(1)));
    let mut ticker = tokio::time::interval(period);
    let mut set = tokio::task::JoinSet::new();
    let mut results = Vec::with_capacity(targets.len());
    let mut done = 0;
    for &(ip, bytes) in targets {
        ticker.tick().await;
        let permit = sem.clone().acquire_owned().await.ok();
        let client = client.clone();
        set.spawn(async move {
            let _permit = permit;
            lookup_one(&client, ip, bytes).await
        });
        while let Some(r) = set.try_join_next() {
            done += 1;
            progress.set(done);
            if let Ok(r) = r {
                results.push(r);
            }
        }
    }
    while let Some(r) = set.join_next().await {
        done += 1;
        progress.set(done);
        if let Ok(r) = r {
            results.push(r);
        }
    }
    progress.finish();
    results.sort_by_key(|r| r.ip);
    results
}

async fn lookup_one(client: &DnsClient, ip: IpAddr, bytes: u64) -> PtrResult {
    let result = client.resolver.reverse_lookup(Name::from(ip)).await;
    let at = xborder_model::period::rfc3339(now_micros());
    let (name, rcode, detail) = match result {
        Ok(lookup) => {
            let mut names: Vec<String> = lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::PTR(p) => {
                        Some(p.0.to_ascii().trim_end_matches('.').to_ascii_lowercase())
                    }
                    _ => None,
                })
                .collect();
            names.sort();
            match names.into_iter().next() {
                Some(n) => (Some(n), RCODE_NOERROR.to_string(), String::new()),
                None => (
                    None,
                    super::resolver::RCODE_NODATA.to_string(),
                    "no PTR records".into(),
                ),
            }
        }
        Err(e) => {
            let (rcode, detail) = failure_rcode(&e);
            (None, rcode, detail)
        }
    };
    PtrResult {
        ip,
        bytes,
        name,
        rcode,
        detail,
        looked_up_at: at,
        matched: None,
        label: "ptr",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_is_bounded_and_ordered_by_bytes() {
        let mut m = HashMap::new();
        m.insert("192.0.2.1".parse().unwrap(), 5_000_000);
        m.insert("192.0.2.2".parse().unwrap(), 2_000_000);
        m.insert("192.0.2.3".parse().unwrap(), 2_000_000);
        m.insert("192.0.2.4".parse().unwrap(), 10);
        let s = PtrSettings {
            min_bytes: 1_000_000,
            max_lookups: 2,
            rate_per_s: 10,
        };
        let (picked, skipped) = select(&m, &s);
        let ips: Vec<String> = picked.iter().map(|p| p.0.to_string()).collect();
        assert_eq!(ips, ["192.0.2.1", "192.0.2.2"]);
        assert_eq!(skipped, 1);
    }
}
