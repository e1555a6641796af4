//! `analyze --engine spark` against the single-machine run: every output byte-identical
//! (run.json adds its `engine` section), on the sample, the trap and policy fixtures, the
//! adversarial Spark fixture (with hand-checked expectations, tests/fixtures/spark) and a
//! million generated flows, with many partitions so that records cross every shuffle
//! boundary; and on a standalone cluster of two workers, one of them killed mid-job.
//!
//! Spark comes from pyspark (PyPI) and a Java 17 runtime: `.ci/run` installs both and sets
//! XBORDER_SPARK_PYTHON. Without them the Spark runs are skipped, saying so, except under
//! CI=true, where a missing Spark fails the test.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A Python with pyspark and pyarrow, and the spark-submit beside it.
struct Spark {
    python: PathBuf,
    submit: PathBuf,
}

fn spark() -> Option<Spark> {
    let python = std::env::var_os("XBORDER_SPARK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let found = Command::new(&python)
        .args(["-c", "import pyspark, pyarrow, sys; print(sys.executable)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let java = Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    match found {
        Some(executable) if java => {
            let submit = executable.with_file_name("spark-submit");
            if submit.exists() {
                return Some(Spark {
                    python: executable,
                    submit,
                });
            }
        }
        _ => {}
    }
    let why = "pyspark, pyarrow and Java 17 are needed (.ci/run installs them and sets XBORDER_SPARK_PYTHON)";
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
        panic!("the Spark tests cannot run under CI: {why}");
    }
    eprintln!("skipped: the Spark runs need {why}");
    None
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

/// A working directory holding a fixture's `logs/` and `sites.toml`, as the tests of one
/// machine use them.
fn fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = common::root().join("tests/fixtures").join(name);
    copy_tree(&from.join("logs"), &dir.path().join("logs"));
    std::fs::copy(from.join("sites.toml"), dir.path().join("sites.toml")).unwrap();
    dir
}

fn xborder_in(dir: &Path) -> Command {
    let mut c = common::xborder();
    c.current_dir(dir);
    c
}

fn spark_command(
    spark: &Spark,
    dir: &Path,
    args: &[&str],
    master: &str,
    partitions: u32,
) -> Command {
    let mut c = xborder_in(dir);
    c.args(args)
        .args(["--engine", "spark", "--master", master])
        .arg("--spark-partitions")
        .arg(partitions.to_string())
        .arg("--spark-submit")
        .arg(&spark.submit)
        .env("PYSPARK_PYTHON", &spark.python)
        .env("PYSPARK_DRIVER_PYTHON", &spark.python)
        .env("SPARK_LOCAL_IP", "127.0.0.1");
    c
}

fn run(mut c: Command) {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `analyze ARGS --out out` on one machine, then with Spark on `master`; the two output
/// directories (`dir/local`, `dir/spark`). Both runs name the same `--out`, so their
/// command lines agree once the engine options are left out.
fn both(
    spark: &Spark,
    dir: &Path,
    args: &[&str],
    master: &str,
    partitions: u32,
) -> (PathBuf, PathBuf) {
    let mut local = vec!["analyze"];
    local.extend_from_slice(args);
    local.extend_from_slice(&["--out", "out", "--quiet"]);
    run({
        let mut c = xborder_in(dir);
        c.args(&local);
        c
    });
    std::fs::rename(dir.join("out"), dir.join("local")).unwrap();
    run(spark_command(spark, dir, &local, master, partitions));
    std::fs::rename(dir.join("out"), dir.join("spark")).unwrap();
    (dir.join("local"), dir.join("spark"))
}

/// Every output of the two runs is identical, byte for byte, except run.json, which is
/// identical once the Spark run's `engine` section is removed.
fn assert_identical(local: &Path, spark: &Path, partitions: u32) {
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(local), names(spark), "the same output files");
    for name in names(local) {
        let (a, b) = (
            std::fs::read(local.join(&name)).unwrap(),
            std::fs::read(spark.join(&name)).unwrap(),
        );
        if name == "run.json" {
            let a: serde_json::Value = serde_json::from_slice(&a).unwrap();
            let mut b: serde_json::Value = serde_json::from_slice(&b).unwrap();
            let engine = b
                .as_object_mut()
                .unwrap()
                .remove("engine")
                .expect("an engine section");
            assert_eq!(engine["name"], "spark");
            assert_eq!(engine["fold_partitions"], partitions);
            assert!(engine["spark_version"].as_str().unwrap().starts_with('4'));
            assert!(a.get("engine").is_none());
            assert_eq!(a, b, "run.json apart from `engine`");
        } else {
            assert!(
                a == b,
                "{name} differs between the single-machine and the Spark run"
            );
        }
    }
}

#[test]
fn fixtures_and_sample_match_one_machine() {
    let Some(spark) = spark() else { return };
    let root = common::root();

    let dir = tempfile::tempdir().unwrap();
    copy_tree(&root.join("data/sample"), &dir.path().join("in"));
    let (l, s) = both(
        &spark,
        dir.path(),
        &["in", "--sites", "in/sites.toml"],
        "local[2]",
        3,
    );
    assert_identical(&l, &s, 3);

    let dir = fixture("traps");
    let args = ["logs", "--sites", "sites.toml", "--period", "2026-Q3"];
    let (l, s) = both(&spark, dir.path(), &args, "local[2]", 5);
    assert_identical(&l, &s, 5);

    let dir = fixture("policy");
    let policy = root.join("tests/fixtures/policy");
    std::fs::copy(policy.join("assets.csv"), dir.path().join("assets.csv")).unwrap();
    std::fs::copy(
        root.join("data/examples/policy.toml"),
        dir.path().join("policy.toml"),
    )
    .unwrap();
    let args = [
        "logs",
        "--sites",
        "sites.toml",
        "--policy",
        "policy.toml",
        "--assets",
        "assets.csv",
        "--show-owners",
    ];
    let (l, s) = both(&spark, dir.path(), &args, "local[2]", 4);
    assert_identical(&l, &s, 4);
}

/// `spark-submit` with the job as the entry point and the `analyze` arguments (for
/// platforms that start Python jobs themselves): the same outputs.
#[test]
fn spark_submit_as_the_entry_point_matches_one_machine() {
    let Some(spark) = spark() else { return };
    let dir = fixture("traps");
    let args = [
        "logs",
        "--sites",
        "sites.toml",
        "--period",
        "2026-Q3",
        "--out",
        "out",
        "--quiet",
    ];
    run({
        let mut c = xborder_in(dir.path());
        c.arg("analyze").args(args);
        c
    });
    std::fs::rename(dir.path().join("out"), dir.path().join("local")).unwrap();
    let xborder = {
        use assert_cmd::cargo::CommandCargoExt;
        Command::cargo_bin("xborder")
            .unwrap()
            .get_program()
            .to_owned()
    };
    let mut submit = Command::new(&spark.submit);
    submit
        .current_dir(dir.path())
        .env("SOURCE_DATE_EPOCH", "1793491200")
        .env("PYSPARK_PYTHON", &spark.python)
        .env("PYSPARK_DRIVER_PYTHON", &spark.python)
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .args(["--master", "local[2]", "--conf", "spark.log.level=WARN"])
        .arg(common::root().join("spark/xborder_spark.py"))
        .arg("--xborder")
        .arg(&xborder)
        .args(args)
        .args(["--spark-partitions", "4"]);
    run(submit);
    std::fs::rename(dir.path().join("out"), dir.path().join("spark")).unwrap();
    assert_identical(&dir.path().join("local"), &dir.path().join("spark"), 4);
}

/// The adversarial fixture: the expectations of tests/fixtures/spark/README.md, and the
/// same bytes as one machine.
#[test]
fn adversarial_fixture_gives_the_hand_checked_results() {
    let Some(spark) = spark() else { return };
    let dir = fixture("spark");
    let args = [
        "logs",
        "--sites",
        "sites.toml",
        "--period",
        "2026-Q3",
        "--dns-max-age",
        "86400",
    ];
    let (l, s) = both(&spark, dir.path(), &args, "local[2]", 5);
    assert_identical(&l, &s, 5);

    let evidence = common::rows(&s.join("evidence.csv"));
    let of = |client: &str| -> Vec<&std::collections::BTreeMap<String, String>> {
        evidence.iter().filter(|r| r["src_ip"] == client).collect()
    };
    let vendors =
        |client: &str| -> Vec<String> { of(client).iter().map(|r| r["vendor"].clone()).collect() };
    let sum = |client: &str, col: &str| -> u64 {
        of(client)
            .iter()
            .map(|r| r[col].parse::<u64>().unwrap())
            .sum()
    };
    // A uid reused across files: a conflict, kept and listed; an exact repeat: a duplicate.
    assert_eq!(vendors("10.1.1.1"), ["Anthropic", "Anthropic"]);
    assert_eq!(
        (vendors("10.1.1.2"), sum("10.1.1.2", "bytes_out")),
        (vec!["Anthropic".to_string()], 2000)
    );
    let conflicts = common::rows(&s.join("conflicts.csv"));
    assert_eq!(conflicts.len(), 1);
    assert_eq!(
        (
            conflicts[0]["file"].as_str(),
            conflicts[0]["line"].as_str(),
            conflicts[0]["uid"].as_str()
        ),
        ("logs/conn-b.log", "7", "CA1")
    );
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.join("run.json")).unwrap()).unwrap();
    let conn_b = run["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "logs/conn-b.log")
        .unwrap();
    assert_eq!(
        (
            &conn_b["counts"]["read"],
            &conn_b["counts"]["accepted"],
            &conn_b["counts"]["duplicate"]
        ),
        (
            &serde_json::json!(2),
            &serde_json::json!(1),
            &serde_json::json!(1)
        )
    );
    assert_eq!(conn_b["flows"]["uid_conflicts"], 1);
    // An answer at 23:50 attributes a flow at 00:20.
    assert_eq!(vendors("10.1.2.1"), ["OpenAI"]);
    // Exactly at the 24 h limit: attributed; one microsecond later: not.
    assert_eq!(
        (vendors("10.1.3.1"), sum("10.1.3.1", "bytes_out")),
        (vec!["Anthropic".to_string()], 4000)
    );
    // A stale newer answer hides an older fresh one across midnight.
    assert!(of("10.1.4.1").is_empty());
    // Equal response times in two files: the later input's answer is the newest.
    assert_eq!(vendors("10.1.5.1"), ["OpenAI"]);
    // A uniflow record from the vendor to the client, turned round.
    let uniflow = of("10.1.6.1");
    assert_eq!(uniflow.len(), 1);
    assert_eq!(
        (
            uniflow[0]["bytes_out"].as_str(),
            uniflow[0]["bytes_in"].as_str(),
            uniflow[0]["vendor"].as_str()
        ),
        ("0", "5000", "Anthropic")
    );
    // The NAT client with most of the flows.
    assert_eq!(of("10.1.7.1").len(), 120);
    assert_eq!(
        (sum("10.1.7.1", "bytes_out"), sum("10.1.7.1", "bytes_in")),
        (127_260, 1_200)
    );
    let other = common::rows(&s.join("cross_border_other.csv"));
    let pipl: Vec<_> = other.iter().filter(|r| r["regime"] == "PIPL").collect();
    assert_eq!(pipl.len(), 1);
    assert_eq!(
        (
            pipl[0]["flows"].as_str(),
            pipl[0]["bytes_out"].as_str(),
            pipl[0]["bytes_in"].as_str()
        ),
        ("2", "9100", "910")
    );
}

#[test]
fn a_million_generated_flows_match_one_machine() {
    let Some(spark) = spark() else { return };
    let dir = tempfile::tempdir().unwrap();
    run({
        let mut c = xborder_in(dir.path());
        c.args(["generate", "--flows", "1000000", "--out", "gen"]);
        c
    });
    let args = ["gen/logs", "--sites", "gen/sites.toml"];
    let (l, s) = both(&spark, dir.path(), &args, "local[2]", 7);
    assert_identical(&l, &s, 7);
}

/// A signed evidence pack made by a Spark run verifies like any other.
#[test]
fn a_signed_pack_from_a_spark_run_verifies() {
    let Some(spark) = spark() else { return };
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&common::root().join("data/sample"), &dir.path().join("in"));
    std::fs::copy(
        common::root().join("tests/golden/signer.key"),
        dir.path().join("signer.key"),
    )
    .unwrap();
    let args = [
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
    ];
    run(spark_command(&spark, dir.path(), &args, "local[2]", 2));
    let out = xborder_in(dir.path())
        .args(["verify", "pack"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A standalone cluster (a master and two workers on 127.0.0.1, started by
/// spark/cluster.py): one worker is killed while the job runs; Spark reruns its tasks on
/// the other and the outputs are still those of one machine.
#[test]
fn a_standalone_cluster_survives_a_killed_worker() {
    let Some(spark) = spark() else { return };
    let dir = tempfile::tempdir().unwrap();
    run({
        let mut c = xborder_in(dir.path());
        c.args(["generate", "--flows", "300000", "--out", "gen"]);
        c
    });
    let local = [
        "analyze",
        "gen/logs",
        "--sites",
        "gen/sites.toml",
        "--out",
        "out",
        "--quiet",
    ];
    run({
        let mut c = xborder_in(dir.path());
        c.args(local);
        c
    });
    std::fs::rename(dir.path().join("out"), dir.path().join("local")).unwrap();

    let cluster = Cluster::start(&spark, &dir.path().join("cluster"));
    let log_path = dir.path().join("driver.log");
    let child = spark_command(&spark, dir.path(), &local, &cluster.master, 6)
        // Task starts and the lost worker are INFO lines.
        .args(["--spark-conf", "spark.log.level=INFO"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    // Kill the worker of the first executor that starts reading an input, while it reads.
    let executor = wait_for_line(&log_path, Duration::from_secs(180), |line| {
        let rest = line.split_once("Starting task ")?.1;
        if !rest.contains(" in stage 0.0 ") {
            return None;
        }
        let e = rest.split_once("executor ")?.1;
        Some(e.split(|c: char| !c.is_ascii_digit()).next()?.to_string())
    });
    cluster.kill_worker(cluster.worker_of(&executor));
    let out = child.wait_with_output().unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        out.status.success(),
        "the Spark run failed after a worker was killed: {log}"
    );
    // The lost worker, and its task run again (a second attempt, `N.1`) elsewhere.
    assert!(
        log.contains("worker lost"),
        "the driver's log shows the lost worker: {log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("Starting task ") && l.contains(".1 in stage ")),
        "the driver's log shows a task attempted again: {log}"
    );
    std::fs::rename(dir.path().join("out"), dir.path().join("spark")).unwrap();
    assert_identical(&dir.path().join("local"), &dir.path().join("spark"), 6);
}

/// The first value `find` gets from a line of the growing file at `path`.
fn wait_for_line(path: &Path, limit: Duration, find: impl Fn(&str) -> Option<String>) -> String {
    let start = Instant::now();
    while start.elapsed() < limit {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(v) = text.lines().find_map(&find) {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "no line expected in {} within {limit:?}: {}",
        path.display(),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

/// A loopback standalone cluster, stopped when dropped.
struct Cluster {
    python: PathBuf,
    dir: PathBuf,
    master: String,
}

impl Cluster {
    fn start(spark: &Spark, dir: &Path) -> Cluster {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new(&spark.python)
            .arg(common::root().join("spark/cluster.py"))
            .args(["start", "--dir"])
            .arg(dir)
            .args(["--workers", "2"])
            .env("SPARK_LOCAL_IP", "127.0.0.1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cluster.py start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let started: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        Cluster {
            python: spark.python.clone(),
            dir: dir.to_path_buf(),
            master: started["master"].as_str().unwrap().to_string(),
        }
    }

    /// The worker whose work directory holds executor `id` (DIR/work/worker-N/APP/ID).
    fn worker_of(&self, id: &str) -> u32 {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            for n in 0..2u32 {
                let work = self.dir.join("work").join(format!("worker-{n}"));
                let apps = std::fs::read_dir(&work).into_iter().flatten().flatten();
                if apps.into_iter().any(|app| app.path().join(id).is_dir()) {
                    return n;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no worker holds executor {id}");
    }

    fn kill_worker(&self, n: u32) {
        let out = Command::new(&self.python)
            .arg(common::root().join("spark/cluster.py"))
            .args(["kill-worker", "--dir"])
            .arg(&self.dir)
            .arg(n.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kill-worker: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(&self.python)
            .arg(common::root().join("spark/cluster.py"))
            .args(["stop", "--dir"])
            .arg(&self.dir)
            .output();
    }
}

/// What the Spark engine cannot do exactly is refused before Spark starts, and its
/// options need it (no Spark needed for these).
#[test]
fn spark_refuses_what_it_cannot_do_exactly() {
    let dir = fixture("proxy");
    let out = xborder_in(dir.path())
        .args([
            "analyze",
            "logs",
            "--sites",
            "sites.toml",
            "--out",
            "out",
            "--engine",
            "spark",
        ])
        .args(["--spark-submit", "/nonexistent/spark-submit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("proxy and gateway logs"), "{err}");
    assert!(!dir.path().join("out").exists());

    let out = xborder_in(dir.path())
        .args(["analyze", "logs", "--out", "out", "--master", "local[2]"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--master needs --engine spark"));

    let out = xborder_in(dir.path())
        .args(["analyze", "-", "--out", "out", "--engine", "spark"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("standard input (`-`) cannot be read"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
