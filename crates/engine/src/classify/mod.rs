//! Classify: decide who each egress flow went to (vendor, product), where it came from
//! (site) and which legal regimes treat it as a cross-border transfer.
//!
//! Catalogs are data, not code: the defaults are embedded from data/ and every one can be
//! replaced by a user's file. Each loaded catalog keeps its identity (path, SHA-256,
//! version) so a report can say exactly which rules produced it.

pub mod assets;
pub mod countries;
pub mod onward;
pub mod policy;
pub mod regimes;
pub mod sites;
pub mod vendors;

use std::path::Path;

use serde::{Deserialize, Serialize};

use xborder_model::error::{Error, Result};
use xborder_model::hash::sha256_bytes;

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
                let bytes = xborder_model::fsio::read_regular(path)?;
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
    pub const VENDORS: &str = include_str!("../../../../data/vendors.toml");
    pub const REGIMES: &str = include_str!("../../../../data/regimes.toml");
    pub const COUNTRIES: &str = include_str!("../../../../data/countries.toml");
}

/// A catalog older than this many days (by its `as_of`) is reported as stale: AI vendors
/// move endpoints faster than releases ship.
pub const CATALOG_MAX_AGE_DAYS: i64 = 120;

/// Days from a catalog's `as_of` (`YYYY-MM-DD`, or `YYYY-MM` read as the month's first
/// day) to `today`; `None` when `as_of` is neither.
pub fn catalog_age_days(as_of: &str, today: chrono::NaiveDate) -> Option<i64> {
    let date = chrono::NaiveDate::parse_from_str(as_of, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(&format!("{as_of}-01"), "%Y-%m-%d"))
        .ok()?;
    Some((today - date).num_days())
}

/// The warning to print for a catalog past [`CATALOG_MAX_AGE_DAYS`] on `today`, or whose
/// `as_of` cannot be read.
pub fn catalog_age_warning(id: &CatalogIdentity, today: chrono::NaiveDate) -> Option<String> {
    match catalog_age_days(&id.as_of, today) {
        Some(days) if days > CATALOG_MAX_AGE_DAYS => Some(format!(
            "the {} catalog ({}, version {}) is {days} days old (as_of {}), past the {CATALOG_MAX_AGE_DAYS}-day limit: AI endpoints may have changed; update it or add entries with --vendors-extra",
            id.kind, id.path, id.version, id.as_of
        )),
        Some(_) => None,
        None => Some(format!(
            "the {} catalog ({}) has an unreadable as_of `{}`, so its age is unknown",
            id.kind, id.path, id.as_of
        )),
    }
}

#[cfg(test)]
mod age_tests {
    use super::*;

    fn id(as_of: &str) -> CatalogIdentity {
        CatalogIdentity {
            kind: "vendors".into(),
            path: "embedded:data/vendors.toml".into(),
            sha256: String::new(),
            version: "v".into(),
            as_of: as_of.into(),
        }
    }

    #[test]
    fn a_catalog_past_120_days_is_stale() {
        let today = chrono::NaiveDate::from_ymd_opt(2027, 4, 4).unwrap();
        assert_eq!(catalog_age_days("2026-12-05", today), Some(120));
        assert!(catalog_age_warning(&id("2026-12-05"), today).is_none());
        let later = today.succ_opt().unwrap();
        let w = catalog_age_warning(&id("2026-12-05"), later).unwrap();
        assert!(w.contains("121 days old"), "{w}");
        assert_eq!(catalog_age_days("2026-11", today), Some(154));
        assert!(catalog_age_warning(&id("soon"), today)
            .unwrap()
            .contains("unreadable"));
    }
}
