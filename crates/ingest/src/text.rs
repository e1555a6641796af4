//! Shared driver for line-oriented text inputs (CSV, syslog, space-separated flow logs):
//! bounded lines, UTF-8 checked, blank lines skipped, with rejects for what cannot be read.

use std::io::BufRead;

use super::lines::{self, CheckedLine, CheckedLines, LineReader};
use super::{Item, ReadContext, Sink};
use xborder_model::error::Result;

/// Call `on_line` with each non-blank line (number, text without the terminator or a
/// trailing `\r`). Over-long and non-UTF-8 lines are rejected here.
pub fn read_lines(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
    on_line: &mut dyn FnMut(u64, &str, &mut Sink<'_>) -> Result<()>,
) -> Result<()> {
    let mut lines = LineReader::new(reader);
    loop {
        let line = lines.next_checked().map_err(|e| ctx.io_error(e))?;
        let Some(line) = line else { break };
        match line {
            CheckedLine::TooLong { number, head } => {
                sink(Item::Reject(lines::too_long(number, head)))?
            }
            CheckedLine::NotUtf8 { number, bytes } => {
                sink(Item::Reject(lines::not_utf8(number, bytes)))?
            }
            // A blank line is ASCII, so it is never one that is not UTF-8.
            CheckedLine::Text { text, .. } if text.bytes().all(|b| b.is_ascii_whitespace()) => {}
            CheckedLine::Text { number, text } => on_line(number, text, sink)?,
        }
    }
    Ok(())
}

/// The rest of a `"quoted"` value whose opening quote `chars` has just consumed: up to the
/// closing quote, with `\x` escapes taken as `x`. `None` when the quote never closes.
pub fn rest_of_quoted(chars: &mut impl Iterator<Item = char>) -> Option<String> {
    let mut value = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    value.push(n);
                }
            }
            '"' => return Some(value),
            _ => value.push(c),
        }
    }
    None
}

/// Split one CSV line (RFC 4180 quoting, `""` inside quotes) into fields, trimming the
/// spaces some exporters put after commas. `None` when a quote is left open.
pub fn split_csv(line: &str, delimiter: u8) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quotes = false;
    let mut quoted = false;
    let mut quoted_len = 0;
    let delim = char::from(delimiter);
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                    quoted_len = field.len();
                }
            } else {
                field.push(c);
            }
        } else if c == '"' && field.trim().is_empty() {
            field.clear();
            in_quotes = true;
            quoted = true;
        } else if c == delim {
            fields.push(finish(&mut field, quoted, quoted_len));
            quoted = false;
        } else {
            field.push(c);
        }
    }
    if in_quotes {
        return None;
    }
    fields.push(finish(&mut field, quoted, quoted_len));
    Some(fields)
}

fn finish(field: &mut String, quoted: bool, quoted_len: usize) -> String {
    let mut f = std::mem::take(field);
    if quoted {
        // Text after a closing quote (`"a" `) is whitespace in practice.
        f.truncate(quoted_len);
        f
    } else {
        f.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_spacing() {
        assert_eq!(
            split_csv(r#""a", "b,c" ,d,"e""f",,"#, b',').unwrap(),
            vec!["a", "b,c", "d", "e\"f", "", ""]
        );
        assert!(split_csv("\"open", b',').is_none());
    }
}
