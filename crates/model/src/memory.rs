//! `--memory-limit`: stop a run with a clear error before the machine runs out of memory.
//!
//! The run reads its own resident set size (Linux `/proc/self/statm`) at intervals while it
//! streams records, and stops with [`Error::MemoryLimit`] once it exceeds the limit, naming
//! the structures that hold memory (de-duplication sets, DNS answers, partial groups) and
//! what to do. An error is always better than an out-of-memory kill halfway through a
//! quarter: nothing is written, and the message says how to split the run.

use crate::error::{Error, Result};
pub use crate::units::human;

/// How often (in records) the resident size is read: cheap (one small file read) and
/// often enough that a run cannot overshoot by much between checks.
pub const CHECK_EVERY_RECORDS: u64 = 1 << 16;

/// Parse a size such as `1GiB`, `512MiB`, `2G`, `800M` or a plain number of bytes.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (examples: 1GiB, 512MiB, 2000000000)"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "tib" => 1024f64.powi(4),
        other => return Err(format!("`{s}`: unknown unit `{other}` (use KiB, MiB, GiB)")),
    };
    let bytes = value * factor;
    if !bytes.is_finite() || bytes < 1.0 {
        return Err(format!("`{s}` is not a positive size"));
    }
    Ok(bytes as u64)
}

/// This process's resident set size in bytes, where the platform tells it.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// This process's peak resident set size so far (Linux `VmHWM`), where the platform
/// tells it: it catches an overshoot between two checks.
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// A limit to check against; `None` checks nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryLimit(pub Option<u64>);

impl MemoryLimit {
    /// Fail if the resident size is over the limit. `holders` describes what holds memory
    /// (evaluated only on failure); `stage` says what the run was doing.
    pub fn check(&self, stage: &str, holders: impl FnOnce() -> String) -> Result<()> {
        let Some(limit) = self.0 else { return Ok(()) };
        let Some(used) = resident_bytes() else {
            return Ok(());
        };
        if used <= limit {
            return Ok(());
        }
        Err(Error::MemoryLimit {
            limit,
            used,
            stage: stage.to_string(),
            holders: holders(),
        })
    }

    /// Fail if the resident size has ever passed the limit during the run (its peak), so
    /// that writing outputs, checked once at the end, cannot overshoot unnoticed.
    pub fn check_peak(&self, stage: &str, holders: impl FnOnce() -> String) -> Result<()> {
        let Some(limit) = self.0 else { return Ok(()) };
        let Some(peak) = peak_resident_bytes().or_else(resident_bytes) else {
            return Ok(());
        };
        if peak <= limit {
            return Ok(());
        }
        Err(Error::MemoryLimit {
            limit,
            used: peak,
            stage: stage.to_string(),
            holders: holders(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("512 MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("2G").unwrap(), 2_000_000_000);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn a_tiny_limit_fails_with_the_holders_named() {
        if resident_bytes().is_none() {
            return;
        }
        let e = MemoryLimit(Some(1024))
            .check("reading flows", || "10 flow uids".into())
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("reading flows") && text.contains("10 flow uids"),
            "{text}"
        );
        assert!(MemoryLimit(None).check("x", String::new).is_ok());
    }
}
