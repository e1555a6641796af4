//! TLS server names and HTTP hosts outrank DNS answers (tests/fixtures/hostnames/README.md
//! has the hand-checked table this test encodes).

mod common;

use common::{json, root, rows, xborder};

#[test]
fn sni_and_http_host_outrank_dns_and_disagreements_are_counted() {
    let fixture = root().join("tests/fixtures/hostnames");
    let out = tempfile::tempdir().unwrap();
    let o = xborder()
        .arg("analyze")
        // A quoted glob, expanded by xborder itself (README.md beside the logs is not input).
        .arg(fixture.join("*.log"))
        .arg("--sites")
        .arg(root().join("tests/fixtures/traps/sites.toml"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let mut evidence: Vec<(String, String, String, String, String, String)> =
        rows(&out.path().join("evidence.csv"))
            .into_iter()
            .map(|r| {
                (
                    r["input_line"].clone(),
                    r["attribution"].clone(),
                    r["hostname"].clone(),
                    r["product"].clone(),
                    r["attribution_file"]
                        .rsplit('/')
                        .next()
                        .unwrap_or("")
                        .to_string(),
                    r["attribution_line"].clone(),
                )
            })
            .collect();
    evidence.sort();
    let e = |line: &str, m: &str, host: &str, product: &str, file: &str, fline: &str| {
        (
            line.to_string(),
            m.to_string(),
            host.to_string(),
            product.to_string(),
            file.to_string(),
            fline.to_string(),
        )
    };
    assert_eq!(
        evidence,
        vec![
            e(
                "10",
                "sni",
                "api.anthropic.com",
                "Claude API and Claude Code",
                "ssl.log",
                "10"
            ),
            e(
                "11",
                "http_host",
                "chatgpt.com",
                "ChatGPT (web, desktop, mobile) and Codex signed in with ChatGPT",
                "http.log",
                "8"
            ),
            e(
                "9",
                "sni",
                "api.openai.com",
                "OpenAI API (incl. Codex signed in with an API key)",
                "ssl.log",
                "9"
            ),
        ]
    );

    let run = json(&out.path().join("run.json"));
    let flows = &run["totals"]["flows"];
    assert_eq!(flows["ai_vendor"], 3);
    assert_eq!(flows["ai_by_method"]["sni"], 2);
    assert_eq!(flows["ai_by_method"]["http_host"], 1);
    assert_eq!(flows["attribution_disagreements"]["sni_vs_dns"], 1);
    assert_eq!(
        flows["attribution_disagreements"]
            .as_object()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(run["hostnames"]["connections_named"], 5);

    // Cshop's bytes (1000 out) stay out of AI-vendor egress: SNI named a shop.
    let by_vendor = rows(&out.path().join("summary_by_vendor.csv"));
    let openai_out: u64 = by_vendor
        .iter()
        .filter(|r| r["vendor"] == "OpenAI")
        .map(|r| r["bytes_out"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(openai_out, 2000 + 700);

    // The report says how many flows each method attributed.
    let text = common::pdf_text(&out.path().join("report.pdf"));
    assert!(text.contains("sni 2"), "{text}");
    assert!(text.contains("http_host 1"));
    assert!(text.contains("sni_vs_dns 1"));
}
