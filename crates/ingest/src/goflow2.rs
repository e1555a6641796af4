//! goflow2 JSON (NetFlow v5/v9, IPFIX and sFlow collected by goflow2 and written with
//! `-format=json`), one object per line.
//!
//! What is tricky:
//! - Records are uniflow: `bytes` is what `src_addr` sent to `dst_addr`.
//! - Times are epoch **nanoseconds** (`time_flow_start_ns`); the older goflow/goflow2 v1
//!   CamelCase layout (`TimeFlowStart`, `SrcAddr`, `Bytes`…) uses seconds. Units are told by
//!   magnitude. A zero flow start (some exporters do not send one) falls back to the
//!   time the collector received the packet.
//! - Sampled exports (sFlow, sampled NetFlow) carry `sampling_rate`: counts are multiplied
//!   by it (saturating) and the file gets a note that they are estimates.
//! - `proto` is a name (`TCP`) in goflow2's JSON and a number in older layouts.

use std::io::BufRead;

use super::json::{read_objects, reject, FieldResult, Fields};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind};
use xborder_model::error::Result;
use xborder_model::schema::{ByteDirection, FlowRecord, Proto, Record};

pub static SPEC: FormatSpec = FormatSpec {
    id: "goflow2-json",
    title: "goflow2 JSON (NetFlow, IPFIX, sFlow)",
    kinds: &[RecordKind::Flow],
    detected_by: "JSON objects with src_addr + dst_addr + time_flow_start_ns / time_received_ns / sampler_address (or the CamelCase SrcAddr + DstAddr + TimeFlowStart / SamplerAddress)",
    bytes: "uniflow: bytes is what src_addr sent to dst_addr, multiplied by sampling_rate when it is above 1 (an estimate)",
    field_map: &[
        (
            "ts",
            "time_flow_start_ns (epoch ns), else time_received_ns; TimeFlowStart / TimeReceived (s)",
        ),
        ("duration", "time_flow_end_ns - time_flow_start_ns"),
        ("src_ip / src_port", "src_addr / src_port (SrcAddr / SrcPort)"),
        ("dst_ip / dst_port", "dst_addr / dst_port (DstAddr / DstPort)"),
        ("proto", "proto (name or IANA number)"),
        ("bytes_out", "bytes × sampling_rate"),
        ("bytes_in", "none (uniflow)"),
    ],
    detect,
    read,
};

fn detect(h: &Head<'_>) -> bool {
    let Some(obj) = h.first_json else {
        return false;
    };
    let has = |k: &str| obj.contains_key(k);
    (has("src_addr")
        && has("dst_addr")
        && (has("time_flow_start_ns") || has("time_received_ns") || has("sampler_address")))
        || (has("SrcAddr")
            && has("DstAddr")
            && (has("TimeFlowStart") || has("TimeReceived") || has("SamplerAddress")))
}

/// The first field present among the goflow2 name and the older CamelCase one.
fn pick(f: &Fields<'_>, names: [&'static str; 2]) -> &'static str {
    names.into_iter().find(|n| f.has(n)).unwrap_or(names[0])
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut noted = false;
    read_objects(reader, ctx, sink, &mut |line, value, raw, sink| match flow(
        Fields(value),
        line,
        ctx,
    ) {
        Ok((f, sampled)) => {
            if sampled && !noted {
                noted = true;
                sink(Item::Note(
                        "byte counts were multiplied by the exporter's sampling rate: they are estimates".into(),
                    ))?;
            }
            sink(Item::Record(Record::Flow(f)))
        }
        Err(fail) => sink(reject(line, fail, raw)),
    })
}

fn flow(f: Fields<'_>, line: u64, ctx: &ReadContext<'_>) -> FieldResult<(FlowRecord, bool)> {
    let start_field = pick(&f, ["time_flow_start_ns", "TimeFlowStart"]);
    let received_field = pick(&f, ["time_received_ns", "TimeReceived"]);
    let start = f.timestamp(start_field)?.filter(|t| *t > 0);
    let ts = match start {
        Some(t) => t,
        None => f.required_timestamp(received_field)?,
    };
    let end = f
        .timestamp(pick(&f, ["time_flow_end_ns", "TimeFlowEnd"]))?
        .filter(|t| *t > 0);
    let duration = match (start, end) {
        (Some(s), Some(e)) if e >= s => Some((e - s) as f64 / 1e6),
        _ => None,
    };
    let rate = f
        .count(pick(&f, ["sampling_rate", "SamplingRate"]))?
        .unwrap_or(0);
    let scale = |v: Option<u64>| v.map(|v| if rate > 0 { v.saturating_mul(rate) } else { v });
    let proto = f
        .text(pick(&f, ["proto", "Proto"]))?
        .map_or(Proto::Other("unknown".into()), |p| Proto::parse(&p));
    let record = FlowRecord {
        ts,
        uid: None,
        src_ip: f.required_ip(pick(&f, ["src_addr", "SrcAddr"]))?,
        src_port: f.port(pick(&f, ["src_port", "SrcPort"]))?,
        dst_ip: f.required_ip(pick(&f, ["dst_addr", "DstAddr"]))?,
        dst_port: f.port(pick(&f, ["dst_port", "DstPort"]))?,
        proto,
        bytes_out: scale(f.count(pick(&f, ["bytes", "Bytes"]))?),
        bytes_in: None,
        duration,
        local_orig: None,
        direction: ByteDirection::Uniflow,
        provenance: ctx.provenance(line),
    };
    Ok((record, rate > 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ReaderOptions, RejectReason};

    fn run(input: &str) -> Vec<Item> {
        let options = ReaderOptions::default();
        crate::read_text(read, input, &options)
    }

    fn flow_at(items: &[Item], i: usize) -> &FlowRecord {
        match &items[i] {
            Item::Record(Record::Flow(f)) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nanoseconds_sampling_and_proto_names() {
        let input = r#"{"type":"SFLOW_5","time_received_ns":1681583295157626000,"sampling_rate":100,"time_flow_start_ns":1681583295157626000,"time_flow_end_ns":1681583296157626000,"bytes":1500,"packets":1,"src_addr":"fd01::1","dst_addr":"fd01::2","proto":"TCP","src_port":443,"dst_port":50001}
{"type":"NETFLOW_V9","time_received_ns":1782864001000000000,"sampling_rate":0,"time_flow_start_ns":0,"bytes":18446744073709551615,"src_addr":"10.0.0.5","dst_addr":"160.79.104.10","proto":6,"src_port":5000,"dst_port":443}
{"type":"NETFLOW_V9","time_received_ns":1782864001000000000,"sampling_rate":4294967295,"time_flow_start_ns":1782864000000000000,"bytes":18446744073709551615,"src_addr":"10.0.0.5","dst_addr":"160.79.104.10","proto":"UDP"}
{"Type":"NETFLOW_V5","TimeReceived":1782864001,"TimeFlowStart":1782864000,"SamplingRate":0,"Bytes":700,"SrcAddr":"10.0.0.6","DstAddr":"192.0.2.1","Proto":17,"SrcPort":1,"DstPort":53}
{"time_received_ns":1782864001000000000,"src_addr":"10.0.0.500","dst_addr":"192.0.2.1"}"#;
        let items = run(input);
        assert!(matches!(&items[0], Item::Note(_)));
        let f = flow_at(&items, 1);
        assert_eq!(f.ts, 1_681_583_295_157_626);
        assert_eq!(f.duration, Some(1.0));
        assert_eq!(f.bytes_out, Some(150_000));
        assert_eq!(f.bytes_in, None);
        assert_eq!(f.proto, Proto::Tcp);
        assert_eq!(f.src_ip.to_string(), "fd01::1");
        assert_eq!((f.src_port, f.dst_port), (Some(443), Some(50001)));
        assert_eq!(f.direction, ByteDirection::Uniflow);
        // No flow start: the receive time; rate 0 = unsampled.
        let f = flow_at(&items, 2);
        assert_eq!(f.ts, 1_782_864_001_000_000);
        assert_eq!(f.bytes_out, Some(u64::MAX));
        // Saturates instead of overflowing.
        assert_eq!(flow_at(&items, 3).bytes_out, Some(u64::MAX));
        assert_eq!(flow_at(&items, 3).proto, Proto::Udp);
        let f = flow_at(&items, 4);
        assert_eq!(f.ts, 1_782_864_000_000_000);
        assert_eq!(f.bytes_out, Some(700));
        assert!(matches!(&items[5], Item::Reject(r) if r.reason == RejectReason::InvalidAddress));
    }
}
