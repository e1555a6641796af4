//! Progress on a terminal for long runs: files, bytes, records per second and an ETA,
//! drawn by indicatif.
//!
//! Drawn on stderr only when stderr is a terminal and the run is not `--quiet` (the caller
//! decides), so batch jobs and pipes get clean output. The bar is refreshed at most four
//! times a second, and the per-record cost is one increment: the position is only pushed to
//! the bar every 64 Ki records.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    files_total: usize,
    file_no: usize,
    file_name: String,
    bytes_done_before: u64,
    file_bytes: u64,
    records: u64,
    /// The position shown; it only grows (see [`Progress::advance`]).
    position: u64,
    started: std::time::Instant,
}

impl Progress {
    pub fn new(enabled: bool, files_total: usize, bytes_total: u64) -> Self {
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(bytes_total),
                ProgressDrawTarget::stderr_with_hz(4),
            );
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Progress {
            bar,
            files_total,
            file_no: 0,
            file_name: String::new(),
            bytes_done_before: 0,
            file_bytes: 0,
            records: 0,
            position: 0,
            started: std::time::Instant::now(),
        }
    }

    /// A new file starts; `size` is its size on disk.
    pub fn start_file(&mut self, name: &str, size: u64) {
        self.bytes_done_before += self.file_bytes;
        self.file_bytes = size;
        self.file_no += 1;
        self.file_name = name.rsplit(['/', '\\']).next().unwrap_or(name).to_string();
        self.advance(0);
        if let Some(bar) = &self.bar {
            bar.set_position(self.position);
            self.message(bar);
        }
    }

    /// Move to `within_file` bytes into the current file, never backwards: the reader's
    /// byte counter can still hold the previous file's count when a new file starts, a
    /// file can shrink or grow after its size was taken, and a second pass re-reads files.
    fn advance(&mut self, within_file: u64) {
        let target = self
            .bytes_done_before
            .saturating_add(within_file.min(self.file_bytes));
        self.position = self.position.max(target);
    }

    /// The bar's position in bytes.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// One record read; `raw_bytes` tells how far into the current file the reader is.
    #[inline]
    pub fn tick(&mut self, raw_bytes: &dyn Fn() -> u64) {
        self.records += 1;
        if self.records.is_multiple_of(65_536) {
            if self.bar.is_some() {
                self.advance(raw_bytes());
            }
            if let Some(bar) = &self.bar {
                bar.set_position(self.position);
                self.message(bar);
            }
        }
    }

    fn message(&self, bar: &ProgressBar) {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        bar.set_message(format!(
            "[{}/{}] {}: {} records, {:.2} M/s",
            self.file_no,
            self.files_total,
            self.file_name,
            crate::report::group_digits(self.records),
            self.records as f64 / secs / 1e6
        ));
    }

    /// Clear the bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_position_never_moves_backwards() {
        let mut p = Progress::new(false, 2, 300);
        p.start_file("a.log", 100);
        p.advance(90);
        assert_eq!(p.position(), 90);
        // The reader's counter still holds the first file's count when the second starts.
        p.start_file("b.log", 200);
        assert_eq!(p.position(), 100);
        p.advance(150);
        assert_eq!(p.position(), 250);
        // The counter restarts for the new file: the bar stays where it was.
        p.advance(5);
        assert_eq!(p.position(), 250);
        // A file that grew past its size is capped at it.
        p.advance(10_000);
        assert_eq!(p.position(), 300);
        let mut last = 0;
        for step in [0, 50, 20, 100, 0, 199] {
            p.advance(step);
            assert!(p.position() >= last);
            last = p.position();
        }
    }
}
