//! Special-purpose address blocks (RFC 6890 and its successors). Such addresses are
//! internal or non-routable: never geolocated, never a cross-border destination.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The name of the special-purpose block containing `ip`, or `None` for a global address.
pub fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special_v4(v4);
            }
            special_v6(v6)
        }
    }
}

/// The first octets that begin a special-purpose IPv4 range ([`ranges_v4`]'s): any other
/// address is public, and most are, so one test of the first octet answers for them.
fn may_be_special_v4(first_octet: u8) -> bool {
    matches!(
        first_octet,
        0 | 10 | 100 | 127 | 169 | 172 | 192 | 198 | 203 | 224..=255
    )
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    if !may_be_special_v4(ip.octets()[0]) {
        return None;
    }
    ranges_v4(ip)
}

/// The special-purpose IPv4 ranges, tried in order.
fn ranges_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    let v = u32::from(ip);
    let within = |base: [u8; 4], len: u32| {
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        v & mask == u32::from(Ipv4Addr::from(base)) & mask
    };
    Some(match () {
        _ if within([0, 0, 0, 0], 8) => "this-network",
        _ if within([10, 0, 0, 0], 8) => "private",
        _ if within([100, 64, 0, 0], 10) => "shared-cgnat",
        _ if within([127, 0, 0, 0], 8) => "loopback",
        _ if within([169, 254, 0, 0], 16) => "link-local",
        _ if within([172, 16, 0, 0], 12) => "private",
        _ if within([192, 0, 0, 0], 24) => "ietf-protocol",
        _ if within([192, 0, 2, 0], 24) => "documentation",
        _ if within([192, 31, 196, 0], 24) => "as112",
        _ if within([192, 52, 193, 0], 24) => "amt",
        _ if within([192, 88, 99, 0], 24) => "6to4-relay",
        _ if within([192, 168, 0, 0], 16) => "private",
        _ if within([192, 175, 48, 0], 24) => "as112",
        _ if within([198, 18, 0, 0], 15) => "benchmarking",
        _ if within([198, 51, 100, 0], 24) => "documentation",
        _ if within([203, 0, 113, 0], 24) => "documentation",
        _ if o[0] >= 224 && o[0] < 240 => "multicast",
        _ if o == [255, 255, 255, 255] => "broadcast",
        _ if o[0] >= 240 => "reserved",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let v = u128::from(ip);
    let within = |base: u128, len: u32| {
        let mask = if len == 0 {
            0
        } else {
            u128::MAX << (128 - len)
        };
        v & mask == base & mask
    };
    let seg = |a: u16, b: u16| (u128::from(a) << 112) | (u128::from(b) << 96);
    Some(match () {
        _ if v == 0 => "unspecified",
        _ if v == 1 => "loopback",
        _ if within(0x0064_ff9b_0001u128 << 80, 48) => "nat64-local",
        _ if within(0x0100u128 << 112, 64) => "discard",
        _ if within(seg(0x2001, 0x0db8), 32) => "documentation",
        _ if within(0x3fffu128 << 112, 20) => "documentation",
        _ if within(seg(0x2001, 0), 23) && !within(seg(0x2001, 0), 32) => "ietf-protocol",
        _ if within(0xfc00u128 << 112, 7) => "unique-local",
        _ if within(0xfe80u128 << 112, 10) => "link-local",
        _ if s[0] >> 8 == 0xff => "multicast",
        _ if within(0, 96) => "ipv4-compatible",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(s: &str) -> Option<&'static str> {
        special_purpose(s.parse().unwrap())
    }

    /// The quick test of the first octet never hides a range: every first octet, with
    /// every second octet and the third and fourth octets at which the ranges start and
    /// end, is classified as the ranges alone classify it.
    #[test]
    fn the_first_octet_test_hides_no_range() {
        let mut special = 0;
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                for c in [0, 2, 48, 99, 100, 113, 193, 196, 255] {
                    for d in [0, 1, 255] {
                        let ip = Ipv4Addr::new(a, b, c, d);
                        assert_eq!(special_v4(ip), ranges_v4(ip), "{ip}");
                        special += usize::from(ranges_v4(ip).is_some());
                    }
                }
            }
        }
        assert!(special > 0);
    }

    #[test]
    fn classifies_the_usual_suspects() {
        assert_eq!(sp("10.1.2.3"), Some("private"));
        assert_eq!(sp("172.31.255.255"), Some("private"));
        assert_eq!(sp("172.32.0.1"), None);
        assert_eq!(sp("192.168.1.1"), Some("private"));
        assert_eq!(sp("100.64.1.1"), Some("shared-cgnat"));
        assert_eq!(sp("100.128.0.1"), None);
        assert_eq!(sp("127.0.0.1"), Some("loopback"));
        assert_eq!(sp("169.254.1.1"), Some("link-local"));
        assert_eq!(sp("198.51.100.7"), Some("documentation"));
        assert_eq!(sp("224.0.0.251"), Some("multicast"));
        assert_eq!(sp("255.255.255.255"), Some("broadcast"));
        assert_eq!(sp("8.8.8.8"), None);
        assert_eq!(sp("::1"), Some("loopback"));
        assert_eq!(sp("fe80::1"), Some("link-local"));
        assert_eq!(sp("fd10::5"), Some("unique-local"));
        assert_eq!(sp("ff02::fb"), Some("multicast"));
        assert_eq!(sp("2001:db8::1"), Some("documentation"));
        assert_eq!(sp("::ffff:10.0.0.1"), Some("private"));
        assert_eq!(sp("2607:6bc0::10"), None);
        assert_eq!(sp("2001:4860:4860::8888"), None);
    }
}
