//! IBM QRadar Log Event Extended Format (LEEF) 1.0 and 2.0 events that name a URL or
//! host: web gateways (Zscaler's QRadar feed, Forcepoint, Blue Coat forwarders) send
//! these. `LEEF:1.0|Vendor|Product|Version|EventID|` then tab-separated `key=value`
//! attributes; LEEF 2.0 adds a delimiter field after the event id (a character, or its
//! hex code such as `x09` or `^`). An optional syslog prefix is skipped.
//!
//! Tricky:
//! * LEEF's predefined keys are `src`, `dst`, `srcPort`, `dstPort`, `usrName`, `srcBytes`
//!   (sent by the source: the upload), `dstBytes` (sent by the destination: the download),
//!   `devTime` and `devTimeFormat`. URL and host keys are the vendor's own: `url`,
//!   `hostname`, `host`, `dhost`, `requestURL` are read.
//! * Events without a URL or host (a firewall connection, a login) are filtered
//!   (`leef_no_url`).
//! * The action is the `action` attribute, else the event id when it is a verdict word
//!   (Zscaler writes its reason, `Allowed` or `Blocked`, there).
//! * `devTime` is epoch milliseconds or a date in `devTimeFormat`; without a zone it is
//!   read at `--log-timezone` (UTC with a note).

use std::io::BufRead;

use super::proxy_fields::{reject, word_action, ProxyFields};
use super::siem_common::{timestamp_or_local, zone_note};
use super::syslog;
use super::text::read_lines;
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, ReaderOptions, RecordKind, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{Micros, ProxyAction};

pub static SPEC: FormatSpec = FormatSpec {
    id: "leef",
    title: "QRadar LEEF 1.0/2.0 web events (with url or host attributes)",
    kinds: &[RecordKind::Proxy],
    detected_by: "the first line (after an optional syslog prefix) contains LEEF:1.0| or LEEF:2.0| and at least five |-separated header fields",
    bytes: "srcBytes is what the source (client) sent (upload), dstBytes what the destination sent back (download)",
    field_map: &[
        ("ts", "devTime (epoch ms or a date, zone-less at --log-timezone), else the syslog time"),
        ("client_ip", "src"),
        ("user", "usrName"),
        ("host", "hostname / host / dhost, else the host of url / requestURL"),
        ("port / server_ip", "dstPort / dst"),
        ("bytes_out / bytes_in", "srcBytes / dstBytes"),
        ("action", "action, else the header's event id when it is a verdict word (Allowed/Blocked)"),
        ("proxy", "devName, else the header's vendor and product"),
        ("(filtered)", "events without url or host (leef_no_url)"),
    ],
    detect,
    read,
};

fn leef_start(line: &str) -> Option<usize> {
    line.find("LEEF:1.0|").or_else(|| line.find("LEEF:2.0|"))
}

fn detect(h: &Head<'_>) -> bool {
    leef_start(h.first_line).is_some_and(|at| {
        h.first_line
            .get(at..)
            .is_some_and(|l| l.matches('|').count() >= 5)
    })
}

/// The header fields (version, vendor, product, version, event id) and the attribute
/// text with its delimiter.
fn split(leef: &str) -> Option<(Vec<&str>, char, &str)> {
    let mut header = Vec::with_capacity(5);
    let mut rest = leef;
    for _ in 0..5 {
        let (field, after) = rest.split_once('|')?;
        header.push(field);
        rest = after;
    }
    if !leef.starts_with("LEEF:2.0|") {
        return Some((header, '\t', rest));
    }
    // LEEF 2.0 puts the delimiter in a sixth field; some senders omit it.
    let Some((d, after)) = rest.split_once('|') else {
        return Some((header, '\t', rest));
    };
    if d.contains('=') {
        return Some((header, '\t', rest));
    }
    let delimiter = match d
        .strip_prefix("0x")
        .or_else(|| d.strip_prefix('x'))
        .or_else(|| d.strip_prefix("\\x"))
    {
        Some(hex) if !hex.is_empty() => {
            u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)?
        }
        _ => d.chars().next().unwrap_or('\t'),
    };
    Some((header, delimiter, after))
}

fn attributes(text: &str, delimiter: char) -> Vec<(&str, &str)> {
    text.split(delimiter)
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

fn get<'a>(a: &[(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    a.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .filter(|v| !v.is_empty())
}

fn dev_time(t: &str, options: &ReaderOptions) -> std::result::Result<(Micros, bool), FieldError> {
    let t = t.trim();
    if t.bytes().all(|b| b.is_ascii_digit()) && !t.is_empty() {
        return values::parse_epoch_auto(t).map(|m| (m, false));
    }
    if let Ok(r) = timestamp_or_local(t, options) {
        return Ok(r);
    }
    match syslog::leading_timestamp(t) {
        Some((stamp, rest)) => {
            let rest = rest.trim();
            if rest.is_empty() {
                stamp.to_micros(options).map(|m| (m, stamp.is_local()))
            } else if matches!(rest, "UTC" | "GMT" | "Z" | "+0000" | "+00:00") {
                let utc = ReaderOptions {
                    log_timezone: chrono::FixedOffset::east_opt(0),
                    assume_year: options.assume_year,
                    ..ReaderOptions::default()
                };
                stamp.to_micros(&utc).map(|m| (m, false))
            } else {
                Err(FieldError {
                    reason: RejectReason::InvalidTimestamp,
                    detail: format!("`{t}`: zone `{rest}` is not understood (use UTC offsets)"),
                })
            }
        }
        None => Err(FieldError {
            reason: RejectReason::InvalidTimestamp,
            detail: format!("`{t}` is neither epoch milliseconds nor a date"),
        }),
    }
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut zoneless = false;
    read_lines(reader, ctx, sink, &mut |number, text, sink| {
        let raw = text.as_bytes();
        let bad = |field: &str, reason, detail: &str| {
            reject(
                number,
                field,
                FieldError {
                    reason,
                    detail: detail.into(),
                },
                raw,
            )
        };
        let Some(at) = leef_start(text) else {
            return sink(bad(
                "(line)",
                RejectReason::InvalidValue,
                "no LEEF:1.0| or LEEF:2.0| header",
            ));
        };
        let (Some(prefix), Some(leef)) = (text.get(..at), text.get(at..)) else {
            return sink(bad("(line)", RejectReason::InvalidValue, "no LEEF header"));
        };
        let Some((header, delimiter, rest)) = split(leef) else {
            return sink(bad(
                "(header)",
                RejectReason::ColumnCount,
                "the LEEF header has too few |-separated fields",
            ));
        };
        let a = attributes(rest, delimiter);
        let host = get(&a, "hostname")
            .map(|v| ("hostname", v))
            .or(get(&a, "host").map(|v| ("host", v)))
            .or(get(&a, "dhost").map(|v| ("dhost", v)));
        let url = get(&a, "url")
            .map(|v| ("url", v))
            .or(get(&a, "requestURL").map(|v| ("requestURL", v)));
        if host.is_none() && url.is_none() {
            return sink(Item::Filtered {
                line: number,
                reason: "leef_no_url",
            });
        }
        let ts = match get(&a, "devTime") {
            Some(t) => match dev_time(t, ctx.options) {
                Ok((t, local)) => {
                    zoneless |= local;
                    t
                }
                Err(e) => return sink(reject(number, "devTime", e, raw)),
            },
            None => {
                let p = syslog::strip_pri(prefix).trim_start();
                let p = p.strip_prefix("1 ").unwrap_or(p);
                match syslog::leading_timestamp(p)
                    .map(|(s, _)| (s.to_micros(ctx.options), s.is_local()))
                {
                    Some((Ok(t), local)) => {
                        zoneless |= local;
                        t
                    }
                    Some((Err(e), _)) => return sink(reject(number, "devTime", e, raw)),
                    None => {
                        return sink(bad(
                            "devTime",
                            RejectReason::MissingField,
                            "no devTime and no syslog time",
                        ))
                    }
                }
            }
        };
        let event_id = header.get(4).copied().unwrap_or("");
        let action = get(&a, "action")
            .and_then(word_action)
            .or_else(|| word_action(event_id))
            .unwrap_or(ProxyAction::Other);
        let device = format!(
            "{} {}",
            header.get(1).copied().unwrap_or(""),
            header.get(2).copied().unwrap_or("")
        );
        let proxy = get(&a, "devName").unwrap_or(device.trim());
        let fields = ProxyFields {
            client: Some(("src", get(&a, "src").unwrap_or(""))),
            user: get(&a, "usrName"),
            host,
            url,
            port: get(&a, "dstPort").map(|v| ("dstPort", v)),
            server: get(&a, "dst").map(|v| ("dst", v)),
            bytes_out: get(&a, "srcBytes").map(|v| ("srcBytes", v)),
            bytes_in: get(&a, "dstBytes").map(|v| ("dstBytes", v)),
            proxy: Some(proxy),
            scheme: get(&a, "appproto").or(get(&a, "proto")),
            session: None,
        };
        sink(fields.item(ts, action, ctx.provenance(number), raw))
    })?;
    if zoneless {
        sink(Item::Note(zone_note(ctx.options)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_text;
    use xborder_model::schema::Record;

    #[test]
    fn leef_one_and_two() {
        let text = "<13>Oct 05 13:12:01 zscaler-nss LEEF:1.0|Zscaler|NSS|4.1|Allowed|cat=AI and ML Applications\tdevTime=Oct 05 2026 13:12:01 UTC\tsrc=10.7.0.3\tdst=160.79.104.10\tusrName=ivan@example.com\tsrcBytes=800\tdstBytes=4000\turl=claude.ai/chat\thostname=claude.ai\taction=Allowed\n\
LEEF:2.0|Forcepoint|Web Security|8.5|blocked|^|devTime=1791205922000^src=10.7.0.4^dst=104.18.32.47^dstPort=443^url=https://chatgpt.com/^action=blocked\n\
LEEF:1.0|Vendor|Firewall|1.0|conn|src=10.7.0.4\tdst=192.0.2.1\n";
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
        assert_eq!((p[0].bytes_out, p[0].bytes_in), (Some(800), Some(4000)));
        assert_eq!(p[0].proxy.as_deref(), Some("Zscaler NSS"));
        assert_eq!(p[1].action, ProxyAction::Blocked);
        assert_eq!(p[1].host, "chatgpt.com");
        assert_eq!(p[1].ts, 1_791_205_922_000_000);
        assert!(matches!(
            items[2],
            Item::Filtered {
                reason: "leef_no_url",
                ..
            }
        ));
    }
}
