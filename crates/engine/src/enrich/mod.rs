//! Live DNS enrichment: the only part of xborder that uses the network, and only when asked
//! (`xborder resolve`, `analyze --reverse-dns`).
//!
//! - [`resolver`]: a hickory resolver built from /etc/resolv.conf or from `--nameserver`.
//! - [`resolve`]: the `resolve` job, a dated snapshot of what each catalog host resolves to.
//! - [`ptr`]: bounded, rate-limited reverse look-ups of unattributed destinations.
//!
//! See docs/resolve.md for why this evidence is weaker than DNS logs.

pub mod ptr;
pub mod resolve;
pub mod resolver;

pub use resolver::{DnsClient, ResolverSettings};

use std::io::{IsTerminal, Write};

/// A one-line progress counter on stderr, drawn only when stderr is a terminal.
pub struct Progress {
    label: &'static str,
    total: usize,
    enabled: bool,
}

impl Progress {
    pub fn new(label: &'static str, total: usize) -> Self {
        Progress {
            label,
            total,
            enabled: std::io::stderr().is_terminal(),
        }
    }

    pub fn set(&self, done: usize) {
        if self.enabled {
            let width = 30usize;
            let filled = (done * width).checked_div(self.total).unwrap_or(width);
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r{} [{}{}] {done}/{}",
                self.label,
                "#".repeat(filled.min(width)),
                " ".repeat(width - filled.min(width)),
                self.total
            );
            let _ = err.flush();
        }
    }

    pub fn finish(&self) {
        if self.enabled {
            let _ = writeln!(std::io::stderr());
        }
    }
}

/// Current wall-clock time in microseconds, truncated to milliseconds.
pub fn now_micros() -> xborder_model::schema::Micros {
    let t = chrono::Utc::now().timestamp_micros();
    t - t.rem_euclid(1000)
}
