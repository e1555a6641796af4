//! Hostnames the client itself named on a connection: the TLS server name (SNI) and the
//! HTTP `Host` header. Joined to flows by connection id (Zeek uid, Suricata flow_id), they
//! say what the client asked for on that very connection, which no DNS answer can: a
//! shared CDN address serves many names, and a DNS answer may be minutes old or bypassed.
//!
//! The index keeps only what can matter once DNS is read: names that match a vendor, and
//! names on connections to addresses a vendor name resolved to or a vendor range holds
//! (those overrule a weaker attribution and count as a disagreement).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use serde::Serialize;

use super::interner::Interner;
use super::{uid_key, DnsIndex};
use crate::classify::vendors::{ProductId, VendorCatalog};
use xborder_model::schema::{HostnameRecord, HostnameSource, Micros, Provenance};

#[derive(Debug, Clone, Copy)]
struct Entry {
    name: u32,
    source: HostnameSource,
    dst: IpAddr,
    ts: Micros,
    provenance: Provenance,
}

/// What adding a record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    New,
    /// The same connection and name again (overlapping exports).
    Duplicate,
    /// A second, different name on a connection that already has one: the first is kept
    /// (SNI before HTTP Host), and the record is still accepted.
    Conflict,
}

/// Collects hostname records while the first pass reads.
#[derive(Debug, Default)]
pub struct HostnameIndexBuilder {
    names: Interner,
    by_uid: HashMap<u128, Entry>,
    conflicts: u64,
}

impl HostnameIndexBuilder {
    pub fn add(&mut self, r: &HostnameRecord) -> Added {
        let name = self.names.intern(&r.name);
        let entry = Entry {
            name,
            source: r.source,
            dst: r.dst_ip,
            ts: r.ts,
            provenance: r.provenance,
        };
        match self.by_uid.entry(uid_key(&r.uid)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(entry);
                Added::New
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let old = *o.get();
                if old.name == name {
                    return Added::Duplicate;
                }
                // SNI outranks an HTTP Host on the same connection (it is what TLS
                // negotiated); otherwise the first seen is kept, for stable reruns.
                if old.source == HostnameSource::HttpHost && r.source == HostnameSource::Sni {
                    o.insert(entry);
                }
                self.conflicts += 1;
                Added::Conflict
            }
        }
    }

    /// Keep the entries that can decide or contradict an attribution.
    pub fn finish(self, catalog: &VendorCatalog, dns: &DnsIndex) -> HostnameIndex {
        let product: Vec<Option<ProductId>> = self
            .names
            .names()
            .iter()
            .map(|n| catalog.match_host(n))
            .collect();
        let total = self.by_uid.len() as u64;
        let mut range_memo: HashMap<IpAddr, bool> = HashMap::new();
        let mut vendor_names: HashSet<u32> = HashSet::new();
        let by_uid: HashMap<u128, Entry> = self
            .by_uid
            .into_iter()
            .filter(|(_, e)| {
                if product[e.name as usize].is_some() {
                    vendor_names.insert(e.name);
                    return true;
                }
                dns.is_vendor_address(e.dst)
                    || *range_memo
                        .entry(e.dst)
                        .or_insert_with(|| catalog.match_ip(e.dst).is_some())
            })
            .collect();
        HostnameIndex {
            stats: HostnameIndexStats {
                connections_named: total,
                distinct_names: self.names.names().len() as u64,
                vendor_names: vendor_names.len() as u64,
                connections_kept: by_uid.len() as u64,
                conflicting_names: self.conflicts,
            },
            product,
            names: self.names.into_names(),
            by_uid,
        }
    }
}

/// Counters for run.json: how much hostname evidence there was and how much could matter.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostnameIndexStats {
    /// Distinct connections with a server name or HTTP host.
    pub connections_named: u64,
    pub distinct_names: u64,
    /// Distinct names that match a catalog vendor.
    pub vendor_names: u64,
    /// Connections kept for the flow pass (vendor names, or vendor destinations).
    pub connections_kept: u64,
    /// Connections that carried two different names (the SNI, or the first, was kept).
    pub conflicting_names: u64,
}

/// The hostname named on a flow's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostnameMatch {
    pub name: u32,
    pub source: HostnameSource,
    /// The vendor product the name belongs to, if any.
    pub product: Option<ProductId>,
    pub ts: Micros,
    pub provenance: Provenance,
}

#[derive(Debug, Default)]
pub struct HostnameIndex {
    names: Vec<String>,
    product: Vec<Option<ProductId>>,
    by_uid: HashMap<u128, Entry>,
    pub stats: HostnameIndexStats,
}

impl HostnameIndex {
    /// The name on connection `uid`, if it was seen towards `dst` (a uid reused by another
    /// sensor for another connection must not lend it a name).
    pub fn lookup(&self, uid: &str, dst: IpAddr) -> Option<HostnameMatch> {
        let e = self.by_uid.get(&uid_key(uid))?;
        (e.dst == dst).then(|| HostnameMatch {
            name: e.name,
            source: e.source,
            product: self.product[e.name as usize],
            ts: e.ts,
            provenance: e.provenance,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.by_uid.is_empty()
    }

    /// The distinct names of kept connections that match a catalog vendor (what
    /// `stats.vendor_names` counts), so a distributed run can count them across shards.
    pub fn vendor_names(&self) -> Vec<&str> {
        let mut ids: Vec<u32> = self
            .by_uid
            .values()
            .filter(|e| self.product[e.name as usize].is_some())
            .map(|e| e.name)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().map(|id| self.name(id)).collect()
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}
