//! The flow pass: flows are de-duplicated by connection and handed to the fold
//! ([`xborder_engine::fold`]), in one shard on this thread or in several shards on their
//! own threads ([`xborder_engine::fold::shard`]), merged when the pass ends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use super::*;
use crate::schema::FlowRecord;
use std::collections::BTreeMap;
use xborder_engine::fold::partial::FoldPartial;
use xborder_engine::fold::shard::shard_of;
use xborder_ingest::parallel::{Batch, SharedBatch};

/// What the flow pass hands on besides the fold's state.
pub(super) struct FlowPass {
    /// The partial results of the shards, when the flows were sharded; the merge stage
    /// adds them to the run's state.
    pub partials: Vec<FoldPartial>,
    pub conflicts: Vec<ConflictRow>,
    pub dedup_flows: DedupStats,
    pub dedup_flow_ids: DedupStats,
}

/// Flows handed to a shard at a time: large enough that the channel costs little per
/// flow, small enough that the shards start early and memory stays flat.
const BATCH_FLOWS: usize = 4096;

/// Batches waiting per shard before the reading thread waits for it.
const BATCHES_QUEUED: usize = 4;

/// Parser batches a shard is sent at most at a time, however few of their flows are its
/// own: a shard whose clients are few (flows are routed by source address) would
/// otherwise hold thousands of shared batches, each with every record of its batch,
/// while it gathers [`BATCH_FLOWS`] flows.
const SHARED_BATCHES_SENT: usize = 8;

/// Whether a shard's waiting batches go to it now: they hold [`BATCH_FLOWS`] of its flows,
/// or [`SHARED_BATCHES_SENT`] parser batches.
fn send_due(flows: usize, batches: usize) -> bool {
    flows >= BATCH_FLOWS || batches >= SHARED_BATCHES_SENT
}

/// One accepted flow on its way to a shard: its reading-order number and its place in
/// its parser batch.
struct Routed {
    seq: u64,
    /// The flow's place in its batch ([`Shared::items`]).
    at: u32,
}

/// A shard's accepted flows of one parser batch, read where the parser put them: the
/// reading thread does not copy them (docs/performance-history.md, the eighteenth pass).
/// A batch holds the records of one file, so the file and its source are the batch's.
struct Shared {
    items: Arc<SharedBatch>,
    /// The input file's index, for its per-file breakdown.
    file: u32,
    /// The file's input source, for coverage.
    source: u16,
    routed: Vec<Routed>,
}

impl Shared {
    /// The routed flows, in reading order. A routed place that does not hold a flow is an
    /// error of this pass, reported rather than folded.
    fn flows(&self) -> impl Iterator<Item = Result<(&Routed, &FlowRecord)>> {
        self.routed
            .iter()
            .map(|r| match self.items.get(r.at as usize) {
                Some(ingest::Item::Record(Record::Flow(f))) => Ok((r, f)),
                _ => Err(Error::Aggregate(
                    "a routed flow is not in its batch (an internal error)".into(),
                )),
            })
    }
}

/// Where accepted flows go: folded here, or batched to shard threads.
enum Folder<'s, 'a> {
    Inline {
        state: &'s mut FlowState<'a>,
        evidence: Option<&'s mut dyn EvidenceSink>,
    },
    Sharded {
        /// The run's coverage, which numbers the input sources for every shard.
        coverage: &'s mut CoverageTracker,
        senders: Vec<SyncSender<Vec<Shared>>>,
        /// Each shard's flows of the parser batch being read, sent with the batch when it
        /// has been read ([`Folder::batch_read`]).
        routed: Vec<Vec<Routed>>,
        /// Each shard's batches waiting to be sent, and how many flows they hold.
        batches: Vec<(Vec<Shared>, usize)>,
        /// Partial groups each shard holds, for `--memory-limit` errors.
        groups: &'s [AtomicU64],
    },
}

impl Folder<'_, '_> {
    /// The coverage id of an input source (a log kind).
    fn source(&mut self, label: &str) -> u16 {
        match self {
            Folder::Inline { state, .. } => state.coverage.source(label),
            Folder::Sharded { coverage, .. } => coverage.source(label),
        }
    }

    /// Fold `flow`, of input source `source`, here, or route it to its shard.
    fn fold(
        &mut self,
        routed: Routed,
        source: u16,
        flow: &FlowRecord,
        breakdown: &mut FlowBreakdown,
    ) -> Result<()> {
        match self {
            Folder::Inline { state, evidence } => {
                state.seq = routed.seq;
                state.source = source;
                state.fold(flow, breakdown, reborrow(evidence))
            }
            Folder::Sharded {
                senders,
                routed: to,
                ..
            } => {
                to[shard_of(flow, senders.len())].push(routed);
                Ok(())
            }
        }
    }

    /// A parser batch of input file `file`, of input source `source`, has been read: each
    /// shard with flows in it gets the batch, shared, and the places of its flows; a
    /// shard's batches go to it when [`send_due`].
    fn batch_read(&mut self, batch: Batch, file: u32, source: u16) -> Result<()> {
        let Folder::Sharded {
            senders,
            routed,
            batches,
            ..
        } = self
        else {
            return Ok(());
        };
        if routed.iter().all(Vec::is_empty) {
            return Ok(());
        }
        let items = batch.share();
        for ((to, tx), (waiting, flows)) in routed.iter_mut().zip(&*senders).zip(batches) {
            if to.is_empty() {
                continue;
            }
            *flows += to.len();
            let capacity = to.capacity();
            waiting.push(Shared {
                items: items.clone(),
                file,
                source,
                routed: std::mem::replace(to, Vec::with_capacity(capacity)),
            });
            if send_due(*flows, waiting.len()) {
                send(tx, waiting)?;
                *flows = 0;
            }
        }
        Ok(())
    }

    /// Hand every shard what it has waiting, and close the channels.
    fn close(self) -> Result<()> {
        if let Folder::Sharded {
            senders,
            routed,
            mut batches,
            ..
        } = self
        {
            if routed.iter().any(|r| !r.is_empty()) {
                return Err(Error::Aggregate(
                    "flows were routed from a batch that was not handed on (an internal error)"
                        .into(),
                ));
            }
            for (tx, (waiting, _)) in senders.iter().zip(batches.iter_mut()) {
                if !waiting.is_empty() {
                    send(tx, waiting)?;
                }
            }
        }
        Ok(())
    }

    /// Partial groups held so far, in every shard.
    fn groups(&self) -> u64 {
        match self {
            Folder::Inline { state, .. } => (state.ai.len() + state.other.len()) as u64,
            Folder::Sharded { groups, .. } => {
                groups.iter().map(|g| g.load(Ordering::Relaxed)).sum()
            }
        }
    }
}

fn send(tx: &SyncSender<Vec<Shared>>, batch: &mut Vec<Shared>) -> Result<()> {
    let full = std::mem::take(batch);
    // A shard that stopped has its error waiting at the join, which reports it.
    tx.send(full)
        .map_err(|_| Error::Aggregate(SHARD_STOPPED.into()))
}

const SHARD_STOPPED: &str = "a fold shard stopped";

/// A shard thread: fold every batch received into `state`, counting per input file.
fn run_shard<'a>(
    mut state: FlowState<'a>,
    mut evidence: Option<&mut (dyn EvidenceSink + Send)>,
    batches: Receiver<Vec<Shared>>,
    files: usize,
    groups: &AtomicU64,
) -> Result<(FlowState<'a>, BTreeMap<u32, FlowBreakdown>)> {
    let mut breakdowns = vec![FlowBreakdown::default(); files];
    for batch in batches {
        for shared in &batch {
            state.source = shared.source;
            let breakdown = &mut breakdowns[shared.file as usize];
            for flow in shared.flows() {
                let (routed, flow) = flow?;
                state.seq = routed.seq;
                let sink: Option<&mut dyn EvidenceSink> = match evidence.as_deref_mut() {
                    Some(s) => Some(s),
                    None => None,
                };
                state.fold(flow, breakdown, sink)?;
            }
        }
        groups.store(
            (state.ai.len() + state.other.len()) as u64,
            Ordering::Relaxed,
        );
    }
    let files = breakdowns
        .into_iter()
        .enumerate()
        .filter(|(_, b)| *b != FlowBreakdown::default())
        .map(|(i, b)| (i as u32, b))
        .collect();
    Ok((state, files))
}

/// How many shards fold the flows: `--threads` (all CPUs when unset), one when the run
/// needs reading order (URL-filter sessions waiting for their flow) or the evidence sink
/// takes rows from one thread only.
fn shards_wanted(opts: &AnalyzeOptions, state: &FlowState<'_>) -> usize {
    if !state.shardable() {
        return 1;
    }
    threads_wanted(opts)
}

/// Read every file holding flows, folding them in one shard or several; list every input
/// that is not read (other Zeek logs, empty, unrecognised or not regular files) with why.
pub(super) fn read_flows(
    r: &mut Reading<'_>,
    state: &mut FlowState<'_>,
    mut evidence: Option<&mut dyn EvidenceSink>,
) -> Result<FlowPass> {
    let wanted = shards_wanted(r.opts, state);
    let first_seq = state.seq;
    let dns_answers = DnsHeld {
        answers: state.index.stats.answers_kept,
        bytes: index_held(state.index, wanted),
    };
    if wanted <= 1 {
        let folder = Folder::Inline {
            state: &mut *state,
            evidence: reborrow(&mut evidence),
        };
        return read_flows_into(r, folder, first_seq, dns_answers);
    }
    let files = r.planned.len();
    let mut shard_sinks = match evidence.as_deref_mut() {
        Some(sink) => match sink.shards(wanted)? {
            Some(sinks) => sinks.into_iter().map(Some).collect(),
            None => {
                let folder = Folder::Inline {
                    state: &mut *state,
                    evidence: reborrow(&mut evidence),
                };
                return read_flows_into(r, folder, first_seq, dns_answers);
            }
        },
        None => (0..wanted).map(|_| None).collect::<Vec<_>>(),
    };
    let groups: Vec<AtomicU64> = (0..wanted).map(|_| AtomicU64::new(0)).collect();
    let shards: Vec<FlowState<'_>> = (0..wanted).map(|_| state.shard()).collect();
    let (pass, results) = std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(wanted);
        let mut handles = Vec::with_capacity(wanted);
        for ((shard, sink), groups) in shards.into_iter().zip(shard_sinks.drain(..)).zip(&groups) {
            let (tx, rx) = sync_channel::<Vec<Shared>>(BATCHES_QUEUED);
            senders.push(tx);
            handles.push(
                std::thread::Builder::new()
                    .name("xborder-fold".into())
                    .spawn_scoped(scope, move || run_shard(shard, sink, rx, files, groups)),
            );
        }
        let folder = Folder::Sharded {
            coverage: &mut state.coverage,
            senders,
            routed: (0..wanted)
                .map(|_| Vec::with_capacity(ingest::parallel::BATCH_ITEMS / wanted + 64))
                .collect(),
            batches: (0..wanted).map(|_| (Vec::new(), 0)).collect(),
            groups: &groups,
        };
        let pass = read_flows_into(r, folder, first_seq, dns_answers);
        let results: Vec<Result<(FlowState<'_>, BTreeMap<u32, FlowBreakdown>)>> = handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|_| Err(Error::Aggregate("a fold shard panicked".into()))),
                Err(e) => Err(Error::Aggregate(format!("cannot start a fold thread: {e}"))),
            })
            .collect();
        (pass, results)
    });
    // A shard's own error explains a stopped pass better than the pass's.
    let mut partials = Vec::with_capacity(results.len());
    for (i, result) in results.into_iter().enumerate() {
        let (mut shard, files) = result?;
        shard.coverage.number_sources_as(&state.coverage);
        let partial = shard.into_partial(files);
        partials.push(match &r.opts.partials_dir {
            Some(dir) => through_disk(partial, &dir.join(format!("shard-{i}")), state.catalogs)?,
            None => partial,
        });
    }
    let mut pass = pass?;
    pass.partials = partials;
    Ok(pass)
}

/// `partial` written to `dir` as Parquet and read back, as a shard on another machine
/// would hand it on.
fn through_disk(partial: FoldPartial, dir: &Path, catalogs: &Catalogs) -> Result<FoldPartial> {
    partial.write(dir, catalogs)?;
    FoldPartial::read(dir, catalogs)
}

/// The de-duplication keys of a parsed batch's flow records ([`flow_keys`]). The parser
/// threads compute them ([`BatchFn`]) rather than the reading thread, which every flow
/// passes through and which a Parquet run waited on (docs/performance-history.md, the
/// thirteenth pass).
fn batch_flow_keys(items: &[Item]) -> Vec<(Provenance, FlowKeys)> {
    flow_keys(items.iter().filter_map(|item| match item {
        Item::Record(Record::Flow(f)) => Some(f),
        _ => None,
    }))
}

/// What the flow pass's de-duplication set is made from: its budget, the spill
/// directory, and about how many flows to size the table for.
struct DedupPlan {
    budget: DedupBudget,
    spill_dir: PathBuf,
    expected: u64,
}

fn dedup_plan(r: &Reading<'_>, index_bytes: u64) -> DedupPlan {
    DedupPlan {
        budget: r.flow_budget(index_bytes),
        spill_dir: r.spill_dir.clone(),
        expected: bytes_of(&r.planned, &[RecordKind::Flow]) / 100,
    }
}

/// The flow pass's de-duplication set, its table sized and its pages written.
fn new_flow_dedup(plan: DedupPlan) -> FlowDedup {
    let mut dedup = FlowDedup::new(plan.budget, &plan.spill_dir);
    dedup.expect(plan.expected);
    dedup
}

/// Start making the flow pass's de-duplication set on a helper thread. Writing its
/// pages (up to 256 MiB) takes tens of milliseconds of page faults, which the reading
/// thread would otherwise spend while both cores wait; the DNS pass calls this once its
/// index is built, while it builds the hostname index. `None` if no thread could be
/// started: the flow pass then makes it itself. Its budget makes room for the DNS
/// index's `index_bytes`.
pub(super) fn prepare_dedup(
    r: &Reading<'_>,
    index_bytes: u64,
) -> Option<std::thread::JoinHandle<FlowDedup>> {
    let plan = dedup_plan(r, index_bytes);
    std::thread::Builder::new()
        .name("xborder-prepare".into())
        .spawn(move || new_flow_dedup(plan))
        .ok()
}

/// The reading loop of the flow pass: every accepted flow gets the next reading-order
/// number after `seq` and goes to `folder`.
fn read_flows_into(
    r: &mut Reading<'_>,
    folder: Folder<'_, '_>,
    mut seq: u64,
    dns_answers: DnsHeld,
) -> Result<FlowPass> {
    let opts = r.opts;
    // The record handler routes flows and the batch handler sends them on.
    let folder = RefCell::new(folder);
    let prepared = r.flow_dedup.take().and_then(|h| h.join().ok());
    let flow_seen = RefCell::new(BatchedFlows::new(
        prepared.unwrap_or_else(|| new_flow_dedup(dedup_plan(r, dns_answers.bytes))),
    ));
    let mut conflicts: Vec<ConflictRow> = Vec::new();
    for (i, p) in r.planned.iter().enumerate() {
        match p.detection {
            Detection::Supported(ref f) if f.holds(RecordKind::Flow) => {
                let source = folder.borrow_mut().source(f.id());
                let prior = r.slots[i].take();
                let first_read = prior.is_none();
                let mut breakdown = FlowBreakdown::default();
                let mut report = read_file(
                    p,
                    i as u32,
                    f.clone(),
                    opts,
                    prior,
                    &mut r.rejects,
                    &mut r.progress,
                    Some(BatchFn(batch_flow_keys).work()),
                    &mut |batch| {
                        let keys = work_or(batch, batch_flow_keys);
                        flow_seen.borrow_mut().prepare(keys)
                    },
                    &mut |rec, at, counts| {
                        let flow = match rec {
                            Record::Flow(flow) => flow,
                            // Counted in the DNS pass, or a record the format should not
                            // hold (counted once, on the file's first read).
                            other => {
                                if first_read && !f.holds(other.kind()) {
                                    counts.reject(ingest::RejectReason::KindMismatch);
                                }
                                return Ok(());
                            }
                        };
                        if counts.read % crate::memory::CHECK_EVERY_RECORDS == 0 {
                            opts.memory_limit.check("reading flow logs", || {
                                flow_holders(
                                    &flow_seen.borrow().dedup,
                                    folder.borrow().groups(),
                                    dns_answers,
                                )
                            })?;
                        }
                        // Taken for every flow with a connection id, in batch order.
                        let keys = if flow.uid.is_some() {
                            flow_seen.borrow_mut().key(flow.provenance, flow)
                        } else {
                            None
                        };
                        counts.read += 1;
                        if !opts.period.contains(flow.ts) {
                            counts.outside_period += 1;
                            return Ok(());
                        }
                        let verdict = match keys {
                            Some(k) => flow_seen.borrow_mut().dedup.decide(&k)?,
                            None => FlowVerdict::New,
                        };
                        match verdict {
                            FlowVerdict::Duplicate => counts.duplicate += 1,
                            FlowVerdict::New | FlowVerdict::Conflict => {
                                if verdict == FlowVerdict::Conflict {
                                    breakdown.uid_conflicts += 1;
                                    if conflicts.len() < CONFLICTS_LISTED {
                                        conflicts.push(ConflictRow::of(&p.path, flow));
                                    }
                                }
                                counts.accepted += 1;
                                seq += 1;
                                let routed = Routed { seq, at: at as u32 };
                                folder
                                    .borrow_mut()
                                    .fold(routed, source, flow, &mut breakdown)?;
                            }
                        }
                        Ok(())
                    },
                    Some(&mut |batch| folder.borrow_mut().batch_read(batch, i as u32, source)),
                )?;
                report.flows = Some(breakdown);
                r.slots[i] = Some(report);
            }
            Detection::Supported(_) => {}
            ref unread => r.slots[i] = unread_report(&p.path, unread)?,
        }
    }
    folder.into_inner().close()?;
    // The de-duplication table and filter (~0.4 GiB at scale) are not needed to aggregate.
    let (dedup_flows, dedup_flow_ids) = flow_seen.into_inner().dedup.stats();
    Ok(FlowPass {
        partials: Vec::new(),
        conflicts,
        dedup_flows,
        dedup_flow_ids,
    })
}

/// Heap bytes of the DNS index and of the hints of its `readers` (one per fold shard).
pub(super) fn index_held(index: &DnsIndex, readers: usize) -> u64 {
    index.memory_bytes() + readers as u64 * index.reader_bytes()
}

/// The DNS index the flow pass reads, for `--memory-limit` errors and budgets.
#[derive(Debug, Clone, Copy)]
struct DnsHeld {
    answers: u64,
    bytes: u64,
}

/// What the flow pass holds, for `--memory-limit` errors.
fn flow_holders(seen: &FlowDedup, groups: u64, dns: DnsHeld) -> String {
    format!(
        "{} flow connection keys for de-duplication in memory (~{}; the rest spill to disk), {} partial groups, {} DNS answers kept (~{})",
        seen.in_memory(),
        crate::memory::human(seen.memory_bytes()),
        groups,
        dns.answers,
        crate::memory::human(dns.bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shard that gets one flow of each parser batch (its clients are few) is sent its
    /// batches [`SHARED_BATCHES_SENT`] at a time, not once it has [`BATCH_FLOWS`] flows:
    /// it would otherwise hold thousands of whole batches. Each routed place reads back
    /// the flow that was routed.
    #[test]
    fn a_shard_with_few_flows_is_sent_few_batches_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conn.log");
        let sample = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample/conn.2026-07.log"),
        )
        .unwrap();
        let header: Vec<&str> = sample.lines().take_while(|l| l.starts_with('#')).collect();
        let row = sample.lines().find(|l| !l.starts_with('#')).unwrap();
        let rest = row.split_once('\t').unwrap().1.split_once('\t').unwrap().1;
        let batches = 3 * SHARED_BATCHES_SENT;
        let mut text = header.join("\n") + "\n";
        for i in 0..batches * ingest::parallel::BATCH_ITEMS {
            text.push_str(&format!("{}.5\tC{i:017}\t{rest}\n", 1_782_900_000 + i));
        }
        std::fs::write(&path, text).unwrap();

        let mut coverage = CoverageTracker::default();
        let groups = [AtomicU64::new(0), AtomicU64::new(0)];
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..2)
            .map(|_| sync_channel::<Vec<Shared>>(BATCHES_QUEUED))
            .unzip();
        let mut folder = Folder::Sharded {
            coverage: &mut coverage,
            senders: txs,
            routed: vec![Vec::new(), Vec::new()],
            batches: vec![(Vec::new(), 0), (Vec::new(), 0)],
            groups: &groups,
        };
        let format = Format::by_id("zeek-conn-tsv").unwrap();
        let input =
            ingest::parallel::spawn(&path, format, 0, &ReaderOptions::default(), 1, None).unwrap();
        let (mut read, mut received, mut uids) = (0usize, Vec::new(), Vec::new());
        for message in input.messages.iter() {
            let ingest::parallel::Message::Items(batch) = message else {
                continue;
            };
            // The batch's last flow goes to shard 1.
            let at = batch
                .iter()
                .rposition(|i| matches!(i, Item::Record(Record::Flow(_))))
                .unwrap();
            if let Item::Record(Record::Flow(f)) = &batch[at] {
                uids.push(f.uid.clone());
            }
            let Folder::Sharded { routed, .. } = &mut folder else {
                unreachable!()
            };
            routed[1].push(Routed {
                seq: read as u64,
                at: at as u32,
            });
            folder.batch_read(batch, 0, 0).unwrap();
            read += 1;
            while let Ok(message) = rxs[1].try_recv() {
                received.push((read, message));
            }
        }
        input.join();
        assert!(read >= batches, "{read} batches read");
        assert!(rxs[0].try_recv().is_err(), "shard 0 had no flows");
        let sizes: Vec<(usize, usize)> = received.iter().map(|(r, m)| (*r, m.len())).collect();
        assert_eq!(
            sizes,
            (1..=read / SHARED_BATCHES_SENT)
                .map(|k| (k * SHARED_BATCHES_SENT, SHARED_BATCHES_SENT))
                .collect::<Vec<_>>(),
            "sent {SHARED_BATCHES_SENT} batches at a time, as soon as they were read"
        );
        let flows: Vec<_> = received
            .iter()
            .flat_map(|(_, m)| m.iter().flat_map(Shared::flows))
            .map(|f| f.unwrap().1.uid.clone())
            .collect();
        assert_eq!(flows[..], uids[..flows.len()], "each place holds its flow");
    }
}
