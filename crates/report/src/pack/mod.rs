//! The evidence pack: a BagIt bag (RFC 8493) around a run's outputs, optionally signed.
//!
//! Layout: `bagit.txt`, `bag-info.txt`, `manifest-sha256.txt` (payload, checkable with
//! `sha256sum -c` from inside the bag), `tagmanifest-sha256.txt` (the tag files), and with
//! `--sign` a minisign signature and a raw Ed25519 signature of the tag manifest. Member
//! names are fixed by xborder, never taken from input data.

pub mod sign;
pub mod verify;

use std::path::{Path, PathBuf};

use sign::{key_id_hex, SecretKey};
use xborder_model::error::{Error, Result};
use xborder_model::hash::sha256_file;

pub const BAGIT_TXT: &str = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
pub const MINISIG: &str = "tagmanifest-sha256.txt.minisig";
pub const RAW_SIG: &str = "tagmanifest-sha256.txt.sig";
pub const TAG_FILES: &[&str] = &["bagit.txt", "bag-info.txt", "manifest-sha256.txt"];

/// What bag-info.txt records about the run.
pub struct BagInfo<'a> {
    pub organization: Option<&'a str>,
    pub period: &'a str,
    pub generated_at: &'a str,
    pub run_id: &'a str,
    pub tool_version: &'a str,
}

/// Every regular file under `dir`, as sorted `/`-separated paths relative to `base`.
pub fn list_files(base: &Path, dir: &Path) -> Result<Vec<String>> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
            .collect::<Result<_>>()?;
        entries.sort();
        for p in entries {
            let meta = std::fs::symlink_metadata(&p).map_err(|e| Error::io(&p, e))?;
            if meta.is_dir() {
                walk(base, &p, out)?;
            } else {
                let rel = p
                    .strip_prefix(base)
                    .map_err(|_| Error::io(&p, std::io::Error::other("outside the bag")))?;
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    if dir.is_dir() {
        walk(base, dir, &mut out)?;
    }
    out.sort();
    Ok(out)
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// Turn `pack_dir` (whose `data/` already holds the outputs) into a complete bag, and sign
/// its tag manifest when a key is given.
pub fn finish_bag(pack_dir: &Path, info: &BagInfo<'_>, key: Option<&SecretKey>) -> Result<()> {
    let payload = list_files(pack_dir, &pack_dir.join("data"))?;
    let mut manifest = String::new();
    let mut octets = 0u64;
    for rel in &payload {
        let path = pack_dir.join(rel);
        octets += std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
        manifest.push_str(&format!("{}  {rel}\n", sha256_file(&path)?));
    }
    write(&pack_dir.join("bagit.txt"), BAGIT_TXT)?;
    let date = info.generated_at.get(..10).unwrap_or(info.generated_at);
    let mut bag_info = String::new();
    if let Some(org) = info.organization {
        bag_info.push_str(&format!("Source-Organization: {}\n", one_line(org)));
    }
    bag_info.push_str(&format!("Bagging-Date: {date}\n"));
    bag_info.push_str(&format!(
        "Bag-Software-Agent: xborder {}\n",
        info.tool_version
    ));
    bag_info.push_str(&format!("Payload-Oxum: {octets}.{}\n", payload.len()));
    bag_info.push_str(&format!(
        "External-Description: Cross-border egress to AI vendors, evidence for period {}\n",
        one_line(info.period)
    ));
    bag_info.push_str(&format!("XBorder-Period: {}\n", one_line(info.period)));
    bag_info.push_str(&format!("XBorder-Generated-At: {}\n", info.generated_at));
    bag_info.push_str(&format!("XBorder-Run-Id: {}\n", info.run_id));
    if let Some(k) = key {
        bag_info.push_str(&format!(
            "XBorder-Signing-Key-Id: {}\n",
            key_id_hex(&k.key_id)
        ));
    }
    write(&pack_dir.join("bag-info.txt"), &bag_info)?;
    write(&pack_dir.join("manifest-sha256.txt"), &manifest)?;
    let mut tags = String::new();
    for name in TAG_FILES {
        tags.push_str(&format!("{}  {name}\n", sha256_file(&pack_dir.join(name))?));
    }
    let tag_path = pack_dir.join("tagmanifest-sha256.txt");
    write(&tag_path, &tags)?;
    if let Some(k) = key {
        let trusted = format!(
            "xborder {} run {} period {} generated {}",
            info.tool_version,
            info.run_id,
            one_line(info.period),
            info.generated_at
        );
        write(
            &pack_dir.join(MINISIG),
            &k.minisign(tags.as_bytes(), &trusted),
        )?;
        let raw = pack_dir.join(RAW_SIG);
        std::fs::write(&raw, k.raw_signature(tags.as_bytes())).map_err(|e| Error::io(&raw, e))?;
    }
    Ok(())
}

/// Tag-file values are single lines.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}
