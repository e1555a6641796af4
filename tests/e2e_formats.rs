//! Every fixture under tests/fixtures/formats/<format-id>/ is detected as that format, reads
//! to the hand-checked counts in its `.expect` file, and survives mutation without a panic.
//!
//! An `.expect` file lists `key value` lines: `flow`, `dns`, `hostname`, `proxy` (records of each
//! kind), `rejected`, `filtered`, and optionally `notes`. Lines starting with `#` explain.
//! A fixture may be named `<name>.<ext>`; its expectations live in `<name>.<ext>.expect`.
//! Reader-specific field checks live in unit tests beside each reader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod common;

use xborder::generate::Rng;
use xborder::ingest::{self, Detection, Item, ReadContext, ReaderOptions};
use xborder::schema::Record;

fn fixtures() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats");
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return out;
    };
    for dir in dirs.flatten() {
        if !dir.path().is_dir() {
            continue;
        }
        let id = dir.file_name().to_string_lossy().into_owned();
        for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".expect") || name.ends_with(".md") || name.ends_with(".toml") {
                continue;
            }
            out.push((id.clone(), f.path()));
        }
    }
    out.sort();
    out
}

fn options() -> ReaderOptions {
    ReaderOptions {
        assume_year: Some(2026),
        ..ReaderOptions::default()
    }
}

fn count(format: ingest::Format, path: &Path, bytes: &[u8]) -> BTreeMap<String, u64> {
    let options = options();
    let ctx = ReadContext {
        path,
        file_index: 0,
        options: &options,
    };
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut cursor = std::io::Cursor::new(bytes.to_vec());
    ingest::read_records(format, &mut cursor, &ctx, &mut |item| {
        let key = match item {
            Item::Record(Record::Flow(_)) => "flow",
            Item::Record(Record::Dns(_)) => "dns",
            Item::Record(Record::Hostname(_)) => "hostname",
            Item::Record(Record::Proxy(_)) => "proxy",
            Item::Reject(_) => "rejected",
            Item::Filtered { .. } => "filtered",
            Item::Note(_) => "notes",
        };
        *counts.entry(key.to_string()).or_default() += 1;
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    counts
}

fn decompressed(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut opened = ingest::open_input(path).unwrap();
    let mut bytes = Vec::new();
    opened.reader.read_to_end(&mut bytes).unwrap();
    bytes
}

#[test]
fn every_fixture_is_detected_and_reads_to_its_expected_counts() {
    for (id, path) in fixtures() {
        let head = ingest::input::read_head(&path, 65_536).unwrap();
        let detection = ingest::detect(&path, &head, None)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let Detection::Supported(format) = detection else {
            panic!("{}: detected as {detection:?}", path.display())
        };
        assert_eq!(format.id(), id, "{}", path.display());
        let expect_path = PathBuf::from(format!("{}.expect", path.display()));
        let expect = std::fs::read_to_string(&expect_path)
            .unwrap_or_else(|_| panic!("{} has no .expect file", path.display()));
        let mut want: BTreeMap<String, u64> = BTreeMap::new();
        for line in expect.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line.split_once(char::is_whitespace).unwrap();
            let v: u64 = v.trim().parse().unwrap();
            if v > 0 {
                want.insert(k.to_string(), v);
            }
        }
        let got = count(format, &path, &decompressed(&path));
        assert_eq!(got, want, "{}", path.display());
    }
}

/// Property test over arbitrary bytes, seeded from each real fixture: flipped and
/// inserted bytes, truncations, repeated and dropped lines. Any panic fails the test.
#[test]
fn mutated_fixtures_never_panic_any_reader() {
    let pieces: &[&[u8]] = &[
        b"\"",
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b"\n",
        b"\r\n",
        b"\t",
        b"-",
        b"null",
        b"1e400",
        b"-1",
        b"18446744073709551616",
        b"\xff\xfe",
        b"\x00",
        b"::ffff:1.2.3.4",
        b"999.1.1.1",
        b"2026-13-45T99:99:99Z",
        b"//",
        b"\\",
        b"NaN",
        b"\"\"",
        b"0x",
    ];
    let mut rng = Rng::new(7);
    for (_, path) in fixtures() {
        let original = decompressed(&path);
        let head = ingest::input::read_head(&path, 65_536).unwrap();
        let Ok(Detection::Supported(format)) = ingest::detect(&path, &head, None) else {
            continue;
        };
        for _ in 0..150 {
            let mut m = original.clone();
            for _ in 0..=rng.below(4) {
                if m.is_empty() {
                    break;
                }
                let at = rng.below(m.len() as u64) as usize;
                match rng.below(5) {
                    0 => m[at] = rng.below(256) as u8,
                    1 => {
                        let p = pieces[rng.below(pieces.len() as u64) as usize];
                        m.splice(at..at, p.iter().copied());
                    }
                    2 => m.truncate(at),
                    3 => {
                        let end = (at + rng.below(200) as usize).min(m.len());
                        let chunk: Vec<u8> = m[at..end].to_vec();
                        m.splice(at..at, chunk);
                    }
                    _ => {
                        let end = (at + rng.below(50) as usize).min(m.len());
                        m.drain(at..end);
                    }
                }
            }
            let _ = ingest::detect(&path, &m, None);
            count(format.clone(), &path, &m);
        }
    }
}

/// Parquet inputs are read by path, not from the pipeline's stream; `analyze` must still
/// hash the file and finish it (each Parquet fixture, through the whole pipeline).
#[test]
fn parquet_fixtures_go_through_analyze() {
    use sha2::Digest;
    for (id, path) in fixtures() {
        if path.extension().and_then(|e| e.to_str()) != Some("parquet") {
            continue;
        }
        let out = tempfile::tempdir().unwrap();
        let o = common::xborder()
            .arg("analyze")
            .arg(&path)
            .args(["-q", "--out"])
            .arg(out.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{id}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let run = common::json(&out.path().join("run.json"));
        let input = &run["inputs"][0];
        assert_eq!(input["format"], id.as_str());
        let sha = format!("{:x}", sha2::Sha256::digest(std::fs::read(&path).unwrap()));
        assert_eq!(input["sha256"], sha.as_str(), "{id}");
    }
}

/// JSON records are framed by the JSON grammar, not by lines: every JSON-lines fixture
/// compacted into a one-line array (`jq -c -s`) or into objects back to back (`}{`) reads
/// to exactly the same counts, so no record after the first on a line is lost.
#[test]
fn compacted_json_reads_every_record() {
    let mut checked = 0;
    for (_, path) in fixtures() {
        let original = decompressed(&path);
        let text = String::from_utf8_lossy(&original);
        let objects: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let all_objects = !objects.is_empty()
            && objects
                .iter()
                .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v.is_object()));
        if !all_objects || objects.len() < 2 {
            continue;
        }
        let head = ingest::input::read_head(&path, 65_536).unwrap();
        let Ok(Detection::Supported(format)) = ingest::detect(&path, &head, None) else {
            continue;
        };
        let want = count(format.clone(), &path, &original);
        let array = format!("[{}]\n", objects.join(","));
        let back_to_back = format!("{}\n", objects.join(""));
        for (how, bytes) in [("array", array), ("back to back", back_to_back)] {
            assert_eq!(
                ingest::detect(&path, bytes.as_bytes(), None).ok(),
                Some(Detection::Supported(format.clone())),
                "{} ({how}): detection",
                path.display()
            );
            let got = count(format.clone(), &path, bytes.as_bytes());
            let records = |c: &BTreeMap<String, u64>| {
                ["flow", "dns", "hostname", "filtered", "rejected"]
                    .map(|k| c.get(k).copied().unwrap_or(0))
            };
            assert_eq!(records(&got), records(&want), "{} ({how})", path.display());
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} JSON-lines fixtures found");
}
