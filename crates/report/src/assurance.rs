//! The outputs that say what a run could see and what it concluded: coverage.csv,
//! candidates.csv and summary.json, and the hashes of every input that can change a verdict.
//!
//! summary.json follows docs/summary.schema.json (documented in docs/output-schema.md);
//! [`SUMMARY_SCHEMA_VERSION`] changes whenever a field is renamed, removed or changes
//! meaning, and gains a minor step when fields are added.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::csv_tables::to_csv;
use super::{write_output, OutputFile, RunContext};
use xborder_engine::candidates::Candidate;
use xborder_engine::classify::CatalogIdentity;
use xborder_engine::coverage::{
    share, Coverage, CoverageThresholds, DayCounts, GapKind, SourceChange,
};
use xborder_engine::run::{Analysis, AnalyzeOptions, Catalogs};
use xborder_engine::verdict::{PolicyVerdict, RegimeVerdict, State};
use xborder_model::error::{Error, Result};
use xborder_model::hash::sha256_file;
use xborder_model::period::{day_string, rfc3339};

/// Version of the summary.json layout (docs/summary.schema.json).
pub const SUMMARY_SCHEMA_VERSION: &str = "1.0";

pub use xborder_engine::run::{verdict_inputs, HashedInput, PackCopy};

/// Copy the verdict inputs given as files into `out_dir/config/` (for evidence packs),
/// checking each copy against the hash taken when the run started.
pub fn copy_verdict_inputs(out_dir: &Path, inputs: &mut [HashedInput]) -> Result<()> {
    let dir = out_dir.join("config");
    for (i, input) in inputs.iter_mut().enumerate() {
        if input.files.is_empty() {
            continue;
        }
        let member_dir = format!("config/{:02}-{}", i + 1, input.role);
        std::fs::create_dir_all(out_dir.join(&member_dir)).map_err(|e| Error::io(&dir, e))?;
        for (j, f) in input.files.iter().enumerate() {
            // Names never come from input data beyond a plain file name.
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| {
                    n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                })
                .unwrap_or_else(|| format!("file-{}", j + 1));
            let member = format!("{member_dir}/{name}");
            let target = out_dir.join(&member);
            std::fs::copy(f, &target).map_err(|e| Error::io(f, e))?;
            let sha256 = sha256_file(&target)?;
            input.copies.push(PackCopy { member, sha256 });
        }
        if let [only] = input.copies.as_slice() {
            if only.sha256 != input.sha256 {
                return Err(Error::io(
                    &input.files[0],
                    std::io::Error::other(
                        "the file changed while the run was in progress (its SHA-256 differs from the one used)",
                    ),
                ));
            }
            input.pack_member = Some(only.member.clone());
        }
    }
    Ok(())
}

/// One coverage.csv row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CoverageRow {
    pub site: String,
    pub source: String,
    pub day: String,
    pub flow_records: u64,
    pub dns_records: u64,
    pub egress_flows: u64,
    pub egress_dns_visible: u64,
    pub egress_with_hostname: u64,
    pub hours_with_flow_records: u32,
    pub gap: &'static str,
}

/// coverage.csv columns (docs/output-schema.md).
/// One row per site and day of the judged range with the sum over all sources (`all`),
/// then one per site, source and day for every source the site had. `gap` is `yes` on the
/// site's gap days.
pub fn coverage_rows(c: &Coverage) -> Vec<CoverageRow> {
    let mut rows = Vec::new();
    let Some((first, last)) = c.range else {
        return rows;
    };
    for site in &c.sites {
        let sources: Vec<(&str, &BTreeMap<i32, DayCounts>)> = std::iter::once(("all", &site.daily))
            .chain(site.by_source.iter().map(|(k, v)| (k.as_str(), v)))
            .collect();
        for (label, days) in sources {
            for day in first..=last {
                let counts = days.get(&day).copied().unwrap_or_default();
                rows.push(CoverageRow {
                    site: site.site.clone(),
                    source: label.to_string(),
                    day: day_string(day),
                    flow_records: counts.flow_records,
                    dns_records: counts.dns_records,
                    egress_flows: counts.egress_flows,
                    egress_dns_visible: counts.egress_dns_visible,
                    egress_with_hostname: counts.egress_with_hostname,
                    hours_with_flow_records: counts.hours_with_flow_records(),
                    gap: if site.in_gap(day) { "yes" } else { "no" },
                });
            }
        }
    }
    rows
}

fn coverage_csv(c: &Coverage) -> Result<(Vec<u8>, u64)> {
    let rows = coverage_rows(c);
    Ok((to_csv(&rows, &crate::tables::COVERAGE)?, rows.len() as u64))
}

/// candidates.csv columns (docs/output-schema.md).
#[derive(Serialize)]
struct CandidateCsv<'a> {
    hostname: &'a str,
    matched: &'a str,
    reviewed: &'static str,
    sites: String,
    flows: u64,
    bytes_out: u64,
    bytes_in: u64,
    destination_count: u64,
    destinations: String,
    first_seen: String,
    last_seen: String,
}

fn candidates_csv(c: &[Candidate]) -> Result<Vec<u8>> {
    let rows: Vec<CandidateCsv<'_>> = c
        .iter()
        .map(|c| CandidateCsv {
            hostname: &c.hostname,
            matched: c.matched,
            reviewed: if c.reviewed { "yes" } else { "no" },
            sites: c
                .sites
                .iter()
                .map(|s| s.site.as_str())
                .collect::<Vec<_>>()
                .join(";"),
            flows: c.flows,
            bytes_out: c.bytes_out,
            bytes_in: c.bytes_in,
            destination_count: c.destination_count,
            destinations: c.destinations.join(";"),
            first_seen: rfc3339(c.first_seen),
            last_seen: rfc3339(c.last_seen),
        })
        .collect();
    to_csv(&rows, &crate::tables::CANDIDATES)
}

/// Write coverage.csv and candidates.csv.
pub fn write_tables(dir: &Path, a: &Analysis) -> Result<Vec<OutputFile>> {
    let (coverage, rows) = coverage_csv(&a.coverage)?;
    Ok(vec![
        write_output(dir, "coverage.csv", &coverage, Some(rows))?,
        write_output(
            dir,
            "candidates.csv",
            &candidates_csv(&a.candidates)?,
            Some(a.candidates.len() as u64),
        )?,
    ])
}

/// Warnings a reader of the summary must see: what the run could not see or judge.
pub fn warnings(catalogs: &Catalogs, a: &Analysis) -> Vec<String> {
    let mut w = Vec::new();
    if a.observed.is_none() {
        w.push("no flow record was accepted in the period: nothing could be judged".to_string());
    }
    if catalogs.sites.sites.is_empty() {
        w.push(
            "no sites file: every egress flow is unknown_site and judged under no regime".into(),
        );
    }
    if a.totals.flows.egress_unknown_site > 0 {
        w.push(format!(
            "{} egress flows came from sources in no configured site",
            a.totals.flows.egress_unknown_site
        ));
    }
    for s in &a.coverage.sites {
        if s.totals.flow_records == 0 && a.coverage.range.is_some() {
            w.push(format!("site {}: no flow records in the period", s.site));
        } else if s.totals.dns_records == 0 && s.totals.egress_flows > 0 {
            w.push(format!(
                "site {}: no DNS records in the period; its egress can be attributed only by server names or vendor address ranges",
                s.site
            ));
        }
        for g in &s.gaps {
            w.push(format!(
                "site {}: {} day(s) without flow records from {} to {} ({})",
                s.site,
                g.days(),
                g.from(),
                g.to(),
                gap_kind(g.kind)
            ));
        }
        for c in &s.source_changes {
            w.push(format!(
                "site {}: source {} {} on {} ({} day(s) of the period without it)",
                s.site, c.source, c.change, c.day, c.days_missing
            ));
        }
    }
    let unreviewed = a.candidates.iter().filter(|c| !c.reviewed).count();
    if unreviewed > 0 {
        w.push(format!(
            "{unreviewed} unreviewed candidate AI destination(s) in candidates.csv"
        ));
    }
    let rejected = rejected(a);
    if rejected > 0 {
        w.push(format!("{rejected} record(s) rejected (rejects.csv)"));
    }
    w
}

pub fn gap_kind(k: GapKind) -> &'static str {
    match k {
        GapKind::Within => "records before and after",
        GapKind::BeforeFirstRecord => "logging starts late",
        GapKind::AfterLastRecord => "logging stops early",
    }
}

/// Rejected records over all files.
pub fn rejected(a: &Analysis) -> u64 {
    a.totals.flow_records.rejected + a.totals.dns_records.rejected + a.totals.mixed_records.rejected
}

#[derive(Serialize)]
struct Summary<'a> {
    schema_version: &'static str,
    tool: Tool,
    run_id: &'a str,
    generated_at: &'a str,
    period: PeriodJson,
    outcome: Outcome,
    regimes: Vec<RegimeTotal>,
    verdicts: &'a [PolicyVerdict],
    regime_verdicts: &'a [RegimeVerdict],
    coverage: CoverageJson<'a>,
    candidates: CandidatesJson<'a>,
    warnings: Vec<String>,
    accounting: Accounting<'a>,
    catalogs: &'a [CatalogIdentity],
    verdict_inputs: &'a [HashedInput],
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: String,
}

#[derive(Serialize)]
struct PeriodJson {
    label: String,
    from: Option<String>,
    to_exclusive: Option<String>,
    first_flow: Option<String>,
    last_flow: Option<String>,
}

#[derive(Serialize)]
struct Outcome {
    no_data: bool,
    held: usize,
    violated: usize,
    undetermined: usize,
    regimes_undetermined: usize,
    rejected_records: u64,
    unreviewed_candidates: usize,
}

#[derive(Serialize)]
struct RegimeTotal {
    regime: String,
    name: String,
    flows: u64,
    bytes_out: u64,
    sites: Vec<String>,
    vendors: Vec<String>,
    destination_countries: Vec<String>,
}

#[derive(Serialize)]
struct CoverageJson<'a> {
    thresholds: &'a CoverageThresholds,
    first_day: Option<String>,
    last_day: Option<String>,
    sites: Vec<SiteCoverageJson<'a>>,
}

#[derive(Serialize)]
struct SiteCoverageJson<'a> {
    site: &'a str,
    flow_records: u64,
    dns_records: u64,
    egress_flows: u64,
    days_with_flow_records: u64,
    /// Shares of egress flows, 0 to 1; null without egress.
    dns_visibility: Option<f64>,
    hostname_share: Option<f64>,
    name_visibility: Option<f64>,
    gaps: Vec<GapJson>,
    source_changes: &'a [SourceChange],
}

#[derive(Serialize)]
struct GapJson {
    from: String,
    to: String,
    days: u32,
    kind: GapKind,
}

#[derive(Serialize)]
struct CandidatesJson<'a> {
    listed: usize,
    unreviewed: usize,
    items: &'a [Candidate],
}

#[derive(Serialize)]
struct Accounting<'a> {
    files_read: u64,
    files_skipped: u64,
    flow_records: &'a xborder_model::accounting::RecordCounts,
    dns_records: &'a xborder_model::accounting::RecordCounts,
    mixed_records: &'a xborder_model::accounting::RecordCounts,
    rejected_records: u64,
    egress_flows: u64,
    egress_flows_unknown_site: u64,
    ai_vendor_flows: u64,
}

fn round4(x: Option<f64>) -> Option<f64> {
    x.map(|v| (v * 10_000.0).round() / 10_000.0)
}

/// Render summary.json.
pub fn summary_json(
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    a: &Analysis,
    ctx: &RunContext,
    run_id: &str,
) -> Result<String> {
    let mut regimes = Vec::new();
    for r in &catalogs.regimes.regimes {
        // The same sums as the reports (each egress group once).
        let figures = super::model::figures(a.tables.findings.iter().filter(|f| f.regime == r.id));
        let (flows, bytes) = (figures.flows, figures.bytes_out);
        let (mut sites, mut vendors, mut countries) =
            (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for f in a.tables.findings.iter().filter(|f| f.regime == r.id) {
            sites.insert(f.source_site.clone());
            vendors.insert(f.vendor.clone());
            countries.insert(f.destination_country.clone());
        }
        regimes.push(RegimeTotal {
            regime: r.id.clone(),
            name: r.name.clone(),
            flows,
            bytes_out: bytes,
            sites: sites.into_iter().collect(),
            vendors: vendors.into_iter().collect(),
            destination_countries: countries.into_iter().collect(),
        });
    }
    let v = &a.verdicts;
    let count = |s: State| v.policy.iter().filter(|x| x.state == s).count();
    let doc = Summary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        tool: Tool {
            name: "xborder",
            version: ctx.tool_version.clone(),
        },
        run_id,
        generated_at: &ctx.generated_at,
        period: PeriodJson {
            label: opts.period.label.clone(),
            from: opts.period.from.map(rfc3339),
            to_exclusive: opts.period.to.map(rfc3339),
            first_flow: a.observed.map(|o| rfc3339(o.0)),
            last_flow: a.observed.map(|o| rfc3339(o.1)),
        },
        outcome: Outcome {
            no_data: a.observed.is_none(),
            held: count(State::Held),
            violated: count(State::Violated),
            undetermined: count(State::Undetermined),
            regimes_undetermined: v
                .regimes
                .iter()
                .filter(|r| {
                    matches!(
                        r.state,
                        xborder_engine::verdict::RegimeState::Undetermined
                            | xborder_engine::verdict::RegimeState::AttributionNotPossible
                    )
                })
                .count(),
            rejected_records: rejected(a),
            unreviewed_candidates: a.candidates.iter().filter(|c| !c.reviewed).count(),
        },
        regimes,
        verdicts: &v.policy,
        regime_verdicts: &v.regimes,
        coverage: CoverageJson {
            thresholds: &a.coverage.thresholds,
            first_day: a.coverage.range.map(|r| day_string(r.0)),
            last_day: a.coverage.range.map(|r| day_string(r.1)),
            sites: a
                .coverage
                .sites
                .iter()
                .map(|s| SiteCoverageJson {
                    site: &s.site,
                    flow_records: s.totals.flow_records,
                    dns_records: s.totals.dns_records,
                    egress_flows: s.totals.egress_flows,
                    days_with_flow_records: s.daily.values().filter(|d| d.flow_records > 0).count()
                        as u64,
                    dns_visibility: round4(share(
                        s.totals.egress_dns_visible,
                        s.totals.egress_flows,
                    )),
                    hostname_share: round4(share(
                        s.totals.egress_with_hostname,
                        s.totals.egress_flows,
                    )),
                    name_visibility: round4(share(
                        s.totals.egress_name_visible,
                        s.totals.egress_flows,
                    )),
                    gaps: s
                        .gaps
                        .iter()
                        .map(|g| GapJson {
                            from: g.from(),
                            to: g.to(),
                            days: g.days(),
                            kind: g.kind,
                        })
                        .collect(),
                    source_changes: &s.source_changes,
                })
                .collect(),
        },
        candidates: CandidatesJson {
            listed: a.candidates.len(),
            unreviewed: a.candidates.iter().filter(|c| !c.reviewed).count(),
            items: &a.candidates,
        },
        warnings: warnings(catalogs, a),
        accounting: Accounting {
            files_read: a.totals.files_read,
            files_skipped: a.totals.files_skipped,
            flow_records: &a.totals.flow_records,
            dns_records: &a.totals.dns_records,
            mixed_records: &a.totals.mixed_records,
            rejected_records: rejected(a),
            egress_flows: a.totals.flows.egress,
            egress_flows_unknown_site: a.totals.flows.egress_unknown_site,
            ai_vendor_flows: a.totals.flows.ai_vendor,
        },
        catalogs: &a.catalogs,
        verdict_inputs: &a.verdict_inputs,
    };
    let mut s = serde_json::to_string_pretty(&doc).map_err(|e| Error::Report {
        path: "summary.json".into(),
        message: e.to_string(),
    })?;
    s.push('\n');
    Ok(s)
}
