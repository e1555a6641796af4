//! Partial results of the fold, and how they merge.
//!
//! A shard of the fold ([`super::shard`]) ends as a [`FoldPartial`]: its egress groups,
//! the sums behind the policy and department views, coverage cells, candidate hits, the
//! addresses it looked up and its per-file counts. Everything in it is a sum, a minimum or
//! maximum, or a distinct set, and every name is spelled out (no ids into one process's
//! name tables), so partials merge in any order into the result one unsharded fold gives,
//! whether they come from threads of this process or from other machines. Sites, rules,
//! assets and products are indices into the run's catalogs, which every shard loads from
//! the same files. [`super::partial_files`] writes a partial as Parquet and reads it back.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use xborder_model::accounting::FlowBreakdown;
use xborder_model::error::{Error, Result};
use xborder_model::schema::Micros;

use super::{AiKey, FlowState, OtherKey};
use crate::aggregate::org::OrgSums;
use crate::aggregate::{EgressRow, FlowSum};
use crate::attribute::Method;
use crate::candidates::CandidateHit;
use crate::classify::sites::UNKNOWN_SITE;
use crate::classify::vendors::ProductId;
use crate::coverage::CoverageCell;
use crate::run::Catalogs;

/// The group of AI-vendor egress flows in a partial result: [`AiKey`] with its hostname
/// spelled out.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AiGroup {
    pub day: i32,
    pub site: u16,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub product: ProductId,
    pub method: Method,
    pub hostname: Option<String>,
}

/// The egress groups of a partial result, with what run.json counts about the flows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Groups {
    pub ai: BTreeMap<AiGroup, FlowSum>,
    pub other: BTreeMap<OtherKey, FlowSum>,
    /// Every destination whose country was looked up, with the country (`ZZ` unknown).
    pub countries: BTreeMap<IpAddr, [u8; 2]>,
    /// Every address whose site was looked up.
    pub site_lookups: BTreeSet<IpAddr>,
    /// Bytes (out + in) of unattributed egress per destination, for PTR look-ups.
    pub unattributed: BTreeMap<IpAddr, u64>,
    /// First and last egress-relevant flow timestamps.
    pub observed: Option<(Micros, Micros)>,
    /// Bytes out and in of every egress flow: bounds every sum in the groups.
    pub egress_bytes: (u64, u64),
}

/// What flows of proxies counted in a shard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyFlowCounts {
    pub flows_carried_by_proxy_logs: u64,
    pub proxy_egress_without_proxy_logs: u64,
    pub joined_to_flows: u64,
}

/// Everything one shard of the fold produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoldPartial {
    pub groups: Groups,
    pub org: OrgSums,
    pub coverage: Vec<CoverageCell>,
    pub candidates: Vec<CandidateHit>,
    pub proxy: ProxyFlowCounts,
    /// Per input file (index in the run's plan), what happened to its accepted flows.
    pub files: BTreeMap<u32, FlowBreakdown>,
}

/// The error for a run whose egress bytes pass 2^64-1, as the unsharded fold reports it.
fn too_many_bytes() -> Error {
    Error::Aggregate(
        "the bytes of all egress flows would exceed 2^64-1: the input holds implausibly large byte counts; no total is reported rather than a wrapped one".into(),
    )
}

impl Groups {
    /// Add another part of the run. The egress total is checked first, so no merged group
    /// can wrap; it fails as the unsharded fold would when the total passes 2^64-1.
    pub fn merge(&mut self, other: Groups) -> Result<()> {
        let out = self.egress_bytes.0.checked_add(other.egress_bytes.0);
        let back = self.egress_bytes.1.checked_add(other.egress_bytes.1);
        self.egress_bytes = match (out, back) {
            (Some(out), Some(back)) => (out, back),
            _ => return Err(too_many_bytes()),
        };
        for (k, v) in other.ai {
            self.ai.entry(k).and_modify(|s| s.merge(&v)).or_insert(v);
        }
        for (k, v) in other.other {
            self.other.entry(k).and_modify(|s| s.merge(&v)).or_insert(v);
        }
        // The same address has the same site and country in every part.
        self.countries.extend(other.countries);
        self.site_lookups.extend(other.site_lookups);
        for (ip, bytes) in other.unattributed {
            let slot = self.unattributed.entry(ip).or_default();
            *slot = slot.saturating_add(bytes);
        }
        self.observed = match (self.observed, other.observed) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, None) | (None, x) => x,
        };
        Ok(())
    }

    /// The groups as frame rows, in key order.
    pub fn rows(&self, catalogs: &Catalogs) -> (Vec<EgressRow>, Vec<EgressRow>) {
        let sites = &catalogs.sites.sites;
        let site_of = |i: u16| -> (String, String) {
            match sites.get(usize::from(i)) {
                Some(s) => (s.name.clone(), s.country.clone()),
                None => (UNKNOWN_SITE.to_string(), String::new()),
            }
        };
        let catalog = &catalogs.vendors;
        let ai = self
            .ai
            .iter()
            .map(|(k, p)| {
                let (site, country) = site_of(k.site);
                let product = catalog.product(k.product);
                let vendor = catalog.vendor_of(k.product);
                let dc = self.countries.get(&k.dst).copied().unwrap_or(*b"ZZ");
                let hostname = k.hostname.clone().unwrap_or_default();
                // A name that did not attribute the flow (an ip_range flow's DNS name) does
                // not give it a processing scope either, as in the evidence rows.
                let scope_host = if k.method == Method::IpRange {
                    ""
                } else {
                    hostname.as_str()
                };
                let onward = crate::classify::onward::exposure_key(catalog, k.product, scope_host);
                EgressRow {
                    day: k.day,
                    source_site: site,
                    source_country: country,
                    src_ip: k.src.to_string(),
                    // A proxy request without a logged server address has none.
                    dst_ip: if k.dst.is_unspecified() {
                        String::new()
                    } else {
                        k.dst.to_string()
                    },
                    destination_country: String::from_utf8_lossy(&dc).into_owned(),
                    hostname,
                    onward,
                    vendor: vendor.name.clone(),
                    vendor_hq_country: vendor.hq_country.clone(),
                    product: product.name.clone(),
                    category: product.category.clone(),
                    attribution: k.method.as_str().to_string(),
                    flows: p.flows,
                    bytes_out: p.bytes_out,
                    bytes_in: p.bytes_in,
                    first_seen: p.first,
                    last_seen: p.last,
                }
            })
            .collect();
        let other = self
            .other
            .iter()
            .map(|(k, p)| {
                let (site, country) = site_of(k.site);
                EgressRow {
                    day: k.day,
                    source_site: site,
                    source_country: country,
                    src_ip: k.src.to_string(),
                    destination_country: String::from_utf8_lossy(&k.country).into_owned(),
                    attribution: Method::None.as_str().to_string(),
                    flows: p.flows,
                    bytes_out: p.bytes_out,
                    bytes_in: p.bytes_in,
                    first_seen: p.first,
                    last_seen: p.last,
                    ..EgressRow::default()
                }
            })
            .collect();
        (ai, other)
    }
}

impl ProxyFlowCounts {
    fn merge(&mut self, o: ProxyFlowCounts) {
        self.flows_carried_by_proxy_logs += o.flows_carried_by_proxy_logs;
        self.proxy_egress_without_proxy_logs += o.proxy_egress_without_proxy_logs;
        self.joined_to_flows += o.joined_to_flows;
    }
}

impl FoldPartial {
    /// Add another partial result of the same run.
    pub fn merge(&mut self, other: FoldPartial) -> Result<()> {
        self.groups.merge(other.groups)?;
        self.org.merge(other.org);
        self.coverage.extend(other.coverage);
        self.candidates.extend(other.candidates);
        self.proxy.merge(other.proxy);
        for (file, b) in other.files {
            self.files.entry(file).or_default().add(&b);
        }
        Ok(())
    }
}

impl<'a> FlowState<'a> {
    /// Take this state's groups, with their hostnames spelled out; the state keeps its
    /// trackers (coverage, candidates, policy views, proxies).
    pub fn take_groups(&mut self) -> Groups {
        let ai = std::mem::take(&mut self.ai);
        let ai = ai.into_iter().map(|(k, v)| (self.ai_group(&k), v)).fold(
            BTreeMap::new(),
            |mut m: BTreeMap<AiGroup, FlowSum>, (k, v)| {
                m.entry(k).and_modify(|s| s.merge(&v)).or_insert(v);
                m
            },
        );
        Groups {
            ai,
            other: std::mem::take(&mut self.other).into_iter().collect(),
            countries: std::mem::take(&mut self.destinations)
                .into_iter()
                .map(|(ip, d)| (ip, d.country))
                .collect(),
            site_lookups: std::mem::take(&mut self.site_cache).into_keys().collect(),
            unattributed: std::mem::take(&mut self.unattributed).into_iter().collect(),
            observed: self.observed.take(),
            egress_bytes: std::mem::take(&mut self.egress_bytes),
        }
    }

    fn ai_group(&self, k: &AiKey) -> AiGroup {
        AiGroup {
            day: k.day,
            site: k.site,
            src: k.src,
            dst: k.dst,
            product: k.product,
            method: k.method,
            hostname: k.hostname.map(|h| self.host_name(k.method, h).to_string()),
        }
    }

    /// Turn a finished shard into its partial result, with `files` the counts of its
    /// flows per input file.
    pub fn into_partial(mut self, files: BTreeMap<u32, FlowBreakdown>) -> FoldPartial {
        let groups = self.take_groups();
        let stats = &self.proxy.stats;
        FoldPartial {
            groups,
            org: self.org.take_sums(),
            coverage: self.coverage.take_cells(),
            candidates: self.candidates.take_hits(),
            proxy: ProxyFlowCounts {
                flows_carried_by_proxy_logs: stats.flows_carried_by_proxy_logs,
                proxy_egress_without_proxy_logs: stats.proxy_egress_without_proxy_logs,
                joined_to_flows: stats.joined_to_flows,
            },
            files,
        }
    }

    /// Add a partial result's trackers (coverage, candidates, policy views, proxy counts)
    /// to this state's, and hand back its groups and per-file counts to merge.
    pub fn absorb(&mut self, partial: FoldPartial) -> (Groups, BTreeMap<u32, FlowBreakdown>) {
        self.org.absorb(partial.org);
        self.coverage.absorb(partial.coverage);
        self.candidates.absorb(partial.candidates);
        let stats = &mut self.proxy.stats;
        stats.flows_carried_by_proxy_logs += partial.proxy.flows_carried_by_proxy_logs;
        stats.proxy_egress_without_proxy_logs += partial.proxy.proxy_egress_without_proxy_logs;
        stats.joined_to_flows += partial.proxy.joined_to_flows;
        (partial.groups, partial.files)
    }
}
