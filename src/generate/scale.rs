//! The scale generator: Zeek conn and dns logs of any size (10^6 to 10^8 flows and more)
//! from a seed, written in bounded memory, with the findings it planted.
//!
//! Data is made of identical *blocks* of [`BLOCK_FLOWS`] flow records, each a whole quarter
//! (2026-Q3) of traffic of one organisation: thousands of internal hosts in five offices
//! and a lab in no office, web sessions to a heavy-tailed (Zipf-like) population of CDN and
//! SaaS destinations in a dozen countries, AI-vendor sessions among them (about 1.5 % of
//! flows), DNS answers before the flows that use them, internal traffic, inbound scans,
//! flows without byte counts, flows to a vendor range with no DNS (DNS-over-HTTPS) and a few
//! duplicated records. Blocks differ only in connection uids, ports and a microsecond
//! jitter, so every expected figure of `k` blocks is exactly `k` times a block's: a run at
//! 10^8 flows must report 100 times what a run at 10^6 reports.
//!
//! Attribution is unambiguous by construction (every vendor address is answered for one
//! name only; flows follow their answer within its TTL), so the planted figures are what a
//! correct `analyze` must report: `expected_findings.csv` per (site, destination country,
//! vendor, product, attribution) and `expected.json` with record counts. Logs go to
//! `DIR/logs/`, so `analyze DIR/logs --sites DIR/sites.toml` reads only them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::{
    Endpoint, Rng, ANTHROPIC_API, ANTHROPIC_API_V6, CHATGPT, CLAUDE_AI, CONN_FIELDS, CONN_TYPES,
    COPILOT, CURSOR, DASHSCOPE_CN, DASHSCOPE_INTL, DEEPSEEK, DNS_FIELDS, DNS_TYPES, GEMINI,
    MISTRAL, MOONSHOT, OPENAI_API, Q3_DAYS, Q3_START, QODER, ZHIPU,
};
use crate::classify::vendors::VendorCatalog;
use crate::classify::{embedded, CatalogText};
use crate::error::{Error, Result};
use crate::geolocate::{GeoIp, Location};

/// Flow records per block. Totals scale exactly with whole blocks.
pub const BLOCK_FLOWS: u64 = 100_000;

/// Output encoding of the generated logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Tsv,
    Json,
    /// Conn logs as Parquet (Zeek's column names), dns logs as Zeek TSV: the Parquet
    /// reader is for flows, which are what its throughput is about.
    Parquet,
}

impl LogFormat {
    /// The encoding of the dns logs written alongside.
    fn dns(self) -> LogFormat {
        match self {
            LogFormat::Parquet => LogFormat::Tsv,
            f => f,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    pub flows: u64,
    pub seed: u64,
    pub format: LogFormat,
    pub gzip: bool,
    /// Number of conn files (each with its dns file); 0 picks one per 10^7 flows.
    pub files: u32,
    /// Worker threads writing files in parallel.
    pub threads: usize,
    /// Share of conn records that go to AI-vendor addresses, in (0, 1]; `None` keeps the
    /// typical mix (about 0.8 %). Lets benchmarks run an AI-heavy mix (0.8), where every
    /// AI flow becomes an evidence row.
    pub ai_share: Option<f64>,
}

/// Check an `--ai-share` value: a share of conn records, more than 0 and at most 1.
pub fn check_ai_share(share: f64) -> Result<f64> {
    if share > 0.0 && share <= 1.0 {
        Ok(share)
    } else {
        Err(Error::Usage(format!(
            "--ai-share {share} is outside (0, 1]: give the share of conn records that go to AI vendors, e.g. 0.8"
        )))
    }
}

/// One row of expected_findings.csv.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExpectedTotals {
    pub flows: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
}

/// Key of expected_findings.csv: (site, destination country, vendor, product, attribution).
pub type ExpectedKey = (String, String, String, String, String);

/// What the generator planted.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ScaleSummary {
    pub seed: u64,
    /// The `--ai-share` asked for (absent for the typical mix); `ai_flows / flow_records`
    /// is the share reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai_share: Option<f64>,
    pub block_flows: u64,
    pub blocks: f64,
    /// Flow records written, duplicates included.
    pub flow_records: u64,
    /// Of those, exact repeats of an earlier record (same uid).
    pub duplicate_flow_records: u64,
    pub dns_records: u64,
    pub ai_flows: u64,
    pub ai_bytes_out: u64,
    pub ai_bytes_in: u64,
    pub files: Vec<String>,
    #[serde(skip)]
    pub findings: BTreeMap<ExpectedKey, ExpectedTotals>,
}

impl ScaleSummary {
    fn merge(&mut self, o: &ScaleSummary) {
        self.flow_records += o.flow_records;
        self.duplicate_flow_records += o.duplicate_flow_records;
        self.dns_records += o.dns_records;
        self.ai_flows += o.ai_flows;
        self.ai_bytes_out += o.ai_bytes_out;
        self.ai_bytes_in += o.ai_bytes_in;
        for (k, v) in &o.findings {
            let e = self.findings.entry(k.clone()).or_default();
            e.flows += v.flows;
            e.bytes_out += v.bytes_out;
            e.bytes_in += v.bytes_in;
        }
    }
}

/// An office: name, country, host address prefix, number of hosts, resolver, AI usage.
struct Office {
    name: &'static str,
    country: &'static str,
    cidrs: &'static [&'static str],
    /// Hosts are `10.S.x.y`; the IPv6 share uses `fdS::x:y`.
    octet: u8,
    hosts: u32,
    ai: &'static [(&'static Endpoint, u32)],
}

const OFFICES: &[Office] = &[
    Office {
        name: "hangzhou",
        country: "CN",
        cidrs: &["10.10.0.0/16", "fd10::/16"],
        octet: 10,
        hosts: 1600,
        ai: &[
            (&ANTHROPIC_API, 6),
            (&ANTHROPIC_API_V6, 3),
            (&DASHSCOPE_CN, 8),
            (&DASHSCOPE_INTL, 2),
            (&QODER, 5),
            (&CURSOR, 3),
            (&DEEPSEEK, 5),
            (&MOONSHOT, 3),
            (&CLAUDE_AI, 2),
        ],
    },
    Office {
        name: "shanghai",
        country: "CN",
        cidrs: &["10.20.0.0/16"],
        octet: 20,
        hosts: 800,
        ai: &[
            (&OPENAI_API, 3),
            (&CHATGPT, 4),
            (&ZHIPU, 6),
            (&MISTRAL, 1),
            (&GEMINI, 2),
        ],
    },
    Office {
        name: "hongkong",
        country: "HK",
        cidrs: &["10.30.0.0/16"],
        octet: 30,
        hosts: 400,
        ai: &[(&OPENAI_API, 3), (&ANTHROPIC_API, 3), (&DASHSCOPE_INTL, 2)],
    },
    Office {
        name: "dublin",
        country: "IE",
        cidrs: &["10.40.0.0/16"],
        octet: 40,
        hosts: 800,
        ai: &[
            (&COPILOT, 5),
            (&OPENAI_API, 3),
            (&MISTRAL, 3),
            (&DEEPSEEK, 1),
        ],
    },
    Office {
        name: "sanfrancisco",
        country: "US",
        cidrs: &["10.50.0.0/16"],
        octet: 50,
        hosts: 400,
        ai: &[(&ANTHROPIC_API, 5), (&COPILOT, 4), (&GEMINI, 2)],
    },
];

/// A lab network in no office: `192.168.77.x`, egress reported as unknown_site.
const LAB_HOSTS: u32 = 40;
const LAB_AI: &[(&Endpoint, u32)] = &[(&OPENAI_API, 3), (&DEEPSEEK, 2)];

/// The one Hangzhou host that resolves over DNS-over-HTTPS: its AI flows carry no DNS and
/// are attributed by the vendor's published range only. It does nothing else.
const DOH_HOST: &str = "10.10.250.9";

/// Public address blocks the web destinations are drawn from (several countries).
const WEB_BLOCKS: &[[u8; 2]] = &[
    [88, 198],  // DE
    [13, 112],  // JP
    [81, 2],    // GB
    [52, 208],  // IE
    [51, 15],   // FR
    [23, 32],   // US
    [185, 199], // various
    [151, 101], // CDN
    [203, 119], // SG / HK
    [200, 147], // BR
    [41, 203],  // ZA
    [139, 59],  // AU / SG
];

/// Distinct web destination names; popularity is heavy-tailed over them.
const WEB_NAMES: u64 = 20_000;

const SCANNERS: &[&str] = &["45.33.32.156", "185.220.101.4", "80.82.77.33"];

/// Mix a 64-bit value (SplitMix64 finaliser): a bijection, so distinct inputs never collide.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A unique Zeek-looking uid: `C` + 11 base-62 digits of a bijective mix of the counter.
fn uid(prefix: char, n: u64) -> String {
    let mut v = mix(n);
    let mut s = String::with_capacity(12);
    s.push(prefix);
    for _ in 0..11 {
        s.push(BASE62[(v % 62) as usize] as char);
        v /= 62;
    }
    s
}

/// The web destination for name index `i`: one or two public addresses outside every
/// vendor range, fixed per name.
struct WebPool {
    names: Vec<String>,
    addresses: Vec<Vec<String>>,
}

impl WebPool {
    fn new(catalog: &VendorCatalog) -> Self {
        let tlds = [
            "com", "de", "co.jp", "co.uk", "ie", "fr", "net", "io", "sg", "com.br",
        ];
        let mut names = Vec::with_capacity(WEB_NAMES as usize);
        let mut addresses = Vec::with_capacity(WEB_NAMES as usize);
        for i in 0..WEB_NAMES {
            names.push(format!(
                "www.site{i}.example-{}.{}",
                ["cdn", "shop", "news", "saas", "media"][(i % 5) as usize],
                tlds[(mix(i) % tlds.len() as u64) as usize]
            ));
            let n = 1 + (mix(i ^ 0x55) % 2);
            let mut list = Vec::new();
            let mut k = 0u64;
            while list.len() < n as usize {
                let h = mix(i * 8 + k + 1);
                k += 1;
                let b = WEB_BLOCKS[(h % WEB_BLOCKS.len() as u64) as usize];
                let ip = IpAddr::from([b[0], b[1], (h >> 8) as u8, 1 + ((h >> 16) % 254) as u8]);
                if catalog.match_ip(ip).is_none() {
                    list.push(ip.to_string());
                }
            }
            addresses.push(list);
        }
        WebPool { names, addresses }
    }
}

/// Per-run lookups the expected figures need (the same embedded catalog and database
/// `analyze` uses by default).
struct Oracle {
    catalog: VendorCatalog,
    geo: GeoIp,
}

impl Oracle {
    fn load() -> Result<Self> {
        let catalog = VendorCatalog::load(&CatalogText::load(
            None,
            "data/vendors.toml",
            embedded::VENDORS,
        )?)?;
        let geo = GeoIp::open(None)?;
        Ok(Oracle { catalog, geo })
    }

    /// (vendor, product) of a catalog hostname.
    fn product_of_host(&self, host: &str) -> (String, String) {
        match self.catalog.match_host(host) {
            Some(p) => (
                self.catalog.vendor_of(p).name.clone(),
                self.catalog.product(p).name.clone(),
            ),
            None => (String::new(), String::new()),
        }
    }

    fn product_of_ip(&self, ip: &str) -> (String, String) {
        let Ok(ip) = ip.parse::<IpAddr>() else {
            return (String::new(), String::new());
        };
        match self.catalog.match_ip(ip) {
            Some(p) => (
                self.catalog.vendor_of(p).name.clone(),
                self.catalog.product(p).name.clone(),
            ),
            None => (String::new(), String::new()),
        }
    }

    fn country(&self, ip: &str) -> String {
        match ip.parse::<IpAddr>().map(|a| self.geo.locate(a)) {
            Ok(Location::Country(c)) => c,
            _ => "ZZ".to_string(),
        }
    }
}

/// One flow record before encoding.
struct Conn<'a> {
    ts: i64,
    src: &'a str,
    dst: &'a str,
    dport: u16,
    proto: &'static str,
    service: &'static str,
    up: Option<u64>,
    down: Option<u64>,
    local_orig: bool,
    local_resp: bool,
}

/// One DNS record before encoding.
struct Dns<'a> {
    ts: i64,
    rtt_us: i64,
    client: &'a str,
    resolver: &'a str,
    query: &'a str,
    cnames: &'a [&'a str],
    addresses: &'a [&'a str],
    ttl: u32,
    v6: bool,
}

/// One flow record as written, before encoding: kept typed so the same record can be
/// written as TSV, JSON or a Parquet row.
#[derive(Clone)]
struct ConnRow {
    ts: i64,
    uid: String,
    src: String,
    sport: u16,
    dst: String,
    dport: u16,
    proto: &'static str,
    service: &'static str,
    dur: f64,
    up: Option<u64>,
    down: Option<u64>,
    state: &'static str,
    local_orig: bool,
    local_resp: bool,
    history: &'static str,
    /// orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes.
    pkts: (u64, u64, u64, u64),
}

impl ConnRow {
    fn tsv(&self) -> String {
        let tf = |b: bool| if b { "T" } else { "F" };
        let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
        let (op, oipb, rp, ripb) = self.pkts;
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.6}\t{}\t{}\t{}\t{}\t{}\t0\t{}\t{op}\t{oipb}\t{rp}\t{ripb}\t(empty)\n",
            ts_text(self.ts),
            self.uid,
            self.src,
            self.sport,
            self.dst,
            self.dport,
            self.proto,
            self.service,
            self.dur,
            opt(self.up),
            opt(self.down),
            self.state,
            tf(self.local_orig),
            tf(self.local_resp),
            self.history,
        )
    }

    fn json(&self) -> String {
        let mut s = format!(
            "{{\"ts\":{},\"uid\":\"{}\",\"id.orig_h\":\"{}\",\"id.orig_p\":{},\"id.resp_h\":\"{}\",\"id.resp_p\":{},\"proto\":\"{}\"",
            ts_text(self.ts),
            self.uid,
            self.src,
            self.sport,
            self.dst,
            self.dport,
            self.proto
        );
        if self.service != "-" {
            let _ = write!(s, ",\"service\":\"{}\"", self.service);
        }
        let _ = write!(s, ",\"duration\":{:.6}", self.dur);
        if let (Some(u), Some(d)) = (self.up, self.down) {
            let _ = write!(s, ",\"orig_bytes\":{u},\"resp_bytes\":{d}");
        }
        let (op, oipb, rp, ripb) = self.pkts;
        let _ = writeln!(
            s,
            ",\"conn_state\":\"{}\",\"local_orig\":{},\"local_resp\":{},\"missed_bytes\":0,\"history\":\"{}\",\"orig_pkts\":{op},\"orig_ip_bytes\":{oipb},\"resp_pkts\":{rp},\"resp_ip_bytes\":{ripb}}}",
            self.state, self.local_orig, self.local_resp, self.history
        );
        s
    }
}

/// Rows per Parquet row group of a generated conn log: large enough to decode
/// efficiently, small enough that writer and reader hold ~30 MB of it at a time.
pub const PARQUET_ROW_GROUP: usize = 1 << 18;

/// A generated conn log written as Parquet, one row group at a time (bounded memory).
struct ParquetConn {
    writer: polars::io::parquet::write::BatchedWriter<BufWriter<File>>,
    rows: Vec<ConnRow>,
}

impl ParquetConn {
    fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let schema = Self::frame(&[])
            .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))?
            .schema()
            .as_ref()
            .clone();
        let writer = polars::prelude::ParquetWriter::new(BufWriter::with_capacity(1 << 20, file))
            .with_compression(polars::prelude::ParquetCompression::Snappy)
            .batched(&schema)
            .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))?;
        Ok(ParquetConn {
            writer,
            rows: Vec::with_capacity(PARQUET_ROW_GROUP),
        })
    }

    /// Zeek's conn columns with the types Zeek-to-Parquet converters give them: `ts` as
    /// Float64 epoch seconds (Zeek's JSON), counts and ports as Int64, unset as null.
    fn frame(rows: &[ConnRow]) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
        use polars::prelude::{Column, DataFrame};
        let int = |name: &str, f: &dyn Fn(&ConnRow) -> Option<u64>| {
            Column::new(
                name.into(),
                rows.iter()
                    .map(|r| f(r).map(|v| v as i64))
                    .collect::<Vec<Option<i64>>>(),
            )
        };
        let text = |name: &str, f: &dyn Fn(&ConnRow) -> &str| {
            Column::new(
                name.into(),
                rows.iter()
                    .map(|r| Some(f(r)).filter(|v| *v != "-"))
                    .collect::<Vec<Option<&str>>>(),
            )
        };
        let flag = |name: &str, f: &dyn Fn(&ConnRow) -> bool| {
            Column::new(name.into(), rows.iter().map(f).collect::<Vec<bool>>())
        };
        let columns = vec![
            Column::new(
                "ts".into(),
                rows.iter().map(|r| r.ts as f64 / 1e6).collect::<Vec<f64>>(),
            ),
            text("uid", &|r| &r.uid),
            text("id.orig_h", &|r| &r.src),
            int("id.orig_p", &|r| Some(u64::from(r.sport))),
            text("id.resp_h", &|r| &r.dst),
            int("id.resp_p", &|r| Some(u64::from(r.dport))),
            text("proto", &|r| r.proto),
            text("service", &|r| r.service),
            // The TSV log's six decimals, so both encodings give the same records.
            Column::new(
                "duration".into(),
                rows.iter()
                    .map(|r| format!("{:.6}", r.dur).parse::<f64>().unwrap_or(r.dur))
                    .collect::<Vec<f64>>(),
            ),
            int("orig_bytes", &|r| r.up),
            int("resp_bytes", &|r| r.down),
            text("conn_state", &|r| r.state),
            flag("local_orig", &|r| r.local_orig),
            flag("local_resp", &|r| r.local_resp),
            int("missed_bytes", &|_| Some(0)),
            text("history", &|r| r.history),
            int("orig_pkts", &|r| Some(r.pkts.0)),
            int("orig_ip_bytes", &|r| Some(r.pkts.1)),
            int("resp_pkts", &|r| Some(r.pkts.2)),
            int("resp_ip_bytes", &|r| Some(r.pkts.3)),
        ];
        DataFrame::new_infer_height(columns)
    }

    fn push(&mut self, row: ConnRow) -> std::io::Result<()> {
        self.rows.push(row);
        if self.rows.len() >= PARQUET_ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let df = Self::frame(&self.rows).map_err(|e| std::io::Error::other(e.to_string()))?;
        self.writer
            .write_batch(&df)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.rows.clear();
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.flush()?;
        self.writer
            .finish()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(())
    }
}

/// Where a generated conn log goes.
enum ConnOut {
    Text(Box<dyn Write>),
    Parquet(Box<ParquetConn>),
}

fn ts_text(micros: i64) -> String {
    format!(
        "{}.{:06}",
        micros.div_euclid(1_000_000),
        micros.rem_euclid(1_000_000)
    )
}

/// Writes one block's records, day by day (sorted by time within each day).
struct BlockWriter<'o> {
    format: LogFormat,
    oracle: &'o Oracle,
    web: &'o WebPool,
    /// Global block number: uids, ports and jitter derive from it.
    block: u64,
    counter: u64,
    conn_rows: Vec<ConnRow>,
    dns_lines: Vec<(i64, String)>,
    summary: ScaleSummary,
    /// Cache of (address → country) and (host → product) for expected figures.
    countries: BTreeMap<String, String>,
    /// `ScaleOptions::ai_share`.
    ai_share: Option<f64>,
    /// (flow records, AI flows) of the summary when the current block began.
    block_start: (u64, u64),
}

impl BlockWriter<'_> {
    fn next_uid(&mut self, prefix: char) -> String {
        self.counter += 1;
        uid(prefix, (self.block << 32) | self.counter)
    }

    fn conn(&mut self, rng: &mut Rng, c: &Conn<'_>) {
        let uid = self.next_uid('C');
        let sport = 32768 + (mix(self.block ^ (self.counter << 20)) % 28000) as u16;
        let dur = if c.proto == "tcp" {
            0.05 + rng.unit() * 40.0
        } else {
            rng.unit() * 0.1
        };
        let (op, rp) = (
            c.up.map_or(1, |v| v / 1200 + 2),
            c.down.map_or(0, |v| v / 1200 + 2),
        );
        let (oipb, ripb) = (c.up.unwrap_or(0) + op * 52, c.down.unwrap_or(0) + rp * 52);
        let state = if c.up.is_some() { "SF" } else { "S0" };
        let history = match (c.proto, c.up.is_some()) {
            ("tcp", true) => "ShADadFf",
            ("tcp", false) => "S",
            _ => "D",
        };
        self.conn_rows.push(ConnRow {
            ts: c.ts,
            uid,
            src: c.src.to_string(),
            sport,
            dst: c.dst.to_string(),
            dport: c.dport,
            proto: c.proto,
            service: c.service,
            dur,
            up: c.up,
            down: c.down,
            state,
            local_orig: c.local_orig,
            local_resp: c.local_resp,
            history,
            pkts: (op, oipb, rp, ripb),
        });
        self.summary.flow_records += 1;
    }

    fn dns(&mut self, rng: &mut Rng, d: &Dns<'_>) {
        let uid = self.next_uid('D');
        let port = 32768 + rng.below(28000);
        let trans = rng.below(65536);
        let (qtype, qname) = if d.v6 { (28, "AAAA") } else { (1, "A") };
        let answers: Vec<&str> = d.cnames.iter().chain(d.addresses).copied().collect();
        let ttls: Vec<u32> = (0..answers.len())
            .map(|i| if i < d.cnames.len() { d.ttl * 5 } else { d.ttl })
            .collect();
        let rtt = d.rtt_us as f64 / 1e6;
        let line = match self.format.dns() {
            LogFormat::Tsv | LogFormat::Parquet => {
                let t: Vec<String> = ttls.iter().map(|t| format!("{t}.000000")).collect();
                format!(
                    "{}\t{uid}\t{}\t{port}\t{}\t53\tudp\t{trans}\t{rtt:.6}\t{}\t1\tC_INTERNET\t{qtype}\t{qname}\t0\tNOERROR\tF\tF\tT\tT\t0\t{}\t{}\tF\n",
                    ts_text(d.ts),
                    d.client,
                    d.resolver,
                    d.query,
                    answers.join(","),
                    t.join(",")
                )
            }
            LogFormat::Json => {
                let a: Vec<String> = answers.iter().map(|a| format!("\"{a}\"")).collect();
                let t: Vec<String> = ttls.iter().map(|t| format!("{t}.0")).collect();
                format!(
                    "{{\"ts\":{},\"uid\":\"{uid}\",\"id.orig_h\":\"{}\",\"id.orig_p\":{port},\"id.resp_h\":\"{}\",\"id.resp_p\":53,\"proto\":\"udp\",\"trans_id\":{trans},\"rtt\":{rtt:.6},\"query\":\"{}\",\"qclass\":1,\"qclass_name\":\"C_INTERNET\",\"qtype\":{qtype},\"qtype_name\":\"{qname}\",\"rcode\":0,\"rcode_name\":\"NOERROR\",\"AA\":false,\"TC\":false,\"RD\":true,\"RA\":true,\"Z\":0,\"answers\":[{}],\"TTLs\":[{}],\"rejected\":false}}\n",
                    ts_text(d.ts),
                    d.client,
                    d.resolver,
                    d.query,
                    a.join(","),
                    t.join(",")
                )
            }
        };
        self.dns_lines.push((d.ts, line));
        self.summary.dns_records += 1;
    }

    fn expect(&mut self, site: &str, dst: &str, vp: (String, String), method: &str, c: &Conn<'_>) {
        let country = match self.countries.get(dst) {
            Some(c) => c.clone(),
            None => {
                let c = self.oracle.country(dst);
                self.countries.insert(dst.to_string(), c.clone());
                c
            }
        };
        let e = self
            .summary
            .findings
            .entry((site.to_string(), country, vp.0, vp.1, method.to_string()))
            .or_default();
        e.flows += 1;
        e.bytes_out += c.up.unwrap_or(0);
        e.bytes_in += c.down.unwrap_or(0);
        self.summary.ai_flows += 1;
        self.summary.ai_bytes_out += c.up.unwrap_or(0);
        self.summary.ai_bytes_in += c.down.unwrap_or(0);
    }

    /// Write one block (`flows` flow records, normally [`BLOCK_FLOWS`]) to the writers.
    fn write_block(
        &mut self,
        seed: u64,
        flows: u64,
        conn: &mut ConnOut,
        dns: &mut dyn Write,
    ) -> std::io::Result<()> {
        // The same seed for every block: blocks are the same traffic, so totals scale.
        let mut rng = Rng::new(seed);
        self.block_start = (self.summary.flow_records, self.summary.ai_flows);
        let jitter = (mix(self.block) % 1000) as i64;
        for day in 0..Q3_DAYS as u64 {
            let budget = flows / Q3_DAYS as u64 + u64::from(day < flows % Q3_DAYS as u64);
            let day_start = Q3_START + day as i64 * 86_400_000_000 + jitter;
            let weekend = matches!((day + 2) % 7, 5 | 6);
            let start = self.summary.flow_records;
            while self.summary.flow_records - start < budget {
                let left = budget - (self.summary.flow_records - start);
                self.session(&mut rng, day_start, weekend, left);
            }
            self.flush_day(conn, dns)?;
        }
        Ok(())
    }

    fn flush_day(&mut self, conn: &mut ConnOut, dns: &mut dyn Write) -> std::io::Result<()> {
        self.conn_rows.sort_by_key(|r| r.ts);
        self.dns_lines.sort_by_key(|(t, _)| *t);
        for r in self.conn_rows.drain(..) {
            match (&mut *conn, self.format) {
                (ConnOut::Text(w), LogFormat::Json) => w.write_all(r.json().as_bytes())?,
                (ConnOut::Text(w), _) => w.write_all(r.tsv().as_bytes())?,
                (ConnOut::Parquet(p), _) => p.push(r)?,
            }
        }
        for (_, l) in self.dns_lines.drain(..) {
            dns.write_all(l.as_bytes())?;
        }
        Ok(())
    }

    /// One session of at most `left` flow records.
    fn session(&mut self, rng: &mut Rng, day_start: i64, weekend: bool, left: u64) {
        let t = day_start + rng.below(80_000_000_000) as i64 / 1000 * 1000;
        let kind = rng.below(1000);
        let total_hosts: u32 = OFFICES.iter().map(|o| o.hosts).sum();
        // Hosts are picked with a heavy tail: a few busy machines, many quiet ones.
        let pick = (rng.log_uniform(1, u64::from(total_hosts + LAB_HOSTS) + 1) - 1) as u32;
        let (office, host) = if pick < total_hosts {
            let mut p = pick;
            let mut found = None;
            for o in OFFICES {
                if p < o.hosts {
                    found = Some(o);
                    break;
                }
                p -= o.hosts;
            }
            (found, p)
        } else {
            (None, pick - total_hosts)
        };
        let (client, resolver, site) = match office {
            Some(o) if host % 10 == 9 && o.cidrs.len() > 1 => (
                format!("fd{}::{}:{}", o.octet, 1 + host / 250, 1 + host % 250),
                format!("10.{}.0.53", o.octet),
                o.name,
            ),
            Some(o) => (
                format!("10.{}.{}.{}", o.octet, 1 + host / 250, 1 + host % 250),
                format!("10.{}.0.53", o.octet),
                o.name,
            ),
            None => (
                format!("192.168.77.{}", 10 + host),
                "192.168.77.1".to_string(),
                crate::classify::sites::UNKNOWN_SITE,
            ),
        };
        let v6_client = client.contains(':');
        let kind = match self.ai_share {
            Some(share) => self.kind_for_share(share, kind, weekend),
            None => kind,
        };
        match kind {
            // Inbound scans of the Dublin office's published service.
            0..=9 => {
                let s = SCANNERS[rng.below(SCANNERS.len() as u64) as usize];
                self.conn(
                    rng,
                    &Conn {
                        ts: t,
                        src: s,
                        dst: "10.40.0.10",
                        dport: 22,
                        proto: "tcp",
                        service: "-",
                        up: None,
                        down: None,
                        local_orig: false,
                        local_resp: true,
                    },
                );
            }
            // DNS-over-HTTPS: flows to a vendor address with no DNS answer.
            10..=11 if !weekend => {
                let dst = ANTHROPIC_API.addresses[0];
                let vp = self.oracle.product_of_ip(dst);
                for k in 0..(1 + rng.below(3)).min(left) as i64 {
                    let c = Conn {
                        ts: t + k * 30_000_000,
                        src: DOH_HOST,
                        dst,
                        dport: 443,
                        proto: "tcp",
                        service: "ssl",
                        up: Some(rng.log_uniform(ANTHROPIC_API.up.0, ANTHROPIC_API.up.1)),
                        down: Some(rng.log_uniform(2_000, 400_000)),
                        local_orig: true,
                        local_resp: false,
                    };
                    self.conn(rng, &c);
                    self.expect("hangzhou", dst, vp.clone(), "ip_range", &c);
                }
            }
            // Internal traffic: file servers, directory, printers.
            12..=259 => {
                let server = match office {
                    Some(o) => format!("10.{}.0.{}", o.octet, 20 + rng.below(10)),
                    None => "192.168.77.2".to_string(),
                };
                let (port, service) =
                    [(445, "smb"), (389, "ldap"), (9100, "-"), (88, "krb")][rng.below(4) as usize];
                let up = rng.log_uniform(200, 5_000_000);
                self.conn(
                    rng,
                    &Conn {
                        ts: t,
                        src: &client,
                        dst: &server,
                        dport: port,
                        proto: "tcp",
                        service,
                        up: Some(up),
                        down: Some(up / 3),
                        local_orig: true,
                        local_resp: true,
                    },
                );
            }
            // AI-vendor sessions (about 1.5 % of flows).
            260..=274 => {
                let usage = office.map_or(LAB_AI, |o| o.ai);
                let total: u32 = usage.iter().map(|(_, w)| w).sum();
                let mut r = rng.below(u64::from(total)) as u32;
                let mut e = usage[0].0;
                for (ep, w) in usage {
                    if r < *w {
                        e = ep;
                        break;
                    }
                    r -= w;
                }
                if e.addresses.iter().any(|a| a.contains(':')) && !v6_client && office.is_some() {
                    // IPv6 vendor endpoints are only used from IPv6 hosts; others use v4.
                    e = &ANTHROPIC_API;
                }
                self.vendor_session(rng, t, &client, &resolver, site, e, left);
            }
            // Web sessions to a heavy-tailed population of destinations.
            _ => {
                let i = rng.log_uniform(1, WEB_NAMES + 1) - 1;
                let web = self.web;
                let addrs: Vec<&str> = web.addresses[i as usize]
                    .iter()
                    .map(String::as_str)
                    .collect();
                let rtt = 2_000 + rng.below(50_000) as i64;
                self.dns(
                    rng,
                    &Dns {
                        ts: t,
                        rtt_us: rtt,
                        client: &client,
                        resolver: &resolver,
                        query: &web.names[i as usize],
                        cnames: &[],
                        addresses: &addrs,
                        ttl: 300,
                        v6: false,
                    },
                );
                self.dns_conn(rng, t, &client, &resolver);
                let mut room = left.saturating_sub(1);
                let n = rng.log_uniform(1, 16).min(room);
                for k in 0..n {
                    let up = rng.log_uniform(300, 200_000);
                    let unset = rng.below(50) == 0;
                    let c = Conn {
                        ts: t + rtt + 5_000 + (rng.below(300_000) as i64) * 1000,
                        src: &client,
                        dst: addrs[(k as usize) % addrs.len()],
                        dport: 443,
                        proto: "tcp",
                        service: "ssl",
                        up: (!unset).then_some(up),
                        down: (!unset).then(|| rng.log_uniform(500, 2_000_000)),
                        local_orig: office.is_some(),
                        local_resp: false,
                    };
                    self.conn(rng, &c);
                    room -= 1;
                    // One record in a thousand is logged twice (overlapping exports).
                    if rng.below(1000) == 0 && room > n - k - 1 {
                        if let Some(last) = self.conn_rows.last().cloned() {
                            self.conn_rows.push(last);
                            self.summary.flow_records += 1;
                            self.summary.duplicate_flow_records += 1;
                            room -= 1;
                        }
                    }
                }
            }
        }
    }

    /// The session kind under `--ai-share`: an AI session (DNS-over-HTTPS when `kind`
    /// drew it, else a vendor session) while this block's AI flows are at or below the
    /// share of its flow records so far, otherwise `kind` with its AI kinds turned into
    /// web sessions. Blocks stay identical (the tally restarts with each block), and the
    /// share is reached within one session's flows per block.
    fn kind_for_share(&self, share: f64, kind: u64, weekend: bool) -> u64 {
        let flows = self.summary.flow_records - self.block_start.0;
        let ai = self.summary.ai_flows - self.block_start.1;
        let wants_ai = ai as f64 <= share * flows as f64;
        // Kinds as in `session`: 10..=11 DNS-over-HTTPS (weekdays), 260..=274 a vendor
        // session, 275 and above a web session.
        match kind {
            10..=11 if wants_ai && !weekend => kind,
            _ if wants_ai => 260,
            10..=11 | 260..=274 => 999,
            _ => kind,
        }
    }

    fn dns_conn(&mut self, rng: &mut Rng, t: i64, client: &str, resolver: &str) {
        let (q, r) = (40 + rng.below(30), 90 + rng.below(200));
        self.conn(
            rng,
            &Conn {
                ts: t,
                src: client,
                dst: resolver,
                dport: 53,
                proto: "udp",
                service: "dns",
                up: Some(q),
                down: Some(r),
                local_orig: true,
                local_resp: true,
            },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn vendor_session(
        &mut self,
        rng: &mut Rng,
        t: i64,
        client: &str,
        resolver: &str,
        site: &str,
        e: &Endpoint,
        left: u64,
    ) {
        let rtt = 2_000 + rng.below(50_000) as i64;
        let v6 = e.addresses.iter().any(|a| a.contains(':'));
        self.dns(
            rng,
            &Dns {
                ts: t,
                rtt_us: rtt,
                client,
                resolver,
                query: e.query,
                cnames: e.cnames,
                addresses: e.addresses,
                ttl: e.ttl,
                v6,
            },
        );
        // Under --ai-share the query's own conn record to the resolver is not written (as
        // for a sensor at the egress that does not see internal DNS), so that any share up
        // to 1 can be reached; the DNS record itself is written either way.
        let room = if self.ai_share.is_some() {
            left
        } else {
            self.dns_conn(rng, t, client, resolver);
            left.saturating_sub(1)
        };
        let vp = self.oracle.product_of_host(e.query);
        let n = (1 + rng.below(4)).min(room);
        for _ in 0..n {
            let dst = e.addresses[rng.below(e.addresses.len() as u64) as usize];
            let unset = rng.below(50) == 0;
            let c = Conn {
                ts: t + rtt + 5_000 + (rng.below(u64::from(e.ttl) * 1000) as i64) * 1000,
                src: client,
                dst,
                dport: 443,
                proto: "tcp",
                service: "ssl",
                up: (!unset).then(|| rng.log_uniform(e.up.0, e.up.1)),
                down: (!unset).then(|| rng.log_uniform(2_000, 400_000)),
                local_orig: site != crate::classify::sites::UNKNOWN_SITE,
                local_resp: false,
            };
            self.conn(rng, &c);
            self.expect(site, dst, vp.clone(), "dns", &c);
        }
    }
}

fn header(path: &str, fields: &str, types: &str) -> String {
    format!(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{path}\n#open\t2026-07-01-00-00-00\n#fields\t{fields}\n#types\t{types}\n"
    )
}

fn create(path: &Path, gzip: bool) -> Result<Box<dyn Write>> {
    let f = File::create(path).map_err(|e| Error::io(path, e))?;
    let w = BufWriter::with_capacity(1 << 20, f);
    Ok(if gzip {
        Box::new(flate2::write::GzEncoder::new(
            w,
            flate2::Compression::default(),
        ))
    } else {
        Box::new(w)
    })
}

/// Write conn file `index` (blocks `first..first+count`, the last possibly partial) and
/// its dns file.
#[allow(clippy::too_many_arguments)]
fn write_file(
    dir: &Path,
    opts: &ScaleOptions,
    oracle: &Oracle,
    web: &WebPool,
    index: u32,
    first: u64,
    flows: u64,
) -> Result<ScaleSummary> {
    let ext = |f: LogFormat| match (f, opts.gzip) {
        (LogFormat::Tsv, false) => "log",
        (LogFormat::Tsv, true) => "log.gz",
        (LogFormat::Json, false) => "json",
        (LogFormat::Json, true) => "json.gz",
        (LogFormat::Parquet, _) => "parquet",
    };
    let conn_name = format!("conn.{index:03}.{}", ext(opts.format));
    let dns_name = format!("dns.{index:03}.{}", ext(opts.format.dns()));
    let conn_path = dir.join("logs").join(&conn_name);
    let dns_path = dir.join("logs").join(&dns_name);
    let mut conn = match opts.format {
        LogFormat::Parquet => ConnOut::Parquet(Box::new(ParquetConn::create(&conn_path)?)),
        _ => ConnOut::Text(create(&conn_path, opts.gzip)?),
    };
    let mut dns = create(&dns_path, opts.gzip)?;
    let io = |p: &PathBuf| {
        let p = p.clone();
        move |e: std::io::Error| Error::io(&p, e)
    };
    if let ConnOut::Text(c) = &mut conn {
        if opts.format == LogFormat::Tsv {
            c.write_all(header("conn", CONN_FIELDS, CONN_TYPES).as_bytes())
                .map_err(io(&conn_path))?;
        }
    }
    if opts.format.dns() == LogFormat::Tsv {
        dns.write_all(header("dns", DNS_FIELDS, DNS_TYPES).as_bytes())
            .map_err(io(&dns_path))?;
    }
    let mut w = BlockWriter {
        format: opts.format,
        oracle,
        web,
        block: first,
        counter: 0,
        conn_rows: Vec::new(),
        dns_lines: Vec::new(),
        summary: ScaleSummary::default(),
        countries: BTreeMap::new(),
        ai_share: opts.ai_share,
        block_start: (0, 0),
    };
    let mut left = flows;
    while left > 0 {
        let n = left.min(BLOCK_FLOWS);
        w.counter = 0;
        w.write_block(opts.seed, n, &mut conn, &mut dns)
            .map_err(io(&conn_path))?;
        w.block += 1;
        left -= n;
    }
    match conn {
        ConnOut::Text(mut c) => {
            if opts.format == LogFormat::Tsv {
                c.write_all(b"#close\t2026-10-01-00-00-00\n")
                    .map_err(io(&conn_path))?;
            }
            c.flush().map_err(io(&conn_path))?;
        }
        ConnOut::Parquet(p) => p.finish().map_err(io(&conn_path))?,
    }
    if opts.format.dns() == LogFormat::Tsv {
        dns.write_all(b"#close\t2026-10-01-00-00-00\n")
            .map_err(io(&dns_path))?;
    }
    dns.flush().map_err(io(&dns_path))?;
    drop(dns);
    let mut s = w.summary;
    s.files = vec![format!("logs/{conn_name}"), format!("logs/{dns_name}")];
    Ok(s)
}

/// Generate `opts.flows` flow records (and their DNS) into `dir`, with sites.toml,
/// expected_findings.csv and expected.json.
pub fn write_scale(dir: &Path, opts: &ScaleOptions) -> Result<ScaleSummary> {
    if opts.format == LogFormat::Parquet && opts.gzip {
        return Err(Error::Usage(
            "--gzip does not apply to Parquet conn logs (Parquet compresses its pages)".into(),
        ));
    }
    if let Some(share) = opts.ai_share {
        check_ai_share(share)?;
    }
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| Error::io(&logs, e))?;
    let oracle = Oracle::load()?;
    let web = WebPool::new(&oracle.catalog);
    let blocks = opts.flows.div_ceil(BLOCK_FLOWS).max(1);
    let files = if opts.files == 0 {
        opts.flows.div_ceil(10_000_000).max(1)
    } else {
        u64::from(opts.files)
    }
    .min(blocks);
    // Whole blocks per file; the final partial block (if any) goes to the last file.
    let mut plan = Vec::new();
    let mut block = 0u64;
    let mut remaining = opts.flows;
    for i in 0..files {
        let nblocks = blocks / files + u64::from(i < blocks % files);
        let flows = (nblocks * BLOCK_FLOWS).min(remaining);
        plan.push((i as u32, block, flows));
        block += nblocks;
        remaining -= flows;
    }
    let threads = opts.threads.max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let out = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(index, first, flows)) = plan.get(i) else {
                    break;
                };
                let r = write_file(dir, opts, &oracle, &web, index, first, flows);
                if let Ok(mut o) = out.lock() {
                    o.push((i, r));
                }
            });
        }
    });
    let mut done = out.into_inner().unwrap_or_default();
    done.sort_by_key(|(i, _)| *i);
    let results: Vec<Result<ScaleSummary>> = done.into_iter().map(|(_, r)| r).collect();
    let mut summary = ScaleSummary {
        seed: opts.seed,
        ai_share: opts.ai_share,
        block_flows: BLOCK_FLOWS,
        blocks: opts.flows as f64 / BLOCK_FLOWS as f64,
        ..ScaleSummary::default()
    };
    for r in results {
        let s = r?;
        summary.files.extend(s.files.iter().cloned());
        summary.merge(&s);
    }
    let sites = dir.join("sites.toml");
    std::fs::write(&sites, sites_toml()).map_err(|e| Error::io(&sites, e))?;
    summary.files.push("sites.toml".into());
    write_expected(dir, &summary)?;
    Ok(summary)
}

/// The sites file of the scale organisation.
pub fn sites_toml() -> String {
    let mut s = String::from(
        "# Sites of the scale-test organisation (xborder generate --flows). The lab network\n\
         # 192.168.77.0/24 is deliberately missing: its egress is unknown_site.\n\n",
    );
    for o in OFFICES {
        let cidrs: Vec<String> = o.cidrs.iter().map(|c| format!("\"{c}\"")).collect();
        let _ = write!(
            s,
            "[[site]]\nname = \"{}\"\ncountry = \"{}\"\ncidrs = [{}]\n\n",
            o.name,
            o.country,
            cidrs.join(", ")
        );
    }
    s
}

fn write_expected(dir: &Path, s: &ScaleSummary) -> Result<()> {
    let path = dir.join("expected_findings.csv");
    let csv_err = |e: csv::Error| {
        Error::io(
            dir.join("expected_findings.csv"),
            std::io::Error::other(e.to_string()),
        )
    };
    let mut w = csv::Writer::from_path(&path).map_err(csv_err)?;
    w.write_record([
        "source_site",
        "destination_country",
        "vendor",
        "product",
        "attribution",
        "flows",
        "bytes_out",
        "bytes_in",
    ])
    .map_err(csv_err)?;
    for ((site, country, vendor, product, method), t) in &s.findings {
        w.write_record([
            site,
            country,
            vendor,
            product,
            method,
            &t.flows.to_string(),
            &t.bytes_out.to_string(),
            &t.bytes_in.to_string(),
        ])
        .map_err(csv_err)?;
    }
    w.flush().map_err(|e| Error::io(&path, e))?;
    let path = dir.join("expected.json");
    let json = serde_json::to_string_pretty(s)
        .map_err(|e| Error::io(&path, std::io::Error::other(e.to_string())))?;
    std::fs::write(&path, json + "\n").map_err(|e| Error::io(&path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(flows: u64, files: u32) -> ScaleOptions {
        ScaleOptions {
            flows,
            seed: 1,
            format: LogFormat::Tsv,
            gzip: false,
            files,
            threads: 2,
            ai_share: None,
        }
    }

    #[test]
    fn exact_flow_count_and_linear_expectations() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let one = write_scale(a.path(), &opts(BLOCK_FLOWS, 1)).unwrap();
        let three = write_scale(b.path(), &opts(2 * BLOCK_FLOWS, 2)).unwrap();
        assert_eq!(one.flow_records, BLOCK_FLOWS);
        assert_eq!(three.flow_records, 2 * BLOCK_FLOWS);
        assert!(
            one.ai_flows > 500 && one.duplicate_flow_records > 0,
            "{one:?}"
        );
        assert_eq!(three.ai_flows, 2 * one.ai_flows);
        assert_eq!(three.dns_records, 2 * one.dns_records);
        for (k, v) in &one.findings {
            let t = &three.findings[k];
            assert_eq!(
                (t.flows, t.bytes_out, t.bytes_in),
                (2 * v.flows, 2 * v.bytes_out, 2 * v.bytes_in)
            );
        }
        assert_eq!(one.findings.len(), three.findings.len());
    }

    #[test]
    fn ai_share_is_reached_and_blocks_still_repeat() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let share = |flows, files| ScaleOptions {
            ai_share: Some(0.8),
            ..opts(flows, files)
        };
        let one = write_scale(a.path(), &share(BLOCK_FLOWS, 1)).unwrap();
        let two = write_scale(b.path(), &share(2 * BLOCK_FLOWS, 2)).unwrap();
        let reached = one.ai_flows as f64 / one.flow_records as f64;
        assert!((reached - 0.8).abs() < 0.0005, "{reached}");
        assert_eq!(two.ai_flows, 2 * one.ai_flows);
        for (k, v) in &one.findings {
            assert_eq!(two.findings[k].bytes_out, 2 * v.bytes_out, "{k:?}");
        }
        // Every flow an AI flow: no resolver conn records, no web or internal sessions.
        let all = write_scale(
            a.path(),
            &ScaleOptions {
                ai_share: Some(1.0),
                ..opts(20_000, 1)
            },
        )
        .unwrap();
        assert_eq!(all.ai_flows, all.flow_records);
        // A small share is met too (the typical mix without the option is about 0.8 %).
        let few = write_scale(
            b.path(),
            &ScaleOptions {
                ai_share: Some(0.05),
                ..opts(BLOCK_FLOWS, 1)
            },
        )
        .unwrap();
        assert!((few.ai_flows as f64 / few.flow_records as f64 - 0.05).abs() < 0.0005);
    }

    #[test]
    fn ai_share_outside_zero_to_one_is_refused() {
        for bad in [0.0, -0.1, 1.000_001, f64::NAN, f64::INFINITY] {
            let dir = tempfile::tempdir().unwrap();
            let r = write_scale(
                dir.path(),
                &ScaleOptions {
                    ai_share: Some(bad),
                    ..opts(1000, 1)
                },
            );
            assert!(matches!(r, Err(Error::Usage(_))), "{bad}");
        }
        assert_eq!(check_ai_share(1.0).unwrap(), 1.0);
    }

    #[test]
    fn uids_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for n in 0..100_000u64 {
            assert!(seen.insert(uid('C', (n % 7) << 32 | n)));
        }
    }
}
