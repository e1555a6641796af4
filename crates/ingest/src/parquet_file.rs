//! What the Parquet readers share. Parquet keeps its schema in a footer at the end, so a
//! reader opens the file by path (memory-mapped by polars) instead of reading the stream
//! the pipeline hands it; a Parquet file wrapped in gzip or zstd (pointless, Parquet
//! compresses its pages) is read from the stream into memory instead.
//!
//! The stream still has to be consumed: the pipeline's reader thread hashes the bytes it
//! reads for run.json, and reports the file done only once the parser has read to the end.
//! [`ParquetInput::keep_pace`] consumes it in step with the rows decoded, so hashing runs
//! alongside decoding rather than after it.

use std::fs::File;
use std::io::{BufRead, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::io::mmap::MmapBytesReader;
use polars::prelude::*;

use crate::ReadContext;
use xborder_model::error::Result;

/// Column names of a plain Parquet file, from its footer (`None` if it is not one, or if
/// the footer cannot be decoded).
pub(crate) fn schema_names(path: &Path) -> Option<Vec<String>> {
    let file = File::open(path).ok()?;
    guarded(|| {
        let mut reader = ParquetReader::new(file);
        let schema = reader.schema()?;
        Ok(schema.iter_names().map(|n| n.to_string()).collect())
    })
    .ok()
}

thread_local! {
    /// Set while a [`guarded`] call runs on this thread: its panics are reported as
    /// rejects, so the panic hook stays quiet for them.
    static CONTAINING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Install, once per process, a panic hook that stays silent for panics [`guarded`]
/// contains and defers to the previous hook for every other panic.
fn quiet_contained_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CONTAINING.with(|c| c.get()) {
                previous(info);
            }
        }));
    });
}

/// Run a Parquet decoder call, turning a panic on corrupt input into an error that
/// carries the panic's message: a damaged file must be rejected with a reason, never
/// crash the run or print a backtrace.
pub(crate) fn guarded<T>(f: impl FnOnce() -> PolarsResult<T>) -> PolarsResult<T> {
    quiet_contained_panics();
    let was = CONTAINING.with(|c| c.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CONTAINING.with(|c| c.set(was));
    result.unwrap_or_else(|payload| {
        let why = xborder_model::text::panic_message(payload.as_ref());
        Err(PolarsError::ComputeError(
            format!("the Parquet decoder failed (corrupt data?): {why}").into(),
        ))
    })
}

/// `df`, decoded from rows `start..start + declared` of a file, with every column as long
/// as the frame: a damaged page can decode to a column shorter than its frame, which the
/// decoder checks only in debug builds, and reading a row past a column's end panics.
/// Such a frame is an error, so its rows are rejected as undecodable instead.
pub(crate) fn consistent(df: DataFrame, start: usize, declared: usize) -> PolarsResult<DataFrame> {
    let lengths = df.columns().iter().map(|c| (c.name().as_str(), c.len()));
    match frame_shape_error(df.height(), lengths, start, declared) {
        Some(why) => Err(PolarsError::ComputeError(why.into())),
        None => Ok(df),
    }
}

/// Why a frame of `height` rows with columns of `lengths` cannot stand for rows
/// `start..start + declared` of a file; `None` when it can.
fn frame_shape_error<'c>(
    height: usize,
    mut lengths: impl Iterator<Item = (&'c str, usize)>,
    start: usize,
    declared: usize,
) -> Option<String> {
    if height > declared {
        return Some(format!(
            "{height} rows decoded from row {} on, the footer declares {declared}",
            start + 1
        ));
    }
    lengths
        .find(|(_, len)| *len != height)
        .map(|(name, len)| format!("column `{name}` decoded {len} values for {height} rows"))
}

fn is_plain_parquet(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"PAR1"
}

/// Where a Parquet input's bytes are; cheap to clone, so another thread can open its own
/// readers over the same input.
#[derive(Clone)]
pub(crate) enum Source {
    File(PathBuf),
    Memory(Arc<[u8]>),
}

impl Source {
    /// A fresh polars reader over the input (cheap: a file handle or a shared buffer).
    pub fn reader(&self) -> std::io::Result<ParquetReader<Box<dyn MmapBytesReader>>> {
        let r: Box<dyn MmapBytesReader> = match self {
            Source::File(p) => Box::new(File::open(p)?),
            Source::Memory(b) => Box::new(Cursor::new(Arc::clone(b))),
        };
        Ok(ParquetReader::new(r))
    }
}

/// One Parquet input being read.
pub(crate) struct ParquetInput {
    source: Source,
    /// Bytes of the stream to consume in all (the file's size on disk).
    size: u64,
    consumed: u64,
}

impl ParquetInput {
    /// The input behind `ctx`: the file itself when it is plain Parquet, else the
    /// (decompressed) stream read whole. `None` when the content is not Parquet.
    pub fn open(reader: &mut dyn BufRead, ctx: &ReadContext<'_>) -> Result<Option<Self>> {
        if is_plain_parquet(ctx.path) {
            let size = std::fs::metadata(ctx.path)
                .map_err(|e| ctx.io_error(e))?
                .len();
            return Ok(Some(ParquetInput {
                source: Source::File(ctx.path.to_path_buf()),
                size,
                consumed: 0,
            }));
        }
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| ctx.io_error(e))?;
        if !bytes.starts_with(b"PAR1") {
            return Ok(None);
        }
        Ok(Some(ParquetInput {
            source: Source::Memory(bytes.into()),
            size: 0,
            consumed: 0,
        }))
    }

    /// A fresh polars reader over the input (cheap: a file handle or a shared buffer).
    pub fn reader(&self) -> std::io::Result<ParquetReader<Box<dyn MmapBytesReader>>> {
        self.source.reader()
    }

    /// Where the input is, for opening readers on another thread.
    pub fn opener(&self) -> Source {
        self.source.clone()
    }

    /// Consume the stream up to the share of the file that `done` of `total` rows stand
    /// for, so the pipeline hashes the file while rows are decoded.
    pub fn keep_pace(
        &mut self,
        reader: &mut dyn BufRead,
        ctx: &ReadContext<'_>,
        done: usize,
        total: usize,
    ) -> Result<()> {
        let target = if total == 0 {
            self.size
        } else {
            (u128::from(self.size) * done as u128 / total as u128) as u64
        };
        self.consume_to(reader, ctx, target)
    }

    /// Consume the rest of the stream.
    pub fn finish(&mut self, reader: &mut dyn BufRead, ctx: &ReadContext<'_>) -> Result<()> {
        self.consume_to(reader, ctx, u64::MAX)
    }

    fn consume_to(
        &mut self,
        reader: &mut dyn BufRead,
        ctx: &ReadContext<'_>,
        target: u64,
    ) -> Result<()> {
        while self.consumed < target {
            let available = reader.fill_buf().map_err(|e| ctx.io_error(e))?.len();
            if available == 0 {
                break;
            }
            let n = available.min(usize::try_from(target - self.consumed).unwrap_or(usize::MAX));
            reader.consume(n);
            self.consumed += n as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame whose columns disagree with it, or that holds more rows than the footer
    /// declares for its range, is refused; release builds of the decoder do not check.
    #[test]
    fn frames_of_inconsistent_shape_are_refused() {
        let shape = |height, lengths: &[(&'static str, usize)], declared| {
            frame_shape_error(height, lengths.iter().copied(), 8, declared)
        };
        assert_eq!(shape(4, &[("ts", 4), ("uid", 4)], 4), None);
        assert_eq!(shape(3, &[("ts", 3)], 4), None);
        assert_eq!(
            shape(4, &[("ts", 4), ("uid", 0)], 4).as_deref(),
            Some("column `uid` decoded 0 values for 4 rows")
        );
        assert_eq!(
            shape(5, &[("ts", 5)], 4).as_deref(),
            Some("5 rows decoded from row 9 on, the footer declares 4")
        );
    }
}
