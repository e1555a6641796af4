//! Building a hickory resolver, and naming the outcome of a look-up.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::{Resolver, TokioResolver};

use xborder_model::error::{Error, Result};

/// Default per-attempt timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 3000;
/// Default attempts per name server.
pub const DEFAULT_ATTEMPTS: usize = 2;

/// Where and how to send queries.
#[derive(Debug, Clone)]
pub struct ResolverSettings {
    /// Explicit name servers (`--nameserver IP:PORT`); empty means /etc/resolv.conf.
    pub nameservers: Vec<SocketAddr>,
    pub timeout: Duration,
    pub attempts: usize,
}

impl Default for ResolverSettings {
    fn default() -> Self {
        ResolverSettings {
            nameservers: Vec::new(),
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            attempts: DEFAULT_ATTEMPTS,
        }
    }
}

/// A ready resolver and a description of the servers it asks.
#[derive(Clone)]
pub struct DnsClient {
    pub resolver: TokioResolver,
    /// `IP:PORT` of every server asked, in order.
    pub servers: Vec<String>,
    /// `system` (from /etc/resolv.conf) or `explicit` (from --nameserver).
    pub source: &'static str,
}

impl DnsClient {
    /// The servers as one field: `127.0.0.1:53` or `10.0.0.2:53 10.0.0.3:53`.
    pub fn label(&self) -> String {
        self.servers.join(" ")
    }

    /// Build a resolver. Must be called inside a tokio runtime.
    pub fn build(settings: &ResolverSettings) -> Result<Self> {
        let (config, mut opts, source) = if settings.nameservers.is_empty() {
            let (config, opts) = hickory_resolver::system_conf::read_system_conf().map_err(|e| {
                Error::config(
                    "/etc/resolv.conf",
                    format!("cannot read the system resolver configuration: {e}; give --nameserver IP:PORT"),
                )
            })?;
            (config, opts, "system")
        } else {
            let servers = settings
                .nameservers
                .iter()
                .map(|sa| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = sa.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = sa.port();
                    NameServerConfig::new(sa.ip(), true, vec![udp, tcp])
                })
                .collect();
            (
                ResolverConfig::from_parts(None, vec![], servers),
                ResolverOpts::default(),
                "explicit",
            )
        };
        if config.name_servers().is_empty() {
            return Err(Error::config(
                "/etc/resolv.conf",
                "no name servers configured; give --nameserver IP:PORT",
            ));
        }
        let servers = config
            .name_servers()
            .iter()
            .map(|ns| {
                let port = ns.connections.first().map(|c| c.port).unwrap_or(53);
                SocketAddr::new(ns.ip, port).to_string()
            })
            .collect();
        opts.timeout = settings.timeout;
        opts.attempts = settings.attempts.max(1);
        // Every answer in a snapshot must come from a server, not from a cache.
        opts.cache_size = 0;
        opts.preserve_intermediates = true;
        let resolver = Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| Error::Dns(format!("cannot build the resolver: {e}")))?;
        Ok(DnsClient {
            resolver,
            servers,
            source,
        })
    }
}

/// A tokio runtime for the look-ups (the rest of xborder is synchronous).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Dns(format!("cannot start the async runtime: {e}")))
}

/// Row rcodes for look-ups that gave no address.
pub const RCODE_NXDOMAIN: &str = "NXDOMAIN";
pub const RCODE_NODATA: &str = "NODATA";
pub const RCODE_SERVFAIL: &str = "SERVFAIL";
pub const RCODE_TIMEOUT: &str = "TIMEOUT";
pub const RCODE_ERROR: &str = "ERROR";

/// The rcode column for a failed look-up, and a one-line detail.
pub fn failure_rcode(e: &NetError) -> (String, String) {
    let detail = e.to_string().replace(['\n', '\r'], " ");
    let rcode = match e {
        NetError::Timeout => RCODE_TIMEOUT.to_string(),
        NetError::Dns(DnsError::NoRecordsFound(nr)) => match nr.response_code {
            ResponseCode::NXDomain => RCODE_NXDOMAIN.to_string(),
            ResponseCode::NoError => RCODE_NODATA.to_string(),
            code => rcode_name(code),
        },
        NetError::Dns(DnsError::ResponseCode(code)) => rcode_name(*code),
        _ if detail.contains("timed out") => RCODE_TIMEOUT.to_string(),
        _ => RCODE_ERROR.to_string(),
    };
    (rcode, detail)
}

fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => RCODE_SERVFAIL.into(),
        ResponseCode::NXDomain => RCODE_NXDOMAIN.into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        other => format!("RCODE{}", u16::from(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_and_rcodes_are_named() {
        assert_eq!(failure_rcode(&NetError::Timeout).0, RCODE_TIMEOUT);
        let e = NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail));
        assert_eq!(failure_rcode(&e).0, RCODE_SERVFAIL);
        let e = NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused));
        assert_eq!(failure_rcode(&e).0, "REFUSED");
        assert_eq!(failure_rcode(&NetError::NoConnections).0, RCODE_ERROR);
    }
}
