//! Check Point Log Exporter in its syslog format: an RFC 5424 header whose app name is
//! `CheckPoint`, then the log's fields in brackets, as `key:"value";` pairs (R80) or as
//! an RFC 5424 structured-data element `[Fields@1.3.6.1.4.1.2620 key="value" ...]` (R81).
//!
//! Only logs naming a URL (`resource`, written by URL Filtering and Application Control)
//! are requests; connection logs without one are filtered (`checkpoint_no_url`): read the
//! gateway's connections as flows through a flow export.
//!
//! Tricky:
//! * Keys may contain spaces (`ICMP Type`); values escape `"` and `\` with a backslash.
//! * `time` is epoch seconds (UTC); without it the syslog header's RFC 3339 time is used.
//! * `src_user_name` reads `Full Name (login)`; it is kept as written.
//! * `origin` is the gateway that logged the request; when clients reach the internet
//!   through it with NAT, flows from that address are the upstream legs of these requests.

use std::io::BufRead;

use super::proxy_fields::{reject, word_action, ProxyFields};
use super::syslog;
use super::text::read_lines;
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::ProxyAction;

pub static SPEC: FormatSpec = FormatSpec {
    id: "checkpoint-log-exporter",
    title: "Check Point Log Exporter, syslog format (URL Filtering, Application Control)",
    kinds: &[RecordKind::Proxy],
    detected_by: "a syslog line from app CheckPoint whose bracketed fields are key:\"value\"; pairs or a Fields@1.3.6.1.4.1.2620 element",
    bytes: "client_outbound_bytes (else sent_bytes) is what the client sent (upload), client_inbound_bytes (else received_bytes) what it received",
    field_map: &[
        ("ts", "time (epoch seconds), else the syslog header's time"),
        ("client_ip", "src"),
        ("user", "src_user_name, else user"),
        ("host", "the host of resource (the URL)"),
        ("port", "service (the destination port), else from the URL"),
        ("server_ip", "dst"),
        ("bytes_out", "client_outbound_bytes, else sent_bytes"),
        ("bytes_in", "client_inbound_bytes, else received_bytes"),
        ("action", "action: Accept/Allow/Inform/Detect allowed; Drop/Reject/Block/Prevent blocked; else other"),
        ("proxy", "origin (the gateway)"),
        ("(filtered)", "logs without resource (checkpoint_no_url)"),
    ],
    detect,
    read,
};

/// The bracketed fields of a Log Exporter line, unescaped.
fn fields(line: &str) -> Option<Vec<(String, String)>> {
    let at = line.find(" CheckPoint ")?;
    let rest = line.get(at..)?;
    let open = rest.find('[')?;
    let body = rest.get(open + 1..)?;
    let body = body.strip_prefix("Fields@1.3.6.1.4.1.2620").unwrap_or(body);
    let mut out = Vec::new();
    let mut chars = body.chars().peekable();
    loop {
        while chars
            .peek()
            .is_some_and(|c| *c == ' ' || *c == ';' || *c == '\t')
        {
            chars.next();
        }
        match chars.peek() {
            None | Some(']') => break,
            _ => {}
        }
        let mut key = String::new();
        let mut found = false;
        while let Some(c) = chars.next() {
            if (c == ':' || c == '=') && chars.peek() == Some(&'"') {
                chars.next();
                found = true;
                break;
            }
            if c == ']' {
                break;
            }
            key.push(c);
        }
        if !found {
            return None;
        }
        let value = super::text::rest_of_quoted(&mut chars)?;
        out.push((key.trim().to_string(), value));
    }
    Some(out)
}

fn get<'f>(f: &'f [(String, String)], key: &str) -> Option<&'f str> {
    f.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn detect(h: &Head<'_>) -> bool {
    fields(h.first_line).is_some_and(|f| {
        !f.is_empty() && (get(&f, "product").is_some() || get(&f, "origin").is_some())
    })
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    read_lines(reader, ctx, sink, &mut |number, text, sink| {
        let raw = text.as_bytes();
        let Some(f) = fields(text) else {
            return sink(reject(
                number,
                "(line)",
                FieldError {
                    reason: RejectReason::ColumnCount,
                    detail: "no CheckPoint [key:\"value\"; ...] fields".into(),
                },
                raw,
            ));
        };
        let Some(resource) = get(&f, "resource") else {
            return sink(Item::Filtered {
                line: number,
                reason: "checkpoint_no_url",
            });
        };
        let ts = match get(&f, "time") {
            Some(t) => match values::parse_epoch_auto(t) {
                Ok(ts) => ts,
                Err(e) => return sink(reject(number, "time", e, raw)),
            },
            None => {
                let header = syslog::strip_pri(text);
                let header = header.strip_prefix("1 ").unwrap_or(header);
                let stamp = header
                    .split_whitespace()
                    .next()
                    .map(values::parse_timestamp_any);
                match stamp {
                    Some(Ok(ts)) => ts,
                    _ => {
                        return sink(reject(
                            number,
                            "time",
                            FieldError {
                                reason: RejectReason::MissingField,
                                detail: "no time field and no RFC 3339 syslog time".into(),
                            },
                            raw,
                        ))
                    }
                }
            }
        };
        let action = get(&f, "action")
            .and_then(word_action)
            .unwrap_or(ProxyAction::Other);
        // `service` is a port number in exports, sometimes `https` or `443/tcp`.
        let service = get(&f, "service")
            .map(|s| s.split('/').next().unwrap_or(s))
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()));
        let fields = ProxyFields {
            client: Some(("src", get(&f, "src").unwrap_or(""))),
            user: get(&f, "src_user_name").or(get(&f, "user")),
            url: Some(("resource", resource)),
            port: service.map(|s| ("service", s)),
            server: get(&f, "dst").map(|v| ("dst", v)),
            bytes_out: get(&f, "client_outbound_bytes")
                .map(|v| ("client_outbound_bytes", v))
                .or(get(&f, "sent_bytes").map(|v| ("sent_bytes", v))),
            bytes_in: get(&f, "client_inbound_bytes")
                .map(|v| ("client_inbound_bytes", v))
                .or(get(&f, "received_bytes").map(|v| ("received_bytes", v))),
            proxy: get(&f, "origin"),
            ..ProxyFields::default()
        };
        sink(fields.item(ts, action, ctx.provenance(number), raw))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_text, ReaderOptions};
    use xborder_model::schema::Record;

    #[test]
    fn both_field_syntaxes() {
        let text = "<134>1 2026-10-05T11:12:01Z gw-paris CheckPoint 26203 - [action:\"Accept\"; origin:\"192.0.2.1\"; time:\"1791205921\"; product:\"URL Filtering\"; src:\"10.5.0.4\"; dst:\"160.79.104.10\"; service:\"443\"; resource:\"https://claude.ai/api/chat\"; src_user_name:\"Grace Hopper (ghopper)\"; client_outbound_bytes:\"3000\"; client_inbound_bytes:\"12000\"]\n\
<134>1 2026-10-05T11:12:02Z gw-paris CheckPoint 26203 - [Fields@1.3.6.1.4.1.2620 action=\"Drop\" origin=\"192.0.2.1\" product=\"URL Filtering\" src=\"10.5.0.5\" dst=\"104.18.32.47\" resource=\"https://chatgpt.com/\" ICMP Type=\"8\"]\n\
<134>1 2026-10-05T11:12:03Z gw-paris CheckPoint 26203 - [action:\"Accept\"; origin:\"192.0.2.1\"; product:\"VPN-1 & FireWall-1\"; src:\"10.5.0.5\"; dst:\"192.0.2.50\"]\n";
        let items = read_text(read, text, &ReaderOptions::default());
        let p: Vec<_> = items
            .iter()
            .filter_map(|i| match i {
                Item::Record(Record::Proxy(p)) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(p.len(), 2, "{items:?}");
        assert_eq!(p[0].ts, 1_791_205_921_000_000);
        assert_eq!(p[0].host, "claude.ai");
        assert_eq!(p[0].user.as_deref(), Some("Grace Hopper (ghopper)"));
        assert_eq!((p[0].bytes_out, p[0].bytes_in), (Some(3000), Some(12000)));
        assert_eq!(p[0].proxy_ip, "192.0.2.1".parse().ok());
        assert_eq!(p[1].action, ProxyAction::Blocked);
        assert_eq!(p[1].ts, 1_791_198_722_000_000);
        assert!(matches!(
            items[2],
            Item::Filtered {
                reason: "checkpoint_no_url",
                ..
            }
        ));
    }
}
