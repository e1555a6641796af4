//! `xborder keygen`: make the keys evidence packs are signed and pseudonymised with.
//!
//! Usage: xborder keygen --out PREFIX
//!        xborder keygen --hmac FILE

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use xborder::pack::sign::{key_id_hex, new_hmac_key_text, write_private, SecretKey};

const EXAMPLES: &str = "\
Examples:
  xborder keygen --out org-signing
      writes org-signing.key (secret, mode 0600), org-signing.pub (minisign public key)
      and org-signing.pub.pem (the same key for openssl)
  xborder keygen --hmac pseudonym.key
      writes a random 256-bit key for analyze --pseudonymize (mode 0600)

Existing files are never overwritten. Give the .pub file to whoever verifies your packs,
through a channel other than the pack itself.";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct KeygenArgs {
    /// Write an Ed25519 signing key pair to PREFIX.key, PREFIX.pub and PREFIX.pub.pem.
    #[arg(long, value_name = "PREFIX", required_unless_present = "hmac")]
    pub out: Option<PathBuf>,
    /// Write a pseudonymisation key (64 hex characters) to FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "out")]
    pub hmac: Option<PathBuf>,
}

fn with_suffix(prefix: &std::path::Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

pub fn run(args: KeygenArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = args.hmac {
        write_private(&path, &new_hmac_key_text()?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!(
            "wrote pseudonymisation key {} (mode 0600); keep it out of every pack",
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let Some(prefix) = args.out else {
        anyhow::bail!("give --out PREFIX or --hmac FILE");
    };
    let (secret, public, pem) = (
        with_suffix(&prefix, ".key"),
        with_suffix(&prefix, ".pub"),
        with_suffix(&prefix, ".pub.pem"),
    );
    for p in [&secret, &public, &pem] {
        if p.exists() {
            anyhow::bail!("{} already exists; not overwriting a key", p.display());
        }
    }
    let key = SecretKey::generate()?;
    write_private(&secret, &key.to_file_text())
        .with_context(|| format!("writing {}", secret.display()))?;
    std::fs::write(&public, key.public().to_minisign())
        .with_context(|| format!("writing {}", public.display()))?;
    std::fs::write(&pem, key.public().to_pem())
        .with_context(|| format!("writing {}", pem.display()))?;
    println!(
        "key id {}\n  secret key: {} (mode 0600)\n  public key: {} (minisign) and {} (openssl)",
        key_id_hex(&key.key_id),
        secret.display(),
        public.display(),
        pem.display()
    );
    Ok(ExitCode::SUCCESS)
}
