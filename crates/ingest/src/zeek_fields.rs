//! One definition of the Zeek conn.log fields a flow is built from, and one parser per
//! Zeek type, shared by the TSV, JSON and Parquet readers.
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
use xborder_model::schema::{ByteDirection, FlowRecord, Micros, Proto, Provenance, Uid};

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

/// Where the conn mapping takes each field's raw value from: a TSV line, a JSON object or
/// a Parquet row.
pub trait ConnValues {
    /// The raw value of conn field `field` (an index into [`conn::FIELDS`]), or the
    /// encoding's own error (a JSON string that does not unescape).
    fn raw(&self, field: usize) -> Result<Raw<'_>, FieldError>;
    /// Why required field `field` has no value, in the encoding's words (unset, or no
    /// such column).
    fn missing(&self, field: usize) -> &'static str;
}

/// A conn record's flow, or the first bad field (an index into [`conn::FIELDS`]) and why.
pub fn flow<V: ConnValues + ?Sized>(
    values: &V,
    provenance: Provenance,
) -> Result<FlowRecord, (usize, FieldError)> {
    let raw = |f: usize| values.raw(f).map_err(|e| (f, e));
    let required = |f: usize| match raw(f)? {
        Raw::Unset => Err((
            f,
            bad(RejectReason::MissingField, values.missing(f).to_string()),
        )),
        r => Ok(r),
    };
    let ts = time(&required(conn::TS)?).map_err(|e| (conn::TS, e))?;
    let src_ip = addr(&required(conn::ORIG_H)?).map_err(|e| (conn::ORIG_H, e))?;
    let dst_ip = addr(&required(conn::RESP_H)?).map_err(|e| (conn::RESP_H, e))?;
    let uid = match raw(conn::UID)? {
        Raw::Unset => None,
        r => Some(Uid::from(&*string(&r))),
    };
    Ok(FlowRecord {
        ts,
        uid,
        src_ip,
        src_port: optional(raw(conn::ORIG_P)?, conn::ORIG_P, port)?,
        dst_ip,
        dst_port: optional(raw(conn::RESP_P)?, conn::RESP_P, port)?,
        proto: protocol(&raw(conn::PROTO)?),
        bytes_out: optional(raw(conn::ORIG_BYTES)?, conn::ORIG_BYTES, count)?,
        bytes_in: optional(raw(conn::RESP_BYTES)?, conn::RESP_BYTES, count)?,
        duration: optional(raw(conn::DURATION)?, conn::DURATION, interval)?,
        local_orig: optional(raw(conn::LOCAL_ORIG)?, conn::LOCAL_ORIG, boolean)?,
        direction: ByteDirection::Biflow,
        provenance,
    })
}

/// An optional field's value: `None` when unset, else parsed by its type's parser.
#[inline]
fn optional<T>(
    raw: Raw<'_>,
    field: usize,
    parse: impl Fn(&Raw<'_>) -> Result<T, FieldError>,
) -> Result<Option<T>, (usize, FieldError)> {
    match raw {
        Raw::Unset => Ok(None),
        r => parse(&r).map(Some).map_err(|e| (field, e)),
    }
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
}
