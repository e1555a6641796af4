//! The audit period: `--from` inclusive, `--to` exclusive, or a named `--period`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::schema::Micros;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: Option<Micros>,
    pub to: Option<Micros>,
    /// How the user named it, e.g. `2026-Q3`, for report titles.
    pub label: String,
}

impl Period {
    /// The calendar year (UTC) the period starts in, if it has a start.
    pub fn start_year(&self) -> Option<i32> {
        use chrono::Datelike;
        self.from
            .and_then(chrono::DateTime::from_timestamp_micros)
            .map(|d| d.year())
    }

    pub fn unbounded() -> Self {
        Period {
            from: None,
            to: None,
            label: "all records".into(),
        }
    }

    /// Build from the CLI options. `--period` and `--from/--to` are exclusive.
    pub fn from_options(
        from: Option<&str>,
        to: Option<&str>,
        period: Option<&str>,
    ) -> Result<Self> {
        if let Some(p) = period {
            if from.is_some() || to.is_some() {
                return Err(Error::Usage(
                    "--period cannot be combined with --from/--to".into(),
                ));
            }
            let (start, end) = parse_named_period(p)?;
            return Ok(Period {
                from: Some(start),
                to: Some(end),
                label: p.to_string(),
            });
        }
        let from_us = from.map(|s| parse_instant(s, "--from")).transpose()?;
        let to_us = to.map(|s| parse_instant(s, "--to")).transpose()?;
        if let (Some(a), Some(b)) = (from_us, to_us) {
            if a >= b {
                return Err(Error::Usage(format!(
                    "--from {} is not before --to {}",
                    from.unwrap_or_default(),
                    to.unwrap_or_default()
                )));
            }
        }
        let label = match (from, to) {
            (None, None) => "all records".to_string(),
            (Some(a), None) => format!("from {a}"),
            (None, Some(b)) => format!("before {b}"),
            (Some(a), Some(b)) => format!("{a} to {b} (exclusive)"),
        };
        Ok(Period {
            from: from_us,
            to: to_us,
            label,
        })
    }

    pub fn contains(&self, ts: Micros) -> bool {
        self.from.is_none_or(|f| ts >= f) && self.to.is_none_or(|t| ts < t)
    }

    /// The same period with its start moved back, for context records (DNS answers
    /// given just before the period can still attribute flows inside it).
    pub fn extended_back(&self, micros: i64) -> Period {
        Period {
            from: self.from.map(|f| f - micros),
            to: self.to,
            label: self.label.clone(),
        }
    }
}

/// A bare date (`2026-07-01`, meaning 00:00 UTC) or an RFC 3339 instant.
pub fn parse_instant(s: &str, option: &str) -> Result<Micros> {
    if let Ok(d) = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        return Ok(date_micros(d));
    }
    DateTime::parse_from_rfc3339(s.trim())
        .map(|dt| dt.with_timezone(&Utc).timestamp_micros())
        .map_err(|_| {
            Error::Usage(format!(
                "{option} `{s}` is neither a date (2026-07-01) nor an RFC 3339 time (2026-07-01T08:00:00+08:00)"
            ))
        })
}

fn date_micros(d: NaiveDate) -> Micros {
    d.and_hms_opt(0, 0, 0)
        .map(|dt| dt.and_utc().timestamp_micros())
        .unwrap_or_default()
}

/// `2026-Q3`, `2026-07` or `2026` → [start, end).
fn parse_named_period(p: &str) -> Result<(Micros, Micros)> {
    let bad = || {
        Error::Usage(format!(
            "--period `{p}` must be a quarter (2026-Q3), a month (2026-07) or a year (2026)"
        ))
    };
    let p = p.trim();
    let ymd = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad);
    let (start, end) = if let Some((y, q)) = p.split_once("-Q").or_else(|| p.split_once("-q")) {
        let y: i32 = y.parse().map_err(|_| bad())?;
        let q: u32 = q.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&q) {
            return Err(bad());
        }
        let start = ymd(y, (q - 1) * 3 + 1)?;
        let end = if q == 4 {
            ymd(y + 1, 1)?
        } else {
            ymd(y, q * 3 + 1)?
        };
        (start, end)
    } else if let Some((y, m)) = p.split_once('-') {
        let y: i32 = y.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        let start = ymd(y, m)?;
        let end = if m == 12 {
            ymd(y + 1, 1)?
        } else {
            ymd(y, m + 1)?
        };
        (start, end)
    } else {
        let y: i32 = p.parse().map_err(|_| bad())?;
        (ymd(y, 1)?, ymd(y + 1, 1)?)
    };
    Ok((date_micros(start), date_micros(end)))
}

/// RFC 3339 UTC text for a timestamp, with fractional seconds only when present.
pub fn rfc3339(ts: Micros) -> String {
    DateTime::<Utc>::from_timestamp_micros(ts)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// Days since the Unix epoch (UTC) for a timestamp.
pub fn day_of(ts: Micros) -> i32 {
    ts.div_euclid(86_400_000_000) as i32
}

/// `YYYY-MM-DD` for a day number.
pub fn day_string(day: i32) -> String {
    day_date(day).format("%Y-%m-%d").to_string()
}

pub fn day_date(day: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|e| e.checked_add_signed(chrono::Duration::days(i64::from(day))))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarter_is_half_open() {
        let p = Period::from_options(None, None, Some("2026-Q3")).unwrap();
        assert_eq!(rfc3339(p.from.unwrap()), "2026-07-01T00:00:00Z");
        assert_eq!(rfc3339(p.to.unwrap()), "2026-10-01T00:00:00Z");
        assert!(p.contains(p.from.unwrap()));
        assert!(!p.contains(p.to.unwrap()));
        assert!(p.contains(p.to.unwrap() - 1));
        let q4 = Period::from_options(None, None, Some("2026-Q4")).unwrap();
        assert_eq!(rfc3339(q4.to.unwrap()), "2027-01-01T00:00:00Z");
    }

    #[test]
    fn dates_and_errors() {
        let p = Period::from_options(Some("2026-07-01"), Some("2026-07-02T08:00:00+08:00"), None)
            .unwrap();
        assert_eq!(rfc3339(p.to.unwrap()), "2026-07-02T00:00:00Z");
        assert!(Period::from_options(Some("2026-07-02"), Some("2026-07-01"), None).is_err());
        assert!(Period::from_options(Some("2026-07-01"), None, Some("2026-Q3")).is_err());
        assert!(Period::from_options(None, None, Some("2026-Q5")).is_err());
        assert!(Period::from_options(Some("yesterday"), None, None).is_err());
        let m = Period::from_options(None, None, Some("2026-12")).unwrap();
        assert_eq!(rfc3339(m.to.unwrap()), "2027-01-01T00:00:00Z");
        assert_eq!(day_string(day_of(p.from.unwrap())), "2026-07-01");
        assert_eq!(rfc3339(1_782_864_000_250_000), "2026-07-01T00:00:00.250Z");
    }
}
