//! One connection (10.10.0.5 in a Hangzhou site uploading 18 350 bytes to Anthropic's
//! 160.79.104.10 and receiving 96 211) written as AWS VPC, Azure NSG, GCP VPC and goflow2
//! flow logs: each must give the same PIPL finding, worked out by hand.

mod common;

use common::{json, rows, xborder};

const SITES: &str = "[[site]]\nname = \"hangzhou\"\ncountry = \"CN\"\ncidrs = [\"10.10.0.0/16\"]\n";

/// Two uniflow records; the return one (vendor → client) lands in bytes_in. The REJECT
/// row and the NODATA row are filtered.
const AWS: &str = "\
2 123456789012 eni-0a1b2c3d4e5f60718 10.10.0.5 160.79.104.10 51544 443 6 42 18350 1782864000 1782864060 ACCEPT OK
2 123456789012 eni-0a1b2c3d4e5f60718 160.79.104.10 10.10.0.5 443 51544 6 38 96211 1782864000 1782864060 ACCEPT OK
2 123456789012 eni-0a1b2c3d4e5f60718 10.10.0.5 160.79.104.10 51545 443 6 3 999 1782864000 1782864060 REJECT OK
2 123456789012 eni-0a1b2c3d4e5f60718 - - - - - - - 1782864060 1782864120 - NODATA
";

/// A B tuple (filtered), then C and E tuples whose counts add up: 15000 + 3350 up,
/// 42000 + 54211 down; a denied tuple (filtered).
const AZURE: &str = r#"{"records":[{"time":"2026-07-01T00:05:00Z","category":"NetworkSecurityGroupFlowEvent","properties":{"Version":2,"flows":[{"rule":"AllowOut","flows":[{"mac":"000D3AF87856","flowTuples":["1782864000,10.10.0.5,160.79.104.10,51544,443,T,O,A,B,,,,","1782864030,10.10.0.5,160.79.104.10,51544,443,T,O,A,C,20,15000,18,42000","1782864060,10.10.0.5,160.79.104.10,51544,443,T,O,A,E,22,3350,20,54211","1782864000,10.10.0.5,160.79.104.10,51545,443,T,O,D,B,,,,"]}]}]}}]}
"#;

/// Upload, its second report (same flow, same uid: a duplicate), and the return direction.
const GCP: &str = r#"{"jsonPayload":{"bytes_sent":"18350","connection":{"dest_ip":"160.79.104.10","dest_port":443,"protocol":6,"src_ip":"10.10.0.5","src_port":51544},"reporter":"SRC","start_time":"2026-07-01T00:00:00.000000000Z","end_time":"2026-07-01T00:01:00Z"},"logName":"projects/p/logs/compute.googleapis.com%2Fvpc_flows"}
{"jsonPayload":{"bytes_sent":"18350","connection":{"dest_ip":"160.79.104.10","dest_port":443,"protocol":6,"src_ip":"10.10.0.5","src_port":51544},"reporter":"DEST","start_time":"2026-07-01T00:00:00.000000000Z","end_time":"2026-07-01T00:01:00Z"},"logName":"projects/p/logs/compute.googleapis.com%2Fvpc_flows"}
{"jsonPayload":{"bytes_sent":"96211","connection":{"dest_ip":"10.10.0.5","dest_port":51544,"protocol":6,"src_ip":"160.79.104.10","src_port":443},"reporter":"DEST","start_time":"2026-07-01T00:00:00.000000000Z","end_time":"2026-07-01T00:01:00Z"},"logName":"projects/p/logs/compute.googleapis.com%2Fvpc_flows"}
"#;

/// Sampled 1 in 10: 1835 × 10 up, 9621 × 10 down (estimates).
const GOFLOW2: &str = r#"{"type":"SFLOW_5","time_received_ns":1782864061000000000,"sampling_rate":10,"sampler_address":"192.0.2.254","time_flow_start_ns":1782864000000000000,"time_flow_end_ns":1782864060000000000,"bytes":1835,"packets":4,"src_addr":"10.10.0.5","dst_addr":"160.79.104.10","proto":"TCP","src_port":51544,"dst_port":443}
{"type":"SFLOW_5","time_received_ns":1782864061000000000,"sampling_rate":10,"sampler_address":"192.0.2.254","time_flow_start_ns":1782864000000000000,"time_flow_end_ns":1782864060000000000,"bytes":9621,"packets":4,"src_addr":"160.79.104.10","dst_addr":"10.10.0.5","proto":"TCP","src_port":443,"dst_port":51544}
"#;

/// Run analyze over one log; return the PIPL finding and the input's run.json entry.
fn analyze(
    name: &str,
    content: &str,
) -> (
    std::collections::BTreeMap<String, String>,
    serde_json::Value,
) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join(name);
    std::fs::write(&log, content).unwrap();
    let sites = dir.path().join("sites.toml");
    std::fs::write(&sites, SITES).unwrap();
    let out = dir.path().join("out");
    let o = xborder()
        .arg("analyze")
        .arg(&log)
        .arg("--sites")
        .arg(&sites)
        .args(["--period", "2026-Q3", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let findings = rows(&out.join("findings.csv"));
    let pipl: Vec<_> = findings
        .into_iter()
        .filter(|r| r["regime"] == "PIPL")
        .collect();
    assert_eq!(pipl.len(), 1, "{name}: {pipl:?}");
    let run = json(&out.join("run.json"));
    let input = run["inputs"][0].clone();
    (pipl.into_iter().next().unwrap(), input)
}

fn check(
    finding: &std::collections::BTreeMap<String, String>,
    flows: &str,
    bytes_in: &str,
    first_seen: &str,
) {
    assert_eq!(finding["vendor"], "Anthropic");
    assert_eq!(finding["attribution"], "ip_range");
    assert_eq!(finding["source_site"], "hangzhou");
    assert_eq!(finding["destination_country"], "US");
    assert_eq!(finding["flows"], flows);
    assert_eq!(finding["bytes_out"], "18350");
    assert_eq!(finding["bytes_in"], bytes_in);
    assert_eq!(finding["first_seen"], first_seen);
}

#[test]
fn one_connection_in_four_cloud_and_netflow_formats_gives_the_same_finding() {
    let (f, input) = analyze("vpc.log", AWS);
    assert_eq!(input["format"], "aws-vpc-flow");
    check(&f, "2", "96211", "2026-07-01T00:00:00Z");
    assert_eq!(input["counts"]["filtered_by_reason"]["vpc_rejected"], 1);
    assert_eq!(input["counts"]["filtered_by_reason"]["vpc_nodata"], 1);
    assert_eq!(input["flows"]["return_direction"], 1);

    let (f, input) = analyze("PT1H.json", AZURE);
    assert_eq!(input["format"], "azure-nsg-flow");
    // The C and E tuples of one connection are two records whose bytes add up.
    // Its first record is the C tuple, stamped 30 s after the B tuple.
    check(&f, "2", "96211", "2026-07-01T00:00:30Z");
    assert_eq!(input["counts"]["read"], 4);
    assert_eq!(input["counts"]["filtered_by_reason"]["azure_flow_begin"], 1);
    assert_eq!(input["counts"]["filtered_by_reason"]["azure_denied"], 1);

    let (f, input) = analyze("gcp.json", GCP);
    assert_eq!(input["format"], "gcp-vpc-flow");
    check(&f, "2", "96211", "2026-07-01T00:00:00Z");
    assert_eq!(input["counts"]["duplicate"], 1);

    let (f, input) = analyze("goflow2.json", GOFLOW2);
    assert_eq!(input["format"], "goflow2-json");
    check(&f, "2", "96210", "2026-07-01T00:00:00Z");
}
