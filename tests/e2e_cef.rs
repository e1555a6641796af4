//! End to end over the CEF fixture (tests/fixtures/formats/cef/README.md): CEF firewall
//! events from the CN office to Anthropic's published range become an `ip_range` finding
//! with the hand-checked biflow bytes; the blocked session and the login event do not count.

mod common;

use common::{json, root, rows, xborder};

#[test]
fn cef_firewall_events_give_an_anthropic_ip_range_finding() {
    let out = tempfile::tempdir().unwrap();
    let o = xborder()
        .arg("analyze")
        .arg(root().join("tests/fixtures/formats/cef/firewall.cef"))
        .arg("--sites")
        .arg(root().join("tests/fixtures/traps/sites.toml"))
        .args(["--period", "2026-Q3", "--quiet", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let findings = rows(&out.path().join("findings.csv"));
    let anthropic: Vec<_> = findings
        .iter()
        .filter(|r| r["vendor"] == "Anthropic")
        .collect();
    assert!(!anthropic.is_empty(), "no Anthropic finding: {findings:?}");
    for r in &anthropic {
        assert_eq!(r["attribution"], "ip_range");
        assert_eq!(r["source_site"], "cn-office");
        // Lines 1 and 2: out 150000 + 2500, in 30000 + 700; line 4 (blocked) excluded.
        assert_eq!(r["flows"], "2");
        assert_eq!(r["bytes_out"], "152500");
        assert_eq!(r["bytes_in"], "30700");
        assert_eq!(r["first_seen"], "2026-07-10T08:00:00Z");
        assert_eq!(r["last_seen"], "2026-07-10T08:05:00.500Z");
    }

    let run = json(&out.path().join("run.json"));
    let input = &run["inputs"][0];
    assert_eq!(input["format"], "cef");
    // Line 3 has no year: analyze takes it from the period.
    assert_eq!(input["counts"]["accepted"], 5);
    assert_eq!(input["counts"]["rejected"], 2);
    assert_eq!(input["counts"]["filtered_by_reason"]["cef_blocked"], 1);
    assert_eq!(input["counts"]["filtered_by_reason"]["cef_no_flow"], 1);
}
