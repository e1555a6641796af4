//! SiLK `rwcut` output: `--delimited=,` CSV, or the default `|`-separated table whose
//! columns are padded with spaces. Columns are mapped by the header line.
//!
//! What is tricky:
//! - Records are uniflow (SiLK stores one direction per record): `bytes` is what `sIP`
//!   sent to `dIP`.
//! - Times look like `2015/06/17T00:00:00.083` (slash date, `T`, milliseconds) and carry no
//!   zone: SiLK writes UTC unless it was built with local time, so they are read at
//!   `--log-timezone` when given, else UTC with a note. `--epoch-time` output (seconds with
//!   a fraction) is read too.
//! - Lines end with a trailing delimiter in the default output (and some CSV exports),
//!   giving one more, empty, field than the header names.
//! - Column titles vary with options: `protocol` or `pro`, `duration` or `dur`,
//!   `packets` or `pkts`.

use std::io::BufRead;

use super::text::{read_lines, split_csv};
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, Reject, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{ByteDirection, FlowRecord, Proto, Record};

pub static SPEC: FormatSpec = FormatSpec {
    id: "silk-rwcut",
    title: "SiLK rwcut output (CSV or |-separated)",
    kinds: &[RecordKind::Flow],
    detected_by: "a header line whose ,- or |-separated titles include sIP, dIP and sTime or bytes",
    bytes: "uniflow: bytes is what sIP sent to dIP",
    field_map: &[
        (
            "ts",
            "sTime (`YYYY/MM/DDThh:mm:ss.mmm`, UTC unless --log-timezone; or epoch seconds)",
        ),
        ("duration", "duration / dur (seconds)"),
        ("src_ip / src_port", "sIP / sPort"),
        ("dst_ip / dst_port", "dIP / dPort"),
        ("proto", "protocol / pro (IANA number)"),
        ("bytes_out", "bytes"),
        ("bytes_in", "none (uniflow)"),
    ],
    detect,
    read,
};

fn delimiter(line: &str) -> u8 {
    if line.contains('|') {
        b'|'
    } else {
        b','
    }
}

/// Header titles, trimmed, without the empty title a trailing delimiter leaves.
fn titles(line: &str) -> Option<Vec<String>> {
    let mut t: Vec<String> = split_csv(line, delimiter(line))?
        .into_iter()
        .map(|s| s.trim().to_string())
        .collect();
    if t.last().is_some_and(String::is_empty) {
        t.pop();
    }
    let has = |n: &str| t.iter().any(|x| x == n);
    (has("sIP") && has("dIP") && (has("sTime") || has("bytes"))).then_some(t)
}

fn detect(h: &Head<'_>) -> bool {
    titles(h.first_line).is_some()
}

struct Columns {
    src: Option<usize>,
    dst: Option<usize>,
    sport: Option<usize>,
    dport: Option<usize>,
    proto: Option<usize>,
    bytes: Option<usize>,
    stime: Option<usize>,
    duration: Option<usize>,
    count: usize,
    delim: u8,
}

impl Columns {
    fn new(names: &[String], delim: u8) -> Self {
        let find = |alts: &[&str]| {
            names
                .iter()
                .position(|n| alts.iter().any(|a| n.eq_ignore_ascii_case(a)))
        };
        Columns {
            src: find(&["sIP"]),
            dst: find(&["dIP"]),
            sport: find(&["sPort"]),
            dport: find(&["dPort"]),
            proto: find(&["protocol", "pro"]),
            bytes: find(&["bytes"]),
            stime: find(&["sTime", "sTime+msec"]),
            duration: find(&["duration", "dur", "dur+msec"]),
            count: names.len(),
            delim,
        }
    }
}

type Fail = (&'static str, FieldError);

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut columns: Option<Columns> = None;
    let mut noted = false;
    read_lines(reader, ctx, sink, &mut |line, text, sink| {
        if let Some(names) = titles(text) {
            columns = Some(Columns::new(&names, delimiter(text)));
            return Ok(());
        }
        let Some(cols) = &columns else {
            return sink(Item::Reject(
                Reject::new(
                    line,
                    "(line)",
                    RejectReason::MissingHeader,
                    "no rwcut header line before this row",
                )
                .with_excerpt(text.as_bytes()),
            ));
        };
        let Some(mut v) = split_csv(text, cols.delim) else {
            return sink(Item::Reject(
                Reject::new(
                    line,
                    "(line)",
                    RejectReason::ColumnCount,
                    "a quoted field is left open",
                )
                .with_excerpt(text.as_bytes()),
            ));
        };
        if v.len() == cols.count + 1 && v.last().is_some_and(|s| s.trim().is_empty()) {
            v.pop();
        }
        if v.len() != cols.count {
            return sink(Item::Reject(
                Reject::new(
                    line,
                    "(line)",
                    RejectReason::ColumnCount,
                    format!("{} fields where the header has {}", v.len(), cols.count),
                )
                .with_excerpt(text.as_bytes()),
            ));
        }
        match flow(cols, &v, line, ctx) {
            Ok((f, naive)) => {
                if naive && !noted && ctx.options.log_timezone.is_none() {
                    noted = true;
                    sink(Item::Note(
                        "SiLK times carry no zone and were read as UTC (SiLK's default); set --log-timezone if your SiLK writes local time".into(),
                    ))?;
                }
                sink(Item::Record(Record::Flow(f)))
            }
            Err((field, e)) => sink(Item::Reject(
                Reject::new(line, field, e.reason, e.detail).with_excerpt(text.as_bytes()),
            )),
        }
    })
}

fn flow(
    c: &Columns,
    v: &[String],
    line: u64,
    ctx: &ReadContext<'_>,
) -> std::result::Result<(FlowRecord, bool), Fail> {
    let get = |i: Option<usize>| {
        i.and_then(|i| v.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    };
    let need = |i: Option<usize>, name: &'static str| {
        get(i).ok_or((
            name,
            FieldError {
                reason: RejectReason::MissingField,
                detail: "required field is empty or absent".into(),
            },
        ))
    };
    let stime = need(c.stime, "sTime")?;
    let (ts, naive) = if stime.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        (
            values::parse_epoch_decimal(stime).map_err(|e| ("sTime", e))?,
            false,
        )
    } else {
        let n = values::parse_naive(stime).ok_or((
            "sTime",
            FieldError {
                reason: RejectReason::InvalidTimestamp,
                detail: format!("`{stime}` is not a SiLK time (YYYY/MM/DDThh:mm:ss.mmm)"),
            },
        ))?;
        (
            values::local_to_micros(n, ctx.options.log_timezone).map_err(|e| ("sTime", e))?,
            true,
        )
    };
    let opt = |i: Option<usize>,
               name: &'static str,
               f: fn(&str) -> std::result::Result<u64, FieldError>| {
        get(i).map(f).transpose().map_err(|e| (name, e))
    };
    let port = |i: Option<usize>, name: &'static str| {
        get(i)
            .map(values::parse_port)
            .transpose()
            .map_err(|e| (name, e))
    };
    let record = FlowRecord {
        ts,
        uid: None,
        src_ip: values::parse_address(need(c.src, "sIP")?).map_err(|e| ("sIP", e))?,
        src_port: port(c.sport, "sPort")?,
        dst_ip: values::parse_address(need(c.dst, "dIP")?).map_err(|e| ("dIP", e))?,
        dst_port: port(c.dport, "dPort")?,
        proto: get(c.proto).map_or(Proto::Other("unknown".into()), Proto::parse),
        bytes_out: opt(c.bytes, "bytes", values::parse_count)?,
        bytes_in: None,
        duration: get(c.duration)
            .map(values::parse_seconds)
            .transpose()
            .map_err(|e| ("duration", e))?,
        local_orig: None,
        direction: ByteDirection::Uniflow,
        provenance: ctx.provenance(line),
    };
    Ok((record, naive))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReaderOptions;

    fn run(input: &str, options: &ReaderOptions) -> Vec<Item> {
        crate::read_text(read, input, options)
    }

    fn flow_at(items: &[Item], i: usize) -> &FlowRecord {
        match &items[i] {
            Item::Record(Record::Flow(f)) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn csv_with_trailing_empty_fields_and_slash_times() {
        let input = "sIP,dIP,sPort,dPort,protocol,packets,bytes,flags,sTime,duration,eTime,sensor,iType,iCode\n\
192.168.40.20,160.79.104.10,63975,443,6,8,344,FSA,2015/06/17T00:00:00.083,0.006,2015/06/17T00:00:00.089,S1,,\n\
192.168.40.20,160.79.104.10,63975,443,6,8,344,FSA,2015/06/17T00:00:00.083,0.006,2015/06/17T00:00:00.089,S1,,,\n\
192.168.40.20,160.79.104.10,63975,443,6,8,344\n";
        let items = run(input, &ReaderOptions::default());
        assert!(matches!(&items[0], Item::Note(_)));
        let f = flow_at(&items, 1);
        assert_eq!(f.ts, 1_434_499_200_083_000);
        assert_eq!(f.duration, Some(0.006));
        assert_eq!(f.src_ip.to_string(), "192.168.40.20");
        assert_eq!((f.src_port, f.dst_port), (Some(63975), Some(443)));
        assert_eq!(f.proto, Proto::Tcp);
        assert_eq!(f.bytes_out, Some(344));
        assert_eq!(f.bytes_in, None);
        assert_eq!(f.direction, ByteDirection::Uniflow);
        // A trailing delimiter adds one empty field; that is accepted.
        flow_at(&items, 2);
        assert!(matches!(&items[3], Item::Reject(r) if r.reason == RejectReason::ColumnCount));
    }

    #[test]
    fn padded_pipe_table_and_timezone() {
        let input = "            sIP|            dIP|sPort|dPort|pro|   packets|     bytes|   flags|                  sTime|  dur|                  eTime|sen|\n\
       10.0.0.5| 160.79.104.10|51544|  443|  6|        42|     18350|FS PA   |2026/07/01T08:00:00.500| 60.0|2026/07/01T08:01:00.500|S0 |\n\
       10.0.0.5|      bad-addr|51544|  443|  6|        42|     18350|FS PA   |2026/07/01T08:00:00.500| 60.0|2026/07/01T08:01:00.500|S0 |\n";
        let options = ReaderOptions {
            log_timezone: chrono::FixedOffset::east_opt(8 * 3600),
            ..ReaderOptions::default()
        };
        let items = run(input, &options);
        let f = flow_at(&items, 0);
        assert_eq!(f.ts, 1_782_864_000_500_000);
        assert_eq!(f.duration, Some(60.0));
        assert_eq!(f.bytes_out, Some(18350));
        assert!(matches!(&items[1], Item::Reject(r) if r.field == "dIP"));
    }
}
