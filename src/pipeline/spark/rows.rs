//! The one table every Spark stage reads and writes: `kind`, `file`, `ord`, `part`,
//! `shard` and an opaque `payload`.
//!
//! Spark only shuffles and sorts by the four integer columns; what a row means is in
//! its payload, which only xborder reads ([`xborder_model::codec`], or JSON for the few
//! summary rows). The Python job names the same kinds (spark/xborder_spark.py); the two
//! lists must agree, and `tests/e2e_spark.rs` fails if they do not.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{Error, Result};

/// What a row holds. The numbers are the `kind` column, shared with the Python job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Kind {
    /// One input's report: counts, hash, rejects listed (JSON).
    Report = 0,
    /// A DNS record inside the DNS read-back window; `part` is its de-duplication key,
    /// `shard` its client and the day of its response.
    Dns = 1,
    /// A connection hostname (TLS SNI, HTTP Host); `part` is its connection id.
    Hostname = 2,
    /// A flow inside the period; `part` is its connection id, `shard` its client and day.
    Flow = 3,
    /// An address a vendor name resolved to (distinct per input).
    VendorAddress = 4,
    /// A DNS name with an address answer; `shard` is 1 when it names a vendor.
    DnsName = 5,
    /// A connection hostname as read (distinct per input).
    HostName = 6,
    /// What one de-duplication task counted (JSON).
    DedupCounts = 7,
    /// A kept connection hostname that names a vendor.
    HostVendorName = 8,
    /// A flow record that reused another connection's id (for conflicts.csv).
    Conflict = 9,
    /// One fold shard's partial result (its Parquet tables, bundled).
    Partial = 10,
    /// One evidence row; `file` and `ord` give its place in reading order.
    Evidence = 11,
    /// What one fold task counted of the DNS index (JSON).
    FoldCounts = 12,
    /// The distinct counts of names across the run, counted by Spark (JSON, written by
    /// the job: the names themselves never come back to the driver).
    DistinctCounts = 13,
    /// A copy of an accepted DNS record for a later day its answers can still attribute
    /// flows on (its window crosses midnight); indexed there, counted only at home.
    DnsCopy = 14,
    /// A (client, vendor address) pair a fold task kept answers for, for run.json's
    /// distinct count of pairs.
    AddressPair = 15,
}

impl Kind {
    pub const ALL: [Kind; 16] = [
        Kind::Report,
        Kind::Dns,
        Kind::Hostname,
        Kind::Flow,
        Kind::VendorAddress,
        Kind::DnsName,
        Kind::HostName,
        Kind::DedupCounts,
        Kind::HostVendorName,
        Kind::Conflict,
        Kind::Partial,
        Kind::Evidence,
        Kind::FoldCounts,
        Kind::DistinctCounts,
        Kind::DnsCopy,
        Kind::AddressPair,
    ];

    fn of(v: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| *k as u8 == v)
    }

    /// The upper-case name the Python job uses for this kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Report => "REPORT",
            Kind::Dns => "DNS",
            Kind::Hostname => "HOSTNAME",
            Kind::Flow => "FLOW",
            Kind::VendorAddress => "VENDOR_ADDRESS",
            Kind::DnsName => "DNS_NAME",
            Kind::HostName => "HOST_NAME",
            Kind::DedupCounts => "DEDUP_COUNTS",
            Kind::HostVendorName => "HOST_VENDOR_NAME",
            Kind::Conflict => "CONFLICT",
            Kind::Partial => "PARTIAL",
            Kind::Evidence => "EVIDENCE",
            Kind::FoldCounts => "FOLD_COUNTS",
            Kind::DistinctCounts => "DISTINCT_COUNTS",
            Kind::DnsCopy => "DNS_COPY",
            Kind::AddressPair => "ADDRESS_PAIR",
        }
    }
}

/// A 64-bit column value from a 128-bit key, for Spark to hash-partition on.
pub fn key_column(key: u128) -> i64 {
    key as u64 as i64
}

/// One row as read back.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub kind: Kind,
    pub file: u32,
    pub ord: u64,
    pub part: i64,
    pub shard: i64,
    pub payload: &'a [u8],
}

/// Rows written to a Parquet file in batches, so a task's memory stays flat.
pub struct RowWriter {
    path: PathBuf,
    writer: polars::io::parquet::write::BatchedWriter<File>,
    kind: Vec<u32>,
    file: Vec<u32>,
    ord: Vec<u64>,
    part: Vec<i64>,
    shard: Vec<i64>,
    payload: Vec<u8>,
    ends: Vec<usize>,
}

/// Rows per Parquet batch (row group).
const BATCH_ROWS: usize = 65_536;

impl RowWriter {
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let schema = Schema::from_iter([
            Field::new("kind".into(), DataType::UInt32),
            Field::new("file".into(), DataType::UInt32),
            Field::new("ord".into(), DataType::UInt64),
            Field::new("part".into(), DataType::Int64),
            Field::new("shard".into(), DataType::Int64),
            Field::new("payload".into(), DataType::Binary),
        ]);
        // A task-local file read once: compression would only cost time.
        let writer = ParquetWriter::new(file)
            .with_compression(ParquetCompression::Uncompressed)
            .batched(&schema)
            .map_err(|e| fail(path, e))?;
        Ok(RowWriter {
            path: path.to_path_buf(),
            writer,
            kind: Vec::new(),
            file: Vec::new(),
            ord: Vec::new(),
            part: Vec::new(),
            shard: Vec::new(),
            payload: Vec::new(),
            ends: Vec::new(),
        })
    }

    /// Append one row.
    pub fn push(
        &mut self,
        kind: Kind,
        file: u32,
        ord: u64,
        part: i64,
        shard: i64,
        payload: &[u8],
    ) -> Result<()> {
        self.kind.push(u32::from(kind as u8));
        self.file.push(file);
        self.ord.push(ord);
        self.part.push(part);
        self.shard.push(shard);
        self.payload.extend_from_slice(payload);
        self.ends.push(self.payload.len());
        if self.kind.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.kind.is_empty() {
            return Ok(());
        }
        let mut start = 0;
        let payloads: Vec<&[u8]> = self
            .ends
            .iter()
            .map(|&end| {
                let p = &self.payload[start..end];
                start = end;
                p
            })
            .collect();
        let columns = vec![
            Column::new("kind".into(), std::mem::take(&mut self.kind)),
            Column::new("file".into(), std::mem::take(&mut self.file)),
            Column::new("ord".into(), std::mem::take(&mut self.ord)),
            Column::new("part".into(), std::mem::take(&mut self.part)),
            Column::new("shard".into(), std::mem::take(&mut self.shard)),
            Column::new("payload".into(), payloads),
        ];
        let frame = DataFrame::new_infer_height(columns).map_err(|e| fail(&self.path, e))?;
        self.writer
            .write_batch(&frame)
            .map_err(|e| fail(&self.path, e))?;
        self.payload.clear();
        self.ends.clear();
        Ok(())
    }

    /// Write what is buffered and close the file.
    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.writer.finish().map_err(|e| fail(&self.path, e))?;
        Ok(())
    }
}

fn fail(path: &Path, e: PolarsError) -> Error {
    Error::Report {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The rows of one Parquet file, held as its columns.
pub struct Rows {
    path: PathBuf,
    frame: DataFrame,
}

impl Rows {
    /// Read a file of rows; a missing file is an error naming it.
    pub fn read(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let frame = ParquetReader::new(file)
            .finish()
            .map_err(|e| fail(path, e))?;
        Ok(Rows {
            path: path.to_path_buf(),
            frame,
        })
    }

    /// Call `each` for every row, in file order.
    pub fn each(&self, mut each: impl FnMut(Row<'_>) -> Result<()>) -> Result<()> {
        let f = &self.frame;
        let column = |name: &str| {
            f.column(name)
                .map_err(|e| fail(&self.path, e))
                .map(|c| c.as_materialized_series().rechunk())
        };
        let (kind, file, ord, part, shard, payload) = (
            column("kind")?,
            column("file")?,
            column("ord")?,
            column("part")?,
            column("shard")?,
            column("payload")?,
        );
        let bad = |what: &str| Error::Report {
            path: self.path.clone(),
            message: format!("column `{what}` has the wrong type or a null value"),
        };
        let kind = kind.u32().map_err(|_| bad("kind"))?;
        let file = file.u32().map_err(|_| bad("file"))?;
        let ord = ord.u64().map_err(|_| bad("ord"))?;
        let part = part.i64().map_err(|_| bad("part"))?;
        let shard = shard.i64().map_err(|_| bad("shard"))?;
        let payload = payload.binary().map_err(|_| bad("payload"))?;
        for i in 0..f.height() {
            let k = kind.get(i).ok_or_else(|| bad("kind"))?;
            let row = Row {
                kind: u8::try_from(k)
                    .ok()
                    .and_then(Kind::of)
                    .ok_or_else(|| Error::Report {
                        path: self.path.clone(),
                        message: format!("unknown row kind {k}"),
                    })?,
                file: file.get(i).ok_or_else(|| bad("file"))?,
                ord: ord.get(i).ok_or_else(|| bad("ord"))?,
                part: part.get(i).ok_or_else(|| bad("part"))?,
                shard: shard.get(i).ok_or_else(|| bad("shard"))?,
                payload: payload.get(i).ok_or_else(|| bad("payload"))?,
            };
            each(row)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Python job names the same kinds with the same numbers.
    #[test]
    fn the_python_job_knows_every_kind() {
        let script = super::super::driver::JOB_SCRIPT;
        let start = script.find("KINDS = {").expect("KINDS in the job");
        let end = start + script[start..].find('}').expect("end of KINDS");
        let listed: Vec<(String, u8)> = script[start + 9..end]
            .split(',')
            .filter(|e| e.contains(':'))
            .map(|e| {
                let (name, value) = e.split_once(':').unwrap();
                (
                    name.trim().trim_matches('"').to_string(),
                    value.trim().parse().unwrap(),
                )
            })
            .collect();
        let ours: Vec<(String, u8)> = Kind::ALL
            .iter()
            .map(|k| (k.name().to_string(), *k as u8))
            .collect();
        assert_eq!(listed, ours);
    }

    #[test]
    fn rows_round_trip_through_parquet_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.parquet");
        let mut w = RowWriter::create(&path).unwrap();
        let n = BATCH_ROWS as u64 + 10;
        for i in 0..n {
            let payload = i.to_le_bytes();
            let len = (i % 9) as usize;
            w.push(Kind::Flow, 3, i, -(i as i64), 7, &payload[..len])
                .unwrap();
        }
        w.push(Kind::Report, 0, 0, 0, 0, b"{}").unwrap();
        w.finish().unwrap();
        let mut seen = 0u64;
        Rows::read(&path)
            .unwrap()
            .each(|r| {
                if seen < n {
                    assert_eq!(
                        (r.kind, r.file, r.ord, r.part),
                        (Kind::Flow, 3, seen, -(seen as i64))
                    );
                    assert_eq!(r.payload, &seen.to_le_bytes()[..(seen % 9) as usize]);
                } else {
                    assert_eq!((r.kind, r.payload), (Kind::Report, &b"{}"[..]));
                }
                seen += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, n + 1);
    }
}
