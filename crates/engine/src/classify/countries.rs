//! ISO 3166 countries and named groups (EEA, mainland China) that regimes refer to.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{CatalogHeader, CatalogIdentity, CatalogText, SourceRef};
use xborder_model::error::{Error, Result};

/// The code used when a destination cannot be located.
pub const UNKNOWN_COUNTRY: &str = "ZZ";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CountriesFile {
    catalog: CatalogHeader,
    #[serde(default)]
    country: Vec<CountryEntry>,
    #[serde(default)]
    group: Vec<GroupEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountryEntry {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub name_zh: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupEntry {
    id: String,
    name: String,
    members: Vec<String>,
    /// Kept for the catalog's own provenance; not used in evaluation.
    #[serde(default, rename = "sources")]
    _sources: Vec<SourceRef>,
}

/// Countries by code, and groups by id.
#[derive(Debug, Clone)]
pub struct Countries {
    pub identity: CatalogIdentity,
    names: BTreeMap<String, CountryEntry>,
    groups: BTreeMap<String, (String, BTreeSet<String>)>,
}

impl Countries {
    pub fn load(text: &CatalogText) -> Result<Self> {
        let file: CountriesFile = text.parse()?;
        let identity = text.identity("countries", &file.catalog);
        let mut names = BTreeMap::new();
        for c in file.country {
            if c.code.len() != 2 || !c.code.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(Error::config(
                    &text.label,
                    format!("country code `{}` is not two upper-case letters", c.code),
                ));
            }
            if names.insert(c.code.clone(), c.clone()).is_some() {
                return Err(Error::config(
                    &text.label,
                    format!("country `{}` is listed twice", c.code),
                ));
            }
        }
        if !names.contains_key(UNKNOWN_COUNTRY) {
            names.insert(
                UNKNOWN_COUNTRY.into(),
                CountryEntry {
                    code: UNKNOWN_COUNTRY.into(),
                    name: "Unknown".into(),
                    name_zh: Some("未知".into()),
                },
            );
        }
        let mut groups = BTreeMap::new();
        for g in file.group {
            for m in &g.members {
                if !names.contains_key(m) {
                    return Err(Error::config(
                        &text.label,
                        format!("group `{}` lists unknown country `{m}`", g.id),
                    ));
                }
            }
            groups.insert(
                g.id.clone(),
                (g.name.clone(), g.members.into_iter().collect()),
            );
        }
        Ok(Countries {
            identity,
            names,
            groups,
        })
    }

    pub fn contains(&self, code: &str) -> bool {
        self.names.contains_key(code)
    }

    /// English name, or the code itself when unknown.
    pub fn name<'a>(&'a self, code: &'a str) -> &'a str {
        self.names
            .get(code)
            .map(|c| c.name.as_str())
            .unwrap_or(code)
    }

    /// Simplified Chinese name, when the catalog has one.
    pub fn name_zh(&self, code: &str) -> Option<&str> {
        self.names.get(code).and_then(|c| c.name_zh.as_deref())
    }

    /// Expand a list of codes and `@GROUP` references into a set of codes.
    pub fn expand(&self, label: &str, items: &[String]) -> Result<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        for item in items {
            if let Some(group) = item.strip_prefix('@') {
                let (_, members) = self.groups.get(group).ok_or_else(|| {
                    Error::config(label, format!("unknown country group `@{group}`"))
                })?;
                out.extend(members.iter().cloned());
            } else if self.names.contains_key(item) {
                out.insert(item.clone());
            } else {
                return Err(Error::config(
                    label,
                    format!("unknown country code `{item}`"),
                ));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_has_groups_and_territories() {
        let text = CatalogText::load(
            None,
            "data/countries.toml",
            super::super::embedded::COUNTRIES,
        )
        .unwrap();
        let c = Countries::load(&text).unwrap();
        let eea = c.expand("t", &["@EEA".into()]).unwrap();
        assert_eq!(eea.len(), 37);
        assert!(eea.contains("RE") && eea.contains("AX") && !eea.contains("GL"));
        assert!(eea.contains("NO") && eea.contains("DE") && !eea.contains("CH"));
        let cn = c.expand("t", &["@CN_MAINLAND".into()]).unwrap();
        assert!(
            cn.contains("CN") && !cn.contains("HK") && !cn.contains("MO") && !cn.contains("TW")
        );
        assert!(c.contains("HK") && c.contains("ZZ"));
        assert!(c.expand("t", &["@NOPE".into()]).is_err());
    }
}
