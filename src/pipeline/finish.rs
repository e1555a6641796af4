//! Merge and build: the fold shards' partial results are merged into the run's state, the
//! per-file counts are summed and must balance, then the folded groups become the tables,
//! and coverage, candidates and verdicts are judged on them.

use super::*;

/// Everything the passes produced, handed to [`analysis`].
pub(super) struct Passes<'a, 'c> {
    pub reading: Reading<'a>,
    pub catalogs: &'c Catalogs,
    pub state: FlowState<'c>,
    pub index: &'c DnsIndex,
    pub hostnames: &'c HostnameIndex,
    /// Proxy sessions no flow claimed, counted as flows of their own.
    pub unclaimed: FlowBreakdown,
    pub dedup: DedupReport,
    pub conflicts: Vec<ConflictRow>,
    /// Partial results of the fold shards, when the flows were sharded.
    pub partials: Vec<xborder_engine::fold::partial::FoldPartial>,
    pub verdict_inputs: Vec<xborder_engine::run::HashedInput>,
}

/// Sum the counts (a run whose counts do not balance stops here), then build the tables
/// and judge coverage, candidates and verdicts.
pub(super) fn analysis(p: Passes<'_, '_>) -> Result<Analysis> {
    let Passes {
        reading,
        catalogs,
        mut state,
        index,
        hostnames,
        unclaimed,
        dedup,
        conflicts,
        partials,
        verdict_inputs,
    } = p;
    let Reading {
        opts,
        mut slots,
        rejects,
        mut progress,
        ..
    } = reading;
    let groups = merge_partials(&mut state, partials, &mut slots)?;
    let (files, mut totals) = merge_counts(slots, &unclaimed)?;

    progress.finish();
    opts.memory_limit.check("aggregating", || {
        format!(
            "{} partial groups, {} DNS answers kept",
            groups.ai.len() + groups.other.len(),
            index.stats.answers_kept
        )
    })?;
    let (ai_rows, other_rows) = groups.rows(catalogs);
    let unattributed = groups.unattributed.into_iter().collect();
    let (observed, distinct_destinations, distinct_sources) = (
        groups.observed,
        groups.countries.len() as u64,
        groups.site_lookups.len() as u64,
    );
    let (proxy_stats, blocked) = state.proxy_results();
    totals.proxy = proxy_stats;
    let org = state.org.finish();
    let regime_rows =
        aggregate::regime_rows(&catalogs.vendors, &catalogs.regimes, &ai_rows, &other_rows);
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
        dedup,
        conflicts,
        coverage,
        candidates,
        verdicts,
        verdict_inputs,
        blocked,
        engine: None,
    })
}

/// Merge the shards' partial results into `state` (coverage, candidates, policy views,
/// proxy counts) and their per-file counts into the file reports; the merged groups.
fn merge_partials(
    state: &mut FlowState<'_>,
    partials: Vec<xborder_engine::fold::partial::FoldPartial>,
    slots: &mut [Option<FileReport>],
) -> Result<xborder_engine::fold::partial::Groups> {
    let mut groups = state.take_groups();
    for partial in partials {
        let (shard_groups, files) = state.absorb(partial);
        groups.merge(shard_groups)?;
        for (file, breakdown) in files {
            let flows = slots
                .get_mut(file as usize)
                .and_then(|s| s.as_mut())
                .and_then(|s| s.flows.as_mut());
            match flows {
                Some(flows) => flows.add(&breakdown),
                None => {
                    return Err(Error::Aggregate(format!(
                        "a fold shard counted flows of input #{} that the flow pass did not read",
                        file + 1
                    )))
                }
            }
        }
    }
    Ok(groups)
}

/// The per-file reports in input order with the run totals they sum to. Every file's
/// counts must balance (read = accepted + rejected + duplicate + outside period +
/// filtered); one that does not is a defect, and stops the run rather than report.
fn merge_counts(
    slots: Vec<Option<FileReport>>,
    unclaimed: &FlowBreakdown,
) -> Result<(Vec<FileReport>, Totals)> {
    let mut totals = Totals::default();
    totals.flows.add(unclaimed);
    for report in slots.iter().flatten() {
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
    let mut files = Vec::with_capacity(slots.len());
    for slot in slots.into_iter().flatten() {
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
    Ok((files, totals))
}
