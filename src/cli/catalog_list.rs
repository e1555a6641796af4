//! `xborder catalog list`: vendor and product ids, the ids policy rules name.
//!
//! Usage: xborder catalog list [--vendors FILE] [--vendors-extra FILE]...

use std::process::ExitCode;

use clap::Args;

use super::catalog::{today, CatalogFiles};

const EXAMPLES: &str = "\
Examples:
  xborder catalog list
  xborder catalog list --vendors-extra corp-relays.toml | grep gateway

One line per product: `vendor/product`, category, vendor HQ country, product name.
Policy rules name products as `vendor/product` (docs/policy.md).";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ListArgs {
    #[command(flatten)]
    pub files: CatalogFiles,
}

pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    let catalog = args.files.load()?;
    let id = &catalog.identity;
    println!(
        "# {} version {} (as_of {}, {} vendors, {} products)",
        id.path,
        id.version,
        id.as_of,
        catalog.vendors.len(),
        catalog.products.len()
    );
    for extra in &catalog.extra_identities {
        println!(
            "# + {} version {} (as_of {})",
            extra.path, extra.version, extra.as_of
        );
    }
    for ident in std::iter::once(id).chain(&catalog.extra_identities) {
        if let Some(w) = xborder::classify::catalog_age_warning(ident, today()) {
            eprintln!("warning: {w}");
        }
    }
    for p in &catalog.products {
        let v = &catalog.vendors[p.vendor];
        let ids = format!("{}/{}", v.id, p.id);
        println!(
            "{ids:<40} {:<16} {:<3} {}",
            p.category, v.hq_country, p.name
        );
    }
    Ok(ExitCode::SUCCESS)
}
