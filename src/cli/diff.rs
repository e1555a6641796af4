//! `xborder diff`: what changed between two runs (for example two quarters).
//!
//! Usage: xborder diff OLD_RUN_DIR NEW_RUN_DIR [--out DIR]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use xborder::diff::{compare, RunTables};
use xborder::report::RunContext;

const EXAMPLES: &str = "\
Examples:
  xborder diff reports/2026-Q2 reports/2026-Q3 --out reports/q2-to-q3
  xborder diff packs/2026-Q2 packs/2026-Q3            (prints the changes only)

Compares the CSV outputs of two `xborder analyze` runs (plain output directories or packs):
new and disappeared AI vendors per site, bytes out per vendor and regime, new and vanished
destination countries, and new policy violations. With --out it writes changes.csv and
changes.pdf. `analyze --baseline OLD_RUN_DIR` does the same inside a run.";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct DiffArgs {
    /// The earlier run (the baseline).
    #[arg(value_name = "OLD_RUN_DIR")]
    pub old: PathBuf,
    /// The later run.
    #[arg(value_name = "NEW_RUN_DIR")]
    pub new: PathBuf,
    /// Write changes.csv and changes.pdf here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let old =
        RunTables::load(&args.old).with_context(|| format!("reading {}", args.old.display()))?;
    let new =
        RunTables::load(&args.new).with_context(|| format!("reading {}", args.new.display()))?;
    let changes = compare(&old, &new)?;
    // Name what is compared: two directories can hold the same quarter by mistake.
    println!(
        "comparing {} ({}) with {} ({})",
        old.period_text(),
        args.old.display(),
        new.period_text(),
        args.new.display()
    );
    if old.period.is_some() && old.period == new.period {
        eprintln!(
            "warning: both runs cover the same period ({})",
            old.period_text()
        );
    }
    for c in changes
        .iter()
        .filter(|c| c.change != "bytes_out" || c.delta != 0)
    {
        println!(
            "{:<14} {:<12} {:<22} {:<6} {:<4} {}",
            c.change,
            c.source_site,
            if c.vendor.is_empty() {
                &c.product
            } else {
                &c.vendor
            },
            c.regime,
            c.destination_country,
            c.detail
        );
    }
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        let csv = xborder::report::csv_tables::changes_csv(&changes)?;
        std::fs::write(out.join("changes.csv"), csv)
            .with_context(|| format!("writing {}", out.display()))?;
        let ctx = RunContext::new(std::env::args().collect());
        let pdf = xborder::report::pdf::render_changes(
            &format!("{}: {}", args.old.display(), old.period_text()),
            &format!("{}: {}", args.new.display(), new.period_text()),
            &changes,
            ctx.generated_at_epoch,
        )?;
        std::fs::write(out.join("changes.pdf"), pdf)
            .with_context(|| format!("writing {}", out.display()))?;
        println!(
            "wrote {} and {}",
            out.join("changes.csv").display(),
            out.join("changes.pdf").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
