//! `xborder analyze`: the audit run.
//!
//! Usage: xborder analyze [INPUT]... --out DIR [--sites FILE] [--geoip FILE.mmdb]
//!        [--vendors FILE] [--vendors-extra FILE]... [--regimes FILE] [--countries FILE] [--from DATE]
//!        [--to DATE | --period 2026-Q3] [--dns-max-age SECONDS] [--dns-ttl-grace SECONDS]
//!        [--strict] [--format ID] [--log-timezone OFFSET] [--assume-year YEAR]
//!        [--pack DIR [--sign KEY] [--organization NAME]] [--include-inputs]
//!        [--pseudonymize KEYFILE] [--ip-snapshot FILE]... [--snapshot-max-distance SECONDS]
//!        [--reverse-dns [--reverse-dns-min-bytes N] [--reverse-dns-max-lookups N]
//!        [--reverse-dns-rate N] [--nameserver IP:PORT]...] [--memory-limit SIZE] [--quiet]

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use xborder::attribute::snapshot::DEFAULT_SNAPSHOT_MAX_DISTANCE_S;
use xborder::attribute::DnsWindow;
use xborder::coverage::{self, CoverageThresholds};
use xborder::enrich::ptr::{self, NetworkRecord, PtrSettings, PtrTable};
use xborder::enrich::resolver::{runtime, DEFAULT_ATTEMPTS, DEFAULT_TIMEOUT_MS};
use xborder::enrich::{now_micros, DnsClient, ResolverSettings};
use xborder::ingest::{Format, ReaderOptions};
use xborder::pack::{self, sign::SecretKey, BagInfo};
use xborder::period::Period;
use xborder::pipeline::{
    self, AnalyzeOptions, Catalogs, DEFAULT_DNS_MAX_AGE_S, DEFAULT_DNS_TTL_GRACE_S,
};
use xborder::report::evidence::{EvidenceFormats, EvidenceSpool};
use xborder::report::i18n::Lang;
use xborder::report::pseudonym::Pseudonymizer;
use xborder::report::staging::{Replace, StagedOutput};
use xborder::report::{self, group_digits, human_bytes, RunContext, WriteOptions};
use xborder::run::run_id;
use xborder::verdict::FailOn;

const EXAMPLES: &str = "\
Examples:
  xborder analyze data/sample --sites data/sample/sites.toml --out reports/sample
  xborder analyze logs/ --period 2026-Q3 --sites sites.toml --out reports/2026-Q3
  xborder analyze conn.log.gz dns.log.gz --from 2026-07-10 --to 2026-08-01 \\
      --geoip GeoLite2-Country.mmdb --sites sites.toml --out reports/july --strict

  # A signed evidence pack (BagIt) for a regulator
  xborder keygen --out org-signing
  xborder analyze logs/ --period 2026-Q3 --sites sites.toml --pack packs/2026-Q3 \\
      --sign org-signing.key --organization \"Example Ltd\"
  xborder verify packs/2026-Q3 --pubkey org-signing.pub

  # Flows without DNS logs: dated vendor IP snapshots (weaker evidence), and PTR look-ups
  # of unattributed destinations (network access, announced on stderr)
  xborder analyze conn/ --ip-snapshot snapshots/*.csv --reverse-dns --out reports/q3

Outputs in DIR (or PACK/data): findings.csv, cross_border_other.csv, summary_by_vendor.csv,
daily_egress.csv, rejects.csv, coverage.csv, candidates.csv, evidence.csv, evidence.parquet,
summary.json, run.json, report.pdf, report.html (see docs/output-schema.md and docs/evidence.md).

Verdicts (held, violated, undetermined, with reasons) end the printed summary; with
--fail-on the exit code reports them: 10 violation, 11 undetermined, 12 no-data, 13 rejects.";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES, args_override_self = true)]
pub struct AnalyzeArgs {
    /// Options of a repeated run from a TOML file (xborder.toml): keys are long option
    /// names (`sites`, `policy`, `period`, `fail_on`, ...); the command line wins. Hashed
    /// into the run id and copied into packs.
    #[arg(help_heading = "Inputs", long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Input files, directories (read recursively) or quoted glob patterns; plain, gzip or
    /// zstd; each file's format is detected from its content (`xborder formats`). `-` reads
    /// standard input (named `(stdin)` in the outputs).
    #[arg(help_heading = "Inputs", required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Leave out inputs whose path or file name matches this glob (`*.tmp`,
    /// `*/archive/*`; `*` also crosses `/`); repeatable. Left-out files are not read.
    #[arg(help_heading = "Inputs", long, value_name = "PATTERN", value_parser = parse_glob)]
    pub exclude: Vec<glob::Pattern>,
    /// Read every input as this format instead of detecting it (an id from `xborder formats`).
    #[arg(help_heading = "Inputs", long, value_name = "ID", value_parser = parse_format)]
    pub format: Option<Format>,
    /// UTC offset of logs that write local time without a zone (PAN-OS, Cisco ASA, BIND):
    /// `+08:00`, `-0500` or `UTC`. Without it such times are read as UTC, and run.json says so.
    #[arg(help_heading = "Inputs", long, value_name = "OFFSET", value_parser = parse_offset)]
    pub log_timezone: Option<chrono::FixedOffset>,
    /// Year of syslog timestamps that carry none (`Oct 10 12:34:56`); defaults to the
    /// year the --period starts in.
    #[arg(help_heading = "Inputs", long, value_name = "YEAR", value_parser = clap::value_parser!(i32).range(1970..=2999))]
    pub assume_year: Option<i32>,
    /// A mapping file (TOML) that reads a CSV or JSON export no built-in reader knows;
    /// repeatable. Files its `recognise` list matches are read with it (docs/formats.md).
    #[arg(help_heading = "Inputs", long, value_name = "FILE")]
    pub mapping: Vec<PathBuf>,
    /// AWS VPC flow log field names in order, for header-less lines in a custom format
    /// (CloudWatch, Firehose): `"version account-id interface-id srcaddr ..."`. Files
    /// with an S3 header line, and lines in the AWS default order, need no list.
    #[arg(help_heading = "Inputs", long, value_name = "FIELDS")]
    pub vpc_fields: Option<String>,
    /// Stop at the first rejected record instead of counting it and continuing.
    #[arg(help_heading = "Inputs", long)]
    pub strict: bool,
    /// Start of the period, inclusive: a date (00:00 UTC) or an RFC 3339 time.
    #[arg(help_heading = "Scope", long, value_name = "DATE")]
    pub from: Option<String>,
    /// End of the period, exclusive: a date (00:00 UTC) or an RFC 3339 time.
    #[arg(
        help_heading = "Scope",
        long,
        value_name = "DATE",
        conflicts_with = "period"
    )]
    pub to: Option<String>,
    /// A named period: a quarter (2026-Q3), a month (2026-07) or a year (2026).
    #[arg(
        help_heading = "Scope",
        long,
        value_name = "PERIOD",
        conflicts_with = "from"
    )]
    pub period: Option<String>,
    /// Sites file (TOML): source CIDRs to named offices and their country.
    #[arg(help_heading = "Catalogs", long, value_name = "FILE")]
    pub sites: Option<PathBuf>,
    /// MaxMind-format country database; defaults to the embedded one.
    #[arg(help_heading = "Catalogs", long, value_name = "FILE.mmdb")]
    pub geoip: Option<PathBuf>,
    /// AI vendor catalog replacing the embedded data/vendors.toml.
    #[arg(help_heading = "Catalogs", long, value_name = "FILE")]
    pub vendors: Option<PathBuf>,
    /// A vendor catalog whose entries are added on top of the embedded one (or --vendors);
    /// repeatable. Checked like the catalog itself (`xborder catalog lint`).
    #[arg(help_heading = "Catalogs", long, value_name = "FILE")]
    pub vendors_extra: Vec<PathBuf>,
    /// Regime catalog replacing the embedded data/regimes.toml.
    #[arg(help_heading = "Catalogs", long, value_name = "FILE")]
    pub regimes: Option<PathBuf>,
    /// Country catalog replacing the embedded data/countries.toml.
    #[arg(help_heading = "Catalogs", long, value_name = "FILE")]
    pub countries: Option<PathBuf>,
    /// Organisational AI-tool policy (TOML): writes policy_violations.csv and policy_summary.csv.
    #[arg(help_heading = "Policy", long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Asset inventory (CSV: address, hostname, owner, department, valid_from, valid_until).
    #[arg(help_heading = "Policy", long, value_name = "FILE")]
    pub assets: Option<PathBuf>,
    /// Show host names and owners from --assets in violations (otherwise department only).
    #[arg(help_heading = "Policy", long, requires = "assets")]
    pub show_owners: bool,
    /// A run of at least this many days without flow records from a site is a coverage
    /// gap, which keeps verdicts over it `undetermined`.
    #[arg(help_heading = "Policy", long, value_name = "DAYS", default_value_t = coverage::DEFAULT_MIN_GAP_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=366))]
    pub min_gap_days: u32,
    /// Least share of a site's egress flows (percent) whose client had a DNS answer in its
    /// window, or that carried a server name, for a `held` verdict.
    #[arg(help_heading = "Policy", long, value_name = "PERCENT", default_value_t = coverage::DEFAULT_MIN_DNS_VISIBILITY * 100.0,
          value_parser = parse_percent)]
    pub min_dns_visibility: f64,
    /// A vendor catalog whose as_of date is more than this many days before the end of the
    /// period keeps verdicts `undetermined`.
    #[arg(help_heading = "Policy", long, value_name = "DAYS", default_value_t = coverage::DEFAULT_MAX_CATALOG_AGE_DAYS)]
    pub max_catalog_age_days: u32,
    /// Least bytes out to an uncatalogued name that looks like an AI service before it is
    /// listed in candidates.csv.
    #[arg(help_heading = "Policy", long, value_name = "BYTES", default_value_t = coverage::DEFAULT_CANDIDATE_MIN_BYTES)]
    pub candidate_min_bytes: u64,
    /// Candidate AI destinations already reviewed: one host or domain per line (a domain
    /// covers its subdomains), `#` comments. Listed names no longer keep verdicts undetermined.
    #[arg(help_heading = "Policy", long, value_name = "FILE")]
    pub reviewed_candidates: Option<PathBuf>,
    /// Exit non-zero, after writing every output, when the run finds any of: violation (10),
    /// no-data (12), undetermined (11), rejects (13); comma-separated. When several hold,
    /// the first in that order decides the code.
    #[arg(help_heading = "Policy", long, value_name = "CONDITIONS", value_parser = parse_fail_on)]
    pub fail_on: Option<FailOn>,
    /// Directory for the outputs (created if missing).
    #[arg(
        help_heading = "Outputs",
        long,
        value_name = "DIR",
        required_unless_present = "pack"
    )]
    pub out: Option<PathBuf>,
    /// A previous run's output directory (or pack) to compare with: writes changes.csv.
    #[arg(help_heading = "Outputs", long, value_name = "RUN_DIR")]
    pub baseline: Option<PathBuf>,
    /// Report languages, comma-separated: en, zh-CN, or en,zh-CN. The first is report.pdf,
    /// each other one report.<lang>.pdf.
    #[arg(
        help_heading = "Outputs",
        long,
        value_name = "LANGS",
        default_value = "en"
    )]
    pub lang: String,
    /// Print nothing but errors.
    #[arg(help_heading = "Outputs", long, short)]
    pub quiet: bool,
    /// Write a BagIt evidence pack: outputs under DIR/data plus manifests (docs/evidence.md).
    #[arg(
        help_heading = "Evidence",
        long,
        value_name = "DIR",
        conflicts_with = "out"
    )]
    pub pack: Option<PathBuf>,
    /// Sign the pack's tag manifest with this key (from `xborder keygen`); only with --pack.
    #[arg(help_heading = "Evidence", long, value_name = "KEY", requires = "pack")]
    pub sign: Option<PathBuf>,
    /// Organisation named in the pack's bag-info.txt.
    #[arg(
        help_heading = "Evidence",
        long,
        value_name = "NAME",
        requires = "pack"
    )]
    pub organization: Option<String>,
    /// Copy the input files into the outputs (inputs/NNNN.gz|.log); they are always hashed.
    #[arg(help_heading = "Evidence", long)]
    pub include_inputs: bool,
    /// Evidence files to write, comma-separated: csv, parquet or csv,parquet. Both hold
    /// every AI-vendor flow; at 10^8 such flows evidence.csv is tens of gigabytes and
    /// evidence.parquet about a fifteenth of it.
    #[arg(help_heading = "Evidence", long, value_name = "FORMATS", default_value = "csv,parquet",
          value_parser = EvidenceFormats::parse)]
    pub evidence: EvidenceFormats,
    /// Replace source addresses with keyed HMAC-SHA256 tokens (key from `xborder keygen --hmac`).
    /// Input copies would carry the raw addresses, so this excludes --include-inputs.
    #[arg(
        help_heading = "Evidence",
        long,
        value_name = "KEYFILE",
        conflicts_with = "include_inputs"
    )]
    pub pseudonymize: Option<PathBuf>,
    /// Oldest DNS answer (seconds before the flow) that may attribute a flow; at most 86400.
    #[arg(help_heading = "Enrichment", long, value_name = "SECONDS", default_value_t = DEFAULT_DNS_MAX_AGE_S,
          value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub dns_max_age: u32,
    /// Seconds an answer stays usable past its TTL (still capped by --dns-max-age).
    #[arg(help_heading = "Enrichment", long, value_name = "SECONDS", default_value_t = DEFAULT_DNS_TTL_GRACE_S)]
    pub dns_ttl_grace: u32,
    /// Vendor IP snapshots from `xborder resolve`: attribution method `snapshot`, weaker than
    /// dns and ip_range (docs/resolve.md).
    #[arg(help_heading = "Enrichment", long = "ip-snapshot", value_name = "FILE", num_args = 1..)]
    pub ip_snapshots: Vec<PathBuf>,
    /// A snapshot row counts only for flows at most this many seconds before or after its
    /// resolved_at (default 7 days).
    #[arg(help_heading = "Enrichment", long, value_name = "SECONDS", default_value_t = DEFAULT_SNAPSHOT_MAX_DISTANCE_S,
          value_parser = clap::value_parser!(u32).range(1..=31_622_400))]
    pub snapshot_max_distance: u32,
    /// Look up PTR names of unattributed egress destinations (uses the network; off by
    /// default). A PTR name that matches the catalog gives attribution method `ptr`.
    #[arg(help_heading = "Enrichment", long)]
    pub reverse_dns: bool,
    /// Only destinations with at least this many bytes (out + in) over the period.
    #[arg(help_heading = "Enrichment", long, value_name = "BYTES", default_value_t = ptr::DEFAULT_MIN_BYTES, requires = "reverse_dns")]
    pub reverse_dns_min_bytes: u64,
    /// At most this many PTR look-ups, the destinations with the most bytes first.
    #[arg(help_heading = "Enrichment", long, value_name = "N", default_value_t = ptr::DEFAULT_MAX_LOOKUPS, requires = "reverse_dns")]
    pub reverse_dns_max_lookups: usize,
    /// At most this many PTR queries started per second.
    #[arg(help_heading = "Enrichment", long, value_name = "N", default_value_t = ptr::DEFAULT_RATE_PER_S, requires = "reverse_dns",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub reverse_dns_rate: u32,
    /// Name server for --reverse-dns instead of those in /etc/resolv.conf (repeatable).
    #[arg(
        help_heading = "Enrichment",
        long = "nameserver",
        value_name = "IP:PORT",
        requires = "reverse_dns"
    )]
    pub nameservers: Vec<std::net::SocketAddr>,
    /// Stop with an error (exit code 5) if the run's resident memory passes this size, for
    /// example 1GiB or 800MiB, instead of risking an out-of-memory kill. Below 1 GiB it
    /// also shrinks the de-duplication sets, which then spill to disk sooner.
    #[arg(help_heading = "Resources", long, value_name = "SIZE", value_parser = xborder::memory::parse_size)]
    pub memory_limit: Option<u64>,
    /// Directory for temporary spill files (de-duplication keys, DNS answers) when a run
    /// outgrows its memory budget; default the output directory. The files are unnamed
    /// and vanish when the run ends.
    #[arg(help_heading = "Resources", long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// Threads that fold flows in parallel shards, merged at the end, and that parse a
    /// Zeek TSV log in pieces; default all CPUs (at most 8), or XBORDER_THREADS. The
    /// outputs are byte-identical for any number.
    #[arg(help_heading = "Resources", long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
    pub threads: Option<u64>,
    /// Spill de-duplication keys and non-vendor DNS answers after this many (tests the
    /// spill path on small inputs).
    #[arg(help_heading = "Resources", long, value_name = "KEYS", hide = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub spill_after_keys: Option<u64>,
    /// Where the run is computed: `local` (this process) or `spark` (a Spark job through
    /// spark-submit, with byte-identical outputs; see docs/scale-out.md).
    #[arg(help_heading = "Engine", long, value_name = "ENGINE", default_value = "local", value_parser = ["local", "spark"])]
    pub engine: String,
    /// Spark master URL for `--engine spark` (`local[2]`, `spark://host:7077`, `yarn`,
    /// `k8s://https://host:443`).
    #[arg(
        help_heading = "Engine",
        long,
        value_name = "URL",
        default_value = "local[*]"
    )]
    pub master: String,
    /// The spark-submit to run; default SPARK_SUBMIT, else `spark-submit` on PATH.
    #[arg(help_heading = "Engine", long, value_name = "FILE")]
    pub spark_submit: Option<PathBuf>,
    /// Partitions of the Spark job's de-duplication and fold shuffles; default one per
    /// 256 MiB of input (at least 2).
    #[arg(help_heading = "Engine", long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub spark_partitions: Option<u32>,
    /// A Spark setting for the job (`spark.executor.memory=4g`), passed to spark-submit as
    /// `--conf`; repeatable.
    #[arg(help_heading = "Engine", long, value_name = "KEY=VALUE")]
    pub spark_conf: Vec<String>,
    /// Merge the results a Spark job left in DIR instead of starting one (the job passes
    /// this when it was started by `spark-submit` itself; docs/scale-out.md).
    #[arg(help_heading = "Engine", long, value_name = "DIR", hide = true)]
    pub spark_results: Option<PathBuf>,
}

/// Options that choose the engine, left out of run.json's `command_line` (which then
/// matches a single-machine run's) and kept in its `engine` section.
const ENGINE_OPTIONS: [&str; 6] = [
    "--engine",
    "--master",
    "--spark-submit",
    "--spark-partitions",
    "--spark-conf",
    "--spark-results",
];

/// `argv` without the engine options and their values.
fn without_engine_options(argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut skip_value = false;
    for a in argv {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        if ENGINE_OPTIONS.contains(&a.as_str()) {
            skip_value = true;
            continue;
        }
        if ENGINE_OPTIONS
            .iter()
            .any(|o| a.strip_prefix(o).is_some_and(|rest| rest.starts_with('=')))
        {
            continue;
        }
        out.push(a.clone());
    }
    out
}

/// A command line with `--config` expanded, as text: every stage of a Spark run parses
/// it again.
pub fn expanded_argv(argv: Vec<std::ffi::OsString>) -> anyhow::Result<Vec<String>> {
    Ok(super::config::expand(argv)
        .map_err(xborder::Error::Usage)?
        .into_iter()
        .map(|a| {
            a.into_string().map_err(|a| {
                xborder::Error::Usage(format!(
                    "{}: a Spark run needs command-line arguments in UTF-8",
                    a.to_string_lossy()
                ))
            })
        })
        .collect::<Result<Vec<String>, _>>()?)
}

/// How to run Spark, for `--engine spark`; `None` for a single-machine run.
fn spark_settings(
    args: &AnalyzeArgs,
    argv: &[String],
) -> anyhow::Result<Option<pipeline::spark::driver::SparkSettings>> {
    if args.engine != "spark" {
        for (given, flag) in [
            (args.master != "local[*]", "--master"),
            (args.spark_submit.is_some(), "--spark-submit"),
            (args.spark_partitions.is_some(), "--spark-partitions"),
            (!args.spark_conf.is_empty(), "--spark-conf"),
            (args.spark_results.is_some(), "--spark-results"),
        ] {
            if given {
                return Err(xborder::Error::Usage(format!("{flag} needs --engine spark")).into());
            }
        }
        return Ok(None);
    }
    if args.reverse_dns {
        return Err(xborder::Error::Usage(
            "--reverse-dns looks names up from this machine; it cannot run with --engine spark"
                .into(),
        )
        .into());
    }
    // Refused here, before `-` is spooled to a file the executors could not see either.
    if args.inputs.iter().any(|p| p.as_os_str() == "-") {
        return Err(xborder::Error::Usage(
            "standard input (`-`) cannot be read by Spark executors: give files".into(),
        )
        .into());
    }
    // Every stage parses the command line again, with the configuration file expanded.
    let expanded = expanded_argv(std::env::args_os().collect())?;
    let mut submit_options = Vec::new();
    for conf in &args.spark_conf {
        if !conf.contains('=') {
            return Err(xborder::Error::Usage(format!(
                "--spark-conf `{conf}`: expected KEY=VALUE"
            ))
            .into());
        }
        submit_options.push("--conf".to_string());
        submit_options.push(conf.clone());
    }
    Ok(Some(pipeline::spark::driver::SparkSettings {
        master: args.master.clone(),
        spark_submit: args
            .spark_submit
            .clone()
            .or_else(|| std::env::var_os("SPARK_SUBMIT").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("spark-submit")),
        partitions: args.spark_partitions,
        submit_options,
        argv: expanded,
        full_argv: argv.to_vec(),
    }))
}

/// The run's options from the command line: the one place low-level flags become
/// [`AnalyzeOptions`], shared by `analyze` and by every stage of a Spark run (which parses
/// the driver's command line again).
pub fn options(args: &AnalyzeArgs) -> anyhow::Result<AnalyzeOptions> {
    let period = Period::from_options(
        args.from.as_deref(),
        args.to.as_deref(),
        args.period.as_deref(),
    )?;
    let start_year = period.start_year();
    Ok(AnalyzeOptions {
        inputs: args.inputs.clone(),
        sites: args.sites.clone(),
        geoip: args.geoip.clone(),
        vendors: args.vendors.clone(),
        vendors_extra: args.vendors_extra.clone(),
        regimes: args.regimes.clone(),
        countries: args.countries.clone(),
        period,
        dns_window: DnsWindow {
            max_age_s: args.dns_max_age,
            ttl_grace_s: args.dns_ttl_grace,
        },
        strict: args.strict,
        policy: args.policy.clone(),
        assets: args.assets.clone(),
        progress: !args.quiet && std::io::stderr().is_terminal(),
        snapshots: args.ip_snapshots.clone(),
        snapshot_max_distance_s: args.snapshot_max_distance,
        collect_unattributed: false,
        format: args.format.clone(),
        reader: ReaderOptions {
            log_timezone: args.log_timezone,
            assume_year: args.assume_year.or(start_year),
            mappings: args
                .mapping
                .iter()
                .map(|m| xborder::ingest::mapping::load(m))
                .collect::<xborder::Result<_>>()?,
            vpc_fields: args.vpc_fields.as_deref().and_then(split_vpc_fields),
        },
        memory_limit: xborder::memory::MemoryLimit(args.memory_limit),
        spill_dir: None,
        spill_after_keys: args.spill_after_keys.map(|n| n as usize),
        thresholds: CoverageThresholds {
            min_gap_days: args.min_gap_days,
            min_dns_visibility: args.min_dns_visibility / 100.0,
            max_catalog_age_days: args.max_catalog_age_days,
            candidate_min_bytes: args.candidate_min_bytes,
        },
        reviewed_candidates: args.reviewed_candidates.clone(),
        baseline: args.baseline.clone(),
        exclude: args.exclude.clone(),
        config: args.config.clone(),
        threads: threads(args.threads)?,
        partials_dir: std::env::var_os("XBORDER_PARTIALS_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
    })
}

/// `--threads`, else XBORDER_THREADS (for batch environments that set it once), else
/// unset: all CPUs.
fn threads(flag: Option<u64>) -> anyhow::Result<Option<usize>> {
    if let Some(n) = flag {
        return Ok(Some(n as usize));
    }
    match std::env::var("XBORDER_THREADS") {
        Ok(v) if !v.trim().is_empty() => match v.trim().parse::<usize>() {
            Ok(n) if (1..=256).contains(&n) => Ok(Some(n)),
            _ => Err(xborder::Error::Usage(format!(
                "XBORDER_THREADS `{v}`: expected a number of threads from 1 to 256"
            ))
            .into()),
        },
        _ => Ok(None),
    }
}

/// How standard input is named in run.json, evidence.csv and rejects.csv.
pub const STDIN_NAME: &str = "(stdin)";

/// Replace a `-` input by a copy of standard input in `staging` (outside the outputs of a
/// pack, removed before an output directory is moved into place); its path, if any.
fn spool_stdin(
    inputs: &mut [PathBuf],
    staging: &Path,
    include_inputs: bool,
) -> anyhow::Result<Option<PathBuf>> {
    let dashes = inputs.iter().filter(|p| p.as_os_str() == "-").count();
    if dashes == 0 {
        return Ok(None);
    }
    if include_inputs {
        return Err(xborder::Error::Usage(
            "--include-inputs cannot copy standard input: write it to a file and name the file"
                .into(),
        )
        .into());
    }
    if dashes > 1 {
        return Err(
            xborder::Error::Usage("`-` (standard input) is given more than once".into()).into(),
        );
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(xborder::Error::Usage(
            "`-` reads logs from standard input, but it is a terminal: pipe a file in (`zcat conn.log.gz | xborder analyze - ...`)".into(),
        )
        .into());
    }
    let path = staging.join(".stdin.xborder-input");
    let mut file = std::fs::File::create(&path).map_err(|e| xborder::Error::io(&path, e))?;
    std::io::copy(&mut stdin.lock(), &mut file)
        .map_err(|e| xborder::Error::io(&path, e))
        .context("reading standard input")?;
    for input in inputs.iter_mut().filter(|p| p.as_os_str() == "-") {
        *input = path.clone();
    }
    Ok(Some(path))
}

/// Name the spooled standard input `(stdin)` wherever the run reports a file.
fn name_stdin(a: &mut xborder::pipeline::Analysis, spool: &Path) {
    let spool = spool.display().to_string();
    for f in a.files.iter_mut().filter(|f| f.path == spool) {
        f.path = STDIN_NAME.to_string();
    }
    for r in a.rejects.iter_mut().filter(|r| r.file == spool) {
        r.file = STDIN_NAME.to_string();
    }
    for c in a.conflicts.iter_mut().filter(|c| c.file == spool) {
        c.file = STDIN_NAME.to_string();
    }
}

/// `--exclude`: a glob pattern.
fn parse_glob(s: &str) -> Result<glob::Pattern, String> {
    glob::Pattern::new(s).map_err(|e| format!("`{s}` is not a valid glob pattern: {e}"))
}

/// `--min-dns-visibility`: a percentage from 0 to 100.
fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("`{s}` is not between 0 and 100"));
    }
    Ok(v)
}

fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    FailOn::parse(s)
}

pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    // A signature or organisation without a pack would be silently dropped.
    if args.pack.is_none() {
        for (given, flag) in [
            (args.sign.is_some(), "--sign"),
            (args.organization.is_some(), "--organization"),
        ] {
            if given {
                return Err(xborder::Error::Usage(format!(
                    "{flag} applies to an evidence pack: give --pack DIR instead of --out"
                ))
                .into());
            }
        }
    }
    let mut opts = options(&args)?;
    let argv: Vec<String> = std::env::args().collect();
    let spark = spark_settings(&args, &argv)?;
    let ctx = RunContext::new(match spark {
        Some(_) => without_engine_options(&argv),
        None => argv,
    });
    let mut langs = Vec::new();
    for part in args.lang.split(',').filter(|p| !p.trim().is_empty()) {
        let lang = Lang::parse(part).ok_or_else(|| {
            xborder::Error::Usage(format!(
                "--lang `{part}`: supported languages are en and zh-CN"
            ))
        })?;
        if !langs.contains(&lang) {
            langs.push(lang);
        }
    }
    let mut catalogs = Catalogs::load(&opts).context("loading catalogs")?;
    if args.reverse_dns {
        catalogs.ptr = reverse_dns(&args, &opts, &catalogs)?;
    }
    let key = args
        .sign
        .as_deref()
        .map(SecretKey::load)
        .transpose()
        .context("loading the signing key")?;
    let pseudonymizer = args
        .pseudonymize
        .as_deref()
        .map(Pseudonymizer::load)
        .transpose()
        .context("loading the pseudonymisation key")?;
    // Everything is written into a hidden sibling of the destination and renamed into
    // place at the end, so a failed or killed run never leaves a folder of two runs.
    let staged = match (&args.out, &args.pack) {
        (_, Some(pack)) => StagedOutput::begin(pack, Replace::EmptyOnly)?,
        (Some(out), None) => StagedOutput::begin(out, Replace::PreviousRun)?,
        (None, None) => anyhow::bail!("give --out DIR or --pack DIR"),
    };
    let out_dir = match &args.pack {
        Some(_) => {
            let data = staged.path().join("data");
            std::fs::create_dir(&data).with_context(|| format!("creating {}", data.display()))?;
            data
        }
        None => staged.path().to_path_buf(),
    };
    opts.spill_dir = Some(args.spill_dir.clone().unwrap_or_else(|| out_dir.clone()));
    // `-`: standard input is spooled to a file in the staging directory (hashed and read
    // like any file, then removed), and named `(stdin)` in every output.
    let stdin_spool = spool_stdin(&mut opts.inputs, staged.path(), args.include_inputs)?;
    for warning in &catalogs.sites.warnings {
        eprintln!("warning: {}", xborder::text::escape_control(warning));
    }
    if catalogs.sites.sites.is_empty() && !args.quiet {
        eprintln!("warning: no --sites file: every egress flow is reported as unknown_site and judged under no regime");
    }
    for w in report::catalog_ages(&catalogs.identities(), &ctx).1 {
        eprintln!("warning: {w}");
    }
    let mut spool = EvidenceSpool::create(&out_dir).context("creating the evidence spool")?;
    let mut analysis = match spark {
        None => {
            pipeline::analyze(&opts, &catalogs, Some(&mut spool)).context("analysing inputs")?
        }
        Some(spark) if args.spark_results.is_some() => {
            let dir = args.spark_results.as_deref().unwrap_or(Path::new("."));
            pipeline::spark::driver::results(
                &opts,
                &catalogs,
                dir,
                &spark.full_argv,
                Some(&mut spool),
            )
            .with_context(|| format!("merging the Spark job's results in {}", dir.display()))?
        }
        Some(spark) => {
            let exchange = tempfile::Builder::new()
                .prefix("xborder-spark-")
                .tempdir_in(args.spill_dir.clone().unwrap_or_else(std::env::temp_dir))
                .context("creating the Spark exchange directory")?;
            pipeline::spark::driver::analyze(
                &opts,
                &catalogs,
                &spark,
                exchange.path(),
                Some(&mut spool),
            )
            .context("analysing inputs with Spark")?
        }
    };
    if let Some(path) = &stdin_spool {
        name_stdin(&mut analysis, path);
    }
    let write = WriteOptions {
        evidence: Some(spool),
        evidence_formats: args.evidence,
        pseudonymizer: pseudonymizer.as_ref(),
        include_inputs: args.include_inputs,
        show_owners: args.show_owners,
        baseline: args.baseline.as_deref(),
        langs,
        copy_verdict_inputs: args.pack.is_some(),
    };
    let written = report::write_all(&out_dir, &opts, &catalogs, &analysis, &ctx, write)
        .with_context(|| format!("writing outputs to {}", out_dir.display()))?;
    for w in &written.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(path) = &stdin_spool {
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    }
    let outputs = written.outputs;
    if let Some(pack) = &args.pack {
        let info = BagInfo {
            organization: args.organization.as_deref(),
            period: &opts.period.label,
            generated_at: &ctx.generated_at,
            run_id: &run_id(&opts, &analysis),
            tool_version: &ctx.tool_version,
        };
        pack::finish_bag(staged.path(), &info, key.as_ref())
            .with_context(|| format!("writing the evidence pack {}", pack.display()))?;
    }
    opts.memory_limit.check_peak("writing outputs", || {
        format!("{} outputs written", outputs.len())
    })?;
    let dest = staged.dest().to_path_buf();
    staged
        .commit()
        .with_context(|| format!("moving the outputs into {}", dest.display()))?;
    let out_dir = match &args.pack {
        Some(pack) => pack.join("data"),
        None => dest,
    };
    if !args.quiet {
        let t = &analysis.totals;
        let ai_bytes: u64 = analysis
            .tables
            .summary_by_vendor
            .iter()
            .map(|r| r.bytes_out)
            .sum();
        println!(
            "xborder {}  period: {}",
            ctx.tool_version, opts.period.label
        );
        println!(
            "inputs: {} files ({} read, {} skipped)",
            analysis.files.len(),
            t.files_read,
            t.files_skipped
        );
        for (name, c) in [
            ("flow records", &t.flow_records),
            ("dns/hostname records", &t.dns_records),
            ("mixed-file records", &t.mixed_records),
            ("proxy records", &t.proxy_records),
        ] {
            if c.read == 0 && (name == "mixed-file records" || name == "proxy records") {
                continue;
            }
            println!(
                "{name}: {} read, {} accepted, {} rejected, {} duplicate, {} outside period, {} filtered",
                group_digits(c.read),
                group_digits(c.accepted),
                group_digits(c.rejected),
                group_digits(c.duplicate),
                group_digits(c.outside_period),
                group_digits(c.filtered)
            );
            for (reason, n) in &c.filtered_by_reason {
                println!("  filtered {reason}: {}", group_digits(*n));
            }
            for (reason, n) in &c.rejected_by_reason {
                println!("  rejected {reason}: {}", group_digits(*n));
            }
        }
        println!(
            "egress: {} from sites, {} from unknown sites; AI-vendor egress: {} flows, {} out",
            group_digits(t.flows.egress),
            group_digits(t.flows.egress_unknown_site),
            group_digits(t.flows.ai_vendor),
            human_bytes(ai_bytes)
        );
        if t.flows.uid_conflicts > 0 {
            println!(
                "  warning: {} flow records reuse a connection id for a different connection; all are counted (conflicts.csv)",
                group_digits(t.flows.uid_conflicts)
            );
        }
        for f in analysis
            .files
            .iter()
            .filter(|f| f.format.starts_with("skipped:"))
        {
            println!(
                "  skipped {}: {}",
                xborder::text::escape_control(&f.path),
                f.format.trim_start_matches("skipped:")
            );
        }
        if t.flows.ai_vendor > 0 {
            let methods: Vec<String> = t
                .flows
                .ai_by_method
                .iter()
                .map(|(m, n)| format!("{m} {}", group_digits(*n)))
                .collect();
            println!("  by attribution: {}", methods.join(", "));
        }
        if t.proxy_records.read > 0 {
            println!(
                "proxy requests: {} allowed, {} blocked ({} to AI vendors: blocked_attempts.csv), {} other; proxy flows carried by proxy logs {}, proxy egress without proxy logs {}",
                group_digits(t.proxy.allowed),
                group_digits(t.proxy.blocked),
                group_digits(t.proxy.blocked_ai_vendor),
                group_digits(t.proxy.other),
                group_digits(t.proxy.flows_carried_by_proxy_logs),
                group_digits(t.proxy.proxy_egress_without_proxy_logs)
            );
        } else if t.proxy.proxy_egress_without_proxy_logs > 0 {
            println!(
                "  proxy egress without proxy logs: {} flows from declared proxies (give the proxies' logs to attribute them)",
                group_digits(t.proxy.proxy_egress_without_proxy_logs)
            );
        }
        if !t.flows.attribution_disagreements.is_empty() {
            let d: Vec<String> = t
                .flows
                .attribution_disagreements
                .iter()
                .map(|(k, n)| format!("{k} {}", group_digits(*n)))
                .collect();
            println!(
                "  overruled by a stronger method (docs/methodology.md): {}",
                d.join(", ")
            );
        }
        for f in &analysis.files {
            for note in &f.notes {
                println!(
                    "  note: {}",
                    xborder::text::escape_control(&format!("{}: {note}", f.path))
                );
            }
        }
        let weak: u64 = ["snapshot", "ptr"]
            .iter()
            .filter_map(|m| t.flows.ai_by_method.get(*m))
            .sum();
        if weak > 0 {
            println!(
                "  note: {} flows attributed by snapshot/ptr, weaker evidence than dns or ip_range (docs/resolve.md)",
                group_digits(weak)
            );
        }
        let mut by_regime: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
        for f in &analysis.tables.findings {
            let e = by_regime.entry(f.regime.as_str()).or_default();
            e.0 += f.flows;
            e.1 += f.bytes_out;
        }
        for (regime, (flows, bytes)) in by_regime {
            println!(
                "  {regime}: {} cross-border AI flows, {} out",
                group_digits(flows),
                human_bytes(bytes)
            );
        }
        println!("outputs in {}:", out_dir.display());
        for o in &outputs {
            match o.rows {
                Some(r) => println!("  {} ({} rows)", o.file, r),
                None => println!("  {}", o.file),
            }
        }
        if let Some(pack) = &args.pack {
            println!(
                "evidence pack: {} ({}); check it with `xborder verify {}`{}",
                pack.display(),
                if key.is_some() { "signed" } else { "unsigned" },
                pack.display(),
                if key.is_some() {
                    " --pubkey KEY.pub"
                } else {
                    ""
                }
            );
        }
    }
    if !args.quiet {
        print_verdicts(&analysis);
    }
    let code = args.fail_on.and_then(|f| {
        f.exit_code(
            &analysis.verdicts,
            analysis.observed.is_none(),
            report::assurance::rejected(&analysis),
        )
    });
    Ok(code.map_or(ExitCode::SUCCESS, ExitCode::from))
}

/// The console summary ends with the verdicts: policy rules per site, then regimes per
/// site, each with its state and reasons.
fn print_verdicts(a: &pipeline::Analysis) {
    let v = &a.verdicts;
    if a.observed.is_none() {
        println!("warning: no flow record was accepted in the period; nothing could be judged");
    }
    let unreviewed = a.candidates.iter().filter(|c| !c.reviewed).count();
    if unreviewed > 0 {
        println!(
            "candidate AI destinations to review: {unreviewed} (candidates.csv; mark reviewed with --reviewed-candidates)"
        );
    }
    if !v.policy.is_empty() {
        println!("policy verdicts:");
        for p in &v.policy {
            println!(
                "  {}  {} at {}",
                p.state.as_str().to_uppercase(),
                p.rule_id,
                p.site
            );
            for r in &p.reasons {
                println!("      {}", r.text());
            }
        }
    }
    if !v.regimes.is_empty() {
        println!("regime verdicts:");
        for r in &v.regimes {
            println!(
                "  {}  {} at {}",
                r.state.as_str().to_uppercase(),
                r.regime,
                r.site
            );
            for reason in &r.reasons {
                println!("      {}", reason.text());
            }
        }
    }
}

/// `--reverse-dns`: a first pass finds unattributed destinations and their bytes, then the
/// largest are looked up. The caller's second pass attributes with the answers.
fn reverse_dns(
    args: &AnalyzeArgs,
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
) -> anyhow::Result<PtrTable> {
    let settings = PtrSettings {
        min_bytes: args.reverse_dns_min_bytes,
        max_lookups: args.reverse_dns_max_lookups,
        rate_per_s: args.reverse_dns_rate,
    };
    let mut first = opts.clone();
    first.collect_unattributed = true;
    let pass = pipeline::analyze(&first, catalogs, None)
        .context("finding unattributed destinations for --reverse-dns")?;
    let (targets, skipped) = ptr::select(&pass.unattributed, &settings);
    let resolver = ResolverSettings {
        nameservers: args.nameservers.clone(),
        timeout: std::time::Duration::from_millis(DEFAULT_TIMEOUT_MS),
        attempts: DEFAULT_ATTEMPTS,
    };
    if targets.is_empty() {
        eprintln!(
            "xborder analyze: --reverse-dns: no unattributed destination reached {} bytes; no look-ups made",
            settings.min_bytes
        );
        let network = NetworkRecord {
            enabled: true,
            purpose: "reverse DNS (PTR) look-ups of unattributed egress destinations (--reverse-dns); none needed".into(),
            min_bytes: settings.min_bytes,
            max_lookups: settings.max_lookups,
            rate_per_s: settings.rate_per_s,
            ..NetworkRecord::default()
        };
        return Ok(PtrTable::from_results(
            Vec::new(),
            &catalogs.vendors,
            network,
        ));
    }
    let rt = runtime()?;
    let started = now_micros();
    let (results, client) = rt.block_on(async {
        let client = DnsClient::build(&resolver)?;
        eprintln!(
            "xborder analyze: network access (--reverse-dns): PTR look-ups of {} unattributed destinations (>= {} bytes; {} more over --reverse-dns-max-lookups) via {}",
            targets.len(),
            settings.min_bytes,
            skipped,
            client.label()
        );
        let results = ptr::lookup_all(&client, &targets, settings.rate_per_s).await;
        Ok::<_, xborder::Error>((results, client))
    })?;
    let ended = now_micros();
    let network = NetworkRecord {
        enabled: true,
        purpose: "reverse DNS (PTR) look-ups of unattributed egress destinations (--reverse-dns)"
            .into(),
        resolver_source: client.source.to_string(),
        resolvers: client.servers.clone(),
        min_bytes: settings.min_bytes,
        max_lookups: settings.max_lookups,
        rate_per_s: settings.rate_per_s,
        candidates: targets.len() + skipped,
        skipped_over_limit: skipped,
        started_at: Some(xborder::period::rfc3339(started)),
        ended_at: Some(xborder::period::rfc3339(ended)),
        ..NetworkRecord::default()
    };
    let table = PtrTable::from_results(results, &catalogs.vendors, network);
    if !args.quiet {
        if let Some(n) = &table.network {
            eprintln!(
                "reverse DNS: {} look-ups, {} answered, {} matched a vendor",
                n.lookups, n.answered, n.matched_vendor
            );
        }
    }
    Ok(table)
}

fn parse_format(id: &str) -> Result<Format, String> {
    Format::by_id(id).ok_or_else(|| {
        format!(
            "unknown format `{id}`; `xborder formats` lists them: {}",
            Format::supported_list()
        )
    })
}

/// `+08:00`, `+0800`, `-05:00`, `UTC` or `Z`.
pub fn parse_offset(s: &str) -> Result<chrono::FixedOffset, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("utc") || t == "Z" {
        return Ok(chrono::FixedOffset::east_opt(0).expect("zero offset"));
    }
    let bad = || format!("`{s}` is not a UTC offset such as +08:00, -0500 or UTC");
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let h: i32 = digits[..2].parse().map_err(|_| bad())?;
    let m: i32 = digits[2..].parse().map_err(|_| bad())?;
    if h > 14 || m > 59 {
        return Err(bad());
    }
    chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60)).ok_or_else(bad)
}

/// `--vpc-fields`: names separated by spaces or commas (`${version} ...` as AWS writes the
/// format string is accepted too).
pub fn split_vpc_fields(s: &str) -> Option<Vec<String>> {
    let fields: Vec<String> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|f| f.trim_start_matches("${").trim_end_matches('}').trim())
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    (!fields.is_empty()).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpc_fields_accept_spaces_commas_and_aws_format_strings() {
        let want = Some(vec!["version".to_string(), "srcaddr".to_string()]);
        assert_eq!(split_vpc_fields("version srcaddr"), want);
        assert_eq!(split_vpc_fields("version,srcaddr"), want);
        assert_eq!(split_vpc_fields("${version} ${srcaddr}"), want);
        assert_eq!(split_vpc_fields("  "), None);
    }

    #[test]
    fn offsets_parse_in_common_spellings() {
        assert_eq!(parse_offset("+08:00").unwrap().local_minus_utc(), 28_800);
        assert_eq!(parse_offset("-0500").unwrap().local_minus_utc(), -18_000);
        assert_eq!(parse_offset("UTC").unwrap().local_minus_utc(), 0);
        assert!(parse_offset("8").is_err());
        assert!(parse_offset("+25:00").is_err());
    }
}
