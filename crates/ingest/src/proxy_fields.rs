//! What every proxy reader shares once it has found its fields: turning the client,
//! requested URL or host, server, byte counts and user into a [`ProxyRecord`], naming the
//! field when one does not parse.
//!
//! Vendors disagree on where the host lives: a `Host` field, an absolute URL
//! (`https://api.openai.com/v1/chat`), a CONNECT authority (`api.openai.com:443`), or a URL
//! without a scheme (`api.openai.com/v1/chat`, PAN-OS). [`host_and_port`] reads them all;
//! a host field wins over the URL when both are present.

use std::net::IpAddr;

use super::values::{self, FieldError};
use super::{Item, Reject, RejectReason};
use xborder_model::schema::{
    normalise_host_header, parse_ip, Micros, Provenance, ProxyAction, ProxyRecord, Record,
};

/// The raw values one log line gave, each with the field name it came from.
#[derive(Debug, Default, Clone)]
pub(crate) struct ProxyFields<'a> {
    pub client: Option<(&'static str, &'a str)>,
    pub user: Option<&'a str>,
    /// A bare host, possibly with `:port`.
    pub host: Option<(&'static str, &'a str)>,
    /// An absolute URL, a CONNECT authority or a scheme-less `host/path`.
    pub url: Option<(&'static str, &'a str)>,
    pub port: Option<(&'static str, &'a str)>,
    /// `http`, `https`, `tcp`…: sets the port when nothing else does.
    pub scheme: Option<&'a str>,
    pub server: Option<(&'static str, &'a str)>,
    pub bytes_out: Option<(&'static str, &'a str)>,
    pub bytes_in: Option<(&'static str, &'a str)>,
    pub proxy: Option<&'a str>,
    pub session: Option<String>,
}

/// True for the placeholders logs write for "no value".
pub(crate) fn is_absent(v: &str) -> bool {
    let v = v.trim();
    v.is_empty()
        || v == "-"
        || v.eq_ignore_ascii_case("none")
        || v.eq_ignore_ascii_case("n/a")
        || v.eq_ignore_ascii_case("null")
        || v == "(empty)"
}

fn present<'a>(v: Option<(&'static str, &'a str)>) -> Option<(&'static str, &'a str)> {
    v.filter(|(_, s)| !is_absent(s))
}

/// The host and port a URL, CONNECT authority or `host[:port][/path]` names. `None` when
/// it names no host (a path alone).
pub(crate) fn host_and_port(raw: &str) -> Option<(String, Option<u16>)> {
    let raw = raw.trim();
    let (scheme, rest) = match raw.find("://") {
        Some(i) => (raw.get(..i).map(str::to_ascii_lowercase), raw.get(i + 3..)?),
        None => (None, raw),
    };
    if rest.starts_with('/') || rest.is_empty() {
        return None;
    }
    let authority = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or(rest)
        .rsplit('@')
        .next()
        .unwrap_or("");
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (h, after) = inner.split_once(']')?;
        let port = after.strip_prefix(':').and_then(|p| p.parse::<u16>().ok());
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p.parse::<u16>().ok()?)),
            _ => (authority.to_string(), None),
        }
    };
    let host = xborder_model::schema::normalise_hostname(&host);
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let port = port.or(match scheme.as_deref() {
        Some("https") | Some("wss") => Some(443),
        Some("http") | Some("ws") => Some(80),
        Some("ftp") => Some(21),
        _ => None,
    });
    Some((host, port))
}

fn scheme_port(scheme: &str) -> Option<u16> {
    match scheme.trim().to_ascii_lowercase().as_str() {
        "https" | "ssl" | "tls" | "wss" | "https_proxy" => Some(443),
        "http" | "ws" | "http_proxy" => Some(80),
        "ftp" => Some(21),
        _ => None,
    }
}

/// A field that failed, named.
pub(crate) struct Failed {
    pub field: &'static str,
    pub error: FieldError,
}

fn named<T>(field: &'static str, r: Result<T, FieldError>) -> Result<T, Failed> {
    r.map_err(|error| Failed { field, error })
}

impl ProxyFields<'_> {
    /// The normalised record, or the first field that is missing or does not parse.
    pub(crate) fn build(
        &self,
        ts: Micros,
        action: ProxyAction,
        provenance: Provenance,
    ) -> Result<ProxyRecord, Failed> {
        let Some((cf, client)) = present(self.client) else {
            return Err(Failed {
                field: self.client.map_or("client", |(f, _)| f),
                error: FieldError {
                    reason: RejectReason::MissingField,
                    detail: "no client address".into(),
                },
            });
        };
        let client_ip = named(cf, values::parse_address(client))?;
        let from_host = present(self.host).and_then(|(_, h)| host_and_port(h));
        let from_url = present(self.url).and_then(|(_, u)| host_and_port(u));
        let (host, url_port) = match (from_host, from_url) {
            (Some((h, p)), url) => (h, p.or(url.and_then(|(_, p)| p))),
            (None, Some((h, p))) => (h, p),
            (None, None) => {
                let field = self.host.or(self.url).map_or("host", |(f, _)| f);
                let detail = match present(self.host).or(present(self.url)) {
                    Some((_, v)) => format!("`{v}` names no host"),
                    None => "no requested host or URL".to_string(),
                };
                return Err(Failed {
                    field,
                    error: FieldError {
                        reason: if detail.starts_with("no ") {
                            RejectReason::MissingField
                        } else {
                            RejectReason::InvalidValue
                        },
                        detail,
                    },
                });
            }
        };
        let host = normalise_host_header(&host);
        let port = match present(self.port) {
            Some((f, p)) => Some(named(f, values::parse_port(p))?),
            None => url_port.or_else(|| self.scheme.and_then(scheme_port)),
        };
        let server_ip = match present(self.server) {
            Some((f, s)) => {
                let ip = named(f, values::parse_address(s))?;
                (!ip.is_unspecified()).then_some(ip)
            }
            None => None,
        };
        let count = |v: Option<(&'static str, &str)>| -> Result<Option<u64>, Failed> {
            match present(v) {
                Some((f, n)) => Ok(Some(named(f, values::parse_count_lenient(n))?)),
                None => Ok(None),
            }
        };
        let bytes_out = count(self.bytes_out)?;
        let bytes_in = count(self.bytes_in)?;
        let user = self
            .user
            .filter(|u| !is_absent(u))
            .map(|u| u.trim().to_string());
        let proxy = self
            .proxy
            .filter(|p| !is_absent(p))
            .map(|p| p.trim().to_string());
        let proxy_ip: Option<IpAddr> = proxy.as_deref().and_then(parse_ip);
        Ok(ProxyRecord {
            ts,
            client_ip,
            user,
            host,
            port,
            server_ip,
            bytes_out,
            bytes_in,
            action,
            proxy,
            proxy_ip,
            session: self.session.clone(),
            provenance,
        })
    }

    /// [`Self::build`] as the item a reader hands on: the record or a reject naming the
    /// field.
    pub(crate) fn item(
        &self,
        ts: Micros,
        action: ProxyAction,
        provenance: Provenance,
        raw: &[u8],
    ) -> Item {
        match self.build(ts, action, provenance) {
            Ok(r) => Item::Record(Record::Proxy(r)),
            Err(f) => reject(provenance.line, f.field, f.error, raw),
        }
    }
}

/// A reject item for `field`.
pub(crate) fn reject(line: u64, field: &str, e: FieldError, raw: &[u8]) -> Item {
    Item::Reject(Reject::new(line, field, e.reason, e.detail).with_excerpt(raw))
}

/// The action a Squid or ProxySG result code (`TCP_DENIED/403`, `TCP_MISS`,
/// `TCP_TUNNELED`, `TCP_HIT`) stands for: denials are blocked; answers from the proxy's
/// cache (`HIT` without a refresh upstream) and requests that never went upstream
/// (`NONE`, `TAG_NONE`, status 407) are other; everything else went to the server.
pub(crate) fn squid_code_action(code: &str, status: Option<u16>) -> ProxyAction {
    let tag = code.split('/').next().unwrap_or(code).to_ascii_uppercase();
    if tag.contains("DENIED") || tag.contains("BLOCKED") {
        return ProxyAction::Blocked;
    }
    if status == Some(407) || tag == "NONE" || tag.starts_with("TAG_NONE") || tag == "NONE_NONE" {
        return ProxyAction::Other;
    }
    if tag.contains("HIT") && !tag.contains("REFRESH") {
        return ProxyAction::Other;
    }
    ProxyAction::Allowed
}

/// The action a vendor's word for it stands for, for the gateways that write words
/// (`Allowed`, `Blocked`, `Accept`, `Drop`, `block-url`, `passthrough`).
pub(crate) fn word_action(word: &str) -> Option<ProxyAction> {
    let w = word.trim().to_ascii_lowercase();
    let w = w.trim_matches('"');
    const BLOCKED: &[&str] = &[
        "blocked",
        "block",
        "deny",
        "denied",
        "drop",
        "dropped",
        "reject",
        "rejected",
        "prevent",
        "block-url",
        "block-continue",
        "block-override",
        "override-lockout",
        "reset-client",
        "reset-server",
        "reset-both",
        "sinkhole",
        "ftgd_blk",
    ];
    const ALLOWED: &[&str] = &[
        "allowed",
        "allow",
        "accept",
        "accepted",
        "pass",
        "passthrough",
        "permit",
        "permitted",
        "proxied",
        "observed",
        "alert",
        "continue",
        "override",
        "inform",
        "detect",
        "monitor",
        "monitored",
        "exempt",
        "close",
        "timeout",
        "client-rst",
        "server-rst",
    ];
    if BLOCKED.contains(&w) {
        Some(ProxyAction::Blocked)
    } else if ALLOWED.contains(&w) {
        Some(ProxyAction::Allowed)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_come_from_urls_authorities_and_bare_paths() {
        let hp = |s| host_and_port(s);
        assert_eq!(
            hp("https://API.OpenAI.com/v1/chat?x=1"),
            Some(("api.openai.com".into(), Some(443)))
        );
        assert_eq!(
            hp("api.anthropic.com:443"),
            Some(("api.anthropic.com".into(), Some(443)))
        );
        assert_eq!(hp("claude.ai/chat/abc"), Some(("claude.ai".into(), None)));
        assert_eq!(
            hp("http://user@[2001:db8::1]:8080/x"),
            Some(("2001:db8::1".into(), Some(8080)))
        );
        assert_eq!(hp("/v1/chat"), None);
        assert_eq!(hp("http://host:notaport/"), None);
    }

    #[test]
    fn a_host_field_wins_and_placeholders_are_absent() {
        let f = ProxyFields {
            client: Some(("c-ip", "10.0.0.5")),
            user: Some("-"),
            host: Some(("cs-host", "Claude.AI")),
            url: Some(("cs-uri", "https://other.example/")),
            server: Some(("r-ip", "-")),
            bytes_in: Some(("sc-bytes", "120")),
            ..ProxyFields::default()
        };
        let p = Provenance { file: 0, line: 3 };
        let r = f.build(0, ProxyAction::Allowed, p).ok().unwrap();
        assert_eq!(r.host, "claude.ai");
        assert_eq!(r.port, Some(443), "the URL's scheme still gives the port");
        assert_eq!(r.user, None);
        assert_eq!(r.server_ip, None);
        assert_eq!((r.bytes_out, r.bytes_in), (None, Some(120)));
    }

    #[test]
    fn bad_fields_are_named() {
        let f = ProxyFields {
            client: Some(("c-ip", "10.0.0.300")),
            host: Some(("cs-host", "x.example")),
            ..ProxyFields::default()
        };
        let p = Provenance { file: 0, line: 1 };
        let e = f.build(0, ProxyAction::Allowed, p).err().unwrap();
        assert_eq!(e.field, "c-ip");
        assert_eq!(e.error.reason, RejectReason::InvalidAddress);
        let f = ProxyFields {
            client: Some(("c-ip", "10.0.0.3")),
            url: Some(("cs-uri", "/only/a/path")),
            ..ProxyFields::default()
        };
        let e = f.build(0, ProxyAction::Allowed, p).err().unwrap();
        assert_eq!(e.field, "cs-uri");
        assert_eq!(e.error.reason, RejectReason::InvalidValue);
    }

    #[test]
    fn squid_codes_and_vendor_words() {
        assert_eq!(
            squid_code_action("TCP_DENIED/403", Some(403)),
            ProxyAction::Blocked
        );
        assert_eq!(
            squid_code_action("TCP_TUNNEL/200", Some(200)),
            ProxyAction::Allowed
        );
        assert_eq!(
            squid_code_action("TCP_MEM_HIT/200", Some(200)),
            ProxyAction::Other
        );
        assert_eq!(
            squid_code_action("TCP_REFRESH_MODIFIED_HIT", None),
            ProxyAction::Allowed
        );
        assert_eq!(
            squid_code_action("TCP_MISS/407", Some(407)),
            ProxyAction::Other
        );
        assert_eq!(word_action("Blocked"), Some(ProxyAction::Blocked));
        assert_eq!(word_action("block-url"), Some(ProxyAction::Blocked));
        assert_eq!(word_action("Accept"), Some(ProxyAction::Allowed));
        assert_eq!(word_action("maybe"), None);
    }
}
