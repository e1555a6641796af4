//! Splunk search results exported as CSV, with Common Information Model field names:
//! Network_Traffic (`src`, `dest`, `bytes_out`, `bytes_in`…) for flows and
//! Network_Resolution (`query`, `answer`, `record_type`, `reply_code`) for DNS. A file may
//! hold either or both (`| table *` over mixed sourcetypes): a row with a `query` is DNS,
//! any other row a flow.
//!
//! Splunk writes a multi-valued field (several DNS answers) as one quoted cell with one
//! value per line, so a record can span lines; comma-separated values are accepted too.
//! `_time` is written in the exporting user's time format: with an offset, as epoch
//! seconds, or without a zone (then read at `--log-timezone`, and the file gets a note).
//! CIM has no connection id shared across sourcetypes, so rows carry no uid: an export
//! that repeats a row counts it twice.

use std::io::BufRead;
use std::net::IpAddr;

use super::lines::{self, Line, LineReader, MAX_LINE_BYTES, UTF8_BOM};
use super::siem_common::{timestamp_or_local, typed_answer, zone_note};
use super::text::split_csv;
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, Reject, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{
    normalise_hostname, ByteDirection, DnsRecord, FlowRecord, Micros, Proto, Provenance, Record,
    ShortText,
};

pub static CSV: FormatSpec = FormatSpec {
    id: "splunk-cim-csv",
    title: "Splunk CSV export with CIM field names (Network_Traffic, Network_Resolution)",
    kinds: &[RecordKind::Flow, RecordKind::Dns],
    detected_by: "a CSV header with _time and CIM names: src/src_ip with dest/dest_ip (Network_Traffic), or query (Network_Resolution)",
    bytes: "bytes_out is what src sent (upload), bytes_in what it received; bytes alone is both directions summed (combined)",
    field_map: &[
        ("record kind", "a row with query → dns, else flow"),
        ("ts", "_time (RFC 3339, epoch seconds, or zone-less at --log-timezone)"),
        ("src_ip / src_port", "src_ip, else src / src_port"),
        ("dst_ip / dst_port", "dest_ip, else dest / dest_port"),
        ("proto", "transport, else protocol"),
        ("bytes_out / bytes_in", "bytes_out / bytes_in; else bytes (combined)"),
        ("duration", "duration (seconds)"),
        ("dns client_ip", "src_ip, else src"),
        ("dns query / qtype / rcode", "query / record_type / reply_code"),
        ("dns answers", "answer (multi-valued: one per line, or comma-separated); ttl when present"),
        ("filtered", "action blocked, dropped, denied or rejected (cim_blocked)"),
    ],
    detect,
    read,
};

fn header(line: &str) -> Option<Vec<String>> {
    let fields = split_csv(line.trim_start_matches('\u{feff}'), b',')?;
    Some(fields.into_iter().map(|f| f.trim().to_string()).collect())
}

fn is_cim(h: &[String]) -> bool {
    let has = |n: &str| h.iter().any(|f| f == n);
    has("_time")
        && (has("query") || ((has("src") || has("src_ip")) && (has("dest") || has("dest_ip"))))
}

fn detect(h: &Head<'_>) -> bool {
    header(h.first_line).is_some_and(|f| is_cim(&f))
}

/// One row's cells by header name.
struct Row<'a> {
    header: &'a [String],
    cells: Vec<String>,
}

type Fail = (&'static str, FieldError);

impl Row<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        let i = self.header.iter().position(|h| h == name)?;
        let v = self.cells.get(i)?.trim();
        (!v.is_empty() && v != "-" && v != "unknown").then_some(v)
    }

    fn first(&self, names: &[&'static str]) -> Option<(&'static str, &str)> {
        names.iter().find_map(|n| self.get(n).map(|v| (*n, v)))
    }

    fn parse<T>(
        &self,
        name: &'static str,
        f: impl Fn(&str) -> std::result::Result<T, FieldError>,
    ) -> std::result::Result<Option<T>, Fail> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => f(v).map(Some).map_err(|e| (name, e)),
        }
    }

    fn address(&self, names: &[&'static str]) -> std::result::Result<IpAddr, Fail> {
        match self.first(names) {
            Some((n, v)) => values::parse_address(v).map_err(|e| (n, e)),
            None => Err((
                names[0],
                FieldError {
                    reason: RejectReason::MissingField,
                    detail: "required field is absent".into(),
                },
            )),
        }
    }
}

struct State {
    zone_noted: bool,
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut lines = LineReader::new(reader);
    let mut header_row: Option<Vec<String>> = None;
    let mut state = State { zone_noted: false };
    // A record being assembled across lines (an open quote), with its first line.
    let mut pending: Option<(u64, String)> = None;
    loop {
        let line = lines.next_line().map_err(|e| ctx.io_error(e))?;
        let Some(line) = line else { break };
        let (number, bytes) = match line {
            Line::TooLong { number, head } => {
                pending = None;
                sink(Item::Reject(lines::too_long(number, head)))?;
                continue;
            }
            Line::Text { number, bytes } => (number, bytes),
        };
        let bytes = if number == 1 {
            bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes)
        } else {
            bytes
        };
        let Ok(text) = std::str::from_utf8(bytes) else {
            sink(Item::Reject(lines::not_utf8(number, bytes)))?;
            continue;
        };
        let (start, record) = match pending.take() {
            Some((start, mut acc)) => {
                acc.push('\n');
                acc.push_str(text);
                (start, acc)
            }
            None => {
                if text.trim().is_empty() {
                    continue;
                }
                (number, text.to_string())
            }
        };
        let Some(cells) = split_csv(&record, b',') else {
            if record.len() > MAX_LINE_BYTES {
                sink(Item::Reject(
                    Reject::new(
                        start,
                        "(line)",
                        RejectReason::InvalidValue,
                        "a quoted cell is never closed",
                    )
                    .with_excerpt(record.as_bytes()),
                ))?;
            } else {
                pending = Some((start, record));
            }
            continue;
        };
        let Some(h) = &header_row else {
            let h: Vec<String> = cells.into_iter().map(|c| c.trim().to_string()).collect();
            if !is_cim(&h) {
                sink(Item::Reject(
                    Reject::new(
                        start,
                        "(header)",
                        RejectReason::MissingHeader,
                        "the first row is not a CIM header with _time",
                    )
                    .with_excerpt(record.as_bytes()),
                ))?;
            }
            header_row = Some(h);
            continue;
        };
        if cells.len() != h.len() {
            sink(Item::Reject(
                Reject::new(
                    start,
                    "(line)",
                    RejectReason::ColumnCount,
                    format!("{} cells, the header has {}", cells.len(), h.len()),
                )
                .with_excerpt(record.as_bytes()),
            ))?;
            continue;
        }
        let row = Row { header: h, cells };
        let provenance = ctx.provenance(start);
        match row_items(&mut state, &row, provenance, ctx) {
            Ok(items) => {
                for item in items {
                    sink(item)?;
                }
            }
            Err((field, e)) => sink(Item::Reject(
                Reject::new(start, field, e.reason, e.detail).with_excerpt(record.as_bytes()),
            ))?,
        }
    }
    if let Some((start, record)) = pending {
        sink(Item::Reject(
            Reject::new(
                start,
                "(line)",
                RejectReason::InvalidValue,
                "the file ends inside a quoted cell",
            )
            .with_excerpt(record.as_bytes()),
        ))?;
    }
    Ok(())
}

fn row_items(
    state: &mut State,
    row: &Row<'_>,
    provenance: Provenance,
    ctx: &ReadContext<'_>,
) -> std::result::Result<Vec<Item>, Fail> {
    let (ts, assumed): (Micros, bool) = row
        .parse("_time", |s| timestamp_or_local(s, ctx.options))?
        .ok_or((
            "_time",
            FieldError {
                reason: RejectReason::MissingField,
                detail: "required field is absent".into(),
            },
        ))?;
    let record = if row.get("query").is_some() {
        dns(row, ts, provenance)?
    } else {
        if let Some(action) = row.get("action") {
            if matches!(
                action.to_ascii_lowercase().as_str(),
                "blocked" | "dropped" | "denied" | "deny" | "drop" | "rejected" | "reject"
            ) {
                return Ok(vec![Item::Filtered {
                    line: provenance.line,
                    reason: "cim_blocked",
                }]);
            }
        }
        flow(row, ts, provenance)?
    };
    let mut out = vec![Item::Record(record)];
    if assumed && !state.zone_noted {
        state.zone_noted = true;
        out.push(Item::Note(zone_note(ctx.options)));
    }
    Ok(out)
}

fn flow(row: &Row<'_>, ts: Micros, provenance: Provenance) -> std::result::Result<Record, Fail> {
    let (out, inn) = (
        row.parse("bytes_out", values::parse_count_lenient)?,
        row.parse("bytes_in", values::parse_count_lenient)?,
    );
    let total = row.parse("bytes", values::parse_count_lenient)?;
    let (bytes_out, bytes_in, direction) = match (out, inn, total) {
        (None, None, Some(t)) => (Some(t), None, ByteDirection::Combined),
        (o, i, _) => (o, i, ByteDirection::Biflow),
    };
    Ok(Record::Flow(FlowRecord {
        ts,
        uid: None,
        src_ip: row.address(&["src_ip", "src"])?,
        src_port: row.parse("src_port", values::parse_port)?,
        dst_ip: row.address(&["dest_ip", "dest"])?,
        dst_port: row.parse("dest_port", values::parse_port)?,
        proto: row
            .first(&["transport", "protocol"])
            .map_or(Proto::Other(String::new()), |(_, p)| Proto::parse(p)),
        bytes_out,
        bytes_in,
        duration: row.parse("duration", values::parse_seconds)?,
        local_orig: None,
        direction,
        provenance,
    }))
}

fn dns(row: &Row<'_>, ts: Micros, provenance: Provenance) -> std::result::Result<Record, Fail> {
    let ttl = row.parse("ttl", values::parse_ttl)?;
    let rrtype = row.get("record_type");
    let answers = row
        .get("answer")
        .map(|a| {
            a.split(['\n', ','])
                .filter_map(|v| {
                    // A CNAME target next to A answers: the record type names the question,
                    // so only an address is typed by it.
                    let t = match rrtype {
                        Some(t)
                            if t.eq_ignore_ascii_case("A") || t.eq_ignore_ascii_case("AAAA") =>
                        {
                            None
                        }
                        other => other,
                    };
                    typed_answer(v, t, ttl)
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Record::Dns(DnsRecord {
        ts,
        response_ts: ts,
        uid: None,
        trans_id: None,
        client_ip: row.address(&["src_ip", "src"])?,
        query: row.get("query").map(normalise_hostname).unwrap_or_default(),
        qtype: rrtype.map(ShortText::from),
        rcode: row.get("reply_code").map(ShortText::from),
        answers,
        provenance,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReaderOptions;
    use xborder_model::schema::AnswerValue;

    fn read_all(text: &str) -> Vec<Item> {
        let options = ReaderOptions::default();
        crate::read_text(read, text, &options)
    }

    #[test]
    fn traffic_and_resolution_rows_with_multivalue_answers() {
        let text = "_time,src,src_port,dest,dest_port,transport,bytes_out,bytes_in,bytes,action,query,answer,record_type,reply_code\n\
2026-07-02T00:00:10.000+00:00,10.1.0.5,40000,160.79.104.10,443,tcp,1000,2000,3000,allowed,,,,\n\
1782950420,10.1.0.6,40000,104.18.32.7,443,tcp,,,900,allowed,,,,\n\
2026-07-02 00:00:00,10.1.0.5,,,,,,,,,api.openai.com,\"api.openai.com.cdn.cloudflare.net\n104.18.32.7\",A,NoError\n\
2026-07-02T00:00:10Z,10.1.0.7,40000,192.0.2.1,443,tcp,1,1,2,blocked,,,,\n\
2026-07-02T00:00:10Z,10.1.0.999,40000,192.0.2.1,443,tcp,1,1,2,allowed,,,,\n\
2026-07-02T00:00:10Z,10.1.0.5\n";
        let items = read_all(text);
        let Item::Record(Record::Flow(a)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(a.ts, 1_782_950_410_000_000);
        assert_eq!(
            (a.bytes_out, a.bytes_in, a.direction),
            (Some(1000), Some(2000), ByteDirection::Biflow)
        );
        let Item::Record(Record::Flow(b)) = &items[1] else {
            panic!("{items:?}")
        };
        assert_eq!(
            (b.bytes_out, b.bytes_in, b.direction),
            (Some(900), None, ByteDirection::Combined)
        );
        let Item::Record(Record::Dns(d)) = &items[2] else {
            panic!("{items:?}")
        };
        assert_eq!(d.query, "api.openai.com");
        assert_eq!(d.provenance.line, 4);
        assert_eq!(d.answers.len(), 2);
        assert_eq!(
            d.answers[0].value,
            AnswerValue::Other("api.openai.com.cdn.cloudflare.net".into())
        );
        assert_eq!(
            d.answers[1].value,
            AnswerValue::Address("104.18.32.7".parse().unwrap())
        );
        assert!(matches!(&items[3], Item::Note(n) if n.contains("UTC")));
        assert!(matches!(
            items[4],
            Item::Filtered {
                line: 6,
                reason: "cim_blocked"
            }
        ));
        let Item::Reject(r) = &items[5] else {
            panic!("{items:?}")
        };
        assert_eq!((r.line, r.field.as_str()), (7, "src"));
        let Item::Reject(c) = &items[6] else {
            panic!("{items:?}")
        };
        assert_eq!((c.line, c.reason), (8, RejectReason::ColumnCount));
    }

    #[test]
    fn detection_needs_time_and_cim_names() {
        assert!(is_cim(&header("_time,src_ip,dest_ip,bytes_out").unwrap()));
        assert!(is_cim(
            &header("\"_time\",\"src\",\"query\",\"answer\"").unwrap()
        ));
        assert!(!is_cim(&header("time,src,dest").unwrap()));
        assert!(!is_cim(&header("_time,host,source").unwrap()));
    }
}
