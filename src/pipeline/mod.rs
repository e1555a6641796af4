//! The `analyze` run, stage by stage:
//!
//! 1. [`plan`]: find the inputs and detect every format before reading any;
//! 2. [`dns_pass`]: read DNS answers and connection hostnames into the per-client index;
//! 3. [`proxy`]: read web proxy and gateway logs into the fold;
//! 4. [`flow_pass`]: read flows, de-duplicate them by connection and fold each one
//!    ([`xborder_engine::fold`]: attribute, classify, group);
//! 5. [`finish`]: merge the per-file counts, check that they balance, and build the tables,
//!    coverage, candidates and verdicts into an [`Analysis`].
//!
//! Each file is read by [`read::read_file`] on helper threads (read, hash and
//! decompress; parse), with every record counted. The decisions live in the engine crate;
//! this module only sequences them and owns the reading state they share.

use std::cell::RefCell;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::accounting::{
    FileReport, FlowBreakdown, RecordCounts, RejectRow, REJECTS_LISTED_PER_FILE,
};
use crate::aggregate;
use crate::attribute::hostnames::Added;
use crate::attribute::{DnsIndex, DnsIndexBuilder, HostnameIndex, HostnameIndexBuilder};
use crate::candidates::CandidateTracker;
use crate::classify::sites::UNKNOWN_SITE;
use crate::coverage::{CoverageTracker, DnsPresence};
use crate::dedup::{
    dns_key, dns_keys, flow_keys, BatchedFlows, BatchedSeen, DedupBudget, DedupStats, FlowDedup,
    FlowKeys, FlowVerdict, SeenKeys,
};
use crate::error::{Error, Result};
use crate::fasthash::FastMap;
use crate::ingest::{self, Detection, Format, Item, ReaderOptions, RecordKind};
use crate::period::Period;
use crate::progress::Progress;
use crate::schema::{DnsRecord, Provenance, Record};
use xborder_engine::fold::{reborrow, EvidenceSink, FlowState};

mod dns_pass;
mod finish;
mod flow_pass;
mod plan;
mod proxy;
mod read;
pub mod spark;

use plan::{bytes_of, Planned};
use read::{read_file, unread_report, work_or, BatchFn};

pub use xborder_engine::run::{
    Analysis, AnalyzeOptions, Catalogs, ConflictRow, DedupReport, Totals, CONFLICTS_LISTED,
    DEFAULT_DNS_MAX_AGE_S, DEFAULT_DNS_TTL_GRACE_S,
};

/// What the passes share while reading: the planned inputs, one report slot per input (a
/// file holding flows and DNS is read in two passes and continues its report), the
/// rejects listed so far, progress, and where de-duplication spills.
struct Reading<'a> {
    opts: &'a AnalyzeOptions,
    planned: Vec<Planned>,
    slots: Vec<Option<FileReport>>,
    rejects: Vec<RejectRow>,
    progress: Progress,
    spill_dir: PathBuf,
    /// The flow pass's de-duplication set, being prepared on a helper thread
    /// ([`flow_pass::prepare_dedup`]).
    flow_dedup: Option<std::thread::JoinHandle<FlowDedup>>,
}

impl Reading<'_> {
    fn budget(&self, b: DedupBudget) -> DedupBudget {
        budget(self.opts, b)
    }

    /// The flow pass's de-duplication budget (a connection key a record), with room made
    /// for a DNS index of `index_bytes` under `--memory-limit`, or under the 1 GiB
    /// the built-in budgets are sized for (see [`room_for_index`]).
    fn flow_budget(&self, index_bytes: u64) -> DedupBudget {
        let flows = self.budget(DedupBudget::FLOWS);
        if self.opts.spill_after_keys.is_some() {
            return flows;
        }
        let limit = self.opts.memory_limit.0.unwrap_or(BUDGETS_SIZED_FOR);
        flows.scaled(room_for_index(limit, flows.bytes(), index_bytes))
    }
}

/// The peak the built-in budgets are sized for, and the limit a run without
/// `--memory-limit` keeps to: a limit below it scales them down.
const BUDGETS_SIZED_FOR: u64 = 1 << 30;

/// Room kept for all but the flow pass's de-duplication set and the DNS index: reading
/// buffers, parser threads, the fold's groups and the evidence writers. Measured peaks
/// less those two: about 100 MiB on a typical 10^8-flow run, 170 MiB on an AI-heavy one.
const OTHER_HOLDERS: u64 = 256 << 20;

/// What share of its memory the flow pass's de-duplication set (`dedup_bytes`)
/// may keep beside a DNS index of `index_bytes`, so the run's peak stays under `limit`.
///
/// The index's memory part (its pages up to 64 MiB, past that only where each page is,
/// and the fold shards' page caches) stays for the whole flow pass, while a
/// de-duplication set only spills sooner when smaller, with the same result, more
/// slowly. With the built-in budgets, the index of an AI-heavy 10^8 flows now fits beside
/// the sets; millions of (client, address) pairs, or a lower `--memory-limit`, still make
/// them give up room. Never below 1/16: an index too big for the limit is for the limit's
/// own check to report.
pub fn room_for_index(limit: u64, dedup_bytes: u64, index_bytes: u64) -> f64 {
    let share = (limit as f64 / BUDGETS_SIZED_FOR as f64).min(1.0);
    let reserve = (OTHER_HOLDERS as f64 * share) as u64;
    let free = limit.saturating_sub(dedup_bytes).saturating_sub(reserve);
    if index_bytes <= free || dedup_bytes == 0 {
        return 1.0;
    }
    let keep = dedup_bytes.saturating_sub(index_bytes - free);
    (keep as f64 / dedup_bytes as f64).max(1.0 / 16.0)
}

/// Threads a stage spreads over: `--threads` (or XBORDER_THREADS), else every CPU up to
/// [`MAX_AUTO_THREADS`]. The fold runs this many shards, and a Zeek TSV log is parsed
/// by this many parser threads.
fn threads_wanted(opts: &AnalyzeOptions) -> usize {
    match opts.threads {
        Some(n) => n.max(1),
        None => std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_AUTO_THREADS)),
    }
}

/// Threads used without `--threads`: beyond this one reading thread is the limit.
const MAX_AUTO_THREADS: usize = 8;

/// A de-duplication budget: the built-in ones total about 0.5 GiB, and a lower
/// `--memory-limit` shrinks them (`--spill-after-keys` fixes them, for tests).
fn budget(opts: &AnalyzeOptions, b: DedupBudget) -> DedupBudget {
    let fraction = opts
        .memory_limit
        .0
        .map_or(1.0, |limit| limit as f64 / (1u64 << 30) as f64);
    match opts.spill_after_keys {
        Some(n) => DedupBudget {
            recent_keys: n,
            ..b
        },
        None => b.scaled(fraction),
    }
}

/// Run the pipeline up to the aggregated tables. With an evidence sink, every AI-vendor
/// egress flow is also reported as an evidence row.
pub fn analyze(
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    mut evidence: Option<&mut dyn EvidenceSink>,
) -> Result<Analysis> {
    let planned = plan::plan_run(opts)?;
    let verdict_inputs = xborder_engine::run::verdict_inputs(opts, catalogs)?;
    let spill_dir = match &opts.spill_dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
            d.clone()
        }
        None => std::env::temp_dir(),
    };
    let mut reading = Reading {
        opts,
        slots: (0..planned.len()).map(|_| None).collect(),
        progress: plan::progress(opts, &planned),
        planned,
        rejects: Vec::new(),
        spill_dir,
        flow_dedup: None,
    };

    // DNS first: flows need the finished index.
    let dns = dns_pass::read_dns(&mut reading, catalogs)?;
    let mut state = FlowState::new(catalogs, &dns.index, &dns.hostnames, &dns.presence, opts);
    state.coverage = dns.coverage;
    state.candidates = dns.candidates;
    // Proxy logs before flows: the flows must know which proxy legs the logs carry.
    proxy::read_proxy_files(&mut reading, &mut state, reborrow(&mut evidence))?;
    let flows = flow_pass::read_flows(&mut reading, &mut state, reborrow(&mut evidence))?;
    let mut unclaimed = FlowBreakdown::default();
    state.drain_sessions(&mut unclaimed, evidence)?;

    finish::analysis(finish::Passes {
        reading,
        catalogs,
        state,
        index: &dns.index,
        hostnames: &dns.hostnames,
        unclaimed,
        dedup: DedupReport {
            flows: flows.dedup_flows,
            flow_ids: flows.dedup_flow_ids,
            dns: dns.dedup,
        },
        conflicts: flows.conflicts,
        partials: flows.partials,
        verdict_inputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    #[test]
    fn built_in_flow_set_takes_576_mib() {
        assert_eq!(DedupBudget::FLOWS.bytes(), 576 * MIB);
    }

    /// A typical mix's index fits beside the sets; an AI-heavy one takes their room, one
    /// byte for one, down to a floor.
    #[test]
    fn the_flow_sets_make_room_for_a_large_dns_index_only() {
        let sets = DedupBudget::FLOWS.bytes();
        // 1 GiB - 576 MiB of sets - 256 MiB for the rest leaves 192 MiB free.
        assert_eq!(room_for_index(GIB, sets, 5 * MIB), 1.0);
        assert_eq!(room_for_index(GIB, sets, 192 * MIB), 1.0);
        let f = room_for_index(GIB, sets, 300 * MIB);
        assert!((f - (576.0 - 108.0) / 576.0).abs() < 1e-9, "{f}");
        assert_eq!(room_for_index(GIB, sets, 4 * GIB), 1.0 / 16.0);
        // A higher limit has room for a larger index.
        assert_eq!(room_for_index(4 * GIB, sets, GIB), 1.0);
        // Under a lower limit the sets are already scaled down (to 288 MiB at 512 MiB),
        // and the reserve with them.
        assert_eq!(room_for_index(512 * MIB, sets / 2, 90 * MIB), 1.0);
        assert!(room_for_index(512 * MIB, sets / 2, 200 * MIB) < 1.0);
        assert_eq!(room_for_index(GIB, 0, 4 * GIB), 1.0);
    }
}
