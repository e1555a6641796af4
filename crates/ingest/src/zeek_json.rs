//! Zeek JSON-lines logs (conn, dns, ssl, http), as written by `LogAscii::use_json` and by
//! Corelight-style exporters.
//!
//! JSON leaves unset fields out rather than writing `-`, keys contain dots (`id.orig_h`,
//! not nested objects), and `ts` is an epoch number or, with `json_timestamps`, an
//! ISO-8601 string.

use std::io::BufRead;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::values::FieldError;
use super::zeek_fields::{self, conn, CellList, ConnValues, LogValues, PlainValues, Raw};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, Reject, RejectReason};
use std::borrow::Cow;
use xborder_model::error::Result;
use xborder_model::schema::{DnsRecord, FlowRecord, HostnameSource, Provenance, Record};

const CONN_KEYS: &[&str] = &[
    "conn_state",
    "orig_bytes",
    "resp_bytes",
    "orig_pkts",
    "history",
    "duration",
];
const DNS_KEYS: &[&str] = &["query", "qtype_name", "trans_id", "answers", "rcode_name"];

const BIFLOW: &str =
    "orig_bytes is payload the originator sent (upload), resp_bytes what it received";
const NO_BYTES: &str = "no byte counts (hostname evidence only)";

pub static CONN: FormatSpec = FormatSpec {
    id: "zeek-conn-json",
    title: "Zeek conn.log (JSON)",
    kinds: &[RecordKind::Flow],
    detected_by: "JSON objects with _path conn, or ts + id.orig_h + a conn key (conn_state, orig_bytes, history...)",
    bytes: BIFLOW,
    field_map: &[
        ("ts", "ts (connection start; epoch seconds or RFC 3339)"),
        ("uid", "uid"),
        ("src_ip / src_port", "id.orig_h / id.orig_p"),
        ("dst_ip / dst_port", "id.resp_h / id.resp_p"),
        ("proto", "proto"),
        ("bytes_out", "orig_bytes (payload sent by the originator)"),
        ("bytes_in", "resp_bytes"),
        ("duration", "duration"),
        ("local_orig", "local_orig"),
    ],
    detect: |h| log_path(h).as_deref() == Some("conn"),
    read: |r, ctx, sink| read(r, "conn", ctx, sink),
};
pub static DNS: FormatSpec = FormatSpec {
    id: "zeek-dns-json",
    title: "Zeek dns.log (JSON)",
    kinds: &[RecordKind::Dns],
    detected_by:
        "JSON objects with _path dns, or ts + id.orig_h + a dns key (query, trans_id, answers...)",
    bytes: NO_BYTES,
    field_map: &[
        ("ts", "ts (query time)"),
        ("response_ts", "ts + rtt"),
        ("client_ip", "id.orig_h"),
        ("query", "query (lowercased, no trailing dot)"),
        ("qtype / rcode", "qtype_name / rcode_name"),
        ("answers", "answers + TTLs (addresses and CNAME targets)"),
        ("uid / trans_id", "uid / trans_id"),
    ],
    detect: |h| log_path(h).as_deref() == Some("dns"),
    read: |r, ctx, sink| read(r, "dns", ctx, sink),
};
pub static SSL: FormatSpec = FormatSpec {
    id: "zeek-ssl-json",
    title: "Zeek ssl.log (JSON)",
    kinds: &[RecordKind::Hostname],
    detected_by: "JSON objects with _path ssl, or ts + id.orig_h + server_name",
    bytes: NO_BYTES,
    field_map: &[
        ("uid", "uid (joins conn.log)"),
        ("name (sni)", "server_name"),
        (
            "src_ip / dst_ip / dst_port",
            "id.orig_h / id.resp_h / id.resp_p",
        ),
    ],
    detect: |h| log_path(h).as_deref() == Some("ssl"),
    read: |r, ctx, sink| read(r, "ssl", ctx, sink),
};
pub static HTTP: FormatSpec = FormatSpec {
    id: "zeek-http-json",
    title: "Zeek http.log (JSON)",
    kinds: &[RecordKind::Hostname],
    detected_by: "JSON objects with _path http, or ts + id.orig_h + host + uri",
    bytes: NO_BYTES,
    field_map: &[
        ("uid", "uid (joins conn.log)"),
        ("name (http_host)", "host (port stripped)"),
        (
            "src_ip / dst_ip / dst_port",
            "id.orig_h / id.resp_h / id.resp_p",
        ),
    ],
    detect: |h| log_path(h).as_deref() == Some("http"),
    read: |r, ctx, sink| read(r, "http", ctx, sink),
};

/// The Zeek log a JSON file holds, from its first object's `_path` or keys.
fn log_path(h: &Head<'_>) -> Option<String> {
    path_of_object(h.first_json?)
}

fn path_of_object(obj: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    if let Some(path) = obj.get("_path").and_then(|p| p.as_str()) {
        return Some(path.to_string());
    }
    if !obj.contains_key("id.orig_h") || !obj.contains_key("ts") {
        return None;
    }
    let kind = if DNS_KEYS.iter().any(|k| obj.contains_key(*k)) {
        "dns"
    } else if CONN_KEYS.iter().any(|k| obj.contains_key(*k)) {
        "conn"
    } else if obj.contains_key("server_name") || obj.contains_key("ssl_history") {
        "ssl"
    } else if obj.contains_key("host") && obj.contains_key("uri") {
        "http"
    } else if obj.contains_key("fuid") {
        "files"
    } else {
        return None;
    };
    Some(kind.to_string())
}

/// A Zeek JSON log of a path no reader uses, to be listed and skipped.
pub fn other_log(obj: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    let path = path_of_object(obj)?;
    (!matches!(path.as_str(), "conn" | "dns" | "ssl" | "http")).then_some(path)
}

/// The fields we read. Values stay raw until parsed one by one, so a bad value is
/// reported under its own field name.
#[derive(Deserialize)]
struct Line0<'a> {
    #[serde(borrow, rename = "_path")]
    path: Option<&'a RawValue>,
    #[serde(borrow)]
    ts: Option<&'a RawValue>,
    #[serde(borrow)]
    uid: Option<&'a RawValue>,
    #[serde(borrow, rename = "id.orig_h")]
    orig_h: Option<&'a RawValue>,
    #[serde(borrow, rename = "id.orig_p")]
    orig_p: Option<&'a RawValue>,
    #[serde(borrow, rename = "id.resp_h")]
    resp_h: Option<&'a RawValue>,
    #[serde(borrow, rename = "id.resp_p")]
    resp_p: Option<&'a RawValue>,
    #[serde(borrow)]
    proto: Option<&'a RawValue>,
    #[serde(borrow)]
    duration: Option<&'a RawValue>,
    #[serde(borrow)]
    orig_bytes: Option<&'a RawValue>,
    #[serde(borrow)]
    resp_bytes: Option<&'a RawValue>,
    #[serde(borrow)]
    local_orig: Option<&'a RawValue>,
    #[serde(borrow)]
    rtt: Option<&'a RawValue>,
    #[serde(borrow)]
    trans_id: Option<&'a RawValue>,
    #[serde(borrow)]
    query: Option<&'a RawValue>,
    #[serde(borrow)]
    qtype_name: Option<&'a RawValue>,
    #[serde(borrow)]
    rcode_name: Option<&'a RawValue>,
    #[serde(borrow)]
    answers: Option<&'a RawValue>,
    #[serde(borrow, rename = "TTLs")]
    ttls: Option<&'a RawValue>,
    #[serde(borrow)]
    server_name: Option<&'a RawValue>,
    #[serde(borrow)]
    host: Option<&'a RawValue>,
}

type FieldResult<T> = std::result::Result<T, (&'static str, FieldError)>;

fn field_err(
    name: &'static str,
    reason: RejectReason,
    detail: String,
) -> (&'static str, FieldError) {
    (name, FieldError { reason, detail })
}

/// A JSON value as the text it would have in TSV: strings unquoted, numbers verbatim,
/// `null` as unset.
fn scalar(name: &'static str, raw: Option<&RawValue>) -> FieldResult<Option<String>> {
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.get().trim();
    if text == "null" {
        return Ok(None);
    }
    if text.starts_with('"') {
        let s: String = serde_json::from_str(text)
            .map_err(|e| field_err(name, RejectReason::MalformedJson, e.to_string()))?;
        return Ok(Some(s));
    }
    if text.starts_with('{') || text.starts_with('[') {
        return Err(field_err(
            name,
            RejectReason::InvalidNumber,
            format!("expected a scalar, found {}", &text[..text.len().min(40)]),
        ));
    }
    Ok(Some(text.to_string()))
}

/// Read a Zeek JSON-lines log whose objects are `default_path` unless they say otherwise.
pub fn read(
    reader: &mut dyn BufRead,
    default_path: &'static str,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let file_index = ctx.file_index;
    super::json::read_raw_objects(reader, ctx, sink, &mut |number, bytes, sink| {
        let parsed: Line0<'_> = match serde_json::from_slice(bytes) {
            Ok(p) => p,
            Err(e) => return sink(super::json::malformed(number, bytes, e)),
        };
        let provenance = Provenance {
            file: file_index,
            line: number,
        };
        let path = line_path(&parsed, default_path);
        let is_ssl = matches!(path, Ok("ssl"));
        let result = match path {
            Ok("conn") => conn(&parsed, provenance).map(|r| Some(Record::Flow(r))),
            Ok("dns") => dns(&parsed, provenance).map(|r| Some(Record::Dns(r))),
            Ok("ssl") => hostname(&parsed, provenance, HostnameSource::Sni),
            Ok(_) => hostname(&parsed, provenance, HostnameSource::HttpHost),
            Err(e) => Err(e),
        };
        match result {
            Ok(Some(record)) => sink(Item::Record(record))?,
            Ok(None) => sink(Item::Filtered {
                line: number,
                reason: if is_ssl {
                    "no_server_name"
                } else {
                    "no_host_name"
                },
            })?,
            Err((field, e)) => sink(Item::Reject(
                Reject::new(number, field, e.reason, e.detail).with_excerpt(bytes),
            ))?,
        }
        Ok(())
    })
}

/// A `_path` on the line overrides the file's detected kind (mixed exports exist).
fn line_path(line: &Line0<'_>, default: &'static str) -> FieldResult<&'static str> {
    match scalar("_path", line.path)?.as_deref() {
        None => Ok(default),
        Some("conn") => Ok("conn"),
        Some("dns") => Ok("dns"),
        Some("ssl") => Ok("ssl"),
        Some("http") => Ok("http"),
        Some(other) => Err(field_err(
            "_path",
            RejectReason::UnsupportedLogPath,
            format!("_path is {other}, expected conn, dns, ssl or http"),
        )),
    }
}

/// An ssl or http object: the name the client asked for on connection `uid`.
fn hostname(
    l: &Line0<'_>,
    provenance: Provenance,
    source: HostnameSource,
) -> FieldResult<Option<Record>> {
    zeek_fields::hostname_record(l, provenance, source).map(|h| h.map(Record::Hostname))
}

/// A JSON object's dns and ssl/http fields, for the shared mappings.
impl LogValues for Line0<'_> {
    fn raw(&self, name: &'static str) -> std::result::Result<Raw<'_>, FieldError> {
        raw_value(self.field(name))
    }

    fn text(&self, name: &'static str) -> std::result::Result<Option<Cow<'_, str>>, FieldError> {
        Ok(match raw_value(self.field(name))? {
            Raw::Unset => None,
            Raw::Str(s) => Some(s),
            r => Some(Cow::Owned(r.to_string())),
        })
    }

    fn list(&self, name: &'static str) -> std::result::Result<CellList<'_>, FieldError> {
        let Some(raw) = self.field(name) else {
            return Ok(CellList::new());
        };
        let values: Vec<serde_json::Value> =
            serde_json::from_str(raw.get()).map_err(|_| FieldError {
                reason: RejectReason::MalformedJson,
                detail: "expected an array".into(),
            })?;
        Ok(values
            .into_iter()
            .map(|v| {
                Cow::Owned(match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                })
            })
            .collect())
    }

    fn missing(&self, _name: &'static str) -> &'static str {
        "required field is absent"
    }
}

impl<'a> Line0<'a> {
    /// The raw JSON value of a dns or ssl/http field by Zeek's name.
    fn field(&self, name: &str) -> Option<&'a RawValue> {
        match name {
            "ts" => self.ts,
            "uid" => self.uid,
            "id.orig_h" => self.orig_h,
            "id.orig_p" => self.orig_p,
            "id.resp_h" => self.resp_h,
            "id.resp_p" => self.resp_p,
            "rtt" => self.rtt,
            "trans_id" => self.trans_id,
            "query" => self.query,
            "qtype_name" => self.qtype_name,
            "rcode_name" => self.rcode_name,
            "answers" => self.answers,
            "TTLs" => self.ttls,
            "server_name" => self.server_name,
            "host" => self.host,
            _ => None,
        }
    }
}

/// A JSON object's conn fields, for the shared mapping.
struct ConnObject<'l, 'a>(&'l Line0<'a>);

/// JSON values have no usual form: every record goes through the typed readers.
impl PlainValues for ConnObject<'_, '_> {}

impl ConnValues for ConnObject<'_, '_> {
    fn raw(&self, field: usize) -> std::result::Result<Raw<'_>, FieldError> {
        let l = self.0;
        let value = match field {
            conn::TS => l.ts,
            conn::ORIG_H => l.orig_h,
            conn::RESP_H => l.resp_h,
            conn::UID => l.uid,
            conn::ORIG_P => l.orig_p,
            conn::RESP_P => l.resp_p,
            conn::PROTO => l.proto,
            conn::ORIG_BYTES => l.orig_bytes,
            conn::RESP_BYTES => l.resp_bytes,
            conn::DURATION => l.duration,
            conn::LOCAL_ORIG => l.local_orig,
            _ => None,
        };
        raw_value(value)
    }

    fn missing(&self, _field: usize) -> &'static str {
        "required field is absent"
    }
}

/// A JSON value as the shared mapping takes it: numbers and literals as written, strings
/// unescaped, `null` as unset; an object or array is refused (no Zeek conn field is one).
fn raw_value(raw: Option<&RawValue>) -> std::result::Result<Raw<'_>, FieldError> {
    let Some(raw) = raw else {
        return Ok(Raw::Unset);
    };
    let text = raw.get().trim();
    if text == "null" {
        return Ok(Raw::Unset);
    }
    if text.starts_with('"') {
        let s: String = serde_json::from_str(text).map_err(|e| FieldError {
            reason: RejectReason::MalformedJson,
            detail: e.to_string(),
        })?;
        return Ok(Raw::Str(s.into()));
    }
    if text.starts_with('{') || text.starts_with('[') {
        return Err(FieldError {
            reason: RejectReason::InvalidNumber,
            detail: format!("expected a scalar, found {}", &text[..text.len().min(40)]),
        });
    }
    Ok(Raw::Ascii(text))
}

fn conn(l: &Line0<'_>, provenance: Provenance) -> FieldResult<FlowRecord> {
    zeek_fields::flow(&ConnObject(l), provenance)
        .map_err(|(field, e)| (conn::FIELDS[field].name, e))
}

fn dns(l: &Line0<'_>, provenance: Provenance) -> FieldResult<DnsRecord> {
    zeek_fields::dns_record(&zeek_fields::ByName(l), provenance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use xborder_model::schema::AnswerValue;

    fn read_all(text: &str, kind: RecordKind) -> Vec<Item> {
        let mut cursor = std::io::Cursor::new(text.as_bytes().to_vec());
        let mut out = Vec::new();
        let options = crate::ReaderOptions::default();
        let ctx = ReadContext {
            path: std::path::Path::new("test.log"),
            file_index: 0,
            options: &options,
        };
        let path = match kind {
            RecordKind::Flow => "conn",
            RecordKind::Dns => "dns",
            RecordKind::Hostname | RecordKind::Proxy => "ssl",
        };
        read(&mut cursor, path, &ctx, &mut |item| {
            out.push(item);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn conn_with_epoch_and_iso_timestamps_and_missing_fields() {
        let text = r#"{"ts":1782864000.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":5000,"id.resp_h":"2607:6bc0::10","id.resp_p":443,"proto":"tcp","orig_bytes":10,"resp_bytes":20}
{"ts":"2026-07-01T00:00:01.000000Z","uid":"C2","id.orig_h":"10.0.0.1","id.resp_h":"1.1.1.1","proto":"udp"}
{"ts":"2026-07-01T00:00:01","uid":"C3","id.orig_h":"10.0.0.1","id.resp_h":"1.1.1.1"}
{"ts":1782864000,"uid":"C4","id.orig_h":"10.0.0.1","id.resp_h":"1.1.1.1","orig_bytes":"many"}
not json
"#;
        let items = read_all(text, RecordKind::Flow);
        let Item::Record(Record::Flow(a)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(a.ts, 1_782_864_000_500_000);
        assert_eq!(a.bytes_out, Some(10));
        let Item::Record(Record::Flow(b)) = &items[1] else {
            panic!()
        };
        assert_eq!(b.ts, 1_782_864_001_000_000);
        assert_eq!(b.bytes_out, None);
        let Item::Reject(c) = &items[2] else { panic!() };
        assert_eq!(
            (c.line, c.field.as_str(), c.reason),
            (3, "ts", RejectReason::InvalidTimestamp)
        );
        let Item::Reject(d) = &items[3] else { panic!() };
        assert_eq!(
            (d.field.as_str(), d.reason),
            ("orig_bytes", RejectReason::InvalidNumber)
        );
        let Item::Reject(e) = &items[4] else { panic!() };
        assert_eq!(e.reason, RejectReason::MalformedJson);
    }

    #[test]
    fn dns_answers_with_float_ttls() {
        let text = r#"{"ts":1782864000.0,"uid":"D1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.53","query":"chatgpt.com","rtt":0.01,"answers":["chatgpt.com.cdn.cloudflare.net","104.18.32.7"],"TTLs":[300.0,60.000000]}"#;
        let items = read_all(text, RecordKind::Dns);
        let Item::Record(Record::Dns(d)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(
            d.answers[1].value,
            AnswerValue::Address("104.18.32.7".parse().unwrap())
        );
        assert_eq!(d.answers[1].ttl, Some(60));
        assert_eq!(d.response_ts, 1_782_864_000_010_000);
    }

    #[test]
    fn pretty_printed_objects_and_arrays() {
        let text = "[\n  {\n    \"ts\": 1782864000,\n    \"id.orig_h\": \"10.0.0.1\",\n    \"id.resp_h\": \"1.1.1.1\",\n    \"note\": \"a } brace in a string\"\n  },\n  {\"ts\": 1782864001, \"id.orig_h\": \"10.0.0.2\", \"id.resp_h\": \"1.1.1.1\"}\n]\n{\"ts\": 5, \"id.orig_h\": \"10.0.0.3\"\n";
        let items = read_all(text, RecordKind::Flow);
        assert_eq!(items.len(), 3, "{items:?}");
        let Item::Record(Record::Flow(a)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(a.provenance.line, 2);
        let Item::Record(Record::Flow(b)) = &items[1] else {
            panic!()
        };
        assert_eq!(b.provenance.line, 8);
        let Item::Reject(c) = &items[2] else { panic!() };
        assert_eq!((c.line, c.reason), (10, RejectReason::MalformedJson));
    }

    #[test]
    fn detection_from_keys() {
        let path = |t: &str| {
            let v: serde_json::Value = serde_json::from_str(t).unwrap();
            path_of_object(v.as_object().unwrap())
        };
        assert_eq!(
            path(r#"{"ts":1,"id.orig_h":"10.0.0.1","query":"x"}"#).as_deref(),
            Some("dns")
        );
        assert_eq!(
            path(r#"{"ts":1,"id.orig_h":"10.0.0.1","conn_state":"SF"}"#).as_deref(),
            Some("conn")
        );
        assert_eq!(
            path(r#"{"ts":1,"id.orig_h":"10.0.0.1","server_name":"x"}"#).as_deref(),
            Some("ssl")
        );
        assert_eq!(path(r#"{"event_type":"flow"}"#), None);
    }
}
