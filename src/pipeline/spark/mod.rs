//! The same run as an Apache Spark job: Spark schedules, shuffles and retries; the stage
//! functions here do the per-file reading, de-duplication and per-shard fold, with the
//! single-machine run's own code.
//!
//! `xborder analyze --engine spark` plans the run on the driver and writes a [`Job`]
//! (the planned inputs and the command line); `spark-submit` runs spark/xborder_spark.py,
//! whose tasks call `xborder spark-stage` on their executors:
//!
//! 1. [`read_stage`], one task per input file: read, hash and count the file, and emit its
//!    records as rows ([`rows`]) keyed for the shuffles, with its report;
//! 2. [`dedup_stage`], after a shuffle by de-duplication key (flows and hostnames by
//!    connection id, DNS records by record key) and a sort into reading order: the same
//!    decisions as the single-machine de-duplication, since records that can be
//!    duplicates of each other always meet in one task;
//! 3. [`fold_stage`], after a shuffle by client and day (DNS records copied into the
//!    next days their answers can still attribute flows on): each task builds its DNS
//!    index (with the vendor addresses of the whole run, broadcast), joins hostnames and
//!    folds its flows, emitting a [`xborder_engine::fold::partial::FoldPartial`] and
//!    evidence rows numbered in reading order;
//! 4. [`merge`], back on the driver: counts summed and balanced, partial results merged,
//!    evidence written in reading order, then the usual tables and writers.
//!
//! The stage functions are exact: the outputs are byte-identical to a single-machine run
//! (run.json adds an `engine` section). What is not distributed is stated in
//! docs/scale-out.md.

use super::*;

mod dedup_stage;
pub mod driver;
mod evidence_rows;
mod fold_stage;
pub mod merge;
mod read_stage;
pub mod rows;

pub use dedup_stage::dedup;
pub use fold_stage::fold;
pub use read_stage::read;

use serde::{Deserialize, Serialize};

/// What every task of one Spark run shares: the driver's plan and command line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// The xborder version that planned the run; a stage of another version refuses it.
    pub version: String,
    /// The driver's working directory: inputs and catalogs named by relative paths are
    /// found from it.
    pub cwd: PathBuf,
    /// The `xborder analyze` command line (configuration file expanded), which every
    /// stage parses again so that all of them run with the driver's options.
    pub argv: Vec<String>,
    /// The binary the executors run.
    pub xborder: PathBuf,
    /// The planned inputs, in the single-machine run's order.
    pub inputs: Vec<JobInput>,
    /// Spark partitions for the de-duplication and fold shuffles.
    pub dedup_partitions: u32,
    pub fold_partitions: u32,
}

/// One planned input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobInput {
    pub path: PathBuf,
    /// `supported`, `zeek-other`, `empty`, `unrecognised` or `not-regular`.
    pub detection: String,
    /// The detected format id (supported inputs).
    pub format: Option<String>,
    /// The Zeek log name or why the file was not recognised.
    pub detail: Option<String>,
    /// Whether the file holds flows, and DNS answers or hostnames.
    pub holds_flows: bool,
    pub holds_dns: bool,
}

impl Job {
    pub fn load(path: &Path) -> Result<Job> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let job: Job = serde_json::from_str(&text).map_err(|e| Error::Config {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        if job.version != env!("CARGO_PKG_VERSION") {
            return Err(Error::Config {
                path: path.display().to_string(),
                message: format!(
                    "planned by xborder {} but this stage is xborder {}: run the same binary on the driver and the executors",
                    job.version,
                    env!("CARGO_PKG_VERSION")
                ),
            });
        }
        Ok(job)
    }

    /// The coverage source label of input `file` (its format id).
    fn source_label(&self, file: u32) -> Result<&str> {
        self.inputs
            .get(file as usize)
            .and_then(|i| i.format.as_deref())
            .ok_or_else(|| {
                Error::Aggregate(format!(
                    "a Spark task named input #{} of a job with {} inputs",
                    u64::from(file) + 1,
                    self.inputs.len()
                ))
            })
    }
}

/// The driver's plan as a job's input list. What a Spark run cannot do exactly is refused
/// here, before anything starts.
pub fn job_inputs(opts: &AnalyzeOptions) -> Result<Vec<JobInput>> {
    let planned = plan::plan_run(opts)?;
    let mut inputs = Vec::with_capacity(planned.len());
    for (i, p) in planned.into_iter().enumerate() {
        let holds = |k| matches!(&p.detection, Detection::Supported(f) if f.holds(k));
        if holds(RecordKind::Proxy) {
            return Err(Error::Usage(format!(
                "{} (input #{}): proxy and gateway logs are joined to flows in reading order, which the Spark engine does not do yet; run them with --engine local",
                p.path.display(),
                i + 1
            )));
        }
        let (holds_flows, holds_dns) = (
            holds(RecordKind::Flow),
            holds(RecordKind::Dns) || holds(RecordKind::Hostname),
        );
        let (detection, format, detail) = match &p.detection {
            Detection::Supported(f) => ("supported", Some(f.id().to_string()), None),
            Detection::ZeekOtherLog(name) => ("zeek-other", None, Some(name.clone())),
            Detection::Empty => ("empty", None, None),
            Detection::Unrecognised(why) => ("unrecognised", None, Some(why.clone())),
            Detection::NotRegular => ("not-regular", None, None),
        };
        inputs.push(JobInput {
            path: p.path,
            detection: detection.to_string(),
            format,
            detail,
            holds_flows,
            holds_dns,
        });
    }
    Ok(inputs)
}

/// The later days whose flows an answer given at `response_ts` can still attribute, up to
/// `max_age_us` after it: the days its record is copied into.
fn copy_days(response_ts: crate::schema::Micros, max_age_us: i64) -> std::ops::RangeInclusive<i32> {
    let home = crate::period::day_of(response_ts);
    let last = crate::period::day_of(response_ts.saturating_add(max_age_us));
    home.saturating_add(1)..=last
}

/// A task's scratch directory, removed when dropped: under `--spill-dir`, else the
/// system's temporary directory (on an executor, its local scratch space).
fn scratch(opts: &AnalyzeOptions) -> Result<tempfile::TempDir> {
    let parent = opts.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
    tempfile::tempdir_in(&parent).map_err(|e| Error::io(&parent, e))
}

/// The reading-order number of the record at (`file`, `ord`): files in plan order, records
/// in file order. Evidence rows are written in this order whichever task folded them.
fn seq_of(file: u32, ord: u64) -> u64 {
    (u64::from(file) << ORD_BITS) | ord
}

/// Records per input a Spark run can number (2^40, about 10^12).
const ORD_BITS: u32 = 40;

/// (file, ord) back from [`seq_of`].
fn file_ord(seq: u64) -> (u32, u64) {
    ((seq >> ORD_BITS) as u32, seq & ((1 << ORD_BITS) - 1))
}

/// The vendor addresses of the whole run, as the driver broadcast them: one address per
/// row of a row file.
fn read_vendor_addresses(path: &Path) -> Result<std::collections::HashSet<IpAddr>> {
    let mut set = std::collections::HashSet::new();
    rows::Rows::read(path)?.each(|row| {
        let mut r = xborder_model::codec::Reader::new(row.payload);
        set.insert(r.ip()?);
        r.finish()
    })?;
    Ok(set)
}

/// The per-input counts a de-duplication task adds to the read reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileDedup {
    pub dns_duplicate: u64,
    pub hostname_duplicate: u64,
    pub flow_duplicate: u64,
    pub uid_conflicts: u64,
}

/// What one de-duplication task counted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DedupCounts {
    pub files: BTreeMap<u32, FileDedup>,
    pub flows: crate::dedup::DedupStats,
    pub flow_ids: crate::dedup::DedupStats,
    pub dns: crate::dedup::DedupStats,
    pub connections_named: u64,
    pub connections_kept: u64,
    pub conflicting_names: u64,
}

/// run.json's distinct name counts, as the job counted them across all tasks.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DistinctCounts {
    /// DNS names with an address answer, and those naming a vendor.
    pub dns_names: u64,
    pub dns_vendor_names: u64,
    /// Connection hostnames as read, and the kept ones naming a vendor.
    pub host_names: u64,
    pub host_vendor_names: u64,
    /// (client, vendor address) pairs with answers kept.
    pub client_address_pairs: u64,
}

/// What one fold task counted of its home DNS records (not of copies from earlier days).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FoldCounts {
    pub address_answers: u64,
    pub answers_kept: u64,
}

/// The fold shard of a client on a day: a client's flows of one day, and every DNS answer
/// that can attribute them, meet in one task, so a busy NAT address is split by day.
fn shard_column(client: IpAddr, day: i32) -> i64 {
    rows::key_column(crate::fasthash::key128(&(client, day)))
}

/// One input's report as the read stage hands it to the driver.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadReport {
    pub report: FileReport,
    pub rejects: Vec<ListedReject>,
}

/// A reject listed in rejects.csv, as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListedReject {
    pub line: u64,
    pub field: String,
    pub reason: String,
    pub detail: String,
    pub excerpt: String,
}

use std::collections::BTreeMap;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_copied_into_the_days_their_window_reaches() {
        let day = 86_400_000_000i64;
        let hour = day / 24;
        let d0 = 20_648i64; // 2026-07-14
        let at = |h: i64| d0 * day + h * hour;
        let days = |ts, age| copy_days(ts, age).collect::<Vec<i32>>();
        // 23:50 with a 6-hour window reaches into the next day; 10:00 does not.
        assert_eq!(days(at(23) + 50 * 60_000_000, 6 * hour), [d0 as i32 + 1]);
        assert!(days(at(10), 6 * hour).is_empty());
        // Exactly 24 hours: the next day, whatever the time.
        assert_eq!(days(at(0), 24 * hour), [d0 as i32 + 1]);
        // A window of 50 hours reaches two or three later days.
        assert_eq!(days(at(0), 50 * hour), [d0 as i32 + 1, d0 as i32 + 2]);
        assert_eq!(
            days(at(23), 50 * hour),
            [d0 as i32 + 1, d0 as i32 + 2, d0 as i32 + 3]
        );
        // Before the epoch too.
        assert_eq!(days(-hour, 2 * hour), [0]);
    }

    #[test]
    fn reading_order_numbers_round_trip() {
        assert_eq!(file_ord(seq_of(7, 123_456)), (7, 123_456));
        assert!(seq_of(1, 0) > seq_of(0, (1 << ORD_BITS) - 1));
    }
}
