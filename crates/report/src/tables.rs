//! One typed definition per output table: its file name and its columns, each with what
//! it holds.
//!
//! The writers take the header from here and check that the rows serialise to exactly
//! these columns, in order ([`crate::csv_tables::to_csv`]); `diff` reads a run's tables
//! through these definitions, so a missing column or a count that is not a number is an
//! error naming the file, line and column; and a test checks that docs/output-schema.md
//! documents every column of every table, in order.

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text (names, ids, `;`-joined lists, reasons).
    Text,
    /// A non-negative integer that is always present.
    Count,
    /// A non-negative integer that may be empty (a port or byte count a log did not carry).
    OptionalCount,
    /// A signed integer (a difference between two runs).
    Signed,
    /// An RFC 3339 timestamp (UTC), or empty where the table says so.
    Timestamp,
    /// A `YYYY-MM-DD` day (UTC), or a rule's date.
    Day,
}

impl Kind {
    /// A non-negative integer, present or not: typed UInt64 in Parquet (empty is null).
    pub fn is_count(self) -> bool {
        matches!(self, Kind::Count | Kind::OptionalCount)
    }
}

/// One column of an output table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

/// An output table: the file it is written to and its columns, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub file: &'static str,
    pub columns: &'static [Column],
}

impl Table {
    /// The column names, in order (the CSV header).
    pub fn names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

macro_rules! table {
    ($(#[$doc:meta])* $name:ident = $file:literal { $($col:literal: $kind:ident),* $(,)? }) => {
        $(#[$doc])*
        pub const $name: Table = Table {
            file: $file,
            columns: &[$(Column { name: $col, kind: Kind::$kind }),*],
        };
    };
}

table! {
    /// Cross-border transfers to AI vendors, one row per regime and egress group.
    FINDINGS = "findings.csv" {
        "regime": Text, "rule_id": Text, "citation": Text, "source_site": Text,
        "source_country": Text, "destination_country": Text, "vendor": Text,
        "vendor_hq_country": Text, "product": Text, "category": Text, "attribution": Text,
        "transfer_basis": Text, "flows": Count, "bytes_out": Count, "bytes_in": Count,
        "distinct_sources": Count, "first_seen": Timestamp, "last_seen": Timestamp,
        "finding_id": Text,
    }
}

table! {
    /// Cross-border egress to destinations that are not AI vendors, per regime.
    CROSS_BORDER_OTHER = "cross_border_other.csv" {
        "regime": Text, "rule_id": Text, "source_site": Text, "source_country": Text,
        "destination_country": Text, "transfer_basis": Text, "flows": Count,
        "bytes_out": Count, "bytes_in": Count, "distinct_sources": Count,
        "first_seen": Timestamp, "last_seen": Timestamp,
    }
}

table! {
    /// All egress per AI product.
    SUMMARY_BY_VENDOR = "summary_by_vendor.csv" {
        "vendor": Text, "vendor_hq_country": Text, "product": Text, "category": Text,
        "flows": Count, "bytes_out": Count, "bytes_in": Count, "cross_border_flows": Count,
        "cross_border_bytes_out": Count, "distinct_sources": Count, "sites": Text,
        "destination_countries": Text, "first_seen": Timestamp, "last_seen": Timestamp,
    }
}

table! {
    /// Cross-border AI egress per day, regime and vendor.
    DAILY_EGRESS = "daily_egress.csv" {
        "day": Day, "regime": Text, "vendor": Text, "flows": Count, "bytes_out": Count,
    }
}

table! {
    /// Rejected records, the first of each file.
    REJECTS = "rejects.csv" {
        "file": Text, "line": Count, "field": Text, "reason": Text, "detail": Text,
        "excerpt": Text,
    }
}

table! {
    /// Flow records whose connection id an earlier, different connection used.
    CONFLICTS = "conflicts.csv" {
        "file": Text, "line": Count, "uid": Text, "ts": Timestamp, "src_ip": Text,
        "src_port": OptionalCount, "dst_ip": Text, "dst_port": OptionalCount, "proto": Text,
        "bytes_out": OptionalCount, "bytes_in": OptionalCount,
    }
}

table! {
    /// Requests to AI vendors that a proxy or gateway blocked.
    BLOCKED_ATTEMPTS = "blocked_attempts.csv" {
        "day": Day, "source_site": Text, "site_country": Text, "department": Text,
        "vendor": Text, "product": Text, "hostname": Text, "rule_id": Text, "verdict": Text,
        "attempts": Count, "distinct_sources": Count, "first_seen": Timestamp,
        "last_seen": Timestamp,
    }
}

table! {
    /// Egress that a policy rule forbids (`--policy`).
    POLICY_VIOLATIONS = "policy_violations.csv" {
        "rule_id": Text, "effective_from": Timestamp, "source_site": Text,
        "site_country": Text, "source": Text, "hostname": Text, "owner": Text, "user": Text,
        "department": Text, "vendor": Text, "product": Text, "day": Day, "flows": Count,
        "bytes_out": Count, "bytes_in": Count, "first_seen": Timestamp,
        "last_seen": Timestamp, "first_at_site": Text,
    }
}

table! {
    /// Each policy rule at each site: before and in effect (`--policy`).
    POLICY_SUMMARY = "policy_summary.csv" {
        "rule_id": Text, "verdict": Text, "effective_from": Timestamp,
        "effective_until": Timestamp, "source_site": Text, "site_country": Text,
        "flows_before": Count, "bytes_out_before": Count, "flows_in_effect": Count,
        "bytes_out_in_effect": Count, "distinct_sources_in_effect": Count, "held": Text,
        "first_violation": Timestamp, "last_violation": Timestamp, "reason": Text,
        "memo": Text,
    }
}

table! {
    /// Cross-border AI egress per department (`--assets`).
    FINDINGS_BY_DEPARTMENT = "findings_by_department.csv" {
        "regime": Text, "department": Text, "source_site": Text, "vendor": Text,
        "product": Text, "flows": Count, "bytes_out": Count, "bytes_in": Count,
        "distinct_sources": Count,
    }
}

table! {
    /// Change between two runs (`--baseline`, `xborder diff`).
    CHANGES = "changes.csv" {
        "change": Text, "regime": Text, "source_site": Text, "vendor": Text,
        "product": Text, "destination_country": Text, "old_value": Count,
        "new_value": Count, "delta": Signed, "detail": Text,
    }
}

table! {
    /// What the logs could see, per site, source and day.
    COVERAGE = "coverage.csv" {
        "site": Text, "source": Text, "day": Day, "flow_records": Count,
        "dns_records": Count, "egress_flows": Count, "egress_dns_visible": Count,
        "egress_with_hostname": Count, "hours_with_flow_records": Count, "gap": Text,
    }
}

table! {
    /// Unattributed destinations whose names look like AI services.
    CANDIDATES = "candidates.csv" {
        "hostname": Text, "matched": Text, "reviewed": Text, "sites": Text, "flows": Count,
        "bytes_out": Count, "bytes_in": Count, "destination_count": Count,
        "destinations": Text, "first_seen": Timestamp, "last_seen": Timestamp,
    }
}

table! {
    /// One row per AI-vendor egress flow, with the input line behind it.
    EVIDENCE = "evidence.csv" {
        "finding_id": Text, "regimes": Text, "input_file": Text, "input_sha256": Text,
        "input_line": Count, "ts": Timestamp, "src_ip": Text, "src_port": OptionalCount,
        "dst_ip": Text, "dst_port": OptionalCount, "proto": Text,
        "bytes_out": OptionalCount, "bytes_in": OptionalCount, "hostname": Text,
        "attribution": Text, "vendor": Text, "product": Text, "category": Text,
        "source_site": Text, "destination_country": Text, "attribution_file": Text,
        "attribution_sha256": Text, "attribution_line": OptionalCount,
        "attribution_ts": Timestamp,
    }
}

/// Every output table.
pub const ALL: &[&Table] = &[
    &FINDINGS,
    &CROSS_BORDER_OTHER,
    &SUMMARY_BY_VENDOR,
    &DAILY_EGRESS,
    &REJECTS,
    &CONFLICTS,
    &BLOCKED_ATTEMPTS,
    &POLICY_VIOLATIONS,
    &POLICY_SUMMARY,
    &FINDINGS_BY_DEPARTMENT,
    &CHANGES,
    &COVERAGE,
    &CANDIDATES,
    &EVIDENCE,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns docs/output-schema.md lists under the heading of `file`: the first cell
    /// of each row of a `| column | meaning |` table, or else the first code span after the
    /// heading that lists names separated by commas (`day, regime, vendor, ...`).
    fn documented(doc: &str, file: &str) -> Vec<String> {
        let start = doc
            .lines()
            .position(|l| l.starts_with("## ") && l[3..].split_whitespace().next() == Some(file))
            .unwrap_or_else(|| panic!("docs/output-schema.md has no section `## {file}`"));
        let section: Vec<&str> = doc
            .lines()
            .skip(start + 1)
            .take_while(|l| !l.starts_with("## "))
            .collect();
        let split = |cell: &str| -> Vec<String> {
            cell.split(',')
                .map(|n| n.trim().trim_matches('`').trim().to_string())
                .filter(|n| !n.is_empty())
                .collect()
        };
        if section.iter().any(|l| l.starts_with("| column |")) {
            return section
                .iter()
                .skip_while(|l| !l.starts_with("| column |"))
                .skip(2)
                .take_while(|l| l.starts_with('|'))
                .flat_map(|l| split(l.split('|').nth(1).unwrap_or("")))
                .collect();
        }
        let text = section.join(" ");
        text.split('`')
            .skip(1)
            .step_by(2)
            .find(|span| span.contains(','))
            .map(split)
            .unwrap_or_default()
    }

    #[test]
    fn docs_list_every_column_of_every_table_in_order() {
        let doc = include_str!("../../../docs/output-schema.md");
        for t in ALL {
            assert_eq!(
                documented(doc, t.file),
                t.names(),
                "docs/output-schema.md, section {}",
                t.file
            );
        }
    }

    #[test]
    fn names_are_unique_within_each_table() {
        for t in ALL {
            let mut names = t.names();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), t.columns.len(), "{}", t.file);
        }
    }
}
