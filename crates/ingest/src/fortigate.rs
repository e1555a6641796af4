//! Fortinet FortiGate logs (FortiOS `key=value` syslog): web filter events
//! (`type="utm" subtype="webfilter"`) and traffic logs that carry the requested
//! `hostname`.
//!
//! Tricky:
//! * One web request can be logged twice: a web filter event when the URL is checked and
//!   a traffic log when the session closes, with the same `sessionid`. The traffic log
//!   has the session's bytes, so it wins; the web filter event of that session is
//!   filtered (`fortigate_session_in_traffic_log`), and its verdict is kept (a blocked URL
//!   makes the session blocked). Web filter events whose session has no traffic log in
//!   the file are kept on their own. Sessions are paired within one file only.
//! * Traffic logs without a `hostname` name no host; they are filtered
//!   (`fortigate_no_hostname`): read them as flows through a flow export instead.
//!   `subtype="local"` is traffic to the firewall itself (`fortigate_local`).
//! * `eventtime` is epoch time (nanoseconds on FortiOS 6.2 and later, else seconds); without
//!   it `date` + `time` are the device's local time, at `tz` when logged, else at
//!   `--log-timezone` (UTC with a note).
//! * The device is a firewall, not a proxy the clients address: `devname` identifies it.

use std::io::BufRead;

use super::proxy_fields::{reject, word_action, ProxyFields};
use super::siem_common::{zone_note, Pending, PENDING_LIMIT};
use super::syslog;
use super::text::read_lines;
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, ReaderOptions, RecordKind, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{Micros, ProxyAction};

pub static SPEC: FormatSpec = FormatSpec {
    id: "fortigate",
    title: "Fortinet FortiGate web filter and traffic logs (key=value syslog)",
    kinds: &[RecordKind::Proxy],
    detected_by: "key=value lines (after an optional syslog prefix) with logid, type, subtype and devid or devname",
    bytes: "sentbyte is what the client sent (upload), rcvdbyte what it received (download); a web filter event carries no bytes unless logged",
    field_map: &[
        ("ts", "eventtime (epoch), else date + time at tz (else --log-timezone)"),
        ("client_ip", "srcip"),
        ("user", "user, else unauthuser"),
        ("host", "hostname (url is the path)"),
        ("port / server_ip", "dstport / dstip"),
        ("bytes_out / bytes_in", "sentbyte / rcvdbyte"),
        ("action", "traffic: deny/block, or utmaction block, blocked; else allowed. webfilter: blocked/block blocked; passthrough/allowed/monitored allowed; else other"),
        ("proxy", "devname, else devid"),
        ("(filtered)", "traffic without hostname (fortigate_no_hostname), subtype local (fortigate_local), other log types (fortigate_other_log), a webfilter event whose session has a traffic log (fortigate_session_in_traffic_log)"),
    ],
    detect,
    read,
};

/// The `key=value` pairs of a line; values may be `"quoted"`. Text before the first key
/// (a syslog header) is skipped.
fn pairs(line: &str) -> Option<Vec<(&str, String)>> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if i == start || bytes.get(i) != Some(&b'=') {
            // Not a key: skip this word.
            while i < bytes.len() && bytes[i] != b' ' {
                i += 1;
            }
            continue;
        }
        let key = line.get(start..i)?;
        i += 1;
        let mut value = String::new();
        if bytes.get(i) == Some(&b'"') {
            i += 1;
            let mut closed = false;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' if matches!(bytes.get(i + 1), Some(b'"') | Some(b'\\')) => {
                        value.push(bytes[i + 1] as char);
                        i += 2;
                    }
                    b'"' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    _ => {
                        let ch = line.get(i..)?.chars().next()?;
                        value.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            if !closed {
                return None;
            }
        } else {
            let s = i;
            while i < bytes.len() && bytes[i] != b' ' {
                i += 1;
            }
            value.push_str(line.get(s..i)?);
        }
        out.push((key, value));
    }
    Some(out)
}

fn get<'p>(p: &'p [(&str, String)], key: &str) -> Option<&'p str> {
    p.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn detect(h: &Head<'_>) -> bool {
    pairs(h.first_line).is_some_and(|p| {
        get(&p, "logid").is_some()
            && get(&p, "type").is_some()
            && get(&p, "subtype").is_some()
            && (get(&p, "devid").is_some() || get(&p, "devname").is_some())
    })
}

/// `+0200`, `-05:00`.
fn parse_tz(s: &str) -> Option<chrono::FixedOffset> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, s.get(1..)?),
        b'-' => (-1, s.get(1..)?),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits.get(..2)?.parse().ok()?;
    let m: i32 = digits.get(2..)?.parse().ok()?;
    chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

fn timestamp(
    p: &[(&str, String)],
    options: &ReaderOptions,
) -> std::result::Result<(Micros, bool), (&'static str, FieldError)> {
    if let Some(e) = get(p, "eventtime") {
        return values::parse_epoch_auto(e)
            .map(|t| (t, false))
            .map_err(|e| ("eventtime", e));
    }
    let (Some(d), Some(t)) = (get(p, "date"), get(p, "time")) else {
        return Err((
            "date",
            FieldError {
                reason: RejectReason::MissingField,
                detail: "no eventtime and no date/time".into(),
            },
        ));
    };
    let naive = values::parse_naive(&format!("{d} {t}")).ok_or_else(|| {
        (
            "date",
            FieldError {
                reason: RejectReason::InvalidTimestamp,
                detail: format!("`{d} {t}` is not a date and time"),
            },
        )
    })?;
    match get(p, "tz").and_then(parse_tz) {
        Some(zone) => values::local_to_micros(naive, Some(zone))
            .map(|t| (t, false))
            .map_err(|e| ("date", e)),
        None => values::local_to_micros(naive, options.log_timezone)
            .map(|t| (t, true))
            .map_err(|e| ("date", e)),
    }
}

/// A web filter event waiting to learn whether its session has a traffic log.
struct Held {
    line: u64,
    item: Item,
    blocked: bool,
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut zoneless = false;
    let mut held: Pending<String, Held> = Pending::new(PENDING_LIMIT);
    // Sessions whose traffic log has been read, so a late web filter event is paired.
    let mut closed: Pending<String, bool> = Pending::new(PENDING_LIMIT);
    read_lines(reader, ctx, sink, &mut |number, text, sink| {
        let raw = text.as_bytes();
        let body = syslog::strip_pri(text);
        let Some(p) = pairs(body) else {
            return sink(reject(
                number,
                "(line)",
                FieldError {
                    reason: RejectReason::ColumnCount,
                    detail: "a quoted value is not closed".into(),
                },
                raw,
            ));
        };
        let kind = get(&p, "type").unwrap_or("");
        let subtype = get(&p, "subtype").unwrap_or("");
        let is_traffic = kind == "traffic";
        let is_webfilter = kind == "utm" && subtype == "webfilter";
        if get(&p, "logid").is_none() || kind.is_empty() {
            return sink(reject(
                number,
                "logid",
                FieldError {
                    reason: RejectReason::MissingField,
                    detail: "not a FortiGate log line (no logid or type)".into(),
                },
                raw,
            ));
        }
        if !is_traffic && !is_webfilter {
            return sink(Item::Filtered {
                line: number,
                reason: "fortigate_other_log",
            });
        }
        if is_traffic && subtype == "local" {
            return sink(Item::Filtered {
                line: number,
                reason: "fortigate_local",
            });
        }
        if is_traffic && get(&p, "hostname").is_none() {
            return sink(Item::Filtered {
                line: number,
                reason: "fortigate_no_hostname",
            });
        }
        let (ts, local) = match timestamp(&p, ctx.options) {
            Ok(t) => t,
            Err((field, e)) => return sink(reject(number, field, e, raw)),
        };
        zoneless |= local;
        let word = get(&p, "action").unwrap_or("");
        let mut action = if is_traffic {
            if matches!(word, "deny" | "block" | "blocked")
                || get(&p, "utmaction").is_some_and(|a| a == "block" || a == "blocked")
            {
                ProxyAction::Blocked
            } else {
                ProxyAction::Allowed
            }
        } else {
            word_action(word).unwrap_or(ProxyAction::Other)
        };
        let device = get(&p, "devid").or(get(&p, "devname")).unwrap_or("");
        let session = get(&p, "sessionid")
            .filter(|s| *s != "0")
            .map(|s| format!("{device}:{s}"));
        if is_traffic {
            if let Some(s) = &session {
                if let Some(h) = held.take(s) {
                    if h.blocked {
                        action = ProxyAction::Blocked;
                    }
                    sink(Item::Filtered {
                        line: h.line,
                        reason: "fortigate_session_in_traffic_log",
                    })?;
                }
            }
        } else if let Some(s) = &session {
            if closed.get(s).is_some() {
                return sink(Item::Filtered {
                    line: number,
                    reason: "fortigate_session_in_traffic_log",
                });
            }
        }
        let fields = ProxyFields {
            client: Some(("srcip", get(&p, "srcip").unwrap_or(""))),
            user: get(&p, "user").or(get(&p, "unauthuser")),
            host: get(&p, "hostname").map(|h| ("hostname", h)),
            url: get(&p, "url").map(|u| ("url", u)),
            port: get(&p, "dstport").map(|v| ("dstport", v)),
            server: get(&p, "dstip").map(|v| ("dstip", v)),
            bytes_out: get(&p, "sentbyte").map(|v| ("sentbyte", v)),
            bytes_in: get(&p, "rcvdbyte").map(|v| ("rcvdbyte", v)),
            proxy: get(&p, "devname").or(get(&p, "devid")),
            ..ProxyFields::default()
        };
        let item = fields.item(ts, action, ctx.provenance(number), raw);
        match (&session, is_webfilter, &item) {
            (Some(s), true, Item::Record(_)) => {
                let blocked = action == ProxyAction::Blocked;
                let h = Held {
                    line: number,
                    item,
                    blocked,
                };
                if let Some((_, evicted)) = held.insert(s.clone(), h) {
                    sink(evicted.item)?;
                }
                Ok(())
            }
            (Some(s), false, _) => {
                closed.insert(s.clone(), true);
                sink(item)
            }
            _ => sink(item),
        }
    })?;
    for h in held.drain() {
        sink(h.item)?;
    }
    if zoneless {
        sink(Item::Note(zone_note(ctx.options)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_text;
    use xborder_model::schema::{ProxyRecord, Record};

    fn record(item: &Item) -> Option<&ProxyRecord> {
        match item {
            Item::Record(Record::Proxy(p)) => Some(p),
            _ => None,
        }
    }

    #[test]
    fn webfilter_and_traffic_of_one_session_count_once() {
        let text = "date=2026-10-05 time=13:12:01 logid=\"0316013056\" type=\"utm\" subtype=\"webfilter\" eventtype=\"ftgd_blk\" devname=\"FGT-LYON\" devid=\"FG100F\" tz=\"+0200\" sessionid=77 srcip=10.4.0.5 srcport=50000 dstip=104.18.32.47 dstport=443 hostname=\"chatgpt.com\" url=\"/\" action=\"blocked\" user=\"frank\"\n\
date=2026-10-05 time=13:12:09 logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" devname=\"FGT-LYON\" devid=\"FG100F\" tz=\"+0200\" sessionid=77 srcip=10.4.0.5 srcport=50000 dstip=104.18.32.47 dstport=443 hostname=\"chatgpt.com\" action=\"close\" utmaction=\"block\" sentbyte=517 rcvdbyte=0\n\
date=2026-10-05 time=13:13:00 logid=\"0316013057\" type=\"utm\" subtype=\"webfilter\" devname=\"FGT-LYON\" devid=\"FG100F\" eventtime=1791198780000000000 sessionid=78 srcip=10.4.0.6 dstip=160.79.104.10 dstport=443 hostname=\"claude.ai\" url=\"/chat\" action=\"passthrough\"\n\
date=2026-10-05 time=13:14:00 logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" devname=\"FGT-LYON\" devid=\"FG100F\" sessionid=79 srcip=10.4.0.6 dstip=192.0.2.1 action=\"accept\"\n";
        let items = read_text(read, text, &ReaderOptions::default());
        let records: Vec<&ProxyRecord> = items.iter().filter_map(record).collect();
        assert_eq!(records.len(), 2, "{items:?}");
        let traffic = records[0];
        assert_eq!(traffic.action, ProxyAction::Blocked);
        assert_eq!(traffic.ts, 1_791_198_729_000_000);
        assert_eq!((traffic.bytes_out, traffic.bytes_in), (Some(517), Some(0)));
        assert_eq!(traffic.proxy.as_deref(), Some("FGT-LYON"));
        assert_eq!(records[1].host, "claude.ai");
        assert_eq!(records[1].action, ProxyAction::Allowed);
        assert_eq!(records[1].ts, 1_791_198_780_000_000);
        let filtered: Vec<&str> = items
            .iter()
            .filter_map(|i| match i {
                Item::Filtered { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect();
        assert_eq!(
            filtered,
            ["fortigate_session_in_traffic_log", "fortigate_no_hostname"]
        );
    }
}
