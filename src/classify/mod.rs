//! Classify: decide who each egress flow went to (vendor, product), where it came from
//! (site) and which legal regimes treat it as a cross-border transfer.
//!
//! Catalogs are data, not code: the defaults are embedded from data/ and every one can be
//! replaced by a user's file. Each loaded catalog keeps its identity (path, SHA-256,
//! version) so a report can say exactly which rules produced it.

pub mod assets;
pub mod countries;
pub mod policy;
pub mod regimes;
pub mod sites;
pub mod vendors;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ingest::input::sha256_bytes;

/// Which file a catalog came from, for run.json and the provenance appendix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogIdentity {
    pub kind: String,
    /// `embedded:data/…` for the built-in defaults, else the path given.
    pub path: String,
    pub sha256: String,
    pub version: String,
    pub as_of: String,
}

/// A source citation carried by catalog entries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    pub url: String,
    pub as_of: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// The `[catalog]` header every data file starts with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogHeader {
    pub name: String,
    pub version: String,
    pub as_of: String,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub sources: Vec<SourceRef>,
}

/// Text of a catalog: a user's file or the embedded default.
pub struct CatalogText {
    pub label: String,
    pub text: String,
}

impl CatalogText {
    pub fn load(user: Option<&Path>, embedded_name: &str, embedded: &str) -> Result<Self> {
        match user {
            Some(path) => {
                let bytes = crate::ingest::input::read_regular(path)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| Error::config(path.display().to_string(), "file is not UTF-8"))?;
                Ok(CatalogText {
                    label: path.display().to_string(),
                    text,
                })
            }
            None => Ok(CatalogText {
                label: format!("embedded:{embedded_name}"),
                text: embedded.to_string(),
            }),
        }
    }

    pub fn identity(&self, kind: &str, header: &CatalogHeader) -> CatalogIdentity {
        CatalogIdentity {
            kind: kind.to_string(),
            path: self.label.clone(),
            sha256: sha256_bytes(self.text.as_bytes()),
            version: header.version.clone(),
            as_of: header.as_of.clone(),
        }
    }

    /// Parse as TOML, naming the file and line on failure.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        parse_toml(&self.label, &self.text)
    }
}

/// Parse a TOML configuration file, naming the file and line on failure.
pub fn parse_toml<T: serde::de::DeserializeOwned>(label: &str, text: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        Error::config(
            label,
            match line {
                Some(l) => format!("line {l}: {}", e.message()),
                None => e.message().to_string(),
            },
        )
    })
}

/// Embedded default catalogs.
pub mod embedded {
    pub const VENDORS: &str = include_str!("../../data/vendors.toml");
    pub const REGIMES: &str = include_str!("../../data/regimes.toml");
    pub const COUNTRIES: &str = include_str!("../../data/countries.toml");
}
