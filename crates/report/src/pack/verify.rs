//! `xborder verify`: check an evidence pack the way a sceptical auditor would, and say
//! exactly what failed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::sign::PublicKey;
use super::{list_files, BAGIT_TXT, MINISIG, RAW_SIG, TAG_FILES};
use xborder_model::error::{Error, Result};
use xborder_model::hash::sha256_file;

/// The outcome of a verification.
#[derive(Debug, Default)]
pub struct Report {
    /// Every problem found; empty means the pack verified.
    pub problems: Vec<String>,
    pub payload_files: usize,
    /// What the signature check concluded.
    pub signature: String,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A manifest path is safe when it is relative, uses `/`, and never climbs out.
fn safe_member(name: &str) -> bool {
    let climbs = name
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..");
    let drive = name.len() > 1 && name.as_bytes()[1] == b':';
    let forbidden = name.starts_with('/') || name.contains(['\\', '\0']);
    !name.is_empty() && !climbs && !drive && !forbidden
}

/// Parse `sha256  path` lines; problems are reported, not fatal.
fn parse_manifest(text: &str, label: &str, problems: &mut Vec<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((hash, name)) = line.split_once(' ') else {
            problems.push(format!("{label} line {}: not `hash  path`", i + 1));
            continue;
        };
        let name = name.trim_start_matches([' ', '*']);
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            problems.push(format!("{label} line {}: `{hash}` is not a SHA-256", i + 1));
            continue;
        }
        if !safe_member(name) {
            problems.push(format!(
                "{label} line {}: unsafe path `{name}` (absolute, or climbs out of the bag)",
                i + 1
            ));
            continue;
        }
        if out
            .insert(name.to_string(), hash.to_ascii_lowercase())
            .is_some()
        {
            problems.push(format!("{label}: `{name}` is listed twice"));
        }
    }
    out
}

fn read_text(path: &Path, problems: &mut Vec<String>) -> Option<String> {
    match xborder_model::fsio::read_regular(path) {
        Ok(b) => match String::from_utf8(b) {
            Ok(s) => Some(s),
            Err(_) => {
                problems.push(format!("{}: not UTF-8", path.display()));
                None
            }
        },
        Err(_) => {
            problems.push(format!(
                "missing {}",
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
            None
        }
    }
}

/// Verify the bag at `pack`. With a public key, a valid signature is required.
pub fn verify(pack: &Path, pubkey: Option<&PublicKey>) -> Result<Report> {
    if !pack.is_dir() {
        return Err(Error::Usage(format!(
            "{} is not a directory",
            pack.display()
        )));
    }
    let mut r = Report::default();
    let p = &mut r.problems;

    // 1. bagit.txt
    if let Some(t) = read_text(&pack.join("bagit.txt"), p) {
        if t != BAGIT_TXT && !t.starts_with("BagIt-Version: ") {
            p.push("bagit.txt: not a BagIt declaration".into());
        }
    }

    // 2. Payload manifest against the files under data/.
    let manifest_text = read_text(&pack.join("manifest-sha256.txt"), p).unwrap_or_default();
    let manifest = parse_manifest(&manifest_text, "manifest-sha256.txt", p);
    let on_disk: BTreeSet<String> = list_files(pack, &pack.join("data"))?.into_iter().collect();
    let mut octets = 0u64;
    for (name, want) in &manifest {
        if !name.starts_with("data/") {
            p.push(format!("manifest-sha256.txt: `{name}` is not under data/"));
            continue;
        }
        let path = pack.join(name);
        if !on_disk.contains(name) {
            p.push(format!(
                "missing payload file {name} (listed in manifest-sha256.txt)"
            ));
            continue;
        }
        octets += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let got = match sha256_file(&path) {
            Ok(got) => got,
            Err(e) => {
                p.push(format!("unreadable payload file {name}: {e}"));
                continue;
            }
        };
        if &got != want {
            p.push(format!(
                "changed payload file {name}: SHA-256 is {got}, manifest says {want}"
            ));
        }
    }
    for name in on_disk.difference(&manifest.keys().cloned().collect()) {
        p.push(format!(
            "extra payload file {name} (not in manifest-sha256.txt)"
        ));
    }
    r.payload_files = manifest.len();

    // 3. Tag manifest and the tag files, and nothing unexpected beside them.
    let tag_text = read_text(&pack.join("tagmanifest-sha256.txt"), p);
    if let Some(tag_text) = &tag_text {
        let tags = parse_manifest(tag_text, "tagmanifest-sha256.txt", p);
        for name in TAG_FILES {
            match tags.get(*name) {
                None => p.push(format!("tagmanifest-sha256.txt does not cover {name}")),
                Some(want) => {
                    let path = pack.join(name);
                    if path.is_file() {
                        let got = sha256_file(&path)?;
                        if &got != want {
                            p.push(format!("changed tag file {name}: SHA-256 is {got}, tag manifest says {want}"));
                        }
                    }
                }
            }
        }
        for name in tags.keys() {
            if !TAG_FILES.contains(&name.as_str()) {
                p.push(format!(
                    "tagmanifest-sha256.txt lists unexpected file {name}"
                ));
            }
        }
    }
    let allowed: BTreeSet<&str> = TAG_FILES
        .iter()
        .copied()
        .chain(["tagmanifest-sha256.txt", MINISIG, RAW_SIG])
        .collect();
    let mut top: Vec<String> = std::fs::read_dir(pack)
        .map_err(|e| Error::io(pack, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    for name in top {
        if name != "data" && !allowed.contains(name.as_str()) {
            p.push(format!("extra file {name} at the top of the bag"));
        }
    }

    // 4. Payload-Oxum in bag-info.txt.
    if let Some(info) = read_text(&pack.join("bag-info.txt"), p) {
        let oxum = info.lines().find_map(|l| l.strip_prefix("Payload-Oxum: "));
        match oxum {
            None => p.push("bag-info.txt has no Payload-Oxum".into()),
            Some(v) if v.trim() != format!("{octets}.{}", manifest.len()) => p.push(format!(
                "bag-info.txt Payload-Oxum {v} does not match the payload ({octets}.{})",
                manifest.len()
            )),
            Some(_) => {}
        }
    }

    // 5. run.json agrees with the manifest.
    check_run_json(pack, &manifest, p);

    // 6. Signature.
    let minisig = pack.join(MINISIG);
    r.signature = match (pubkey, tag_text) {
        (None, _) if minisig.is_file() => "present, not checked (give --pubkey to check it)".into(),
        (None, _) => "none".into(),
        (Some(_), None) => {
            r.problems
                .push("cannot check the signature: tagmanifest-sha256.txt is missing".into());
            "not checked".into()
        }
        (Some(key), Some(tags)) => match xborder_model::fsio::read_regular_text(&minisig) {
            Err(_) => {
                r.problems.push(format!(
                    "a public key was given but the pack has no {MINISIG}"
                ));
                "missing".into()
            }
            Ok(sig) => match key.verify_minisign(tags.as_bytes(), &sig) {
                Ok(trusted) => {
                    let raw = pack.join(RAW_SIG);
                    if let Ok(bytes) = xborder_model::fsio::read_regular(&raw) {
                        if let Err(e) = key.verify_raw(tags.as_bytes(), &bytes) {
                            r.problems.push(format!("{RAW_SIG}: {e}"));
                        }
                    }
                    format!("valid ({trusted})")
                }
                Err(e) => {
                    r.problems.push(format!("{MINISIG}: {e}"));
                    "INVALID".into()
                }
            },
        },
    };
    Ok(r)
}

fn check_run_json(pack: &Path, manifest: &BTreeMap<String, String>, p: &mut Vec<String>) {
    let Some(text) = read_text(&pack.join("data/run.json"), p) else {
        return;
    };
    let Ok(run) = serde_json::from_str::<serde_json::Value>(&text) else {
        p.push("data/run.json is not valid JSON".into());
        return;
    };
    let mut described: BTreeSet<String> = BTreeSet::from(["data/run.json".to_string()]);
    for o in run["outputs"].as_array().into_iter().flatten() {
        let (Some(file), Some(sha)) = (o["file"].as_str(), o["sha256"].as_str()) else {
            p.push("data/run.json: an output entry lacks file or sha256".into());
            continue;
        };
        let name = format!("data/{file}");
        match manifest.get(&name) {
            None => p.push(format!(
                "data/run.json lists output {file}, which is not in the manifest"
            )),
            Some(h) if h != sha => p.push(format!(
                "data/run.json records {file} with SHA-256 {sha}, the manifest says {h}"
            )),
            Some(_) => {}
        }
        described.insert(name);
    }
    for i in run["inputs"].as_array().into_iter().flatten() {
        if let Some(member) = i["pack_member"].as_str() {
            let name = format!("data/{member}");
            let sha = i["sha256"].as_str().unwrap_or_default();
            match manifest.get(&name) {
                None => p.push(format!(
                    "data/run.json lists input copy {member}, which is not in the manifest"
                )),
                Some(h) if h != sha => p.push(format!(
                    "input copy {member}: run.json records SHA-256 {sha}, the manifest says {h}"
                )),
                Some(_) => {}
            }
            described.insert(name);
        }
    }
    // Copies of the inputs that can change a verdict (sites, policy, ...), under config/.
    for i in run["verdict_inputs"].as_array().into_iter().flatten() {
        for c in i["copies"].as_array().into_iter().flatten() {
            let (Some(member), Some(sha)) = (c["member"].as_str(), c["sha256"].as_str()) else {
                p.push("data/run.json: a verdict input copy lacks member or sha256".into());
                continue;
            };
            let name = format!("data/{member}");
            match manifest.get(&name) {
                None => p.push(format!(
                    "data/run.json lists verdict input copy {member}, which is not in the manifest"
                )),
                Some(h) if h != sha => p.push(format!(
                    "verdict input copy {member}: run.json records SHA-256 {sha}, the manifest says {h}"
                )),
                Some(_) => {}
            }
            described.insert(name);
        }
    }
    for name in manifest.keys() {
        if !described.contains(name) {
            p.push(format!(
                "payload file {name} is not described in data/run.json"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_member_names() {
        for bad in [
            "../x",
            "/etc/passwd",
            "data/../../x",
            "data//x",
            "C:/x",
            "data\\x",
            "data/./x",
            "",
        ] {
            assert!(!safe_member(bad), "{bad}");
        }
        assert!(safe_member("data/findings.csv"));
        assert!(safe_member("data/inputs/0001.gz"));
    }
}
