//! The README's main command on the committed sample: it must run, and its outputs must
//! agree with each other and with the PDF.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use assert_cmd::prelude::*;

mod common;

use common::{root, rows};

fn run_sample(out: &Path, extra: &[&str]) -> std::process::Output {
    Command::cargo_bin("xborder")
        .unwrap()
        .current_dir(root())
        .env("SOURCE_DATE_EPOCH", "1793491200")
        .args([
            "analyze",
            "data/sample",
            "--sites",
            "data/sample/sites.toml",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn num(r: &BTreeMap<String, String>, k: &str) -> u64 {
    r[k].parse().unwrap()
}

#[test]
fn sample_run_outputs_exist_and_agree() {
    let out = tempfile::tempdir().unwrap();
    let o = run_sample(out.path(), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("PIPL") && stdout.contains("GDPR"),
        "{stdout}"
    );
    for f in [
        "findings.csv",
        "cross_border_other.csv",
        "summary_by_vendor.csv",
        "daily_egress.csv",
        "rejects.csv",
        "run.json",
        "report.pdf",
    ] {
        assert!(out.path().join(f).is_file(), "{f}");
    }
    let findings = rows(&out.path().join("findings.csv"));
    let daily = rows(&out.path().join("daily_egress.csv"));
    let summary = rows(&out.path().join("summary_by_vendor.csv"));

    // Per regime, findings and the daily series add up to the same flows and bytes.
    let mut by_regime: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in &findings {
        let e = by_regime.entry(r["regime"].clone()).or_default();
        e.0 += num(r, "flows");
        e.1 += num(r, "bytes_out");
    }
    let mut daily_by_regime: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in &daily {
        let e = daily_by_regime.entry(r["regime"].clone()).or_default();
        e.0 += num(r, "flows");
        e.1 += num(r, "bytes_out");
    }
    for (regime, v) in &by_regime {
        assert_eq!(daily_by_regime.get(regime), Some(v), "{regime}");
    }
    // All three regimes fire on the sample, from the right offices.
    for (regime, site) in [
        ("PIPL", "hangzhou"),
        ("DSL", "shanghai"),
        ("GDPR", "dublin"),
    ] {
        assert!(
            findings
                .iter()
                .any(|r| r["regime"] == regime && r["source_site"] == site),
            "{regime} {site}"
        );
    }
    // Traps: HK and US offices are governed by no shipped regime; the domestic DashScope
    // endpoint is not cross-border while the international one is; DoH flows fall back to
    // Anthropic's published range; the lab network is unknown_site.
    assert!(!findings
        .iter()
        .any(|r| r["source_site"] == "hongkong" || r["source_site"] == "sanfrancisco"));
    assert!(!findings
        .iter()
        .any(|r| r["vendor"] == "Alibaba" && r["destination_country"] == "CN"));
    assert!(findings
        .iter()
        .any(|r| r["vendor"] == "Alibaba" && r["destination_country"] == "SG"));
    assert!(findings
        .iter()
        .any(|r| r["vendor"] == "Anthropic" && r["attribution"] == "ip_range"));
    assert!(summary.iter().any(|r| r["sites"].contains("unknown_site")));
    // The unrelated shop on OpenAI's CDN address (Dublin) is never attributed to OpenAI:
    // every Dublin OpenAI finding has exactly the OpenAI API product via dns.
    let ai_daily: u64 = daily
        .iter()
        .filter(|r| r["regime"] == "none")
        .map(|r| num(r, "flows"))
        .sum();
    assert!(ai_daily > 0);
    // Vendor summary covers every finding's flows.
    for r in &findings {
        let s = summary
            .iter()
            .find(|s| s["vendor"] == r["vendor"] && s["product"] == r["product"])
            .unwrap();
        assert!(num(s, "cross_border_flows") >= num(r, "flows"));
    }
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("run.json")).unwrap()).unwrap();
    assert_eq!(
        run["inputs"].as_array().unwrap().len(),
        3,
        "sites.toml is configuration, not input"
    );
    assert_eq!(
        run["totals"]["flows"]["ai_vendor"].as_u64().unwrap(),
        summary.iter().map(|r| num(r, "flows")).sum::<u64>()
    );
}

#[test]
fn pdf_text_extracts_with_the_key_figures() {
    let out = tempfile::tempdir().unwrap();
    assert!(run_sample(out.path(), &[]).status.success());
    // Extract the text the way any PDF reader would, from the file's own content streams.
    let doc = lopdf::Document::load(out.path().join("report.pdf")).expect("report.pdf parses");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    assert!(pages.len() >= 5, "{} pages", pages.len());
    let text = doc.extract_text(&pages).expect("text extracts");
    for needle in [
        "Executive summary",
        "Findings",
        "Top vendors",
        "Methodology and limitations",
        "Data quality",
        "Provenance",
        "hangzhou",
        "Anthropic",
        "PIPL",
        "GDPR",
        "Page 1 of",
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }
    // The regime totals in the summary table are the sums of findings.csv.
    let findings = rows(&out.path().join("findings.csv"));
    for regime in ["PIPL", "GDPR"] {
        let flows: u64 = findings
            .iter()
            .filter(|r| r["regime"] == regime)
            .map(|r| num(r, "flows"))
            .sum();
        assert!(
            text.contains(&xborder::report::group_digits(flows)),
            "{regime} total {flows} not in the PDF"
        );
    }
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("run.json")).unwrap()).unwrap();
    let sha = run["geoip"]["sha256"].as_str().unwrap();
    assert!(text.contains(sha), "GeoIP SHA-256 in provenance");
}

/// Content of a sample file; gzip files are compared decompressed, because the deflate
/// backend a build links (miniz or zlib-rs) may encode the same bytes differently.
fn sample_content(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let raw = std::fs::read(path).unwrap();
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

#[test]
fn committed_sample_is_what_the_generator_writes() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::cargo_bin("xborder")
        .unwrap()
        .args(["generate", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success());
    for f in [
        "conn.2026-07.log",
        "conn.2026-08-09.log.gz",
        "dns.2026-Q3.log",
        "sites.toml",
    ] {
        let same = sample_content(&dir.path().join(f))
            == sample_content(&root().join("data/sample").join(f));
        assert!(
            same,
            "data/sample/{f} differs from `xborder generate` output"
        );
    }
}

#[test]
fn example_policy_on_the_sample_finds_exactly_the_planted_violations() {
    let out = tempfile::tempdir().unwrap();
    let o = run_sample(
        out.path(),
        &[
            "--policy",
            "data/examples/policy.toml",
            "--assets",
            "data/examples/assets.csv",
            "--period",
            "2026-Q3",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let violations = rows(&out.path().join("policy_violations.csv"));
    // The generator plants exactly these after 2026-07-10: two holdouts and the DoH user.
    let sources: std::collections::BTreeSet<&str> =
        violations.iter().map(|r| r["source"].as_str()).collect();
    assert_eq!(
        sources,
        ["10.10.1.4", "10.10.1.9", "fd10::1:2"]
            .into_iter()
            .collect()
    );
    assert!(violations
        .iter()
        .all(|r| r["day"].as_str() >= "2026-07-10" && r["source_site"] == "hangzhou"));
    assert_eq!(
        violations
            .iter()
            .filter(|r| r["first_at_site"] == "true")
            .count(),
        1
    );
    let summary = rows(&out.path().join("policy_summary.csv"));
    let ban = summary
        .iter()
        .find(|r| r["rule_id"] == "ban-claude-code-cn" && r["source_site"] == "hangzhou")
        .unwrap();
    assert_eq!(ban["held"], "no");
    assert!(num(ban, "flows_before") > 0);
    let shanghai = summary
        .iter()
        .find(|r| r["rule_id"] == "ban-claude-code-cn" && r["source_site"] == "shanghai")
        .unwrap();
    assert_eq!(shanghai["held"], "yes");
}

#[test]
fn bilingual_reports_are_archival_small_and_translated() {
    let out = tempfile::tempdir().unwrap();
    let o = run_sample(
        out.path(),
        &[
            "--policy",
            "data/examples/policy.toml",
            "--period",
            "2026-Q3",
            "--lang",
            "en,zh-CN",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let findings = rows(&out.path().join("findings.csv"));
    let pipl: u64 = findings
        .iter()
        .filter(|r| r["regime"] == "PIPL")
        .map(|r| num(r, "flows"))
        .sum();
    for (file, needles, forbidden) in [
        (
            "report.pdf",
            vec![
                "Executive summary",
                "Key figures",
                "Findings by regime",
                "Findings by site",
                "Vendor detail",
                "Policy compliance",
                "Personal Information Protection Law",
            ],
            vec![],
        ),
        (
            "report.zh-CN.pdf",
            vec![
                "执行摘要",
                "关键数据",
                "按法律制度分列的发现",
                "按站点分列的发现",
                "供应商明细",
                "政策合规",
                "个人信息保护法",
                "数据安全法",
                "第1页，共",
            ],
            vec![
                "Executive summary",
                "Findings by regime",
                "Methodology and limitations",
                "Data quality",
                "Provenance",
                "Page 1 of",
            ],
        ),
    ] {
        let path = out.path().join(file);
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size < 2_000_000, "{file} is {size} bytes");
        let text = common::pdf_text(&path);
        for n in needles {
            assert!(text.contains(n), "{file}: missing {n}");
        }
        for n in forbidden {
            assert!(!text.contains(n), "{file}: untranslated {n}");
        }
        assert!(
            text.contains(&xborder::report::group_digits(pipl)),
            "{file}: PIPL total {pipl}"
        );
        // Archival: every font embedded, PDF/A identification and an output intent.
        let doc = lopdf::Document::load(&path).unwrap();
        let catalog = doc.catalog().unwrap();
        assert!(
            catalog.get(b"Metadata").is_ok() && catalog.get(b"OutputIntents").is_ok(),
            "{file}: PDF/A metadata"
        );
        for (_, obj) in doc.objects.iter() {
            if let Ok(dict) = obj.as_dict() {
                if dict.get(b"Type").and_then(|t| t.as_name()).ok()
                    == Some(b"FontDescriptor".as_slice())
                {
                    assert!(
                        dict.has(b"FontFile") || dict.has(b"FontFile2") || dict.has(b"FontFile3"),
                        "{file}: a font is not embedded"
                    );
                }
            }
        }
        let raw = std::fs::read(&path).unwrap();
        assert!(
            !raw.windows(10).any(|w| w == b"/Helvetica"),
            "{file}: builtin font used"
        );
    }
}
