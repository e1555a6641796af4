//! Azure Network Watcher flow logs: NSG flow logs (versions 1 and 2) and VNet flow logs
//! (version 4), as JSON.
//!
//! What is tricky:
//! - A blob (`PT1H.json`) is `{"records": [...]}`; exports and test samples also hold single
//!   unwrapped records, one per line. Each record nests its flows as comma-separated tuple
//!   strings: NSG `properties.flows[].flows[].flowTuples[]`, VNet
//!   `flowRecords.flows[].flowGroups[].flowTuples[]`. One tuple is one flow record, counted
//!   as one record read, with the line of the enclosing JSON object as provenance.
//! - NSG tuples: `ts,src,dst,sport,dport,proto(T|U),dir(I|O),decision(A|D)` (v1), plus
//!   `,state(B|C|E),pktsS2D,bytesS2D,pktsD2S,bytesD2S` (v2). VNet tuples:
//!   `ts,src,dst,sport,dport,proto(6|17…),dir(I|O),state(B|C|E|D),encryption,pktsS2D,
//!   bytesS2D,pktsD2S,bytesD2S`. Timestamps are epoch seconds in NSG but milliseconds in
//!   VNet (the unit is told by magnitude); the top-level `time` is the blob write time.
//! - The tuple's source is the side that opened the flow, so the counts are biflow:
//!   bytesS2D is upload, bytesD2S download. `dir` is relative to the NIC: `O` means the
//!   source is this VM, which the reader reports as `local_orig`.
//! - State B (begin) carries no counts: those arrive with the later C (continuing) and E
//!   (end) tuples, each counting bytes since the previous tuple of the same flow, so B
//!   tuples are filtered (`azure_flow_begin`) and a long flow appears as several records
//!   whose bytes add up. Denied flows (NSG decision D, VNet state D) are filtered
//!   (`azure_denied`): blocked traffic is not egress.

use std::io::BufRead;

use serde_json::Value;

use super::json::read_objects;
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, Reject, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{ByteDirection, FlowRecord, Proto, Record};

const BYTES: &str = "biflow per tuple: bytesS2D is what the source (the side that opened the flow) sent, bytesD2S what it received, each since the flow's previous tuple";

pub static NSG: FormatSpec = FormatSpec {
    id: "azure-nsg-flow",
    title: "Azure NSG flow logs (v1, v2)",
    kinds: &[RecordKind::Flow],
    detected_by: "JSON records (bare or in {\"records\": [...]}) with category NetworkSecurityGroupFlowEvent or properties.flows[].flows[].flowTuples",
    bytes: BYTES,
    field_map: &[
        ("ts", "tuple field 1 (epoch seconds)"),
        ("src_ip / dst_ip", "tuple fields 2 / 3"),
        ("src_port / dst_port", "tuple fields 4 / 5"),
        ("proto", "tuple field 6 (T = tcp, U = udp)"),
        ("local_orig", "true when tuple field 7 (direction) is O"),
        ("filtered", "decision D (azure_denied), state B (azure_flow_begin)"),
        ("bytes_out", "tuple field 11, bytesS2D (v2; v1 has no counts)"),
        ("bytes_in", "tuple field 13, bytesD2S (v2)"),
    ],
    detect: |h| record_kind(h) == Some(Kind::Nsg),
    read,
};

pub static VNET: FormatSpec = FormatSpec {
    id: "azure-vnet-flow",
    title: "Azure VNet flow logs (v4)",
    kinds: &[RecordKind::Flow],
    detected_by: "JSON records (bare or in {\"records\": [...]}) with category FlowLogFlowEvent, flowLogVersion or flowRecords.flows[].flowGroups",
    bytes: BYTES,
    field_map: &[
        ("ts", "tuple field 1 (epoch milliseconds)"),
        ("src_ip / dst_ip", "tuple fields 2 / 3"),
        ("src_port / dst_port", "tuple fields 4 / 5"),
        ("proto", "tuple field 6 (IANA number)"),
        ("local_orig", "true when tuple field 7 (direction) is O"),
        ("filtered", "state D (azure_denied), state B (azure_flow_begin)"),
        ("bytes_out", "tuple field 11, bytesS2D"),
        ("bytes_in", "tuple field 13, bytesD2S"),
    ],
    detect: |h| record_kind(h) == Some(Kind::Vnet),
    read,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Nsg,
    Vnet,
}

fn kind_of(obj: &serde_json::Map<String, Value>) -> Option<Kind> {
    let category = obj.get("category").and_then(Value::as_str);
    if category == Some("NetworkSecurityGroupFlowEvent")
        || obj
            .get("properties")
            .and_then(|p| p.get("flows"))
            .and_then(|f| f.get(0))
            .is_some_and(|f| f.get("rule").is_some() && f.get("flows").is_some())
    {
        return Some(Kind::Nsg);
    }
    if category == Some("FlowLogFlowEvent")
        || obj.contains_key("flowLogVersion")
        || obj
            .get("flowRecords")
            .and_then(|r| r.get("flows"))
            .is_some()
    {
        return Some(Kind::Vnet);
    }
    None
}

fn record_kind(h: &Head<'_>) -> Option<Kind> {
    if let Some(obj) = h.first_json {
        let inner = obj
            .get("records")
            .and_then(|r| r.get(0))
            .and_then(Value::as_object);
        return kind_of(inner.unwrap_or(obj));
    }
    // A blob larger than the detection window: its first object is not complete yet.
    let start = h.first_line.trim_start_matches(['{', '[', ' ']);
    if !(start.starts_with("\"records\"") || start.starts_with("\"time\"")) {
        return None;
    }
    if h.text.contains("\"NetworkSecurityGroupFlowEvent\"") {
        Some(Kind::Nsg)
    } else if h.text.contains("\"FlowLogFlowEvent\"") {
        Some(Kind::Vnet)
    } else {
        None
    }
}

#[derive(Default)]
struct State {
    noted_partial: bool,
    noted_v1: bool,
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut state = State::default();
    read_objects(
        reader,
        ctx,
        sink,
        &mut |line, value, raw, sink| match value.get("records") {
            Some(Value::Array(records)) => {
                for record in records {
                    one_record(record, line, raw, ctx, &mut state, sink)?;
                }
                Ok(())
            }
            _ => one_record(value, line, raw, ctx, &mut state, sink),
        },
    )
}

fn reject(line: u64, field: &str, reason: RejectReason, detail: &str, raw: &[u8]) -> Item {
    Item::Reject(Reject::new(line, field, reason, detail).with_excerpt(raw))
}

/// The kind of a record and its tuple values, in order.
fn tuples(record: &Value) -> Option<(Kind, Vec<&Value>)> {
    let obj = record.as_object()?;
    let kind = kind_of(obj)?;
    let mut out = Vec::new();
    let (outer, middle) = match kind {
        Kind::Nsg => (
            record.get("properties").and_then(|p| p.get("flows")),
            "flows",
        ),
        Kind::Vnet => (
            record.get("flowRecords").and_then(|p| p.get("flows")),
            "flowGroups",
        ),
    };
    for group in outer.and_then(Value::as_array).into_iter().flatten() {
        for inner in group
            .get(middle)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for t in inner
                .get("flowTuples")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.push(t);
            }
        }
    }
    Some((kind, out))
}

fn one_record(
    record: &Value,
    line: u64,
    raw: &[u8],
    ctx: &ReadContext<'_>,
    state: &mut State,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let Some((kind, list)) = tuples(record) else {
        return sink(reject(
            line,
            "category",
            RejectReason::KindMismatch,
            "not an NSG or VNet flow log record",
            raw,
        ));
    };
    if list.is_empty() {
        return sink(reject(
            line,
            "flowTuples",
            RejectReason::MissingField,
            "the record holds no flow tuples",
            raw,
        ));
    }
    for t in list {
        let Some(text) = t.as_str() else {
            sink(reject(
                line,
                "flowTuples",
                RejectReason::InvalidValue,
                "a flow tuple is not a string",
                raw,
            ))?;
            continue;
        };
        match tuple(kind, text, line, ctx) {
            Ok(Tuple::Flow(f)) => {
                if f.bytes_out.is_none() && kind == Kind::Nsg && !state.noted_v1 {
                    state.noted_v1 = true;
                    sink(Item::Note(
                        "NSG version 1 tuples carry no byte counts: flows are listed without bytes"
                            .into(),
                    ))?;
                }
                sink(Item::Record(Record::Flow(*f)))?;
            }
            Ok(Tuple::Continuing(f)) => {
                if !state.noted_partial {
                    state.noted_partial = true;
                    sink(Item::Note(
                        "Azure reports a long flow as several tuples (C, then E), each counting bytes since the previous one: such a flow is listed as several records whose bytes add up".into(),
                    ))?;
                }
                sink(Item::Record(Record::Flow(*f)))?;
            }
            Ok(Tuple::Filtered(reason)) => sink(Item::Filtered { line, reason })?,
            Err((field, e)) => sink(Item::Reject(
                Reject::new(line, field, e.reason, e.detail).with_excerpt(text.as_bytes()),
            ))?,
        }
    }
    Ok(())
}

enum Tuple {
    Flow(Box<FlowRecord>),
    /// A C tuple: counts since the previous tuple of a flow that goes on.
    Continuing(Box<FlowRecord>),
    Filtered(&'static str),
}

type Fail = (&'static str, FieldError);

fn bad(field: &'static str, reason: RejectReason, detail: String) -> Fail {
    (field, FieldError { reason, detail })
}

fn tuple(
    kind: Kind,
    text: &str,
    line: u64,
    ctx: &ReadContext<'_>,
) -> std::result::Result<Tuple, Fail> {
    let f: Vec<&str> = text.split(',').map(str::trim).collect();
    let expected: &[usize] = match kind {
        Kind::Nsg => &[8, 13],
        Kind::Vnet => &[13],
    };
    if !expected.contains(&f.len()) {
        return Err(bad(
            "flowTuples",
            RejectReason::ColumnCount,
            format!("a tuple of {} fields (expected {expected:?})", f.len()),
        ));
    }
    let get = |i: usize| f.get(i).copied().unwrap_or("");
    let opt = |i: usize| Some(get(i)).filter(|s| !s.is_empty());
    let ts = values::parse_epoch_auto(get(0)).map_err(|e| ("flowTuples.timestamp", e))?;
    let src_ip = values::parse_address(get(1)).map_err(|e| ("flowTuples.src_ip", e))?;
    let dst_ip = values::parse_address(get(2)).map_err(|e| ("flowTuples.dst_ip", e))?;
    let src_port = opt(3)
        .map(values::parse_port)
        .transpose()
        .map_err(|e| ("flowTuples.src_port", e))?;
    let dst_port = opt(4)
        .map(values::parse_port)
        .transpose()
        .map_err(|e| ("flowTuples.dst_port", e))?;
    let proto = match get(5) {
        "T" | "t" => Proto::Tcp,
        "U" | "u" => Proto::Udp,
        other => Proto::parse(other),
    };
    let local_orig = match get(6) {
        "O" => Some(true),
        "I" => None,
        other => {
            return Err(bad(
                "flowTuples.direction",
                RejectReason::InvalidValue,
                format!("`{other}` is not I or O"),
            ))
        }
    };
    let (decision, state) = match kind {
        Kind::Nsg => (get(7), opt(8)),
        Kind::Vnet => ("A", opt(7)),
    };
    match decision {
        "A" => {}
        "D" => return Ok(Tuple::Filtered("azure_denied")),
        other => {
            return Err(bad(
                "flowTuples.decision",
                RejectReason::InvalidValue,
                format!("`{other}` is not A or D"),
            ))
        }
    }
    match state {
        None | Some("C") | Some("E") => {}
        Some("B") => return Ok(Tuple::Filtered("azure_flow_begin")),
        Some("D") if kind == Kind::Vnet => return Ok(Tuple::Filtered("azure_denied")),
        Some(other) => {
            return Err(bad(
                "flowTuples.state",
                RejectReason::InvalidValue,
                format!("`{other}` is not a flow state (B, C, E)"),
            ))
        }
    }
    let count = |i: usize, name: &'static str| {
        opt(i)
            .map(values::parse_count)
            .transpose()
            .map_err(|e| (name, e))
    };
    let bytes_out = count(10, "flowTuples.bytesS2D")?;
    let bytes_in = count(12, "flowTuples.bytesD2S")?;
    let record = Box::new(FlowRecord {
        ts,
        uid: None,
        src_ip,
        src_port,
        dst_ip,
        dst_port,
        proto,
        bytes_out,
        bytes_in,
        duration: None,
        local_orig,
        direction: ByteDirection::Biflow,
        provenance: ctx.provenance(line),
    });
    Ok(if state == Some("C") {
        Tuple::Continuing(record)
    } else {
        Tuple::Flow(record)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReaderOptions;

    fn run(input: &str) -> Vec<Item> {
        let options = ReaderOptions::default();
        crate::read_text(read, input, &options)
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

    const NSG_V2: &str = r#"{"records":[{"time":"2018-11-13T12:00:35.3899262Z","category":"NetworkSecurityGroupFlowEvent","properties":{"Version":2,"flows":[{"rule":"DefaultRule_AllowInternetOutBound","flows":[{"mac":"000D3AF87856","flowTuples":["1542110379,10.0.0.4,160.79.104.10,59932,443,T,O,A,E,12,6600,10,86000","1542110377,10.0.0.4,160.79.104.10,59932,443,T,O,A,B,,,,","1542110380,203.0.113.5,10.0.0.4,50000,22,T,I,D,B,,,,","1542110381,10.0.0.4,198.51.100.1,53000,53,U,O,A,C,1,70,1,120"]}]}]}},
{"time":"2018-11-13T12:00:35Z","category":"NetworkSecurityGroupFlowEvent","properties":{"Version":1,"flows":[{"rule":"r","flows":[{"mac":"m","flowTuples":["1542110379,10.0.0.4,192.0.2.9,1,2,T,I,A","1542110379,10.0.0.4,192.0.2.9,1,2,T,I"]}]}]}}]}"#;

    #[test]
    fn nsg_v2_and_v1_tuples() {
        let items = run(NSG_V2);
        let f = flows(&items);
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].ts, 1_542_110_379_000_000);
        assert_eq!(f[0].src_ip.to_string(), "10.0.0.4");
        assert_eq!(f[0].dst_ip.to_string(), "160.79.104.10");
        assert_eq!((f[0].src_port, f[0].dst_port), (Some(59932), Some(443)));
        assert_eq!(f[0].proto, Proto::Tcp);
        assert_eq!(f[0].bytes_out, Some(6600));
        assert_eq!(f[0].bytes_in, Some(86000));
        assert_eq!(f[0].local_orig, Some(true));
        assert_eq!(f[0].direction, ByteDirection::Biflow);
        assert_eq!(f[0].provenance.line, 1);
        assert_eq!(f[1].proto, Proto::Udp);
        assert_eq!(f[1].bytes_in, Some(120));
        assert_eq!(f[2].bytes_out, None);
        assert_eq!(f[2].local_orig, None);
        assert_eq!(f[2].provenance.line, 1);
        let filtered: Vec<_> = items
            .iter()
            .filter_map(|i| match i {
                Item::Filtered { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect();
        assert_eq!(filtered, vec!["azure_flow_begin", "azure_denied"]);
        let rejects = items
            .iter()
            .filter(|i| matches!(i, Item::Reject(_)))
            .count();
        assert_eq!(rejects, 1);
        let notes = items.iter().filter(|i| matches!(i, Item::Note(_))).count();
        assert_eq!(notes, 2);
    }

    #[test]
    fn vnet_v4_tuples_in_milliseconds_with_numeric_protocol() {
        let input = r#"{"time":"2022-09-14T09:00:52.5625085Z","flowLogVersion":4,"category":"FlowLogFlowEvent","flowRecords":{"flows":[{"aclID":"a","flowGroups":[{"rule":"r","flowTuples":["1663146003599,10.0.0.4,175.16.199.0,23956,443,6,O,B,NX,0,0,0,0","1663146003606,10.0.0.4,160.79.104.10,36776,443,6,O,E,NX,22,2217,33,9000","1663146003606,203.0.113.1,10.0.0.4,1,22,6,I,D,NX,1,60,0,0","1663146003606,10.0.0.4,x,1,22,6,I,E,NX,1,60,0,0"]}]}]}}"#;
        let items = run(input);
        let f = flows(&items);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].ts, 1_663_146_003_606_000);
        assert_eq!(f[0].bytes_out, Some(2217));
        assert_eq!(f[0].bytes_in, Some(9000));
        assert_eq!(f[0].proto, Proto::Tcp);
        assert!(matches!(&items[3], Item::Reject(r) if r.field == "flowTuples.dst_ip"));
    }
}
