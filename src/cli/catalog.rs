//! `xborder catalog`: inspect and check the AI-vendor catalog without running an analysis.
//!
//! Usage: xborder catalog list    [--vendors FILE] [--vendors-extra FILE]...
//!        xborder catalog explain HOST|IP [--vendors FILE] [--vendors-extra FILE]...
//!        xborder catalog lint    FILE [--extra]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use xborder::classify::countries::Countries;
use xborder::classify::vendors::VendorCatalog;
use xborder::classify::{embedded, CatalogText};

use super::{catalog_explain, catalog_lint, catalog_list};

#[derive(Debug, Args)]
pub struct CatalogArgs {
    #[command(subcommand)]
    pub command: CatalogCommand,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// List vendor and product ids (the ids policy rules use), with category and name.
    List(catalog_list::ListArgs),
    /// Say which catalog entry a hostname or address matches, by which rule, and its source.
    Explain(catalog_explain::ExplainArgs),
    /// Run the catalog load checks on a vendor file, as `analyze` would.
    Lint(catalog_lint::LintArgs),
}

/// The catalog files to load: the embedded default or `--vendors`, plus extras.
#[derive(Debug, Args)]
pub struct CatalogFiles {
    /// AI vendor catalog replacing the embedded data/vendors.toml.
    #[arg(long, value_name = "FILE")]
    pub vendors: Option<PathBuf>,
    /// A vendor catalog added on top (repeatable), as `analyze --vendors-extra`.
    #[arg(long, value_name = "FILE")]
    pub vendors_extra: Vec<PathBuf>,
}

impl CatalogFiles {
    pub fn load(&self) -> xborder::Result<VendorCatalog> {
        VendorCatalog::load_files(self.vendors.as_deref(), &self.vendors_extra, &countries()?)
    }
}

/// The embedded country catalog, which the vendor checks use.
pub fn countries() -> xborder::Result<Countries> {
    Countries::load(&CatalogText::load(
        None,
        "data/countries.toml",
        embedded::COUNTRIES,
    )?)
}

/// Today's date in UTC, or SOURCE_DATE_EPOCH's when set (reproducible output).
pub fn today() -> chrono::NaiveDate {
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| chrono::Utc::now().timestamp());
    chrono::DateTime::from_timestamp(epoch, 0)
        .unwrap_or_default()
        .date_naive()
}

pub fn run(args: CatalogArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        CatalogCommand::List(a) => catalog_list::run(a),
        CatalogCommand::Explain(a) => catalog_explain::run(a),
        CatalogCommand::Lint(a) => catalog_lint::run(a),
    }
}
