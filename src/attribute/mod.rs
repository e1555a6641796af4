//! Attribute: give each egress flow a hostname and say how it was obtained.
//!
//! Evidence ranks: `dns` (the same client resolved a vendor name to this address shortly
//! before the flow), then `ip_range` (the address is in a range the vendor publishes),
//! then `none`.

pub mod dns_index;

pub use dns_index::{DnsIndex, DnsIndexBuilder, DnsMatch, DnsWindow};

use serde::Serialize;

/// How a flow's destination was tied to a hostname or vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Dns,
    IpRange,
    None,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Dns => "dns",
            Method::IpRange => "ip_range",
            Method::None => "none",
        }
    }
}
