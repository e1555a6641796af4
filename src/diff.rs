//! Change between two runs (quarter over quarter): new and disappeared vendors per site,
//! bytes per vendor and regime, new destination countries, and new policy violations.
//!
//! Works from the CSV outputs alone, so any two run directories (or packs' `data/`) can be
//! compared, including runs made by another xborder version with the same columns.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};

/// One line of changes.csv.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// `vendor_new`, `vendor_gone`, `bytes_out`, `country_new`, `country_gone`, `violation_new`.
    pub change: String,
    pub regime: String,
    pub source_site: String,
    pub vendor: String,
    pub product: String,
    pub destination_country: String,
    pub old_value: u64,
    pub new_value: u64,
    /// `new - old`, signed.
    pub delta: i64,
    pub detail: String,
}

pub const CHANGE_COLUMNS: &[&str] = &[
    "change",
    "regime",
    "source_site",
    "vendor",
    "product",
    "destination_country",
    "old_value",
    "new_value",
    "delta",
    "detail",
];

type Rows = Vec<BTreeMap<String, String>>;

/// Read a run's CSV as header→value maps; a missing optional file reads as empty.
fn read(dir: &Path, name: &str, required: bool) -> Result<Rows> {
    let path = dir.join(name);
    if !path.is_file() {
        if required {
            return Err(Error::Usage(format!(
                "{} has no {name}; give a directory written by `xborder analyze` (or a pack's data/)",
                dir.display()
            )));
        }
        return Ok(Vec::new());
    }
    let mut r = csv::Reader::from_path(&path)
        .map_err(|e| Error::config(path.display().to_string(), e.to_string()))?;
    let headers = r
        .headers()
        .map_err(|e| Error::config(path.display().to_string(), e.to_string()))?
        .clone();
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| {
            Error::config(path.display().to_string(), format!("line {}: {e}", i + 2))
        })?;
        rows.push(
            headers
                .iter()
                .zip(rec.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
    }
    Ok(rows)
}

fn field<'a>(r: &'a BTreeMap<String, String>, k: &str) -> &'a str {
    r.get(k).map(String::as_str).unwrap_or("")
}

fn num(r: &BTreeMap<String, String>, k: &str) -> u64 {
    field(r, k).parse().unwrap_or(0)
}

/// The tables of one run that a comparison needs.
pub struct RunTables {
    summary: Rows,
    findings: Rows,
    other: Rows,
    violations: Rows,
    policy_applied: bool,
}

impl RunTables {
    pub fn load(dir: &Path) -> Result<Self> {
        let dir = if dir.join("data/run.json").is_file() && !dir.join("run.json").is_file() {
            dir.join("data")
        } else {
            dir.to_path_buf()
        };
        Ok(RunTables {
            summary: read(&dir, "summary_by_vendor.csv", true)?,
            findings: read(&dir, "findings.csv", true)?,
            other: read(&dir, "cross_border_other.csv", false)?,
            violations: read(&dir, "policy_violations.csv", false)?,
            policy_applied: dir.join("policy_violations.csv").is_file(),
        })
    }

    fn site_vendors(&self) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for r in &self.summary {
            for site in field(r, "sites").split(';').filter(|s| !s.is_empty()) {
                out.insert((site.to_string(), field(r, "vendor").to_string()));
            }
        }
        out
    }

    fn bytes_by_vendor_regime(&self) -> BTreeMap<(String, String), u64> {
        let mut out = BTreeMap::new();
        for r in &self.findings {
            *out.entry((
                field(r, "vendor").to_string(),
                field(r, "regime").to_string(),
            ))
            .or_default() += num(r, "bytes_out");
        }
        // Vendor totals regardless of regime, from the vendor summary.
        for r in &self.summary {
            *out.entry((field(r, "vendor").to_string(), "all".to_string()))
                .or_default() += num(r, "bytes_out");
        }
        out
    }

    fn countries(&self) -> BTreeSet<(String, String, String)> {
        self.findings
            .iter()
            .chain(&self.other)
            .map(|r| {
                (
                    field(r, "regime").to_string(),
                    field(r, "source_site").to_string(),
                    field(r, "destination_country").to_string(),
                )
            })
            .collect()
    }

    fn violations(&self) -> BTreeMap<(String, String, String, String), u64> {
        let mut out = BTreeMap::new();
        for r in &self.violations {
            let key = (
                field(r, "rule_id").to_string(),
                field(r, "source_site").to_string(),
                field(r, "vendor").to_string(),
                field(r, "product").to_string(),
            );
            *out.entry(key).or_default() += num(r, "flows");
        }
        out
    }
}

fn change(kind: &str) -> Change {
    Change {
        change: kind.to_string(),
        regime: String::new(),
        source_site: String::new(),
        vendor: String::new(),
        product: String::new(),
        destination_country: String::new(),
        old_value: 0,
        new_value: 0,
        delta: 0,
        detail: String::new(),
    }
}

/// Compare two runs. The result is sorted, so the same two runs give the same bytes.
pub fn compare(old: &RunTables, new: &RunTables) -> Vec<Change> {
    let mut out = Vec::new();
    let (ov, nv) = (old.site_vendors(), new.site_vendors());
    for (site, vendor) in nv.difference(&ov) {
        out.push(Change {
            source_site: site.clone(),
            vendor: vendor.clone(),
            detail: "AI vendor used from this site, not in the baseline".into(),
            ..change("vendor_new")
        });
    }
    for (site, vendor) in ov.difference(&nv) {
        out.push(Change {
            source_site: site.clone(),
            vendor: vendor.clone(),
            detail: "AI vendor no longer seen from this site".into(),
            ..change("vendor_gone")
        });
    }
    let (ob, nb) = (old.bytes_by_vendor_regime(), new.bytes_by_vendor_regime());
    let keys: BTreeSet<&(String, String)> = ob.keys().chain(nb.keys()).collect();
    for key in keys {
        let (o, n) = (
            ob.get(key).copied().unwrap_or(0),
            nb.get(key).copied().unwrap_or(0),
        );
        let delta = n as i64 - o as i64;
        let detail = if o == 0 {
            "new".to_string()
        } else {
            format!("{:+.1}%", delta as f64 * 100.0 / o as f64)
        };
        out.push(Change {
            vendor: key.0.clone(),
            regime: key.1.clone(),
            old_value: o,
            new_value: n,
            delta,
            detail,
            ..change("bytes_out")
        });
    }
    let (oc, nc) = (old.countries(), new.countries());
    for (regime, site, country) in nc.difference(&oc) {
        out.push(Change {
            regime: regime.clone(),
            source_site: site.clone(),
            destination_country: country.clone(),
            detail: "cross-border destination not in the baseline".into(),
            ..change("country_new")
        });
    }
    for (regime, site, country) in oc.difference(&nc) {
        out.push(Change {
            regime: regime.clone(),
            source_site: site.clone(),
            destination_country: country.clone(),
            detail: "cross-border destination no longer seen".into(),
            ..change("country_gone")
        });
    }
    if new.policy_applied {
        let (ov, nv) = (old.violations(), new.violations());
        for (key, flows) in &nv {
            if !ov.contains_key(key) {
                out.push(Change {
                    source_site: key.1.clone(),
                    vendor: key.2.clone(),
                    product: key.3.clone(),
                    new_value: *flows,
                    delta: *flows as i64,
                    detail: format!(
                        "policy rule {} violated; not violated in the baseline",
                        key.0
                    ),
                    ..change("violation_new")
                });
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[&[(&str, &str)]]) -> Rows {
        rows.iter()
            .map(|r| {
                r.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn known_changes() {
        let old = RunTables {
            summary: table(&[&[
                ("vendor", "Anthropic"),
                ("sites", "hangzhou;shanghai"),
                ("bytes_out", "100"),
            ]]),
            findings: table(&[&[
                ("regime", "PIPL"),
                ("vendor", "Anthropic"),
                ("source_site", "hangzhou"),
                ("destination_country", "US"),
                ("bytes_out", "100"),
            ]]),
            other: Vec::new(),
            violations: Vec::new(),
            policy_applied: false,
        };
        let new = RunTables {
            summary: table(&[
                &[
                    ("vendor", "Anthropic"),
                    ("sites", "hangzhou"),
                    ("bytes_out", "150"),
                ],
                &[
                    ("vendor", "Alibaba"),
                    ("sites", "hangzhou"),
                    ("bytes_out", "10"),
                ],
            ]),
            findings: table(&[
                &[
                    ("regime", "PIPL"),
                    ("vendor", "Anthropic"),
                    ("source_site", "hangzhou"),
                    ("destination_country", "US"),
                    ("bytes_out", "150"),
                ],
                &[
                    ("regime", "PIPL"),
                    ("vendor", "Alibaba"),
                    ("source_site", "hangzhou"),
                    ("destination_country", "SG"),
                    ("bytes_out", "10"),
                ],
            ]),
            other: Vec::new(),
            violations: table(&[&[
                ("rule_id", "ban"),
                ("source_site", "hangzhou"),
                ("vendor", "Anthropic"),
                ("product", "P"),
                ("flows", "3"),
            ]]),
            policy_applied: true,
        };
        let c = compare(&old, &new);
        let kinds: Vec<(&str, &str, &str)> = c
            .iter()
            .map(|x| (x.change.as_str(), x.source_site.as_str(), x.vendor.as_str()))
            .collect();
        assert!(kinds.contains(&("vendor_new", "hangzhou", "Alibaba")));
        assert!(kinds.contains(&("vendor_gone", "shanghai", "Anthropic")));
        assert!(kinds.contains(&("violation_new", "hangzhou", "Anthropic")));
        let growth = c
            .iter()
            .find(|x| x.change == "bytes_out" && x.vendor == "Anthropic" && x.regime == "PIPL")
            .unwrap();
        assert_eq!(
            (
                growth.old_value,
                growth.new_value,
                growth.delta,
                growth.detail.as_str()
            ),
            (100, 150, 50, "+50.0%")
        );
        assert!(c
            .iter()
            .any(|x| x.change == "country_new" && x.destination_country == "SG"));
    }
}
