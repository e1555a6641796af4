//! `xborder formats`: every input format, how it is detected, and how its fields map.
//!
//! Usage: xborder formats

use std::process::ExitCode;

use clap::Args;
use xborder::ingest::SUPPORTED_FORMATS;

const EXAMPLES: &str = "\
Examples:
  xborder formats
  xborder inspect conn.log.gz        (which format a file is, and its first records)

Formats are detected from content, never from file names; gzip is recognised by its magic
bytes. docs/input-formats.md has the full field semantics.";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct FormatsArgs {}

pub fn run(_args: FormatsArgs) -> anyhow::Result<ExitCode> {
    for f in SUPPORTED_FORMATS {
        println!("{} ({} records)", f.id(), f.kind().as_str());
        println!("  detected by: {}", f.detected_by());
        for (to, from) in f.field_map() {
            println!("  {to:<20} <- {from}");
        }
        println!();
    }
    println!("Other Zeek logs (ssl, http, files, ...) are recognised and skipped; empty files are listed as empty.");
    Ok(ExitCode::SUCCESS)
}
