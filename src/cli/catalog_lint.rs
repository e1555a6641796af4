//! `xborder catalog lint`: run every load check on a vendor catalog file.
//!
//! Usage: xborder catalog lint FILE [--extra]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use xborder::classify::vendors::VendorCatalog;

use super::catalog::{countries, today};

const EXAMPLES: &str = "\
Examples:
  xborder catalog lint my-vendors.toml            (a whole catalog, as --vendors)
  xborder catalog lint corp-relays.toml --extra   (entries added on top, as --vendors-extra)

Checks: TOML syntax and fields; sources on every vendor; ISO country codes known to the
country catalog; categories; a gateway's upstream_question; hosts, patterns and suffixes
claimed once; no shared platform apex and no Public Suffix List entry (co.uk,
s3.amazonaws.com) as a suffix; host templates and their region lists; processing scopes;
CIDRs without host bits. Exit status 2 with the file and entry named on the first failure.";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct LintArgs {
    /// The vendor catalog file to check.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Check FILE as entries added on top of the embedded catalog (--vendors-extra).
    #[arg(long)]
    pub extra: bool,
}

pub fn run(args: LintArgs) -> anyhow::Result<ExitCode> {
    let countries = countries()?;
    let catalog = if args.extra {
        VendorCatalog::load_files(None, std::slice::from_ref(&args.file), &countries)
    } else {
        VendorCatalog::load_files(Some(&args.file), &[], &countries)
    }
    .with_context(|| format!("checking {}", args.file.display()))?;
    let identity = if args.extra {
        catalog
            .extra_identities
            .first()
            .unwrap_or(&catalog.identity)
    } else {
        &catalog.identity
    };
    let (hosts, patterns) = catalog.resolvable_names();
    println!(
        "{}: OK ({} vendors, {} products, {} hosts and apexes, {} patterns; version {}, as_of {})",
        args.file.display(),
        catalog.vendors.len(),
        catalog.products.len(),
        hosts.len(),
        patterns.len(),
        identity.version,
        identity.as_of
    );
    if let Some(w) = xborder::classify::catalog_age_warning(identity, today()) {
        eprintln!("warning: {w}");
    }
    Ok(ExitCode::SUCCESS)
}
