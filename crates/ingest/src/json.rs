//! Shared machinery for JSON inputs: finding objects in a stream (JSON lines,
//! pretty-printed objects, top-level arrays, `{"records": [...]}` wrappers are left to the
//! reader), tolerating `//` comments some vendor samples carry, and reading fields by
//! path whether an exporter nested them (`{"source":{"ip":..}}`) or flattened them
//! (`{"source.ip":..}`).

use std::borrow::Cow;
use std::io::BufRead;
use std::net::IpAddr;

use serde_json::{Map, Value};

use super::lines::{self, Line, LineReader};
use super::values::{self, FieldError};
use super::{Item, ReadContext, Reject, RejectReason, Sink};
use xborder_model::error::Result;
use xborder_model::schema::Micros;

/// Frames JSON objects by the JSON grammar, not by lines: pretty-printed objects, JSON
/// lines, objects inside a top-level array (`jq -c -s`, one line or many) and objects back
/// to back (`}{`) are each framed once, one at a time, without loading the file. Between
/// objects, whitespace and array punctuation (`[`, `]`, `,`) are skipped; any other text is
/// framed as stray text, so nothing on a line is lost uncounted.
#[derive(Default)]
pub(crate) struct ObjectFramer {
    buf: Vec<u8>,
    depth: u64,
    in_string: bool,
    escaped: bool,
    start_line: u64,
}

/// One unit the framer hands on.
pub(crate) enum Framed<'a> {
    /// A complete object starting on `start_line`.
    Object { start_line: u64, bytes: &'a [u8] },
    /// Text outside any object that is not whitespace or array punctuation.
    Stray { line: u64, bytes: &'a [u8] },
    /// An object that grew past the line limit without closing; the framer resynchronises
    /// after it.
    TooLong { start_line: u64, bytes: &'a [u8] },
}

impl ObjectFramer {
    /// Feed one physical line (without its line end); every object or stray run that the
    /// line completes goes to `emit`, in order.
    pub(crate) fn feed(
        &mut self,
        number: u64,
        line: &[u8],
        emit: &mut dyn FnMut(Framed<'_>) -> Result<()>,
    ) -> Result<()> {
        if self.depth > 0 {
            self.buf.push(b'\n');
        }
        let mut i = 0;
        while i < line.len() {
            if self.depth == 0 {
                match line[i] {
                    b' ' | b'\t' | b'\r' | b'[' | b']' | b',' => {
                        i += 1;
                        continue;
                    }
                    b'{' => {
                        self.buf.clear();
                        self.start_line = number;
                        self.in_string = false;
                        self.escaped = false;
                    }
                    _ => {
                        let end = memchr::memchr(b'{', &line[i..]).map_or(line.len(), |j| i + j);
                        emit(Framed::Stray {
                            line: number,
                            bytes: &line[i..end],
                        })?;
                        i = end;
                        continue;
                    }
                }
            }
            let from = i;
            let mut closed = None;
            while i < line.len() {
                let b = line[i];
                i += 1;
                if self.in_string {
                    if self.escaped {
                        self.escaped = false;
                    } else if b == b'\\' {
                        self.escaped = true;
                    } else if b == b'"' {
                        self.in_string = false;
                    }
                    continue;
                }
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            closed = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            match closed {
                Some(end) => {
                    self.buf.extend_from_slice(&line[from..end]);
                    emit(Framed::Object {
                        start_line: self.start_line,
                        bytes: &self.buf,
                    })?;
                    self.buf.clear();
                }
                None => {
                    self.buf.extend_from_slice(&line[from..]);
                    if self.buf.len() > super::lines::MAX_LINE_BYTES {
                        self.depth = 0;
                        self.in_string = false;
                        emit(Framed::TooLong {
                            start_line: self.start_line,
                            bytes: &self.buf,
                        })?;
                        self.buf.clear();
                    }
                }
            }
        }
        Ok(())
    }

    /// The unfinished object at the end of input, if any: its first line and bytes.
    pub(crate) fn unfinished(&self) -> Option<(u64, &[u8])> {
        (self.depth > 0).then_some((self.start_line, self.buf.as_slice()))
    }
}

/// The first complete JSON object in `text` (JSON lines, pretty-printed or in an array),
/// parsed; `//` comments are tolerated.
pub fn first_object(text: &str) -> Option<Value> {
    let mut framer = ObjectFramer::default();
    let mut found: Option<Option<Value>> = None;
    for (i, line) in text.lines().enumerate() {
        let _ = framer.feed(i as u64 + 1, line.as_bytes(), &mut |framed| {
            if found.is_none() {
                found = Some(match framed {
                    Framed::Object { bytes, .. } => parse_value(bytes).ok(),
                    Framed::Stray { .. } | Framed::TooLong { .. } => None,
                });
            }
            Ok(())
        });
        if let Some(v) = found {
            return v;
        }
    }
    None
}

/// Parse one object's bytes; on failure, retry without `//` line comments (OCSF's own
/// samples carry them), so a commented export is read rather than rejected.
pub fn parse_value(bytes: &[u8]) -> std::result::Result<Value, serde_json::Error> {
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(e) => match strip_line_comments(bytes) {
            Cow::Owned(clean) => serde_json::from_slice(&clean).map_err(|_| e),
            Cow::Borrowed(_) => Err(e),
        },
    }
}

/// Remove `// …` to the end of the line, outside strings.
pub fn strip_line_comments(bytes: &[u8]) -> Cow<'_, [u8]> {
    if !bytes.windows(2).any(|w| w == b"//") {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let (mut in_string, mut escaped, mut i) = (false, false, 0);
    let mut changed = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            changed = true;
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        out.push(b);
        i += 1;
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(bytes)
    }
}

/// Called with each object's first line, its parsed value, its raw bytes and the sink.
pub type ObjectHandler<'h> = dyn FnMut(u64, &Value, &[u8], &mut Sink<'_>) -> Result<()> + 'h;

/// Called with each complete object's first line, its raw bytes and the sink.
pub type RawObjectHandler<'h> = dyn FnMut(u64, &[u8], &mut Sink<'_>) -> Result<()> + 'h;

/// Drive a JSON reader: every complete object in the stream is parsed and handed to
/// `on_object` with the line it starts on; broken and stray text becomes rejects here.
pub fn read_objects(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
    on_object: &mut ObjectHandler<'_>,
) -> Result<()> {
    read_raw_objects(
        reader,
        ctx,
        sink,
        &mut |start, bytes, sink| match parse_value(bytes) {
            Ok(value) => on_object(start, &value, bytes, sink),
            Err(e) => sink(malformed(start, bytes, e)),
        },
    )
}

/// The object framing under [`read_objects`], for readers that deserialise the bytes
/// themselves (the Zeek reader borrows raw values instead of building a `Value`): each
/// complete object's bytes and first line go to `on_object`; over-long lines, stray text
/// and a file that ends inside an object become rejects here.
pub fn read_raw_objects(
    reader: &mut dyn BufRead,
    ctx: &ReadContext<'_>,
    sink: &mut dyn FnMut(Item) -> Result<()>,
    on_object: &mut RawObjectHandler<'_>,
) -> Result<()> {
    let mut lines = LineReader::new(reader);
    let mut framer = ObjectFramer::default();
    loop {
        let line = lines.next_line().map_err(|e| ctx.io_error(e))?;
        let Some(line) = line else { break };
        let (number, bytes) = match line {
            Line::TooLong { number, head } => {
                framer = ObjectFramer::default();
                sink(Item::Reject(lines::too_long(number, head)))?;
                continue;
            }
            Line::Text { number, bytes } => (number, bytes),
        };
        framer.feed(number, bytes, &mut |framed| match framed {
            Framed::Object { start_line, bytes } => on_object(start_line, bytes, sink),
            Framed::Stray { line, bytes } => sink(Item::Reject(
                Reject::new(
                    line,
                    "(line)",
                    utf8_or_json(bytes),
                    "text outside a JSON object",
                )
                .with_excerpt(bytes),
            )),
            Framed::TooLong { start_line, bytes } => sink(Item::Reject(
                Reject::new(
                    start_line,
                    "(line)",
                    RejectReason::LineTooLong,
                    "JSON object exceeds 1 MiB",
                )
                .with_excerpt(bytes),
            )),
        })?;
    }
    if let Some((start_line, bytes)) = framer.unfinished() {
        sink(Item::Reject(
            Reject::new(
                start_line,
                "(line)",
                RejectReason::MalformedJson,
                "the file ends inside a JSON object",
            )
            .with_excerpt(bytes),
        ))?;
    }
    Ok(())
}

/// The reject for an object that does not deserialise.
pub fn malformed(line: u64, bytes: &[u8], e: serde_json::Error) -> Item {
    Item::Reject(
        Reject::new(line, "(line)", utf8_or_json(bytes), e.to_string()).with_excerpt(bytes),
    )
}

/// Bad bytes are reported as invalid UTF-8 rather than as bad JSON.
fn utf8_or_json(bytes: &[u8]) -> RejectReason {
    if std::str::from_utf8(bytes).is_err() {
        RejectReason::InvalidUtf8
    } else {
        RejectReason::MalformedJson
    }
}

/// A field that failed: its path and why.
pub type FieldFail = (String, FieldError);
pub type FieldResult<T> = std::result::Result<T, FieldFail>;

/// Turn a field failure into a reject for the record starting at `line`.
pub fn reject(line: u64, fail: FieldFail, raw: &[u8]) -> Item {
    Item::Reject(Reject::new(line, &fail.0, fail.1.reason, fail.1.detail).with_excerpt(raw))
}

/// Look up `path` (`a.b.c`) in an object, accepting nested objects, flattened dotted keys
/// (`"a.b.c"`), and any mix of the two (`{"a": {"b.c": ..}}`). `null` counts as absent.
pub fn get<'v>(obj: &'v Value, path: &str) -> Option<&'v Value> {
    let map = obj.as_object()?;
    lookup(map, path).filter(|v| !v.is_null())
}

fn lookup<'v>(map: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    if let Some(v) = map.get(path) {
        return Some(v);
    }
    // Try every split point, longest first key last: `a.b.c` → `a` + `b.c`, `a.b` + `c`.
    for (i, _) in path.match_indices('.') {
        let (head, rest) = (&path[..i], &path[i + 1..]);
        if let Some(Value::Object(inner)) = map.get(head) {
            if let Some(v) = lookup(inner, rest) {
                return Some(v);
            }
        }
    }
    None
}

/// Typed access to one JSON record's fields, with errors that name the field.
#[derive(Clone, Copy)]
pub struct Fields<'v>(pub &'v Value);

impl<'v> Fields<'v> {
    pub fn get(&self, path: &str) -> Option<&'v Value> {
        get(self.0, path)
    }

    pub fn has(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// A scalar as text: strings verbatim, numbers and booleans as written. Empty strings
    /// and `-` count as absent, as exporters use both for "unset".
    pub fn text(&self, path: &str) -> FieldResult<Option<Cow<'v, str>>> {
        let Some(v) = self.get(path) else {
            return Ok(None);
        };
        let s: Cow<'v, str> = match v {
            Value::String(s) => Cow::Borrowed(s.as_str()),
            Value::Number(n) => Cow::Owned(n.to_string()),
            Value::Bool(b) => Cow::Owned(b.to_string()),
            _ => {
                return Err(fail(
                    path,
                    RejectReason::InvalidValue,
                    format!("expected a scalar, found {}", kind_of(v)),
                ))
            }
        };
        let t = s.trim();
        if t.is_empty() || t == "-" {
            Ok(None)
        } else {
            Ok(Some(s))
        }
    }

    pub fn required_text(&self, path: &str) -> FieldResult<Cow<'v, str>> {
        self.text(path)?.ok_or_else(|| missing(path))
    }

    /// The first of several paths that is present, with the path that matched.
    pub fn first_text(
        &self,
        paths: &[&'static str],
    ) -> FieldResult<Option<(&'static str, Cow<'v, str>)>> {
        for p in paths {
            if let Some(v) = self.text(p)? {
                return Ok(Some((p, v)));
            }
        }
        Ok(None)
    }

    pub fn ip(&self, path: &str) -> FieldResult<Option<IpAddr>> {
        self.parse(path, values::parse_address)
    }

    pub fn required_ip(&self, path: &str) -> FieldResult<IpAddr> {
        self.ip(path)?.ok_or_else(|| missing(path))
    }

    pub fn port(&self, path: &str) -> FieldResult<Option<u16>> {
        self.parse(path, values::parse_port)
    }

    /// A non-negative integer, written as a JSON number or a string (GCP writes int64
    /// as strings); `12.0` is accepted, `12.5` is not.
    pub fn count(&self, path: &str) -> FieldResult<Option<u64>> {
        self.parse(path, values::parse_count_lenient)
    }

    /// A timestamp: RFC 3339 / ISO 8601 with an offset (`Z`, `+00:00`, `-0500`), or epoch
    /// time whose unit (s, ms, µs, ns) is told by its magnitude.
    pub fn timestamp(&self, path: &str) -> FieldResult<Option<Micros>> {
        self.parse(path, values::parse_timestamp_any)
    }

    pub fn required_timestamp(&self, path: &str) -> FieldResult<Micros> {
        self.timestamp(path)?.ok_or_else(|| missing(path))
    }

    pub fn parse<T>(
        &self,
        path: &str,
        f: impl Fn(&str) -> std::result::Result<T, FieldError>,
    ) -> FieldResult<Option<T>> {
        match self.text(path)? {
            None => Ok(None),
            Some(v) => f(&v).map(Some).map_err(|e| (path.to_string(), e)),
        }
    }

    /// An array field; absent or `null` gives an empty slice.
    pub fn array(&self, path: &str) -> FieldResult<&'v [Value]> {
        match self.get(path) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a.as_slice()),
            Some(other) => Err(fail(
                path,
                RejectReason::InvalidValue,
                format!("expected an array, found {}", kind_of(other)),
            )),
        }
    }
}

/// A field failure.
pub fn fail(path: &str, reason: RejectReason, detail: impl Into<String>) -> FieldFail {
    (
        path.to_string(),
        FieldError {
            reason,
            detail: detail.into(),
        },
    )
}

/// A required field is absent.
pub fn missing(path: &str) -> FieldFail {
    fail(path, RejectReason::MissingField, "required field is absent")
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_work_nested_flattened_and_mixed() {
        let v = json!({"source": {"ip": "10.0.0.1", "nat.ip": "1.2.3.4"}, "destination.port": 443, "a": null});
        let f = Fields(&v);
        assert_eq!(f.text("source.ip").unwrap().as_deref(), Some("10.0.0.1"));
        assert_eq!(f.text("source.nat.ip").unwrap().as_deref(), Some("1.2.3.4"));
        assert_eq!(f.port("destination.port").unwrap(), Some(443));
        assert_eq!(f.text("a").unwrap(), None);
        assert_eq!(f.text("missing.path").unwrap(), None);
        assert!(f.required_ip("nope").is_err());
    }

    #[test]
    fn counts_accept_strings_and_whole_floats() {
        let v = json!({"a": "1234", "b": 12.0, "c": 12.5, "d": -1, "e": "x"});
        let f = Fields(&v);
        assert_eq!(f.count("a").unwrap(), Some(1234));
        assert_eq!(f.count("b").unwrap(), Some(12));
        assert!(f.count("c").is_err());
        assert!(f.count("d").is_err());
        assert_eq!(f.count("e").unwrap_err().0, "e");
    }

    #[test]
    fn comments_are_stripped_outside_strings_only() {
        let raw = b"{\"a\": \"http://x\", // note\n \"b\": 1}";
        let v = parse_value(raw).unwrap();
        assert_eq!(v["a"], "http://x");
        assert_eq!(v["b"], 1);
    }

    /// Every object on a physical line is framed: a one-line array (`jq -c -s`), objects
    /// back to back, braces inside strings, and stray text between them.
    #[test]
    fn objects_are_framed_by_grammar_not_by_line() {
        let mut framer = ObjectFramer::default();
        let mut seen = Vec::new();
        let mut emit = |f: Framed<'_>| {
            seen.push(match f {
                Framed::Object { start_line, bytes } => {
                    format!("obj@{start_line}:{}", String::from_utf8_lossy(bytes))
                }
                Framed::Stray { line, bytes } => {
                    format!("stray@{line}:{}", String::from_utf8_lossy(bytes))
                }
                Framed::TooLong { start_line, .. } => format!("long@{start_line}"),
            });
            Ok(())
        };
        framer
            .feed(1, br#"[{"a":1},{"a":"}{"},{"a":[3,{"b":4}]}]"#, &mut emit)
            .unwrap();
        framer
            .feed(2, br#"{"a":5}{"a":6} junk {"a":7"#, &mut emit)
            .unwrap();
        framer.feed(3, br#","z":8}"#, &mut emit).unwrap();
        assert_eq!(
            seen,
            [
                r#"obj@1:{"a":1}"#,
                r#"obj@1:{"a":"}{"}"#,
                r#"obj@1:{"a":[3,{"b":4}]}"#,
                r#"obj@2:{"a":5}"#,
                r#"obj@2:{"a":6}"#,
                "stray@2:junk ",
                "obj@2:{\"a\":7\n,\"z\":8}",
            ]
        );
        assert!(framer.unfinished().is_none());
    }

    #[test]
    fn first_object_of_pretty_and_array_input() {
        let v = first_object("[\n {\n  \"a\": 1\n },\n {\"a\": 2}\n]").unwrap();
        assert_eq!(v["a"], 1);
    }
}
