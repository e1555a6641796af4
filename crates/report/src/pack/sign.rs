//! Ed25519 keys and signatures in formats that standard tools check without xborder:
//! minisign (`.minisig`, prehashed BLAKE2b-512, the format minisign writes by default) and a
//! raw 64-byte signature for `openssl pkeyutl -verify -rawin`.
//!
//! Formats (all base64 with the standard alphabet):
//! - public key: `untrusted comment: …` then base64(`Ed` ‖ key id (8 bytes) ‖ public key (32));
//! - signature: `untrusted comment: …`, base64(`ED` ‖ key id ‖ Ed25519(BLAKE2b-512(file))),
//!   `trusted comment: …`, base64(Ed25519(signature ‖ trusted comment));
//! - secret key (xborder's own, never needed by a verifier): `untrusted comment: …` then
//!   base64(`Xs` ‖ key id ‖ seed (32)), written with mode 0600.

use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use blake2::{Blake2b512, Digest};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use xborder_model::error::{Error, Result};

/// A signing key with its minisign key id.
pub struct SecretKey {
    pub key_id: [u8; 8],
    key: SigningKey,
}

/// A public key with its minisign key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub key_id: [u8; 8],
    key: VerifyingKey,
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b)
        .map_err(|e| Error::io("system random source", std::io::Error::other(e.to_string())))?;
    Ok(b)
}

/// Key id as minisign prints it: the 8 bytes little-endian, upper-case hex.
pub fn key_id_hex(id: &[u8; 8]) -> String {
    format!("{:016X}", u64::from_le_bytes(*id))
}

impl SecretKey {
    pub fn generate() -> Result<Self> {
        Ok(SecretKey {
            key_id: random::<8>()?,
            key: SigningKey::from_bytes(&random::<32>()?),
        })
    }

    pub fn public(&self) -> PublicKey {
        PublicKey {
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    pub fn to_file_text(&self) -> String {
        let mut raw = Vec::with_capacity(42);
        raw.extend_from_slice(b"Xs");
        raw.extend_from_slice(&self.key_id);
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "untrusted comment: xborder secret key {} (keep private)\n{}\n",
            key_id_hex(&self.key_id),
            B64.encode(raw)
        )
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = xborder_model::fsio::read_regular_text(path)?;
        let bad = |m: &str| Error::config(path.display().to_string(), m.to_string());
        let line = text
            .lines()
            .find(|l| !l.starts_with("untrusted comment:") && !l.trim().is_empty())
            .ok_or_else(|| bad("no key line"))?;
        let raw = B64
            .decode(line.trim())
            .map_err(|_| bad("key line is not base64"))?;
        if raw.len() != 42 || &raw[..2] != b"Xs" {
            return Err(bad(
                "not an xborder secret key (make one with `xborder keygen`)",
            ));
        }
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&raw[2..10]);
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&raw[10..42]);
        Ok(SecretKey {
            key_id,
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// A minisign signature file for `message`, with a signed trusted comment.
    pub fn minisign(&self, message: &[u8], trusted_comment: &str) -> String {
        let digest = Blake2b512::digest(message);
        let sig = self.key.sign(&digest);
        let mut sig_raw = Vec::with_capacity(74);
        sig_raw.extend_from_slice(b"ED");
        sig_raw.extend_from_slice(&self.key_id);
        sig_raw.extend_from_slice(&sig.to_bytes());
        let trusted = trusted_comment.replace(['\n', '\r'], " ");
        let mut global_msg = sig.to_bytes().to_vec();
        global_msg.extend_from_slice(trusted.as_bytes());
        let global = self.key.sign(&global_msg);
        format!(
            "untrusted comment: signature from xborder secret key {}\n{}\ntrusted comment: {}\n{}\n",
            key_id_hex(&self.key_id),
            B64.encode(sig_raw),
            trusted,
            B64.encode(global.to_bytes())
        )
    }

    /// A raw Ed25519 signature over `message` (for `openssl pkeyutl -verify -rawin`).
    pub fn raw_signature(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl PublicKey {
    /// minisign public key file text.
    pub fn to_minisign(&self) -> String {
        let mut raw = Vec::with_capacity(42);
        raw.extend_from_slice(b"Ed");
        raw.extend_from_slice(&self.key_id);
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "untrusted comment: minisign public key {}\n{}\n",
            key_id_hex(&self.key_id),
            B64.encode(raw)
        )
    }

    /// PEM SubjectPublicKeyInfo, as `openssl pkey -pubin` reads it.
    pub fn to_pem(&self) -> String {
        // DER: SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (0 unused) key }
        let mut der = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        der.extend_from_slice(self.key.as_bytes());
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            B64.encode(der)
        )
    }

    /// Read a minisign public key file, or the bare base64 line `minisign -P` takes.
    pub fn load(path: &Path) -> Result<Self> {
        let text = xborder_model::fsio::read_regular_text(path)?;
        Self::parse(&text).map_err(|m| Error::config(path.display().to_string(), m))
    }

    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let line = text
            .lines()
            .find(|l| !l.starts_with("untrusted comment:") && !l.trim().is_empty())
            .ok_or("no key line")?;
        let raw = B64
            .decode(line.trim())
            .map_err(|_| "public key is not base64")?;
        if raw.len() != 42 || &raw[..2] != b"Ed" {
            return Err("not a minisign Ed25519 public key".into());
        }
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&raw[2..10]);
        let mut pk = [0u8; 32];
        pk.copy_from_slice(&raw[10..42]);
        let key = VerifyingKey::from_bytes(&pk).map_err(|_| "invalid Ed25519 public key")?;
        Ok(PublicKey { key_id, key })
    }

    /// Check a minisign signature file over `message`. Returns the trusted comment.
    pub fn verify_minisign(
        &self,
        message: &[u8],
        sig_text: &str,
    ) -> std::result::Result<String, String> {
        let lines: Vec<&str> = sig_text.lines().collect();
        if lines.len() < 4 || !lines[0].starts_with("untrusted comment:") {
            return Err("malformed minisign signature file".into());
        }
        let raw = B64
            .decode(lines[1].trim())
            .map_err(|_| "signature line is not base64")?;
        if raw.len() != 74 {
            return Err("signature line has the wrong length".into());
        }
        if raw[2..10] != self.key_id {
            return Err(format!(
                "signed by key {}, but the public key given is {}",
                key_id_hex(&raw[2..10].try_into().unwrap_or([0; 8])),
                key_id_hex(&self.key_id)
            ));
        }
        let sig = Signature::from_slice(&raw[10..74]).map_err(|_| "malformed signature")?;
        let signed: Vec<u8> = match &raw[..2] {
            b"ED" => Blake2b512::digest(message).to_vec(),
            b"Ed" => message.to_vec(),
            _ => return Err("unknown signature algorithm".into()),
        };
        self.key
            .verify(&signed, &sig)
            .map_err(|_| "signature does not match the file".to_string())?;
        let trusted = lines[2]
            .strip_prefix("trusted comment: ")
            .ok_or("missing trusted comment")?;
        let global = B64
            .decode(lines[3].trim())
            .map_err(|_| "global signature is not base64")?;
        let global = Signature::from_slice(&global).map_err(|_| "malformed global signature")?;
        let mut global_msg = raw[10..74].to_vec();
        global_msg.extend_from_slice(trusted.as_bytes());
        self.key
            .verify(&global_msg, &global)
            .map_err(|_| "trusted comment signature does not match".to_string())?;
        Ok(trusted.to_string())
    }

    /// Check a raw 64-byte Ed25519 signature.
    pub fn verify_raw(&self, message: &[u8], sig: &[u8]) -> std::result::Result<(), String> {
        let sig = Signature::from_slice(sig).map_err(|_| "raw signature is not 64 bytes")?;
        self.key
            .verify(message, &sig)
            .map_err(|_| "raw signature does not match the file".to_string())
    }
}

/// Write `text` to `path` readable by the owner only.
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| Error::io(path, e))?;
    f.write_all(text.as_bytes()).map_err(|e| Error::io(path, e))
}

/// A new random HMAC key for `--pseudonymize`, as 64 hex characters.
pub fn new_hmac_key_text() -> Result<String> {
    let key = random::<32>()?;
    Ok(format!("{}\n", xborder_model::hash::hex(&key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_round_trip_and_tamper() {
        let sk = SecretKey::generate().unwrap();
        let pk = PublicKey::parse(&sk.public().to_minisign()).unwrap();
        let sig = sk.minisign(b"manifest", "xborder run abc");
        assert_eq!(
            pk.verify_minisign(b"manifest", &sig).unwrap(),
            "xborder run abc"
        );
        assert!(pk.verify_minisign(b"manifesT", &sig).is_err());
        let forged = sig.replace("xborder run abc", "xborder run abd");
        assert!(pk.verify_minisign(b"manifest", &forged).is_err());
        let other = SecretKey::generate().unwrap().public();
        assert!(other
            .verify_minisign(b"manifest", &sig)
            .unwrap_err()
            .contains("signed by key"));
        let raw = sk.raw_signature(b"manifest");
        assert!(pk.verify_raw(b"manifest", &raw).is_ok());
        let reloaded = {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("k.key");
            write_private(&p, &sk.to_file_text()).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                assert_eq!(
                    std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                    0o600
                );
            }
            SecretKey::load(&p).unwrap()
        };
        assert_eq!(reloaded.public(), sk.public());
        assert!(sk.public().to_pem().contains("BEGIN PUBLIC KEY"));
    }
}
