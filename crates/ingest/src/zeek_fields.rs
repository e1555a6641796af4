//! One definition of the Zeek fields xborder reads (conn.log for flows, dns.log for
//! answers, ssl.log and http.log for the names clients asked for), and one parser per Zeek
//! type, shared by the TSV, JSON and Parquet readers.
//!
//! Zeek's own log writers format each value once per type (`time`, `addr`, `port`,
//! `count`, ...), whatever the encoding. The readers mirror that: each only extracts a
//! field's raw value from its encoding (a TSV cell, a JSON value, a Parquet column
//! value) as a [`Raw`], and [`flow`] checks the fields in one order with one parser per
//! type. So a bad value is rejected under the same field name, for the same reason,
//! whichever encoding carried it; only what the encoding itself adds (a Parquet column
//! of the wrong type, a JSON array where a scalar belongs) is worded per encoding.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use crate::values::{self, FieldError};
use crate::RejectReason;
use xborder_model::schema::{
    normalise_host_header, normalise_hostname_into, parse_ip, AnswerValue, ByteDirection,
    DnsAnswer, DnsRecord, FlowRecord, HostnameRecord, HostnameSource, Micros, Proto, Provenance,
    ShortText, Uid,
};

/// Zeek's value types, as a log's `#types` header names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZeekType {
    /// Epoch seconds (`1782864000.250000`).
    Time,
    String,
    /// An IPv4 or IPv6 address.
    Addr,
    Port,
    /// A non-negative integer.
    Count,
    /// A non-negative number of seconds.
    Interval,
    /// `T` or `F`.
    Bool,
    /// A name from a fixed set (`tcp`, `udp`, `icmp`).
    Enum,
    /// `vector[string]` (dns.log's answers).
    StringVector,
    /// `vector[interval]` (dns.log's TTLs).
    IntervalVector,
}

impl ZeekType {
    /// The name Zeek writes in `#types`.
    pub fn as_str(self) -> &'static str {
        match self {
            ZeekType::Time => "time",
            ZeekType::String => "string",
            ZeekType::Addr => "addr",
            ZeekType::Port => "port",
            ZeekType::Count => "count",
            ZeekType::Interval => "interval",
            ZeekType::Bool => "bool",
            ZeekType::Enum => "enum",
            ZeekType::StringVector => "vector[string]",
            ZeekType::IntervalVector => "vector[interval]",
        }
    }
}

/// One field of a Zeek log.
#[derive(Debug, Clone, Copy)]
pub struct ZeekField {
    /// The name Zeek gives it (`id.orig_h`).
    pub name: &'static str,
    pub ty: ZeekType,
    /// A record without it is rejected (`missing_field`) rather than read with a gap.
    pub required: bool,
}

const fn field(name: &'static str, ty: ZeekType, required: bool) -> ZeekField {
    ZeekField { name, ty, required }
}

/// The conn.log fields, indexed by the constants beside them.
pub mod conn {
    use super::{field, ZeekField, ZeekType};

    /// Every conn field a flow is built from, in the order they are checked: the first
    /// bad field of a record is the one its reject names.
    pub const FIELDS: [ZeekField; 11] = [
        field("ts", ZeekType::Time, true),
        field("id.orig_h", ZeekType::Addr, true),
        field("id.resp_h", ZeekType::Addr, true),
        field("uid", ZeekType::String, false),
        field("id.orig_p", ZeekType::Port, false),
        field("id.resp_p", ZeekType::Port, false),
        field("proto", ZeekType::Enum, false),
        field("orig_bytes", ZeekType::Count, false),
        field("resp_bytes", ZeekType::Count, false),
        field("duration", ZeekType::Interval, false),
        field("local_orig", ZeekType::Bool, false),
    ];
    pub const TS: usize = 0;
    pub const ORIG_H: usize = 1;
    pub const RESP_H: usize = 2;
    pub const UID: usize = 3;
    pub const ORIG_P: usize = 4;
    pub const RESP_P: usize = 5;
    pub const PROTO: usize = 6;
    pub const ORIG_BYTES: usize = 7;
    pub const RESP_BYTES: usize = 8;
    pub const DURATION: usize = 9;
    pub const LOCAL_ORIG: usize = 10;
}

/// The dns.log fields a DNS record is built from, in the order they are checked.
pub mod dns {
    use super::{field, ZeekField, ZeekType};

    pub const FIELDS: [ZeekField; 10] = [
        field("ts", ZeekType::Time, true),
        field("id.orig_h", ZeekType::Addr, true),
        field("rtt", ZeekType::Interval, false),
        field("trans_id", ZeekType::Count, false),
        field("answers", ZeekType::StringVector, false),
        field("TTLs", ZeekType::IntervalVector, false),
        field("uid", ZeekType::String, false),
        field("query", ZeekType::String, false),
        field("qtype_name", ZeekType::String, false),
        field("rcode_name", ZeekType::String, false),
    ];

    // Positions in [`FIELDS`].
    pub const TS: usize = 0;
    pub const ORIG_H: usize = 1;
    pub const RTT: usize = 2;
    pub const TRANS_ID: usize = 3;
    pub const ANSWERS: usize = 4;
    pub const TTLS: usize = 5;
    pub const UID: usize = 6;
    pub const QUERY: usize = 7;
    pub const QTYPE_NAME: usize = 8;
    pub const RCODE_NAME: usize = 9;
}

/// The ssl.log and http.log fields a connection's hostname is built from: the name
/// (`server_name` in ssl.log, `host` in http.log) first, then the connection.
pub mod hostname {
    use super::{field, ZeekField, ZeekType};

    pub const FIELDS: [ZeekField; 7] = [
        field("server_name", ZeekType::String, false),
        field("host", ZeekType::String, false),
        field("ts", ZeekType::Time, true),
        field("uid", ZeekType::String, true),
        field("id.orig_h", ZeekType::Addr, true),
        field("id.resp_h", ZeekType::Addr, true),
        field("id.resp_p", ZeekType::Port, false),
    ];
}

/// The unit of an integer time or duration held by a typed column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Millis,
    Micros,
    Nanos,
}

impl TimeUnit {
    fn to_micros(self, v: i64) -> Option<i64> {
        match self {
            TimeUnit::Nanos => Some(v.div_euclid(1_000)),
            TimeUnit::Micros => Some(v),
            TimeUnit::Millis => v.checked_mul(1_000),
        }
    }

    fn per_second(self) -> f64 {
        match self {
            TimeUnit::Nanos => 1e9,
            TimeUnit::Micros => 1e6,
            TimeUnit::Millis => 1e3,
        }
    }
}

/// One field's value as an encoding carries it, before it is parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw<'a> {
    /// Absent, unset (`-` in TSV and Parquet strings) or JSON `null`.
    Unset,
    /// Zeek's ASCII spelling: a TSV cell, or a JSON number as written.
    Ascii(&'a str),
    /// A string value (JSON, a Parquet string column). A `time` may then also be RFC 3339,
    /// as Zeek writes it under `json_timestamps`.
    Str(Cow<'a, str>),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    /// A point in time: an epoch count in a unit (a Parquet Datetime).
    Epoch(i64, TimeUnit),
    /// A length of time in a unit (a Parquet Duration).
    Span(i64, TimeUnit),
    /// A value of a column whose type cannot hold the field, named by the type.
    WrongType(&'a str),
}

impl fmt::Display for Raw<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Raw::Unset => f.write_str("null"),
            Raw::Ascii(s) => f.write_str(s),
            Raw::Str(s) => f.write_str(s),
            Raw::Int(v) | Raw::Epoch(v, _) | Raw::Span(v, _) => write!(f, "{v}"),
            Raw::UInt(v) => write!(f, "{v}"),
            Raw::Float(v) => write!(f, "{v}"),
            Raw::Bool(b) => f.write_str(if *b { "T" } else { "F" }),
            Raw::WrongType(t) => write!(f, "({t})"),
        }
    }
}

impl Raw<'_> {
    /// The value as text, when the encoding carried text.
    fn text(&self) -> Option<&str> {
        match self {
            Raw::Ascii(s) => Some(s),
            Raw::Str(s) => Some(s),
            _ => None,
        }
    }
}

fn bad(reason: RejectReason, detail: String) -> FieldError {
    FieldError { reason, detail }
}

fn wrong_type(reason: RejectReason, t: &str, expected: &str) -> FieldError {
    bad(
        reason,
        format!("the column's type is {t}; expected {expected}"),
    )
}

fn unset() -> FieldError {
    bad(RejectReason::MissingField, "required field is unset".into())
}

/// A `time`: epoch seconds as text or a float, an integer epoch whose unit is told by
/// magnitude, a Datetime, or (in a string) RFC 3339.
pub fn time(raw: &Raw<'_>) -> Result<Micros, FieldError> {
    let out_of_range = |v: &dyn fmt::Display| {
        bad(
            RejectReason::InvalidTimestamp,
            format!("`{v}` is not an epoch time in 1970..2999"),
        )
    };
    match raw {
        Raw::Ascii(s) => values::parse_epoch_decimal(s),
        Raw::Str(s) => values::parse_iso_timestamp(s)
            .or_else(|e| values::parse_epoch_decimal(s).map_err(|_| e)),
        Raw::Float(v) => values::epoch_seconds_f64(*v).ok_or_else(|| out_of_range(v)),
        Raw::Int(v) => u128::try_from(*v)
            .map_err(|_| out_of_range(v))
            .and_then(values::epoch_integer),
        Raw::UInt(v) => values::epoch_integer(u128::from(*v)),
        Raw::Epoch(v, unit) => unit
            .to_micros(*v)
            .ok_or_else(|| out_of_range(v))
            .and_then(values::checked_micros),
        Raw::WrongType(t) => Err(wrong_type(
            RejectReason::InvalidTimestamp,
            t,
            "Float64 epoch seconds, an integer epoch or a Datetime",
        )),
        Raw::Unset => Err(unset()),
        other => Err(bad(
            RejectReason::InvalidTimestamp,
            format!("`{other}` is not an epoch time"),
        )),
    }
}

/// An `addr`: an IPv4 or IPv6 address, as text.
pub fn addr(raw: &Raw<'_>) -> Result<IpAddr, FieldError> {
    match raw {
        Raw::Ascii(s) => values::parse_address(s),
        Raw::Str(s) => values::parse_address(s),
        Raw::WrongType(t) => Err(wrong_type(RejectReason::InvalidAddress, t, "a string")),
        Raw::Unset => Err(unset()),
        other => values::parse_address(&other.to_string()),
    }
}

/// A `port`: 0 to 65535, as text, an integer or a whole float.
pub fn port(raw: &Raw<'_>) -> Result<u16, FieldError> {
    let out = |v: &dyn fmt::Display| {
        bad(
            RejectReason::InvalidPort,
            format!("`{v}` is not a port (0-65535)"),
        )
    };
    match raw {
        Raw::Ascii(s) => values::parse_port(s),
        Raw::Str(s) => values::parse_port(s),
        Raw::Int(v) => u16::try_from(*v).map_err(|_| out(v)),
        Raw::UInt(v) => u16::try_from(*v).map_err(|_| out(v)),
        Raw::Float(v) if v.fract() == 0.0 && (0.0..=65535.0).contains(v) => Ok(*v as u16),
        Raw::WrongType(t) => Err(wrong_type(RejectReason::InvalidPort, t, "an integer")),
        Raw::Unset => Err(unset()),
        other => Err(out(other)),
    }
}

/// A `count`: a non-negative integer, as text, an integer or a whole float (pandas turns
/// nullable integer columns into floats).
pub fn count(raw: &Raw<'_>) -> Result<u64, FieldError> {
    let out = |v: &dyn fmt::Display| {
        bad(
            RejectReason::InvalidNumber,
            format!("`{v}` is not a non-negative integer"),
        )
    };
    match raw {
        Raw::Ascii(s) => values::parse_count(s),
        Raw::Str(s) => values::parse_count(s),
        Raw::Int(v) => u64::try_from(*v).map_err(|_| out(v)),
        Raw::UInt(v) => Ok(*v),
        Raw::Float(v) if v.is_finite() && *v >= 0.0 && v.fract() == 0.0 && *v < 1.8e19 => {
            Ok(*v as u64)
        }
        Raw::WrongType(t) => Err(wrong_type(RejectReason::InvalidNumber, t, "an integer")),
        Raw::Unset => Err(unset()),
        other => Err(out(other)),
    }
}

/// An `interval`: a non-negative, finite number of seconds, or a Duration.
pub fn interval(raw: &Raw<'_>) -> Result<f64, FieldError> {
    let out = |v: &dyn fmt::Display| {
        bad(
            RejectReason::InvalidNumber,
            format!("`{v}` is not a non-negative number of seconds"),
        )
    };
    match raw {
        Raw::Ascii(s) => values::parse_seconds(s),
        Raw::Str(s) => values::parse_seconds(s),
        Raw::Float(v) if v.is_finite() && *v >= 0.0 => Ok(*v),
        Raw::Int(v) if *v >= 0 => Ok(*v as f64),
        Raw::UInt(v) => Ok(*v as f64),
        Raw::Span(v, unit) if *v >= 0 => Ok(*v as f64 / unit.per_second()),
        Raw::WrongType(t) => Err(wrong_type(
            RejectReason::InvalidNumber,
            t,
            "seconds or a Duration",
        )),
        Raw::Unset => Err(unset()),
        other => Err(out(other)),
    }
}

/// A `bool`: `T`/`F` (or true/false, 1/0), or a boolean.
pub fn boolean(raw: &Raw<'_>) -> Result<bool, FieldError> {
    match raw {
        Raw::Bool(b) => Ok(*b),
        Raw::WrongType(t) => Err(wrong_type(RejectReason::InvalidNumber, t, "a boolean")),
        Raw::Unset => Err(unset()),
        other => match other.text() {
            Some(s) => values::parse_bool(s),
            None => values::parse_bool(&other.to_string()),
        },
    }
}

/// A `string` as text: never fails, a value of another type reads as it displays.
pub fn string<'r>(raw: &'r Raw<'_>) -> Cow<'r, str> {
    match raw.text() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(raw.to_string()),
    }
}

/// An `enum` (conn's `proto`): a protocol name, or a number a converter wrote instead.
pub fn protocol(raw: &Raw<'_>) -> Proto {
    match raw {
        Raw::Unset => Proto::Other(String::new()),
        // The usual two without the lowercasing allocation of Proto::parse.
        r => match &*string(r) {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            s => Proto::parse(s),
        },
    }
}

/// The one-pass readers both mappings try first ([`plain_flow`], [`plain_dns_record`]).
///
/// Each gives a field's value (`Some(None)` when unset) where the encoding holds it in its
/// usual form and the typed reader would give `Ok` with the same value, and `None` for
/// anything else, which sends the whole record through the typed readers. Handing a
/// `Result` with its error type through every field was about a fifth of a TSV line's
/// parse. By default no form is usual. An encoding whose values are Zeek's ASCII text (a
/// TSV cell) gives its cells ([`PlainValues::plain_cell`]) and takes the value parsers'
/// one-pass spellings below; one with typed columns (Parquet) overrides the readers.
pub trait PlainValues {
    /// Field `field`'s text (`Some(None)` when unset), where every value of the encoding
    /// is Zeek's ASCII text; `None` for an encoding that holds values otherwise.
    fn plain_cell(&self, _field: usize) -> Option<Option<&str>> {
        None
    }
    /// A `time` field in its usual form.
    #[inline]
    fn plain_time(&self, field: usize) -> Option<Option<Micros>> {
        unless_unset(self.plain_cell(field)?, values::plain_epoch_decimal)
    }
    /// An `addr` field in its usual form.
    #[inline]
    fn plain_addr(&self, field: usize) -> Option<Option<IpAddr>> {
        unless_unset(self.plain_cell(field)?, parse_ip)
    }
    /// A `port` field in its usual form.
    #[inline]
    fn plain_port(&self, field: usize) -> Option<Option<u16>> {
        unless_unset(self.plain_cell(field)?, values::plain_port)
    }
    /// A `count` field in its usual form.
    #[inline]
    fn plain_count(&self, field: usize) -> Option<Option<u64>> {
        unless_unset(self.plain_cell(field)?, values::plain_count)
    }
    /// An `interval` field in its usual form.
    #[inline]
    fn plain_interval(&self, field: usize) -> Option<Option<f64>> {
        unless_unset(self.plain_cell(field)?, values::plain_seconds)
    }
    /// A `bool` field in its usual form.
    #[inline]
    fn plain_boolean(&self, field: usize) -> Option<Option<bool>> {
        unless_unset(self.plain_cell(field)?, values::plain_bool)
    }
}

/// Where the conn mapping takes each field's raw value from: a TSV line, a JSON object or
/// a Parquet row.
///
/// [`flow`] reads each field through the typed readers below. By default they convert
/// [`ConnValues::raw`] with the type's parser ([`time`], [`addr`], ...); an encoding whose
/// every value is Zeek's ASCII text (a TSV cell) overrides them to hand the text straight
/// to the same value parsers, without building a [`Raw`] and matching it per field (that
/// glue took about a third of the TSV conn parser's time).
pub trait ConnValues: PlainValues {
    /// The raw value of conn field `field` (an index into [`conn::FIELDS`]), or the
    /// encoding's own error (a JSON string that does not unescape).
    fn raw(&self, field: usize) -> Result<Raw<'_>, FieldError>;
    /// Why required field `field` has no value, in the encoding's words (unset, or no
    /// such column).
    fn missing(&self, field: usize) -> &'static str;

    /// A `time` field; `None` when unset.
    fn time(&self, field: usize) -> Result<Option<Micros>, FieldError> {
        typed(self.raw(field)?, time)
    }
    /// An `addr` field; `None` when unset.
    fn addr(&self, field: usize) -> Result<Option<IpAddr>, FieldError> {
        typed(self.raw(field)?, addr)
    }
    /// A `port` field; `None` when unset.
    fn port(&self, field: usize) -> Result<Option<u16>, FieldError> {
        typed(self.raw(field)?, port)
    }
    /// A `count` field; `None` when unset.
    fn count(&self, field: usize) -> Result<Option<u64>, FieldError> {
        typed(self.raw(field)?, count)
    }
    /// An `interval` field; `None` when unset.
    fn interval(&self, field: usize) -> Result<Option<f64>, FieldError> {
        typed(self.raw(field)?, interval)
    }
    /// A `bool` field; `None` when unset.
    fn boolean(&self, field: usize) -> Result<Option<bool>, FieldError> {
        typed(self.raw(field)?, boolean)
    }
    /// A `string` field held inline as a connection id; `None` when unset.
    fn uid(&self, field: usize) -> Result<Option<Uid>, FieldError> {
        Ok(match self.raw(field)? {
            Raw::Unset => None,
            r => Some(Uid::from(&*string(&r))),
        })
    }
    /// An `enum` field read as a protocol ([`protocol`]).
    fn protocol(&self, field: usize) -> Result<Proto, FieldError> {
        Ok(protocol(&self.raw(field)?))
    }

    // The one-pass reader of text fields, beside those of [`PlainValues`].

    /// A `string` field's text, as [`ConnValues::uid`] and [`ConnValues::protocol`]
    /// would read it.
    fn plain_text(&self, _field: usize) -> Option<Option<&str>> {
        None
    }
}

/// `plain` of a cell, or `Some(None)` for no cell: a one-pass reader of an optional
/// field ([`PlainValues::plain_time`] and the others).
#[inline]
pub fn unless_unset<T>(
    cell: Option<&str>,
    plain: impl FnOnce(&str) -> Option<T>,
) -> Option<Option<T>> {
    match cell {
        None => Some(None),
        Some(c) => plain(c).map(Some),
    }
}

#[cfg(test)]
thread_local! {
    /// Set while a test reads records through the typed readers alone ([`typed_only`]).
    static TYPED_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// What `read` gives with the one-pass readers off on this thread: the records and
/// rejects of the typed readers alone, for tests to compare with a normal reading.
#[cfg(test)]
pub(crate) fn typed_only<T>(read: impl FnOnce() -> T) -> T {
    TYPED_ONLY.set(true);
    let out = read();
    TYPED_ONLY.set(false);
    out
}

/// The flow of a record whose every field is in its encoding's usual form (or unset
/// where the field may be), read with the one-pass readers and no error value per field;
/// `None` for any other record. Handing a `Result` with its error type through every
/// field was about a fifth of a TSV conn line's parse.
#[inline]
fn plain_flow<V: ConnValues + ?Sized>(values: &V, provenance: Provenance) -> Option<FlowRecord> {
    Some(FlowRecord {
        ts: values.plain_time(conn::TS)??,
        uid: values.plain_text(conn::UID)?.map(Uid::from),
        src_ip: values.plain_addr(conn::ORIG_H)??,
        src_port: values.plain_port(conn::ORIG_P)?,
        dst_ip: values.plain_addr(conn::RESP_H)??,
        dst_port: values.plain_port(conn::RESP_P)?,
        // The usual two; every other protocol through the typed reader.
        proto: match values.plain_text(conn::PROTO)?? {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            _ => return None,
        },
        bytes_out: values.plain_count(conn::ORIG_BYTES)?,
        bytes_in: values.plain_count(conn::RESP_BYTES)?,
        duration: values.plain_interval(conn::DURATION)?,
        local_orig: values.plain_boolean(conn::LOCAL_ORIG)?,
        direction: ByteDirection::Biflow,
        provenance,
    })
}

/// A raw value through its type's parser; `None` when unset.
pub(crate) fn typed<T>(
    raw: Raw<'_>,
    parse: impl Fn(&Raw<'_>) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    match raw {
        Raw::Unset => Ok(None),
        r => parse(&r).map(Some),
    }
}

/// A conn record's flow, or the first bad field (an index into [`conn::FIELDS`]) and why.
/// The one-pass readers are tried first ([`plain_flow`]); a record they do not answer
/// for is read through the typed readers, which give the same values wherever the
/// one-pass readers answer.
pub fn flow<V: ConnValues + ?Sized>(
    values: &V,
    provenance: Provenance,
) -> Result<FlowRecord, (usize, FieldError)> {
    #[cfg(test)]
    let one_pass = !TYPED_ONLY.get();
    #[cfg(not(test))]
    let one_pass = true;
    if let Some(flow) = plain_flow(values, provenance).filter(|_| one_pass) {
        return Ok(flow);
    }
    fn at<T>(field: usize, value: Result<T, FieldError>) -> Result<T, (usize, FieldError)> {
        value.map_err(|e| (field, e))
    }
    fn required<T, V: ConnValues + ?Sized>(
        values: &V,
        field: usize,
        value: Option<T>,
    ) -> Result<T, (usize, FieldError)> {
        value.ok_or_else(|| {
            let why = values.missing(field).to_string();
            (field, bad(RejectReason::MissingField, why))
        })
    }
    let ts = required(values, conn::TS, at(conn::TS, values.time(conn::TS))?)?;
    let src_ip = required(
        values,
        conn::ORIG_H,
        at(conn::ORIG_H, values.addr(conn::ORIG_H))?,
    )?;
    let dst_ip = required(
        values,
        conn::RESP_H,
        at(conn::RESP_H, values.addr(conn::RESP_H))?,
    )?;
    Ok(FlowRecord {
        ts,
        uid: at(conn::UID, values.uid(conn::UID))?,
        src_ip,
        src_port: at(conn::ORIG_P, values.port(conn::ORIG_P))?,
        dst_ip,
        dst_port: at(conn::RESP_P, values.port(conn::RESP_P))?,
        proto: at(conn::PROTO, values.protocol(conn::PROTO))?,
        bytes_out: at(conn::ORIG_BYTES, values.count(conn::ORIG_BYTES))?,
        bytes_in: at(conn::RESP_BYTES, values.count(conn::RESP_BYTES))?,
        duration: at(conn::DURATION, values.interval(conn::DURATION))?,
        local_orig: at(conn::LOCAL_ORIG, values.boolean(conn::LOCAL_ORIG))?,
        direction: ByteDirection::Biflow,
        provenance,
    })
}

/// A `vector` field's elements: on the stack up to eight (a DNS record's answers and
/// TTLs), so splitting them allocates nothing.
pub type CellList<'v> = smallvec::SmallVec<[Cow<'v, str>; 8]>;

/// Where the dns.log and ssl/http.log mappings take each field from, by Zeek's field name:
/// a TSV line or a JSON object.
pub trait LogValues {
    /// The raw value of the field `name`, [`Raw::Unset`] when absent or unset, or the
    /// encoding's own error (a JSON string that does not unescape).
    fn raw(&self, name: &'static str) -> Result<Raw<'_>, FieldError>;
    /// A `string` field as text with the encoding's escapes undone (`\xNN` in TSV, where
    /// `(empty)` is the empty string); `None` when absent or unset.
    fn text(&self, name: &'static str) -> Result<Option<Cow<'_, str>>, FieldError>;
    /// The elements of a `vector` field as text; none when absent, unset or empty.
    fn list(&self, name: &'static str) -> Result<CellList<'_>, FieldError>;
    /// Why required field `name` has no value, in the encoding's words.
    fn missing(&self, name: &'static str) -> &'static str;
}

type NamedResult<T> = Result<T, (&'static str, FieldError)>;

/// Required field `name`'s value as read (`raw`), or why it is missing (`missing`, in
/// the encoding's words).
fn required<'v>(
    name: &'static str,
    raw: Result<Raw<'v>, FieldError>,
    missing: impl FnOnce() -> &'static str,
) -> NamedResult<Raw<'v>> {
    match raw.map_err(|e| (name, e))? {
        Raw::Unset => Err((name, bad(RejectReason::MissingField, missing().to_string()))),
        r => Ok(r),
    }
}

/// Optional field `name`'s value as read (`raw`), through `parse`; none when unset.
fn optional<T>(
    name: &'static str,
    raw: Result<Raw<'_>, FieldError>,
    parse: impl Fn(&Raw<'_>) -> Result<T, FieldError>,
) -> NamedResult<Option<T>> {
    match raw.map_err(|e| (name, e))? {
        Raw::Unset => Ok(None),
        r => parse(&r).map(Some).map_err(|e| (name, e)),
    }
}

fn required_raw<'v, V: LogValues + ?Sized>(
    values: &'v V,
    name: &'static str,
) -> NamedResult<Raw<'v>> {
    required(name, values.raw(name), || values.missing(name))
}

fn optional_named<T, V: LogValues + ?Sized>(
    values: &V,
    name: &'static str,
    parse: impl Fn(&Raw<'_>) -> Result<T, FieldError>,
) -> NamedResult<Option<T>> {
    optional(name, values.raw(name), parse)
}

/// Zeek's answers vector mixes addresses, CNAME targets and TXT payloads with no type tag.
pub fn answer_value(raw: &str) -> AnswerValue {
    match parse_ip(raw) {
        Some(ip) => AnswerValue::Address(ip),
        None => {
            // In a string a parser thread kept from an earlier record ([`crate::spare`]).
            let mut name = crate::spare::string(raw.len());
            normalise_hostname_into(raw, &mut name);
            AnswerValue::Other(name)
        }
    }
}

/// Seconds (already validated non-negative and finite) to whole microseconds, capped at a
/// day so a corrupt rtt cannot move a response far from its query.
pub fn seconds_to_micros(s: f64) -> i64 {
    (s.min(86_400.0) * 1e6).round() as i64
}

/// A dns.log record's values by field (an index into [`dns::FIELDS`]). The Zeek TSV
/// reader's lines know each field's column once per header block; every other encoding
/// reads them by name through [`ByName`]. Looking each field up by name on every line
/// (ten string searches a record) was a tenth of the TSV dns parser's time.
pub trait DnsValues: PlainValues {
    /// The raw value of field `field`, [`Raw::Unset`] when absent or unset.
    fn raw(&self, field: usize) -> Result<Raw<'_>, FieldError>;
    /// A `string` field as text with the encoding's escapes undone; `None` when absent
    /// or unset.
    fn text(&self, field: usize) -> Result<Option<Cow<'_, str>>, FieldError>;
    /// The elements of a `vector` field as text; none when absent, unset or empty.
    fn list(&self, field: usize) -> Result<CellList<'_>, FieldError>;
    /// Why required field `field` has no value, in the encoding's words.
    fn missing(&self, field: usize) -> &'static str;

    // The one-pass readers of text and vector fields, beside those of [`PlainValues`].

    /// A `string` field that needs no unescaping, as it is ([`Self::text`] would give the
    /// same text, borrowed).
    fn plain_text(&self, _field: usize) -> Option<Option<&str>> {
        None
    }

    /// A `vector` field whose elements are its text cut at a one-byte separator, read in
    /// place ([`Self::list`] would give the same elements).
    fn plain_list(&self, _field: usize) -> Option<PlainList<'_>> {
        None
    }
}

/// The elements of a vector cell, cut from its text at a one-byte separator as they are
/// read: no list is built ([`DnsValues::plain_list`]).
#[derive(Debug, Clone, Copy)]
pub struct PlainList<'v> {
    text: &'v str,
    separator: u8,
}

impl<'v> PlainList<'v> {
    /// The elements of `text` cut at `separator` (an ASCII byte); none for empty text.
    pub fn new(text: &'v str, separator: u8) -> Self {
        debug_assert!(separator.is_ascii());
        PlainList { text, separator }
    }

    /// No elements.
    pub fn empty() -> Self {
        PlainList {
            text: "",
            separator: b',',
        }
    }

    pub fn elements(self) -> PlainElements<'v> {
        PlainElements {
            rest: (!self.text.is_empty()).then_some(self.text),
            separator: self.separator,
        }
    }
}

/// The elements of a [`PlainList`], in order. A byte loop: elements are a few bytes
/// long, and `str::split` behind an `Option` cost about 150 instructions an element.
pub struct PlainElements<'v> {
    /// The text not yet cut; `None` once the last element is given.
    rest: Option<&'v str>,
    separator: u8,
}

impl<'v> Iterator for PlainElements<'v> {
    type Item = &'v str;

    #[inline]
    fn next(&mut self) -> Option<&'v str> {
        let rest = self.rest?;
        match rest.bytes().position(|b| b == self.separator) {
            // The separator is ASCII, so both sides of it are on character boundaries.
            Some(at) => {
                self.rest = rest.get(at + 1..);
                rest.get(..at)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// Any encoding's [`LogValues`] read as [`DnsValues`], by each field's name.
pub struct ByName<'v, V: ?Sized>(pub &'v V);

/// Values read by name have no usual form: every record goes through the typed readers.
impl<V: LogValues + ?Sized> PlainValues for ByName<'_, V> {}

impl<V: LogValues + ?Sized> DnsValues for ByName<'_, V> {
    fn raw(&self, field: usize) -> Result<Raw<'_>, FieldError> {
        self.0.raw(dns::FIELDS[field].name)
    }
    fn text(&self, field: usize) -> Result<Option<Cow<'_, str>>, FieldError> {
        self.0.text(dns::FIELDS[field].name)
    }
    fn list(&self, field: usize) -> Result<CellList<'_>, FieldError> {
        self.0.list(dns::FIELDS[field].name)
    }
    fn missing(&self, field: usize) -> &'static str {
        self.0.missing(dns::FIELDS[field].name)
    }
}

fn required_dns<'v, V: DnsValues + ?Sized>(values: &'v V, field: usize) -> NamedResult<Raw<'v>> {
    required(dns::FIELDS[field].name, values.raw(field), || {
        values.missing(field)
    })
}

fn optional_dns<T, V: DnsValues + ?Sized>(
    values: &V,
    field: usize,
    parse: impl Fn(&Raw<'_>) -> Result<T, FieldError>,
) -> NamedResult<Option<T>> {
    optional(dns::FIELDS[field].name, values.raw(field), parse)
}

/// The record of a dns.log line whose every field is in its encoding's usual form (or
/// unset where the field may be), read with the one-pass readers and without building
/// the answer and TTL lists; `None` for any other record. As for conn lines
/// ([`plain_flow`]), handing a `Result` with its error type through every field, and a
/// list of 8 cells through each vector field, was a large part of a line's parse.
#[inline]
fn plain_dns_record<V: DnsValues + ?Sized>(
    values: &V,
    provenance: Provenance,
) -> Option<DnsRecord> {
    use dns::*;
    let ts = values.plain_time(TS)??;
    let client_ip = values.plain_addr(ORIG_H)??;
    let rtt = values.plain_interval(RTT)?;
    let trans_id = match values.plain_count(TRANS_ID)? {
        Some(id) => Some(u32::try_from(id).ok()?),
        None => None,
    };
    let listed = values.plain_list(ANSWERS)?;
    let ttls = values.plain_list(TTLS)?;
    let (uid, query) = (values.plain_text(UID)?, values.plain_text(QUERY)?);
    let (qtype, rcode) = (
        values.plain_text(QTYPE_NAME)?,
        values.plain_text(RCODE_NAME)?,
    );
    let mut answers = crate::spare::answer_list();
    let mut ttls = ttls.elements();
    for raw in listed.elements() {
        // A TTL as `parse_ttl` reads it, where it answers.
        let ttl = match ttls.next() {
            Some(t) => Some(values::plain_seconds(t)?.min(f64::from(u32::MAX)) as u32),
            None => None,
        };
        answers.push(DnsAnswer {
            value: answer_value(raw),
            ttl,
        });
    }
    Some(DnsRecord {
        ts,
        response_ts: ts + rtt.map(seconds_to_micros).unwrap_or(0),
        uid: uid.map(ShortText::from),
        trans_id,
        client_ip,
        query: match query {
            Some(q) => {
                let mut name = crate::spare::string(q.len());
                normalise_hostname_into(q, &mut name);
                name
            }
            None => String::new(),
        },
        qtype: qtype.map(ShortText::from),
        rcode: rcode.map(ShortText::from),
        answers,
        provenance,
    })
}

/// A dns.log record, or the first bad field (in [`dns::FIELDS`] order) and why. The
/// one-pass readers are tried first ([`plain_dns_record`]); a record they do not answer
/// for is read through the typed readers, which give the same record wherever the
/// one-pass readers answer.
pub fn dns_record<V: DnsValues + ?Sized>(
    values: &V,
    provenance: Provenance,
) -> NamedResult<DnsRecord> {
    use dns::*;
    #[cfg(test)]
    let one_pass = !TYPED_ONLY.get();
    #[cfg(not(test))]
    let one_pass = true;
    if one_pass {
        if let Some(record) = plain_dns_record(values, provenance) {
            return Ok(record);
        }
    }
    let named = |field: usize| move |e| (FIELDS[field].name, e);
    let ts = time(&required_dns(values, TS)?).map_err(named(TS))?;
    let client_ip = addr(&required_dns(values, ORIG_H)?).map_err(named(ORIG_H))?;
    let rtt = optional_dns(values, RTT, interval)?;
    let trans_id = optional_dns(values, TRANS_ID, |r| {
        count(r).and_then(|v| {
            u32::try_from(v).map_err(|_| {
                bad(
                    RejectReason::InvalidNumber,
                    format!("`{r}` is out of range"),
                )
            })
        })
    })?;
    let ttls = values.list(TTLS).map_err(named(TTLS))?;
    let listed = values.list(ANSWERS).map_err(named(ANSWERS))?;
    // The list, the query and CNAME targets reuse a parser thread's earlier records'
    // buffers ([`crate::spare`]): no allocation per record once batches come back.
    let mut answers = crate::spare::answer_list();
    for (i, raw) in listed.iter().enumerate() {
        let ttl = match ttls.get(i) {
            Some(t) => Some(values::parse_ttl(t).map_err(named(TTLS))?),
            None => None,
        };
        answers.push(DnsAnswer {
            value: answer_value(raw),
            ttl,
        });
    }
    let text = |field: usize| -> NamedResult<Option<ShortText>> {
        Ok(values
            .text(field)
            .map_err(named(field))?
            .map(ShortText::from))
    };
    Ok(DnsRecord {
        ts,
        response_ts: ts + rtt.map(seconds_to_micros).unwrap_or(0),
        uid: text(UID)?,
        trans_id,
        client_ip,
        // Normalised straight from the cell into a kept string.
        query: match values.text(QUERY).map_err(named(QUERY))? {
            Some(q) => {
                let mut query = crate::spare::string(q.len());
                normalise_hostname_into(&q, &mut query);
                query
            }
            None => String::new(),
        },
        qtype: text(QTYPE_NAME)?,
        rcode: text(RCODE_NAME)?,
        answers,
        provenance,
    })
}

/// An ssl.log (`source` [`HostnameSource::Sni`]) or http.log record: the name the client
/// asked for on connection `uid`. `None` (filtered) when it names no host, or only an
/// address.
pub fn hostname_record<V: LogValues + ?Sized>(
    values: &V,
    provenance: Provenance,
    source: HostnameSource,
) -> NamedResult<Option<HostnameRecord>> {
    let column = match source {
        HostnameSource::Sni => "server_name",
        HostnameSource::HttpHost => "host",
    };
    let name = values
        .text(column)
        .map_err(|e| (column, e))?
        .map(|n| normalise_host_header(&n))
        .unwrap_or_default();
    if name.is_empty() || parse_ip(&name).is_some() {
        return Ok(None);
    }
    let ts = time(&required_raw(values, "ts")?).map_err(|e| ("ts", e))?;
    let uid = match values.text("uid").map_err(|e| ("uid", e))? {
        Some(u) => u.into_owned(),
        None => {
            return Err((
                "uid",
                bad(
                    RejectReason::MissingField,
                    values.missing("uid").to_string(),
                ),
            ))
        }
    };
    Ok(Some(HostnameRecord {
        ts,
        uid,
        src_ip: addr(&required_raw(values, "id.orig_h")?).map_err(|e| ("id.orig_h", e))?,
        dst_ip: addr(&required_raw(values, "id.resp_h")?).map_err(|e| ("id.resp_h", e))?,
        dst_port: optional_named(values, "id.resp_p", port)?,
        name,
        source,
        provenance,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Item, ReadContext, ReaderOptions};
    use xborder_model::schema::Record;

    fn reason<T: fmt::Debug>(r: Result<T, FieldError>) -> RejectReason {
        r.expect_err("a bad value").reason
    }

    fn s(v: &str) -> Raw<'_> {
        Raw::Str(Cow::Borrowed(v))
    }

    #[test]
    fn time_values() {
        let t = 1_782_864_000_250_000;
        assert_eq!(time(&Raw::Ascii("1782864000.25")).unwrap(), t);
        assert_eq!(time(&s("2026-07-01T00:00:00.25Z")).unwrap(), t);
        assert_eq!(time(&s("1782864000.25")).unwrap(), t);
        assert_eq!(time(&Raw::Float(1_782_864_000.25)).unwrap(), t);
        assert_eq!(time(&Raw::Int(1_782_864_000_250)).unwrap(), t);
        assert_eq!(time(&Raw::UInt(1_782_864_000_250_000)).unwrap(), t);
        assert_eq!(
            time(&Raw::Epoch(1_782_864_000_250_000_000, TimeUnit::Nanos)).unwrap(),
            t
        );
        let bad = RejectReason::InvalidTimestamp;
        for v in [
            Raw::Ascii("abc"),
            Raw::Ascii("-5"),
            Raw::Ascii("99999999999999999999"),
            s("2026-07-01T00:00:00"),
            Raw::Float(f64::NAN),
            Raw::Float(-1.0),
            Raw::Int(-5),
            Raw::Epoch(i64::MAX, TimeUnit::Millis),
            Raw::Epoch(-1, TimeUnit::Micros),
            Raw::Bool(true),
            Raw::Span(5, TimeUnit::Micros),
        ] {
            assert_eq!(reason(time(&v)), bad, "{v:?}");
        }
        let e = time(&Raw::WrongType("String")).unwrap_err();
        assert_eq!(e.reason, bad);
        assert!(e.detail.contains("type is String"), "{}", e.detail);
        assert_eq!(reason(time(&Raw::Unset)), RejectReason::MissingField);
    }

    #[test]
    fn addr_values() {
        assert_eq!(
            addr(&Raw::Ascii("10.0.0.5")).unwrap(),
            "10.0.0.5".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            addr(&s("2606:4700::6810:1")).unwrap(),
            "2606:4700::6810:1".parse::<IpAddr>().unwrap()
        );
        for v in [
            Raw::Ascii("10.0.0.999"),
            s("example.com"),
            Raw::Ascii(""),
            Raw::Int(5),
            Raw::WrongType("Int64"),
        ] {
            assert_eq!(reason(addr(&v)), RejectReason::InvalidAddress, "{v:?}");
        }
    }

    #[test]
    fn port_values() {
        assert_eq!(port(&Raw::Ascii("443")).unwrap(), 443);
        assert_eq!(port(&s("0")).unwrap(), 0);
        assert_eq!(port(&Raw::Int(65535)).unwrap(), 65535);
        assert_eq!(port(&Raw::UInt(53)).unwrap(), 53);
        assert_eq!(port(&Raw::Float(443.0)).unwrap(), 443);
        for v in [
            Raw::Ascii("70000"),
            Raw::Ascii("-1"),
            Raw::Ascii("http"),
            Raw::Int(-1),
            Raw::UInt(65536),
            Raw::Float(1.5),
            Raw::Float(1e6),
            Raw::Bool(true),
            Raw::WrongType("String"),
        ] {
            assert_eq!(reason(port(&v)), RejectReason::InvalidPort, "{v:?}");
        }
        assert_eq!(
            port(&Raw::Ascii("70000")).unwrap_err().detail,
            port(&Raw::Int(70000)).unwrap_err().detail
        );
    }

    #[test]
    fn count_values() {
        assert_eq!(count(&Raw::Ascii("1200")).unwrap(), 1200);
        assert_eq!(count(&s("7")).unwrap(), 7);
        assert_eq!(count(&Raw::Int(5)).unwrap(), 5);
        assert_eq!(count(&Raw::UInt(u64::MAX)).unwrap(), u64::MAX);
        assert_eq!(count(&Raw::Float(12.0)).unwrap(), 12);
        for v in [
            Raw::Ascii("-5"),
            Raw::Ascii("1.5"),
            s("many"),
            Raw::Int(-5),
            Raw::Float(1.5),
            Raw::Float(f64::INFINITY),
            Raw::Float(-1.0),
            Raw::Bool(false),
            Raw::WrongType("Boolean"),
        ] {
            assert_eq!(reason(count(&v)), RejectReason::InvalidNumber, "{v:?}");
        }
        assert_eq!(
            count(&Raw::Ascii("-5")).unwrap_err().detail,
            count(&Raw::Int(-5)).unwrap_err().detail
        );
    }

    #[test]
    fn interval_values() {
        assert_eq!(interval(&Raw::Ascii("1.5")).unwrap(), 1.5);
        assert_eq!(interval(&s("0")).unwrap(), 0.0);
        assert_eq!(interval(&Raw::Float(0.25)).unwrap(), 0.25);
        assert_eq!(interval(&Raw::Int(2)).unwrap(), 2.0);
        assert_eq!(interval(&Raw::Span(1_500, TimeUnit::Millis)).unwrap(), 1.5);
        for v in [
            Raw::Ascii("-1"),
            Raw::Ascii("inf"),
            Raw::Ascii("NaN"),
            Raw::Float(-0.5),
            Raw::Float(f64::INFINITY),
            Raw::Int(-1),
            Raw::Span(-1, TimeUnit::Nanos),
            Raw::Bool(true),
            Raw::WrongType("String"),
        ] {
            assert_eq!(reason(interval(&v)), RejectReason::InvalidNumber, "{v:?}");
        }
    }

    #[test]
    fn bool_values() {
        assert!(boolean(&Raw::Ascii("T")).unwrap());
        assert!(!boolean(&s("F")).unwrap());
        assert!(boolean(&Raw::Bool(true)).unwrap());
        assert!(boolean(&Raw::Int(1)).unwrap());
        for v in [
            Raw::Ascii("maybe"),
            s("yes"),
            Raw::Int(2),
            Raw::Float(0.5),
            Raw::WrongType("Int64"),
        ] {
            assert_eq!(reason(boolean(&v)), RejectReason::InvalidNumber, "{v:?}");
        }
    }

    #[test]
    fn string_and_enum_values_never_fail() {
        assert_eq!(string(&Raw::Ascii("Cabc")), "Cabc");
        assert_eq!(string(&s("Cabc")), "Cabc");
        assert_eq!(string(&Raw::Int(7)), "7");
        assert_eq!(protocol(&Raw::Ascii("tcp")), Proto::Tcp);
        assert_eq!(protocol(&s("UDP")), Proto::Udp);
        assert_eq!(protocol(&Raw::Ascii("icmp")), Proto::Icmp);
        assert_eq!(protocol(&s("6")), Proto::Tcp);
        assert_eq!(protocol(&Raw::Ascii("sctp")), Proto::Other("sctp".into()));
        assert_eq!(protocol(&Raw::Unset), Proto::Other(String::new()));
    }

    #[test]
    fn conn_fields_are_zeeks() {
        let types: Vec<(&str, &str)> = conn::FIELDS
            .iter()
            .map(|f| (f.name, f.ty.as_str()))
            .collect();
        assert_eq!(
            types,
            [
                ("ts", "time"),
                ("id.orig_h", "addr"),
                ("id.resp_h", "addr"),
                ("uid", "string"),
                ("id.orig_p", "port"),
                ("id.resp_p", "port"),
                ("proto", "enum"),
                ("orig_bytes", "count"),
                ("resp_bytes", "count"),
                ("duration", "interval"),
                ("local_orig", "bool"),
            ]
        );
        let required: Vec<&str> = conn::FIELDS
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        assert_eq!(required, ["ts", "id.orig_h", "id.resp_h"]);
        assert_eq!(conn::FIELDS[conn::LOCAL_ORIG].name, "local_orig");
    }

    /// Each dns field's position names the field it stands for.
    #[test]
    fn dns_positions_name_their_fields() {
        use dns::*;
        let named = [
            (TS, "ts"),
            (ORIG_H, "id.orig_h"),
            (RTT, "rtt"),
            (TRANS_ID, "trans_id"),
            (ANSWERS, "answers"),
            (TTLS, "TTLs"),
            (UID, "uid"),
            (QUERY, "query"),
            (QTYPE_NAME, "qtype_name"),
            (RCODE_NAME, "rcode_name"),
        ];
        assert_eq!(named.len(), FIELDS.len());
        for (position, name) in named {
            assert_eq!(FIELDS[position].name, name);
        }
    }

    /// One conn record as each encoding would carry it: `None` is unset.
    struct Conn {
        ts: Option<&'static str>,
        orig_h: Option<&'static str>,
        resp_h: Option<&'static str>,
        orig_p: Option<i64>,
        resp_p: Option<i64>,
        orig_bytes: Option<i64>,
        resp_bytes: Option<i64>,
        duration: Option<f64>,
        local_orig: Option<&'static str>,
    }

    const GOOD: Conn = Conn {
        ts: Some("1782864000.25"),
        orig_h: Some("10.0.0.5"),
        resp_h: Some("160.79.104.10"),
        orig_p: Some(50000),
        resp_p: Some(443),
        orig_bytes: Some(1200),
        resp_bytes: Some(3400),
        duration: Some(1.5),
        local_orig: Some("T"),
    };

    /// A good record, then one bad value per field (and unset required fields).
    fn cases() -> Vec<Conn> {
        vec![
            GOOD,
            Conn {
                ts: Some("-5"),
                ..GOOD
            },
            Conn { ts: None, ..GOOD },
            Conn {
                orig_h: Some("10.0.0.999"),
                ..GOOD
            },
            Conn {
                resp_h: None,
                ..GOOD
            },
            Conn {
                orig_p: Some(70000),
                ..GOOD
            },
            Conn {
                resp_p: Some(-1),
                ..GOOD
            },
            Conn {
                orig_bytes: Some(-5),
                ..GOOD
            },
            Conn {
                resp_bytes: Some(-1),
                ..GOOD
            },
            Conn {
                duration: Some(-1.5),
                ..GOOD
            },
            Conn {
                local_orig: Some("X"),
                ..GOOD
            },
            // Two bad values: the first in check order is named.
            Conn {
                orig_bytes: Some(-5),
                orig_p: Some(70000),
                ..GOOD
            },
            Conn {
                orig_bytes: None,
                resp_bytes: None,
                duration: None,
                local_orig: None,
                orig_p: None,
                resp_p: None,
                ..GOOD
            },
        ]
    }

    fn tsv(cases: &[Conn]) -> String {
        let mut out = String::from(
            "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\tlocal_orig\n",
        );
        let t = |v: Option<&str>| v.unwrap_or("-").to_string();
        let n = |v: Option<i64>| v.map_or("-".into(), |v| v.to_string());
        for c in cases {
            let cells = [
                t(c.ts),
                "Cx".into(),
                t(c.orig_h),
                n(c.orig_p),
                t(c.resp_h),
                n(c.resp_p),
                "tcp".into(),
                c.duration.map_or("-".into(), |v| v.to_string()),
                n(c.orig_bytes),
                n(c.resp_bytes),
                t(c.local_orig),
            ];
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
        out
    }

    fn json(cases: &[Conn]) -> String {
        let mut out = String::new();
        for c in cases {
            let mut o = serde_json::Map::new();
            let mut put = |k: &str, v: Option<serde_json::Value>| {
                if let Some(v) = v {
                    o.insert(k.into(), v);
                }
            };
            put("_path", Some("conn".into()));
            put("ts", c.ts.map(|t| serde_json::from_str(t).unwrap()));
            put("uid", Some("Cx".into()));
            put("id.orig_h", c.orig_h.map(Into::into));
            put("id.orig_p", c.orig_p.map(Into::into));
            put("id.resp_h", c.resp_h.map(Into::into));
            put("id.resp_p", c.resp_p.map(Into::into));
            put("proto", Some("tcp".into()));
            put("duration", c.duration.map(Into::into));
            put("orig_bytes", c.orig_bytes.map(Into::into));
            put("resp_bytes", c.resp_bytes.map(Into::into));
            put("local_orig", c.local_orig.map(Into::into));
            out.push_str(&serde_json::Value::Object(o).to_string());
            out.push('\n');
        }
        out
    }

    fn parquet(cases: &[Conn], path: &std::path::Path) {
        use polars::prelude::*;
        let strs = |name: &str, f: fn(&Conn) -> Option<&'static str>| {
            Series::new(name.into(), cases.iter().map(f).collect::<Vec<_>>()).into_column()
        };
        let ints = |name: &str, f: fn(&Conn) -> Option<i64>| {
            Series::new(name.into(), cases.iter().map(f).collect::<Vec<_>>()).into_column()
        };
        let ts: Vec<Option<f64>> = cases
            .iter()
            .map(|c| c.ts.map(|t| t.parse().unwrap()))
            .collect();
        let duration: Vec<Option<f64>> = cases.iter().map(|c| c.duration).collect();
        let n = cases.len();
        let mut df = DataFrame::new_infer_height(vec![
            Series::new("ts".into(), ts).into_column(),
            Series::new("uid".into(), vec!["Cx"; n]).into_column(),
            strs("id.orig_h", |c| c.orig_h),
            ints("id.orig_p", |c| c.orig_p),
            strs("id.resp_h", |c| c.resp_h),
            ints("id.resp_p", |c| c.resp_p),
            Series::new("proto".into(), vec!["tcp"; n]).into_column(),
            Series::new("duration".into(), duration).into_column(),
            ints("orig_bytes", |c| c.orig_bytes),
            ints("resp_bytes", |c| c.resp_bytes),
            strs("local_orig", |c| c.local_orig),
        ])
        .unwrap();
        let file = std::fs::File::create(path).unwrap();
        ParquetWriter::new(file).finish(&mut df).unwrap();
    }

    /// Each item as (record number from 1, flow or (field, reason)).
    type Outcome = (u64, Result<FlowRecord, (String, RejectReason)>);

    fn outcomes(items: Vec<Item>, first_line: u64) -> Vec<Outcome> {
        items
            .into_iter()
            .filter_map(|i| match i {
                Item::Record(Record::Flow(mut f)) => {
                    f.provenance.line -= first_line - 1;
                    Some((f.provenance.line, Ok(f)))
                }
                Item::Reject(r) => Some((r.line - (first_line - 1), Err((r.field, r.reason)))),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_bad_value_is_rejected_alike_in_tsv_json_and_parquet() {
        let cases = cases();
        let options = ReaderOptions::default();
        let from_tsv = crate::read_text(crate::zeek_tsv::read, &tsv(&cases), &options);
        let want = outcomes(from_tsv, 4);
        let from_json = crate::read_text(
            |r, ctx, sink| crate::zeek_json::read(r, "conn", ctx, sink),
            &json(&cases),
            &options,
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conn.parquet");
        parquet(&cases, &path);
        let ctx = ReadContext {
            path: &path,
            file_index: 0,
            options: &options,
        };
        let mut from_parquet = Vec::new();
        let mut file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
        (crate::zeek_parquet::CONN.read)(&mut file, &ctx, &mut |i| {
            from_parquet.push(i);
            Ok(())
        })
        .unwrap();

        let named = |o: &[Outcome]| -> Vec<(u64, String, RejectReason)> {
            o.iter()
                .filter_map(|(l, r)| r.as_ref().err().map(|(f, r)| (*l, f.clone(), *r)))
                .collect()
        };
        assert_eq!(
            named(&want),
            vec![
                (2, "ts".into(), RejectReason::InvalidTimestamp),
                (3, "ts".into(), RejectReason::MissingField),
                (4, "id.orig_h".into(), RejectReason::InvalidAddress),
                (5, "id.resp_h".into(), RejectReason::MissingField),
                (6, "id.orig_p".into(), RejectReason::InvalidPort),
                (7, "id.resp_p".into(), RejectReason::InvalidPort),
                (8, "orig_bytes".into(), RejectReason::InvalidNumber),
                (9, "resp_bytes".into(), RejectReason::InvalidNumber),
                (10, "duration".into(), RejectReason::InvalidNumber),
                (11, "local_orig".into(), RejectReason::InvalidNumber),
                (12, "id.orig_p".into(), RejectReason::InvalidPort),
            ]
        );
        assert_eq!(want.len(), cases.len());
        assert_eq!(outcomes(from_json, 1), want, "JSON");
        assert_eq!(outcomes(from_parquet, 1), want, "Parquet");
    }

    /// A record read, or the field and reason of its reject.
    type ReadOutcome = Result<Record, (String, RejectReason)>;

    /// dns.log and ssl/http.log through the shared mappings: the same records, and the
    /// same rejects under the same fields, whether the log is TSV or JSON.
    #[test]
    fn dns_and_hostname_logs_read_alike_in_tsv_and_json() {
        type Row = [&'static str; 8];
        // ts, uid, orig_h, rtt, trans_id, query, answers, TTLs ("-" unset).
        let dns: [Row; 6] = [
            [
                "1782864000.5",
                "C1",
                "10.1.0.5",
                "0.25",
                "7",
                "api.openai.com",
                "a.example,162.159.140.245",
                "30.0,60.0",
            ],
            [
                "1782864001",
                "-",
                "10.1.0.6",
                "-",
                "-",
                "Claude.AI.",
                "160.79.104.10",
                "300",
            ],
            ["x", "C3", "10.1.0.7", "-", "-", "q.example", "-", "-"],
            [
                "1782864002",
                "C4",
                "10.1.0",
                "-",
                "-",
                "q.example",
                "-",
                "-",
            ],
            [
                "1782864003",
                "C5",
                "10.1.0.8",
                "-",
                "99999999999",
                "q.example",
                "-",
                "-",
            ],
            [
                "1782864004",
                "C6",
                "10.1.0.9",
                "-",
                "-",
                "q.example",
                "1.2.3.4",
                "-5",
            ],
        ];
        let tsv = {
            let mut t = String::from("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\tuid\tid.orig_h\trtt\ttrans_id\tquery\tanswers\tTTLs\n");
            for r in &dns {
                t.push_str(&r.join("\t"));
                t.push('\n');
            }
            t
        };
        let value = |v: &str| -> serde_json::Value {
            if v == "-" {
                serde_json::Value::Null
            } else {
                v.into()
            }
        };
        let list = |v: &str| -> serde_json::Value {
            if v == "-" {
                serde_json::Value::Null
            } else {
                v.split(',').map(serde_json::Value::from).collect()
            }
        };
        let json: String = dns
            .iter()
            .map(|r| {
                serde_json::json!({
                    "ts": r[0].parse::<f64>().map_or(value(r[0]), serde_json::Value::from),
                    "uid": value(r[1]), "id.orig_h": value(r[2]),
                    "rtt": r[3].parse::<f64>().map_or(value(r[3]), serde_json::Value::from),
                    "trans_id": r[4].parse::<u64>().map_or(value(r[4]), serde_json::Value::from),
                    "query": value(r[5]), "answers": list(r[6]),
                    "TTLs": if r[7] == "-" { serde_json::Value::Null } else {
                        r[7].split(',').map(|t| serde_json::Value::from(t.parse::<f64>().unwrap())).collect()
                    },
                })
                .to_string()
                    + "\n"
            })
            .collect();
        let options = ReaderOptions::default();
        let strip = |items: Vec<Item>, first: u64| -> Vec<(u64, ReadOutcome)> {
            items
                .into_iter()
                .filter_map(|i| match i {
                    Item::Record(Record::Dns(mut d)) => {
                        d.provenance.line -= first - 1;
                        Some((d.provenance.line, Ok(Record::Dns(d))))
                    }
                    Item::Reject(r) => Some((r.line - (first - 1), Err((r.field, r.reason)))),
                    _ => None,
                })
                .collect()
        };
        let from_tsv = strip(crate::read_text(crate::zeek_tsv::read, &tsv, &options), 7);
        let from_json = strip(
            crate::read_text(
                |r, ctx, sink| crate::zeek_json::read(r, "dns", ctx, sink),
                &json,
                &options,
            ),
            1,
        );
        let rejects: Vec<(u64, String, RejectReason)> = from_tsv
            .iter()
            .filter_map(|(l, r)| r.as_ref().err().map(|(f, r)| (*l, f.clone(), *r)))
            .collect();
        assert_eq!(
            rejects,
            vec![
                (3, "ts".into(), RejectReason::InvalidTimestamp),
                (4, "id.orig_h".into(), RejectReason::InvalidAddress),
                (5, "trans_id".into(), RejectReason::InvalidNumber),
                (6, "TTLs".into(), RejectReason::InvalidNumber),
            ]
        );
        match &from_tsv[0].1 {
            Ok(Record::Dns(d)) => {
                assert_eq!(d.response_ts, 1_782_864_000_750_000);
                assert_eq!(d.trans_id, Some(7));
                assert_eq!(d.answers.len(), 2);
                assert_eq!(d.answers[1].ttl, Some(60));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(from_json, from_tsv, "JSON reads as TSV does");

        // ssl.log: a name, an address-only name (filtered), an unset uid (rejected).
        let ssl = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tssl\n#fields\tts\tuid\tid.orig_h\tid.resp_h\tid.resp_p\tserver_name\n\
            1782864000\tC1\t10.1.0.5\t160.79.104.10\t443\tClaude.AI\n\
            1782864000\tC2\t10.1.0.5\t160.79.104.10\t443\t160.79.104.10\n\
            1782864000\t-\t10.1.0.5\t160.79.104.10\t443\tclaude.ai\n\
            1782864000\tC4\t10.1.0.5\t160.79.104.10\t443\t(empty)\n";
        let ssl_json = [
            r#"{"ts":1782864000,"uid":"C1","id.orig_h":"10.1.0.5","id.resp_h":"160.79.104.10","id.resp_p":443,"server_name":"Claude.AI"}"#,
            r#"{"ts":1782864000,"uid":"C2","id.orig_h":"10.1.0.5","id.resp_h":"160.79.104.10","id.resp_p":443,"server_name":"160.79.104.10"}"#,
            r#"{"ts":1782864000,"id.orig_h":"10.1.0.5","id.resp_h":"160.79.104.10","id.resp_p":443,"server_name":"claude.ai"}"#,
            r#"{"ts":1782864000,"uid":"C4","id.orig_h":"10.1.0.5","id.resp_h":"160.79.104.10","id.resp_p":443,"server_name":""}"#,
        ]
        .join("\n");
        let kinds = |items: Vec<Item>| -> Vec<String> {
            items
                .into_iter()
                .filter_map(|i| match i {
                    Item::Record(Record::Hostname(h)) => {
                        Some(format!("{} {} {:?}", h.uid, h.name, h.dst_port))
                    }
                    Item::Filtered { reason, .. } => Some(reason.to_string()),
                    Item::Reject(r) => Some(format!("{} {:?}", r.field, r.reason)),
                    _ => None,
                })
                .collect()
        };
        let want = vec![
            "C1 claude.ai Some(443)".to_string(),
            "no_server_name".into(),
            format!("uid {:?}", RejectReason::MissingField),
            "no_server_name".into(),
        ];
        assert_eq!(
            kinds(crate::read_text(crate::zeek_tsv::read, ssl, &options)),
            want
        );
        let from_json = crate::read_text(
            |r, ctx, sink| crate::zeek_json::read(r, "ssl", ctx, sink),
            &ssl_json,
            &options,
        );
        assert_eq!(kinds(from_json), want);
    }
}
