//! End-to-end runs of the `xborder` binary over small fixtures whose expected findings were
//! worked out by hand (see tests/fixtures/traps/README.md for the trap list).

use std::path::{Path, PathBuf};

mod common;

use common::{json, xborder};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn run_traps(out: &Path, extra: &[&str]) -> std::process::Output {
    let dir = fixture("traps");
    xborder()
        .arg("analyze")
        .arg(dir.join("logs"))
        .arg("--sites")
        .arg(dir.join("sites.toml"))
        .args(["--period", "2026-Q3", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// Read a CSV and keep only the named columns, in that order.
fn project(path: &Path, columns: &[String]) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            headers
                .iter()
                .position(|h| h == c)
                .unwrap_or_else(|| panic!("no column {c}"))
        })
        .collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            idx.iter().map(|i| rec[*i].to_string()).collect()
        })
        .collect()
}

fn expected(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (headers, rows)
}

#[test]
fn trap_findings_match_the_hand_checked_answer() {
    let out = tempfile::tempdir().unwrap();
    let o = run_traps(out.path(), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (cols, want) = expected(&fixture("traps/expected_findings.csv"));
    assert_eq!(project(&out.path().join("findings.csv"), &cols), want);
    let (cols, want) = expected(&fixture("traps/expected_cross_border_other.csv"));
    assert_eq!(
        project(&out.path().join("cross_border_other.csv"), &cols),
        want
    );
}

#[test]
fn findings_columns_and_transfer_bases() {
    let out = tempfile::tempdir().unwrap();
    assert!(run_traps(out.path(), &[]).status.success());
    let text = std::fs::read_to_string(out.path().join("findings.csv")).unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        "regime,rule_id,citation,source_site,source_country,destination_country,vendor,vendor_hq_country,product,category,attribution,transfer_basis,flows,bytes_out,bytes_in,distinct_sources,first_seen,last_seen,finding_id"
    );
    let rows = project(
        &out.path().join("findings.csv"),
        &[
            "regime".into(),
            "destination_country".into(),
            "transfer_basis".into(),
        ],
    );
    for r in &rows {
        let basis = &r[2];
        match (r[0].as_str(), r[1].as_str()) {
            ("GDPR", "US") => assert!(
                basis.starts_with("conditional:") && basis.contains("2023/1795"),
                "{basis}"
            ),
            ("GDPR", "CN") => assert!(basis.starts_with("none"), "{basis}"),
            ("PIPL" | "DSL", _) => assert!(basis.starts_with("none"), "{basis}"),
            other => panic!("unexpected finding {other:?}"),
        }
    }
}

#[test]
fn every_record_is_accounted_for() {
    let out = tempfile::tempdir().unwrap();
    assert!(run_traps(out.path(), &[]).status.success());
    let run = json(&out.path().join("run.json"));
    let inputs = run["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    for f in inputs {
        let c = &f["counts"];
        let n = |k: &str| c[k].as_u64().unwrap();
        assert_eq!(
            n("read"),
            n("accepted") + n("rejected") + n("duplicate") + n("outside_period"),
            "{f}"
        );
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
    }
    let by_name = |suffix: &str| {
        inputs
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(suffix))
            .unwrap()
    };
    let conn = &by_name("conn.log")["counts"];
    assert_eq!(
        (
            conn["read"].as_u64(),
            conn["accepted"].as_u64(),
            conn["rejected"].as_u64(),
            conn["duplicate"].as_u64(),
            conn["outside_period"].as_u64()
        ),
        (Some(16), Some(13), Some(1), Some(1), Some(1))
    );
    assert_eq!(conn["rejected_by_reason"]["invalid_address"], 1);
    let flows = &by_name("conn.log")["flows"];
    assert_eq!(flows["egress"], 10);
    assert_eq!(flows["egress_unknown_site"], 1);
    assert_eq!(flows["internal"], 1);
    assert_eq!(flows["inbound"], 1);
    assert_eq!(flows["bytes_unset"], 1);
    let dns = &by_name("dns.log")["counts"];
    assert_eq!(
        (
            dns["read"].as_u64(),
            dns["accepted"].as_u64(),
            dns["duplicate"].as_u64(),
            dns["outside_period"].as_u64()
        ),
        (Some(13), Some(11), Some(1), Some(1))
    );
    assert_eq!(by_name("conn-overlap.json")["format"], "zeek-conn-json");
    assert_eq!(run["geoip"]["sha256"].as_str().unwrap().len(), 64);
    assert!(run["catalogs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["kind"] == "vendors"));
    assert_eq!(run["period"]["from"], "2026-07-01T00:00:00Z");
    assert_eq!(run["period"]["to_exclusive"], "2026-10-01T00:00:00Z");
}

#[test]
fn rejects_name_file_line_and_field_and_show_in_the_summary() {
    let out = tempfile::tempdir().unwrap();
    let o = run_traps(out.path(), &[]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("1 rejected"), "{stdout}");
    assert!(stdout.contains("rejected invalid_address: 1"), "{stdout}");
    let rows = project(
        &out.path().join("rejects.csv"),
        &[
            "file".into(),
            "line".into(),
            "field".into(),
            "reason".into(),
        ],
    );
    assert_eq!(rows.len(), 1);
    assert!(rows[0][0].ends_with("conn.log"));
    assert_eq!(rows[0][1..], ["24", "id.orig_h", "invalid_address"]);
}

#[test]
fn strict_mode_stops_at_the_first_reject_with_exit_code_3() {
    let out = tempfile::tempdir().unwrap();
    let o = run_traps(out.path(), &["--strict"]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("conn.log:24") && err.contains("id.orig_h"),
        "{err}"
    );
}

#[test]
fn unknown_format_names_the_file_and_lists_supported_formats() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("firewall.txt"),
        "Jul  2 00:00:00 fw1 kernel: DROP IN=eth0\n",
    )
    .unwrap();
    // Named on the command line, or a directory holding nothing readable: exit 3.
    for input in [dir.path().join("firewall.txt"), dir.path().to_path_buf()] {
        let out = tempfile::tempdir().unwrap();
        let o = xborder()
            .arg("analyze")
            .arg(&input)
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(3));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("firewall.txt")
                && err.contains("zeek-conn-tsv")
                && err.contains("zeek-dns-json"),
            "{err}"
        );
    }
}

#[test]
fn gzip_inputs_including_multi_member_give_the_same_findings() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let traps = fixture("traps");
    for name in ["logs/dns.log", "logs/conn-overlap.json", "sites.toml"] {
        std::fs::copy(
            traps.join(name),
            dir.path().join(name.trim_start_matches("logs/")),
        )
        .unwrap();
    }
    // conn.log split in two gzip members, under a name that says nothing about its content.
    let text = std::fs::read(traps.join("logs/conn.log")).unwrap();
    let mid = text.len() / 2;
    let mid = mid + text[mid..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut gz = Vec::new();
    for part in [&text[..mid], &text[mid..]] {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(part).unwrap();
        gz.extend(e.finish().unwrap());
    }
    std::fs::write(dir.path().join("export-0001.bin"), gz).unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = xborder()
        .arg("analyze")
        .arg(dir.path())
        .arg("--sites")
        .arg(dir.path().join("sites.toml"))
        .args(["--period", "2026-Q3", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (cols, want) = expected(&fixture("traps/expected_findings.csv"));
    assert_eq!(project(&out.path().join("findings.csv"), &cols), want);
    let run = json(&out.path().join("run.json"));
    let gz = run["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("export-0001.bin"))
        .unwrap();
    assert_eq!(gz["compression"], "gzip");
    assert_eq!(gz["counts"]["read"], 16);
}

#[test]
fn dns_max_age_is_a_hard_ceiling() {
    // With a 5-second ceiling, only answers at most 5 s old attribute: f1 (10 s after its
    // answer) loses its dns attribution and falls back to Anthropic's published range.
    let out = tempfile::tempdir().unwrap();
    assert!(run_traps(out.path(), &["--dns-max-age", "5"])
        .status
        .success());
    let rows = project(
        &out.path().join("findings.csv"),
        &[
            "regime".into(),
            "vendor".into(),
            "attribution".into(),
            "flows".into(),
        ],
    );
    assert!(
        rows.contains(&vec![
            "PIPL".into(),
            "Anthropic".into(),
            "ip_range".into(),
            "4".into()
        ]),
        "{rows:?}"
    );
    assert!(!rows.iter().any(|r| r[1] == "OpenAI"), "{rows:?}");
}

#[test]
fn same_inputs_give_byte_identical_tables_and_pdf() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    assert!(run_traps(a.path(), &[]).status.success());
    assert!(run_traps(b.path(), &[]).status.success());
    for f in [
        "findings.csv",
        "cross_border_other.csv",
        "summary_by_vendor.csv",
        "daily_egress.csv",
        "rejects.csv",
        "report.pdf",
    ] {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn help_shows_examples() {
    let o = xborder().arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("Examples:"));
    let o = xborder().args(["analyze", "--help"]).output().unwrap();
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("Examples:") && s.contains("--period"), "{s}");
}

#[test]
fn bad_sites_file_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let sites = dir.path().join("sites.toml");
    std::fs::write(
        &sites,
        "[[site]]\nname = \"x\"\ncountry = \"XX\"\ncidrs = [\"10.0.0.0/8\"]\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = xborder()
        .arg("analyze")
        .arg(fixture("traps/logs/dns.log"))
        .arg("--sites")
        .arg(&sites)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("sites.toml") && err.contains("XX"), "{err}");
}

#[test]
fn other_zeek_logs_and_empty_files_are_listed_as_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let traps = fixture("traps");
    std::fs::copy(traps.join("logs/dns.log"), dir.path().join("dns.log")).unwrap();
    std::fs::write(
        dir.path().join("ssl.log"),
        "#separator \\x09\n#path\tssl\n#fields\tts\tuid\tserver_name\n1782950400.0\tCx\tapi.openai.com\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("x509.log"),
        "#separator \\x09\n#path\tx509\n#fields\tts\tfingerprint\n1782950400.0\tab\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("empty.log"), "").unwrap();
    // A pretty-printed Corelight-style conn record.
    std::fs::write(
        dir.path().join("conn.json"),
        "{\n  \"_path\": \"conn\",\n  \"ts\": \"2026-07-02T00:00:10Z\",\n  \"uid\": \"Cp1\",\n  \"id.orig_h\": \"10.1.0.5\",\n  \"id.resp_h\": \"160.79.104.10\",\n  \"orig_bytes\": 10\n}\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = xborder()
        .arg("analyze")
        .arg(dir.path())
        .arg("--sites")
        .arg(traps.join("sites.toml"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = json(&out.path().join("run.json"));
    let format = |suffix: &str| {
        run["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(suffix))
            .unwrap()["format"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // ssl.log is read for server names; this one lacks id.orig_h, so its row is rejected.
    assert_eq!(format("ssl.log"), "zeek-ssl-tsv");
    let ssl = run["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("ssl.log"))
        .unwrap();
    assert_eq!(ssl["counts"]["rejected_by_reason"]["missing_field"], 1);
    assert_eq!(format("x509.log"), "skipped:zeek-x509");
    assert_eq!(format("empty.log"), "empty");
    assert_eq!(format("conn.json"), "zeek-conn-json");
    assert_eq!(run["totals"]["files_skipped"], 2);
    let rows = project(
        &out.path().join("findings.csv"),
        &["regime".into(), "vendor".into(), "attribution".into()],
    );
    assert!(
        rows.contains(&vec!["PIPL".into(), "Anthropic".into(), "dns".into()]),
        "{rows:?}"
    );
}

#[test]
fn formats_and_inspect_describe_the_inputs() {
    let o = xborder().arg("formats").output().unwrap();
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    for id in [
        "zeek-conn-tsv",
        "zeek-dns-tsv",
        "zeek-conn-json",
        "zeek-dns-json",
        "orig_bytes",
    ] {
        assert!(s.contains(id), "{id} in {s}");
    }
    let o = xborder()
        .arg("inspect")
        .arg(fixture("traps/logs/conn.log"))
        .args(["-n", "30"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        s.contains("zeek-conn-tsv")
            && s.contains("uid Cf1")
            && s.contains("REJECTED  field id.orig_h"),
        "{s}"
    );
    let o = xborder()
        .arg("inspect")
        .arg(fixture("traps/sites.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
}
