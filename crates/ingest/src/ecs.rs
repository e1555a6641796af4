//! Elastic Common Schema documents as NDJSON (Packetbeat, Filebeat modules, Elastic
//! Agent integrations), one document per line, nested (`{"source":{"ip":..}}`) or
//! flattened (`{"source.ip":..}`), bare or inside Elasticsearch hit wrappers
//! (`{"_index":..,"_source":{..}}`, as Kibana and `elasticdump` write them).
//!
//! - A document with `dns.question.name` is a DNS transaction.
//! - Packetbeat also writes one *transaction* document per DNS query, HTTP request or TLS
//!   handshake, carrying `source.bytes`/`destination.bytes` of that exchange: counting
//!   those as flows would count the connection twice (its `flow` document already holds
//!   the bytes), so only Packetbeat `flow` documents are flows. Packetbeat reports a long
//!   flow every `period` with counts so far (`flow.final: false`): the reports of one
//!   `flow.id` are held and only the last one counts (`ecs_flow_superseded` for the rest).
//! - Any other document with source and destination addresses is a flow.
//!   `source.bytes` is what the source sent (upload); `network.bytes` alone is the total of
//!   both directions (ECS), except in NetFlow documents where it is one direction.
//! - `tls.client.server_name` (or `url.domain` on an HTTP document) names the connection,
//!   but only a connection id that the flow document shares can join it: `zeek.session_id`
//!   (Filebeat's Zeek module), `suricata.eve.flow_id` (its Suricata module) or `flow.id`.
//!   Packetbeat transaction documents carry none; `network.community_id` is not used, as a
//!   hash of the 5-tuple is shared by every connection that reuses a source port.

use std::io::BufRead;

use serde_json::Value;

use super::json::{self, FieldResult, Fields};
use super::siem_common::{typed_answer, Pending, PENDING_LIMIT};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind};
use xborder_model::error::Result;
use xborder_model::schema::{
    normalise_host_header, normalise_hostname, parse_ip, ByteDirection, DnsRecord, FlowRecord,
    HostnameRecord, HostnameSource, Micros, Proto, Provenance, Record, ShortText,
};

pub static NDJSON: FormatSpec = FormatSpec {
    id: "ecs-ndjson",
    title: "Elastic Common Schema NDJSON (Packetbeat, Filebeat, Elastic Agent)",
    kinds: &[RecordKind::Flow, RecordKind::Dns, RecordKind::Hostname],
    detected_by: "JSON objects (or _source wrappers) with @timestamp and ECS keys (ecs, event, agent or data_stream) and source.ip, destination.ip, client.ip or dns.question.name",
    bytes: "source.bytes is what the source sent (upload), destination.bytes what it received; network.bytes alone is both directions summed (one direction in NetFlow documents)",
    field_map: &[
        ("record kind", "dns.question.name → dns; Packetbeat type/dataset flow, or source.ip + destination.ip → flow; tls.client.server_name / url.domain → hostname"),
        ("ts", "event.start, else @timestamp"),
        ("uid", "flow.id, zeek.session_id or suricata.eve.flow_id"),
        ("src_ip / src_port", "source.ip / source.port (client.ip / client.port)"),
        ("dst_ip / dst_port", "destination.ip / destination.port (server.ip / server.port)"),
        ("proto", "network.transport, else network.iana_number"),
        ("bytes_out / bytes_in", "source.bytes / destination.bytes; else network.bytes (combined, or uniflow for NetFlow)"),
        ("duration", "event.duration (nanoseconds), else event.end - event.start"),
        ("local_orig", "network.direction outbound/internal/egress → true, inbound/external/ingress → false"),
        ("dns client_ip", "client.ip, else source.ip"),
        ("dns query / qtype / rcode", "dns.question.name / dns.question.type / dns.response_code"),
        ("dns answers", "dns.answers[] {data, type, ttl}, else dns.resolved_ip[]"),
        ("dns ts / response_ts", "event.start (else @timestamp) / event.end, else ts + event.duration"),
        ("name", "tls.client.server_name (sni), url.domain on HTTP documents (http_host)"),
    ],
    detect,
    read,
};

/// The document inside an Elasticsearch hit, or the object itself.
fn document(v: &Value) -> &Value {
    match v.get("_source") {
        Some(inner @ Value::Object(_)) => inner,
        _ => v,
    }
}

fn detect(h: &Head<'_>) -> bool {
    let Some(obj) = h.first_json else {
        return false;
    };
    let obj = match obj.get("_source") {
        Some(Value::Object(inner)) => inner,
        _ => obj,
    };
    let doc = Value::Object(obj.clone());
    let f = Fields(&doc);
    f.has("@timestamp")
        && [
            "ecs.version",
            "event.dataset",
            "event.category",
            "agent.type",
            "data_stream.dataset",
        ]
        .iter()
        .any(|k| f.has(k))
        && [
            "source.ip",
            "destination.ip",
            "client.ip",
            "dns.question.name",
        ]
        .iter()
        .any(|k| f.has(k))
}

struct State {
    file: u32,
    /// Packetbeat's interim reports of still-open flows, by flow.id.
    interim: Pending<xborder_model::schema::Uid, (u64, FlowRecord)>,
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut state = State {
        file: ctx.file_index,
        interim: Pending::new(PENDING_LIMIT),
    };
    json::read_objects(reader, ctx, sink, &mut |line, value, raw, sink| {
        match items(&mut state, line, document(value)) {
            Ok(items) => {
                for item in items {
                    sink(item)?;
                }
            }
            Err(fail) => sink(json::reject(line, fail, raw))?,
        }
        Ok(())
    })?;
    // Flows whose final report is not in the file: their latest report counts.
    for (_, flow) in state.interim.drain() {
        sink(Item::Record(Record::Flow(flow)))?;
    }
    Ok(())
}

/// Whether a document comes from Packetbeat (or the Elastic Agent network_traffic
/// integration), and if so whether it is a flow rather than a transaction.
fn packetbeat(f: &Fields<'_>) -> FieldResult<Option<bool>> {
    let dataset = f
        .first_text(&["event.dataset", "data_stream.dataset"])?
        .map(|(_, d)| d);
    let agent = f.text("agent.type")?;
    let is_pb = agent.as_deref() == Some("packetbeat")
        || dataset
            .as_deref()
            .is_some_and(|d| d.starts_with("network_traffic."));
    if !is_pb {
        return Ok(None);
    }
    let is_flow = dataset.as_deref() == Some("network_traffic.flow")
        || f.text("type")?.as_deref() == Some("flow")
        || f.text("event.action")?.as_deref() == Some("network_flow");
    Ok(Some(is_flow))
}

fn connection_uid(f: &Fields<'_>) -> FieldResult<Option<xborder_model::schema::Uid>> {
    Ok(
        f.first_text(&["flow.id", "zeek.session_id", "suricata.eve.flow_id"])?
            .map(|(_, v)| xborder_model::schema::Uid::from(v.as_ref())),
    )
}

fn items(state: &mut State, line: u64, v: &Value) -> FieldResult<Vec<Item>> {
    let f = Fields(v);
    let provenance = Provenance {
        file: state.file,
        line,
    };
    if f.has("dns.question.name") {
        return Ok(vec![dns(&f, provenance)?]);
    }
    let name = hostname(&f, provenance)?.map(Item::Record);
    match packetbeat(&f)? {
        Some(false) => {
            return Ok(vec![name.unwrap_or(Item::Filtered {
                line,
                reason: "ecs_transaction",
            })])
        }
        Some(true) => {}
        None => {
            let has_bytes = ["source.bytes", "destination.bytes", "network.bytes"]
                .iter()
                .any(|k| f.has(k));
            // A TLS or HTTP document names the connection; its flow is another document.
            if !has_bytes {
                if let Some(name) = name {
                    return Ok(vec![name]);
                }
            }
        }
    }
    let has_addresses = f.has("source.ip") || f.has("client.ip");
    if !has_addresses && !f.has("destination.ip") {
        return Ok(vec![Item::Filtered {
            line,
            reason: "ecs_no_addresses",
        }]);
    }
    let flow = flow(&f, provenance)?;
    let mut out = Vec::with_capacity(2);
    // Packetbeat's interim reports: the latest report of a flow id stands for it.
    if f.text("flow.final")?.as_deref() == Some("false") {
        if let Some(uid) = flow.uid.clone() {
            if let Some((_, (old_line, _))) = state.interim.insert(uid, (line, flow)) {
                out.push(Item::Filtered {
                    line: old_line,
                    reason: "ecs_flow_superseded",
                });
            }
            out.extend(name);
            return Ok(out);
        }
    } else if let Some(uid) = &flow.uid {
        if let Some((old_line, _)) = state.interim.take(uid) {
            out.push(Item::Filtered {
                line: old_line,
                reason: "ecs_flow_superseded",
            });
        }
    }
    out.push(Item::Record(Record::Flow(flow)));
    out.extend(name);
    Ok(out)
}

fn start(f: &Fields<'_>) -> FieldResult<Micros> {
    match f.timestamp("event.start")? {
        Some(t) => Ok(t),
        None => f.required_timestamp("@timestamp"),
    }
}

fn ip(f: &Fields<'_>, paths: &[&str]) -> FieldResult<std::net::IpAddr> {
    for p in paths {
        if let Some(ip) = f.ip(p)? {
            return Ok(ip);
        }
    }
    Err(json::missing(paths[0]))
}

fn port(f: &Fields<'_>, paths: &[&str]) -> FieldResult<Option<u16>> {
    for p in paths {
        if let Some(port) = f.port(p)? {
            return Ok(Some(port));
        }
    }
    Ok(None)
}

fn flow(f: &Fields<'_>, provenance: Provenance) -> FieldResult<FlowRecord> {
    let ts = start(f)?;
    let (out, inn) = (f.count("source.bytes")?, f.count("destination.bytes")?);
    let total = f.count("network.bytes")?;
    let netflow = f.has("netflow")
        || f.text("event.module")?.as_deref() == Some("netflow")
        || f.text("event.dataset")?
            .is_some_and(|d| d.starts_with("netflow"));
    let (bytes_out, bytes_in, direction) = match (out, inn, total) {
        (None, None, Some(t)) if netflow => (Some(t), None, ByteDirection::Uniflow),
        (None, None, Some(t)) => (Some(t), None, ByteDirection::Combined),
        (o, i, _) => (o, i, ByteDirection::Biflow),
    };
    let duration = match f.count("event.duration")? {
        Some(ns) => Some(ns as f64 / 1e9),
        None => f
            .timestamp("event.end")?
            .and_then(|e| e.checked_sub(ts))
            .filter(|d| *d >= 0)
            .map(|d| d as f64 / 1e6),
    };
    let proto = match f.first_text(&["network.transport", "network.iana_number"])? {
        Some((_, p)) => Proto::parse(&p),
        None => Proto::Other(String::new()),
    };
    let local_orig = match f.text("network.direction")?.as_deref() {
        Some("outbound" | "internal" | "egress") => Some(true),
        Some("inbound" | "external" | "ingress") => Some(false),
        _ => None,
    };
    Ok(FlowRecord {
        ts,
        uid: connection_uid(f)?,
        src_ip: ip(f, &["source.ip", "client.ip"])?,
        src_port: port(f, &["source.port", "client.port"])?,
        dst_ip: ip(f, &["destination.ip", "server.ip"])?,
        dst_port: port(f, &["destination.port", "server.port"])?,
        proto,
        bytes_out,
        bytes_in,
        duration,
        local_orig,
        direction,
        provenance,
    })
}

/// The name a TLS or HTTP document gives its connection, when a connection id can join
/// it to the flow.
fn hostname(f: &Fields<'_>, provenance: Provenance) -> FieldResult<Option<Record>> {
    let (raw, source) = match f.text("tls.client.server_name")? {
        Some(n) => (n, HostnameSource::Sni),
        None => match (f.text("url.domain")?, f.has("http")) {
            (Some(d), true) => (d, HostnameSource::HttpHost),
            _ => return Ok(None),
        },
    };
    let name = normalise_host_header(&raw);
    let Some(uid) = connection_uid(f)? else {
        return Ok(None);
    };
    if name.is_empty() || parse_ip(&name).is_some() {
        return Ok(None);
    }
    Ok(Some(Record::Hostname(HostnameRecord {
        ts: start(f)?,
        uid: uid.to_string(),
        src_ip: ip(f, &["source.ip", "client.ip"])?,
        dst_ip: ip(f, &["destination.ip", "server.ip"])?,
        dst_port: port(f, &["destination.port", "server.port"])?,
        name,
        source,
        provenance,
    })))
}

fn dns(f: &Fields<'_>, provenance: Provenance) -> FieldResult<Item> {
    let ts = start(f)?;
    let response_ts = match f.timestamp("event.end")? {
        Some(e) if e >= ts => e,
        _ => match f.count("event.duration")? {
            Some(ns) => {
                ts.saturating_add(i64::try_from((ns / 1_000).min(86_400_000_000)).unwrap_or(0))
            }
            None => ts,
        },
    };
    let mut answers = Vec::new();
    let detailed = f.array("dns.answers")?;
    for (i, a) in detailed.iter().enumerate() {
        let a = Fields(a);
        let at = |p: &str| format!("dns.answers[{i}].{p}");
        let Some(data) = a.text("data").map_err(|(p, e)| (at(&p), e))? else {
            continue;
        };
        let rrtype = a.text("type").map_err(|(p, e)| (at(&p), e))?;
        let ttl = a
            .parse("ttl", super::values::parse_ttl)
            .map_err(|(p, e)| (at(&p), e))?;
        answers.extend(typed_answer(&data, rrtype.as_deref(), ttl));
    }
    if detailed.is_empty() {
        // dns.resolved_ip is an array, or a single address in flattened exports.
        let resolved: Vec<String> = match f.get("dns.resolved_ip") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        for r in resolved {
            answers.extend(typed_answer(&r, None, None));
        }
    }
    let trans_id = f.count("dns.id")?.and_then(|i| u32::try_from(i).ok());
    Ok(Item::Record(Record::Dns(DnsRecord {
        ts,
        response_ts,
        uid: connection_uid(f)?,
        trans_id,
        client_ip: ip(f, &["client.ip", "source.ip"])?,
        query: f
            .text("dns.question.name")?
            .map(|q| normalise_hostname(&q))
            .unwrap_or_default(),
        qtype: f.text("dns.question.type")?.map(ShortText::from),
        rcode: f.text("dns.response_code")?.map(ShortText::from),
        answers,
        provenance,
    })))
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
    fn packetbeat_flows_transactions_and_interim_reports() {
        let text = r#"{"@timestamp":"2026-07-02T00:00:20Z","agent":{"type":"packetbeat"},"type":"flow","event":{"dataset":"network_traffic.flow","start":"2026-07-02T00:00:10.000Z","duration":1000000000},"flow":{"id":"F1","final":false},"source":{"ip":"10.1.0.5","port":40000,"bytes":100},"destination":{"ip":"160.79.104.10","port":443,"bytes":200},"network":{"transport":"tcp"}}
{"@timestamp":"2026-07-02T00:00:30Z","agent":{"type":"packetbeat"},"type":"flow","event":{"dataset":"network_traffic.flow","start":"2026-07-02T00:00:10.000Z","duration":2000000000},"flow":{"id":"F1","final":true},"source":{"ip":"10.1.0.5","port":40000,"bytes":1000},"destination":{"ip":"160.79.104.10","port":443,"bytes":2000},"network":{"transport":"tcp"}}
{"@timestamp":"2026-07-02T00:00:30Z","agent":{"type":"packetbeat"},"type":"flow","event":{"dataset":"network_traffic.flow","start":"2026-07-02T00:00:12.000Z"},"flow":{"id":"F2","final":false},"source":{"ip":"10.1.0.6","port":40001,"bytes":5},"destination":{"ip":"192.0.2.1","port":443,"bytes":6},"network":{"transport":"tcp"}}
{"@timestamp":"2026-07-02T00:00:30Z","agent":{"type":"packetbeat"},"type":"tls","event":{"dataset":"network_traffic.tls"},"tls":{"client":{"server_name":"api.anthropic.com"}},"source":{"ip":"10.1.0.5","bytes":10},"destination":{"ip":"160.79.104.10","bytes":20}}
"#;
        let items = read_all(text);
        let flows: Vec<&FlowRecord> = items
            .iter()
            .filter_map(|i| match i {
                Item::Record(Record::Flow(f)) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(flows.len(), 2, "{items:?}");
        assert_eq!(
            (flows[0].bytes_out, flows[0].bytes_in),
            (Some(1000), Some(2000))
        );
        assert_eq!(flows[0].ts, 1_782_950_410_000_000);
        assert_eq!(flows[0].duration, Some(2.0));
        assert_eq!(flows[0].proto, Proto::Tcp);
        assert_eq!(flows[1].bytes_out, Some(5));
        assert_eq!(flows[1].provenance.line, 3);
        let reasons: Vec<(u64, &str)> = items
            .iter()
            .filter_map(|i| match i {
                Item::Filtered { line, reason } => Some((*line, *reason)),
                _ => None,
            })
            .collect();
        assert_eq!(
            reasons,
            vec![(1, "ecs_flow_superseded"), (4, "ecs_transaction")]
        );
    }

    #[test]
    fn dns_documents_nested_flattened_and_wrapped() {
        let text = r#"{"_index":"x","_source":{"@timestamp":"2026-07-02T00:00:00.000Z","ecs":{"version":"8.11.0"},"event":{"start":"2026-07-02T00:00:00.000Z","end":"2026-07-02T00:00:00.020Z"},"client":{"ip":"10.1.0.5"},"source":{"ip":"10.1.0.5"},"destination":{"ip":"10.1.0.53"},"dns":{"question":{"name":"API.openai.com","type":"A"},"response_code":"NOERROR","answers":[{"name":"api.openai.com","type":"CNAME","ttl":300,"data":"api.openai.com.cdn.cloudflare.net"},{"name":"api.openai.com.cdn.cloudflare.net","type":"A","ttl":60,"data":"104.18.32.7"}]}}}
{"@timestamp":"2026-07-02T00:00:00.000Z","ecs.version":"8.11.0","source.ip":"10.1.0.6","dns.question.name":"chatgpt.com","dns.resolved_ip":["172.64.155.209"],"event.duration":5000000}
{"@timestamp":"2026-07-02T00:00:00.000Z","ecs.version":"8.11.0","source.ip":"10.1.0.7","dns.question.name":"x.example","dns.answers":[{"data":"192.0.2.1","ttl":"soon"}]}
"#;
        let items = read_all(text);
        let Item::Record(Record::Dns(a)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(a.query, "api.openai.com");
        assert_eq!(a.response_ts - a.ts, 20_000);
        assert_eq!(
            a.answers[1].value,
            AnswerValue::Address("104.18.32.7".parse().unwrap())
        );
        assert_eq!(a.answers[1].ttl, Some(60));
        let Item::Record(Record::Dns(b)) = &items[1] else {
            panic!("{items:?}")
        };
        assert_eq!(b.client_ip.to_string(), "10.1.0.6");
        assert_eq!(b.answers.len(), 1);
        assert_eq!(b.answers[0].ttl, None);
        assert_eq!(b.response_ts - b.ts, 5_000);
        let Item::Reject(r) = &items[2] else {
            panic!("{items:?}")
        };
        assert_eq!(r.field, "dns.answers[0].ttl");
    }

    #[test]
    fn zeek_module_names_join_by_session_id_and_totals_are_combined() {
        let text = r#"{"@timestamp":"2026-07-02T00:00:10Z","event":{"dataset":"zeek.ssl"},"zeek":{"session_id":"Cf1"},"source":{"ip":"10.1.0.5","port":40000},"destination":{"ip":"160.79.104.10","port":443},"tls":{"client":{"server_name":"api.anthropic.com"}}}
{"@timestamp":"2026-07-02T00:00:10Z","event":{"dataset":"zeek.connection"},"zeek":{"session_id":"Cf1"},"source":{"ip":"10.1.0.5","port":40000,"bytes":1000},"destination":{"ip":"160.79.104.10","port":443,"bytes":2000},"network":{"direction":"outbound","transport":"tcp"}}
{"@timestamp":"2026-07-02T00:00:10Z","event":{"dataset":"fortinet.firewall"},"source":{"ip":"10.1.0.5"},"destination":{"ip":"192.0.2.7"},"network":{"bytes":900}}
{"@timestamp":"2026-07-02T00:00:10Z","event":{"dataset":"system.auth"},"user":{"name":"x"}}
"#;
        let items = read_all(text);
        let Item::Record(Record::Hostname(h)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(
            (h.uid.as_str(), h.name.as_str()),
            ("Cf1", "api.anthropic.com")
        );
        let Item::Record(Record::Flow(f)) = &items[1] else {
            panic!("{items:?}")
        };
        assert_eq!(f.uid.as_deref(), Some("Cf1"));
        assert_eq!(f.local_orig, Some(true));
        let Item::Record(Record::Flow(c)) = &items[2] else {
            panic!("{items:?}")
        };
        assert_eq!(
            (c.direction, c.bytes_out, c.bytes_in),
            (ByteDirection::Combined, Some(900), None)
        );
        assert!(matches!(
            items[3],
            Item::Filtered {
                reason: "ecs_no_addresses",
                ..
            }
        ));
    }
}
