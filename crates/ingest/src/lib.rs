//! Ingest: find input files, open them (plain or gzip, decided by content), detect each
//! file's format from its content, and turn its lines into normalised records.
//!
//! Readers never fail on a bad record: they hand back a [`Reject`] naming the line and
//! field, so the pipeline can count it and carry on (or stop, under `--strict`).

pub mod input;
pub mod json;
pub mod lines;
pub mod parallel;
pub mod parquet_file;
mod spare;
pub mod syslog;
pub mod text;

// Readers: one file per format (or per family sharing one layout).
pub mod zeek_fields;
pub mod zeek_json;
pub mod zeek_parquet;
pub mod zeek_tsv;
// -- flow readers (sensors, cloud, NetFlow, firewalls) --
pub mod aws_vpc;
pub mod azure_flow;
pub mod cef;
pub mod cisco_asa;
pub mod ecs;
pub mod gcp_vpc;
pub mod goflow2;
pub mod nfdump_csv;
pub mod ocsf;
pub mod panos;
pub mod siem_common;
pub mod silk_rwcut;
pub mod splunk_cim;
pub mod suricata_eve;
// -- DNS readers --
pub mod bind;
pub mod route53;
pub mod umbrella;
// -- web proxy, secure web gateway and URL filter readers --
pub mod checkpoint;
pub mod fortigate;
pub mod leef;
pub mod panos_url;
pub mod proxy_fields;
pub mod squid;
pub mod w3c;
pub mod zscaler;
// -- generic readers --
pub mod mapping;

use std::fmt;
use std::io::BufRead;
use std::path::Path;

use xborder_model::error::{Error, Result};
use xborder_model::schema::Record;

pub use input::{discover_inputs, open_input, OpenedInput};
pub use xborder_model::reject::{defuse_formula, excerpt, Reject, RejectReason};
pub use xborder_model::schema::RecordKind;
// Typed value parsing is shared with the catalogs, so it lives in the model crate.
pub use xborder_model::values;

/// Options that readers need beyond the bytes: facts the log itself does not carry.
#[derive(Debug, Clone, Default)]
pub struct ReaderOptions {
    /// Offset of timestamps written without a zone (PAN-OS, ASA, BIND…). `None` reads them
    /// as UTC and says so in run.json.
    pub log_timezone: Option<chrono::FixedOffset>,
    /// Year for syslog timestamps that carry none (`Oct 10 12:34:56`).
    pub assume_year: Option<i32>,
    /// User mapping files (`--mapping`), consulted before the registry by [`detect_with`].
    pub mappings: Vec<std::sync::Arc<mapping::Mapping>>,
    /// AWS VPC flow log field names, in order, for header-less lines in a custom format
    /// (`--vpc-fields "version account-id ..."`). A header line in the file wins.
    pub vpc_fields: Option<Vec<String>>,
}

/// What a reader gets besides the stream.
pub struct ReadContext<'a> {
    pub path: &'a Path,
    pub file_index: u32,
    pub options: &'a ReaderOptions,
}

impl ReadContext<'_> {
    /// An I/O error while reading this input, naming the file.
    pub fn io_error(&self, e: std::io::Error) -> Error {
        Error::io(self.path, e)
    }

    pub fn provenance(&self, line: u64) -> xborder_model::schema::Provenance {
        xborder_model::schema::Provenance {
            file: self.file_index,
            line,
        }
    }
}

/// The start of a file, prepared once for every detector.
pub struct Head<'a> {
    /// The file itself, for binary formats whose schema sits at the end (Parquet's footer).
    pub path: &'a Path,
    /// Decompressed bytes, without a UTF-8 byte-order mark.
    pub bytes: &'a [u8],
    /// The same, as text (lossy), at most 64 KiB.
    pub text: &'a str,
    /// The first non-blank line, trimmed.
    pub first_line: &'a str,
    /// The first complete JSON object (JSON lines, pretty-printed or inside an array;
    /// `//` comments tolerated), if the file starts with one.
    pub first_json: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// Where a reader hands its items.
pub type Sink<'s> = dyn FnMut(Item) -> Result<()> + 's;

/// Reads one format of the registry: the stream is already decompressed and positioned at
/// the start.
pub type ReadFn =
    fn(&mut dyn BufRead, &ReadContext<'_>, &mut dyn FnMut(Item) -> Result<()>) -> Result<()>;

/// Everything the tool knows about one input format. Each reader module defines its
/// spec(s) as constants, and [`REGISTRY`] lists them: adding a format is a new file and
/// one line there.
pub struct FormatSpec {
    /// Stable id, used in run.json, `--format` and docs/formats.md.
    pub id: &'static str,
    /// What a person would call it.
    pub title: &'static str,
    /// The kinds of record a file of this format may hold.
    pub kinds: &'static [RecordKind],
    /// How content is recognised, in words (`xborder formats`).
    pub detected_by: &'static str,
    /// What the byte counts mean (direction, payload or IP bytes), in words.
    pub bytes: &'static str,
    /// Normalised field ← source field.
    pub field_map: &'static [(&'static str, &'static str)],
    /// True when the file's head is this format. Must be specific: two detectors matching
    /// one file is reported as ambiguous.
    pub detect: fn(&Head<'_>) -> bool,
    pub read: ReadFn,
}

/// What every reader offers: its description and a way to read. A [`FormatSpec`] of the
/// registry is one; a format defined at run time (a `--mapping` file) is another, and owns
/// its configuration instead of leaking it into a `'static` spec.
///
/// Readers run on a helper thread and a panic in one is caught and reported, hence the
/// bounds.
pub trait FormatReader: Send + Sync + std::panic::RefUnwindSafe {
    /// Stable id, used in run.json and docs/formats.md.
    fn id(&self) -> &str;
    fn title(&self) -> &str;
    fn kinds(&self) -> &'static [RecordKind];
    fn detected_by(&self) -> &str;
    fn bytes(&self) -> &str;
    /// Normalised field ← source field.
    fn field_map(&self) -> Vec<(&str, &str)>;
    /// Read an opened input: the stream is decompressed and positioned at the start.
    fn read(
        &self,
        reader: &mut dyn BufRead,
        ctx: &ReadContext<'_>,
        sink: &mut dyn FnMut(Item) -> Result<()>,
    ) -> Result<()>;
}

impl FormatReader for FormatSpec {
    fn id(&self) -> &str {
        self.id
    }
    fn title(&self) -> &str {
        self.title
    }
    fn kinds(&self) -> &'static [RecordKind] {
        self.kinds
    }
    fn detected_by(&self) -> &str {
        self.detected_by
    }
    fn bytes(&self) -> &str {
        self.bytes
    }
    fn field_map(&self) -> Vec<(&str, &str)> {
        self.field_map.to_vec()
    }
    fn read(
        &self,
        reader: &mut dyn BufRead,
        ctx: &ReadContext<'_>,
        sink: &mut dyn FnMut(Item) -> Result<()>,
    ) -> Result<()> {
        (self.read)(reader, ctx, sink)
    }
}

/// A supported format: one of the registry, or one defined at run time with its state.
#[derive(Clone)]
pub enum Format {
    /// A format of the [`REGISTRY`].
    Builtin(&'static FormatSpec),
    /// A format defined at run time (a user mapping), owning its configuration.
    Defined(std::sync::Arc<dyn FormatReader>),
}

impl PartialEq for Format {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}
impl Eq for Format {}

impl fmt::Debug for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Format({})", self.id())
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Format {
    /// The reader behind this format.
    pub fn reader(&self) -> &dyn FormatReader {
        match self {
            Format::Builtin(spec) => *spec,
            Format::Defined(reader) => reader.as_ref(),
        }
    }

    pub fn id(&self) -> &str {
        self.reader().id()
    }

    pub fn title(&self) -> &str {
        self.reader().title()
    }

    pub fn kinds(&self) -> &'static [RecordKind] {
        self.reader().kinds()
    }

    pub fn holds(&self, kind: RecordKind) -> bool {
        self.kinds().contains(&kind)
    }

    /// The kinds joined with `+`, for run.json (`flow`, `dns`, `flow+dns+hostname`).
    pub fn kinds_label(&self) -> String {
        let names: Vec<&str> = self.kinds().iter().map(|k| k.as_str()).collect();
        names.join("+")
    }

    pub fn detected_by(&self) -> &str {
        self.reader().detected_by()
    }

    /// What the byte counts mean, in words.
    pub fn bytes(&self) -> &str {
        self.reader().bytes()
    }

    pub fn field_map(&self) -> Vec<(&str, &str)> {
        self.reader().field_map()
    }

    /// The format with this id.
    pub fn by_id(id: &str) -> Option<Format> {
        REGISTRY
            .iter()
            .find(|s| s.id == id)
            .map(|s| Format::Builtin(s))
    }

    pub fn supported_list() -> String {
        let names: Vec<&str> = REGISTRY.iter().map(|f| f.id).collect();
        names.join(", ")
    }
}

/// Every format the readers understand, in the order `xborder formats` lists them.
pub static REGISTRY: &[&FormatSpec] = &[
    &zeek_tsv::CONN,
    &zeek_tsv::DNS,
    &zeek_tsv::SSL,
    &zeek_tsv::HTTP,
    &zeek_json::CONN,
    &zeek_json::DNS,
    &zeek_json::SSL,
    &zeek_json::HTTP,
    &zeek_parquet::CONN,
    // -- flow formats --
    &panos::TRAFFIC,
    &cisco_asa::ASA,
    &cef::CEF,
    &aws_vpc::TEXT,
    &aws_vpc::JSON,
    &azure_flow::NSG,
    &azure_flow::VNET,
    &gcp_vpc::SPEC,
    &goflow2::SPEC,
    &nfdump_csv::SPEC,
    &silk_rwcut::SPEC,
    &suricata_eve::EVE,
    &ocsf::JSON,
    &ecs::NDJSON,
    &splunk_cim::CSV,
    &ocsf::parquet::PARQUET,
    // -- DNS formats --
    &bind::QUERY_LOG,
    &route53::RESOLVER,
    &umbrella::DNS,
    // -- web proxy, secure web gateway and URL filter formats --
    &squid::NATIVE,
    &squid::COMBINED,
    &zscaler::JSON,
    &zscaler::CSV,
    &w3c::PROXYSG,
    &w3c::GENERIC,
    &fortigate::SPEC,
    &checkpoint::SPEC,
    &panos_url::URL,
    &leef::SPEC,
    // -- generic formats --
];

/// Read `text` with `read` into a list of items (unit tests of the readers).
#[cfg(test)]
pub(crate) fn read_text(read: ReadFn, text: &str, options: &ReaderOptions) -> Vec<Item> {
    let ctx = ReadContext {
        path: Path::new("test.log"),
        file_index: 0,
        options,
    };
    let mut items = Vec::new();
    let mut cursor = std::io::Cursor::new(text.as_bytes().to_vec());
    read(&mut cursor, &ctx, &mut |item| {
        items.push(item);
        Ok(())
    })
    .expect("reading from memory does not fail");
    items
}

/// The proxy records among `items` (unit tests of the proxy readers).
#[cfg(test)]
pub(crate) fn proxy_records(items: &[Item]) -> Vec<&xborder_model::schema::ProxyRecord> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Record(Record::Proxy(p)) => Some(p),
            _ => None,
        })
        .collect()
}

/// Every registered format.
pub fn formats() -> impl Iterator<Item = Format> {
    REGISTRY.iter().map(|s| Format::Builtin(s))
}

/// The outcome of looking at a file's first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detection {
    Supported(Format),
    /// A Zeek log of a kind this version does not use (x509, files…). It is listed in
    /// run.json as skipped rather than failing a run over a whole Zeek log directory.
    ZeekOtherLog(String),
    /// The file is empty after decompression: nothing to read, nothing to detect.
    Empty,
    /// A file found inside an input directory that no reader recognises (a README, a
    /// sites.toml kept beside the logs): listed as skipped with why, not read. A file named
    /// on the command line, or any file under `--strict`, is an error instead.
    Unrecognised(String),
    /// Something inside an input directory that is not a regular file (a FIFO, socket or
    /// device): listed as skipped, never opened, since reading it could block for ever.
    NotRegular,
}

/// What a reader hands to the pipeline for each record it reads.
#[derive(Debug)]
pub enum Item {
    Record(Record),
    Reject(Reject),
    /// A record read and deliberately not used, with a stable reason: an AWS NODATA row,
    /// a Suricata `alert` event, a BIND line that is not a query, an ASA "Built" message
    /// whose bytes come with its teardown. Counted in run.json as `filtered`.
    Filtered {
        line: u64,
        reason: &'static str,
    },
    /// A fact about the whole file that changes how its figures read (time zone assumed,
    /// byte counts covering both directions). Listed once per file in run.json.
    Note(String),
}

/// Decide a file's format from its first bytes (after decompression). `forced` is the
/// user's `--format`, which skips detection but still refuses binary or UTF-16 input.
pub fn detect(path: &Path, head: &[u8], forced: Option<Format>) -> Result<Detection> {
    detect_with(path, head, forced, &ReaderOptions::default())
}

/// [`detect`], with the user's mapping files (`options.mappings`) tried before the
/// registry: a file a mapping recognises is read with it.
pub fn detect_with(
    path: &Path,
    head: &[u8],
    forced: Option<Format>,
    options: &ReaderOptions,
) -> Result<Detection> {
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(unknown(path, "the file is UTF-16 encoded; convert it to UTF-8 (for example with iconv -f UTF-16 -t UTF-8)"));
    }
    let head = head.strip_prefix(lines::UTF8_BOM).unwrap_or(head);
    let text = String::from_utf8_lossy(&head[..head.len().min(64 * 1024)]);
    let first = text.lines().map(str::trim).find(|l| !l.is_empty());
    let Some(first) = first else {
        return Ok(Detection::Empty);
    };
    if let Some(f) = forced {
        return Ok(Detection::Supported(f));
    }
    let first_json = if first.starts_with('{') || first.starts_with('[') {
        json::first_object(&text).and_then(|o| match o {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        })
    } else {
        None
    };
    let h = Head {
        path,
        bytes: head,
        text: &text,
        first_line: first,
        first_json: first_json.as_ref(),
    };
    if let Some(format) = mapping::detect(path, &h, &options.mappings)? {
        return Ok(Detection::Supported(format));
    }
    let matches: Vec<&'static FormatSpec> = REGISTRY
        .iter()
        .copied()
        .filter(|s| (s.detect)(&h))
        .collect();
    match matches.as_slice() {
        [one] => return Ok(Detection::Supported(Format::Builtin(one))),
        [] => {}
        many => {
            let ids: Vec<&str> = many.iter().map(|s| s.id).collect();
            return Err(unknown(
                path,
                &format!(
                    "the content matches more than one format ({}); name one with --format",
                    ids.join(", ")
                ),
            ));
        }
    }
    if let Some(other) =
        zeek_tsv::other_log(&text).or_else(|| h.first_json.and_then(zeek_json::other_log))
    {
        return Ok(Detection::ZeekOtherLog(other));
    }
    Err(unknown(path, &why_unknown(&h)))
}

/// The most useful thing to say about content no detector accepted.
fn why_unknown(h: &Head<'_>) -> String {
    if h.bytes.starts_with(b"PAR1") {
        return "a Parquet file whose columns match no supported schema".into();
    }
    if h.bytes.iter().take(4096).any(|&b| b == 0) {
        return "binary content (NUL bytes) that is not a supported format".into();
    }
    let line: String = h.first_line.chars().take(120).collect();
    if h.first_line.starts_with('#') {
        return format!("a header line `{line}` that no supported format writes (a Zeek log needs #path or #fields)");
    }
    if let Some(obj) = h.first_json {
        let keys: Vec<&str> = obj.keys().take(12).map(String::as_str).collect();
        return format!(
            "JSON objects whose keys match no supported format (first object has: {})",
            keys.join(", ")
        );
    }
    if h.first_line.starts_with('{') || h.first_line.starts_with('[') {
        return "the file starts like JSON but its first object does not parse".into();
    }
    format!("the first line matches no supported format: `{line}`")
}

fn unknown(path: &Path, detail: &str) -> Error {
    Error::UnknownFormat {
        path: path.to_path_buf(),
        detail: detail.to_string(),
        supported: Format::supported_list(),
    }
}

/// Read every record of an opened input, handing each item to `sink`.
pub fn read_records(
    format: Format,
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    format
        .reader()
        .read(reader, ctx, &mut |item| sink(plausible(item)))
}

/// Read one piece of a file cut at a line end ([`parallel`]): its first line is line
/// `before + 1`, read in the Zeek header block `block`; the same checks as
/// [`read_records`] apply.
pub(crate) fn read_piece(
    piece: &[u8],
    before: u64,
    block: &zeek_tsv::Block,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    zeek_tsv::read_piece(piece, before, block, ctx, &mut |item| sink(plausible(item)))
}

/// The largest byte count one flow record may carry: 2^53 bytes (8 PiB, eight days at
/// 100 Gbit/s). Above it a count is not a measurement but a forgery or a corrupt field,
/// and it would no longer be exact in JSON or in a spreadsheet; bounding each record also
/// keeps every run-wide total far from 2^64.
pub const MAX_FLOW_BYTES: u64 = 1 << 53;

/// Every reader's flow records pass here: a byte count above [`MAX_FLOW_BYTES`] rejects
/// the record, naming the field, instead of letting it swamp or wrap a total.
fn plausible(item: Item) -> Item {
    let Item::Record(Record::Flow(flow)) = &item else {
        return item;
    };
    for (field, value) in [("bytes_out", flow.bytes_out), ("bytes_in", flow.bytes_in)] {
        if let Some(v) = value.filter(|v| *v > MAX_FLOW_BYTES) {
            return Item::Reject(Reject::new(
                flow.provenance.line,
                field,
                RejectReason::InvalidNumber,
                format!("byte count {v} is above the 2^53 (8 PiB) a single flow can carry"),
            ));
        }
    }
    item
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
    fn registry_ids_are_unique_and_every_kind_is_declared() {
        let mut ids: Vec<&str> = REGISTRY.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "duplicate format ids");
        for s in REGISTRY {
            assert!(!s.kinds.is_empty(), "{} declares no record kind", s.id);
            assert!(
                !s.field_map.is_empty(),
                "{} documents no field mapping",
                s.id
            );
        }
    }

    #[test]
    fn unknown_content_says_why() {
        let p = Path::new("x.log");
        let e = detect(p, b"{\"hello\": 1}\n", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("first object has: hello"), "{e}");
        let e = detect(p, b"garbage line\n", None).unwrap_err().to_string();
        assert!(e.contains("`garbage line`"), "{e}");
    }

    #[test]
    fn utf16_and_bom_handling_in_detection() {
        let p = Path::new("x.log");
        let e = detect(p, b"\xFF\xFE#\x00s\x00", None).unwrap_err();
        assert!(e.to_string().contains("UTF-16"), "{e}");
        let d = detect(p, b"\xEF\xBB\xBF#separator \\x09\n#path\tconn\n", None).unwrap();
        assert_eq!(d, Detection::Supported(Format::Builtin(&zeek_tsv::CONN)));
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
        let mut rng = xborder_model::rng::Rng::new(42);
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
            let _ = detect(Path::new("fuzz"), &input, None);
            let options = ReaderOptions::default();
            let ctx = ReadContext {
                path: Path::new("fuzz"),
                file_index: case,
                options: &options,
            };
            for format in formats() {
                let mut cursor = std::io::Cursor::new(input.clone());
                let mut records = 0u64;
                read_records(format, &mut cursor, &ctx, &mut |_item| {
                    records += 1;
                    Ok(())
                })
                .unwrap();
            }
        }
    }
}
