//! Attribute: give each egress flow a hostname and say how it was obtained.
//!
//! Evidence ranks: `sni` and `http_host` (the client named the host on this very
//! connection, in its TLS ClientHello or HTTP request; see [`hostnames`]) and `proxy_host`
//! (a web proxy or gateway logged the host the client asked it for; see [`proxies`]), then `dns` (the same client resolved a vendor name to this address shortly
//! before the flow), then `ip_range` (the address is in a range the vendor publishes),
//! then `snapshot` (the organisation's resolver answered this address for a vendor name
//! within `--snapshot-max-distance` of the flow; see [`snapshot`]), then `ptr` (the
//! address's reverse DNS name is a vendor name; `--reverse-dns`), then `none`. The last
//! two are weaker: they were not observed on the client's own path. [`cascade`] decides
//! between the claims.

pub mod cascade;
pub mod dns_index;
pub mod hostnames;
pub mod interner;
mod packed_answers;
pub mod proxies;
pub mod snapshot;

pub use dns_index::{DnsHints, DnsIndex, DnsIndexBuilder, DnsMatch, DnsWindow};
pub use hostnames::{HostnameIndex, HostnameIndexBuilder, HostnameMatch};
pub use snapshot::{SnapshotIndex, SnapshotMatch};

pub use xborder_model::schema::Method;

/// A 128-bit key for a connection id: ids are long strings repeated across logs, and a
/// fixed-size key keeps the join tables small. Two independent 64-bit hashes make a
/// collision among even 10^10 ids vanishingly unlikely.
pub fn uid_key(s: &str) -> u128 {
    xborder_model::fasthash::key128(s)
}
