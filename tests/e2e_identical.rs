//! Byte-identical outputs across refactors.
//!
//! Every output of three runs (the shipped sample with a signed evidence pack, the trap
//! fixtures, and one million generated flows) is hashed and compared with the manifests in
//! tests/golden/. A change that moves code without meaning to change results must leave
//! every hash as it was. A change that does mean to change an output rewrites the
//! manifests with `XBORDER_BLESS=1 cargo test --test e2e_identical` and says in its commit
//! message which outputs changed and why; `git log -p tests/golden` is then the record of
//! every documented difference.
//!
//! Runs are made reproducible the way a regulator's rerun is: SOURCE_DATE_EPOCH fixes the
//! report dates, inputs are copied into a scratch directory and named by relative paths
//! (run.json records the command line), and the pack is signed with the fixed test key in
//! tests/golden/ (a throwaway key, never used for anything else).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::prelude::*;
use sha2::Digest;

fn golden(name: &str) -> PathBuf {
    common::root().join("tests/golden").join(name)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Fold threads each run is repeated with (XBORDER_THREADS, which run.json does not
/// record): the flows are folded in one shard, and in several merged at the end, and
/// every output must be the same.
const THREADS: [&str; 3] = ["1", "2", "5"];

/// `xborder ARGS` run in `dir`, which must succeed. run.json records the command line,
/// so the binary is linked into `dir/bin` and found through PATH: argv[0] is then `xborder`
/// wherever the build directory is.
fn run_in(dir: &Path, args: &[&str]) {
    run_with_threads(dir, args, "1")
}

/// [`run_in`] with `threads` fold threads.
fn run_with_threads(dir: &Path, args: &[&str], threads: &str) {
    let bin = dir.join("bin");
    if !bin.exists() {
        std::fs::create_dir_all(&bin).unwrap();
        let built = Command::cargo_bin("xborder")
            .unwrap()
            .get_program()
            .to_owned();
        // A link, not a copy: a copy is open for writing while other test threads fork,
        // and executing it then fails with "Text file busy".
        std::os::unix::fs::symlink(built, bin.join("xborder")).unwrap();
    }
    let out = Command::new("xborder")
        .env("PATH", &bin)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1793491200")
        .env("XBORDER_THREADS", threads)
        // With several shards, their partial results go through Parquet files and back,
        // as between the machines of a distributed run.
        .env("XBORDER_PARTIALS_DIR", dir.join("partials"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xborder {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// "sha256  relative/path" for every file under `dir`, sorted by path.
fn manifest(dir: &Path) -> String {
    fn walk(base: &Path, dir: &Path, lines: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                walk(base, &entry.path(), lines);
            } else {
                let bytes = std::fs::read(entry.path()).unwrap();
                let rel = entry.path().strip_prefix(base).unwrap().to_owned();
                let hex: String = sha2::Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                lines.push(format!("{hex}  {}", rel.display()));
            }
        }
    }
    let mut lines = Vec::new();
    walk(dir, dir, &mut lines);
    lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
    lines.join("\n") + "\n"
}

/// Compare `dir`'s manifest with tests/golden/`name`, or rewrite it under XBORDER_BLESS=1
/// (from the one-thread run only: the others must then match it).
fn check(dir: &Path, name: &str, threads: &str) {
    let got = manifest(dir);
    let path = golden(name);
    if std::env::var_os("XBORDER_BLESS").is_some() && threads == THREADS[0] {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if got != want {
        let changed: Vec<&str> = got
            .lines()
            .filter(|l| !want.lines().any(|w| w == *l))
            .map(|l| &l[66..])
            .collect();
        let gone: Vec<&str> = want
            .lines()
            .filter(|w| !got.lines().any(|l| l[66..] == w[66..]))
            .map(|w| &w[66..])
            .collect();
        panic!(
            "outputs of the run with {threads} fold thread(s) differ from tests/golden/{name}: changed or new {changed:?}, missing {gone:?}. \
             If the change is meant, rerun with XBORDER_BLESS=1 and say why in the commit."
        );
    }
}

#[test]
fn sample_run_and_signed_pack_are_byte_identical() {
    for threads in THREADS {
        sample_run(threads);
    }
}

fn sample_run(threads: &str) {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&common::root().join("data/sample"), &dir.path().join("in"));
    std::fs::copy(golden("signer.key"), dir.path().join("signer.key")).unwrap();
    run_with_threads(
        dir.path(),
        &[
            "analyze",
            "in",
            "--sites",
            "in/sites.toml",
            "--quiet",
            "--pack",
            "pack",
            "--sign",
            "signer.key",
            "--organization",
            "Example Org",
        ],
        threads,
    );
    check(&dir.path().join("pack"), "sample.sha256", threads);
}

#[test]
fn trap_fixtures_are_byte_identical() {
    for threads in THREADS {
        trap_run(threads);
    }
}

fn trap_run(threads: &str) {
    let dir = tempfile::tempdir().unwrap();
    let traps = common::root().join("tests/fixtures/traps");
    copy_tree(&traps.join("logs"), &dir.path().join("logs"));
    std::fs::copy(traps.join("sites.toml"), dir.path().join("sites.toml")).unwrap();
    run_with_threads(
        dir.path(),
        &[
            "analyze",
            "logs",
            "--sites",
            "sites.toml",
            "--period",
            "2026-Q3",
            "--quiet",
            "--out",
            "out",
        ],
        threads,
    );
    check(&dir.path().join("out"), "traps.sha256", threads);
}

#[test]
fn one_million_generated_flows_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    run_in(
        dir.path(),
        &["generate", "--flows", "1000000", "--out", "gen"],
    );
    for threads in ["1", "3"] {
        run_with_threads(
            dir.path(),
            &[
                "analyze",
                "gen/logs",
                "--sites",
                "gen/sites.toml",
                "--quiet",
                "--out",
                "out",
            ],
            threads,
        );
        check(&dir.path().join("out"), "generated-1m.sha256", threads);
        std::fs::remove_dir_all(dir.path().join("out")).unwrap();
    }
}

/// The policy and department views (policy, assets, owners shown) are the same whether
/// the flows are folded in one shard or several.
#[test]
fn policy_views_are_byte_identical() {
    for threads in THREADS {
        let dir = tempfile::tempdir().unwrap();
        let policy = common::root().join("tests/fixtures/policy");
        copy_tree(&policy.join("logs"), &dir.path().join("logs"));
        for f in ["sites.toml", "assets.csv"] {
            std::fs::copy(policy.join(f), dir.path().join(f)).unwrap();
        }
        std::fs::copy(
            common::root().join("data/examples/policy.toml"),
            dir.path().join("policy.toml"),
        )
        .unwrap();
        run_with_threads(
            dir.path(),
            &[
                "analyze",
                "logs",
                "--sites",
                "sites.toml",
                "--policy",
                "policy.toml",
                "--assets",
                "assets.csv",
                "--show-owners",
                "--quiet",
                "--out",
                "out",
            ],
            threads,
        );
        check(&dir.path().join("out"), "policy.sha256", threads);
    }
}

/// Proxy logs are folded before the flows, in the run's own state; the flows after them
/// may be sharded, and the proxy legs they carry are counted the same either way.
#[test]
fn proxy_runs_are_byte_identical() {
    for threads in THREADS {
        let dir = tempfile::tempdir().unwrap();
        let proxy = common::root().join("tests/fixtures/proxy");
        copy_tree(&proxy.join("logs"), &dir.path().join("logs"));
        for f in ["sites.toml", "assets.csv", "policy.toml"] {
            std::fs::copy(proxy.join(f), dir.path().join(f)).unwrap();
        }
        run_with_threads(
            dir.path(),
            &[
                "analyze",
                "logs",
                "--sites",
                "sites.toml",
                "--policy",
                "policy.toml",
                "--assets",
                "assets.csv",
                "--quiet",
                "--out",
                "out",
            ],
            threads,
        );
        check(&dir.path().join("out"), "proxy.sha256", threads);
    }
}
