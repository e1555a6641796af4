//! Shards of the flow fold, and how their partial results merge.
//!
//! The fold's partial results are sums, minima and maxima, and distinct sets, so flows can
//! be folded in any number of shards and merged into the same result as one fold of all
//! of them. [`FlowState::shard`] makes an empty shard that shares the read-only indexes
//! (DNS, connection hostnames, DNS presence, catalogs); a finished shard becomes a
//! [`super::partial::FoldPartial`], which merges into the run's state. Memoised look-ups (site, country, vendor match, regimes) are
//! recomputed per shard; the sets of addresses looked up are kept, because run.json counts
//! distinct sources and destinations from them.
//!
//! Two things are run-wide and not sharded: the proxy pass (it runs before the flows) and
//! the URL-filter session join, where the first flow of a session claims its request.
//! [`FlowState::shardable`] says whether the flows may be sharded.

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
