//! Ingest: find input files, open them (plain or gzip, decided by content), detect each
//! file's format from its content, and turn its lines into normalised records.
//!
//! Readers never fail on a bad record: they hand back a [`Reject`] naming the line and
//! field, so the pipeline can count it and carry on (or stop, under `--strict`).

pub mod input;
pub mod lines;
pub mod values;
pub mod zeek_json;
pub mod zeek_tsv;

use std::fmt;
use std::io::BufRead;
use std::path::Path;

use crate::error::{Error, Result};
use crate::schema::Record;

pub use input::{discover_inputs, open_input, OpenedInput};

/// What a file holds, as far as the pipeline cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKind {
    Flow,
    Dns,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Flow => "flow",
            RecordKind::Dns => "dns",
        }
    }
}

/// A supported on-disk format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    ZeekConnTsv,
    ZeekDnsTsv,
    ZeekConnJson,
    ZeekDnsJson,
}

/// Every format the readers understand, for error messages and docs.
pub const SUPPORTED_FORMATS: &[Format] = &[
    Format::ZeekConnTsv,
    Format::ZeekDnsTsv,
    Format::ZeekConnJson,
    Format::ZeekDnsJson,
];

impl Format {
    pub fn id(self) -> &'static str {
        match self {
            Format::ZeekConnTsv => "zeek-conn-tsv",
            Format::ZeekDnsTsv => "zeek-dns-tsv",
            Format::ZeekConnJson => "zeek-conn-json",
            Format::ZeekDnsJson => "zeek-dns-json",
        }
    }

    pub fn kind(self) -> RecordKind {
        match self {
            Format::ZeekConnTsv | Format::ZeekConnJson => RecordKind::Flow,
            Format::ZeekDnsTsv | Format::ZeekDnsJson => RecordKind::Dns,
        }
    }

    pub fn supported_list() -> String {
        let names: Vec<&str> = SUPPORTED_FORMATS.iter().map(|f| f.id()).collect();
        names.join(", ")
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The outcome of looking at a file's first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detection {
    Supported(Format),
    /// A Zeek log of a kind this version does not use (ssl, http, x509…). It is listed in
    /// run.json as skipped rather than failing a run over a whole Zeek log directory.
    ZeekOtherLog(String),
    /// The file is empty after decompression: nothing to read, nothing to detect.
    Empty,
}

/// Why a record was rejected. The string form is the stable `reason` used in outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectReason {
    InvalidUtf8,
    LineTooLong,
    MalformedJson,
    MissingHeader,
    ColumnCount,
    MissingField,
    InvalidTimestamp,
    InvalidAddress,
    InvalidPort,
    InvalidNumber,
    UnsupportedLogPath,
    KindMismatch,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::LineTooLong => "line_too_long",
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::MissingHeader => "missing_header",
            RejectReason::ColumnCount => "column_count",
            RejectReason::MissingField => "missing_field",
            RejectReason::InvalidTimestamp => "invalid_timestamp",
            RejectReason::InvalidAddress => "invalid_address",
            RejectReason::InvalidPort => "invalid_port",
            RejectReason::InvalidNumber => "invalid_number",
            RejectReason::UnsupportedLogPath => "unsupported_log_path",
            RejectReason::KindMismatch => "kind_mismatch",
        }
    }
}

/// A record that could not be read, with enough detail to find and fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub line: u64,
    pub field: String,
    pub reason: RejectReason,
    pub detail: String,
    /// The start of the offending line, for the rejects listing.
    pub excerpt: String,
}

impl Reject {
    pub fn new(line: u64, field: &str, reason: RejectReason, detail: impl Into<String>) -> Self {
        Reject {
            line,
            field: field.to_string(),
            reason,
            detail: detail.into(),
            excerpt: String::new(),
        }
    }

    pub fn with_excerpt(mut self, raw: &[u8]) -> Self {
        self.excerpt = excerpt(raw);
        self
    }
}

/// At most 160 characters of a raw line, made printable.
pub fn excerpt(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(&raw[..raw.len().min(640)]);
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(160)
        .collect();
    if text.chars().count() > 160 {
        out.push('…');
    }
    out
}

/// What a reader hands to the pipeline for each record it reads.
#[derive(Debug)]
pub enum Item {
    Record(Record),
    Reject(Reject),
}

/// Decide a file's format from its first bytes (after decompression).
pub fn detect(path: &Path, head: &[u8]) -> Result<Detection> {
    let text = String::from_utf8_lossy(&head[..head.len().min(64 * 1024)]);
    let first = text.lines().map(str::trim).find(|l| !l.is_empty());
    let Some(first) = first else {
        return Ok(Detection::Empty);
    };
    if first.starts_with("#separator") || first.starts_with("#fields") || first.starts_with("#path")
    {
        return zeek_tsv::detect(&text).ok_or_else(|| {
            unknown(
                path,
                "a Zeek header without a recognisable #path or #fields",
            )
        });
    }
    if first.starts_with('{') || first.starts_with('[') {
        let object = zeek_json::first_object(&text).unwrap_or_else(|| first.to_string());
        return zeek_json::detect(&object).ok_or_else(|| {
            unknown(
                path,
                "JSON lines whose keys match no supported log (expected Zeek conn or dns keys such as id.orig_h with conn_state/orig_bytes or query)",
            )
        });
    }
    Err(unknown(
        path,
        "the first line is neither a Zeek header nor a JSON object",
    ))
}

fn unknown(path: &Path, detail: &str) -> Error {
    Error::UnknownFormat {
        path: path.to_path_buf(),
        detail: detail.to_string(),
        supported: Format::supported_list(),
    }
}

/// Read every record of an opened input, handing each record or reject to `sink`.
pub fn read_records(
    format: Format,
    reader: &mut dyn BufRead,
    file_index: u32,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    match format {
        Format::ZeekConnTsv | Format::ZeekDnsTsv => zeek_tsv::read(reader, file_index, sink),
        Format::ZeekConnJson | Format::ZeekDnsJson => {
            zeek_json::read(reader, format.kind(), file_index, sink)
        }
    }
}
