//! Cisco Umbrella DNS logs, the CSV Umbrella writes to S3 (no header line).
//!
//! `"timestamp","most granular identity","identities","internal IP","external IP",
//! "action","qtype (NAME)","rcode","domain.","categories"[,"policy identity type",
//! "identity types","blocked categories"]`: 10 to 13 quoted columns, depending on the
//! log version, and some exporters write `", "` with a space after the comma. The
//! timestamp is UTC. The internal IP is the client; the external IP is the egress NAT
//! address, not the resolver's answer.
//!
//! Umbrella logs **no answers and no TTLs**: its records give query names and counts,
//! but attribute no flow by themselves.

use std::io::BufRead;

use super::text::{read_lines, split_csv};
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, Reject, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{normalise_hostname, DnsRecord, Record, ShortText};

pub static DNS: FormatSpec = FormatSpec {
    id: "umbrella-dns",
    title: "Cisco Umbrella DNS log (S3 CSV)",
    kinds: &[RecordKind::Dns],
    detected_by: "headerless CSV of 10-13 fields: a YYYY-MM-DD hh:mm:ss time, an internal IP in field 4 and a `N (TYPE)` query type in field 7",
    bytes: "no byte counts (DNS)",
    field_map: &[
        ("ts / response_ts", "timestamp (field 1, UTC)"),
        ("client_ip", "internal IP (field 4)"),
        ("query", "domain (field 9, lowercased, trailing dot removed)"),
        ("qtype", "query type name from `1 (A)` (field 7)"),
        ("rcode", "response code (field 8)"),
        ("answers", "none: Umbrella logs no answers"),
    ],
    detect,
    read,
};

fn detect(h: &Head<'_>) -> bool {
    split_csv(h.first_line, b',').is_some_and(|f| {
        (10..=13).contains(&f.len())
            && chrono::NaiveDateTime::parse_from_str(&f[0], "%Y-%m-%d %H:%M:%S").is_ok()
            && values::parse_address(&f[3]).is_ok()
            && qtype_name(&f[6]).is_some()
    })
}

/// `28 (AAAA)` → `AAAA`.
fn qtype_name(s: &str) -> Option<&str> {
    let (num, rest) = s.trim().split_once(" (")?;
    let name = rest.strip_suffix(')')?;
    (!num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()).then_some(name)
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut noted = false;
    read_lines(reader, ctx, sink, &mut |number, text, sink| {
        let reject = |field: &str, e: FieldError| {
            Item::Reject(
                Reject::new(number, field, e.reason, e.detail).with_excerpt(text.as_bytes()),
            )
        };
        let fields = match split_csv(text, b',') {
            Some(f) if (10..=13).contains(&f.len()) => f,
            Some(f) => {
                return sink(reject(
                    "(line)",
                    FieldError {
                        reason: RejectReason::ColumnCount,
                        detail: format!("{} fields; Umbrella DNS logs have 10 to 13", f.len()),
                    },
                ))
            }
            None => {
                return sink(reject(
                    "(line)",
                    FieldError {
                        reason: RejectReason::ColumnCount,
                        detail: "a quoted field is not closed".into(),
                    },
                ))
            }
        };
        let Ok(naive) = chrono::NaiveDateTime::parse_from_str(&fields[0], "%Y-%m-%d %H:%M:%S")
        else {
            return sink(reject(
                "timestamp",
                FieldError {
                    reason: RejectReason::InvalidTimestamp,
                    detail: format!("`{}` is not YYYY-MM-DD hh:mm:ss", fields[0]),
                },
            ));
        };
        // Umbrella writes UTC.
        let ts = match values::local_to_micros(naive, None) {
            Ok(t) => t,
            Err(e) => return sink(reject("timestamp", e)),
        };
        let client_ip = match values::parse_address(&fields[3]) {
            Ok(ip) => ip,
            Err(e) => return sink(reject("internal_ip", e)),
        };
        let query = normalise_hostname(&fields[8]);
        if query.is_empty() {
            return sink(reject(
                "domain",
                FieldError {
                    reason: RejectReason::MissingField,
                    detail: "empty domain".into(),
                },
            ));
        }
        if !noted {
            noted = true;
            sink(Item::Note(
                "Umbrella DNS logs carry no answers: their queries are counted but attribute no flow by themselves".into(),
            ))?;
        }
        let rcode = fields[7].trim();
        sink(Item::Record(Record::Dns(DnsRecord {
            ts,
            response_ts: ts,
            uid: None,
            trans_id: None,
            client_ip,
            query,
            qtype: qtype_name(&fields[6]).map(ShortText::from),
            rcode: (!rcode.is_empty()).then(|| ShortText::from(rcode)),
            answers: Vec::new(),
            provenance: ctx.provenance(number),
        })))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_spacing_and_ipv6() {
        let t = "\"2026-07-10 08:00:00\",\"alice\",\"alice,Laptop 1\",\"192.0.2.10\",\"203.0.113.1\",\"Allowed\",\"1 (A)\",\"NOERROR\",\"API.Anthropic.com.\",\"Software/Technology\",\"AD Users\",\"AD Users,Roaming Computers\",\"\"\n\
                 \"2026-07-10 08:00:01\",\"bob\", \"bob,Site\", \"2001:db8::7\",\"2001:db8::1\",\"Blocked\",\"28 (AAAA)\", \"NOERROR\",\"chatgpt.com.\", \"Chat\"\n\
                 \"2026-07-10 08:00:02\",\"bob\",\"bob\",\"192.0.2.11\"\n";
        let items = crate::read_text(read, t, &Default::default());
        assert!(matches!(&items[0], Item::Note(_)));
        let Item::Record(Record::Dns(a)) = &items[1] else {
            panic!("{items:?}")
        };
        assert_eq!(a.ts, 1_783_670_400_000_000);
        assert_eq!(a.client_ip.to_string(), "192.0.2.10");
        assert_eq!(a.query, "api.anthropic.com");
        assert_eq!(a.qtype.as_deref(), Some("A"));
        assert!(a.answers.is_empty());
        let Item::Record(Record::Dns(b)) = &items[2] else {
            panic!("{items:?}")
        };
        assert_eq!(b.client_ip.to_string(), "2001:db8::7");
        assert_eq!(b.query, "chatgpt.com");
        assert_eq!(b.qtype.as_deref(), Some("AAAA"));
        assert!(matches!(&items[3], Item::Reject(r) if r.reason == RejectReason::ColumnCount));
    }
}
