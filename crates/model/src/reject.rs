//! Rejected records: why, where, and a printable excerpt of the offending line.
//!
//! Every reader produces these and every output counts them, so the type sits below
//! both.

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
    InvalidValue,
    TimestampWithoutYear,
}

impl RejectReason {
    pub const ALL: [RejectReason; 14] = [
        RejectReason::InvalidUtf8,
        RejectReason::LineTooLong,
        RejectReason::MalformedJson,
        RejectReason::MissingHeader,
        RejectReason::ColumnCount,
        RejectReason::MissingField,
        RejectReason::InvalidTimestamp,
        RejectReason::InvalidAddress,
        RejectReason::InvalidPort,
        RejectReason::InvalidNumber,
        RejectReason::UnsupportedLogPath,
        RejectReason::KindMismatch,
        RejectReason::InvalidValue,
        RejectReason::TimestampWithoutYear,
    ];

    /// The reason whose [`Self::as_str`] is `s`.
    pub fn parse(s: &str) -> Option<RejectReason> {
        RejectReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

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
            RejectReason::InvalidValue => "invalid_value",
            RejectReason::TimestampWithoutYear => "timestamp_without_year",
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
        // Field names and details quote log content: control characters are escaped so
        // that neither a terminal (--strict errors) nor rejects.csv receives them raw.
        Reject {
            line,
            field: defuse_formula(crate::text::escape_control(field).into_owned()),
            reason,
            detail: defuse_formula(crate::text::escape_control(&detail.into()).into_owned()),
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
