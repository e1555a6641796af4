//! What a run is given and what it produces: the options of `analyze`, the catalogs a
//! run is judged against, the hashed inputs that identify it, and the [`Analysis`] the
//! report writers turn into outputs. Shared by the orchestrator and every writer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;
use xborder_ingest::{Format, ReaderOptions};
use xborder_model::accounting::{FileReport, FlowBreakdown, RecordCounts, RejectRow};
use xborder_model::error::Result;
use xborder_model::hash::{sha256_bytes, sha256_file};
use xborder_model::period::Period;
use xborder_model::schema::{FlowRecord, Micros};

use crate::aggregate::org::OrgResults;
use crate::aggregate::Tables;
use crate::attribute::hostnames::HostnameIndexStats;
use crate::attribute::{DnsWindow, SnapshotIndex};
use crate::candidates::{Candidate, ReviewedList};
use crate::classify::assets::Assets;
use crate::classify::countries::Countries;
use crate::classify::policy::Policy;
use crate::classify::regimes::Regimes;
use crate::classify::sites::Sites;
use crate::classify::vendors::VendorCatalog;
use crate::classify::{embedded, CatalogIdentity, CatalogText};
use crate::coverage::{Coverage, CoverageThresholds};
use crate::dedup::DedupStats;
use crate::enrich::ptr::PtrTable;
use crate::geolocate::{GeoIp, GeoIpIdentity};
use crate::verdict::Verdicts;

/// Default ceiling on how old a DNS answer may be when it attributes a flow.
pub const DEFAULT_DNS_MAX_AGE_S: u32 = 6 * 3600;
/// Default allowance past an answer's TTL.
pub const DEFAULT_DNS_TTL_GRACE_S: u32 = 15 * 60;

/// Everything `analyze` needs to run.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    pub inputs: Vec<PathBuf>,
    pub sites: Option<PathBuf>,
    pub geoip: Option<PathBuf>,
    pub vendors: Option<PathBuf>,
    /// Vendor catalogs added on top of the embedded one or `vendors` (`--vendors-extra`).
    pub vendors_extra: Vec<PathBuf>,
    pub regimes: Option<PathBuf>,
    pub countries: Option<PathBuf>,
    pub period: Period,
    pub dns_window: DnsWindow,
    pub strict: bool,
    /// Organisational AI-tool policy (TOML).
    pub policy: Option<PathBuf>,
    /// Asset inventory (CSV) mapping sources to hosts, owners and departments.
    pub assets: Option<PathBuf>,
    /// Draw progress on stderr (the CLI sets this only for a terminal).
    pub progress: bool,
    /// Vendor IP snapshots from `xborder resolve` (`--ip-snapshot`).
    pub snapshots: Vec<PathBuf>,
    /// How far (seconds) a flow may lie from a snapshot row's resolved_at.
    pub snapshot_max_distance_s: u32,
    /// Collect unattributed bytes per destination for `--reverse-dns`.
    pub collect_unattributed: bool,
    /// `--format`: read every input as this format instead of detecting it.
    pub format: Option<Format>,
    /// Facts readers need that logs do not carry (time zone, year).
    pub reader: ReaderOptions,
    /// Stop with an error past this resident size (`--memory-limit`).
    pub memory_limit: xborder_model::memory::MemoryLimit,
    /// Where de-duplication keys and DNS answers spill on runs too big for memory
    /// (`--spill-dir`; the system temporary directory when unset).
    pub spill_dir: Option<PathBuf>,
    /// Keys each de-duplication set holds in memory before spilling (testing the spill
    /// path on small inputs); the built-in budgets when unset.
    pub spill_after_keys: Option<usize>,
    /// When coverage is good enough for a `held` verdict (docs/methodology.md).
    pub thresholds: CoverageThresholds,
    /// Candidate AI destinations a person has reviewed (`--reviewed-candidates`).
    pub reviewed_candidates: Option<PathBuf>,
    /// A previous run compared with (`--baseline`); hashed as a verdict input.
    pub baseline: Option<PathBuf>,
    /// Input paths to leave out (`--exclude`): glob patterns matched against each found path.
    pub exclude: Vec<glob::Pattern>,
    /// The options file (`--config`), hashed as a verdict input.
    pub config: Option<PathBuf>,
    /// Threads folding flows in parallel shards (`--threads`); all CPUs when unset. The
    /// outputs are the same for any number.
    pub threads: Option<usize>,
    /// Where each fold shard's partial result is written as Parquet and read back before
    /// the merge, as a distributed run exchanges them (XBORDER_PARTIALS_DIR); unset, they
    /// stay in memory.
    pub partials_dir: Option<PathBuf>,
}

impl AnalyzeOptions {
    /// Options for reading `inputs` with every default `analyze` has: the embedded
    /// catalogs and GeoIP database, no sites, an unbounded period, the default DNS window.
    pub fn new(inputs: Vec<PathBuf>) -> Self {
        AnalyzeOptions {
            inputs,
            sites: None,
            geoip: None,
            vendors: None,
            vendors_extra: Vec::new(),
            regimes: None,
            countries: None,
            period: Period::unbounded(),
            dns_window: DnsWindow {
                max_age_s: DEFAULT_DNS_MAX_AGE_S,
                ttl_grace_s: DEFAULT_DNS_TTL_GRACE_S,
            },
            strict: false,
            policy: None,
            assets: None,
            progress: false,
            snapshots: Vec::new(),
            snapshot_max_distance_s: crate::attribute::snapshot::DEFAULT_SNAPSHOT_MAX_DISTANCE_S,
            collect_unattributed: false,
            format: None,
            reader: ReaderOptions::default(),
            memory_limit: xborder_model::memory::MemoryLimit(None),
            spill_dir: None,
            spill_after_keys: None,
            thresholds: CoverageThresholds::default(),
            reviewed_candidates: None,
            baseline: None,
            exclude: Vec::new(),
            config: None,
            threads: None,
            partials_dir: None,
        }
    }
}

/// The loaded reference data a run is judged against.
pub struct Catalogs {
    pub countries: Countries,
    pub vendors: VendorCatalog,
    pub regimes: Regimes,
    pub sites: Sites,
    pub geoip: GeoIp,
    pub policy: Option<Policy>,
    pub assets: Option<Assets>,
    /// Snapshot answers (`--ip-snapshot`); empty without.
    pub snapshots: SnapshotIndex,
    /// PTR answers (`--reverse-dns`), filled in by the caller between passes.
    pub ptr: PtrTable,
    /// Candidate AI destinations already reviewed (`--reviewed-candidates`).
    pub reviewed: ReviewedList,
}

impl Catalogs {
    pub fn load(opts: &AnalyzeOptions) -> Result<Self> {
        let countries = Countries::load(&CatalogText::load(
            opts.countries.as_deref(),
            "data/countries.toml",
            embedded::COUNTRIES,
        )?)?;
        let vendors =
            VendorCatalog::load_files(opts.vendors.as_deref(), &opts.vendors_extra, &countries)?;
        let regimes = Regimes::load(
            &CatalogText::load(
                opts.regimes.as_deref(),
                "data/regimes.toml",
                embedded::REGIMES,
            )?,
            &countries,
        )?;
        let sites = match &opts.sites {
            Some(p) => Sites::load(p, &countries)?,
            None => Sites::default(),
        };
        let geoip = GeoIp::open(opts.geoip.as_deref())?;
        let policy = opts
            .policy
            .as_deref()
            .map(|p| Policy::load(p, &vendors, &sites))
            .transpose()?;
        let assets = opts.assets.as_deref().map(Assets::load).transpose()?;
        let snapshots = SnapshotIndex::load(&opts.snapshots, &vendors)?;
        let reviewed = match &opts.reviewed_candidates {
            Some(p) => ReviewedList::load(p)?,
            None => ReviewedList::default(),
        };
        Ok(Catalogs {
            reviewed,
            countries,
            vendors,
            regimes,
            sites,
            geoip,
            policy,
            assets,
            snapshots,
            ptr: PtrTable::default(),
        })
    }

    pub fn identities(&self) -> Vec<CatalogIdentity> {
        let mut ids = vec![self.vendors.identity.clone()];
        ids.extend(self.vendors.extra_identities.iter().cloned());
        ids.push(self.regimes.identity.clone());
        ids.push(self.countries.identity.clone());
        ids
    }
}

/// What a run produced, for the report writers.
pub struct Analysis {
    pub files: Vec<FileReport>,
    pub rejects: Vec<RejectRow>,
    pub tables: Tables,
    pub totals: Totals,
    pub dns: crate::attribute::dns_index::DnsIndexStats,
    /// TLS server names and HTTP hosts joined to flows.
    pub hostnames: HostnameIndexStats,
    pub geoip: GeoIpIdentity,
    pub catalogs: Vec<CatalogIdentity>,
    /// First and last accepted flow timestamps.
    pub observed: Option<(Micros, Micros)>,
    pub distinct_destinations: u64,
    pub distinct_sources: u64,
    /// Policy verdicts and department views (empty without --policy/--assets).
    pub org: OrgResults,
    /// Bytes (out + in) of unattributed egress per destination, when
    /// `AnalyzeOptions::collect_unattributed` is set (for `--reverse-dns`).
    pub unattributed: HashMap<IpAddr, u64>,
    /// Snapshot files used (`--ip-snapshot`).
    pub snapshots: Vec<crate::attribute::snapshot::SnapshotIdentity>,
    /// How de-duplication used memory and disk.
    pub dedup: DedupReport,
    /// The first [`CONFLICTS_LISTED`] flow records whose connection id an earlier,
    /// different connection used (all are counted in `FlowBreakdown::uid_conflicts`).
    pub conflicts: Vec<ConflictRow>,
    /// What the logs could see, per site, source and day.
    pub coverage: Coverage,
    /// Large unattributed egress to names that look like AI services, for review.
    pub candidates: Vec<Candidate>,
    /// Policy and regime verdicts with their reasons.
    pub verdicts: Verdicts,
    /// Every input that can change a verdict, with its SHA-256 (part of the run id).
    pub verdict_inputs: Vec<HashedInput>,
    /// Requests to AI vendors that a proxy or gateway blocked (blocked_attempts.csv).
    pub blocked: Vec<crate::aggregate::blocked::BlockedRow>,
    /// The engine that computed the run, when not this process alone (run.json `engine`).
    pub engine: Option<EngineReport>,
}

/// How a distributed run was computed: run.json's `engine` section, the one part of the
/// outputs that differs from a single-machine run of the same inputs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EngineReport {
    /// `spark`.
    pub name: String,
    /// The Spark version, master URL and application id, as Spark reported them.
    pub spark_version: String,
    pub master: String,
    pub application_id: String,
    /// Partitions of the de-duplication and fold shuffles.
    pub dedup_partitions: u32,
    pub fold_partitions: u32,
    /// The full command line (run.json's `command_line` leaves out the engine options,
    /// so that it matches a single-machine run's).
    pub command_line: Vec<String>,
}

/// De-duplication of flow records and DNS records, for run.json.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct DedupReport {
    /// Flow connections (id, endpoints, protocol, start second).
    pub flows: DedupStats,
    /// Flow connection ids alone, which tell conflicts apart from duplicates.
    pub flow_ids: DedupStats,
    pub dns: DedupStats,
}

/// Conflicting flow records listed in conflicts.csv at most (all are counted).
pub const CONFLICTS_LISTED: usize = 10_000;

/// A flow record whose connection id an earlier, different connection already used:
/// both are counted as egress, and this one is listed for review (conflicts.csv).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConflictRow {
    pub file: String,
    pub line: u64,
    pub uid: String,
    pub ts: String,
    pub src_ip: String,
    pub src_port: Option<u16>,
    pub dst_ip: String,
    pub dst_port: Option<u16>,
    pub proto: String,
    pub bytes_out: Option<u64>,
    pub bytes_in: Option<u64>,
}

impl ConflictRow {
    pub fn of(path: &Path, flow: &FlowRecord) -> Self {
        ConflictRow {
            file: path.display().to_string(),
            line: flow.provenance.line,
            uid: flow.uid.as_deref().unwrap_or_default().to_string(),
            ts: xborder_model::period::rfc3339(flow.ts),
            src_ip: flow.src_ip.to_string(),
            src_port: flow.src_port,
            dst_ip: flow.dst_ip.to_string(),
            dst_port: flow.dst_port,
            proto: flow.proto.as_str().to_string(),
            bytes_out: flow.bytes_out,
            bytes_in: flow.bytes_in,
        }
    }
}

/// Run-wide counts.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Totals {
    /// Records of files that hold only flows.
    pub flow_records: RecordCounts,
    /// Records of files that hold only DNS transactions or hostnames (ssl, http logs).
    pub dns_records: RecordCounts,
    /// Records of files that mix flows with DNS or hostnames (Suricata EVE, OCSF, ECS).
    pub mixed_records: RecordCounts,
    /// Records of web proxy, gateway and URL-filter logs.
    pub proxy_records: RecordCounts,
    pub flows: FlowBreakdown,
    /// Proxy requests and the proxies' own flows.
    pub proxy: xborder_model::accounting::ProxyBreakdown,
    pub files_read: u64,
    pub files_skipped: u64,
}

/// One input that can change a verdict, with its SHA-256.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HashedInput {
    /// sites, policy, assets, baseline, mapping, vendors, regimes, countries, geoip,
    /// reviewed_candidates, ip_snapshot.
    pub role: String,
    pub path: String,
    pub sha256: String,
    /// Where the pack holds the copy of a single-file input (`config/…`), when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pack_member: Option<String>,
    /// Every copy in the pack with its SHA-256 (one per file; a baseline has several).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub copies: Vec<PackCopy>,
    /// The files to copy into a pack (empty for embedded catalogs).
    #[serde(skip)]
    pub files: Vec<PathBuf>,
}

/// One file copied into a pack.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PackCopy {
    pub member: String,
    pub sha256: String,
}

/// The tables a baseline run is compared by (see `diff::RunTables::load`).
const BASELINE_TABLES: &[&str] = &[
    "summary_by_vendor.csv",
    "findings.csv",
    "cross_border_other.csv",
    "policy_violations.csv",
];

/// Hash every input that can change a verdict. A baseline directory is hashed as the
/// SHA-256 of `name  sha256` lines of the tables the comparison reads.
pub fn verdict_inputs(opts: &AnalyzeOptions, catalogs: &Catalogs) -> Result<Vec<HashedInput>> {
    let mut out = Vec::new();
    let file = |role: &str, path: &Path| -> Result<HashedInput> {
        Ok(HashedInput {
            role: role.to_string(),
            path: path.display().to_string(),
            sha256: sha256_file(path)?,
            pack_member: None,
            copies: Vec::new(),
            files: vec![path.to_path_buf()],
        })
    };
    if let Some(p) = &opts.config {
        out.push(file("config", p)?);
    }
    if let Some(p) = &opts.sites {
        out.push(file("sites", p)?);
    }
    if let Some(p) = &opts.policy {
        out.push(file("policy", p)?);
    }
    if let Some(p) = &opts.assets {
        out.push(file("assets", p)?);
    }
    for m in &opts.reader.mappings {
        out.push(file("mapping", &m.path)?);
    }
    for c in &catalogs.identities() {
        let given = match c.kind.as_str() {
            "vendors" => opts.vendors.clone(),
            "regimes" => opts.regimes.clone(),
            "countries" => opts.countries.clone(),
            _ => None,
        };
        out.push(HashedInput {
            role: c.kind.clone(),
            path: c.path.clone(),
            sha256: c.sha256.clone(),
            pack_member: None,
            copies: Vec::new(),
            files: given.into_iter().collect(),
        });
    }
    out.push(HashedInput {
        role: "geoip".into(),
        path: catalogs.geoip.identity.path.clone(),
        sha256: catalogs.geoip.identity.sha256.clone(),
        pack_member: None,
        copies: Vec::new(),
        files: Vec::new(),
    });
    for s in &opts.snapshots {
        out.push(file("ip_snapshot", s)?);
    }
    if let Some(p) = &opts.reviewed_candidates {
        out.push(file("reviewed_candidates", p)?);
    }
    if let Some(dir) = &opts.baseline {
        let data = if dir.join("data/run.json").is_file() && !dir.join("run.json").is_file() {
            dir.join("data")
        } else {
            dir.clone()
        };
        let mut listing = String::new();
        let mut files = Vec::new();
        for name in BASELINE_TABLES {
            let p = data.join(name);
            if p.is_file() {
                listing.push_str(&format!("{name}  {}\n", sha256_file(&p)?));
                files.push(p);
            }
        }
        out.push(HashedInput {
            role: "baseline".into(),
            path: dir.display().to_string(),
            sha256: sha256_bytes(listing.as_bytes()),
            pack_member: None,
            copies: Vec::new(),
            files,
        });
    }
    Ok(out)
}

/// A short, stable id for the run: a hash of the inputs' hashes, the parameters, the
/// catalogs, every other input that can change a verdict and the coverage thresholds.
/// The PDF, the HTML report, summary.json and an evidence pack's bag-info.txt all carry it.
pub fn run_id(opts: &AnalyzeOptions, a: &Analysis) -> String {
    let mut material = String::new();
    for f in &a.files {
        material.push_str(&f.sha256);
        material.push('\n');
    }
    material.push_str(&format!(
        "{:?}|{:?}|{}|{}|{}\n",
        opts.period.from,
        opts.period.to,
        opts.dns_window.max_age_s,
        opts.dns_window.ttl_grace_s,
        opts.strict
    ));
    for c in &a.catalogs {
        material.push_str(&c.sha256);
    }
    material.push_str(&a.geoip.sha256);
    if !a.snapshots.is_empty() {
        material.push_str(&format!("|snapshot<={}", opts.snapshot_max_distance_s));
        for s in &a.snapshots {
            material.push_str(&s.sha256);
        }
    }
    // Everything else that can change a verdict, and the thresholds that judge coverage.
    for i in &a.verdict_inputs {
        if !matches!(
            i.role.as_str(),
            "vendors" | "regimes" | "countries" | "geoip" | "ip_snapshot"
        ) {
            material.push_str(&format!("|{}={}", i.role, i.sha256));
        }
    }
    let t = &a.coverage.thresholds;
    material.push_str(&format!(
        "|coverage {} {} {} {}",
        t.min_gap_days, t.min_dns_visibility, t.max_catalog_age_days, t.candidate_min_bytes
    ));
    sha256_bytes(material.as_bytes())[..12].to_string()
}
