//! A line reader that survives hostile input: bounded line length, CRLF, invalid UTF-8.

use std::io::{self, BufRead};

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
            let head = &self.buf[..self.buf.len().min(640)];
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
