//! Merge stage, on the driver: what the Spark tasks returned becomes the run's
//! [`Analysis`], through the single-machine merge and build ([`super::super::finish`]).
//!
//! - the read reports, with each de-duplication task's duplicates and conflicts moved from
//!   accepted to duplicate, must balance per file;
//! - the partial results of the fold tasks merge as the in-process shards' do;
//! - run.json's distinct counts are counted distinct across the whole run (by Spark, for
//!   names), never by adding per-task counts of overlapping sets;
//! - evidence rows, sorted by reading order by Spark, go to the run's evidence writer.

use std::collections::HashSet;

use super::evidence_rows::Decoded;
use super::rows::{Kind, Rows};
use super::*;
use crate::attribute::dns_index::DnsIndexStats;
use crate::dedup::DedupStats;
use xborder_engine::fold::partial::FoldPartial;
use xborder_model::codec;

/// The exchange directory's file of small results (reports, counts, names, partials).
pub const RESULTS: &str = "results.parquet";
/// The exchange directory's folder of evidence rows, in reading order by file name.
pub const EVIDENCE: &str = "evidence";

/// Build the run's analysis from a finished Spark job's results in `exchange`, handing
/// evidence rows to `evidence` in reading order.
pub fn analysis(
    job: &Job,
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    exchange: &Path,
    mut evidence: Option<&mut dyn EvidenceSink>,
) -> Result<Analysis> {
    let verdict_inputs = xborder_engine::run::verdict_inputs(opts, catalogs)?;
    let mut reports: Vec<Option<ReadReport>> = job.inputs.iter().map(|_| None).collect();
    let mut dedup = DedupReport::default();
    let mut hostname_stats = crate::attribute::hostnames::HostnameIndexStats::default();
    let mut dns_stats = DnsIndexStats::default();
    let mut distinct: Option<DistinctCounts> = None;
    let mut vendor_addresses: HashSet<IpAddr> = HashSet::new();
    let mut per_file: BTreeMap<u32, FileDedup> = BTreeMap::new();
    let mut conflicts: Vec<(u32, u64, crate::schema::FlowRecord)> = Vec::new();
    let mut partials: Vec<FoldPartial> = Vec::new();
    let scratch = tempfile::tempdir_in(exchange).map_err(|e| Error::io(exchange, e))?;
    let results = exchange.join(RESULTS);
    let bad = |what: String| Error::Report {
        path: results.clone(),
        message: what,
    };
    Rows::read(&results)?.each(|row| {
        match row.kind {
            Kind::Report => {
                let report: ReadReport = serde_json::from_slice(row.payload)
                    .map_err(|e| bad(format!("a file report: {e}")))?;
                match reports.get_mut(row.file as usize) {
                    Some(slot @ None) => *slot = Some(report),
                    Some(Some(_)) => {
                        return Err(bad(format!(
                            "input #{} was reported twice",
                            u64::from(row.file) + 1
                        )))
                    }
                    None => return Err(bad(format!("unknown input #{}", u64::from(row.file) + 1))),
                }
            }
            Kind::DedupCounts => {
                let c: DedupCounts = serde_json::from_slice(row.payload)
                    .map_err(|e| bad(format!("de-duplication counts: {e}")))?;
                for (file, f) in c.files {
                    let sum = per_file.entry(file).or_default();
                    sum.dns_duplicate += f.dns_duplicate;
                    sum.hostname_duplicate += f.hostname_duplicate;
                    sum.flow_duplicate += f.flow_duplicate;
                    sum.uid_conflicts += f.uid_conflicts;
                }
                add_stats(&mut dedup.flows, &c.flows);
                add_stats(&mut dedup.flow_ids, &c.flow_ids);
                add_stats(&mut dedup.dns, &c.dns);
                hostname_stats.connections_named += c.connections_named;
                hostname_stats.connections_kept += c.connections_kept;
                hostname_stats.conflicting_names += c.conflicting_names;
            }
            Kind::FoldCounts => {
                let c: FoldCounts = serde_json::from_slice(row.payload)
                    .map_err(|e| bad(format!("fold counts: {e}")))?;
                dns_stats.address_answers += c.address_answers;
                dns_stats.answers_kept += c.answers_kept;
            }
            Kind::DistinctCounts => {
                if distinct.is_some() {
                    return Err(bad("distinct counts were reported twice".into()));
                }
                distinct = Some(
                    serde_json::from_slice(row.payload)
                        .map_err(|e| bad(format!("distinct counts: {e}")))?,
                );
            }
            Kind::VendorAddress => {
                let mut r = codec::Reader::new(row.payload);
                vendor_addresses.insert(r.ip()?);
                r.finish()?;
            }
            Kind::Conflict => {
                conflicts.push((row.file, row.ord, codec::decode_flow(row.payload)?));
            }
            Kind::Partial => {
                let dir = scratch.path().join(format!("partial-{}", partials.len()));
                std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
                partials.push(fold_stage::unbundle(row.payload, &dir, catalogs)?);
            }
            other => return Err(bad(format!("unexpected {} row", other.name()))),
        }
        Ok(())
    })?;
    let distinct = distinct.ok_or_else(|| bad("no distinct counts".into()))?;
    dns_stats.distinct_names = distinct.dns_names;
    dns_stats.vendor_names = distinct.dns_vendor_names;
    dns_stats.vendor_addresses = vendor_addresses.len() as u64;
    dns_stats.client_address_pairs = distinct.client_address_pairs;
    hostname_stats.distinct_names = distinct.host_names;
    hostname_stats.vendor_names = distinct.host_vendor_names;

    let mut slots: Vec<Option<FileReport>> = Vec::with_capacity(reports.len());
    let mut listed: Vec<Vec<RejectRow>> = Vec::with_capacity(reports.len());
    for (i, report) in reports.into_iter().enumerate() {
        let Some(ReadReport {
            mut report,
            rejects,
        }) = report
        else {
            return Err(bad(format!(
                "no report for input #{} ({})",
                i + 1,
                job.inputs[i].path.display()
            )));
        };
        if let Some(d) = per_file.remove(&(i as u32)) {
            move_duplicates(&mut report, &d)?;
        }
        listed.push(
            rejects
                .into_iter()
                .map(|r| listed_reject(&report.path, r))
                .collect::<Result<_>>()?,
        );
        slots.push(Some(report));
    }
    if let Some((file, _)) = per_file.into_iter().next() {
        return Err(bad(format!(
            "duplicates counted for input #{}, which no task read",
            u64::from(file) + 1
        )));
    }
    // rejects.csv lists rejects in the single-machine reading order: the files holding DNS
    // or hostnames (first pass), then the other files holding flows.
    let mut rejects = Vec::new();
    for first_pass in [true, false] {
        for (input, rows) in job.inputs.iter().zip(listed.iter_mut()) {
            if input.holds_dns == first_pass {
                rejects.append(rows);
            }
        }
    }
    conflicts.sort_by_key(|(file, ord, _)| (*file, *ord));
    let conflicts: Vec<ConflictRow> = conflicts
        .into_iter()
        .take(CONFLICTS_LISTED)
        .map(|(file, _, flow)| ConflictRow::of(&job.inputs[file as usize].path, &flow))
        .collect();

    write_evidence(&exchange.join(EVIDENCE), reborrow(&mut evidence))?;

    let mut index = DnsIndex::default();
    index.stats = dns_stats;
    let mut hostnames = HostnameIndex::default();
    hostnames.stats = hostname_stats;
    let presence = DnsPresence::default();
    let mut state = FlowState::new(catalogs, &index, &hostnames, &presence, opts);
    // Coverage numbers its sources as the single-machine passes meet them.
    for first_pass in [true, false] {
        for input in &job.inputs {
            let reads = if first_pass {
                input.holds_dns
            } else {
                input.holds_flows
            };
            if let (true, Some(format)) = (reads, &input.format) {
                state.coverage.source(format);
            }
        }
    }
    let reading = Reading {
        opts,
        planned: Vec::new(),
        slots,
        rejects,
        progress: Progress::new(false, 0, 0),
        spill_dir: exchange.to_path_buf(),
        flow_dedup: None,
    };
    finish::analysis(finish::Passes {
        reading,
        catalogs,
        state,
        index: &index,
        hostnames: &hostnames,
        unclaimed: FlowBreakdown::default(),
        dedup,
        conflicts,
        partials,
        verdict_inputs,
    })
}

/// Move what de-duplication found from accepted to duplicate (conflicts stay accepted and
/// are counted in the file's flow breakdown).
fn move_duplicates(report: &mut FileReport, d: &FileDedup) -> Result<()> {
    let duplicates = d.dns_duplicate + d.hostname_duplicate + d.flow_duplicate;
    report.counts.accepted = report
        .counts
        .accepted
        .checked_sub(duplicates)
        .ok_or_else(|| {
            Error::Aggregate(format!(
                "{}: more duplicates ({duplicates}) than records read in the period ({})",
                report.path, report.counts.accepted
            ))
        })?;
    report.counts.duplicate += duplicates;
    if d.uid_conflicts > 0 {
        match report.flows.as_mut() {
            Some(flows) => flows.uid_conflicts += d.uid_conflicts,
            None => {
                return Err(Error::Aggregate(format!(
                    "{}: flow conflicts counted in a file without flows",
                    report.path
                )))
            }
        }
    }
    Ok(())
}

fn listed_reject(file: &str, r: ListedReject) -> Result<RejectRow> {
    let reason = ingest::RejectReason::parse(&r.reason)
        .ok_or_else(|| Error::Aggregate(format!("{file}: unknown reject reason `{}`", r.reason)))?;
    Ok(RejectRow {
        file: file.to_string(),
        reject: xborder_model::reject::Reject {
            line: r.line,
            field: r.field,
            reason,
            detail: r.detail,
            excerpt: r.excerpt,
        },
    })
}

fn add_stats(sum: &mut DedupStats, s: &DedupStats) {
    sum.distinct_keys += s.distinct_keys;
    sum.runs_spilled += s.runs_spilled;
    sum.keys_spilled += s.keys_spilled;
    sum.disk_lookups += s.disk_lookups;
    sum.found_on_disk += s.found_on_disk;
}

/// Hand the evidence rows in `dir` (files in name order, rows in reading order) to the
/// sink; rows out of order stop the run, since the files would differ from one machine's.
fn write_evidence(dir: &Path, mut sink: Option<&mut dyn EvidenceSink>) -> Result<()> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect(),
        Err(e) => return Err(Error::io(dir, e)),
    };
    files.sort();
    let mut last = None;
    for path in files {
        Rows::read(&path)?.each(|row| {
            if row.kind != Kind::Evidence {
                return Err(Error::Report {
                    path: path.clone(),
                    message: format!("unexpected {} row among evidence", row.kind.name()),
                });
            }
            let decoded = Decoded::from_bytes(row.payload)?;
            if last.is_some_and(|l| l >= decoded.seq()) {
                return Err(Error::Report {
                    path: path.clone(),
                    message: "evidence rows are not in reading order".into(),
                });
            }
            last = Some(decoded.seq());
            match sink.as_deref_mut() {
                Some(s) => s.attributed(&decoded.row()),
                None => Ok(()),
            }
        })?;
    }
    Ok(())
}
