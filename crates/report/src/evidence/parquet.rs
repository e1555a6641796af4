//! evidence.parquet, written from Arrow arrays built straight from the spooled rows.
//!
//! Most evidence columns repeat a few values millions of times (finding, vendor,
//! product, site, input file and its hash), and the spool already holds them as ids.
//! Handing them to polars as text made it copy every cell into a string array, estimate
//! each column's cardinality, then hash every cell again to rebuild the dictionary it
//! writes: about a quarter of an AI-heavy run's CPU. Here such a column is a dictionary
//! array from the start (keys in first-appearance order, values the distinct texts of
//! the row group), which is exactly what polars' cast to a dictionary would produce, so
//! the pages, statistics and footer are the same as polars' own writer makes of the same
//! cells. Other columns (times, addresses, counts) are built as polars builds them and
//! go through polars-parquet's usual encoding choice.

use std::path::Path;

use polars::prelude::{CompatLevel, DataType, Field, PolarsError, PolarsResult, Schema, SchemaExt};
use polars_arrow::array::{
    Array, DictionaryArray, MutableBinaryViewArray, MutablePrimitiveArray, PrimitiveArray,
    Utf8ViewArray,
};
use polars_arrow::datatypes::{ArrowDataType, ArrowSchema, IntegerType};
use polars_parquet::read::ParquetError;
use polars_parquet::write::{
    array_to_columns, get_dtype_encoding, to_parquet_schema, CompressionOptions, Compressor,
    DynIter, DynStreamingIterator, Encoding, FallibleStreamingIterator, FileWriter,
    StatisticsOptions, Version, WriteOptions, ZstdLevel,
};

use crate::hashed_file::HashedFile;
use crate::tables::EVIDENCE;
use xborder_model::error::{Error, Result};
use xborder_model::fasthash::FastMap;
use xborder_model::schema::Micros;

/// A row group of evidence.parquet: one array per column, in the table's order.
pub(super) type RowGroup = Vec<Box<dyn Array>>;

/// How one evidence column is held while its row group fills.
pub(super) enum ColumnBuilder {
    /// A count (UInt64; empty is null). Like every builder here, it makes a validity
    /// bitmap only once a cell is null: most evidence columns have none, and a bit
    /// pushed per cell cost more than the cell.
    Count(MutablePrimitiveArray<u64>),
    /// Text formatted per row (times, addresses); empty is null.
    Text(MutableBinaryViewArray<str>),
    /// Text looked up by id; empty is null.
    Dictionary(DictionaryColumn),
    /// Times formatted per row that repeat, keyed by the time; empty is null.
    Time(TimeColumn),
}

/// Where a text column's cells come from, which decides its builder.
#[derive(Clone, Copy)]
pub(super) enum TextCells {
    /// Formatted per row, mostly distinct (a flow's time): polars finds out whether a
    /// dictionary pays.
    Formatted,
    /// Looked up by an id the spool holds: a dictionary array from the start.
    LookedUp,
    /// Times that repeat (a DNS answer's time, shared by the flows it attributed): a
    /// dictionary keyed by the time. Built by polars, it cost a hash of every cell to
    /// estimate the column's distinct values and another to build the dictionary.
    RepeatedTimes,
}

/// The evidence columns' builders, by [`Kind`]: counts typed, text by where its cells
/// come from (`cells[c]`).
pub(super) fn builders(cells: &[TextCells], rows: usize) -> Vec<ColumnBuilder> {
    EVIDENCE
        .columns
        .iter()
        .zip(cells)
        .map(|(c, &cells)| match (c.kind, cells) {
            (kind, _) if kind.is_count() => {
                ColumnBuilder::Count(MutablePrimitiveArray::with_capacity(rows))
            }
            (_, TextCells::LookedUp) => ColumnBuilder::Dictionary(DictionaryColumn::default()),
            (_, TextCells::RepeatedTimes) => ColumnBuilder::Time(TimeColumn::default()),
            (_, TextCells::Formatted) => {
                ColumnBuilder::Text(MutableBinaryViewArray::with_capacity(rows))
            }
        })
        .collect()
}

impl ColumnBuilder {
    /// `rows` more cells, a column's worth of a batch: row `i`'s count (`count(i)`) for a
    /// count column, else its key and text (`cell(i)`; empty text is null). The key names
    /// the text among the column's distinct values (two keys never share a text); only
    /// dictionary columns use it. A time column names its text by the row's time
    /// (`time(i)`) instead.
    #[inline]
    pub(super) fn extend<'a>(
        &mut self,
        rows: usize,
        count: impl Fn(usize) -> Option<u64>,
        time: impl Fn(usize) -> Option<Micros>,
        cell: impl Fn(usize) -> (Option<u32>, &'a str),
    ) {
        let value = |text: &'a str| (!text.is_empty()).then_some(text);
        match self {
            ColumnBuilder::Count(values) => {
                for i in 0..rows {
                    values.push(count(i));
                }
            }
            ColumnBuilder::Text(values) => {
                for i in 0..rows {
                    values.push(value(cell(i).1));
                }
            }
            ColumnBuilder::Dictionary(column) => {
                for i in 0..rows {
                    let (key, text) = cell(i);
                    column.push(key.unwrap_or(0), value(text));
                }
            }
            ColumnBuilder::Time(column) => {
                for i in 0..rows {
                    column.push(time(i), value(cell(i).1));
                }
            }
        }
    }

    /// The filled column as an array, leaving the builder empty for the next group.
    fn take(&mut self) -> PolarsResult<Box<dyn Array>> {
        Ok(match self {
            ColumnBuilder::Count(values) => Box::new(PrimitiveArray::from(std::mem::take(values))),
            ColumnBuilder::Text(values) => Box::new(std::mem::take(values).freeze()),
            ColumnBuilder::Dictionary(column) => column.take()?,
            ColumnBuilder::Time(column) => column.take()?,
        })
    }
}

/// A text column as dictionary keys and the distinct values of its row group, in
/// order of first appearance.
#[derive(Default)]
pub(super) struct DictionaryColumn {
    /// Key + 1 of each id seen in this group (0: not seen), indexed by id.
    key_of: Vec<u32>,
    /// Ids seen in this group, to clear `key_of` for the next one.
    seen: Vec<u32>,
    /// Each row's key; null for an empty cell.
    keys: MutablePrimitiveArray<u32>,
    values: MutableBinaryViewArray<str>,
}

impl DictionaryColumn {
    /// One row's cell: its text (none is null) and the key that names the text among
    /// the column's distinct values (two keys never share a text).
    fn push(&mut self, id: u32, value: Option<&str>) {
        let Some(text) = value else {
            self.keys.push(None);
            return;
        };
        let slot = id as usize;
        if slot >= self.key_of.len() {
            self.key_of.resize(slot + 1, 0);
        }
        if self.key_of[slot] == 0 {
            self.values.push_value(text);
            // A row group holds at most 65,536 rows, so its distinct values fit a u32.
            self.key_of[slot] = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
            self.seen.push(id);
        }
        self.keys.push_value(self.key_of[slot] - 1);
    }

    fn take(&mut self) -> PolarsResult<Box<dyn Array>> {
        for &id in &self.seen {
            self.key_of[id as usize] = 0;
        }
        self.seen.clear();
        dictionary_or_text(
            std::mem::take(&mut self.keys),
            std::mem::take(&mut self.values),
        )
    }
}

/// A time column as dictionary keys and the distinct texts of its row group, in order
/// of first appearance. A time's text is the same for the whole run (RFC 3339 to the
/// microsecond), so the time names it; a time without a text (beyond chrono's range)
/// is null, as its empty text would be.
#[derive(Default)]
pub(super) struct TimeColumn {
    /// The key of each time seen in this group.
    key_of: FastMap<Micros, u32>,
    /// Each row's key; null for a row without a time.
    keys: MutablePrimitiveArray<u32>,
    values: MutableBinaryViewArray<str>,
}

impl TimeColumn {
    /// One row's time and its text (none is null).
    fn push(&mut self, time: Option<Micros>, text: Option<&str>) {
        let (Some(time), Some(text)) = (time, text) else {
            self.keys.push(None);
            return;
        };
        let values = &mut self.values;
        let key = *self.key_of.entry(time).or_insert_with(|| {
            values.push_value(text);
            // A row group holds at most 65,536 rows, so its distinct values fit a u32.
            u32::try_from(values.len() - 1).unwrap_or(u32::MAX)
        });
        self.keys.push_value(key);
    }

    fn take(&mut self) -> PolarsResult<Box<dyn Array>> {
        self.key_of.clear();
        dictionary_or_text(
            std::mem::take(&mut self.keys),
            std::mem::take(&mut self.values),
        )
    }
}

/// A row group's dictionary column from its keys and distinct values, or the same cells
/// as plain text when polars-parquet would not write a dictionary.
fn dictionary_or_text(
    keys: MutablePrimitiveArray<u32>,
    values: MutableBinaryViewArray<str>,
) -> PolarsResult<Box<dyn Array>> {
    let keys = PrimitiveArray::from(keys);
    let values: Utf8ViewArray = values.freeze();
    let rows = keys.len();
    // polars-parquet writes a text column plain when its estimated distinct values
    // pass three quarters of a group of more than 128 rows; such a column goes back
    // to being text, so that rule still decides.
    if rows > 128 && values.len() as f64 / rows as f64 > 0.75 {
        let mut text = MutableBinaryViewArray::<str>::with_capacity(rows);
        for key in keys.iter() {
            text.push(key.map(|&key| values.value(key as usize)));
        }
        return Ok(Box::new(text.freeze()));
    }
    let array = DictionaryArray::<u32>::try_new(
        ArrowDataType::Dictionary(
            IntegerType::UInt32,
            Box::new(ArrowDataType::Utf8View),
            false,
        ),
        keys,
        Box::new(values),
    )?;
    Ok(Box::new(array))
}

/// The row group the builders hold, leaving them empty.
pub(super) fn take_group(builders: &mut [ColumnBuilder]) -> PolarsResult<RowGroup> {
    builders.iter_mut().map(ColumnBuilder::take).collect()
}

/// evidence.parquet's schema: counts UInt64, everything else text, as polars would
/// declare a frame of those columns.
fn arrow_schema() -> ArrowSchema {
    Schema::from_iter(EVIDENCE.columns.iter().map(|c| {
        let dtype = if c.kind.is_count() {
            DataType::UInt64
        } else {
            DataType::String
        };
        Field::new(c.name.into(), dtype)
    }))
    .to_arrow(CompatLevel::newest())
}

fn parquet_error(path: &Path, e: PolarsError) -> Error {
    Error::Report {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The zstd level of evidence.parquet's pages. Level 1 rather than zstd's default 3: the
/// pages are dictionary keys and plain times, addresses and counts, which level 3 made
/// 5 % larger on the generated AI-heavy mix (239 MB against 228 MB for 8 million rows)
/// and took 20 % more of the Parquet thread's CPU (docs/performance-history.md, the eighth pass).
pub(super) const ZSTD_LEVEL: i32 = 1;

/// Write evidence.parquet, one row group per group received, with polars' default
/// options but the zstd level (statistics, format version 1); returns the file's
/// SHA-256 and size.
pub(super) fn write(
    path: &Path,
    groups: std::sync::mpsc::Receiver<RowGroup>,
) -> Result<(String, u64)> {
    let failed = |e: PolarsError| parquet_error(path, e);
    let schema = arrow_schema();
    let parquet_schema = to_parquet_schema(&schema).map_err(failed)?;
    let encodings: Vec<Vec<Encoding>> = schema
        .iter_values()
        .map(|f| get_dtype_encoding(&f.dtype))
        .collect();
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        compression: CompressionOptions::Zstd(Some(
            ZstdLevel::try_new(ZSTD_LEVEL).map_err(failed)?,
        )),
        version: Version::V1,
        data_page_size: None,
    };
    let mut file = HashedFile::create(path)?;
    {
        let mut writer =
            FileWriter::new_with_parquet_schema(&mut file, schema, parquet_schema.clone(), options);
        for group in groups {
            let rows = group.first().map_or(0, |a| a.len());
            if rows == 0 {
                continue;
            }
            let mut columns = Vec::with_capacity(group.len());
            for ((array, type_), encoding) in
                group.iter().zip(parquet_schema.fields()).zip(&encodings)
            {
                let pages =
                    array_to_columns(array, type_.clone(), options, encoding).map_err(failed)?;
                for pages in pages {
                    let pages = pages.map(|page| {
                        page.map_err(|e| {
                            ParquetError::FeatureNotSupported(format!("reraised in polars: {e}"))
                        })
                    });
                    columns.push(Ok(DynStreamingIterator::new(
                        Compressor::new_from_vec(pages, options.compression, vec![])
                            .map_err(PolarsError::from),
                    )));
                }
            }
            writer
                .write(rows as u64, DynIter::new(columns.into_iter()))
                .map_err(failed)?;
        }
        writer.end(None).map_err(failed)?;
    }
    file.finish()
}
