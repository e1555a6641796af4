//! End-to-end runs over sensor and SIEM formats (Suricata EVE, ECS NDJSON, OCSF JSON and
//! Parquet, Splunk CIM CSV).
//!
//! The trap scenario of tests/fixtures/traps (Zeek logs whose findings were worked out by
//! hand) was converted record for record into EVE, ECS and OCSF by
//! tests/fixtures/traps-sensors/convert.py. Each conversion must give the Zeek run's
//! findings.csv and cross_border_other.csv byte for byte: nothing in those tables depends
//! on the input format (finding ids hash site, countries, vendor, product and method).

mod common;

use std::path::{Path, PathBuf};

use common::{json, rows, xborder};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Run analyze over `inputs` with the trap sites for 2026-Q3.
fn analyze(inputs: &[PathBuf], out: &Path) {
    let o = xborder()
        .arg("analyze")
        .args(inputs)
        .arg("--sites")
        .arg(fixture("traps/sites.toml"))
        .args(["--period", "2026-Q3", "--quiet", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_trap_scenario_gives_the_same_findings_in_eve_ecs_and_ocsf() {
    let zeek = tempfile::tempdir().unwrap();
    analyze(&[fixture("traps/logs")], zeek.path());
    let zeek_run = json(&zeek.path().join("run.json"));
    for format in ["eve", "ecs", "ocsf"] {
        let out = tempfile::tempdir().unwrap();
        analyze(&[fixture("traps-sensors").join(format)], out.path());
        for table in ["findings.csv", "cross_border_other.csv"] {
            assert_eq!(
                read(&out.path().join(table)),
                read(&zeek.path().join(table)),
                "{format}: {table} differs from the Zeek run"
            );
        }
        let run = json(&out.path().join("run.json"));
        // The same flows fall in the same buckets: egress, internal, inbound, unset bytes,
        // vendor attribution by method.
        assert_eq!(
            run["totals"]["flows"], zeek_run["totals"]["flows"],
            "{format}: flow breakdown"
        );
        let mixed = &run["totals"]["mixed_records"];
        let (flows, dns) = (
            &zeek_run["totals"]["flow_records"],
            &zeek_run["totals"]["dns_records"],
        );
        for bucket in ["duplicate", "outside_period", "rejected"] {
            assert_eq!(
                mixed[bucket].as_u64().unwrap(),
                flows[bucket].as_u64().unwrap() + dns[bucket].as_u64().unwrap(),
                "{format}: {bucket}"
            );
        }
    }
}

/// Lines of a small EVE file: DNS answers say one thing, the client's TLS server name
/// another. The SNI wins, and the run counts the disagreement.
fn sni_scenario() -> String {
    let dns = |fid: u32, client: &str, name: &str, addr: &str| {
        format!(
            r#"{{"timestamp":"2026-07-02T00:00:00.000000+0000","flow_id":{fid},"event_type":"dns","src_ip":"{client}","src_port":5353,"dest_ip":"10.1.0.53","dest_port":53,"proto":"UDP","dns":{{"version":2,"type":"answer","id":{fid},"rrname":"{name}","rrtype":"A","rcode":"NOERROR","answers":[{{"rrname":"{name}","rrtype":"A","ttl":300,"rdata":"{addr}"}}]}}}}"#
        )
    };
    let tls = |fid: u32, client: &str, addr: &str, sni: &str| {
        format!(
            r#"{{"timestamp":"2026-07-02T00:00:10.100000+0000","flow_id":{fid},"event_type":"tls","src_ip":"{client}","src_port":40000,"dest_ip":"{addr}","dest_port":443,"proto":"TCP","tls":{{"sni":"{sni}","version":"TLS 1.3"}}}}"#
        )
    };
    let flow = |fid: u32, client: &str, addr: &str, up: u64, down: u64| {
        format!(
            r#"{{"timestamp":"2026-07-02T00:01:00.000000+0000","flow_id":{fid},"event_type":"flow","src_ip":"{client}","src_port":40000,"dest_ip":"{addr}","dest_port":443,"proto":"TCP","app_proto":"tls","flow":{{"bytes_toserver":{up},"bytes_toclient":{down},"start":"2026-07-02T00:00:10.000000+0000","end":"2026-07-02T00:00:11.000000+0000"}}}}"#
        )
    };
    let netflow = |fid: u32, src: &str, sport: u16, dst: &str, dport: u16, bytes: u64| {
        format!(
            r#"{{"timestamp":"2026-07-02T00:01:00.000000+0000","flow_id":{fid},"event_type":"netflow","src_ip":"{src}","src_port":{sport},"dest_ip":"{dst}","dest_port":{dport},"proto":"TCP","netflow":{{"bytes":{bytes},"pkts":3,"start":"2026-07-02T00:00:10.000000+0000","end":"2026-07-02T00:00:11.000000+0000"}}}}"#
        )
    };
    [
        // 10.1.0.5 resolved api.openai.com to a shared CDN address, but the TLS handshake
        // on flow 42 asked for api.anthropic.com: Anthropic, by SNI.
        dns(7, "10.1.0.5", "api.openai.com", "104.18.32.7"),
        tls(42, "10.1.0.5", "104.18.32.7", "api.anthropic.com"),
        flow(42, "10.1.0.5", "104.18.32.7", 4200, 420),
        // 10.1.0.6 resolved chatgpt.com, but flow 43 named a shop on the same CDN address
        // (reported as a netflow pair): not an AI vendor at all.
        dns(8, "10.1.0.6", "chatgpt.com", "104.18.32.7"),
        tls(43, "10.1.0.6", "104.18.32.7", "shop.example.com"),
        netflow(43, "10.1.0.6", 40000, "104.18.32.7", 443, 4300),
        netflow(43, "104.18.32.7", 443, "10.1.0.6", 40000, 430),
        // Flow 44 has no TLS event: the DNS answer attributes it to OpenAI.
        flow(44, "10.1.0.5", "104.18.32.7", 4400, 440),
        r#"{"timestamp":"2026-07-02T00:02:00.000000+0000","event_type":"stats","stats":{"uptime":120}}"#.to_string(),
    ]
    .join("\n")
}

#[test]
fn a_tls_server_name_outranks_the_dns_answer_and_the_disagreement_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    std::fs::write(&eve, sni_scenario()).unwrap();
    let out = tempfile::tempdir().unwrap();
    analyze(&[eve], out.path());
    let run = json(&out.path().join("run.json"));
    let flows = &run["totals"]["flows"];
    assert_eq!(
        flows["attribution_disagreements"]["sni_vs_dns"], 2,
        "{flows}"
    );
    assert_eq!(flows["ai_by_method"]["sni"], 1, "{flows}");
    assert_eq!(flows["ai_by_method"]["dns"], 1, "{flows}");
    let counts = &run["totals"]["mixed_records"];
    // 2 dns + 2 tls + 2 flow + 1 merged netflow pair, the first half and stats filtered.
    assert_eq!(counts["accepted"], 7, "{counts}");
    assert_eq!(counts["filtered_by_reason"]["netflow_half_merged"], 1);
    assert_eq!(counts["filtered_by_reason"]["eve_stats"], 1);

    let findings = rows(&out.path().join("findings.csv"));
    let pipl: Vec<_> = findings.iter().filter(|r| r["regime"] == "PIPL").collect();
    let summary: Vec<(&str, &str, &str, &str)> = pipl
        .iter()
        .map(|r| {
            (
                r["vendor"].as_str(),
                r["attribution"].as_str(),
                r["bytes_out"].as_str(),
                r["bytes_in"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Anthropic", "sni", "4200", "420"),
            ("OpenAI", "dns", "4400", "440")
        ]
    );
    // The shop flow is cross-border egress to no AI vendor.
    let other = rows(&out.path().join("cross_border_other.csv"));
    let pipl_other: Vec<_> = other.iter().filter(|r| r["regime"] == "PIPL").collect();
    assert_eq!(pipl_other.len(), 1);
    assert_eq!(
        (
            pipl_other[0]["bytes_out"].as_str(),
            pipl_other[0]["bytes_in"].as_str()
        ),
        ("4300", "430")
    );
}
