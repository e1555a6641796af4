//! W3C extended log files with a `#Fields:` header: Blue Coat / Symantec ProxySG's ELFF
//! "main" format, and the generic form other proxies write.
//!
//! The `#Fields:` directive names the space-separated columns of the lines after it; a
//! later `#Fields:` (a restart, a format change) replaces it. Values containing spaces are
//! `"quoted"`; `-` means no value. `date` and `time` are UTC (the W3C draft says so, and
//! ProxySG writes them so); `gmttime` (`[dd/Mon/yyyy:HH:MM:SS zone]`) is read too.
//!
//! Field names (ProxySG ELFF and the W3C draft): `c-ip` client, `cs-username` user,
//! `cs-host` / `cs(Host)` / `cs-uri` / `cs-uri-path` requested host, `cs-uri-port`,
//! `cs-uri-scheme`, `s-ip` the proxy itself, `r-ip` / `s-supplier-ip` the server,
//! `cs-bytes` from the client (upload), `sc-bytes` to the client (download),
//! `sc-filter-result` (PROXIED, OBSERVED, DENIED) and `s-action` (TCP_TUNNELED,
//! TCP_DENIED, TCP_HIT…).
//!
//! Microsoft IIS writes the same container for a web *server*: its `c-ip` is a visitor,
//! not an employee going out. Files whose `#Software:` is IIS are not detected here.

use std::collections::HashMap;
use std::io::BufRead;

use super::proxy_fields::{reject, squid_code_action, word_action, ProxyFields};
use super::text::read_lines;
use super::values::FieldError;
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{Micros, ProxyAction};

pub static PROXYSG: FormatSpec = FormatSpec {
    id: "proxysg-elff",
    title: "Blue Coat / Symantec ProxySG access log (W3C ELFF main format)",
    kinds: &[RecordKind::Proxy],
    detected_by: "a `#Software: SGOS` header, or a `#Fields:` header with ProxySG fields (sc-filter-result, s-action or x-exception-id)",
    bytes: "cs-bytes is what the client sent (upload), sc-bytes what it received (download)",
    field_map: FIELD_MAP,
    detect: detect_proxysg,
    read,
};

pub static GENERIC: FormatSpec = FormatSpec {
    id: "w3c-extended",
    title: "W3C extended log format from a proxy (#Fields: header)",
    kinds: &[RecordKind::Proxy],
    detected_by: "a `#Fields:` header naming c-ip and a requested host (cs-host, cs(Host), cs-uri or r-host), not written by SGOS or IIS",
    bytes: "cs-bytes is what the client sent (upload), sc-bytes what it received (download)",
    field_map: FIELD_MAP,
    detect: detect_generic,
    read,
};

const FIELD_MAP: &[(&str, &str)] = &[
    ("ts", "date + time (UTC), else gmttime"),
    ("client_ip", "c-ip"),
    ("user", "cs-username, else cs-userdn"),
    ("host", "cs-host, else cs(Host), else r-host, else the host of cs-uri / cs-uri-stem"),
    ("port", "cs-uri-port, else r-port, else from cs-uri-scheme"),
    ("server_ip", "r-ip, else s-supplier-ip"),
    ("bytes_out / bytes_in", "cs-bytes / sc-bytes"),
    ("action", "sc-filter-result DENIED or s-action *DENIED* blocked; cache hits other; x-action / s-action words; else allowed"),
    ("proxy", "s-ip, else s-computername, else s-sitename"),
];

/// The `#Fields:` list of a head, and whether `#Software:` names SGOS or IIS.
fn header(text: &str) -> (Option<Vec<&str>>, Option<&str>) {
    let mut fields = None;
    let mut software = None;
    for line in text.lines().take(50) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("#Fields:") {
            fields = Some(rest.split_whitespace().collect());
            break;
        }
        if let Some(rest) = line.strip_prefix("#Software:") {
            software = Some(rest.trim());
        }
        if !line.starts_with('#') && !line.is_empty() {
            break;
        }
    }
    (fields, software)
}

const PROXYSG_FIELDS: &[&str] = &["sc-filter-result", "s-action", "x-exception-id"];

fn has_host(fields: &[&str]) -> bool {
    fields.iter().any(|f| {
        matches!(
            f.to_ascii_lowercase().as_str(),
            "cs-host" | "cs(host)" | "cs-uri" | "r-host" | "cs-uri-stem"
        )
    })
}

fn detect_proxysg(h: &Head<'_>) -> bool {
    let (fields, software) = header(h.text);
    let Some(fields) = fields else { return false };
    if !fields.contains(&"c-ip") || !has_host(&fields) {
        return false;
    }
    software.is_some_and(|s| s.starts_with("SGOS"))
        || fields.iter().any(|f| PROXYSG_FIELDS.contains(f))
}

fn detect_generic(h: &Head<'_>) -> bool {
    let (fields, software) = header(h.text);
    let Some(fields) = fields else { return false };
    let by_software = software
        .is_some_and(|s| s.starts_with("SGOS") || s.contains("Internet Information Services"));
    fields.contains(&"c-ip")
        && has_host(&fields)
        && !by_software
        && !fields.iter().any(|f| PROXYSG_FIELDS.contains(f))
}

/// Space-separated values, `"quoted"` ones kept whole (`""` inside quotes is a quote).
fn split_values(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        let mut v = String::new();
        if c == '"' {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        v.push('"');
                    } else {
                        closed = true;
                        break;
                    }
                } else {
                    v.push(c);
                }
            }
            if !closed {
                return None;
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' || c == '\t' {
                    break;
                }
                v.push(c);
                chars.next();
            }
        }
        out.push(v);
    }
    Some(out)
}

fn parse_time(
    row: &HashMap<&str, &str>,
) -> std::result::Result<Micros, (&'static str, FieldError)> {
    let bad = |field: &'static str, v: &str| {
        (
            field,
            FieldError {
                reason: RejectReason::InvalidTimestamp,
                detail: format!("`{v}` is not a W3C date/time"),
            },
        )
    };
    if let (Some(d), Some(t)) = (row.get("date"), row.get("time")) {
        let joined = format!("{d} {t}");
        return chrono::NaiveDateTime::parse_from_str(&joined, "%Y-%m-%d %H:%M:%S%.f")
            .map(|n| n.and_utc().timestamp_micros())
            .map_err(|_| bad("date/time", &joined));
    }
    if let Some(g) = row.get("gmttime") {
        let g = g.trim_matches(|c| c == '[' || c == ']');
        return chrono::DateTime::parse_from_str(g, "%d/%b/%Y:%H:%M:%S %z")
            .map(|d| d.timestamp_micros())
            .map_err(|_| bad("gmttime", g));
    }
    Err((
        "date",
        FieldError {
            reason: RejectReason::MissingField,
            detail: "no date and time (or gmttime) field".into(),
        },
    ))
}

fn action(row: &HashMap<&str, &str>) -> ProxyAction {
    let filter = row.get("sc-filter-result").copied().unwrap_or("");
    if filter.eq_ignore_ascii_case("DENIED") {
        return ProxyAction::Blocked;
    }
    let status = row.get("sc-status").and_then(|s| s.parse::<u16>().ok());
    if let Some(a) = row.get("s-action").filter(|a| **a != "-") {
        if a.starts_with("TCP_") || a.starts_with("NONE") || a.contains("DENIED") {
            return squid_code_action(a, status);
        }
        if let Some(w) = word_action(a) {
            return w;
        }
    }
    if let Some(w) = row.get("x-action").and_then(|a| word_action(a)) {
        return w;
    }
    if status == Some(407) {
        return ProxyAction::Other;
    }
    ProxyAction::Allowed
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut names: Option<Vec<String>> = None;
    read_lines(reader, ctx, sink, &mut |number, text, sink| {
        let raw = text.as_bytes();
        let line = text.trim();
        if let Some(rest) = line.strip_prefix("#Fields:") {
            names = Some(rest.split_whitespace().map(str::to_string).collect());
            return Ok(());
        }
        if line.starts_with('#') {
            return Ok(());
        }
        let Some(names) = &names else {
            return sink(reject(
                number,
                "#Fields",
                FieldError {
                    reason: RejectReason::MissingHeader,
                    detail: "a data line before any #Fields: header".into(),
                },
                raw,
            ));
        };
        let Some(values) = split_values(line) else {
            return sink(reject(
                number,
                "(line)",
                FieldError {
                    reason: RejectReason::ColumnCount,
                    detail: "a quoted value is not closed".into(),
                },
                raw,
            ));
        };
        if values.len() != names.len() {
            return sink(reject(
                number,
                "(line)",
                FieldError {
                    reason: RejectReason::ColumnCount,
                    detail: format!("{} values for {} #Fields", values.len(), names.len()),
                },
                raw,
            ));
        }
        let row: HashMap<&str, &str> = names
            .iter()
            .map(String::as_str)
            .zip(values.iter().map(String::as_str))
            .collect();
        let ts = match parse_time(&row) {
            Ok(ts) => ts,
            Err((field, e)) => return sink(reject(number, field, e, raw)),
        };
        let pick = |keys: &[&'static str]| -> Option<(&'static str, &str)> {
            keys.iter().find_map(|k| {
                row.get(k)
                    .filter(|v| !super::proxy_fields::is_absent(v))
                    .map(|v| (*k, *v))
            })
        };
        let fields = ProxyFields {
            client: pick(&["c-ip"]).or(row.get("c-ip").map(|v| ("c-ip", *v))),
            user: pick(&["cs-username", "cs-userdn"]).map(|(_, v)| v),
            host: pick(&["cs-host", "cs(Host)", "r-host"]),
            url: pick(&["cs-uri", "cs-uri-stem"]),
            port: pick(&["cs-uri-port", "r-port"]),
            scheme: pick(&["cs-uri-scheme"]).map(|(_, v)| v),
            server: pick(&["r-ip", "s-supplier-ip"]),
            bytes_out: pick(&["cs-bytes"]),
            bytes_in: pick(&["sc-bytes"]),
            proxy: pick(&["s-ip", "s-computername", "s-sitename"]).map(|(_, v)| v),
            session: None,
        };
        sink(fields.item(ts, action(&row), ctx.provenance(number), raw))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_text, ReaderOptions};
    use xborder_model::schema::Record;

    #[test]
    fn elff_lines_map_by_their_header() {
        let text = "#Software: SGOS 7.3.1.1\n\
#Fields: date time time-taken c-ip cs-username s-action sc-filter-result cs-method cs-uri-scheme cs-host cs-uri-port cs-uri-path s-ip r-ip sc-bytes cs-bytes cs(User-Agent)\n\
2026-10-05 13:12:01 120 10.2.0.7 carol TCP_TUNNELED PROXIED CONNECT tcp api.anthropic.com 443 / 10.9.0.10 160.79.104.10 9000 2500 \"Mozilla/5.0 (X11)\"\n\
2026-10-05 13:12:02 3 10.2.0.8 - TCP_DENIED DENIED CONNECT tcp chat.deepseek.com 443 / 10.9.0.10 - 600 300 -\n\
2026-10-05 13:12:03 3 10.2.0.8 - TCP_HIT\n";
        let items = read_text(read, text, &ReaderOptions::default());
        let p: Vec<_> = items
            .iter()
            .filter_map(|i| match i {
                Item::Record(Record::Proxy(p)) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].ts, 1_791_205_921_000_000);
        assert_eq!(p[0].user.as_deref(), Some("carol"));
        assert_eq!((p[0].bytes_out, p[0].bytes_in), (Some(2500), Some(9000)));
        assert_eq!(p[0].proxy_ip, "10.9.0.10".parse().ok());
        assert_eq!(p[0].port, Some(443));
        assert_eq!(p[1].action, ProxyAction::Blocked);
        assert!(matches!(&items[2], Item::Reject(r) if r.reason == RejectReason::ColumnCount));
    }

    #[test]
    fn iis_is_not_a_proxy() {
        let text = "#Software: Microsoft Internet Information Services 10.0\n#Fields: date time c-ip cs-uri-stem cs-host\n";
        let head = Head {
            path: std::path::Path::new("x"),
            bytes: text.as_bytes(),
            text,
            first_line: "#Software: Microsoft Internet Information Services 10.0",
            first_json: None,
        };
        assert!(!detect_generic(&head));
        assert!(!detect_proxysg(&head));
    }
}
