//! Importer, processing scope and relays make flows transfers whatever GeoIP says
//! (tests/fixtures/onward/README.md has the hand-checked table this test encodes).

mod common;

use common::{root, rows, xborder};

#[test]
fn region_scope_importer_and_relay_findings_match_the_hand_checked_table() {
    let fixture = root().join("tests/fixtures/onward");
    let out = tempfile::tempdir().unwrap();
    let o = xborder()
        .arg("analyze")
        .arg(fixture.join("logs"))
        .arg("--sites")
        .arg(fixture.join("sites.toml"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let findings = rows(&out.path().join("findings.csv"));
    let mut keys: Vec<(String, String, String, String, String)> = findings
        .iter()
        .map(|r| {
            (
                r["regime"].clone(),
                r["source_site"].clone(),
                r["destination_country"].clone(),
                r["vendor"].clone(),
                r["category"].clone(),
            )
        })
        .collect();
    keys.sort();
    let k = |a: &str, b: &str, c: &str, d: &str, e: &str| {
        (a.into(), b.into(), c.into(), d.into(), e.into())
    };
    assert_eq!(
        keys,
        vec![
            k("DSL", "cn-office", "CN", "DMXAPI", "gateway"),
            k("GDPR", "de-office", "DE", "Alibaba", "api"),
            k(
                "GDPR",
                "de-office",
                "DE",
                "GitHub (Microsoft)",
                "coding-assistant"
            ),
            k("PIPL", "cn-office", "CN", "DMXAPI", "gateway"),
        ]
    );
    let basis = |regime: &str, vendor: &str| -> String {
        findings
            .iter()
            .find(|r| r["regime"] == regime && r["vendor"] == vendor)
            .map(|r| r["transfer_basis"].clone())
            .unwrap()
    };
    let alibaba = basis("GDPR", "Alibaba");
    assert!(
        alibaba.starts_with("importer Alibaba established in CN"),
        "{alibaba}"
    );
    assert!(
        alibaba.contains(
            "possible onward transfer to CN: ws1.eu-central-1.maas.aliyuncs.com uses a global deployment scope"
        ),
        "{alibaba}"
    );
    let github = basis("GDPR", "GitHub (Microsoft)");
    assert!(
        github.starts_with("importer GitHub (Microsoft) established in US"),
        "{github}"
    );
    assert!(github.contains("2023/1795"), "{github}");
    for regime in ["PIPL", "DSL"] {
        let relay = basis(regime, "DMXAPI");
        assert!(
            relay.starts_with("potential onward transfer: DMXAPI model relay")
                && relay.contains("ask the relay: Which upstream model providers"),
            "{relay}"
        );
    }
    for r in &findings {
        assert_eq!(r["flows"], "1");
    }

    let mut regimes: Vec<(String, String)> = rows(&out.path().join("evidence.csv"))
        .into_iter()
        .map(|r| (r["src_ip"].clone(), r["regimes"].clone()))
        .collect();
    regimes.sort();
    let e = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        regimes,
        vec![
            e("10.1.0.5", "PIPL;DSL"),
            e("10.1.0.6", ""),
            e("10.2.0.5", "GDPR"),
            e("10.2.0.6", ""),
            e("10.2.0.7", "GDPR"),
        ]
    );
}

#[test]
fn catalog_explain_names_the_rule_region_scope_and_source() {
    let o = xborder()
        .args(["catalog", "explain", "WS1.eu-central-1.maas.aliyuncs.com."])
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("matches alibaba/model-studio"), "{text}");
    assert!(
        text.contains("one-label pattern `*.eu-central-1.maas.aliyuncs.com`"),
        "{text}"
    );
    assert!(text.contains("region:      DE"), "{text}");
    assert!(text.contains("processing:  global-incl-CN"), "{text}");
    assert!(
        text.contains("source:      https://www.alibabacloud.com/help/model-studio/base-url"),
        "{text}"
    );

    let o = xborder()
        .args(["catalog", "explain", "www.bbc.co.uk"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("no catalog entry matches"));
}

#[test]
fn catalog_lint_refuses_a_public_suffix_naming_file_and_entry() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("extra.toml");
    std::fs::write(
        &file,
        "[catalog]\nname='t'\nversion='1'\nas_of='2026-12-01'\n[[vendor]]\nid='x'\nname='X'\nhq_country='US'\ndpf_certified='no'\nsources=[{url='u',as_of='2026-12'}]\n[[vendor.product]]\nid='p'\nname='P'\ncategory='api'\nconfidence='documented'\nsuffixes=['s3.amazonaws.com']\n",
    )
    .unwrap();
    let o = xborder()
        .args(["catalog", "lint", "--extra"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("extra.toml")
            && err.contains("product `p`")
            && err.contains("s3.amazonaws.com")
            && err.contains("Public Suffix List"),
        "{err}"
    );
    // The same file as --vendors-extra stops analyze with the same error.
    let out = tempfile::tempdir().unwrap();
    let o = xborder()
        .arg("analyze")
        .arg(root().join("tests/fixtures/onward/logs"))
        .arg("--vendors-extra")
        .arg(&file)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Public Suffix List"));
}

#[test]
fn vendors_extra_adds_a_relay_and_the_catalog_age_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("corp.toml");
    // An extra catalog dated long before the run: its age is warned about.
    std::fs::write(
        &file,
        "[catalog]\nname='corp'\nversion='1'\nas_of='2026-01-01'\n[[vendor]]\nid='corp'\nname='Corp LLM relay'\nhq_country='CN'\ndpf_certified='n/a'\nsources=[{url='internal:network-register',as_of='2026-01'}]\n[[vendor.product]]\nid='relay'\nname='Corp relay'\ncategory='gateway'\nconfidence='documented'\nhosts=['dashscope.aliyuncs.com.corp.example']\nupstream_question='Which upstream providers does the corporate relay use?'\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = xborder()
        .env("SOURCE_DATE_EPOCH", "1796083200")
        .arg("analyze")
        .arg(root().join("tests/fixtures/onward/logs"))
        .arg("--sites")
        .arg(root().join("tests/fixtures/onward/sites.toml"))
        .arg("--vendors-extra")
        .arg(&file)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("vendors-extra catalog") && stderr.contains("days old"),
        "{stderr}"
    );
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("run.json")).unwrap()).unwrap();
    let ages = run["catalog_ages"].as_array().unwrap();
    let kinds: Vec<&str> = ages.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        vec!["vendors", "vendors-extra", "regimes", "countries"]
    );
    // 2026-12-05 to 2026-12-01 (the SOURCE_DATE_EPOCH day) is no age at all; the extra
    // file from 2026-01-01 is 334 days old and stale.
    assert_eq!(ages[1]["age_days"], 334);
    assert_eq!(ages[1]["stale"], true);
    assert_eq!(ages[0]["stale"], false);
    assert_eq!(run["catalog_warnings"].as_array().unwrap().len(), 1);
}
