//! `xborder formats`: every input format, how it is detected, and how its fields map.
//!
//! Usage: xborder formats

use std::process::ExitCode;

use clap::Args;
use xborder::ingest::formats;

const EXAMPLES: &str = "\
Examples:
  xborder formats
  xborder inspect conn.log.gz        (which format a file is, and its first records)

Formats are detected from content, never from file names; gzip and zstd are recognised by
their magic bytes. docs/formats.md has one section per format: an example, the field
mapping, what the byte counts mean, and known pitfalls.";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct FormatsArgs {}

pub fn run(_args: FormatsArgs) -> anyhow::Result<ExitCode> {
    for f in formats() {
        println!("{}  {} ({} records)", f.id(), f.title(), f.kinds_label());
        println!("  detected by: {}", f.detected_by());
        println!("  byte counts: {}", f.bytes());
        for (to, from) in f.field_map() {
            println!("  {to:<26} <- {from}");
        }
        println!();
    }
    println!("Other Zeek logs (x509, files, ...) are recognised and skipped; empty files are listed as empty.");
    println!("Compression (gzip, zstd) is recognised by magic bytes. --format ID skips detection.");
    Ok(ExitCode::SUCCESS)
}
