//! Proxies in flow logs. When clients reach the internet through a web proxy, the flow log
//! sees two legs of each request: client → proxy (internal) and proxy → server (egress
//! from the proxy's own address, with no office, department or person). The proxy's log
//! names the client and the host, so it is the request that counts; the upstream leg must
//! not count a second time.
//!
//! [`ProxyCoverage`] knows the proxy addresses (declared in sites.toml `proxies`, or
//! learned from the proxy logs' own identity) and the hours each proxy's log covers. A
//! flow from (or to) a proxy in a covered hour is carried by the proxy log and not
//! counted as egress; a flow from a proxy in an hour its log does not cover stays egress
//! and is counted as "proxy egress without proxy logs".
//!
//! Coverage is by hour, with the neighbouring hours included: proxies log a request when
//! it ends (a CONNECT tunnel can last long after it opened) while flow logs date a
//! connection from its start. A gap of more than an hour in a proxy's log is a gap in
//! coverage.
//!
//! Logs that do not name their proxy (Squid's access.log) cover every declared proxy that
//! no log names.
//!
//! [`SessionJoin`] pairs a URL-filter log entry with the same device's flow of that
//! session (PAN-OS): the flow keeps its bytes and takes the logged host.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;

use xborder_model::schema::{Micros, ProxyRecord};

const HOUR: Micros = 3_600_000_000;

/// Which proxies exist and when their logs cover them.
#[derive(Debug, Clone, Default)]
pub struct ProxyCoverage {
    declared: Vec<IpNet>,
    /// Addresses proxy logs named as their own.
    detected: BTreeSet<IpAddr>,
    /// Hours with at least one logged request, per proxy address.
    hours: HashMap<IpAddr, HashSet<i64>>,
    /// Hours covered by logs that name no proxy address.
    anonymous: HashSet<i64>,
}

/// What a flow has to do with a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyLeg {
    /// Not a proxy's flow.
    None,
    /// A leg of a request the proxy log counts: not egress of its own.
    Covered,
    /// A flow from a proxy in an hour no proxy log covers: egress, flagged.
    Uncovered,
}

impl ProxyCoverage {
    pub fn new(declared: &[IpNet]) -> Self {
        ProxyCoverage {
            declared: declared.to_vec(),
            ..ProxyCoverage::default()
        }
    }

    /// Learn from one proxy record: its proxy's address and the hour it covers.
    pub fn observe(&mut self, r: &ProxyRecord) {
        let hour = r.ts.div_euclid(HOUR);
        match r.proxy_ip {
            Some(ip) => {
                self.detected.insert(ip);
                self.hours.entry(ip).or_default().insert(hour);
            }
            None => {
                self.anonymous.insert(hour);
            }
        }
    }

    /// True when no proxy is known: the flow pass can skip every check.
    pub fn is_empty(&self) -> bool {
        self.declared.is_empty() && self.detected.is_empty()
    }

    pub fn is_proxy(&self, ip: IpAddr) -> bool {
        self.detected.contains(&ip) || self.declared.iter().any(|n| n.contains(&ip))
    }

    /// Every proxy address, declared networks first, as text for run.json.
    pub fn addresses(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .declared
            .iter()
            .map(|n| {
                if n.prefix_len() == n.max_prefix_len() {
                    n.addr().to_string()
                } else {
                    n.to_string()
                }
            })
            .collect();
        for ip in &self.detected {
            if !self.declared.iter().any(|n| n.contains(ip)) {
                out.push(ip.to_string());
            }
        }
        out
    }

    fn covered_hours(&self, ip: IpAddr) -> Option<&HashSet<i64>> {
        if let Some(h) = self.hours.get(&ip) {
            return Some(h);
        }
        // A declared proxy no log names is covered by the logs that name none.
        (!self.anonymous.is_empty()).then_some(&self.anonymous)
    }

    fn covers(&self, ip: IpAddr, ts: Micros) -> bool {
        let hour = ts.div_euclid(HOUR);
        self.covered_hours(ip)
            .is_some_and(|h| (hour - 1..=hour + 1).any(|x| h.contains(&x)))
    }

    /// How a flow from `src` to `dst` at `ts` relates to the known proxies.
    pub fn leg(&self, src: IpAddr, dst: IpAddr, ts: Micros) -> ProxyLeg {
        if self.is_empty() {
            return ProxyLeg::None;
        }
        if self.is_proxy(src) {
            return if self.covers(src, ts) {
                ProxyLeg::Covered
            } else {
                ProxyLeg::Uncovered
            };
        }
        // Client to proxy: the request itself, which the proxy log counts.
        if self.is_proxy(dst) && self.covers(dst, ts) {
            return ProxyLeg::Covered;
        }
        ProxyLeg::None
    }
}

/// URL-filter requests waiting for the flow of their session.
#[derive(Debug, Default)]
pub struct SessionJoin {
    waiting: HashMap<String, ProxyRecord>,
}

impl SessionJoin {
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Hold an allowed request that has a session prefix. A later request of a session
    /// already held (several URLs over one connection) is handed back: it is the same
    /// connection and is not counted again.
    pub fn hold(&mut self, r: ProxyRecord) -> Option<ProxyRecord> {
        let Some(key) = r.session.clone() else {
            return Some(r);
        };
        if self.waiting.contains_key(&key) {
            return Some(r);
        }
        self.waiting.insert(key, r);
        None
    }

    /// The request whose session prefix begins this flow uid (`panos:serial:session:start`
    /// begins with `panos:serial:session:`), taken out so it counts once.
    pub fn take(&mut self, uid: &str) -> Option<ProxyRecord> {
        let cut = uid.rfind(':')?;
        self.waiting.remove(uid.get(..=cut)?)
    }

    /// Requests no flow claimed, in log order: they count on their own.
    pub fn drain(&mut self) -> Vec<ProxyRecord> {
        let mut rest: Vec<ProxyRecord> = self.waiting.drain().map(|(_, r)| r).collect();
        rest.sort_by_key(|r| r.provenance);
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xborder_model::schema::{Provenance, ProxyAction};

    fn rec(ts: Micros, proxy: Option<&str>) -> ProxyRecord {
        ProxyRecord {
            ts,
            client_ip: "10.1.0.5".parse().unwrap(),
            user: None,
            host: "claude.ai".into(),
            port: Some(443),
            server_ip: None,
            bytes_out: None,
            bytes_in: None,
            action: ProxyAction::Allowed,
            proxy: proxy.map(str::to_string),
            proxy_ip: proxy.and_then(|p| p.parse().ok()),
            session: None,
            provenance: Provenance { file: 0, line: 1 },
        }
    }

    #[test]
    fn upstream_flows_are_covered_only_near_logged_hours() {
        let proxy: IpAddr = "10.9.0.10".parse().unwrap();
        let server: IpAddr = "160.79.104.10".parse().unwrap();
        let client: IpAddr = "10.1.0.5".parse().unwrap();
        let mut c = ProxyCoverage::new(&[]);
        assert_eq!(c.leg(proxy, server, 0), ProxyLeg::None);
        c.observe(&rec(10 * HOUR + 5, Some("10.9.0.10")));
        assert!(c.is_proxy(proxy));
        assert_eq!(c.leg(proxy, server, 10 * HOUR), ProxyLeg::Covered);
        assert_eq!(c.leg(proxy, server, 9 * HOUR), ProxyLeg::Covered);
        assert_eq!(c.leg(proxy, server, 11 * HOUR + 59), ProxyLeg::Covered);
        assert_eq!(c.leg(proxy, server, 12 * HOUR), ProxyLeg::Uncovered);
        assert_eq!(c.leg(client, proxy, 10 * HOUR), ProxyLeg::Covered);
        assert_eq!(c.leg(client, server, 10 * HOUR), ProxyLeg::None);
    }

    #[test]
    fn unnamed_logs_cover_declared_proxies() {
        let net: IpNet = "10.9.0.0/30".parse().unwrap();
        let mut c = ProxyCoverage::new(&[net]);
        let proxy: IpAddr = "10.9.0.2".parse().unwrap();
        let server: IpAddr = "160.79.104.10".parse().unwrap();
        assert_eq!(c.leg(proxy, server, HOUR), ProxyLeg::Uncovered);
        c.observe(&rec(HOUR, None));
        assert_eq!(c.leg(proxy, server, HOUR), ProxyLeg::Covered);
        assert_eq!(c.addresses(), ["10.9.0.0/30"]);
    }

    #[test]
    fn sessions_join_by_uid_prefix_once() {
        let mut j = SessionJoin::default();
        let mut r = rec(0, None);
        r.session = Some("panos:0128:42:".into());
        assert!(j.hold(r.clone()).is_none());
        assert!(
            j.hold(r.clone()).is_some(),
            "a repeated session is handed back"
        );
        assert!(j.take("panos:0128:4:123").is_none());
        assert!(j.take("panos:0128:42:1791205921000000").is_some());
        assert!(j.take("panos:0128:42:1791205921000000").is_none());
        assert!(j.drain().is_empty());
    }
}
