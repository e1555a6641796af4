//! The sample data generator: a deterministic, realistic quarter of Zeek conn and dns
//! logs for a small multinational, with the traps an auditor's tool must get right.
//!
//! The same seed always gives the same bytes. The addresses of vendor endpoints are real
//! public addresses whose country the embedded GeoIP database confirms, so the sample
//! exercises geolocation for real; the internal addresses are RFC 1918 / ULA.
//!
//! Traps planted (see docs/sample-data.md):
//! - a CDN address shared by api.openai.com and an unrelated shop, resolved by different
//!   clients: only the client that asked for OpenAI is attributed;
//! - CNAME chains in front of vendor addresses (the query name is what counts);
//! - IPv6 clients and vendor addresses;
//! - egress from a source in no site (unknown_site);
//! - a client using DNS-over-HTTPS, whose flows only a published vendor range can attribute;
//! - Alibaba's domestic DashScope endpoint (CN) next to its international one (SG);
//! - a second conn log that is gzip-compressed and has an extra leading `_node_name`
//!   column, as real multi-sensor exports do.

pub mod scale;

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::Path;

use crate::error::{Error, Result};

pub use xborder_model::rng::Rng;

/// A destination clients resolve and connect to.
struct Endpoint {
    query: &'static str,
    cnames: &'static [&'static str],
    addresses: &'static [&'static str],
    ttl: u32,
    /// Typical upload size range (bytes): code context is large, telemetry small.
    up: (u64, u64),
}

const fn ep(
    query: &'static str,
    cnames: &'static [&'static str],
    addresses: &'static [&'static str],
    ttl: u32,
    up: (u64, u64),
) -> Endpoint {
    Endpoint {
        query,
        cnames,
        addresses,
        ttl,
        up,
    }
}

const ANTHROPIC_API: Endpoint = ep(
    "api.anthropic.com",
    &[],
    &["160.79.104.10"],
    300,
    (20_000, 2_000_000),
);
const ANTHROPIC_API_V6: Endpoint = ep(
    "api.anthropic.com",
    &[],
    &["2607:6bc0::10"],
    300,
    (20_000, 2_000_000),
);
const CLAUDE_AI: Endpoint = ep(
    "claude.ai",
    &[],
    &["2606:4700::6810:8407"],
    300,
    (5_000, 200_000),
);
const OPENAI_API: Endpoint = ep(
    "api.openai.com",
    &["api.openai.com.cdn.cloudflare.net"],
    &["104.18.32.7"],
    60,
    (10_000, 1_500_000),
);
const CHATGPT: Endpoint = ep(
    "chatgpt.com",
    &["chatgpt.com.cdn.cloudflare.net"],
    &["172.64.155.209"],
    60,
    (3_000, 150_000),
);
const COPILOT: Endpoint = ep(
    "copilot-proxy.githubusercontent.com",
    &["copilot-proxy.githubusercontent.com.trafficmanager.example"],
    &["162.159.140.245"],
    60,
    (8_000, 400_000),
);
const CURSOR: Endpoint = ep(
    "api2.cursor.sh",
    &[],
    &["43.128.10.10"],
    120,
    (10_000, 900_000),
);
const GEMINI: Endpoint = ep(
    "generativelanguage.googleapis.com",
    &[],
    &["142.250.80.46"],
    300,
    (5_000, 600_000),
);
const DEEPSEEK: Endpoint = ep(
    "api.deepseek.com",
    &[],
    &["47.93.1.10"],
    600,
    (10_000, 800_000),
);
const DASHSCOPE_CN: Endpoint = ep(
    "dashscope.aliyuncs.com",
    &[],
    &["39.96.10.20"],
    600,
    (10_000, 800_000),
);
const DASHSCOPE_INTL: Endpoint = ep(
    "dashscope-intl.aliyuncs.com",
    &[],
    &["8.219.10.10"],
    600,
    (10_000, 800_000),
);
const MOONSHOT: Endpoint = ep(
    "api.moonshot.cn",
    &[],
    &["120.55.10.10"],
    600,
    (10_000, 500_000),
);
const ZHIPU: Endpoint = ep(
    "open.bigmodel.cn",
    &[],
    &["47.92.10.20"],
    600,
    (10_000, 500_000),
);
const MISTRAL: Endpoint = ep(
    "api.mistral.ai",
    &[],
    &["51.159.10.10"],
    300,
    (10_000, 600_000),
);
const QODER: Endpoint = ep("qoder.com", &[], &["8.210.10.10"], 300, (10_000, 700_000));
/// An unrelated shop on the same CDN address as api.openai.com: the shared-CDN trap.
const SHOP_ON_OPENAI_CDN: Endpoint = ep(
    "shop.example-retail.com",
    &["shop.example-retail.com.cdn.cloudflare.net"],
    &["104.18.32.7"],
    60,
    (500, 20_000),
);
const NEWS_DE: Endpoint = ep(
    "news.example-portal.de",
    &[],
    &["88.198.10.10"],
    3600,
    (300, 5_000),
);
const CLOUD_JP: Endpoint = ep(
    "assets.example-cdn.jp",
    &[],
    &["13.112.10.10"],
    3600,
    (300, 10_000),
);
const SAAS_GB: Endpoint = ep(
    "crm.example-saas.co.uk",
    &[],
    &["81.2.69.142"],
    900,
    (1_000, 60_000),
);
const SAAS_IE: Endpoint = ep(
    "mail.example-hosting.ie",
    &[],
    &["52.208.10.10"],
    900,
    (1_000, 80_000),
);
const MIRROR_FR: Endpoint = ep(
    "mirror.example-packages.fr",
    &[],
    &["51.15.10.10"],
    3600,
    (300, 3_000),
);

struct Site {
    name: &'static str,
    country: &'static str,
    cidrs: &'static [&'static str],
    description: &'static str,
    /// (host prefix, count): client addresses are prefix + 1..=count.
    hosts: &'static [(&'static str, u32)],
    resolver: &'static str,
    /// Endpoints with daily session weights per host.
    usage: &'static [(&'static Endpoint, f64)],
}

const SITES: &[Site] = &[
    Site {
        name: "hangzhou",
        country: "CN",
        cidrs: &["10.10.0.0/16", "fd10::/16"],
        description: "R&D office, Hangzhou",
        hosts: &[("10.10.1.", 10), ("fd10::1:", 2)],
        resolver: "10.10.0.53",
        usage: &[
            (&ANTHROPIC_API, 0.35),
            (&ANTHROPIC_API_V6, 0.3),
            (&DASHSCOPE_CN, 0.5),
            (&DASHSCOPE_INTL, 0.15),
            (&QODER, 0.3),
            (&CURSOR, 0.15),
            (&DEEPSEEK, 0.3),
            (&MOONSHOT, 0.2),
            (&NEWS_DE, 0.3),
            (&MIRROR_FR, 0.2),
            (&CLAUDE_AI, 0.1),
        ],
    },
    Site {
        name: "shanghai",
        country: "CN",
        cidrs: &["10.20.0.0/16"],
        description: "Sales and support office, Shanghai",
        hosts: &[("10.20.1.", 6)],
        resolver: "10.20.0.53",
        usage: &[
            (&OPENAI_API, 0.2),
            (&CHATGPT, 0.3),
            (&ZHIPU, 0.4),
            (&MISTRAL, 0.1),
            (&GEMINI, 0.1),
            (&SAAS_GB, 0.4),
            (&CLOUD_JP, 0.3),
        ],
    },
    Site {
        name: "hongkong",
        country: "HK",
        cidrs: &["10.30.0.0/16"],
        description: "Regional office, Hong Kong",
        hosts: &[("10.30.1.", 4)],
        resolver: "10.30.0.53",
        usage: &[
            (&OPENAI_API, 0.3),
            (&ANTHROPIC_API, 0.3),
            (&DASHSCOPE_INTL, 0.2),
            (&CLOUD_JP, 0.3),
        ],
    },
    Site {
        name: "dublin",
        country: "IE",
        cidrs: &["10.40.0.0/16"],
        description: "EU headquarters, Dublin",
        hosts: &[("10.40.1.", 6)],
        resolver: "10.40.0.53",
        usage: &[
            (&COPILOT, 0.5),
            (&OPENAI_API, 0.3),
            (&MISTRAL, 0.3),
            (&DEEPSEEK, 0.05),
            (&SAAS_IE, 0.5),
            (&SAAS_GB, 0.3),
            (&SHOP_ON_OPENAI_CDN, 0.2),
            (&NEWS_DE, 0.2),
        ],
    },
    Site {
        name: "sanfrancisco",
        country: "US",
        cidrs: &["10.50.0.0/16"],
        description: "US office, San Francisco",
        hosts: &[("10.50.1.", 4)],
        resolver: "10.50.0.53",
        usage: &[
            (&ANTHROPIC_API, 0.5),
            (&COPILOT, 0.4),
            (&GEMINI, 0.2),
            (&CLOUD_JP, 0.1),
        ],
    },
];

/// A lab network nobody put in the sites file: its egress is `unknown_site`.
const UNKNOWN_HOSTS: &[&str] = &["192.168.77.5", "192.168.77.6"];
const UNKNOWN_USAGE: &[(&Endpoint, f64)] = &[(&OPENAI_API, 0.3), (&DEEPSEEK, 0.2)];

/// Scanners that open connections from outside: inbound, never egress.
const SCANNERS: &[&str] = &["45.33.32.156", "185.220.101.4"];

/// What the generator wrote.
#[derive(Debug, Default, Clone)]
pub struct SampleSummary {
    pub flows: u64,
    pub dns: u64,
    pub files: Vec<String>,
}

struct Writers {
    conn_a: String,
    conn_b: String,
    dns: String,
    flows: u64,
    dns_count: u64,
    uid: u64,
}

const CONN_FIELDS: &str = "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents";
const CONN_TYPES: &str = "time\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]";
const DNS_FIELDS: &str = "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected";
const DNS_TYPES: &str = "time\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool";

fn header(path: &str, fields: &str, types: &str, open: &str, node_column: bool) -> String {
    let (fields, types) = if node_column {
        (format!("_node_name\t{fields}"), format!("string\t{types}"))
    } else {
        (fields.to_string(), types.to_string())
    };
    format!(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{path}\n#open\t{open}\n#fields\t{fields}\n#types\t{types}\n"
    )
}

fn ts_text(micros: i64) -> String {
    format!(
        "{}.{:06}",
        micros.div_euclid(1_000_000),
        micros.rem_euclid(1_000_000)
    )
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

impl Writers {
    fn next_uid(&mut self, rng: &mut Rng) -> String {
        self.uid += 1;
        let mut v = rng.next_u64() ^ self.uid.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let mut s = String::from("C");
        for _ in 0..17 {
            s.push(BASE62[(v % 62) as usize] as char);
            v /= 62;
            if v == 0 {
                v = rng.next_u64();
            }
        }
        s
    }

    #[allow(clippy::too_many_arguments)]
    fn conn(
        &mut self,
        rng: &mut Rng,
        ts: i64,
        src: &str,
        dst: &str,
        dport: u16,
        proto: &str,
        service: &str,
        up: Option<u64>,
        down: Option<u64>,
        local_orig: bool,
    ) {
        let uid = self.next_uid(rng);
        let sport = 32768 + rng.below(28000) as u16;
        let dur = if proto == "tcp" {
            format!("{:.6}", 0.05 + rng.unit() * 40.0)
        } else {
            format!("{:.6}", rng.unit() * 0.1)
        };
        let (ob, rb) = (
            up.map_or("-".into(), |v| v.to_string()),
            down.map_or("-".into(), |v| v.to_string()),
        );
        let (op, rp) = (
            up.map_or(1, |v| v / 1200 + 2),
            down.map_or(0, |v| v / 1200 + 2),
        );
        let (oipb, ripb) = (up.unwrap_or(0) + op * 52, down.unwrap_or(0) + rp * 52);
        let state = if up.is_some() { "SF" } else { "S0" };
        let history = if proto == "tcp" {
            if up.is_some() {
                "ShADadFf"
            } else {
                "S"
            }
        } else {
            "D"
        };
        let lo = if local_orig { "T" } else { "F" };
        let lr = if crate::geolocate::special_purpose(
            dst.parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        )
        .is_some()
        {
            "T"
        } else {
            "F"
        };
        let line = format!(
            "{}\t{uid}\t{src}\t{sport}\t{dst}\t{dport}\t{proto}\t{service}\t{dur}\t{ob}\t{rb}\t{state}\t{lo}\t{lr}\t0\t{history}\t{op}\t{oipb}\t{rp}\t{ripb}\t(empty)\n",
            ts_text(ts)
        );
        // July goes to the plain log; August and September to the gzip log with a node column.
        if ts < JULY_END {
            self.conn_a.push_str(&line);
        } else {
            let _ = write!(
                self.conn_b,
                "sensor-{}\t{line}",
                if src.starts_with("10.4") || src.starts_with("10.5") {
                    "west"
                } else {
                    "east"
                }
            );
        }
        self.flows += 1;
    }

    fn dns(&mut self, rng: &mut Rng, ts: i64, client: &str, resolver: &str, e: &Endpoint) -> i64 {
        let uid = self.next_uid(rng);
        let rtt = 0.002 + rng.unit() * 0.05;
        let v6 = e.addresses.iter().any(|a| a.contains(':'));
        let (qtype, qname) = if v6 { (28, "AAAA") } else { (1, "A") };
        let mut answers: Vec<&str> = e.cnames.to_vec();
        answers.extend(e.addresses.iter().copied());
        let ttls: Vec<String> = answers
            .iter()
            .enumerate()
            .map(|(i, _)| {
                if i < e.cnames.len() {
                    format!("{}.000000", e.ttl * 5)
                } else {
                    format!("{}.000000", e.ttl)
                }
            })
            .collect();
        let _ = writeln!(
            self.dns,
            "{}\t{uid}\t{client}\t{}\t{resolver}\t53\tudp\t{}\t{rtt:.6}\t{}\t1\tC_INTERNET\t{qtype}\t{qname}\t0\tNOERROR\tF\tF\tT\tT\t0\t{}\t{}\tF",
            ts_text(ts),
            32768 + rng.below(28000),
            rng.below(65536),
            e.query,
            answers.join(","),
            ttls.join(",")
        );
        self.dns_count += 1;
        ts + (rtt * 1e6) as i64
    }
}

/// 2026-07-01T00:00:00Z and the quarter's bounds, in microseconds.
const Q3_START: i64 = 1_782_864_000_000_000;
const JULY_END: i64 = Q3_START + 31 * 86_400_000_000;
const Q3_DAYS: i64 = 92;

/// Day 9 of the quarter is 2026-07-10, when the organisation banned Claude Code at its CN
/// offices (data/examples/policy.toml). Most Hangzhou developers stop and move to Qoder;
/// two holdouts (10.10.1.4 and fd10::1:2) carry on, and the DNS-over-HTTPS user below
/// never stops. Those are the violations the policy check must find.
const BAN_DAY: i64 = 9;
const HOLDOUTS: &[&str] = &["10.10.1.4", "fd10::1:2"];

fn after_ban_weight(site: &str, client: &str, e: &Endpoint, day: i64, weight: f64) -> f64 {
    if site != "hangzhou" || day < BAN_DAY {
        return weight;
    }
    let anthropic = e.query == ANTHROPIC_API.query || e.query == CLAUDE_AI.query;
    if anthropic && !HOLDOUTS.contains(&client) {
        0.0
    } else if anthropic {
        weight * 0.5
    } else if e.query == QODER.query {
        (weight * 2.0).min(1.0)
    } else {
        weight
    }
}

/// One session: a DNS lookup, then one to four connections to the answer within its TTL.
fn session(
    w: &mut Writers,
    rng: &mut Rng,
    day_start: i64,
    client: &str,
    resolver: &str,
    e: &Endpoint,
    local_orig: bool,
) {
    // Working hours in the office's rough time zone are not modelled; spread over the day.
    let t = day_start + (rng.below(86_000) as i64) * 1_000_000;
    let answered = w.dns(rng, t, client, resolver, e);
    // The DNS query itself is an internal flow to the site resolver.
    let (q, r) = (40 + rng.below(30), 90 + rng.below(200));
    w.conn(
        rng,
        t,
        client,
        resolver,
        53,
        "udp",
        "dns",
        Some(q),
        Some(r),
        true,
    );
    let n = 1 + rng.below(4);
    for _ in 0..n {
        let start = answered + 5_000 + (rng.below(u64::from(e.ttl) * 1000) as i64) * 1_000;
        let up = rng.log_uniform(e.up.0, e.up.1);
        let down = rng.log_uniform(2_000, 400_000);
        let dst = e.addresses[rng.below(e.addresses.len() as u64) as usize];
        // About one connection in fifty never completes: byte counts stay unset.
        let (up, down) = if rng.below(50) == 0 {
            (None, None)
        } else {
            (Some(up), Some(down))
        };
        w.conn(
            rng, start, client, dst, 443, "tcp", "ssl", up, down, local_orig,
        );
    }
}

/// Write the sample into `dir`: conn logs, a dns log and sites.toml.
pub fn write_sample(dir: &Path, seed: u64) -> Result<SampleSummary> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut rng = Rng::new(seed);
    let mut w = Writers {
        conn_a: header(
            "conn",
            CONN_FIELDS,
            CONN_TYPES,
            "2026-07-01-00-00-00",
            false,
        ),
        conn_b: header("conn", CONN_FIELDS, CONN_TYPES, "2026-08-01-00-00-00", true),
        dns: header("dns", DNS_FIELDS, DNS_TYPES, "2026-07-01-00-00-00", false),
        flows: 0,
        dns_count: 0,
        uid: 0,
    };
    for day in 0..Q3_DAYS {
        let day_start = Q3_START + day * 86_400_000_000;
        let weekend = matches!((day + 2) % 7, 5 | 6); // 2026-07-01 is a Wednesday.
        let activity = if weekend { 0.25 } else { 1.0 };
        for site in SITES {
            for (prefix, count) in site.hosts {
                for n in 1..=*count {
                    let client = format!("{prefix}{n}");
                    for (endpoint, weight) in site.usage {
                        let weight = after_ban_weight(site.name, &client, endpoint, day, *weight);
                        if rng.unit() < weight * activity {
                            session(
                                &mut w,
                                &mut rng,
                                day_start,
                                &client,
                                site.resolver,
                                endpoint,
                                true,
                            );
                        }
                    }
                }
            }
        }
        for client in UNKNOWN_HOSTS {
            for (endpoint, weight) in UNKNOWN_USAGE {
                if rng.unit() < weight * activity {
                    session(
                        &mut w,
                        &mut rng,
                        day_start,
                        client,
                        "192.168.77.1",
                        endpoint,
                        false,
                    );
                }
            }
        }
        // One Hangzhou developer resolves names over DNS-over-HTTPS, which the sensor cannot
        // see: these flows can only be attributed by the vendor's published address range.
        if rng.unit() < 0.6 * activity {
            let t = day_start + (rng.below(86_000) as i64) * 1_000_000;
            for k in 0..(1 + rng.below(3) as i64) {
                let up = rng.log_uniform(ANTHROPIC_API.up.0, ANTHROPIC_API.up.1);
                let down = rng.log_uniform(2_000, 400_000);
                w.conn(
                    &mut rng,
                    t + k * 30_000_000,
                    "10.10.1.9",
                    "160.79.104.10",
                    443,
                    "tcp",
                    "ssl",
                    Some(up),
                    Some(down),
                    true,
                );
            }
        }
        // Inbound scans against the Dublin office's published service.
        for scanner in SCANNERS {
            let t = day_start + (rng.below(86_000) as i64) * 1_000_000;
            w.conn(
                &mut rng,
                t,
                scanner,
                "10.40.0.10",
                22,
                "tcp",
                "-",
                None,
                None,
                false,
            );
        }
        // Internal file-server traffic in Hangzhou.
        let t = day_start + (rng.below(86_000) as i64) * 1_000_000;
        let up = rng.log_uniform(10_000, 5_000_000);
        w.conn(
            &mut rng,
            t,
            "10.10.1.3",
            "10.10.0.20",
            445,
            "tcp",
            "smb",
            Some(up),
            Some(up / 3),
            true,
        );
    }
    let close_a = "#close\t2026-08-01-00-00-00\n";
    let close_b = "#close\t2026-10-01-00-00-00\n";
    w.conn_a.push_str(close_a);
    w.conn_b.push_str(close_b);
    w.dns.push_str(close_b);
    let mut files = Vec::new();
    let mut put = |name: &str, bytes: &[u8]| -> Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        files.push(name.to_string());
        Ok(())
    };
    put("conn.2026-07.log", w.conn_a.as_bytes())?;
    put(
        "conn.2026-08-09.log.gz",
        &gzip(w.conn_b.as_bytes()).map_err(|e| Error::io(dir.join("conn.2026-08-09.log.gz"), e))?,
    )?;
    put("dns.2026-Q3.log", w.dns.as_bytes())?;
    put("sites.toml", sites_toml().as_bytes())?;
    Ok(SampleSummary {
        flows: w.flows,
        dns: w.dns_count,
        files,
    })
}

/// Deterministic gzip: no file name, no modification time.
fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    enc.finish()
}

/// The sample's sites file, documented in place.
pub fn sites_toml() -> String {
    let mut s = String::from(
        "# Sites of the sample organisation. Each [[site]] maps source CIDRs to an office and the\n\
         # ISO 3166 country whose law governs data leaving it. The longest matching prefix wins.\n\
         # Sources in no site (here 192.168.77.0/24, a forgotten lab) are reported as unknown_site.\n\n",
    );
    for site in SITES {
        let cidrs: Vec<String> = site.cidrs.iter().map(|c| format!("\"{c}\"")).collect();
        let _ = write!(
            s,
            "[[site]]\nname = \"{}\"\ncountry = \"{}\"\ndescription = \"{}\"\ncidrs = [{}]\n\n",
            site.name,
            site.country,
            site.description,
            cidrs.join(", ")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let sa = write_sample(a.path(), 7).unwrap();
        let sb = write_sample(b.path(), 7).unwrap();
        assert_eq!(sa.flows, sb.flows);
        for f in &sa.files {
            assert_eq!(
                std::fs::read(a.path().join(f)).unwrap(),
                std::fs::read(b.path().join(f)).unwrap(),
                "{f}"
            );
        }
        assert!(sa.flows > 1000 && sa.dns > 300);
    }
}
