//! Keyed pseudonyms for `--pseudonymize`: HMAC-SHA256 over a value with a secret key the
//! auditee keeps. The same machine always gets the same token across the whole pack, and
//! only the key holder can link a token back to an address.

use std::net::IpAddr;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use xborder_model::error::{Error, Result};
use xborder_model::hash::hex;

/// Text that replaces details withheld from rejects.csv under pseudonymisation.
pub const WITHHELD: &str = "(withheld: --pseudonymize)";

#[derive(Clone)]
pub struct Pseudonymizer {
    key: Vec<u8>,
}

impl Pseudonymizer {
    /// Load a key file: at least 32 bytes written as hex (as `xborder keygen --hmac` makes).
    pub fn load(path: &Path) -> Result<Self> {
        let text = xborder_model::fsio::read_regular_text(path)?;
        let hexed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let bad = || {
            Error::config(
                path.display().to_string(),
                "pseudonymisation key must be at least 64 hex characters (make one with `xborder keygen --hmac FILE`)",
            )
        };
        if hexed.len() < 64 || !hexed.len().is_multiple_of(2) {
            return Err(bad());
        }
        let key = (0..hexed.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hexed[i..i + 2], 16))
            .collect::<std::result::Result<Vec<u8>, _>>()
            .map_err(|_| bad())?;
        Ok(Pseudonymizer { key })
    }

    pub fn from_key(key: &[u8]) -> Self {
        Pseudonymizer { key: key.to_vec() }
    }

    /// `ip-` and the first 16 hex digits of HMAC-SHA256(key, "ip:" + canonical address).
    pub fn ip(&self, ip: &str) -> String {
        match ip.parse::<IpAddr>() {
            Ok(address) => self.ip_addr(address),
            Err(_) => format!("ip-{}", self.token(&format!("ip:{ip}"))),
        }
    }

    /// [`Pseudonymizer::ip`] of an address already parsed (evidence rows keep addresses
    /// as addresses, not text).
    pub fn ip_addr(&self, ip: IpAddr) -> String {
        format!("ip-{}", self.token(&format!("ip:{}", ip.to_canonical())))
    }

    /// `host-` and the first 16 hex digits of HMAC-SHA256(key, "host:" + lowercase name).
    pub fn host(&self, name: &str) -> String {
        format!(
            "host-{}",
            self.token(&format!("host:{}", name.to_ascii_lowercase()))
        )
    }

    /// `user-` and the first 16 hex digits of HMAC-SHA256(key, "user:" + lowercase name):
    /// a proxy's logged user, linkable across the pack only by the key holder.
    pub fn user(&self, name: &str) -> String {
        format!(
            "user-{}",
            self.token(&format!("user:{}", name.trim().to_lowercase()))
        )
    }

    fn token(&self, message: &str) -> String {
        // HMAC accepts keys of any length, so construction cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => return String::from("invalid-key"),
        };
        mac.update(message.as_bytes());
        hex(&mac.finalize().into_bytes())[..16].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_keyed_and_canonical() {
        let a = Pseudonymizer::from_key(&[1u8; 32]);
        let b = Pseudonymizer::from_key(&[2u8; 32]);
        assert_eq!(a.ip("10.1.0.5"), a.ip("10.1.0.5"));
        assert_eq!(a.ip("10.1.0.5"), a.ip("::ffff:10.1.0.5"));
        assert_ne!(a.ip("10.1.0.5"), a.ip("10.1.0.6"));
        assert_ne!(a.ip("10.1.0.5"), b.ip("10.1.0.5"));
        assert!(a.ip("10.1.0.5").starts_with("ip-") && a.ip("10.1.0.5").len() == 19);
        // Matches `printf 'ip:10.1.0.5' | openssl dgst -sha256 -mac HMAC -macopt hexkey:0101…`.
        let expected = {
            let mut mac = Hmac::<Sha256>::new_from_slice(&[1u8; 32]).unwrap();
            mac.update(b"ip:10.1.0.5");
            hex(&mac.finalize().into_bytes())[..16].to_string()
        };
        assert_eq!(a.ip("10.1.0.5"), format!("ip-{expected}"));
        let parsed: IpAddr = "::ffff:10.1.0.5".parse().unwrap();
        assert_eq!(a.ip_addr(parsed), a.ip("10.1.0.5"));
        assert_eq!(
            a.ip_addr("2001:db8::1".parse().unwrap()),
            a.ip("2001:DB8:0::1")
        );
    }
}
