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
pub struct LineReader<'r> {
    inner: &'r mut dyn BufRead,
    buf: Vec<u8>,
    number: u64,
}

impl<'r> LineReader<'r> {
    pub fn new(inner: &'r mut dyn BufRead) -> Self {
        LineReader {
            inner,
            buf: Vec::with_capacity(4096),
            number: 0,
        }
    }

    /// The next line, or `None` at end of input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
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
        let mut end = self.buf.len();
        if end > 0 && self.buf[end - 1] == b'\r' {
            end -= 1;
        }
        // A UTF-8 byte-order mark would otherwise glue itself to the first header name.
        let start = if self.number == 1 && self.buf.starts_with(UTF8_BOM) {
            UTF8_BOM.len()
        } else {
            0
        };
        Ok(Some(Line::Text {
            number: self.number,
            bytes: &self.buf[start..end.max(start)],
        }))
    }
}

fn memchr_newline(haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == b'\n')
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
