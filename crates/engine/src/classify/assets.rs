//! The asset inventory (`--assets FILE`): who and which department a source address
//! belongs to, with optional lease windows for DHCP-style reassignment.
//!
//! CSV columns: `address` (an IP or a CIDR; `ip` and `cidr` are accepted as the header
//! name), `hostname`, `owner`, `department`, and optionally `valid_from` / `valid_until`
//! (a date meaning 00:00 UTC, or an RFC 3339 time; `valid_until` is exclusive). A single
//! address beats a CIDR; among matches the most specific prefix whose lease covers the
//! flow's time wins.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

use xborder_model::error::{Error, Result};
use xborder_model::schema::Micros;

/// One inventory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub net: IpNet,
    pub hostname: String,
    pub owner: String,
    pub department: String,
    pub valid_from: Option<Micros>,
    pub valid_until: Option<Micros>,
}

impl Asset {
    fn covers(&self, ts: Micros) -> bool {
        self.valid_from.is_none_or(|f| ts >= f) && self.valid_until.is_none_or(|u| ts < u)
    }
}

/// The inventory, indexed for per-address look-ups.
#[derive(Debug, Clone, Default)]
pub struct Assets {
    pub entries: Vec<Asset>,
    hosts: HashMap<IpAddr, Vec<usize>>,
    /// Wider prefixes, most specific first.
    networks: Vec<usize>,
    pub path: String,
    pub sha256: String,
}

impl Assets {
    pub fn load(path: &Path) -> Result<Self> {
        let label = path.display().to_string();
        let bytes = xborder_model::fsio::read_regular(path)?;
        let mut assets = Self::parse(&label, &bytes)?;
        assets.sha256 = xborder_model::hash::sha256_bytes(&bytes);
        Ok(assets)
    }

    pub fn parse(label: &str, bytes: &[u8]) -> Result<Self> {
        let bytes = bytes
            .strip_prefix(xborder_model::text::UTF8_BOM)
            .unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let headers = reader
            .headers()
            .map_err(|e| Error::config(label, format!("line 1: {e}")))?
            .clone();
        let col = |names: &[&str]| {
            headers
                .iter()
                .position(|h| names.contains(&h.to_ascii_lowercase().as_str()))
        };
        let address = col(&["address", "ip", "cidr", "ip_or_cidr"])
            .ok_or_else(|| Error::config(label, "line 1: no `address` (or `ip`/`cidr`) column"))?;
        let hostname = col(&["hostname", "host"]);
        let owner = col(&["owner"]);
        let department = col(&["department", "dept"]);
        let from = col(&["valid_from"]);
        let until = col(&["valid_until"]);
        let mut entries = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| Error::config(label, format!("line {line}: {e}")))?;
            let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("").to_string();
            let raw = get(Some(address));
            let net: IpNet = match raw.parse::<IpNet>() {
                Ok(n) => n.trunc(),
                Err(_) => match xborder_model::schema::parse_ip(&raw) {
                    Some(ip) => IpNet::from(ip),
                    None => {
                        return Err(Error::config(
                            label,
                            format!("line {line}: field `address`: `{raw}` is not an IP or CIDR"),
                        ))
                    }
                },
            };
            let time = |field: &str, c: Option<usize>| -> Result<Option<Micros>> {
                let v = get(c);
                if v.is_empty() {
                    return Ok(None);
                }
                xborder_model::period::parse_instant(&v, field)
                    .map(Some)
                    .map_err(|_| Error::config(label, format!("line {line}: field `{field}`: `{v}` is not a date or RFC 3339 time")))
            };
            let valid_from = time("valid_from", from)?;
            let valid_until = time("valid_until", until)?;
            if let (Some(a), Some(b)) = (valid_from, valid_until) {
                if b <= a {
                    return Err(Error::config(
                        label,
                        format!("line {line}: valid_until is not after valid_from"),
                    ));
                }
            }
            entries.push(Asset {
                net,
                hostname: get(hostname),
                owner: get(owner),
                department: get(department),
                valid_from,
                valid_until,
            });
        }
        let mut hosts: HashMap<IpAddr, Vec<usize>> = HashMap::new();
        let mut networks = Vec::new();
        for (i, a) in entries.iter().enumerate() {
            if a.net.prefix_len() == a.net.max_prefix_len() {
                hosts.entry(a.net.addr()).or_default().push(i);
            } else {
                networks.push(i);
            }
        }
        networks.sort_by(|a, b| {
            entries[*b]
                .net
                .prefix_len()
                .cmp(&entries[*a].net.prefix_len())
                .then(a.cmp(b))
        });
        Ok(Assets {
            entries,
            hosts,
            networks,
            path: label.to_string(),
            sha256: String::new(),
        })
    }

    /// The asset holding `ip` at time `ts`.
    pub fn lookup(&self, ip: IpAddr, ts: Micros) -> Option<&Asset> {
        if let Some(list) = self.hosts.get(&ip) {
            if let Some(a) = list
                .iter()
                .map(|i| &self.entries[*i])
                .find(|a| a.covers(ts))
            {
                return Some(a);
            }
        }
        self.networks
            .iter()
            .map(|i| &self.entries[*i])
            .find(|a| a.net.contains(&ip) && a.covers(ts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_change_owner_mid_period_and_hosts_beat_networks() {
        let csv = "address,hostname,owner,department,valid_from,valid_until\n\
                   10.10.1.0/24,,,R&D,,\n\
                   10.10.1.4,dev-04,Wang Fang,R&D Platform,2026-07-01,2026-08-15\n\
                   10.10.1.4,dev-04b,Li Lei,R&D Tools,2026-08-15,\n";
        let a = Assets::parse("assets.csv", csv.as_bytes()).unwrap();
        let t = |s: &str| xborder_model::period::parse_instant(s, "t").unwrap();
        let ip: IpAddr = "10.10.1.4".parse().unwrap();
        assert_eq!(
            a.lookup(ip, t("2026-08-14T23:59:59Z")).unwrap().owner,
            "Wang Fang"
        );
        assert_eq!(a.lookup(ip, t("2026-08-15")).unwrap().owner, "Li Lei");
        assert_eq!(a.lookup(ip, t("2026-06-30")).unwrap().department, "R&D");
        assert_eq!(
            a.lookup("10.10.1.9".parse().unwrap(), t("2026-08-01"))
                .unwrap()
                .department,
            "R&D"
        );
        assert!(a
            .lookup("10.20.0.1".parse().unwrap(), t("2026-08-01"))
            .is_none());
    }

    #[test]
    fn errors_name_line_and_field() {
        let e =
            Assets::parse("assets.csv", b"address,owner\n10.0.0.1,a\n10.0.0.999,b\n").unwrap_err();
        assert!(
            e.to_string().contains("line 3") && e.to_string().contains("address"),
            "{e}"
        );
        let e = Assets::parse("assets.csv", b"owner\nx\n").unwrap_err();
        assert!(e.to_string().contains("address"), "{e}");
    }
}
