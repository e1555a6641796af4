//! The `analyze` pipeline: ingest → attribute → geolocate → classify → aggregate.
//!
//! DNS logs are read first so the per-client index exists before flows stream past it;
//! flows are then folded, one at a time, into small partial groups keyed by
//! (day, source, destination, hostname, method). Lookups that depend only on an address
//! or a name (site, GeoIP, vendor match) are memoised per distinct key.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::accounting::{
    FileReport, FlowBreakdown, RecordCounts, RejectRow, REJECTS_LISTED_PER_FILE,
};
use crate::aggregate::org::OrgTracker;
use crate::aggregate::{self, EgressRow, FlowSum, RegimeRow};
use crate::attribute::hostnames::Added;
use crate::attribute::{
    DnsIndex, DnsIndexBuilder, DnsWindow, HostnameIndex, HostnameIndexBuilder, HostnameMatch,
    Method,
};
use crate::candidates::CandidateTracker;
use crate::classify::regimes::Recipient;
use crate::classify::sites::UNKNOWN_SITE;
use crate::classify::vendors::ProductId;
use crate::coverage::{CoverageTracker, DnsPresence};
use crate::dedup::{DedupBudget, FlowDedup, FlowKeys, FlowVerdict, SeenKeys};
use crate::error::{Error, Result};
use crate::fasthash::{key128, FastMap};
use crate::geolocate::Location;
use crate::ingest::{self, Detection, Format, Item, ReaderOptions, RecordKind};
use crate::period::{day_date, day_of, Period};
use crate::progress::Progress;
use crate::report::evidence::{EvidenceRow, EvidenceSpool};
use crate::schema::{ByteDirection, DnsRecord, FlowRecord, Micros, Provenance, Record};

mod proxy;

pub use xborder_engine::run::{
    Analysis, AnalyzeOptions, Catalogs, ConflictRow, DedupReport, Totals, CONFLICTS_LISTED,
    DEFAULT_DNS_MAX_AGE_S, DEFAULT_DNS_TTL_GRACE_S,
};

/// A detected input waiting to be read.
struct Planned {
    path: PathBuf,
    detection: Detection,
}

/// Detect every input's format before reading any, so a bad file stops the run at once.
fn plan(
    inputs: &[PathBuf],
    patterns: &[glob::Pattern],
    exclude: &[PathBuf],
    forced: Option<Format>,
    reader: &ReaderOptions,
    strict: bool,
) -> Result<Vec<Planned>> {
    // Configuration files named on the command line often sit beside the logs (the sample
    // keeps sites.toml in its directory); they are configuration, not input.
    let excluded: Vec<PathBuf> = exclude
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let files: Vec<ingest::input::Discovered> = ingest::discover_inputs(inputs)?
        .into_iter()
        .filter(|f| std::fs::canonicalize(&f.path).map_or(true, |c| !excluded.contains(&c)))
        .filter(|f| !ingest::input::excluded_by(&f.path, patterns))
        .collect();
    let mut planned = Vec::with_capacity(files.len());
    for file in files {
        let path = file.path;
        if file.not_regular {
            planned.push(Planned {
                path,
                detection: Detection::NotRegular,
            });
            continue;
        }
        let head = ingest::input::read_head(&path, 65_536)?;
        let detection = match ingest::detect_with(&path, &head, forced.clone(), reader) {
            // A stray file inside a directory (a README, the sites file) is listed as
            // skipped; a file named on the command line, or --strict, stops the run.
            Err(Error::UnknownFormat { detail, .. }) if file.in_directory && !strict => {
                Detection::Unrecognised(detail)
            }
            other => other?,
        };
        planned.push(Planned { path, detection });
    }
    Ok(planned)
}

/// Run the pipeline up to the aggregated tables. With an evidence spool, every AI-vendor
/// egress flow is also written out as an evidence row.
pub fn analyze(
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    mut evidence: Option<&mut EvidenceSpool>,
) -> Result<Analysis> {
    let config_files: Vec<PathBuf> = [
        &opts.sites,
        &opts.geoip,
        &opts.vendors,
        &opts.regimes,
        &opts.countries,
        &opts.policy,
        &opts.assets,
    ]
    .into_iter()
    .flatten()
    .chain(&opts.reviewed_candidates)
    .chain(&opts.snapshots)
    .cloned()
    .collect();
    let planned = plan(
        &opts.inputs,
        &opts.exclude,
        &config_files,
        opts.format.clone(),
        &opts.reader,
        opts.strict,
    )?;
    let verdict_inputs = crate::report::assurance::verdict_inputs(opts, catalogs)?;
    if planned.is_empty() {
        return Err(Error::Usage("no input files found".into()));
    }
    if !planned
        .iter()
        .any(|p| matches!(p.detection, Detection::Supported(_)))
    {
        // Nothing to read: skipped files alone must not pass for an audited empty period.
        let why: Vec<String> = planned
            .iter()
            .filter_map(|p| match &p.detection {
                Detection::Unrecognised(why) => Some(format!("{}: {why}", p.path.display())),
                Detection::NotRegular => Some(format!("{}: not a regular file", p.path.display())),
                _ => None,
            })
            .collect();
        if !why.is_empty() {
            return Err(Error::UnknownFormat {
                path: planned[0].path.clone(),
                detail: format!("no input file could be read ({})", why.join("; ")),
                supported: Format::supported_list(),
            });
        }
    }
    let mut files: Vec<FileReport> = Vec::with_capacity(planned.len());
    // A file holding flows and DNS or hostnames (Suricata EVE, OCSF, ECS) is read in both
    // passes; each read counts towards progress.
    let reads = |p: &Planned| -> u64 {
        match p.detection {
            Detection::Supported(ref f) => {
                u64::from(f.holds(RecordKind::Flow))
                    + u64::from(f.holds(RecordKind::Dns) || f.holds(RecordKind::Hostname))
                    + u64::from(f.holds(RecordKind::Proxy))
            }
            _ => 0,
        }
    };
    let read_order = planned.iter().map(reads).sum::<u64>() as usize;
    let bytes_total = planned
        .iter()
        .map(|p| reads(p) * std::fs::metadata(&p.path).map(|m| m.len()).unwrap_or(0))
        .sum();
    let mut progress = Progress::new(opts.progress, read_order, bytes_total);
    let mut rejects = Vec::new();
    let mut totals = Totals::default();

    // DNS first: flows need the finished index.
    let dns_period = opts
        .period
        .extended_back(i64::from(opts.dns_window.max_age_s) * 1_000_000);
    let mut hosts = HostnameIndexBuilder::default();
    let spill_dir = match &opts.spill_dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
            d.clone()
        }
        None => std::env::temp_dir(),
    };
    let mut builder = DnsIndexBuilder::new(&catalogs.vendors).spill_to(&spill_dir);
    if let Some(n) = opts.spill_after_keys {
        builder = builder.spill_after(n);
    }
    // The built-in budgets total about 0.5 GiB; a lower --memory-limit shrinks them.
    let fraction = opts
        .memory_limit
        .0
        .map_or(1.0, |limit| limit as f64 / (1u64 << 30) as f64);
    let budget = |b: DedupBudget| match opts.spill_after_keys {
        Some(n) => DedupBudget {
            recent_keys: n,
            ..b
        },
        None => b.scaled(fraction),
    };
    // Shared by the batch hook (keys, warming) and the record handler (inserting).
    let dns_seen = RefCell::new(BatchedSeen::new(SeenKeys::new(
        budget(DedupBudget::DNS),
        &spill_dir,
    )));
    // Zeek dns.log rows run about 190 bytes, conn.log rows about 130.
    dns_seen
        .borrow_mut()
        .seen
        .expect(bytes_of(&planned, &[RecordKind::Dns]) / 150);
    let mut report_slots: Vec<Option<FileReport>> = (0..planned.len()).map(|_| None).collect();
    let mut coverage = CoverageTracker::default();
    let mut presence = DnsPresence::default();
    let mut candidates = CandidateTracker::default();
    let mut client_sites: FastMap<IpAddr, Option<u16>> = FastMap::default();
    for (i, p) in planned.iter().enumerate() {
        let Detection::Supported(f) = &p.detection else {
            continue;
        };
        if !(f.holds(RecordKind::Dns) || f.holds(RecordKind::Hostname)) {
            continue;
        }
        let source = coverage.source(f.id());
        let report = read_file(
            p,
            i as u32,
            f.clone(),
            opts,
            None,
            &mut rejects,
            &mut progress,
            &mut |items| {
                if f.holds(RecordKind::Dns) {
                    dns_seen
                        .borrow_mut()
                        .prepare(items.iter().filter_map(|item| match item {
                            Item::Record(Record::Dns(d)) => Some((d.provenance, dns_key(d))),
                            _ => None,
                        }));
                }
            },
            &mut |rec, counts| {
                match rec {
                    Record::Dns(d) if f.holds(RecordKind::Dns) => {
                        let key = dns_seen.borrow_mut().key(d.provenance, || dns_key(&d));
                        if counts.read % crate::memory::CHECK_EVERY_RECORDS == 0 {
                            opts.memory_limit.check("reading DNS logs", || {
                                dns_holders(&dns_seen.borrow().seen, builder.answers())
                            })?;
                        }
                        counts.read += 1;
                        if !dns_period.contains(d.ts) {
                            counts.outside_period += 1;
                        } else if !dns_seen.borrow_mut().seen.insert(key)? {
                            counts.duplicate += 1;
                        } else {
                            counts.accepted += 1;
                            builder.add(&d)?;
                            observe_dns(
                                &d,
                                source,
                                catalogs,
                                &opts.period,
                                &mut client_sites,
                                &mut coverage,
                                &mut presence,
                                &mut candidates,
                            );
                        }
                    }
                    Record::Hostname(h) if f.holds(RecordKind::Hostname) => {
                        counts.read += 1;
                        match hosts.add(&h) {
                            Added::Duplicate => counts.duplicate += 1,
                            Added::New | Added::Conflict => counts.accepted += 1,
                        }
                    }
                    // Flows of a mixed file are counted in the flow pass.
                    Record::Flow(_) if f.holds(RecordKind::Flow) => {}
                    _ => counts.reject(ingest::RejectReason::KindMismatch),
                }
                Ok(())
            },
        )?;
        report_slots[i] = Some(report);
    }
    let dedup_dns = dns_seen.into_inner().seen.stats();
    let index = builder.finish()?;
    let hostnames = hosts.finish(&catalogs.vendors, &index);

    // Flows.
    let mut state = FlowState::new(catalogs, &index, &hostnames, opts);
    state.coverage = coverage;
    state.presence = presence;
    state.candidates = candidates;
    let flow_seen = RefCell::new(BatchedFlows {
        dedup: FlowDedup::new(
            budget(DedupBudget::FLOWS),
            budget(DedupBudget::FLOWS.scaled(0.5)),
            &spill_dir,
        ),
        pending: VecDeque::new(),
    });
    flow_seen
        .borrow_mut()
        .dedup
        .expect(bytes_of(&planned, &[RecordKind::Flow]) / 100);
    // Proxy logs before flows: the flows must know which proxy legs the logs carry.
    let mut proxy_seen = SeenKeys::new(budget(DedupBudget::DNS), &spill_dir);
    proxy::read_proxy_files(
        &planned,
        opts,
        &mut state,
        &mut proxy_seen,
        &mut report_slots,
        &mut rejects,
        &mut progress,
        evidence.as_deref_mut(),
    )?;
    drop(proxy_seen);
    let mut conflicts: Vec<ConflictRow> = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        match p.detection {
            Detection::Supported(ref f) if f.holds(RecordKind::Flow) => {
                state.source = state.coverage.source(f.id());
                let prior = report_slots[i].take();
                let first_read = prior.is_none();
                let mut breakdown = FlowBreakdown::default();
                let mut report = read_file(
                    p,
                    i as u32,
                    f.clone(),
                    opts,
                    prior,
                    &mut rejects,
                    &mut progress,
                    &mut |items| {
                        flow_seen
                            .borrow_mut()
                            .prepare(items.iter().filter_map(|item| match item {
                                Item::Record(Record::Flow(f)) => {
                                    FlowKeys::of(f).map(|k| (f.provenance, k))
                                }
                                _ => None,
                            }))
                    },
                    &mut |rec, counts| {
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
                                    &state,
                                    index.stats.answers_kept,
                                )
                            })?;
                        }
                        // Taken for every flow with a connection id, in batch order.
                        let keys = if flow.uid.is_some() {
                            flow_seen.borrow_mut().key(flow.provenance, &flow)
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
                                        conflicts.push(ConflictRow::of(&p.path, &flow));
                                    }
                                }
                                counts.accepted += 1;
                                state.fold(flow, &mut breakdown, evidence.as_deref_mut())?;
                            }
                        }
                        Ok(())
                    },
                )?;
                report.flows = Some(breakdown);
                report_slots[i] = Some(report);
            }
            Detection::Supported(_) => {}
            Detection::ZeekOtherLog(ref name) => {
                report_slots[i] = Some(skipped_report(&p.path, &format!("skipped:zeek-{name}"))?);
            }
            Detection::Empty => {
                report_slots[i] = Some(skipped_report(&p.path, "empty")?);
            }
            Detection::Unrecognised(ref why) => {
                let mut report = skipped_report(&p.path, "skipped:unrecognised")?;
                report
                    .notes
                    .push(crate::text::escape_control(why).into_owned());
                report_slots[i] = Some(report);
            }
            Detection::NotRegular => {
                report_slots[i] = Some(FileReport {
                    notes: vec!["not a regular file (a FIFO, socket or device): not opened".into()],
                    ..FileReport::skipped(&p.path, "skipped:not-a-regular-file")
                });
            }
        }
    }
    // The de-duplication table and filter (~0.4 GiB at scale) are not needed to aggregate.
    let (dedup_flows, dedup_flow_ids) = flow_seen.into_inner().dedup.stats();
    let mut unclaimed = FlowBreakdown::default();
    state.drain_sessions(&mut unclaimed, evidence)?;
    totals.flows.add(&unclaimed);
    for report in report_slots.iter().flatten() {
        match report.kind.as_deref() {
            Some("flow") => totals.flow_records.add(&report.counts),
            Some("proxy") => totals.proxy_records.add(&report.counts),
            Some(k) if k.contains("flow") => totals.mixed_records.add(&report.counts),
            Some(_) => totals.dns_records.add(&report.counts),
            None => {}
        }
        if let Some(b) = &report.flows {
            totals.flows.add(b);
        }
    }
    for slot in report_slots.into_iter().flatten() {
        if slot.format.starts_with("skipped") || slot.format == "empty" {
            totals.files_skipped += 1;
        } else {
            totals.files_read += 1;
        }
        files.push(slot);
    }
    for f in &files {
        if !f.counts.balanced() {
            return Err(Error::Aggregate(format!(
                "accounting does not balance for {}: {:?}",
                f.path, f.counts
            )));
        }
    }

    progress.finish();
    opts.memory_limit.check("aggregating", || {
        format!(
            "{} partial groups, {} DNS answers kept",
            state.ai.len() + state.other.len(),
            index.stats.answers_kept
        )
    })?;
    let (ai_rows, other_rows) = state.rows();
    let unattributed = std::mem::take(&mut state.unattributed);
    let (observed, distinct_destinations, distinct_sources) = (
        state.observed,
        state.geo_cache.len() as u64,
        state.site_cache.len() as u64,
    );
    let (proxy_stats, blocked) = state.proxy_results();
    totals.proxy = proxy_stats;
    let org = state.org.finish();
    let regime_rows = regime_rows(catalogs, &ai_rows, &other_rows);
    let tables = aggregate::build_tables(&ai_rows, &other_rows, &regime_rows)?;
    let site_names: Vec<String> = catalogs
        .sites
        .sites
        .iter()
        .map(|s| s.name.clone())
        .collect();
    let coverage =
        std::mem::take(&mut state.coverage).finish(&site_names, &opts.period, opts.thresholds);
    let candidates = std::mem::take(&mut state.candidates).finish(
        opts.thresholds.candidate_min_bytes,
        &catalogs.reviewed,
        &|i| {
            site_names
                .get(usize::from(i))
                .cloned()
                .unwrap_or_else(|| UNKNOWN_SITE.to_string())
        },
    );
    let verdicts = crate::verdict::judge(&crate::verdict::Evidence {
        policy: catalogs.policy.as_ref(),
        sites: &catalogs.sites,
        regimes: &catalogs.regimes,
        period: &opts.period,
        coverage: &coverage,
        summary: &org.summary,
        findings: &tables.findings,
        candidates: &candidates,
        vendor_catalog_as_of: Some(catalogs.vendors.identity.as_of.as_str()),
    });
    Ok(Analysis {
        files,
        rejects,
        tables,
        totals,
        dns: index.stats.clone(),
        hostnames: hostnames.stats.clone(),
        geoip: catalogs.geoip.identity.clone(),
        catalogs: catalogs.identities(),
        observed,
        distinct_destinations,
        distinct_sources,
        org,
        unattributed,
        snapshots: catalogs.snapshots.files.clone(),
        dedup: DedupReport {
            flows: dedup_flows,
            flow_ids: dedup_flow_ids,
            dns: dedup_dns,
        },
        conflicts,
        coverage,
        candidates,
        verdicts,
        verdict_inputs,
        blocked,
    })
}

/// Coverage, DNS presence and AI-looking names of one accepted DNS record.
#[allow(clippy::too_many_arguments)]
fn observe_dns(
    d: &DnsRecord,
    source: u16,
    catalogs: &Catalogs,
    period: &Period,
    client_sites: &mut FastMap<IpAddr, Option<u16>>,
    coverage: &mut CoverageTracker,
    presence: &mut DnsPresence,
    candidates: &mut CandidateTracker,
) {
    let site = *client_sites
        .entry(d.client_ip)
        .or_insert_with(|| catalogs.sites.index_of(d.client_ip).map(|i| i as u16));
    // The DNS pass reads back past the period start for the attribution window; coverage
    // counts the period only.
    if let (Some(site), true) = (site, period.contains(d.ts)) {
        coverage.dns(site, source, d.ts);
    }
    let mut name = None;
    let mut answered = false;
    for answer in &d.answers {
        if let crate::schema::AnswerValue::Address(address) = answer.value {
            if !answered {
                presence.add(d.client_ip, d.response_ts);
                answered = true;
            }
            let id = *name.get_or_insert_with(|| {
                candidates.name_id(&d.query, |q| catalogs.vendors.match_host(q).is_some())
            });
            if let Some(id) = id {
                candidates.answer(id, address);
            }
        }
    }
}

/// Bytes on disk of the planned inputs holding any of `kinds`, for sizing tables.
fn bytes_of(planned: &[Planned], kinds: &[RecordKind]) -> u64 {
    planned
        .iter()
        .filter(|p| match p.detection {
            Detection::Supported(ref f) => kinds.iter().any(|k| f.holds(*k)),
            _ => false,
        })
        .map(|p| std::fs::metadata(&p.path).map_or(0, |m| m.len()))
        .sum()
}

fn skipped_report(path: &Path, format: &str) -> Result<FileReport> {
    let sha256 = ingest::input::sha256_file(path)?;
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    Ok(FileReport {
        sha256,
        size_bytes: size,
        ..FileReport::skipped(path, format)
    })
}

/// Read one file, counting rejects and filtered records here and handing records to
/// `on_record`. A file read a second time (a mixed file in the flow pass) continues its
/// `prior` report: its rejects, filtered records and notes were counted on the first read.
#[allow(clippy::too_many_arguments)]
fn read_file(
    planned: &Planned,
    file_index: u32,
    format: Format,
    opts: &AnalyzeOptions,
    prior: Option<FileReport>,
    rejects: &mut Vec<RejectRow>,
    progress: &mut Progress,
    on_batch: &mut dyn FnMut(&[Item]),
    on_record: &mut dyn FnMut(Record, &mut RecordCounts) -> Result<()>,
) -> Result<FileReport> {
    let path = &planned.path;
    let display = path.display().to_string();
    // Read, hash and decompress on one helper thread, parse on another; fold here.
    let threaded = ingest::parallel::spawn(path, format.clone(), file_index, &opts.reader)?;
    progress.start_file(
        &display,
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
    );
    let compression = threaded.compression.as_str().to_string();
    let first_read = prior.is_none();
    let (mut counts, mut notes, mut listed) = match prior {
        Some(p) => (p.counts, p.notes, p.rejects_listed),
        None => (RecordCounts::default(), Vec::new(), 0u64),
    };
    let mut handle = |item: Item, counts: &mut RecordCounts| -> Result<()> {
        progress.tick(&|| threaded.raw.get());
        match item {
            Item::Record(rec) => on_record(rec, counts)?,
            Item::Reject(_) | Item::Filtered { .. } | Item::Note(_) if !first_read => {}
            Item::Reject(r) => {
                if opts.strict {
                    return Err(Error::StrictReject {
                        path: path.clone(),
                        line: r.line,
                        field: r.field,
                        reason: format!("{}: {}", r.reason.as_str(), r.detail),
                    });
                }
                counts.reject(r.reason);
                if (listed as usize) < REJECTS_LISTED_PER_FILE {
                    listed += 1;
                    rejects.push(RejectRow {
                        file: display.clone(),
                        reject: r,
                    });
                }
            }
            Item::Filtered { reason, .. } => counts.filter(reason),
            Item::Note(note) => {
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
        }
        Ok(())
    };
    let mut finished = None;
    let mut failure = None;
    for message in threaded.messages.iter() {
        match message {
            ingest::parallel::Message::Items(items) => {
                on_batch(&items);
                for item in items {
                    if let Err(e) = handle(item, &mut counts) {
                        failure = Some(e);
                        break;
                    }
                }
                if failure.is_some() {
                    break;
                }
            }
            ingest::parallel::Message::Done { sha256, size } => finished = Some((sha256, size)),
            // Decompression and read errors name the file.
            ingest::parallel::Message::Failed(e) => {
                failure = Some(match e {
                    Error::Io { cause, .. } => Error::io(path, cause),
                    other => other,
                });
                break;
            }
        }
    }
    threaded.join();
    if let Some(e) = failure {
        return Err(e);
    }
    let Some((sha256, size)) = finished else {
        return Err(Error::io(
            path,
            std::io::Error::other("reading stopped before the end of the file"),
        ));
    };
    Ok(FileReport {
        path: display,
        sha256,
        size_bytes: size,
        compression,
        format: format.id().to_string(),
        kind: Some(format.kinds_label()),
        counts,
        notes,
        flows: None,
        rejects_listed: listed,
        pack_member: None,
    })
}

/// Identity of a logged DNS record for de-duplicating overlapping exports. Zeek may log
/// one transaction in two rows (a retransmit without answers, then the response); those
/// differ in answers or round trip and are both kept, so no answer is ever lost.
fn dns_key(d: &DnsRecord) -> u128 {
    key128(&(
        &d.uid,
        d.ts,
        d.response_ts,
        d.trans_id,
        &d.query,
        &d.qtype,
        &d.rcode,
        d.client_ip,
        &d.answers,
    ))
}

/// A de-duplication set fed a batch at a time: each batch's keys are computed once, and
/// their slots warmed together, when the batch arrives; the record handler then takes them
/// in order instead of hashing again.
struct BatchedSeen {
    seen: SeenKeys,
    pending: VecDeque<(Provenance, u128)>,
}

impl BatchedSeen {
    fn new(seen: SeenKeys) -> Self {
        BatchedSeen {
            seen,
            pending: VecDeque::new(),
        }
    }

    fn prepare(&mut self, keys: impl Iterator<Item = (Provenance, u128)>) {
        self.pending.clear();
        self.pending.extend(keys);
        self.seen.warm(self.pending.iter().map(|(_, k)| *k));
    }

    /// The prepared key of the record at `at`; computed afresh if the handler strayed
    /// from the batch's order, so a mismatch can never pair a record with another's key.
    fn key(&mut self, at: Provenance, compute: impl FnOnce() -> u128) -> u128 {
        match self.pending.pop_front() {
            Some((p, key)) if p == at => key,
            _ => compute(),
        }
    }
}

/// What the DNS pass holds, for `--memory-limit` errors.
fn dns_holders(seen: &SeenKeys, answers: usize) -> String {
    format!(
        "{} DNS record keys for de-duplication in memory (~{}; the rest spill to disk), {} address answers waiting for the vendor filter (~{})",
        seen.in_memory(),
        crate::memory::human(seen.memory_bytes()),
        answers,
        crate::memory::human(answers as u64 * 64)
    )
}

/// [`FlowDedup`] fed a batch at a time, as [`BatchedSeen`] for DNS keys.
struct BatchedFlows {
    dedup: FlowDedup,
    pending: VecDeque<(Provenance, FlowKeys)>,
}

impl BatchedFlows {
    fn prepare(&mut self, keys: impl Iterator<Item = (Provenance, FlowKeys)>) {
        self.pending.clear();
        self.pending.extend(keys);
        self.dedup.warm(self.pending.iter().map(|(_, k)| k));
    }

    /// The prepared keys of `flow`; computed afresh if the handler strayed from the
    /// batch's order.
    fn key(&mut self, at: Provenance, flow: &FlowRecord) -> Option<FlowKeys> {
        match self.pending.pop_front() {
            Some((p, keys)) if p == at => Some(keys),
            _ => FlowKeys::of(flow),
        }
    }
}

/// What the flow pass holds, for `--memory-limit` errors.
fn flow_holders(seen: &FlowDedup, state: &FlowState<'_>, dns_answers: u64) -> String {
    format!(
        "{} flow connection keys for de-duplication in memory (~{}; the rest spill to disk), {} partial groups, {} distinct destinations, {} DNS answers kept",
        seen.in_memory(),
        crate::memory::human(seen.memory_bytes()),
        state.ai.len() + state.other.len(),
        state.geo_cache.len().max(state.range_cache.len()),
        dns_answers
    )
}

/// Sentinel site index for egress from no configured site.
const NO_SITE: u16 = u16::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct AiKey {
    day: i32,
    site: u16,
    src: IpAddr,
    dst: IpAddr,
    product: ProductId,
    method: Method,
    hostname: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct OtherKey {
    day: i32,
    site: u16,
    src: IpAddr,
    country: [u8; 2],
}

/// Per-run state of the flow pass: memo tables and partial groups.
struct FlowState<'a> {
    catalogs: &'a Catalogs,
    index: &'a DnsIndex,
    hostnames: &'a HostnameIndex,
    window: DnsWindow,
    snapshot_max_distance_s: u32,
    collect_unattributed: bool,
    unattributed: HashMap<IpAddr, u64>,
    site_cache: FastMap<IpAddr, Option<u16>>,
    geo_cache: FastMap<IpAddr, [u8; 2]>,
    range_cache: FastMap<IpAddr, Option<ProductId>>,
    name_cache: FastMap<u32, Option<ProductId>>,
    finding_ids: FastMap<(u16, [u8; 2], ProductId, Method), String>,
    flow_regimes: FastMap<(u16, [u8; 2], ProductId, i32, String), String>,
    ai: FastMap<AiKey, FlowSum>,
    other: FastMap<OtherKey, FlowSum>,
    observed: Option<(Micros, Micros)>,
    /// Bytes out and in of every egress flow folded so far. Every table sums a subset of
    /// these flows, so while these fit in 64 bits no group, daily, policy or department
    /// total can wrap.
    egress_bytes: (u64, u64),
    org: OrgTracker<'a>,
    coverage: CoverageTracker,
    presence: DnsPresence,
    candidates: CandidateTracker,
    /// Coverage source id of the file being read.
    source: u16,
    proxy: proxy::ProxyState,
}

impl<'a> FlowState<'a> {
    fn new(
        catalogs: &'a Catalogs,
        index: &'a DnsIndex,
        hostnames: &'a HostnameIndex,
        opts: &AnalyzeOptions,
    ) -> Self {
        FlowState {
            catalogs,
            index,
            hostnames,
            window: opts.dns_window,
            snapshot_max_distance_s: opts.snapshot_max_distance_s,
            collect_unattributed: opts.collect_unattributed,
            unattributed: HashMap::new(),
            site_cache: FastMap::default(),
            geo_cache: FastMap::default(),
            range_cache: FastMap::default(),
            name_cache: FastMap::default(),
            finding_ids: FastMap::default(),
            flow_regimes: FastMap::default(),
            ai: FastMap::default(),
            other: FastMap::default(),
            observed: None,
            egress_bytes: (0, 0),
            coverage: CoverageTracker::default(),
            presence: DnsPresence::default(),
            candidates: CandidateTracker::default(),
            source: 0,
            org: OrgTracker::new(
                catalogs.policy.as_ref(),
                catalogs.assets.as_ref(),
                &catalogs.sites,
                &catalogs.vendors,
            ),
            proxy: proxy::ProxyState::new(&catalogs.sites.proxies),
        }
    }

    /// The `;`-joined regimes under which egress from `site` to `country` for `product`
    /// (reached by the name `host`, empty when none) on `day` is a transfer, including the
    /// onward transfers the catalog implies (`classify::onward`); empty when none, memoised.
    fn regimes_for(
        &mut self,
        site: u16,
        country: [u8; 2],
        product: ProductId,
        day: i32,
        host: &str,
    ) -> String {
        let catalogs = self.catalogs;
        let key = crate::classify::onward::exposure_key(&catalogs.vendors, product, host);
        self.flow_regimes
            .entry((site, country, product, day, key))
            .or_insert_with_key(|(_, _, _, _, key)| {
                let Some(s) = catalogs.sites.sites.get(usize::from(site)) else {
                    return String::new();
                };
                let dc = String::from_utf8_lossy(&country).into_owned();
                let v = catalogs.vendors.vendor_of(product);
                let exposure =
                    crate::classify::onward::exposure_from_key(&catalogs.vendors, &v.name, key);
                crate::classify::onward::decide(
                    &catalogs.regimes,
                    &s.country,
                    &dc,
                    day_date(day),
                    Some(Recipient::from(v)),
                    &exposure,
                )
                .into_iter()
                .map(|f| f.regime)
                .collect::<Vec<_>>()
                .join(";")
            })
            .clone()
    }

    fn site(&mut self, ip: IpAddr) -> Option<u16> {
        let sites = &self.catalogs.sites;
        *self
            .site_cache
            .entry(ip)
            .or_insert_with(|| sites.index_of(ip).map(|i| i as u16))
    }

    fn country(&mut self, ip: IpAddr) -> [u8; 2] {
        let geo = &self.catalogs.geoip;
        *self
            .geo_cache
            .entry(ip)
            .or_insert_with(|| match geo.locate(ip) {
                Location::Country(c) => {
                    let b = c.as_bytes();
                    [b[0], b[1]]
                }
                _ => *b"ZZ",
            })
    }

    /// Whether an address is on the inside: in a configured site, or special-purpose.
    fn is_local(&mut self, ip: IpAddr) -> bool {
        self.site(ip).is_some() || crate::geolocate::special_purpose(ip).is_some()
    }

    /// Fold one accepted flow into the partial groups.
    fn fold(
        &mut self,
        mut flow: FlowRecord,
        breakdown: &mut FlowBreakdown,
        evidence: Option<&mut EvidenceSpool>,
    ) -> Result<()> {
        match flow.direction {
            ByteDirection::Biflow => {}
            ByteDirection::Combined => breakdown.bytes_combined += 1,
            // One direction of a connection: the return direction of a connection opened
            // from inside is turned round so its bytes count as received by the client.
            ByteDirection::Uniflow => {
                if !self.is_local(flow.src_ip) && self.is_local(flow.dst_ip) {
                    std::mem::swap(&mut flow.src_ip, &mut flow.dst_ip);
                    std::mem::swap(&mut flow.src_port, &mut flow.dst_port);
                    flow.bytes_in = flow.bytes_out;
                    flow.bytes_out = flow.bytes_in.map(|_| 0);
                    breakdown.return_direction += 1;
                }
            }
        }
        let flow = &flow;
        if let Some(s) = self.site(flow.src_ip).or_else(|| self.site(flow.dst_ip)) {
            self.coverage.flow(s, self.source, flow.ts);
        }
        if self.carried_by_proxy_log(flow) {
            return Ok(());
        }
        self.observed = Some(match self.observed {
            None => (flow.ts, flow.ts),
            Some((a, b)) => (a.min(flow.ts), b.max(flow.ts)),
        });
        // A combined count, and one direction of a uniflow export, have nothing in the
        // other byte field by design.
        let unset = match flow.direction {
            ByteDirection::Combined | ByteDirection::Uniflow => {
                flow.bytes_out.is_none() && flow.bytes_in.is_none()
            }
            ByteDirection::Biflow => flow.bytes_out.is_none() || flow.bytes_in.is_none(),
        };
        if unset {
            breakdown.bytes_unset += 1;
        }
        let site = self.site(flow.src_ip);
        let src_local = site.is_some()
            || crate::geolocate::special_purpose(flow.src_ip).is_some()
            || flow.local_orig == Some(true);
        if !src_local {
            breakdown.inbound += 1;
            return Ok(());
        }
        if crate::geolocate::special_purpose(flow.dst_ip).is_some() {
            breakdown.internal += 1;
            return Ok(());
        }
        self.egress_bytes = checked_total(self.egress_bytes, flow)?;
        match site {
            Some(_) => breakdown.egress += 1,
            None => breakdown.egress_unknown_site += 1,
        }
        let site = site.unwrap_or(NO_SITE);
        let day = day_of(flow.ts);

        let dns = self
            .index
            .lookup(flow.src_ip, flow.dst_ip, flow.ts, self.window);
        let index = self.index;
        let catalog = &self.catalogs.vendors;
        let dns_product = dns.as_ref().and_then(|m| {
            *self
                .name_cache
                .entry(m.name)
                .or_insert_with(|| catalog.match_host(index.name(m.name)))
        });
        // Without a hostname on the connection: dns, ip_range, snapshot, ptr, strongest
        // first. `hostname` indexes the name table of the method that attributed the flow.
        let weaker = match dns_product {
            Some(p) => Some((p, Method::Dns, dns.as_ref().map(|m| m.name))),
            None => {
                let range = *self
                    .range_cache
                    .entry(flow.dst_ip)
                    .or_insert_with(|| catalog.match_ip(flow.dst_ip));
                range
                    .map(|p| (p, Method::IpRange, dns.as_ref().map(|m| m.name)))
                    .or_else(|| {
                        self.catalogs
                            .snapshots
                            .lookup(flow.dst_ip, flow.ts, self.snapshot_max_distance_s)
                            .map(|m| (m.product, Method::Snapshot, Some(m.host)))
                    })
                    .or_else(|| {
                        self.catalogs
                            .ptr
                            .get(flow.dst_ip)
                            .map(|(p, name)| (p, Method::Ptr, Some(name)))
                    })
            }
        };
        // The name the client sent on this connection (SNI, HTTP Host) outranks them all,
        // whether it names a vendor or not; a weaker method that said otherwise is counted.
        let named: Option<HostnameMatch> = match (&flow.uid, self.hostnames.is_empty()) {
            (Some(uid), false) => self.hostnames.lookup(uid, flow.dst_ip),
            _ => None,
        };
        // A URL-filter log of this very session names the host just as directly.
        let proxied = self.session_host(flow);
        let attribution = match (&proxied, named) {
            (Some(p), _) => {
                if let Some((weak_product, weak_method, _)) = weaker {
                    if p.product != Some(weak_product) {
                        let key = format!("proxy_host_vs_{}", weak_method.as_str());
                        *breakdown.attribution_disagreements.entry(key).or_default() += 1;
                    }
                }
                p.product.map(|x| (x, Method::ProxyHost, Some(p.name)))
            }
            (None, named) => match named {
                Some(h) => {
                    let method = Method::from(h.source);
                    if let Some((weak_product, weak_method, _)) = weaker {
                        if h.product != Some(weak_product) {
                            let key = format!("{}_vs_{}", method.as_str(), weak_method.as_str());
                            *breakdown.attribution_disagreements.entry(key).or_default() += 1;
                        }
                    }
                    h.product.map(|p| (p, method, Some(h.name)))
                }
                None => weaker,
            },
        };
        if site != NO_SITE {
            let dns_visible = self
                .presence
                .visible(flow.src_ip, flow.ts, self.window.max_age_s);
            self.coverage
                .egress(site, self.source, flow.ts, dns_visible, named.is_some());
        }
        match attribution {
            Some((product, method, hostname)) => {
                breakdown.ai_vendor += 1;
                breakdown.count_method(method);
                let key = AiKey {
                    day,
                    site,
                    src: flow.src_ip,
                    dst: flow.dst_ip,
                    product,
                    method,
                    hostname,
                };
                let country = self.country(flow.dst_ip);
                self.ai
                    .entry(key)
                    .or_insert_with(|| FlowSum::new(flow.ts))
                    .add(flow);
                if self.catalogs.policy.is_some() || self.catalogs.assets.is_some() {
                    let host = match method {
                        Method::IpRange => String::new(),
                        _ => hostname
                            .map(|h| self.host_name(method, h).to_string())
                            .unwrap_or_default(),
                    };
                    let regimes = self.regimes_for(site, country, product, day, &host);
                    self.org.observe(flow, site, product, day, &regimes);
                }
                if let Some(spool) = evidence {
                    let justifying = match method {
                        Method::Dns => dns
                            .as_ref()
                            .map(|m| (m.provenance.file, m.provenance.line, m.response_ts)),
                        Method::Sni | Method::HttpHost => {
                            named.map(|h| (h.provenance.file, h.provenance.line, h.ts))
                        }
                        Method::ProxyHost => proxied
                            .as_ref()
                            .map(|h| (h.provenance.file, h.provenance.line, h.ts)),
                        _ => None,
                    };
                    // An ip_range flow's DNS name, if any, did not attribute it.
                    let host = match method {
                        Method::IpRange => None,
                        _ => hostname,
                    };
                    self.write_evidence(
                        spool, flow, site, country, product, method, justifying, host, day,
                    )?;
                }
            }
            None => {
                let catalog = &self.catalogs.vendors;
                let candidate = match named {
                    Some(h) => self.candidates.name_id(self.hostnames.name(h.name), |n| {
                        catalog.match_host(n).is_some()
                    }),
                    None => None,
                }
                .or_else(|| self.candidates.name_of_address(flow.dst_ip));
                if let Some(id) = candidate {
                    self.candidates.egress(
                        id,
                        site,
                        flow.dst_ip,
                        flow.ts,
                        flow.bytes_out.unwrap_or(0),
                        flow.bytes_in.unwrap_or(0),
                    );
                }
                if self.collect_unattributed {
                    // Only ranks destinations for PTR look-ups, never reported as a total.
                    let bytes = flow.bytes_out.unwrap_or(0) + flow.bytes_in.unwrap_or(0);
                    let slot = self.unattributed.entry(flow.dst_ip).or_default();
                    *slot = slot.saturating_add(bytes);
                }
                let country = self.country(flow.dst_ip);
                let key = OtherKey {
                    day,
                    site,
                    src: flow.src_ip,
                    country,
                };
                self.other
                    .entry(key)
                    .or_insert_with(|| FlowSum::new(flow.ts))
                    .add(flow);
            }
        }
        Ok(())
    }

    /// Write one evidence row, with the finding it counts towards and the regimes that
    /// treat it as a transfer (both memoised per group).
    #[allow(clippy::too_many_arguments)]
    fn write_evidence(
        &mut self,
        spool: &mut EvidenceSpool,
        flow: &FlowRecord,
        site: u16,
        country: [u8; 2],
        product: ProductId,
        method: Method,
        justifying: Option<(u32, u64, Micros)>,
        host: Option<u32>,
        day: i32,
    ) -> Result<()> {
        let catalog = &self.catalogs.vendors;
        let (site_name, site_country) = match self.catalogs.sites.sites.get(usize::from(site)) {
            Some(s) => (s.name.as_str(), s.country.as_str()),
            None => (UNKNOWN_SITE, ""),
        };
        let dc = String::from_utf8_lossy(&country).into_owned();
        let p = catalog.product(product);
        let v = catalog.vendor_of(product);
        let finding_id = self
            .finding_ids
            .entry((site, country, product, method))
            .or_insert_with(|| {
                aggregate::finding_id([
                    site_name,
                    site_country,
                    &dc,
                    &v.name,
                    &p.name,
                    &p.category,
                    method.as_str(),
                ])
            })
            .clone();
        let host_text = host.map_or(String::new(), |h| self.host_name(method, h).to_string());
        let regimes = self.regimes_for(site, country, product, day, &host_text);
        spool.push(&EvidenceRow {
            finding_id: &finding_id,
            regimes: &regimes,
            file: flow.provenance.file,
            line: flow.provenance.line,
            ts: flow.ts,
            src_ip: flow.src_ip.to_string(),
            src_port: flow.src_port,
            dst_ip: flow.dst_ip.to_string(),
            dst_port: flow.dst_port,
            proto: flow.proto.as_str(),
            bytes_out: flow.bytes_out,
            bytes_in: flow.bytes_in,
            hostname: host.map_or("", |h| self.host_name(method, h)),
            attribution: method.as_str(),
            vendor: &v.name,
            product: &p.name,
            category: &p.category,
            source_site: site_name,
            destination_country: &dc,
            dns: justifying,
        })
    }

    /// A hostname id in the name table of the method that produced it.
    fn host_name(&self, method: Method, id: u32) -> &str {
        match method {
            Method::Snapshot => self.catalogs.snapshots.name(id),
            Method::Ptr => self.catalogs.ptr.name(id),
            Method::Sni | Method::HttpHost => self.hostnames.name(id),
            Method::ProxyHost => self.proxy.name(id),
            _ => self.index.name(id),
        }
    }

    /// The partial groups as frame rows, in key order.
    fn rows(&self) -> (Vec<EgressRow>, Vec<EgressRow>) {
        let sites = &self.catalogs.sites.sites;
        let site_of = |i: u16| -> (String, String) {
            match sites.get(usize::from(i)) {
                Some(s) => (s.name.clone(), s.country.clone()),
                None => (UNKNOWN_SITE.to_string(), String::new()),
            }
        };
        let catalog = &self.catalogs.vendors;
        let mut ai_keys: Vec<&AiKey> = self.ai.keys().collect();
        ai_keys.sort();
        let ai = ai_keys
            .into_iter()
            .map(|k| {
                let p = &self.ai[k];
                let (site, country) = site_of(k.site);
                let product = catalog.product(k.product);
                let vendor = catalog.vendor_of(k.product);
                let dc = self.geo_cache.get(&k.dst).copied().unwrap_or(*b"ZZ");
                let hostname = k
                    .hostname
                    .map(|h| self.host_name(k.method, h).to_string())
                    .unwrap_or_default();
                // A name that did not attribute the flow (an ip_range flow's DNS name) does
                // not give it a processing scope either, as in the evidence rows.
                let scope_host = if k.method == Method::IpRange {
                    ""
                } else {
                    hostname.as_str()
                };
                let onward = crate::classify::onward::exposure_key(catalog, k.product, scope_host);
                EgressRow {
                    day: k.day,
                    source_site: site,
                    source_country: country,
                    src_ip: k.src.to_string(),
                    // A proxy request without a logged server address has none.
                    dst_ip: if k.dst.is_unspecified() {
                        String::new()
                    } else {
                        k.dst.to_string()
                    },
                    destination_country: String::from_utf8_lossy(&dc).into_owned(),
                    hostname,
                    onward,
                    vendor: vendor.name.clone(),
                    vendor_hq_country: vendor.hq_country.clone(),
                    product: product.name.clone(),
                    category: product.category.clone(),
                    attribution: k.method.as_str().to_string(),
                    flows: p.flows,
                    bytes_out: p.bytes_out,
                    bytes_in: p.bytes_in,
                    first_seen: p.first,
                    last_seen: p.last,
                }
            })
            .collect();
        let mut other_keys: Vec<&OtherKey> = self.other.keys().collect();
        other_keys.sort();
        let other = other_keys
            .into_iter()
            .map(|k| {
                let p = &self.other[k];
                let (site, country) = site_of(k.site);
                EgressRow {
                    day: k.day,
                    source_site: site,
                    source_country: country,
                    src_ip: k.src.to_string(),
                    destination_country: String::from_utf8_lossy(&k.country).into_owned(),
                    attribution: Method::None.as_str().to_string(),
                    flows: p.flows,
                    bytes_out: p.bytes_out,
                    bytes_in: p.bytes_in,
                    first_seen: p.first,
                    last_seen: p.last,
                    ..EgressRow::default()
                }
            })
            .collect();
        (ai, other)
    }
}

/// `totals` plus one flow's bytes, or an error when either sum would pass 2^64-1. Each
/// record is bounded by [`ingest::MAX_FLOW_BYTES`], so this takes over 2,000 forged
/// records; it stops the run rather than report a wrapped or saturated figure.
fn checked_total(totals: (u64, u64), flow: &FlowRecord) -> Result<(u64, u64)> {
    let out = totals.0.checked_add(flow.bytes_out.unwrap_or(0));
    let back = totals.1.checked_add(flow.bytes_in.unwrap_or(0));
    match (out, back) {
        (Some(out), Some(back)) => Ok((out, back)),
        _ => Err(Error::Aggregate(format!(
            "the bytes of all egress flows would exceed 2^64-1 at line {} of input #{}: the input holds implausibly large byte counts; no total is reported rather than a wrapped one",
            flow.provenance.line,
            flow.provenance.file + 1
        ))),
    }
}

/// Evaluate regimes once per distinct (source country, destination country, vendor, day).
fn regime_rows(catalogs: &Catalogs, ai: &[EgressRow], other: &[EgressRow]) -> Vec<RegimeRow> {
    let mut by_name: BTreeMap<&str, Recipient<'_>> = BTreeMap::new();
    for v in &catalogs.vendors.vendors {
        by_name.insert(v.name.as_str(), Recipient::from(v));
    }
    let mut combos: BTreeSet<(&str, &str, &str, i32, &str)> = BTreeSet::new();
    for r in ai.iter().chain(other) {
        if r.source_country.is_empty() {
            continue;
        }
        combos.insert((
            &r.source_country,
            &r.destination_country,
            &r.vendor,
            r.day,
            &r.onward,
        ));
    }
    let mut out = Vec::new();
    for (sc, dc, vendor, day, onward) in combos {
        let (recipient, exposure) = if vendor.is_empty() {
            (None, crate::classify::onward::Exposure::default())
        } else {
            (
                by_name.get(vendor).copied(),
                crate::classify::onward::exposure_from_key(&catalogs.vendors, vendor, onward),
            )
        };
        let findings = crate::classify::onward::decide(
            &catalogs.regimes,
            sc,
            dc,
            day_date(day),
            recipient,
            &exposure,
        );
        for f in findings {
            out.push(RegimeRow {
                source_country: sc.to_string(),
                destination_country: dc.to_string(),
                vendor: vendor.to_string(),
                day,
                onward: onward.to_string(),
                regime: f.regime,
                rule_id: f.rule_id,
                citation: f.citation,
                transfer_basis: f.transfer_basis,
            });
        }
    }
    out
}
