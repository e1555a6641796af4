//! ArcSight Common Event Format (CEF), as many firewalls, proxies and SIEMs forward it:
//! an optional syslog prefix (BSD `<134>Oct 10 2026 12:34:56 host ` or RFC 5424
//! `<134>1 2026-10-10T12:34:56Z host app - - - `), then
//! `CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension`.
//!
//! Tricky:
//! * The seven header fields escape `\|` and `\\`; the extension does not escape `|`, so
//!   only the first seven unescaped pipes split.
//! * The extension is `key=value` pairs separated by spaces, but values may contain spaces:
//!   a value runs until the next ` key=` (an unescaped `=` preceded by a key and a space).
//!   Values escape `\=`, `\\`, `\n`, `\r`. A URL such as `request=http://x/?a=b` keeps its
//!   `=` because `?a` is not preceded by a space.
//! * Times (`rt`, `start`, `end`) are epoch milliseconds or `MMM dd yyyy HH:mm:ss[.SSS]
//!   [zone]`, sometimes without the year (`--assume-year`) and often without a zone
//!   (`--log-timezone`, else UTC and a note).
//! * One feed mixes flows with authentication, malware and system events: an event without
//!   `src` and `dst` is filtered (`cef_no_flow`), and blocked or denied connections, which
//!   never carried data, are filtered as `cef_blocked`.
//! * `out` (bytesOut) is what `src` sent to `dst`, so one record is a biflow. NAT fields
//!   (`sourceTranslatedAddress`…) are ignored: the pre-NAT `src` is the client.
//! * `externalId` is an event id, not a connection id, and not guaranteed unique: no uid.

use std::collections::HashMap;
use std::io::BufRead;

use super::syslog::{self, Stamp};
use super::text::read_lines;
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, ReaderOptions, RecordKind, Reject, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{ByteDirection, FlowRecord, Micros, Proto, Record};

pub static CEF: FormatSpec = FormatSpec {
    id: "cef",
    title: "ArcSight Common Event Format (CEF), optionally over syslog",
    kinds: &[RecordKind::Flow],
    detected_by: "the first line (after an optional BSD or RFC 5424 syslog prefix) starts with CEF:<version>|",
    bytes: "out (bytesOut) is what src sent to dst (upload), in (bytesIn) what src received; one event covers both directions",
    field_map: &[
        (
            "ts",
            "start (startTime), else rt (deviceReceiptTime), else end, else the syslog time; epoch ms or MMM dd [yyyy] HH:mm:ss[.SSS] [zone]",
        ),
        ("uid", "none (externalId is not a unique connection id)"),
        ("src_ip", "src (sourceAddress), else c6a2 (custom IPv6 address 2)"),
        ("dst_ip", "dst (destinationAddress), else c6a3 (custom IPv6 address 3)"),
        ("src_port / dst_port", "spt (sourcePort) / dpt (destinationPort)"),
        ("proto", "proto (transportProtocol), a name or a number"),
        ("bytes_out", "out (bytesOut)"),
        ("bytes_in", "in (bytesIn)"),
        ("duration", "end - start, when both are present"),
        ("local_orig", "deviceDirection 1 (outbound) → true, 0 (inbound) → false"),
        (
            "(filtered)",
            "act (deviceAction) block/blocked/deny/denied/drop/dropped/reject/rejected (cef_blocked); no src and no dst (cef_no_flow)",
        ),
    ],
    detect,
    read,
};

fn detect(h: &Head<'_>) -> bool {
    cef_start(h.first_line).is_some_and(|at| h.first_line.get(..at).is_some_and(is_syslog_prefix))
}

/// Byte offset of the first `CEF:<digits>|` in a line.
fn cef_start(line: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = line.get(from..)?.find("CEF:") {
        let at = from + i;
        let after = line.get(at + 4..)?;
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after.as_bytes().get(digits) == Some(&b'|') {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// True for what may precede `CEF:` on a line: nothing, a `<PRI>`, or a syslog header that
/// starts with a timestamp (BSD) or with version `1` and a timestamp (RFC 5424).
fn is_syslog_prefix(prefix: &str) -> bool {
    let p = syslog::strip_pri(prefix).trim();
    p.is_empty() || (p.len() <= 512 && !p.contains(['{', '"', '|']) && syslog_stamp(p).is_some())
}

/// The timestamp of a syslog prefix, BSD or RFC 5424.
fn syslog_stamp(prefix: &str) -> Option<Stamp> {
    let p = syslog::strip_pri(prefix).trim_start();
    let p = p.strip_prefix("1 ").unwrap_or(p);
    syslog::leading_timestamp(p).map(|(s, _)| s)
}

/// The seven header fields (unescaped) and the raw extension, or `None` when fewer than
/// seven unescaped pipes follow `CEF:`.
fn split_header(cef: &str) -> Option<(Vec<String>, &str)> {
    let mut fields = Vec::with_capacity(7);
    let mut field = String::new();
    let mut escaped = false;
    for (i, c) in cef.char_indices() {
        if escaped {
            if c != '|' && c != '\\' {
                field.push('\\');
            }
            field.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '|' {
            fields.push(std::mem::take(&mut field));
            if fields.len() == 7 {
                return Some((fields, cef.get(i + 1..)?));
            }
        } else {
            field.push(c);
        }
    }
    None
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']')
}

/// The extension's `key=value` pairs, values unescaped. A key is a run of key characters
/// at the start or after a space, followed by an unescaped `=`; its value runs until the
/// space before the next key. Text before the first key is ignored.
fn parse_extension(ext: &str) -> HashMap<&str, String> {
    let bytes = ext.as_bytes();
    // (key start, `=` position) of every key.
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'=' {
            let mut j = i;
            while j > 0 && bytes.get(j - 1).copied().is_some_and(is_key_byte) {
                j -= 1;
            }
            if j < i && (j == 0 || bytes.get(j - 1) == Some(&b' ')) {
                keys.push((j, i));
            }
        }
    }
    let mut out = HashMap::with_capacity(keys.len());
    for (n, &(start, eq)) in keys.iter().enumerate() {
        let end = keys.get(n + 1).map_or(ext.len(), |&(next, _)| next);
        let (Some(key), Some(raw)) = (ext.get(start..eq), ext.get(eq + 1..end)) else {
            continue;
        };
        out.insert(key, unescape_value(raw.trim()));
    }
    out
}

fn unescape_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(e @ ('=' | '\\' | '|')) => out.push(e),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A zone written after a CEF time: `UTC`, `GMT`, `Z`, `+02:00`, `+0200`, `-05`,
/// `GMT+02:00`. Names such as `CEST` are refused: they are ambiguous.
fn parse_zone(s: &str) -> Option<chrono::FixedOffset> {
    let s = s.trim();
    let rest = s
        .strip_prefix("UTC")
        .or_else(|| s.strip_prefix("GMT"))
        .unwrap_or(s);
    if rest.is_empty() || rest == "Z" {
        return chrono::FixedOffset::east_opt(0);
    }
    let (sign, digits) = match rest.as_bytes().first()? {
        b'+' => (1, rest.get(1..)?),
        b'-' => (-1, rest.get(1..)?),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits.get(..2)?.parse().ok()?,
            digits.get(2..)?.parse().ok()?,
        ),
        _ => return None,
    };
    if h > 14 || m > 59 {
        return None;
    }
    chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// A CEF time value as UTC micros, and whether it was read without a zone.
fn parse_time(s: &str, options: &ReaderOptions) -> std::result::Result<(Micros, bool), FieldError> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return values::parse_epoch_auto(t).map(|m| (m, false));
    }
    let bad = |detail: String| FieldError {
        reason: RejectReason::InvalidTimestamp,
        detail,
    };
    let Some((stamp, rest)) = syslog::leading_timestamp(t) else {
        return Err(bad(format!(
            "`{t}` is neither epoch milliseconds nor MMM dd yyyy HH:mm:ss"
        )));
    };
    let rest = rest.trim();
    let no_year = |mut e: FieldError| {
        if e.reason == RejectReason::TimestampWithoutYear {
            e.detail = format!("`{t}` has no year; set --assume-year");
        }
        e
    };
    if rest.is_empty() {
        return stamp
            .to_micros(options)
            .map(|m| (m, stamp.is_local()))
            .map_err(no_year);
    }
    if !stamp.is_local() {
        return Err(bad(format!("`{t}` has text after its time")));
    }
    let Some(zone) = parse_zone(rest) else {
        return Err(bad(format!(
            "`{rest}` is not a UTC offset (names such as CEST are ambiguous)"
        )));
    };
    let with_zone = ReaderOptions {
        log_timezone: Some(zone),
        assume_year: options.assume_year,
        ..ReaderOptions::default()
    };
    stamp
        .to_micros(&with_zone)
        .map(|m| (m, false))
        .map_err(no_year)
}

/// `act` values meaning the connection was stopped.
fn is_blocked(action: &str) -> bool {
    let word = action
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|w| !w.is_empty())
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(
        word.as_str(),
        "block" | "blocked" | "deny" | "denied" | "drop" | "dropped" | "reject" | "rejected"
    )
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut noted_zone = false;
    read_lines(reader, ctx, sink, &mut |number, text, sink| {
        let reject = |field: &str, e: FieldError| {
            Item::Reject(
                Reject::new(number, field, e.reason, e.detail).with_excerpt(text.as_bytes()),
            )
        };
        let invalid = |detail: &str| FieldError {
            reason: RejectReason::InvalidValue,
            detail: detail.into(),
        };
        let Some(at) = cef_start(text) else {
            return sink(reject("(line)", invalid("no CEF:<version>| header")));
        };
        let (Some(prefix), Some(cef)) = (text.get(..at), text.get(at..)) else {
            return sink(reject("(line)", invalid("no CEF:<version>| header")));
        };
        let Some((_header, ext)) = split_header(cef) else {
            return sink(reject(
                "(header)",
                FieldError {
                    reason: RejectReason::ColumnCount,
                    detail: "the CEF header has fewer than 7 `|`-separated fields".into(),
                },
            ));
        };
        let ext = parse_extension(ext);
        let get = |keys: &[&'static str]| -> Option<(&'static str, &str)> {
            keys.iter().find_map(|k| {
                ext.get(k)
                    .filter(|v| !v.is_empty())
                    .map(|v| (*k, v.as_str()))
            })
        };
        if get(&["act", "deviceAction"]).is_some_and(|(_, a)| is_blocked(a)) {
            return sink(Item::Filtered {
                line: number,
                reason: "cef_blocked",
            });
        }
        let src = get(&["src", "sourceAddress", "c6a2"]);
        let dst = get(&["dst", "destinationAddress", "c6a3"]);
        let (src, dst) = match (src, dst) {
            (None, None) => {
                return sink(Item::Filtered {
                    line: number,
                    reason: "cef_no_flow",
                })
            }
            (Some(s), Some(d)) => (s, d),
            (None, Some(_)) | (Some(_), None) => {
                let missing = if src.is_none() { "src" } else { "dst" };
                return sink(reject(
                    missing,
                    FieldError {
                        reason: RejectReason::MissingField,
                        detail: format!("the event has one address but no `{missing}`"),
                    },
                ));
            }
        };
        let src_ip = match values::parse_address(src.1) {
            Ok(ip) => ip,
            Err(e) => return sink(reject(src.0, e)),
        };
        let dst_ip = match values::parse_address(dst.1) {
            Ok(ip) => ip,
            Err(e) => return sink(reject(dst.0, e)),
        };
        let mut ports = [None, None];
        for (slot, keys) in ports
            .iter_mut()
            .zip([["spt", "sourcePort"], ["dpt", "destinationPort"]])
        {
            if let Some((k, v)) = get(&keys) {
                match values::parse_port(v) {
                    Ok(p) => *slot = Some(p),
                    Err(e) => return sink(reject(k, e)),
                }
            }
        }
        let mut bytes = [None, None];
        for (slot, keys) in bytes
            .iter_mut()
            .zip([["out", "bytesOut"], ["in", "bytesIn"]])
        {
            if let Some((k, v)) = get(&keys) {
                match values::parse_count_lenient(v) {
                    Ok(n) => *slot = Some(n),
                    Err(e) => return sink(reject(k, e)),
                }
            }
        }
        let mut times = [None, None, None];
        let mut zoneless = false;
        for (slot, keys) in times.iter_mut().zip([
            &["start", "startTime"][..],
            &["rt", "deviceReceiptTime", "receiptTime"][..],
            &["end", "endTime"][..],
        ]) {
            if let Some((k, v)) = get(keys) {
                match parse_time(v, ctx.options) {
                    Ok((m, local)) => {
                        *slot = Some(m);
                        zoneless |= local;
                    }
                    Err(e) => return sink(reject(k, e)),
                }
            }
        }
        let [start, rt, end] = times;
        let ts = match start.or(rt).or(end) {
            Some(t) => t,
            None => {
                let Some(stamp) = syslog_stamp(prefix) else {
                    return sink(reject(
                        "start",
                        FieldError {
                            reason: RejectReason::MissingField,
                            detail: "no start, rt or end time and no syslog time".into(),
                        },
                    ));
                };
                match stamp.to_micros(ctx.options) {
                    Ok(t) => {
                        zoneless |= stamp.is_local();
                        t
                    }
                    Err(e) => return sink(reject("(syslog time)", e)),
                }
            }
        };
        let duration = match (start, end) {
            (Some(s), Some(e)) => e.checked_sub(s).filter(|d| *d >= 0).map(|d| d as f64 / 1e6),
            _ => None,
        };
        let local_orig = match get(&["deviceDirection"]).map(|(_, v)| v.trim()) {
            Some("1") => Some(true),
            Some("0") => Some(false),
            _ => None,
        };
        if zoneless && !noted_zone && ctx.options.log_timezone.is_none() {
            noted_zone = true;
            sink(Item::Note(
                "CEF times without a zone were read as UTC; set --log-timezone".into(),
            ))?;
        }
        sink(Item::Record(Record::Flow(FlowRecord {
            ts,
            uid: None,
            src_ip,
            src_port: ports[0],
            dst_ip,
            dst_port: ports[1],
            proto: get(&["proto", "transportProtocol"])
                .map_or(Proto::Other("unknown".into()), |(_, p)| {
                    Proto::parse(p.trim())
                }),
            bytes_out: bytes[0],
            bytes_in: bytes[1],
            duration,
            local_orig,
            direction: ByteDirection::Biflow,
            provenance: ctx.provenance(number),
        })))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn read_with(text: &str, options: &ReaderOptions) -> Vec<Item> {
        crate::read_text(read, text, options)
    }

    fn read_all(text: &str) -> Vec<Item> {
        read_with(text, &ReaderOptions::default())
    }

    fn flow(items: &[Item]) -> &FlowRecord {
        items
            .iter()
            .find_map(|i| match i {
                Item::Record(Record::Flow(f)) => Some(f),
                _ => None,
            })
            .expect("a flow")
    }

    fn head_detects(text: &str) -> bool {
        let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap();
        detect(&Head {
            path: Path::new("t"),
            bytes: text.as_bytes(),
            text,
            first_line: first,
            first_json: None,
        })
    }

    #[test]
    fn epoch_ms_biflow_with_spaces_and_escapes() {
        let t = r"CEF:0|Acme|Fire\|Wall|1.0|100|Conn\\closed|3|src=10.1.2.3 spt=50123 dst=160.79.104.10 dpt=443 proto=TCP out=5000 in=1200 start=1783670400123 end=1783670410623 msg=user said a\=b and c=d \\ ok\nnext request=https://x/?q=1 deviceDirection=1";
        let items = read_all(t);
        assert_eq!(items.len(), 1, "epoch times need no zone note");
        let f = flow(&items);
        // 2026-07-10T08:00:00.123Z
        assert_eq!(f.ts, 1_783_670_400_123_000);
        assert_eq!(f.src_ip.to_string(), "10.1.2.3");
        assert_eq!(f.dst_ip.to_string(), "160.79.104.10");
        assert_eq!((f.src_port, f.dst_port), (Some(50123), Some(443)));
        assert_eq!(f.proto, Proto::Tcp);
        assert_eq!((f.bytes_out, f.bytes_in), (Some(5000), Some(1200)));
        assert_eq!(f.direction, ByteDirection::Biflow);
        assert_eq!(f.duration, Some(10.5));
        assert_eq!(f.local_orig, Some(true));
        assert_eq!(f.uid, None);

        let (h, ext) = split_header(t.get(cef_start(t).unwrap()..).unwrap()).unwrap();
        assert_eq!(h[2], "Fire|Wall");
        assert_eq!(h[5], r"Conn\closed");
        let ext = parse_extension(ext);
        // `c=d` after a space is a key: unescaped `=` in a value must be written `\=`.
        assert_eq!(ext["msg"], "user said a=b and");
        assert_eq!(ext["c"], "d \\ ok\nnext");
        assert_eq!(ext["request"], "https://x/?q=1");
    }

    #[test]
    fn syslog_prefix_text_times_zones_and_missing_year() {
        // BSD prefix, rt with year and milliseconds, no zone: UTC and a note.
        let t = "<134>Oct 10 2026 12:34:56 fw1 CEF:0|V|P|1|1|n|1|rt=Jul 10 2026 08:00:00.250 src=10.1.0.5 dst=198.51.100.7 proto=17\n";
        let items = read_all(t);
        assert!(matches!(items[0], Item::Note(_)));
        let f = flow(&items);
        assert_eq!(f.ts, 1_783_670_400_250_000);
        assert_eq!(f.proto, Proto::Udp);
        assert_eq!((f.bytes_out, f.bytes_in), (None, None));
        // An explicit offset wins over --log-timezone, and needs no note.
        let t = "CEF:1|V|P|1|1|n|1|rt=Jul 10 2026 10:00:00 +02:00 src=10.1.0.5 dst=198.51.100.7\n";
        let items = read_all(t);
        assert_eq!(items.len(), 1);
        assert_eq!(flow(&items).ts, 1_783_670_400_000_000);
        assert_eq!(
            parse_time("Jul 10 2026 08:00:00 UTC", &ReaderOptions::default()).unwrap(),
            (1_783_670_400_000_000, false)
        );
        assert!(parse_time("Jul 10 2026 08:00:00 CEST", &ReaderOptions::default()).is_err());
        // No year: --assume-year, at --log-timezone; without it, rejected.
        let t = "CEF:0|V|P|1|1|n|1|rt=Jul 10 16:00:00 src=10.1.0.5 dst=198.51.100.7\n";
        let items = read_all(t);
        assert!(matches!(
            &items[0],
            Item::Reject(r) if r.field == "rt" && r.reason == RejectReason::TimestampWithoutYear
        ));
        let opts = ReaderOptions {
            assume_year: Some(2026),
            log_timezone: chrono::FixedOffset::east_opt(8 * 3600),
            ..ReaderOptions::default()
        };
        let items = read_with(t, &opts);
        assert_eq!(items.len(), 1, "no note when --log-timezone is given");
        assert_eq!(flow(&items).ts, 1_783_670_400_000_000);
        // RFC 5424 prefix; no CEF time: the syslog time is used.
        let t = "<134>1 2026-07-10T08:00:00.5Z fw1 CEF - - - CEF:0|V|P|1|1|n|1|src=2001:db8::1 dst=2001:db8::2\n";
        let items = read_all(t);
        assert_eq!(flow(&items).ts, 1_783_670_400_500_000);
        // start wins over rt.
        let t = "CEF:0|V|P|1|1|n|1|rt=1783670460000 start=1783670400000 src=10.1.0.5 dst=198.51.100.7\n";
        assert_eq!(flow(&read_all(t)).ts, 1_783_670_400_000_000);
    }

    #[test]
    fn blocked_no_flow_ipv6_custom_and_malformed() {
        let t = "CEF:0|V|P|1|1|n|5|act=Denied src=10.1.0.5 dst=198.51.100.7 rt=1783670400000\n\
                 CEF:0|V|P|1|auth|Logon|5|suser=alice rt=1783670400000\n\
                 CEF:0|V|P|1|1|n|1|c6a2=2001:db8::5 c6a2Label=Source IPv6 Address c6a3=2001:db8::7 sourceTranslatedAddress=203.0.113.9 rt=1783670400000 act=allow\n\
                 CEF:0|V|P|1|1|n|1|src=10.1.0.5 dst=198.51.100.7 dpt=99999 rt=1783670400000\n\
                 CEF:0|V|P|1|1|n|1|src=10.1.0.5 rt=1783670400000\n\
                 CEF:0|V|P|truncated\n\
                 not cef at all\n";
        let items = read_all(t);
        let summary: Vec<String> = items
            .iter()
            .map(|i| match i {
                Item::Filtered { reason, .. } => reason.to_string(),
                Item::Reject(r) => format!("{}:{}", r.field, r.reason.as_str()),
                Item::Record(Record::Flow(f)) => format!("flow {} {}", f.src_ip, f.dst_ip),
                _ => "other".into(),
            })
            .collect();
        assert_eq!(
            summary,
            [
                "cef_blocked",
                "cef_no_flow",
                "flow 2001:db8::5 2001:db8::7",
                "dpt:invalid_port",
                "dst:missing_field",
                "(header):column_count",
                "(line):invalid_value",
            ]
        );
    }

    #[test]
    fn detection_needs_cef_on_the_first_line() {
        assert!(head_detects("CEF:0|V|P|1|1|n|1|src=10.0.0.1\n"));
        assert!(head_detects(
            "<134>Oct 10 2026 12:34:56 host CEF:0|V|P|1|1|n|1|src=10.0.0.1\n"
        ));
        assert!(head_detects(
            "<134>Oct 10 12:34:56 host CEF:0|V|P|1|1|n|1|src=10.0.0.1\n"
        ));
        assert!(head_detects(
            "<134>1 2026-10-10T12:34:56Z host app - - - CEF:0|V|P|1|1|n|1|x=1\n"
        ));
        // A BIND log that carries a CEF line further down is not CEF.
        assert!(!head_detects(
            "10-Jul-2026 08:00:00.000 client @0x1 192.0.2.1#5353 (a.example): query: a.example IN A +\n\
             <30>Jul 10 08:00:06 ns1 named[1]: CEF:0|Infoblox|NIOS|8|RPZ|NX|7|src=192.0.2.15\n"
        ));
        assert!(!head_detects("{\"raw\": \"CEF:0|V|P|1|1|n|1|\"}\n"));
        assert!(!head_detects("CEF:x|V|P|\n"));
        assert!(!head_detects("garbage CEF:0|V|P|1|1|n|1|\n"));
    }
}
