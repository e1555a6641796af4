//! Laptops behind web proxies reach AI vendors; the flow log sees only the proxies' own
//! flows. tests/fixtures/proxy/README.md explains every record and the expected outcome.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod common;

use common::{json, pdf_text, root, rows, xborder};

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/proxy").join(name)
}

fn analyze(inputs: &[PathBuf], out: &Path, extra: &[&str]) {
    let o = xborder()
        .arg("analyze")
        .args(inputs)
        .arg("--sites")
        .arg(fixture("sites.toml"))
        .arg("--assets")
        .arg(fixture("assets.csv"))
        .arg("--policy")
        .arg(fixture("policy.toml"))
        .arg("-q")
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn pick(r: &BTreeMap<String, String>, cols: &[&str]) -> Vec<String> {
    cols.iter().map(|c| r[*c].clone()).collect()
}

#[test]
fn requests_behind_proxies_are_attributed_to_their_clients_and_counted_once() {
    let out = tempfile::tempdir().unwrap();
    analyze(&[fixture("logs")], out.path(), &["--show-owners"]);

    // Every AI-vendor egress, one evidence row each: four proxy requests attributed to
    // the laptops, and the one proxy flow no proxy log covers, left on the proxy's site.
    let evidence = rows(&out.path().join("evidence.csv"));
    let got: Vec<Vec<String>> = evidence
        .iter()
        .map(|r| {
            pick(
                r,
                &[
                    "source_site",
                    "src_ip",
                    "hostname",
                    "attribution",
                    "bytes_out",
                    "bytes_in",
                ],
            )
        })
        .collect();
    let want: Vec<Vec<String>> = [
        [
            "paris",
            "10.10.0.5",
            "api.anthropic.com",
            "proxy_host",
            "",
            "9000",
        ],
        [
            "shanghai",
            "10.20.0.7",
            "api.anthropic.com",
            "proxy_host",
            "",
            "4000",
        ],
        [
            "shanghai",
            "10.20.0.7",
            "claude.ai",
            "proxy_host",
            "",
            "1000",
        ],
        [
            "paris",
            "10.10.0.5",
            "api.openai.com",
            "proxy_host",
            "1800",
            "7000",
        ],
        ["dc-paris", "10.90.0.10", "", "ip_range", "300", "1200"],
    ]
    .iter()
    .map(|r| r.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(got, want);

    // The download seen by both logs (Squid line 1 and conn uid CF1: 9000 bytes to
    // api.anthropic.com) counts once, under the laptop, not again under the proxy.
    let run = json(&out.path().join("run.json"));
    let totals = &run["totals"];
    assert_eq!(totals["flows"]["ai_vendor"], 5);
    assert_eq!(totals["flows"]["ai_by_method"]["proxy_host"], 4);
    let proxy = &totals["proxy"];
    assert_eq!(proxy["requests"], 9);
    assert_eq!(
        (proxy["allowed"].as_u64(), proxy["blocked"].as_u64()),
        (Some(5), Some(4))
    );
    assert_eq!(proxy["flows_carried_by_proxy_logs"], 5);
    assert_eq!(proxy["proxy_egress_without_proxy_logs"], 1);
    assert_eq!(
        proxy["proxies"],
        serde_json::json!(["10.90.0.10", "10.90.0.11"]),
        "one declared, one learned from the ProxySG log's s-ip"
    );
    let summary = rows(&out.path().join("summary_by_vendor.csv"));
    let anthropic_in: u64 = summary
        .iter()
        .filter(|r| r["vendor"] == "Anthropic")
        .map(|r| r["bytes_in"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(anthropic_in, 9000 + 4000 + 1000 + 1200);

    // Departments come from the clients' addresses, not from the proxy's.
    let depts = rows(&out.path().join("findings_by_department.csv"));
    let gdpr: Vec<Vec<String>> = depts
        .iter()
        .filter(|r| r["regime"] == "GDPR")
        .map(|r| {
            pick(
                r,
                &["department", "source_site", "vendor", "flows", "bytes_in"],
            )
        })
        .collect();
    assert_eq!(
        gdpr,
        [
            ["(not in inventory)", "dc-paris", "Anthropic", "1", "1200"],
            ["Research", "paris", "Anthropic", "1", "9000"],
            ["Research", "paris", "OpenAI", "1", "7000"],
        ]
        .iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .collect::<Vec<_>>()
    );

    // Blocked after the ban: not egress, but counted per site and day.
    let blocked = rows(&out.path().join("blocked_attempts.csv"));
    let got: Vec<Vec<String>> = blocked
        .iter()
        .map(|r| {
            pick(
                r,
                &[
                    "day",
                    "source_site",
                    "department",
                    "vendor",
                    "hostname",
                    "rule_id",
                    "attempts",
                    "distinct_sources",
                ],
            )
        })
        .collect();
    let want: Vec<Vec<String>> = [
        [
            "2026-10-05",
            "shanghai",
            "Engineering",
            "Anthropic",
            "api.anthropic.com",
            "ban-claude-cn",
            "2",
            "1",
        ],
        [
            "2026-10-05",
            "shanghai",
            "Shanghai Office",
            "Anthropic",
            "claude.ai",
            "ban-claude-cn",
            "1",
            "1",
        ],
        [
            "2026-10-05",
            "shanghai",
            "Shanghai Office",
            "OpenAI",
            "chatgpt.com",
            "",
            "1",
            "1",
        ],
    ]
    .iter()
    .map(|r| r.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(got, want);

    // The one request the proxy let through after the ban is a violation, with its user.
    let violations = rows(&out.path().join("policy_violations.csv"));
    assert_eq!(violations.len(), 1);
    assert_eq!(
        pick(
            &violations[0],
            &[
                "source_site",
                "source",
                "owner",
                "user",
                "department",
                "day",
                "bytes_in"
            ]
        ),
        [
            "shanghai",
            "10.20.0.7",
            "Bo Li",
            "bob",
            "Engineering",
            "2026-10-05",
            "1000"
        ]
    );

    let text = pdf_text(&out.path().join("report.pdf"));
    for needle in [
        "Blocked attempts",
        "Proxy egress without proxy logs",
        "Flows carried by proxy logs",
        "proxy_host",
    ] {
        assert!(text.contains(needle), "PDF lacks {needle}");
    }
    assert!(
        !text.contains("Bo Li") && !text.contains("bob"),
        "the PDF names no person"
    );
}

#[test]
fn users_are_hidden_by_default_and_tokens_under_pseudonymisation() {
    let out = tempfile::tempdir().unwrap();
    analyze(&[fixture("logs")], out.path(), &[]);
    let v = rows(&out.path().join("policy_violations.csv"));
    assert_eq!((v[0]["user"].as_str(), v[0]["owner"].as_str()), ("", ""));

    let key = out.path().join("key.hex");
    std::fs::write(&key, "ab".repeat(32)).unwrap();
    let pseudo = out.path().join("pseudo");
    analyze(
        &[fixture("logs")],
        &pseudo,
        &["--show-owners", "--pseudonymize", key.to_str().unwrap()],
    );
    let v = rows(&pseudo.join("policy_violations.csv"));
    assert!(v[0]["user"].starts_with("user-"), "{:?}", v[0]);
    assert!(v[0]["source"].starts_with("ip-"), "{:?}", v[0]);
    let blocked = std::fs::read_to_string(pseudo.join("blocked_attempts.csv")).unwrap();
    assert!(!blocked.contains("10.20.0.7") && !blocked.contains("bob"));
}

#[test]
fn proxy_flows_without_proxy_logs_stay_visible() {
    let out = tempfile::tempdir().unwrap();
    analyze(&[fixture("logs/conn.json")], out.path(), &[]);
    let run = json(&out.path().join("run.json"));
    let proxy = &run["totals"]["proxy"];
    // The declared Squid proxy's four flows to the internet: none covered by a log. The
    // ProxySG address is unknown without its log, so its flow is plain egress.
    assert_eq!(proxy["proxy_egress_without_proxy_logs"], 4);
    assert_eq!(proxy["flows_carried_by_proxy_logs"], 0);
    assert!(!out.path().join("blocked_attempts.csv").exists());
    let evidence = rows(&out.path().join("evidence.csv"));
    assert!(evidence.iter().all(|r| r["source_site"] == "dc-paris"));
}

#[test]
fn a_url_filter_log_names_the_host_of_its_traffic_session_once() {
    let out = tempfile::tempdir().unwrap();
    let o = xborder()
        .arg("analyze")
        .arg(fixture("panos"))
        .arg("--sites")
        .arg(fixture("sites.toml"))
        .args(["-q", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let evidence = rows(&out.path().join("evidence.csv"));
    let got: Vec<Vec<String>> = evidence
        .iter()
        .map(|r| {
            pick(
                r,
                &[
                    "src_ip",
                    "hostname",
                    "attribution",
                    "bytes_out",
                    "bytes_in",
                    "attribution_line",
                ],
            )
        })
        .collect();
    // Session 41001: the TRAFFIC flow keeps its bytes and takes claude.ai from the URL
    // log's first request (its second request is the same connection). Session 41007 has
    // no TRAFFIC record: it counts on its own, without bytes.
    assert_eq!(
        got,
        [
            [
                "10.20.0.7",
                "claude.ai",
                "proxy_host",
                "120000",
                "30000",
                "1"
            ],
            ["10.20.0.8", "claude.ai", "proxy_host", "", "", "3"],
        ]
        .iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .collect::<Vec<_>>()
    );
    let run = json(&out.path().join("run.json"));
    let t = &run["totals"];
    assert_eq!(t["flows"]["ai_vendor"], 2);
    assert_eq!(
        t["flows"]["attribution_disagreements"]["proxy_host_vs_ip_range"],
        1
    );
    assert_eq!(
        (
            t["proxy"]["joined_to_flows"].as_u64(),
            t["proxy"]["same_session"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(t["proxy"]["blocked_ai_vendor"], 1);
}
