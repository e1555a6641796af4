//! The scale generator states what it planted; `analyze` must report exactly that. The
//! same check runs at 10^7 and 10^8 flows in benches/macro.sh; here one small block keeps
//! `cargo test` fast.

use std::collections::BTreeMap;

mod common;

use common::{json, rows, xborder};

type Key = (String, String, String, String, String);

fn totals(path: &std::path::Path, flows_col: Option<&str>) -> BTreeMap<Key, (u64, u64, u64)> {
    let mut out: BTreeMap<Key, (u64, u64, u64)> = BTreeMap::new();
    for r in rows(path) {
        let key = (
            r["source_site"].clone(),
            r["destination_country"].clone(),
            r["vendor"].clone(),
            r["product"].clone(),
            r["attribution"].clone(),
        );
        let n = |k: &str| r[k].parse::<u64>().unwrap_or(0);
        let e = out.entry(key).or_default();
        e.0 += flows_col.map_or(1, n);
        e.1 += n("bytes_out");
        e.2 += n("bytes_in");
    }
    out
}

/// Generate data into `data` with `args`; it must succeed.
fn generate(data: &std::path::Path, args: &[&str]) {
    xborder()
        .arg("generate")
        .args(args)
        .arg("--out")
        .arg(data)
        .output()
        .map(|o| assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr)))
        .unwrap();
}

/// Analyze the generated logs under `data` into `out` with `extra` options; it must succeed.
fn analyze_generated(data: &std::path::Path, out: &std::path::Path, extra: &[&str]) {
    let o = xborder()
        .arg("analyze")
        .arg(data.join("logs"))
        .arg("--sites")
        .arg(data.join("sites.toml"))
        .args(["--period", "2026-Q3", "-q"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Generate with `generate_args`, analyze, and check every planted figure.
fn analyze_matches_the_plan(generate_args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("out");
    generate(&data, generate_args);
    let o = xborder()
        .arg("analyze")
        .arg(data.join("logs"))
        .arg("--sites")
        .arg(data.join("sites.toml"))
        .args(["--period", "2026-Q3", "-q", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let expected = totals(&data.join("expected_findings.csv"), Some("flows"));
    // evidence.csv has one row per AI-vendor flow.
    let got = totals(&out.join("evidence.csv"), None);
    assert_eq!(got, expected);

    let exp = json(&data.join("expected.json"));
    let run = json(&out.join("run.json"));
    let flows = &run["totals"]["flow_records"];
    assert_eq!(flows["read"], exp["flow_records"]);
    assert_eq!(flows["duplicate"], exp["duplicate_flow_records"]);
    assert_eq!(flows["rejected"], 0);
    assert_eq!(run["totals"]["dns_records"]["accepted"], exp["dns_records"]);
    assert_eq!(run["totals"]["flows"]["ai_vendor"], exp["ai_flows"]);
    run
}

#[test]
fn analyze_reports_exactly_what_the_generator_planted() {
    analyze_matches_the_plan(&["--flows", "100000", "--files", "1"]);
}

/// An AI-heavy mix (`--ai-share 0.8`, a partial block): four flows in five go to AI
/// vendors, and analyze still reports exactly what was planted.
#[test]
fn ai_heavy_mix_reports_exactly_what_the_generator_planted() {
    let run = analyze_matches_the_plan(&["--flows", "20000", "--files", "1", "--ai-share", "0.8"]);
    let flows = &run["totals"]["flow_records"]["read"];
    let ai = &run["totals"]["flows"]["ai_vendor"];
    let share = ai.as_f64().unwrap() / flows.as_f64().unwrap();
    assert!(
        (share - 0.8).abs() < 0.001,
        "AI share {share} ({ai} of {flows})"
    );
}

#[test]
fn ai_share_outside_zero_to_one_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["0", "-0.5", "1.01", "NaN", "inf", "eighty"] {
        let o = xborder()
            .args([
                "generate",
                "--flows",
                "1000",
                &format!("--ai-share={bad}"),
                "--out",
            ])
            .arg(dir.path().join("d"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "--ai-share {bad}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("--ai-share") && err.contains("(0, 1]"),
            "{err}"
        );
    }
    assert!(!dir.path().join("d").exists());
}

/// Conn logs as Parquet (two blocks, two files): the same figures through the Parquet
/// reader, and each conn file detected as zeek-conn-parquet with its hash recorded.
#[test]
fn parquet_conn_logs_report_exactly_what_the_generator_planted() {
    let run =
        analyze_matches_the_plan(&["--flows", "200000", "--files", "2", "--format", "parquet"]);
    let files = run["inputs"].as_array().unwrap();
    let parquet: Vec<_> = files
        .iter()
        .filter(|f| f["path"].as_str().unwrap().ends_with(".parquet"))
        .collect();
    assert_eq!(parquet.len(), 2, "{files:?}");
    for f in parquet {
        assert_eq!(f["format"], "zeek-conn-parquet");
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
    }
}

#[test]
fn memory_limit_stops_with_a_clear_error_and_exit_code_5() {
    let out = tempfile::tempdir().unwrap();
    let o = xborder()
        .current_dir(common::root())
        .args([
            "analyze",
            "data/sample",
            "--sites",
            "data/sample/sites.toml",
            "--memory-limit",
            "1MiB",
            "--out",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("memory limit 1.0 MiB exceeded") && err.contains("--memory-limit"),
        "{err}"
    );
    assert!(!out.path().join("findings.csv").exists());
}

/// De-duplication that spills its keys to disk, and a DNS index whose non-vendor answers
/// wait on disk, decide exactly as in memory: every output is byte-identical, and run.json
/// shows that keys did spill and that duplicates were found among them.
#[test]
fn spilling_deduplication_gives_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, &["--flows", "200000", "--files", "2"]);
    // The second conn file repeats the first one's last records: an overlapping export.
    let logs = data.join("logs");
    let mut conn: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("conn"))
        .collect();
    conn.sort();
    let first = std::fs::read_to_string(&conn[0]).unwrap();
    let records: Vec<&str> = first.lines().filter(|l| !l.starts_with('#')).collect();
    let overlap = &records[records.len() - 3000..];
    let mut second = std::fs::read_to_string(&conn[1]).unwrap();
    let at = second.find("\n#close").map_or(second.len(), |i| i + 1);
    second.insert_str(at, &(overlap.join("\n") + "\n"));
    std::fs::write(&conn[1], second).unwrap();

    let run = |out: &std::path::Path, extra: &[&str]| analyze_generated(&data, out, extra);
    let (memory, spilled, spill_dir) = (
        dir.path().join("memory"),
        dir.path().join("spilled"),
        dir.path().join("spill"),
    );
    run(&memory, &[]);
    let spill_arg = spill_dir.to_str().unwrap();
    run(
        &spilled,
        &["--spill-after-keys", "5000", "--spill-dir", spill_arg],
    );
    for name in [
        "findings.csv",
        "summary_by_vendor.csv",
        "evidence.csv",
        "daily_egress.csv",
        "cross_border_other.csv",
    ] {
        let a = std::fs::read(memory.join(name)).unwrap();
        let b = std::fs::read(spilled.join(name)).unwrap();
        assert!(a == b, "{name} differs");
    }
    let (a, b) = (
        json(&memory.join("run.json")),
        json(&spilled.join("run.json")),
    );
    assert_eq!(a["totals"], b["totals"]);
    assert_eq!(a["dns_index"], b["dns_index"]);
    let exp = json(&data.join("expected.json"));
    let planted = exp["duplicate_flow_records"].as_u64().unwrap();
    assert_eq!(
        b["totals"]["flow_records"]["duplicate"].as_u64().unwrap(),
        planted + 3000
    );
    let flows = &b["deduplication"]["flows"];
    assert!(flows["runs_spilled"].as_u64().unwrap() >= 40, "{flows}");
    assert!(flows["found_on_disk"].as_u64().unwrap() >= 3000, "{flows}");
    assert_eq!(a["deduplication"]["flows"]["runs_spilled"], 0);
    assert!(b["deduplication"]["dns"]["runs_spilled"].as_u64().unwrap() > 0);
    // Spill files are unnamed: nothing is left behind.
    assert_eq!(std::fs::read_dir(&spill_dir).unwrap().count(), 0);
}

/// A DNS index whose packed answers move to disk (an AI-heavy mix, with more vendor
/// answers than `--spill-after-keys` lets it hold in memory) attributes every flow as the
/// index in memory does: every output is byte-identical, evidence included, and the
/// generator's plan still comes out exactly.
#[test]
fn dns_index_on_disk_gives_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, &["--flows", "40000", "--ai-share", "0.8"]);
    let run = |out: &std::path::Path, extra: &[&str]| analyze_generated(&data, out, extra);
    let (memory, on_disk, spill_dir) = (
        dir.path().join("memory"),
        dir.path().join("on_disk"),
        dir.path().join("spill"),
    );
    run(&memory, &[]);
    run(
        &on_disk,
        &[
            "--spill-after-keys",
            "1000",
            "--spill-dir",
            spill_dir.to_str().unwrap(),
        ],
    );
    let (a, b) = (
        json(&memory.join("run.json")),
        json(&on_disk.join("run.json")),
    );
    // Far more vendor answers are kept than the 1,000 the index may hold in memory.
    let kept = b["dns_index"]["answers_kept"].as_u64().unwrap();
    assert!(kept > 10_000, "{kept}");
    assert_eq!(a["dns_index"], b["dns_index"]);
    assert_eq!(a["totals"], b["totals"]);
    for name in [
        "findings.csv",
        "summary_by_vendor.csv",
        "evidence.csv",
        "evidence.parquet",
        "daily_egress.csv",
        "cross_border_other.csv",
        "coverage.csv",
    ] {
        let x = std::fs::read(memory.join(name)).unwrap();
        let y = std::fs::read(on_disk.join(name)).unwrap();
        assert!(x == y, "{name} differs");
    }
    let planned = totals(&data.join("expected_findings.csv"), Some("flows"));
    // evidence.csv has one row per AI-vendor flow.
    let got = totals(&on_disk.join("evidence.csv"), None);
    assert_eq!(got, planned);
}
