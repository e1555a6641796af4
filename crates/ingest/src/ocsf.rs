//! OCSF (Open Cybersecurity Schema Framework) events: Network Activity (class 4001) as
//! flows, DNS Activity (4003) as DNS transactions, and the hostnames some of them carry
//! (`tls.sni` on 4001, `http_request.url.hostname` on HTTP Activity 4002) when a
//! connection id joins them to a flow. Every other class is counted as filtered
//! (`ocsf_class_<uid>`).
//!
//! The same mapping reads JSON (one object per line, pretty-printed, or in an array; `//`
//! comments tolerated, as OCSF's own samples carry them) and Amazon Security Lake Parquet,
//! whose rows are turned into the same JSON shape first (see [`parquet`]).
//!
//! Exporters disagree with the spec and with each other, so: times are epoch numbers
//! whose unit is told by magnitude (the spec says milliseconds, Zeek-derived samples write
//! seconds) or strings (SiLK-derived samples write `2015/06/17T00:00:00.083`, no zone);
//! a record with only `traffic.bytes` (VPC-derived) covers one direction; answers may lack
//! a type, and are then classified by parsing.

pub mod parquet;

use std::io::BufRead;

use serde_json::Value;

use super::json::{self, fail, FieldResult, Fields};
use super::siem_common::{timestamp_or_local, typed_answer, zone_note};
use super::{FormatSpec, Item, ReadContext, ReaderOptions, RecordKind, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{
    normalise_host_header, normalise_hostname, parse_ip, ByteDirection, DnsRecord, FlowRecord,
    HostnameRecord, HostnameSource, Micros, Proto, Provenance, Record, ShortText,
};

pub(crate) const FIELD_MAP: &[(&str, &str)] = &[
    ("record kind", "class_uid 4001 → flow, 4003 → dns; 4001 with tls.sni and 4002 with http_request.url.hostname → hostname (when a connection id is present)"),
    ("ts", "start_time, start_time_dt, time, time_dt (epoch s/ms/µs/ns by magnitude, or a date-time string)"),
    ("uid", "connection_info.uid, else metadata.uid (biflow records only)"),
    ("src_ip / src_port", "src_endpoint.ip / src_endpoint.port"),
    ("dst_ip / dst_port", "dst_endpoint.ip / dst_endpoint.port"),
    ("proto", "connection_info.protocol_num, else connection_info.protocol_name"),
    ("bytes_out / bytes_in", "traffic.bytes_out (src → dst) / traffic.bytes_in; with only traffic.bytes: one direction (uniflow)"),
    ("duration", "end_time - start_time"),
    ("local_orig", "connection_info.direction_id 2 (outbound) → true, 1 (inbound) → false"),
    ("dns client_ip", "src_endpoint.ip"),
    ("dns query / qtype / rcode", "query.hostname (trailing dot removed) / query.type / rcode, else rcode_id"),
    ("dns answers", "answers[] {rdata, type, ttl}; an answer without type is classified by parsing"),
    ("dns response_ts", "end_time when present, else the time of the event"),
    ("name", "tls.sni (sni), http_request.url.hostname (http_host)"),
];

pub static JSON: FormatSpec = FormatSpec {
    id: "ocsf-json",
    title: "OCSF JSON (Network Activity 4001, DNS Activity 4003)",
    kinds: &[RecordKind::Flow, RecordKind::Dns, RecordKind::Hostname],
    detected_by: "JSON objects with class_uid and category_uid, type_uid or metadata",
    bytes: "traffic.bytes_out is what src_endpoint sent (upload), traffic.bytes_in what it received; a record with only traffic.bytes is one direction",
    field_map: FIELD_MAP,
    detect: |h| h.first_json.is_some_and(is_ocsf_object),
    read,
};

pub(crate) fn is_ocsf_object(obj: &serde_json::Map<String, Value>) -> bool {
    let class = obj.get("class_uid");
    let numeric = match class {
        Some(Value::Number(_)) => true,
        Some(Value::String(s)) => s.parse::<u32>().is_ok(),
        _ => false,
    };
    numeric
        && ["category_uid", "type_uid", "metadata", "activity_id"]
            .iter()
            .any(|k| obj.contains_key(*k))
}

/// What one OCSF file needs remembered across its records.
#[derive(Default)]
pub(crate) struct State {
    zone_noted: bool,
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut state = State::default();
    json::read_objects(reader, ctx, sink, &mut |line, value, raw, sink| {
        let provenance = ctx.provenance(line);
        match items(&mut state, value, provenance, ctx.options) {
            Ok(items) => {
                for item in items {
                    sink(item)?;
                }
            }
            Err(fail) => sink(json::reject(line, fail, raw))?,
        }
        Ok(())
    })
}

/// The filtered reason for a class that is neither network nor DNS activity.
fn other_class(uid: u64) -> &'static str {
    macro_rules! classes {
        ($($n:literal),* $(,)?) => {
            match uid {
                $($n => concat!("ocsf_class_", stringify!($n)),)*
                _ => "ocsf_class_other",
            }
        };
    }
    classes!(
        1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 2001, 2002, 2003, 2004, 2005, 2006,
        2007, 3001, 3002, 3003, 3004, 3005, 3006, 4002, 4004, 4005, 4006, 4007, 4008, 4009, 4010,
        4011, 4012, 4013, 4014, 5001, 5002, 5003, 5004, 5019, 5020, 6001, 6002, 6003, 6004, 6005,
        6006, 6007, 6008,
    )
}

/// The items one OCSF event yields.
pub(crate) fn items(
    state: &mut State,
    v: &Value,
    provenance: Provenance,
    options: &ReaderOptions,
) -> FieldResult<Vec<Item>> {
    let f = Fields(v);
    let class = f
        .count("class_uid")?
        .ok_or_else(|| json::missing("class_uid"))?;
    let mut zone_assumed = false;
    let mut out = match class {
        4001 => network(&f, provenance, options, &mut zone_assumed)?,
        4003 => vec![dns(&f, provenance, options, &mut zone_assumed)?],
        4002 => {
            match hostname(
                &f,
                provenance,
                options,
                "http_request.url.hostname",
                HostnameSource::HttpHost,
                &mut zone_assumed,
            )? {
                Some(h) => vec![h],
                None => vec![Item::Filtered {
                    line: provenance.line,
                    reason: "ocsf_class_4002",
                }],
            }
        }
        other => vec![Item::Filtered {
            line: provenance.line,
            reason: other_class(other),
        }],
    };
    if zone_assumed && !state.zone_noted {
        state.zone_noted = true;
        out.push(Item::Note(zone_note(options)));
    }
    Ok(out)
}

/// The first of several time fields that is present.
fn time(
    f: &Fields<'_>,
    paths: &[&'static str],
    options: &ReaderOptions,
    zone_assumed: &mut bool,
) -> FieldResult<Option<Micros>> {
    for p in paths {
        if let Some((t, assumed)) = f.parse(p, |s| timestamp_or_local(s, options))? {
            *zone_assumed |= assumed;
            return Ok(Some(t));
        }
    }
    Ok(None)
}

fn start(f: &Fields<'_>, options: &ReaderOptions, z: &mut bool) -> FieldResult<Micros> {
    time(
        f,
        &["start_time", "start_time_dt", "time", "time_dt"],
        options,
        z,
    )?
    .ok_or_else(|| json::missing("time"))
}

fn end(f: &Fields<'_>, options: &ReaderOptions, z: &mut bool) -> FieldResult<Option<Micros>> {
    time(f, &["end_time", "end_time_dt"], options, z)
}

/// The connection id: what joins a flow to the hostname of the same connection.
fn connection_uid(f: &Fields<'_>) -> FieldResult<Option<xborder_model::schema::Uid>> {
    Ok(f.first_text(&["connection_info.uid", "metadata.uid"])?
        .map(|(_, v)| xborder_model::schema::Uid::from(v.as_ref())))
}

fn network(
    f: &Fields<'_>,
    provenance: Provenance,
    options: &ReaderOptions,
    z: &mut bool,
) -> FieldResult<Vec<Item>> {
    let bytes_out = f.count("traffic.bytes_out")?;
    let bytes_in = f.count("traffic.bytes_in")?;
    let total = f.count("traffic.bytes")?;
    let has_split = bytes_out.is_some() || bytes_in.is_some();
    let name = hostname(f, provenance, options, "tls.sni", HostnameSource::Sni, z)?;
    if !has_split && total.is_none() {
        // No byte counts: an Open event's bytes come with its Close or Traffic event (and
        // share its connection id, which would make the later one a duplicate); a TLS
        // record (Zeek ssl.log mapped to 4001) only names the connection.
        if f.count("activity_id")? == Some(1) {
            return Ok(vec![Item::Filtered {
                line: provenance.line,
                reason: "ocsf_open",
            }]);
        }
        if let Some(name) = name {
            return Ok(vec![name]);
        }
    }
    let ts = start(f, options, z)?;
    let direction = if has_split || total.is_none() {
        ByteDirection::Biflow
    } else {
        ByteDirection::Uniflow
    };
    let proto = match f.first_text(&[
        "connection_info.protocol_num",
        "connection_info.protocol_name",
    ])? {
        Some((_, p)) => Proto::parse(&p),
        None => Proto::Other(String::new()),
    };
    let local_orig = match f.count("connection_info.direction_id")? {
        Some(2) => Some(true),
        Some(1) => Some(false),
        _ => None,
    };
    let flow = FlowRecord {
        ts,
        // One direction of a connection shares the id with the other: no de-duplication.
        uid: match direction {
            ByteDirection::Uniflow => None,
            _ => connection_uid(f)?,
        },
        src_ip: f.required_ip("src_endpoint.ip")?,
        src_port: f.port("src_endpoint.port")?,
        dst_ip: f.required_ip("dst_endpoint.ip")?,
        dst_port: f.port("dst_endpoint.port")?,
        proto,
        bytes_out: if has_split { bytes_out } else { total },
        bytes_in,
        duration: end(f, options, z)?
            .and_then(|e| e.checked_sub(ts))
            .filter(|d| *d >= 0)
            .map(|d| d as f64 / 1e6),
        local_orig,
        direction,
        provenance,
    };
    let mut out = vec![Item::Record(Record::Flow(flow))];
    out.extend(name);
    Ok(out)
}

/// A hostname record from `field`, when the event names a host (not an address) and has a
/// connection id to join it by.
fn hostname(
    f: &Fields<'_>,
    provenance: Provenance,
    options: &ReaderOptions,
    field: &str,
    source: HostnameSource,
    z: &mut bool,
) -> FieldResult<Option<Item>> {
    let Some(raw) = f.text(field)? else {
        return Ok(None);
    };
    let name = normalise_host_header(&raw);
    let Some(uid) = connection_uid(f)? else {
        return Ok(None);
    };
    if name.is_empty() || parse_ip(&name).is_some() {
        return Ok(None);
    }
    Ok(Some(Item::Record(Record::Hostname(HostnameRecord {
        ts: time(
            f,
            &["time", "time_dt", "start_time", "start_time_dt"],
            options,
            z,
        )?
        .ok_or_else(|| json::missing("time"))?,
        uid: uid.to_string(),
        src_ip: f.required_ip("src_endpoint.ip")?,
        dst_ip: f.required_ip("dst_endpoint.ip")?,
        dst_port: f.port("dst_endpoint.port")?,
        name,
        source,
        provenance,
    }))))
}

fn dns(
    f: &Fields<'_>,
    provenance: Provenance,
    options: &ReaderOptions,
    z: &mut bool,
) -> FieldResult<Item> {
    let ts = time(
        f,
        &["time", "time_dt", "start_time", "start_time_dt"],
        options,
        z,
    )?
    .ok_or_else(|| json::missing("time"))?;
    let response_ts = end(f, options, z)?.filter(|e| *e >= ts).unwrap_or(ts);
    let mut answers = Vec::new();
    for (i, a) in f.array("answers")?.iter().enumerate() {
        let a = Fields(a);
        let at = |p: &str| format!("answers[{i}].{p}");
        let Some(rdata) = a.text("rdata").map_err(|(p, e)| (at(&p), e))? else {
            continue;
        };
        let rrtype = a.text("type").map_err(|(p, e)| (at(&p), e))?;
        let ttl = a
            .parse("ttl", super::values::parse_ttl)
            .map_err(|(p, e)| (at(&p), e))?;
        answers.extend(typed_answer(&rdata, rrtype.as_deref(), ttl));
    }
    let trans_id = f
        .count("query.packet_uid")?
        .map(|id| {
            u32::try_from(id).map_err(|_| {
                fail(
                    "query.packet_uid",
                    RejectReason::InvalidNumber,
                    format!("`{id}` is out of range"),
                )
            })
        })
        .transpose()?;
    Ok(Item::Record(Record::Dns(DnsRecord {
        ts,
        response_ts,
        uid: connection_uid(f)?,
        trans_id,
        client_ip: f.required_ip("src_endpoint.ip")?,
        query: f
            .text("query.hostname")?
            .map(|q| normalise_hostname(&q))
            .unwrap_or_default(),
        qtype: f.text("query.type")?.map(ShortText::from),
        rcode: f
            .first_text(&["rcode", "rcode_id"])?
            .map(|(_, v)| ShortText::from(v)),
        answers,
        provenance,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use xborder_model::schema::AnswerValue;

    fn read_all(text: &str) -> Vec<Item> {
        let options = ReaderOptions::default();
        crate::read_text(read, text, &options)
    }

    #[test]
    fn network_activity_biflow_uniflow_and_string_times() {
        let text = r#"{"class_uid":4001,"category_uid":4,"time":1729052821,"start_time":1729052821,"src_endpoint":{"ip":"10.4.30.5","port":49227},"dst_endpoint":{"ip":"37.120.182.208","port":80},"connection_info":{"protocol_name":"tcp","direction_id":2},"traffic":{"bytes_in":213,"bytes_out":164,"bytes":377},"metadata":{"uid":"CmRFd61N7G7YA909D1"}}
{"class_uid":4001,"category_uid":4,"time":1752247584000,"src_endpoint":{"ip":"1.2.3.4","port":8080},"dst_endpoint":{"ip":"1.2.3.5","port":8864},"connection_info":{"protocol_num":6,"uid":"x"},"traffic":{"bytes":38526,"packets":8}}
{"class_uid":4001,"category_uid":4,"start_time":"2015/06/17T00:00:00.083","end_time":"2015/06/17T00:00:00.089","src_endpoint":{"ip":"192.168.40.20","port":63975},"dst_endpoint":{"ip":"10.0.40.21","port":443},"connection_info":{"protocol_num":6},"traffic":{"bytes":344}}
"#;
        let items = read_all(text);
        let flows: Vec<&FlowRecord> = items
            .iter()
            .filter_map(|i| match i {
                Item::Record(Record::Flow(f)) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(flows.len(), 3, "{items:?}");
        let a = flows[0];
        assert_eq!(a.ts, 1_729_052_821_000_000);
        assert_eq!((a.bytes_out, a.bytes_in), (Some(164), Some(213)));
        assert_eq!(a.uid.as_deref(), Some("CmRFd61N7G7YA909D1"));
        assert_eq!(a.local_orig, Some(true));
        assert_eq!(a.direction, ByteDirection::Biflow);
        let b = flows[1];
        assert_eq!(b.ts, 1_752_247_584_000_000);
        assert_eq!((b.bytes_out, b.bytes_in), (Some(38526), None));
        assert_eq!(b.direction, ByteDirection::Uniflow);
        assert_eq!(b.uid, None);
        assert_eq!(b.proto, Proto::Tcp);
        let c = flows[2];
        assert_eq!(c.ts, 1_434_499_200_083_000);
        assert!((c.duration.unwrap() - 0.006).abs() < 1e-9);
        assert!(matches!(items.last(), Some(Item::Note(n)) if n.contains("UTC")));
    }

    #[test]
    fn dns_activity_with_comments_and_untyped_answers() {
        let text = "{\n  \"class_uid\": 4003, \"category_uid\": 4, \"time\": 1729165829,\n  \"src_endpoint\": {\"ip\": \"172.27.0.137\"},\n  \"query\": {\"hostname\": \"API.Anthropic.com.\", \"type\": \"A\", \"packet_uid\": 60300},\n  \"rcode\": \"NOERROR\",\n  \"answers\": [\n    {\"rdata\": \"api.anthropic.com.edge\", \"ttl\": 300, \"flag_ids\": [3]}, // RD is true\n    {\"rdata\": \"160.79.104.10\", \"ttl\": 60}\n  ]\n}\n";
        let items = read_all(text);
        let Some(Item::Record(Record::Dns(d))) = items.first() else {
            panic!("{items:?}")
        };
        assert_eq!(d.query, "api.anthropic.com");
        assert_eq!(d.client_ip.to_string(), "172.27.0.137");
        assert_eq!(d.trans_id, Some(60300));
        assert_eq!(
            d.answers[0].value,
            AnswerValue::Other("api.anthropic.com.edge".into())
        );
        assert_eq!(
            d.answers[1].value,
            AnswerValue::Address("160.79.104.10".parse().unwrap())
        );
        assert_eq!(d.answers[1].ttl, Some(60));
        assert_eq!(d.ts, 1_729_165_829_000_000);
    }

    #[test]
    fn tls_records_name_a_connection_and_other_classes_are_filtered() {
        let text = r#"{"class_uid":4001,"category_uid":4,"time":1729261050,"activity_id":6,"src_endpoint":{"ip":"10.1.0.104","port":57335},"dst_endpoint":{"ip":"172.241.1.68","port":443},"tls":{"sni":"code.yengo.com"},"metadata":{"uid":"CgwD6k3ViUYQLs49A4"}}
{"class_uid":4001,"category_uid":4,"activity_id":1,"time":1539174896000,"src_endpoint":{"ip":"100.66.205.104","port":80},"dst_endpoint":{"ip":"172.31.98.44","port":1772},"connection_info":{"protocol_name":"TCP","uid":"11757"}}
{"class_uid":2004,"category_uid":2,"time":1}
{"class_uid":9999,"category_uid":9,"time":1}
{"class_uid":4001,"category_uid":4,"time":1,"src_endpoint":{"ip":"10.0.0.1"},"dst_endpoint":{"ip":"nope"},"traffic":{"bytes":1}}
{"category_uid":4,"time":1}
"#;
        let items = read_all(text);
        let Item::Record(Record::Hostname(h)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(
            (h.name.as_str(), h.uid.as_str()),
            ("code.yengo.com", "CgwD6k3ViUYQLs49A4")
        );
        let reasons: Vec<&str> = items
            .iter()
            .filter_map(|i| match i {
                Item::Filtered { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect();
        assert_eq!(
            reasons,
            vec!["ocsf_open", "ocsf_class_2004", "ocsf_class_other"]
        );
        let rejects: Vec<(u64, &str)> = items
            .iter()
            .filter_map(|i| match i {
                Item::Reject(r) => Some((r.line, r.field.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(rejects, vec![(5, "dst_endpoint.ip"), (6, "class_uid")]);
    }
}
