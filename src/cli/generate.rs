//! `xborder generate`: write the deterministic sample data set.
//!
//! Usage: xborder generate --out DIR [--seed N]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

const EXAMPLES: &str = "\
Examples:
  xborder generate --out data/sample
  xborder generate --out /tmp/sample --seed 42

Writes a quarter (2026-Q3) of Zeek conn and dns logs for a five-office organisation,
plus its sites.toml. The same seed always gives the same bytes; the default seed
produces the data/sample/ committed with xborder (see docs/sample-data.md).";

/// The seed data/sample/ was generated with.
pub const DEFAULT_SEED: u64 = 20260710;

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct GenerateArgs {
    /// Directory to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Seed for the deterministic generator.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
}

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
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
