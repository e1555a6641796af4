//! The proxy pass of `analyze`: web proxy, gateway and URL-filter logs are read after the
//! DNS pass and before the flows, so the flows know which proxy legs the proxy logs
//! already count. The fold of each record is [`xborder_engine::fold::proxy`].

use super::*;
use xborder_engine::fold::proxy::proxy_key;

/// Read every file holding proxy records, folding them into `state`. Run before the flow
/// pass; a file that also holds flows continues its report there.
pub(super) fn read_proxy_files(
    reading: &mut Reading<'_>,
    state: &mut FlowState<'_>,
    mut evidence: Option<&mut dyn EvidenceSink>,
) -> Result<()> {
    let opts = reading.opts;
    let mut seen = SeenKeys::new(reading.budget(DedupBudget::DNS), &reading.spill_dir);
    for (i, p) in reading.planned.iter().enumerate() {
        let Detection::Supported(f) = &p.detection else {
            continue;
        };
        if !f.holds(RecordKind::Proxy) {
            continue;
        }
        let prior = reading.slots[i].take();
        let first_read = prior.is_none();
        let mut breakdown = FlowBreakdown::default();
        state.source = state.coverage.source(f.id());
        let mut report = read_file(
            p,
            i as u32,
            f.clone(),
            opts,
            prior,
            &mut reading.rejects,
            &mut reading.progress,
            None,
            &mut |_| {},
            &mut |rec, _, counts| {
                let r = match rec {
                    Record::Proxy(r) => r,
                    other => {
                        if first_read && !f.holds(other.kind()) {
                            counts.reject(ingest::RejectReason::KindMismatch);
                        }
                        return Ok(());
                    }
                };
                if counts.read % crate::memory::CHECK_EVERY_RECORDS == 0 {
                    opts.memory_limit.check("reading proxy logs", || {
                        format!(
                            "{} proxy record keys for de-duplication in memory (~{}; the rest spill to disk), {} partial groups",
                            seen.in_memory(),
                            crate::memory::human(seen.memory_bytes()),
                            state.ai.len() + state.other.len()
                        )
                    })?;
                }
                counts.read += 1;
                if !opts.period.contains(r.ts) {
                    counts.outside_period += 1;
                } else if !seen.insert(proxy_key(r))? {
                    counts.duplicate += 1;
                } else {
                    counts.accepted += 1;
                    state.fold_proxy(r, &mut breakdown, reborrow(&mut evidence))?;
                }
                Ok(())
            },
            None,
        )?;
        let mut flows = report.flows.take().unwrap_or_default();
        flows.add(&breakdown);
        report.flows = Some(flows);
        reading.slots[i] = Some(report);
    }
    Ok(())
}
