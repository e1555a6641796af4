//! Read stage: one task per input file. The file is read, hashed and counted exactly as
//! the single-machine passes read it ([`super::super::read::read_file`]); records in the
//! period become rows keyed for the shuffles that follow, and the file's report (counts,
//! SHA-256, rejects listed) becomes one more row. A hash cannot be merged across byte
//! ranges, so a file is never split between tasks.

use std::collections::BTreeSet;

use super::rows::{key_column, Kind, RowWriter};
use super::*;
use crate::fasthash::key128;
use crate::period::day_of;
use xborder_engine::fold::shard::client_of;
use xborder_model::codec::{self, Writer};

/// Read input `input` of `job` and write its rows to `out`.
pub fn read(
    job: &Job,
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    input: u32,
    out: &Path,
) -> Result<()> {
    let entry = job.inputs.get(input as usize).ok_or_else(|| {
        Error::Usage(format!(
            "input #{} is not in the job ({} inputs)",
            u64::from(input) + 1,
            job.inputs.len()
        ))
    })?;
    let mut rows = RowWriter::create(out)?;
    let mut rejects = Vec::new();
    let report = if entry.detection == "supported" {
        let format = plan::detect_one(&entry.path, opts)?;
        if Some(format.id()) != entry.format.as_deref() {
            return Err(Error::Aggregate(format!(
                "{}: detected as {} on this executor but as {} when the run was planned",
                entry.path.display(),
                format.id(),
                entry.format.as_deref().unwrap_or("nothing")
            )));
        }
        read_records(
            entry,
            input,
            format,
            opts,
            catalogs,
            &mut rows,
            &mut rejects,
        )?
    } else {
        unread_report(&entry.path, &unread_detection(entry)?)?.ok_or_else(|| {
            Error::Aggregate(format!("{}: planned as unread", entry.path.display()))
        })?
    };
    let listed = ReadReport {
        report,
        rejects: rejects
            .into_iter()
            .map(|r| ListedReject {
                line: r.reject.line,
                field: r.reject.field,
                reason: r.reject.reason.as_str().to_string(),
                detail: r.reject.detail,
                excerpt: r.reject.excerpt,
            })
            .collect(),
    };
    let payload = serde_json::to_vec(&listed)
        .map_err(|e| Error::Aggregate(format!("cannot encode a file report: {e}")))?;
    rows.push(Kind::Report, input, 0, 0, 0, &payload)?;
    rows.finish()
}

/// Why the driver planned not to read an input.
fn unread_detection(entry: &JobInput) -> Result<Detection> {
    let detail = || entry.detail.clone().unwrap_or_default();
    Ok(match entry.detection.as_str() {
        "zeek-other" => Detection::ZeekOtherLog(detail()),
        "empty" => Detection::Empty,
        "unrecognised" => Detection::Unrecognised(detail()),
        "not-regular" => Detection::NotRegular,
        other => {
            return Err(Error::Aggregate(format!(
                "{}: unknown planned detection `{other}`",
                entry.path.display()
            )))
        }
    })
}

/// Read a supported file: the DNS pass's and the flow pass's handling of each record in
/// one read (a mixed file is read twice on one machine, with the same counts).
fn read_records(
    entry: &JobInput,
    input: u32,
    format: Format,
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    rows: &mut RowWriter,
    rejects: &mut Vec<RejectRow>,
) -> Result<FileReport> {
    let planned = Planned {
        path: entry.path.clone(),
        detection: Detection::Supported(format.clone()),
    };
    let dns_period = opts
        .period
        .extended_back(i64::from(opts.dns_window.max_age_s) * 1_000_000);
    let mut progress = Progress::new(false, 1, 0);
    // The names and vendor addresses behind run.json's DNS and hostname counts, distinct
    // within the file and written with file 0, so Spark can make them distinct across files.
    let mut dns_names: BTreeSet<(String, bool)> = BTreeSet::new();
    let mut vendor_addresses: BTreeSet<IpAddr> = BTreeSet::new();
    let mut host_names: BTreeSet<String> = BTreeSet::new();
    let mut ord = 0u64;
    let mut bytes = Writer::default();
    let mut report = read_file(
        &planned,
        input,
        format.clone(),
        opts,
        None,
        rejects,
        &mut progress,
        None,
        &mut |_| {},
        &mut |rec, _, counts| {
            ord += 1;
            if ord >= 1 << ORD_BITS {
                return Err(Error::Aggregate(format!(
                    "{}: more than 2^{ORD_BITS} records in one file; split it for a Spark run",
                    entry.path.display()
                )));
            }
            bytes.buf.clear();
            match rec {
                Record::Dns(d) if format.holds(RecordKind::Dns) => {
                    counts.read += 1;
                    if !dns_period.contains(d.ts) {
                        counts.outside_period += 1;
                        return Ok(());
                    }
                    counts.accepted += 1;
                    note_dns_names(d, catalogs, &mut dns_names, &mut vendor_addresses);
                    codec::encode_dns(d, &mut bytes);
                    rows.push(
                        Kind::Dns,
                        input,
                        ord,
                        key_column(dns_key(d)),
                        shard_column(d.client_ip, day_of(d.response_ts)),
                        &bytes.buf,
                    )
                }
                Record::Hostname(h) if format.holds(RecordKind::Hostname) => {
                    counts.read += 1;
                    counts.accepted += 1;
                    if !host_names.contains(&h.name) {
                        host_names.insert(h.name.clone());
                    }
                    codec::encode_hostname(h, &mut bytes);
                    rows.push(
                        Kind::Hostname,
                        input,
                        ord,
                        key_column(key128(h.uid.as_str())),
                        0,
                        &bytes.buf,
                    )
                }
                Record::Flow(flow) if format.holds(RecordKind::Flow) => {
                    counts.read += 1;
                    if !opts.period.contains(flow.ts) {
                        counts.outside_period += 1;
                        return Ok(());
                    }
                    counts.accepted += 1;
                    // Flows without a connection id are never de-duplicated: spread them.
                    let part = match flow.uid.as_deref() {
                        Some(uid) => key_column(key128(uid)),
                        None => key_column(key128(&(input, ord))),
                    };
                    let client = client_of(flow, &catalogs.sites);
                    codec::encode_flow(flow, &mut bytes);
                    rows.push(
                        Kind::Flow,
                        input,
                        ord,
                        part,
                        shard_column(client, day_of(flow.ts)),
                        &bytes.buf,
                    )
                }
                _ => {
                    counts.reject(ingest::RejectReason::KindMismatch);
                    Ok(())
                }
            }
        },
        None,
    )?;
    if format.holds(RecordKind::Flow) {
        report.flows = Some(FlowBreakdown::default());
    }
    for (name, vendor) in dns_names {
        rows.push(Kind::DnsName, 0, 0, 0, i64::from(vendor), name.as_bytes())?;
    }
    for address in vendor_addresses {
        bytes.buf.clear();
        bytes.ip(address);
        rows.push(Kind::VendorAddress, 0, 0, 0, 0, &bytes.buf)?;
    }
    for name in host_names {
        rows.push(Kind::HostName, 0, 0, 0, 0, name.as_bytes())?;
    }
    Ok(report)
}

/// The name of an accepted DNS record as the DNS index counts it (a non-empty query with
/// an address answer), and the addresses a vendor name resolved to.
fn note_dns_names(
    d: &DnsRecord,
    catalogs: &Catalogs,
    names: &mut BTreeSet<(String, bool)>,
    vendor_addresses: &mut BTreeSet<IpAddr>,
) {
    let addresses = || {
        d.answers.iter().filter_map(|a| match a.value {
            crate::schema::AnswerValue::Address(ip) => Some(ip),
            _ => None,
        })
    };
    if d.query.is_empty() || addresses().next().is_none() {
        return;
    }
    let vendor = catalogs.vendors.match_host(&d.query).is_some();
    if vendor {
        vendor_addresses.extend(addresses());
    }
    if !names.contains(&(d.query.clone(), vendor)) {
        names.insert((d.query.clone(), vendor));
    }
}
