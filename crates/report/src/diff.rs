//! Change between two runs (quarter over quarter): new and disappeared vendors per site,
//! bytes per vendor and regime, new destination countries, and new policy violations.
//!
//! Works from the CSV outputs alone, so any two run directories (or packs' `data/`) can be
//! compared, including runs made by another xborder version with the same columns.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::tables;
use xborder_model::error::{Error, Result};

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
    /// `new - old`, signed; 128-bit so no difference of two 64-bit counts can wrap.
    pub delta: i128,
    pub detail: String,
}

/// One CSV of a run, as header→value maps, with its path for error messages.
#[derive(Default)]
struct Table {
    path: String,
    rows: Vec<BTreeMap<String, String>>,
}

impl Table {
    /// A count column of row `i`: a missing column or a value that is not a count is an
    /// error naming the file, line and column, never a silent 0.
    fn num(&self, i: usize, k: &str) -> Result<u64> {
        let line = i + 2;
        let value = self.rows[i]
            .get(k)
            .ok_or_else(|| Error::config(&self.path, format!("line {line}: no column `{k}`")))?;
        value.parse().map_err(|_| {
            Error::config(
                &self.path,
                format!(
                    "line {line}: column `{k}`: `{}` is not a count",
                    xborder_model::text::escape_control(value)
                ),
            )
        })
    }

    /// Sum `k` into `into[key]` for every row, with checked arithmetic.
    fn sum_into<K: Ord>(
        &self,
        k: &str,
        into: &mut BTreeMap<K, u64>,
        key: impl Fn(&BTreeMap<String, String>) -> K,
    ) -> Result<()> {
        for (i, r) in self.rows.iter().enumerate() {
            let v = self.num(i, k)?;
            let slot = into.entry(key(r)).or_default();
            *slot = slot.checked_add(v).ok_or_else(|| {
                Error::config(
                    &self.path,
                    format!("line {}: the sum of `{k}` exceeds 2^64-1", i + 2),
                )
            })?;
        }
        Ok(())
    }
}

/// Read a run's CSV as header→value maps; a missing optional file reads as empty. The
/// file must have every column its definition ([`crate::tables`]) lists: a table from a
/// run whose columns differ is refused, naming the column, rather than compared wrongly.
fn read(dir: &Path, table: &tables::Table, required: bool) -> Result<Table> {
    let name = table.file;
    let path = dir.join(name);
    if !path.is_file() {
        if required {
            return Err(Error::Usage(format!(
                "{} has no {name}; give a directory written by `xborder analyze` (or a pack's data/)",
                dir.display()
            )));
        }
        return Ok(Table::default());
    }
    let mut r = csv::Reader::from_path(&path)
        .map_err(|e| Error::config(path.display().to_string(), e.to_string()))?;
    let headers = r
        .headers()
        .map_err(|e| Error::config(path.display().to_string(), e.to_string()))?
        .clone();
    if let Some(missing) = table
        .columns
        .iter()
        .find(|c| !headers.iter().any(|h| h == c.name))
    {
        return Err(Error::config(
            path.display().to_string(),
            format!(
                "line 1: no column `{}` (docs/output-schema.md lists the columns of {name}; was it written by another xborder version?)",
                missing.name
            ),
        ));
    }
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
    Ok(Table {
        path: path.display().to_string(),
        rows,
    })
}

fn field<'a>(r: &'a BTreeMap<String, String>, k: &str) -> &'a str {
    r.get(k).map(String::as_str).unwrap_or("")
}

/// The tables of one run that a comparison needs.
pub struct RunTables {
    summary: Table,
    findings: Table,
    other: Table,
    violations: Table,
    policy_applied: bool,
    /// The period the run covered, from its run.json (`None` without one).
    pub period: Option<RunPeriod>,
}

/// The period of a run as its run.json records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPeriod {
    /// How the user named it (`2026-Q3`, `2026-07-01..2026-10-01`, `all records`).
    pub label: String,
    /// First and last accepted flow, RFC 3339, when any was accepted.
    pub first_flow: Option<String>,
    pub last_flow: Option<String>,
}

impl std::fmt::Display for RunPeriod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.first_flow, &self.last_flow) {
            (Some(a), Some(b)) => write!(f, "{} (flows {a} to {b})", self.label),
            _ => write!(f, "{} (no flow accepted)", self.label),
        }
    }
}

/// The period in `dir/run.json`; a missing or unreadable run.json gives `None` (the CSVs
/// alone can still be compared), a run.json without a period is an error.
fn read_period(dir: &Path) -> Result<Option<RunPeriod>> {
    let path = dir.join("run.json");
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(None);
    };
    let json: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::config(path.display().to_string(), e.to_string()))?;
    let p = &json["period"];
    let label = p["label"].as_str().ok_or_else(|| {
        Error::config(path.display().to_string(), "no `period.label`".to_string())
    })?;
    Ok(Some(RunPeriod {
        label: label.to_string(),
        first_flow: p["first_flow"].as_str().map(str::to_string),
        last_flow: p["last_flow"].as_str().map(str::to_string),
    }))
}

impl RunTables {
    /// The period's description, or a note that the run has no run.json.
    pub fn period_text(&self) -> String {
        self.period.as_ref().map_or_else(
            || "unknown period (no run.json)".to_string(),
            |p| p.to_string(),
        )
    }

    pub fn load(dir: &Path) -> Result<Self> {
        let dir = if dir.join("data/run.json").is_file() && !dir.join("run.json").is_file() {
            dir.join("data")
        } else {
            dir.to_path_buf()
        };
        Ok(RunTables {
            period: read_period(&dir)?,
            summary: read(&dir, &tables::SUMMARY_BY_VENDOR, true)?,
            findings: read(&dir, &tables::FINDINGS, true)?,
            other: read(&dir, &tables::CROSS_BORDER_OTHER, false)?,
            violations: read(&dir, &tables::POLICY_VIOLATIONS, false)?,
            policy_applied: dir.join("policy_violations.csv").is_file(),
        })
    }

    fn site_vendors(&self) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for r in &self.summary.rows {
            for site in field(r, "sites").split(';').filter(|s| !s.is_empty()) {
                out.insert((site.to_string(), field(r, "vendor").to_string()));
            }
        }
        out
    }

    fn bytes_by_vendor_regime(&self) -> Result<BTreeMap<(String, String), u64>> {
        let mut out = BTreeMap::new();
        self.findings.sum_into("bytes_out", &mut out, |r| {
            (
                field(r, "vendor").to_string(),
                field(r, "regime").to_string(),
            )
        })?;
        // Vendor totals regardless of regime, from the vendor summary.
        self.summary.sum_into("bytes_out", &mut out, |r| {
            (field(r, "vendor").to_string(), "all".to_string())
        })?;
        Ok(out)
    }

    fn countries(&self) -> BTreeSet<(String, String, String)> {
        self.findings
            .rows
            .iter()
            .chain(&self.other.rows)
            .map(|r| {
                (
                    field(r, "regime").to_string(),
                    field(r, "source_site").to_string(),
                    field(r, "destination_country").to_string(),
                )
            })
            .collect()
    }

    fn violations(&self) -> Result<BTreeMap<(String, String, String, String), u64>> {
        let mut out = BTreeMap::new();
        self.violations.sum_into("flows", &mut out, |r| {
            (
                field(r, "rule_id").to_string(),
                field(r, "source_site").to_string(),
                field(r, "vendor").to_string(),
                field(r, "product").to_string(),
            )
        })?;
        Ok(out)
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
pub fn compare(old: &RunTables, new: &RunTables) -> Result<Vec<Change>> {
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
    let (ob, nb) = (old.bytes_by_vendor_regime()?, new.bytes_by_vendor_regime()?);
    let keys: BTreeSet<&(String, String)> = ob.keys().chain(nb.keys()).collect();
    for key in keys {
        let (o, n) = (
            ob.get(key).copied().unwrap_or(0),
            nb.get(key).copied().unwrap_or(0),
        );
        let delta = i128::from(n) - i128::from(o);
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
        let (ov, nv) = (old.violations()?, new.violations()?);
        for (key, flows) in &nv {
            if !ov.contains_key(key) {
                out.push(Change {
                    source_site: key.1.clone(),
                    vendor: key.2.clone(),
                    product: key.3.clone(),
                    new_value: *flows,
                    delta: i128::from(*flows),
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
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[&[(&str, &str)]]) -> Table {
        Table {
            path: "t.csv".into(),
            rows: rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect()
                })
                .collect(),
        }
    }

    #[test]
    fn a_run_names_its_period_from_run_json() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_period(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join("run.json"),
            r#"{"period":{"label":"2026-Q3","first_flow":"2026-07-01T00:00:05Z","last_flow":"2026-09-30T23:59:00Z"}}"#,
        )
        .unwrap();
        let p = read_period(dir.path()).unwrap().unwrap();
        assert_eq!(
            p.to_string(),
            "2026-Q3 (flows 2026-07-01T00:00:05Z to 2026-09-30T23:59:00Z)"
        );
        std::fs::write(dir.path().join("run.json"), r#"{"period":{}}"#).unwrap();
        assert!(read_period(dir.path()).is_err());
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
            other: Table::default(),
            violations: Table::default(),
            policy_applied: false,
            period: None,
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
            other: Table::default(),
            violations: table(&[&[
                ("rule_id", "ban"),
                ("source_site", "hangzhou"),
                ("vendor", "Anthropic"),
                ("product", "P"),
                ("flows", "3"),
            ]]),
            policy_applied: true,
            period: None,
        };
        let c = compare(&old, &new).unwrap();
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

    /// Differences of counts near 2^64 are exact, sums that would pass 2^64 are errors,
    /// and a count column that is missing or not a number is an error naming the line.
    #[test]
    fn totals_never_wrap_and_bad_counts_are_errors() {
        let big = u64::MAX.to_string();
        let run = |bytes: &str| RunTables {
            summary: table(&[&[("vendor", "A"), ("sites", "s"), ("bytes_out", bytes)]]),
            findings: table(&[]),
            other: Table::default(),
            violations: Table::default(),
            policy_applied: false,
            period: None,
        };
        let c = compare(&run("0"), &run(&big)).unwrap();
        let row = c.iter().find(|x| x.change == "bytes_out").unwrap();
        assert_eq!(row.delta, i128::from(u64::MAX));
        let c = compare(&run(&big), &run("0")).unwrap();
        let row = c.iter().find(|x| x.change == "bytes_out").unwrap();
        assert_eq!(row.delta, -i128::from(u64::MAX));

        let twice = RunTables {
            summary: table(&[
                &[("vendor", "A"), ("sites", "s"), ("bytes_out", &big)],
                &[("vendor", "A"), ("sites", "s"), ("bytes_out", "1")],
            ]),
            ..run("0")
        };
        let e = compare(&run("0"), &twice).unwrap_err().to_string();
        assert!(e.contains("exceeds 2^64-1"), "{e}");
        let e = compare(&run("0"), &run("12x")).unwrap_err().to_string();
        assert!(e.contains("line 2: column `bytes_out`"), "{e}");
    }

    /// A table missing a column of its definition is refused, naming file and column;
    /// with every column present it reads.
    #[test]
    fn a_table_without_a_defined_column_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let header = |t: &tables::Table, skip: &str| -> String {
            let names: Vec<&str> = t.names().into_iter().filter(|n| *n != skip).collect();
            names.join(",") + "\n"
        };
        std::fs::write(
            dir.path().join("summary_by_vendor.csv"),
            header(&tables::SUMMARY_BY_VENDOR, ""),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("findings.csv"),
            header(&tables::FINDINGS, "bytes_out"),
        )
        .unwrap();
        let e = RunTables::load(dir.path()).err().unwrap().to_string();
        assert!(
            e.contains("findings.csv") && e.contains("no column `bytes_out`"),
            "{e}"
        );
        std::fs::write(
            dir.path().join("findings.csv"),
            header(&tables::FINDINGS, ""),
        )
        .unwrap();
        assert!(RunTables::load(dir.path()).is_ok());
    }
}
