//! Palo Alto Networks PAN-OS TRAFFIC logs, as CSV over syslog.
//!
//! Columns are positional (0-based after the syslog prefix, which sticks to field 0:
//! `Nov 30 16:09:08 PA-220 1,2018/11/30 …`): 3 type, 4 subtype, 7/8 source/destination
//! before NAT, 9/10 after NAT, 24/25 ports, 29 protocol name, 30 action, 31 bytes,
//! 32 bytes_sent (client to server: the upload), 33 bytes_received, 35 session start,
//! 36 elapsed seconds, 46 session end reason. Newer PAN-OS versions only append columns
//! (8.x writes 65, 10.x/11.x over 100), so anything from 47 fields on is read.
//!
//! Tricky: times are the firewall's local time with no zone (`--log-timezone`); `start`
//! records carry partial counts (the totals come with the session's `end` record), and
//! `drop`/`deny` records describe blocked traffic that never left. The session id is
//! reused after a restart, so the uid combines the device serial, the session id and the
//! start time.

use std::io::BufRead;

use super::text::{read_lines, split_csv};
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, Reject, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{ByteDirection, FlowRecord, Proto, Provenance, Record};

/// The fewest columns a TRAFFIC record of PAN-OS 8.0 or later has (to session_end_reason).
const MIN_FIELDS: usize = 47;

pub static TRAFFIC: FormatSpec = FormatSpec {
    id: "panos-traffic",
    title: "Palo Alto PAN-OS TRAFFIC log (syslog CSV)",
    kinds: &[RecordKind::Flow],
    detected_by: "CSV lines (after an optional syslog prefix) with a YYYY/MM/DD receive time in field 1, TRAFFIC in field 3 and at least 47 fields",
    bytes: "bytes_sent (field 32) is what the client sent (upload), bytes_received (33) what it received; one record covers both directions of the session",
    field_map: &[
        ("ts", "start time (field 35, firewall local time: --log-timezone)"),
        ("uid", "device serial (2) + session id (22) + start time"),
        ("src_ip / src_port", "source address (7, before NAT) / source port (24)"),
        ("dst_ip / dst_port", "destination address (8, before NAT) / destination port (25)"),
        ("proto", "IP protocol (29)"),
        ("bytes_out", "bytes_sent (32)"),
        ("bytes_in", "bytes_received (33)"),
        ("duration", "elapsed time (36, seconds)"),
        ("(filtered)", "subtype start (partial counts), drop/deny, other log types (THREAT, SYSTEM...)"),
    ],
    detect,
    read,
};

fn detect(h: &Head<'_>) -> bool {
    h.text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .any(|l| {
            let Some(f) = split_csv(l, b',') else {
                return false;
            };
            f.len() >= MIN_FIELDS && f[3] == "TRAFFIC" && is_panos_date(&f[1])
        })
}

/// `YYYY/MM/DD hh:mm:ss`, the only time spelling PAN-OS writes in its CSV.
fn is_panos_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 19 && b[4] == b'/' && b[7] == b'/' && b[10] == b' ' && b[13] == b':'
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut noted_zone = false;
    read_lines(reader, ctx, sink, &mut |number, text, sink| {
        let Some(fields) = split_csv(text, b',') else {
            return sink(reject(
                number,
                "(line)",
                RejectReason::ColumnCount,
                "a quoted field is not closed",
                text,
            ));
        };
        let log_type = fields.get(3).map(String::as_str).unwrap_or("");
        let dated = fields.get(1).is_some_and(|d| is_panos_date(d));
        if log_type != "TRAFFIC" {
            if dated && !log_type.is_empty() {
                return sink(Item::Filtered {
                    line: number,
                    reason: other_type_reason(log_type),
                });
            }
            return sink(reject(
                number,
                "type",
                RejectReason::InvalidValue,
                "not a PAN-OS log line (no YYYY/MM/DD time in field 1 and type in field 3)",
                text,
            ));
        }
        if fields.len() < MIN_FIELDS {
            return sink(reject(
                number,
                "(line)",
                RejectReason::ColumnCount,
                format!(
                    "{} fields; a TRAFFIC record has at least {MIN_FIELDS}",
                    fields.len()
                ),
                text,
            ));
        }
        let subtype = fields[4].as_str();
        let action = fields[30].as_str();
        match subtype {
            "start" => {
                return sink(Item::Filtered {
                    line: number,
                    reason: "panos_start",
                })
            }
            "drop" | "deny" => {
                return sink(Item::Filtered {
                    line: number,
                    reason: "panos_denied",
                })
            }
            _ => {}
        }
        if action.starts_with("deny") || action.starts_with("drop") {
            return sink(Item::Filtered {
                line: number,
                reason: "panos_denied",
            });
        }
        // An empty subtype with a session end reason is a finished session (PAN-OS 8.x
        // writes some this way); anything else is not a totals record.
        if subtype != "end" && (!subtype.is_empty() || fields[46].is_empty()) {
            return sink(Item::Filtered {
                line: number,
                reason: "panos_other_subtype",
            });
        }
        match parse_flow(&fields, ctx.provenance(number), ctx) {
            Ok(flow) => {
                if !noted_zone && ctx.options.log_timezone.is_none() {
                    noted_zone = true;
                    sink(Item::Note(
                        "PAN-OS times carry no zone and were read as UTC; set --log-timezone to the firewall's offset".into(),
                    ))?;
                }
                sink(Item::Record(Record::Flow(flow)))
            }
            Err((field, e)) => sink(reject(number, field, e.reason, e.detail, text)),
        }
    })
}

fn other_type_reason(t: &str) -> &'static str {
    match t {
        "THREAT" => "panos_threat",
        "SYSTEM" => "panos_system",
        "CONFIG" => "panos_config",
        _ => "panos_other_type",
    }
}

fn reject(
    line: u64,
    field: &str,
    reason: RejectReason,
    detail: impl Into<String>,
    raw: &str,
) -> Item {
    Item::Reject(Reject::new(line, field, reason, detail).with_excerpt(raw.as_bytes()))
}

type FieldResult<T> = std::result::Result<T, (&'static str, FieldError)>;

fn named<T>(name: &'static str, r: std::result::Result<T, FieldError>) -> FieldResult<T> {
    r.map_err(|e| (name, e))
}

/// An optional count: PAN-OS leaves no counter empty, but exports through SIEMs do.
fn count(name: &'static str, s: &str) -> FieldResult<Option<u64>> {
    if s.is_empty() {
        return Ok(None);
    }
    named(name, values::parse_count_lenient(s)).map(Some)
}

fn parse_flow(
    f: &[String],
    provenance: Provenance,
    ctx: &ReadContext<'_>,
) -> FieldResult<FlowRecord> {
    let src_ip = named("src", values::parse_address(&f[7]))?;
    let dst_ip = named("dst", values::parse_address(&f[8]))?;
    let src_port = named("sport", values::parse_port(&f[24]))?;
    let dst_port = named("dport", values::parse_port(&f[25]))?;
    let naive = values::parse_naive(&f[35]).ok_or_else(|| {
        (
            "start",
            FieldError {
                reason: RejectReason::InvalidTimestamp,
                detail: format!("`{}` is not YYYY/MM/DD hh:mm:ss", f[35]),
            },
        )
    })?;
    let ts = named(
        "start",
        values::local_to_micros(naive, ctx.options.log_timezone),
    )?;
    let bytes_sent = count("bytes_sent", &f[32])?;
    let bytes_received = count("bytes_received", &f[33])?;
    let duration = if f[36].is_empty() {
        None
    } else {
        Some(named("elapsed", values::parse_seconds(&f[36]))?)
    };
    let session = f[22].trim();
    let uid = (!session.is_empty() && session != "0")
        .then(|| compact_str::format_compact!("panos:{}:{}:{}", f[2].trim(), session, ts));
    let proto = if f[29].is_empty() {
        Proto::Other("unknown".into())
    } else {
        Proto::parse(&f[29])
    };
    Ok(FlowRecord {
        ts,
        uid,
        src_ip,
        src_port: Some(src_port),
        dst_ip,
        dst_port: Some(dst_port),
        proto,
        bytes_out: bytes_sent,
        bytes_in: bytes_received,
        duration,
        local_orig: None,
        direction: ByteDirection::Biflow,
        provenance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const END: &str = "Jul 10 08:00:05 PA-3220 1,2026/07/10 08:00:04,013201001234,TRAFFIC,end,2560,2026/07/10 08:00:04,192.0.2.10,160.79.104.10,203.0.113.5,160.79.104.10,allow-ai,,,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,fwd,2026/07/10 08:00:04,41001,1,50123,443,40123,443,0x400053,tcp,allow,15000,12000,3000,40,2026/07/10 07:59:01,63,computer-and-internet-info,0,7001,0x0,192.0.2.0-192.0.2.255,United States,0,20,20,tcp-fin,0,0,0,0,,PA-3220,from-policy,,,0,,0,,N/A,0,0,0,0";

    fn read_all(text: &str, tz: Option<i32>) -> Vec<Item> {
        let options = super::super::ReaderOptions {
            log_timezone: tz.and_then(|h| chrono::FixedOffset::east_opt(h * 3600)),
            ..Default::default()
        };
        crate::read_text(read, text, &options)
    }

    #[test]
    fn end_record_maps_every_field() {
        let items = read_all(END, Some(8));
        assert_eq!(items.len(), 1, "no zone note when --log-timezone is set");
        let Item::Record(Record::Flow(f)) = &items[0] else {
            panic!("{items:?}")
        };
        // 2026-07-10 07:59:01 at +08:00 = 2026-07-09T23:59:01Z
        assert_eq!(f.ts, 1_783_641_541_000_000);
        assert_eq!(f.src_ip.to_string(), "192.0.2.10");
        assert_eq!(f.dst_ip.to_string(), "160.79.104.10");
        assert_eq!((f.src_port, f.dst_port), (Some(50123), Some(443)));
        assert_eq!((f.bytes_out, f.bytes_in), (Some(12000), Some(3000)));
        assert_eq!(f.direction, ByteDirection::Biflow);
        assert_eq!(f.proto, Proto::Tcp);
        assert_eq!(f.duration, Some(63.0));
        assert_eq!(
            f.uid.as_deref(),
            Some("panos:013201001234:41001:1783641541000000")
        );
    }

    #[test]
    fn without_zone_reads_utc_and_notes_it_once() {
        let two = format!("{END}\n{END}\n");
        let items = read_all(&two, None);
        assert_eq!(items.len(), 3);
        assert!(matches!(&items[0], Item::Note(n) if n.contains("--log-timezone")));
        let Item::Record(Record::Flow(f)) = &items[1] else {
            panic!()
        };
        assert_eq!(f.ts, 1_783_670_341_000_000); // 2026-07-10T07:59:01Z
    }

    #[test]
    fn subtypes_types_and_column_counts() {
        let start = END.replace(",TRAFFIC,end,", ",TRAFFIC,start,");
        let deny = END.replace(",TRAFFIC,end,", ",TRAFFIC,deny,");
        let drop_action = END.replace(",tcp,allow,", ",tcp,drop,");
        let threat = END.replace(",TRAFFIC,end,", ",THREAT,url,");
        // PAN-OS 10.x/11.x append columns: still read.
        let longer = format!("{END},,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,");
        // Truncated to 40 fields: rejected.
        let short: Vec<&str> = END.split(',').take(40).collect();
        let text = [
            start,
            deny,
            drop_action,
            threat,
            longer,
            short.join(","),
            END.replace(",50123,", ",port,"),
        ]
        .join("\n");
        let items = read_all(&text, Some(0));
        let got: Vec<String> = items
            .iter()
            .map(|i| match i {
                Item::Filtered { reason, .. } => reason.to_string(),
                Item::Record(_) => "record".into(),
                Item::Reject(r) => format!("reject:{}:{}", r.field, r.reason.as_str()),
                Item::Note(_) => "note".into(),
            })
            .collect();
        assert_eq!(
            got,
            [
                "panos_start",
                "panos_denied",
                "panos_denied",
                "panos_threat",
                "record",
                "reject:(line):column_count",
                "reject:sport:invalid_port"
            ]
        );
    }
}
