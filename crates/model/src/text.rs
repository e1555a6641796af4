//! Text that came from logs or configuration, made safe to show.
//!
//! Log fields are attacker-controlled: an ESC or BEL byte echoed to a terminal can retitle
//! the window, clear the screen or print a fake "OK". Every message and every CSV cell that
//! can carry such text goes through [`escape_control`].

use std::borrow::Cow;

/// The UTF-8 byte order mark some exporters (and Windows editors) put first.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// `s` with every control character written as a visible escape (`\x1b`, `\u{9b}`), so
/// it prints as text and never acts on a terminal. Line ends are escaped too: one value
/// stays on one line. Text without control characters is returned as is.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`escape_control`] for a multi-line message: line ends are kept, every other control
/// character is escaped.
pub fn escape_control_keep_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.split('\n')
            .map(|line| escape_control(line).into_owned())
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// The message of a panic's payload (`panic!` with a literal or with format arguments).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(escape_control("plain"), "plain");
        assert_eq!(
            escape_control("a\x1b]0;pwned\x07b\x1b[2J"),
            "a\\x1b]0;pwned\\x07b\\x1b[2J"
        );
        assert_eq!(escape_control("x\u{9b}31m\ny"), "x\\u{9b}31m\\ny");
        assert_eq!(escape_control_keep_lines("a\x07\nb"), "a\\x07\nb");
    }
}
