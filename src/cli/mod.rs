//! Command-line definitions and dispatch.

pub mod analyze;
pub mod catalog;
pub mod catalog_explain;
pub mod catalog_lint;
pub mod catalog_list;
pub mod completions;
pub mod config;
pub mod diff;
pub mod formats;
pub mod generate;
pub mod inspect;
pub mod keygen;
pub mod resolve;
pub mod spark_stage;
pub mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const ABOUT: &str = "Audit evidence of cross-border egress of code and data to AI vendors, from network flow and DNS logs. Runs fully offline unless `resolve` or `analyze --reverse-dns` is used.";

const EXAMPLES: &str = "\
Examples:
  # Audit the bundled sample with the embedded catalogs and GeoIP database
  xborder analyze data/sample --sites data/sample/sites.toml --out reports/sample

  # One quarter of Zeek logs (plain or .gz, read recursively)
  xborder analyze /var/log/zeek/2026-07* /var/log/zeek/2026-08* --period 2026-Q3 \\
      --sites sites.toml --out reports/2026-Q3

  # A signed evidence pack, and its check
  xborder keygen --out org-signing
  xborder analyze data/sample --sites data/sample/sites.toml --pack packs/sample --sign org-signing.key
  xborder verify packs/sample --pubkey org-signing.pub

  # Policy compliance with departments, compared with last quarter
  xborder analyze data/sample --sites data/sample/sites.toml --policy data/examples/policy.toml \\
      --assets data/examples/assets.csv --baseline reports/2026-Q2 --out reports/2026-Q3
  # A dated vendor IP snapshot from the system resolvers (network), then use it
  xborder resolve --out snapshots/2026-07-10.csv
  xborder analyze conn-only/ --ip-snapshot snapshots/*.csv --out reports/q3

  # Which catalog entry a host matches and why; check a file of extra entries
  xborder catalog explain ws1.eu-central-1.maas.aliyuncs.com
  xborder catalog lint corp-relays.toml --extra

  # Regenerate the sample data set
  xborder generate --out data/sample

Exit codes: 0 success, 1 runtime or I/O failure, 2 invalid options or configuration,
3 input that cannot be read (unknown format, or a rejected record under --strict),
4 an evidence pack that fails verification, 5 --memory-limit exceeded.
With analyze --fail-on (outputs are written first): 10 a policy violation, 11 an
undetermined verdict, 12 no flow record in the period, 13 rejected records; when several
hold, the first of violation, no-data, undetermined, rejects decides.";

#[derive(Debug, Parser)]
#[command(name = "xborder", version, about = ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse flow and DNS logs and write findings, tables, run.json, report.pdf and report.html.
    Analyze(Box<analyze::AnalyzeArgs>),
    /// Write the deterministic sample data set (Zeek conn/dns logs and a sites file).
    Generate(generate::GenerateArgs),
    /// Make an Ed25519 signing key pair, or a pseudonymisation key.
    Keygen(keygen::KeygenArgs),
    /// Resolve every catalog host now and write a dated vendor IP snapshot (uses the network).
    Resolve(resolve::ResolveArgs),
    /// Check an evidence pack: hashes, file lists, run.json and signature.
    Verify(verify::VerifyArgs),
    /// Compare two runs: new vendors, byte growth, new countries, new violations.
    Diff(diff::DiffArgs),
    /// Inspect and check the AI-vendor catalog: list ids, explain a match, lint a file.
    Catalog(catalog::CatalogArgs),
    /// List the supported input formats, how they are detected and how fields map.
    Formats(formats::FormatsArgs),
    /// Show a file's detected format and its first normalised records.
    Inspect(inspect::InspectArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(hide = true)]
    Completions(completions::CompletionsArgs),
    /// Write the man pages (xborder.1 and one per subcommand).
    #[command(hide = true)]
    Man(completions::ManArgs),
    /// One stage of a Spark run, inside an executor (run by the Spark job, not by hand).
    #[command(hide = true)]
    SparkStage(spark_stage::SparkStageArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Analyze(args) => analyze::run(*args),
        Command::Generate(args) => generate::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Resolve(args) => resolve::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Catalog(args) => catalog::run(args),
        Command::Formats(args) => formats::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
        Command::SparkStage(args) => spark_stage::run(args),
    }
}
