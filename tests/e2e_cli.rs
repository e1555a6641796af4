//! Command-line behaviour users asked for: grouped `analyze --help`, `resolve` failing when
//! nothing resolved, `diff` naming the periods it compares with numbers kept as numbers in
//! changes.csv, and a README exit-code list that names every code.

use std::path::Path;

mod common;

use common::{root, rows, xborder};

#[test]
fn analyze_help_is_grouped_into_sections_in_order() {
    let o = xborder().args(["analyze", "--help"]).output().unwrap();
    assert!(o.status.success());
    let help = String::from_utf8(o.stdout).unwrap();
    let headings = [
        "Inputs:",
        "Scope:",
        "Catalogs:",
        "Policy:",
        "Outputs:",
        "Evidence:",
        "Enrichment:",
        "Resources:",
    ];
    let at: Vec<usize> = headings
        .iter()
        .map(|h| {
            help.lines()
                .position(|l| l == *h)
                .unwrap_or_else(|| panic!("no {h} section in:\n{help}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    // Each option sits in its section.
    let section_of = |flag: &str| -> &str {
        let line = help
            .lines()
            .position(|l| {
                let l = l.trim_start();
                l.starts_with(flag)
                    && l[flag.len()..]
                        .chars()
                        .next()
                        .is_none_or(|c| c == ' ' || c == '.')
            })
            .unwrap_or_else(|| panic!("{flag} not in help"));
        let i = at.iter().rposition(|&a| a < line).unwrap();
        headings[i]
    };
    for (flag, section) in [
        ("<INPUT>", "Inputs:"),
        ("--strict", "Inputs:"),
        ("--period", "Scope:"),
        ("--sites", "Catalogs:"),
        ("--vendors-extra", "Catalogs:"),
        ("--policy", "Policy:"),
        ("--fail-on", "Policy:"),
        ("--out", "Outputs:"),
        ("--lang", "Outputs:"),
        ("--pack", "Evidence:"),
        ("--pseudonymize", "Evidence:"),
        ("--ip-snapshot", "Enrichment:"),
        ("--reverse-dns", "Enrichment:"),
        ("--memory-limit", "Resources:"),
        ("--spill-dir", "Resources:"),
    ] {
        assert_eq!(section_of(flag), section, "{flag}");
    }
}

#[test]
fn resolve_exits_non_zero_when_every_look_up_failed() {
    // A UDP socket bound here and never read: every query times out.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.csv");
    let o = xborder()
        .arg("resolve")
        .arg("--vendors")
        .arg(root().join("tests/fixtures/resolve/vendors.toml"))
        .args([
            "--nameserver",
            &addr,
            "--timeout-ms",
            "200",
            "--attempts",
            "1",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("every look-up failed"), "{stderr}");
    // The failures are still on record.
    let snapshot = rows(&out);
    assert!(!snapshot.is_empty());
    assert!(snapshot
        .iter()
        .all(|r| r["ip"].is_empty() && r["rcode"] != "NOERROR"));
}

fn analyze_between(out: &Path, from: &str, to: &str) {
    let fixtures = root().join("tests/fixtures/verdicts");
    let o = xborder()
        .arg("analyze")
        .arg(fixtures.join("logs"))
        .arg("--sites")
        .arg(fixtures.join("sites.toml"))
        .args(["--from", from, "--to", to, "--quiet", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn diff_names_both_periods_and_writes_numbers_as_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    analyze_between(&old, "2026-07-06", "2026-07-13");
    analyze_between(&new, "2026-07-13", "2026-07-16");
    let out = dir.path().join("changes");
    let o = xborder()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let first = stdout.lines().next().unwrap();
    assert!(
        first.starts_with("comparing 2026-07-06 to 2026-07-13 (exclusive) (flows 2026-07-"),
        "{first}"
    );
    assert!(
        first.contains(" with 2026-07-13 to 2026-07-16 (exclusive) (flows 2026-07-"),
        "{first}"
    );
    let changes = rows(&out.join("changes.csv"));
    let deltas: Vec<i128> = changes
        .iter()
        .map(|r| {
            r["delta"]
                .parse()
                .unwrap_or_else(|_| panic!("delta `{}` is not a number", r["delta"]))
        })
        .collect();
    // The shorter second period sends fewer bytes: negative deltas, written as numbers.
    assert!(deltas.iter().any(|d| *d < 0), "{deltas:?}");
    for r in &changes {
        for k in ["old_value", "new_value"] {
            assert!(r[k].parse::<u64>().is_ok(), "{k} = {}", r[k]);
        }
    }
    // The same run twice is named as such.
    let o = xborder().arg("diff").arg(&old).arg(&old).output().unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("both runs cover the same period"));
}

#[test]
fn readme_and_usage_list_every_exit_code() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("Exit codes: ").expect("an exit-code list");
    let list = &readme[start..start + readme[start..].find("\n\n").unwrap()];
    for (code, words) in [
        (0, "success"),
        (1, "runtime or I/O failure"),
        (2, "invalid options or configuration"),
        (3, "unreadable input"),
        (4, "`verify`"),
        (5, "`--memory-limit`"),
        (10, "policy violation"),
        (11, "undetermined"),
        (12, "no flow record"),
        (13, "rejected records"),
    ] {
        let at = list
            .find(&format!("{code} "))
            .unwrap_or_else(|| panic!("exit code {code} missing from the README: {list}"));
        assert!(list[at..].contains(words), "{code}: {words}");
    }
    let usage = std::fs::read_to_string(root().join("docs/usage.md")).unwrap();
    for code in [0, 1, 2, 3, 4, 5, 10, 11, 12, 13] {
        assert!(
            usage.contains(&format!("\n| {code} | ")),
            "exit code {code} missing from docs/usage.md"
        );
    }
}

#[test]
fn exclude_leaves_matching_inputs_unread_and_is_recorded() {
    let fixtures = root().join("tests/fixtures/verdicts");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = xborder()
        .arg("analyze")
        .arg(fixtures.join("logs"))
        .arg("--sites")
        .arg(fixtures.join("sites.toml"))
        .args([
            "--from",
            "2026-07-06",
            "--to",
            "2026-07-16",
            "--exclude",
            "dns.*",
            "--exclude",
            "*/nothing/*",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = common::json(&out.join("run.json"));
    let inputs = common::field_of_each(&run, "inputs", "path");
    assert_eq!(inputs.len(), 1, "{inputs:?}");
    assert!(inputs[0].ends_with("conn.log"));
    assert_eq!(
        run["parameters"]["exclude"],
        serde_json::json!(["dns.*", "*/nothing/*"])
    );
    let bad = xborder()
        .args(["analyze", "x", "--exclude", "[", "--out"])
        .arg(dir.path().join("bad"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a valid glob pattern"));
}

#[test]
fn a_dash_reads_standard_input_named_stdin_in_the_outputs() {
    let fixtures = root().join("tests/fixtures/verdicts");
    let conn = std::fs::read(fixtures.join("logs/conn.log")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &Path, first: &Path| {
        let mut cmd = xborder();
        cmd.arg("analyze")
            .arg(first)
            .arg(fixtures.join("logs/dns.log"))
            .arg("--sites")
            .arg(fixtures.join("sites.toml"))
            .args([
                "--from",
                "2026-07-06",
                "--to",
                "2026-07-16",
                "--quiet",
                "--out",
            ])
            .arg(out);
        let o = assert_cmd::Command::from_std(cmd)
            .write_stdin(conn.clone())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let (piped, named) = (dir.path().join("piped"), dir.path().join("named"));
    run(&piped, Path::new("-"));
    run(&named, &fixtures.join("logs/conn.log"));
    let files = |out: &Path| common::json(&out.join("run.json"))["inputs"].clone();
    let (p, n) = (files(&piped), files(&named));
    let stdin = p
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "(stdin)")
        .expect("standard input listed as (stdin)");
    let conn_file = n
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("conn.log"))
        .unwrap();
    assert_eq!(stdin["sha256"], conn_file["sha256"]);
    assert_eq!(stdin["counts"], conn_file["counts"]);
    assert_eq!(
        std::fs::read(piped.join("findings.csv")).unwrap(),
        std::fs::read(named.join("findings.csv")).unwrap()
    );
    let evidence = rows(&piped.join("evidence.csv"));
    assert!(evidence.iter().any(|r| r["input_file"] == "(stdin)"));
    // The spooled copy is gone.
    let leftovers: Vec<String> = std::fs::read_dir(&piped)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn completions_and_man_pages_are_generated_from_the_cli() {
    let bash = xborder().args(["completions", "bash"]).output().unwrap();
    assert!(bash.status.success());
    let script = String::from_utf8(bash.stdout).unwrap();
    assert!(script.contains("_xborder()"));
    assert!(script.contains("--exclude") && script.contains("--fail-on"));
    for shell in ["zsh", "fish"] {
        let o = xborder().args(["completions", shell]).output().unwrap();
        assert!(o.status.success() && !o.stdout.is_empty(), "{shell}");
    }
    let bad = xborder().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));

    let dir = tempfile::tempdir().unwrap();
    let o = xborder()
        .arg("man")
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let analyze = std::fs::read_to_string(dir.path().join("xborder-analyze.1")).unwrap();
    assert!(analyze.starts_with(".ie") && analyze.contains(".TH xborder-analyze 1"));
    assert!(analyze.contains("\\-\\-memory\\-limit"));
    assert!(dir.path().join("xborder.1").is_file());
    // The hidden helpers get no page and stay out of --help.
    assert!(!dir.path().join("xborder-completions.1").exists());
    let help = xborder().arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(!help.contains("completions"), "{help}");
}

#[test]
fn a_config_file_supplies_options_is_hashed_into_the_run_id_and_the_command_line_wins() {
    let fixtures = root().join("tests/fixtures/verdicts");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixtures.join("sites.toml"), dir.path().join("sites.toml")).unwrap();
    let config = dir.path().join("xborder.toml");
    let write = |period_to: &str| {
        std::fs::write(
            &config,
            format!("sites = \"sites.toml\"\nfrom = \"2026-07-06\"\nto = \"{period_to}\"\nquiet = true\n"),
        )
        .unwrap();
    };
    let run = |out: &Path, extra: &[&str]| {
        let o = xborder()
            .arg("analyze")
            .arg(fixtures.join("logs"))
            .arg("--config")
            .arg(&config)
            .arg("--out")
            .arg(out)
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(o.stdout.is_empty(), "quiet = true applies");
        common::json(&out.join("run.json"))
    };
    write("2026-07-16");
    let a = run(&dir.path().join("a"), &[]);
    assert_eq!(a["period"]["label"], "2026-07-06 to 2026-07-16 (exclusive)");
    // The sites file was found next to the config file.
    assert_eq!(a["sites"]["sites"].as_array().unwrap().len(), 4);
    let roles: Vec<&str> = a["verdict_inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"config"), "{roles:?}");
    // The command line wins over the file.
    let b = run(&dir.path().join("b"), &["--to", "2026-07-12"]);
    assert_eq!(b["period"]["label"], "2026-07-06 to 2026-07-12 (exclusive)");
    // A different file is a different run id, even with the same effective options.
    std::fs::write(
        &config,
        "# the same options, reordered\nquiet = true\nto = \"2026-07-16\"\nfrom = \"2026-07-06\"\nsites = \"sites.toml\"\n",
    )
    .unwrap();
    let c = run(&dir.path().join("c"), &[]);
    let _ = c;
    let id =
        |name: &str| common::json(&dir.path().join(name).join("summary.json"))["run_id"].clone();
    assert_ne!(id("a"), id("c"));
    // A key that is no option is refused, naming it.
    std::fs::write(&config, "sitez = \"sites.toml\"\n").unwrap();
    let o = xborder()
        .arg("analyze")
        .arg(fixtures.join("logs"))
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(dir.path().join("d"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`sitez` is not an analyze option"));
}
