//! Syslog framing shared by the firewall and DNS-server readers: an optional `<PRI>`,
//! then a timestamp in one of the spellings relays and devices write (`Oct 10 12:34:56`
//! without a year, `Oct 10 2018 12:34:56` as Cisco ASA writes it, `Oct  9 …` with a padded
//! day, or an RFC 3339 time), then the rest of the message.
//!
//! Syslog times usually carry no zone (read at `--log-timezone`) and often no year (taken
//! from `--assume-year`); neither is ever guessed silently.

use chrono::{NaiveDate, NaiveDateTime};

use super::values::{self, FieldError};
use super::{ReaderOptions, RejectReason};
use xborder_model::schema::Micros;

/// A timestamp found at the start of a syslog line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// Date and time without a zone.
    Local(NaiveDateTime),
    /// Month, day and time without a year (`Oct 10 12:34:56`).
    NoYear {
        month: u32,
        day: u32,
        secs: u32,
        micros: u32,
    },
    /// An instant with an explicit zone (RFC 3339 relays).
    Utc(Micros),
}

impl Stamp {
    /// True when turning this into UTC used `--log-timezone` (or assumed UTC).
    pub fn is_local(&self) -> bool {
        !matches!(self, Stamp::Utc(_))
    }

    /// UTC microseconds: local times at `--log-timezone`, a missing year from
    /// `--assume-year` (refused when none was given).
    pub fn to_micros(self, options: &ReaderOptions) -> Result<Micros, FieldError> {
        match self {
            Stamp::Utc(m) => Ok(m),
            Stamp::Local(n) => values::local_to_micros(n, options.log_timezone),
            Stamp::NoYear {
                month,
                day,
                secs,
                micros,
            } => {
                let Some(year) = options.assume_year else {
                    return Err(FieldError {
                        reason: RejectReason::TimestampWithoutYear,
                        detail: "the syslog timestamp has no year; set --assume-year".into(),
                    });
                };
                let naive = NaiveDate::from_ymd_opt(year, month, day)
                    .and_then(|d| {
                        d.and_hms_micro_opt(secs / 3600, secs / 60 % 60, secs % 60, micros)
                    })
                    .ok_or_else(|| FieldError {
                        reason: RejectReason::InvalidTimestamp,
                        detail: format!("{year}-{month:02}-{day:02} is not a date"),
                    })?;
                values::local_to_micros(naive, options.log_timezone)
            }
        }
    }
}

/// Strip a leading `<PRI>` (`<30>`), if any.
pub fn strip_pri(line: &str) -> &str {
    let t = line.trim_start();
    if let Some(rest) = t.strip_prefix('<') {
        if let Some((pri, after)) = rest.split_once('>') {
            if !pri.is_empty() && pri.len() <= 3 && pri.bytes().all(|b| b.is_ascii_digit()) {
                return after;
            }
        }
    }
    t
}

/// Month number of a three-letter English month name.
pub fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = name.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| *m == lower)
        .map(|i| i as u32 + 1)
}

/// `hh:mm:ss[.frac]` as (seconds of day, microseconds).
pub fn parse_clock(s: &str) -> Option<(u32, u32)> {
    let (hms, frac) = match s.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let mut parts = hms.split(':');
    let h: u32 = two_digits(parts.next()?)?;
    let m: u32 = two_digits(parts.next()?)?;
    let sec: u32 = two_digits(parts.next()?)?;
    if parts.next().is_some() || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let micros = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            let mut v: u32 = 0;
            for b in f.bytes().chain(std::iter::repeat(b'0')).take(6) {
                v = v * 10 + u32::from(b - b'0');
            }
            v
        }
        Some(_) => return None,
    };
    Some((h * 3600 + m * 60 + sec.min(59), micros))
}

fn two_digits(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The timestamp at the start of `s` (after any `<PRI>`) and the text after it. `None`
/// when the line does not start with a timestamp.
pub fn leading_timestamp(s: &str) -> Option<(Stamp, &str)> {
    let s = strip_pri(s).trim_start();
    let first = s.split_whitespace().next()?;
    if first.as_bytes().first()?.is_ascii_digit() {
        // RFC 3339 / ISO (`2018-10-10T12:34:56Z`, `2018-10-10T12:34:56.123+02:00`).
        let token = first.trim_end_matches(':');
        let rest = s.get(first.len()..)?;
        if let Ok(m) = values::parse_timestamp_any(token) {
            if token.contains('-') {
                return Some((Stamp::Utc(m), rest));
            }
        }
        return values::parse_naive(token).map(|n| (Stamp::Local(n), rest));
    }
    let month = month_number(first)?;
    let mut rest = s.get(first.len()..)?.trim_start();
    let (day_tok, after) = split_token(rest)?;
    let day = two_digits(day_tok)?;
    rest = after;
    let (tok, after) = split_token(rest)?;
    let (year, clock_tok, after) = if tok.len() == 4 && tok.bytes().all(|b| b.is_ascii_digit()) {
        let (clock, after2) = split_token(after)?;
        (tok.parse::<i32>().ok(), clock, after2)
    } else {
        (None, tok, after)
    };
    // Cisco writes `Oct 10 2018 12:34:56: %ASA-…` with a colon after the time.
    let (secs, micros) = parse_clock(clock_tok.trim_end_matches(':'))?;
    let stamp = match year {
        Some(y) => {
            let naive = NaiveDate::from_ymd_opt(y, month, day)?.and_hms_micro_opt(
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
                micros,
            )?;
            Stamp::Local(naive)
        }
        None => {
            // Reject impossible dates now, whatever the assumed year (Feb 29 is allowed).
            NaiveDate::from_ymd_opt(2024, month, day)?;
            Stamp::NoYear {
                month,
                day,
                secs,
                micros,
            }
        }
    };
    Some((stamp, after))
}

/// The next whitespace-delimited token and the text after it.
fn split_token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    match s.find(char::is_whitespace) {
        Some(i) => Some((s.get(..i)?, s.get(i..)?)),
        None => Some((s, "")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(year: Option<i32>, tz_hours: Option<i32>) -> ReaderOptions {
        ReaderOptions {
            assume_year: year,
            log_timezone: tz_hours.and_then(|h| chrono::FixedOffset::east_opt(h * 3600)),
            ..ReaderOptions::default()
        }
    }

    #[test]
    fn spellings_with_and_without_year() {
        let (st, rest) = leading_timestamp("<30>Oct 10 2018 12:34:56 host x").unwrap();
        assert_eq!(rest.trim(), "host x");
        assert_eq!(
            st.to_micros(&opts(None, None)).unwrap(),
            1_539_174_896_000_000
        );
        let (st, _) = leading_timestamp("Mar  9 23:59:59 infoblox named").unwrap();
        assert!(st.to_micros(&opts(None, None)).is_err());
        assert_eq!(
            st.to_micros(&opts(Some(2022), Some(1))).unwrap(),
            1_646_866_799_000_000
        );
        let (st, rest) = leading_timestamp("Oct 10 2018 12:34:56: %ASA").unwrap();
        assert_eq!(rest.trim(), "%ASA");
        assert!(st.is_local());
        let (st, _) = leading_timestamp("2018-10-10T12:34:56.5Z fw %ASA").unwrap();
        assert_eq!(st, Stamp::Utc(1_539_174_896_500_000));
        assert!(leading_timestamp("Foo 10 12:00:00").is_none());
        assert!(leading_timestamp("Feb 31 12:00:00").is_none());
        assert!(leading_timestamp("Oct 10 25:00:00").is_none());
    }
}
