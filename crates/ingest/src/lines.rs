//! A line reader that survives hostile input: bounded line length, CRLF, invalid UTF-8.

use std::io::{self, BufRead};

use xborder_model::reject::{Reject, RejectReason};

/// Lines longer than this are rejected, not buffered: one missing newline in a
/// multi-gigabyte export must not take the whole machine's memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The UTF-8 byte-order mark some Windows exporters put at the start of a file.
pub use xborder_model::text::UTF8_BOM;

/// One physical line, without its terminator.
pub enum Line<'a> {
    Text { number: u64, bytes: &'a [u8] },
    TooLong { number: u64, head: &'a [u8] },
}

/// Yields lines with their 1-based numbers.
///
/// A line that lies whole in the reader's buffer is handed out in place; only a line that
/// straddles two buffers is copied.
pub struct LineReader<'r> {
    inner: &'r mut dyn BufRead,
    buf: Vec<u8>,
    number: u64,
    /// Bytes of the line handed out in place, consumed when the next one is asked for.
    pending: usize,
}

impl<'r> LineReader<'r> {
    pub fn new(inner: &'r mut dyn BufRead) -> Self {
        Self::after_line(inner, 0)
    }

    /// A reader whose first line is line `before + 1` of its file: a piece of a file cut
    /// at a line end, parsed on its own.
    pub fn after_line(inner: &'r mut dyn BufRead, before: u64) -> Self {
        LineReader {
            inner,
            buf: Vec::with_capacity(4096),
            number: before,
            pending: 0,
        }
    }

    /// The next line, or `None` at end of input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        if self.pending > 0 {
            self.inner.consume(std::mem::take(&mut self.pending));
        }
        // The usual case: the whole line is in the buffer.
        let in_place = loop {
            match self.inner.fill_buf() {
                Ok(available) => {
                    break memchr::memchr(b'\n', available).filter(|&i| i <= MAX_LINE_BYTES)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if let Some(end) = in_place {
            self.number += 1;
            self.pending = end + 1;
            // Filled above: this returns the same bytes without reading.
            let available = self.inner.fill_buf()?;
            return Ok(Some(Line::Text {
                number: self.number,
                bytes: text_of(&available[..end], self.number),
            }));
        }
        self.buf.clear();
        let mut too_long = false;
        let mut saw_any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            saw_any = true;
            let (chunk, found_newline) = match memchr_newline(available) {
                Some(i) => (&available[..i], true),
                None => (available, false),
            };
            let take = chunk.len() + usize::from(found_newline);
            if !too_long {
                if self.buf.len() + chunk.len() > MAX_LINE_BYTES {
                    let room = MAX_LINE_BYTES - self.buf.len();
                    self.buf.extend_from_slice(&chunk[..room.min(chunk.len())]);
                    too_long = true;
                } else {
                    self.buf.extend_from_slice(chunk);
                }
            }
            self.inner.consume(take);
            if found_newline {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.number += 1;
        if too_long {
            let head = &self.buf[..self.buf.len().min(TOO_LONG_HEAD)];
            return Ok(Some(Line::TooLong {
                number: self.number,
                head,
            }));
        }
        Ok(Some(Line::Text {
            number: self.number,
            bytes: text_of(&self.buf, self.number),
        }))
    }
}

/// The reject of a line longer than [`MAX_LINE_BYTES`], quoting its head: every line
/// reader's, worded once.
pub fn too_long(number: u64, head: &[u8]) -> Reject {
    Reject::new(
        number,
        "(line)",
        RejectReason::LineTooLong,
        "line exceeds 1 MiB",
    )
    .with_excerpt(head)
}

/// The reject of a line that is not UTF-8, quoting it: every line reader's, worded once.
pub fn not_utf8(number: u64, bytes: &[u8]) -> Reject {
    Reject::new(
        number,
        "(line)",
        RejectReason::InvalidUtf8,
        "line is not UTF-8",
    )
    .with_excerpt(bytes)
}

/// One line of a parser's input, checked for UTF-8 (every parser of text needs it so).
pub enum CheckedLine<'a> {
    Text { number: u64, text: &'a str },
    NotUtf8 { number: u64, bytes: &'a [u8] },
    TooLong { number: u64, head: &'a [u8] },
}

/// A source of numbered lines checked for UTF-8: a [`LineReader`] over any reader, or
/// [`PieceLines`] over a piece of a file already in memory.
pub trait CheckedLines {
    /// The next line, or `None` at end of input.
    fn next_checked(&mut self) -> io::Result<Option<CheckedLine<'_>>>;
}

impl CheckedLines for LineReader<'_> {
    fn next_checked(&mut self) -> io::Result<Option<CheckedLine<'_>>> {
        Ok(self.next_line()?.map(|line| match line {
            Line::TooLong { number, head } => CheckedLine::TooLong { number, head },
            Line::Text { number, bytes } => match std::str::from_utf8(bytes) {
                Ok(text) => CheckedLine::Text { number, text },
                Err(_) => CheckedLine::NotUtf8 { number, bytes },
            },
        }))
    }
}

/// Bytes of an over-long line kept as its reject's excerpt source, as [`LineReader`]
/// keeps them.
const TOO_LONG_HEAD: usize = 640;

/// The lines of a piece of a file held in memory, as a [`LineReader`] over the same
/// bytes gives them (same numbers, terminators, byte-order mark and length limit).
///
/// Why a second reader: the piece is checked for UTF-8 once, as a whole, and each line is
/// then a slice of that text. Checking 125-byte lines one call at a time, through a
/// reader's dynamic calls, was about 5 % of a typical run's samples (docs/performance-history.md,
/// the twelfth pass). A piece that is not UTF-8 throughout is checked line by line, so
/// each bad line is still rejected on its own.
pub struct PieceLines<'a> {
    bytes: &'a [u8],
    /// The whole piece, when it is UTF-8.
    text: Option<&'a str>,
    /// Where the next line starts.
    at: usize,
    number: u64,
}

impl<'a> PieceLines<'a> {
    /// The lines of `bytes`, whose first line is line `before + 1` of its file.
    pub fn new(bytes: &'a [u8], before: u64) -> Self {
        PieceLines {
            bytes,
            text: std::str::from_utf8(bytes).ok(),
            at: 0,
            number: before,
        }
    }
}

impl CheckedLines for PieceLines<'_> {
    fn next_checked(&mut self) -> io::Result<Option<CheckedLine<'_>>> {
        let start = self.at;
        let Some(rest) = self.bytes.get(start..).filter(|r| !r.is_empty()) else {
            return Ok(None);
        };
        let (raw_len, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (i, start + i + 1),
            None => (rest.len(), self.bytes.len()),
        };
        self.at = next;
        self.number += 1;
        let number = self.number;
        let raw = &rest[..raw_len];
        if raw_len > MAX_LINE_BYTES {
            let head = &raw[..raw.len().min(TOO_LONG_HEAD)];
            return Ok(Some(CheckedLine::TooLong { number, head }));
        }
        let line = text_of(raw, number);
        // Where `text_of` cut the line: a byte-order mark off its front, a carriage
        // return off its end (both whole characters, so the cuts are character bounds).
        let from = start + (raw.len() - line.len() - usize::from(raw.ends_with(b"\r")));
        let to = from + line.len();
        let text = match self.text.and_then(|t| t.get(from..to)) {
            Some(text) => Ok(text),
            None => std::str::from_utf8(line),
        };
        Ok(Some(match text {
            Ok(text) => CheckedLine::Text { number, text },
            Err(_) => CheckedLine::NotUtf8 {
                number,
                bytes: line,
            },
        }))
    }
}

/// A line's text: without a carriage return before its newline, and, on line 1, without
/// a UTF-8 byte-order mark (which would otherwise glue itself to the first header name).
pub(crate) fn text_of(line: &[u8], number: u64) -> &[u8] {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if number == 1 {
        line.strip_prefix(UTF8_BOM).unwrap_or(line)
    } else {
        line
    }
}

fn memchr_newline(haystack: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', haystack)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8]) -> Vec<(u64, Result<Vec<u8>, usize>)> {
        let mut cursor = io::Cursor::new(input.to_vec());
        let mut reader = io::BufReader::with_capacity(8, &mut cursor);
        let mut lines = LineReader::new(&mut reader);
        let mut out = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            match line {
                Line::Text { number, bytes } => out.push((number, Ok(bytes.to_vec()))),
                Line::TooLong { number, head } => out.push((number, Err(head.len()))),
            }
        }
        out
    }

    #[test]
    fn splits_lines_across_small_buffers_and_strips_crlf() {
        let out = collect(b"alpha\r\nbeta gamma delta\n\nlast");
        assert_eq!(out.len(), 4);
        assert_eq!(out[0], (1, Ok(b"alpha".to_vec())));
        assert_eq!(out[1], (2, Ok(b"beta gamma delta".to_vec())));
        assert_eq!(out[2], (3, Ok(Vec::new())));
        assert_eq!(out[3], (4, Ok(b"last".to_vec())));
    }

    /// Lines handed out in place (whole in the buffer) are the lines copied across
    /// buffer boundaries, with the same numbers.
    #[test]
    fn in_place_and_copied_lines_agree() {
        let mut long = vec![b'y'; MAX_LINE_BYTES + 1];
        long.extend_from_slice(b"\r\nz\n");
        for input in [
            &b"\xEF\xBB\xBF#a\r\nb\n\n\r\nlast"[..],
            b"\xEF\xBB\xBF\r\nx",
            b"\n\n",
            &long,
        ] {
            let mut whole = io::Cursor::new(input.to_vec());
            let mut lines = LineReader::new(&mut whole);
            let mut in_place = Vec::new();
            while let Some(line) = lines.next_line().unwrap() {
                in_place.push(match line {
                    Line::Text { number, bytes } => (number, Ok(bytes.to_vec())),
                    Line::TooLong { number, head } => (number, Err(head.len())),
                });
            }
            assert_eq!(in_place, collect(input));
        }
        let mut rest = io::Cursor::new(b"a\nb".to_vec());
        let mut lines = LineReader::after_line(&mut rest, 41);
        assert!(matches!(
            lines.next_line().unwrap(),
            Some(Line::Text { number: 42, .. })
        ));
        assert!(matches!(
            lines.next_line().unwrap(),
            Some(Line::Text { number: 43, .. })
        ));
        assert!(lines.next_line().unwrap().is_none());
    }

    /// A checked line as comparable values: number, then the text, the bad bytes or the
    /// over-long line's head.
    fn checked(source: &mut dyn CheckedLines) -> Vec<(u64, &'static str, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(line) = source.next_checked().unwrap() {
            out.push(match line {
                CheckedLine::Text { number, text } => (number, "text", text.as_bytes().to_vec()),
                CheckedLine::NotUtf8 { number, bytes } => (number, "not utf-8", bytes.to_vec()),
                CheckedLine::TooLong { number, head } => (number, "too long", head.to_vec()),
            });
        }
        out
    }

    /// A piece's lines are a line reader's over the same bytes, whether the piece is UTF-8
    /// throughout or not: byte-order marks, carriage returns, empty and over-long lines,
    /// bad bytes and characters of several bytes, with and without a last newline.
    #[test]
    fn piece_lines_are_the_line_readers_lines() {
        const PARTS: [&[u8]; 10] = [
            b"\n",
            b"\r",
            b"\r\n",
            UTF8_BOM,
            b"\xff",
            b"\xc3\xa9",
            b"\xc3",
            b"a\tb",
            b"#",
            b"",
        ];
        let mut rng = xborder_model::rng::Rng::new(17);
        let mut long = vec![b'x'; MAX_LINE_BYTES - 2];
        long.extend_from_slice(b"\r\r\ny\n");
        let mut over = vec![b'\xff'; MAX_LINE_BYTES + 1];
        over.extend_from_slice(b"\nz\r");
        let mut inputs = vec![
            long.clone(),
            [b"x".as_slice(), &long].concat(),
            [UTF8_BOM, &long].concat(),
            over.clone(),
            over[..MAX_LINE_BYTES].to_vec(),
        ];
        for _ in 0..3_000 {
            let parts = rng.below(12);
            let mut input = Vec::new();
            for _ in 0..parts {
                input.extend_from_slice(PARTS[rng.below(PARTS.len() as u64) as usize]);
            }
            inputs.push(input);
        }
        for input in &inputs {
            for before in [0, 41] {
                let mut whole: &[u8] = input;
                let by_reader = checked(&mut LineReader::after_line(&mut whole, before));
                let mut cursor = io::Cursor::new(input.clone());
                let mut small = io::BufReader::with_capacity(3, &mut cursor);
                let by_small_reads = checked(&mut LineReader::after_line(&mut small, before));
                let by_piece = checked(&mut PieceLines::new(input, before));
                assert_eq!(by_piece, by_reader, "{input:?}");
                assert_eq!(by_piece, by_small_reads, "{input:?}");
            }
        }
    }

    #[test]
    fn utf8_bom_is_stripped_from_the_first_line_only() {
        let out = collect(b"\xEF\xBB\xBF#fields\tts\n\xEF\xBB\xBFx\n");
        assert_eq!(out[0], (1, Ok(b"#fields\tts".to_vec())));
        assert_eq!(out[1], (2, Ok(b"\xEF\xBB\xBFx".to_vec())));
    }

    #[test]
    fn overlong_line_is_reported_and_reading_resumes() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
        input.extend_from_slice(b"\nnext\n");
        let out = collect(&input);
        assert_eq!(out.len(), 2);
        assert!(matches!(out[0], (1, Err(_))));
        assert_eq!(out[1], (2, Ok(b"next".to_vec())));
    }
}
