//! The flow pass: flows are de-duplicated by connection and handed to the fold
//! ([`xborder_engine::fold`]) one at a time.

use super::*;

/// What the flow pass hands on besides the fold's state.
pub(super) struct FlowPass {
    pub conflicts: Vec<ConflictRow>,
    pub dedup_flows: DedupStats,
    pub dedup_flow_ids: DedupStats,
}

/// Read every file holding flows; list every input that is not read (other Zeek logs,
/// empty, unrecognised or not regular files) with why.
pub(super) fn read_flows(
    r: &mut Reading<'_>,
    state: &mut FlowState<'_>,
    mut evidence: Option<&mut dyn EvidenceSink>,
) -> Result<FlowPass> {
    let opts = r.opts;
    let flow_seen = RefCell::new(BatchedFlows::new(FlowDedup::new(
        r.budget(DedupBudget::FLOWS),
        r.budget(DedupBudget::FLOWS.scaled(0.5)),
        &r.spill_dir,
    )));
    flow_seen
        .borrow_mut()
        .dedup
        .expect(bytes_of(&r.planned, &[RecordKind::Flow]) / 100);
    let dns_answers = state.index.stats.answers_kept;
    let mut conflicts: Vec<ConflictRow> = Vec::new();
    for (i, p) in r.planned.iter().enumerate() {
        match p.detection {
            Detection::Supported(ref f) if f.holds(RecordKind::Flow) => {
                state.source = state.coverage.source(f.id());
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
                                flow_holders(&flow_seen.borrow().dedup, state, dns_answers)
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
                                state.fold(flow, &mut breakdown, reborrow(&mut evidence))?;
                            }
                        }
                        Ok(())
                    },
                )?;
                report.flows = Some(breakdown);
                r.slots[i] = Some(report);
            }
            Detection::Supported(_) => {}
            Detection::ZeekOtherLog(ref name) => {
                r.slots[i] = Some(skipped_report(&p.path, &format!("skipped:zeek-{name}"))?);
            }
            Detection::Empty => {
                r.slots[i] = Some(skipped_report(&p.path, "empty")?);
            }
            Detection::Unrecognised(ref why) => {
                let mut report = skipped_report(&p.path, "skipped:unrecognised")?;
                report
                    .notes
                    .push(crate::text::escape_control(why).into_owned());
                r.slots[i] = Some(report);
            }
            Detection::NotRegular => {
                r.slots[i] = Some(FileReport {
                    notes: vec!["not a regular file (a FIFO, socket or device): not opened".into()],
                    ..FileReport::skipped(&p.path, "skipped:not-a-regular-file")
                });
            }
        }
    }
    // The de-duplication table and filter (~0.4 GiB at scale) are not needed to aggregate.
    let (dedup_flows, dedup_flow_ids) = flow_seen.into_inner().dedup.stats();
    Ok(FlowPass {
        conflicts,
        dedup_flows,
        dedup_flow_ids,
    })
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
