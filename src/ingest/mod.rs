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

    /// How the format is recognised from content.
    pub fn detected_by(self) -> &'static str {
        match self {
            Format::ZeekConnTsv => "Zeek header with #path conn, or #fields with id.orig_h and orig_bytes/conn_state",
            Format::ZeekDnsTsv => "Zeek header with #path dns, or #fields with id.orig_h and query",
            Format::ZeekConnJson => "JSON objects with _path conn, or ts + id.orig_h + a conn key (conn_state, orig_bytes, history...)",
            Format::ZeekDnsJson => "JSON objects with _path dns, or ts + id.orig_h + a dns key (query, trans_id, answers...)",
        }
    }

    /// Normalised field ← source field, as docs/input-formats.md documents.
    pub fn field_map(self) -> &'static [(&'static str, &'static str)] {
        match self.kind() {
            RecordKind::Flow => &[
                ("ts", "ts (connection start; epoch seconds or RFC 3339)"),
                ("uid", "uid"),
                ("src_ip / src_port", "id.orig_h / id.orig_p"),
                ("dst_ip / dst_port", "id.resp_h / id.resp_p"),
                ("proto", "proto"),
                ("bytes_out", "orig_bytes (payload sent by the originator)"),
                ("bytes_in", "resp_bytes"),
                ("duration", "duration"),
                ("local_orig", "local_orig"),
            ],
            RecordKind::Dns => &[
                ("ts", "ts (query time)"),
                ("response_ts", "ts + rtt"),
                ("client_ip", "id.orig_h"),
                ("query", "query (lowercased, no trailing dot)"),
                ("qtype / rcode", "qtype_name / rcode_name"),
                ("answers", "answers + TTLs (addresses and CNAME targets)"),
                ("uid / trans_id", "uid / trans_id"),
            ],
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
            field: defuse_formula(field.to_string()),
            reason,
            detail: defuse_formula(detail.into()),
            excerpt: String::new(),
        }
    }

    pub fn with_excerpt(mut self, raw: &[u8]) -> Self {
        self.excerpt = excerpt(raw);
        self
    }
}

/// At most 160 characters of a raw line, made printable and safe to open in a
/// spreadsheet: a leading `=`, `+`, `-` or `@` is prefixed with `'` so hostile log content
/// cannot become a formula in rejects.csv.
pub fn excerpt(raw: &[u8]) -> String {
    defuse_formula(printable(raw))
}

/// Prefix spreadsheet formula triggers with a quote.
pub fn defuse_formula(s: String) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

fn printable(raw: &[u8]) -> String {
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
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(unknown(path, "the file is UTF-16 encoded; convert it to UTF-8 (for example with iconv -f UTF-16 -t UTF-8)"));
    }
    let head = head.strip_prefix(lines::UTF8_BOM).unwrap_or(head);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cannot_become_spreadsheet_formulas() {
        assert_eq!(excerpt(b"=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(excerpt(b"ok line"), "ok line");
        assert_eq!(excerpt(b"a\x00b"), "a b");
    }

    #[test]
    fn utf16_and_bom_handling_in_detection() {
        let p = Path::new("x.log");
        let e = detect(p, b"\xFF\xFE#\x00s\x00").unwrap_err();
        assert!(e.to_string().contains("UTF-16"), "{e}");
        let d = detect(p, b"\xEF\xBB\xBF#separator \\x09\n#path\tconn\n").unwrap();
        assert_eq!(d, Detection::Supported(Format::ZeekConnTsv));
    }

    /// Hostile input never panics: random mixes of header fragments, JSON fragments,
    /// binary bytes, extreme numbers and odd addresses go through detection and every
    /// reader, and each record comes back as a record or a reject.
    #[test]
    fn hostile_input_never_panics() {
        let pieces: &[&[u8]] = &[
            b"#separator \\x09",
            b"#separator \\x",
            b"#fields\tts\tid.orig_h\tid.resp_h\tanswers\tTTLs\tquery",
            b"#path\tconn",
            b"#path\tdns",
            b"#path\t",
            b"#set_separator\t",
            b"#unset_field\t",
            b"{",
            b"}",
            b"[",
            b"]",
            b"\"",
            b"\\",
            b"{\"ts\":",
            b"\"id.orig_h\":\"::ffff:10.0.0.1\"",
            b"99999999999999999999999",
            b"-1",
            b"1e308",
            b"NaN",
            b"-0.0",
            b"fe80::1%eth0",
            b"[2001:db8::1]:443",
            b"10.0.0.1",
            b"0.0.0.0",
            b"\t",
            b",",
            b"\n",
            b"\r\n",
            b"\r",
            b"\xff\xfe",
            b"\xEF\xBB\xBF",
            b"\x00",
            b"(empty)",
            b"-",
            b"1782864000.123456789123",
            b"2026-07-01T00:00:00Z",
            b"\"TTLs\":[1,\"x\"]",
        ];
        let mut rng = crate::generate::Rng::new(42);
        for case in 0..400 {
            let mut input = Vec::new();
            for _ in 0..rng.below(60) {
                input.extend_from_slice(pieces[rng.below(pieces.len() as u64) as usize]);
                if rng.below(4) == 0 {
                    input.push(b'\n');
                }
                if rng.below(10) == 0 {
                    input.push(rng.below(256) as u8);
                }
            }
            let _ = detect(Path::new("fuzz"), &input);
            for format in SUPPORTED_FORMATS {
                let mut cursor = std::io::Cursor::new(input.clone());
                let mut records = 0u64;
                read_records(*format, &mut cursor, case, &mut |_item| {
                    records += 1;
                    Ok(())
                })
                .unwrap();
            }
        }
    }
}
