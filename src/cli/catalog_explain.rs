//! `xborder catalog explain`: which catalog entry a hostname or address matches, by which
//! rule, with its region, processing scope, importer and sources.
//!
//! Usage: xborder catalog explain HOST|IP [--vendors FILE] [--vendors-extra FILE]...

use std::net::IpAddr;
use std::process::ExitCode;

use clap::Args;
use xborder::classify::vendors::MatchRule;

use super::catalog::CatalogFiles;

const EXAMPLES: &str = "\
Examples:
  xborder catalog explain ws1.eu-central-1.maas.aliyuncs.com
  xborder catalog explain 160.79.104.10
  xborder catalog explain llm.corp.example --vendors-extra corp-relays.toml

Exit status 0 whether or not an entry matches; the first line says which.";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ExplainArgs {
    /// A hostname (matched as DNS, SNI or HTTP Host names are) or an IP address (matched
    /// against published ranges).
    #[arg(value_name = "HOST|IP")]
    pub target: String,
    #[command(flatten)]
    pub files: CatalogFiles,
}

pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let catalog = args.files.load()?;
    let target = args.target.trim();
    let found = match target.parse::<IpAddr>() {
        Ok(ip) => catalog.explain_ip(ip),
        Err(_) => catalog.explain_host(target),
    };
    let Some((pid, rule)) = found else {
        println!("no catalog entry matches {target}");
        return Ok(ExitCode::SUCCESS);
    };
    let p = catalog.product(pid);
    let v = catalog.vendor_of(pid);
    println!("{target} matches {}/{}", v.id, p.id);
    let why = match &rule {
        MatchRule::Exact => "exact host".to_string(),
        MatchRule::Template { template, region } => {
            format!("exact host generated from template `{template}` for region {region}")
        }
        MatchRule::Pattern(pat) => format!("one-label pattern `{pat}`"),
        MatchRule::Suffix(s) => format!("dedicated apex `{s}` (the name or a subdomain of it)"),
        MatchRule::Range(net) => format!("published address range {net}"),
    };
    println!("  rule:        {why}");
    println!(
        "  product:     {} ({}, confidence {})",
        p.name, p.category, p.confidence
    );
    println!(
        "  vendor:      {} (HQ {}, DPF {})",
        v.name, v.hq_country, v.dpf_certified
    );
    println!(
        "  importer:    {} ({})",
        v.importer_entity.as_deref().unwrap_or(&v.name),
        v.importer_country
    );
    let host = if matches!(rule, MatchRule::Range(_)) {
        ""
    } else {
        target
    };
    if !host.is_empty() {
        if let Some(region) = catalog.region_for(pid, host) {
            println!("  region:      {region} (documented for this host)");
        }
        if let Some(scope) = catalog.processing_for(pid, host) {
            println!("  processing:  {}", scope.as_str());
        }
    }
    if let Some(q) = &p.upstream_question {
        println!("  relay:       ask the relay: {q}");
    }
    if let Some(n) = &p.notes {
        println!("  notes:       {n}");
    }
    for s in p.sources.iter().chain(&v.sources) {
        match &s.note {
            Some(n) => println!("  source:      {} (as of {}): {n}", s.url, s.as_of),
            None => println!("  source:      {} (as of {})", s.url, s.as_of),
        }
    }
    println!(
        "  catalog:     {} version {} (as_of {})",
        catalog.identity.path, catalog.identity.version, catalog.identity.as_of
    );
    Ok(ExitCode::SUCCESS)
}
