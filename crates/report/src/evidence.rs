//! Row provenance: evidence.csv and evidence.parquet, one row per AI-vendor egress flow.
//!
//! Rows are spooled to disk while flows stream past (the input file's SHA-256 is only
//! known once the file has been read to the end), then written once with each file's
//! path and hash. Every row names the finding it counts towards, the input file and line
//! it came from and, for `dns` attribution, the file and line of the DNS answer that
//! justified it.
//!
//! An AI-heavy run has millions of rows, so neither step allocates per row or per field:
//! the spool is binary (numbers as numbers, addresses as their bytes, and the text fields,
//! which repeat massively, as ids into an in-memory interning table), and [`finish`] reads
//! it once, decoding batches of rows from which it writes both evidence.csv and one row
//! group of evidence.parquet. Each text value is neutralised once, when first seen.
//!
//! [`finish`]: EvidenceSpool::finish

use crate::tables::EVIDENCE;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

mod parquet;

use super::csv_tables::neutralise;
use super::hashed_file::HashedFile;
use super::html::{EvidenceSample, EVIDENCE_ROWS_SHOWN, EVIDENCE_SHOWN};
use super::pseudonym::Pseudonymizer;
use super::OutputFile;
use xborder_model::accounting::FileReport;
use xborder_model::error::{Error, Result};
use xborder_model::fasthash::FastMap;
use xborder_model::period::rfc3339;
use xborder_model::schema::Micros;

pub use xborder_engine::fold::{EvidenceRow, EvidenceSink, TextGroup};

/// Which evidence files a run writes: both by default. At 10^8 AI-vendor flows
/// evidence.csv is tens of gigabytes and evidence.parquet a fifteenth of that, so a batch
/// job may keep only the Parquet file; the rows are the same in either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvidenceFormats {
    pub csv: bool,
    pub parquet: bool,
}

impl Default for EvidenceFormats {
    fn default() -> Self {
        EvidenceFormats {
            csv: true,
            parquet: true,
        }
    }
}

impl EvidenceFormats {
    /// `csv`, `parquet` or both, comma-separated (`--evidence`).
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut formats = EvidenceFormats {
            csv: false,
            parquet: false,
        };
        for part in text.split(',').map(str::trim) {
            match part {
                "csv" => formats.csv = true,
                "parquet" => formats.parquet = true,
                _ => {
                    return Err(format!(
                        "`{part}` is not an evidence format: give csv, parquet or csv,parquet"
                    ))
                }
            }
        }
        Ok(formats)
    }

    /// The files written, evidence.csv first.
    pub fn files(&self) -> Vec<&'static str> {
        [
            (self.csv, "evidence.csv"),
            (self.parquet, "evidence.parquet"),
        ]
        .into_iter()
        .filter_map(|(written, name)| written.then_some(name))
        .collect()
    }
}

/// The on-disk spool of evidence rows for one run: one run of rows written by the
/// reading thread, and one per fold shard ([`EvidenceSink::shards`]), each in increasing
/// reading order (`seq`); [`EvidenceSpool::finish`] merges them by that order.
pub struct EvidenceSpool {
    dir: PathBuf,
    main: SpoolRun,
    shards: Vec<SpoolRun>,
}

/// One spool file, with the interning table of its text fields.
struct SpoolRun {
    path: PathBuf,
    writer: BufWriter<File>,
    /// The record being encoded, reused for every row.
    record: Vec<u8>,
    texts: Interner,
    /// The ids of each numbered group's shared texts ([`EvidenceRow::texts`]).
    groups: FastMap<TextGroup, SharedIds>,
    rows: u64,
}

/// The ids of the texts a group of rows shares: finding, regimes, hostname, attribution,
/// vendor, product, category, site and country.
type SharedIds = [u32; 9];

/// The fold reports evidence rows straight into the spool.
impl EvidenceSink for EvidenceSpool {
    fn attributed(&mut self, row: &EvidenceRow<'_>) -> Result<()> {
        self.main.push(row)
    }

    /// A spool file per shard, merged by reading order when the spool is finished.
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
            writer: BufWriter::with_capacity(1 << 16, file),
            path: path.to_path_buf(),
            record: Vec::with_capacity(MAX_RECORD),
            texts: Interner::default(),
            groups: FastMap::default(),
            rows: 0,
        })
    }

    /// Append one row: its text fields become ids (no allocation for a value already
    /// seen; for a numbered group, once per group), the rest is written as numbers and
    /// address bytes.
    fn push(&mut self, r: &EvidenceRow<'_>) -> Result<()> {
        let shared = match r.texts {
            Some(group) => match self.groups.get(&group) {
                Some(ids) => *ids,
                None => {
                    let ids = self.texts.shared(r)?;
                    self.groups.insert(group, ids);
                    ids
                }
            },
            None => self.texts.shared(r)?,
        };
        let [finding, regimes, hostname, attribution, vendor, product, category, site, country] =
            shared;
        let row = SpoolRow {
            seq: r.seq,
            finding,
            regimes,
            file: r.file,
            line: r.line,
            ts: r.ts,
            src_ip: r.src_ip,
            src_port: r.src_port,
            dst_ip: r.dst_ip,
            dst_port: r.dst_port,
            proto: self.texts.id(Slot::Proto, r.proto)?,
            bytes_out: r.bytes_out,
            bytes_in: r.bytes_in,
            hostname,
            attribution,
            vendor,
            product,
            category,
            site,
            country,
            dns: r.dns,
        };
        self.record.clear();
        row.encode(&mut self.record);
        self.writer
            .write_all(&self.record)
            .map_err(|e| Error::io(&self.path, e))?;
        self.rows += 1;
        Ok(())
    }

    /// Flush the file for reading back.
    fn close(mut self) -> Result<(PathBuf, Interner, u64)> {
        self.writer.flush().map_err(|e| Error::io(&self.path, e))?;
        drop(self.writer);
        Ok((self.path, self.texts, self.rows))
    }
}

/// The rows of every spool run in reading order (a k-way merge by `seq`), with each
/// run's text ids mapped into one table.
struct Merged {
    readers: Vec<SpoolReader>,
    /// Per run, its text id → the id in the merged table.
    remap: Vec<Vec<u32>>,
    pending: Vec<Option<SpoolRow>>,
    heads: std::collections::BinaryHeap<std::cmp::Reverse<(u64, usize)>>,
}

impl Merged {
    fn new(readers: Vec<SpoolReader>, remap: Vec<Vec<u32>>) -> Result<Self> {
        let mut m = Merged {
            pending: readers.iter().map(|_| None).collect(),
            readers,
            remap,
            heads: std::collections::BinaryHeap::new(),
        };
        for run in 0..m.readers.len() {
            m.advance(run)?;
        }
        Ok(m)
    }

    fn advance(&mut self, run: usize) -> Result<()> {
        if let Some(row) = self.readers[run].next()? {
            self.heads.push(std::cmp::Reverse((row.seq, run)));
            self.pending[run] = Some(row);
        }
        Ok(())
    }

    /// `batch` refilled with the next `rows` rows in reading order; false if the spool
    /// ended first.
    fn fill(&mut self, batch: &mut Vec<SpoolRow>, rows: usize) -> Result<bool> {
        batch.clear();
        while batch.len() < rows {
            match self.next()? {
                Some(row) => batch.push(row),
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    /// The next row in reading order, its text ids in the merged table.
    fn next(&mut self) -> Result<Option<SpoolRow>> {
        let Some(std::cmp::Reverse((_, run))) = self.heads.pop() else {
            return Ok(None);
        };
        let Some(mut row) = self.pending[run].take() else {
            return Ok(None);
        };
        self.advance(run)?;
        let map = &self.remap[run];
        let id = |i: u32| map.get(i as usize).copied().unwrap_or(u32::MAX);
        for field in [
            &mut row.finding,
            &mut row.regimes,
            &mut row.proto,
            &mut row.hostname,
            &mut row.attribution,
            &mut row.vendor,
            &mut row.product,
            &mut row.category,
            &mut row.site,
            &mut row.country,
        ] {
            *field = id(*field);
        }
        Ok(Some(row))
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

    /// Append one row written by the reading thread.
    pub fn push(&mut self, r: &EvidenceRow<'_>) -> Result<()> {
        self.main.push(r)
    }

    /// Rows spooled so far, by every run.
    pub fn rows(&self) -> u64 {
        self.main.rows + self.shards.iter().map(|r| r.rows).sum::<u64>()
    }

    /// Write evidence.csv and evidence.parquet in `dir` in one pass over the spool,
    /// resolving file indices to paths and hashes. Returns both files as run.json lists
    /// them (hashed as they were written) and the first rows of each finding for the
    /// HTML report.
    pub fn finish(
        self,
        dir: &Path,
        files: &[FileReport],
        pseudonymizer: Option<&Pseudonymizer>,
        formats: EvidenceFormats,
    ) -> Result<EvidenceWritten> {
        self.finish_in_groups(dir, files, pseudonymizer, formats, PARQUET_BATCH_ROWS)
    }

    fn finish_in_groups(
        self,
        dir: &Path,
        files: &[FileReport],
        pseudonymizer: Option<&Pseudonymizer>,
        formats: EvidenceFormats,
        group_rows: usize,
    ) -> Result<EvidenceWritten> {
        let group_rows = group_rows.max(1);
        let csv_path = dir.join("evidence.csv");
        let parquet_path = dir.join("evidence.parquet");

        // One table of the distinct text values of every run: the main run's ids stay,
        // each shard's are mapped into it.
        let mut merged = Interner::default();
        let mut paths = Vec::with_capacity(1 + self.shards.len());
        let mut remap = Vec::with_capacity(1 + self.shards.len());
        let mut readers = Vec::with_capacity(1 + self.shards.len());
        let mut written = 0u64;
        for run in std::iter::once(self.main).chain(self.shards) {
            let (path, texts, rows) = run.close()?;
            written += rows;
            remap.push(
                texts
                    .strings
                    .iter()
                    .map(|s| merged.id(Slot::Finding, s))
                    .collect::<Result<Vec<u32>>>()?,
            );
            readers.push(SpoolReader::open(&path)?);
            paths.push(path);
        }
        // Every distinct value is neutralised once, not once per row.
        let texts: Vec<TextCell> = merged.strings.iter().map(|s| TextCell::new(s)).collect();
        let file_cells: Vec<(TextCell, TextCell)> = files
            .iter()
            .map(|f| (TextCell::new(&f.path), TextCell::new(&f.sha256)))
            .collect();
        let tables = Tables::new(&texts, &file_cells);

        // evidence.parquet is encoded on a thread of its own while this one formats
        // evidence.csv; each file is hashed on its way to the disk.
        let (groups, parquet_thread) = if formats.parquet {
            let (groups, parquet_groups) = std::sync::mpsc::sync_channel::<parquet::RowGroup>(2);
            let path = parquet_path.clone();
            let thread = std::thread::Builder::new()
                .name("xborder-parquet".into())
                .spawn(move || parquet::write(&path, parquet_groups))
                .map_err(|e| Error::io(&parquet_path, e))?;
            (Some(groups), Some(thread))
        } else {
            (None, None)
        };
        let mut csv_out = if formats.csv {
            Some(HashedFile::create(&csv_path)?)
        } else {
            None
        };
        let mut sample = Sampler::new(EVIDENCE_ROWS_SHOWN);
        let formatted = (|| -> Result<u64> {
            if let Some(out) = csv_out.as_mut() {
                let mut header = EVIDENCE.names().join(",").into_bytes();
                header.push(b'\n');
                out.write_all(&header)
                    .map_err(|e| Error::io(&csv_path, e))?;
            }
            let mut spool = Merged::new(readers, remap)?;
            let mut cells = Cells::new(pseudonymizer);
            let mut columns = match groups {
                Some(_) => parquet::builders(
                    &SOURCES.map(Source::text_cells),
                    group_rows.min(PARQUET_BATCH_ROWS),
                ),
                None => Vec::new(),
            };
            let mut batch: Vec<SpoolRow> = Vec::with_capacity(FORMAT_ROWS);
            let mut read = 0u64;
            let mut ended = false;
            while !ended {
                // One row group, a few rows at a time: formatting a whole group before
                // writing any of it left the writing thread idle, then flooded it.
                let mut group_len = 0;
                while group_len < group_rows && !ended {
                    let wanted = (group_rows - group_len).min(FORMAT_ROWS);
                    ended = !spool.fill(&mut batch, wanted)?;
                    group_len += batch.len();
                    cells.format(&batch);
                    // The rows' CSV lines are formatted straight into the file's buffer.
                    let mut write = |lines: Option<&mut Vec<u8>>| {
                        write_batch(&batch, &cells, &tables, &mut columns, lines, &mut sample)
                    };
                    match csv_out.as_mut() {
                        Some(out) => out
                            .append_with(|lines| write(Some(lines)))
                            .map_err(|e| Error::io(&csv_path, e))?,
                        None => write(None),
                    }
                }
                if group_len == 0 {
                    break;
                }
                read += group_len as u64;
                if let Some(groups) = &groups {
                    let group = parquet::take_group(&mut columns).map_err(|e| Error::Report {
                        path: parquet_path.clone(),
                        message: e.to_string(),
                    })?;
                    if groups.send(group).is_err() {
                        // The Parquet thread stopped on an error, reported below.
                        break;
                    }
                }
            }
            Ok(read)
        })();
        drop(groups);
        let parquet = parquet_thread
            .map(|thread| {
                thread.join().unwrap_or_else(|_| {
                    Err(Error::Report {
                        path: parquet_path.clone(),
                        message: "the Parquet writing thread panicked".into(),
                    })
                })
            })
            .transpose();
        let read = formatted?;
        let parquet = parquet?;
        if read != written {
            return Err(Error::Report {
                path: paths[0].clone(),
                message: format!("evidence spool holds {read} rows, {written} were written to it"),
            });
        }
        let csv = csv_out.map(HashedFile::finish).transpose()?;
        for path in &paths {
            std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
        }
        let described = |path: &Path, (sha256, bytes): (String, u64)| OutputFile {
            file: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            rows: Some(written),
            sha256,
            bytes,
        };
        Ok(EvidenceWritten {
            csv: csv.map(|c| described(&csv_path, c)),
            parquet: parquet.map(|p| described(&parquet_path, p)),
            sample: sample.finish(&texts, formats),
        })
    }
}

/// What [`EvidenceSpool::finish`] wrote.
pub struct EvidenceWritten {
    /// evidence.csv as run.json lists it, unless `--evidence` left it out.
    pub csv: Option<OutputFile>,
    /// evidence.parquet as run.json lists it, unless `--evidence` left it out.
    pub parquet: Option<OutputFile>,
    /// The first rows of each finding, for the HTML report.
    pub sample: EvidenceSample,
}

/// The first rows of each finding (the HTML report's columns) and every finding's row
/// count, gathered while evidence.csv is written instead of reading it back.
struct Sampler {
    per_finding: usize,
    /// Column of evidence.csv for each column the report shows.
    shown: Vec<usize>,
    /// By finding id (an index into the text table): rows kept, rows counted.
    by_finding: FastMap<u32, (Vec<Vec<String>>, u64)>,
    /// The last finding counted and the rows of it not yet added to `by_finding`:
    /// consecutive rows mostly share a finding, so most rows touch no map.
    run: Option<(u32, u64)>,
}

impl Sampler {
    fn new(per_finding: usize) -> Self {
        let names = EVIDENCE.names();
        Sampler {
            per_finding,
            shown: EVIDENCE_SHOWN
                .iter()
                .filter_map(|c| names.iter().position(|n| n == c))
                .collect(),
            by_finding: FastMap::default(),
            run: None,
        }
    }

    /// Count a row of `finding`; true when the report keeps it, and [`Sampler::keep`]
    /// is to be given its cells.
    fn counts(&mut self, finding: u32) -> bool {
        match &mut self.run {
            Some((last, rows)) if *last == finding => {
                *rows += 1;
                false
            }
            _ => {
                self.settle();
                let entry = self.by_finding.entry(finding).or_default();
                entry.1 += 1;
                let keep = entry.0.len() < self.per_finding;
                if !keep {
                    self.run = Some((finding, 0));
                }
                keep
            }
        }
    }

    /// Keep a row of `finding` that [`Sampler::counts`] asked for: `cell(c)` is the
    /// text of its evidence column `c`.
    fn keep<'a>(&mut self, finding: u32, cell: impl Fn(usize) -> &'a str) {
        let entry = self.by_finding.entry(finding).or_default();
        entry
            .0
            .push(self.shown.iter().map(|&c| cell(c).to_string()).collect());
    }

    /// Add the rows of the current run to their finding's count.
    fn settle(&mut self) {
        if let Some((finding, rows)) = self.run.take() {
            self.by_finding.entry(finding).or_default().1 += rows;
        }
    }

    fn finish(mut self, texts: &[TextCell], formats: EvidenceFormats) -> EvidenceSample {
        self.settle();
        EvidenceSample {
            by_finding: self
                .by_finding
                .into_iter()
                .map(|(id, kept)| {
                    let finding = texts.get(id as usize).map(|t| t.text.clone());
                    (finding.unwrap_or_default(), kept)
                })
                .collect(),
            files: formats.files(),
        }
    }
}

/// Rows per row group of evidence.parquet: one group is held at a time, so memory does
/// not grow with the number of AI-vendor flows.
const PARQUET_BATCH_ROWS: usize = 1 << 16;

/// Rows decoded, formatted and written to evidence.csv at a time: about half a megabyte
/// of CSV, so the thread hashing and writing it gets an even stream of buffers.
const FORMAT_ROWS: usize = 1 << 10;

/// The interned text fields, each with its own "last value" shortcut (consecutive rows
/// mostly repeat the finding, vendor and site).
#[derive(Clone, Copy)]
enum Slot {
    Finding,
    Regimes,
    Proto,
    Hostname,
    Attribution,
    Vendor,
    Product,
    Category,
    Site,
    Country,
}
const SLOTS: usize = Slot::Country as usize + 1;

impl Slot {
    /// The id a spooled row holds for this field.
    fn of(self, r: &SpoolRow) -> u32 {
        match self {
            Slot::Finding => r.finding,
            Slot::Regimes => r.regimes,
            Slot::Proto => r.proto,
            Slot::Hostname => r.hostname,
            Slot::Attribution => r.attribution,
            Slot::Vendor => r.vendor,
            Slot::Product => r.product,
            Slot::Category => r.category,
            Slot::Site => r.site,
            Slot::Country => r.country,
        }
    }
}

/// Distinct text values of the run's evidence, by id. Looking up a known value borrows
/// the caller's `&str`; only a new value is copied.
struct Interner {
    ids: FastMap<Box<str>, u32>,
    strings: Vec<Box<str>>,
    last: [u32; SLOTS],
    countries: FastMap<[u8; 2], u32>,
}

impl Default for Interner {
    fn default() -> Self {
        Interner {
            ids: FastMap::default(),
            strings: Vec::new(),
            last: [u32::MAX; SLOTS],
            countries: FastMap::default(),
        }
    }
}

impl Interner {
    fn id(&mut self, slot: Slot, s: &str) -> Result<u32> {
        let last = self.last[slot as usize];
        if self.strings.get(last as usize).is_some_and(|p| **p == *s) {
            return Ok(last);
        }
        let id = match self.ids.get(s) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.strings.len())
                    .ok()
                    .filter(|&id| id != u32::MAX)
                    .ok_or_else(|| Error::Report {
                        path: PathBuf::from("evidence.csv"),
                        message: "more than 2^32 distinct evidence values".into(),
                    })?;
                self.strings.push(s.into());
                self.ids.insert(s.into(), id);
                id
            }
        };
        self.last[slot as usize] = id;
        Ok(id)
    }

    /// The ids of the texts `r` shares with its group ([`SharedIds`]).
    fn shared(&mut self, r: &EvidenceRow<'_>) -> Result<SharedIds> {
        const SHARED: [Slot; 8] = [
            Slot::Finding,
            Slot::Regimes,
            Slot::Hostname,
            Slot::Attribution,
            Slot::Vendor,
            Slot::Product,
            Slot::Category,
            Slot::Site,
        ];
        let mut ids = [0; 9];
        for ((id, slot), text) in ids.iter_mut().zip(SHARED).zip(r.shared_texts()) {
            *id = self.id(slot, text)?;
        }
        ids[8] = self.country(r.destination_country)?;
        Ok(ids)
    }

    /// The country code as text, as the fold names it in finding ids.
    fn country(&mut self, code: [u8; 2]) -> Result<u32> {
        if let Some(&id) = self.countries.get(&code) {
            return Ok(id);
        }
        let id = self.id(Slot::Country, &String::from_utf8_lossy(&code))?;
        self.countries.insert(code, id);
        Ok(id)
    }
}

/// One spooled row: [`EvidenceRow`] with its text fields as interned ids.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SpoolRow {
    /// Reading-order number, by which the runs of a sharded fold are merged.
    seq: u64,
    finding: u32,
    regimes: u32,
    file: u32,
    line: u64,
    ts: Micros,
    src_ip: IpAddr,
    src_port: Option<u16>,
    dst_ip: IpAddr,
    dst_port: Option<u16>,
    proto: u32,
    bytes_out: Option<u64>,
    bytes_in: Option<u64>,
    hostname: u32,
    attribution: u32,
    vendor: u32,
    product: u32,
    category: u32,
    site: u32,
    country: u32,
    dns: Option<(u32, u64, Micros)>,
}

// Presence and family bits of a spooled record's first byte.
const SRC_V6: u8 = 1;
const DST_V6: u8 = 1 << 1;
const SRC_PORT: u8 = 1 << 2;
const DST_PORT: u8 = 1 << 3;
const BYTES_OUT: u8 = 1 << 4;
const BYTES_IN: u8 = 1 << 5;
const DNS: u8 = 1 << 6;

/// The longest encoded record: flags, 12 varint ids of at most 5 bytes, 5 varint counts of
/// at most 10 (the reading-order number among them), two timestamps, two IPv6 addresses
/// and two ports.
const MAX_RECORD: usize = 1 + 12 * 5 + 5 * 10 + 2 * 8 + 2 * 16 + 2 * 2;

impl SpoolRow {
    /// Append the record: a flags byte, then the fields in order, ids and counts as
    /// LEB128 varints, timestamps as 8 little-endian bytes, addresses as 4 or 16 bytes.
    fn encode(&self, out: &mut Vec<u8>) {
        let mut flags = 0u8;
        flags |= if self.src_ip.is_ipv6() { SRC_V6 } else { 0 };
        flags |= if self.dst_ip.is_ipv6() { DST_V6 } else { 0 };
        flags |= if self.src_port.is_some() { SRC_PORT } else { 0 };
        flags |= if self.dst_port.is_some() { DST_PORT } else { 0 };
        flags |= if self.bytes_out.is_some() {
            BYTES_OUT
        } else {
            0
        };
        flags |= if self.bytes_in.is_some() { BYTES_IN } else { 0 };
        flags |= if self.dns.is_some() { DNS } else { 0 };
        out.push(flags);
        varint(out, self.seq);
        for id in [self.finding, self.regimes, self.file] {
            varint(out, u64::from(id));
        }
        varint(out, self.line);
        out.extend_from_slice(&self.ts.to_le_bytes());
        address(out, self.src_ip);
        if let Some(p) = self.src_port {
            out.extend_from_slice(&p.to_le_bytes());
        }
        address(out, self.dst_ip);
        if let Some(p) = self.dst_port {
            out.extend_from_slice(&p.to_le_bytes());
        }
        varint(out, u64::from(self.proto));
        for n in [self.bytes_out, self.bytes_in].into_iter().flatten() {
            varint(out, n);
        }
        for id in [
            self.hostname,
            self.attribution,
            self.vendor,
            self.product,
            self.category,
            self.site,
            self.country,
        ] {
            varint(out, u64::from(id));
        }
        if let Some((file, line, ts)) = self.dns {
            varint(out, u64::from(file));
            varint(out, line);
            out.extend_from_slice(&ts.to_le_bytes());
        }
    }

    /// The record at the start of `b` and its length; `None` if `b` does not hold a whole,
    /// well-formed record.
    fn decode(b: &[u8]) -> Option<(SpoolRow, usize)> {
        let mut d = Decoder { b, at: 0 };
        let flags = d.byte()?;
        let has = |bit: u8| flags & bit != 0;
        let seq = d.varint()?;
        let finding = d.id()?;
        let regimes = d.id()?;
        let file = d.id()?;
        let line = d.varint()?;
        let ts = d.i64()?;
        let src_ip = d.address(has(SRC_V6))?;
        let src_port = if has(SRC_PORT) { Some(d.u16()?) } else { None };
        let dst_ip = d.address(has(DST_V6))?;
        let dst_port = if has(DST_PORT) { Some(d.u16()?) } else { None };
        let proto = d.id()?;
        let bytes_out = if has(BYTES_OUT) {
            Some(d.varint()?)
        } else {
            None
        };
        let bytes_in = if has(BYTES_IN) {
            Some(d.varint()?)
        } else {
            None
        };
        let row = SpoolRow {
            seq,
            finding,
            regimes,
            file,
            line,
            ts,
            src_ip,
            src_port,
            dst_ip,
            dst_port,
            proto,
            bytes_out,
            bytes_in,
            hostname: d.id()?,
            attribution: d.id()?,
            vendor: d.id()?,
            product: d.id()?,
            category: d.id()?,
            site: d.id()?,
            country: d.id()?,
            dns: if has(DNS) {
                Some((d.id()?, d.varint()?, d.i64()?))
            } else {
                None
            },
        };
        Some((row, d.at))
    }
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn address(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
    }
}

/// Reads one record's fields in order; every read is bounds-checked.
struct Decoder<'a> {
    b: &'a [u8],
    at: usize,
}

impl Decoder<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.b.get(self.at..self.at + N)?.try_into().ok()?;
        self.at += N;
        Some(bytes)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b < 0x80 {
                return Some(n);
            }
        }
        None
    }

    fn id(&mut self) -> Option<u32> {
        u32::try_from(self.varint()?).ok()
    }

    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_le_bytes)
    }

    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_le_bytes)
    }

    fn address(&mut self, v6: bool) -> Option<IpAddr> {
        Some(if v6 {
            IpAddr::V6(Ipv6Addr::from(self.take::<16>()?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.take::<4>()?))
        })
    }
}

/// Streams records out of the spool file through one reused buffer.
struct SpoolReader {
    path: PathBuf,
    file: File,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
}

impl SpoolReader {
    fn open(path: &Path) -> Result<Self> {
        Ok(SpoolReader {
            file: File::open(path).map_err(|e| Error::io(path, e))?,
            path: path.to_path_buf(),
            buf: vec![0; 1 << 20].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
        })
    }

    /// The next record, `None` at the end of the spool.
    fn next(&mut self) -> Result<Option<SpoolRow>> {
        if self.end - self.start < MAX_RECORD && !self.eof {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            while self.end < self.buf.len() {
                match self.file.read(&mut self.buf[self.end..]) {
                    Ok(0) => {
                        self.eof = true;
                        break;
                    }
                    Ok(n) => self.end += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::io(&self.path, e)),
                }
            }
        }
        if self.start == self.end {
            return Ok(None);
        }
        match SpoolRow::decode(&self.buf[self.start..self.end]) {
            Some((row, n)) => {
                self.start += n;
                Ok(Some(row))
            }
            None => Err(Error::Report {
                path: self.path.clone(),
                message: "evidence spool ends in a truncated or malformed record".into(),
            }),
        }
    }
}

/// A value of the text table or a file's path or hash: neutralised, and as its
/// evidence.csv field (quoted and escaped only where CSV needs it). Both forms are made
/// once per distinct value, so writing a row copies bytes and scans none.
struct TextCell {
    text: String,
    csv: Vec<u8>,
}

impl TextCell {
    fn new(raw: &str) -> Self {
        let text = neutralise(raw).into_owned();
        TextCell {
            csv: csv_field(&text),
            text,
        }
    }
}

/// The empty cell: a file index or text id the run does not list, or no DNS answer.
static EMPTY: TextCell = TextCell {
    text: String::new(),
    csv: Vec::new(),
};

/// `text` as the csv crate's default writer writes a field of a record of several fields:
/// quoted if it holds a comma, a double quote or a line end, with double quotes doubled.
fn csv_field(text: &str) -> Vec<u8> {
    if !text
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        return text.as_bytes().to_vec();
    }
    let mut out = Vec::with_capacity(text.len() + 2);
    out.push(b'"');
    for b in text.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

/// What the ids and file indices of a spooled row stand for, already neutralised, each
/// with a key that is the same for the same text (the first id or index with that text),
/// by which evidence.parquet's dictionaries are built.
struct Tables<'a> {
    texts: &'a [TextCell],
    files: &'a [(TextCell, TextCell)],
    text_keys: Vec<u32>,
    /// Keys of each file's path and of its SHA-256.
    file_keys: Vec<(u32, u32)>,
}

/// For each cell, the index of the first cell with the same text.
fn first_with_same_text<'t>(cells: impl Iterator<Item = &'t TextCell>) -> Vec<u32> {
    let mut first: FastMap<&str, u32> = FastMap::default();
    cells
        .enumerate()
        .map(|(i, cell)| {
            // Ids and file indices are u32 already: the interner and the plan count them so.
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            *first.entry(cell.text.as_str()).or_insert(i)
        })
        .collect()
}

impl<'a> Tables<'a> {
    fn new(texts: &'a [TextCell], files: &'a [(TextCell, TextCell)]) -> Self {
        let text_keys = first_with_same_text(texts.iter());
        let path_keys = first_with_same_text(files.iter().map(|(p, _)| p));
        let sha_keys = first_with_same_text(files.iter().map(|(_, h)| h));
        Tables {
            texts,
            files,
            text_keys,
            file_keys: path_keys.into_iter().zip(sha_keys).collect(),
        }
    }

    /// The text of an id and its key; empty for an id the run does not list.
    fn text(&self, id: u32) -> (&TextCell, u32) {
        match self.texts.get(id as usize) {
            Some(cell) => (cell, self.text_keys[id as usize]),
            None => (&EMPTY, 0),
        }
    }

    /// Path and SHA-256 of an input file with their keys; empty for an index the run
    /// does not list.
    fn file(&self, index: u32) -> ((&TextCell, u32), (&TextCell, u32)) {
        match self.files.get(index as usize) {
            Some((path, sha)) => {
                let (path_key, sha_key) = self.file_keys[index as usize];
                ((path, path_key), (sha, sha_key))
            }
            None => ((&EMPTY, 0), (&EMPTY, 0)),
        }
    }
}

/// Cells of a row that are formatted rather than looked up, in this order.
const FORMATTED: usize = 10;

/// Positions of a row's formatted cells: [`Cells::format`] writes them in this order.
mod at {
    pub const LINE: usize = 0;
    pub const TS: usize = 1;
    pub const SRC_IP: usize = 2;
    pub const SRC_PORT: usize = 3;
    pub const DST_IP: usize = 4;
    pub const DST_PORT: usize = 5;
    pub const BYTES_OUT: usize = 6;
    pub const BYTES_IN: usize = 7;
    pub const DNS_LINE: usize = 8;
    pub const DNS_TS: usize = 9;
}

/// The formatted cells of one batch in a single text buffer: numbers, timestamps and
/// addresses (or their pseudonyms), each neutralised like every other cell.
struct Cells<'p> {
    text: String,
    /// Cell `k` of row `i` is `text[bounds[i * FORMATTED + k]..bounds[i * FORMATTED + k + 1]]`.
    bounds: Vec<usize>,
    pseudonymizer: Option<&'p Pseudonymizer>,
    /// The source and destination addresses of the run, each formatted once.
    sources: AddressCells,
    destinations: AddressCells,
    /// The keys of row `i`'s source and destination address cells.
    address_keys: Vec<[u32; 2]>,
    flow_time: TimeText,
    dns_time: TimeText,
}

impl<'p> Cells<'p> {
    fn new(pseudonymizer: Option<&'p Pseudonymizer>) -> Self {
        Cells {
            text: String::new(),
            bounds: Vec::new(),
            pseudonymizer,
            sources: AddressCells::default(),
            destinations: AddressCells::default(),
            address_keys: Vec::new(),
            flow_time: TimeText::default(),
            dns_time: TimeText::default(),
        }
    }

    fn format(&mut self, batch: &[SpoolRow]) {
        self.text.clear();
        self.bounds.clear();
        self.bounds.push(0);
        self.address_keys.clear();
        let mut numbers = itoa::Buffer::new();
        for r in batch {
            let dns = r.dns;
            self.cell(|c| c.text.push_str(numbers.format(r.line)));
            self.cell(|c| c.flow_time.push(r.ts, &mut c.text));
            let pseudonymizer = self.pseudonymizer;
            let (source, source_text) = self.sources.cell(r.src_ip, |ip| match pseudonymizer {
                Some(p) => p.ip_addr(ip),
                None => ip.to_string(),
            });
            self.text.push_str(source_text);
            self.bounds.push(self.text.len());
            self.cell(|c| push_number(&mut c.text, &mut numbers, r.src_port.map(u64::from)));
            let (destination, destination_text) =
                self.destinations.cell(r.dst_ip, |ip| ip.to_string());
            self.text.push_str(destination_text);
            self.bounds.push(self.text.len());
            self.address_keys.push([source, destination]);
            self.cell(|c| push_number(&mut c.text, &mut numbers, r.dst_port.map(u64::from)));
            self.cell(|c| push_number(&mut c.text, &mut numbers, r.bytes_out));
            self.cell(|c| push_number(&mut c.text, &mut numbers, r.bytes_in));
            self.cell(|c| push_number(&mut c.text, &mut numbers, dns.map(|d| d.1)));
            self.cell(|c| {
                if let Some((_, _, ts)) = dns {
                    c.dns_time.push(ts, &mut c.text);
                }
            });
        }
    }

    /// Append one cell with `write`, neutralised as [`neutralise`] would (numbers,
    /// addresses, RFC 3339 times and pseudonyms hold no control characters, so only a
    /// leading formula character can need it).
    fn cell(&mut self, write: impl FnOnce(&mut Self)) {
        let start = self.text.len();
        write(self);
        if self.text[start..].starts_with(['=', '+', '-', '@']) {
            let fixed = neutralise(&self.text[start..]).into_owned();
            self.text.truncate(start);
            self.text.push_str(&fixed);
        }
        self.bounds.push(self.text.len());
    }

    /// Formatted cell `k` of row `i` of the batch.
    #[inline]
    fn formatted(&self, i: usize, k: usize) -> &str {
        let at = i * FORMATTED + k;
        &self.text[self.bounds[at]..self.bounds[at + 1]]
    }

    /// The keys of row `i`'s source and destination address cells (see [`AddressCells`]).
    fn address_keys(&self, i: usize) -> [u32; 2] {
        self.address_keys[i]
    }
}

/// The distinct addresses of one evidence column (sources or destinations), each
/// formatted (or pseudonymised) and neutralised once, with a key per distinct cell text
/// for evidence.parquet's dictionary.
///
/// An AI-heavy run repeats a few thousand client addresses and a few hundred vendor
/// addresses over millions of rows: formatting each row's addresses afresh, then having
/// polars hash every cell again to find the column's dictionary, cost about 3 % of the
/// run's CPU (docs/performance-history.md, the ninth pass). Memory grows with the distinct
/// addresses of the evidence, one to two hundred bytes each.
#[derive(Default)]
struct AddressCells {
    /// Each address's key and cell text.
    cells: FastMap<IpAddr, (u32, Box<str>)>,
    /// The key of each distinct cell text: the first address that had it. Two addresses
    /// never share a text unless their pseudonyms collide.
    keys: FastMap<Box<str>, u32>,
}

impl AddressCells {
    /// The key and cell text of `ip`, made with `format` and neutralised the first time.
    fn cell(&mut self, ip: IpAddr, format: impl FnOnce(IpAddr) -> String) -> (u32, &str) {
        let keys = &mut self.keys;
        let (key, text) = self.cells.entry(ip).or_insert_with(|| {
            let text: Box<str> = neutralise(&format(ip)).into();
            // Keys are dense: fewer distinct addresses than 2^32 reach one run's evidence.
            let next = u32::try_from(keys.len()).unwrap_or(u32::MAX);
            let key = *keys.entry(text.clone()).or_insert(next);
            (key, text)
        });
        (*key, text)
    }
}

fn push_number(text: &mut String, numbers: &mut itoa::Buffer, n: Option<u64>) {
    if let Some(n) = n {
        text.push_str(numbers.format(n));
    }
}

/// "00", "01", ... "99": the two digits of every number below 100.
const DIGIT_PAIRS: [u8; 200] = {
    let mut pairs = [0u8; 200];
    let mut n = 0;
    while n < 100 {
        pairs[2 * n] = b'0' + (n / 10) as u8;
        pairs[2 * n + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    pairs
};

/// [`rfc3339`] without a String per timestamp: the date part is formatted once per day
/// (chrono), the time of day and fraction here, exactly as chrono's
/// `SecondsFormat::AutoSi` writes them (no fraction, 3 or 6 digits).
#[derive(Default)]
struct TimeText {
    day: Option<i64>,
    /// `YYYY-MM-DDT` of `day`, or empty when chrono does not write a plain four-digit
    /// year (then every timestamp of that day goes through [`rfc3339`]).
    date: String,
}

impl TimeText {
    fn push(&mut self, ts: Micros, out: &mut String) {
        let second = ts.div_euclid(1_000_000);
        let micros = ts.rem_euclid(1_000_000);
        let day = second.div_euclid(86_400);
        let of_day = second.rem_euclid(86_400);
        if self.day != Some(day) {
            let midnight = day.checked_mul(86_400_000_000).map(rfc3339);
            self.date = match midnight
                .as_deref()
                .and_then(|m| m.strip_suffix("00:00:00Z"))
            {
                Some(date) if date.len() == 11 && date.is_ascii() => date.to_string(),
                _ => String::new(),
            };
            self.day = Some(day);
        }
        if self.date.is_empty() {
            out.push_str(&rfc3339(ts));
            return;
        }
        // The time of day, the fraction and the zone are at most "HH:MM:SS.ffffffZ":
        // built as bytes, two digits at a time from a table and in unsigned arithmetic,
        // then appended in one copy (a `char` pushed at a time cost a capacity check and
        // an encoding each).
        let (of_day, micros) = (of_day as u32, micros as u32);
        let mut text = [0u8; 16];
        let two = |at: &mut [u8], n: u32| {
            let n = n as usize * 2;
            at[..2].copy_from_slice(&DIGIT_PAIRS[n..n + 2]);
        };
        let three = |at: &mut [u8], n: u32| {
            at[0] = b'0' + (n / 100) as u8;
            two(&mut at[1..], n % 100);
        };
        two(&mut text[0..2], of_day / 3600);
        text[2] = b':';
        two(&mut text[3..5], of_day / 60 % 60);
        text[5] = b':';
        two(&mut text[6..8], of_day % 60);
        let mut len = 8;
        if micros != 0 {
            text[8] = b'.';
            three(&mut text[9..12], micros / 1000);
            len = 12;
            if micros % 1000 != 0 {
                three(&mut text[12..15], micros % 1000);
                len = 15;
            }
        }
        text[len] = b'Z';
        out.push_str(&self.date);
        // Digits, ':', '.' and 'Z' only: always ASCII.
        out.push_str(std::str::from_utf8(&text[..=len]).unwrap_or_default());
    }
}

/// Where an evidence column's cells come from. Every cell is neutralised text; a
/// looked-up or address cell also has a key, the same for the same text (see
/// [`Tables`] and [`AddressCells`]), by which evidence.parquet's dictionaries are built.
#[derive(Clone, Copy)]
enum Source {
    /// A text value the spool holds as an id.
    Text(Slot),
    /// The path or SHA-256 of the flow's input file, or of the DNS answer's.
    File(FileCell),
    /// A cell [`Cells`] formats per row: its position among the row's formatted cells.
    Formatted(usize),
    /// An address cell, formatted once per distinct address: its position among the
    /// row's formatted cells, and which of the row's two address keys is its own.
    Address(usize, usize),
}

/// Which input file's path or hash a cell shows.
#[derive(Clone, Copy)]
enum FileCell {
    /// The flow's input file.
    Path,
    Sha256,
    /// The file of the DNS answer that attributed the flow (empty without one).
    DnsPath,
    DnsSha256,
}

/// The source of each evidence column, in evidence.csv's order.
const SOURCES: [Source; 24] = {
    use FileCell::{DnsPath, DnsSha256, Path, Sha256};
    use Source::{Address, File, Formatted, Text};
    [
        Text(Slot::Finding),
        Text(Slot::Regimes),
        File(Path),
        File(Sha256),
        Formatted(at::LINE),
        Formatted(at::TS),
        Address(at::SRC_IP, 0),
        Formatted(at::SRC_PORT),
        Address(at::DST_IP, 1),
        Formatted(at::DST_PORT),
        Text(Slot::Proto),
        Formatted(at::BYTES_OUT),
        Formatted(at::BYTES_IN),
        Text(Slot::Hostname),
        Text(Slot::Attribution),
        Text(Slot::Vendor),
        Text(Slot::Product),
        Text(Slot::Category),
        Text(Slot::Site),
        Text(Slot::Country),
        File(DnsPath),
        File(DnsSha256),
        Formatted(at::DNS_LINE),
        Formatted(at::DNS_TS),
    ]
};

/// One cell of an evidence row.
struct Cell<'a> {
    /// The neutralised text (empty is null in evidence.parquet).
    text: &'a str,
    /// The same as an evidence.csv field: quoted where CSV needs it.
    field: &'a [u8],
    /// The key of a looked-up or address cell; none for a cell formatted per row.
    key: Option<u32>,
}

impl Source {
    /// Whether the column has a key per distinct value, and is written to
    /// evidence.parquet as a dictionary.
    fn looked_up(self) -> bool {
        !matches!(self, Source::Formatted(_))
    }

    /// Where the column's text cells come from, for its evidence.parquet builder.
    fn text_cells(self) -> parquet::TextCells {
        match self {
            Source::Formatted(at::DNS_TS) => parquet::TextCells::RepeatedTimes,
            source if source.looked_up() => parquet::TextCells::LookedUp,
            _ => parquet::TextCells::Formatted,
        }
    }

    /// The time behind a time column's cell (the flow's, or its DNS answer's), for a
    /// column keyed by its times; none for every other column.
    fn time(self, r: &SpoolRow) -> Option<Micros> {
        match self {
            Source::Formatted(at::TS) => Some(r.ts),
            Source::Formatted(at::DNS_TS) => r.dns.map(|d| d.2),
            _ => None,
        }
    }

    /// Row `i` of `batch`'s cell of this column.
    #[inline(always)]
    fn cell<'a>(self, r: &SpoolRow, i: usize, cells: &'a Cells<'_>, t: &'a Tables<'a>) -> Cell<'a> {
        let looked_up = |(cell, key): (&'a TextCell, u32)| Cell {
            text: &cell.text,
            field: &cell.csv,
            key: Some(key),
        };
        match self {
            Source::Text(slot) => looked_up(t.text(slot.of(r))),
            Source::File(which) => {
                let file = match which {
                    FileCell::Path | FileCell::Sha256 => Some(r.file),
                    FileCell::DnsPath | FileCell::DnsSha256 => r.dns.map(|(file, _, _)| file),
                };
                let (path, hash) = match file {
                    Some(file) => t.file(file),
                    None => ((&EMPTY, 0), (&EMPTY, 0)),
                };
                looked_up(match which {
                    FileCell::Path | FileCell::DnsPath => path,
                    FileCell::Sha256 | FileCell::DnsSha256 => hash,
                })
            }
            // Formatted cells are digits, times, addresses and pseudonyms: never quoted.
            Source::Formatted(k) => {
                let text = cells.formatted(i, k);
                Cell {
                    text,
                    field: text.as_bytes(),
                    key: None,
                }
            }
            Source::Address(k, which) => {
                let text = cells.formatted(i, k);
                Cell {
                    text,
                    field: text.as_bytes(),
                    key: Some(cells.address_keys(i)[which]),
                }
            }
        }
    }

    /// The count behind a count column's cell (evidence.parquet types these UInt64);
    /// none for every other column.
    fn count(self, r: &SpoolRow) -> Option<u64> {
        match self {
            Source::Formatted(at::LINE) => Some(r.line),
            Source::Formatted(at::SRC_PORT) => r.src_port.map(u64::from),
            Source::Formatted(at::DST_PORT) => r.dst_port.map(u64::from),
            Source::Formatted(at::BYTES_OUT) => r.bytes_out,
            Source::Formatted(at::BYTES_IN) => r.bytes_in,
            Source::Formatted(at::DNS_LINE) => r.dns.map(|d| d.1),
            _ => None,
        }
    }
}

/// Write one decoded batch as evidence.csv lines into `csv` (when it is written), count
/// it in the report's sample, and add its cells to evidence.parquet's column builders
/// (none when it is not written), a column at a time.
fn write_batch(
    batch: &[SpoolRow],
    cells: &Cells<'_>,
    tables: &Tables<'_>,
    columns: &mut [parquet::ColumnBuilder],
    csv: Option<&mut Vec<u8>>,
    sample: &mut Sampler,
) {
    if let Some(out) = csv {
        for (i, r) in batch.iter().enumerate() {
            for (c, source) in SOURCES.iter().enumerate() {
                if c > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(source.cell(r, i, cells, tables).field);
            }
            out.push(b'\n');
        }
    }
    for (i, r) in batch.iter().enumerate() {
        if sample.counts(r.finding) {
            sample.keep(r.finding, |c| SOURCES[c].cell(r, i, cells, tables).text);
        }
    }
    // The source is matched once a column, not once a cell, so each column's loop is
    // compiled for its own kind of cell.
    let n = batch.len();
    let (none, no_time) = (|_| None, |_| None);
    for (column, source) in columns.iter_mut().zip(SOURCES) {
        match source {
            Source::Text(slot) => column.extend(n, none, no_time, |i| {
                let (cell, key) = tables.text(slot.of(&batch[i]));
                (Some(key), cell.text.as_str())
            }),
            Source::File(_) => column.extend(n, none, no_time, |i| {
                let cell = source.cell(&batch[i], i, cells, tables);
                (cell.key, cell.text)
            }),
            Source::Formatted(k) => column.extend(
                n,
                |i| source.count(&batch[i]),
                |i| source.time(&batch[i]),
                |i| (None, cells.formatted(i, k)),
            ),
            Source::Address(k, which) => column.extend(n, none, no_time, |i| {
                (Some(cells.address_keys(i)[which]), cells.formatted(i, k))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    /// Which evidence columns are counts (typed UInt64 in Parquet, empty is null); every
    /// other column is text (empty is null).
    fn numeric_columns() -> Vec<bool> {
        EVIDENCE.columns.iter().map(|c| c.kind.is_count()).collect()
    }
    use xborder_model::hash::sha256_bytes;

    fn row(i: u64) -> EvidenceRow<'static> {
        const HOSTS: [&str; 4] = [
            "api.openai.com",
            "a,b \"quoted\"\nnext line",
            "=HYPERLINK(\"http://x\")",
            "",
        ];
        EvidenceRow {
            seq: i,
            finding_id: if i.is_multiple_of(5) {
                "f-zero"
            } else {
                "f-other"
            },
            regimes: if i.is_multiple_of(2) { "gdpr;pipl" } else { "" },
            file: (i % 3) as u32,
            line: if i == 7 { u64::MAX } else { i + 1 },
            ts: 1_783_000_000_000_000 + (i as i64) * 1_234_567,
            src_ip: if i % 4 == 1 {
                "2001:db8::17".parse().unwrap()
            } else if i % 4 == 2 {
                "::ffff:10.1.0.5".parse().unwrap()
            } else {
                IpAddr::from([10, 1, 0, (i % 250) as u8])
            },
            src_port: (!i.is_multiple_of(3)).then_some(50_000 + (i % 10_000) as u16),
            dst_ip: if i % 6 == 5 {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            } else {
                "2606:4700::6810:1".parse().unwrap()
            },
            dst_port: (!i.is_multiple_of(7)).then_some(443),
            proto: if i.is_multiple_of(2) { "tcp" } else { "udp" },
            bytes_out: match i % 4 {
                0 => None,
                1 => Some(u64::MAX),
                _ => Some(i * 1000),
            },
            bytes_in: (i % 5 != 1).then_some(i),
            hostname: HOSTS[(i % 4) as usize],
            attribution: if i.is_multiple_of(3) { "dns" } else { "sni" },
            vendor: "OpenAI",
            product: "ChatGPT",
            category: "-assistant",
            source_site: "@hq",
            destination_country: if i.is_multiple_of(2) {
                *b"US"
            } else {
                [0xff, b'Z']
            },
            dns: (i.is_multiple_of(3)).then_some((
                if i.is_multiple_of(9) { 7 } else { 1 },
                i * 10,
                1_783_000_000_000_000 - (i as i64) * 1000,
            )),
            texts: None,
        }
    }

    fn files() -> Vec<FileReport> {
        ["conn.log", "-dns.log"]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mut f = FileReport::skipped(Path::new(name), "zeek-conn");
                f.sha256 = format!("{i}abc");
                f
            })
            .collect()
    }

    /// evidence.csv as the earlier implementation wrote it: every field as a String, the
    /// spool read back, times through `rfc3339`, each cell neutralised.
    fn reference_csv(rows: &[EvidenceRow<'_>], p: Option<&Pseudonymizer>) -> Vec<u8> {
        let files = files();
        let file_of = |i: u32| {
            files
                .get(i as usize)
                .map(|f| (f.path.clone(), f.sha256.clone()))
                .unwrap_or_default()
        };
        let opt = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(EVIDENCE.names()).unwrap();
        for r in rows {
            let (path, sha) = file_of(r.file);
            let (dns_path, dns_sha) = r.dns.map(|d| file_of(d.0)).unwrap_or_default();
            let src = match p {
                Some(p) => p.ip(&r.src_ip.to_string()),
                None => r.src_ip.to_string(),
            };
            let cells: [String; 24] = [
                r.finding_id.into(),
                r.regimes.into(),
                path,
                sha,
                r.line.to_string(),
                rfc3339(r.ts),
                src,
                opt(r.src_port.map(u64::from)),
                r.dst_ip.to_string(),
                opt(r.dst_port.map(u64::from)),
                r.proto.into(),
                opt(r.bytes_out),
                opt(r.bytes_in),
                r.hostname.into(),
                r.attribution.into(),
                r.vendor.into(),
                r.product.into(),
                r.category.into(),
                r.source_site.into(),
                String::from_utf8_lossy(&r.destination_country).into_owned(),
                dns_path,
                dns_sha,
                opt(r.dns.map(|d| d.1)),
                r.dns.map(|d| rfc3339(d.2)).unwrap_or_default(),
            ];
            w.write_record(cells.iter().map(|c| neutralise(c).into_owned()))
                .unwrap();
        }
        w.into_inner().unwrap()
    }

    fn spool_and_finish(
        dir: &Path,
        rows: &[EvidenceRow<'_>],
        p: Option<&Pseudonymizer>,
        group_rows: usize,
    ) -> (Vec<u8>, DataFrame) {
        let mut spool = EvidenceSpool::create(dir).unwrap();
        for r in rows {
            spool.attributed(r).unwrap();
        }
        assert_eq!(spool.rows(), rows.len() as u64);
        let written = spool
            .finish_in_groups(dir, &files(), p, EvidenceFormats::default(), group_rows)
            .unwrap();
        assert!(!dir.join(".evidence.spool").exists());
        let (csv_path, parquet_path) = (dir.join("evidence.csv"), dir.join("evidence.parquet"));
        // Both files are described as they are on disk, hashed while written.
        for (path, described) in [(&csv_path, &written.csv), (&parquet_path, &written.parquet)] {
            let bytes = std::fs::read(path).unwrap();
            let described = described.as_ref().unwrap();
            assert_eq!(described.sha256, sha256_bytes(&bytes));
            assert_eq!(described.bytes, bytes.len() as u64);
            assert_eq!(described.rows, Some(rows.len() as u64));
        }
        // The report's sample, gathered while writing, is what reading evidence.csv
        // back gives.
        assert_eq!(
            written.sample.by_finding,
            EvidenceSample::read(&csv_path, EVIDENCE_ROWS_SHOWN)
                .unwrap()
                .by_finding
        );
        assert_eq!(written.sample.files, ["evidence.csv", "evidence.parquet"]);
        let frame = ParquetReader::new(File::open(&parquet_path).unwrap())
            .finish()
            .unwrap();
        (std::fs::read(csv_path).unwrap(), frame)
    }

    /// Rows numbered by the texts they share ([`EvidenceRow::texts`]) are written exactly
    /// as unnumbered ones: the spool converts a group's texts once, and the files do not
    /// change. A row whose shared texts differ from its number's first row would show
    /// here, so one number is never reused for other texts.
    #[test]
    fn numbered_groups_write_what_unnumbered_rows_write() {
        let rows: Vec<EvidenceRow<'static>> = (0..50).map(row).collect();
        let mut numbers: std::collections::HashMap<_, TextGroup> = Default::default();
        let numbered: Vec<EvidenceRow<'static>> = rows
            .iter()
            .map(|r| {
                let shared = (r.shared_texts(), r.destination_country);
                let number = *numbers
                    .entry(shared)
                    .or_insert_with(|| TextGroup::next().unwrap());
                EvidenceRow {
                    texts: Some(number),
                    ..r.clone()
                }
            })
            .collect();
        assert!(numbers.len() > 1 && numbers.len() < rows.len());
        let (plain, numbered_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (csv_plain, frame_plain) = spool_and_finish(plain.path(), &rows, None, 16);
        let (csv_numbered, frame_numbered) =
            spool_and_finish(numbered_dir.path(), &numbered, None, 16);
        assert_eq!(csv_numbered, csv_plain);
        assert!(frame_numbered.equals_missing(&frame_plain));
        let plain_parquet = std::fs::read(plain.path().join("evidence.parquet")).unwrap();
        let numbered_parquet = std::fs::read(numbered_dir.path().join("evidence.parquet")).unwrap();
        assert_eq!(numbered_parquet, plain_parquet);
    }

    /// Numbers are never given twice in one process.
    #[test]
    fn text_groups_are_distinct() {
        let given: Vec<TextGroup> = (0..1000).map(|_| TextGroup::next().unwrap()).collect();
        let distinct: std::collections::HashSet<_> = given.iter().collect();
        assert_eq!(distinct.len(), given.len());
    }

    /// Addresses are written as `Display` writes them.
    #[test]
    fn addresses_match_display() {
        let mut cells = Cells::new(None);
        let ips: Vec<IpAddr> = [
            "0.0.0.0",
            "10.1.0.5",
            "255.255.255.255",
            "192.168.100.9",
            "::",
            "::ffff:10.1.0.5",
            "2001:db8::17",
        ]
        .iter()
        .map(|ip| ip.parse().unwrap())
        .collect();
        let spooled: Vec<SpoolRow> = ips
            .iter()
            .map(|&ip| SpoolRow {
                src_ip: ip,
                dst_ip: ip,
                ..spooled_row(None)
            })
            .collect();
        cells.format(&spooled);
        for (i, ip) in ips.iter().enumerate() {
            let (src, dst) = (
                cells.formatted(i, at::SRC_IP),
                cells.formatted(i, at::DST_IP),
            );
            assert_eq!(
                (src, dst),
                (ip.to_string().as_str(), ip.to_string().as_str())
            );
        }
    }

    /// A field is quoted exactly where the csv crate's writer quotes it, within a record
    /// of several fields (the only kind evidence.csv has).
    #[test]
    fn fields_are_quoted_as_the_csv_writer_quotes_them() {
        for text in [
            "plain",
            "a,b",
            "say \"hi\"",
            "\"",
            "line\nend",
            "cr\rhere",
            "'=SUM(A1)",
            "tab\there",
            "#hash",
            "中文,名称",
            " spaced ",
            "\\back\\",
        ] {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([text, "x"]).unwrap();
            let mut want = w.into_inner().unwrap();
            want.truncate(want.len() - ",x\n".len());
            assert_eq!(csv_field(text), want, "{text:?}");
        }
        assert_eq!(csv_field(""), b"");
    }

    /// Every spooled field comes back as written: both address families (and a mapped
    /// IPv4 address, which must stay IPv6), absent ports and counts, the largest u64,
    /// timestamps before 1970, and a DNS justification or none.
    #[test]
    fn spool_records_round_trip() {
        let mut interner = Interner::default();
        let mut buf = Vec::new();
        let mut rows = Vec::new();
        for i in 0..200u64 {
            let r = row(i);
            let s = SpoolRow {
                seq: if i == 11 { u64::MAX } else { r.seq },
                finding: interner.id(Slot::Finding, r.finding_id).unwrap(),
                regimes: u32::MAX - 1,
                file: u32::MAX,
                line: r.line,
                ts: if i == 3 {
                    i64::MIN
                } else {
                    r.ts - 2_000_000_000_000_000
                },
                src_ip: r.src_ip,
                src_port: r.src_port,
                dst_ip: r.dst_ip,
                dst_port: r.dst_port.map(|_| u16::MAX),
                proto: interner.id(Slot::Proto, r.proto).unwrap(),
                bytes_out: r.bytes_out,
                bytes_in: r.bytes_in,
                hostname: interner.id(Slot::Hostname, r.hostname).unwrap(),
                attribution: 0,
                vendor: 1,
                product: 2,
                category: 3,
                site: 4,
                country: interner.country(r.destination_country).unwrap(),
                dns: r
                    .dns
                    .map(|(f, l, t)| (f, if i == 9 { u64::MAX } else { l }, t)),
            };
            let start = buf.len();
            s.encode(&mut buf);
            assert!(buf.len() - start <= MAX_RECORD);
            rows.push(s);
        }
        let mut at = 0;
        for expected in &rows {
            let (got, n) = SpoolRow::decode(&buf[at..]).unwrap();
            assert_eq!(&got, expected);
            at += n;
        }
        assert_eq!(at, buf.len());
        assert!(matches!(rows[2].src_ip, IpAddr::V6(_)));
        // Any prefix of a record is incomplete, never a different record.
        let one = &buf[..SpoolRow::decode(&buf).unwrap().1];
        for cut in 0..one.len() {
            assert!(SpoolRow::decode(&one[..cut]).is_none(), "cut at {cut}");
        }
        // The largest record the format allows fits the reader's look-ahead.
        let mut widest = rows[1];
        (widest.src_ip, widest.dst_ip) = (rows[1].src_ip, "::1".parse().unwrap());
        (widest.line, widest.bytes_out, widest.bytes_in) = (u64::MAX, Some(u64::MAX), Some(0));
        widest.bytes_in = Some(u64::MAX);
        widest.src_port = Some(1);
        widest.dst_port = Some(2);
        widest.dns = Some((u32::MAX, u64::MAX, -1));
        (widest.finding, widest.proto, widest.country) = (u32::MAX, u32::MAX, u32::MAX);
        let mut wide = Vec::new();
        widest.encode(&mut wide);
        assert_eq!(SpoolRow::decode(&wide), Some((widest, wide.len())));
        assert!(wide.len() <= MAX_RECORD);
    }

    /// Known values are found without growing the table; each slot remembers its last
    /// value; a country that is not UTF-8 reads as the fold's lossy text.
    #[test]
    fn interner_finds_known_values() {
        let mut t = Interner::default();
        let a = t.id(Slot::Vendor, "OpenAI").unwrap();
        let b = t.id(Slot::Product, "ChatGPT").unwrap();
        assert_eq!(t.id(Slot::Hostname, "OpenAI").unwrap(), a);
        assert_eq!(t.id(Slot::Vendor, "OpenAI").unwrap(), a);
        assert_eq!(t.id(Slot::Vendor, "ChatGPT").unwrap(), b);
        assert_eq!(t.strings.len(), 2);
        let us = t.country(*b"US").unwrap();
        assert_eq!(&*t.strings[us as usize], "US");
        let bad = t.country([0xff, b'Z']).unwrap();
        assert_eq!(&*t.strings[bad as usize], "\u{fffd}Z");
        assert_eq!(t.country(*b"US").unwrap(), us);
    }

    /// Timestamps are written exactly as `rfc3339` writes them, across whole seconds,
    /// milliseconds and microseconds, before 1970, beyond year 9999 and out of range.
    #[test]
    fn times_match_rfc3339() {
        let mut values = vec![
            0,
            1,
            999_000,
            -1,
            -1_000,
            -86_400_000_000,
            253_402_300_799_999_999,
            253_402_300_800_000_000,
            -62_135_596_800_000_001,
            -62_167_219_200_000_000,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            i64::MAX - 86_399_999_999,
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = match x % 4 {
                0 => (x >> 2) as i64,
                1 => ((x % 4_000_000_000) as i64 - 1_000_000_000) * 1_000_000,
                2 => ((x % 4_000_000_000_000) as i64) * 1000 - 500_000_000_000_000,
                _ => (x % 4_000_000_000_000_000) as i64 - 1_000_000_000_000_000,
            };
            values.push(v);
        }
        let mut t = TimeText::default();
        let mut out = String::new();
        for v in values {
            out.clear();
            t.push(v, &mut out);
            assert_eq!(out, rfc3339(v), "{v}");
        }
    }

    /// evidence.csv is byte for byte what the earlier per-field String implementation
    /// wrote (quotes, commas and line breaks escaped, formula-looking cells defused,
    /// unknown file indices empty, the unspecified address of a proxy request without a
    /// server address), and evidence.parquet holds the same rows, cell for cell.
    #[test]
    fn csv_is_unchanged_and_parquet_agrees_row_for_row() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<EvidenceRow<'static>> = (0..50).map(row).collect();
        let key = Pseudonymizer::from_key(&[7u8; 32]);
        for p in [None, Some(&key)] {
            let (csv_bytes, frame) = spool_and_finish(dir.path(), &rows, p, 16);
            assert_eq!(
                String::from_utf8(csv_bytes.clone()).unwrap(),
                String::from_utf8(reference_csv(&rows, p)).unwrap()
            );
            let text = String::from_utf8(csv_bytes.clone()).unwrap();
            assert!(
                text.contains("\"a,b \"\"quoted\"\"\\nnext line\""),
                "{text}"
            );
            assert!(text.contains(",\"'=HYPERLINK(\"\""), "{text}");
            assert!(text.contains(",'-assistant,'@hq,"), "{text}");
            assert!(text.contains(",'-dns.log,"), "{text}");
            assert!(text.contains(",0.0.0.0,"), "{text}");
            assert_eq!(p.is_some(), text.contains(",ip-"));

            let numeric = numeric_columns();
            let mut csv_rows = csv::Reader::from_reader(&csv_bytes[..]);
            let mut n = 0;
            assert_eq!(frame.height(), rows.len());
            for (i, record) in csv_rows.records().enumerate() {
                let record = record.unwrap();
                for (c, name) in EVIDENCE.names().iter().enumerate() {
                    let column = frame.column(name).unwrap();
                    let cell = (!record[c].is_empty()).then_some(&record[c]);
                    if numeric[c] {
                        let want = cell.map(|v| v.parse::<u64>().unwrap());
                        assert_eq!(column.u64().unwrap().get(i), want, "{name} row {i}");
                    } else {
                        assert_eq!(column.str().unwrap().get(i), cell, "{name} row {i}");
                    }
                }
                n += 1;
            }
            assert_eq!(n, rows.len());
            assert_eq!(
                frame.column("bytes_out").unwrap().u64().unwrap().get(1),
                Some(u64::MAX)
            );
            assert_eq!(frame.column("regimes").unwrap().null_count(), 25);
        }
    }

    /// Row groups change nothing: any batch size gives the same evidence.csv and the
    /// same Parquet table, including a spool that crosses the reader's buffer.
    #[test]
    fn row_groups_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<EvidenceRow<'static>> = (0..30_000).map(row).collect();
        let (csv_all, frame_all) = spool_and_finish(dir.path(), &rows, None, PARQUET_BATCH_ROWS);
        assert_eq!(frame_all.height(), rows.len());
        assert_eq!(
            frame_all.column("bytes_out").unwrap().dtype(),
            &DataType::UInt64
        );
        assert_eq!(frame_all.column("ts").unwrap().dtype(), &DataType::String);
        for group in [1_000, 7_777, 30_000] {
            let (csv, frame) = spool_and_finish(dir.path(), &rows, None, group);
            assert!(
                csv == csv_all,
                "evidence.csv differs with groups of {group}"
            );
            assert!(frame.equals_missing(&frame_all), "groups of {group}");
        }
        let few: Vec<EvidenceRow<'static>> = (0..7).map(row).collect();
        let (csv_few, frame_few) = spool_and_finish(dir.path(), &few, None, 64);
        for group in [1, 3, 7] {
            let (csv, frame) = spool_and_finish(dir.path(), &few, None, group);
            assert_eq!(csv, csv_few);
            assert!(frame.equals_missing(&frame_few));
        }
        // No rows: a header-only CSV and an empty, typed Parquet file.
        let (csv, frame) = spool_and_finish(dir.path(), &[], None, 64);
        assert_eq!(csv, reference_csv(&[], None));
        assert_eq!(frame.height(), 0);
        assert_eq!(frame.width(), EVIDENCE.columns.len());
    }

    /// Rows spooled by several fold shards, each in its own run with its own text ids,
    /// come out in reading order exactly as one spool of them all writes them.
    #[test]
    fn shard_runs_merge_in_reading_order() {
        let rows: Vec<EvidenceRow<'static>> = (0..3_000u64).map(row).collect();
        let one = tempfile::tempdir().unwrap();
        let mut spool = EvidenceSpool::create(one.path()).unwrap();
        for r in &rows {
            spool.attributed(r).unwrap();
        }
        spool
            .finish(one.path(), &files(), None, EvidenceFormats::default())
            .unwrap();
        let csv_one = one.path().join("evidence.csv");
        let parquet_one = one.path().join("evidence.parquet");

        let sharded = tempfile::tempdir().unwrap();
        let mut spool = EvidenceSpool::create(sharded.path()).unwrap();
        // The first and last rows come from the reading thread (proxy requests before and
        // after the flows); the rest from three shards, each meeting the values in its own
        // order.
        spool.attributed(&rows[0]).unwrap();
        {
            let mut sinks = spool.shards(3).unwrap().unwrap();
            for r in &rows[1..2_999] {
                let shard = (r.seq * 7 % 3) as usize;
                sinks[shard].attributed(r).unwrap();
            }
        }
        spool.attributed(&rows[2_999]).unwrap();
        assert_eq!(spool.rows(), 3_000);
        spool
            .finish(sharded.path(), &files(), None, EvidenceFormats::default())
            .unwrap();
        let csv_sharded = sharded.path().join("evidence.csv");
        let parquet_sharded = sharded.path().join("evidence.parquet");
        assert_eq!(
            std::fs::read(csv_sharded).unwrap(),
            std::fs::read(csv_one).unwrap()
        );
        assert_eq!(
            std::fs::read(parquet_sharded).unwrap(),
            std::fs::read(parquet_one).unwrap()
        );
        let left: Vec<_> = std::fs::read_dir(sharded.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".evidence.spool"))
            .collect();
        assert!(left.is_empty(), "spool runs removed: {left:?}");
    }

    /// evidence.parquet, one row group per `group` rows, as polars' own writer makes it
    /// from evidence.csv's cells: text columns as strings (empty is null), counts UInt64.
    fn parquet_by_polars(csv_bytes: &[u8], group: usize) -> Vec<u8> {
        let numeric = numeric_columns();
        let records: Vec<csv::StringRecord> = csv::Reader::from_reader(csv_bytes)
            .records()
            .map(|r| r.unwrap())
            .collect();
        let schema = Schema::from_iter(EVIDENCE.names().iter().zip(&numeric).map(|(c, n)| {
            Field::new(
                (*c).into(),
                if *n {
                    DataType::UInt64
                } else {
                    DataType::String
                },
            )
        }));
        let mut out = Vec::new();
        let mut writer = ParquetWriter::new(&mut out)
            .with_compression(ParquetCompression::Zstd(Some(
                polars_parquet::write::ZstdLevel::try_new(parquet::ZSTD_LEVEL).unwrap(),
            )))
            .batched(&schema)
            .unwrap();
        for chunk in records.chunks(group) {
            let columns = EVIDENCE
                .names()
                .iter()
                .enumerate()
                .map(|(c, name)| {
                    let cells = chunk.iter().map(|r| (!r[c].is_empty()).then_some(&r[c]));
                    if numeric[c] {
                        let counts: Vec<Option<u64>> =
                            cells.map(|v| v.map(|v| v.parse().unwrap())).collect();
                        Column::new((*name).into(), counts)
                    } else {
                        Column::new((*name).into(), cells.collect::<Vec<_>>())
                    }
                })
                .collect();
            let frame = DataFrame::new_infer_height(columns).unwrap();
            writer.write_batch(&frame).unwrap();
        }
        writer.finish().unwrap();
        out
    }

    /// evidence.parquet is byte for byte what polars' own writer makes of the same cells:
    /// the dictionaries built from ids and addresses are the ones polars builds by hashing
    /// every cell, including one text under two ids (two input files with the same hash),
    /// and a keyed column whose values are mostly distinct (host names, source addresses)
    /// is still written plain. So is a column of DNS answer times, keyed by the time.
    #[test]
    fn parquet_is_what_polars_writes_of_the_same_cells() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = files();
        let mut copy = FileReport::skipped(Path::new("copy/conn.log"), "zeek-conn");
        copy.sha256 = files[0].sha256.clone();
        files.push(copy);
        let distinct_hosts: Vec<EvidenceRow<'static>> = (0..1_000)
            .map(|i| EvidenceRow {
                hostname: Box::leak(format!("h{i}.example").into_boxed_str()),
                src_ip: IpAddr::from([10, 2, (i / 256) as u8, i as u8]),
                ..row(i)
            })
            .collect();
        // DNS answer times shared by several rows (one answer attributes many flows),
        // now and then beyond chrono's range (no text: null); and all distinct, on every
        // row, so the column is written plain.
        let shared_answers: Vec<EvidenceRow<'static>> = (0..5_000)
            .map(|i| EvidenceRow {
                dns: Some((
                    1,
                    i,
                    if i % 11 == 4 {
                        i64::MAX
                    } else {
                        1_783_000_000_000_000 - (i % 7) as i64 * 1_000_001
                    },
                )),
                ..row(i)
            })
            .collect();
        let distinct_answers: Vec<EvidenceRow<'static>> = (0..3_000)
            .map(|i| EvidenceRow {
                dns: Some((1, i, 1_783_000_000_000_000 + i as i64)),
                ..row(i)
            })
            .collect();
        let cases = [
            ((0..50).map(row).collect::<Vec<_>>(), 16),
            (shared_answers, 1_000),
            (distinct_answers, 1_000),
            ((0..30_000).map(row).collect(), 7_777),
            ((0..30_000).map(row).collect(), PARQUET_BATCH_ROWS),
            (distinct_hosts, 400),
            (Vec::new(), 64),
        ];
        for (rows, group) in cases {
            let mut spool = EvidenceSpool::create(dir.path()).unwrap();
            for r in &rows {
                spool.attributed(r).unwrap();
            }
            spool
                .finish_in_groups(dir.path(), &files, None, EvidenceFormats::default(), group)
                .unwrap();
            let csv_bytes = std::fs::read(dir.path().join("evidence.csv")).unwrap();
            if !rows.is_empty() {
                assert!(String::from_utf8_lossy(&csv_bytes).contains("copy/conn.log,0abc,"));
            }
            let ours = std::fs::read(dir.path().join("evidence.parquet")).unwrap();
            assert!(
                ours == parquet_by_polars(&csv_bytes, group),
                "{} rows in groups of {group}",
                rows.len()
            );
        }
    }

    /// `--evidence` takes csv, parquet or both, and nothing else.
    #[test]
    fn evidence_formats_parse() {
        let both = EvidenceFormats::default();
        assert_eq!(EvidenceFormats::parse("csv,parquet"), Ok(both));
        assert_eq!(EvidenceFormats::parse(" parquet , csv "), Ok(both));
        let parquet = EvidenceFormats::parse("parquet").unwrap();
        assert!(parquet.parquet && !parquet.csv);
        assert_eq!(parquet.files(), ["evidence.parquet"]);
        let csv = EvidenceFormats::parse("csv").unwrap();
        assert!(csv.csv && !csv.parquet);
        assert_eq!(both.files(), ["evidence.csv", "evidence.parquet"]);
        for bad in ["", "csv,", "json", "CSV", "csv;parquet"] {
            assert!(EvidenceFormats::parse(bad).is_err(), "{bad}");
        }
    }

    /// A spooled row with small ids and counts, and `dns` as its DNS answer.
    fn spooled_row(dns: Option<(u32, u64, Micros)>) -> SpoolRow {
        SpoolRow {
            seq: 0,
            finding: 0,
            regimes: 0,
            file: 0,
            line: 1,
            ts: 0,
            src_ip: IpAddr::from([10, 0, 0, 1]),
            src_port: Some(1),
            dst_ip: IpAddr::from([10, 0, 0, 2]),
            dst_port: None,
            proto: 1,
            bytes_out: Some(2),
            bytes_in: None,
            hostname: 0,
            attribution: 0,
            vendor: 0,
            product: 0,
            category: 0,
            site: 0,
            country: 0,
            dns,
        }
    }

    #[test]
    fn looked_up_columns_are_those_with_keys() {
        let texts: Vec<TextCell> = ["f", "tcp"].iter().map(|s| TextCell::new(s)).collect();
        let files: Vec<(TextCell, TextCell)> = vec![(TextCell::new("a"), TextCell::new("b"))];
        let tables = Tables::new(&texts, &files);
        let mut cells = Cells::new(None);
        let spooled: Vec<SpoolRow> = [None, Some((0, 3, 5))]
            .into_iter()
            .map(spooled_row)
            .collect();
        cells.format(&spooled);
        for (i, r) in spooled.iter().enumerate() {
            for (c, source) in SOURCES.iter().enumerate() {
                let cell = source.cell(r, i, &cells, &tables);
                assert_eq!(cell.key.is_some(), source.looked_up(), "column {c}");
            }
        }
    }

    /// Each distinct address is formatted once and keyed by its cell text: addresses
    /// whose texts coincide share a key, and every other text has a key of its own.
    #[test]
    fn address_cells_are_keyed_by_their_text() {
        let mut addresses = AddressCells::default();
        let mut formatted = 0;
        let mut cell = |ip: &str, text: &'static str| {
            let ip: IpAddr = ip.parse().unwrap();
            let (key, cell) = addresses.cell(ip, |_| {
                formatted += 1;
                text.to_string()
            });
            (key, cell.to_string())
        };
        assert_eq!(cell("10.0.0.1", "a"), (0, "a".to_string()));
        assert_eq!(cell("10.0.0.2", "b"), (1, "b".to_string()));
        assert_eq!(cell("10.0.0.1", "unused"), (0, "a".to_string()));
        // Two addresses with one text (colliding pseudonyms) share the first one's key.
        assert_eq!(cell("10.0.0.3", "a"), (0, "a".to_string()));
        // A cell that could start a formula is neutralised once, when first made.
        assert_eq!(cell("10.0.0.4", "=1+1"), (2, "'=1+1".to_string()));
        assert_eq!(cell("10.0.0.4", "unused"), (2, "'=1+1".to_string()));
        assert_eq!(formatted, 4);
    }

    /// A spool cut short is an error naming it, not a shorter evidence.csv.
    #[test]
    fn truncated_spool_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = EvidenceSpool::create(dir.path()).unwrap();
        for i in 0..10 {
            spool.push(&row(i)).unwrap();
        }
        spool.main.writer.flush().unwrap();
        let path = dir.path().join(".evidence.spool");
        let len = std::fs::metadata(&path).unwrap().len();
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let Err(err) = spool.finish(dir.path(), &files(), None, EvidenceFormats::default()) else {
            panic!("a truncated spool was accepted");
        };
        let err = err.to_string();
        assert!(err.contains(".evidence.spool"), "{err}");
        assert!(err.contains("truncated"), "{err}");
    }

    /// Every row is counted under its finding and the first rows of each are kept,
    /// however runs of one finding and switches between findings fall.
    #[test]
    fn the_sample_counts_every_row_and_keeps_the_first() {
        let findings = [0u32, 0, 0, 1, 0, 1, 1, 1, 1, 2, 0, 0, 2, 2, 2, 1];
        let mut sampler = Sampler::new(2);
        for (row, &finding) in findings.iter().enumerate() {
            if sampler.counts(finding) {
                let text = format!("{finding}:{row}");
                sampler.keep(finding, |_| text.as_str());
            }
        }
        let texts: Vec<TextCell> = ["a", "b", "c"].iter().map(|s| TextCell::new(s)).collect();
        let sample = sampler.finish(&texts, EvidenceFormats::default());
        let shown = EVIDENCE_SHOWN.len();
        let expect = |rows: &[&str], count: u64| {
            let rows = rows.iter().map(|r| vec![r.to_string(); shown]).collect();
            (rows, count)
        };
        assert_eq!(sample.by_finding["a"], expect(&["0:0", "0:1"], 6));
        assert_eq!(sample.by_finding["b"], expect(&["1:3", "1:5"], 6));
        assert_eq!(sample.by_finding["c"], expect(&["2:9", "2:12"], 4));
        assert_eq!(sample.by_finding.len(), 3);
    }

    /// The columns with a count behind their cells are exactly the count columns of
    /// evidence.csv, and each count is the number its cell shows.
    #[test]
    fn count_cells_are_the_count_columns() {
        let numeric: Vec<usize> = numeric_columns()
            .iter()
            .enumerate()
            .filter_map(|(i, &n)| n.then_some(i))
            .collect();
        assert_eq!(numeric, [4, 7, 9, 11, 12, 22]);
        let texts: Vec<TextCell> = ["f", "tcp"].iter().map(|s| TextCell::new(s)).collect();
        let files: Vec<(TextCell, TextCell)> = vec![(TextCell::new("a"), TextCell::new("b"))];
        let tables = Tables::new(&texts, &files);
        let mut full = spooled_row(Some((0, 30, 5)));
        (full.line, full.src_port, full.dst_port) = (7, Some(1234), Some(443));
        (full.bytes_out, full.bytes_in) = (Some(99), Some(100_000));
        let mut cells = Cells::new(None);
        cells.format(&[full]);
        let counted: Vec<usize> = SOURCES
            .iter()
            .enumerate()
            .filter_map(|(c, source)| {
                let count = source.count(&full)?;
                assert_eq!(
                    source.cell(&full, 0, &cells, &tables).text,
                    count.to_string()
                );
                Some(c)
            })
            .collect();
        assert_eq!(counted, numeric);
        let names = EVIDENCE.names();
        assert_eq!(
            [names[4], names[5], names[6], names[8], names[19], names[23]],
            [
                "input_line",
                "ts",
                "src_ip",
                "dst_ip",
                "destination_country",
                "attribution_ts"
            ]
        );
    }
}
