//! `xborder resolve`: a dated snapshot of what each catalog host resolves to.
//!
//! Usage: xborder resolve [--vendors FILE] [--nameserver IP:PORT]... [--out snapshot.csv]
//!        [--timeout-ms MS] [--attempts N] [--concurrency N] [--quiet]
//!
//! The only subcommand that always uses the network: it says so on stderr before the
//! first query. See docs/resolve.md.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use xborder::classify::vendors::VendorCatalog;
use xborder::classify::{embedded, CatalogText};
use xborder::enrich::resolve::{self, DEFAULT_CONCURRENCY};
use xborder::enrich::resolver::{runtime, DEFAULT_ATTEMPTS, DEFAULT_TIMEOUT_MS};
use xborder::enrich::{now_micros, DnsClient, Progress, ResolverSettings};

const EXAMPLES: &str = "\
Examples:
  # With the resolvers in /etc/resolv.conf, into a dated file
  xborder resolve --out snapshots/$(date -u +%Y%m%dT%H%M%SZ).csv

  # A named resolver and a custom catalog
  xborder resolve --vendors vendors.toml --nameserver 10.0.0.53:53 --out snap.csv

  # Use the snapshots as weaker evidence for flows without DNS logs
  xborder analyze conn.log --ip-snapshot snapshots/*.csv --out reports/q3

Writes one row per (host, address) with the CNAME chain, TTL, resolved_at, resolver and
rcode; NXDOMAIN, SERVFAIL, TIMEOUT and NODATA are rows too, and catalog host patterns
(with `*`) are listed as SKIPPED_PATTERN. Without --out the CSV goes to stdout.
Run it on a schedule (docs/resolve.md) so every part of a quarter has a snapshot.
Exits 1 when no host resolved to any address (the failure rows are still written).";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ResolveArgs {
    /// AI vendor catalog replacing the embedded data/vendors.toml.
    #[arg(long, value_name = "FILE")]
    pub vendors: Option<PathBuf>,
    /// Name server to ask instead of those in /etc/resolv.conf (repeatable).
    #[arg(long = "nameserver", value_name = "IP:PORT")]
    pub nameservers: Vec<SocketAddr>,
    /// Snapshot CSV to write (replaced atomically); stdout when absent.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Timeout of one query attempt, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_TIMEOUT_MS,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub timeout_ms: u64,
    /// Attempts per name server before a query counts as failed.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ATTEMPTS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10))]
    pub attempts: usize,
    /// Hosts resolved at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=256))]
    pub concurrency: usize,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: ResolveArgs) -> anyhow::Result<ExitCode> {
    let catalog = VendorCatalog::load(
        &CatalogText::load(
            args.vendors.as_deref(),
            "data/vendors.toml",
            embedded::VENDORS,
        )
        .context("loading the vendor catalog")?,
    )
    .context("loading the vendor catalog")?;
    let (hosts, patterns) = resolve::catalog_names(&catalog);
    let settings = ResolverSettings {
        nameservers: args.nameservers.clone(),
        timeout: Duration::from_millis(args.timeout_ms),
        attempts: args.attempts,
    };
    let rt = runtime()?;
    let (mut rows, client) = rt.block_on(async {
        let client = DnsClient::build(&settings)?;
        eprintln!(
            "xborder resolve: network access: querying {} hosts (A and AAAA) via {} ({})",
            hosts.len(),
            client.label(),
            if client.source == "system" {
                "from /etc/resolv.conf"
            } else {
                "from --nameserver"
            }
        );
        let progress = Progress::new("resolving", hosts.len());
        let rows = resolve::resolve_hosts(&client, &hosts, args.concurrency, &progress).await;
        Ok::<_, xborder::Error>((rows, client))
    })?;
    rows.extend(resolve::skipped_rows(
        &patterns,
        &client.label(),
        now_micros(),
    ));
    let summary = resolve::summarise(&rows, hosts.len());
    match &args.out {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let tmp = path.with_extension("csv.partial");
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(&tmp)
                    .map_err(|e| xborder::Error::io(&tmp, e))
                    .context("writing the snapshot")?,
            );
            resolve::write_snapshot(&mut rows, &mut f)?;
            f.flush().map_err(|e| xborder::Error::io(&tmp, e))?;
            drop(f);
            std::fs::rename(&tmp, path)
                .map_err(|e| xborder::Error::io(path, e))
                .context("writing the snapshot")?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            resolve::write_snapshot(&mut rows, &mut lock)?;
        }
    }
    if !args.quiet {
        eprintln!(
            "resolved {} hosts: {} address rows, {} failure rows, {} patterns skipped{}",
            summary.hosts,
            summary.address_rows,
            summary.failure_rows,
            summary.patterns_skipped,
            args.out
                .as_ref()
                .map(|p| format!("; wrote {}", p.display()))
                .unwrap_or_default()
        );
    }
    // A snapshot without a single address attributes nothing: an unreachable resolver or
    // no network must not pass for an empty-but-fine run in a scheduled job.
    if summary.hosts > 0 && summary.address_rows == 0 {
        return Err(xborder::Error::Dns(format!(
            "every look-up failed: none of {} hosts resolved to an address ({} failure rows{}); check network access and --nameserver",
            summary.hosts,
            summary.failure_rows,
            args.out
                .as_ref()
                .map(|p| format!(" written to {}", p.display()))
                .unwrap_or_default()
        )))
        .context("resolving the catalog hosts");
    }
    Ok(ExitCode::SUCCESS)
}
