//! The DNS pass: DNS answers and connection hostnames (TLS SNI, HTTP Host) are read
//! first, de-duplicated and indexed per client, so the index is complete before flows
//! stream past it.

use super::*;

/// What the DNS pass hands on: the finished indexes, and the coverage, DNS presence and
/// candidate names it began, which the flow pass continues.
pub(super) struct DnsPass {
    pub index: DnsIndex,
    pub hostnames: HostnameIndex,
    pub dedup: DedupStats,
    pub coverage: CoverageTracker,
    pub presence: DnsPresence,
    pub candidates: CandidateTracker,
}

/// Read every file holding DNS answers or hostnames. DNS records are read back past the
/// period start by `--dns-max-age`, so a flow early in the period still finds the
/// answer that named its destination.
pub(super) fn read_dns(r: &mut Reading<'_>, catalogs: &Catalogs) -> Result<DnsPass> {
    let opts = r.opts;
    let dns_period = opts
        .period
        .extended_back(i64::from(opts.dns_window.max_age_s) * 1_000_000);
    let mut hosts = HostnameIndexBuilder::default();
    let mut builder = DnsIndexBuilder::new(&catalogs.vendors).spill_to(&r.spill_dir);
    if let Some(n) = opts.spill_after_keys {
        builder = builder.spill_after(n);
    }
    // Shared by the batch hook (keys, warming) and the record handler (inserting).
    let dns_seen = RefCell::new(BatchedSeen::new(SeenKeys::new(
        r.budget(DedupBudget::DNS),
        &r.spill_dir,
    )));
    // Zeek dns.log rows run about 190 bytes, conn.log rows about 130.
    dns_seen
        .borrow_mut()
        .seen
        .expect(bytes_of(&r.planned, &[RecordKind::Dns]) / 150);
    let mut coverage = CoverageTracker::default();
    let mut presence = DnsPresence::default();
    let mut candidates = CandidateTracker::default();
    let mut client_sites: FastMap<IpAddr, Option<u16>> = FastMap::default();
    for (i, p) in r.planned.iter().enumerate() {
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
            &mut r.rejects,
            &mut r.progress,
            f.holds(RecordKind::Dns)
                .then(|| BatchFn(batch_dns_keys).work()),
            &mut |batch| {
                if f.holds(RecordKind::Dns) {
                    let keys = work_or(batch, batch_dns_keys);
                    dns_seen.borrow_mut().prepare(keys);
                }
            },
            &mut |rec, _, counts| {
                match rec {
                    Record::Dns(d) if f.holds(RecordKind::Dns) => {
                        let key = dns_seen.borrow_mut().key(d.provenance, || dns_key(d));
                        if counts.read % crate::memory::CHECK_EVERY_RECORDS == 0 {
                            opts.memory_limit.check("reading DNS logs", || {
                                dns_holders(
                                    &dns_seen.borrow().seen,
                                    builder.answers(),
                                    builder.answer_bytes(),
                                )
                            })?;
                        }
                        counts.read += 1;
                        if !dns_period.contains(d.ts) {
                            counts.outside_period += 1;
                        } else if !dns_seen.borrow_mut().seen.insert(key)? {
                            counts.duplicate += 1;
                        } else {
                            counts.accepted += 1;
                            let indexed_name = builder.add(d)?;
                            observe_dns(
                                d,
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
                    }
                    Record::Hostname(h) if f.holds(RecordKind::Hostname) => {
                        counts.read += 1;
                        match hosts.add(h) {
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
            None,
        )?;
        r.slots[i] = Some(report);
    }
    let dedup = dns_seen.into_inner().seen.stats();
    // The DNS set is gone. The flow pass's sets make room for the index, and are written
    // while the hostname index is built.
    let index = builder.finish()?;
    let readers = super::threads_wanted(opts);
    r.flow_dedup =
        super::flow_pass::prepare_dedup(r, super::flow_pass::index_held(&index, readers));
    let hostnames = hosts.finish(&catalogs.vendors, &index);
    Ok(DnsPass {
        index,
        hostnames,
        dedup,
        coverage,
        presence,
        candidates,
    })
}

/// Coverage, DNS presence and AI-looking names of one accepted DNS record; its query's
/// id in the DNS index being built, when the index interned it
/// ([`DnsIndexBuilder::add`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn observe_dns(
    d: &DnsRecord,
    indexed_name: Option<u32>,
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
    add_presence(d, presence);
    let mut name = None;
    for answer in &d.answers {
        if let crate::schema::AnswerValue::Address(address) = answer.value {
            let id = *name.get_or_insert_with(|| {
                let is_vendor = |q: &str| catalogs.vendors.match_host(q).is_some();
                match indexed_name {
                    Some(indexed) => candidates.indexed_name_id(indexed, &d.query, is_vendor),
                    None => candidates.name_id(&d.query, is_vendor),
                }
            });
            if let Some(id) = id {
                candidates.answer(id, address);
            }
        }
    }
}

/// That the client of `d` received an address answer at its response time (DNS
/// presence: the client's DNS is visible then).
pub(super) fn add_presence(d: &DnsRecord, presence: &mut DnsPresence) {
    let answered = d
        .answers
        .iter()
        .any(|a| matches!(a.value, crate::schema::AnswerValue::Address(_)));
    if answered {
        presence.add(d.client_ip, d.response_ts);
    }
}

/// What the DNS pass holds, for `--memory-limit` errors.
fn dns_holders(seen: &SeenKeys, answers: usize, answer_bytes: usize) -> String {
    format!(
        "{} DNS record keys for de-duplication in memory (~{}; the rest spill to disk), {} address answers (~{})",
        seen.in_memory(),
        crate::memory::human(seen.memory_bytes()),
        answers,
        crate::memory::human(answer_bytes as u64)
    )
}

/// The de-duplication keys of a parsed batch's DNS records ([`dns_keys`]), computed by
/// the parser threads ([`BatchFn`]) rather than the thread that builds the index, as the
/// flow pass does for flows.
fn batch_dns_keys(items: &[Item]) -> Vec<(Provenance, u128)> {
    dns_keys(items.iter().filter_map(|item| match item {
        Item::Record(Record::Dns(d)) => Some(d),
        _ => None,
    }))
}
