//! The CSV tables. Column order is the struct field order in `aggregate`; docs/output-schema.md
//! documents every column.

use crate::tables::{self, Table};
use std::path::Path;

use serde::Serialize;

use super::{write_output, OutputFile};
use xborder_engine::run::Analysis;
use xborder_model::error::{Error, Result};

/// Neutralise a cell that a spreadsheet would run as a formula (OWASP "CSV injection"):
/// a cell starting with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`.
/// The csv writer quotes cells that need it, so embedded quotes and separators are safe.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    // Control characters (ESC, BEL, line ends) from log content are escaped first, so a
    // cell can neither act on a terminal that prints the CSV nor start a formula.
    let cell = xborder_model::text::escape_control(cell);
    if cell.starts_with(['=', '+', '-', '@']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        cell
    }
}

/// A cell that is a plain decimal number (`-12`, `3.5`): written as is, so a spreadsheet
/// reads a negative delta as a number. It cannot start a formula.
fn is_plain_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// `rows` as the CSV of `table`: its header, then every row with text cells defused
/// ([`neutralise`]) and numbers left as numbers. The rows must serialise to exactly the
/// table's columns, in order; a row type that drifted from its definition is an error,
/// not a shifted column.
pub(crate) fn to_csv<T: Serialize>(rows: &[T], table: &Table) -> Result<Vec<u8>> {
    let name = table.file;
    let fail = |e: csv::Error| Error::Report {
        path: name.into(),
        message: e.to_string(),
    };
    // Serialise (with the field names as a first record), then pass every cell through
    // `neutralise` on the way out.
    let mut raw = csv::WriterBuilder::new()
        .has_headers(true)
        .from_writer(Vec::new());
    for r in rows {
        raw.serialize(r).map_err(fail)?;
    }
    let raw = raw.into_inner().map_err(|e| Error::Report {
        path: name.into(),
        message: e.to_string(),
    })?;
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let header = table.names();
    w.write_record(&header).map_err(fail)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(raw.as_slice());
    if !rows.is_empty() {
        let fields = reader.headers().map_err(fail)?;
        if !fields.iter().eq(header.iter().copied()) {
            return Err(Error::Report {
                path: name.into(),
                message: format!(
                    "rows serialise to columns {:?}, the table defines {header:?}",
                    fields.iter().collect::<Vec<_>>()
                ),
            });
        }
    }
    for rec in reader.records() {
        let rec = rec.map_err(fail)?;
        // Numbers stay numbers; only text cells are defused.
        w.write_record(rec.iter().map(|c| {
            if is_plain_number(c) {
                c.to_string()
            } else {
                neutralise(c).into_owned()
            }
        }))
        .map_err(fail)?;
    }
    w.into_inner().map_err(|e| Error::Report {
        path: name.into(),
        message: e.to_string(),
    })
}

#[derive(Serialize)]
struct RejectCsv<'a> {
    file: &'a str,
    line: u64,
    field: &'a str,
    reason: &'a str,
    detail: &'a str,
    excerpt: &'a str,
}

/// Write the six CSV outputs, and blocked_attempts.csv when proxy logs were read. Under
/// pseudonymisation, reject details and excerpts (raw log text, full of addresses and
/// names) and the source addresses of conflicting records are withheld.
pub fn write_tables(dir: &Path, a: &Analysis, pseudonymize: bool) -> Result<Vec<OutputFile>> {
    let t = &a.tables;
    let withheld = super::pseudonym::WITHHELD;
    let rejects: Vec<RejectCsv<'_>> = a
        .rejects
        .iter()
        .map(|r| RejectCsv {
            file: &r.file,
            line: r.reject.line,
            field: &r.reject.field,
            reason: r.reject.reason.as_str(),
            detail: if pseudonymize {
                withheld
            } else {
                &r.reject.detail
            },
            excerpt: if pseudonymize {
                withheld
            } else {
                &r.reject.excerpt
            },
        })
        .collect();
    let conflicts: Vec<xborder_engine::run::ConflictRow> = a
        .conflicts
        .iter()
        .map(|c| xborder_engine::run::ConflictRow {
            src_ip: if pseudonymize {
                withheld.to_string()
            } else {
                c.src_ip.clone()
            },
            ..c.clone()
        })
        .collect();
    let mut out = Vec::with_capacity(1);
    if a.totals.proxy_records.read > 0 {
        out.push(write_output(
            dir,
            "blocked_attempts.csv",
            &to_csv(&a.blocked, &tables::BLOCKED_ATTEMPTS)?,
            Some(a.blocked.len() as u64),
        )?);
    }
    let mut tables = vec![
        write_output(
            dir,
            "findings.csv",
            &to_csv(&t.findings, &tables::FINDINGS)?,
            Some(t.findings.len() as u64),
        )?,
        write_output(
            dir,
            "cross_border_other.csv",
            &to_csv(&t.cross_border_other, &tables::CROSS_BORDER_OTHER)?,
            Some(t.cross_border_other.len() as u64),
        )?,
        write_output(
            dir,
            "summary_by_vendor.csv",
            &to_csv(&t.summary_by_vendor, &tables::SUMMARY_BY_VENDOR)?,
            Some(t.summary_by_vendor.len() as u64),
        )?,
        write_output(
            dir,
            "daily_egress.csv",
            &to_csv(&t.daily_egress, &tables::DAILY_EGRESS)?,
            Some(t.daily_egress.len() as u64),
        )?,
        write_output(
            dir,
            "rejects.csv",
            &to_csv(&rejects, &tables::REJECTS)?,
            Some(rejects.len() as u64),
        )?,
        write_output(
            dir,
            "conflicts.csv",
            &to_csv(&conflicts, &tables::CONFLICTS)?,
            Some(conflicts.len() as u64),
        )?,
    ];
    tables.append(&mut out);
    Ok(tables)
}

#[derive(Serialize)]
struct ViolationCsv<'a> {
    rule_id: &'a str,
    effective_from: &'a str,
    source_site: &'a str,
    site_country: &'a str,
    source: String,
    hostname: &'a str,
    owner: &'a str,
    user: String,
    department: &'a str,
    vendor: &'a str,
    product: &'a str,
    day: &'a str,
    flows: u64,
    bytes_out: u64,
    bytes_in: u64,
    first_seen: &'a str,
    last_seen: &'a str,
    first_at_site: bool,
}

/// Policy and department tables, when --policy or --assets was given. Host names, owners
/// and proxy users appear only with --show-owners; sources and users are tokens under
/// --pseudonymize.
pub fn write_org_tables(
    dir: &Path,
    org: &xborder_engine::aggregate::org::OrgResults,
    pseudonymizer: Option<&super::pseudonym::Pseudonymizer>,
    show_owners: bool,
) -> Result<Vec<OutputFile>> {
    let mut out = Vec::new();
    if org.policy_applied {
        let rows: Vec<ViolationCsv<'_>> = org
            .violations
            .iter()
            .map(|v| ViolationCsv {
                rule_id: &v.rule_id,
                effective_from: &v.effective_from,
                source_site: &v.source_site,
                site_country: &v.site_country,
                source: match pseudonymizer {
                    Some(p) => p.ip(&v.src_ip),
                    None => v.src_ip.clone(),
                },
                hostname: if show_owners { &v.hostname } else { "" },
                owner: if show_owners { &v.owner } else { "" },
                // A proxy's user is a name: shown only with --show-owners, and then as a
                // keyed token under --pseudonymize.
                user: match (show_owners, pseudonymizer) {
                    (false, _) => String::new(),
                    (true, _) if v.user.is_empty() => String::new(),
                    (true, Some(p)) => p.user(&v.user),
                    (true, None) => v.user.clone(),
                },
                department: &v.department,
                vendor: &v.vendor,
                product: &v.product,
                day: &v.day,
                flows: v.flows,
                bytes_out: v.bytes_out,
                bytes_in: v.bytes_in,
                first_seen: &v.first_seen,
                last_seen: &v.last_seen,
                first_at_site: v.first_at_site,
            })
            .collect();
        out.push(write_output(
            dir,
            "policy_violations.csv",
            &to_csv(&rows, &tables::POLICY_VIOLATIONS)?,
            Some(rows.len() as u64),
        )?);
        out.push(write_output(
            dir,
            "policy_summary.csv",
            &to_csv(&org.summary, &tables::POLICY_SUMMARY)?,
            Some(org.summary.len() as u64),
        )?);
    }
    if let Some(rows) = &org.departments {
        out.push(write_output(
            dir,
            "findings_by_department.csv",
            &to_csv(rows, &tables::FINDINGS_BY_DEPARTMENT)?,
            Some(rows.len() as u64),
        )?);
    }
    Ok(out)
}

/// changes.csv bytes.
pub fn changes_csv(changes: &[crate::diff::Change]) -> Result<Vec<u8>> {
    to_csv(changes, &tables::CHANGES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_are_told_apart_from_formulas() {
        for n in ["0", "12", "-12", "3.5", "-0.25"] {
            assert!(is_plain_number(n), "{n}");
        }
        for t in [
            "",
            "-",
            "-1+1",
            "=1",
            "1e5",
            "- 3",
            "1.",
            ".5",
            "-cmd|' /C calc'!A0",
        ] {
            assert!(!is_plain_number(t), "{t}");
        }
    }

    #[test]
    fn changes_csv_writes_negative_deltas_as_numbers_and_defuses_text() {
        let change = crate::diff::Change {
            change: "bytes_out".into(),
            regime: "PIPL".into(),
            source_site: "=HYPERLINK(\"x\")".into(),
            vendor: "-cmd".into(),
            product: String::new(),
            destination_country: "US".into(),
            old_value: 500,
            new_value: 200,
            delta: -300,
            detail: "@sum".into(),
        };
        let csv = String::from_utf8(changes_csv(&[change]).unwrap()).unwrap();
        let row = csv.lines().nth(1).unwrap();
        assert_eq!(
            row,
            "bytes_out,PIPL,\"'=HYPERLINK(\"\"x\"\")\",'-cmd,,US,500,200,-300,'@sum"
        );
    }

    /// Rows whose fields drifted from the table's definition are refused rather than
    /// written under the wrong header.
    #[test]
    fn rows_must_serialise_to_the_defined_columns() {
        use crate::tables::{Column, Kind};
        const T: Table = Table {
            file: "t.csv",
            columns: &[
                Column {
                    name: "a",
                    kind: Kind::Text,
                },
                Column {
                    name: "b",
                    kind: Kind::Count,
                },
            ],
        };
        #[derive(Serialize)]
        struct Right {
            a: &'static str,
            b: u64,
        }
        #[derive(Serialize)]
        struct Swapped {
            b: u64,
            a: &'static str,
        }
        let ok = to_csv(&[Right { a: "x", b: 1 }], &T).unwrap();
        assert_eq!(String::from_utf8(ok).unwrap(), "a,b\nx,1\n");
        let e = to_csv(&[Swapped { b: 1, a: "x" }], &T)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.csv") && e.contains("the table defines"),
            "{e}"
        );
        // No rows: the header alone.
        assert_eq!(to_csv::<Right>(&[], &T).unwrap(), b"a,b\n");
    }
}
