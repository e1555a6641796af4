//! Fast, deterministic hashing for the per-flow maps and the de-duplication keys.
//!
//! The standard library's SipHash is built to resist hash flooding; here keys come from
//! the operator's own logs and every map is bounded by distinct keys, so foldhash (several
//! times faster on short keys) is used with fixed seeds: the same input gives the same
//! maps and the same de-duplication decisions on every run.

use std::hash::{BuildHasher, Hash, Hasher};

/// A `HashMap` with foldhash's fast, fixed-seed hasher.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
/// A `HashSet` with foldhash's fast, fixed-seed hasher.
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;

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

    #[test]
    fn keys_are_stable_and_distinct() {
        assert_eq!(key128("CabcDEF"), key128("CabcDEF"));
        assert_ne!(key128("CabcDEF"), key128("CabcDEG"));
        let mut m: FastMap<u32, u32> = FastMap::default();
        m.insert(1, 2);
        assert_eq!(m[&1], 2);
    }
}
