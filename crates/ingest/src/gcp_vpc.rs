//! Google Cloud VPC flow logs, as Cloud Logging `LogEntry` JSON (exported to a file, GCS,
//! or through a SIEM that keeps the entry).
//!
//! What is tricky:
//! - The flow is under `jsonPayload`: `connection.{src_ip,src_port,dest_ip,dest_port,
//!   protocol}`, `start_time`/`end_time` (RFC 3339 with nanoseconds), and `bytes_sent` /
//!   `packets_sent`, which are int64 written as JSON **strings**.
//! - Records are uniflow: `bytes_sent` is what `src_ip` sent to `dest_ip`.
//! - When both ends are VMs in the logged VPCs, the same flow is reported twice, once by
//!   each VM (`reporter` SRC and DEST). The reader gives both reports the same uid (from the
//!   directed 5-tuple and `start_time`), so the pipeline counts the second as a duplicate.
//!   Opposite directions keep different uids.
//! - Flows are sampled: the counts are estimates (a note says so).
//! - Top-level `timestamp`/`receiveTimestamp` are ingest times, not flow times.
//!   `src_location`/`dest_location.country` (ISO 3166 alpha-3, lower case) is informational
//!   and not used: xborder geolocates addresses itself.

use std::io::BufRead;

use super::json::{read_objects, reject, FieldResult, Fields};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind};
use xborder_model::error::Result;
use xborder_model::schema::{ByteDirection, FlowRecord, Proto, Record};

pub static SPEC: FormatSpec = FormatSpec {
    id: "gcp-vpc-flow",
    title: "Google Cloud VPC flow logs (LogEntry JSON)",
    kinds: &[RecordKind::Flow],
    detected_by: "JSON objects with jsonPayload.connection (src_ip, dest_ip) and jsonPayload.bytes_sent or a vpc_flows logName",
    bytes: "uniflow: jsonPayload.bytes_sent is what connection.src_ip sent to dest_ip (a sampled estimate)",
    field_map: &[
        ("ts", "jsonPayload.start_time (RFC 3339, ns)"),
        ("duration", "jsonPayload.end_time - start_time"),
        ("src_ip / src_port", "jsonPayload.connection.src_ip / src_port"),
        ("dst_ip / dst_port", "jsonPayload.connection.dest_ip / dest_port"),
        ("proto", "jsonPayload.connection.protocol (IANA number)"),
        ("bytes_out", "jsonPayload.bytes_sent (int64 as a string)"),
        ("bytes_in", "none (uniflow)"),
        (
            "uid",
            "synthesised: gcp: + directed 5-tuple + start_time, so SRC and DEST reports of one flow de-duplicate",
        ),
    ],
    detect,
    read,
};

fn detect(h: &Head<'_>) -> bool {
    let Some(obj) = h.first_json else {
        return false;
    };
    let payload = obj.get("jsonPayload");
    let connection = payload.and_then(|p| p.get("connection")).is_some()
        || obj.contains_key("jsonPayload.connection.src_ip");
    let flowish = payload.and_then(|p| p.get("bytes_sent")).is_some()
        || obj.contains_key("jsonPayload.bytes_sent")
        || obj
            .get("logName")
            .and_then(|l| l.as_str())
            .is_some_and(|l| l.contains("vpc_flows"));
    connection && flowish
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
        Ok(f) => {
            if !noted {
                noted = true;
                sink(Item::Note(
                    "GCP VPC flow logs are sampled: byte counts are Google's estimates".into(),
                ))?;
            }
            sink(Item::Record(Record::Flow(f)))
        }
        Err(fail) => sink(reject(line, fail, raw)),
    })
}

fn flow(f: Fields<'_>, line: u64, ctx: &ReadContext<'_>) -> FieldResult<FlowRecord> {
    let src_ip = f.required_ip("jsonPayload.connection.src_ip")?;
    let dst_ip = f.required_ip("jsonPayload.connection.dest_ip")?;
    let src_port = f.port("jsonPayload.connection.src_port")?;
    let dst_port = f.port("jsonPayload.connection.dest_port")?;
    let proto_text = f.text("jsonPayload.connection.protocol")?;
    let start_text = f.required_text("jsonPayload.start_time")?;
    let ts = f.required_timestamp("jsonPayload.start_time")?;
    let end = f.timestamp("jsonPayload.end_time")?;
    let duration = end
        .and_then(|e| e.checked_sub(ts))
        .filter(|d| *d >= 0)
        .map(|d| d as f64 / 1e6);
    let proto = proto_text
        .as_deref()
        .map_or(Proto::Other("unknown".into()), Proto::parse);
    let uid = format!(
        "gcp:{src_ip}:{}>{dst_ip}:{}/{}@{}",
        src_port.map_or(String::new(), |p| p.to_string()),
        dst_port.map_or(String::new(), |p| p.to_string()),
        proto_text.as_deref().unwrap_or(""),
        start_text.trim()
    );
    Ok(FlowRecord {
        ts,
        uid: Some(uid.into()),
        src_ip,
        src_port,
        dst_ip,
        dst_port,
        proto,
        bytes_out: f.count("jsonPayload.bytes_sent")?,
        bytes_in: None,
        duration,
        local_orig: None,
        direction: ByteDirection::Uniflow,
        provenance: ctx.provenance(line),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ReaderOptions, RejectReason};

    fn run(input: &str) -> Vec<Item> {
        let options = ReaderOptions::default();
        crate::read_text(read, input, &options)
    }

    #[test]
    fn logentry_fields_strings_nanoseconds_and_duplicate_reports() {
        let src = r#"{"jsonPayload":{"bytes_sent":"173663","connection":{"dest_ip":"160.79.104.10","dest_port":443,"protocol":6,"src_ip":"10.87.40.76","src_port":33970},"end_time":"2019-06-14T03:49:51.821302149Z","packets_sent":"68","reporter":"SRC","start_time":"2019-06-14T03:40:08.466657665Z"},"logName":"projects/p/logs/compute.googleapis.com%2Fvpc_flows"}
{"jsonPayload":{"bytes_sent":"173000","connection":{"dest_ip":"160.79.104.10","dest_port":443,"protocol":6,"src_ip":"10.87.40.76","src_port":33970},"reporter":"DEST","start_time":"2019-06-14T03:40:08.466657665Z"}}
{"jsonPayload":{"bytes_sent":"99","connection":{"dest_ip":"10.87.40.76","dest_port":33970,"protocol":6,"src_ip":"160.79.104.10","src_port":443},"reporter":"DEST","start_time":"2019-06-14T03:40:08.466657665Z"}}
{"jsonPayload":{"bytes_sent":"x","connection":{"dest_ip":"10.87.40.76","src_ip":"160.79.104.10"},"start_time":"2019-06-14T03:40:08Z"}}"#;
        let items = run(src);
        assert!(matches!(&items[0], Item::Note(_)));
        let flows: Vec<&FlowRecord> = items
            .iter()
            .filter_map(|i| match i {
                Item::Record(Record::Flow(f)) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(flows.len(), 3);
        let f = flows[0];
        assert_eq!(f.ts, 1_560_483_608_466_657);
        assert_eq!(f.src_ip.to_string(), "10.87.40.76");
        assert_eq!(f.dst_port, Some(443));
        assert_eq!(f.proto, Proto::Tcp);
        assert_eq!(f.bytes_out, Some(173_663));
        assert_eq!(f.bytes_in, None);
        assert_eq!(f.direction, ByteDirection::Uniflow);
        assert_eq!(f.duration, Some(583.354645));
        // The DEST report of the same flow shares the uid; the reverse direction does not.
        assert_eq!(flows[0].uid, flows[1].uid);
        assert_ne!(flows[0].uid, flows[2].uid);
        assert!(
            matches!(items.last(), Some(Item::Reject(r)) if r.reason == RejectReason::InvalidNumber && r.field == "jsonPayload.bytes_sent")
        );
    }
}
