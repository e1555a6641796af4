//! End-to-end runs over firewall, DNS-server and mapped exports, with findings worked out
//! by hand (tests/fixtures/firewall_dns/README.md).

mod common;

use std::path::{Path, PathBuf};

use common::{json, root, rows, xborder};

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/firewall_dns").join(name)
}

fn analyze(out: &Path, inputs: &[PathBuf], extra: &[&str]) {
    let o = xborder()
        .arg("analyze")
        .args(inputs)
        .arg("--sites")
        .arg(fixture("sites.toml"))
        .args(["--period", "2026-Q3", "--quiet", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// (vendor, attribution, flows, bytes_out, bytes_in, first_seen, last_seen) per finding.
fn findings(out: &Path) -> Vec<[String; 7]> {
    let mut v: Vec<[String; 7]> = rows(&out.join("findings.csv"))
        .into_iter()
        .map(|r| {
            [
                r["vendor"].clone(),
                r["attribution"].clone(),
                r["flows"].clone(),
                r["bytes_out"].clone(),
                r["bytes_in"].clone(),
                r["first_seen"].clone(),
                r["last_seen"].clone(),
            ]
        })
        .collect();
    v.sort();
    v
}

fn row(v: &[&str; 7]) -> [String; 7] {
    v.map(str::to_string)
}

#[test]
fn panos_flows_joined_to_route53_answers_at_the_firewall_offset() {
    let out = tempfile::tempdir().unwrap();
    analyze(
        out.path(),
        &[fixture("panos.log"), fixture("route53.json")],
        &["--log-timezone", "+02:00"],
    );
    assert_eq!(
        findings(out.path()),
        vec![
            row(&[
                "Anthropic",
                "dns",
                "1",
                "9000",
                "4000",
                "2026-07-10T06:01:00Z",
                "2026-07-10T06:01:00Z"
            ]),
            row(&[
                "Anthropic",
                "ip_range",
                "1",
                "7000",
                "1000",
                "2026-07-10T06:02:00Z",
                "2026-07-10T06:02:00Z"
            ]),
        ]
    );
    let formats = common::field_of_each(&json(&out.path().join("run.json")), "inputs", "format");
    assert_eq!(formats, ["panos-traffic", "route53-resolver"]);
}

#[test]
fn without_log_timezone_panos_times_are_read_as_utc_and_noted() {
    let out = tempfile::tempdir().unwrap();
    analyze(
        out.path(),
        &[fixture("panos.log"), fixture("route53.json")],
        &[],
    );
    // The same flows two hours later than at +02:00 (the answer has no TTL, so the
    // default DNS window still joins it).
    assert_eq!(
        findings(out.path()),
        vec![
            row(&[
                "Anthropic",
                "dns",
                "1",
                "9000",
                "4000",
                "2026-07-10T08:01:00Z",
                "2026-07-10T08:01:00Z"
            ]),
            row(&[
                "Anthropic",
                "ip_range",
                "1",
                "7000",
                "1000",
                "2026-07-10T08:02:00Z",
                "2026-07-10T08:02:00Z"
            ]),
        ]
    );
    let run = json(&out.path().join("run.json"));
    let notes = run["inputs"][0]["notes"].to_string();
    assert!(notes.contains("--log-timezone"), "{notes}");
}

#[test]
fn a_mapped_csv_export_gives_hand_checked_findings() {
    let out = tempfile::tempdir().unwrap();
    let mapping = root().join("data/examples/mapping-proxy-csv.toml");
    analyze(
        out.path(),
        &[fixture("proxy.csv")],
        &["--mapping", mapping.to_str().unwrap()],
    );
    assert_eq!(
        findings(out.path()),
        vec![row(&[
            "Anthropic",
            "ip_range",
            "2",
            "2000",
            "400",
            "2026-07-10T08:00:00Z",
            "2026-07-10T08:05:00Z"
        ])]
    );
    let run = json(&out.path().join("run.json"));
    let input = &run["inputs"][0];
    assert_eq!(input["format"], "mapping:proxy-csv");
    assert_eq!(input["counts"]["read"], 4);
    assert_eq!(input["counts"]["accepted"], 2);
    assert_eq!(input["counts"]["duplicate"], 1);
    assert_eq!(input["counts"]["rejected"], 1);
}

#[test]
fn a_bad_mapping_file_is_refused_naming_file_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(root().join("data/examples/mapping-proxy-csv.toml"))
        .unwrap()
        .replace("bytes = \"biflow\"", "bytes = \"upload\"");
    std::fs::write(&bad, &text).unwrap();
    let line = text.lines().position(|l| l.starts_with("bytes =")).unwrap() + 1;
    let o = xborder()
        .arg("analyze")
        .arg(fixture("proxy.csv"))
        .args(["--period", "2026-Q3", "--quiet", "--out"])
        .arg(dir.path().join("out"))
        .arg("--mapping")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.toml")
            && err.contains("`bytes`")
            && err.contains(&format!("line {line}")),
        "{err}"
    );
}

#[test]
fn inspect_reads_a_file_with_a_mapping() {
    let mapping = root().join("data/examples/mapping-proxy-csv.toml");
    let o = xborder()
        .arg("inspect")
        .arg(fixture("proxy.csv"))
        .arg("--mapping")
        .arg(&mapping)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("mapping:proxy-csv"), "{text}");
    assert!(text.contains("160.79.104.10"), "{text}");
}
