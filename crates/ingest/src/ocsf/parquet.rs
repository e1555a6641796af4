//! OCSF as Parquet, the way Amazon Security Lake stores it: one column per top-level OCSF
//! attribute, objects as nested struct columns (`src_endpoint` {ip, port, …}), arrays as
//! list columns. Flattened exports (Athena or Glue `SELECT src_endpoint.ip AS
//! "src_endpoint.ip"`) are read too: a column named with dots is looked up like a dotted
//! JSON key.
//!
//! Each row is turned into the JSON shape of the same event and mapped exactly as
//! `ocsf-json` maps it, so the two cannot drift apart. The row number (1-based) stands in
//! for the line number in rejects and evidence.
//!
//! The file is opened by path, or read into memory when compressed (see
//! [`crate::parquet_file`]).

use std::fs::File;
use std::io::BufRead;
use std::path::Path;

use polars::prelude::*;
use serde_json::{Map, Number, Value};

use super::{items, State, FIELD_MAP};
use crate::parquet_file::{consistent, guarded, schema_names, ParquetInput};
use crate::{FormatSpec, Head, Item, ReadContext, RecordKind, Reject, RejectReason};
use xborder_model::error::{Error, Result};

/// Top-level OCSF attributes the mapping reads; other columns are not loaded.
const COLUMNS: &[&str] = &[
    "class_uid",
    "category_uid",
    "activity_id",
    "time",
    "time_dt",
    "start_time",
    "start_time_dt",
    "end_time",
    "end_time_dt",
    "src_endpoint",
    "dst_endpoint",
    "connection_info",
    "traffic",
    "query",
    "answers",
    "rcode",
    "rcode_id",
    "tls",
    "http_request",
    "metadata",
];

/// Rows read per batch: bounds memory on large Security Lake objects.
const BATCH_ROWS: usize = 65_536;

pub static PARQUET: FormatSpec = FormatSpec {
    id: "ocsf-parquet",
    title: "OCSF Parquet (Amazon Security Lake)",
    kinds: &[RecordKind::Flow, RecordKind::Dns, RecordKind::Hostname],
    detected_by: "a Parquet file (PAR1) whose columns include class_uid and src_endpoint, dst_endpoint, query or traffic (nested or as dotted column names)",
    bytes: "as ocsf-json: traffic.bytes_out is the upload; a record with only traffic.bytes is one direction",
    field_map: FIELD_MAP,
    detect,
    read,
};

fn detect(h: &Head<'_>) -> bool {
    h.bytes.starts_with(b"PAR1") && schema_names(h.path).is_some_and(|n| is_ocsf(&n))
}

fn is_ocsf(names: &[String]) -> bool {
    let has = |p: &str| {
        names
            .iter()
            .any(|n| n == p || n.starts_with(&format!("{p}.")))
    };
    has("class_uid")
        && ["src_endpoint", "dst_endpoint", "query", "traffic"]
            .iter()
            .any(|p| has(p))
}

fn whole_file_reject(detail: String) -> Item {
    Item::Reject(Reject::new(0, "(file)", RejectReason::InvalidValue, detail))
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let Some(mut source) = ParquetInput::open(reader, ctx)? else {
        return sink(whole_file_reject("not a Parquet file".into()));
    };
    let polars_err = |e: PolarsError| whole_file_reject(format!("unreadable Parquet: {e}"));
    let mut first = source.reader().map_err(|e| ctx.io_error(e))?;
    let (names, rows) = match guarded(|| first.schema().and_then(|s| Ok((s, first.num_rows()?)))) {
        Ok((schema, rows)) => {
            let names: Vec<String> = schema
                .iter_names()
                .map(|n| n.to_string())
                .filter(|n| {
                    COLUMNS.iter().any(|c| {
                        n == c || (n.starts_with(c) && n.as_bytes().get(c.len()) == Some(&b'.'))
                    })
                })
                .collect();
            (names, rows)
        }
        Err(e) => {
            source.finish(reader, ctx)?;
            return sink(polars_err(e));
        }
    };
    let mut state = State::default();
    let mut start = 0usize;
    while start < rows {
        let slice = source.reader().map_err(|e| ctx.io_error(e))?;
        let df = match guarded(|| {
            slice
                .with_columns(Some(names.clone()))
                .with_slice(Some((start, BATCH_ROWS)))
                .finish()
                .and_then(|df| consistent(df, start, BATCH_ROWS.min(rows - start)))
        }) {
            Ok(df) => df,
            Err(e) => {
                // The footer's row count says how many records this slice held: each is
                // rejected, and reading goes on with the next slice.
                let end = (start + BATCH_ROWS).min(rows);
                let detail = format!(
                    "rows {}-{end} cannot be decoded (corrupt data page?): {e}",
                    start + 1
                );
                for row in start..end {
                    sink(Item::Reject(Reject::new(
                        row as u64 + 1,
                        "(row group)",
                        RejectReason::InvalidValue,
                        detail.clone(),
                    )))?;
                }
                start = end;
                source.keep_pace(reader, ctx, start, rows)?;
                continue;
            }
        };
        let height = df.height();
        if height == 0 {
            break;
        }
        let columns: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        for i in 0..height {
            let line = (start + i + 1) as u64;
            let row = match df.get_row(i) {
                Ok(r) => r,
                Err(e) => {
                    sink(Item::Reject(Reject::new(
                        line,
                        "(row)",
                        RejectReason::InvalidValue,
                        e.to_string(),
                    )))?;
                    continue;
                }
            };
            let mut obj = Map::new();
            for (name, value) in columns.iter().zip(row.0.iter()) {
                let v = to_json(value);
                if !v.is_null() {
                    obj.insert(name.clone(), v);
                }
            }
            let value = Value::Object(obj);
            match items(&mut state, &value, ctx.provenance(line), ctx.options) {
                Ok(out) => {
                    for item in out {
                        sink(item)?;
                    }
                }
                Err(fail) => {
                    let raw = value.to_string();
                    sink(crate::json::reject(line, fail, raw.as_bytes()))?;
                }
            }
        }
        start += height;
        source.keep_pace(reader, ctx, start, rows)?;
    }
    source.finish(reader, ctx)
}

/// One Parquet value in the JSON shape the OCSF mapping reads. Timestamps become epoch
/// microseconds (the mapping tells the unit by magnitude), dates epoch seconds.
fn to_json(v: &AnyValue<'_>) -> Value {
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(*b),
        AnyValue::String(s) => Value::String((*s).to_string()),
        AnyValue::StringOwned(s) => Value::String(s.to_string()),
        AnyValue::UInt8(n) => Value::from(*n),
        AnyValue::UInt16(n) => Value::from(*n),
        AnyValue::UInt32(n) => Value::from(*n),
        AnyValue::UInt64(n) => Value::from(*n),
        AnyValue::Int8(n) => Value::from(*n),
        AnyValue::Int16(n) => Value::from(*n),
        AnyValue::Int32(n) => Value::from(*n),
        AnyValue::Int64(n) => Value::from(*n),
        AnyValue::Float32(x) => Number::from_f64(f64::from(*x)).map_or(Value::Null, Value::Number),
        AnyValue::Float64(x) => Number::from_f64(*x).map_or(Value::Null, Value::Number),
        AnyValue::Datetime(t, unit, _) | AnyValue::DatetimeOwned(t, unit, _) => {
            let micros = match unit {
                TimeUnit::Nanoseconds => t / 1_000,
                TimeUnit::Microseconds => *t,
                TimeUnit::Milliseconds => t.saturating_mul(1_000),
            };
            Value::from(micros)
        }
        AnyValue::Date(days) => Value::from(i64::from(*days) * 86_400),
        AnyValue::List(series) => Value::Array(series.iter().map(|x| to_json(&x)).collect()),
        AnyValue::Struct(_, _, fields) => {
            let mut obj = Map::new();
            for (field, value) in fields.iter().zip(v._iter_struct_av()) {
                obj.insert(field.name().to_string(), to_json(&value));
            }
            Value::Object(obj)
        }
        AnyValue::StructOwned(b) => {
            let (values, fields) = &**b;
            let mut obj = Map::new();
            for (field, value) in fields.iter().zip(values) {
                obj.insert(field.name().to_string(), to_json(value));
            }
            Value::Object(obj)
        }
        AnyValue::Binary(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        AnyValue::BinaryOwned(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        other => Value::String(other.to_string()),
    }
}

/// Write `rows` (OCSF events as JSON objects) as a Parquet file with nested struct and
/// list columns, the layout Security Lake uses. For tests and fixtures: it supports the
/// shapes those use (scalars, objects, arrays of objects or scalars).
pub fn write_ocsf_parquet(rows: &[Value], path: &Path) -> Result<()> {
    let mut names: Vec<String> = Vec::new();
    for r in rows {
        if let Value::Object(m) = r {
            for k in m.keys() {
                if !names.contains(k) {
                    names.push(k.clone());
                }
            }
        }
    }
    let err = |e: PolarsError| Error::io(path, std::io::Error::other(e.to_string()));
    let mut columns = Vec::new();
    for name in &names {
        let values: Vec<&Value> = rows
            .iter()
            .map(|r| r.get(name).unwrap_or(&Value::Null))
            .collect();
        columns.push(series(name, &values).map_err(err)?.into_column());
    }
    let mut df = DataFrame::new_infer_height(columns).map_err(err)?;
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    ParquetWriter::new(file).finish(&mut df).map_err(err)?;
    Ok(())
}

fn series(name: &str, values: &[&Value]) -> PolarsResult<Series> {
    let name = PlSmallStr::from(name);
    let first = values.iter().find(|v| !v.is_null());
    Ok(match first {
        None | Some(Value::Null) => Series::full_null(name, values.len(), &DataType::String),
        Some(Value::Bool(_)) => {
            Series::new(name, values.iter().map(|v| v.as_bool()).collect::<Vec<_>>())
        }
        Some(Value::Number(n)) if n.is_f64() => {
            Series::new(name, values.iter().map(|v| v.as_f64()).collect::<Vec<_>>())
        }
        Some(Value::Number(_)) => {
            Series::new(name, values.iter().map(|v| v.as_i64()).collect::<Vec<_>>())
        }
        Some(Value::String(_)) => Series::new(
            name,
            values
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Vec<_>>(),
        ),
        Some(Value::Object(_)) => {
            let mut keys: Vec<String> = Vec::new();
            for v in values {
                if let Value::Object(m) = v {
                    for k in m.keys() {
                        if !keys.contains(k) {
                            keys.push(k.clone());
                        }
                    }
                }
            }
            let mut fields = Vec::new();
            for k in &keys {
                let inner: Vec<&Value> = values
                    .iter()
                    .map(|v| v.get(k).unwrap_or(&Value::Null))
                    .collect();
                fields.push(series(k, &inner)?);
            }
            let s = StructChunked::from_series(name, values.len(), fields.iter())?.into_series();
            // Rows where the object itself is absent are null structs.
            let mask: BooleanChunked = values.iter().map(|v| Some(!v.is_null())).collect();
            s.zip_with(
                &mask,
                &Series::full_null(PlSmallStr::EMPTY, values.len(), s.dtype()),
            )?
        }
        Some(Value::Array(_)) => {
            let mut out: Vec<Option<Series>> = Vec::with_capacity(values.len());
            for v in values {
                match v {
                    Value::Array(items) => {
                        let refs: Vec<&Value> = items.iter().collect();
                        out.push(Some(series("", &refs)?));
                    }
                    _ => out.push(None),
                }
            }
            let mut s: ListChunked = out.into_iter().collect();
            s.rename(name);
            s.into_series()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReaderOptions;
    use serde_json::json;
    use xborder_model::schema::Record;

    #[test]
    fn nested_and_flattened_layouts_read_like_json() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![
            json!({"class_uid": 4001, "category_uid": 4, "time": 1782950410000i64,
                   "src_endpoint": {"ip": "10.1.0.5", "port": 40000},
                   "dst_endpoint": {"ip": "160.79.104.10", "port": 443},
                   "connection_info": {"protocol_num": 6, "uid": "Cf1", "direction_id": 2},
                   "traffic": {"bytes_out": 1000, "bytes_in": 2000}}),
            json!({"class_uid": 4003, "category_uid": 4, "time": 1782950400000i64,
                   "src_endpoint": {"ip": "10.1.0.5", "port": 5353},
                   "query": {"hostname": "api.anthropic.com.", "type": "A"},
                   "answers": [{"rdata": "160.79.104.10", "type": "A", "ttl": 60}],
                   "rcode": "NoError"}),
            json!({"class_uid": 2004, "category_uid": 2, "time": 1782950400000i64}),
        ];
        let nested = dir.path().join("nested.parquet");
        write_ocsf_parquet(&rows, &nested).unwrap();
        let flat_rows = vec![json!({"class_uid": 4001, "time": 1782950410,
            "src_endpoint.ip": "10.1.0.6", "dst_endpoint.ip": "104.18.32.7",
            "dst_endpoint.port": 443, "traffic.bytes": 10})];
        let flat = dir.path().join("flat.parquet");
        write_ocsf_parquet(&flat_rows, &flat).unwrap();
        for (path, want_flows, want_dns, want_filtered) in [(&nested, 1, 1, 1), (&flat, 1, 0, 0)] {
            let head = std::fs::read(path).unwrap();
            let d = crate::detect(path, &head, None).unwrap();
            assert_eq!(
                d,
                crate::Detection::Supported(crate::Format::Builtin(&PARQUET))
            );
            let options = ReaderOptions::default();
            let ctx = ReadContext {
                path,
                file_index: 0,
                options: &options,
            };
            let mut items = Vec::new();
            let mut empty = std::io::Cursor::new(Vec::new());
            read(&mut empty, &ctx, &mut |i| {
                items.push(i);
                Ok(())
            })
            .unwrap();
            let flows: Vec<_> = items
                .iter()
                .filter_map(|i| match i {
                    Item::Record(Record::Flow(f)) => Some(f),
                    _ => None,
                })
                .collect();
            let dns = items
                .iter()
                .filter(|i| matches!(i, Item::Record(Record::Dns(_))))
                .count();
            let filtered = items
                .iter()
                .filter(|i| matches!(i, Item::Filtered { .. }))
                .count();
            assert_eq!(
                (flows.len(), dns, filtered),
                (want_flows, want_dns, want_filtered),
                "{items:?}"
            );
            if path == &nested {
                let f = flows[0];
                assert_eq!((f.bytes_out, f.bytes_in), (Some(1000), Some(2000)));
                assert_eq!(f.uid.as_deref(), Some("Cf1"));
                assert_eq!(f.ts, 1_782_950_410_000_000);
                let Some(Item::Record(Record::Dns(d))) = items.get(1) else {
                    panic!()
                };
                assert_eq!(d.query, "api.anthropic.com");
                assert_eq!(d.answers[0].ttl, Some(60));
                assert_eq!(d.provenance.line, 2);
            } else {
                assert_eq!(flows[0].dst_port, Some(443));
            }
        }
    }

    /// The rows of tests/fixtures/formats/ocsf-parquet/security-lake.parquet. Regenerate
    /// with `cargo test --lib regenerate_ocsf_parquet_fixture -- --ignored`.
    fn fixture_rows() -> Vec<Value> {
        vec![
            json!({"class_uid": 4001, "category_uid": 4, "activity_id": 6, "time": 1782950410000i64,
                   "start_time": 1782950410000i64, "end_time": 1782950411000i64,
                   "metadata": {"version": "1.1.0", "product": {"name": "Amazon VPC", "vendor_name": "AWS"}},
                   "src_endpoint": {"ip": "192.0.2.10", "port": 40000},
                   "dst_endpoint": {"ip": "160.79.104.10", "port": 443},
                   "connection_info": {"protocol_num": 6, "uid": "C0001", "direction_id": 2},
                   "traffic": {"bytes_out": 1000, "bytes_in": 2000, "bytes": 3000}}),
            json!({"class_uid": 4001, "category_uid": 4, "activity_id": 6, "time": 1782950420000i64,
                   "metadata": {"version": "1.1.0", "product": {"name": "Amazon VPC", "vendor_name": "AWS"}},
                   "src_endpoint": {"ip": "203.0.113.9", "port": 443},
                   "dst_endpoint": {"ip": "192.0.2.11", "port": 40001},
                   "connection_info": {"protocol_num": 6, "direction_id": 1},
                   "traffic": {"bytes": 38526}}),
            json!({"class_uid": 4003, "category_uid": 4, "activity_id": 2, "time": 1782950400000i64,
                   "metadata": {"version": "1.1.0", "product": {"name": "Route 53", "vendor_name": "AWS"}},
                   "src_endpoint": {"ip": "192.0.2.10", "port": 15083},
                   "query": {"hostname": "api.anthropic.com.", "type": "A"},
                   "answers": [{"rdata": "160.79.104.10", "type": "A", "class": "IN"}],
                   "rcode": "NoError"}),
            json!({"class_uid": 2004, "category_uid": 2, "activity_id": 1, "time": 1782950400000i64,
                   "metadata": {"version": "1.1.0", "product": {"name": "Security Hub", "vendor_name": "AWS"}}}),
            json!({"class_uid": 4001, "category_uid": 4, "activity_id": 6, "time": 1782950430000i64,
                   "src_endpoint": {"ip": "192.0.2.999", "port": 1},
                   "dst_endpoint": {"ip": "203.0.113.9", "port": 443},
                   "traffic": {"bytes": 1}}),
        ]
    }

    #[test]
    #[ignore]
    fn regenerate_ocsf_parquet_fixture() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/formats/ocsf-parquet/security-lake.parquet");
        write_ocsf_parquet(&fixture_rows(), &path).unwrap();
    }

    #[test]
    fn not_parquet_is_one_reject() {
        let options = ReaderOptions::default();
        let ctx = ReadContext {
            path: Path::new("no-such-file"),
            file_index: 0,
            options: &options,
        };
        let mut items = Vec::new();
        let mut cursor = std::io::Cursor::new(b"hello".to_vec());
        read(&mut cursor, &ctx, &mut |i| {
            items.push(i);
            Ok(())
        })
        .unwrap();
        assert!(matches!(&items[..], [Item::Reject(_)]));
    }
}
