//! run.json: the machine-readable record of a run: what was read, with what, and how
//! every record was accounted for.

use serde::Serialize;

use super::{OutputFile, RunContext};
use xborder_engine::attribute::dns_index::DnsIndexStats;
use xborder_engine::attribute::snapshot::SnapshotIdentity;
use xborder_engine::classify::CatalogIdentity;
use xborder_engine::enrich::ptr::NetworkRecord;
use xborder_engine::geolocate::GeoIpIdentity;
use xborder_engine::run::{Analysis, AnalyzeOptions, Catalogs, Totals};
use xborder_model::accounting::FileReport;
use xborder_model::error::{Error, Result};
use xborder_model::period::rfc3339;

#[derive(Serialize)]
struct RunJson<'a> {
    tool: Tool,
    /// How a distributed run was computed; absent for a single-machine run.
    #[serde(skip_serializing_if = "Option::is_none")]
    engine: Option<&'a xborder_engine::run::EngineReport>,
    command_line: &'a [String],
    generated_at: &'a str,
    parameters: Parameters,
    period: PeriodJson,
    sites: SitesJson,
    geoip: &'a GeoIpIdentity,
    catalogs: &'a [CatalogIdentity],
    /// Each catalog's age on the report date (`stale` past 120 days).
    catalog_ages: Vec<super::CatalogAge>,
    /// Warnings about stale catalogs, as printed on the console and in the PDF.
    catalog_warnings: Vec<String>,
    /// Vendor IP snapshots (`--ip-snapshot`), with hashes and row counts.
    ip_snapshots: &'a [SnapshotIdentity],
    /// Network access during the run (`--reverse-dns`); `enabled: false` when offline.
    network: NetworkRecord,
    inputs: &'a [FileReport],
    pseudonymized: bool,
    totals: &'a Totals,
    dns_index: &'a DnsIndexStats,
    /// TLS server names and HTTP hosts seen on connections (sni / http_host attribution).
    hostnames: &'a xborder_engine::attribute::hostnames::HostnameIndexStats,
    /// Flow uid and DNS record de-duplication: distinct keys, and what spilled to disk.
    deduplication: &'a xborder_engine::run::DedupReport,
    distinct_destinations: u64,
    distinct_sources: u64,
    rejects: RejectsJson,
    /// Every input that can change a verdict (sites, policy, assets, baseline, mappings,
    /// catalogs, GeoIP, snapshots, reviewed candidates), with its SHA-256; part of the run id.
    verdict_inputs: &'a [super::assurance::HashedInput],
    outputs: &'a [OutputFile],
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: String,
}

#[derive(Serialize)]
struct Parameters {
    dns_max_age_s: u32,
    dns_ttl_grace_s: u32,
    strict: bool,
    vendors: Option<String>,
    regimes: Option<String>,
    countries: Option<String>,
    geoip: Option<String>,
    ip_snapshots: Vec<String>,
    snapshot_max_distance_s: u32,
    reverse_dns: bool,
    /// `--exclude` patterns: inputs matching them were not read.
    exclude: Vec<String>,
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
struct SitesJson {
    path: Option<String>,
    sha256: Option<String>,
    sites: Vec<SiteJson>,
}

#[derive(Serialize)]
struct SiteJson {
    name: String,
    country: String,
    cidrs: Vec<String>,
}

#[derive(Serialize)]
struct RejectsJson {
    total: u64,
    listed_in_rejects_csv: u64,
}

#[allow(clippy::too_many_arguments)]
pub fn render(
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    a: &Analysis,
    files: &[FileReport],
    ctx: &RunContext,
    outputs: &[OutputFile],
    pseudonymized: bool,
    verdict_inputs: &[super::assurance::HashedInput],
) -> Result<String> {
    let path_str = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let (catalog_ages, catalog_warnings) = super::catalog_ages(&a.catalogs, ctx);
    let doc = RunJson {
        tool: Tool {
            name: "xborder",
            version: ctx.tool_version.clone(),
        },
        engine: a.engine.as_ref(),
        command_line: &ctx.command_line,
        generated_at: &ctx.generated_at,
        parameters: Parameters {
            dns_max_age_s: opts.dns_window.max_age_s,
            dns_ttl_grace_s: opts.dns_window.ttl_grace_s,
            strict: opts.strict,
            vendors: path_str(&opts.vendors),
            regimes: path_str(&opts.regimes),
            countries: path_str(&opts.countries),
            geoip: path_str(&opts.geoip),
            ip_snapshots: opts
                .snapshots
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            snapshot_max_distance_s: opts.snapshot_max_distance_s,
            reverse_dns: catalogs.ptr.network.is_some(),
            exclude: opts
                .exclude
                .iter()
                .map(|p| p.as_str().to_string())
                .collect(),
        },
        period: PeriodJson {
            label: opts.period.label.clone(),
            from: opts.period.from.map(rfc3339),
            to_exclusive: opts.period.to.map(rfc3339),
            first_flow: a.observed.map(|o| rfc3339(o.0)),
            last_flow: a.observed.map(|o| rfc3339(o.1)),
        },
        sites: SitesJson {
            path: catalogs.sites.source.clone(),
            sha256: catalogs.sites.sha256.clone(),
            sites: catalogs
                .sites
                .sites
                .iter()
                .map(|s| SiteJson {
                    name: s.name.clone(),
                    country: s.country.clone(),
                    cidrs: s.cidrs.iter().map(|c| c.to_string()).collect(),
                })
                .collect(),
        },
        geoip: &a.geoip,
        catalogs: &a.catalogs,
        catalog_ages,
        catalog_warnings,
        ip_snapshots: &catalogs.snapshots.files,
        network: catalogs
            .ptr
            .network
            .clone()
            .unwrap_or_else(|| NetworkRecord {
                purpose: "none: the run was offline".into(),
                ..NetworkRecord::default()
            }),
        inputs: files,
        pseudonymized,
        totals: &a.totals,
        dns_index: &a.dns,
        hostnames: &a.hostnames,
        deduplication: &a.dedup,
        distinct_destinations: a.distinct_destinations,
        distinct_sources: a.distinct_sources,
        rejects: RejectsJson {
            total: a.totals.flow_records.rejected
                + a.totals.dns_records.rejected
                + a.totals.mixed_records.rejected
                + a.totals.proxy_records.rejected,
            listed_in_rejects_csv: a.rejects.len() as u64,
        },
        verdict_inputs,
        outputs,
    };
    let mut s = serde_json::to_string_pretty(&doc).map_err(|e| Error::Report {
        path: "run.json".into(),
        message: e.to_string(),
    })?;
    s.push('\n');
    Ok(s)
}
