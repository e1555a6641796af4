//! Fast, deterministic hashing for the per-flow maps and the de-duplication keys.
//!
//! The standard library's SipHash is built to resist hash flooding; here keys come from
//! the operator's own logs and every map is bounded by distinct keys, so foldhash (several
//! times faster on short keys) is used with fixed seeds: the same input gives the same
//! maps and the same de-duplication decisions on every run.

use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A `HashMap` with foldhash's fast, fixed-seed hasher.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
/// A `HashSet` with foldhash's fast, fixed-seed hasher.
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;

/// A map keyed by IP address, with IPv4 keys held as their 32-bit number and IPv6 keys
/// apart (IPv4-mapped ones among them, never merged with their IPv4 form).
///
/// The fold asks such maps several times a flow, and at scale they outgrow the caches:
/// an `IpAddr` key is 17 bytes, so an entry of an IPv4 address and a small value takes
/// two to three times the bytes of this one (docs/performance-history.md, the
/// twenty-first pass).
#[derive(Debug, Clone)]
pub struct AddressMap<V> {
    v4: FastMap<u32, V>,
    v6: FastMap<Ipv6Addr, V>,
}

impl<V> Default for AddressMap<V> {
    fn default() -> Self {
        AddressMap {
            v4: FastMap::default(),
            v6: FastMap::default(),
        }
    }
}

impl<V> AddressMap<V> {
    /// The value of `ip`, made by `make` and kept the first time it is asked for.
    #[inline]
    pub fn get_or_insert_with(&mut self, ip: IpAddr, make: impl FnOnce() -> V) -> &mut V {
        match ip {
            IpAddr::V4(v4) => self.v4.entry(u32::from(v4)).or_insert_with(make),
            IpAddr::V6(v6) => self.v6.entry(v6).or_insert_with(make),
        }
    }

    pub fn get(&self, ip: IpAddr) -> Option<&V> {
        match ip {
            IpAddr::V4(v4) => self.v4.get(&u32::from(v4)),
            IpAddr::V6(v6) => self.v6.get(&v6),
        }
    }

    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every address and its value, IPv4 first, in no particular order within each.
    pub fn into_entries(self) -> impl Iterator<Item = (IpAddr, V)> {
        let v4 = self
            .v4
            .into_iter()
            .map(|(a, v)| (IpAddr::from(Ipv4Addr::from(a)), v));
        v4.chain(self.v6.into_iter().map(|(a, v)| (IpAddr::V6(a), v)))
    }
}

/// A 128-bit key from two independently seeded 64-bit hashes: at 10^10 distinct records
/// the chance of any two colliding is below 10^-18.
pub fn key128<T: Hash + ?Sized>(value: &T) -> u128 {
    (u128::from(hash64(value, 0)) << 64) | u128::from(hash64(value, 1))
}

/// A 64-bit hash under one of a few fixed seeds (`seed` picks it), for a key built from
/// parts: [`key128`]'s two halves are seeds 0 and 1, so a part hashed with seed 2 or 3 is
/// independent of both.
pub fn hash64<T: Hash + ?Sized>(value: &T, seed: usize) -> u64 {
    state(seed).hash_one(value)
}

/// A hasher under the same seeds as [`hash64`], for a key written as fixed-width words
/// (`write_u64`, `write_u128`) rather than through `Hash`, which writes a length or a
/// discriminant before every part.
pub fn hasher64(seed: usize) -> impl Hasher {
    state(seed).build_hasher()
}

fn state(seed: usize) -> foldhash::quality::FixedState {
    const SEEDS: [u64; 4] = [
        0x243f_6a88_85a3_08d3,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
        0x082e_fa98_ec4e_6c89,
    ];
    foldhash::quality::FixedState::with_seed(SEEDS[seed % SEEDS.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every address is a key of its own: neighbours, the two families and an IPv4
    /// address's mapped IPv6 form never share a value, and every entry comes back.
    #[test]
    fn address_maps_keep_every_address_apart() {
        let addresses: Vec<IpAddr> = [
            "0.0.0.0",
            "0.0.0.1",
            "10.0.0.1",
            "10.0.0.2",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "::a00:1",
            "2001:db8::1",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        let mut map = AddressMap::default();
        assert!(map.is_empty());
        for (i, &ip) in addresses.iter().enumerate() {
            assert_eq!(map.get(ip), None, "{ip}");
            assert_eq!(*map.get_or_insert_with(ip, || i), i);
            // Asked again, the kept value answers; `make` is not called.
            assert_eq!(*map.get_or_insert_with(ip, || usize::MAX), i);
        }
        assert_eq!(map.len(), addresses.len());
        for (i, &ip) in addresses.iter().enumerate() {
            assert_eq!(map.get(ip), Some(&i), "{ip}");
        }
        let mut entries: Vec<(IpAddr, usize)> = map.into_entries().collect();
        entries.sort_by_key(|&(_, i)| i);
        let expected: Vec<(IpAddr, usize)> = addresses.iter().copied().zip(0..).collect();
        assert_eq!(entries, expected);
    }

    #[test]
    fn keys_are_stable_and_distinct() {
        assert_eq!(key128("CabcDEF"), key128("CabcDEF"));
        assert_ne!(key128("CabcDEF"), key128("CabcDEG"));
        let mut m: FastMap<u32, u32> = FastMap::default();
        m.insert(1, 2);
        assert_eq!(m[&1], 2);
    }
}
