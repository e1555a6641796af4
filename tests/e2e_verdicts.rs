//! Verdicts a regulator can rely on: held / violated / undetermined with reasons, coverage,
//! candidate AI destinations, summary.json against its schema, and --fail-on exit codes.
//! tests/fixtures/verdicts/README.md explains every record of the fixtures.

use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;

use common::{json, pdf_text, root, rows, xborder};

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/verdicts").join(name)
}

/// The four-site fixture over 2026-07-06 .. 2026-07-16 (exclusive), ban from 10 July.
fn analyze_fixture(out: &Path, extra: &[&str]) -> std::process::Output {
    xborder()
        .arg("analyze")
        .arg(fixture("logs"))
        .arg("--sites")
        .arg(fixture("sites.toml"))
        .arg("--policy")
        .arg(fixture("policy.toml"))
        .args(["--from", "2026-07-06", "--to", "2026-07-16", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn verdict<'a>(summary: &'a Value, site: &str) -> &'a Value {
    summary["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["site"] == site)
        .unwrap_or_else(|| panic!("no verdict for {site}"))
}

fn regime<'a>(summary: &'a Value, regime: &str, site: &str) -> &'a Value {
    summary["regime_verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["site"] == site && v["regime"] == regime)
        .unwrap_or_else(|| panic!("no {regime} verdict for {site}"))
}

fn reasons(v: &Value) -> Vec<(String, String)> {
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["code"].as_str().unwrap().to_string(),
                r["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn each_site_gets_the_hand_checked_state_and_reasons() {
    let out = tempfile::tempdir().unwrap();
    let o = analyze_fixture(out.path(), &["--fail-on", "violation"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(10),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let s = json(&out.path().join("summary.json"));

    // clean: flows and DNS every day, Claude only before the ban.
    let clean = verdict(&s, "clean");
    assert_eq!(clean["state"], "held", "{clean}");
    assert!(reasons(clean).is_empty());
    // 10 July 00:00 in Asia/Shanghai.
    assert_eq!(clean["in_effect_from"], "2026-07-09T16:00:00Z");
    assert_eq!(clean["timezone"], "Asia/Shanghai");

    // stopped: last records on 8 July; the ban runs from 9 July 16:00 UTC to the end.
    let stopped = verdict(&s, "stopped");
    assert_eq!(stopped["state"], "undetermined");
    assert_eq!(
        reasons(stopped),
        vec![(
            "gap".to_string(),
            "gap of 7 day(s) without flow records from 2026-07-09 to 2026-07-15".to_string()
        )]
    );

    // nodns: flows every day, no DNS record at all: 7 egress flows in the ban's days.
    let nodns = verdict(&s, "nodns");
    assert_eq!(nodns["state"], "undetermined");
    assert_eq!(
        reasons(nodns),
        vec![(
            "dns_visibility".to_string(),
            "DNS visibility 0% below the 50% threshold (0 of 7 egress flows had a DNS answer or server name)".to_string()
        )]
    );
    for r in ["PIPL", "DSL"] {
        let v = regime(&s, r, "nodns");
        assert_eq!(v["state"], "attribution_not_possible", "{v}");
        assert!(reasons(v)[0]
            .1
            .starts_with("attribution not possible: none of 10 egress flows"));
    }

    // violator: one Claude flow on 12 July.
    let violator = verdict(&s, "violator");
    assert_eq!(violator["state"], "violated");
    assert_eq!(violator["flows_in_effect"], 1);
    assert_eq!(violator["first_violation"], "2026-07-12T03:00:00Z");
    assert_eq!(reasons(violator)[0].0, "violation");

    assert_eq!(regime(&s, "PIPL", "clean")["state"], "transfers_found");
    assert_eq!(regime(&s, "PIPL", "stopped")["state"], "undetermined");
    assert_eq!(
        s["outcome"],
        serde_json::json!({"no_data": false, "held": 1, "violated": 1, "undetermined": 2,
            "regimes_undetermined": 4, "rejected_records": 0, "unreviewed_candidates": 0})
    );

    // The console summary ends with the verdicts.
    let tail: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "policy verdicts:")
        .collect();
    assert_eq!(
        tail.get(1),
        Some(&"  HELD  ban-claude-cn at clean"),
        "{stdout}"
    );
    assert!(tail.contains(&"  VIOLATED  ban-claude-cn at violator"));
    assert!(tail
        .iter()
        .all(|l| l.starts_with("  ") || l.ends_with("verdicts:")));

    // coverage.csv: the stopped site's days from 9 July are gap days with no records.
    let cov = rows(&out.path().join("coverage.csv"));
    let day = |site: &str, source: &str, day: &str| {
        cov.iter()
            .find(|r| r["site"] == site && r["source"] == source && r["day"] == day)
            .unwrap_or_else(|| panic!("{site} {source} {day}"))
            .clone()
    };
    assert_eq!(day("stopped", "all", "2026-07-08")["gap"], "no");
    assert_eq!(day("stopped", "all", "2026-07-08")["flow_records"], "1");
    assert_eq!(day("stopped", "all", "2026-07-09")["gap"], "yes");
    assert_eq!(day("stopped", "all", "2026-07-15")["flow_records"], "0");
    assert_eq!(day("clean", "all", "2026-07-07")["flow_records"], "2");
    assert_eq!(day("clean", "all", "2026-07-07")["egress_dns_visible"], "2");
    assert_eq!(
        day("clean", "zeek-dns-tsv", "2026-07-07")["dns_records"],
        "2"
    );
    assert_eq!(day("nodns", "all", "2026-07-10")["egress_dns_visible"], "0");
    // 4 sites x 10 days x (all + conn + dns), less the DNS rows nodns never had.
    assert_eq!(cov.len(), 4 * 10 * 3 - 10);
}

#[test]
fn without_fail_on_the_same_run_exits_zero() {
    let out = tempfile::tempdir().unwrap();
    let o = analyze_fixture(out.path(), &["--quiet"]);
    assert_eq!(o.status.code(), Some(0));
    let o = analyze_fixture(
        tempfile::tempdir().unwrap().path(),
        &["--quiet", "--fail-on", "undetermined,rejects"],
    );
    assert_eq!(o.status.code(), Some(11));
}

#[test]
fn a_period_with_no_records_is_undetermined_never_held() {
    let out = tempfile::tempdir().unwrap();
    let run = |out: &Path, fail_on: &str| {
        xborder()
            .current_dir(root())
            .args([
                "analyze",
                "data/sample",
                "--sites",
                "data/sample/sites.toml",
                "--policy",
                "data/examples/policy.toml",
                "--period",
                "2025-Q3",
                "--lang",
                "en,zh-CN",
                "--fail-on",
                fail_on,
                "--out",
            ])
            .arg(out)
            .output()
            .unwrap()
    };
    let o = run(out.path(), "no-data,violation");
    assert_eq!(o.status.code(), Some(12));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("no flow record was accepted in the period"));
    let s = json(&out.path().join("summary.json"));
    assert_eq!(s["outcome"]["no_data"], true);
    let verdicts = s["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 2);
    for v in verdicts {
        assert_eq!(v["state"], "undetermined");
        assert_eq!(
            reasons(v)[0],
            (
                "no_records".to_string(),
                "no records: no flow records from this site from 2025-07-01 to 2025-09-30"
                    .to_string()
            )
        );
    }
    for r in s["regime_verdicts"].as_array().unwrap() {
        assert_eq!(r["state"], "undetermined");
        assert_eq!(r["reasons"][0]["code"], "no_records");
    }
    let text = pdf_text(&out.path().join("report.pdf"));
    assert!(!text.contains("Did the ban hold? YES"), "false assurance");
    assert!(text.contains("UNDETERMINED"));
    assert!(text.contains("No flow record was accepted in the period"));
    let zh = pdf_text(&out.path().join("report.zh-CN.pdf"));
    assert!(zh.contains("无法判定") && zh.contains("无记录"));
    let o = run(tempfile::tempdir().unwrap().path(), "undetermined");
    assert_eq!(o.status.code(), Some(11));
}

#[test]
fn the_executive_summary_shows_verdicts_with_reasons_in_both_languages() {
    let out = tempfile::tempdir().unwrap();
    let o = analyze_fixture(out.path(), &["--quiet", "--lang", "en,zh-CN"]);
    assert!(o.status.success());
    let page = |file: &str| {
        let doc = lopdf::Document::load(out.path().join(file)).unwrap();
        // Cover, contents, then the executive summary.
        doc.extract_text(&[3]).unwrap()
    };
    let en = page("report.pdf");
    for needle in [
        "Executive summary",
        "Verdicts",
        "HELD",
        "VIOLATED",
        "UNDETERMINED",
        "ATTRIBUTION NOT POSSIBLE",
        "Rule ban-claude-cn at stopped",
        "gap of 7 day(s) without flow records from 2026-07-09 to 2026-07-15",
        "DNS visibility 0% below the 50% threshold",
    ] {
        assert!(en.contains(needle), "{needle} missing from:\n{en}");
    }
    let zh = page("report.zh-CN.pdf");
    for needle in [
        "执行摘要",
        "判定结论",
        "已遵守",
        "已违反",
        "无法判定",
        "无法归因",
        "日志缺口",
        "DNS 可见度",
    ] {
        assert!(zh.contains(needle), "{needle} missing from:\n{zh}");
    }
    let full = pdf_text(&out.path().join("report.pdf"));
    assert!(full.contains("Log coverage") && full.contains("Candidate AI destinations"));
    assert!(full.contains("Inputs that can change a verdict"));
}

#[test]
fn candidate_ai_destinations_keep_verdicts_undetermined_until_reviewed() {
    let run = |out: &Path, extra: &[&str]| {
        xborder()
            .arg("analyze")
            .arg(fixture("logs"))
            .arg(fixture("candidate"))
            .arg("--sites")
            .arg(fixture("sites.toml"))
            .arg("--policy")
            .arg(fixture("policy.toml"))
            .args([
                "--from",
                "2026-07-06",
                "--to",
                "2026-07-16",
                "--quiet",
                "--out",
            ])
            .arg(out)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = tempfile::tempdir().unwrap();
    assert!(run(out.path(), &[]).status.success());
    let c = rows(&out.path().join("candidates.csv"));
    assert_eq!(c.len(), 1);
    assert_eq!(c[0]["hostname"], "llm-relay.example.net");
    assert_eq!(c[0]["matched"], "llm");
    assert_eq!(c[0]["reviewed"], "no");
    assert_eq!(c[0]["sites"], "clean");
    assert_eq!(c[0]["bytes_out"], "2500000");
    assert_eq!(c[0]["destinations"], "81.2.69.160");
    let s = json(&out.path().join("summary.json"));
    let clean = verdict(&s, "clean");
    assert_eq!(clean["state"], "undetermined");
    assert_eq!(
        reasons(clean),
        vec![(
            "candidates".to_string(),
            "unreviewed candidate AI destinations (1): llm-relay.example.net".to_string()
        )]
    );
    // Another site that never reached it keeps its own verdict.
    assert_eq!(verdict(&s, "violator")["state"], "violated");

    // Below the byte threshold it is not a candidate.
    let small = tempfile::tempdir().unwrap();
    assert!(run(small.path(), &["--candidate-min-bytes", "3000000"])
        .status
        .success());
    assert_eq!(rows(&small.path().join("candidates.csv")).len(), 0);

    let reviewed = tempfile::tempdir().unwrap();
    let list = fixture("reviewed.txt");
    let o = run(
        reviewed.path(),
        &["--reviewed-candidates", list.to_str().unwrap()],
    );
    assert!(o.status.success());
    let s = json(&reviewed.path().join("summary.json"));
    assert_eq!(verdict(&s, "clean")["state"], "held");
    assert_eq!(s["candidates"]["items"][0]["reviewed"], true);
    let run_json = json(&reviewed.path().join("run.json"));
    let input = run_json["verdict_inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == "reviewed_candidates")
        .unwrap();
    assert_eq!(input["sha256"], sha256(&list));
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap();
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn every_input_that_can_change_a_verdict_is_hashed_in_the_run_id_and_the_pack() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("pack");
    let o = xborder()
        .arg("analyze")
        .arg(fixture("logs"))
        .arg("--sites")
        .arg(fixture("sites.toml"))
        .arg("--policy")
        .arg(fixture("policy.toml"))
        .args([
            "--from",
            "2026-07-06",
            "--to",
            "2026-07-16",
            "--quiet",
            "--pack",
        ])
        .arg(&pack)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run_json = json(&pack.join("data/run.json"));
    let inputs = run_json["verdict_inputs"].as_array().unwrap();
    let roles: Vec<&str> = inputs.iter().map(|i| i["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        [
            "sites",
            "policy",
            "vendors",
            "regimes",
            "countries",
            "geoip"
        ]
    );
    for (role, file) in [("sites", "sites.toml"), ("policy", "policy.toml")] {
        let i = inputs.iter().find(|i| i["role"] == role).unwrap();
        assert_eq!(i["sha256"], sha256(&fixture(file)));
        let member = i["pack_member"].as_str().unwrap();
        assert_eq!(
            sha256(&pack.join("data").join(member)),
            sha256(&fixture(file))
        );
    }
    // The pack verifies with the copies in it.
    let v = xborder().arg("verify").arg(&pack).output().unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    let pdf = pdf_text(&pack.join("data/report.pdf"));
    assert!(pdf.contains(&sha256(&fixture("policy.toml"))));

    // A policy that differs by one comment gives another run id.
    let edited = dir.path().join("policy.toml");
    let mut text = std::fs::read_to_string(fixture("policy.toml")).unwrap();
    text.push_str("# edited\n");
    std::fs::write(&edited, text).unwrap();
    let id = |policy: &Path| {
        let out = tempfile::tempdir().unwrap();
        let o = xborder()
            .arg("analyze")
            .arg(fixture("logs"))
            .arg("--sites")
            .arg(fixture("sites.toml"))
            .arg("--policy")
            .arg(policy)
            .args([
                "--from",
                "2026-07-06",
                "--to",
                "2026-07-16",
                "--quiet",
                "--out",
            ])
            .arg(out.path())
            .output()
            .unwrap();
        assert!(o.status.success());
        json(&out.path().join("summary.json"))["run_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_ne!(id(&fixture("policy.toml")), id(&edited));
}

// ---- summary.json against docs/summary.schema.json ----

/// Validate `v` against the subset of JSON Schema (2020-12) the summary schema uses. An
/// unsupported keyword is itself an error, so the schema cannot silently outgrow the check.
fn validate(schema: &Value, root: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        errors.push(format!("{at}: schema is not an object"));
        return;
    };
    for (key, sub) in s {
        match key.as_str() {
            "$schema" | "$id" | "title" | "description" | "$defs" | "$comment" => {}
            "$ref" => {
                let name = sub
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/$defs/"))
                    .unwrap_or_else(|| panic!("{at}: unsupported $ref {sub}"));
                validate(&root["$defs"][name], root, v, at, errors);
            }
            "type" => {
                let types: Vec<&str> = match sub {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => panic!("{at}: bad type"),
                };
                let ok = types.iter().any(|t| match *t {
                    "object" => v.is_object(),
                    "array" => v.is_array(),
                    "string" => v.is_string(),
                    "integer" => v.is_u64() || v.is_i64(),
                    "number" => v.is_number(),
                    "boolean" => v.is_boolean(),
                    "null" => v.is_null(),
                    other => panic!("{at}: unknown type {other}"),
                });
                if !ok {
                    errors.push(format!("{at}: {v} is not {types:?}"));
                }
            }
            "properties" => {
                if let Some(o) = v.as_object() {
                    for (name, sub) in sub.as_object().unwrap() {
                        if let Some(x) = o.get(name) {
                            validate(sub, root, x, &format!("{at}.{name}"), errors);
                        }
                    }
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for name in sub.as_array().unwrap() {
                        let name = name.as_str().unwrap();
                        if !o.contains_key(name) {
                            errors.push(format!("{at}: missing {name}"));
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = v.as_object() {
                    let known = s.get("properties").and_then(Value::as_object);
                    for (name, x) in o {
                        if known.is_some_and(|k| k.contains_key(name)) {
                            continue;
                        }
                        match sub {
                            Value::Bool(false) => {
                                errors.push(format!("{at}: unexpected field {name}"))
                            }
                            Value::Bool(true) => {}
                            _ => validate(sub, root, x, &format!("{at}.{name}"), errors),
                        }
                    }
                }
            }
            "items" => {
                if let Some(a) = v.as_array() {
                    for (i, x) in a.iter().enumerate() {
                        validate(sub, root, x, &format!("{at}[{i}]"), errors);
                    }
                }
            }
            "enum" => {
                if !sub.as_array().unwrap().contains(v) {
                    errors.push(format!("{at}: {v} not in {sub}"));
                }
            }
            "const" => {
                if sub != v {
                    errors.push(format!("{at}: {v} is not {sub}"));
                }
            }
            "minimum" | "maximum" => {
                if let (Some(x), Some(limit)) = (v.as_f64(), sub.as_f64()) {
                    let bad = if key == "minimum" {
                        x < limit
                    } else {
                        x > limit
                    };
                    if bad {
                        errors.push(format!("{at}: {x} breaks {key} {limit}"));
                    }
                }
            }
            other => panic!("{at}: keyword {other} is not supported by this check"),
        }
    }
}

fn schema_errors(doc: &Value) -> Vec<String> {
    let schema = json(&root().join("docs/summary.schema.json"));
    let mut errors = Vec::new();
    validate(&schema, &schema, doc, "$", &mut errors);
    errors
}

#[test]
fn summary_json_validates_against_its_documented_schema() {
    let fixture_out = tempfile::tempdir().unwrap();
    assert!(analyze_fixture(fixture_out.path(), &["--quiet"])
        .status
        .success());
    let candidate_out = tempfile::tempdir().unwrap();
    let o = xborder()
        .current_dir(root())
        .args([
            "analyze",
            "data/sample",
            "tests/fixtures/verdicts/candidate",
            "--sites",
            "data/sample/sites.toml",
            "--policy",
            "data/examples/policy.toml",
            "--assets",
            "data/examples/assets.csv",
            "--quiet",
            "--out",
        ])
        .arg(candidate_out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let empty_out = tempfile::tempdir().unwrap();
    let o = xborder()
        .current_dir(root())
        .args([
            "analyze",
            "data/sample",
            "--sites",
            "data/sample/sites.toml",
            "--period",
            "2025-Q3",
            "--quiet",
            "--out",
        ])
        .arg(empty_out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for dir in [&fixture_out, &candidate_out, &empty_out] {
        let doc = json(&dir.path().join("summary.json"));
        assert_eq!(schema_errors(&doc), Vec::<String>::new(), "{doc:#}");
    }
    // The check fails when the document breaks the schema.
    let mut doc = json(&fixture_out.path().join("summary.json"));
    doc["verdicts"][0]["state"] = "probably".into();
    doc["outcome"].as_object_mut().unwrap().remove("violated");
    doc["coverage"]["sites"][0]["dns_visibility"] = 1.5.into();
    doc["surprise"] = true.into();
    let errors = schema_errors(&doc);
    assert_eq!(errors.len(), 4, "{errors:?}");
}
