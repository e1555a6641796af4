//! Zscaler Internet Access web logs from a Nanolog Streaming Service (NSS) feed, in the
//! JSON output (one object per event, bare or wrapped as the Splunk HEC feed sends it:
//! `{"sourcetype":"zscalernss-web","event":{...}}`) or CSV with a header line.
//!
//! NSS feeds are user-defined: the administrator picks the fields and their names with
//! `%s{field}` variables. Two naming styles are common and both are read (keys compared
//! without case): the NSS variable names (`cip`, `sip`, `login`, `eurl`, `ehost`,
//! `reqsize`, `respsize`, `action`, `time`/`epochtime`) and the names of the documented
//! SIEM feed templates (`ClientIP`, `serverip`, `user`, `url`, `hostname`, `requestsize`,
//! `responsesize`, `datetime`).
//!
//! Tricky:
//! * Zscaler's CSV output has no header line; add one naming the feed's fields (the NSS
//!   variable names, in the feed's order) so the columns can be read by name.
//! * `datetime`/`time` carry no zone (the feed's time zone, GMT by default): read at
//!   `--log-timezone`, else UTC with a note. `epochtime` is UTC.
//! * `ClientIP` is the client's internal address as the tunnel or PAC file brought it;
//!   `clientpublicIP` is the office's egress address and is not used.
//! * The gateway is a cloud service: no proxy address appears in the organisation's own
//!   flow logs except as the tunnel or PAC destination.

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::Value;

use super::json::read_objects;
use super::proxy_fields::{reject, word_action, ProxyFields};
use super::siem_common::{timestamp_or_local, zone_note};
use super::text::{read_lines, split_csv};
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, RejectReason, Sink};
use xborder_model::error::Result;
use xborder_model::schema::{Micros, ProxyAction};

pub static JSON: FormatSpec = FormatSpec {
    id: "zscaler-nss-json",
    title: "Zscaler NSS web log feed, JSON",
    kinds: &[RecordKind::Proxy],
    detected_by: "JSON objects with sourcetype zscalernss-web, or (inside `event` or bare) a client address (ClientIP/cip), a URL or host, and Zscaler's request/response size keys",
    bytes: "requestsize/reqsize is what the client sent (upload), responsesize/respsize what it received (download)",
    field_map: FIELD_MAP,
    detect: detect_json,
    read: read_json,
};

pub static CSV: FormatSpec = FormatSpec {
    id: "zscaler-nss-csv",
    title: "Zscaler NSS web log feed, CSV with a header line",
    kinds: &[RecordKind::Proxy],
    detected_by: "a CSV header naming a client address (cip/ClientIP), a URL or host (eurl/url/ehost/hostname), an action and Zscaler's request/response size fields",
    bytes: "requestsize/reqsize is what the client sent (upload), responsesize/respsize what it received (download)",
    field_map: FIELD_MAP,
    detect: detect_csv,
    read: read_csv,
};

const FIELD_MAP: &[(&str, &str)] = &[
    (
        "ts",
        "epochtime (UTC), else datetime / time (feed time zone: --log-timezone)",
    ),
    ("client_ip", "ClientIP / cip"),
    ("user", "user / login / ologin"),
    (
        "host",
        "hostname / ehost / host, else the host of url / eurl",
    ),
    ("server_ip", "serverip / sip"),
    ("bytes_out", "requestsize / reqsize / reqdatasize"),
    ("bytes_in", "responsesize / respsize / respdatasize"),
    ("action", "action: Allowed / Blocked (other words: other)"),
    ("proxy", "none (a cloud gateway)"),
];

const CLIENT: &[&str] = &["clientip", "cip"];
const USER: &[&str] = &["user", "login", "ologin"];
const HOST: &[&str] = &["hostname", "ehost", "host"];
const URL: &[&str] = &["url", "eurl"];
const SERVER: &[&str] = &["serverip", "sip"];
const OUT: &[&str] = &["requestsize", "reqsize", "reqdatasize"];
const IN: &[&str] = &["responsesize", "respsize", "respdatasize"];

fn zscaler_keys(has: &dyn Fn(&str) -> bool) -> bool {
    CLIENT.iter().any(|k| has(k))
        && (URL.iter().any(|k| has(k)) || HOST.iter().any(|k| has(k)))
        && (OUT.iter().any(|k| has(k)) || IN.iter().any(|k| has(k)))
        && has("action")
}

/// The object whose keys are the event's fields: `event` when wrapped, else the object.
fn event_of(v: &Value) -> Option<&serde_json::Map<String, Value>> {
    match v.get("event") {
        Some(Value::Object(e)) => Some(e),
        _ => v.as_object(),
    }
}

fn detect_json(h: &Head<'_>) -> bool {
    let Some(obj) = h.first_json else {
        return false;
    };
    if obj
        .get("sourcetype")
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("zscalernss-web"))
    {
        return true;
    }
    let v = Value::Object(obj.clone());
    let Some(ev) = event_of(&v) else { return false };
    let keys: Vec<String> = ev.keys().map(|k| k.to_ascii_lowercase()).collect();
    zscaler_keys(&|k| keys.iter().any(|x| x == k))
}

fn detect_csv(h: &Head<'_>) -> bool {
    if h.first_line.starts_with('{') || h.first_line.starts_with('#') {
        return false;
    }
    split_csv(h.first_line, b',').is_some_and(|cols| {
        let cols: Vec<String> = cols.iter().map(|c| c.trim().to_ascii_lowercase()).collect();
        cols.len() >= 4 && zscaler_keys(&|k| cols.iter().any(|c| c == k))
    })
}

/// `Mon Jun 17 14:53:16 2021`, NSS's default `%s{time}` spelling.
fn parse_ctime(s: &str) -> Option<chrono::NaiveDateTime> {
    let collapsed: Vec<&str> = s.split_whitespace().collect();
    chrono::NaiveDateTime::parse_from_str(&collapsed.join(" "), "%a %b %d %H:%M:%S %Y").ok()
}

/// One event's fields (lower-case keys) to an item. `zoneless` is set when a time was
/// read without a zone.
fn event_item(
    row: &HashMap<String, String>,
    number: u64,
    raw: &[u8],
    ctx: &ReadContext<'_>,
    zoneless: &mut bool,
) -> Item {
    let pick = |keys: &[&'static str]| -> Option<(&'static str, &str)> {
        keys.iter()
            .find_map(|k| row.get(*k).map(|v| (*k, v.as_str())))
            .filter(|(_, v)| !super::proxy_fields::is_absent(v))
    };
    let ts: std::result::Result<Micros, (&str, FieldError)> =
        if let Some((k, v)) = pick(&["epochtime"]) {
            values::parse_epoch_auto(v).map_err(|e| (k, e))
        } else if let Some((k, v)) = pick(&["datetime", "time"]) {
            match parse_ctime(v) {
                Some(n) => {
                    *zoneless = true;
                    values::local_to_micros(n, ctx.options.log_timezone).map_err(|e| (k, e))
                }
                None => timestamp_or_local(v, ctx.options)
                    .map(|(t, local)| {
                        *zoneless |= local;
                        t
                    })
                    .map_err(|e| (k, e)),
            }
        } else {
            Err((
                "datetime",
                FieldError {
                    reason: RejectReason::MissingField,
                    detail: "no epochtime, datetime or time".into(),
                },
            ))
        };
    let ts = match ts {
        Ok(t) => t,
        Err((field, e)) => return reject(number, field, e, raw),
    };
    let action = match pick(&["action"]) {
        Some((_, a)) => word_action(a).unwrap_or(ProxyAction::Other),
        None => {
            return reject(
                number,
                "action",
                FieldError {
                    reason: RejectReason::MissingField,
                    detail: "no action (Allowed/Blocked)".into(),
                },
                raw,
            )
        }
    };
    let fields = ProxyFields {
        client: pick(CLIENT).or(Some(("ClientIP", ""))),
        user: pick(USER).map(|(_, v)| v),
        host: pick(HOST),
        url: pick(URL),
        server: pick(SERVER),
        bytes_out: pick(OUT),
        bytes_in: pick(IN),
        scheme: pick(&["protocol", "proto"]).map(|(_, v)| v),
        ..ProxyFields::default()
    };
    fields.item(ts, action, ctx.provenance(number), raw)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn read_json(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut zoneless = false;
    read_objects(
        reader,
        ctx,
        sink,
        &mut |number, value, raw, sink: &mut Sink<'_>| {
            let Some(ev) = event_of(value) else {
                return sink(reject(
                    number,
                    "(line)",
                    FieldError {
                        reason: RejectReason::MalformedJson,
                        detail: "not a JSON object".into(),
                    },
                    raw,
                ));
            };
            let row: HashMap<String, String> = ev
                .iter()
                .filter_map(|(k, v)| scalar(v).map(|s| (k.to_ascii_lowercase(), s)))
                .collect();
            sink(event_item(&row, number, raw, ctx, &mut zoneless))
        },
    )?;
    if zoneless {
        sink(Item::Note(zone_note(ctx.options)))?;
    }
    Ok(())
}

fn read_csv(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut header: Option<Vec<String>> = None;
    let mut zoneless = false;
    read_lines(reader, ctx, sink, &mut |number, text, sink| {
        let raw = text.as_bytes();
        let Some(cols) = split_csv(text, b',') else {
            return sink(reject(
                number,
                "(line)",
                FieldError {
                    reason: RejectReason::ColumnCount,
                    detail: "a quoted field is not closed".into(),
                },
                raw,
            ));
        };
        let Some(names) = &header else {
            header = Some(cols.iter().map(|c| c.trim().to_ascii_lowercase()).collect());
            return Ok(());
        };
        if cols.len() != names.len() {
            return sink(reject(
                number,
                "(line)",
                FieldError {
                    reason: RejectReason::ColumnCount,
                    detail: format!("{} fields for {} header columns", cols.len(), names.len()),
                },
                raw,
            ));
        }
        let row: HashMap<String, String> = names.iter().cloned().zip(cols).collect();
        sink(event_item(&row, number, raw, ctx, &mut zoneless))
    })?;
    if zoneless {
        sink(Item::Note(zone_note(ctx.options)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_text, ReaderOptions};

    use crate::proxy_records as proxies;

    #[test]
    fn wrapped_json_events() {
        let text = r#"{"sourcetype":"zscalernss-web","event":{"datetime":"2026-10-05 13:12:01","action":"Allowed","requestsize":"574","responsesize":"65","serverip":"160.79.104.10","requestmethod":"CONNECT","ClientIP":"10.3.0.9","user":"dave@example.com","url":"api.anthropic.com:443","hostname":"api.anthropic.com","protocol":"HTTP_PROXY"}}
{"sourcetype":"zscalernss-web","event":{"datetime":"2026-10-05 13:12:02","action":"Blocked","requestsize":"0","responsesize":"0","serverip":"None","ClientIP":"10.3.0.9","user":"dave@example.com","url":"chat.deepseek.com/","hostname":"chat.deepseek.com"}}"#;
        let items = read_text(read_json, text, &ReaderOptions::default());
        let p = proxies(&items);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].ts, 1_791_205_921_000_000);
        assert_eq!(p[0].host, "api.anthropic.com");
        assert_eq!(p[0].port, Some(443));
        assert_eq!((p[0].bytes_out, p[0].bytes_in), (Some(574), Some(65)));
        assert_eq!(p[0].user.as_deref(), Some("dave@example.com"));
        assert_eq!(p[1].action, ProxyAction::Blocked);
        assert_eq!(p[1].server_ip, None);
        assert!(matches!(items.last(), Some(Item::Note(_))));
    }

    #[test]
    fn csv_with_nss_variable_names() {
        let text = "time,login,eurl,action,reqsize,respsize,cip,sip\n\
                    \"Mon Oct  5 13:12:01 2026\",erin,https://claude.ai/chat,Allowed,1200,5600,10.3.0.10,160.79.104.11\n";
        let items = read_text(read_csv, text, &ReaderOptions::default());
        let p = proxies(&items);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].ts, 1_791_205_921_000_000);
        assert_eq!(p[0].host, "claude.ai");
        assert_eq!(p[0].client_ip.to_string(), "10.3.0.10");
    }
}
