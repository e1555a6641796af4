//! SHA-256 as lowercase hex: the digests run.json, evidence packs and catalog
//! identities record.

use std::io;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::fsio::open_regular;

/// SHA-256 of a whole file, for catalogs and databases that are read outside ingest.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = open_regular(path)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(|e| Error::io(path, e))?;
    Ok(hex(&hasher.finalize()))
}

/// SHA-256 of bytes in memory (embedded catalogs and database).
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
