//! End-to-end run over offices in sixteen jurisdictions (tests/fixtures/regimes): each
//! finding row, and each transfer basis, was worked out by hand from data/regimes.toml
//! (see tests/fixtures/regimes/README.md).

use std::path::{Path, PathBuf};

mod common;

use common::{rows, xborder};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/regimes")
        .join(name)
}

fn run(out: &Path, extra: &[&str]) -> std::process::Output {
    xborder()
        .arg("analyze")
        .arg(fixture("logs"))
        .arg("--sites")
        .arg(fixture("sites.toml"))
        .args(["--period", "2026-Q3", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// Rows of a CSV restricted to the given columns, in that order.
fn project(path: &Path, columns: &[String]) -> Vec<Vec<String>> {
    rows(path)
        .into_iter()
        .map(|r| columns.iter().map(|c| r[c].clone()).collect())
        .collect()
}

#[test]
fn findings_per_jurisdiction_match_the_hand_checked_answer() {
    let out = tempfile::tempdir().unwrap();
    let o = run(out.path(), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut r = csv::Reader::from_path(fixture("expected_findings.csv")).unwrap();
    let cols: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let want: Vec<Vec<String>> = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(project(&out.path().join("findings.csv"), &cols), want);
}

#[test]
fn transfer_bases_per_regime() {
    let out = tempfile::tempdir().unwrap();
    assert!(run(out.path(), &[]).status.success());
    let got = project(
        &out.path().join("findings.csv"),
        &[
            "regime".into(),
            "source_site".into(),
            "destination_country".into(),
            "transfer_basis".into(),
        ],
    );
    assert_eq!(got.len(), 20);
    for r in &got {
        let b = r[3].as_str();
        let ok = match (r[0].as_str(), r[2].as_str()) {
            ("UK-GDPR", "US") => {
                b.starts_with("conditional:")
                    && b.contains("SI 2023/1028")
                    && b.ends_with("vendor certification unverified")
            }
            ("UK-GDPR" | "APPI" | "PIPA" | "LGPD", "FR") => b.starts_with("adequacy:"),
            ("FADP", "CN") => b.starts_with("none"),
            // Mistral (FR, dpf n/a) reached at a US address: the Swiss-U.S. DPF cannot cover it.
            ("FADP", "US") => b.starts_with("none") && b.contains("does not apply to this vendor"),
            ("GDPR", "US") => b.starts_with("conditional:") && b.contains("2023/1795"),
            ("APPI" | "VN-PDPL" | "SA-PDPL" | "KVKK", "US") => b.starts_with("none"),
            ("SG-PDPA", "US") => b.contains("legally enforceable obligations"),
            // A Singapore address, but the catalog knows Alibaba's importer only as CN.
            ("SG-PDPA", "SG") => b.starts_with("importer Alibaba established in CN"),
            ("MO-PDPA", "CN") => b.starts_with("none recorded"),
            ("TW-PDPA", "CN") => b.starts_with("permitted unless"),
            ("152-FZ", "US") => b.starts_with("notification required"),
            ("152-FZ-LOC", "US") => b.starts_with("localisation:"),
            ("US-DSP", "CN" | "SG") => {
                b.starts_with("restricted transaction") && b.ends_with("(vendor operated from CN)")
            }
            _ => false,
        };
        assert!(ok, "unexpected basis for {r:?}");
    }
}

#[test]
fn jurisdictions_without_a_finding_are_still_counted() {
    let out = tempfile::tempdir().unwrap();
    assert!(run(out.path(), &[]).status.success());
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("run.json")).unwrap())
            .unwrap();
    let conn = run_json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("conn.log"))
        .unwrap();
    assert_eq!(conn["counts"]["accepted"], 23);
    // Hong Kong's regime restricts nothing: it gets no verdict to leave undetermined.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap())
            .unwrap();
    let regime_verdicts = summary["regime_verdicts"].as_array().unwrap();
    assert!(!regime_verdicts.is_empty());
    assert!(regime_verdicts.iter().all(|v| v["regime"] != "HK-PDPO"));
    assert_eq!(conn["flows"]["egress"], 23);
    // India (s.16 not yet commenced), Hong Kong (no restriction in force), a US vendor from
    // the US office, and Reunion to France (inside the EEA) are egress to AI vendors without
    // a finding.
    let findings = project(
        &out.path().join("findings.csv"),
        &["source_site".into(), "destination_country".into()],
    );
    for (site, dest) in [
        ("in-office", "US"),
        ("hk-office", "US"),
        ("us-office", "US"),
        ("re-office", "FR"),
    ] {
        assert!(
            !findings.iter().any(|r| r[0] == site && r[1] == dest),
            "{site} -> {dest}"
        );
    }
}

#[test]
fn an_invalid_regime_catalog_stops_the_run_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("regimes.toml");
    std::fs::write(
        &bad,
        "[catalog]\nname='t'\nversion='1'\nas_of='2026-12-05'\n[[regime]]\nid='R'\nname='R'\n\
         jurisdiction='DE'\nin_force='2021-02-30'\nrule_id='R-1'\ncitation='c'\n\
         source_countries=['DE']\ndomestic_destinations=['DE']\nobligation='o'\n\
         default_basis='none'\nsources=[{url='u',as_of='2026-12-05'}]\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = run(&out, &["--regimes", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("regimes.toml") && err.contains("regime R") && err.contains("in_force"),
        "{err}"
    );
    let empty = dir.path().join("empty.toml");
    std::fs::write(
        &empty,
        "[catalog]\nname='t'\nversion='1'\nas_of='2026-12-05'\n",
    )
    .unwrap();
    let o = run(&out, &["--regimes", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("empty.toml") && err.contains("no [[regime]]"),
        "{err}"
    );
}

#[test]
fn the_report_shows_the_regimes_of_the_configured_sites_and_hong_kong_as_unrestricted() {
    let out = tempfile::tempdir().unwrap();
    assert!(run(out.path(), &[]).status.success());
    let text = common::pdf_text(&out.path().join("report.pdf"));
    assert!(text.contains("HK-PDPO"), "Hong Kong is recorded");
    assert!(text.contains("no transfer restriction is in force"));
    for id in [
        "UK-GDPR",
        "FADP",
        "152-FZ-LOC",
        "US-DSP",
        "MO-PDPA",
        "TW-PDPA",
    ] {
        assert!(text.contains(id), "{id} missing from the report");
    }
    // No site is in mainland China, so the PRC rules are not listed.
    assert!(!text.contains("PIPL-Art38") && !text.contains("DSL-Art31"));
}
