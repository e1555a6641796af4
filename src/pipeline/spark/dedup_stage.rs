//! De-duplication stage: one task per shuffle partition. Spark partitions the read rows
//! by key (flows and hostnames by connection id, DNS records by record key) and sorts
//! each partition into reading order (file, then position); every record that could be a
//! duplicate or a conflict of another shares its key, so it meets that record here and
//! the single-machine decisions ([`crate::dedup`], [`HostnameIndexBuilder`]) come out the
//! same. Accepted DNS records and flows pass on, each DNS record also as copies for the
//! later days its answers can still attribute flows on; hostnames are only counted here
//! (the fold stage receives them all, joined to their flows by connection id).

use super::rows::{Kind, RowWriter, Rows};
use super::*;
use xborder_model::codec;

/// De-duplicate the rows in `input` (sorted into reading order) and write the accepted
/// ones, the conflicts to list and this task's counts to `out`.
pub fn dedup(
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    vendor_addresses: &Path,
    input: &Path,
    out: &Path,
) -> Result<()> {
    let spill = scratch(opts)?;
    let mut dns_seen = SeenKeys::new(budget(opts, DedupBudget::DNS), spill.path());
    let mut flows = FlowDedup::new(budget(opts, DedupBudget::FLOWS), spill.path());
    let mut hosts = crate::attribute::HostnameIndexBuilder::default();
    let mut counts = DedupCounts::default();
    let mut listed = 0usize;
    let mut rows = RowWriter::create(out)?;
    let max_age_us = i64::from(opts.dns_window.max_age_s) * 1_000_000;
    let mut last: Option<(Kind, u32, u64)> = None;
    Rows::read(input)?.each(|row| {
        // Decisions are made in reading order: a partition that is not sorted would make
        // different ones, so it stops the run.
        let at = (row.kind, row.file, row.ord);
        if last.is_some_and(|l| l >= at) {
            return Err(Error::Aggregate(
                "a de-duplication partition is not in reading order".into(),
            ));
        }
        last = Some(at);
        let file = counts.files.entry(row.file).or_default();
        match row.kind {
            Kind::Dns => {
                let d = codec::decode_dns(row.payload)?;
                if dns_seen.insert(dns_key(&d))? {
                    rows.push(
                        row.kind,
                        row.file,
                        row.ord,
                        row.part,
                        row.shard,
                        row.payload,
                    )?;
                    // The answers attribute flows up to --dns-max-age later: copies go to
                    // the shards of the client's later days inside that window.
                    for day in copy_days(d.response_ts, max_age_us) {
                        let shard = shard_column(d.client_ip, day);
                        rows.push(
                            Kind::DnsCopy,
                            row.file,
                            row.ord,
                            row.part,
                            shard,
                            row.payload,
                        )?;
                    }
                } else {
                    file.dns_duplicate += 1;
                }
            }
            Kind::Hostname => {
                let h = codec::decode_hostname(row.payload)?;
                if hosts.add(&h) == Added::Duplicate {
                    file.hostname_duplicate += 1;
                }
            }
            Kind::Flow => {
                let f = codec::decode_flow(row.payload)?;
                let verdict = match FlowKeys::of(&f) {
                    Some(keys) => flows.decide(&keys)?,
                    None => FlowVerdict::New,
                };
                match verdict {
                    FlowVerdict::Duplicate => file.flow_duplicate += 1,
                    FlowVerdict::New | FlowVerdict::Conflict => {
                        if verdict == FlowVerdict::Conflict {
                            file.uid_conflicts += 1;
                            // The run lists the first conflicts in reading order; those are
                            // among the first of some partition.
                            if listed < CONFLICTS_LISTED {
                                listed += 1;
                                rows.push(Kind::Conflict, row.file, row.ord, 0, 0, row.payload)?;
                            }
                        }
                        rows.push(
                            row.kind,
                            row.file,
                            row.ord,
                            row.part,
                            row.shard,
                            row.payload,
                        )?;
                    }
                }
            }
            other => {
                return Err(Error::Aggregate(format!(
                    "a de-duplication partition holds a {} row",
                    other.name()
                )))
            }
        }
        Ok(())
    })?;
    // Which connections are kept depends on the vendor addresses of the whole run.
    let vendor_index = crate::attribute::DnsIndexBuilder::new(&catalogs.vendors)
        .finish_with(read_vendor_addresses(vendor_addresses)?)?;
    let hostnames = hosts.finish(&catalogs.vendors, &vendor_index);
    counts.connections_named = hostnames.stats.connections_named;
    counts.connections_kept = hostnames.stats.connections_kept;
    counts.conflicting_names = hostnames.stats.conflicting_names;
    for name in hostnames.vendor_names() {
        rows.push(Kind::HostVendorName, 0, 0, 0, 0, name.as_bytes())?;
    }
    (counts.flows, counts.flow_ids) = flows.stats();
    counts.dns = dns_seen.stats();
    counts.files.retain(|_, f| *f != FileDedup::default());
    let payload = serde_json::to_vec(&counts)
        .map_err(|e| Error::Aggregate(format!("cannot encode de-duplication counts: {e}")))?;
    rows.push(Kind::DedupCounts, 0, 0, 0, 0, &payload)?;
    rows.finish()
}
