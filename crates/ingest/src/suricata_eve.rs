//! Suricata EVE JSON: one file mixing every event type Suricata logs.
//!
//! - `flow` events are connections in both directions (`bytes_toserver` is the upload).
//! - `netflow` events are one direction each, two per connection under one `flow_id`; the
//!   two halves are paired here into one connection.
//! - `dns` events come in three layouts: v1 (one event per answer RR), v2 (Suricata 5-7:
//!   one `answer` event holding `answers[]` and/or `grouped`) and v3 (Suricata 8:
//!   `request`/`response` events with `queries[]` and `answers[]`). A query event is held
//!   until the answer of the same transaction (flow_id + DNS id) arrives: it is then counted
//!   as filtered (`eve_dns_query_answered`), since the answer repeats the query; a query
//!   never answered becomes a DNS record without answers.
//! - `tls` (`tls.sni`), `quic` (`quic.sni`) and `http` (`http.hostname`) events name the
//!   host the client asked for on one connection, joined to the flow by `flow_id`.
//! - Everything else (`alert`, `anomaly`, `stats`, `fileinfo`, `smtp`…) is counted as
//!   filtered with reason `eve_<event_type>`.

use std::borrow::Cow;
use std::io::BufRead;
use std::net::IpAddr;

use serde_json::Value;

use super::json::{self, fail, FieldResult, Fields};
use super::siem_common::{typed_answer, Pending, PENDING_LIMIT};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{
    normalise_host_header, normalise_hostname, parse_ip, ByteDirection, DnsAnswer, DnsRecord,
    FlowRecord, HostnameRecord, HostnameSource, Micros, Proto, Provenance, Record, ShortText, Uid,
};

pub static EVE: FormatSpec = FormatSpec {
    id: "suricata-eve",
    title: "Suricata EVE JSON",
    kinds: &[RecordKind::Flow, RecordKind::Dns, RecordKind::Hostname],
    detected_by: "JSON objects with event_type and timestamp, plus flow_id or dest_ip (or a stats event)",
    bytes: "flow: bytes_toserver is the upload, bytes_toclient the download (whole packets, headers included); netflow: one record per direction, paired by flow_id",
    field_map: &[
        ("ts", "flow.start (flow), netflow.start (netflow), timestamp (dns, tls, http)"),
        ("uid", "flow_id (joins flow, netflow, tls, quic and http events)"),
        ("src_ip / src_port", "src_ip / src_port (the side Suricata saw open the flow)"),
        ("dst_ip / dst_port", "dest_ip / dest_port"),
        ("proto", "proto"),
        ("bytes_out / bytes_in", "flow.bytes_toserver / flow.bytes_toclient; netflow.bytes of the first / second half"),
        ("duration", "flow.end - flow.start"),
        ("dns client_ip", "the side that is not port 53; else src_ip (v1/v2 answers), dest_ip (v3 responses)"),
        ("dns query / qtype", "dns.queries[0].rrname/rrtype (v3), dns.rrname/rrtype (v1, v2)"),
        ("dns answers", "dns.answers[] {rdata, rrtype, ttl}, else dns.grouped, else dns.rdata (v1)"),
        ("dns ts / response_ts", "timestamp of the query event / of the answer event"),
        ("name (sni)", "tls.sni, quic.sni"),
        ("name (http_host)", "http.hostname"),
    ],
    detect,
    read,
};

fn detect(h: &Head<'_>) -> bool {
    let Some(obj) = h.first_json else {
        return false;
    };
    let Some(event_type) = obj.get("event_type").and_then(Value::as_str) else {
        return false;
    };
    obj.contains_key("timestamp")
        && (obj.contains_key("flow_id") || obj.contains_key("dest_ip") || event_type == "stats")
}

/// The filtered reason for an event type that carries no flow, DNS answer or hostname.
fn other_event(event_type: &str) -> &'static str {
    macro_rules! reasons {
        ($($name:literal),* $(,)?) => {
            match event_type {
                $($name => concat!("eve_", $name),)*
                _ => "eve_other",
            }
        };
    }
    reasons!(
        "alert",
        "anomaly",
        "stats",
        "fileinfo",
        "smtp",
        "smb",
        "ssh",
        "krb5",
        "dhcp",
        "nfs",
        "ftp",
        "ftp_data",
        "tftp",
        "ike",
        "ikev2",
        "rdp",
        "sip",
        "snmp",
        "rfb",
        "mqtt",
        "http2",
        "pgsql",
        "dcerpc",
        "dnp3",
        "modbus",
        "bittorrent_dht",
        "arp",
        "drop",
        "frame",
        "mdns",
        "ldap",
        "pop3",
        "websocket",
        "enip",
        "template",
        "netflow_v9",
        "files",
        "engine",
        "doh2",
        "email",
    )
}

/// One direction of a `netflow` event, waiting for the other.
struct Half {
    line: u64,
    ts: Micros,
    end: Option<Micros>,
    uid: String,
    src_ip: IpAddr,
    src_port: Option<u16>,
    dst_ip: IpAddr,
    dst_port: Option<u16>,
    proto: Proto,
    bytes: Option<u64>,
}

impl Half {
    fn uniflow(self, file: u32) -> FlowRecord {
        FlowRecord {
            ts: self.ts,
            uid: Some(self.uid.into()),
            src_ip: self.src_ip,
            src_port: self.src_port,
            dst_ip: self.dst_ip,
            dst_port: self.dst_port,
            proto: self.proto,
            bytes_out: self.bytes,
            bytes_in: None,
            duration: duration(self.ts, self.end),
            local_orig: None,
            direction: ByteDirection::Uniflow,
            provenance: Provenance {
                file,
                line: self.line,
            },
        }
    }

    /// Whether `other` is the reverse direction of this half.
    fn reverses(&self, other: &Half) -> bool {
        self.src_ip == other.dst_ip
            && self.dst_ip == other.src_ip
            && self.src_port == other.dst_port
            && self.dst_port == other.src_port
    }
}

/// A DNS query event waiting for its answer.
struct Query {
    line: u64,
    ts: Micros,
    record: DnsRecord,
}

type TxKey = (String, u64);

struct State {
    file: u32,
    halves: Pending<String, Half>,
    queries: Pending<TxKey, Query>,
    /// v1 logs one event per answer RR, each named by its own owner (a CNAME target, say):
    /// the transaction's query name, kept for the events after the first.
    names: Pending<TxKey, (String, Option<String>, Micros)>,
    noted_bytes: bool,
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut state = State {
        file: ctx.file_index,
        halves: Pending::new(PENDING_LIMIT),
        queries: Pending::new(PENDING_LIMIT),
        names: Pending::new(PENDING_LIMIT),
        noted_bytes: false,
    };
    json::read_objects(reader, ctx, sink, &mut |line, value, raw, sink| {
        match event(&mut state, line, value) {
            Ok(items) => {
                for item in items {
                    sink(item)?;
                }
            }
            Err(fail) => sink(json::reject(line, fail, raw))?,
        }
        Ok(())
    })?;
    // Halves whose other direction never came (Suricata writes none when the server sent
    // no packet back), and queries never answered.
    for half in state.halves.drain() {
        sink(Item::Record(Record::Flow(half.uniflow(state.file))))?;
    }
    for q in state.queries.drain() {
        sink(Item::Record(Record::Dns(q.record)))?;
    }
    Ok(())
}

/// The items one event yields, or the field that stops it. Every field is read before
/// any held record changes hands, so a rejected event leaves the held records as they were.
fn event(state: &mut State, line: u64, v: &Value) -> FieldResult<Vec<Item>> {
    let f = Fields(v);
    let event_type = f.required_text("event_type")?;
    let provenance = Provenance {
        file: state.file,
        line,
    };
    let out: Vec<Item> = match event_type.as_ref() {
        "flow" => {
            let record = flow(&f, provenance)?;
            let mut items = Vec::with_capacity(2);
            if !state.noted_bytes {
                state.noted_bytes = true;
                items.push(Item::Note(
                    "Suricata flow byte counts are whole packets, headers included (Zeek counts payload only)".into(),
                ));
            }
            items.push(Item::Record(Record::Flow(record)));
            items
        }
        "netflow" => netflow(state, &f, line)?,
        "dns" => dns(state, &f, line)?,
        "tls" => hostname(
            &f,
            provenance,
            "tls.sni",
            HostnameSource::Sni,
            "no_server_name",
        )?,
        "quic" => hostname(
            &f,
            provenance,
            "quic.sni",
            HostnameSource::Sni,
            "no_server_name",
        )?,
        "http" => hostname(
            &f,
            provenance,
            "http.hostname",
            HostnameSource::HttpHost,
            "no_host_name",
        )?,
        other => vec![Item::Filtered {
            line,
            reason: other_event(other),
        }],
    };
    Ok(out)
}

fn duration(start: Micros, end: Option<Micros>) -> Option<f64> {
    end.and_then(|e| e.checked_sub(start))
        .filter(|d| *d >= 0)
        .map(|d| d as f64 / 1e6)
}

fn ts_or(f: &Fields<'_>, path: &str) -> FieldResult<Micros> {
    match f.timestamp(path)? {
        Some(t) => Ok(t),
        None => f.required_timestamp("timestamp"),
    }
}

fn proto(f: &Fields<'_>) -> FieldResult<Proto> {
    Ok(f.text("proto")?
        .map(|p| Proto::parse(&p))
        .unwrap_or(Proto::Other(String::new())))
}

fn flow(f: &Fields<'_>, provenance: Provenance) -> FieldResult<FlowRecord> {
    let ts = ts_or(f, "flow.start")?;
    Ok(FlowRecord {
        ts,
        uid: f
            .text("flow_id")?
            .map(|v| xborder_model::schema::Uid::from(v.as_ref())),
        src_ip: f.required_ip("src_ip")?,
        src_port: f.port("src_port")?,
        dst_ip: f.required_ip("dest_ip")?,
        dst_port: f.port("dest_port")?,
        proto: proto(f)?,
        bytes_out: f.count("flow.bytes_toserver")?,
        bytes_in: f.count("flow.bytes_toclient")?,
        duration: duration(ts, f.timestamp("flow.end")?),
        local_orig: None,
        direction: ByteDirection::Biflow,
        provenance,
    })
}

/// A netflow half: held until its reverse arrives, then both become one connection
/// oriented as the first half (Suricata writes the to-server direction first).
fn netflow(state: &mut State, f: &Fields<'_>, line: u64) -> FieldResult<Vec<Item>> {
    let half = Half {
        line,
        ts: ts_or(f, "netflow.start")?,
        end: f.timestamp("netflow.end")?,
        uid: f.text("flow_id")?.map(Cow::into_owned).unwrap_or_default(),
        src_ip: f.required_ip("src_ip")?,
        src_port: f.port("src_port")?,
        dst_ip: f.required_ip("dest_ip")?,
        dst_port: f.port("dest_port")?,
        proto: proto(f)?,
        bytes: f.count("netflow.bytes")?,
    };
    let file = state.file;
    if half.uid.is_empty() {
        return Ok(vec![Item::Record(Record::Flow(half.uniflow(file)))]);
    }
    let mut items = Vec::new();
    match state.halves.take(&half.uid) {
        Some(first) if first.reverses(&half) => {
            items.push(Item::Filtered {
                line: first.line,
                reason: "netflow_half_merged",
            });
            let ts = first.ts.min(half.ts);
            let end = match (first.end, half.end) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            items.push(Item::Record(Record::Flow(FlowRecord {
                ts,
                uid: Some(first.uid.into()),
                src_ip: first.src_ip,
                src_port: first.src_port,
                dst_ip: first.dst_ip,
                dst_port: first.dst_port,
                proto: first.proto,
                bytes_out: first.bytes,
                bytes_in: half.bytes,
                duration: duration(ts, end),
                local_orig: None,
                direction: ByteDirection::Biflow,
                provenance: Provenance { file, line },
            })));
        }
        // The same direction twice (a flow id reused): the older stands alone.
        Some(other) => {
            items.push(Item::Record(Record::Flow(other.uniflow(file))));
            if let Some((_, old)) = state.halves.insert(half.uid.clone(), half) {
                items.push(Item::Record(Record::Flow(old.uniflow(file))));
            }
        }
        None => {
            if let Some((_, old)) = state.halves.insert(half.uid.clone(), half) {
                items.push(Item::Record(Record::Flow(old.uniflow(file))));
            }
        }
    }
    Ok(items)
}

fn hostname(
    f: &Fields<'_>,
    provenance: Provenance,
    field: &str,
    source: HostnameSource,
    none_reason: &'static str,
) -> FieldResult<Vec<Item>> {
    let name = f
        .text(field)?
        .map(|n| normalise_host_header(&n))
        .unwrap_or_default();
    let uid = f.text("flow_id")?;
    let (Some(uid), false) = (uid, name.is_empty() || parse_ip(&name).is_some()) else {
        return Ok(vec![Item::Filtered {
            line: provenance.line,
            reason: none_reason,
        }]);
    };
    Ok(vec![Item::Record(Record::Hostname(HostnameRecord {
        ts: f.required_timestamp("timestamp")?,
        uid: uid.into_owned(),
        src_ip: f.required_ip("src_ip")?,
        dst_ip: f.required_ip("dest_ip")?,
        dst_port: f.port("dest_port")?,
        name,
        source,
        provenance,
    }))])
}

/// The DNS client of an event: the side not on port 53; failing that, the source of a
/// query or v1/v2 answer (Suricata logs those in the flow's direction) and the destination
/// of a v3 response (logged from the responder).
fn dns_client(f: &Fields<'_>, is_v3_response: bool) -> FieldResult<IpAddr> {
    let (sp, dp) = (f.port("src_port")?, f.port("dest_port")?);
    let server_is_dest = match (sp, dp) {
        (Some(s), Some(d)) if d == 53 && s != 53 => true,
        (Some(s), Some(d)) if s == 53 && d != 53 => false,
        _ => !is_v3_response,
    };
    if server_is_dest {
        f.required_ip("src_ip")
    } else {
        f.required_ip("dest_ip")
    }
}

fn dns_id(f: &Fields<'_>) -> FieldResult<Option<u64>> {
    f.count("dns.id")
}

fn dns(state: &mut State, f: &Fields<'_>, line: u64) -> FieldResult<Vec<Item>> {
    let provenance = Provenance {
        file: state.file,
        line,
    };
    let ts = f.required_timestamp("timestamp")?;
    let kind = f.text("dns.type")?;
    let has_answer_data = f.has("dns.answers") || f.has("dns.grouped") || f.has("dns.rdata");
    let is_query = match kind.as_deref() {
        Some("query") | Some("request") => true,
        Some("answer") | Some("response") => false,
        Some(other) => {
            return Err(fail(
                "dns.type",
                RejectReason::InvalidValue,
                format!("`{other}` is not query, request, answer or response"),
            ))
        }
        None => !has_answer_data,
    };
    let is_v3 = f.has("dns.queries");
    let uid = f.text("flow_id")?.map(Cow::into_owned);
    let id = dns_id(f)?;
    let trans_id = id.and_then(|i| u32::try_from(i).ok());
    let client_ip = dns_client(f, is_v3 && !is_query)?;
    let (qname_path, qtype_path) = if is_v3 {
        ("dns.queries.0.rrname", "dns.queries.0.rrtype")
    } else {
        ("dns.rrname", "dns.rrtype")
    };
    // Arrays are not reachable by path: read the first query by hand.
    let (qname, qtype) = if is_v3 {
        let first = f.array("dns.queries")?.first();
        match first {
            Some(q) => {
                let q = Fields(q);
                (
                    q.text("rrname")?.map(Cow::into_owned),
                    q.text("rrtype")?.map(Cow::into_owned),
                )
            }
            None => (None, None),
        }
    } else {
        (
            f.text(qname_path)?.map(Cow::into_owned),
            f.text(qtype_path)?.map(Cow::into_owned),
        )
    };
    let key: Option<TxKey> = match (&uid, id) {
        (Some(u), Some(i)) => Some((u.clone(), i)),
        _ => None,
    };

    if is_query {
        let record = DnsRecord {
            ts,
            response_ts: ts,
            uid: uid.clone().map(Uid::from),
            trans_id,
            client_ip,
            query: qname.map(|q| normalise_hostname(&q)).unwrap_or_default(),
            qtype: qtype.map(ShortText::from),
            rcode: None,
            answers: Vec::new(),
            provenance,
        };
        let Some(key) = key else {
            return Ok(vec![Item::Record(Record::Dns(record))]);
        };
        // A retransmit (same transaction, name and type) adds nothing: the first is kept,
        // so the answer's query time is the first attempt's, as in Zeek.
        if let Some(held) = state.queries.get(&key) {
            if held.record.query == record.query && held.record.qtype == record.qtype {
                return Ok(vec![Item::Filtered {
                    line,
                    reason: "eve_dns_query_repeated",
                }]);
            }
        }
        // Another query under the same id, or an overflowing holding area, lets the older
        // go as a query without answer.
        let mut items = Vec::new();
        if let Some((_, old)) = state.queries.insert(key, Query { line, ts, record }) {
            items.push(Item::Record(Record::Dns(old.record)));
        }
        return Ok(items);
    }

    let v1 = f.has("dns.rdata") && !f.has("dns.answers") && !is_v3;
    let answers = answers(f, v1)?;
    let rcode = f.text("dns.rcode")?.map(Cow::into_owned);
    let mut items = Vec::new();
    let query = key.as_ref().and_then(|k| state.queries.take(k));
    let mut query_ts = ts;
    let (mut name, mut qtype) = (qname, qtype);
    if let Some(q) = &query {
        items.push(Item::Filtered {
            line: q.line,
            reason: "eve_dns_query_answered",
        });
        query_ts = q.ts;
    }
    if v1 {
        // Each v1 event is one RR named by its owner: the query name is the transaction's.
        let known = key.as_ref().and_then(|k| state.names.get(k)).cloned();
        match (&query, known) {
            (Some(q), _) => {
                name = Some(q.record.query.clone());
                qtype = q.record.qtype.as_deref().map(str::to_string);
            }
            (None, Some((n, t, qts))) => {
                name = Some(n);
                qtype = t;
                query_ts = qts;
            }
            (None, None) => {}
        }
        if let (Some(k), Some(n)) = (&key, &name) {
            if state.names.get(k).is_none() {
                state
                    .names
                    .insert(k.clone(), (normalise_hostname(n), qtype.clone(), query_ts));
            }
        }
    } else if let Some(q) = &query {
        if name.is_none() {
            name = Some(q.record.query.clone());
        }
        if qtype.is_none() {
            qtype = q.record.qtype.as_deref().map(str::to_string);
        }
    }
    items.push(Item::Record(Record::Dns(DnsRecord {
        ts: query_ts.min(ts),
        response_ts: ts,
        uid: uid.map(Uid::from),
        trans_id,
        client_ip,
        query: name.map(|q| normalise_hostname(&q)).unwrap_or_default(),
        qtype: qtype.map(ShortText::from),
        rcode: rcode.map(ShortText::from),
        answers,
        provenance,
    })));
    Ok(items)
}

fn ttl(f: &Fields<'_>, path: &str) -> FieldResult<Option<u32>> {
    f.parse(path, super::values::parse_ttl)
}

fn answers(f: &Fields<'_>, v1: bool) -> FieldResult<Vec<DnsAnswer>> {
    let mut out = Vec::new();
    if v1 {
        if let Some(rdata) = f.text("dns.rdata")? {
            let rrtype = f.text("dns.rrtype")?;
            out.extend(typed_answer(&rdata, rrtype.as_deref(), ttl(f, "dns.ttl")?));
        }
        return Ok(out);
    }
    let detailed = f.array("dns.answers")?;
    if !detailed.is_empty() {
        for a in detailed {
            let a = Fields(a);
            let Some(rdata) = a.text("rdata")? else {
                continue;
            };
            let rrtype = a.text("rrtype")?;
            let t = a
                .parse("ttl", super::values::parse_ttl)
                .map_err(|(p, e)| (format!("dns.answers[].{p}"), e))?;
            out.extend(typed_answer(&rdata, rrtype.as_deref(), t));
        }
        return Ok(out);
    }
    match f.get("dns.grouped") {
        None => {}
        Some(Value::Object(groups)) => {
            for (rrtype, values) in groups {
                let Value::Array(values) = values else {
                    return Err(fail(
                        "dns.grouped",
                        RejectReason::InvalidValue,
                        "expected arrays of RDATA",
                    ));
                };
                for v in values {
                    if let Some(s) = v.as_str() {
                        out.extend(typed_answer(s, Some(rrtype), None));
                    }
                }
            }
        }
        Some(_) => {
            return Err(fail(
                "dns.grouped",
                RejectReason::InvalidValue,
                "expected an object",
            ))
        }
    }
    Ok(out)
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

    fn flows(items: &[Item]) -> Vec<&FlowRecord> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Record(Record::Flow(f)) => Some(f),
                _ => None,
            })
            .collect()
    }

    fn dns_records(items: &[Item]) -> Vec<&DnsRecord> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Record(Record::Dns(d)) => Some(d),
                _ => None,
            })
            .collect()
    }

    fn filtered(items: &[Item]) -> Vec<(u64, &'static str)> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Filtered { line, reason } => Some((*line, *reason)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn flow_events_are_biflows_from_flow_start() {
        let text = r#"{"timestamp":"2022-02-08T09:40:28.279682-0500","flow_id":319006269572893,"event_type":"flow","src_ip":"10.2.8.102","src_port":49747,"dest_ip":"13.64.180.106","dest_port":443,"proto":"TCP","flow":{"pkts_toserver":11,"pkts_toclient":14,"bytes_toserver":2855,"bytes_toclient":5382,"start":"2022-02-08T09:43:37.139810-0500","end":"2022-02-08T09:43:38.249754-0500"}}"#;
        let items = read_all(text);
        let f = flows(&items);
        assert_eq!(f.len(), 1);
        let f = f[0];
        assert_eq!(f.ts, 1_644_331_417_139_810);
        assert_eq!(f.uid.as_deref(), Some("319006269572893"));
        assert_eq!((f.bytes_out, f.bytes_in), (Some(2855), Some(5382)));
        assert_eq!(f.proto, Proto::Tcp);
        assert_eq!(f.direction, ByteDirection::Biflow);
        assert!((f.duration.unwrap() - 1.109944).abs() < 1e-9);
        assert!(matches!(items[0], Item::Note(_)));
    }

    #[test]
    fn netflow_halves_pair_by_flow_id_and_lone_halves_flush_as_uniflows() {
        let text = r#"{"timestamp":"2026-07-02T00:00:12.000000+0000","flow_id":7,"event_type":"netflow","src_ip":"10.1.0.5","src_port":40000,"dest_ip":"160.79.104.10","dest_port":443,"proto":"TCP","netflow":{"pkts":5,"bytes":1000,"start":"2026-07-02T00:00:10.000000+0000","end":"2026-07-02T00:00:11.000000+0000"}}
{"timestamp":"2026-07-02T00:00:12.000000+0000","flow_id":8,"event_type":"netflow","src_ip":"10.1.0.6","src_port":5353,"dest_ip":"224.0.0.251","dest_port":5353,"proto":"UDP","netflow":{"pkts":1,"bytes":90,"start":"2026-07-02T00:00:10.000000+0000","end":"2026-07-02T00:00:10.000000+0000"}}
{"timestamp":"2026-07-02T00:00:12.000000+0000","flow_id":7,"event_type":"netflow","src_ip":"160.79.104.10","src_port":443,"dest_ip":"10.1.0.5","dest_port":40000,"proto":"TCP","netflow":{"pkts":6,"bytes":2000,"start":"2026-07-02T00:00:10.100000+0000","end":"2026-07-02T00:00:11.500000+0000"}}
"#;
        let items = read_all(text);
        assert_eq!(filtered(&items), vec![(1, "netflow_half_merged")]);
        let f = flows(&items);
        assert_eq!(f.len(), 2);
        let pair = f[0];
        assert_eq!(pair.src_ip.to_string(), "10.1.0.5");
        assert_eq!((pair.bytes_out, pair.bytes_in), (Some(1000), Some(2000)));
        assert_eq!(pair.direction, ByteDirection::Biflow);
        assert_eq!(pair.provenance.line, 3);
        assert!((pair.duration.unwrap() - 1.5).abs() < 1e-9);
        let lone = f[1];
        assert_eq!(lone.direction, ByteDirection::Uniflow);
        assert_eq!(lone.bytes_out, Some(90));
        assert_eq!(lone.provenance.line, 2);
    }

    #[test]
    fn dns_v2_answer_absorbs_its_query_and_keeps_the_query_name_over_cnames() {
        let text = r#"{"timestamp":"2022-02-08T09:40:35.239746-0500","flow_id":1029702063097984,"event_type":"dns","src_ip":"10.2.8.102","src_port":57033,"dest_ip":"10.2.8.8","dest_port":53,"proto":"UDP","dns":{"type":"query","id":552,"rrname":"www.bing.com","rrtype":"A","tx_id":0}}
{"timestamp":"2022-02-08T09:40:35.300000-0500","flow_id":1029702063097984,"event_type":"dns","src_ip":"10.2.8.102","src_port":57033,"dest_ip":"10.2.8.8","dest_port":53,"proto":"UDP","dns":{"type":"query","id":552,"rrname":"www.bing.com","rrtype":"A","tx_id":1}}
{"timestamp":"2022-02-08T09:40:35.323451-0500","flow_id":1029702063097984,"event_type":"dns","src_ip":"10.2.8.102","src_port":57033,"dest_ip":"10.2.8.8","dest_port":53,"proto":"UDP","dns":{"version":2,"type":"answer","id":552,"rrname":"www.bing.com","rrtype":"A","rcode":"NOERROR","answers":[{"rrname":"www.bing.com","rrtype":"CNAME","ttl":6244,"rdata":"a-0001.a-afdentry.net.trafficmanager.net"},{"rrname":"dual-a-0001.a-msedge.net","rrtype":"A","ttl":19,"rdata":"204.79.197.200"}],"grouped":{"A":["204.79.197.200"]}}}
{"timestamp":"2022-02-08T09:41:00.000000-0500","flow_id":55,"event_type":"dns","src_ip":"10.2.8.102","src_port":57034,"dest_ip":"10.2.8.8","dest_port":53,"proto":"UDP","dns":{"type":"query","id":9,"rrname":"never.example","rrtype":"AAAA"}}
"#;
        let items = read_all(text);
        assert_eq!(
            filtered(&items),
            vec![(2, "eve_dns_query_repeated"), (1, "eve_dns_query_answered")]
        );
        let d = dns_records(&items);
        assert_eq!(d.len(), 2);
        let a = d[0];
        assert_eq!(a.query, "www.bing.com");
        assert_eq!(a.client_ip.to_string(), "10.2.8.102");
        assert_eq!(a.ts, 1_644_331_235_239_746);
        assert_eq!(a.response_ts, 1_644_331_235_323_451);
        assert_eq!(a.answers.len(), 2);
        assert_eq!(
            a.answers[1].value,
            AnswerValue::Address("204.79.197.200".parse().unwrap())
        );
        assert_eq!(a.answers[1].ttl, Some(19));
        assert_eq!(a.rcode.as_deref(), Some("NOERROR"));
        let unanswered = d[1];
        assert_eq!(unanswered.query, "never.example");
        assert!(unanswered.answers.is_empty());
        assert_eq!(unanswered.provenance.line, 4);
    }

    #[test]
    fn dns_v1_one_event_per_rr_keeps_the_transaction_query_name() {
        let text = r#"{"timestamp":"2017-01-01T00:00:00.000000+0000","flow_id":1,"event_type":"dns","src_ip":"10.0.0.1","src_port":5000,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"type":"query","id":16000,"rrname":"api.openai.com","rrtype":"A"}}
{"timestamp":"2017-01-01T00:00:00.010000+0000","flow_id":1,"event_type":"dns","src_ip":"10.0.0.1","src_port":5000,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"type":"answer","id":16000,"rcode":"NOERROR","rrname":"api.openai.com","rrtype":"CNAME","ttl":300,"rdata":"api.openai.com.cdn.cloudflare.net"}}
{"timestamp":"2017-01-01T00:00:00.010000+0000","flow_id":1,"event_type":"dns","src_ip":"10.0.0.1","src_port":5000,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"type":"answer","id":16000,"rcode":"NOERROR","rrname":"api.openai.com.cdn.cloudflare.net","rrtype":"A","ttl":60,"rdata":"104.18.32.7"}}
"#;
        let items = read_all(text);
        let d = dns_records(&items);
        assert_eq!(d.len(), 2);
        assert_eq!(d[1].query, "api.openai.com");
        assert_eq!(d[1].qtype.as_deref(), Some("A"));
        assert_eq!(
            d[1].answers[0].value,
            AnswerValue::Address("104.18.32.7".parse().unwrap())
        );
        assert_eq!(d[1].ts, 1_483_228_800_000_000);
        assert_eq!(filtered(&items), vec![(1, "eve_dns_query_answered")]);
    }

    #[test]
    fn dns_v3_response_is_logged_from_the_responder() {
        let text = r#"{"timestamp":"2025-01-01T00:00:00.000000+0000","flow_id":3,"event_type":"dns","src_ip":"10.0.0.1","src_port":5000,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"version":3,"type":"request","id":7,"queries":[{"rrname":"api.anthropic.com","rrtype":"A"}]}}
{"timestamp":"2025-01-01T00:00:00.020000+0000","flow_id":3,"event_type":"dns","src_ip":"10.0.0.53","src_port":53,"dest_ip":"10.0.0.1","dest_port":5000,"proto":"UDP","dns":{"version":3,"type":"response","id":7,"rcode":"NOERROR","queries":[{"rrname":"api.anthropic.com","rrtype":"A"}],"answers":[{"rrname":"api.anthropic.com","rrtype":"A","ttl":60,"rdata":"160.79.104.10"}]}}
"#;
        let items = read_all(text);
        let d = dns_records(&items);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].client_ip.to_string(), "10.0.0.1");
        assert_eq!(d[0].query, "api.anthropic.com");
        assert_eq!(d[0].qtype.as_deref(), Some("A"));
        assert_eq!(d[0].answers.len(), 1);
    }

    #[test]
    fn grouped_only_answers_have_no_ttl() {
        let text = r#"{"timestamp":"2025-01-01T00:00:00.000000+0000","flow_id":3,"event_type":"dns","src_ip":"10.0.0.1","src_port":5000,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"version":2,"type":"answer","id":7,"rrname":"chatgpt.com","rrtype":"A","rcode":"NOERROR","grouped":{"A":["172.64.155.209"],"CNAME":["x.example"]}}}"#;
        let items = read_all(text);
        let d = dns_records(&items);
        assert_eq!(d[0].answers.len(), 2);
        assert!(d[0].answers.iter().all(|a| a.ttl.is_none()));
    }

    #[test]
    fn hostnames_and_other_events() {
        let text = r#"{"timestamp":"2022-02-08T09:40:36.193989-0500","flow_id":11,"event_type":"tls","src_ip":"10.2.8.102","src_port":49738,"dest_ip":"204.79.197.200","dest_port":443,"proto":"TCP","tls":{"sni":"WWW.Bing.com","version":"TLS 1.2"}}
{"timestamp":"2022-02-08T09:40:36.193989-0500","flow_id":12,"event_type":"tls","src_ip":"10.2.8.102","src_port":49739,"dest_ip":"185.248.140.40","dest_port":443,"proto":"TCP","tls":{"version":"TLS 1.2"}}
{"timestamp":"2022-02-08T09:40:29.080710-0500","flow_id":13,"event_type":"http","src_ip":"10.2.8.102","src_port":49730,"dest_ip":"91.240.118.172","dest_port":80,"proto":"TCP","http":{"hostname":"91.240.118.172","url":"/"}}
{"timestamp":"2022-02-08T09:40:29.080710-0500","flow_id":14,"event_type":"http","src_ip":"10.2.8.102","src_port":49731,"dest_ip":"93.184.216.34","dest_port":8080,"proto":"TCP","http":{"hostname":"example.com:8080","url":"/"}}
{"timestamp":"2022-02-08T11:33:00.175195-0500","flow_id":15,"event_type":"alert","src_ip":"206.190.49.109","dest_ip":"10.2.8.102","alert":{"signature_id":1}}
{"timestamp":"2024-08-24T09:33:09.357542-0400","event_type":"stats","stats":{"uptime":15}}
{"timestamp":"2024-08-24T09:33:09.357542-0400","event_type":"brand_new_thing"}
{"timestamp":"2024-08-24T09:33:09.357542-0400","flow_id":1}
"#;
        let items = read_all(text);
        let names: Vec<(&str, HostnameSource)> = items
            .iter()
            .filter_map(|i| match i {
                Item::Record(Record::Hostname(h)) => Some((h.name.as_str(), h.source)),
                _ => None,
            })
            .collect();
        assert_eq!(
            names,
            vec![
                ("www.bing.com", HostnameSource::Sni),
                ("example.com", HostnameSource::HttpHost)
            ]
        );
        assert_eq!(
            filtered(&items),
            vec![
                (2, "no_server_name"),
                (3, "no_host_name"),
                (5, "eve_alert"),
                (6, "eve_stats"),
                (7, "eve_other")
            ]
        );
        let Some(Item::Reject(r)) = items.last() else {
            panic!("{items:?}")
        };
        assert_eq!((r.line, r.field.as_str()), (8, "event_type"));
    }
}
