//! BIND `named` query logs, and Infoblox NIOS query/response logs, usually over syslog.
//!
//! `[syslog prefix] [category: ][dd-Mon-YYYY hh:mm:ss.mmm ]client [@0x…] IP#port
//! [(qname)]: [view V: ][UDP: ]query: QNAME CLASS TYPE FLAGS (server)`. Plain BIND query
//! logging records the question only, never the answer, so such records carry names and
//! counts but attribute no flow by themselves. Infoblox appends `response: RCODE FLAGS`
//! and the answer RRs with their TTLs (`name ttl IN A 192.0.2.1; …`), which do join.
//!
//! Tricky: named's own timestamp is local time without a zone (`--log-timezone`); when it
//! is absent only the syslog time is left, often without a year (`--assume-year`). Most
//! lines of a named log are not queries (rpz, xfer, notify, dnssec, CEF events): they are
//! counted as `bind_other`. TXT data may hold `;` inside quotes.

use std::io::BufRead;

use chrono::NaiveDate;

use super::syslog::{self, Stamp};
use super::text::read_lines;
use super::values::FieldError;
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, Reject, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{
    normalise_hostname, parse_ip, AnswerValue, DnsAnswer, DnsRecord, Record, ShortText,
};

pub static QUERY_LOG: FormatSpec = FormatSpec {
    id: "bind-query-log",
    title: "BIND named query log / Infoblox NIOS responses",
    kinds: &[RecordKind::Dns],
    detected_by: "lines with `client IP#port … query: NAME CLASS TYPE` (optionally after a syslog prefix)",
    bytes: "no byte counts (DNS)",
    field_map: &[
        ("ts / response_ts", "named timestamp dd-Mon-YYYY hh:mm:ss.mmm (local: --log-timezone), else the syslog time"),
        ("client_ip", "client IP#port"),
        ("query", "query: NAME (lowercased, no trailing dot)"),
        ("qtype", "TYPE after the class"),
        ("rcode", "Infoblox response: RCODE (none for plain query logs)"),
        ("answers", "Infoblox answer RRs `name ttl class type data;` with TTLs (none for plain query logs)"),
        ("(filtered)", "every line that is not a query (bind_other)"),
    ],
    detect,
    read,
};

fn detect(h: &Head<'_>) -> bool {
    h.text.lines().take(100).any(|l| split_query(l).is_some())
}

/// A query line cut at `client ` and `query: `: (text before `client`, the client part,
/// the text after `query: `). The question must have a name, a class and a type.
fn split_query(line: &str) -> Option<(&str, &str, &str)> {
    let q = line.find(" query: ")?;
    let before_q = line.get(..q)?;
    let c = before_q.rfind("client ")?;
    let client = before_q.get(c + "client ".len()..)?;
    let question = line.get(q + " query: ".len()..)?;
    let mut words = question.split_whitespace();
    let (_name, class, _qtype) = (words.next()?, words.next()?, words.next()?);
    if !matches!(class, "IN" | "CH" | "HS" | "ANY" | "CLASS0") || !client.contains('#') {
        return None;
    }
    Some((before_q.get(..c)?, client, question))
}

/// named's own `07-Apr-2022 08:08:10.043` timestamp, anywhere in the prefix.
fn named_timestamp(prefix: &str) -> Option<chrono::NaiveDateTime> {
    let words: Vec<&str> = prefix.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let mut parts = w.split('-');
        let (Some(d), Some(m), Some(y), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (Ok(day), Some(month), Ok(year)) =
            (d.parse::<u32>(), syslog::month_number(m), y.parse::<i32>())
        else {
            continue;
        };
        let Some((secs, micros)) = words.get(i + 1).and_then(|c| syslog::parse_clock(c)) else {
            continue;
        };
        return NaiveDate::from_ymd_opt(year, month, day)?.and_hms_micro_opt(
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            micros,
        );
    }
    None
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let (mut noted_zone, mut noted_no_answers) = (false, false);
    read_lines(reader, ctx, sink, &mut |number, text, sink| {
        let reject = |field: &str, e: FieldError| {
            Item::Reject(
                Reject::new(number, field, e.reason, e.detail).with_excerpt(text.as_bytes()),
            )
        };
        let Some((prefix, client, question)) = split_query(text) else {
            return sink(Item::Filtered {
                line: number,
                reason: "bind_other",
            });
        };
        let stamp = match named_timestamp(prefix) {
            Some(n) => Some(Stamp::Local(n)),
            None => syslog::leading_timestamp(prefix).map(|(s, _)| s),
        };
        let Some(stamp) = stamp else {
            return sink(reject(
                "timestamp",
                FieldError {
                    reason: RejectReason::InvalidTimestamp,
                    detail: "no named (dd-Mon-YYYY hh:mm:ss.mmm) or syslog timestamp".into(),
                },
            ));
        };
        let ts = match stamp.to_micros(ctx.options) {
            Ok(t) => t,
            Err(e) => return sink(reject("timestamp", e)),
        };
        let addr_port = client
            .split_whitespace()
            .find(|w| w.contains('#'))
            .unwrap_or("");
        let addr = addr_port.split('#').next().unwrap_or("");
        let Some(client_ip) = parse_ip(addr) else {
            return sink(reject(
                "client",
                FieldError {
                    reason: RejectReason::InvalidAddress,
                    detail: format!("`{addr_port}` is not IP#port"),
                },
            ));
        };
        let mut words = question.split_whitespace();
        let name = words.next().unwrap_or("");
        let _class = words.next();
        let qtype = words.next().unwrap_or("").to_string();
        let query = normalise_hostname(name);
        if query.is_empty() {
            return sink(reject(
                "query",
                FieldError {
                    reason: RejectReason::MissingField,
                    detail: "empty query name".into(),
                },
            ));
        }
        let (rcode, answers) = match question.find(" response: ") {
            Some(at) => {
                let resp = question.get(at + " response: ".len()..).unwrap_or("");
                let mut it = resp.splitn(3, char::is_whitespace);
                let rcode = it.next().filter(|r| !r.is_empty()).map(str::to_string);
                let _flags = it.next();
                let rrs = it.next().unwrap_or("");
                match parse_answers(rrs) {
                    Ok(a) => (rcode, a),
                    Err(e) => return sink(reject("response", e)),
                }
            }
            None => {
                if !noted_no_answers {
                    noted_no_answers = true;
                    sink(Item::Note(
                        "BIND query logging records questions without answers: those queries are counted but attribute no flow by themselves".into(),
                    ))?;
                }
                (None, Vec::new())
            }
        };
        if !noted_zone && stamp.is_local() && ctx.options.log_timezone.is_none() {
            noted_zone = true;
            sink(Item::Note(
                "named and syslog times carry no zone and were read as UTC; set --log-timezone"
                    .into(),
            ))?;
        }
        sink(Item::Record(Record::Dns(DnsRecord {
            ts,
            response_ts: ts,
            uid: None,
            trans_id: None,
            client_ip,
            query,
            qtype: (!qtype.is_empty()).then(|| ShortText::from(qtype)),
            rcode: rcode.map(ShortText::from),
            answers,
            provenance: ctx.provenance(number),
        })))
    })
}

/// Split at `;` outside double quotes (TXT data may hold `;`).
fn split_rrs(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(s.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s.get(start..).unwrap_or(""));
    out.into_iter()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect()
}

/// Infoblox answer RRs: `name ttl class type data; …`.
fn parse_answers(rrs: &str) -> std::result::Result<Vec<DnsAnswer>, FieldError> {
    let mut answers = Vec::new();
    for rr in split_rrs(rrs) {
        let mut w = rr.splitn(5, char::is_whitespace);
        let (Some(_name), Some(ttl), Some(_class), Some(rtype), Some(data)) =
            (w.next(), w.next(), w.next(), w.next(), w.next())
        else {
            return Err(FieldError {
                reason: RejectReason::InvalidValue,
                detail: format!("`{rr}` is not `name ttl class type data`"),
            });
        };
        let ttl: u32 = ttl.parse().map_err(|_| FieldError {
            reason: RejectReason::InvalidNumber,
            detail: format!("TTL `{ttl}` is not a number"),
        })?;
        let data = data.trim();
        let value = match rtype {
            "A" | "AAAA" => match parse_ip(data) {
                Some(ip) => AnswerValue::Address(ip),
                None => AnswerValue::Other(data.to_string()),
            },
            "CNAME" | "PTR" | "NS" | "DNAME" => AnswerValue::Other(normalise_hostname(data)),
            _ => AnswerValue::Other(data.to_string()),
        };
        answers.push(DnsAnswer {
            value,
            ttl: Some(ttl),
        });
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str, year: Option<i32>, tz: Option<i32>) -> Vec<Item> {
        let options = super::super::ReaderOptions {
            assume_year: year,
            log_timezone: tz.and_then(|h| chrono::FixedOffset::east_opt(h * 3600)),
            ..Default::default()
        };
        crate::read_text(read, text, &options)
    }

    fn dns(items: &[Item]) -> Vec<&DnsRecord> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Record(Record::Dns(d)) => Some(d),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn infoblox_response_with_answers_and_ttls() {
        let t = "<30>Jul 10 08:00:00 ns1 named[42]: 10-Jul-2026 10:00:00.250 client 192.0.2.10#53000: UDP: query: API.Anthropic.com. IN A response: NOERROR + api.anthropic.com. 300 IN CNAME edge.example.net.; edge.example.net. 60 IN A 160.79.104.10; x 5 IN TXT \"a;b\";\n";
        let items = read_all(t, None, Some(2));
        let d = dns(&items);
        assert_eq!(d.len(), 1);
        let d = d[0];
        // 10:00:00.250 at +02:00 = 08:00:00.250Z
        assert_eq!(d.ts, 1_783_670_400_250_000);
        assert_eq!(d.client_ip.to_string(), "192.0.2.10");
        assert_eq!(d.query, "api.anthropic.com");
        assert_eq!(d.qtype.as_deref(), Some("A"));
        assert_eq!(d.rcode.as_deref(), Some("NOERROR"));
        assert_eq!(
            d.answers,
            vec![
                DnsAnswer {
                    value: AnswerValue::Other("edge.example.net".into()),
                    ttl: Some(300)
                },
                DnsAnswer {
                    value: AnswerValue::Address("160.79.104.10".parse().unwrap()),
                    ttl: Some(60)
                },
                DnsAnswer {
                    value: AnswerValue::Other("\"a;b\"".into()),
                    ttl: Some(5)
                },
            ]
        );
    }

    #[test]
    fn plain_query_lines_views_and_syslog_only_times() {
        let t = "<30>Jul 10 08:00:01 ns1 named[42]: queries: client @0x7f00aa 192.0.2.11#40000 (chatgpt.com): view internal: query: chatgpt.com IN AAAA +E(0) (192.0.2.53)\n\
                 10-Jul-2026 08:00:02.001 queries: info: client @0x7f00aa 2001:db8::5#40001 (api.openai.com): query: api.openai.com IN A + (2001:db8::53)\n";
        let items = read_all(t, Some(2026), None);
        let d = dns(&items);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].ts, 1_783_670_401_000_000);
        assert_eq!(d[0].client_ip.to_string(), "192.0.2.11");
        assert_eq!(d[0].query, "chatgpt.com");
        assert!(d[0].answers.is_empty() && d[0].rcode.is_none());
        assert_eq!(d[1].ts, 1_783_670_402_001_000);
        assert_eq!(d[1].client_ip.to_string(), "2001:db8::5");
        let notes = items.iter().filter(|i| matches!(i, Item::Note(_))).count();
        assert_eq!(notes, 2, "no answers, zone");
        // Without --assume-year the syslog-only line is refused; named's own time is not.
        let items = read_all(t, None, None);
        assert!(
            matches!(&items[0], Item::Reject(r) if r.reason == RejectReason::TimestampWithoutYear)
        );
        assert_eq!(dns(&items).len(), 1);
    }

    #[test]
    fn non_query_lines_are_filtered_and_bad_ones_rejected() {
        let t = "Jul 10 08:00:00 ns1 named[1]: client @0x1 192.0.2.1#5 (x.com): query failed (REFUSED) for x.com/IN/A at query.c:10288\n\
                 Jul 10 08:00:00 ns1 named[1]: rpz: rpz1.example: reload start\n\
                 Jul 10 08:00:00 ns1 named[1]: client @0x1 192.0.2.1#5 (x.com): rewriting query name 'x.com' to 'y.x.com', type A\n\
                 Jul 10 08:00:00 ns1 named[1]: CEF:0|Infoblox|NIOS|8.6|RPZ-QNAME|NXDOMAIN|7|src=192.0.2.1\n\
                 10-Jul-2026 08:00:00.000 client 192.0.2.999#5: query: x.com IN A response: NOERROR +\n\
                 10-Jul-2026 08:00:00.000 client 192.0.2.9#5: query: x.com IN A response: NOERROR + x.com. soon IN A 192.0.2.1;\n";
        let items = read_all(t, Some(2026), Some(0));
        let got: Vec<String> = items
            .iter()
            .map(|i| match i {
                Item::Filtered { reason, .. } => reason.to_string(),
                Item::Reject(r) => format!("{}:{}", r.field, r.reason.as_str()),
                Item::Note(_) => "note".into(),
                Item::Record(_) => "record".into(),
            })
            .collect();
        assert_eq!(
            got,
            [
                "bind_other",
                "bind_other",
                "bind_other",
                "bind_other",
                "client:invalid_address",
                "response:invalid_number"
            ]
        );
    }
}
