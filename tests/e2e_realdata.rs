//! Real third-party samples from ../shared/realdata (present beside the clone in CI, never
//! copied into the repository when their licence forbids it). Each
//! tests/realdata/expected-*.csv lists files with the format they must be detected as and
//! the hand-checked count of records in each bucket; the run must balance and match.
//! Without ../shared/realdata the test says so and passes, since a fresh clone elsewhere
//! has no right to those files.

mod common;

use std::path::{Path, PathBuf};

use common::{json, root, xborder};

fn realdata() -> Option<PathBuf> {
    let dir = root().join("../shared/realdata");
    dir.is_dir().then_some(dir)
}

const COLUMNS: [&str; 6] = [
    "read",
    "accepted",
    "rejected",
    "duplicate",
    "outside_period",
    "filtered",
];

/// Run analyze over `files` and return run.json.
fn analyze(files: &[PathBuf], extra: &[&str]) -> serde_json::Value {
    let out = tempfile::tempdir().unwrap();
    let o = xborder()
        .arg("analyze")
        .args(files)
        .args(["--from", "1970-01-01", "--to", "2100-01-01", "--quiet"])
        .args(extra)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "analyze failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    json(&out.path().join("run.json"))
}

#[test]
fn every_listed_sample_is_read_with_every_record_accounted_for() {
    let Some(data) = realdata() else {
        eprintln!("../shared/realdata is absent: real-sample checks skipped");
        return;
    };
    let mut lists: Vec<PathBuf> = std::fs::read_dir(root().join("tests/realdata"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    lists.sort();
    // Every sample (all but the index) must be listed somewhere: a new sample without
    // hand-checked counts fails here instead of passing unread.
    let mut listed = std::collections::BTreeSet::new();
    for list in &lists {
        let mut r = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .from_path(list)
            .unwrap();
        for row in r.records() {
            listed.insert(row.unwrap()[0].to_string());
        }
    }
    let mut stack = vec![data.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_none_or(|x| x != "md") {
                let rel = p
                    .strip_prefix(&data)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                assert!(listed.contains(&rel), "{rel} has no row in tests/realdata/");
            }
        }
    }
    for list in lists {
        let mut r = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .from_path(&list)
            .unwrap();
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        let files: Vec<PathBuf> = rows.iter().map(|row| data.join(&row[0])).collect();
        let run = analyze(&files, &["--assume-year", "2018"]);
        let inputs = run["inputs"].as_array().unwrap();
        for row in &rows {
            let want_path = data.join(&row[0]);
            let entry = inputs
                .iter()
                .find(|i| Path::new(i["path"].as_str().unwrap()) == want_path)
                .unwrap_or_else(|| panic!("{}: {} not in run.json", list.display(), &row[0]));
            assert_eq!(entry["format"], row[1], "{}: {}", list.display(), &row[0]);
            for (i, c) in COLUMNS.iter().enumerate() {
                let want: u64 = row[2 + i].parse().unwrap();
                assert_eq!(
                    entry["counts"][c].as_u64().unwrap(),
                    want,
                    "{}: {} {c}",
                    list.display(),
                    &row[0]
                );
            }
        }
    }
}
