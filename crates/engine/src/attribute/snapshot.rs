//! Vendor IP snapshots: dated answers of `xborder resolve`, used by `analyze --ip-snapshot`
//! as the `snapshot` attribution source.
//!
//! A snapshot row says "on `resolved_at`, the organisation's resolver answered `ip` for
//! `host`". That is weaker evidence than a DNS answer the client itself received (`dns`)
//! or a published vendor range (`ip_range`): CDN addresses rotate and are shared, so a
//! snapshot row counts only for flows within `--snapshot-max-distance` of its
//! `resolved_at`. Snapshot files are configuration: a malformed row stops the run with
//! the file, line and field named.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;

use super::interner::Interner;
use crate::classify::vendors::{ProductId, VendorCatalog};
use xborder_model::error::{Error, Result};
use xborder_model::hash::sha256_bytes;
use xborder_model::schema::Micros;

/// Columns of a snapshot CSV, in order (see docs/output-schema.md).
pub const SNAPSHOT_COLUMNS: &[&str] = &[
    "host",
    "record_type",
    "ip",
    "cname_chain",
    "ttl",
    "resolved_at",
    "resolver",
    "rcode",
    "detail",
];

/// The rcode of a row that carries an address.
pub const RCODE_NOERROR: &str = "NOERROR";

/// Default for `--snapshot-max-distance`: seven days either side of `resolved_at`.
pub const DEFAULT_SNAPSHOT_MAX_DISTANCE_S: u32 = 7 * 86_400;

/// One snapshot file as run.json records it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SnapshotIdentity {
    pub path: String,
    pub sha256: String,
    /// Data rows in the file.
    pub rows: u64,
    /// Rows with an address (rcode NOERROR).
    pub address_rows: u64,
    /// Rows recording a failure or a skipped pattern (NXDOMAIN, SERVFAIL, TIMEOUT, ...).
    pub failure_rows: u64,
    /// Address rows whose host matches a product of the vendor catalog (the usable ones).
    pub matched_rows: u64,
    pub first_resolved_at: Option<String>,
    pub last_resolved_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    at: Micros,
    host: u32,
    product: ProductId,
}

/// A snapshot match for one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotMatch {
    pub product: ProductId,
    /// Index of the resolved host name, see [`SnapshotIndex::name`].
    pub host: u32,
    pub resolved_at: Micros,
}

/// Snapshot answers keyed by address.
#[derive(Debug, Clone, Default)]
pub struct SnapshotIndex {
    by_ip: HashMap<IpAddr, Vec<Entry>>,
    names: Interner,
    pub files: Vec<SnapshotIdentity>,
}

impl SnapshotIndex {
    /// Load and index snapshot files against the vendor catalog.
    pub fn load(paths: &[impl AsRef<Path>], catalog: &VendorCatalog) -> Result<Self> {
        let mut index = SnapshotIndex::default();
        for p in paths {
            let p = p.as_ref();
            let bytes = xborder_model::fsio::read_regular(p)?;
            index.add_file(&p.display().to_string(), &bytes, catalog)?;
        }
        for entries in index.by_ip.values_mut() {
            let names = index.names.names();
            entries.sort_by(|a, b| {
                (a.at, &names[a.host as usize], a.product).cmp(&(
                    b.at,
                    &names[b.host as usize],
                    b.product,
                ))
            });
            entries.dedup();
        }
        Ok(index)
    }

    pub fn is_empty(&self) -> bool {
        self.by_ip.is_empty()
    }

    pub fn name(&self, id: u32) -> &str {
        self.names
            .names()
            .get(id as usize)
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The snapshot answer for `ip` closest in time to `ts`, if one lies within
    /// `max_distance_s`. Ties go to the earlier answer, then the smaller host name.
    pub fn lookup(&self, ip: IpAddr, ts: Micros, max_distance_s: u32) -> Option<SnapshotMatch> {
        let entries = self.by_ip.get(&ip)?;
        let max = i64::from(max_distance_s) * 1_000_000;
        let mut best: Option<(i64, &Entry)> = None;
        for e in entries {
            let d = ts.saturating_sub(e.at).saturating_abs();
            if d <= max && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, e));
            }
        }
        best.map(|(_, e)| SnapshotMatch {
            product: e.product,
            host: e.host,
            resolved_at: e.at,
        })
    }

    fn add_file(&mut self, path: &str, bytes: &[u8], catalog: &VendorCatalog) -> Result<()> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(bytes);
        let headers = rdr
            .headers()
            .map_err(|e| Error::config(path, format!("line 1: unreadable header: {e}")))?
            .clone();
        let col = |name: &str| -> Result<usize> {
            headers.iter().position(|h| h.trim() == name).ok_or_else(|| {
                Error::config(
                    path,
                    format!(
                        "line 1: missing column `{name}`; a snapshot has the columns {} (written by `xborder resolve`)",
                        SNAPSHOT_COLUMNS.join(",")
                    ),
                )
            })
        };
        let (c_host, c_ip, c_ttl, c_at, c_rcode) = (
            col("host")?,
            col("ip")?,
            col("ttl")?,
            col("resolved_at")?,
            col("rcode")?,
        );
        let mut id = SnapshotIdentity {
            path: path.to_string(),
            sha256: sha256_bytes(bytes),
            rows: 0,
            address_rows: 0,
            failure_rows: 0,
            matched_rows: 0,
            first_resolved_at: None,
            last_resolved_at: None,
        };
        let mut span: Option<(Micros, Micros)> = None;
        let mut record = csv::StringRecord::new();
        loop {
            let more = rdr.read_record(&mut record).map_err(|e| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                Error::config(path, format!("line {line}: {e}"))
            })?;
            if !more {
                break;
            }
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            let bad = |field: &str, reason: String| {
                Error::config(path, format!("line {line}: field `{field}`: {reason}"))
            };
            let get = |i: usize| record.get(i).unwrap_or("").trim();
            id.rows += 1;
            let host = get(c_host).trim_end_matches('.').to_ascii_lowercase();
            if host.is_empty() {
                return Err(bad("host", "empty".into()));
            }
            let at_text = get(c_at);
            let at = xborder_model::values::parse_iso_timestamp(at_text)
                .map_err(|e| bad("resolved_at", e.detail))?;
            let rcode = get(c_rcode);
            if rcode.is_empty() {
                return Err(bad("rcode", "empty".into()));
            }
            let ip_text = get(c_ip);
            if rcode != RCODE_NOERROR || ip_text.is_empty() {
                if rcode == RCODE_NOERROR {
                    return Err(bad("ip", "empty in a NOERROR row".into()));
                }
                id.failure_rows += 1;
                continue;
            }
            let ip: IpAddr = ip_text
                .parse()
                .map_err(|_| bad("ip", format!("`{ip_text}` is not an IP address")))?;
            let ttl = get(c_ttl);
            if !ttl.is_empty() && ttl.parse::<u32>().is_err() {
                return Err(bad(
                    "ttl",
                    format!("`{ttl}` is not a whole number of seconds"),
                ));
            }
            id.address_rows += 1;
            span = Some(match span {
                None => (at, at),
                Some((a, b)) => (a.min(at), b.max(at)),
            });
            if let Some(product) = catalog.match_host(&host) {
                id.matched_rows += 1;
                let host = self.names.intern(&host);
                self.by_ip
                    .entry(ip)
                    .or_default()
                    .push(Entry { at, host, product });
            }
        }
        id.first_resolved_at = span.map(|s| xborder_model::period::rfc3339(s.0));
        id.last_resolved_at = span.map(|s| xborder_model::period::rfc3339(s.1));
        self.files.push(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{embedded, CatalogText};

    fn catalog() -> VendorCatalog {
        VendorCatalog::load(
            &CatalogText::load(None, "data/vendors.toml", embedded::VENDORS).unwrap(),
        )
        .unwrap()
    }

    const HEADER: &str = "host,record_type,ip,cname_chain,ttl,resolved_at,resolver,rcode,detail\n";

    fn load(text: &str) -> Result<SnapshotIndex> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("snap.csv");
        std::fs::write(&p, text).unwrap();
        SnapshotIndex::load(&[p], &catalog())
    }

    #[test]
    fn indexes_matching_rows_and_counts_failures() {
        let idx = load(&format!(
            "{HEADER}api.openai.com,A,203.0.113.7,api.openai.com. > x.cdn.test.,60,2026-07-10T00:00:00Z,127.0.0.1:53,NOERROR,\n\
             nothing.example,A,203.0.113.8,,60,2026-07-10T00:00:00Z,127.0.0.1:53,NOERROR,\n\
             api.anthropic.com,,,,,2026-07-10T00:00:00Z,127.0.0.1:53,NXDOMAIN,no such name\n"
        ))
        .unwrap();
        let f = &idx.files[0];
        assert_eq!(
            (f.rows, f.address_rows, f.failure_rows, f.matched_rows),
            (3, 2, 1, 1)
        );
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let t0 = xborder_model::values::parse_iso_timestamp("2026-07-10T00:00:00Z").unwrap();
        let m = idx.lookup(ip, t0 + 3_600_000_000, 86_400).unwrap();
        assert_eq!(idx.name(m.host), "api.openai.com");
        assert!(idx.lookup(ip, t0 + 2 * 86_400_000_000, 86_400).is_none());
        assert!(idx.lookup(ip, t0 - 2 * 86_400_000_000, 86_400).is_none());
        assert!(idx
            .lookup("203.0.113.8".parse().unwrap(), t0, 86_400)
            .is_none());
    }

    #[test]
    fn closest_answer_wins() {
        let idx = load(&format!(
            "{HEADER}api.openai.com,A,203.0.113.7,,60,2026-07-01T00:00:00Z,r,NOERROR,\n\
             api.anthropic.com,A,203.0.113.7,,60,2026-07-05T00:00:00Z,r,NOERROR,\n"
        ))
        .unwrap();
        let t = xborder_model::values::parse_iso_timestamp("2026-07-04T00:00:00Z").unwrap();
        let m = idx
            .lookup("203.0.113.7".parse().unwrap(), t, 7 * 86_400)
            .unwrap();
        assert_eq!(idx.name(m.host), "api.anthropic.com");
    }

    #[test]
    fn bad_rows_name_file_line_and_field() {
        let e = load(&format!(
            "{HEADER}api.openai.com,A,not-an-ip,,60,2026-07-10T00:00:00Z,r,NOERROR,\n"
        ))
        .unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("snap.csv") && s.contains("line 2") && s.contains("`ip`"),
            "{s}"
        );
        assert_eq!(e.exit_code(), 2);
        let e = load(&format!(
            "{HEADER}api.openai.com,A,203.0.113.7,,60,yesterday,r,NOERROR,\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("`resolved_at`"), "{e}");
        let e = load("host,ip\nx,1.2.3.4\n").unwrap_err();
        assert!(e.to_string().contains("missing column `ttl`"), "{e}");
        let e = load(&format!("{HEADER}a,A,1.2.3.4\n")).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }
}
