//! Row provenance: evidence.csv and evidence.parquet, one row per AI-vendor egress flow.
//!
//! Rows are spooled to disk while flows stream past (the input file's SHA-256 is only
//! known once the file has been read to the end), then rewritten once with each file's
//! path and hash. Every row names the finding it counts towards, the input file and line
//! it came from and, for `dns` attribution, the file and line of the DNS answer that
//! justified it.

use crate::tables::{Kind, EVIDENCE};
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::csv_tables::neutralise;
use super::pseudonym::Pseudonymizer;
use xborder_model::accounting::FileReport;
use xborder_model::error::{Error, Result};
use xborder_model::period::rfc3339;

pub use xborder_engine::fold::{EvidenceRow, EvidenceSink};

/// The on-disk spool of evidence rows for one run: one run of rows written by the
/// reading thread, and one per fold shard, each in increasing reading order (`seq`).
pub struct EvidenceSpool {
    dir: PathBuf,
    main: SpoolRun,
    shards: Vec<SpoolRun>,
}

/// One file of spooled rows, in increasing `seq`.
struct SpoolRun {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
    rows: u64,
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The fold reports evidence rows straight into the spool.
impl EvidenceSink for EvidenceSpool {
    fn attributed(&mut self, row: &EvidenceRow<'_>) -> Result<()> {
        self.main.push(row)
    }

    /// A spool file per shard; [`EvidenceSpool::finish`] merges them by `seq`.
    fn shards(&mut self, n: usize) -> Result<Option<Vec<&mut (dyn EvidenceSink + Send)>>> {
        let first = self.shards.len();
        for i in first..first + n {
            self.shards.push(SpoolRun::create(
                &self.dir.join(format!(".evidence.spool.{i}")),
            )?);
        }
        Ok(Some(
            self.shards[first..]
                .iter_mut()
                .map(|r| r as &mut (dyn EvidenceSink + Send))
                .collect(),
        ))
    }
}

impl EvidenceSink for SpoolRun {
    fn attributed(&mut self, row: &EvidenceRow<'_>) -> Result<()> {
        self.push(row)
    }
}

impl SpoolRun {
    fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        Ok(SpoolRun {
            writer: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(BufWriter::new(file)),
            path: path.to_path_buf(),
            rows: 0,
        })
    }

    fn push(&mut self, r: &EvidenceRow<'_>) -> Result<()> {
        let (dns_file, dns_line, dns_ts) = match r.dns {
            Some((f, l, t)) => (f.to_string(), l.to_string(), t.to_string()),
            None => (String::new(), String::new(), String::new()),
        };
        self.writer
            .write_record([
                r.finding_id,
                r.regimes,
                &r.file.to_string(),
                &r.line.to_string(),
                &r.ts.to_string(),
                &r.src_ip,
                &opt(r.src_port),
                &r.dst_ip,
                &opt(r.dst_port),
                r.proto,
                &opt(r.bytes_out),
                &opt(r.bytes_in),
                r.hostname,
                r.attribution,
                r.vendor,
                r.product,
                r.category,
                r.source_site,
                r.destination_country,
                &dns_file,
                &dns_line,
                &dns_ts,
                &r.seq.to_string(),
            ])
            .map_err(|e| Error::io(&self.path, std::io::Error::other(e.to_string())))?;
        self.rows += 1;
        Ok(())
    }

    /// Flush and open the run for reading back.
    fn reader(mut self) -> Result<(PathBuf, csv::Reader<BufReader<File>>)> {
        self.writer.flush().map_err(|e| Error::io(&self.path, e))?;
        drop(self.writer);
        let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        Ok((
            self.path,
            csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(BufReader::new(file)),
        ))
    }
}

/// Column of the spool holding the reading-order number.
const SEQ_COLUMN: usize = 22;

/// The spooled rows of every run in reading order: a k-way merge by `seq`.
struct Merged {
    runs: Vec<(PathBuf, csv::Reader<BufReader<File>>)>,
    heads: std::collections::BinaryHeap<std::cmp::Reverse<(u64, usize)>>,
    pending: Vec<Option<csv::StringRecord>>,
}

impl Merged {
    fn new(runs: Vec<(PathBuf, csv::Reader<BufReader<File>>)>) -> Result<Self> {
        let mut m = Merged {
            pending: (0..runs.len()).map(|_| None).collect(),
            runs,
            heads: std::collections::BinaryHeap::new(),
        };
        for i in 0..m.runs.len() {
            m.advance(i)?;
        }
        Ok(m)
    }

    /// Read the next row of run `i` into its slot and queue it by `seq`.
    fn advance(&mut self, i: usize) -> Result<()> {
        let (path, reader) = &mut self.runs[i];
        let mut rec = csv::StringRecord::new();
        let more = reader
            .read_record(&mut rec)
            .map_err(|e| Error::io(&*path, std::io::Error::other(e.to_string())))?;
        if more {
            let seq = rec
                .get(SEQ_COLUMN)
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| Error::Report {
                    path: path.clone(),
                    message: "a spooled evidence row has no reading-order number".into(),
                })?;
            self.heads.push(std::cmp::Reverse((seq, i)));
            self.pending[i] = Some(rec);
        }
        Ok(())
    }

    /// The next row in reading order.
    fn next_row(&mut self) -> Result<Option<csv::StringRecord>> {
        let Some(std::cmp::Reverse((_, i))) = self.heads.pop() else {
            return Ok(None);
        };
        let rec = self.pending[i].take();
        self.advance(i)?;
        Ok(rec)
    }
}

impl EvidenceSpool {
    /// Create the spool as a hidden file in the output directory.
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Ok(EvidenceSpool {
            main: SpoolRun::create(&dir.join(".evidence.spool"))?,
            dir: dir.to_path_buf(),
            shards: Vec::new(),
        })
    }

    /// Rows spooled so far, by every shard.
    pub fn rows(&self) -> u64 {
        self.main.rows + self.shards.iter().map(|r| r.rows).sum::<u64>()
    }

    /// Rewrite the spool as evidence.csv in `dir`, resolving file indices to paths and
    /// hashes, then derive evidence.parquet from it. Returns the two file paths.
    pub fn finish(
        self,
        dir: &Path,
        files: &[FileReport],
        pseudonymizer: Option<&Pseudonymizer>,
    ) -> Result<(PathBuf, PathBuf)> {
        let csv_path = dir.join("evidence.csv");
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |e: csv::Error| Error::io(&p, std::io::Error::other(e.to_string()))
        };
        let mut paths = Vec::with_capacity(1 + self.shards.len());
        let mut runs = Vec::with_capacity(1 + self.shards.len());
        for run in std::iter::once(self.main).chain(self.shards) {
            let (path, reader) = run.reader()?;
            paths.push(path.clone());
            runs.push((path, reader));
        }
        let mut merged = Merged::new(runs)?;
        let out = File::create(&csv_path).map_err(|e| Error::io(&csv_path, e))?;
        let mut w = csv::Writer::from_writer(BufWriter::new(out));
        w.write_record(EVIDENCE.names()).map_err(io(&csv_path))?;
        let file_of = |idx: &str| -> (String, String) {
            idx.parse::<usize>()
                .ok()
                .and_then(|i| files.get(i))
                .map(|f| (f.path.clone(), f.sha256.clone()))
                .unwrap_or_default()
        };
        let time = |s: &str| s.parse::<i64>().map(rfc3339).unwrap_or_default();
        while let Some(rec) = merged.next_row()? {
            let (path, sha) = file_of(&rec[2]);
            let (dns_path, dns_sha) = if rec[19].is_empty() {
                (String::new(), String::new())
            } else {
                file_of(&rec[19])
            };
            let src = match pseudonymizer {
                Some(p) => p.ip(&rec[5]),
                None => rec[5].to_string(),
            };
            let row: [String; 24] = [
                rec[0].to_string(),
                rec[1].to_string(),
                path,
                sha,
                rec[3].to_string(),
                time(&rec[4]),
                src,
                rec[6].to_string(),
                rec[7].to_string(),
                rec[8].to_string(),
                rec[9].to_string(),
                rec[10].to_string(),
                rec[11].to_string(),
                rec[12].to_string(),
                rec[13].to_string(),
                rec[14].to_string(),
                rec[15].to_string(),
                rec[16].to_string(),
                rec[17].to_string(),
                rec[18].to_string(),
                dns_path,
                dns_sha,
                rec[20].to_string(),
                if rec[21].is_empty() {
                    String::new()
                } else {
                    time(&rec[21])
                },
            ];
            w.write_record(row.iter().map(|c| neutralise(c).into_owned()))
                .map_err(io(&csv_path))?;
        }
        w.flush().map_err(|e| Error::io(&csv_path, e))?;
        drop(w);
        drop(merged);
        for path in &paths {
            std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
        }
        let parquet_path = dir.join("evidence.parquet");
        write_parquet(&csv_path, &parquet_path)?;
        Ok((csv_path, parquet_path))
    }
}

/// Rows per row group of evidence.parquet: the conversion holds one group at a time, so
/// its memory does not grow with the number of AI-vendor flows.
const PARQUET_BATCH_ROWS: usize = 1 << 16;

/// Stream evidence.csv into evidence.parquet with an explicit schema (numbers typed,
/// everything else text; empty fields are null), one row group at a time.
fn write_parquet(csv_path: &Path, parquet_path: &Path) -> Result<()> {
    write_parquet_in_groups(csv_path, parquet_path, PARQUET_BATCH_ROWS)
}

fn write_parquet_in_groups(csv_path: &Path, parquet_path: &Path, group_rows: usize) -> Result<()> {
    let names = EVIDENCE.names();
    // Counts are typed UInt64 (empty is null); everything else is text.
    let is_numeric: Vec<bool> = EVIDENCE
        .columns
        .iter()
        .map(|c| matches!(c.kind, Kind::Count | Kind::OptionalCount))
        .collect();
    let schema = Schema::from_iter(names.iter().zip(&is_numeric).map(|(c, n)| {
        Field::new(
            (*c).into(),
            if *n {
                DataType::UInt64
            } else {
                DataType::String
            },
        )
    }));
    let fail = |e: PolarsError| Error::Report {
        path: parquet_path.to_path_buf(),
        message: e.to_string(),
    };
    let out = File::create(parquet_path).map_err(|e| Error::io(parquet_path, e))?;
    let mut writer = ParquetWriter::new(BufWriter::new(out))
        .batched(&schema)
        .map_err(fail)?;
    let mut input = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(csv_path)
        .map_err(|e| Error::Report {
            path: csv_path.to_path_buf(),
            message: e.to_string(),
        })?;
    let mut numbers: Vec<Vec<Option<u64>>> = vec![Vec::new(); names.len()];
    let mut texts: Vec<Vec<Option<String>>> = vec![Vec::new(); names.len()];
    let mut rows = 0usize;
    let mut flush =
        |numbers: &mut Vec<Vec<Option<u64>>>, texts: &mut Vec<Vec<Option<String>>>| -> Result<()> {
            let columns = names
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if is_numeric[i] {
                        Column::new((*c).into(), std::mem::take(&mut numbers[i]))
                    } else {
                        Column::new((*c).into(), std::mem::take(&mut texts[i]))
                    }
                })
                .collect();
            let frame = DataFrame::new_infer_height(columns).map_err(fail)?;
            writer.write_batch(&frame).map_err(fail)
        };
    for (n, record) in input.records().enumerate() {
        let record = record.map_err(|e| Error::Report {
            path: csv_path.to_path_buf(),
            message: e.to_string(),
        })?;
        for (i, value) in record.iter().enumerate().take(names.len()) {
            if is_numeric[i] {
                let v = if value.is_empty() {
                    None
                } else {
                    Some(value.parse::<u64>().map_err(|_| Error::Report {
                        path: csv_path.to_path_buf(),
                        message: format!("line {}: {} `{value}` is not a number", n + 2, names[i]),
                    })?)
                };
                numbers[i].push(v);
            } else {
                texts[i].push((!value.is_empty()).then(|| value.to_string()));
            }
        }
        rows += 1;
        if rows == group_rows {
            flush(&mut numbers, &mut texts)?;
            rows = 0;
        }
    }
    if rows > 0 {
        flush(&mut numbers, &mut texts)?;
    }
    writer.finish().map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row groups change nothing: the file reads back as the whole CSV read at once with
    /// the same schema (numbers typed, empty fields null).
    #[test]
    fn parquet_in_row_groups_equals_the_csv() {
        let dir = tempfile::tempdir().unwrap();
        let csv_path = dir.path().join("evidence.csv");
        let mut w = csv::Writer::from_path(&csv_path).unwrap();
        w.write_record(EVIDENCE.names()).unwrap();
        for i in 0..10u64 {
            let row: Vec<String> = EVIDENCE
                .names()
                .iter()
                .enumerate()
                .map(|(c, name)| match (*name, i % 3) {
                    (_, 0) if c % 2 == 0 => String::new(),
                    (
                        "input_line" | "src_port" | "dst_port" | "bytes_out" | "bytes_in"
                        | "attribution_line",
                        _,
                    ) => (i * 1000 + c as u64).to_string(),
                    _ => format!("v{i},\"{c}\""),
                })
                .collect();
            w.write_record(&row).unwrap();
        }
        w.flush().unwrap();
        drop(w);
        for group in [1, 3, 10, 64] {
            let out = dir.path().join(format!("e{group}.parquet"));
            write_parquet_in_groups(&csv_path, &out, group).unwrap();
            let got = ParquetReader::new(File::open(&out).unwrap())
                .finish()
                .unwrap();
            assert_eq!(got.height(), 10);
            assert_eq!(got.column("bytes_out").unwrap().dtype(), &DataType::UInt64);
            assert_eq!(got.column("finding_id").unwrap().null_count(), 4);
            assert_eq!(
                got.column("input_file").unwrap().str().unwrap().get(1),
                Some("v1,\"2\"")
            );
            assert_eq!(
                got.column("src_port").unwrap().u64().unwrap().get(1),
                Some(1007)
            );
        }
        // A number that is not one is an error naming the line and column.
        std::fs::write(
            &csv_path,
            format!("{}\n{}\n", EVIDENCE.names().join(","), {
                let mut v = vec![""; EVIDENCE.columns.len()];
                v[4] = "x";
                v.join(",")
            }),
        )
        .unwrap();
        let err = write_parquet_in_groups(&csv_path, &dir.path().join("bad.parquet"), 4)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2: input_line"), "{err}");
    }
}
