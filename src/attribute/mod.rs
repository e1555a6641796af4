//! Attribute: give each egress flow a hostname and say how it was obtained.
//!
//! Evidence ranks: `sni` and `http_host` (the client named the host on this very
//! connection, in its TLS ClientHello or HTTP request; see [`hostnames`]) and `proxy_host`
//! (a web proxy or gateway logged the host the client asked it for; see [`proxies`]), then `dns` (the same client resolved a vendor name to this address shortly
//! before the flow), then `ip_range` (the address is in a range the vendor publishes),
//! then `snapshot` (the organisation's resolver answered this address for a vendor name
//! within `--snapshot-max-distance` of the flow; see [`snapshot`]), then `ptr` (the
//! address's reverse DNS name is a vendor name; `--reverse-dns`), then `none`. The last
//! two are weaker: they were not observed on the client's own path.

pub mod dns_index;
pub mod hostnames;
pub mod interner;
pub mod proxies;
pub mod snapshot;

pub use dns_index::{DnsIndex, DnsIndexBuilder, DnsMatch, DnsWindow};
pub use hostnames::{HostnameIndex, HostnameIndexBuilder, HostnameMatch};
pub use snapshot::{SnapshotIndex, SnapshotMatch};

use serde::Serialize;

/// How a flow's destination was tied to a hostname or vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Sni,
    HttpHost,
    /// The host a web proxy, gateway or URL filter logged for the client's request.
    ProxyHost,
    Dns,
    IpRange,
    Snapshot,
    Ptr,
    None,
}

impl Method {
    /// Every method, strongest evidence first.
    pub const ALL: [Method; 8] = [
        Method::Sni,
        Method::HttpHost,
        Method::ProxyHost,
        Method::Dns,
        Method::IpRange,
        Method::Snapshot,
        Method::Ptr,
        Method::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Sni => "sni",
            Method::HttpHost => "http_host",
            Method::ProxyHost => "proxy_host",
            Method::Dns => "dns",
            Method::IpRange => "ip_range",
            Method::Snapshot => "snapshot",
            Method::Ptr => "ptr",
            Method::None => "none",
        }
    }
}

impl From<crate::schema::HostnameSource> for Method {
    fn from(s: crate::schema::HostnameSource) -> Self {
        match s {
            crate::schema::HostnameSource::Sni => Method::Sni,
            crate::schema::HostnameSource::HttpHost => Method::HttpHost,
        }
    }
}

/// A 128-bit key for a connection id: ids are long strings repeated across logs, and a
/// fixed-size key keeps the join tables small. Two independent 64-bit hashes make a
/// collision among even 10^10 ids vanishingly unlikely.
pub fn uid_key(s: &str) -> u128 {
    crate::fasthash::key128(s)
}
