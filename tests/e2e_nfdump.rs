//! nfdump CSV through `analyze`: the classic fixture (NSEL biflow, local times at +08:00)
//! and the csv-fast fixture (the same connection as two uniflow records) must both give
//! the hand-checked Anthropic finding for the CN office of tests/fixtures/traps/sites.toml:
//! 10.1.0.5 uploaded 18 350 bytes to 160.79.104.10 and received 96 211.

mod common;

use common::{json, root, rows, xborder};

/// Analyze one fixture; return the Anthropic PIPL findings and the input's run.json entry.
fn analyze(
    file: &str,
    extra: &[&str],
) -> (
    Vec<std::collections::BTreeMap<String, String>>,
    serde_json::Value,
) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = xborder()
        .arg("analyze")
        .arg(root().join("tests/fixtures/formats/nfdump-csv").join(file))
        .arg("--sites")
        .arg(root().join("tests/fixtures/traps/sites.toml"))
        .args(["--period", "2026-Q3", "--quiet"])
        .args(extra)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let anthropic = rows(&out.join("findings.csv"))
        .into_iter()
        .filter(|r| r["vendor"] == "Anthropic" && r["regime"] == "PIPL")
        .collect();
    let run = json(&out.join("run.json"));
    (anthropic, run["inputs"][0].clone())
}

fn check(f: &std::collections::BTreeMap<String, String>) {
    assert_eq!(f["attribution"], "ip_range");
    assert_eq!(f["source_site"], "cn-office");
    assert_eq!(f["destination_country"], "US");
    assert_eq!(f["bytes_out"], "18350");
    assert_eq!(f["bytes_in"], "96211");
    // 08:00:00 at +08:00 in the classic file; epoch ms 1782864000000 in csv-fast.
    assert_eq!(f["first_seen"], "2026-07-01T00:00:00Z");
}

#[test]
fn classic_and_csv_fast_exports_give_the_same_anthropic_finding() {
    let (found, input) = analyze("classic.csv", &["--log-timezone", "+08:00"]);
    assert_eq!(input["format"], "nfdump-csv");
    assert_eq!(found.len(), 1, "{found:?}");
    check(&found[0]);
    assert_eq!(found[0]["flows"], "1");
    assert_eq!(input["counts"]["filtered_by_reason"]["nfdump_summary"], 1);
    assert_eq!(input["counts"]["rejected"], 2);

    let (found, input) = analyze("csv-fast.csv", &[]);
    assert_eq!(input["format"], "nfdump-csv");
    assert_eq!(found.len(), 1, "{found:?}");
    check(&found[0]);
    // The upload and its return direction are two uniflow records of one connection.
    assert_eq!(found[0]["flows"], "2");
    assert_eq!(input["flows"]["return_direction"], 1);
}
