//! The normalised record schema every input format is mapped onto.
//!
//! Every later stage reads only these types, so a new input format needs a reader and
//! nothing else. docs/input-formats.md documents each field; keep the two in step.

use std::net::IpAddr;

use serde::Serialize;

/// A short text held inline up to 24 bytes: no heap allocation for the ids and codes every
/// record carries.
pub type ShortText = compact_str::CompactString;

/// A connection id.
pub type Uid = ShortText;

/// Microseconds since the Unix epoch, UTC. Integer time avoids float drift in joins.
pub type Micros = i64;

/// Where a record came from: an index into the run's input list and a 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Provenance {
    pub file: u32,
    pub line: u64,
}

/// Transport protocol as logged. Unknown names are kept rather than rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Other(String),
}

impl Proto {
    pub fn parse(s: &str) -> Proto {
        match s.to_ascii_lowercase().as_str() {
            "tcp" | "6" => Proto::Tcp,
            "udp" | "17" => Proto::Udp,
            "icmp" | "1" | "icmp6" | "ipv6-icmp" | "58" => Proto::Icmp,
            other => Proto::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Other(s) => s,
        }
    }
}

/// One connection, oriented from its originator (the side that opened it).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRecord {
    /// Connection start.
    pub ts: Micros,
    /// Sensor-assigned connection id (Zeek `uid`); the de-duplication key when present.
    /// Held inline up to 24 bytes: a heap string per flow was a tenth of a run's time.
    pub uid: Option<Uid>,
    pub src_ip: IpAddr,
    pub src_port: Option<u16>,
    pub dst_ip: IpAddr,
    pub dst_port: Option<u16>,
    pub proto: Proto,
    /// Payload bytes sent by the originator (Zeek `orig_bytes`); `None` when unset.
    pub bytes_out: Option<u64>,
    /// Payload bytes sent by the responder (Zeek `resp_bytes`); `None` when unset.
    pub bytes_in: Option<u64>,
    /// Seconds; `None` when unset.
    pub duration: Option<f64>,
    /// The sensor's own opinion that the originator is local (Zeek `local_orig`).
    pub local_orig: Option<bool>,
    /// What the byte counts cover; most formats log both directions of a connection.
    pub direction: ByteDirection,
    pub provenance: Provenance,
}

/// What a flow record's byte counts mean. Formats differ, and mixing them up would
/// double or halve the reported upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ByteDirection {
    /// One connection: `bytes_out` from the originator, `bytes_in` back to it.
    #[default]
    Biflow,
    /// One direction of a connection only (NetFlow, VPC flow logs): `bytes_out` is what
    /// `src_ip` sent to `dst_ip`; the reverse direction is a separate record.
    Uniflow,
    /// Both directions summed into `bytes_out` (Cisco ASA teardown): no upload/download split.
    Combined,
}

impl ByteDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            ByteDirection::Biflow => "biflow",
            ByteDirection::Uniflow => "uniflow",
            ByteDirection::Combined => "combined",
        }
    }
}

/// Where a hostname seen on a connection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostnameSource {
    /// TLS ClientHello server name (Zeek ssl.log `server_name`, Suricata `tls.sni`).
    Sni,
    /// HTTP `Host` header (Zeek http.log `host`, Suricata `http.hostname`).
    HttpHost,
}

/// A hostname the client itself named on one connection. Joined to its flow by `uid`
/// (Zeek uid, Suricata flow_id), it is stronger evidence than any DNS answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HostnameRecord {
    pub ts: Micros,
    /// The connection id shared with the flow record.
    pub uid: String,
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    pub dst_port: Option<u16>,
    /// Lowercased, without a trailing dot or port.
    pub name: String,
    pub source: HostnameSource,
    pub provenance: Provenance,
}

/// One value from a DNS response's answer section.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsAnswer {
    pub value: AnswerValue,
    /// Seconds, as logged; `None` when the log carries no TTL for it.
    pub ttl: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AnswerValue {
    /// An A or AAAA record.
    Address(IpAddr),
    /// Anything else (CNAME target, PTR, TXT…), kept verbatim.
    Other(String),
}

/// One DNS transaction as seen on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsRecord {
    /// When the query was seen.
    pub ts: Micros,
    /// When the response was seen: `ts + rtt` when the round trip is logged, else `ts`.
    pub response_ts: Micros,
    /// Held inline up to 24 bytes, like the two codes below: three heap strings per DNS
    /// record were most of its allocations.
    pub uid: Option<Uid>,
    pub trans_id: Option<u32>,
    /// The client that asked (Zeek `id.orig_h`).
    pub client_ip: IpAddr,
    /// The name that was asked for, lowercased, without a trailing dot.
    pub query: String,
    /// The query type's name (`A`, `AAAA`), as the log writes it.
    pub qtype: Option<ShortText>,
    /// The response code's name (`NOERROR`), as the log writes it.
    pub rcode: Option<ShortText>,
    pub answers: Vec<DnsAnswer>,
    pub provenance: Provenance,
}

/// What a web proxy or secure web gateway did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProxyAction {
    /// Forwarded to the server: egress.
    Allowed,
    /// Refused by the proxy's policy: no egress, but evidence that a ban was enforced.
    Blocked,
    /// Neither: served from the proxy's cache, an authentication challenge, an error
    /// before any upstream request. Counted, not reported as egress.
    Other,
}

impl ProxyAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyAction::Allowed => "allowed",
            ProxyAction::Blocked => "blocked",
            ProxyAction::Other => "other",
        }
    }
}

/// One request as a web proxy, secure web gateway or URL filter logged it. The proxy
/// names the client and the host it asked for, which is the strongest attribution there
/// is when the network path hides the client behind the proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyRecord {
    pub ts: Micros,
    /// The client as the proxy saw it (before the proxy's own address replaced it).
    pub client_ip: IpAddr,
    /// The authenticated user, when the proxy logs one.
    pub user: Option<String>,
    /// The requested host (URL host or CONNECT authority), normalised as
    /// [`normalise_host_header`]; an address literal when the client asked for one.
    pub host: String,
    pub port: Option<u16>,
    /// The upstream server address, when the proxy logs it.
    pub server_ip: Option<IpAddr>,
    /// Bytes the client sent (request), when logged.
    pub bytes_out: Option<u64>,
    /// Bytes the client received (response), when logged.
    pub bytes_in: Option<u64>,
    pub action: ProxyAction,
    /// The proxy's own identity as logged (an address, a device name or serial).
    pub proxy: Option<String>,
    /// The proxy's address, when its identity is one: flows from it are the upstream
    /// legs of requests this log already counts.
    pub proxy_ip: Option<IpAddr>,
    /// A connection-id prefix shared with the same device's flow log (PAN-OS serial and
    /// session id): a flow whose uid starts with it is this request's connection.
    pub session: Option<String>,
    pub provenance: Provenance,
}

/// A record produced by a reader.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Flow(FlowRecord),
    Dns(DnsRecord),
    Hostname(HostnameRecord),
    Proxy(ProxyRecord),
}

impl Record {
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Flow(_) => RecordKind::Flow,
            Record::Dns(_) => RecordKind::Dns,
            Record::Hostname(_) => RecordKind::Hostname,
            Record::Proxy(_) => RecordKind::Proxy,
        }
    }
}

/// Normalise a DNS name for matching: lowercase ASCII, no trailing dot.
pub fn normalise_hostname(name: &str) -> String {
    let mut out = String::new();
    normalise_hostname_into(name, &mut out);
    out
}

/// [`normalise_hostname`] written into `out` (emptied first), so a parser can reuse a
/// string it already holds.
pub fn normalise_hostname_into(name: &str, out: &mut String) {
    out.clear();
    // The usual name starts and ends with a printable ASCII character other than a final
    // dot: there is nothing to trim, and the (Unicode) trims are skipped.
    let bytes = name.as_bytes();
    let plain = bytes.first().is_none_or(u8::is_ascii_graphic)
        && bytes
            .last()
            .is_none_or(|&b| b.is_ascii_graphic() && b != b'.');
    out.push_str(if plain {
        name
    } else {
        name.trim().trim_end_matches('.')
    });
    out.make_ascii_lowercase();
}

/// Normalise an HTTP `Host` header or SNI value: as [`normalise_hostname`], without a
/// `:port` suffix or IPv6 brackets.
pub fn normalise_host_header(value: &str) -> String {
    let v = value.trim();
    let host = if let Some(rest) = v.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        match v.rsplit_once(':') {
            Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => v,
        }
    };
    normalise_hostname(host)
}

/// Parse an IP address and fold IPv4-mapped IPv6 (`::ffff:a.b.c.d`) to plain IPv4,
/// so one host never appears under two keys.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    // The usual cell, a plain dotted quad, has nothing to trim: tried before the
    // (Unicode) trim, which was a sixth of the parse.
    if let Some(v4) = dotted_quad(s.as_bytes()) {
        return Some(IpAddr::V4(v4));
    }
    let s = s.trim();
    if let Some(v4) = dotted_quad(s.as_bytes()) {
        return Some(IpAddr::V4(v4));
    }
    let ip: IpAddr = s.parse().ok()?;
    Some(ip.to_canonical())
}

/// A plain dotted-quad IPv4 address (four decimal octets of one to three digits, no
/// leading zero, none above 255), read without std's general parser, which was about
/// 7 % of the time spent parsing a conn log. Anything else is `None` and left to std; what
/// this accepts, std accepts with the same value.
fn dotted_quad(text: &[u8]) -> Option<std::net::Ipv4Addr> {
    if !(7..=15).contains(&text.len()) {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut at = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if text.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        *octet = decimal_octet(text, &mut at)?;
    }
    (at == text.len()).then_some(std::net::Ipv4Addr::from(octets))
}

/// The octet of one to three digits at `*at` (no leading zero, at most 255), moving `*at`
/// past it. Unrolled: one digit is read and checked at a time, with no loop counter, as
/// this runs twice for every flow.
#[inline(always)]
fn decimal_octet(text: &[u8], at: &mut usize) -> Option<u8> {
    let digit = |i: usize| {
        text.get(i)
            .map(|c| c.wrapping_sub(b'0'))
            .filter(|d| *d <= 9)
    };
    let first = digit(*at)?;
    let mut value = u16::from(first);
    *at += 1;
    if let Some(second) = digit(*at) {
        if first == 0 {
            return None;
        }
        value = value * 10 + u16::from(second);
        *at += 1;
        if let Some(third) = digit(*at) {
            value = value * 10 + u16::from(third);
            *at += 1;
        }
    }
    u8::try_from(value).ok()
}

/// What a record is, as far as the pipeline cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKind {
    Flow,
    Dns,
    /// A TLS server name or HTTP host seen on one connection (joined to flows by uid).
    Hostname,
    /// A request logged by a web proxy, secure web gateway or URL filter.
    Proxy,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Flow => "flow",
            RecordKind::Dns => "dns",
            RecordKind::Hostname => "hostname",
            RecordKind::Proxy => "proxy",
        }
    }
}

/// How a flow's destination was tied to a hostname or vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Sni,
    HttpHost,
    /// The host a web proxy, gateway or URL filter logged for the client's request.
    ProxyHost,
    Dns,
    IpRange,
    Snapshot,
    Ptr,
    None,
}

impl Method {
    /// Every method, strongest evidence first.
    pub const ALL: [Method; 8] = [
        Method::Sni,
        Method::HttpHost,
        Method::ProxyHost,
        Method::Dns,
        Method::IpRange,
        Method::Snapshot,
        Method::Ptr,
        Method::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Sni => "sni",
            Method::HttpHost => "http_host",
            Method::ProxyHost => "proxy_host",
            Method::Dns => "dns",
            Method::IpRange => "ip_range",
            Method::Snapshot => "snapshot",
            Method::Ptr => "ptr",
            Method::None => "none",
        }
    }
}

impl From<HostnameSource> for Method {
    fn from(s: HostnameSource) -> Self {
        match s {
            HostnameSource::Sni => Method::Sni,
            HostnameSource::HttpHost => Method::HttpHost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Names with and without something to trim (spaces, tabs, a no-break space, final
    /// dots, non-ASCII letters at either end) normalise as the trims alone make them.
    #[test]
    fn hostnames_normalise_as_the_trims_make_them() {
        const PARTS: [&str; 9] = ["a", "B", ".", " ", "\t", "\u{a0}", "é", "x-1", ".."];
        let mut rng = Rng::new(11);
        let mut out = String::from("left over");
        for _ in 0..20_000 {
            let name: String = (0..rng.below(6))
                .map(|_| PARTS[rng.below(PARTS.len() as u64) as usize])
                .collect();
            let mut want = name.trim().trim_end_matches('.').to_string();
            want.make_ascii_lowercase();
            normalise_hostname_into(&name, &mut out);
            assert_eq!(out, want, "{name:?}");
        }
    }

    /// What the fast path accepts, std accepts with the same value; whatever the input,
    /// `parse_ip` gives what std's parser (then folding mapped IPv4) gives.
    #[test]
    fn addresses_parse_as_std_parses_them() {
        let std_parse = |s: &str| s.trim().parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
        let mut cases: Vec<String> = [
            "0.0.0.0",
            "1.2.3.4",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3.04",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            ".1.2.3",
            "1.2.3.",
            "1.2.3.4 ",
            " 10.0.0.1",
            "1234.1.1.1",
            "1.2.3.1000",
            "0.0.0.00",
            "00.0.0.0",
            "1.2.3.a",
            "::1",
            "::ffff:10.1.0.5",
            "2001:db8::17",
            "",
            "-",
            "1.2.3.4\t",
            "１.2.3.4",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut rng = Rng::new(11);
        let alphabet = b"0123456789.:a ";
        for _ in 0..50_000 {
            let len = 1 + rng.below(17) as usize;
            let s: String = (0..len)
                .map(|_| char::from(alphabet[rng.below(alphabet.len() as u64) as usize]))
                .collect();
            cases.push(s);
            let octets: Vec<String> = (0..4).map(|_| rng.below(300).to_string()).collect();
            cases.push(octets.join("."));
        }
        for _ in 0..50_000 {
            // Every plain dotted quad takes the fast path.
            let v4 = std::net::Ipv4Addr::from(rng.below(1 << 32) as u32);
            assert_eq!(dotted_quad(v4.to_string().as_bytes()), Some(v4), "{v4}");
        }
        for s in &cases {
            if let Some(v4) = dotted_quad(s.as_bytes()) {
                assert_eq!(s.parse::<std::net::Ipv4Addr>().ok(), Some(v4), "{s:?}");
            }
            assert_eq!(parse_ip(s), std_parse(s), "{s:?}");
        }
    }
}
