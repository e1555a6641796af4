//! Fold stage: one task per shuffle partition of clients. Spark routes every accepted DNS
//! record to the partition of its client and every flow to the partition of the client
//! the fold sees in it ([`client_of`](xborder_engine::fold::shard::client_of)), so a
//! task holds every answer its flows can be attributed by; hostname records come with the
//! flows that share their connection id. Rows arrive in reading order, DNS first. The
//! task builds its clients' DNS index as the DNS pass does (with the vendor addresses of
//! the whole run), folds its flows with the single-machine fold and emits its
//! [`FoldPartial`] and evidence rows.

use super::evidence_rows::RowSink;
use super::rows::{Kind, RowWriter, Rows};
use super::*;
use xborder_engine::fold::partial::FoldPartial;
use xborder_model::codec::{self, Reader, Writer};

/// Fold the rows in `input` and write the partial result and evidence rows to `out`.
pub fn fold(
    job: &Job,
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    vendor_addresses: &Path,
    input: &Path,
    out: &Path,
) -> Result<()> {
    let scratch = scratch(opts)?;
    let rows = Rows::read(input)?;
    let mut builder = DnsIndexBuilder::new(&catalogs.vendors).spill_to(scratch.path());
    if let Some(n) = opts.spill_after_keys {
        builder = builder.spill_after(n);
    }
    let mut hosts = HostnameIndexBuilder::default();
    let mut coverage = CoverageTracker::default();
    let mut presence = DnsPresence::default();
    let mut candidates = CandidateTracker::default();
    let mut client_sites = FastMap::default();
    let vendor_addresses = read_vendor_addresses(vendor_addresses)?;
    let mut home = HomeCounts::default();
    let mut last: Option<(Kind, u32, u64)> = None;
    rows.each(|row| {
        let at = (row.kind, row.file, row.ord);
        if last.is_some_and(|l| l > at) {
            return Err(Error::Aggregate(
                "a fold partition is not in reading order".into(),
            ));
        }
        last = Some(at);
        match row.kind {
            Kind::Dns => {
                let d = codec::decode_dns(row.payload)?;
                let indexed_name = builder.add(&d)?;
                home.count(&d, &vendor_addresses);
                let source = coverage.source(job.source_label(row.file)?);
                dns_pass::observe_dns(
                    &d,
                    indexed_name,
                    source,
                    catalogs,
                    &opts.period,
                    &mut client_sites,
                    &mut coverage,
                    &mut presence,
                    &mut candidates,
                );
            }
            // An earlier day's record whose answers still attribute flows today: indexed
            // and seen, counted only in its home shard.
            Kind::DnsCopy => {
                let d = codec::decode_dns(row.payload)?;
                builder.add(&d)?;
                dns_pass::add_presence(&d, &mut presence);
            }
            // A hostname joined to flows in several partitions arrives in each; the same
            // records give the same decision for its connection everywhere.
            Kind::Hostname => {
                hosts.add(&codec::decode_hostname(row.payload)?);
            }
            Kind::Flow => {}
            other => {
                return Err(Error::Aggregate(format!(
                    "a fold partition holds a {} row",
                    other.name()
                )))
            }
        }
        Ok(())
    })?;
    let index = builder.finish_with(vendor_addresses)?;
    let hostnames = hosts.finish(&catalogs.vendors, &index);
    let mut state = FlowState::new(catalogs, &index, &hostnames, &presence, opts);
    state.coverage = coverage;
    state.candidates = candidates;
    let mut out_rows = RowWriter::create(out)?;
    let mut files: BTreeMap<u32, FlowBreakdown> = BTreeMap::new();
    {
        let mut sink = RowSink::new(&mut out_rows);
        rows.each(|row| {
            if row.kind != Kind::Flow {
                return Ok(());
            }
            let flow = codec::decode_flow(row.payload)?;
            state.seq = seq_of(row.file, row.ord);
            state.source = state.coverage.source(job.source_label(row.file)?);
            state.fold(&flow, files.entry(row.file).or_default(), Some(&mut sink))
        })?;
    }
    let mut pair = Writer::default();
    for (client, address) in &home.pairs {
        pair.buf.clear();
        pair.ip(*client);
        pair.ip(*address);
        out_rows.push(Kind::AddressPair, 0, 0, 0, 0, &pair.buf)?;
    }
    let counts = home.counts;
    files.retain(|_, b| *b != FlowBreakdown::default());
    let partial = state.into_partial(files);
    let tables = scratch.path().join("partial");
    std::fs::create_dir(&tables).map_err(|e| Error::io(&tables, e))?;
    partial.write(&tables, catalogs)?;
    out_rows.push(Kind::Partial, 0, 0, 0, 0, &bundle(&tables)?)?;
    let payload = serde_json::to_vec(&counts)
        .map_err(|e| Error::Aggregate(format!("cannot encode fold counts: {e}")))?;
    out_rows.push(Kind::FoldCounts, 0, 0, 0, 0, &payload)?;
    out_rows.finish()
}

/// What the DNS index counts of the home records only (copies are counted in their own
/// home shard): address answers, those kept (their address is a vendor address of the
/// run), and the (client, address) pairs kept.
#[derive(Default)]
struct HomeCounts {
    counts: FoldCounts,
    pairs: std::collections::BTreeSet<(IpAddr, IpAddr)>,
}

impl HomeCounts {
    /// The index's own rule ([`DnsIndexBuilder::add`], `finish_with`): address answers of
    /// records with a name, kept when a vendor name resolved to the address.
    fn count(&mut self, d: &DnsRecord, vendor_addresses: &std::collections::HashSet<IpAddr>) {
        if d.query.is_empty() {
            return;
        }
        for answer in &d.answers {
            if let crate::schema::AnswerValue::Address(address) = answer.value {
                self.counts.address_answers += 1;
                if vendor_addresses.contains(&address) {
                    self.counts.answers_kept += 1;
                    self.pairs.insert((d.client_ip, address));
                }
            }
        }
    }
}

/// A partial result's table files as one byte string: name and contents of each.
fn bundle(dir: &Path) -> Result<Vec<u8>> {
    let mut w = Writer::default();
    for table in xborder_engine::fold::partial_files::TABLES {
        let path = dir.join(format!("{table}.parquet"));
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        w.str(table);
        w.u64(bytes.len() as u64);
        w.buf.extend_from_slice(&bytes);
    }
    Ok(w.buf)
}

/// A bundled partial result read back (through its table files in `scratch`).
pub(super) fn unbundle(bytes: &[u8], scratch: &Path, catalogs: &Catalogs) -> Result<FoldPartial> {
    let mut r = Reader::new(bytes);
    for table in xborder_engine::fold::partial_files::TABLES {
        let name = r.str()?;
        if name != table {
            return Err(Error::Aggregate(format!(
                "a partial result from a fold task has table `{name}` where `{table}` belongs"
            )));
        }
        let len = usize::try_from(r.u64()?)
            .map_err(|_| Error::Aggregate("a partial result table is too large".into()))?;
        let contents = r.bytes(len)?;
        let path = scratch.join(format!("{table}.parquet"));
        std::fs::write(&path, contents).map_err(|e| Error::io(&path, e))?;
    }
    r.finish()?;
    FoldPartial::read(scratch, catalogs)
}
