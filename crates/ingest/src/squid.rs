//! Squid access.log, in its native format and in the common/combined formats Squid's
//! `logformat` directive predefines.
//!
//! Native (`logformat squid`): `time elapsed client code/status bytes method URL user
//! hierarchy/peer type`, whitespace-separated and padded, time in epoch seconds with
//! milliseconds. Common (`logformat common`, Squid's own definition):
//! `client ident user [dd/Mon/yyyy:HH:MM:SS zone] "METHOD URL HTTP/v" status bytes
//! Squid-status:hierarchy`; combined adds `"Referer" "User-Agent"` before the last field.
//!
//! Tricky:
//! * `bytes` is what Squid sent the client (reply size, headers included): the download.
//!   Squid's default formats log no request size, so the upload is unknown (unset).
//! * `TCP_DENIED` is a request the proxy refused (blocked); `TCP_HIT`, `TCP_MEM_HIT`…
//!   were answered from the cache and never reached the server (other); `NONE`/`TAG_NONE`
//!   requests and 407 challenges never went upstream (other).
//! * CONNECT requests carry `host:port` instead of a URL (HTTPS without interception):
//!   the host is all there is, no path.
//! * The common format is also what web servers write. It is taken as Squid's only when
//!   lines end with a `TCP_…:HIER_…` field or request absolute URLs or CONNECT; a web
//!   server's relative paths are not proxy requests.
//! * Native logs name no proxy; `HIER_DIRECT/203.0.113.9` names the server.

use std::io::BufRead;

use super::proxy_fields::{reject, squid_code_action, ProxyFields};
use super::text::read_lines;
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{Micros, ProxyAction};

pub static NATIVE: FormatSpec = FormatSpec {
    id: "squid-native",
    title: "Squid access.log, native format",
    kinds: &[RecordKind::Proxy],
    detected_by: "lines of `epoch.millis elapsed client CODE/status bytes method URL ...` (Squid's default logformat)",
    bytes: "bytes (field 5) is the reply size sent to the client (download); no request size is logged",
    field_map: &[
        ("ts", "time (field 1, epoch seconds with milliseconds, UTC)"),
        ("client_ip", "remotehost (field 3)"),
        ("user", "rfc931/user (field 8), when not `-`"),
        ("host / port", "URL (field 7): absolute URL or CONNECT host:port"),
        ("server_ip", "hierarchy/peer (field 9) when the peer is an address"),
        ("bytes_in", "bytes (field 5)"),
        ("bytes_out", "not logged"),
        ("action", "result code (field 4): *DENIED* blocked; cache hits, NONE, 407 other; else allowed"),
        ("proxy", "not logged (declare the proxy's address in sites.toml `proxies`)"),
    ],
    detect: detect_native,
    read: read_native,
};

pub static COMBINED: FormatSpec = FormatSpec {
    id: "squid-combined",
    title: "Squid access.log, common or combined format",
    kinds: &[RecordKind::Proxy],
    detected_by: "common log format lines (`client ident user [time] \"METHOD URL HTTP/v\" status bytes`) that end in a Squid `TCP_…:HIER_…` field or request absolute URLs or CONNECT",
    bytes: "bytes (%<st) is the reply size sent to the client (download); no request size is logged",
    field_map: &[
        ("ts", "[dd/Mon/yyyy:HH:MM:SS zone] (%tl)"),
        ("client_ip", "first field (%>a)"),
        ("user", "third field (%[un), else the ident field, when not `-`"),
        ("host / port", "the request line's URL (%ru): absolute URL or CONNECT host:port"),
        ("server_ip", "not logged"),
        ("bytes_in", "bytes (%<st)"),
        ("action", "Squid status (%Ss) when logged: *DENIED* blocked, cache hits and NONE other; 407 other; else allowed"),
        ("proxy", "not logged (declare the proxy's address in sites.toml `proxies`)"),
    ],
    detect: detect_combined,
    read: read_combined,
};

/// `CODE/status`: upper-case Squid result code and an HTTP status.
fn split_code(token: &str) -> Option<(&str, Option<u16>)> {
    let (code, status) = token.split_once('/')?;
    let ok = !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit());
    if !ok || !status.bytes().all(|b| b.is_ascii_digit()) || status.is_empty() {
        return None;
    }
    Some((code, status.parse().ok()))
}

fn is_native_line(line: &str) -> bool {
    let t: Vec<&str> = line.split_whitespace().collect();
    t.len() >= 7
        && t[0].split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
        && t[1].bytes().all(|c| c.is_ascii_digit() || c == b'-')
        && split_code(t[3]).is_some()
        && t[4].bytes().all(|c| c.is_ascii_digit())
}

fn detect_native(h: &Head<'_>) -> bool {
    is_native_line(h.first_line)
}

fn read_native(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    read_lines(reader, ctx, sink, &mut |number, text, sink| {
        let raw = text.as_bytes();
        let t: Vec<&str> = text.split_whitespace().collect();
        if t.len() < 7 {
            return sink(reject(
                number,
                "(line)",
                FieldError {
                    reason: RejectReason::ColumnCount,
                    detail: format!("{} fields; a native Squid line has at least 7", t.len()),
                },
                raw,
            ));
        }
        let ts = match values::parse_epoch_decimal(t[0]) {
            Ok(ts) => ts,
            Err(e) => return sink(reject(number, "time", e, raw)),
        };
        let Some((code, status)) = split_code(t[3]) else {
            return sink(reject(
                number,
                "code/status",
                FieldError {
                    reason: RejectReason::InvalidValue,
                    detail: format!("`{}` is not a Squid CODE/status", t[3]),
                },
                raw,
            ));
        };
        let server = t
            .get(8)
            .and_then(|h| h.split_once('/'))
            .map(|(_, peer)| peer)
            .filter(|peer| xborder_model::schema::parse_ip(peer).is_some());
        let fields = ProxyFields {
            client: Some(("remotehost", t[2])),
            user: t.get(7).copied(),
            url: Some(("url", t[6])),
            server: server.map(|s| ("peerhost", s)),
            bytes_in: Some(("bytes", t[4])),
            ..ProxyFields::default()
        };
        let action = squid_code_action(code, status);
        sink(fields.item(ts, action, ctx.provenance(number), raw))
    })
}

/// A common-log line's tokens: bare words, `"quoted"` (with `\"` escapes) and
/// `[bracketed]` values, without their delimiters.
fn tokens(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        let mut tok = String::new();
        match c {
            '"' => {
                chars.next();
                tok = super::text::rest_of_quoted(&mut chars)?;
            }
            '[' => {
                chars.next();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    tok.push(c);
                }
                if !closed {
                    return None;
                }
            }
            _ => {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    tok.push(c);
                    chars.next();
                }
            }
        }
        out.push(tok);
    }
    Some(out)
}

/// The parts of a common/combined line.
struct Common {
    client: String,
    ident: String,
    user: String,
    time: String,
    method: String,
    url: String,
    status: String,
    bytes: String,
    squid: Option<String>,
}

fn parse_common(line: &str) -> Option<Common> {
    let t = tokens(line)?;
    if t.len() < 7 {
        return None;
    }
    let mut request = t[4].split_whitespace();
    let method = request.next()?.to_string();
    let url = request.next()?.to_string();
    let last = t.last()?;
    let squid = (t.len() == 8 || t.len() == 10)
        .then(|| last.clone())
        .filter(|l| {
            l.contains(':')
                && l.split(':')
                    .next()
                    .is_some_and(|c| split_code(&format!("{c}/0")).is_some())
        });
    Some(Common {
        client: t[0].clone(),
        ident: t[1].clone(),
        user: t[2].clone(),
        time: t[3].clone(),
        method,
        url,
        status: t[5].clone(),
        bytes: t[6].clone(),
        squid,
    })
}

fn is_proxy_request(c: &Common) -> bool {
    c.squid.is_some() || c.method.eq_ignore_ascii_case("CONNECT") || c.url.contains("://")
}

fn detect_combined(h: &Head<'_>) -> bool {
    parse_common(h.first_line)
        .is_some_and(|c| is_proxy_request(&c) && c.time.contains('/') && c.time.contains(':'))
}

fn parse_clf_time(s: &str) -> std::result::Result<Micros, FieldError> {
    chrono::DateTime::parse_from_str(s.trim(), "%d/%b/%Y:%H:%M:%S%.f %z")
        .map(|d| d.timestamp_micros())
        .map_err(|_| FieldError {
            reason: RejectReason::InvalidTimestamp,
            detail: format!("`{s}` is not dd/Mon/yyyy:HH:MM:SS +zone"),
        })
}

fn read_combined(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    read_lines(reader, ctx, sink, &mut |number, text, sink| {
        let raw = text.as_bytes();
        let Some(c) = parse_common(text) else {
            return sink(reject(
                number,
                "(line)",
                FieldError {
                    reason: RejectReason::ColumnCount,
                    detail: "not a common log format line (client ident user [time] \"request\" status bytes)".into(),
                },
                raw,
            ));
        };
        if !is_proxy_request(&c) {
            return sink(Item::Filtered {
                line: number,
                reason: "squid_not_a_proxy_request",
            });
        }
        let ts = match parse_clf_time(&c.time) {
            Ok(ts) => ts,
            Err(e) => return sink(reject(number, "time", e, raw)),
        };
        let status: Option<u16> = c.status.parse().ok();
        let action = match &c.squid {
            Some(tag) => squid_code_action(tag.split(':').next().unwrap_or(tag), status),
            None if status == Some(407) => ProxyAction::Other,
            None => ProxyAction::Allowed,
        };
        let user = if c.user != "-" { &c.user } else { &c.ident };
        let fields = ProxyFields {
            client: Some(("client", &c.client)),
            user: Some(user),
            url: Some(("request", &c.url)),
            bytes_in: Some(("bytes", &c.bytes)),
            ..ProxyFields::default()
        };
        sink(fields.item(ts, action, ctx.provenance(number), raw))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_text, ReaderOptions};

    use crate::proxy_records as proxies;

    #[test]
    fn native_lines_give_client_host_bytes_and_action() {
        let text = "1791205921.123    352 10.1.2.3 TCP_TUNNEL/200 5120 CONNECT api.anthropic.com:443 alice HIER_DIRECT/160.79.104.10 -\n\
                    1791205922.000      0 10.1.2.4 TCP_DENIED/403 3900 CONNECT chat.deepseek.com:443 - HIER_NONE/- text/html\n\
                    1791205923.500     12 10.1.2.4 TCP_MEM_HIT/200 800 GET http://example.com/x - HIER_NONE/- text/html\n";
        let items = read_text(read_native, text, &ReaderOptions::default());
        let p = proxies(&items);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].ts, 1_791_205_921_123_000);
        assert_eq!(p[0].host, "api.anthropic.com");
        assert_eq!(p[0].port, Some(443));
        assert_eq!(p[0].user.as_deref(), Some("alice"));
        assert_eq!(p[0].server_ip, "160.79.104.10".parse().ok());
        assert_eq!((p[0].bytes_out, p[0].bytes_in), (None, Some(5120)));
        assert_eq!(p[0].action, ProxyAction::Allowed);
        assert_eq!(p[1].action, ProxyAction::Blocked);
        assert_eq!(p[1].server_ip, None);
        assert_eq!(p[2].action, ProxyAction::Other);
        assert_eq!(p[2].port, Some(80));
    }

    #[test]
    fn combined_lines_and_web_server_lines() {
        let text = "10.1.2.3 - bob [05/Oct/2026:13:12:01 +0200] \"CONNECT api.openai.com:443 HTTP/1.1\" 200 4521 \"-\" \"curl/8\" TCP_TUNNEL:HIER_DIRECT\n\
                    10.1.2.3 - - [05/Oct/2026:13:12:02 +0200] \"GET /index.html HTTP/1.1\" 200 10\n";
        let items = read_text(read_combined, text, &ReaderOptions::default());
        let p = proxies(&items);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].ts, 1_791_198_721_000_000);
        assert_eq!(p[0].user.as_deref(), Some("bob"));
        assert_eq!(p[0].host, "api.openai.com");
        assert!(matches!(
            items[1],
            Item::Filtered {
                reason: "squid_not_a_proxy_request",
                ..
            }
        ));
    }
}
