//! Live DNS enrichment against a real DNS server on loopback: an embedded hickory-server
//! on 127.0.0.1 at a random port serves a `test.` zone with A, AAAA, CNAME chains, a PTR,
//! an NXDOMAIN name, a SERVFAIL name and a name that never answers in time. No test
//! touches any other network.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::prelude::*;
use hickory_server::net::runtime::{Time, TokioRuntimeProvider};
use hickory_server::proto::op::ResponseCode;
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, PTR, SOA};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordSet, RrKey};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, MessageResponseBuilder, ZoneType};
use hickory_server::Server;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/resolve")
        .join(name)
}

fn xborder() -> Command {
    let mut c = Command::cargo_bin("xborder").unwrap();
    c.env("SOURCE_DATE_EPOCH", "1793491200");
    c
}

/// The zone, keyed for the in-memory handler.
fn records(origin: &Name, extra: Vec<Record>) -> BTreeMap<RrKey, RecordSet> {
    let n = |s: &str| Name::from_str(s).unwrap();
    let mut list = vec![Record::from_rdata(
        origin.clone(),
        3600,
        RData::SOA(SOA::new(
            n("ns.test."),
            n("admin.test."),
            1,
            3600,
            600,
            86400,
            60,
        )),
    )];
    list.extend(extra);
    let mut map: BTreeMap<RrKey, RecordSet> = BTreeMap::new();
    for r in list {
        let key = RrKey::new(LowerName::from(&r.name), r.record_type());
        map.entry(key)
            .or_insert_with(|| RecordSet::new(r.name.clone(), r.record_type(), 1))
            .insert(r, 1);
    }
    map
}

fn forward_zone() -> (Name, BTreeMap<RrKey, RecordSet>) {
    let n = |s: &str| Name::from_str(s).unwrap();
    let a = |name: &str, ip: [u8; 4], ttl| {
        Record::from_rdata(n(name), ttl, RData::A(A(Ipv4Addr::from(ip))))
    };
    let origin = n("test.");
    let recs = vec![
        a("api.alpha.test.", [34, 117, 0, 10], 300),
        Record::from_rdata(
            n("api.alpha.test."),
            300,
            RData::AAAA(AAAA(Ipv6Addr::from_str("2600:1901::10").unwrap())),
        ),
        // chat -> edge.cdn -> e1.cdn -> A: a two-step CNAME chain.
        Record::from_rdata(
            n("chat.alpha.test."),
            120,
            RData::CNAME(CNAME(n("edge.cdn.test."))),
        ),
        Record::from_rdata(
            n("edge.cdn.test."),
            120,
            RData::CNAME(CNAME(n("e1.cdn.test."))),
        ),
        a("e1.cdn.test.", [34, 117, 0, 20], 60),
        Record::from_rdata(
            n("v6.alpha.test."),
            300,
            RData::AAAA(AAAA(Ipv6Addr::from_str("2600:1901::6").unwrap())),
        ),
        // Present so the catalog's slow and broken names exist; the handler intercepts them.
        a("slow.alpha.test.", [34, 117, 0, 30], 60),
        a("broken.alpha.test.", [34, 117, 0, 40], 60),
    ];
    let map = records(&origin, recs);
    (origin, map)
}

fn reverse_zone() -> (Name, BTreeMap<RrKey, RecordSet>) {
    let n = |s: &str| Name::from_str(s).unwrap();
    let origin = n("117.34.in-addr.arpa.");
    let recs = vec![Record::from_rdata(
        n("99.0.117.34.in-addr.arpa."),
        300,
        RData::PTR(PTR(n("chat.alpha.test."))),
    )];
    let map = records(&origin, recs);
    (origin, map)
}

/// The catalog, except that `slow.alpha.test` answers only after seconds and
/// `broken.alpha.test` always gets SERVFAIL.
struct Faulty {
    catalog: Catalog,
}

#[async_trait::async_trait]
impl RequestHandler for Faulty {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let name = request
            .request_info()
            .map(|i| i.query.name().to_string())
            .unwrap_or_default();
        if name.starts_with("slow.alpha.test") {
            tokio::time::sleep(Duration::from_secs(4)).await;
        }
        if name.starts_with("broken.alpha.test") {
            let response = MessageResponseBuilder::new(&request.queries, None)
                .error_msg(&request.metadata, ResponseCode::ServFail);
            return match response_handle.send_response(response).await {
                Ok(info) => info,
                Err(e) => panic!("sending SERVFAIL: {e}"),
            };
        }
        self.catalog
            .handle_request::<R, T>(request, response_handle)
            .await
    }
}

/// A DNS server on 127.0.0.1 at a random port, running until dropped.
struct TestDns {
    port: u16,
    _rt: tokio::runtime::Runtime,
}

impl TestDns {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let port = rt.block_on(async {
            let mut catalog = Catalog::new();
            for (origin, map) in [forward_zone(), reverse_zone()] {
                let zone = InMemoryZoneHandler::<TokioRuntimeProvider>::new(
                    origin.clone(),
                    map,
                    ZoneType::Primary,
                    AxfrPolicy::Deny,
                )
                .unwrap();
                catalog.upsert(LowerName::from(&origin), vec![Arc::new(zone)]);
            }
            let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let port = udp.local_addr().unwrap().port();
            let tcp = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            let mut server = Server::new(Faulty { catalog });
            server.register_socket(udp);
            server.register_listener(tcp, Duration::from_secs(5), 4096);
            // The server's tasks run on the runtime; keep the handle alive with them.
            tokio::spawn(async move {
                let _ = server.block_until_done().await;
            });
            port
        });
        TestDns { port, _rt: rt }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (headers, rows)
}

fn resolve(dns: &TestDns, out: &Path) -> std::process::Output {
    xborder()
        .arg("resolve")
        .arg("--vendors")
        .arg(fixture("vendors.toml"))
        .args([
            "--nameserver",
            &dns.addr(),
            "--timeout-ms",
            "400",
            "--attempts",
            "1",
        ])
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// Zeek JSON conn lines at the given epoch seconds.
fn conn_log(dir: &Path, flows: &[(i64, &str, &str, u64)]) -> PathBuf {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut text = String::new();
    for (i, (ts, src, dst, bytes)) in flows.iter().enumerate() {
        text.push_str(&format!(
            "{{\"ts\": {ts}, \"uid\": \"R{i}\", \"id.orig_h\": \"{src}\", \"id.orig_p\": 40000, \"id.resp_h\": \"{dst}\", \"id.resp_p\": 443, \"proto\": \"tcp\", \"orig_bytes\": {bytes}, \"resp_bytes\": 100, \"conn_state\": \"SF\"}}\n"
        ));
    }
    std::fs::write(logs.join("conn.json"), text).unwrap();
    logs
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn resolve_writes_answers_and_failures_then_analyze_attributes_by_snapshot() {
    let dns = TestDns::start();
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snapshots/snap.csv");
    let o = resolve(&dns, &snap);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("network access"), "{stderr}");
    assert!(stderr.contains(&dns.addr()), "{stderr}");

    let (headers, rows) = read_csv(&snap);
    assert_eq!(
        headers,
        [
            "host",
            "record_type",
            "ip",
            "cname_chain",
            "ttl",
            "resolved_at",
            "resolver",
            "rcode",
            "detail"
        ]
    );
    let summary: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["host"].clone(),
                r["record_type"].clone(),
                r["ip"].clone(),
                r["rcode"].clone(),
            )
        })
        .collect();
    let want: Vec<(String, String, String, String)> = [
        ("*.region.alpha.test", "", "", "SKIPPED_PATTERN"),
        ("api.alpha.test", "A", "34.117.0.10", "NOERROR"),
        ("api.alpha.test", "AAAA", "2600:1901::10", "NOERROR"),
        ("broken.alpha.test", "A", "", "SERVFAIL"),
        ("broken.alpha.test", "AAAA", "", "SERVFAIL"),
        ("chat.alpha.test", "A", "34.117.0.20", "NOERROR"),
        ("gone.alpha.test", "A", "", "NXDOMAIN"),
        ("gone.alpha.test", "AAAA", "", "NXDOMAIN"),
        ("slow.alpha.test", "A", "", "TIMEOUT"),
        ("slow.alpha.test", "AAAA", "", "TIMEOUT"),
        ("v6.alpha.test", "AAAA", "2600:1901::6", "NOERROR"),
    ]
    .iter()
    .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
    .collect();
    assert_eq!(summary, want, "{rows:#?}");
    let chat = rows
        .iter()
        .find(|r| r["host"] == "chat.alpha.test")
        .unwrap();
    assert_eq!(
        chat["cname_chain"],
        "chat.alpha.test > edge.cdn.test > e1.cdn.test"
    );
    assert_eq!(chat["ttl"], "60");
    let api = rows.iter().find(|r| r["ip"] == "34.117.0.10").unwrap();
    assert_eq!(api["ttl"], "300");
    assert_eq!(api["cname_chain"], "");
    for r in &rows {
        assert_eq!(r["resolver"], dns.addr());
        assert!(r["resolved_at"].starts_with("20"), "{r:?}");
    }

    // Flows without any DNS log: attributed by the snapshot when near its resolved_at.
    let now = now_s();
    let logs = conn_log(
        dir.path(),
        &[
            (now - 3600, "10.1.0.5", "34.117.0.10", 5000),
            (now - 7200, "10.1.0.6", "34.117.0.20", 7000),
            // Thirty days before the snapshot: beyond the default seven-day distance.
            (now - 30 * 86_400, "10.1.0.7", "34.117.0.10", 9000),
        ],
    );
    let analyze = |out: &Path| {
        xborder()
            .arg("analyze")
            .arg(&logs)
            .arg("--vendors")
            .arg(fixture("vendors.toml"))
            .arg("--sites")
            .arg(fixture("sites.toml"))
            .arg("--ip-snapshot")
            .arg(&snap)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let out = dir.path().join("out");
    let o = analyze(&out);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("snapshot 2"), "{stdout}");
    assert!(stdout.contains("weaker evidence"), "{stdout}");
    let (_, evidence) = read_csv(&out.join("evidence.csv"));
    let mut attributed: Vec<(String, String, String)> = evidence
        .iter()
        .map(|r| {
            (
                r["dst_ip"].clone(),
                r["attribution"].clone(),
                r["hostname"].clone(),
            )
        })
        .collect();
    attributed.sort();
    assert_eq!(
        attributed,
        [
            (
                "34.117.0.10".to_string(),
                "snapshot".to_string(),
                "api.alpha.test".to_string()
            ),
            (
                "34.117.0.20".to_string(),
                "snapshot".to_string(),
                "chat.alpha.test".to_string()
            ),
        ]
    );
    let (_, findings) = read_csv(&out.join("findings.csv"));
    assert!(!findings.is_empty());
    assert!(
        findings.iter().all(|f| f["attribution"] == "snapshot"),
        "{findings:?}"
    );

    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["network"]["enabled"], false);
    assert_eq!(run["ip_snapshots"][0]["address_rows"], 4);
    assert_eq!(run["ip_snapshots"][0]["failure_rows"], 7);
    assert_eq!(run["ip_snapshots"][0]["matched_rows"], 4);
    assert_eq!(run["parameters"]["snapshot_max_distance_s"], 604_800);
    assert_eq!(run["totals"]["flows"]["ai_by_method"]["snapshot"], 2);

    // The report says the evidence is weaker and how many flows it attributed.
    let doc = lopdf::Document::load(out.join("report.pdf")).expect("report.pdf parses");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc
        .extract_text(&pages)
        .expect("text extracts")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("snapshot 2 (weaker evidence)"), "{text}");
    assert!(text.contains("Weaker evidence"), "{text}");

    // The same snapshot gives the same outputs.
    let again = dir.path().join("again");
    assert!(analyze(&again).status.success());
    for f in ["findings.csv", "evidence.csv", "summary_by_vendor.csv"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn a_bad_snapshot_row_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("bad.csv");
    std::fs::write(
        &snap,
        "host,record_type,ip,cname_chain,ttl,resolved_at,resolver,rcode,detail\n\
         api.alpha.test,A,34.117.0.10,,60,2026-07-10T00:00:00Z,r,NOERROR,\n\
         api.alpha.test,A,34.117.0.300,,60,2026-07-10T00:00:00Z,r,NOERROR,\n",
    )
    .unwrap();
    let logs = conn_log(
        dir.path(),
        &[(1_783_645_200, "10.1.0.5", "34.117.0.10", 5000)],
    );
    let o = xborder()
        .arg("analyze")
        .arg(&logs)
        .arg("--vendors")
        .arg(fixture("vendors.toml"))
        .arg("--ip-snapshot")
        .arg(&snap)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("bad.csv") && stderr.contains("line 3") && stderr.contains("`ip`"),
        "{stderr}"
    );
}

#[test]
fn reverse_dns_attributes_large_unattributed_destinations_by_ptr() {
    let dns = TestDns::start();
    let dir = tempfile::tempdir().unwrap();
    let logs = conn_log(
        dir.path(),
        &[
            (1_783_645_200, "10.1.0.7", "34.117.0.99", 2_000_000),
            (1_783_648_800, "10.1.0.8", "34.117.0.98", 900),
        ],
    );
    let out = dir.path().join("out");
    let o = xborder()
        .arg("analyze")
        .arg(&logs)
        .arg("--vendors")
        .arg(fixture("vendors.toml"))
        .arg("--sites")
        .arg(fixture("sites.toml"))
        .args(["--reverse-dns", "--nameserver", &dns.addr()])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("network access (--reverse-dns)"),
        "{stderr}"
    );
    let (_, evidence) = read_csv(&out.join("evidence.csv"));
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    assert_eq!(evidence[0]["dst_ip"], "34.117.0.99");
    assert_eq!(evidence[0]["attribution"], "ptr");
    assert_eq!(evidence[0]["hostname"], "chat.alpha.test");
    let (_, findings) = read_csv(&out.join("findings.csv"));
    assert!(
        findings.iter().all(|f| f["attribution"] == "ptr"),
        "{findings:?}"
    );

    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    let net = &run["network"];
    assert_eq!(net["enabled"], true);
    assert_eq!(net["resolvers"][0], dns.addr());
    assert_eq!(net["lookups"], 1);
    assert_eq!(net["matched_vendor"], 1);
    assert_eq!(net["results"][0]["ip"], "34.117.0.99");
    assert_eq!(net["results"][0]["name"], "chat.alpha.test");
    assert_eq!(net["results"][0]["label"], "ptr");
    assert!(net["results"][0]["looked_up_at"]
        .as_str()
        .unwrap()
        .starts_with("20"));
    assert!(net["started_at"].is_string() && net["ended_at"].is_string());
    assert_eq!(run["parameters"]["reverse_dns"], true);
}

#[test]
fn reverse_dns_without_large_destinations_makes_no_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let logs = conn_log(
        dir.path(),
        &[(1_783_645_200, "10.1.0.7", "34.117.0.99", 500)],
    );
    let out = dir.path().join("out");
    // Port 9 (discard) on loopback: nothing would answer, and nothing may be asked.
    let o = xborder()
        .arg("analyze")
        .arg(&logs)
        .arg("--sites")
        .arg(fixture("sites.toml"))
        .args(["--reverse-dns", "--nameserver", "127.0.0.1:9"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("no look-ups made"), "{stderr}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["network"]["enabled"], true);
    assert_eq!(run["network"]["lookups"], 0);
}

#[test]
fn reverse_dns_is_off_by_default_and_its_options_need_it() {
    let dir = tempfile::tempdir().unwrap();
    let logs = conn_log(
        dir.path(),
        &[(1_783_645_200, "10.1.0.7", "34.117.0.99", 2_000_000)],
    );
    let o = xborder()
        .arg("analyze")
        .arg(&logs)
        .args(["--nameserver", "127.0.0.1:9"])
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "--nameserver without --reverse-dns"
    );
}
