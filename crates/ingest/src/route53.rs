//! Amazon Route 53 Resolver query logs (JSON, one object per query, as delivered to
//! CloudWatch Logs, S3 or Firehose).
//!
//! `query_timestamp` is ISO 8601 UTC; `query_name` ends with a dot; `srcaddr` is the
//! client inside the VPC (not the resolver). `answers[]` carries `Rdata`, `Type` and
//! `Class` but **no TTL**, so each answer's TTL is unknown and the DNS join falls back to
//! its default window. Responses blocked by a Resolver DNS Firewall rule still log the
//! query.

use std::io::BufRead;

use serde_json::Value;

use super::json::{self, read_objects, reject, Fields};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind};
use xborder_model::error::Result;
use xborder_model::schema::{
    normalise_hostname, parse_ip, AnswerValue, DnsAnswer, DnsRecord, Record, ShortText,
};

pub static RESOLVER: FormatSpec = FormatSpec {
    id: "route53-resolver",
    title: "Amazon Route 53 Resolver query log (JSON)",
    kinds: &[RecordKind::Dns],
    detected_by: "JSON objects with query_timestamp, query_name and srcaddr",
    bytes: "no byte counts (DNS)",
    field_map: &[
        ("ts / response_ts", "query_timestamp (ISO 8601, UTC)"),
        ("client_ip", "srcaddr"),
        ("query", "query_name (lowercased, trailing dot removed)"),
        ("qtype / rcode", "query_type / rcode"),
        (
            "answers",
            "answers[].Rdata (A/AAAA as addresses, others verbatim); no TTL",
        ),
    ],
    detect,
    read,
};

fn detect(h: &Head<'_>) -> bool {
    h.first_json.is_some_and(|o| {
        o.contains_key("query_timestamp")
            && o.contains_key("query_name")
            && o.contains_key("srcaddr")
    })
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut noted = false;
    read_objects(
        reader,
        ctx,
        sink,
        &mut |line, value, raw, sink| match parse(value, ctx.provenance(line)) {
            Ok(rec) => {
                if !noted {
                    noted = true;
                    sink(Item::Note(
                        "Route 53 Resolver logs carry no answer TTLs: answers are joined within the default DNS window".into(),
                    ))?;
                }
                sink(Item::Record(Record::Dns(rec)))
            }
            Err(fail) => sink(reject(line, fail, raw)),
        },
    )
}

fn parse(v: &Value, provenance: xborder_model::schema::Provenance) -> json::FieldResult<DnsRecord> {
    let f = Fields(v);
    let ts = f.required_timestamp("query_timestamp")?;
    let client_ip = f.required_ip("srcaddr")?;
    let query = normalise_hostname(&f.required_text("query_name")?);
    let mut answers = Vec::new();
    for (i, a) in f.array("answers")?.iter().enumerate() {
        let af = Fields(a);
        let path = format!("answers[{i}].Rdata");
        let Some(rdata) = af.text("Rdata").map_err(|(_, e)| (path.clone(), e))? else {
            continue;
        };
        let rtype = af.text("Type").ok().flatten().unwrap_or_default();
        let value = match (rtype.as_ref(), parse_ip(&rdata)) {
            ("A" | "AAAA", Some(ip)) => AnswerValue::Address(ip),
            ("CNAME", _) => AnswerValue::Other(normalise_hostname(&rdata)),
            _ => AnswerValue::Other(rdata.to_string()),
        };
        answers.push(DnsAnswer { value, ttl: None });
    }
    Ok(DnsRecord {
        ts,
        response_ts: ts,
        uid: None,
        trans_id: None,
        client_ip,
        query,
        qtype: f.text("query_type")?.map(ShortText::from),
        rcode: f.text("rcode")?.map(ShortText::from),
        answers,
        provenance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_with_answers_and_no_ttl() {
        let t = r#"{"version":"1.100000","query_timestamp":"2026-07-10T08:00:00.5Z","query_name":"API.Anthropic.com.","query_type":"A","query_class":"IN","rcode":"NOERROR","answers":[{"Rdata":"edge.example.net.","Type":"CNAME","Class":"IN"},{"Rdata":"160.79.104.10","Type":"A","Class":"IN"}],"srcaddr":"192.0.2.10","srcport":"53000"}
{"query_timestamp":"2026-07-10T08:00:01Z","query_name":"x.","srcaddr":"not-an-ip"}
"#;
        let items = crate::read_text(read, t, &Default::default());
        assert!(matches!(&items[0], Item::Note(_)));
        let Item::Record(Record::Dns(d)) = &items[1] else {
            panic!("{items:?}")
        };
        assert_eq!(d.ts, 1_783_670_400_500_000);
        assert_eq!(d.client_ip.to_string(), "192.0.2.10");
        assert_eq!(d.query, "api.anthropic.com");
        assert_eq!(d.rcode.as_deref(), Some("NOERROR"));
        assert_eq!(
            d.answers,
            vec![
                DnsAnswer {
                    value: AnswerValue::Other("edge.example.net".into()),
                    ttl: None
                },
                DnsAnswer {
                    value: AnswerValue::Address("160.79.104.10".parse().unwrap()),
                    ttl: None
                }
            ]
        );
        assert!(matches!(&items[2], Item::Reject(r) if r.field == "srcaddr"));
    }
}
