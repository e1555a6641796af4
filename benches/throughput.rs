//! Throughput benchmarks for the hot paths, on the generated sample quarter.
//!
//! Run with `cargo bench --bench throughput`. Uses only the standard library's clock so it
//! adds no build dependency; each figure is the median of several repetitions. Results are
//! reported in docs/performance.md.

use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use xborder::attribute::DnsWindow;
use xborder::classify::vendors::VendorCatalog;
use xborder::classify::{embedded, CatalogText};
use xborder::geolocate::GeoIp;
use xborder::period::Period;
use xborder::pipeline::{self, AnalyzeOptions, Catalogs};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<F: FnMut()>(reps: usize, mut f: F) -> Duration {
    f();
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let summary = xborder::generate::write_sample(dir.path(), 20260710).expect("sample");
    let opts = AnalyzeOptions {
        inputs: vec![dir.path().to_path_buf()],
        sites: Some(dir.path().join("sites.toml")),
        geoip: None,
        vendors: None,
        regimes: None,
        countries: None,
        period: Period::unbounded(),
        dns_window: DnsWindow {
            max_age_s: 21_600,
            ttl_grace_s: 900,
        },
        strict: false,
        policy: None,
        assets: None,
        progress: false,
        snapshots: Vec::new(),
        snapshot_max_distance_s: xborder::attribute::snapshot::DEFAULT_SNAPSHOT_MAX_DISTANCE_S,
        collect_unattributed: false,
        format: None,
        reader: Default::default(),
    };
    let catalogs = Catalogs::load(&opts).expect("catalogs");

    let d = time(5, || {
        black_box(pipeline::analyze(&opts, &catalogs, None).expect("analyze"));
    });
    let records = summary.flows + summary.dns;
    println!(
        "analyze (ingest..aggregate), sample quarter: {} flow + {} dns records in {:.1} ms = {:.2} M records/s",
        summary.flows,
        summary.dns,
        d.as_secs_f64() * 1e3,
        records as f64 / d.as_secs_f64() / 1e6
    );

    let catalog =
        VendorCatalog::load(&CatalogText::load(None, "v", embedded::VENDORS).unwrap()).unwrap();
    let hosts = [
        "api.anthropic.com",
        "eu.api.openai.com",
        "www.example.com",
        "storage.googleapis.com",
        "a.b.c.d.notopenai.com",
        "dashscope-intl.aliyuncs.com",
    ];
    let n = 600_000;
    let d = time(5, || {
        for i in 0..n {
            black_box(catalog.match_host(hosts[i % hosts.len()]));
        }
    });
    println!(
        "vendor hostname match: {:.0} ns/lookup",
        d.as_secs_f64() * 1e9 / n as f64
    );

    let geo = GeoIp::open(None).unwrap();
    let ips: Vec<IpAddr> = (0..10_000u32)
        .map(|i| IpAddr::from((i.wrapping_mul(2_654_435_761)).to_be_bytes()))
        .collect();
    let d = time(5, || {
        for ip in &ips {
            black_box(geo.locate(*ip));
        }
    });
    println!(
        "GeoIP country lookup: {:.0} ns/lookup",
        d.as_secs_f64() * 1e9 / ips.len() as f64
    );

    let bytes = vec![7u8; 64 << 20];
    let d = time(3, || {
        black_box(xborder::ingest::input::sha256_bytes(&bytes));
    });
    println!(
        "SHA-256: {:.0} MB/s",
        bytes.len() as f64 / d.as_secs_f64() / 1e6
    );
}
