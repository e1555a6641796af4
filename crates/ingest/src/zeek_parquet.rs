//! Zeek conn.log stored as Parquet, with Zeek's column names: dotted (`id.orig_h`, as
//! Zeek writes them) or with underscores (`id_orig_h`, what Spark, Athena and most
//! Zeek-to-Parquet converters produce, since they cannot keep dots).
//!
//! This reader exists to be fast: it loads only the conn columns, a row group (or a slice of
//! a large one) at a time, and hands each row's typed values to the shared conn mapping
//! ([`zeek_fields::flow`]), with no JSON or string round trip for numbers and times. So
//! records and rejects are those the Zeek TSV and JSON readers give for the same
//! connection (same fields, same checks in the same order, same reasons); the row number
//! (1-based) stands in for the line.
//!
//! Types are taken as converters write them: `ts` as Float64 epoch seconds (Zeek's own
//! JSON type), an integer epoch whose unit is told by magnitude (seconds to nanoseconds,
//! as [`crate::values::parse_epoch_auto`]), or a Datetime (a zone-less one is read as UTC: Zeek
//! writes UTC epoch time, and Spark's INT96 timestamps carry no zone); counts and ports as
//! any integer, a whole float (pandas turns nullable integers into floats) or a string;
//! `local_orig` as a boolean or `T`/`F`. A string `-` is unset, as in TSV.

use std::io::BufRead;
use std::net::IpAddr;

use polars::prelude::*;
use polars_arrow::array::{Array, BooleanArray, PrimitiveArray, Utf8ViewArray};

use super::parquet_file::{consistent, guarded, schema_names, ParquetInput};
use super::values::{self, FieldError};
use super::zeek_fields::{self, conn, unless_unset, ConnValues, PlainValues, Raw, ZeekType};
use super::{FormatSpec, Head, Item, ReadContext, RecordKind, Reject, RejectReason};
use xborder_model::error::Result;
use xborder_model::schema::{parse_ip, Micros, Proto, Record, Uid};

/// Rows decoded at once when a row group is larger than [`MAX_GROUP_ROWS`]. Row groups
/// up to that size are decoded whole: slicing inside one re-decodes its pages.
const BATCH_ROWS: usize = 1 << 18;
const MAX_GROUP_ROWS: usize = 1 << 20;

const FIELD_MAP: &[(&str, &str)] = &[
    (
        "ts",
        "ts (Float64 epoch seconds, integer epoch s/ms/µs/ns by magnitude, or Datetime)",
    ),
    ("uid", "uid"),
    (
        "src_ip / src_port",
        "id.orig_h / id.orig_p (or id_orig_h / id_orig_p)",
    ),
    (
        "dst_ip / dst_port",
        "id.resp_h / id.resp_p (or id_resp_h / id_resp_p)",
    ),
    ("proto", "proto"),
    ("bytes_out", "orig_bytes (payload sent by the originator)"),
    ("bytes_in", "resp_bytes"),
    ("duration", "duration (seconds, or a Duration column)"),
    ("local_orig", "local_orig"),
];

pub static CONN: FormatSpec = FormatSpec {
    id: "zeek-conn-parquet",
    title: "Zeek conn.log (Parquet)",
    kinds: &[RecordKind::Flow],
    detected_by: "a Parquet file (PAR1) whose columns include ts, id.orig_h and id.resp_h (or id_orig_h, id_resp_h) and orig_bytes, resp_bytes or conn_state, without query or class_uid",
    bytes: "orig_bytes is payload the originator sent (upload), resp_bytes what it received",
    field_map: FIELD_MAP,
    detect,
    read,
};

fn detect(h: &Head<'_>) -> bool {
    h.bytes.starts_with(b"PAR1") && schema_names(h.path).is_some_and(|n| is_conn(&n))
}

/// The Zeek TSV rule for a conn log (`id.orig_h` with `orig_bytes` or `conn_state`, and no
/// dns `query`), plus no `class_uid` so an OCSF file never matches both readers.
fn is_conn(names: &[String]) -> bool {
    let has = |c: &str| column_name(names, c).is_some();
    has("ts")
        && has("id.orig_h")
        && has("id.resp_h")
        && (has("orig_bytes") || has("resp_bytes") || has("conn_state"))
        && !has("query")
        && !names.iter().any(|n| n == "class_uid")
}

/// The file's name for Zeek column `zeek`: as Zeek spells it, else with `_` for `.`.
fn column_name(names: &[String], zeek: &str) -> Option<String> {
    let underscored = zeek.replace('.', "_");
    names
        .iter()
        .find(|n| *n == zeek)
        .or_else(|| names.iter().find(|n| **n == underscored))
        .cloned()
}

/// One column of a batch, in the physical type the row code reads: the decoded Arrow
/// array itself, so a row's value is an index and a validity bit, not a look-up through
/// polars' chunk list (which took a tenth of the reader's time).
enum Col {
    /// Not in the file: every value is unset.
    Absent,
    Int(PrimitiveArray<i64>),
    UInt(PrimitiveArray<u64>),
    Float(PrimitiveArray<f64>),
    Str(Utf8ViewArray),
    Bool(BooleanArray),
    /// Datetime: epoch in `unit`.
    Time(PrimitiveArray<i64>, TimeUnit),
    /// Duration: length in `unit`.
    Span(PrimitiveArray<i64>, TimeUnit),
    /// A type this column cannot hold (named in each row's reject); true where a value
    /// is present.
    Wrong(BooleanArray, String),
}

/// The shared mapping's unit for a polars time unit.
fn unit(u: TimeUnit) -> zeek_fields::TimeUnit {
    match u {
        TimeUnit::Nanoseconds => zeek_fields::TimeUnit::Nanos,
        TimeUnit::Microseconds => zeek_fields::TimeUnit::Micros,
        TimeUnit::Milliseconds => zeek_fields::TimeUnit::Millis,
    }
}

/// The one Arrow array of `ca`, which must hold exactly `height` values: rows are read by
/// index, so a shorter column would be read past its end.
fn array<T: PolarsDataType>(ca: &ChunkedArray<T>, height: usize) -> PolarsResult<T::Array>
where
    T::Array: Clone,
{
    let ca = ca.rechunk();
    let Some(arr) = ca.downcast_iter().next().cloned() else {
        polars_bail!(ComputeError: "column `{}` decoded no values for {height} rows", ca.name());
    };
    if arr.len() != height {
        polars_bail!(ComputeError: "column `{}` decoded {} values for {height} rows", ca.name(), arr.len());
    }
    Ok(arr)
}

/// The value in slot `i` of `a`, `None` when null.
#[inline]
fn at<T: polars_arrow::types::NativeType>(a: &PrimitiveArray<T>, i: usize) -> Option<T> {
    (!a.is_null(i)).then(|| a.value(i))
}

impl Col {
    /// Column `name` of `df` (`None`: absent) in the shape conn field `field` reads.
    fn load(df: &DataFrame, name: Option<&str>, field: usize) -> PolarsResult<Col> {
        let ty = conn::FIELDS[field].ty;
        let h = df.height();
        let Some(name) = name.filter(|_| h > 0) else {
            // An empty batch has no rows to read.
            return Ok(Col::Absent);
        };
        let s = df.column(name)?.as_materialized_series().rechunk();
        let dtype = s.dtype().clone();
        let wrong = |s: &Series| -> PolarsResult<Col> {
            // Only the validity matters; the values are never read.
            Ok(Col::Wrong(array(&s.is_not_null(), h)?, dtype.to_string()))
        };
        let text = matches!(ty, ZeekType::Addr | ZeekType::String | ZeekType::Enum);
        Ok(match &dtype {
            DataType::Null => Col::Absent,
            // A time written as text is not one of the types converters use for ts.
            DataType::String | DataType::Categorical(..) | DataType::Enum(..)
                if ty == ZeekType::Time =>
            {
                wrong(&s)?
            }
            DataType::String => Col::Str(array(s.str()?, h)?),
            DataType::Categorical(..) | DataType::Enum(..) => {
                Col::Str(array(s.cast(&DataType::String)?.str()?, h)?)
            }
            // Numeric protocol numbers (6, 17) read as Proto::parse reads them.
            d if ty == ZeekType::Enum && d.is_integer() => {
                Col::Str(array(s.cast(&DataType::String)?.str()?, h)?)
            }
            _ if text => wrong(&s)?,
            // Float32 cannot hold an epoch to the second, let alone the microsecond.
            DataType::Float32 if ty == ZeekType::Time => wrong(&s)?,
            DataType::Float32 | DataType::Float64 => {
                Col::Float(array(s.cast(&DataType::Float64)?.f64()?, h)?)
            }
            d if d.is_unsigned_integer() => Col::UInt(array(s.cast(&DataType::UInt64)?.u64()?, h)?),
            d if d.is_signed_integer() => Col::Int(array(s.cast(&DataType::Int64)?.i64()?, h)?),
            DataType::Boolean if ty == ZeekType::Bool => Col::Bool(array(s.bool()?, h)?),
            DataType::Datetime(unit, _) if ty == ZeekType::Time => {
                Col::Time(array(s.to_physical_repr().i64()?, h)?, *unit)
            }
            DataType::Duration(unit) if ty == ZeekType::Interval => {
                Col::Span(array(s.to_physical_repr().i64()?, h)?, *unit)
            }
            _ => wrong(&s)?,
        })
    }

    /// Row `i`'s value (`i` below the batch's height, which every column holds).
    fn get(&self, i: usize) -> Raw<'_> {
        let cell = match self {
            Col::Absent => None,
            Col::Int(c) => at(c, i).map(Raw::Int),
            Col::UInt(c) => at(c, i).map(Raw::UInt),
            Col::Float(c) => at(c, i).map(Raw::Float),
            Col::Str(_) => self.text(i).map(|s| Raw::Str(s.into())),
            Col::Bool(c) => c.get(i).map(Raw::Bool),
            Col::Time(c, u) => at(c, i).map(|v| Raw::Epoch(v, unit(*u))),
            Col::Span(c, u) => at(c, i).map(|v| Raw::Span(v, unit(*u))),
            Col::Wrong(c, t) => (c.get(i) == Some(true)).then_some(Raw::WrongType(t.as_str())),
        };
        cell.unwrap_or(Raw::Unset)
    }

    /// Row `i`'s text, `None` when the column is not text or the value is null or `-`.
    #[inline]
    fn text(&self, i: usize) -> Option<&str> {
        match self {
            Col::Str(c) => c.get(i).filter(|s| *s != "-"),
            _ => None,
        }
    }
}

/// One batch's columns, indexed like [`conn::FIELDS`].
struct Batch<'n> {
    cols: Vec<Col>,
    /// The file's name of each column (or Zeek's, when absent), for rejects.
    names: &'n [String],
    present: &'n [bool],
}

/// Row `i` of a batch, for the shared mapping.
struct Row<'b, 'n> {
    batch: &'b Batch<'n>,
    i: usize,
}

impl Row<'_, '_> {
    /// An Int64 cell as a `T`: `Some(None)` when null, `Some(Some(v))` when the value fits.
    /// `None` when the column is not Int64 or the value does not fit a `T` (the shared
    /// conversion then answers, with its reject).
    #[inline]
    fn int_cell<T: TryFrom<i64>>(&self, field: usize) -> Option<Option<T>> {
        let Col::Int(c) = &self.batch.cols[field] else {
            return None;
        };
        match at(c, self.i) {
            None => Some(None),
            Some(v) => T::try_from(v).ok().map(Some),
        }
    }

    /// A string column's cell: `Some(None)` when null, unset or the column is absent;
    /// `None` for a column of another type.
    #[inline]
    fn str_cell(&self, field: usize) -> Option<Option<&str>> {
        match &self.batch.cols[field] {
            c @ Col::Str(_) => Some(c.text(self.i)),
            Col::Absent => Some(None),
            _ => None,
        }
    }

    /// A Float64 cell through `accept`: `Some(None)` when null, `Some(Some(v))` when
    /// `accept` takes the value. `None` otherwise, for the shared conversion to answer.
    #[inline]
    fn float_cell<T>(&self, field: usize, accept: impl Fn(f64) -> Option<T>) -> Option<Option<T>> {
        let Col::Float(c) = &self.batch.cols[field] else {
            return None;
        };
        match at(c, self.i) {
            None => Some(None),
            Some(v) => accept(v).map(Some),
        }
    }
}

/// The usual forms are the columns' usual types, and values the typed readers take from
/// the array as they are.
impl PlainValues for Row<'_, '_> {
    #[inline]
    fn plain_time(&self, field: usize) -> Option<Option<Micros>> {
        self.float_cell(field, values::epoch_seconds_f64)
    }

    #[inline]
    fn plain_addr(&self, field: usize) -> Option<Option<IpAddr>> {
        unless_unset(self.str_cell(field)?, parse_ip)
    }

    #[inline]
    fn plain_port(&self, field: usize) -> Option<Option<u16>> {
        self.int_cell(field)
    }

    #[inline]
    fn plain_count(&self, field: usize) -> Option<Option<u64>> {
        self.int_cell(field)
    }

    #[inline]
    fn plain_interval(&self, field: usize) -> Option<Option<f64>> {
        self.float_cell(field, seconds)
    }

    #[inline]
    fn plain_boolean(&self, field: usize) -> Option<Option<bool>> {
        match &self.batch.cols[field] {
            Col::Bool(c) => Some(c.get(self.i)),
            Col::Absent => Some(None),
            _ => None,
        }
    }
}

/// The typed readers take the columns' usual types (a converter's Float64 `ts`, string
/// addresses, Int64 ports and counts) straight from the array, and give every other
/// type, and every value the type's parser would refuse, to the shared conversion
/// ([`zeek_fields::typed`]): the same value or the same reject as through [`Raw`], without
/// building and matching one per field.
impl ConnValues for Row<'_, '_> {
    #[inline]
    fn raw(&self, field: usize) -> std::result::Result<Raw<'_>, FieldError> {
        Ok(self.batch.cols[field].get(self.i))
    }

    fn time(&self, field: usize) -> std::result::Result<Option<Micros>, FieldError> {
        match self.float_cell(field, values::epoch_seconds_f64) {
            Some(time) => Ok(time),
            None => zeek_fields::typed(self.raw(field)?, zeek_fields::time),
        }
    }

    fn addr(&self, field: usize) -> std::result::Result<Option<IpAddr>, FieldError> {
        match &self.batch.cols[field] {
            c @ Col::Str(_) => c.text(self.i).map(values::parse_address).transpose(),
            _ => zeek_fields::typed(self.raw(field)?, zeek_fields::addr),
        }
    }

    fn port(&self, field: usize) -> std::result::Result<Option<u16>, FieldError> {
        match self.int_cell(field) {
            Some(port) => Ok(port),
            None => zeek_fields::typed(self.raw(field)?, zeek_fields::port),
        }
    }

    fn count(&self, field: usize) -> std::result::Result<Option<u64>, FieldError> {
        match self.int_cell(field) {
            Some(count) => Ok(count),
            None => zeek_fields::typed(self.raw(field)?, zeek_fields::count),
        }
    }

    fn interval(&self, field: usize) -> std::result::Result<Option<f64>, FieldError> {
        match self.float_cell(field, seconds) {
            Some(interval) => Ok(interval),
            None => zeek_fields::typed(self.raw(field)?, zeek_fields::interval),
        }
    }

    fn boolean(&self, field: usize) -> std::result::Result<Option<bool>, FieldError> {
        match &self.batch.cols[field] {
            Col::Bool(c) => Ok(c.get(self.i)),
            _ => zeek_fields::typed(self.raw(field)?, zeek_fields::boolean),
        }
    }

    fn uid(&self, field: usize) -> std::result::Result<Option<Uid>, FieldError> {
        match &self.batch.cols[field] {
            c @ Col::Str(_) => Ok(c.text(self.i).map(Uid::from)),
            _ => Ok(match self.raw(field)? {
                Raw::Unset => None,
                r => Some(Uid::from(&*zeek_fields::string(&r))),
            }),
        }
    }

    fn protocol(&self, field: usize) -> std::result::Result<Proto, FieldError> {
        Ok(match &self.batch.cols[field] {
            c @ Col::Str(_) => match c.text(self.i) {
                None => Proto::Other(String::new()),
                Some("tcp") => Proto::Tcp,
                Some("udp") => Proto::Udp,
                Some(s) => Proto::parse(s),
            },
            _ => zeek_fields::protocol(&self.raw(field)?),
        })
    }

    fn missing(&self, field: usize) -> &'static str {
        if self.batch.present[field] {
            "required field is unset"
        } else {
            "required column is not in the Parquet schema"
        }
    }

    #[inline]
    fn plain_text(&self, field: usize) -> Option<Option<&str>> {
        self.str_cell(field)
    }
}

/// A Float64 `interval` the typed reader takes as it is: finite and not negative.
fn seconds(v: f64) -> Option<f64> {
    (v.is_finite() && v >= 0.0).then_some(v)
}

impl Batch<'_> {
    /// The row as `column=value` pairs, for the rejects listing.
    fn excerpt(&self, i: usize) -> String {
        let mut out = String::new();
        for (c, col) in self.cols.iter().enumerate() {
            if self.present[c] {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&format!("{}={}", self.names[c], col.get(i)));
            }
        }
        out
    }
}

/// The file (line 0) or the rest of it from `line` on could not be decoded.
fn file_reject(line: u64, detail: String) -> Item {
    Item::Reject(Reject::new(
        line,
        "(file)",
        RejectReason::InvalidValue,
        detail,
    ))
}

/// The 0-based row group holding row `start` (0-based).
fn group_of(group_rows: &[usize], start: usize) -> usize {
    let mut end = 0;
    for (i, n) in group_rows.iter().enumerate() {
        end += n;
        if start < end {
            return i;
        }
    }
    group_rows.len().saturating_sub(1)
}

/// Row ranges to decode: whole row groups, large ones in slices.
fn batches(group_rows: &[usize]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for &n in group_rows {
        let step = if n <= MAX_GROUP_ROWS {
            n.max(1)
        } else {
            BATCH_ROWS
        };
        let mut at = 0;
        while at < n {
            let len = step.min(n - at);
            out.push((start + at, len));
            at += len;
        }
        start += n;
    }
    out
}

/// One batch of rows as the decoding thread hands it over.
struct Decoded {
    /// First row (0-based) and rows the footer declares for the batch.
    start: usize,
    len: usize,
    /// The decoded rows' count, columns, and whether `ts` is a zone-less timestamp.
    decoded: PolarsResult<(usize, Vec<Col>, bool)>,
}

/// What mapping decoded batches to items needs of the file.
struct Batches<'a> {
    /// The file's name of each conn field's column (or Zeek's, when absent).
    names: &'a [String],
    present: &'a [bool],
    group_rows: &'a [usize],
    /// Rows in the file, from the footer.
    rows: usize,
}

impl Batches<'_> {
    /// Map each decoded batch's rows to records and rejects, in file order, consuming
    /// the stream in step.
    fn map(
        &self,
        decoded: crossbeam_channel::Receiver<Decoded>,
        input: &mut ParquetInput,
        reader: &mut dyn BufRead,
        ctx: &ReadContext<'_>,
        sink: &mut dyn FnMut(Item) -> Result<()>,
    ) -> Result<()> {
        let mut noted = false;
        let mut done = 0usize;
        for Decoded {
            start,
            len,
            decoded,
        } in decoded
        {
            let (height, cols, naive) = match decoded {
                Ok(d) => d,
                Err(e) => {
                    // Every row the footer declares for this range is rejected, naming the
                    // row group, and reading goes on with the next one.
                    let group = group_of(self.group_rows, start);
                    let detail = format!(
                        "row group {group} (rows {}-{}) cannot be decoded: {e}",
                        start + 1,
                        start + len
                    );
                    for row in start..start + len {
                        sink(file_reject(row as u64 + 1, detail.clone()))?;
                    }
                    done += len;
                    input.keep_pace(reader, ctx, done, self.rows)?;
                    continue;
                }
            };
            if naive && !noted {
                noted = true;
                sink(Item::Note(
                    "ts is a Parquet timestamp without a time zone; read as UTC (Zeek writes UTC)"
                        .into(),
                ))?;
            }
            let batch = Batch {
                cols,
                names: self.names,
                present: self.present,
            };
            for i in 0..height {
                let line = (start + i + 1) as u64;
                match zeek_fields::flow(&Row { batch: &batch, i }, ctx.provenance(line)) {
                    Ok(flow) => sink(Item::Record(Record::Flow(flow)))?,
                    Err((c, e)) => {
                        let mut r = Reject::new(line, &self.names[c], e.reason, e.detail);
                        r.excerpt = super::excerpt(batch.excerpt(i).as_bytes());
                        sink(Item::Reject(r))?;
                    }
                }
            }
            if height < len {
                // Never seen; kept so every row of the footer's count is accounted for.
                let detail = format!(
                    "the footer declares {len} rows from row {} on, {height} decoded",
                    start + 1
                );
                sink(file_reject((start + height) as u64 + 1, detail))?;
            }
            done += len;
            input.keep_pace(reader, ctx, done, self.rows)?;
        }
        Ok(())
    }
}

fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let Some(mut input) = ParquetInput::open(reader, ctx)? else {
        return sink(file_reject(0, "not a Parquet file".into()));
    };
    let mut first = input.reader().map_err(|e| ctx.io_error(e))?;
    let layout = guarded(|| {
        let schema = first.schema()?;
        let metadata = first.get_metadata()?.clone();
        Ok((schema, metadata))
    });
    let (schema, metadata) = match layout {
        Ok(l) => l,
        Err(e) => {
            input.finish(reader, ctx)?;
            return sink(file_reject(0, format!("unreadable Parquet: {e}")));
        }
    };
    let file_names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let resolved: Vec<Option<String>> = conn::FIELDS
        .iter()
        .map(|f| column_name(&file_names, f.name))
        .collect();
    let present: Vec<bool> = resolved.iter().map(Option::is_some).collect();
    let names: Vec<String> = resolved
        .iter()
        .zip(conn::FIELDS)
        .map(|(r, f)| r.clone().unwrap_or_else(|| f.name.to_string()))
        .collect();
    let projection: Vec<String> = resolved.iter().flatten().cloned().collect();
    let rows = metadata.num_rows;
    let group_rows: Vec<usize> = metadata.row_groups.iter().map(|g| g.num_rows()).collect();
    let plan = batches(&group_rows);
    let opener = input.opener();
    // Batch n + 1 is decoded on a thread of its own while batch n's rows are mapped here:
    // decoding and mapping each take about half of a Parquet file's time, and in turn they
    // left a core idle. The channel holds nothing: a decoded batch waits in the decoding
    // thread until the one before it is mapped, so at most two decoded batches are held.
    let (decoded_tx, decoded_rx) = crossbeam_channel::bounded::<Decoded>(0);
    std::thread::scope(|scope| -> Result<()> {
        let decode_all = || {
            for (start, len) in plan.iter().copied() {
                let decoded = guarded(|| {
                    let mut r = opener.reader()?;
                    r.set_metadata(metadata.clone());
                    let df = r
                        .with_columns(Some(projection.clone()))
                        .with_slice(Some((start, len)))
                        .read_parallel(ParallelStrategy::Columns)
                        .finish()?;
                    let df = consistent(df, start, len)?;
                    let cols = names
                        .iter()
                        .zip(&present)
                        .enumerate()
                        .map(|(c, (n, p))| Col::load(&df, p.then_some(n.as_str()), c))
                        .collect::<PolarsResult<Vec<Col>>>()?;
                    let naive = present[conn::TS]
                        && matches!(
                            df.column(&names[conn::TS])?.dtype(),
                            DataType::Datetime(_, None)
                        );
                    Ok((df.height(), cols, naive))
                });
                // The mapping stopped early (a `--strict` reject): nothing more is wanted.
                if decoded_tx
                    .send(Decoded {
                        start,
                        len,
                        decoded,
                    })
                    .is_err()
                {
                    break;
                }
            }
            drop(decoded_tx);
        };
        std::thread::Builder::new()
            .name("xborder-pqdecode".into())
            .spawn_scoped(scope, decode_all)
            .map_err(|e| ctx.io_error(e))?;
        let batches = Batches {
            names: &names,
            present: &present,
            group_rows: &group_rows,
            rows,
        };
        batches.map(decoded_rx, &mut input, reader, ctx, sink)
    })?;
    input.finish(reader, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{zeek_tsv, Detection, Format, ReaderOptions};
    use std::path::Path;
    use xborder_model::schema::FlowRecord;

    /// A conn log exercising every field: unset bytes and duration, IPv6 and a v4-mapped
    /// address, ICMP, `local_orig` T/F/unset; then rows the readers must reject alike.
    const TSV: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n\
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\n\
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\n\
1782864000.250000\tCabc\t10.0.0.5\t50000\t160.79.104.10\t443\ttcp\tssl\t1.500000\t1200\t3400\tSF\tT\n\
1782864001.000001\tCdef\t10.0.0.5\t50001\t160.79.104.10\t443\ttcp\t-\t-\t-\t-\tS0\tF\n\
1782864002.999999\t-\tfd10::1:2\t40000\t2606:4700::6810:1\t443\ttcp\tssl\t0.020000\t5\t0\tSF\t-\n\
1782864003.123456\tCghi\t::ffff:10.0.0.7\t8\t8.8.8.8\t0\ticmp\t-\t0.000001\t64\t64\tOTH\tT\n\
1782864004.000000\tCjkl\t10.0.0.8\t53000\t1.1.1.1\t53\tudp\tdns\t0.100000\t40\t120\tSF\tT\n\
1782864005.000000\tCbad1\t-\t1\t1.1.1.1\t2\ttcp\t-\t-\t1\t1\tSF\tT\n\
1782864006.000000\tCbad2\t10.0.0.9\t70000\t1.1.1.1\t2\ttcp\t-\t-\t1\t1\tSF\tT\n\
1782864007.000000\tCbad3\t10.0.0.9\t1\t1.1.1.1\t2\ttcp\t-\t-\t-5\t1\tSF\tT\n\
1782864008.000000\tCbad4\t10.0.0.999\t1\t1.1.1.1\t2\ttcp\t-\t-\t1\t1\tSF\tT\n\
-\tCbad5\t10.0.0.9\t1\t1.1.1.1\t2\ttcp\t-\t-\t1\t1\tSF\tT\n";

    /// Lines of the data rows in [`TSV`] (the header is 7 lines).
    const FIRST_DATA_LINE: u64 = 8;

    /// How `ts` is stored in the Parquet copy.
    #[derive(Clone, Copy, Debug)]
    enum TsAs {
        Float,
        Micros,
        Nanos,
        Datetime(TimeUnit, bool),
    }

    /// The TSV above as a Parquet frame, typed as converters type Zeek columns (ts per
    /// `ts_as`, ports and counts Int64, unset as null), named with `.` or `_`.
    fn tsv_to_frame(tsv: &str, ts_as: TsAs, underscore: bool) -> DataFrame {
        let fields: Vec<&str> = tsv
            .lines()
            .find_map(|l| l.strip_prefix("#fields\t"))
            .unwrap()
            .split('\t')
            .collect();
        let rows: Vec<Vec<Option<&str>>> = tsv
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split('\t').map(|v| (v != "-").then_some(v)).collect())
            .collect();
        let mut columns = Vec::new();
        for (i, name) in fields.iter().enumerate() {
            let out_name = if underscore {
                name.replace('.', "_")
            } else {
                name.to_string()
            };
            let raw: Vec<Option<&str>> = rows.iter().map(|r| r[i]).collect();
            let strings = Series::new(out_name.as_str().into(), &raw);
            let micros = || -> Vec<Option<i64>> {
                raw.iter()
                    .map(|v| v.map(|s| crate::values::parse_epoch_decimal(s).unwrap()))
                    .collect()
            };
            let s = match *name {
                "ts" => match ts_as {
                    TsAs::Float => strings.cast(&DataType::Float64).unwrap(),
                    TsAs::Micros => Series::new(out_name.as_str().into(), micros()),
                    TsAs::Nanos => Series::new(
                        out_name.as_str().into(),
                        micros()
                            .into_iter()
                            .map(|m| m.map(|m| m * 1000 + 999))
                            .collect::<Vec<_>>(),
                    ),
                    TsAs::Datetime(unit, zoned) => {
                        let v: Vec<Option<i64>> = micros()
                            .into_iter()
                            .map(|m| {
                                m.map(|m| match unit {
                                    TimeUnit::Nanoseconds => m * 1000,
                                    TimeUnit::Microseconds => m,
                                    TimeUnit::Milliseconds => m / 1000,
                                })
                            })
                            .collect();
                        Series::new(out_name.as_str().into(), v)
                            .cast(&DataType::Datetime(unit, zoned.then_some(TimeZone::UTC)))
                            .unwrap()
                    }
                },
                "id.orig_p" | "id.resp_p" | "orig_bytes" | "resp_bytes" => {
                    strings.cast(&DataType::Int64).unwrap()
                }
                "duration" => strings.cast(&DataType::Float64).unwrap(),
                "local_orig" => Series::new(
                    out_name.as_str().into(),
                    raw.iter().map(|v| v.map(|b| b == "T")).collect::<Vec<_>>(),
                ),
                _ => strings,
            };
            columns.push(s.into_column());
        }
        DataFrame::new_infer_height(columns).unwrap()
    }

    fn write(df: &mut DataFrame, path: &Path, row_group: Option<usize>) {
        let file = std::fs::File::create(path).unwrap();
        ParquetWriter::new(file)
            .with_row_group_size(row_group)
            .finish(df)
            .unwrap();
    }

    fn read_path(path: &Path) -> Vec<Item> {
        let options = ReaderOptions::default();
        let ctx = ReadContext {
            path,
            file_index: 0,
            options: &options,
        };
        let mut items = Vec::new();
        let mut stream = std::fs::File::open(path)
            .map(std::io::BufReader::new)
            .unwrap();
        read(&mut stream, &ctx, &mut |i| {
            items.push(i);
            Ok(())
        })
        .unwrap();
        items
    }

    /// A reject's line, field, reason and detail.
    type RejectRow = (u64, String, RejectReason, String);

    /// The flows and the rejects among `items`.
    fn split(items: Vec<Item>) -> (Vec<FlowRecord>, Vec<RejectRow>) {
        let mut flows = Vec::new();
        let mut rejects = Vec::new();
        for i in items {
            match i {
                Item::Record(Record::Flow(f)) => flows.push(f),
                Item::Reject(r) => rejects.push((r.line, r.field, r.reason, r.detail)),
                Item::Note(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        (flows, rejects)
    }

    fn detected(path: &Path) -> Option<String> {
        let head = std::fs::read(path).unwrap();
        match crate::detect(path, &head, None) {
            Ok(Detection::Supported(f)) => Some(f.id().to_string()),
            _ => None,
        }
    }

    #[test]
    fn same_records_and_rejects_as_the_tsv_reader() {
        let options = ReaderOptions::default();
        let (want_flows, want_rejects) = split(crate::read_text(zeek_tsv::read, TSV, &options));
        assert_eq!((want_flows.len(), want_rejects.len()), (5, 5));
        let dir = tempfile::tempdir().unwrap();
        for (ts_as, underscore) in [
            (TsAs::Float, false),
            (TsAs::Float, true),
            (TsAs::Micros, true),
            (TsAs::Nanos, false),
            (TsAs::Datetime(TimeUnit::Microseconds, true), false),
            (TsAs::Datetime(TimeUnit::Nanoseconds, false), true),
            (TsAs::Datetime(TimeUnit::Milliseconds, true), false),
        ] {
            let path = dir.path().join(format!("{ts_as:?}-{underscore}.parquet"));
            let mut frame = tsv_to_frame(TSV, ts_as, underscore);
            // This polars build has no time zone support: a zoned cast comes back naive.
            let naive_ts = matches!(
                frame.column("ts").unwrap().dtype(),
                DataType::Datetime(_, None)
            );
            write(&mut frame, &path, Some(3));
            assert_eq!(
                detected(&path).as_deref(),
                Some("zeek-conn-parquet"),
                "{ts_as:?}"
            );
            let items = read_path(&path);
            // The one-pass readers give what the typed readers alone give.
            let typed = zeek_fields::typed_only(|| read_path(&path));
            assert_eq!(format!("{items:?}"), format!("{typed:?}"), "{ts_as:?}");
            let naive = items
                .iter()
                .any(|i| matches!(i, Item::Note(n) if n.contains("without a time zone")));
            assert_eq!(naive, naive_ts, "{ts_as:?}");
            let (mut flows, rejects) = split(items);
            let mut want = want_flows.clone();
            if let TsAs::Datetime(TimeUnit::Milliseconds, _) = ts_as {
                // Milliseconds cannot carry the microseconds; compare the rest.
                for f in want.iter_mut().chain(flows.iter_mut()) {
                    f.ts -= f.ts % 1000;
                }
            }
            // Rows are numbered from 1 where TSV counts header lines too.
            for f in &mut want {
                f.provenance.line -= FIRST_DATA_LINE - 1;
            }
            assert_eq!(flows, want, "{ts_as:?} underscore={underscore}");
            let field = |f: &str| {
                if underscore {
                    f.replace('.', "_")
                } else {
                    f.to_string()
                }
            };
            let want_rejects: Vec<_> = want_rejects
                .iter()
                .map(|(l, f, r, d)| (l - (FIRST_DATA_LINE - 1), field(f), *r, d.clone()))
                .collect();
            assert_eq!(rejects, want_rejects, "{ts_as:?}");
        }
    }

    /// The one-pass readers give what the typed readers alone give, on Parquet rows
    /// with values at every edge of what they take as they are: negative, NaN and
    /// infinite times and durations, ports and counts out of range, other protocols,
    /// other address spellings, and null cells.
    #[test]
    fn one_pass_rows_read_as_the_typed_readers_do() {
        let header: String = TSV.lines().take(7).map(|l| format!("{l}\n")).collect();
        // A good row, then one edge at a time: (column, value).
        let good = "1782864000.25\tCa\t10.0.0.5\t50000\t160.79.104.10\t443\ttcp\tssl\t1.5\t1200\t3400\tSF\tT";
        let edges = [
            (0, "-1.5"),
            (0, "NaN"),
            (0, "inf"),
            (0, "-"),
            (1, "-"),
            (2, "10.0.0.05"),
            (2, "::ffff:1.1.1.1"),
            (2, " 10.0.0.5"),
            (2, "-"),
            (3, "-1"),
            (3, "70000"),
            (3, "-"),
            (4, "2001:db8::1"),
            (5, "65536"),
            (6, "TCP"),
            (6, "icmp"),
            (6, "-"),
            (8, "-0.5"),
            (8, "NaN"),
            (8, "inf"),
            (8, "0"),
            (8, "-"),
            (9, "-5"),
            (9, "-"),
            (10, "-1"),
            (12, "F"),
            (12, "-"),
        ];
        let mut rows = vec![good.to_string()];
        for (column, value) in edges {
            let mut cells: Vec<&str> = good.split('\t').collect();
            cells[column] = value;
            rows.push(cells.join("\t"));
        }
        let tsv = format!("{header}{}\n", rows.join("\n"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edges.parquet");
        write(&mut tsv_to_frame(&tsv, TsAs::Float, false), &path, None);
        let items = read_path(&path);
        let typed = zeek_fields::typed_only(|| read_path(&path));
        assert_eq!(format!("{items:?}"), format!("{typed:?}"));
        let (flows, rejects) = split(items);
        assert!(
            !flows.is_empty() && !rejects.is_empty(),
            "{flows:?} {rejects:?}"
        );
    }

    #[test]
    fn float_seconds_round_trip_to_the_microsecond() {
        let mut rng = xborder_model::rng::Rng::new(5);
        for _ in 0..100_000 {
            let micros = 1_782_864_000_000_000 + rng.below(400 * 86_400_000_000) as i64;
            assert_eq!(
                zeek_fields::time(&Raw::Float(micros as f64 / 1e6)).unwrap(),
                micros
            );
        }
    }

    #[test]
    fn ts_of_another_type_is_rejected_naming_row_column_and_type() {
        let dir = tempfile::tempdir().unwrap();
        let df = tsv_to_frame(TSV, TsAs::Float, false);
        for (dtype, name) in [
            (DataType::String, "str"),
            (DataType::Float32, "f32"),
            (DataType::Boolean, "bool"),
        ] {
            let mut d = df.clone();
            let ts = d.column("ts").unwrap().cast(&dtype).unwrap();
            d.with_column(ts).unwrap();
            let path = dir.path().join(format!("{name}.parquet"));
            write(&mut d, &path, None);
            let (flows, rejects) = split(read_path(&path));
            assert!(flows.is_empty());
            assert_eq!(rejects.len(), 10, "{rejects:?}");
            let (line, field, reason, detail) = &rejects[0];
            assert_eq!(
                (*line, field.as_str(), *reason),
                (1, "ts", RejectReason::InvalidTimestamp)
            );
            assert!(
                detail.contains("type is") && detail.contains("Datetime"),
                "{detail}"
            );
            // The null ts of the last row is unset, as in TSV.
            assert_eq!(rejects[9].2, RejectReason::MissingField);
        }
        // A file without a required column (read under --format) rejects every row.
        let mut d = df.drop("id.resp_h").unwrap();
        let path = dir.path().join("no-resp.parquet");
        write(&mut d, &path, None);
        let (_, rejects) = split(read_path(&path));
        assert_eq!(rejects.len(), 10);
        assert_eq!(rejects[0].1, "id.resp_h");
        assert!(rejects[0].3.contains("not in the Parquet schema"));
    }

    #[test]
    fn detection_does_not_collide_with_ocsf_or_a_dns_log() {
        let dir = tempfile::tempdir().unwrap();
        let df = tsv_to_frame(TSV, TsAs::Float, false);
        let with = |name: &str, extra: Series| {
            let mut d = df.clone();
            d.with_column(extra.into_column()).unwrap();
            let path = dir.path().join(name);
            write(&mut d, &path, None);
            path
        };
        let n = df.height();
        let ocsf_like = with(
            "ocsf.parquet",
            Series::new("class_uid".into(), vec![4001i64; n]),
        );
        let dns_like = with(
            "dns.parquet",
            Series::new("query".into(), vec!["example.com"; n]),
        );
        assert_eq!(detected(&ocsf_like), None);
        assert_eq!(detected(&dns_like), None);
        let ocsf = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/formats/ocsf-parquet/security-lake.parquet");
        assert_eq!(detected(&ocsf).as_deref(), Some("ocsf-parquet"));
        assert!(!is_conn(&[
            "ts".into(),
            "id.orig_h".into(),
            "id.resp_h".into()
        ]));
    }

    #[test]
    fn large_row_groups_are_read_in_slices() {
        assert_eq!(batches(&[3, 2]), vec![(0, 3), (3, 2)]);
        let big = MAX_GROUP_ROWS + 10;
        let b = batches(&[5, big]);
        assert_eq!(b[0], (0, 5));
        assert_eq!(b[1], (5, BATCH_ROWS));
        assert_eq!(b.iter().map(|(_, n)| n).sum::<usize>(), big + 5);
        assert_eq!(b.last().unwrap().0 + b.last().unwrap().1, big + 5);
    }

    /// A gzip-wrapped file (read from the stream, not by path) gives the same items, and
    /// damaged files end in a reject, never a panic.
    #[test]
    fn compressed_and_damaged_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conn.parquet");
        write(&mut tsv_to_frame(TSV, TsAs::Float, false), &path, Some(4));
        let bytes = std::fs::read(&path).unwrap();
        let want = format!("{:?}", read_path(&path));
        let options = ReaderOptions::default();
        let read_bytes = |b: Vec<u8>| {
            let ctx = ReadContext {
                path: Path::new("not-a-file"),
                file_index: 0,
                options: &options,
            };
            let mut items = Vec::new();
            read(&mut std::io::Cursor::new(b), &ctx, &mut |i| {
                items.push(i);
                Ok(())
            })
            .unwrap();
            items
        };
        assert_eq!(format!("{:?}", read_bytes(bytes.clone())), want);
        let mut rng = xborder_model::rng::Rng::new(11);
        for _ in 0..300 {
            let mut m = bytes.clone();
            for _ in 0..=rng.below(3) {
                let at = rng.below(m.len() as u64) as usize;
                match rng.below(3) {
                    0 => m[at] = rng.below(256) as u8,
                    1 => m.truncate(at.max(4)),
                    _ => {
                        m.drain(at..(at + 8).min(m.len()));
                    }
                }
            }
            let items = read_bytes(m);
            assert!(!items.is_empty());
        }
        assert!(matches!(
            &read_bytes(b"hello".to_vec())[..],
            [Item::Reject(_)]
        ));
    }

    /// tests/fixtures/formats/zeek-conn-parquet/conn-athena.parquet is [`TSV`] converted by
    /// DuckDB (not polars), Athena style: underscore names, ts as TIMESTAMPTZ, ports as
    /// Int32, row groups of 4 (see the fixture's README). It reads to the TSV's records.
    #[test]
    fn duckdb_written_fixture_reads_like_the_tsv() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/formats/zeek-conn-parquet/conn-athena.parquet");
        assert_eq!(
            detected(&path).as_deref(),
            Some(Format::Builtin(&CONN).id())
        );
        let options = ReaderOptions::default();
        let (mut want, want_rejects) = split(crate::read_text(zeek_tsv::read, TSV, &options));
        for f in &mut want {
            f.provenance.line -= FIRST_DATA_LINE - 1;
        }
        let (flows, rejects) = split(read_path(&path));
        assert_eq!(flows, want);
        let fields: Vec<String> = rejects.iter().map(|r| r.1.clone()).collect();
        let want_fields: Vec<String> = want_rejects.iter().map(|r| r.1.replace('.', "_")).collect();
        assert_eq!(fields, want_fields);
    }
}
