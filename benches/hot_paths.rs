//! Micro-benchmarks of the hot paths: parsing, GeoIP lookup, vendor matching, the DNS join,
//! de-duplication and SHA-256, and the floors beneath them (splitting lines and fields,
//! parsing numbers, inflating gzip, hashing one block). Run with `cargo bench --bench hot_paths`; figures are in
//! docs/performance.md. Whole-run throughput is measured by benches/macro.sh instead.

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use xborder::attribute::{DnsIndexBuilder, DnsWindow};
use xborder::classify::vendors::VendorCatalog;
use xborder::classify::{embedded, CatalogText};
use xborder::dedup::{DedupBudget, SeenKeys};
use xborder::geolocate::GeoIp;
use xborder::ingest::{read_records, Format, Item, ReadContext, ReaderOptions};
use xborder::schema::Record;

/// One block of generated conn and dns logs, read into memory once.
fn generated() -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = xborder::generate::scale::ScaleOptions {
        flows: xborder::generate::scale::BLOCK_FLOWS,
        seed: 7,
        format: xborder::generate::scale::LogFormat::Tsv,
        gzip: false,
        files: 1,
        threads: 1,
        ai_share: None,
    };
    xborder::generate::scale::write_scale(dir.path(), &opts).expect("generate");
    let logs = dir.path().join("logs");
    (
        std::fs::read(logs.join("conn.000.log")).expect("conn"),
        std::fs::read(logs.join("dns.000.log")).expect("dns"),
    )
}

fn read(bytes: &[u8], format: &str, sink: &mut dyn FnMut(Item) -> xborder::Result<()>) {
    let options = ReaderOptions::default();
    let ctx = ReadContext {
        path: std::path::Path::new("bench"),
        file_index: 0,
        options: &options,
    };
    let format = Format::by_id(format).expect("format");
    let mut cursor = std::io::Cursor::new(bytes);
    read_records(format, &mut cursor, &ctx, sink).expect("read");
}

fn parse(bytes: &[u8], format: &str) -> u64 {
    let mut n = 0u64;
    read(bytes, format, &mut |item| {
        if let Item::Record(r) = item {
            n += 1;
            black_box(r);
        }
        Ok(())
    });
    n
}

fn benches(c: &mut Criterion) {
    let (conn, dns) = generated();
    let conn_records = parse(&conn, "zeek-conn-tsv");
    let dns_records = parse(&dns, "zeek-dns-tsv");

    let mut g = c.benchmark_group("parse");
    g.sample_size(10);
    g.throughput(Throughput::Elements(conn_records));
    g.bench_function("zeek_conn_tsv", |b| {
        b.iter(|| parse(&conn, "zeek-conn-tsv"))
    });
    g.throughput(Throughput::Elements(dns_records));
    g.bench_function("zeek_dns_tsv", |b| b.iter(|| parse(&dns, "zeek-dns-tsv")));
    g.finish();

    let catalog =
        VendorCatalog::load(&CatalogText::load(None, "v", embedded::VENDORS).expect("catalog"))
            .expect("catalog");
    let hosts = [
        "api.anthropic.com",
        "eu.api.openai.com",
        "www.example.com",
        "storage.googleapis.com",
        "a.b.c.d.notopenai.com",
        "dashscope-intl.aliyuncs.com",
    ];
    let mut g = c.benchmark_group("lookup");
    g.throughput(Throughput::Elements(hosts.len() as u64));
    g.bench_function("vendor_match_host", |b| {
        b.iter(|| {
            for h in hosts {
                black_box(catalog.match_host(black_box(h)));
            }
        })
    });
    let geo = GeoIp::open(None).expect("geoip");
    let ips: Vec<IpAddr> = (0..1024u32)
        .map(|i| IpAddr::from(i.wrapping_mul(2_654_435_761).to_be_bytes()))
        .collect();
    g.throughput(Throughput::Elements(ips.len() as u64));
    g.bench_function("geoip_country", |b| {
        b.iter(|| {
            for ip in &ips {
                black_box(geo.locate(*ip));
            }
        })
    });

    // The DNS join: index the generated DNS log, then look up every conn record.
    let mut builder = DnsIndexBuilder::new(&catalog);
    read(&dns, "zeek-dns-tsv", &mut |item| {
        if let Item::Record(Record::Dns(d)) = item {
            builder.add(&d).expect("in memory");
        }
        Ok(())
    });
    let index = builder.finish().expect("in memory");
    let mut flows = Vec::new();
    read(&conn, "zeek-conn-tsv", &mut |item| {
        if let Item::Record(Record::Flow(f)) = item {
            flows.push((f.src_ip, f.dst_ip, f.ts));
        }
        Ok(())
    });
    let window = DnsWindow {
        max_age_s: 21_600,
        ttl_grace_s: 900,
    };
    g.throughput(Throughput::Elements(flows.len() as u64));
    g.bench_function("dns_join", |b| {
        b.iter(|| {
            for (s, d, t) in &flows {
                black_box(index.lookup(*s, *d, *t, window).ok());
            }
        })
    });
    g.finish();

    // De-duplication: one million fresh flow-uid keys into the in-memory set (the common
    // case), and the same after a spill, when every key also passes the Bloom filter.
    let keys: Vec<u128> = (0..1_000_000u64)
        .map(|i| xborder::fasthash::key128(&format!("C{i:017}")))
        .collect();
    let spill = tempfile::tempdir().expect("temp dir");
    let mut g = c.benchmark_group("dedup");
    g.sample_size(10);
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.bench_function("insert_in_memory", |b| {
        b.iter(|| {
            let mut seen = SeenKeys::new(DedupBudget::FLOWS, spill.path());
            seen.expect(keys.len() as u64);
            for chunk in keys.chunks(2048) {
                seen.warm(chunk.iter().copied());
                for k in chunk {
                    black_box(seen.insert(*k).expect("in memory"));
                }
            }
        })
    });
    g.bench_function("insert_after_spill", |b| {
        b.iter(|| {
            let budget = DedupBudget {
                recent_keys: 400_000,
                ..DedupBudget::FLOWS
            };
            let mut seen = SeenKeys::new(budget, spill.path());
            for chunk in keys.chunks(2048) {
                seen.warm(chunk.iter().copied());
                for k in chunk {
                    black_box(seen.insert(*k).expect("spill"));
                }
            }
        })
    });
    g.finish();

    // The floors a flow's CPU budget is measured against (docs/performance.md): what any
    // reader of one block must at least do, with nothing of xborder's own on top.
    let mut g = c.benchmark_group("floor");
    g.sample_size(10);
    g.throughput(Throughput::Elements(conn_records));
    g.bench_function("line_split", |b| {
        b.iter(|| {
            conn.split(|&c| c == b'\n')
                .map(|l| l.split(|&c| c == b'\t').count())
                .sum::<usize>()
        })
    });
    g.bench_function("number_parse", |b| {
        // Every line's ts, two ports and two byte counts, parsed from their text.
        let cells: Vec<&[u8]> = conn
            .split(|&c| c == b'\n')
            .filter(|l| !l.starts_with(b"#"))
            .flat_map(|l| {
                let f: Vec<&[u8]> = l.split(|&c| c == b'\t').collect();
                [0usize, 3, 5, 9, 10]
                    .into_iter()
                    .filter_map(move |i| f.get(i).copied())
                    .collect::<Vec<_>>()
            })
            .collect();
        b.iter(|| {
            cells
                .iter()
                .map(|c| {
                    let digits = c.split(|&b| b == b'.').next().unwrap_or(c);
                    std::str::from_utf8(digits)
                        .ok()
                        .and_then(|t| t.parse::<u64>().ok())
                        .unwrap_or(0)
                })
                .fold(0u64, u64::wrapping_add)
        })
    });
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&conn).expect("gzip");
        e.finish().expect("gzip")
    };
    g.bench_function("inflate", |b| {
        b.iter(|| {
            use std::io::Read;
            let mut out = Vec::with_capacity(conn.len());
            flate2::read::MultiGzDecoder::new(&gz[..])
                .read_to_end(&mut out)
                .expect("inflate");
            out.len()
        })
    });
    g.throughput(Throughput::Bytes(conn.len() as u64));
    g.bench_function("sha256_block", |b| {
        b.iter(|| xborder::ingest::input::sha256_bytes(&conn))
    });
    g.finish();

    let bytes = vec![7u8; 16 << 20];
    let mut g = c.benchmark_group("hash");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("sha256", |b| {
        b.iter(|| xborder::ingest::input::sha256_bytes(&bytes))
    });
    g.finish();
}

criterion_group!(hot_paths, benches);
criterion_main!(hot_paths);
