//! Shards of the flow fold, and how their partial results merge.
//!
//! The fold's partial results are sums, minima and maxima, and distinct sets, so flows can
//! be folded in any number of shards and merged into the same result as one fold of all
//! of them. [`FlowState::shard`] makes an empty shard that shares the read-only indexes
//! (DNS, connection hostnames, DNS presence, catalogs); [`FlowState::merge`] adds a
//! finished shard back. Memoised look-ups (site, country, vendor match, regimes) are
//! recomputed per shard; the sets of addresses looked up are kept, because run.json counts
//! distinct sources and destinations from them.
//!
//! Two things are run-wide and not sharded: the proxy pass (it runs before the flows) and
//! the URL-filter session join, where the first flow of a session claims its request.
//! [`FlowState::shardable`] says whether the flows may be sharded.

use xborder_model::error::{Error, Result};
use xborder_model::fasthash::FastMap;
use xborder_model::schema::FlowRecord;

use super::FlowState;

impl<'a> FlowState<'a> {
    /// Whether flows may be folded in several shards: not while URL-filter requests wait
    /// for the first flow of their session, which must be claimed in reading order.
    pub fn shardable(&self) -> bool {
        self.proxy.sessions.is_empty()
    }

    /// An empty shard of this state: same catalogs, indexes and options, nothing folded.
    pub fn shard(&self) -> FlowState<'a> {
        FlowState {
            catalogs: self.catalogs,
            index: self.index,
            hostnames: self.hostnames,
            window: self.window,
            snapshot_max_distance_s: self.snapshot_max_distance_s,
            collect_unattributed: self.collect_unattributed,
            unattributed: Default::default(),
            site_cache: FastMap::default(),
            geo_cache: FastMap::default(),
            range_cache: FastMap::default(),
            name_cache: FastMap::default(),
            finding_ids: FastMap::default(),
            flow_regimes: FastMap::default(),
            ai: FastMap::default(),
            other: FastMap::default(),
            observed: None,
            seq: self.seq,
            egress_bytes: (0, 0),
            org: self.org.for_shard(),
            coverage: self.coverage.for_shard(),
            presence: self.presence,
            candidates: self.candidates.for_shard(),
            source: self.source,
            proxy: self.proxy.for_shard(),
        }
    }

    /// Add a finished shard. The run's egress total is checked first, so no merged group
    /// can wrap; it fails as the unsharded fold would when the total passes 2^64-1.
    pub fn merge(&mut self, shard: FlowState<'a>) -> Result<()> {
        let (out, back) = (
            self.egress_bytes.0.checked_add(shard.egress_bytes.0),
            self.egress_bytes.1.checked_add(shard.egress_bytes.1),
        );
        self.egress_bytes = match (out, back) {
            (Some(out), Some(back)) => (out, back),
            _ => return Err(Error::Aggregate(
                "the bytes of all egress flows would exceed 2^64-1: the input holds implausibly large byte counts; no total is reported rather than a wrapped one".into(),
            )),
        };
        for (k, v) in shard.ai {
            self.ai.entry(k).and_modify(|s| s.merge(&v)).or_insert(v);
        }
        for (k, v) in shard.other {
            self.other.entry(k).and_modify(|s| s.merge(&v)).or_insert(v);
        }
        self.observed = match (self.observed, shard.observed) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, None) | (None, x) => x,
        };
        for (ip, bytes) in shard.unattributed {
            let slot = self.unattributed.entry(ip).or_default();
            *slot = slot.saturating_add(bytes);
        }
        // The same address gives the same site and country in every shard.
        self.site_cache.extend(shard.site_cache);
        self.geo_cache.extend(shard.geo_cache);
        self.org.merge(shard.org);
        self.coverage.merge(shard.coverage);
        self.candidates.merge(shard.candidates);
        self.proxy.merge(shard.proxy);
        self.seq = self.seq.max(shard.seq);
        Ok(())
    }
}

/// The shard of `n` that folds `flow`: by its source address, so a client's groups mostly
/// stay in one shard. Any assignment gives the same merged result.
pub fn shard_of(flow: &FlowRecord, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let h = xborder_model::fasthash::key128(&flow.src_ip);
    (h % n as u128) as usize
}
