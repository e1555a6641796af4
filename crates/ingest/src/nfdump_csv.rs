//! nfdump CSV output, in its three header layouts: classic 1.6/1.7 `-o csv`
//! (`ts,te,td,sa,da,...,ibyt,opkt,obyt,...`), 1.7 `-o csv-fast`
//! (`cnt,af,firstSeen,lastSeen,proto,srcAddr,...,packets,bytes`) and 1.7 named-column
//! `-o csv` (`firstSeen,lastSeen,duration,proto,srcAddr,...,inBytes,outPackets,outBytes`).
//! Columns are found by the header titles, so `csv:<fmt>` column orders read too.
//!
//! What is tricky:
//! - Direction depends on the exporter, not on nfdump: NetFlow v5/v9 fill only the *in*
//!   counters (`ibyt`), so a record is uniflow (what `sa` sent to `da`). NSEL/ASA and IPFIX
//!   biflow also fill `obyt`, the bytes `da` sent back. A record is biflow only when an
//!   out-bytes column exists and is non-zero; `obyt = 0` means "not measured", not "nothing
//!   came back".
//! - Classic times are `YYYY-MM-DD hh:mm:ss` in the local zone of the host that ran nfdump,
//!   with no zone written: read at `--log-timezone`, else as UTC with a note. csv-fast
//!   writes epoch **milliseconds**; the named layout writes either (both are accepted).
//! - Classic output ends with a `Summary` block (`Summary`, a header
//!   `flows,bytes,packets,avg_bps,avg_pps,avg_bpp`, one values row). That row is totals, not
//!   a flow: it is counted as filtered (`nfdump_summary`) so run.json shows it was seen.
//! - Protocols are names (`TCP`) in classic output and numbers in csv-fast.

use std::io::BufRead;

use super::text::{read_lines, split_csv};
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, Reject, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{ByteDirection, FlowRecord, Micros, Proto, Record};

pub static SPEC: FormatSpec = FormatSpec {
    id: "nfdump-csv",
    title: "nfdump CSV output (-o csv, -o csv-fast)",
    kinds: &[RecordKind::Flow],
    detected_by: "a header line starting `ts,te,td,sa,da` (with ibyt), `cnt,af,firstSeen,lastSeen,proto,srcAddr` or `firstSeen,lastSeen,duration,proto,srcAddr`",
    bytes: "ibyt/inBytes/bytes is what the source address sent; obyt/outBytes, when present and non-zero (NSEL, IPFIX biflow), is what came back (biflow); otherwise the record is uniflow",
    field_map: &[
        (
            "ts",
            "ts (`YYYY-MM-DD hh:mm:ss`, local: --log-timezone, else UTC) / firstSeen (epoch ms or a date)",
        ),
        (
            "duration",
            "td / duration (seconds); else lastSeen - firstSeen",
        ),
        ("src_ip / src_port", "sa / srcAddr, sp / srcPort"),
        ("dst_ip / dst_port", "da / dstAddr, dp / dstPort"),
        ("proto", "pr / proto (name such as TCP, or IANA number)"),
        ("bytes_out", "ibyt / inBytes / bytes"),
        ("bytes_in", "obyt / outBytes when non-zero (biflow), else none (uniflow)"),
    ],
    detect,
    read,
};

/// Why a summary row is not a record.
const SUMMARY: &str = "nfdump_summary";

/// Header titles when `line` is one of nfdump's CSV headers.
fn titles(line: &str) -> Option<Vec<String>> {
    let t = split_csv(line, b',')?;
    let starts = |prefix: &[&str]| {
        t.len() >= prefix.len() && t.iter().zip(prefix).all(|(a, b)| a.as_str() == *b)
    };
    let has = |n: &str| t.iter().any(|x| x == n);
    let known = (starts(&["ts", "te", "td", "sa", "da"]) && has("ibyt"))
        || (starts(&["cnt", "af", "firstSeen", "lastSeen", "proto", "srcAddr"]) && has("bytes"))
        || (starts(&["firstSeen", "lastSeen", "duration", "proto", "srcAddr"])
            && (has("inBytes") || has("bytes")));
    known.then_some(t)
}

fn detect(h: &Head<'_>) -> bool {
    titles(h.first_line).is_some()
}

struct Columns {
    start: Option<usize>,
    end: Option<usize>,
    /// The start column is `firstSeen`, whose bare integers are epoch milliseconds.
    millis: bool,
    duration: Option<usize>,
    src: Option<usize>,
    dst: Option<usize>,
    sport: Option<usize>,
    dport: Option<usize>,
    proto: Option<usize>,
    bytes_in_col: Option<usize>,
    bytes_out_col: Option<usize>,
    count: usize,
}

impl Columns {
    fn new(names: &[String]) -> Self {
        let find = |alts: &[&str]| names.iter().position(|n| alts.contains(&n.as_str()));
        Columns {
            start: find(&["ts", "firstSeen"]),
            end: find(&["te", "lastSeen"]),
            millis: names.first().is_some_and(|n| n != "ts"),
            duration: find(&["td", "duration"]),
            src: find(&["sa", "srcAddr"]),
            dst: find(&["da", "dstAddr"]),
            sport: find(&["sp", "srcPort"]),
            dport: find(&["dp", "dstPort"]),
            proto: find(&["pr", "proto"]),
            bytes_in_col: find(&["ibyt", "inBytes", "bytes"]),
            bytes_out_col: find(&["obyt", "outBytes"]),
            count: names.len(),
        }
    }
}

type Fail = (&'static str, FieldError);

fn fail(reason: RejectReason, detail: String) -> FieldError {
    FieldError { reason, detail }
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut columns: Option<Columns> = None;
    let mut in_summary = false;
    let mut noted = false;
    read_lines(reader, ctx, sink, &mut |line, text, sink| {
        if let Some(names) = titles(text) {
            columns = Some(Columns::new(&names));
            in_summary = false;
            return Ok(());
        }
        let trimmed = text.trim();
        if trimmed == "Summary" {
            in_summary = true;
            return Ok(());
        }
        if in_summary {
            if trimmed.starts_with("flows,bytes,packets") {
                return Ok(());
            }
            return sink(Item::Filtered {
                line,
                reason: SUMMARY,
            });
        }
        let reject = |field: &str, reason, detail: String| {
            Item::Reject(Reject::new(line, field, reason, detail).with_excerpt(text.as_bytes()))
        };
        let Some(cols) = &columns else {
            return sink(reject(
                "(line)",
                RejectReason::MissingHeader,
                "no nfdump CSV header line before this row".into(),
            ));
        };
        let Some(mut v) = split_csv(text, b',') else {
            return sink(reject(
                "(line)",
                RejectReason::ColumnCount,
                "a quoted field is left open".into(),
            ));
        };
        if v.len() == cols.count + 1 && v.last().is_some_and(|s| s.is_empty()) {
            v.pop();
        }
        if v.len() != cols.count {
            return sink(reject(
                "(line)",
                RejectReason::ColumnCount,
                format!("{} fields where the header has {}", v.len(), cols.count),
            ));
        }
        match flow(cols, &v, line, ctx) {
            Ok((f, naive)) => {
                if naive && !noted && ctx.options.log_timezone.is_none() {
                    noted = true;
                    sink(Item::Note(
                        "nfdump CSV times carry no zone (nfdump prints the local time of the host that ran it) and were read as UTC; set --log-timezone to that host's offset".into(),
                    ))?;
                }
                sink(Item::Record(Record::Flow(f)))
            }
            Err((field, e)) => sink(reject(field, e.reason, e.detail)),
        }
    })
}

/// A time field: epoch milliseconds (bare integer in `firstSeen`/`lastSeen`), epoch
/// seconds, or a date-time, zone-less (local) or with a zone. The flag says "zone-less".
fn time(
    s: &str,
    millis: bool,
    ctx: &ReadContext<'_>,
) -> std::result::Result<(Micros, bool), FieldError> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        if millis {
            let ms: u64 = s.parse().map_err(|_| {
                fail(
                    RejectReason::InvalidTimestamp,
                    format!("`{s}` is not epoch milliseconds"),
                )
            })?;
            let seconds = format!("{}.{:03}", ms / 1000, ms % 1000);
            return Ok((values::parse_epoch_decimal(&seconds)?, false));
        }
        return Ok((values::parse_epoch_auto(s)?, false));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !s.is_empty() {
        return Ok((values::parse_epoch_decimal(s)?, false));
    }
    if let Some(n) = values::parse_naive(s) {
        return Ok((values::local_to_micros(n, ctx.options.log_timezone)?, true));
    }
    let zoned = values::parse_timestamp_any(s).map_err(|_| {
        fail(
            RejectReason::InvalidTimestamp,
            format!("`{s}` is not an nfdump time (YYYY-MM-DD hh:mm:ss or epoch ms)"),
        )
    })?;
    Ok((zoned, false))
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
            fail(
                RejectReason::MissingField,
                "required field is empty or absent".into(),
            ),
        ))
    };
    let (ts, naive) = time(need(c.start, "ts")?, c.millis, ctx).map_err(|e| ("ts", e))?;
    let proto = get(c.proto).map_or(Proto::Other("unknown".into()), Proto::parse);
    // ICMP type.code in a port column (`3.1`) is not a port: kept as none.
    let port = |i: Option<usize>, name: &'static str| match get(i) {
        Some(p) if proto == Proto::Icmp && p.contains('.') => Ok(None),
        other => other
            .map(values::parse_port)
            .transpose()
            .map_err(|e| (name, e)),
    };
    let bytes_out =
        values::parse_count_lenient(need(c.bytes_in_col, "ibyt")?).map_err(|e| ("ibyt", e))?;
    let out = get(c.bytes_out_col)
        .map(values::parse_count_lenient)
        .transpose()
        .map_err(|e| ("obyt", e))?
        .filter(|&b| b > 0);
    let duration = match get(c.duration) {
        Some(d) => Some(values::parse_seconds(d).map_err(|e| ("td", e))?),
        None => match get(c.end).map(|e| time(e, c.millis, ctx)) {
            Some(Ok((end, _))) => end
                .checked_sub(ts)
                .filter(|d| *d >= 0)
                .map(|d| d as f64 / 1e6),
            Some(Err(e)) => return Err(("te", e)),
            None => None,
        },
    };
    let record = FlowRecord {
        ts,
        uid: None,
        src_ip: values::parse_address(need(c.src, "sa")?).map_err(|e| ("sa", e))?,
        src_port: port(c.sport, "sp")?,
        dst_ip: values::parse_address(need(c.dst, "da")?).map_err(|e| ("da", e))?,
        dst_port: port(c.dport, "dp")?,
        proto,
        bytes_out: Some(bytes_out),
        bytes_in: out,
        duration,
        local_orig: None,
        direction: if out.is_some() {
            ByteDirection::Biflow
        } else {
            ByteDirection::Uniflow
        },
        provenance: ctx.provenance(line),
    };
    Ok((record, naive))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReaderOptions;

    const CLASSIC_HEADER: &str = "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr";
    const CLASSIC_TAIL: &str = "0,0,0,0,24,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0.000,0.000,0.000,192.0.2.254,0/0,1,1970-01-01 00:00:00.000";

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
    fn classic_csv_directions_local_time_and_summary() {
        let input = format!(
            "{CLASSIC_HEADER}\n\
2026-07-01 08:00:00,2026-07-01 08:01:00,60.000,10.1.0.5,160.79.104.10,51544,443,TCP,...AP.SF,0,0,42,18350,38,96211,{CLASSIC_TAIL}\n\
2026-07-01 08:00:05,2026-07-01 08:00:05,0.000,2001:db8::5,2001:db8:1::53,40000,53,UDP,......,0,0,1,76,0,0,{CLASSIC_TAIL}\n\
2026-07-01 08:00:05,2026-07-01 08:00:05,0.000,10.1.0.5,not-an-ip,40000,53,UDP,......,0,0,1,76,0,0,{CLASSIC_TAIL}\n\
Summary\n\
flows,bytes,packets,avg_bps,avg_pps,avg_bpp\n\
3,114702,82,15293,1,1398\n"
        );
        let options = ReaderOptions {
            log_timezone: chrono::FixedOffset::east_opt(8 * 3600),
            ..ReaderOptions::default()
        };
        let items = run(&input, &options);
        assert_eq!(items.len(), 4, "{items:?}");
        // 2026-07-01 08:00:00 at +08:00 is 00:00:00 UTC.
        let f = flow_at(&items, 0);
        assert_eq!(f.ts, 1_782_864_000_000_000);
        assert_eq!(f.duration, Some(60.0));
        assert_eq!(f.proto, Proto::Tcp);
        assert_eq!((f.src_port, f.dst_port), (Some(51544), Some(443)));
        assert_eq!((f.bytes_out, f.bytes_in), (Some(18350), Some(96211)));
        assert_eq!(f.direction, ByteDirection::Biflow);
        assert_eq!(f.uid, None);
        // obyt = 0: a NetFlow v5/v9 record, one direction only.
        let f = flow_at(&items, 1);
        assert_eq!(f.src_ip.to_string(), "2001:db8::5");
        assert_eq!(f.proto, Proto::Udp);
        assert_eq!((f.bytes_out, f.bytes_in), (Some(76), None));
        assert_eq!(f.direction, ByteDirection::Uniflow);
        assert!(matches!(&items[2], Item::Reject(r) if r.field == "da" && r.line == 4));
        assert!(matches!(
            &items[3],
            Item::Filtered {
                line: 7,
                reason: SUMMARY
            }
        ));
    }

    #[test]
    fn zone_less_times_without_a_timezone_are_utc_with_one_note() {
        let input = format!(
            "{CLASSIC_HEADER}\n\
2026-07-01 08:00:00,2026-07-01 08:01:00,60.000,10.1.0.5,160.79.104.10,51544,443,6,...AP.SF,0,0,42,18350,0,0,{CLASSIC_TAIL}\n\
2026-07-01 08:00:00.250,2026-07-01 08:01:00,60.000,10.1.0.5,160.79.104.10,51545,443,6,...AP.SF,0,0,42,18350,0,0,{CLASSIC_TAIL}\n"
        );
        let items = run(&input, &ReaderOptions::default());
        assert!(matches!(&items[0], Item::Note(_)));
        assert_eq!(flow_at(&items, 1).ts, 1_782_892_800_000_000);
        assert_eq!(flow_at(&items, 1).proto, Proto::Tcp);
        assert_eq!(flow_at(&items, 2).ts, 1_782_892_800_250_000);
        assert_eq!(items.len(), 3);
    }

    #[test]
    fn csv_fast_epoch_millis_and_protocol_numbers() {
        let input = "cnt,af,firstSeen,lastSeen,proto,srcAddr,srcPort,dstAddr,dstPort,srcAS,dstAS,input,output,flags,srcTos,packets,bytes\n\
1,2,1782864000123,1782864060623,6,10.1.0.5,51544,160.79.104.10,443,0,0,0,0,27,0,42,18350\n\
2,10,1782864000000,1782864000000,17,2001:db8::5,40000,2001:db8:1::53,53,0,0,0,0,0,0,1,76\n\
3,2,yesterday,1782864000000,17,10.1.0.5,40000,192.0.2.53,53,0,0,0,0,0,0,1,76\n";
        let items = run(input, &ReaderOptions::default());
        assert_eq!(items.len(), 3, "{items:?}");
        let f = flow_at(&items, 0);
        assert_eq!(f.ts, 1_782_864_000_123_000);
        assert_eq!(f.duration, Some(60.5));
        assert_eq!(f.proto, Proto::Tcp);
        assert_eq!((f.bytes_out, f.bytes_in), (Some(18350), None));
        assert_eq!(f.direction, ByteDirection::Uniflow);
        let f = flow_at(&items, 1);
        assert_eq!(f.dst_ip.to_string(), "2001:db8:1::53");
        assert_eq!(f.proto, Proto::Udp);
        assert!(matches!(&items[2], Item::Reject(r) if r.field == "ts"
            && r.reason == RejectReason::InvalidTimestamp));
    }

    #[test]
    fn named_columns_accept_epoch_ms_and_dates() {
        let input = "firstSeen,lastSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,inPackets,inBytes,outPackets,outBytes\n\
1782864000000,1782864060000,60.000,TCP,10.1.0.5,51544,160.79.104.10,443,42,18350,38,96211\n\
2026-07-01 00:00:00.500,2026-07-01 00:01:00.500,60.000,ICMP,10.1.0.5,0,192.0.2.1,3.1,1,84,0,0\n";
        let items = run(input, &ReaderOptions::default());
        let f = flow_at(&items, 0);
        assert_eq!(f.ts, 1_782_864_000_000_000);
        assert_eq!((f.bytes_out, f.bytes_in), (Some(18350), Some(96211)));
        assert_eq!(f.direction, ByteDirection::Biflow);
        assert!(matches!(&items[1], Item::Note(_)));
        let f = flow_at(&items, 2);
        assert_eq!(f.ts, 1_782_864_000_500_000);
        assert_eq!(f.proto, Proto::Icmp);
        assert_eq!(f.dst_port, None);
        assert_eq!(f.direction, ByteDirection::Uniflow);
    }

    #[test]
    fn detection_needs_a_known_header() {
        let yes = [
            CLASSIC_HEADER,
            "cnt,af,firstSeen,lastSeen,proto,srcAddr,srcPort,dstAddr,dstPort,srcAS,dstAS,input,output,flags,srcTos,packets,bytes",
            "firstSeen,lastSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,inPackets,inBytes",
        ];
        for h in yes {
            assert!(titles(h).is_some(), "{h}");
        }
        for h in [
            "ts,te,td,sa,da",
            "sIP,dIP,sPort,dPort,protocol,packets,bytes,flags,sTime",
            "firstSeen,lastSeen,srcAddr,dstAddr,bytes",
            "Summary",
        ] {
            assert!(titles(h).is_none(), "{h}");
        }
    }

    #[test]
    fn rows_before_a_header_or_with_the_wrong_width_are_rejected() {
        let input = "1,2,3\n\
cnt,af,firstSeen,lastSeen,proto,srcAddr,srcPort,dstAddr,dstPort,srcAS,dstAS,input,output,flags,srcTos,packets,bytes\n\
1,2,1782864000123,1782864060623,6,10.1.0.5,51544\n";
        let items = run(input, &ReaderOptions::default());
        assert!(matches!(&items[0], Item::Reject(r) if r.reason == RejectReason::MissingHeader));
        assert!(matches!(&items[1], Item::Reject(r) if r.reason == RejectReason::ColumnCount));
    }
}
