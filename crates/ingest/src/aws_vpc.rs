//! AWS VPC Flow Logs (and Transit Gateway flow logs) as delivered to S3, CloudWatch Logs,
//! Firehose, Athena or Data Prepper.
//!
//! What is tricky:
//! - The layout is configurable. S3 text delivery writes one header line of hyphenated
//!   field names (any subset, any order); CloudWatch and Firehose lines carry no header, so
//!   the field list is either the AWS default order (v2 default, or "all fields" v2…v8 in
//!   AWS order, truncated: that is what header-less exports almost always use), the
//!   Transit Gateway default layout (recognised by `tgw-` ids in the fourth column), or
//!   the user's `--vpc-fields`. Athena/Parquet exports use underscore names and commas;
//!   Data Prepper hands JSON objects with underscore keys.
//! - `bytes`/`packets` count one direction only (srcaddr → dstaddr): records are uniflow.
//! - `start`/`end` are epoch seconds of the aggregation window, not of the connection;
//!   do not assume ten digits (a real sample has a nine-digit start).
//! - `-` means unset. NODATA/SKIPDATA rows have `-` in every address and count field: they
//!   are counted as filtered. Some TGW/v8 samples mark rows carrying addresses and counts
//!   NODATA/SKIPDATA; those are read as flows (dropping egress evidence is worse), with a
//!   note.
//! - `action` REJECT: the packets were blocked by a security group or NACL, so the bytes
//!   never left. Such rows are filtered (`vpc_rejected`), not counted as egress.
//! - Behind a NAT gateway, load balancer or TGW, `srcaddr`/`dstaddr` are the intermediate
//!   interface's addresses; `pkt-srcaddr`/`pkt-dstaddr` are the original endpoints. The
//!   reader prefers the `pkt-*` addresses when the format has them: the destination that
//!   matters for egress attribution is the real one.

use std::borrow::Cow;
use std::io::BufRead;

use super::json::read_objects;
use super::text::{read_lines, split_csv};
use super::values::{self, FieldError};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, Reject, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{ByteDirection, FlowRecord, Proto, Record};

/// The AWS "all fields" order (v2 default first, then v3…v8 additions). Header-less
/// custom lines without `--vpc-fields` are read by position against this list.
pub const DEFAULT_ORDER: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",
    "reject-reason",
];

/// The Transit Gateway flow log default layout.
pub const TGW_ORDER: &[&str] = &[
    "version",
    "resource-type",
    "account-id",
    "tgw-id",
    "tgw-attachment-id",
    "tgw-src-vpc-account-id",
    "tgw-dst-vpc-account-id",
    "tgw-src-vpc-id",
    "tgw-dst-vpc-id",
    "tgw-src-subnet-id",
    "tgw-dst-subnet-id",
    "tgw-src-eni",
    "tgw-dst-eni",
    "tgw-src-az-id",
    "tgw-dst-az-id",
    "tgw-pair-attachment-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "log-status",
    "type",
    "packets-lost-no-route",
    "packets-lost-blackhole",
    "packets-lost-mtu-exceeded",
    "packets-lost-ttl-expired",
    "tcp-flags",
    "region",
    "flow-direction",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
];

const BYTES: &str = "uniflow: bytes is what srcaddr sent to dstaddr in the aggregation window; the reverse direction is its own record";

const FIELD_MAP: &[(&str, &str)] = &[
    ("ts", "start (epoch seconds, start of the aggregation window)"),
    ("duration", "end - start"),
    (
        "src_ip",
        "pkt-srcaddr when set (original source behind NAT/LB/TGW), else srcaddr",
    ),
    (
        "dst_ip",
        "pkt-dstaddr when set (original destination), else dstaddr",
    ),
    ("src_port / dst_port", "srcport / dstport"),
    ("proto", "protocol (IANA number)"),
    ("bytes_out", "bytes (srcaddr → dstaddr)"),
    ("bytes_in", "none (uniflow)"),
    (
        "filtered",
        "log-status NODATA/SKIPDATA without addresses (vpc_nodata, vpc_skipdata); action REJECT (vpc_rejected)",
    ),
];

pub static TEXT: FormatSpec = FormatSpec {
    id: "aws-vpc-flow",
    title: "AWS VPC / Transit Gateway Flow Logs (text, CSV)",
    kinds: &[RecordKind::Flow],
    detected_by: "a header line of VPC field names (hyphenated, space-separated as S3 writes it, or underscore CSV as Athena writes it), or header-less lines in the AWS default order (version, 12-digit account, eni-…, …, ACCEPT/REJECT, OK/NODATA/SKIPDATA) or the Transit Gateway default order (tgw-… ids)",
    bytes: BYTES,
    field_map: FIELD_MAP,
    detect: detect_text,
    read: read_text,
};

pub static JSON: FormatSpec = FormatSpec {
    id: "aws-vpc-flow-json",
    title: "AWS VPC Flow Logs (JSON records, e.g. Data Prepper)",
    kinds: &[RecordKind::Flow],
    detected_by: "JSON objects with VPC field names as keys (srcaddr, dstaddr, start and log_status/interface_id/account_id; underscore or hyphen)",
    bytes: BYTES,
    field_map: FIELD_MAP,
    detect: detect_json,
    read: read_json,
};

/// `pkt_srcaddr` → `pkt-srcaddr`.
fn canon(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('_', "-")
}

fn is_known(name: &str) -> bool {
    DEFAULT_ORDER.contains(&name) || TGW_ORDER.contains(&name)
}

/// A header line: every token a VPC field name, including the two addresses.
fn header_fields(line: &str) -> Option<Vec<String>> {
    let tokens: Vec<String> = if line.contains(',') {
        split_csv(line, b',')?.iter().map(|t| canon(t)).collect()
    } else {
        line.split_ascii_whitespace().map(canon).collect()
    };
    let ok = tokens.len() >= 3
        && tokens.iter().all(|t| is_known(t))
        && tokens.iter().any(|t| t == "srcaddr" || t == "pkt-srcaddr")
        && tokens.iter().any(|t| t == "dstaddr" || t == "pkt-dstaddr");
    ok.then_some(tokens)
}

/// An account id: AWS writes 12 digits, but exports that stored it as a number lose
/// leading zeros (a real sample has 11).
fn is_account(t: &str) -> bool {
    t == "-" || ((1..=12).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()))
}

fn is_version(t: &str) -> bool {
    matches!(t.parse::<u8>(), Ok(2..=10))
}

#[derive(Clone, Copy)]
enum Layout {
    Vpc,
    TransitGateway,
}

/// Which default layout a header-less line follows, if any.
fn default_layout(tokens: &[&str]) -> Option<Layout> {
    let t = |i: usize| tokens.get(i).copied().unwrap_or("");
    if tokens.len() >= 26
        && tokens.len() <= TGW_ORDER.len()
        && is_version(t(0))
        && is_account(t(2))
        && t(3).starts_with("tgw-")
        && matches!(t(25), "OK" | "NODATA" | "SKIPDATA" | "-")
    {
        return Some(Layout::TransitGateway);
    }
    if tokens.len() >= 14
        && tokens.len() <= DEFAULT_ORDER.len()
        && is_version(t(0))
        && is_account(t(1))
        && (t(2).starts_with("eni-") || t(2) == "-")
        && matches!(t(12), "ACCEPT" | "REJECT" | "-")
        && matches!(t(13), "OK" | "NODATA" | "SKIPDATA")
    {
        return Some(Layout::Vpc);
    }
    None
}

fn detect_text(h: &Head<'_>) -> bool {
    let line = h.first_line;
    if header_fields(line).is_some() {
        return true;
    }
    let tokens: Vec<&str> = line.split_ascii_whitespace().collect();
    default_layout(&tokens).is_some()
}

fn detect_json(h: &Head<'_>) -> bool {
    let Some(obj) = h.first_json else {
        return false;
    };
    let keys: Vec<String> = obj.keys().map(|k| canon(k)).collect();
    let has = |k: &str| keys.iter().any(|x| x == k);
    has("srcaddr")
        && has("dstaddr")
        && has("start")
        && (has("log-status") || has("interface-id") || has("account-id"))
}

/// Named values of one record, `-` and empty meaning unset.
trait Row {
    fn value(&self, name: &str) -> Option<&str>;
}

struct TextRow<'a> {
    names: &'a [String],
    values: &'a [Cow<'a, str>],
}

impl Row for TextRow<'_> {
    fn value(&self, name: &str) -> Option<&str> {
        let i = self.names.iter().position(|n| n == name)?;
        let v = self.values.get(i)?.trim();
        (!v.is_empty() && v != "-").then_some(v)
    }
}

struct JsonRow(Vec<(String, String)>);

impl Row for JsonRow {
    fn value(&self, name: &str) -> Option<&str> {
        let (_, v) = self.0.iter().find(|(k, _)| k == name)?;
        let v = v.trim();
        (!v.is_empty() && v != "-").then_some(v)
    }
}

type Fail = (&'static str, FieldError);

fn parse<T>(
    row: &dyn Row,
    name: &'static str,
    f: fn(&str) -> std::result::Result<T, FieldError>,
) -> std::result::Result<Option<T>, Fail> {
    match row.value(name) {
        None => Ok(None),
        Some(v) => f(v).map(Some).map_err(|e| (name, e)),
    }
}

fn missing(name: &'static str) -> Fail {
    (
        name,
        FieldError {
            reason: RejectReason::MissingField,
            detail: "required field is unset or absent".into(),
        },
    )
}

/// Per-file state: whether the data-bearing NODATA/SKIPDATA note was given.
#[derive(Default)]
struct State {
    noted_status_with_data: bool,
}

/// Turn one named row into an item.
fn convert(
    row: &dyn Row,
    line: u64,
    raw: &[u8],
    ctx: &ReadContext<'_>,
    state: &mut State,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let has_data = row.value("srcaddr").is_some() || row.value("pkt-srcaddr").is_some();
    let status = row.value("log-status");
    match status {
        Some("NODATA") if !has_data => {
            return sink(Item::Filtered {
                line,
                reason: "vpc_nodata",
            })
        }
        Some("SKIPDATA") if !has_data => {
            return sink(Item::Filtered {
                line,
                reason: "vpc_skipdata",
            })
        }
        _ => {}
    }
    if row.value("action") == Some("REJECT") {
        return sink(Item::Filtered {
            line,
            reason: "vpc_rejected",
        });
    }
    if matches!(status, Some("NODATA" | "SKIPDATA")) && !state.noted_status_with_data {
        state.noted_status_with_data = true;
        sink(Item::Note(
            "some rows have log-status NODATA or SKIPDATA but carry addresses and byte counts; they were read as flows".into(),
        ))?;
    }
    match flow(row, line, ctx) {
        Ok(f) => sink(Item::Record(Record::Flow(f))),
        Err((field, e)) => sink(Item::Reject(
            Reject::new(line, field, e.reason, e.detail).with_excerpt(raw),
        )),
    }
}

fn flow(row: &dyn Row, line: u64, ctx: &ReadContext<'_>) -> std::result::Result<FlowRecord, Fail> {
    let addr = |pkt: &'static str, plain: &'static str| -> std::result::Result<_, Fail> {
        match parse(row, pkt, values::parse_address)? {
            Some(a) => Ok(a),
            None => parse(row, plain, values::parse_address)?.ok_or_else(|| missing(plain)),
        }
    };
    let src_ip = addr("pkt-srcaddr", "srcaddr")?;
    let dst_ip = addr("pkt-dstaddr", "dstaddr")?;
    let start =
        parse(row, "start", values::parse_epoch_decimal)?.ok_or_else(|| missing("start"))?;
    let end = parse(row, "end", values::parse_epoch_decimal)?;
    let duration = end
        .and_then(|e| e.checked_sub(start))
        .filter(|d| *d >= 0)
        .map(|d| d as f64 / 1e6);
    Ok(FlowRecord {
        ts: start,
        uid: None,
        src_ip,
        src_port: parse(row, "srcport", values::parse_port)?,
        dst_ip,
        dst_port: parse(row, "dstport", values::parse_port)?,
        proto: row
            .value("protocol")
            .map_or(Proto::Other("unknown".into()), Proto::parse),
        bytes_out: parse(row, "bytes", values::parse_count)?,
        bytes_in: None,
        duration,
        local_orig: None,
        direction: ByteDirection::Uniflow,
        provenance: ctx.provenance(line),
    })
}

fn read_text(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let configured: Option<Vec<String>> = ctx
        .options
        .vpc_fields
        .as_ref()
        .map(|f| f.iter().map(|n| canon(n)).collect());
    let mut header: Option<Vec<String>> = None;
    let mut state = State::default();
    let default_names: Vec<String> = DEFAULT_ORDER.iter().map(|s| s.to_string()).collect();
    let tgw_names: Vec<String> = TGW_ORDER.iter().map(|s| s.to_string()).collect();
    read_lines(reader, ctx, sink, &mut |line, text, sink| {
        let trimmed = text.trim();
        if let Some(h) = header_fields(trimmed) {
            // S3 writes one header per object; concatenated objects repeat it.
            header = Some(h);
            return Ok(());
        }
        // Athena/Parquet exports are CSV; S3 text and CloudWatch lines are space-separated
        // (no VPC field value holds a comma).
        let csv = trimmed.contains(',');
        let values: Vec<Cow<'_, str>> = if csv {
            match split_csv(trimmed, b',') {
                Some(v) => v.into_iter().map(Cow::Owned).collect(),
                None => {
                    return sink(Item::Reject(
                        Reject::new(
                            line,
                            "(line)",
                            RejectReason::ColumnCount,
                            "a quoted field is left open",
                        )
                        .with_excerpt(text.as_bytes()),
                    ))
                }
            }
        } else {
            trimmed
                .split_ascii_whitespace()
                .map(Cow::Borrowed)
                .collect()
        };
        let tokens: Vec<&str> = values.iter().map(|v| v.as_ref()).collect();
        let names: &[String] = if let Some(h) = &header {
            h
        } else if let Some(c) = &configured {
            c
        } else {
            match default_layout(&tokens) {
                Some(Layout::TransitGateway) => &tgw_names,
                Some(Layout::Vpc) => &default_names,
                None => {
                    return sink(Item::Reject(
                        Reject::new(
                            line,
                            "(line)",
                            RejectReason::MissingHeader,
                            "no header line and the line is not in the AWS default order; name the fields with --vpc-fields",
                        )
                        .with_excerpt(text.as_bytes()),
                    ))
                }
            }
        };
        let column_ok = if header.is_some() || configured.is_some() {
            values.len() == names.len()
        } else {
            values.len() <= names.len()
        };
        if !column_ok {
            return sink(Item::Reject(
                Reject::new(
                    line,
                    "(line)",
                    RejectReason::ColumnCount,
                    format!(
                        "{} fields where the field list has {}",
                        values.len(),
                        names.len()
                    ),
                )
                .with_excerpt(text.as_bytes()),
            ));
        }
        let row = TextRow {
            names,
            values: &values,
        };
        convert(&row, line, text.as_bytes(), ctx, &mut state, sink)
    })
}

fn read_json(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut state = State::default();
    read_objects(reader, ctx, sink, &mut |line, value, raw, sink| {
        let Some(obj) = value.as_object() else {
            return sink(Item::Reject(
                Reject::new(
                    line,
                    "(line)",
                    RejectReason::MalformedJson,
                    "not a JSON object",
                )
                .with_excerpt(raw),
            ));
        };
        let pairs = obj
            .iter()
            .filter_map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                Some((canon(k), text))
            })
            .collect();
        convert(&JsonRow(pairs), line, raw, ctx, &mut state, sink)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReaderOptions;
    use std::net::IpAddr;

    fn run(spec: &FormatSpec, input: &str, options: &ReaderOptions) -> Vec<Item> {
        crate::read_text(spec.read, input, options)
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

    fn filtered(items: &[Item]) -> Vec<&'static str> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Filtered { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn default_v2_rows_nodata_skipdata_and_reject() {
        let input = "2 123456789010 eni-102010ab 198.51.100.1 192.0.2.1 443 49152 6 10 840 1439387263 1439387264 ACCEPT OK\n\
2 123456789010 eni-102010cd 192.0.2.1 198.51.100.1 49152 443 6 20 1680 1439387263 1439387266 REJECT OK\n\
2 123456789010 eni-1a2b3c4d - - - - - - - 1431280876 1431280934 - NODATA\n\
2 123456789010 eni-4b118871 - - - - - - - 1431280876 1431280934 - SKIPDATA\n";
        let items = run(&TEXT, input, &ReaderOptions::default());
        let f = flows(&items);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].ts, 1_439_387_263_000_000);
        assert_eq!(f[0].duration, Some(1.0));
        assert_eq!(f[0].src_ip, ip("198.51.100.1"));
        assert_eq!(f[0].src_port, Some(443));
        assert_eq!(f[0].dst_ip, ip("192.0.2.1"));
        assert_eq!(f[0].dst_port, Some(49152));
        assert_eq!(f[0].proto, Proto::Tcp);
        assert_eq!(f[0].bytes_out, Some(840));
        assert_eq!(f[0].bytes_in, None);
        assert_eq!(f[0].direction, ByteDirection::Uniflow);
        assert_eq!(f[0].provenance.line, 1);
        assert_eq!(
            filtered(&items),
            vec!["vpc_rejected", "vpc_nodata", "vpc_skipdata"]
        );
    }

    #[test]
    fn s3_header_in_any_order_and_pkt_addresses_win() {
        let input = "account-id bytes dstaddr dstport end instance-id packets pkt-dstaddr pkt-srcaddr protocol srcaddr srcport start subnet-id tcp-flags type version vpc-id\n\
000000000000 6392 172.18.160.93 47460 1568300425 i-06f9249b 10 172.18.160.93 192.168.0.1 6 172.18.160.68 443 1568300367 subnet-089e7569 19 IPv4 3 vpc-0461a061\n\
000000000000 1698 172.18.160.68 443 1568300425 i-06f9249b 10 - - 6 172.18.160.93 8088 1568300367 subnet-089e7569 3 IPv4 3 vpc-0461a061\n\
000000000000 1698 172.18.160.68 443\n";
        let items = run(&TEXT, input, &ReaderOptions::default());
        let f = flows(&items);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].src_ip, ip("192.168.0.1"));
        assert_eq!(f[0].dst_ip, ip("172.18.160.93"));
        assert_eq!(f[0].bytes_out, Some(6392));
        assert_eq!(f[0].ts, 1_568_300_367_000_000);
        assert_eq!(f[1].src_ip, ip("172.18.160.93"));
        assert_eq!(f[1].dst_ip, ip("172.18.160.68"));
        assert!(matches!(&items[2], Item::Reject(r) if r.reason == RejectReason::ColumnCount));
    }

    #[test]
    fn headerless_all_fields_nine_digit_start_and_configured_fields() {
        // A nine-digit start is read as seconds (1975), not rejected.
        let v5 = "5 64111117617 eni-069 89.160.20.156 10.200.0.0 50041 33004 17 52 1 164000066 164000297 ACCEPT OK vpc-0 subnet-0 i-0 1 IPv4 89.160.20.156 10.200.0.80 us-east-1 use1-az5 - - AMAZON CLOUDFRONT ingress 1\n";
        let items = run(&TEXT, v5, &ReaderOptions::default());
        let f = flows(&items);
        assert_eq!(f[0].ts, 164_000_066_000_000);
        assert_eq!(f[0].dst_ip, ip("10.200.0.80"));
        assert_eq!(f[0].proto, Proto::Udp);
        let options = ReaderOptions {
            vpc_fields: Some(vec![
                "srcaddr".into(),
                "dstaddr".into(),
                "bytes".into(),
                "start".into(),
            ]),
            ..ReaderOptions::default()
        };
        let items = run(&TEXT, "10.0.0.5 160.79.104.10 5000 1782864000\n", &options);
        let f = flows(&items);
        assert_eq!(f[0].dst_ip, ip("160.79.104.10"));
        assert_eq!(f[0].bytes_out, Some(5000));
        assert_eq!(f[0].proto, Proto::Other("unknown".into()));
        let items = run(&TEXT, "not a vpc line\n", &ReaderOptions::default());
        assert!(matches!(&items[0], Item::Reject(r) if r.reason == RejectReason::MissingHeader));
    }

    #[test]
    fn transit_gateway_rows_with_status_and_data_are_read_with_a_note() {
        let line = "6 TransitGateway 123456789012 tgw-0a1 tgw-attach-1 - - vpc-1 vpc-2 - - eni-1 eni-2 - - - 10.0.0.5 160.79.104.10 40000 443 6 12 3456 1782864000 1782864060 SKIPDATA - - - - - - - egress - -\n";
        let items = run(&TEXT, line, &ReaderOptions::default());
        assert!(matches!(&items[0], Item::Note(_)));
        let f = flows(&items);
        assert_eq!(f[0].src_ip, ip("10.0.0.5"));
        assert_eq!(f[0].dst_port, Some(443));
        assert_eq!(f[0].bytes_out, Some(3456));
        assert_eq!(f[0].duration, Some(60.0));
    }

    #[test]
    fn athena_csv_and_json_records_with_underscore_names() {
        let csv = "account_id,action,bytes,dstaddr,dstport,end,log_status,protocol,srcaddr,srcport,start\n\
\"123456789012\",\"ACCEPT\",\"38526\",\"160.79.104.10\",\"443\",\"1752247603\",\"OK\",\"6\",\"10.0.0.1\",\"8080\",\"1752247584\"\n";
        let items = run(&TEXT, csv, &ReaderOptions::default());
        let f = flows(&items);
        assert_eq!(f[0].bytes_out, Some(38526));
        assert_eq!(f[0].ts, 1_752_247_584_000_000);
        let json = "[\n{\"account_id\": \"1\", \"action\": \"ACCEPT\", \"bytes\": 40, \"srcaddr\": \"10.0.0.1\", \"dstaddr\": \"192.0.2.1\", \"dstport\": 443, \"srcport\": 5, \"protocol\": 6, \"start\": 1649721732, \"end\": 1649721788, \"log_status\": \"OK\", \"pkt_srcaddr\": \"-\"}\n]\n";
        let items = run(&JSON, json, &ReaderOptions::default());
        let f = flows(&items);
        assert_eq!(f[0].src_ip, ip("10.0.0.1"));
        assert_eq!(f[0].bytes_out, Some(40));
        assert_eq!(f[0].duration, Some(56.0));
    }

    #[test]
    fn detection_is_specific() {
        let head = |text: &str, f: fn(&Head<'_>) -> bool| {
            let first_json = crate::json::first_object(text).and_then(|v| match v {
                serde_json::Value::Object(m) => Some(m),
                _ => None,
            });
            f(&Head {
                path: std::path::Path::new("test.log"),
                bytes: text.as_bytes(),
                text,
                first_line: text.lines().next().unwrap_or("").trim(),
                first_json: first_json.as_ref(),
            })
        };
        assert!(head(
            "2 123456789010 eni-1 - - - - - - - 1 2 - NODATA\n",
            detect_text
        ));
        assert!(head(
            "version account-id interface-id srcaddr dstaddr\n",
            detect_text
        ));
        assert!(!head("ts,te,td,sa,da,sp,dp\n", detect_text));
        assert!(!head("sIP,dIP,sPort,dPort\n", detect_text));
        assert!(!head("#fields\tts\tuid\n", detect_text));
        assert!(head(
            "{\"srcaddr\":\"1.2.3.4\",\"dstaddr\":\"1.2.3.5\",\"start\":1,\"log_status\":\"OK\"}",
            detect_json
        ));
        assert!(!head(
            "{\"src_addr\":\"1.2.3.4\",\"dst_addr\":\"x\"}",
            detect_json
        ));
    }
}
