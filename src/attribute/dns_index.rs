//! The per-client DNS index behind `dns` attribution.
//!
//! Only answers that can matter are kept: an address that no vendor hostname ever
//! resolved to cannot attribute a flow to a vendor, so its answers are dropped once all
//! DNS logs are read. What remains is keyed by (client, address): a DNS answer seen by
//! another client never attributes a flow, because CDN addresses are shared by unrelated
//! sites at the same moment.

use std::collections::HashSet;
use std::net::IpAddr;

use serde::Serialize;

use super::interner::Interner;
use crate::classify::vendors::{ProductId, VendorCatalog};
use crate::fasthash::FastMap;
use crate::schema::{AnswerValue, DnsRecord, Micros, Provenance};

/// TTL sentinel for answers logged without one.
const NO_TTL: u32 = u32::MAX;

/// How long after a response its answer may still attribute a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DnsWindow {
    /// Hard ceiling, seconds (`--dns-max-age`).
    pub max_age_s: u32,
    /// Added to the answer's TTL: clients and stub resolvers keep using an address a
    /// little past expiry, and connection pools outlive it (`--dns-ttl-grace`).
    pub ttl_grace_s: u32,
}

impl DnsWindow {
    /// The effective window for one answer, in microseconds.
    fn limit_micros(&self, ttl: u32) -> i64 {
        let by_ttl = if ttl == NO_TTL {
            u64::from(self.max_age_s)
        } else {
            u64::from(ttl) + u64::from(self.ttl_grace_s)
        };
        (by_ttl.min(u64::from(self.max_age_s)) as i64) * 1_000_000
    }
}

#[derive(Debug, Clone, Copy)]
struct Observation {
    client: IpAddr,
    address: IpAddr,
    response_ts: Micros,
    name: u32,
    ttl: u32,
    provenance: Provenance,
}

/// Collects answers while DNS logs are read.
#[derive(Debug, Default)]
pub struct DnsIndexBuilder {
    names: Interner,
    observations: Vec<Observation>,
}

impl DnsIndexBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Address answers held so far (for `--memory-limit` messages).
    pub fn answers(&self) -> usize {
        self.observations.len()
    }

    /// Record every address answer of one accepted DNS record.
    pub fn add(&mut self, record: &DnsRecord) {
        if record.query.is_empty() {
            return;
        }
        let mut name = None;
        for answer in &record.answers {
            let AnswerValue::Address(address) = answer.value else {
                continue;
            };
            let id = *name.get_or_insert_with(|| self.names.intern(&record.query));
            self.observations.push(Observation {
                client: record.client_ip,
                address,
                response_ts: record.response_ts,
                name: id,
                ttl: answer.ttl.unwrap_or(NO_TTL),
                provenance: record.provenance,
            });
        }
    }

    /// Keep only answers for addresses some vendor hostname resolved to, and index them.
    pub fn finish(self, catalog: &VendorCatalog) -> DnsIndex {
        let vendor_of_name: Vec<Option<ProductId>> = self
            .names
            .names()
            .iter()
            .map(|n| catalog.match_host(n))
            .collect();
        let vendor_addresses: HashSet<IpAddr> = self
            .observations
            .iter()
            .filter(|o| vendor_of_name[o.name as usize].is_some())
            .map(|o| o.address)
            .collect();
        let answers_seen = self.observations.len() as u64;
        let mut by_pair: FastMap<(IpAddr, IpAddr), Vec<Entry>> = FastMap::default();
        for o in self.observations {
            if !vendor_addresses.contains(&o.address) {
                continue;
            }
            by_pair
                .entry((o.client, o.address))
                .or_default()
                .push(Entry {
                    response_ts: o.response_ts,
                    name: o.name,
                    ttl: o.ttl,
                    provenance: o.provenance,
                });
        }
        let mut kept = 0u64;
        for entries in by_pair.values_mut() {
            // Ties on time resolve by input position, so reruns pick the same answer.
            entries.sort_by_key(|e| (e.response_ts, e.provenance));
            kept += entries.len() as u64;
        }
        DnsIndex {
            stats: DnsIndexStats {
                address_answers: answers_seen,
                distinct_names: self.names.names().len() as u64,
                vendor_names: vendor_of_name.iter().filter(|v| v.is_some()).count() as u64,
                vendor_addresses: vendor_addresses.len() as u64,
                answers_kept: kept,
                client_address_pairs: by_pair.len() as u64,
            },
            names: self.names.into_names(),
            by_pair,
            vendor_addresses,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    response_ts: Micros,
    name: u32,
    ttl: u32,
    provenance: Provenance,
}

/// Counters that show how much of the DNS data could matter.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DnsIndexStats {
    pub address_answers: u64,
    pub distinct_names: u64,
    pub vendor_names: u64,
    pub vendor_addresses: u64,
    pub answers_kept: u64,
    pub client_address_pairs: u64,
}

/// The DNS answer that attributes a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMatch {
    pub name: u32,
    pub response_ts: Micros,
    pub provenance: Provenance,
}

/// Answers indexed by (client, address), each list sorted by response time.
#[derive(Debug, Default)]
pub struct DnsIndex {
    names: Vec<String>,
    by_pair: FastMap<(IpAddr, IpAddr), Vec<Entry>>,
    vendor_addresses: HashSet<IpAddr>,
    pub stats: DnsIndexStats,
}

impl DnsIndex {
    /// The most recent response to `client` containing `address`, at or before `flow_ts`,
    /// if it is still within its window. An older answer never stands in for a stale newer
    /// one: the newest answer is what the client was acting on.
    pub fn lookup(
        &self,
        client: IpAddr,
        address: IpAddr,
        flow_ts: Micros,
        window: DnsWindow,
    ) -> Option<DnsMatch> {
        let entries = self.by_pair.get(&(client, address))?;
        let upto = entries.partition_point(|e| e.response_ts <= flow_ts);
        let e = entries.get(upto.checked_sub(1)?)?;
        if flow_ts - e.response_ts > window.limit_micros(e.ttl) {
            return None;
        }
        Some(DnsMatch {
            name: e.name,
            response_ts: e.response_ts,
            provenance: e.provenance,
        })
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// Whether any client resolved a vendor name to `address`.
    pub fn is_vendor_address(&self, address: IpAddr) -> bool {
        self.vendor_addresses.contains(&address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{embedded, CatalogText};
    use crate::schema::DnsAnswer;

    fn catalog() -> VendorCatalog {
        VendorCatalog::load(&CatalogText::load(None, "v", embedded::VENDORS).unwrap()).unwrap()
    }

    fn rec(line: u64, client: &str, query: &str, ts_s: i64, answers: &[(&str, u32)]) -> DnsRecord {
        DnsRecord {
            ts: ts_s * 1_000_000,
            response_ts: ts_s * 1_000_000,
            uid: None,
            trans_id: None,
            client_ip: client.parse().unwrap(),
            query: query.into(),
            qtype: None,
            rcode: None,
            answers: answers
                .iter()
                .map(|(v, ttl)| DnsAnswer {
                    value: crate::ingest::zeek_tsv::answer_value(v),
                    ttl: Some(*ttl),
                })
                .collect(),
            provenance: Provenance { file: 0, line },
        }
    }

    const W: DnsWindow = DnsWindow {
        max_age_s: 3600,
        ttl_grace_s: 300,
    };

    #[test]
    fn same_client_only_and_latest_answer_wins() {
        let mut b = DnsIndexBuilder::new();
        b.add(&rec(
            1,
            "10.0.0.1",
            "api.openai.com",
            100,
            &[
                ("api.openai.com.cdn.cloudflare.net", 300),
                ("104.18.32.7", 60),
            ],
        ));
        b.add(&rec(
            2,
            "10.0.0.2",
            "shop.example",
            110,
            &[("104.18.32.7", 60)],
        ));
        b.add(&rec(
            3,
            "10.0.0.1",
            "shop.example",
            200,
            &[("104.18.32.7", 60)],
        ));
        b.add(&rec(
            4,
            "10.0.0.3",
            "unrelated.example",
            100,
            &[("93.184.216.34", 60)],
        ));
        let idx = b.finish(&catalog());
        let ip = "104.18.32.7".parse().unwrap();
        let c1 = "10.0.0.1".parse().unwrap();
        let c2 = "10.0.0.2".parse().unwrap();
        // Client 1 asked for the vendor at t=100: attributed (name is the query, not the CNAME).
        let m = idx.lookup(c1, ip, 150 * 1_000_000, W).unwrap();
        assert_eq!(idx.name(m.name), "api.openai.com");
        assert_eq!(m.provenance.line, 1);
        // Client 1 later resolved an unrelated name to the same CDN address.
        let m = idx.lookup(c1, ip, 250 * 1_000_000, W).unwrap();
        assert_eq!(idx.name(m.name), "shop.example");
        // Client 2 never asked for the vendor: its own answer is kept (same CDN address)
        // and names the unrelated site.
        let m = idx.lookup(c2, ip, 150 * 1_000_000, W).unwrap();
        assert_eq!(idx.name(m.name), "shop.example");
        // Answers arriving after the flow do not count.
        assert!(idx.lookup(c1, ip, 99 * 1_000_000, W).is_none());
        // Addresses no vendor name resolved to are not kept at all.
        assert_eq!(idx.stats.vendor_addresses, 1);
        assert_eq!(idx.stats.answers_kept, 3);
    }

    #[test]
    fn window_is_ttl_plus_grace_capped_by_max_age() {
        let mut b = DnsIndexBuilder::new();
        b.add(&rec(
            1,
            "10.0.0.1",
            "api.anthropic.com",
            0,
            &[("160.79.104.10", 60)],
        ));
        b.add(&rec(
            2,
            "10.0.0.9",
            "api.anthropic.com",
            0,
            &[("160.79.104.10", 86_400)],
        ));
        let idx = b.finish(&catalog());
        let ip = "160.79.104.10".parse().unwrap();
        let c1 = "10.0.0.1".parse().unwrap();
        let c9 = "10.0.0.9".parse().unwrap();
        assert!(idx.lookup(c1, ip, 360 * 1_000_000, W).is_some());
        assert!(idx.lookup(c1, ip, 361 * 1_000_000, W).is_none());
        assert!(idx.lookup(c9, ip, 3600 * 1_000_000, W).is_some());
        assert!(idx.lookup(c9, ip, 3601 * 1_000_000, W).is_none());
    }
}
