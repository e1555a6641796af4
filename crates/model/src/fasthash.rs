//! Fast, deterministic hashing for the per-flow maps and the de-duplication keys.
//!
//! The standard library's SipHash is built to resist hash flooding; here keys come from
//! the operator's own logs and every map is bounded by distinct keys, so foldhash (several
//! times faster on short keys) is used with fixed seeds: the same input gives the same
//! maps and the same de-duplication decisions on every run.

use std::hash::{BuildHasher, Hash};

/// A `HashMap` with foldhash's fast, fixed-seed hasher.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
/// A `HashSet` with foldhash's fast, fixed-seed hasher.
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;

/// A 128-bit key from two independently seeded 64-bit hashes: at 10^10 distinct records
/// the chance of any two colliding is below 10^-18.
pub fn key128<T: Hash + ?Sized>(value: &T) -> u128 {
    let a = foldhash::quality::FixedState::with_seed(0x243f_6a88_85a3_08d3).hash_one(value);
    let b = foldhash::quality::FixedState::with_seed(0x1319_8a2e_0370_7344).hash_one(value);
    (u128::from(a) << 64) | u128::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct() {
        assert_eq!(key128("CabcDEF"), key128("CabcDEF"));
        assert_ne!(key128("CabcDEF"), key128("CabcDEG"));
        let mut m: FastMap<u32, u32> = FastMap::default();
        m.insert(1, 2);
        assert_eq!(m[&1], 2);
    }
}
