//! Palo Alto Networks PAN-OS URL filtering logs: THREAT records of subtype `url`, as CSV
//! over syslog.
//!
//! Columns (0-based, as in the TRAFFIC reader): 2 serial, 3 type, 4 subtype, 6 generated
//! time, 7/8 source/destination before NAT, 9 source after NAT, 12 source user, 22 session
//! id, 24/25 ports, 30 action, 31 URL (`host/path`, quoted, no scheme).
//!
//! Tricky:
//! * URL logs carry no byte counts; the session's bytes are in the TRAFFIC log. A request
//!   carries the TRAFFIC log's connection-id prefix (serial and session id), so a TRAFFIC
//!   flow of the same session takes the URL log's host and keeps its own bytes, and the
//!   pair counts once.
//! * A file mixing TRAFFIC and THREAT records is read by the TRAFFIC reader (which filters
//!   THREAT lines); export URL logs to their own file to read them here.
//! * Times are the firewall's local time (`--log-timezone`).
//! * Actions: `alert`, `allow`, `continue`, `override` let the request through;
//!   `block-url`, `block-continue`, `block-override`, `override-lockout`, `drop`, `reset-*`
//!   stopped it.

use std::io::BufRead;

use super::proxy_fields::{reject, word_action, ProxyFields};
use super::text::{read_lines, split_csv};
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{parse_ip, ProxyAction, Record};

/// The fewest columns a THREAT record has up to the URL (field 31) and a little beyond.
const MIN_FIELDS: usize = 36;

pub static URL: FormatSpec = FormatSpec {
    id: "panos-url",
    title: "Palo Alto PAN-OS URL filtering log (THREAT/url, syslog CSV)",
    kinds: &[RecordKind::Proxy],
    detected_by: "CSV lines (after an optional syslog prefix) with a YYYY/MM/DD time in field 1, THREAT in field 3 and url in field 4, and no TRAFFIC line among the first 20",
    bytes: "none: URL logs carry no byte counts (a TRAFFIC flow of the same session supplies them)",
    field_map: &[
        ("ts", "generated time (field 6, firewall local time: --log-timezone)"),
        ("client_ip", "source address (7, before NAT)"),
        ("user", "source user (12)"),
        ("host / port", "URL (31, host/path) / destination port (25)"),
        ("server_ip", "destination address (8)"),
        ("action", "action (30): alert/allow/continue/override allowed; block-*/override-lockout/drop/reset-* blocked"),
        ("proxy", "device serial (2); the proxy address is the NAT source (9) when set"),
        ("session", "panos:<serial>:<session id (22)>: (the TRAFFIC reader's uid prefix)"),
        ("(filtered)", "other THREAT subtypes and log types (panos_url_other)"),
    ],
    detect,
    read,
};

fn is_panos_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 19 && b[4] == b'/' && b[7] == b'/' && b[10] == b' ' && b[13] == b':'
}

fn detect(h: &Head<'_>) -> bool {
    let mut url = false;
    for l in h.text.lines().filter(|l| !l.trim().is_empty()).take(20) {
        let Some(f) = split_csv(l, b',') else {
            continue;
        };
        if f.len() < 5 || !is_panos_date(&f[1]) {
            continue;
        }
        match (f[3].as_str(), f[4].as_str()) {
            ("TRAFFIC", _) => return false,
            ("THREAT", "url") if f.len() >= MIN_FIELDS => url = true,
            _ => {}
        }
    }
    url
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut noted_zone = false;
    read_lines(reader, ctx, sink, &mut |number, text, sink| {
        let raw = text.as_bytes();
        let bad = |field: &str, reason, detail: String| {
            reject(number, field, FieldError { reason, detail }, raw)
        };
        let Some(f) = split_csv(text, b',') else {
            return sink(bad(
                "(line)",
                RejectReason::ColumnCount,
                "a quoted field is not closed".into(),
            ));
        };
        if f.len() < 5 || !is_panos_date(&f[1]) {
            return sink(bad(
                "type",
                RejectReason::InvalidValue,
                "not a PAN-OS log line (no YYYY/MM/DD time in field 1 and type in field 3)".into(),
            ));
        }
        if f[3] != "THREAT" || f[4] != "url" {
            return sink(Item::Filtered {
                line: number,
                reason: "panos_url_other",
            });
        }
        if f.len() < MIN_FIELDS {
            return sink(bad(
                "(line)",
                RejectReason::ColumnCount,
                format!("{} fields; a URL record has at least {MIN_FIELDS}", f.len()),
            ));
        }
        let Some(naive) = values::parse_naive(&f[6]) else {
            return sink(bad(
                "generated_time",
                RejectReason::InvalidTimestamp,
                format!("`{}` is not YYYY/MM/DD hh:mm:ss", f[6]),
            ));
        };
        let ts = match values::local_to_micros(naive, ctx.options.log_timezone) {
            Ok(t) => t,
            Err(e) => return sink(reject(number, "generated_time", e, raw)),
        };
        let action = word_action(&f[30]).unwrap_or(ProxyAction::Other);
        let serial = f[2].trim();
        let session_id = f[22].trim();
        let session = (!session_id.is_empty() && session_id != "0" && !serial.is_empty())
            .then(|| format!("panos:{serial}:{session_id}:"));
        let fields = ProxyFields {
            client: Some(("src", &f[7])),
            user: Some(&f[12]),
            url: Some(("url", &f[31])),
            port: Some(("dport", &f[25])),
            server: Some(("dst", &f[8])),
            proxy: Some(serial),
            session,
            ..ProxyFields::default()
        };
        let mut item = fields.item(ts, action, ctx.provenance(number), raw);
        if let Item::Record(Record::Proxy(p)) = &mut item {
            if let Some(nat) = parse_ip(&f[9]).filter(|ip| !ip.is_unspecified()) {
                p.proxy_ip = Some(nat);
            }
        }
        if !noted_zone && ctx.options.log_timezone.is_none() {
            noted_zone = true;
            sink(Item::Note(
                "PAN-OS times carry no zone and were read as UTC; set --log-timezone to the firewall's offset".into(),
            ))?;
        }
        sink(item)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_text, ReaderOptions};

    fn line(action: &str, url: &str) -> String {
        let mut f = vec![String::new(); 40];
        f[1] = "2026/10/05 13:12:01".into();
        f[2] = "012801000001".into();
        f[3] = "THREAT".into();
        f[4] = "url".into();
        f[6] = "2026/10/05 13:12:01".into();
        f[7] = "10.6.0.7".into();
        f[8] = "160.79.104.10".into();
        f[9] = "198.51.100.7".into();
        f[12] = "corp\\heidi".into();
        f[22] = "4242".into();
        f[24] = "50123".into();
        f[25] = "443".into();
        f[30] = action.into();
        f[31] = format!("\"{url}\"");
        f.join(",")
    }

    #[test]
    fn url_records_carry_host_session_and_nat_address() {
        let text = format!(
            "{}\n{}\n",
            line("alert", "claude.ai/chat/x"),
            line("block-url", "chatgpt.com/")
        );
        let items = read_text(read, &text, &ReaderOptions::default());
        let p: Vec<_> = items
            .iter()
            .filter_map(|i| match i {
                Item::Record(Record::Proxy(p)) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].host, "claude.ai");
        assert_eq!(p[0].port, Some(443));
        assert_eq!(p[0].action, ProxyAction::Allowed);
        assert_eq!(p[0].session.as_deref(), Some("panos:012801000001:4242:"));
        assert_eq!(p[0].proxy_ip, "198.51.100.7".parse().ok());
        assert_eq!(p[0].user.as_deref(), Some("corp\\heidi"));
        assert_eq!(p[1].action, ProxyAction::Blocked);
        assert_eq!(p[1].ts, 1_791_205_921_000_000);
    }
}
