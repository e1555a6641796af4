//! User-defined readers: a TOML mapping file (`--mapping FILE`) names the columns of a
//! CSV export, or the keys of a JSON-lines export, that hold each normalised field.
//!
//! A loaded mapping is a format of its own, id `mapping:<name>`: it implements
//! [`FormatReader`] and travels as [`Format::Defined`](super::Format::Defined), owning its
//! configuration. Detection consults the mappings in
//! [`ReaderOptions`](super::ReaderOptions) before the registry: a file is a mapping's when
//! its CSV header holds every `recognise` column, or its first JSON object every
//! `recognise` key, and it is then read with that mapping.
//!
//! Nothing is guessed: byte direction and timestamp format are required, and zone-less
//! time patterns use the mapping's `timezone`, else `--log-timezone`, else UTC with a note.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::json::{read_objects, Fields};
use super::text::{read_lines, split_csv};
use super::values::{self, FieldError};
use super::{FormatReader, Head, Item, ReadContext, RecordKind, Reject, RejectReason};
use xborder_model::error::{Error, Result};
use xborder_model::schema::{
    normalise_hostname, AnswerValue, ByteDirection, DnsAnswer, DnsRecord, FlowRecord, Micros,
    Proto, Provenance, Record, ShortText,
};

const FLOW_FIELDS: &[&str] = &[
    "ts",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "proto",
    "bytes_out",
    "bytes_in",
    "uid",
    "duration",
];
const DNS_FIELDS: &[&str] = &[
    "ts",
    "client_ip",
    "query",
    "qtype",
    "rcode",
    "answers",
    "ttl",
];

/// The mapping file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    name: String,
    kind: String,
    input: String,
    delimiter: Option<String>,
    recognise: Vec<String>,
    bytes: Option<String>,
    timestamp_format: String,
    timezone: Option<String>,
    answers_separator: Option<String>,
    fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Csv(u8),
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TsFormat {
    EpochS,
    EpochMs,
    EpochUs,
    EpochNs,
    Rfc3339,
    Pattern { pattern: String, zoned: bool },
}

/// A loaded, validated mapping.
#[derive(Debug)]
pub struct Mapping {
    pub name: String,
    pub path: PathBuf,
    kind: RecordKind,
    input: Input,
    recognise: Vec<String>,
    direction: ByteDirection,
    ts_format: TsFormat,
    timezone: Option<chrono::FixedOffset>,
    answers_separator: String,
    /// Normalised field → source column or key.
    fields: BTreeMap<String, String>,
    /// `mapping:<name>`, this format's id.
    id: String,
    /// What `xborder formats` and run.json call it.
    title: String,
}

fn config_error(path: &Path, text: &str, key: &str, message: String) -> Error {
    // Name the line the key is on, when it can be found.
    let line = text
        .lines()
        .position(|l| {
            let t = l.trim_start();
            t.starts_with(key)
                && t.get(key.len()..)
                    .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map(|i| format!("line {}: ", i + 1))
        .unwrap_or_default();
    Error::Config {
        path: path.display().to_string(),
        message: format!("{line}`{key}`: {message}"),
    }
}

/// Read and validate a mapping file.
pub fn load(path: &Path) -> Result<Arc<Mapping>> {
    let text = crate::input::read_regular_text(path)?;
    parse(path, &text)
}

/// Validate a mapping given as text (`path` names it in errors).
pub fn parse(path: &Path, text: &str) -> Result<Arc<Mapping>> {
    let raw: RawMapping = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| {
                let upto = text.get(..s.start).unwrap_or("");
                format!("line {}: ", upto.matches('\n').count() + 1)
            })
            .unwrap_or_default();
        Error::Config {
            path: path.display().to_string(),
            message: format!("{line}{}", e.message()),
        }
    })?;
    let err = |key: &str, msg: String| config_error(path, text, key, msg);
    let name = raw.name.trim().to_string();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(err(
            "name",
            "use letters, digits, `-` and `_` only (it becomes the format id mapping:<name>)"
                .into(),
        ));
    }
    let kind = match raw.kind.as_str() {
        "flow" => RecordKind::Flow,
        "dns" => RecordKind::Dns,
        other => return Err(err("kind", format!("`{other}` is not flow or dns"))),
    };
    let input = match raw.input.as_str() {
        "csv" => {
            let d = raw.delimiter.as_deref().unwrap_or(",");
            let d = if d == "\\t" || d == "tab" { "\t" } else { d };
            match d.as_bytes() {
                [b] if *b != b'"' && *b != b'\n' => Input::Csv(*b),
                _ => {
                    return Err(err(
                        "delimiter",
                        format!("`{d}` is not a single ASCII character"),
                    ))
                }
            }
        }
        "json" => {
            if raw.delimiter.is_some() {
                return Err(err("delimiter", "only for input = \"csv\"".into()));
            }
            Input::Json
        }
        other => return Err(err("input", format!("`{other}` is not csv or json"))),
    };
    if raw.recognise.is_empty() || raw.recognise.iter().any(|r| r.trim().is_empty()) {
        return Err(err(
            "recognise",
            "list at least one column (csv) or key (json) that every such file has".into(),
        ));
    }
    let allowed = if kind == RecordKind::Flow {
        FLOW_FIELDS
    } else {
        DNS_FIELDS
    };
    for (k, v) in &raw.fields {
        if !allowed.contains(&k.as_str()) {
            return Err(err(
                k,
                format!(
                    "not a normalised {} field (one of {})",
                    raw.kind,
                    allowed.join(", ")
                ),
            ));
        }
        if v.trim().is_empty() {
            return Err(err(k, "names no source column".into()));
        }
    }
    let required: &[&str] = if kind == RecordKind::Flow {
        &["ts", "src_ip", "dst_ip"]
    } else {
        &["ts", "client_ip", "query"]
    };
    for r in required {
        if !raw.fields.contains_key(*r) {
            return Err(err(
                "fields",
                format!("`{r}` is required for kind = \"{}\"", raw.kind),
            ));
        }
    }
    let direction = match (kind, raw.bytes.as_deref()) {
        (RecordKind::Flow, Some("biflow")) => ByteDirection::Biflow,
        (RecordKind::Flow, Some("uniflow")) => ByteDirection::Uniflow,
        (RecordKind::Flow, Some("combined")) => ByteDirection::Combined,
        (RecordKind::Flow, None) => {
            return Err(err(
                "bytes",
                "say what the byte counts mean: biflow, uniflow or combined".into(),
            ))
        }
        (RecordKind::Flow, Some(other)) => {
            return Err(err(
                "bytes",
                format!("`{other}` is not biflow, uniflow or combined"),
            ))
        }
        (_, Some(_)) => return Err(err("bytes", "only for kind = \"flow\"".into())),
        (_, None) => ByteDirection::Biflow,
    };
    if direction == ByteDirection::Combined && raw.fields.contains_key("bytes_in") {
        return Err(err(
            "bytes_in",
            "a combined total goes in bytes_out; bytes_in must be absent".into(),
        ));
    }
    let ts_format = match raw.timestamp_format.as_str() {
        "epoch_s" => TsFormat::EpochS,
        "epoch_ms" => TsFormat::EpochMs,
        "epoch_us" => TsFormat::EpochUs,
        "epoch_ns" => TsFormat::EpochNs,
        "rfc3339" => TsFormat::Rfc3339,
        p if p.contains('%') => {
            let zoned = p.contains("%z") || p.contains("%:z") || p.contains("%#z");
            // Reject patterns chrono cannot even format.
            let probe = chrono::NaiveDate::from_ymd_opt(2026, 7, 10)
                .and_then(|d| d.and_hms_opt(8, 0, 0))
                .map(|n| n.and_utc().fixed_offset());
            let ok = probe.is_some_and(|dt| {
                use std::fmt::Write;
                let mut s = String::new();
                write!(s, "{}", dt.format(p)).is_ok()
            });
            if !ok {
                return Err(err(
                    "timestamp_format",
                    format!("`{p}` is not a valid strftime pattern"),
                ));
            }
            TsFormat::Pattern {
                pattern: p.to_string(),
                zoned,
            }
        }
        other => {
            return Err(err(
                "timestamp_format",
                format!("`{other}` is not epoch_s, epoch_ms, epoch_us, epoch_ns, rfc3339 or a strftime pattern"),
            ))
        }
    };
    let timezone = match raw.timezone.as_deref() {
        None => None,
        Some(tz) => Some(parse_offset(tz).ok_or_else(|| {
            err(
                "timezone",
                format!("`{tz}` is not a UTC offset such as +02:00, -0500 or UTC"),
            )
        })?),
    };
    let answers_separator = raw.answers_separator.unwrap_or_else(|| ",".into());
    if answers_separator.is_empty() {
        return Err(err("answers_separator", "must not be empty".into()));
    }
    let id = format!("mapping:{name}");
    let title = format!("User mapping {name} ({})", path.display());
    Ok(Arc::new(Mapping {
        name,
        path: path.to_path_buf(),
        kind,
        input,
        recognise: raw.recognise,
        direction,
        ts_format,
        timezone,
        answers_separator,
        fields: raw.fields,
        id,
        title,
    }))
}

fn parse_offset(s: &str) -> Option<chrono::FixedOffset> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("utc") || t == "Z" {
        return chrono::FixedOffset::east_opt(0);
    }
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, t.get(1..)?),
        b'-' => (-1, t.get(1..)?),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits.get(..2)?.parse().ok()?;
    let m: i32 = digits.get(2..)?.parse().ok()?;
    if h > 23 || m > 59 {
        return None;
    }
    chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

impl FormatReader for Mapping {
    fn id(&self) -> &str {
        &self.id
    }

    fn title(&self) -> &str {
        &self.title
    }

    fn kinds(&self) -> &'static [RecordKind] {
        if self.kind == RecordKind::Flow {
            &[RecordKind::Flow]
        } else {
            &[RecordKind::Dns]
        }
    }

    fn detected_by(&self) -> &str {
        "the columns or keys listed in the mapping's `recognise`"
    }

    fn bytes(&self) -> &str {
        match self.direction {
            ByteDirection::Biflow => "as the mapping says: biflow (bytes_out sent by src_ip, bytes_in received)",
            ByteDirection::Uniflow => "as the mapping says: uniflow (bytes_out sent by src_ip to dst_ip, one direction per record)",
            ByteDirection::Combined => "as the mapping says: combined (bytes_out is both directions)",
        }
    }

    fn field_map(&self) -> Vec<(&str, &str)> {
        self.fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    fn read(
        &self,
        reader: &mut dyn BufRead,
        ctx: &ReadContext<'_>,
        sink: &mut dyn FnMut(Item) -> Result<()>,
    ) -> Result<()> {
        self.read_file(reader, ctx, sink)
    }
}

impl Mapping {
    /// This mapping as a format: it reads with this mapping, whatever else is loaded.
    pub fn format(self: &Arc<Self>) -> super::Format {
        super::Format::Defined(Arc::clone(self) as Arc<dyn FormatReader>)
    }

    /// True when a file's head is this mapping's.
    fn matches_head(&self, h: &Head<'_>) -> bool {
        match self.input {
            Input::Csv(d) => self.matches_header(h.first_line, d),
            Input::Json => h.first_json.is_some_and(|o| {
                let v = Value::Object(o.clone());
                self.recognise
                    .iter()
                    .all(|k| super::json::get(&v, k).is_some())
            }),
        }
    }

    fn matches_header(&self, line: &str, delimiter: u8) -> bool {
        split_csv(line, delimiter)
            .is_some_and(|cols| self.recognise.iter().all(|r| cols.iter().any(|c| c == r)))
    }
}

/// The mapping a file's head matches: `Ok(None)` when none does, an error naming them
/// when several do.
pub fn detect(
    path: &Path,
    h: &Head<'_>,
    mappings: &[Arc<Mapping>],
) -> Result<Option<super::Format>> {
    let hits: Vec<&Arc<Mapping>> = mappings.iter().filter(|m| m.matches_head(h)).collect();
    match hits.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.format())),
        many => {
            let ids: Vec<&str> = many.iter().map(|m| m.id.as_str()).collect();
            Err(Error::UnknownFormat {
                path: path.to_path_buf(),
                detail: format!(
                    "the content matches more than one mapping ({}); make their `recognise` lists more specific",
                    ids.join(", ")
                ),
                supported: super::Format::supported_list(),
            })
        }
    }
}

fn field_err(reason: RejectReason, detail: String) -> FieldError {
    FieldError { reason, detail }
}

impl Mapping {
    /// Read one mapped file: JSON objects, or a CSV header line and then its rows.
    fn read_file(
        &self,
        reader: &mut dyn BufRead,
        ctx: &ReadContext<'_>,
        sink: &mut dyn FnMut(Item) -> Result<()>,
    ) -> Result<()> {
        let mut state = State::default();
        let delimiter = match self.input {
            Input::Json => {
                return read_objects(reader, ctx, sink, &mut |line, value, raw, sink| {
                    let get = |col: &str| -> std::result::Result<Option<String>, FieldError> {
                        Fields(value)
                            .text(col)
                            .map(|o| o.map(|c| c.into_owned()))
                            .map_err(|(_, e)| e)
                    };
                    emit(self, &mut state, line, &get, raw, ctx, sink)
                });
            }
            Input::Csv(d) => d,
        };
        let mut header: Option<Vec<String>> = None;
        read_lines(reader, ctx, sink, &mut |number, text, sink| {
            let Some(cols) = header.as_ref() else {
                header = split_csv(text, delimiter);
                if header.is_none() {
                    return sink(no_mapping(number, text.as_bytes()));
                }
                return Ok(());
            };
            let Some(row) = split_csv(text, delimiter) else {
                return sink(Item::Reject(
                    Reject::new(
                        number,
                        "(line)",
                        RejectReason::ColumnCount,
                        "a quoted field is not closed",
                    )
                    .with_excerpt(text.as_bytes()),
                ));
            };
            if row.len() != cols.len() {
                return sink(Item::Reject(
                    Reject::new(
                        number,
                        "(line)",
                        RejectReason::ColumnCount,
                        format!("{} fields; the header has {}", row.len(), cols.len()),
                    )
                    .with_excerpt(text.as_bytes()),
                ));
            }
            let get = |col: &str| -> std::result::Result<Option<String>, FieldError> {
                Ok(cols
                    .iter()
                    .position(|c| c == col)
                    .and_then(|i| row.get(i))
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty() && *v != "-")
                    .map(str::to_string))
            };
            emit(self, &mut state, number, &get, text.as_bytes(), ctx, sink)
        })
    }
}

#[derive(Default)]
struct State {
    noted_zone: bool,
}

fn no_mapping(line: u64, raw: &[u8]) -> Item {
    Item::Reject(
        Reject::new(
            line,
            "(header)",
            RejectReason::MissingHeader,
            "no --mapping recognises this header",
        )
        .with_excerpt(raw),
    )
}

type Getter<'g> = dyn Fn(&str) -> std::result::Result<Option<String>, FieldError> + 'g;

fn emit(
    m: &Mapping,
    state: &mut State,
    line: u64,
    get: &Getter<'_>,
    raw: &[u8],
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let provenance = ctx.provenance(line);
    let result = match m.kind {
        RecordKind::Dns => map_dns(m, get, provenance, ctx).map(Record::Dns),
        _ => map_flow(m, get, provenance, ctx).map(Record::Flow),
    };
    match result {
        Ok(rec) => {
            let zoneless = matches!(m.ts_format, TsFormat::Pattern { zoned: false, .. });
            if zoneless
                && m.timezone.is_none()
                && ctx.options.log_timezone.is_none()
                && !state.noted_zone
            {
                state.noted_zone = true;
                sink(Item::Note(format!(
                    "mapping {}: timestamps carry no zone and were read as UTC; set `timezone` in the mapping or --log-timezone",
                    m.name
                )))?;
            }
            sink(Item::Record(rec))
        }
        Err((field, e)) => sink(Item::Reject(
            Reject::new(line, &field, e.reason, e.detail).with_excerpt(raw),
        )),
    }
}

type MapResult<T> = std::result::Result<T, (String, FieldError)>;

/// The source value of a normalised field, if the mapping names one and it is set.
fn value(m: &Mapping, get: &Getter<'_>, field: &str) -> MapResult<Option<(String, String)>> {
    let Some(col) = m.fields.get(field) else {
        return Ok(None);
    };
    match get(col) {
        Ok(Some(v)) => Ok(Some((col.clone(), v))),
        Ok(None) => Ok(None),
        Err(e) => Err((col.clone(), e)),
    }
}

fn required(m: &Mapping, get: &Getter<'_>, field: &str) -> MapResult<(String, String)> {
    value(m, get, field)?.ok_or_else(|| {
        let col = m.fields.get(field).cloned().unwrap_or_default();
        (
            col,
            field_err(RejectReason::MissingField, format!("required for {field}")),
        )
    })
}

fn parsed<T>(
    m: &Mapping,
    get: &Getter<'_>,
    field: &str,
    f: impl Fn(&str) -> std::result::Result<T, FieldError>,
) -> MapResult<Option<T>> {
    match value(m, get, field)? {
        None => Ok(None),
        Some((col, v)) => f(&v).map(Some).map_err(|e| (col, e)),
    }
}

fn timestamp(m: &Mapping, get: &Getter<'_>, ctx: &ReadContext<'_>) -> MapResult<Micros> {
    let (col, v) = required(m, get, "ts")?;
    parse_ts(m, &v, ctx.options.log_timezone).map_err(|e| (col, e))
}

fn parse_ts(
    m: &Mapping,
    v: &str,
    log_tz: Option<chrono::FixedOffset>,
) -> std::result::Result<Micros, FieldError> {
    let v = v.trim();
    let bad = || {
        field_err(
            RejectReason::InvalidTimestamp,
            format!("`{v}` does not match the mapping's timestamp_format"),
        )
    };
    let from_micros = |micros: i64| -> std::result::Result<Micros, FieldError> {
        let dt = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        values::local_to_micros(dt.naive_utc(), None)
    };
    // Integer epoch in units of 1/`per_second` s.
    let scaled = |per_second: u128| -> std::result::Result<Micros, FieldError> {
        let n: u128 = v.parse().map_err(|_| bad())?;
        let micros = n.checked_mul(1_000_000).ok_or_else(bad)? / per_second;
        from_micros(i64::try_from(micros).map_err(|_| bad())?)
    };
    match &m.ts_format {
        TsFormat::EpochS => values::parse_epoch_decimal(v),
        TsFormat::EpochMs => scaled(1_000),
        TsFormat::EpochUs => scaled(1_000_000),
        TsFormat::EpochNs => scaled(1_000_000_000),
        TsFormat::Rfc3339 => values::parse_timestamp_any(v),
        TsFormat::Pattern {
            pattern,
            zoned: true,
        } => {
            let dt = chrono::DateTime::parse_from_str(v, pattern).map_err(|_| bad())?;
            values::local_to_micros(dt.naive_utc(), None)
        }
        TsFormat::Pattern {
            pattern,
            zoned: false,
        } => {
            let naive = chrono::NaiveDateTime::parse_from_str(v, pattern).map_err(|_| bad())?;
            values::local_to_micros(naive, m.timezone.or(log_tz))
        }
    }
}

fn map_flow(
    m: &Mapping,
    get: &Getter<'_>,
    provenance: Provenance,
    ctx: &ReadContext<'_>,
) -> MapResult<FlowRecord> {
    let ts = timestamp(m, get, ctx)?;
    let ip = |field: &str| -> MapResult<std::net::IpAddr> {
        let (col, v) = required(m, get, field)?;
        values::parse_address(&v).map_err(|e| (col, e))
    };
    let src_ip = ip("src_ip")?;
    let dst_ip = ip("dst_ip")?;
    Ok(FlowRecord {
        ts,
        uid: value(m, get, "uid")?.map(|(_, v)| compact_str::format_compact!("{}:{v}", m.name)),
        src_ip,
        src_port: parsed(m, get, "src_port", values::parse_port)?,
        dst_ip,
        dst_port: parsed(m, get, "dst_port", values::parse_port)?,
        proto: value(m, get, "proto")?
            .map(|(_, v)| Proto::parse(&v))
            .unwrap_or_else(|| Proto::Other("unknown".into())),
        bytes_out: parsed(m, get, "bytes_out", values::parse_count_lenient)?,
        bytes_in: parsed(m, get, "bytes_in", values::parse_count_lenient)?,
        duration: parsed(m, get, "duration", values::parse_seconds)?,
        local_orig: None,
        direction: m.direction,
        provenance,
    })
}

fn map_dns(
    m: &Mapping,
    get: &Getter<'_>,
    provenance: Provenance,
    ctx: &ReadContext<'_>,
) -> MapResult<DnsRecord> {
    let ts = timestamp(m, get, ctx)?;
    let (col, v) = required(m, get, "client_ip")?;
    let client_ip = values::parse_address(&v).map_err(|e| (col, e))?;
    let (_, q) = required(m, get, "query")?;
    let sep = m.answers_separator.as_str();
    let values_of = |field: &str| -> MapResult<Vec<String>> {
        Ok(value(m, get, field)?
            .map(|(_, v)| {
                v.split(sep)
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default())
    };
    let answers_raw = values_of("answers")?;
    let ttls_raw = values_of("ttl")?;
    let ttl_col = m.fields.get("ttl").cloned().unwrap_or_default();
    let ttls: Vec<u32> = ttls_raw
        .iter()
        .map(|t| values::parse_ttl(t).map_err(|e| (ttl_col.clone(), e)))
        .collect::<MapResult<_>>()?;
    let answers = answers_raw
        .iter()
        .enumerate()
        .map(|(i, a)| DnsAnswer {
            value: match xborder_model::schema::parse_ip(a) {
                Some(ip) => AnswerValue::Address(ip),
                None => AnswerValue::Other(normalise_hostname(a)),
            },
            // One TTL per answer, or one for them all.
            ttl: if ttls.len() == answers_raw.len() {
                ttls.get(i).copied()
            } else if ttls.len() == 1 {
                ttls.first().copied()
            } else {
                None
            },
        })
        .collect();
    Ok(DnsRecord {
        ts,
        response_ts: ts,
        uid: None,
        trans_id: None,
        client_ip,
        query: normalise_hostname(&q),
        qtype: value(m, get, "qtype")?.map(|(_, v)| ShortText::from(v)),
        rcode: value(m, get, "rcode")?.map(|(_, v)| ShortText::from(v)),
        answers,
        provenance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOW: &str = r#"
name = "proxy-export"
kind = "flow"
input = "csv"
delimiter = ";"
recognise = ["start", "client", "server"]
bytes = "biflow"
timestamp_format = "%d/%m/%Y %H:%M:%S"
timezone = "+02:00"

[fields]
ts = "start"
src_ip = "client"
src_port = "cport"
dst_ip = "server"
dst_port = "sport"
proto = "proto"
bytes_out = "sent"
bytes_in = "received"
uid = "session"
"#;

    fn run(m: Arc<Mapping>, text: &str) -> Vec<Item> {
        let options = super::super::ReaderOptions {
            mappings: vec![Arc::clone(&m)],
            ..Default::default()
        };
        let ctx = ReadContext {
            path: Path::new("test.log"),
            file_index: 0,
            options: &options,
        };
        let mut items = Vec::new();
        let mut cursor = std::io::Cursor::new(text.as_bytes().to_vec());
        m.format()
            .reader()
            .read(&mut cursor, &ctx, &mut |item| {
                items.push(item);
                Ok(())
            })
            .unwrap();
        items
    }

    #[test]
    fn csv_flow_mapping_reads_and_shifts_local_time() {
        let m = parse(Path::new("m.toml"), FLOW).unwrap();
        assert_eq!(m.format().id(), "mapping:proxy-export");
        let items = run(
            m,
            "session;start;client;cport;server;sport;proto;sent;received\n\
             s1;10/07/2026 10:00:00;192.0.2.10;50123;160.79.104.10;443;tcp;1200;340\n\
             s2;31/02/2026 10:00:00;192.0.2.10;50124;160.79.104.10;443;tcp;1;1\n",
        );
        let Item::Record(Record::Flow(f)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(f.ts, 1_783_670_400_000_000); // 10:00 at +02:00 = 08:00Z
        assert_eq!((f.bytes_out, f.bytes_in), (Some(1200), Some(340)));
        assert_eq!(f.uid.as_deref(), Some("proxy-export:s1"));
        assert_eq!(f.dst_port, Some(443));
        assert!(matches!(&items[1], Item::Reject(r) if r.field == "start"));
    }

    #[test]
    fn json_dns_mapping_with_answers_and_epoch_ms() {
        let toml = r#"
name = "resolver"
kind = "dns"
input = "json"
recognise = ["event.time", "qname"]
timestamp_format = "epoch_ms"
answers_separator = "|"
[fields]
ts = "event.time"
client_ip = "client"
query = "qname"
answers = "ips"
ttl = "ttl"
"#;
        let m = parse(Path::new("m.toml"), toml).unwrap();
        let items = run(
            m,
            r#"{"event":{"time":1783670400250},"client":"192.0.2.10","qname":"API.Anthropic.com.","ips":"160.79.104.10|edge.example.net","ttl":"60"}"#,
        );
        let Item::Record(Record::Dns(d)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(d.ts, 1_783_670_400_250_000);
        assert_eq!(d.query, "api.anthropic.com");
        assert_eq!(d.answers.len(), 2);
        assert_eq!(d.answers[0].ttl, Some(60));
        assert_eq!(
            d.answers[1].value,
            AnswerValue::Other("edge.example.net".into())
        );
    }

    #[test]
    fn errors_name_the_file_key_and_line() {
        let bad = FLOW.replace("bytes_out = \"sent\"", "bytes_up = \"sent\"");
        let e = parse(Path::new("m.toml"), &bad).unwrap_err().to_string();
        assert!(
            e.contains("m.toml") && e.contains("bytes_up") && e.contains("line 18"),
            "{e}"
        );
        let bad = FLOW.replace("bytes = \"biflow\"", "bytes = \"both\"");
        let e = parse(Path::new("m.toml"), &bad).unwrap_err().to_string();
        assert!(e.contains("line 7") && e.contains("`bytes`"), "{e}");
        let e = parse(Path::new("m.toml"), "name = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1"), "{e}");
        let bad = FLOW.replace("timezone = \"+02:00\"", "timezone = \"CEST\"");
        assert!(parse(Path::new("m.toml"), &bad).is_err());
    }
}
