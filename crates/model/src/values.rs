//! Field parsers shared by the readers. Each returns a reason on failure so the reader
//! can name the field in its reject.

use chrono::DateTime;

use crate::reject::RejectReason;
use crate::schema::Micros;

/// Earliest and latest timestamps accepted: 1970 to 2999. Anything else is a corrupt field,
/// and refusing it here keeps every later `Micros` computation far from overflow.
const MAX_EPOCH_SECONDS: i64 = 32_503_680_000;

/// A field that failed to parse, with the reason and a human detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub reason: RejectReason,
    pub detail: String,
}

fn err(reason: RejectReason, detail: String) -> FieldError {
    FieldError { reason, detail }
}

/// Epoch seconds written as a decimal (`1517336042.279652`), parsed exactly to microseconds.
pub fn parse_epoch_decimal(s: &str) -> Result<Micros, FieldError> {
    match plain_epoch_decimal(s) {
        Some(micros) => Ok(micros),
        None => parse_epoch_decimal_general(s),
    }
}

/// `10^(6 - n)`: what a fraction of `n` digits is multiplied by to make microseconds.
const SCALE: [i64; 7] = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];

/// The common spelling, digits with an optional fraction and nothing else, in one pass;
/// `None` for anything else (including what is out of range), which the general parser
/// then accepts or rejects with its reason. Equal to it wherever it answers.
pub fn plain_epoch_decimal(s: &str) -> Option<Micros> {
    let b = s.as_bytes();
    // Zeek's own spelling, ten digits and six (every time from 2001 to 2286), read a word
    // at a time: the loop below took a multiply and two branches a byte.
    if let Some(micros) = ten_dot_six(b) {
        return Some(micros);
    }
    let mut secs = 0i64;
    let mut int_len = 0;
    for c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        int_len += 1;
        if int_len > 12 {
            return None;
        }
        secs = secs * 10 + i64::from(d);
    }
    if int_len == 0 || secs > MAX_EPOCH_SECONDS {
        return None;
    }
    let mut micros = 0i64;
    let mut digits = 0;
    match &b[int_len..] {
        [] => {}
        [b'.', frac @ ..] => {
            for c in frac {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    return None;
                }
                if digits < 6 {
                    micros = micros * 10 + i64::from(d);
                    digits += 1;
                }
            }
        }
        _ => return None,
    }
    Some(secs * 1_000_000 + micros * SCALE[digits])
}

/// `DDDDDDDDDD.DDDDDD` as microseconds; `None` for any other shape or a byte that is not
/// a digit. Ten digits of seconds are within [`MAX_EPOCH_SECONDS`].
#[inline]
fn ten_dot_six(b: &[u8]) -> Option<Micros> {
    let b: &[u8; 17] = b.try_into().ok()?;
    if b[10] != b'.' {
        return None;
    }
    let (seconds, fraction) = (&b[..10], &b[11..]);
    let (high, low) = seconds.split_first_chunk::<8>()?;
    let (high, low) = (eight_digits(*high)?, up_to_eight_digits(low)?);
    let micros = six_digits(fraction)?;
    // At most 9,999,999,999,999,999: no overflow.
    Some(((high * 100 + low) * 1_000_000 + micros) as Micros)
}

/// Eight ASCII digits, the first in the lowest byte, as their value; `None` if any byte
/// is not a digit.
#[inline]
fn eight_digits(digits: [u8; 8]) -> Option<u64> {
    digit_word(u64::from_le_bytes(digits))
}

/// [`eight_digits`] of a word. The check and the sum take a few operations on the word
/// as a whole (the method of simdjson's eight-digit parse), not one per digit.
#[inline]
fn digit_word(v: u64) -> Option<u64> {
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    // A byte is a digit when its high nibble is 3 both as it is and with 6 added (0x30
    // to 0x39). A byte of 0xFA or more carries into the next, but fails itself.
    let high = v & HIGH_NIBBLES;
    let high_plus_six = v.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES;
    if high | (high_plus_six >> 4) != 0x3333_3333_3333_3333 {
        return None;
    }
    // Pairs of digits, then fours, then all eight, each step one multiply and shift.
    let v = (v & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561) >> 8;
    let v = (v & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601) >> 16;
    Some((v & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001) >> 32)
}

/// One to eight ASCII digits as their value; `None` for any other length or a byte that
/// is not a digit. Leading zeros are added to make a word of eight; each length copies a
/// fixed number of bytes.
#[inline]
fn up_to_eight_digits(b: &[u8]) -> Option<u64> {
    let mut word = [b'0'; 8];
    match b.len() {
        1 => word[7..].copy_from_slice(b),
        2 => word[6..].copy_from_slice(b),
        3 => word[5..].copy_from_slice(b),
        4 => word[4..].copy_from_slice(b),
        5 => word[3..].copy_from_slice(b),
        6 => word[2..].copy_from_slice(b),
        7 => word[1..].copy_from_slice(b),
        8 => word.copy_from_slice(b),
        _ => return None,
    }
    eight_digits(word)
}

fn parse_epoch_decimal_general(s: &str) -> Result<Micros, FieldError> {
    let bad = || {
        err(
            RejectReason::InvalidTimestamp,
            format!("`{s}` is not epoch seconds"),
        )
    };
    let s = s.trim();
    let (int_part, frac_part) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int_part.is_empty() || !int_part.bytes().all(|b| b.is_ascii_digit()) {
        // Scientific notation and other float spellings fall back to a float parse.
        return parse_epoch_float(s).ok_or_else(bad);
    }
    if !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return parse_epoch_float(s).ok_or_else(bad);
    }
    if int_part.len() > 12 {
        return Err(out_of_range(s));
    }
    let secs: i64 = int_part.parse().map_err(|_| bad())?;
    if secs > MAX_EPOCH_SECONDS {
        return Err(out_of_range(s));
    }
    let mut micros: i64 = 0;
    let mut digits = 0;
    for b in frac_part.bytes().take(6) {
        micros = micros * 10 + i64::from(b - b'0');
        digits += 1;
    }
    while digits < 6 {
        micros *= 10;
        digits += 1;
    }
    Ok(secs * 1_000_000 + micros)
}

fn parse_epoch_float(s: &str) -> Option<Micros> {
    epoch_seconds_f64(s.parse().ok()?)
}

/// Epoch seconds held as a float (Zeek's `ts` in JSON and Parquet), to the nearest
/// microsecond: exact for values written with six decimals, since µs epochs stay below 2^53.
pub fn epoch_seconds_f64(v: f64) -> Option<Micros> {
    if !v.is_finite() || v < 0.0 || v > MAX_EPOCH_SECONDS as f64 {
        return None;
    }
    Some((v * 1e6).round() as i64)
}

/// Microseconds since the epoch, refused outside 1970..2999 like every parsed time.
pub fn checked_micros(micros: i64) -> Result<Micros, FieldError> {
    if (0..=MAX_EPOCH_SECONDS * 1_000_000).contains(&micros) {
        Ok(micros)
    } else {
        Err(out_of_range(&format!("{micros} µs")))
    }
}

fn out_of_range(s: &str) -> FieldError {
    err(
        RejectReason::InvalidTimestamp,
        format!("`{s}` is outside 1970..2999"),
    )
}

/// An RFC 3339 / ISO-8601 timestamp with an explicit offset. A timestamp without a zone
/// is refused: guessing the zone would shift every figure by hours.
pub fn parse_iso_timestamp(s: &str) -> Result<Micros, FieldError> {
    let s = s.trim();
    match DateTime::parse_from_rfc3339(s) {
        Ok(dt) => {
            let micros = dt.timestamp_micros();
            if !(0..=MAX_EPOCH_SECONDS * 1_000_000).contains(&micros) {
                return Err(out_of_range(s));
            }
            Ok(micros)
        }
        Err(_) => {
            let detail = if chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
            {
                format!("`{s}` has no time zone offset")
            } else {
                format!("`{s}` is not an RFC 3339 timestamp")
            };
            Err(err(RejectReason::InvalidTimestamp, detail))
        }
    }
}

/// A timestamp in any of the spellings exporters use: RFC 3339 (`2026-07-01T08:00:00Z`,
/// `+08:00`), ISO 8601 with an offset without a colon (`-0500`, Suricata) or with a space
/// for the `T`, or epoch time whose unit is told by its magnitude (see [`parse_epoch_auto`]).
/// A date-time without a zone is refused, as in [`parse_iso_timestamp`].
pub fn parse_timestamp_any(s: &str) -> Result<Micros, FieldError> {
    let t = s.trim();
    if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !t.is_empty() {
        return parse_epoch_auto(t);
    }
    if let Ok(m) = parse_iso_timestamp(t) {
        return Ok(m);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
            return in_range(t, dt.timestamp_micros());
        }
    }
    if let Some(rest) = t.strip_suffix(" UTC").or_else(|| t.strip_suffix('Z')) {
        if let Some(naive) = parse_naive(rest) {
            return in_range(t, naive.and_utc().timestamp_micros());
        }
    }
    parse_iso_timestamp(t)
}

/// A date-time without a zone, in the common spellings (`2026-07-01 08:00:00.123`,
/// `2026/07/01 08:00:00`, `2026-07-01T08:00:00`).
pub fn parse_naive(s: &str) -> Option<chrono::NaiveDateTime> {
    let s = s.trim();
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y/%m/%d %H:%M:%S%.f",
        "%Y/%m/%dT%H:%M:%S%.f",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
}

/// A zone-less local time as UTC microseconds, at the user's `--log-timezone` offset
/// (UTC when none was given; the reader says so in a note).
pub fn local_to_micros(
    naive: chrono::NaiveDateTime,
    offset: Option<chrono::FixedOffset>,
) -> Result<Micros, FieldError> {
    let utc = naive.and_utc().timestamp_micros()
        - i64::from(offset.map_or(0, |o| o.local_minus_utc())) * 1_000_000;
    in_range(&naive.to_string(), utc)
}

fn in_range(s: &str, micros: i64) -> Result<Micros, FieldError> {
    if (0..=MAX_EPOCH_SECONDS * 1_000_000).contains(&micros) {
        Ok(micros)
    } else {
        Err(out_of_range(s))
    }
}

/// Epoch time with its unit told by magnitude, since exporters disagree (OCSF says
/// milliseconds, its own Zeek samples use seconds; goflow2 writes nanoseconds): up to
/// 10^11 is seconds (to year 5138), then milliseconds to 10^14, microseconds to 10^17,
/// and nanoseconds beyond. Only seconds may carry a fraction.
pub fn parse_epoch_auto(s: &str) -> Result<Micros, FieldError> {
    let t = s.trim();
    if t.contains('.') || t.contains(['e', 'E']) {
        return parse_epoch_decimal(t);
    }
    let v: u128 = t.parse().map_err(|_| {
        err(
            RejectReason::InvalidTimestamp,
            format!("`{s}` is not an epoch time"),
        )
    })?;
    epoch_integer(v).map_err(|_| out_of_range(t))
}

/// An integer epoch time whose unit is told by magnitude, as in [`parse_epoch_auto`]
/// (typed columns: Parquet `ts` written as Int64 micro- or nanoseconds).
pub fn epoch_integer(v: u128) -> Result<Micros, FieldError> {
    let micros = if v < 100_000_000_000 {
        v * 1_000_000
    } else if v < 100_000_000_000_000 {
        v * 1_000
    } else if v < 100_000_000_000_000_000 {
        v
    } else {
        v / 1_000
    };
    match i64::try_from(micros) {
        Ok(m) if (0..=MAX_EPOCH_SECONDS * 1_000_000).contains(&m) => Ok(m),
        _ => Err(out_of_range(&v.to_string())),
    }
}

/// A non-negative integer written as an integer, a string of one, or a whole float
/// (`12.0`); exporters round-trip counters through floats and strings.
pub fn parse_count_lenient(s: &str) -> Result<u64, FieldError> {
    let t = s.trim();
    if let Ok(v) = t.parse::<u64>() {
        return Ok(v);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 => Ok(v as u64),
        _ => Err(err(
            RejectReason::InvalidNumber,
            format!("`{s}` is not a non-negative integer"),
        )),
    }
}

/// A run of at most `max_digits` (19 or fewer) ASCII digits and nothing else, as a
/// number; `None` otherwise. The common case of every integer field, without the
/// Unicode trimming and sign handling of the general parse.
fn plain_digits(s: &str, max_digits: usize) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > max_digits.min(19) {
        return None;
    }
    // Up to sixteen digits a word of eight at a time; only longer counts take the loop.
    if b.len() <= 8 {
        return up_to_eight_digits(b);
    }
    if let Some((high, low)) = b
        .split_last_chunk::<8>()
        .filter(|(high, _)| high.len() <= 8)
    {
        return Some(up_to_eight_digits(high)? * 100_000_000 + eight_digits(*low)?);
    }
    digits_a_byte_at_a_time(b)
}

/// Up to nineteen ASCII digits as their value (no overflow), a byte at a time.
fn digits_a_byte_at_a_time(b: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u64::from(d);
    }
    Some(v)
}

/// A port in its plain spelling (digits only, at most 65535), as [`parse_port`] reads
/// it; `None` for anything else.
pub fn plain_port(s: &str) -> Option<u16> {
    // Five digits at most: a byte at a time is as quick as a word here.
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 5 {
        return None;
    }
    digits_a_byte_at_a_time(b).and_then(|v| u16::try_from(v).ok())
}

/// A count in its plain spelling (at most 19 digits and nothing else), as
/// [`parse_count`] reads it; `None` for anything else.
pub fn plain_count(s: &str) -> Option<u64> {
    plain_digits(s, 19)
}

pub fn parse_port(s: &str) -> Result<u16, FieldError> {
    if let Some(v) = plain_port(s) {
        return Ok(v);
    }
    s.trim().parse::<u16>().map_err(|_| {
        err(
            RejectReason::InvalidPort,
            format!("`{s}` is not a port (0-65535)"),
        )
    })
}

pub fn parse_count(s: &str) -> Result<u64, FieldError> {
    if let Some(v) = plain_count(s) {
        return Ok(v);
    }
    s.trim().parse::<u64>().map_err(|_| {
        err(
            RejectReason::InvalidNumber,
            format!("`{s}` is not a non-negative integer"),
        )
    })
}

/// A non-negative, finite number of seconds.
pub fn parse_seconds(s: &str) -> Result<f64, FieldError> {
    if let Some(v) = plain_seconds(s) {
        return Ok(v);
    }
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(err(
            RejectReason::InvalidNumber,
            format!("`{s}` is not a non-negative number of seconds"),
        )),
    }
}

/// Powers of ten exact as doubles, for [`plain_seconds`].
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Exactly six ASCII digits as their value.
#[inline]
fn six_digits(b: &[u8]) -> Option<u64> {
    let [d0, d1, d2, d3, d4, d5] = *b else {
        return None;
    };
    eight_digits([b'0', b'0', d0, d1, d2, d3, d4, d5])
}

/// Digits with an optional fraction, at most 15 digits in all, as the nearest double:
/// the digits as an integer (exact below 2^53) divided by a power of ten (exact up to
/// 10^22) is one correctly rounded division, so it equals the general parse. `None`
/// for anything else.
pub fn plain_seconds(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    // Zeek's own spelling, six digits after the point (`%.6f`), read a word at a time.
    if let Some(at) = b.len().checked_sub(7).filter(|&at| b[at] == b'.') {
        if let (Some(int), Some(frac)) = (up_to_eight_digits(&b[..at]), six_digits(&b[at + 1..])) {
            // At most fourteen digits: exact as a u64 and below 2^53.
            return Some((int * 1_000_000 + frac) as f64 / POW10[6]);
        }
    }
    if b.len() > 16 {
        return None;
    }
    let mut v = 0u64;
    let mut dot = None;
    for (i, c) in b.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d <= 9 {
            v = v * 10 + u64::from(d);
        } else if *c == b'.' && dot.is_none() {
            dot = Some(i);
        } else {
            return None;
        }
    }
    let (int_len, frac_len) = match dot {
        Some(i) => (i, b.len() - i - 1),
        None => (b.len(), 0),
    };
    if int_len == 0 || int_len + frac_len > 15 {
        return None;
    }
    Some(v as f64 / POW10[frac_len])
}

/// A DNS TTL in seconds; fractional values (Zeek writes `60.000000`) are truncated.
pub fn parse_ttl(s: &str) -> Result<u32, FieldError> {
    let v = parse_seconds(s)?;
    Ok(v.min(f64::from(u32::MAX)) as u32)
}

/// A boolean in Zeek's own spelling (`T` or `F`, nothing to trim), as [`parse_bool`]
/// reads it; `None` for anything else.
pub fn plain_bool(s: &str) -> Option<bool> {
    match s {
        "T" => Some(true),
        "F" => Some(false),
        _ => None,
    }
}

pub fn parse_bool(s: &str) -> Result<bool, FieldError> {
    // The plain spelling before the (Unicode) trim.
    if let Some(v) = plain_bool(s) {
        return Ok(v);
    }
    match s.trim() {
        "T" | "t" | "true" | "TRUE" | "1" => Ok(true),
        "F" | "f" | "false" | "FALSE" | "0" => Ok(false),
        other => Err(err(
            RejectReason::InvalidNumber,
            format!("`{other}` is not a boolean (T/F)"),
        )),
    }
}

pub fn parse_address(s: &str) -> Result<std::net::IpAddr, FieldError> {
    crate::schema::parse_ip(s).ok_or_else(|| {
        err(
            RejectReason::InvalidAddress,
            format!("`{s}` is not an IPv4 or IPv6 address"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings near the common spellings: digits, dots, signs, spaces, exponents,
    /// lengths around every limit.
    fn near_miss(rng: &mut crate::rng::Rng) -> String {
        const BYTES: &[u8] = b"0123456789012345678901234567890123456789.. +-eE_x";
        let len = rng.below(24) as usize;
        (0..len)
            .map(|_| char::from(BYTES[rng.below(BYTES.len() as u64) as usize]))
            .collect()
    }

    /// Digits in the shapes the word-at-a-time paths read (up to sixteen digits, a point,
    /// up to eight after it), half of them with one byte changed to a near miss: the
    /// bytes either side of the digits, a point, a space, a sign, a letter.
    fn shaped(rng: &mut crate::rng::Rng) -> String {
        const MISSES: &[u8] = b"/:. +-eE\x7f\x00";
        let int_len = rng.below(17) as usize;
        let mut b: Vec<u8> = (0..int_len).map(|_| b'0' + rng.below(10) as u8).collect();
        if rng.below(3) > 0 {
            b.push(b'.');
            b.extend((0..rng.below(9)).map(|_| b'0' + rng.below(10) as u8));
        }
        if !b.is_empty() && rng.below(2) == 0 {
            let at = rng.below(b.len() as u64) as usize;
            b[at] = MISSES[rng.below(MISSES.len() as u64) as usize];
        }
        String::from_utf8(b).unwrap_or_default()
    }

    /// Each fast path answers exactly as the general parse it stands in front of.
    #[test]
    fn fast_paths_agree_with_the_general_parsers() {
        let mut rng = crate::rng::Rng::new(2026);
        let mut samples: Vec<String> = (0..200_000).map(|_| near_miss(&mut rng)).collect();
        samples.extend((0..200_000).map(|_| shaped(&mut rng)));
        samples.extend(
            [
                "0",
                "65535",
                "65536",
                "18446744073709551615",
                "18446744073709551616",
                "9999999999999999999",
                "1517336042.279652",
                "9999999999.999999",
                "0000000000.000000",
                "1517336042.27965:",
                "151733604/.279652",
                "1517336042:279652",
                "12345678.123456",
                "123456789.123456",
                "0.000000",
                "1517336042.",
                "32503680000",
                "32503680000.000001",
                "32503680001",
                "999999999999",
                "0000000000001",
                "1e9",
                ".5",
                "5.",
                "0.1",
                "0.3",
                "123456789012345",
                "1234567890123456",
                "12345678901234.5",
                " 5",
                "5 ",
                "+5",
                "-0",
                "",
            ]
            .map(String::from),
        );
        for s in &samples {
            assert_eq!(
                parse_epoch_decimal(s),
                parse_epoch_decimal_general(s),
                "epoch `{s}`"
            );
            assert_eq!(
                parse_count(s).ok(),
                s.trim().parse::<u64>().ok(),
                "count `{s}`"
            );
            assert_eq!(
                parse_port(s).ok(),
                s.trim().parse::<u16>().ok(),
                "port `{s}`"
            );
            let general = match s.trim().parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Some(v.to_bits()),
                _ => None,
            };
            assert_eq!(
                parse_seconds(s).ok().map(f64::to_bits),
                general,
                "seconds `{s}`"
            );
        }
        for s in [
            "T", "F", " T", "F ", "t", "f", "true", "FALSE", "1", "0", "TF", "", "-",
        ] {
            let general = match s.trim() {
                "T" | "t" | "true" | "TRUE" | "1" => Some(true),
                "F" | "f" | "false" | "FALSE" | "0" => Some(false),
                _ => None,
            };
            assert_eq!(parse_bool(s).ok(), general, "bool `{s}`");
        }
    }

    #[test]
    fn epoch_decimal_is_exact_to_the_microsecond() {
        assert_eq!(
            parse_epoch_decimal("1517336042.279652").unwrap(),
            1_517_336_042_279_652
        );
        assert_eq!(
            parse_epoch_decimal("1517336042").unwrap(),
            1_517_336_042_000_000
        );
        assert_eq!(
            parse_epoch_decimal("1517336042.5").unwrap(),
            1_517_336_042_500_000
        );
        assert_eq!(parse_epoch_decimal("1.5e9").unwrap(), 1_500_000_000_000_000);
        assert!(parse_epoch_decimal("-5").is_err());
        assert!(parse_epoch_decimal("abc").is_err());
        assert!(parse_epoch_decimal("99999999999999999999").is_err());
        assert!(parse_epoch_decimal("NaN").is_err());
    }

    #[test]
    fn iso_timestamps_need_a_zone() {
        assert_eq!(
            parse_iso_timestamp("2026-07-01T00:00:01.5Z").unwrap(),
            1_782_864_001_500_000
        );
        assert_eq!(
            parse_iso_timestamp("2026-07-01T08:00:01.5+08:00").unwrap(),
            1_782_864_001_500_000
        );
        let e = parse_iso_timestamp("2026-07-01T00:00:01").unwrap_err();
        assert!(e.detail.contains("no time zone"));
    }

    #[test]
    fn timestamps_in_every_spelling() {
        let want = 1_644_331_231_195_265; // 2022-02-08T14:40:31.195265Z
        for s in [
            "2022-02-08T09:40:31.195265-0500",
            "2022-02-08T09:40:31.195265-05:00",
            "2022-02-08T14:40:31.195265Z",
            "2022-02-08 14:40:31.195265+0000",
            "1644331231.195265",
        ] {
            assert_eq!(parse_timestamp_any(s).unwrap(), want, "{s}");
        }
        assert_eq!(
            parse_timestamp_any("1644331231").unwrap(),
            1_644_331_231_000_000
        );
        assert_eq!(
            parse_timestamp_any("1644331231195").unwrap(),
            1_644_331_231_195_000
        );
        assert_eq!(parse_timestamp_any("1644331231195265").unwrap(), want);
        assert_eq!(parse_timestamp_any("1644331231195265123").unwrap(), want);
        assert!(parse_timestamp_any("2022-02-08T14:40:31").is_err());
        assert!(parse_timestamp_any("99999999999999999999999999").is_err());
    }

    #[test]
    fn local_times_shift_by_the_given_offset() {
        let naive = parse_naive("2026/07/10 08:00:00").unwrap();
        let east8 = chrono::FixedOffset::east_opt(8 * 3600);
        assert_eq!(
            local_to_micros(naive, east8).unwrap(),
            parse_timestamp_any("2026-07-10T00:00:00Z").unwrap()
        );
        assert_eq!(
            local_to_micros(naive, None).unwrap(),
            parse_timestamp_any("2026-07-10T08:00:00Z").unwrap()
        );
    }

    #[test]
    fn numbers_and_ports() {
        assert_eq!(parse_port("443").unwrap(), 443);
        assert!(parse_port("70000").is_err());
        assert!(parse_count("-1").is_err());
        assert_eq!(parse_ttl("59.9").unwrap(), 59);
        assert!(parse_seconds("inf").is_err());
        assert!(parse_bool("T").unwrap());
    }
}
