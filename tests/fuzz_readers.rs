//! A time-boxed, structure-aware fuzz run over every reader: each fixture under
//! tests/fixtures/formats and each real sample under ../shared/realdata (when present) is
//! mutated line by line, field by field and byte by byte, then read. The run asserts that
//! no reader panics or hangs, and, through the whole pipeline on a share of the cases,
//! that every file's counts balance.
//!
//! Budget: `XBORDER_FUZZ_SECONDS` (default 20; CI sets more). Seed: `XBORDER_FUZZ_SEED`
//! (default fixed, so a failure reproduces); a failing input is written to
//! `target/fuzz-failures/` and its seed and case number are printed.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use xborder::generate::Rng;
use xborder::ingest::{self, Detection, ReadContext, ReaderOptions};
use xborder::pipeline::{AnalyzeOptions, Catalogs};

/// Values that have broken parsers elsewhere: overflow, precision, sign, special floats,
/// odd addresses and times, JSON punctuation, control characters, a very long token.
const TOKENS: &[&str] = &[
    "18446744073709551616",
    "18446744073709551615",
    "9007199254740993",
    "-1",
    "-0",
    "1e309",
    "NaN",
    "null",
    "",
    "-",
    "(empty)",
    "::ffff:10.1.0.5",
    "0.0.0.0",
    "255.255.255.255",
    "999.1.1.1",
    "fe80::1%eth0",
    "9999-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "-9223372036854775808",
    "}{",
    "[",
    "{\"a\":",
    "\"",
    "\\",
    "\u{1b}[2J",
    "\u{7}",
    "\u{0}",
    "\u{feff}",
    "ÿþ",
    "=HYPERLINK(\"x\")",
];

fn inputs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for base in [
        root.join("tests/fixtures/formats"),
        root.join("../shared/realdata"),
    ] {
        let Ok(dirs) = std::fs::read_dir(&base) else {
            continue;
        };
        for dir in dirs.flatten() {
            let Ok(files) = std::fs::read_dir(dir.path()) else {
                continue;
            };
            for f in files.flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                if [".expect", ".md", ".toml"]
                    .iter()
                    .any(|e| name.ends_with(e))
                {
                    continue;
                }
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

fn decompressed(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut opened = ingest::open_input(path).unwrap();
    let mut bytes = Vec::new();
    opened.reader.read_to_end(&mut bytes).unwrap();
    bytes
}

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.below(items.len() as u64) as usize]
}

/// One structure-aware mutation of `data`.
fn mutate(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = data.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    if lines.is_empty() {
        lines.push(Vec::new());
    }
    let n = lines.len() as u64;
    let at = rng.below(n) as usize;
    match rng.below(9) {
        // Repeat, drop, swap, join or truncate lines.
        0 => {
            let l = lines[at].clone();
            lines.insert(at, l);
        }
        1 => {
            lines.remove(at);
        }
        2 => {
            let other = rng.below(n) as usize;
            lines.swap(at, other);
        }
        3 if at + 1 < lines.len() => {
            let next = lines.remove(at + 1);
            lines[at].extend(next);
        }
        4 => {
            let len = lines[at].len() as u64;
            let cut = rng.below(len + 1) as usize;
            lines[at].truncate(cut);
        }
        // Replace one field (TSV, CSV, space or pipe separated) with a hostile token.
        5 | 6 => {
            let sep = *pick(rng, b"\t, |:");
            let mut fields: Vec<Vec<u8>> =
                lines[at].split(|b| *b == sep).map(<[u8]>::to_vec).collect();
            let f = rng.below(fields.len() as u64) as usize;
            fields[f] = pick(rng, TOKENS).as_bytes().to_vec();
            lines[at] = fields.join(&sep);
        }
        // Replace one JSON value with a token, quoted or bare.
        7 => {
            let line = &lines[at];
            let colons: Vec<usize> = line
                .windows(2)
                .enumerate()
                .filter(|(_, w)| w == b"\":")
                .map(|(i, _)| i + 2)
                .collect();
            if !colons.is_empty() {
                let start = *pick(rng, &colons);
                let end = line[start..]
                    .iter()
                    .position(|b| *b == b',' || *b == b'}')
                    .map_or(line.len(), |p| start + p);
                let token = pick(rng, TOKENS);
                let value = if rng.below(2) == 0 {
                    format!("\"{token}\"")
                } else {
                    token.to_string()
                };
                let mut new = line[..start].to_vec();
                new.extend(value.as_bytes());
                new.extend(&line[end..]);
                lines[at] = new;
            }
        }
        // Raw bytes.
        _ => {
            let line = &mut lines[at];
            let pos = rng.below(line.len() as u64 + 1) as usize;
            let bytes = pick(rng, TOKENS).as_bytes();
            line.splice(pos..pos, bytes.iter().copied());
            if !line.is_empty() && rng.below(2) == 0 {
                let p = rng.below(line.len() as u64) as usize;
                line[p] = rng.below(256) as u8;
            }
        }
    }
    lines.join(&b'\n')
}

fn budget() -> Duration {
    let secs = std::env::var("XBORDER_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20u64);
    Duration::from_secs(secs)
}

fn save_failure(seed: u64, case: u64, bytes: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("seed{seed}-case{case}.bin"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Read `bytes` as `format` on a helper thread; `Err` says it panicked or hung.
fn read_bounded(format: ingest::Format, path: &Path, bytes: Vec<u8>) -> Result<(u64, u64), String> {
    let (tx, rx) = mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(|| {
            let options = ReaderOptions {
                assume_year: Some(2026),
                ..ReaderOptions::default()
            };
            let ctx = ReadContext {
                path: &path,
                file_index: 0,
                options: &options,
            };
            let (mut items, mut records) = (0u64, 0u64);
            let mut cursor = std::io::Cursor::new(bytes);
            let _ = ingest::read_records(format, &mut cursor, &ctx, &mut |item| {
                items += 1;
                records += u64::from(matches!(item, ingest::Item::Record(_)));
                Ok(())
            });
            (items, records)
        });
        let _ = tx.send(result.map_err(|_| "panicked".to_string()));
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(r) => r,
        Err(_) => Err("hung (no answer in 20 s)".into()),
    }
}

#[test]
fn fuzz_every_reader_within_budget() {
    let seed = std::env::var("XBORDER_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_205u64);
    let mut rng = Rng::new(seed);
    let corpus: Vec<(PathBuf, ingest::Format, Vec<u8>)> = inputs()
        .into_iter()
        .filter_map(|p| {
            let head = ingest::input::read_head(&p, 65_536).ok()?;
            match ingest::detect(&p, &head, None).ok()? {
                Detection::Supported(f) => {
                    let bytes = decompressed(&p);
                    Some((p, f, bytes))
                }
                _ => None,
            }
        })
        .collect();
    assert!(corpus.len() >= 20, "only {} inputs found", corpus.len());

    let work = tempfile::tempdir().unwrap();
    let catalogs_opts = options(work.path(), Vec::new());
    let catalogs = Catalogs::load(&catalogs_opts).unwrap();

    let deadline = Instant::now() + budget();
    let (mut cases, mut pipeline_runs) = (0u64, 0u64);
    while Instant::now() < deadline || cases < corpus.len() as u64 {
        let (path, format, original) = &corpus[(cases % corpus.len() as u64) as usize];
        let mut bytes = original.clone();
        for _ in 0..=rng.below(3) {
            bytes = mutate(&mut rng, &bytes);
        }
        if let Err(why) = read_bounded(format.clone(), path, bytes.clone()) {
            let saved = save_failure(seed, cases, &bytes);
            panic!(
                "{} reader {why} on a mutation of {} (seed {seed}, case {cases}; input saved as {})",
                format.id(),
                path.display(),
                saved.display()
            );
        }
        // Every eighth case goes through the whole pipeline, compressed now and then, and
        // must finish with balanced counts (or refuse the file with a typed error).
        if cases % 8 == 0 {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let file = work.path().join(format!("case{cases}-{name}"));
            let stored = match rng.below(3) {
                0 => zstd::encode_all(bytes.as_slice(), 1).unwrap(),
                _ => bytes.clone(),
            };
            std::fs::write(&file, stored).unwrap();
            let opts = options(work.path(), vec![file.clone()]);
            match xborder::pipeline::analyze(&opts, &catalogs, None) {
                Ok(a) => {
                    for f in &a.files {
                        assert!(f.counts.balanced(), "{}: {:?}", f.path, f.counts);
                    }
                }
                Err(xborder::Error::Aggregate(m)) if m.contains("balance") => {
                    let saved = save_failure(seed, cases, &bytes);
                    panic!(
                        "unbalanced counts: {m} (input saved as {})",
                        saved.display()
                    );
                }
                Err(_) => {}
            }
            let _ = std::fs::remove_file(&file);
            pipeline_runs += 1;
        }
        cases += 1;
    }
    eprintln!(
        "fuzz: {cases} mutated inputs over {} files, {pipeline_runs} through the pipeline (seed {seed})",
        corpus.len()
    );
}

fn options(spill: &Path, inputs: Vec<PathBuf>) -> AnalyzeOptions {
    AnalyzeOptions {
        period: xborder::period::Period::from_options(Some("1970-01-01"), Some("2100-01-01"), None)
            .unwrap(),
        snapshot_max_distance_s: 3600,
        reader: ReaderOptions {
            assume_year: Some(2026),
            ..ReaderOptions::default()
        },
        spill_dir: Some(spill.to_path_buf()),
        spill_after_keys: Some(64),
        ..AnalyzeOptions::new(inputs)
    }
}
