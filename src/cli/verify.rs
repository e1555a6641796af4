//! `xborder verify`: check an evidence pack and say exactly what failed.
//!
//! Usage: xborder verify PACK [--pubkey KEY.pub]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use xborder::pack::sign::PublicKey;
use xborder::pack::verify::verify;

const EXAMPLES: &str = "\
Examples:
  xborder verify packs/2026-Q3 --pubkey org-signing.pub
  xborder verify packs/2026-Q3            (hashes and file lists only)

Checks every payload and tag file hash, that no file is missing or extra, Payload-Oxum,
that run.json agrees with the manifest, and with --pubkey the minisign and raw Ed25519
signatures of the tag manifest. Exit code 0 when everything holds, 4 when anything fails.";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct VerifyArgs {
    /// The pack directory (a BagIt bag written by `analyze --pack`).
    #[arg(value_name = "PACK")]
    pub pack: PathBuf,
    /// The signer's public key (minisign format, from `xborder keygen`).
    #[arg(long, value_name = "KEY")]
    pub pubkey: Option<PathBuf>,
}

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let key = args
        .pubkey
        .as_deref()
        .map(PublicKey::load)
        .transpose()
        .context("loading the public key")?;
    let report = verify(&args.pack, key.as_ref())
        .with_context(|| format!("verifying {}", args.pack.display()))?;
    println!("pack: {}", args.pack.display());
    println!("payload files: {}", report.payload_files);
    println!("signature: {}", report.signature);
    if report.ok() {
        println!("result: OK");
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &report.problems {
            println!("FAILED: {p}");
        }
        println!(
            "result: FAILED ({} problem{})",
            report.problems.len(),
            if report.problems.len() == 1 { "" } else { "s" }
        );
        Ok(ExitCode::from(4))
    }
}
