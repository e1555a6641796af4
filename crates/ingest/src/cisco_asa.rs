//! Cisco ASA (and Firepower Threat Defense) syslog: connection teardown messages.
//!
//! Only the teardowns, `%ASA-6-302014` (TCP) and `%ASA-6-302016` (UDP), carry a byte
//! count, and that count is **both directions summed** (`duration 0:01:07 bytes 38110`):
//! there is no upload/download split, so flows are `Combined`. The matching Built messages
//! (302013/302015) carry no bytes, but they say which side opened the connection
//! (`Built outbound` = the `to` side, on the higher-security interface, initiated;
//! `Built inbound` = the `for` side did). They are remembered by connection id, in a
//! bounded map, to orient the teardown; a teardown whose Built is not in the file is
//! oriented by interface names (`outside`, `internet`, `wan`, `untrust`… is the server
//! side), else by the well-known port.
//!
//! Times carry no zone (`--log-timezone`) and, in the default ASA configuration, no year
//! (`--assume-year`). The flow starts at the teardown time minus its duration. Connection
//! ids are per firewall and wrap, so the uid joins the id with the start time.

use std::collections::{HashMap, VecDeque};
use std::io::BufRead;
use std::net::IpAddr;
use std::sync::Mutex;

use super::syslog;
use super::text::read_lines;
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, Reject, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{ByteDirection, FlowRecord, Proto, Record};

/// Built messages remembered while waiting for their teardown. Beyond this, the oldest
/// are forgotten (their teardowns are then oriented by interface names).
const MAX_PENDING: usize = 200_000;

pub static ASA: FormatSpec = FormatSpec {
    id: "cisco-asa",
    title: "Cisco ASA / FTD syslog (connection teardowns)",
    kinds: &[RecordKind::Flow],
    detected_by: "syslog lines with a %ASA-n-NNNNNN: (or %FTD-) message id",
    bytes: "teardown `bytes N` is both directions summed (combined): no upload/download split",
    field_map: &[
        (
            "ts",
            "teardown syslog time - duration (no zone: --log-timezone; no year: --assume-year)",
        ),
        ("uid", "connection id + start time"),
        (
            "src_ip / src_port",
            "the initiating side (from the Built message, else the inside interface)",
        ),
        ("dst_ip / dst_port", "the other side"),
        ("proto", "TCP (302014) / UDP (302016)"),
        ("bytes_out", "bytes N (both directions, combined)"),
        ("duration", "duration h:mm:ss"),
        (
            "(filtered)",
            "302013/302015 Built (asa_built), any other message id (asa_<id>)",
        ),
    ],
    detect,
    read,
};

fn detect(h: &Head<'_>) -> bool {
    // A JSON document may quote an ASA message (OCSF `raw_data`); it is not a syslog file.
    if h.first_json.is_some() || h.first_line.starts_with(['{', '[']) {
        return false;
    }
    h.text
        .lines()
        .take(50)
        .any(|l| message_id(l).is_some_and(|(_, _, rest)| rest.starts_with(':')))
}

/// The `%ASA-6-302014` marker: (text before it, message id, text after the id).
fn message_id(line: &str) -> Option<(&str, u32, &str)> {
    for tag in ["%ASA-", "%FTD-", "%PIX-"] {
        let Some(at) = line.find(tag) else { continue };
        let before = line.get(..at)?;
        let after = line.get(at + tag.len()..)?;
        let (level, rest) = after.split_once('-')?;
        if level.len() != 1 || !level.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let digits = rest.get(..6)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let id: u32 = digits.parse().ok()?;
        return Some((before, id, rest.get(6..)?));
    }
    None
}

/// The stable filtered reason `asa_<id>` for a message id (at most 10^6 distinct).
fn filtered_reason(id: u32) -> &'static str {
    static NAMES: Mutex<Option<HashMap<u32, &'static str>>> = Mutex::new(None);
    let Ok(mut guard) = NAMES.lock() else {
        return "asa_other";
    };
    let map = guard.get_or_insert_with(HashMap::new);
    map.entry(id)
        .or_insert_with(|| Box::leak(format!("asa_{id:06}").into_boxed_str()))
}

/// One side of a connection: `outside:198.51.100.7/443`.
#[derive(Debug, Clone, PartialEq)]
struct Endpoint<'a> {
    interface: &'a str,
    ip: IpAddr,
    port: u16,
}

fn parse_endpoint(tok: &str) -> std::result::Result<Endpoint<'_>, FieldError> {
    let bad = |what: &str| FieldError {
        reason: RejectReason::InvalidAddress,
        detail: format!("`{tok}` is not interface:address/port ({what})"),
    };
    // Identity firewall users follow the port: `…/443(LOCAL\user)`.
    let tok = tok.split('(').next().unwrap_or(tok);
    let (interface, rest) = tok.split_once(':').ok_or_else(|| bad("no interface"))?;
    let (addr, port) = rest.rsplit_once('/').ok_or_else(|| bad("no port"))?;
    Ok(Endpoint {
        interface,
        ip: values::parse_address(addr)?,
        port: values::parse_port(port)?,
    })
}

/// The `for X to Y` endpoints of a Built or Teardown message, and the words after them.
fn endpoints<'a>(words: &[&'a str]) -> std::result::Result<(&'a str, &'a str), FieldError> {
    let missing = || FieldError {
        reason: RejectReason::MissingField,
        detail: "no `for interface:address/port to interface:address/port`".into(),
    };
    let f = words.iter().position(|w| *w == "for").ok_or_else(missing)?;
    let a = words.get(f + 1).ok_or_else(missing)?;
    let t = words
        .iter()
        .skip(f + 2)
        .position(|w| *w == "to")
        .ok_or_else(missing)?;
    let b = words.get(f + 2 + t + 1).ok_or_else(missing)?;
    Ok((a, b))
}

fn is_outside_name(interface: &str) -> bool {
    let l = interface.to_ascii_lowercase();
    [
        "outside", "internet", "wan", "untrust", "external", "isp", "public",
    ]
    .iter()
    .any(|n| l.contains(n))
}

/// `h:mm:ss` (hours may exceed 24) as seconds.
fn parse_duration(s: &str) -> Option<u64> {
    let mut parts = s.split(':');
    let h: u64 = parts.next()?.parse().ok()?;
    let m: u64 = parts.next()?.parse().ok()?;
    let sec: u64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || m > 59 || sec > 59 || h > 1_000_000 {
        return None;
    }
    Some(h * 3600 + m * 60 + sec)
}

/// Which side of `for A to B` opened the connection, as Built messages told us.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Initiator {
    For,
    To,
}

/// Built orientations waiting for their teardowns, oldest forgotten first.
#[derive(Default)]
struct Pending {
    map: HashMap<(bool, u64), Initiator>,
    order: VecDeque<(bool, u64)>,
}

impl Pending {
    fn insert(&mut self, key: (bool, u64), who: Initiator) {
        if self.map.insert(key, who).is_none() {
            self.order.push_back(key);
        }
        while self.map.len() > MAX_PENDING {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
    }

    fn take(&mut self, key: (bool, u64)) -> Option<Initiator> {
        // The order queue keeps the key until it reaches the front; removing it there
        // is a no-op, so the queue stays bounded by the inserts.
        let who = self.map.remove(&key);
        if self.order.len() > 2 * MAX_PENDING {
            let map = &self.map;
            self.order.retain(|k| map.contains_key(k));
        }
        who
    }
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut pending = Pending::default();
    let (mut noted_bytes, mut noted_zone, mut noted_orient) = (false, false, false);
    read_lines(reader, ctx, sink, &mut |number, text, sink| {
        let reject = |field: &str, e: FieldError| {
            Item::Reject(
                Reject::new(number, field, e.reason, e.detail).with_excerpt(text.as_bytes()),
            )
        };
        let Some((header, id, body)) = message_id(text) else {
            return sink(reject(
                "(line)",
                FieldError {
                    reason: RejectReason::InvalidValue,
                    detail: "no %ASA-n-NNNNNN message id".into(),
                },
            ));
        };
        let body = body.strip_prefix(':').unwrap_or(body);
        let words: Vec<&str> = body.split_whitespace().collect();
        let tcp = match id {
            302013 | 302014 => true,
            302015 | 302016 => false,
            other => {
                return sink(Item::Filtered {
                    line: number,
                    reason: filtered_reason(other),
                })
            }
        };
        let conn_id = words
            .iter()
            .position(|w| *w == "connection")
            .and_then(|i| words.get(i + 1))
            .and_then(|w| w.parse::<u64>().ok());
        if id == 302013 || id == 302015 {
            if let Some(cid) = conn_id {
                let who = if words.first() == Some(&"Built") && words.get(1) == Some(&"inbound") {
                    Some(Initiator::For)
                } else if words.get(1) == Some(&"outbound") {
                    Some(Initiator::To)
                } else {
                    None
                };
                if let Some(who) = who {
                    pending.insert((tcp, cid), who);
                }
            }
            return sink(Item::Filtered {
                line: number,
                reason: "asa_built",
            });
        }
        let Some(cid) = conn_id else {
            return sink(reject(
                "connection",
                FieldError {
                    reason: RejectReason::MissingField,
                    detail: "no connection id".into(),
                },
            ));
        };
        let (a, b) = match endpoints(&words) {
            Ok(x) => x,
            Err(e) => return sink(reject("for/to", e)),
        };
        let (a, b) = match (parse_endpoint(a), parse_endpoint(b)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) => return sink(reject("for", e)),
            (_, Err(e)) => return sink(reject("to", e)),
        };
        let after = |key: &str| {
            words
                .iter()
                .position(|w| *w == key)
                .and_then(|i| words.get(i + 1))
                .copied()
        };
        let Some(duration) = after("duration").and_then(parse_duration) else {
            return sink(reject(
                "duration",
                FieldError {
                    reason: RejectReason::InvalidValue,
                    detail: "no `duration h:mm:ss`".into(),
                },
            ));
        };
        let bytes = match after("bytes").map(values::parse_count) {
            Some(Ok(n)) => n,
            Some(Err(e)) => return sink(reject("bytes", e)),
            None => {
                return sink(reject(
                    "bytes",
                    FieldError {
                        reason: RejectReason::MissingField,
                        detail: "no `bytes N`".into(),
                    },
                ))
            }
        };
        let Some((stamp, _)) = syslog::leading_timestamp(header.trim_start_matches([':', ' ']))
        else {
            return sink(reject(
                "timestamp",
                FieldError {
                    reason: RejectReason::InvalidTimestamp,
                    detail: "no syslog timestamp before the message id".into(),
                },
            ));
        };
        let end = match stamp.to_micros(ctx.options) {
            Ok(t) => t,
            Err(e) => return sink(reject("timestamp", e)),
        };
        let Some(ts) = end.checked_sub(duration.saturating_mul(1_000_000) as i64) else {
            return sink(reject(
                "duration",
                FieldError {
                    reason: RejectReason::InvalidValue,
                    detail: "duration reaches before 1970".into(),
                },
            ));
        };
        if ts < 0 {
            return sink(reject(
                "duration",
                FieldError {
                    reason: RejectReason::InvalidValue,
                    detail: "duration reaches before 1970".into(),
                },
            ));
        }
        let who = match pending.take((tcp, cid)) {
            Some(w) => w,
            None => {
                if !noted_orient {
                    noted_orient = true;
                    sink(Item::Note(
                        "some ASA teardowns had no Built message in the file: the client side was taken as the one not on an outside/internet/wan/untrust interface, else the side without the well-known port".into(),
                    ))?;
                }
                orient_by_names(&a, &b)
            }
        };
        let (src, dst) = match who {
            Initiator::For => (a, b),
            Initiator::To => (b, a),
        };
        if !noted_bytes {
            noted_bytes = true;
            sink(Item::Note(
                "Cisco ASA teardown byte counts cover both directions of a connection (no upload/download split)".into(),
            ))?;
        }
        if !noted_zone && stamp.is_local() && ctx.options.log_timezone.is_none() {
            noted_zone = true;
            sink(Item::Note(
                "ASA syslog times carry no zone and were read as UTC; set --log-timezone".into(),
            ))?;
        }
        sink(Item::Record(Record::Flow(FlowRecord {
            ts,
            uid: Some(compact_str::format_compact!("asa:{cid}:{ts}")),
            src_ip: src.ip,
            src_port: Some(src.port),
            dst_ip: dst.ip,
            dst_port: Some(dst.port),
            proto: if tcp { Proto::Tcp } else { Proto::Udp },
            bytes_out: Some(bytes),
            bytes_in: None,
            duration: Some(duration as f64),
            local_orig: None,
            direction: ByteDirection::Combined,
            provenance: ctx.provenance(number),
        })))
    })
}

/// Orientation without a Built message: the side on an outside-named interface is the
/// server; failing that, the side on a well-known port (< 1024); failing that, `for`
/// is the server, as in ASA's outbound messages.
fn orient_by_names(a: &Endpoint<'_>, b: &Endpoint<'_>) -> Initiator {
    match (is_outside_name(a.interface), is_outside_name(b.interface)) {
        (true, false) => Initiator::To,
        (false, true) => Initiator::For,
        _ => {
            if a.port >= 1024 && b.port < 1024 {
                Initiator::For
            } else {
                Initiator::To
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_that_quotes_an_asa_message_is_not_asa_syslog() {
        let text = "{\"raw_data\": \"<166>Oct 10 2018 12:34:56 fw %ASA-6-302013: Built outbound TCP connection 1 for outside:192.0.2.1/443 (192.0.2.1/443) to inside:10.0.0.1/5000 (10.0.0.1/5000)\"}\n";
        let obj = crate::json::first_object(text).and_then(|v| match v {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        });
        let h = super::Head {
            path: std::path::Path::new("x.json"),
            bytes: text.as_bytes(),
            text,
            first_line: text.trim(),
            first_json: obj.as_ref(),
        };
        assert!(!super::detect(&h));
    }

    use super::*;

    fn read_all(text: &str, year: Option<i32>) -> Vec<Item> {
        let options = super::super::ReaderOptions {
            assume_year: year,
            ..Default::default()
        };
        crate::read_text(read, text, &options)
    }

    fn flows(items: &[Item]) -> Vec<&FlowRecord> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Record(Record::Flow(f)) => Some(f),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn teardown_with_year_and_combined_bytes() {
        let t = "Jul 10 2026 08:01:07 fw01 : %ASA-6-302014: Teardown TCP connection 4711 for outside:160.79.104.10/443 to inside:192.0.2.10/50123 duration 0:01:07 bytes 38110 TCP FINs\n";
        let items = read_all(t, None);
        let f = flows(&items);
        assert_eq!(f.len(), 1);
        let f = f[0];
        // 08:01:07 - 67 s = 2026-07-10T08:00:00Z
        assert_eq!(f.ts, 1_783_670_400_000_000);
        assert_eq!(f.src_ip.to_string(), "192.0.2.10");
        assert_eq!(f.dst_ip.to_string(), "160.79.104.10");
        assert_eq!((f.src_port, f.dst_port), (Some(50123), Some(443)));
        assert_eq!((f.bytes_out, f.bytes_in), (Some(38110), None));
        assert_eq!(f.direction, ByteDirection::Combined);
        assert_eq!(f.duration, Some(67.0));
        assert_eq!(f.uid.as_deref(), Some("asa:4711:1783670400000000"));
        let notes = items.iter().filter(|i| matches!(i, Item::Note(_))).count();
        assert_eq!(notes, 3, "orientation, combined bytes, zone");
    }

    #[test]
    fn built_messages_orient_their_teardown() {
        // Inbound: the outside host opened a connection to an inside server.
        let t = "Jul 10 08:00:00 fw %ASA-6-302013: Built inbound TCP connection 9 for dmz:198.51.100.7/50000 (198.51.100.7/50000) to servers:192.0.2.20/8443 (203.0.113.20/8443)\n\
                 Jul 10 08:00:10 fw %ASA-6-302014: Teardown TCP connection 9 for dmz:198.51.100.7/50000 to servers:192.0.2.20/8443 duration 0:00:10 bytes 500 TCP FINs\n\
                 Jul 10 08:00:10 fw %ASA-6-302016: Teardown UDP connection 10 for outside:2001:db8::53/53 to inside:2001:db8:1::5/40000(LOCAL\\alice) duration 0:00:00 bytes 148\n";
        let items = read_all(t, Some(2026));
        assert!(matches!(
            items[0],
            Item::Filtered {
                reason: "asa_built",
                ..
            }
        ));
        let f = flows(&items);
        assert_eq!(f[0].src_ip.to_string(), "198.51.100.7");
        assert_eq!(f[0].dst_port, Some(8443));
        assert_eq!(f[0].ts, 1_783_670_400_000_000);
        assert_eq!(f[1].src_ip.to_string(), "2001:db8:1::5");
        assert_eq!(f[1].dst_ip.to_string(), "2001:db8::53");
        assert_eq!(f[1].proto, Proto::Udp);
    }

    #[test]
    fn missing_year_other_ids_and_malformed() {
        let t = "Jul 10 08:00:10 fw %ASA-6-302016: Teardown UDP connection 10 for outside:198.51.100.53/53 to inside:192.0.2.5/40000 duration 0:00:00 bytes 148\n\
                 Jul 10 2026 08:00:10 fw %ASA-4-106023: Deny tcp src outside:198.51.100.1/80 dst inside:192.0.2.1/1 by access-group \"in\"\n\
                 Jul 10 2026 08:00:10 fw %ASA-6-302014: Teardown TCP connection 11 for outside:198.51.100.1/443 to inside:192.0.2.1/x duration 0:00:01 bytes 1\n\
                 just some text\n";
        let items = read_all(t, None);
        let summary: Vec<String> = items
            .iter()
            .filter(|i| !matches!(i, Item::Note(_)))
            .map(|i| match i {
                Item::Filtered { reason, .. } => reason.to_string(),
                Item::Reject(r) => format!("{}:{}", r.field, r.reason.as_str()),
                _ => "record".into(),
            })
            .collect();
        assert_eq!(
            summary,
            [
                "timestamp:timestamp_without_year",
                "asa_106023",
                "to:invalid_port",
                "(line):invalid_value"
            ]
        );
    }
}
