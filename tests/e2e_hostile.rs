//! Hostile and careless inputs, one regression test per class (docs/methodology.md,
//! "Hostile inputs"): every record is counted, every total is exact or the record is
//! rejected with a reason, nothing panics or hangs, and no output folder mixes two runs.
//! Each fixture is written here, small enough to check by hand.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{json, rows, xborder};

const CONN_HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n\
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\tlocal_orig\n\
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\tcount\tbool\n";

const SITES: &str = "[[site]]\nname = \"cn-office\"\ncountry = \"CN\"\ncidrs = [\"10.1.0.0/16\"]\n";

/// 2026-07-02T00:00:00Z.
const JULY_2: u64 = 1_782_950_400;

/// A Zeek conn line from the CN office; 160.79.104.10 is in Anthropic's published range.
fn conn(ts: u64, uid: &str, dst: &str, bytes_out: &str) -> String {
    let proto = if dst.ends_with(".53") { "udp" } else { "tcp" };
    let port = if dst.ends_with(".53") { 53 } else { 443 };
    format!("{ts}.000000\t{uid}\t10.1.0.5\t40000\t{dst}\t{port}\t{proto}\t1.000000\t{bytes_out}\t100\tT\n")
}

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Self {
        let c = Case {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir(c.logs()).unwrap();
        std::fs::write(c.path("sites.toml"), SITES).unwrap();
        c
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn logs(&self) -> PathBuf {
        self.path("logs")
    }
    fn write_log(&self, name: &str, body: &str) -> PathBuf {
        let p = self.logs().join(name);
        std::fs::write(&p, body).unwrap();
        p
    }
    /// logs/conn.log with one 1000-byte flow to Anthropic on 2 July.
    fn one_flow(&self) -> PathBuf {
        self.write_log(
            "conn.log",
            &format!(
                "{CONN_HEADER}{}",
                conn(JULY_2, "C1", "160.79.104.10", "1000")
            ),
        )
    }
    fn analyze(&self, inputs: &[&Path], out: &Path, extra: &[&str]) -> Output {
        xborder()
            .arg("analyze")
            .args(inputs)
            .arg("--sites")
            .arg(self.path("sites.toml"))
            .args(["--period", "2026-Q3", "--out"])
            .arg(out)
            .args(extra)
            .output()
            .unwrap()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "exit {:?}: {}", o.status, stderr(o));
    assert!(!stderr(o).contains("panicked"), "{}", stderr(o));
}

/// Flow counts of a run: (read, accepted, rejected, duplicate).
fn flow_counts(out: &Path) -> (u64, u64, u64, u64) {
    let run = json(&out.join("run.json"));
    let c = &run["totals"]["flow_records"];
    let n = |k: &str| c[k].as_u64().unwrap();
    (n("read"), n("accepted"), n("rejected"), n("duplicate"))
}

/// Bytes out to Anthropic in summary_by_vendor.csv.
fn anthropic_bytes(out: &Path) -> u64 {
    rows(&out.join("summary_by_vendor.csv"))
        .iter()
        .filter(|r| r["vendor"] == "Anthropic")
        .map(|r| r["bytes_out"].parse::<u64>().unwrap())
        .sum()
}

/// Run `cmd`, failing the test if it has not ended within 60 s (a hang).
fn run_bounded(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the command hung: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mkfifo(path: &Path) {
    let s = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(s.success());
}

/// Class 1: a byte count above 2^53 is a rejected field, not a term of a sum that wraps;
/// and a run-wide total that would pass 2^64 stops the run instead of wrapping.
#[test]
fn byte_totals_never_wrap() {
    let c = Case::new();
    let body = format!(
        "{CONN_HEADER}{}{}",
        conn(JULY_2 + 10, "C1", "160.79.104.10", "5000000000"),
        conn(JULY_2 + 20, "C2", "160.79.104.10", "18446744068709551616")
    );
    c.write_log("conn.log", &body);
    let out = c.path("out");
    let o = c.analyze(&[&c.logs()], &out, &[]);
    ok(&o);
    assert_eq!(flow_counts(&out), (2, 1, 1, 0));
    assert_eq!(anthropic_bytes(&out), 5_000_000_000);
    let rejects = rows(&out.join("rejects.csv"));
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0]["field"], "bytes_out");
    assert_eq!(rejects[0]["line"], "9");

    // 2,049 flows of 2^53 bytes each: the total passes 2^64.
    let mut body = CONN_HEADER.to_string();
    for i in 0..2049u64 {
        body.push_str(&conn(
            JULY_2 + i,
            &format!("B{i}"),
            "160.79.104.10",
            "9007199254740992",
        ));
    }
    c.write_log("conn.log", &body);
    let out = c.path("out-overflow");
    let o = c.analyze(&[&c.logs()], &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("2^64-1"), "{}", stderr(&o));
    assert!(!out.exists(), "no outputs from a failed run");
}

/// Class 2: JSON records are framed by the grammar: a one-line array and objects back to
/// back are all read and counted.
#[test]
fn json_records_on_one_line_are_all_read() {
    let c = Case::new();
    let obj = |uid: &str, ts: u64| {
        format!(
            r#"{{"ts":{ts}.0,"uid":"{uid}","id.orig_h":"10.1.0.5","id.orig_p":40000,"id.resp_h":"160.79.104.10","id.resp_p":443,"proto":"tcp","duration":1.0,"orig_bytes":1000,"resp_bytes":10,"conn_state":"SF"}}"#
        )
    };
    let body = format!(
        "[{},{},{}]\n{}{}\n",
        obj("J1", JULY_2),
        obj("J2", JULY_2 + 1),
        obj("J3", JULY_2 + 2),
        obj("J4", JULY_2 + 3),
        obj("J5", JULY_2 + 4)
    );
    c.write_log("conn.json", &body);
    let out = c.path("out");
    let o = c.analyze(&[&c.logs()], &out, &["--strict"]);
    ok(&o);
    assert_eq!(flow_counts(&out), (5, 5, 0, 0));
    assert_eq!(anthropic_bytes(&out), 5000);
}

/// Class 3: a run that fails late leaves the previous outputs as they were; a second run
/// into a destination being written is refused; a failed pack can be retried; a folder
/// that is not an xborder output is never replaced.
#[test]
fn output_folders_never_mix_two_runs() {
    let c = Case::new();
    c.one_flow();
    let out = c.path("out");
    ok(&c.analyze(&[&c.logs()], &out, &[]));
    let before = std::fs::read(out.join("run.json")).unwrap();

    // Fails after the analysis, while writing (no such baseline).
    let o = c.analyze(
        &[&c.logs()],
        &out,
        &["--baseline", c.path("no-such-run").to_str().unwrap()],
    );
    assert!(!o.status.success());
    assert_eq!(std::fs::read(out.join("run.json")).unwrap(), before);
    let leftovers: Vec<String> = std::fs::read_dir(c.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("xborder-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Another run holds the destination's lock.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(c.path(".out.xborder-lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let o = c.analyze(&[&c.logs()], &out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("another xborder run"), "{}", stderr(&o));
    drop(lock);

    // A pack that failed can be written again at the same place.
    let pack = c.path("pack");
    let o = xborder()
        .arg("analyze")
        .arg(c.logs())
        .args(["--period", "2026-Q3", "--pack"])
        .arg(&pack)
        .arg("--baseline")
        .arg(c.path("no-such-run"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(!pack.exists());
    let o = xborder()
        .arg("analyze")
        .arg(c.logs())
        .args(["--period", "2026-Q3", "-q", "--pack"])
        .arg(&pack)
        .output()
        .unwrap();
    ok(&o);
    assert!(pack.join("data/run.json").is_file());

    // A folder of other files is refused, not replaced.
    let foreign = c.path("notes");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let o = c.analyze(&[&c.logs()], &foreign, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(foreign.join("notes.txt").exists());
}

/// Class 4: a corrupt Parquet footer or data page is a reject naming the cause, never a
/// panic; rows are counted from the footer where it can be read.
#[test]
fn corrupt_parquet_is_rejected_not_a_panic() {
    let c = Case::new();
    let good = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/formats/zeek-conn-parquet/conn-athena.parquet"),
    )
    .unwrap();
    let n = good.len();
    // The footer: the metadata before its length and the trailing magic.
    let mut footer = good.clone();
    for b in &mut footer[n - 200..n - 8] {
        *b = 0xA5;
    }
    // The data pages: bytes after the leading magic.
    let mut pages = good.clone();
    for b in &mut pages[4..n / 3] {
        *b = 0x5A;
    }
    for (name, bytes) in [("footer.parquet", footer), ("pages.parquet", pages)] {
        let path = c.write_log(name, "");
        std::fs::write(&path, bytes).unwrap();
        let out = c.path(&format!("out-{name}"));
        let o = run_bounded({
            let mut cmd = xborder();
            cmd.arg("analyze")
                .arg(&path)
                .args(["--format", "zeek-conn-parquet", "--out"])
                .arg(&out);
            cmd
        });
        ok(&o);
        let (read, accepted, rejected, _) = flow_counts(&out);
        assert!(read >= 1 && rejected >= 1, "{name}: {read} {rejected}");
        assert_eq!(read, accepted + rejected, "{name}");
        let o = run_bounded({
            let mut cmd = xborder();
            cmd.arg("inspect")
                .arg(&path)
                .args(["--format", "zeek-conn-parquet"]);
            cmd
        });
        assert_ne!(o.status.code(), Some(101), "{name}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{name}: {}", stderr(&o));
    }
}

/// Class 5: a FIFO is refused when named and skipped inside a directory; `verify` does
/// not wait on a FIFO in a pack.
#[test]
fn fifos_never_hang_a_run() {
    let c = Case::new();
    c.one_flow();
    let fifo = c.logs().join("pipe.log");
    mkfifo(&fifo);
    let o = run_bounded({
        let mut cmd = xborder();
        cmd.arg("analyze").arg(&fifo).arg("--out").arg(c.path("a"));
        cmd
    });
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));

    let out = c.path("b");
    let o = run_bounded({
        let mut cmd = xborder();
        cmd.arg("analyze")
            .arg(c.logs())
            .args(["--period", "2026-Q3", "--out"])
            .arg(&out);
        cmd
    });
    ok(&o);
    let run = json(&out.join("run.json"));
    let inputs = run["inputs"].as_array().unwrap();
    assert!(inputs
        .iter()
        .any(|f| f["format"] == "skipped:not-a-regular-file"));

    let pack = c.path("pack");
    std::fs::remove_file(&fifo).unwrap();
    ok(&xborder()
        .arg("analyze")
        .arg(c.logs())
        .args(["--period", "2026-Q3", "-q", "--pack"])
        .arg(&pack)
        .output()
        .unwrap());
    let victim = pack.join("data/findings.csv");
    std::fs::remove_file(&victim).unwrap();
    mkfifo(&victim);
    let o = run_bounded({
        let mut cmd = xborder();
        cmd.arg("verify").arg(&pack);
        cmd
    });
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
}

/// Class 6: a forged file that sorts first and reuses real connection ids for another
/// destination cannot turn real egress into "duplicate"; true repeats still are.
#[test]
fn forged_duplicates_cannot_hide_egress() {
    let c = Case::new();
    let real = format!(
        "{CONN_HEADER}{}{}",
        conn(JULY_2 + 10, "CReal1", "160.79.104.10", "6000000000"),
        conn(JULY_2 + 20, "CReal2", "160.79.104.10", "4000000000")
    );
    c.write_log("conn.log", &real);
    c.write_log("conn.overlap.log", &real);
    c.write_log(
        "a-forged.log",
        &format!(
            "{CONN_HEADER}{}{}",
            conn(JULY_2 + 10, "CReal1", "10.1.0.53", "10"),
            conn(JULY_2 + 20, "CReal2", "10.1.0.53", "10")
        ),
    );
    let out = c.path("out");
    let o = c.analyze(&[&c.logs()], &out, &[]);
    ok(&o);
    assert_eq!(anthropic_bytes(&out), 10_000_000_000);
    assert_eq!(flow_counts(&out), (6, 4, 0, 2));
    let run = json(&out.join("run.json"));
    assert_eq!(run["totals"]["flows"]["uid_conflicts"], 2);
    let conflicts = rows(&out.join("conflicts.csv"));
    assert_eq!(conflicts.len(), 2);
    assert!(conflicts.iter().all(|r| r["dst_ip"] == "160.79.104.10"));
    assert!(String::from_utf8_lossy(&o.stdout).contains("reuse a connection id"));
}

/// Class 7: ESC and BEL bytes from a log never reach the terminal or a CSV raw.
#[test]
fn terminal_escapes_are_escaped() {
    let c = Case::new();
    let hostile = format!(
        "{CONN_HEADER}{JULY_2}.000000\tC\x1b]0;pwned\x07\t10.1.0.5\t40000\t160.79.104.10\t443\ttcp\t1.0\t10\t10\tT\n\
         {JULY_2}.000000\tC2\t10.1.0.\x1b[2J5\t40000\t160.79.104.10\t443\ttcp\t1.0\t10\t10\tT\n"
    );
    let log = c.write_log("conn.log", &hostile);
    let out = c.path("out");
    let o = c.analyze(&[&c.logs()], &out, &[]);
    ok(&o);
    let rejects = std::fs::read(out.join("rejects.csv")).unwrap();
    assert!(!rejects.contains(&0x1b) && !rejects.contains(&0x07));
    assert_eq!(rows(&out.join("rejects.csv")).len(), 1);

    let o = c.analyze(&[&c.logs()], &c.path("strict"), &["--strict"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(!o.stderr.contains(&0x1b), "{:?}", stderr(&o));
    assert!(stderr(&o).contains("\\x1b"), "{}", stderr(&o));

    let o = xborder().arg("inspect").arg(&log).output().unwrap();
    ok(&o);
    assert!(!o.stdout.contains(&0x1b) && !o.stdout.contains(&0x07));
    assert!(String::from_utf8_lossy(&o.stdout).contains("\\x1b]0;pwned\\x07"));

    // A proxy log's user field, shown by inspect.
    let squid = c.path("access.log");
    std::fs::write(
        &squid,
        "1791205921.123    352 10.1.2.3 TCP_TUNNEL/200 5120 CONNECT api.anthropic.com:443 al\x1b[2Jice HIER_DIRECT/160.79.104.10 -\n",
    )
    .unwrap();
    let o = xborder().arg("inspect").arg(&squid).output().unwrap();
    ok(&o);
    assert!(
        !o.stdout.contains(&0x1b),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("al\\x1b[2Jice"));
}

/// Class 8 (sites): a site CIDR written as IPv4-mapped IPv6 matches the office's IPv4
/// flows instead of silently matching nothing; host bits get a warning.
#[test]
fn mapped_site_cidrs_match() {
    let c = Case::new();
    std::fs::write(
        c.path("sites.toml"),
        "[[site]]\nname = \"cn-office\"\ncountry = \"CN\"\ncidrs = [\"::ffff:10.1.0.0/112\", \"10.2.3.4/16\"]\n",
    )
    .unwrap();
    c.one_flow();
    let out = c.path("out");
    let o = c.analyze(&[&c.logs()], &out, &[]);
    ok(&o);
    assert!(stderr(&o).contains("host bits"), "{}", stderr(&o));
    let findings = rows(&out.join("findings.csv"));
    assert!(findings.iter().any(|r| r["source_site"] == "cn-office"));
}

/// Class 9: --memory-limit holds while outputs are written too: over it, the run stops
/// with exit 5 and leaves no outputs.
#[test]
fn memory_limit_stops_before_outputs_appear() {
    let c = Case::new();
    c.one_flow();
    let out = c.path("out");
    let o = c.analyze(&[&c.logs()], &out, &["--memory-limit", "1MiB"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(!out.exists());
}

/// Class 10: gzip zero padding, --sign without --pack, a broken pipe, zstd in packs, a
/// stray file inside an input directory, and an I/O error's cause printed once.
#[test]
fn smaller_hostile_cases() {
    let c = Case::new();
    let body = format!(
        "{CONN_HEADER}{}",
        conn(JULY_2, "C1", "160.79.104.10", "1000")
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    let mut padded = gz.finish().unwrap();
    padded.extend(vec![0u8; 4096]);
    std::fs::write(c.logs().join("conn.log.gz"), padded).unwrap();
    std::fs::write(
        c.logs().join("conn.zst"),
        zstd::encode_all(body.replace("C1", "C9").as_bytes(), 3).unwrap(),
    )
    .unwrap();
    std::fs::write(c.logs().join("README.txt"), "These are our July logs.\n").unwrap();

    let pack = c.path("pack");
    let o = xborder()
        .arg("analyze")
        .arg(c.logs())
        .args(["--period", "2026-Q3", "--include-inputs", "--pack"])
        .arg(&pack)
        .output()
        .unwrap();
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("skipped"));
    assert_eq!(flow_counts(&pack.join("data")), (2, 2, 0, 0));
    let formats = common::field_of_each(&json(&pack.join("data/run.json")), "inputs", "format");
    assert!(
        formats.iter().any(|f| f == "skipped:unrecognised"),
        "{formats:?}"
    );
    let members: Vec<String> = std::fs::read_dir(pack.join("data/inputs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(members.iter().any(|m| m.ends_with(".zst")), "{members:?}");
    assert!(members.iter().any(|m| m.ends_with(".gz")), "{members:?}");

    // The README named explicitly is still an error.
    let o = c.analyze(&[&c.logs().join("README.txt")], &c.path("o2"), &[]);
    assert_eq!(o.status.code(), Some(3));

    let o = xborder()
        .arg("analyze")
        .arg(c.logs())
        .arg("--out")
        .arg(c.path("o3"))
        .arg("--sign")
        .arg(c.path("key"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    let mut child = xborder()
        .arg("formats")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));

    let o = c.analyze(&[&c.path("missing")], &c.path("o4"), &[]);
    assert_eq!(
        stderr(&o).matches("No such file").count(),
        1,
        "{}",
        stderr(&o)
    );
}
