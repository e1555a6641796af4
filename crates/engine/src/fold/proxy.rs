//! The fold of web proxy, gateway and URL-filter records. The orchestrator reads these
//! logs after the DNS pass and before the flows, so the flows know which proxy legs the
//! proxy logs already count.
//!
//! Each allowed request is egress from its client (site, department) to the logged host,
//! attributed `proxy_host`; a blocked request to an AI vendor is a blocked attempt; other
//! requests (cache hits, challenges) are counted only. See [`crate::attribute::proxies`]
//! for how the proxies' own flows are recognised.

use std::net::IpAddr;

use xborder_model::accounting::{FlowBreakdown, ProxyBreakdown};
use xborder_model::error::Result;
use xborder_model::fasthash::{key128, FastMap};
use xborder_model::period::day_of;
use xborder_model::schema::{ByteDirection, FlowRecord, Micros, Provenance};

use super::{reborrow, AiKey, EvidenceSink, FlowState, OtherKey, NO_SITE};
use crate::aggregate::blocked::{BlockedKey, BlockedTally};
use crate::aggregate::FlowSum;
use crate::attribute::interner::Interner;
use crate::attribute::proxies::{ProxyCoverage, ProxyLeg, SessionJoin};
use crate::attribute::Method;
use crate::classify::sites::UNKNOWN_SITE;
use crate::classify::vendors::ProductId;
use xborder_model::schema::{ProxyAction, ProxyRecord};

/// What the flow pass keeps about proxies.
pub struct ProxyState {
    pub coverage: ProxyCoverage,
    pub sessions: SessionJoin,
    pub names: Interner,
    pub blocked: BlockedTally,
    pub stats: ProxyBreakdown,
    name_cache: FastMap<u32, Option<ProductId>>,
}

impl ProxyState {
    pub fn new(declared: &[ipnet::IpNet]) -> Self {
        ProxyState {
            coverage: ProxyCoverage::new(declared),
            sessions: SessionJoin::default(),
            names: Interner::default(),
            blocked: BlockedTally::default(),
            stats: ProxyBreakdown::default(),
            name_cache: FastMap::default(),
        }
    }

    /// The proxy state of one fold shard: which proxies exist and when their logs cover
    /// them, nothing counted yet. Sharding needs no URL-filter request waiting for its
    /// flow ([`SessionJoin`] is one run-wide queue), see [`FlowState::shardable`].
    pub fn for_shard(&self) -> Self {
        ProxyState {
            coverage: self.coverage.clone(),
            ..ProxyState::new(&[])
        }
    }

    /// Add what a shard's flows counted: the flows that proxy logs carry or do not.
    pub fn merge(&mut self, shard: ProxyState) {
        let (mine, theirs) = (&mut self.stats, shard.stats);
        mine.flows_carried_by_proxy_logs += theirs.flows_carried_by_proxy_logs;
        mine.proxy_egress_without_proxy_logs += theirs.proxy_egress_without_proxy_logs;
        mine.joined_to_flows += theirs.joined_to_flows;
    }

    pub fn name(&self, id: u32) -> &str {
        self.names
            .names()
            .get(id as usize)
            .map_or("", String::as_str)
    }
}

/// A host a proxy request names, matched against the catalog.
pub struct ProxyMatch {
    pub product: Option<ProductId>,
    pub name: u32,
    pub provenance: Provenance,
    pub ts: Micros,
}

/// Identity of a proxy record, for de-duplicating overlapping exports.
pub fn proxy_key(r: &ProxyRecord) -> u128 {
    key128(&(
        r.ts,
        r.client_ip,
        &r.user,
        &r.host,
        r.port,
        r.server_ip,
        r.bytes_out,
        r.bytes_in,
        r.action,
        &r.proxy,
        &r.session,
    ))
}

/// The request as a flow from its client, so the egress tables, the policy and department
/// views and the evidence rows treat it like any other connection. Without a logged
/// server address the destination is the unspecified address (country unknown).
fn as_flow(r: &ProxyRecord, literal: Option<IpAddr>) -> FlowRecord {
    FlowRecord {
        ts: r.ts,
        uid: None,
        src_ip: r.client_ip,
        src_port: None,
        dst_ip: r
            .server_ip
            .or(literal)
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        dst_port: r.port,
        proto: xborder_model::schema::Proto::Tcp,
        bytes_out: r.bytes_out,
        bytes_in: r.bytes_in,
        duration: None,
        local_orig: None,
        direction: ByteDirection::Biflow,
        provenance: r.provenance,
    }
}

impl FlowState<'_> {
    /// Fold one accepted proxy record.
    pub fn fold_proxy(
        &mut self,
        r: &ProxyRecord,
        breakdown: &mut FlowBreakdown,
        evidence: Option<&mut dyn EvidenceSink>,
    ) -> Result<()> {
        self.seq += 1;
        self.proxy.coverage.observe(r);
        let stats = &mut self.proxy.stats;
        stats.requests += 1;
        stats.with_user += u64::from(r.user.is_some());
        match r.action {
            ProxyAction::Allowed => stats.allowed += 1,
            ProxyAction::Blocked => stats.blocked += 1,
            ProxyAction::Other => stats.other += 1,
        }
        let site = self.site(r.client_ip);
        // A proxy record shows the site's traffic as a flow record does: it counts towards
        // the site's log coverage (verdicts), under the proxy log's own source.
        if let Some(s) = site {
            self.coverage.flow(s, self.source, r.ts);
        }
        let local = site.is_some() || crate::geolocate::special_purpose(r.client_ip).is_some();
        if !local {
            self.proxy.stats.client_outside += 1;
            return Ok(());
        }
        match r.action {
            ProxyAction::Other => Ok(()),
            ProxyAction::Blocked => {
                let site = site.unwrap_or(NO_SITE);
                let (product, _) = self.proxy_product(r);
                if let Some(p) = product {
                    self.count_blocked(r, site, p);
                }
                Ok(())
            }
            ProxyAction::Allowed => {
                if r.session.is_some() {
                    // Copied only to be held: the record read goes back to its parser.
                    if self.proxy.sessions.hold(r.clone()).is_some() {
                        self.proxy.stats.same_session += 1;
                    }
                    return Ok(());
                }
                self.fold_proxy_egress(r, breakdown, evidence)
            }
        }
    }

    /// The product a request's host names, and the name's id (an address literal is
    /// matched against the vendors' published ranges instead).
    fn proxy_product(&mut self, r: &ProxyRecord) -> (Option<ProductId>, Option<IpAddr>) {
        if let Some(ip) = xborder_model::schema::parse_ip(&r.host) {
            let catalog = &self.catalogs.vendors;
            let p = *self
                .range_cache
                .entry(ip)
                .or_insert_with(|| catalog.match_ip(ip));
            return (p, Some(ip));
        }
        let id = self.proxy.names.intern(&r.host);
        let catalog = &self.catalogs.vendors;
        let host = &r.host;
        let p = *self
            .proxy
            .name_cache
            .entry(id)
            .or_insert_with(|| catalog.match_host(host));
        (p, None)
    }

    /// The rule deciding `product` at `site` at the request's time `ts` (in the site's own
    /// time zone, as for flows) and its verdict; empty without a policy or a deciding rule.
    /// Not memoised per day: a rule can start in the middle of a UTC day.
    fn deciding_rule(&self, site: u16, product: ProductId, ts: Micros) -> (String, String) {
        let catalogs = self.catalogs;
        let Some(policy) = &catalogs.policy else {
            return (String::new(), String::new());
        };
        let (name, country, tz) = match catalogs.sites.sites.get(usize::from(site)) {
            Some(s) => (s.name.as_str(), s.country.as_str(), s.timezone),
            None => (UNKNOWN_SITE, "", chrono_tz::UTC),
        };
        let p = catalogs.vendors.product(product);
        let tool = crate::classify::policy::Tool {
            vendor: &catalogs.vendors.vendors[p.vendor].id,
            product: &p.id,
            category: &p.category,
        };
        match policy.decide(&tool, name, country, tz, ts) {
            Some(i) => (
                policy.rules[i].id.clone(),
                policy.rules[i].verdict.as_str().to_string(),
            ),
            None => (String::new(), String::new()),
        }
    }

    fn count_blocked(&mut self, r: &ProxyRecord, site: u16, product: ProductId) {
        self.proxy.stats.blocked_ai_vendor += 1;
        let day = day_of(r.ts);
        let (rule_id, verdict) = self.deciding_rule(site, product, r.ts);
        let catalogs = self.catalogs;
        let (site_name, site_country) = match catalogs.sites.sites.get(usize::from(site)) {
            Some(s) => (s.name.clone(), s.country.clone()),
            None => (UNKNOWN_SITE.to_string(), String::new()),
        };
        let department = catalogs
            .assets
            .as_ref()
            .map(|a| {
                a.lookup(r.client_ip, r.ts)
                    .map(|e| e.department.clone())
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| "(not in inventory)".to_string())
            })
            .unwrap_or_default();
        let p = catalogs.vendors.product(product);
        let key = BlockedKey {
            day,
            source_site: site_name,
            site_country,
            department,
            vendor: catalogs.vendors.vendor_of(product).name.clone(),
            product: p.name.clone(),
            hostname: r.host.clone(),
            rule_id,
            verdict,
        };
        self.proxy.blocked.add(key, r.client_ip, r.ts);
    }

    /// Count an allowed request as egress from its client.
    pub fn fold_proxy_egress(
        &mut self,
        r: &ProxyRecord,
        breakdown: &mut FlowBreakdown,
        evidence: Option<&mut dyn EvidenceSink>,
    ) -> Result<()> {
        let (product, literal) = self.proxy_product(r);
        let flow = as_flow(r, literal);
        if flow.dst_ip.is_unspecified() {
            self.proxy.stats.without_server_address += 1;
        }
        self.observed = Some(match self.observed {
            None => (flow.ts, flow.ts),
            Some((a, b)) => (a.min(flow.ts), b.max(flow.ts)),
        });
        if flow.bytes_out.is_none() || flow.bytes_in.is_none() {
            breakdown.bytes_unset += 1;
        }
        let site = self.site(flow.src_ip);
        match site {
            Some(_) => breakdown.egress += 1,
            None => breakdown.egress_unknown_site += 1,
        }
        if let Some(s) = site {
            // The request names its host: egress with a server name.
            self.coverage.egress(s, self.source, flow.ts, false, true);
        }
        let site = site.unwrap_or(NO_SITE);
        let day = day_of(flow.ts);
        let country = if flow.dst_ip.is_unspecified() {
            *b"ZZ"
        } else {
            self.destination(flow.dst_ip).country
        };
        let Some(product) = product else {
            let key = OtherKey {
                day,
                site,
                src: flow.src_ip,
                country,
            };
            self.other
                .entry(key)
                .or_insert_with(|| FlowSum::new(flow.ts))
                .add(&flow);
            return Ok(());
        };
        let (method, hostname) = match literal {
            Some(_) => (Method::IpRange, None),
            None => (Method::ProxyHost, Some(self.proxy.names.intern(&r.host))),
        };
        breakdown.ai_vendor += 1;
        breakdown.count_method(method);
        let key = AiKey {
            day,
            site,
            src: flow.src_ip,
            dst: flow.dst_ip,
            product,
            method,
            hostname,
        };
        self.ai
            .entry(key)
            .or_insert_with(|| FlowSum::new(flow.ts))
            .add(&flow);
        if self.catalogs.policy.is_some() || self.catalogs.assets.is_some() {
            let regimes = self.regimes_for(site, country, product, day, &r.host);
            self.org
                .observe_as(&flow, site, product, day, &regimes, r.user.as_deref());
        }
        if let Some(spool) = evidence {
            let justifying = Some((r.provenance.file, r.provenance.line, r.ts));
            self.write_evidence(
                spool, &flow, site, country, product, method, justifying, hostname, day,
            )?;
        }
        Ok(())
    }

    /// How a flow relates to the proxies, counted; `true` when the proxy log carries it
    /// and it must not be counted as egress.
    pub fn carried_by_proxy_log(&mut self, flow: &FlowRecord) -> bool {
        match self.proxy.coverage.leg(flow.src_ip, flow.dst_ip, flow.ts) {
            ProxyLeg::None => false,
            ProxyLeg::Covered => {
                self.proxy.stats.flows_carried_by_proxy_logs += 1;
                true
            }
            ProxyLeg::Uncovered => {
                self.proxy.stats.proxy_egress_without_proxy_logs += 1;
                false
            }
        }
    }

    /// The URL-filter request of this flow's session, if one is waiting.
    pub fn session_host(&mut self, flow: &FlowRecord) -> Option<ProxyMatch> {
        if self.proxy.sessions.is_empty() {
            return None;
        }
        let r = self.proxy.sessions.take(flow.uid.as_deref()?)?;
        self.proxy.stats.joined_to_flows += 1;
        let (product, literal) = self.proxy_product(&r);
        if literal.is_some() {
            return None;
        }
        Some(ProxyMatch {
            product,
            name: self.proxy.names.intern(&r.host),
            provenance: r.provenance,
            ts: r.ts,
        })
    }

    /// Count the URL-filter requests no flow claimed, on their own.
    pub fn drain_sessions(
        &mut self,
        breakdown: &mut FlowBreakdown,
        mut evidence: Option<&mut dyn EvidenceSink>,
    ) -> Result<()> {
        for r in self.proxy.sessions.drain() {
            self.seq += 1;
            self.fold_proxy_egress(&r, breakdown, reborrow(&mut evidence))?;
        }
        Ok(())
    }

    /// The proxy figures and blocked attempts, at the end of the run.
    pub fn proxy_results(
        &mut self,
    ) -> (ProxyBreakdown, Vec<crate::aggregate::blocked::BlockedRow>) {
        let mut stats = std::mem::take(&mut self.proxy.stats);
        stats.proxies = self.proxy.coverage.addresses();
        (stats, self.proxy.blocked.rows())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xborder_model::schema::Provenance;

    fn request(server: Option<&str>, host: &str) -> ProxyRecord {
        ProxyRecord {
            ts: 1_791_205_921_000_000,
            client_ip: "10.1.0.5".parse().unwrap(),
            user: Some("alice".into()),
            host: host.into(),
            port: Some(443),
            server_ip: server.map(|s| s.parse().unwrap()),
            bytes_out: Some(10),
            bytes_in: None,
            action: ProxyAction::Allowed,
            proxy: None,
            proxy_ip: None,
            session: None,
            provenance: Provenance { file: 2, line: 7 },
        }
    }

    #[test]
    fn a_request_becomes_a_flow_from_its_client() {
        let f = as_flow(&request(Some("160.79.104.10"), "claude.ai"), None);
        assert_eq!(f.src_ip.to_string(), "10.1.0.5");
        assert_eq!(f.dst_ip.to_string(), "160.79.104.10");
        assert_eq!((f.bytes_out, f.bytes_in), (Some(10), None));
        assert_eq!(f.provenance, Provenance { file: 2, line: 7 });
        assert_eq!(f.uid, None, "never joins a flow log's connection ids");
        let literal: IpAddr = "160.79.104.11".parse().unwrap();
        let f = as_flow(&request(None, "160.79.104.11"), Some(literal));
        assert_eq!(f.dst_ip, literal);
        let f = as_flow(&request(None, "claude.ai"), None);
        assert!(
            f.dst_ip.is_unspecified(),
            "no server address: no destination"
        );
    }

    #[test]
    fn duplicate_requests_share_a_key_and_different_ones_do_not() {
        let a = request(None, "claude.ai");
        let mut b = a.clone();
        b.provenance.line = 99;
        assert_eq!(
            proxy_key(&a),
            proxy_key(&b),
            "the same request in two exports"
        );
        b.bytes_out = Some(11);
        assert_ne!(proxy_key(&a), proxy_key(&b));
    }
}
