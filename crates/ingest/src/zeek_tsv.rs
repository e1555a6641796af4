//! Zeek ASCII (TSV) logs: conn.log and dns.log.
//!
//! Columns are mapped by the `#fields` header, never by position: real deployments add
//! columns (a leading `_node_name`, package fields), and concatenated logs repeat header
//! blocks mid-file, each of which may declare a different layout.

use std::io::BufRead;
use xborder_model::fasthash::FastMap;

use super::lines::{self, CheckedLine, CheckedLines, LineReader, PieceLines};
use super::values::{self, FieldError};
use super::zeek_fields::{
    self, conn, dns, ByName, CellList, ConnValues, DnsValues, LogValues, PlainList, PlainValues,
    Raw, ZeekField,
};
use super::{FormatSpec, Item, ReadContext, RecordKind, Reject, RejectReason};
use std::borrow::Cow;
use std::net::IpAddr;
use xborder_model::error::Result;
use xborder_model::schema::{
    DnsRecord, FlowRecord, HostnameSource, Micros, Provenance, Record, Uid,
};

const CONN_FIELDS: &[(&str, &str)] = &[
    ("ts", "ts (connection start; epoch seconds)"),
    ("uid", "uid"),
    ("src_ip / src_port", "id.orig_h / id.orig_p"),
    ("dst_ip / dst_port", "id.resp_h / id.resp_p"),
    ("proto", "proto"),
    ("bytes_out", "orig_bytes (payload sent by the originator)"),
    ("bytes_in", "resp_bytes"),
    ("duration", "duration"),
    ("local_orig", "local_orig"),
];
const DNS_FIELDS: &[(&str, &str)] = &[
    ("ts", "ts (query time)"),
    ("response_ts", "ts + rtt"),
    ("client_ip", "id.orig_h"),
    ("query", "query (lowercased, no trailing dot)"),
    ("qtype / rcode", "qtype_name / rcode_name"),
    ("answers", "answers + TTLs (addresses and CNAME targets)"),
    ("uid / trans_id", "uid / trans_id"),
];
const SSL_FIELDS: &[(&str, &str)] = &[
    ("uid", "uid (joins conn.log)"),
    ("name (sni)", "server_name"),
    (
        "src_ip / dst_ip / dst_port",
        "id.orig_h / id.resp_h / id.resp_p",
    ),
];
const HTTP_FIELDS: &[(&str, &str)] = &[
    ("uid", "uid (joins conn.log)"),
    ("name (http_host)", "host (port stripped)"),
    (
        "src_ip / dst_ip / dst_port",
        "id.orig_h / id.resp_h / id.resp_p",
    ),
];
const BIFLOW: &str =
    "orig_bytes is payload the originator sent (upload), resp_bytes what it received";
const NO_BYTES: &str = "no byte counts (hostname evidence only)";

pub static CONN: FormatSpec = FormatSpec {
    id: "zeek-conn-tsv",
    title: "Zeek conn.log (TSV)",
    kinds: &[RecordKind::Flow],
    detected_by: "Zeek header with #path conn, or #fields with id.orig_h and orig_bytes/conn_state",
    bytes: BIFLOW,
    field_map: CONN_FIELDS,
    detect: |h| log_path(h.text).as_deref() == Some("conn"),
    read,
};
pub static DNS: FormatSpec = FormatSpec {
    id: "zeek-dns-tsv",
    title: "Zeek dns.log (TSV)",
    kinds: &[RecordKind::Dns],
    detected_by: "Zeek header with #path dns, or #fields with id.orig_h and query",
    bytes: NO_BYTES,
    field_map: DNS_FIELDS,
    detect: |h| log_path(h.text).as_deref() == Some("dns"),
    read,
};
pub static SSL: FormatSpec = FormatSpec {
    id: "zeek-ssl-tsv",
    title: "Zeek ssl.log (TSV)",
    kinds: &[RecordKind::Hostname],
    detected_by: "Zeek header with #path ssl, or #fields with id.orig_h and server_name",
    bytes: NO_BYTES,
    field_map: SSL_FIELDS,
    detect: |h| log_path(h.text).as_deref() == Some("ssl"),
    read,
};
pub static HTTP: FormatSpec = FormatSpec {
    id: "zeek-http-tsv",
    title: "Zeek http.log (TSV)",
    kinds: &[RecordKind::Hostname],
    detected_by: "Zeek header with #path http, or #fields with id.orig_h, host and uri",
    bytes: NO_BYTES,
    field_map: HTTP_FIELDS,
    detect: |h| log_path(h.text).as_deref() == Some("http"),
    read,
};

/// The Zeek log path a TSV header declares (`#path`), or the one its `#fields` imply.
fn log_path(head: &str) -> Option<String> {
    let mut path: Option<&str> = None;
    let mut fields: Option<Vec<&str>> = None;
    let mut separator = "\t".to_string();
    let mut saw_header = false;
    for line in head.lines() {
        if !line.starts_with('#') {
            break;
        }
        saw_header = true;
        if let Some(rest) = line.strip_prefix("#separator") {
            separator = unescape_separator(rest.trim());
        } else if let Some(rest) = header_value(line, "#path", &separator) {
            path = Some(rest);
        } else if let Some(rest) = header_value(line, "#fields", &separator) {
            fields = Some(rest.split(separator.as_str()).collect());
        }
    }
    if !saw_header {
        return None;
    }
    if let Some(p) = path {
        return Some(p.trim().to_string());
    }
    let f = fields?;
    if !f.contains(&"id.orig_h") {
        return None;
    }
    let kind = if f.contains(&"query") {
        "dns"
    } else if f.contains(&"orig_bytes") || f.contains(&"conn_state") {
        "conn"
    } else if f.contains(&"server_name") {
        "ssl"
    } else if f.contains(&"host") && f.contains(&"uri") {
        "http"
    } else {
        return None;
    };
    Some(kind.to_string())
}

/// A Zeek log of a path no reader uses (x509, files, weird…), to be listed and skipped.
pub fn other_log(head: &str) -> Option<String> {
    let path = log_path(head)?;
    (!matches!(path.as_str(), "conn" | "dns" | "ssl" | "http")).then_some(path)
}

fn header_value<'a>(line: &'a str, key: &str, separator: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(key)?;
    rest.strip_prefix(separator)
        .or_else(|| rest.strip_prefix(' '))
        .or_else(|| rest.strip_prefix('\t'))
}

/// `#separator \x09` → a tab.
fn unescape_separator(s: &str) -> String {
    unescape(s)
}

/// Zeek escapes non-printable bytes as `\xNN`.
fn unescape(s: &str) -> String {
    if !s.contains("\\x") {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() && bytes.get(i + 1) == Some(&b'x') {
            if let Some(v) = std::str::from_utf8(&bytes[i + 2..i + 4])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The layout declared by the current header block.
#[derive(Clone)]
pub(crate) struct Block {
    separator: String,
    set_separator: String,
    empty_field: String,
    unset_field: String,
    path: Option<String>,
    columns: Option<FastMap<String, usize>>,
    width: usize,
}

impl Default for Block {
    fn default() -> Self {
        Block {
            separator: "\t".into(),
            set_separator: ",".into(),
            empty_field: "(empty)".into(),
            unset_field: "-".into(),
            path: None,
            columns: None,
            width: 0,
        }
    }
}

/// Whether `v` holds a `\xNN` escape. Most cells hold no backslash at all, which a
/// byte search finds at once; a substring search per cell was a tenth of a dns line.
fn has_escape(v: &str) -> bool {
    let bytes = v.as_bytes();
    memchr::memchr_iter(b'\\', bytes).any(|i| bytes.get(i + 1) == Some(&b'x'))
}

impl Block {
    /// The log this block holds: its `#path`, else dns when a `query` column is declared,
    /// else conn.
    fn kind(&self) -> &str {
        match (self.path.as_deref(), &self.columns) {
            (Some(path), _) => path,
            (None, Some(c)) if c.contains_key("query") => "dns",
            _ => "conn",
        }
    }

    /// The column map, when this block holds `kind` lines a fast path can split: tab
    /// separated, at most [`FAST_MAX_COLUMNS`] wide.
    fn fast_columns(&self, kind: &str) -> Option<&FastMap<String, usize>> {
        let columns = self.columns.as_ref()?;
        (self.kind() == kind && self.separator == "\t" && self.width <= FAST_MAX_COLUMNS)
            .then_some(columns)
    }

    /// A cell's value, `None` when the column is absent or the cell is unset.
    fn value<'v>(&self, cell: Option<&'v str>) -> Option<&'v str> {
        cell.filter(|v| *v != self.unset_field)
    }

    /// A `string` cell as text: `(empty)` is the empty string, `\xNN` escapes undone.
    fn text<'v>(&self, v: &'v str) -> Cow<'v, str> {
        if v == self.empty_field {
            Cow::Borrowed("")
        } else if has_escape(v) {
            Cow::Owned(unescape(v))
        } else {
            Cow::Borrowed(v)
        }
    }

    /// The elements of a set or vector cell; none when unset, `(empty)` or empty.
    fn list<'v>(&self, v: Option<&'v str>) -> CellList<'v> {
        match v.filter(|v| *v != self.empty_field && !v.is_empty()) {
            None => CellList::new(),
            // The usual one-byte separator splits with memchr, not a substring search.
            Some(v) => match self.set_separator.as_bytes() {
                [b] if b.is_ascii() => v.split(char::from(*b)).map(Cow::Borrowed).collect(),
                _ => v
                    .split(self.set_separator.as_str())
                    .map(Cow::Borrowed)
                    .collect(),
            },
        }
    }

    /// Apply one header line: a `#separator` line starts a new block (one may follow
    /// another mid-file), any other updates the current one.
    fn header_line(&mut self, line: &str) {
        if line.starts_with("#separator") {
            *self = Block::default();
        }
        self.apply_header(line);
    }

    fn apply_header(&mut self, line: &str) {
        let body = &line[1..];
        let (key, value) = match body.split_once(self.separator.as_str()) {
            Some(kv) => kv,
            None => match body.split_once(' ') {
                Some(kv) => kv,
                None => (body, ""),
            },
        };
        match key {
            "separator" => self.separator = unescape_separator(value.trim()),
            "set_separator" => self.set_separator = unescape(value),
            "empty_field" => self.empty_field = value.to_string(),
            "unset_field" => self.unset_field = value.to_string(),
            "path" => self.path = Some(value.to_string()),
            "fields" => {
                let names: Vec<&str> = value.split(self.separator.as_str()).collect();
                self.width = names.len();
                self.columns = Some(
                    names
                        .iter()
                        .enumerate()
                        .map(|(i, n)| (n.to_string(), i))
                        .collect(),
                );
            }
            // #open, #close, #types and anything else carry nothing we need.
            _ => {}
        }
    }
}

/// A data line's conn cells by field, picked out by [`FastConn::parse`] (or from the general
/// path's split line), for the shared mapping.
struct ConnCells<'a> {
    /// Each conn field's cell; `None` when its column is not in the block.
    cells: [Option<&'a str>; conn::FIELDS.len()],
    unset: &'a str,
}

impl ConnCells<'_> {
    /// Field `field`'s cell; `None` when its column is absent or the cell is unset.
    #[inline]
    fn cell(&self, field: usize) -> Option<&str> {
        self.cells[field].filter(|v| !is_unset(v, self.unset))
    }
}

/// Every cell is Zeek's ASCII text: the value parsers' one-pass spellings are its usual
/// forms.
impl PlainValues for ConnCells<'_> {
    #[inline]
    fn plain_cell(&self, field: usize) -> Option<Option<&str>> {
        Some(self.cell(field))
    }
}

/// Every cell is Zeek's ASCII text, so each typed reader hands it straight to its type's
/// value parser: what the shared readers do with [`Raw::Ascii`], without the `Raw`.
impl ConnValues for ConnCells<'_> {
    #[inline]
    fn raw(&self, field: usize) -> std::result::Result<Raw<'_>, FieldError> {
        Ok(self.cell(field).map_or(Raw::Unset, Raw::Ascii))
    }

    fn time(&self, field: usize) -> std::result::Result<Option<Micros>, FieldError> {
        self.cell(field)
            .map(values::parse_epoch_decimal)
            .transpose()
    }

    fn addr(&self, field: usize) -> std::result::Result<Option<IpAddr>, FieldError> {
        self.cell(field).map(values::parse_address).transpose()
    }

    fn port(&self, field: usize) -> std::result::Result<Option<u16>, FieldError> {
        self.cell(field).map(values::parse_port).transpose()
    }

    fn count(&self, field: usize) -> std::result::Result<Option<u64>, FieldError> {
        self.cell(field).map(values::parse_count).transpose()
    }

    fn interval(&self, field: usize) -> std::result::Result<Option<f64>, FieldError> {
        self.cell(field).map(values::parse_seconds).transpose()
    }

    fn boolean(&self, field: usize) -> std::result::Result<Option<bool>, FieldError> {
        self.cell(field).map(values::parse_bool).transpose()
    }

    fn uid(&self, field: usize) -> std::result::Result<Option<Uid>, FieldError> {
        Ok(self.cell(field).map(Uid::from))
    }

    fn missing(&self, field: usize) -> &'static str {
        if self.cells[field].is_some() {
            "required field is unset"
        } else {
            "required column is not in #fields"
        }
    }

    // Text fields as they are; the other one-pass readers are [`PlainValues`]'.

    #[inline]
    fn plain_text(&self, field: usize) -> Option<Option<&str>> {
        Some(self.cell(field))
    }
}

/// Whether `cell` is the block's unset marker. Compared byte to byte when the marker is
/// one byte (Zeek's `-`), as it almost always is, instead of through a `memcmp` call per
/// cell.
#[inline]
fn is_unset(cell: &str, unset: &str) -> bool {
    match (cell.as_bytes(), unset.as_bytes()) {
        ([c], [u]) => c == u,
        (c, u) => c == u,
    }
}

/// A tab-separated block's columns resolved once for one mapping's `N` fields (the
/// conn or dns fields), so a data line is split at its tabs in one pass that keeps only
/// the cells the mapping reads, on the stack and by field: no per-line vector, map
/// look-up or string allocation. Lines of another width go through the general path,
/// which names the reject.
struct FieldColumns<const N: usize> {
    /// For each column of the block, the field it holds ([`NOT_READ`] for the columns
    /// the mapping does not read).
    field_of_column: [u8; FAST_MAX_COLUMNS],
    /// The tabs a line is cut at: those up to the end of the last column read. The tabs
    /// after them are only counted, a word at a time.
    tabs_cut: usize,
    width: usize,
}

/// Most columns the fast path splits; wider blocks use the general path.
const FAST_MAX_COLUMNS: usize = 64;

/// [`FieldColumns::field_of_column`] for a column no field is read from.
const NOT_READ: u8 = u8::MAX;

impl<const N: usize> FieldColumns<N> {
    /// The columns of `fields` in `block`, when it holds `kind` lines a fast path can
    /// split.
    fn for_block(block: &Block, kind: &str, fields: &[ZeekField; N]) -> Option<Self> {
        let columns = block.fast_columns(kind)?;
        let mut field_of_column = [NOT_READ; FAST_MAX_COLUMNS];
        for (field, f) in fields.iter().enumerate() {
            if let Some(&column) = columns.get(f.name) {
                // A column index is below the block's width, which fast_columns bounds,
                // and a mapping has far fewer than NOT_READ fields.
                field_of_column[column] = field as u8;
            }
        }
        let last_read = (0..block.width)
            .rev()
            .find(|c| field_of_column[*c] != NOT_READ)
            .unwrap_or(0);
        Some(FieldColumns {
            field_of_column,
            tabs_cut: (last_read + 1).min(block.width.saturating_sub(1)),
            width: block.width,
        })
    }

    /// Each field's cell on `text` (`None` for a field whose column is not in the
    /// block); `None` when the line has not the block's width.
    fn cells<'t>(&self, text: &'t str) -> Option<[Option<&'t str>; N]> {
        let mut cells = [None; N];
        let mut column = 0;
        let mut start = 0;
        let mut keep = |column: usize, start: usize, end: usize| -> Option<()> {
            let field = usize::from(self.field_of_column[column]);
            if let Some(cell) = cells.get_mut(field) {
                *cell = Some(text.get(start..end)?);
            }
            Some(())
        };
        let tabs = count_tabs(text.as_bytes(), self.tabs_cut, &mut |tab| {
            keep(column, start, tab)?;
            column += 1;
            start = tab + 1;
            Some(())
        })?;
        if tabs + 1 != self.width {
            return None;
        }
        // The last column, when it is read (the cuts stop short of it otherwise).
        if column + 1 == self.width {
            keep(column, start, text.len())?;
        }
        Some(cells)
    }
}

/// A tab-separated conn block's fast path ([`FieldColumns`]).
struct FastConn(FieldColumns<{ conn::FIELDS.len() }>);

impl FastConn {
    fn for_block(block: &Block) -> Option<FastConn> {
        FieldColumns::for_block(block, "conn", &conn::FIELDS).map(FastConn)
    }

    /// The flow on `text` or the field that rejects it, as the general path gives them;
    /// `None` when the line has not the block's width.
    fn parse(
        &self,
        text: &str,
        unset: &str,
        provenance: Provenance,
    ) -> Option<std::result::Result<FlowRecord, (usize, FieldError)>> {
        let line = ConnCells {
            cells: self.0.cells(text)?,
            unset,
        };
        Some(zeek_fields::flow(&line, provenance))
    }
}

/// A tab-separated dns block's fast path ([`FieldColumns`]): each of [`dns::FIELDS`]
/// read by field, with no per-line vector or name look-up.
struct FastDns(FieldColumns<{ dns::FIELDS.len() }>);

impl FastDns {
    fn for_block(block: &Block) -> Option<FastDns> {
        FieldColumns::for_block(block, "dns", &dns::FIELDS).map(FastDns)
    }

    /// The record on `text` or the field that rejects it, as the general path gives
    /// them; `None` when the line has not the block's width.
    fn parse(
        &self,
        text: &str,
        block: &Block,
        provenance: Provenance,
    ) -> Option<FieldResult<DnsRecord>> {
        let line = DnsCells {
            cells: self.0.cells(text)?,
            block,
        };
        Some(
            zeek_fields::dns_record(&line, provenance).map_err(|(field, e)| (field.to_string(), e)),
        )
    }
}

/// A dns line's cells by field, with the block's cell rules.
struct DnsCells<'a> {
    /// Each dns field's cell; `None` when its column is not in the block.
    cells: [Option<&'a str>; dns::FIELDS.len()],
    block: &'a Block,
}

impl DnsCells<'_> {
    /// The cell of dns field `field`; none when the block has no such column, or the
    /// cell is unset.
    fn cell(&self, field: usize) -> Option<&str> {
        self.block.value(self.cells[field])
    }
}

/// Every cell is Zeek's ASCII text, as in a conn block.
impl PlainValues for DnsCells<'_> {
    #[inline]
    fn plain_cell(&self, field: usize) -> Option<Option<&str>> {
        Some(self.cell(field))
    }
}

/// The same cell rules as the general path's reading of a [`Row`], with each field's
/// column known once per block.
impl DnsValues for DnsCells<'_> {
    fn raw(&self, field: usize) -> std::result::Result<Raw<'_>, FieldError> {
        Ok(self.cell(field).map_or(Raw::Unset, Raw::Ascii))
    }

    fn text(&self, field: usize) -> std::result::Result<Option<Cow<'_, str>>, FieldError> {
        Ok(self.cell(field).map(|v| self.block.text(v)))
    }

    fn list(&self, field: usize) -> std::result::Result<CellList<'_>, FieldError> {
        Ok(self.block.list(self.cell(field)))
    }

    fn missing(&self, field: usize) -> &'static str {
        missing_text(self.cells[field].is_some())
    }

    // Text without escapes, and vectors cut at a one-byte separator; the other one-pass
    // readers are [`PlainValues`]'.

    #[inline]
    fn plain_text(&self, field: usize) -> Option<Option<&str>> {
        match self.cell(field) {
            None => Some(None),
            Some(v) if v == self.block.empty_field => Some(Some("")),
            Some(v) => (!has_escape(v)).then_some(Some(v)),
        }
    }

    #[inline]
    fn plain_list(&self, field: usize) -> Option<PlainList<'_>> {
        let separator = match self.block.set_separator.as_bytes() {
            [b] if b.is_ascii() => *b,
            _ => return None,
        };
        Some(
            match self
                .cell(field)
                .filter(|v| *v != self.block.empty_field && !v.is_empty())
            {
                Some(v) => PlainList::new(v, separator),
                None => PlainList::empty(),
            },
        )
    }
}

/// The number of tabs in `bytes`, calling `cut` with the position of each of the first
/// `cut_first` of them, in order; `None` as soon as `cut` gives `None`. The tabs of 64
/// bytes at a time are gathered into one mask ([`tab_mask`]) and taken from it a bit at
/// a time: a cell is a few bytes long, and a search call per tab cost more than the
/// cells, as did a branch per 8-byte word on how many tabs it held. The tabs after the
/// first `cut_first` are only counted.
fn count_tabs(
    bytes: &[u8],
    cut_first: usize,
    cut: &mut impl FnMut(usize) -> Option<()>,
) -> Option<usize> {
    let (blocks, rest) = bytes.as_chunks::<64>();
    let mut blocks = blocks.iter();
    let mut base = 0;
    let mut seen = 0;
    let mut take = |mut mask: u64, base: usize, seen: &mut usize| -> Option<()> {
        while mask != 0 && *seen < cut_first {
            cut(base + mask.trailing_zeros() as usize)?;
            *seen += 1;
            mask &= mask - 1;
        }
        *seen += mask.count_ones() as usize;
        Some(())
    };
    // Cutting, while tabs remain to be cut at.
    while seen < cut_first {
        let Some(block) = blocks.next() else { break };
        take(tab_mask(block), base, &mut seen)?;
        base += 64;
    }
    // Counting only.
    for block in blocks {
        seen += tab_mask(block).count_ones() as usize;
    }
    // The last bytes, in a block of their own padded with bytes that are not tabs.
    if !rest.is_empty() {
        let mut last = [0u8; 64];
        last[..rest.len()].copy_from_slice(rest);
        take(tab_mask(&last), bytes.len() - rest.len(), &mut seen)?;
    }
    Some(seen)
}

/// Bit `i` set when byte `i` of `block` is a tab. On x86-64, four 16-byte compares, each
/// gathered into 16 bits by one `pmovmskb`: SSE2 is part of every x86-64 CPU, and this
/// is about a quarter of the instructions of the word-at-a-time form
/// ([`tab_mask_by_words`]) that other targets use.
#[inline(always)]
fn tab_mask(block: &[u8; 64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        use safe_arch::{cmp_eq_mask_i8_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i};
        let tabs = set_splat_i8_m128i(b'\t' as i8);
        let (lanes, _) = block.as_chunks::<16>();
        let mut mask = 0;
        for (i, lane) in lanes.iter().enumerate() {
            let equal = cmp_eq_mask_i8_m128i(m128i::from(*lane), tabs);
            // One bit a byte, in the low 16 bits.
            let hits = move_mask_i8_m128i(equal) as u16;
            mask |= u64::from(hits) << (16 * i);
        }
        mask
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        tab_mask_by_words(block)
    }
}

/// [`tab_mask`] in plain integer arithmetic: eight words of [`tab_bits`], each gathered
/// into a byte by one multiply.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn tab_mask_by_words(block: &[u8; 64]) -> u64 {
    let (words, _) = block.as_chunks::<8>();
    let mut mask = 0;
    for (i, word) in words.iter().enumerate() {
        mask |= gathered_high_bits(tab_bits(u64::from_le_bytes(*word))) << (8 * i);
    }
    mask
}

/// The high bit of each byte of `bits` (no other bit set, as [`tab_bits`] gives) as
/// bits 0 to 7, in byte order: each lands in the top byte of the product at its own
/// place, and no two partial products share a bit, so nothing carries.
#[inline(always)]
fn gathered_high_bits(bits: u64) -> u64 {
    (bits >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// The high bit of each byte of `word` that is a tab, and of no other (exact: no borrow
/// runs from one byte into the next).
#[inline(always)]
fn tab_bits(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const TABS: u64 = 0x0909_0909_0909_0909;
    let x = word ^ TABS;
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Read a Zeek TSV log, handing every record or reject to `sink`.
pub fn read(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    read_lines(LineReader::new(reader), Block::default(), ctx, sink)
}

/// Read one piece of a Zeek TSV log cut at a line end: its first line is line
/// `before + 1` of the file, and `block` is the header block in effect there
/// ([`Headers`]). Gives exactly the items reading the whole file gives for these lines.
pub(crate) fn read_piece(
    piece: &[u8],
    before: u64,
    block: &Block,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    read_lines(PieceLines::new(piece, before), block.clone(), ctx, sink)
}

/// The header block in effect at each line end of a Zeek TSV log, kept by the thread
/// that cuts the log into pieces: header lines are rare, so it looks at those alone.
pub(crate) struct Headers {
    block: std::sync::Arc<Block>,
}

impl Headers {
    pub(crate) fn new() -> Self {
        Headers {
            block: std::sync::Arc::new(Block::default()),
        }
    }

    /// The block in effect after every line seen so far.
    pub(crate) fn current(&self) -> std::sync::Arc<Block> {
        self.block.clone()
    }

    /// Apply the header lines of `piece`, which starts after line `before` of the file,
    /// as [`read`] would: a line counts when it starts with `#`, is UTF-8 and is not too
    /// long (a rejected line declares nothing).
    pub(crate) fn see(&mut self, piece: &[u8], before: u64) {
        // The piece's first line (which may start with a BOM), then every line that
        // starts with `#`, in order.
        let starts =
            std::iter::once(0).chain(memchr::memmem::find_iter(piece, b"\n#").map(|i| i + 1));
        for start in starts {
            let rest = &piece[start..];
            let raw = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
            if raw.len() > super::lines::MAX_LINE_BYTES {
                continue;
            }
            // Only the file's line 1 loses a BOM; any later line is not line 1.
            let number = if start == 0 { before + 1 } else { before + 2 };
            let line = super::lines::text_of(raw, number);
            if line.first() != Some(&b'#') {
                continue;
            }
            if let Ok(text) = std::str::from_utf8(line) {
                std::sync::Arc::make_mut(&mut self.block).header_line(text);
            }
        }
    }
}

fn read_lines(
    mut lines: impl CheckedLines,
    mut block: Block,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let file_index = ctx.file_index;
    // Rebuilt after every header line; `None` when the block is not a tab-separated conn
    // (dns) log.
    let mut fast = FastConn::for_block(&block);
    let mut fast_dns = FastDns::for_block(&block);
    loop {
        let line = lines.next_checked().map_err(|e| ctx.io_error(e))?;
        let Some(line) = line else { break };
        let (number, text) = match line {
            CheckedLine::TooLong { number, head } => {
                sink(Item::Reject(lines::too_long(number, head)))?;
                continue;
            }
            CheckedLine::NotUtf8 { number, bytes } => {
                sink(Item::Reject(lines::not_utf8(number, bytes)))?;
                continue;
            }
            CheckedLine::Text { number, text } => (number, text),
        };
        if text.is_empty() {
            continue;
        }
        let bytes = text.as_bytes();
        if text.starts_with('#') {
            block.header_line(text);
            fast = FastConn::for_block(&block);
            fast_dns = FastDns::for_block(&block);
            continue;
        }
        let Some(columns) = block.columns.as_ref() else {
            sink(Item::Reject(
                Reject::new(
                    number,
                    "(line)",
                    RejectReason::MissingHeader,
                    "data line before any #fields header",
                )
                .with_excerpt(bytes),
            ))?;
            continue;
        };
        let provenance = Provenance {
            file: file_index,
            line: number,
        };
        if let Some(parsed) = fast
            .as_ref()
            .and_then(|f| f.parse(text, &block.unset_field, provenance))
        {
            sink(match parsed {
                Ok(flow) => Item::Record(Record::Flow(flow)),
                Err((field, e)) => Item::Reject(
                    Reject::new(number, conn::FIELDS[field].name, e.reason, e.detail)
                        .with_excerpt(bytes),
                ),
            })?;
            continue;
        }
        if let Some(parsed) = fast_dns
            .as_ref()
            .and_then(|f| f.parse(text, &block, provenance))
        {
            sink(match parsed {
                Ok(record) => Item::Record(Record::Dns(record)),
                Err((field, e)) => Item::Reject(
                    Reject::new(number, &field, e.reason, e.detail).with_excerpt(bytes),
                ),
            })?;
            continue;
        }
        // A one-character separator (the usual tab) splits with memchr, not a substring search.
        // Sized for the block's width once, instead of growing cell by cell.
        let mut fields: Vec<&str> = Vec::with_capacity(block.width + 1);
        match block.separator.as_bytes() {
            [b] if b.is_ascii() => fields.extend(text.split(char::from(*b))),
            _ => fields.extend(text.split(block.separator.as_str())),
        }
        if fields.len() != block.width {
            let detail = format!(
                "{} columns, the #fields header declares {}",
                fields.len(),
                block.width
            );
            sink(Item::Reject(
                Reject::new(number, "(line)", RejectReason::ColumnCount, detail)
                    .with_excerpt(bytes),
            ))?;
            continue;
        }
        let row = Row {
            columns,
            fields: &fields,
            block: &block,
        };
        let kind = block.kind();
        let parsed = match kind {
            "conn" => parse_conn(&row, provenance).map(|r| Some(Record::Flow(r))),
            "dns" => parse_dns(&row, provenance).map(|r| Some(Record::Dns(r))),
            "ssl" => parse_hostname(&row, provenance, HostnameSource::Sni),
            "http" => parse_hostname(&row, provenance, HostnameSource::HttpHost),
            other => Err((
                "#path".to_string(),
                FieldError {
                    reason: RejectReason::UnsupportedLogPath,
                    detail: format!(
                        "header block declares #path {other}, expected conn, dns, ssl or http"
                    ),
                },
            )),
        };
        match parsed {
            Ok(Some(record)) => sink(Item::Record(record))?,
            Ok(None) => sink(Item::Filtered {
                line: number,
                reason: if kind == "ssl" {
                    "no_server_name"
                } else {
                    "no_host_name"
                },
            })?,
            Err((field, e)) => sink(Item::Reject(
                Reject::new(number, &field, e.reason, e.detail).with_excerpt(bytes),
            ))?,
        }
    }
    Ok(())
}

type FieldResult<T> = std::result::Result<T, (String, FieldError)>;

/// One data line viewed through its block's column map.
struct Row<'a> {
    columns: &'a FastMap<String, usize>,
    fields: &'a [&'a str],
    block: &'a Block,
}

impl Row<'_> {
    /// The raw value, or `None` when the column is absent or unset.
    fn get(&self, name: &str) -> Option<&str> {
        let cell = self.columns.get(name).and_then(|i| self.fields.get(*i));
        self.block.value(cell.copied())
    }
}

fn parse_conn(row: &Row<'_>, provenance: Provenance) -> FieldResult<FlowRecord> {
    let cells = ConnCells {
        cells: conn::FIELDS.map(|f| {
            let column = row.columns.get(f.name)?;
            row.fields.get(*column).copied()
        }),
        unset: &row.block.unset_field,
    };
    zeek_fields::flow(&cells, provenance)
        .map_err(|(field, e)| (conn::FIELDS[field].name.to_string(), e))
}

fn parse_dns(row: &Row<'_>, provenance: Provenance) -> FieldResult<DnsRecord> {
    zeek_fields::dns_record(&ByName(row), provenance).map_err(|(field, e)| (field.to_string(), e))
}

/// An ssl.log or http.log row: the name the client asked for on connection `uid`.
/// `None` (filtered) when the row names no host, or only an address.
fn parse_hostname(
    row: &Row<'_>,
    provenance: Provenance,
    source: HostnameSource,
) -> FieldResult<Option<Record>> {
    zeek_fields::hostname_record(row, provenance, source)
        .map(|h| h.map(Record::Hostname))
        .map_err(|(field, e)| (field.to_string(), e))
}

/// A TSV line's dns and ssl/http fields as the general path splits them, for the shared
/// mappings: `-` is unset, `(empty)` an empty string or vector, strings carry Zeek's
/// `\xNN` escapes. The dns fast path's [`DnsCells`] applies the same cell rules by field.
impl LogValues for Row<'_> {
    fn raw(&self, name: &'static str) -> std::result::Result<Raw<'_>, FieldError> {
        Ok(self.get(name).map_or(Raw::Unset, Raw::Ascii))
    }

    fn text(&self, name: &'static str) -> std::result::Result<Option<Cow<'_, str>>, FieldError> {
        Ok(self.get(name).map(|v| self.block.text(v)))
    }

    fn list(&self, name: &'static str) -> std::result::Result<CellList<'_>, FieldError> {
        Ok(self.block.list(self.get(name)))
    }

    fn missing(&self, name: &'static str) -> &'static str {
        missing_text(self.columns.contains_key(name))
    }
}

/// Why a required field has no value: its column is `declared` but the cell is unset, or
/// the block has no such column.
fn missing_text(declared: bool) -> &'static str {
    if declared {
        "required field is unset"
    } else {
        "required column is not in #fields"
    }
}

/// Zeek's answers vector mixes addresses, CNAME targets and TXT payloads with no type tag.
pub use zeek_fields::answer_value;

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;
    use xborder_model::schema::AnswerValue;

    fn read_all(text: &str) -> Vec<Item> {
        let options = crate::ReaderOptions::default();
        crate::read_text(read, text, &options)
    }

    const CONN_HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t2026-07-01-00-00-00\n";

    /// The word-at-a-time tab search finds exactly the tabs, whatever the bytes around
    /// them (high bytes, bytes one above or below a tab) and wherever a word ends.
    #[test]
    fn tabs_are_found_exactly() {
        let mut rng = xborder_model::rng::Rng::new(9);
        const BYTES: &[u8] = b"\t\t\x08\x0a\x01\x00\x89\xff\x7f a9";
        for _ in 0..20_000 {
            let len = rng.below(300) as usize;
            let line: Vec<u8> = (0..len)
                .map(|_| BYTES[rng.below(BYTES.len() as u64) as usize])
                .collect();
            let mut found = Vec::new();
            count_tabs(&line, usize::MAX, &mut |i| {
                found.push(i);
                Some(())
            });
            let expected: Vec<usize> = memchr::memchr_iter(b'\t', &line).collect();
            assert_eq!(found, expected, "{line:?}");
            // Cutting at the first few tabs only, the rest are still counted.
            let first = rng.below(expected.len() as u64 + 2) as usize;
            let mut cut = Vec::new();
            let count = count_tabs(&line, first, &mut |i| {
                cut.push(i);
                Some(())
            });
            assert_eq!(count, Some(expected.len()), "{line:?}");
            assert_eq!(cut, expected[..first.min(expected.len())], "{line:?}");
        }
        let mut seen = 0;
        assert!(count_tabs(b"a\tb\tc\td", usize::MAX, &mut |_| {
            seen += 1;
            (seen < 2).then_some(())
        })
        .is_none());
        assert_eq!(seen, 2);
    }

    /// Both forms of the tab mask agree with a byte-by-byte search, on every block of
    /// the bytes around a tab, at every position.
    #[test]
    fn tab_masks_agree_with_a_byte_search() {
        let mut rng = xborder_model::rng::Rng::new(17);
        const BYTES: &[u8] = b"\t\t\x08\x0a\x01\x00\x89\xff\x7f\x80\xc9 a9";
        for _ in 0..20_000 {
            let mut block = [0u8; 64];
            for b in &mut block {
                *b = BYTES[rng.below(BYTES.len() as u64) as usize];
            }
            let expected = block
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\t')
                .fold(0u64, |m, (i, _)| m | 1 << i);
            assert_eq!(tab_mask(&block), expected, "{block:?}");
            assert_eq!(tab_mask_by_words(&block), expected, "{block:?}");
        }
        assert_eq!(tab_mask(&[b'\t'; 64]), u64::MAX);
        assert_eq!(tab_mask(&[0; 64]), 0);
    }

    /// 400 lines of the block `fields` (mostly of its width, now and then a cell short or
    /// long), each cell given by `cell(line, column name)`, read tab-separated (the fast
    /// path) and `|`-separated (the general path). Asserts both give the same items
    /// (records, and rejects with their field, reason and detail) and returns them.
    fn read_by_both_paths(
        fields: &str,
        mut cell: impl FnMut(usize, Option<&str>) -> &'static str,
    ) -> Vec<Item> {
        let declared = fields.lines().find(|l| l.starts_with("#fields")).unwrap();
        let names: Vec<&str> = declared.split('\t').skip(1).collect();
        let width = names.len();
        let mut tab = String::from(
            "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n",
        );
        tab.push_str(fields);
        for line in 0..400 {
            let cells = match line % 25 {
                0 => width - 1,
                1 => width + 1,
                _ => width,
            };
            let row: Vec<&str> = (0..cells)
                .map(|c| cell(line, names.get(c).copied()))
                .collect();
            tab.push_str(&row.join("\t"));
            tab.push('\n');
        }
        let bar = tab
            .replacen("#separator \\x09", "#separator \\x7c", 1)
            .replace('\t', "|");
        let fast = read_all(&tab);
        let general = read_all(&bar);
        // The one-pass readers give what the typed readers give, record for record.
        let typed = zeek_fields::typed_only(|| read_all(&tab));
        assert_eq!(format!("{fast:?}"), format!("{typed:?}"), "{fields}");
        assert_eq!(fast.len(), general.len(), "{fields}");
        for (f, g) in fast.iter().zip(&general) {
            let (f, g) = (format!("{f:?}"), format!("{g:?}"));
            // A reject's excerpt shows each separator as written (a tab as a space).
            assert_eq!(f.replace('\t', " "), g.replace('|', " "), "{fields}");
        }
        fast
    }

    /// TSV cells' typed readers hand text straight to the value parsers; they must read
    /// every value exactly as the shared readers read the same cell as [`Raw::Ascii`].
    #[test]
    fn conn_cells_read_as_the_shared_readers_do() {
        /// The same cells, seen only through `raw`: the shared readers' path.
        struct ThroughRaw<'a>(ConnCells<'a>);
        impl PlainValues for ThroughRaw<'_> {}
        impl ConnValues for ThroughRaw<'_> {
            fn raw(&self, field: usize) -> std::result::Result<Raw<'_>, FieldError> {
                self.0.raw(field)
            }
            fn missing(&self, field: usize) -> &'static str {
                self.0.missing(field)
            }
        }
        let values = [
            None,
            Some("-"),
            Some(""),
            Some("(empty)"),
            Some("1782864000.250000"),
            Some("1782864000"),
            Some("-1"),
            Some("nan"),
            Some("10.0.0.5"),
            Some("2001:db8::1"),
            Some("10.0.0"),
            Some("443"),
            Some("70000"),
            Some("18446744073709551616"),
            Some("0.020000"),
            Some("tcp"),
            Some("UDP"),
            Some("icmp"),
            Some("T"),
            Some("F"),
            Some("true"),
            Some("CdUi5X3w"),
            Some("an id longer than twenty-four bytes"),
        ];
        let mut rng = xborder_model::rng::Rng::new(3);
        let mut records = 0;
        for _ in 0..20_000 {
            let mut cells = [None; conn::FIELDS.len()];
            for (field, cell) in cells.iter_mut().enumerate() {
                // Each field mostly good for its type, so that many lines are records.
                *cell = match (field, rng.below(16)) {
                    (_, 0) => values[rng.below(values.len() as u64) as usize],
                    (conn::TS, _) => Some("1782864000.250000"),
                    (conn::ORIG_H | conn::RESP_H, _) => Some("10.0.0.5"),
                    (conn::ORIG_P | conn::RESP_P, _) => Some("443"),
                    (conn::ORIG_BYTES | conn::RESP_BYTES, _) => Some("1200"),
                    (conn::DURATION, _) => Some("0.020000"),
                    (conn::LOCAL_ORIG, _) => Some("T"),
                    (conn::PROTO, _) => Some("tcp"),
                    _ => Some("CdUi5X3w"),
                };
            }
            let direct = ConnCells { cells, unset: "-" };
            let shared = ThroughRaw(ConnCells { cells, unset: "-" });
            let provenance = Provenance { file: 0, line: 1 };
            let (a, b) = (
                zeek_fields::flow(&direct, provenance),
                zeek_fields::flow(&shared, provenance),
            );
            records += usize::from(a.is_ok());
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "cells {cells:?}");
        }
        assert!(records > 5_000, "{records} records");
    }

    /// The conn fast path picks cells by column and splits only once; it must read every
    /// line as the general path does, whatever the block's column order, extra or missing
    /// columns, and line width. The lines with plain cells, read with the one-pass
    /// readers, must also give what the typed readers alone give.
    #[test]
    fn conn_fast_path_matches_the_general_path() {
        let blocks = [
            // Zeek's own layout; the same with all its columns, nine of them after the
            // last one read (only counted); one reordered with extra columns and no uid
            // or local_orig, whose last column is read; one without a required column
            // (resp_h), whose every line of the right width is rejected naming it.
            "#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\n",
            "#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto\n",
            "#path\tconn\n#fields\t_node\tresp_bytes\tid.resp_h\tts\tproto\tid.orig_h\t_extra\torig_bytes\tid.resp_p\tduration\tid.orig_p\n",
            "#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tproto\torig_bytes\n",
        ];
        let values = [
            "1782864000.000000",
            "1782864000",
            "x",
            "-",
            "(empty)",
            "10.0.0.5",
            "2001:db8::1",
            "10.0.0",
            "0.020000",
            "-1",
            "nan",
            "443",
            "70000",
            "18446744073709551616",
            "tcp",
            "T",
            "F",
            "CdUi5X3w",
            "",
            // Spellings the one-pass forms leave to the full parsers.
            "TCP",
            "icmp",
            "0443",
            "+443",
            " 443",
            "1782864000.5",
            "5.",
            ".5",
            "0.1e1",
            "t",
            " T",
            "10.0.0.05",
            "::ffff:10.0.0.5",
        ];
        let mut rng = xborder_model::rng::Rng::new(11);
        for (b, fields) in blocks.iter().enumerate() {
            // Each field mostly valid, so that most lines are records.
            let fast = read_by_both_paths(fields, |line, name| match name {
                Some("ts") if line % 7 != 3 => "1782864000.250000",
                Some("id.orig_h") if line % 11 != 5 => "10.0.0.5",
                Some("id.resp_h") if line % 13 != 5 => "104.18.32.7",
                Some("id.orig_p" | "id.resp_p") if line % 3 != 0 => "443",
                Some("orig_bytes" | "resp_bytes") if line % 4 != 0 => "1200",
                Some("duration") if line % 5 != 2 => "0.020000",
                Some("local_orig") if line % 6 != 1 => "T",
                Some("proto") if line % 9 != 4 => "tcp",
                _ => values[rng.below(values.len() as u64) as usize],
            });
            let records = fast
                .iter()
                .filter(|i| matches!(i, Item::Record(Record::Flow(_))))
                .count();
            if b == 3 {
                assert_eq!(records, 0, "block {b}: no resp_h column");
                // Lines whose ts and orig_h are good are rejected for the absent column,
                // not for an unset cell.
                assert!(fast.iter().any(|i| matches!(
                    i,
                    Item::Reject(r) if r.field == "id.resp_h"
                        && r.detail == "required column is not in #fields"
                )));
            } else {
                assert!(records > 40, "block {b}: {records} records");
            }
        }
    }

    /// DNS lines read through the tab-separated fast path give exactly the records and
    /// rejects (field, reason, detail) of the general path, which reads the same lines
    /// with another separator.
    #[test]
    fn dns_fast_path_matches_the_general_path() {
        let blocks = [
            // Zeek's own layout, then one without rtt and trans_id and with an extra
            // column, then one without a #path (told by its query column).
            "#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.resp_h\trtt\ttrans_id\tquery\tqtype_name\trcode_name\tanswers\tTTLs\n",
            "#path\tdns\n#fields\t_node\tts\tuid\tid.orig_h\tquery\tanswers\tTTLs\n",
            "#fields\tts\tid.orig_h\tquery\tanswers\tTTLs\tqtype_name\n",
        ];
        let values = [
            "1782864000.000000",
            "1782864000",
            "x",
            "-",
            "(empty)",
            "10.0.0.5",
            "2001:db8::1",
            "10.0.0",
            "0.020000",
            "-1",
            "nan",
            "70000",
            "4294967296",
            "API.OpenAI.com.",
            "api\\x2eopenai.com",
            "A",
            "NOERROR",
            "104.18.32.7,api.example.",
            "1.2.3.4",
            "300.000000,60.000000",
            "60.000000",
            "abc,1",
            "Cd1",
            "",
            // Spellings the one-pass readers leave to the typed ones, and lists with
            // empty elements, which both read alike.
            "60",
            "60.",
            ".5",
            " 60.000000",
            "1e3",
            "+60",
            "0x10",
            "1.2.3.4,",
            ",",
            ",1.2.3.4",
            "300.000000,",
            "60.000000,x",
            "59.700000,0.400000",
            "4294967296.000000",
            "Cd\\x41",
            "a\\b",
            " 1782864000.000000",
            "1782864000.000000 ",
            "10.0.0.5 ",
            "4711",
        ];
        let mut rng = xborder_model::rng::Rng::new(5);
        for (b, fields) in blocks.iter().enumerate() {
            // Required fields mostly valid, so that most lines are records.
            let fast = read_by_both_paths(fields, |line, name| match name {
                Some("ts") if line % 7 != 3 => "1782864000.250000",
                Some("id.orig_h") if line % 11 != 5 => "10.0.0.5",
                Some("rtt") if line % 3 != 0 => "0.020000",
                Some("trans_id") if line % 3 != 1 => "4711",
                Some("TTLs") if line % 4 != 0 => "300.000000,60.000000",
                _ => values[rng.below(values.len() as u64) as usize],
            });
            let records = fast
                .iter()
                .filter(|i| matches!(i, Item::Record(Record::Dns(_))))
                .count();
            assert!(records > 40, "block {b}: {records} records");
        }
    }

    #[test]
    fn maps_columns_by_name_including_a_leading_extra_column() {
        let text = format!(
            "{CONN_HEADER}#fields\t_node_name\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\n\
             #types\tstring\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\tcount\n\
             sensor-1\t1782864000.250000\tCabc\t10.0.0.5\t50000\t160.79.104.10\t443\ttcp\t1.5\t1200\t3400\n\
             sensor-1\t1782864001.000000\tCdef\t10.0.0.5\t50001\t160.79.104.10\t443\ttcp\t-\t-\t-\n\
             #close\t2026-07-01-01-00-00\n"
        );
        let items = read_all(&text);
        assert_eq!(items.len(), 2);
        let Item::Record(Record::Flow(f)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(f.ts, 1_782_864_000_250_000);
        assert_eq!(f.uid.as_deref(), Some("Cabc"));
        assert_eq!(f.dst_ip, "160.79.104.10".parse::<IpAddr>().unwrap());
        assert_eq!(f.bytes_out, Some(1200));
        assert_eq!(f.bytes_in, Some(3400));
        assert_eq!(f.provenance.line, 9);
        let Item::Record(Record::Flow(g)) = &items[1] else {
            panic!()
        };
        assert_eq!(g.bytes_out, None);
        assert_eq!(g.duration, None);
    }

    #[test]
    fn repeated_header_blocks_with_a_new_layout() {
        let text = format!(
            "{CONN_HEADER}#fields\tts\tid.orig_h\tid.resp_h\torig_bytes\n1782864000\t10.0.0.1\t1.1.1.1\t5\n\
             {CONN_HEADER}#fields\tid.resp_h\tts\tid.orig_h\torig_bytes\n2.2.2.2\t1782864001\t10.0.0.2\t7\n"
        );
        let items = read_all(&text);
        let flows: Vec<_> = items
            .iter()
            .filter_map(|i| match i {
                Item::Record(Record::Flow(f)) => Some((f.dst_ip.to_string(), f.bytes_out)),
                _ => None,
            })
            .collect();
        assert_eq!(
            flows,
            vec![
                ("1.1.1.1".to_string(), Some(5)),
                ("2.2.2.2".to_string(), Some(7))
            ]
        );
    }

    #[test]
    fn bad_fields_are_rejected_with_field_names() {
        let text = format!(
            "1782864000\t10.0.0.1\n{CONN_HEADER}#fields\tts\tid.orig_h\tid.resp_h\torig_bytes\n\
             notatime\t10.0.0.1\t1.1.1.1\t5\n1782864000\t10.0.0.999\t1.1.1.1\t5\n1782864000\t10.0.0.1\t1.1.1.1\t-5\n\
             1782864000\t10.0.0.1\t1.1.1.1\n"
        );
        let rejects: Vec<(u64, String, &str)> = read_all(&text)
            .into_iter()
            .filter_map(|i| match i {
                Item::Reject(r) => Some((r.line, r.field, r.reason.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            rejects,
            vec![
                (1, "(line)".into(), "missing_header"),
                (9, "ts".into(), "invalid_timestamp"),
                (10, "id.orig_h".into(), "invalid_address"),
                (11, "orig_bytes".into(), "invalid_number"),
                (12, "(line)".into(), "column_count"),
            ]
        );
    }

    /// A string cell's `\xNN` escapes are undone on the fast path, and only a backslash
    /// before an `x` makes an escape.
    #[test]
    fn escaped_cells_are_undone() {
        for (cell, escaped) in [
            ("api\\x2eopenai.com", true),
            ("a\\b\\x41", true),
            ("a\\b", false),
            ("ab\\", false),
            ("x\\", false),
            ("plain", false),
        ] {
            assert_eq!(has_escape(cell), escaped, "{cell}");
        }
        let text = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n\
            #fields\tts\tid.orig_h\tquery\n\
            1782864000.000000\t10.0.0.5\tapi\\x2eopenai\\x2ecom\n";
        let items = read_all(text);
        let Item::Record(Record::Dns(d)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(d.query, "api.openai.com");
    }

    #[test]
    fn dns_answers_keep_ttls_and_separate_cnames() {
        let text = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n\
            #fields\tts\tuid\tid.orig_h\tid.resp_h\trtt\tquery\tqtype_name\trcode_name\tanswers\tTTLs\n\
            1782864000.000000\tCd1\t10.0.0.5\t10.0.0.53\t0.020000\tAPI.OpenAI.com.\tA\tNOERROR\tapi.openai.com.cdn.cloudflare.net,104.18.32.7\t300.000000,60.000000\n\
            1782864001.000000\tCd2\t10.0.0.5\t10.0.0.53\t-\tnothing.example\tA\tNXDOMAIN\t-\t-\n\
            1782864002.000000\tCd3\t10.0.0.5\t10.0.0.53\t-\tempty.example\tA\tNOERROR\t(empty)\t(empty)\n";
        let items = read_all(text);
        let Item::Record(Record::Dns(d)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(d.query, "api.openai.com");
        assert_eq!(d.response_ts, 1_782_864_000_020_000);
        assert_eq!(d.answers.len(), 2);
        assert_eq!(
            d.answers[0].value,
            AnswerValue::Other("api.openai.com.cdn.cloudflare.net".into())
        );
        assert_eq!(d.answers[1].ttl, Some(60));
        let Item::Record(Record::Dns(e)) = &items[1] else {
            panic!()
        };
        assert!(e.answers.is_empty());
        let Item::Record(Record::Dns(f)) = &items[2] else {
            panic!()
        };
        assert!(f.answers.is_empty());
    }

    #[test]
    fn detects_by_path_then_by_fields() {
        assert_eq!(
            log_path("#separator \\x09\n#path\tdns\n#fields\tts\n").as_deref(),
            Some("dns")
        );
        assert_eq!(
            other_log("#separator \\x09\n#path\tx509\n").as_deref(),
            Some("x509")
        );
        assert_eq!(other_log("#separator \\x09\n#path\tssl\n"), None);
        assert_eq!(
            log_path("#fields\tts\tid.orig_h\tid.resp_h\torig_bytes\n").as_deref(),
            Some("conn")
        );
        assert_eq!(
            log_path("#fields\tts\tuid\tid.orig_h\tid.resp_h\tserver_name\n").as_deref(),
            Some("ssl")
        );
        assert_eq!(log_path("#fields\tfoo\tbar\n"), None);
    }

    #[test]
    fn ssl_and_http_rows_give_hostnames_or_are_filtered() {
        let text = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tssl\n\
            #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tserver_name\n\
            1782864000.5\tC1\t10.0.0.5\t50000\t160.79.104.10\t443\tTLSv13\tAPI.Anthropic.com.\n\
            1782864001.5\tC2\t10.0.0.5\t50001\t160.79.104.10\t443\tTLSv13\t-\n\
            #path\thttp\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\thost\turi\n\
            1782864002\tC3\t10.0.0.6\t50002\t93.184.216.34\t80\texample.com:8080\t/\n\
            1782864003\tC4\t10.0.0.6\t50003\t93.184.216.34\t80\t93.184.216.34\t/\n";
        let items = read_all(text);
        let Item::Record(Record::Hostname(h)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(
            (h.uid.as_str(), h.name.as_str()),
            ("C1", "api.anthropic.com")
        );
        assert_eq!(h.source, HostnameSource::Sni);
        assert!(matches!(
            items[1],
            Item::Filtered {
                line: 8,
                reason: "no_server_name"
            }
        ));
        let Item::Record(Record::Hostname(h)) = &items[2] else {
            panic!("{items:?}")
        };
        assert_eq!(
            (h.name.as_str(), h.source),
            ("example.com", HostnameSource::HttpHost)
        );
        assert!(matches!(
            items[3],
            Item::Filtered {
                reason: "no_host_name",
                ..
            }
        ));
    }
}
