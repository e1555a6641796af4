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

/// Generate with `generate_args`, analyze, and check every planted figure.
fn analyze_matches_the_plan(generate_args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("out");
    xborder()
        .arg("generate")
        .args(generate_args)
        .arg("--out")
        .arg(&data)
        .output()
        .map(|o| assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr)))
        .unwrap();
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
