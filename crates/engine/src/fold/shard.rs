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
            dns_hints: self.index.hints(),
            hostnames: self.hostnames,
            window: self.window,
            snapshot_max_distance_s: self.snapshot_max_distance_s,
            collect_unattributed: self.collect_unattributed,
            unattributed: Default::default(),
            site_cache: FastMap::default(),
            destinations: FastMap::default(),
            range_cache: FastMap::default(),
            name_cache: FastMap::default(),
            finding_ids: FastMap::default(),
            flow_regimes: FastMap::default(),
            group_texts: FastMap::default(),
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
    // One 64-bit hash: a 128-bit key and its 128-bit remainder were 1 % of a run's time.
    (xborder_model::fasthash::hash64(&flow.src_ip, 0) % n as u64) as usize
}

/// The address the fold treats as the client of `flow`: its originator, or for one
/// direction of a uniflow export sent from outside to a local address, its destination
/// (the fold turns such a record round). A distributed run routes a flow to the shard
/// holding this client's DNS answers.
pub fn client_of(flow: &FlowRecord, sites: &crate::classify::sites::Sites) -> std::net::IpAddr {
    let local =
        |ip| sites.index_of(ip).is_some() || crate::geolocate::special_purpose(ip).is_some();
    if flow.direction == xborder_model::schema::ByteDirection::Uniflow
        && !local(flow.src_ip)
        && local(flow.dst_ip)
    {
        flow.dst_ip
    } else {
        flow.src_ip
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::{DnsIndexBuilder, HostnameIndex};
    use crate::coverage::DnsPresence;
    use crate::fold::partial::FoldPartial;
    use crate::run::{AnalyzeOptions, Catalogs};
    use std::collections::BTreeMap;
    use xborder_model::accounting::FlowBreakdown;
    use xborder_model::schema::{ByteDirection, Proto, Provenance};

    fn flows() -> Vec<FlowRecord> {
        (0..300u32)
            .map(|i| {
                // A vendor's published range, a shop, an internal address, inbound.
                let dst = match i % 4 {
                    0 => format!("160.79.104.{}", i % 7),
                    1 => format!("93.184.{}.{}", i % 3, i % 5),
                    2 => "10.9.9.9".to_string(),
                    _ => "10.1.0.1".to_string(),
                };
                let src = if i % 4 == 3 {
                    "8.8.4.4".to_string()
                } else {
                    format!("10.1.{}.{}", i % 5, i % 11)
                };
                FlowRecord {
                    ts: 1_783_000_000_000_000 + i64::from(i) * 600_000_000,
                    uid: None,
                    src_ip: src.parse().unwrap(),
                    src_port: Some(40_000),
                    dst_ip: dst.parse().unwrap(),
                    dst_port: Some(443),
                    proto: Proto::Tcp,
                    bytes_out: Some(u64::from(i) * 1000),
                    bytes_in: (i % 9 != 0).then_some(u64::from(i)),
                    duration: None,
                    local_orig: None,
                    direction: ByteDirection::Biflow,
                    provenance: Provenance {
                        file: i % 2,
                        line: u64::from(i),
                    },
                }
            })
            .collect()
    }

    /// The client a distributed run routes a flow by is the one the fold groups it under:
    /// the originator, or the local end of a uniflow record sent from outside.
    #[test]
    fn the_client_of_a_flow_is_the_one_the_fold_groups_by() {
        let opts = AnalyzeOptions::new(Vec::new());
        let mut catalogs = Catalogs::load(&opts).unwrap();
        catalogs.sites = crate::classify::sites::Sites::parse(
            "sites.toml",
            "[[site]]\nname = \"hq\"\ncountry = \"CN\"\ncidrs = [\"10.1.0.0/16\"]\n",
            &catalogs.countries,
        )
        .unwrap();
        let index = DnsIndexBuilder::new(&catalogs.vendors).finish().unwrap();
        let hostnames = HostnameIndex::default();
        let presence = DnsPresence::default();
        let mut base = flows()[1].clone();
        base.src_ip = "10.1.2.3".parse().unwrap();
        base.dst_ip = "93.184.216.34".parse().unwrap();
        let turned = FlowRecord {
            src_ip: base.dst_ip,
            dst_ip: base.src_ip,
            direction: ByteDirection::Uniflow,
            ..base.clone()
        };
        let outbound = FlowRecord {
            direction: ByteDirection::Uniflow,
            ..base.clone()
        };
        for (flow, client) in [
            (&base, base.src_ip),
            (&turned, base.src_ip),
            (&outbound, base.src_ip),
        ] {
            assert_eq!(client_of(flow, &catalogs.sites), client);
            let mut state = FlowState::new(&catalogs, &index, &hostnames, &presence, &opts);
            state
                .fold(flow, &mut FlowBreakdown::default(), None)
                .unwrap();
            let grouped: Vec<_> = state.other.keys().map(|k| k.src).collect();
            assert_eq!(grouped, [client]);
        }
        // Between two outside addresses nothing is turned round.
        let outside = FlowRecord {
            src_ip: "8.8.8.8".parse().unwrap(),
            ..outbound.clone()
        };
        assert_eq!(client_of(&outside, &catalogs.sites), outside.src_ip);
    }

    /// The same flows folded in one state, or in three shards whose partial results are
    /// merged (in either order), give the same groups, counts and per-file breakdowns.
    #[test]
    fn shards_merge_into_the_unsharded_result() {
        let opts = AnalyzeOptions::new(Vec::new());
        let catalogs = Catalogs::load(&opts).unwrap();
        let index = DnsIndexBuilder::new(&catalogs.vendors).finish().unwrap();
        let hostnames = HostnameIndex::default();
        let presence = DnsPresence::default();
        let mut one = FlowState::new(&catalogs, &index, &hostnames, &presence, &opts);
        let mut files_one: BTreeMap<u32, FlowBreakdown> = BTreeMap::new();
        for f in flows() {
            let file = f.provenance.file;
            one.fold(&f, files_one.entry(file).or_default(), None)
                .unwrap();
        }
        let whole = one.into_partial(files_one);
        assert!(!whole.groups.ai.is_empty() && !whole.groups.other.is_empty());

        let mut shards: Vec<(FlowState<'_>, BTreeMap<u32, FlowBreakdown>)> = (0..3)
            .map(|_| {
                let base = FlowState::new(&catalogs, &index, &hostnames, &presence, &opts);
                (base.shard(), BTreeMap::new())
            })
            .collect();
        for f in flows() {
            let (state, files) = &mut shards[shard_of(&f, 3)];
            let file = f.provenance.file;
            state
                .fold(&f, files.entry(file).or_default(), None)
                .unwrap();
        }
        let partials: Vec<FoldPartial> = shards
            .into_iter()
            .map(|(s, files)| s.into_partial(files))
            .collect();
        assert!(
            partials.iter().all(|p| !p.groups.other.is_empty()),
            "every shard folded flows"
        );
        for order in [[0, 1, 2], [2, 0, 1]] {
            let mut merged = FoldPartial::default();
            for i in order {
                merged.merge(partials[i].clone()).unwrap();
            }
            merged
                .coverage
                .sort_by(|a, b| (a.site, &a.source, a.day).cmp(&(b.site, &b.source, b.day)));
            let mut want = whole.clone();
            want.coverage
                .sort_by(|a, b| (a.site, &a.source, a.day).cmp(&(b.site, &b.source, b.day)));
            assert_eq!(merged, want);
        }
        let b = &whole.files[&0];
        assert_eq!(b.internal + b.egress_unknown_site + b.inbound, 150);
        // File 0 holds the even lines: every flow to the vendor range (i % 4 == 0) is there.
        assert_eq!(b.ai_by_method.get("ip_range"), Some(&75));
    }
}
