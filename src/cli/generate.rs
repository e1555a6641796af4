//! `xborder generate`: write the deterministic sample data set, or logs of any size.
//!
//! Usage: xborder generate --out DIR [--seed N]
//!        xborder generate --out DIR --flows N [--seed N] [--format tsv|json|parquet] [--gzip]
//!                         [--files N] [--threads N] [--ai-share F]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use xborder::generate::scale::{self, LogFormat, ScaleOptions};

const EXAMPLES: &str = "\
Examples:
  xborder generate --out data/sample
  xborder generate --out /tmp/sample --seed 42
  xborder generate --out /tmp/q3-1e7 --flows 10000000 --gzip
  xborder generate --out /tmp/q3-pq --flows 10000000 --format parquet
  xborder generate --out /tmp/q3-ai --flows 10000000 --ai-share 0.8

Without --flows, writes a quarter (2026-Q3) of Zeek conn and dns logs for a five-office
organisation, plus its sites.toml. The same seed always gives the same bytes; the default
seed produces the data/sample/ committed with xborder (see docs/sample-data.md).

With --flows N, writes exactly N conn records (and their DNS) of a larger organisation
in bounded memory, plus sites.toml, expected_findings.csv and expected.json: the AI-vendor
flows and bytes it planted per site, country, vendor, product and attribution, which a
correct `analyze` reports exactly (docs/performance.md). --format parquet writes the conn
logs as Parquet (Zeek's column names, row groups of 262,144 rows, Snappy); the dns logs
stay Zeek TSV, and --gzip does not apply. --ai-share F makes that share of the conn
records AI-vendor flows (0.8: an AI-heavy mix, every AI flow an evidence row); without it
the mix is the typical one, about 0.8 % AI flows.";

/// The seed data/sample/ was generated with.
pub const DEFAULT_SEED: u64 = 20260710;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Tsv,
    Json,
    /// Conn logs as Parquet; dns logs stay Zeek TSV.
    Parquet,
}

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct GenerateArgs {
    /// Directory to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Seed for the deterministic generator.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Write this many conn records (scale mode) instead of the sample.
    #[arg(long, value_name = "N")]
    pub flows: Option<u64>,
    /// Log encoding in scale mode (parquet: conn logs only; dns logs stay TSV).
    #[arg(long, value_enum, default_value = "tsv", requires = "flows")]
    pub format: FormatArg,
    /// Gzip the logs in scale mode.
    #[arg(long, requires = "flows")]
    pub gzip: bool,
    /// Number of conn files (each with a dns file); default one per 10^7 flows.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "flows")]
    pub files: u32,
    /// Files written in parallel.
    #[arg(long, value_name = "N", default_value_t = 2, requires = "flows")]
    pub threads: usize,
    /// Share of conn records that go to AI vendors, more than 0 and at most 1 (scale
    /// mode; default: the typical mix, about 0.8 %).
    #[arg(long, value_name = "F", requires = "flows", value_parser = parse_ai_share)]
    pub ai_share: Option<f64>,
}

/// `--ai-share`: a number in (0, 1]; anything else is a usage error (exit 2).
fn parse_ai_share(text: &str) -> Result<f64, String> {
    let share: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number: give a share in (0, 1], e.g. 0.8"))?;
    scale::check_ai_share(share).map_err(|_| {
        format!("{share} is outside (0, 1]: give the share of conn records that go to AI vendors, e.g. 0.8")
    })
}

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    if let Some(flows) = args.flows {
        let opts = ScaleOptions {
            flows,
            seed: args.seed,
            format: match args.format {
                FormatArg::Tsv => LogFormat::Tsv,
                FormatArg::Json => LogFormat::Json,
                FormatArg::Parquet => LogFormat::Parquet,
            },
            gzip: args.gzip,
            files: args.files,
            threads: args.threads,
            ai_share: args.ai_share,
        };
        let s = scale::write_scale(&args.out, &opts)
            .with_context(|| format!("writing scale data to {}", args.out.display()))?;
        println!(
            "wrote {} flow records ({} duplicates), {} DNS records and {} AI-vendor flows ({:.2} %) to {}: {} files, expected_findings.csv, expected.json",
            s.flow_records,
            s.duplicate_flow_records,
            s.dns_records,
            s.ai_flows,
            100.0 * s.ai_flows as f64 / s.flow_records.max(1) as f64,
            args.out.display(),
            s.files.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let summary = xborder::generate::write_sample(&args.out, args.seed)
        .with_context(|| format!("writing sample data to {}", args.out.display()))?;
    println!(
        "wrote {} flow records and {} DNS records to {}: {}",
        summary.flows,
        summary.dns,
        args.out.display(),
        summary.files.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
