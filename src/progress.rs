//! Progress on a terminal for long runs: files, bytes, records per second and an ETA.
//!
//! Drawn on stderr only when stderr is a terminal and the run is not `--quiet`, so batch
//! jobs and pipes get clean output. Redrawn at most four times a second, and the clock is
//! only read every 64 Ki records, so the per-record cost is one increment.

use std::io::Write;
use std::time::{Duration, Instant};

pub struct Progress {
    enabled: bool,
    started: Instant,
    last_draw: Instant,
    files_total: usize,
    file_no: usize,
    file_name: String,
    bytes_total: u64,
    bytes_done_before: u64,
    file_bytes: u64,
    records: u64,
}

impl Progress {
    pub fn new(enabled: bool, files_total: usize, bytes_total: u64) -> Self {
        let now = Instant::now();
        Progress {
            enabled,
            started: now,
            last_draw: now,
            files_total,
            file_no: 0,
            file_name: String::new(),
            bytes_total,
            bytes_done_before: 0,
            file_bytes: 0,
            records: 0,
        }
    }

    /// A new file starts; `size` is its size on disk.
    pub fn start_file(&mut self, name: &str, size: u64) {
        self.bytes_done_before += self.file_bytes;
        self.file_bytes = size;
        self.file_no += 1;
        self.file_name = name.rsplit(['/', '\\']).next().unwrap_or(name).to_string();
    }

    /// One record read; `raw_bytes` tells how far into the current file the reader is.
    #[inline]
    pub fn tick(&mut self, raw_bytes: &dyn Fn() -> u64) {
        self.records += 1;
        if self.enabled
            && self.records.is_multiple_of(65_536)
            && self.last_draw.elapsed() > Duration::from_millis(250)
        {
            self.draw(raw_bytes());
        }
    }

    fn draw(&mut self, file_bytes_done: u64) {
        self.last_draw = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let done = self.bytes_done_before + file_bytes_done.min(self.file_bytes);
        let rate = done as f64 / secs;
        let eta = if rate > 0.0 && self.bytes_total > done {
            format!(", ETA {:.0} s", (self.bytes_total - done) as f64 / rate)
        } else {
            String::new()
        };
        let _ = write!(
            std::io::stderr(),
            "\r\x1b[K[{}/{}] {}: {} of {}, {} records, {:.2} M records/s{}",
            self.file_no,
            self.files_total,
            self.file_name,
            crate::report::human_bytes(done),
            crate::report::human_bytes(self.bytes_total),
            crate::report::group_digits(self.records),
            self.records as f64 / secs / 1e6,
            eta
        );
    }

    /// Clear the progress line.
    pub fn finish(&mut self) {
        if self.enabled && self.records >= 65_536 {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}
