//! A [`FoldPartial`] on disk: one Parquet file per table in a directory, so a shard folded
//! on another machine (a Spark executor) can hand its partial result to the process that
//! merges them.
//!
//! Sites, policy rules, assets and products are written as indices into the run's
//! catalogs, with the site name, rule id and product id beside them: reading checks them
//! against the catalogs it is given, so a partial made with other catalogs is refused
//! rather than merged into the wrong rows. Sums are UInt64, times Int64 microseconds,
//! addresses text. docs/scale-out.md describes the tables.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use xborder_model::accounting::FlowBreakdown;
use xborder_model::error::{Error, Result};

use super::partial::{AiGroup, FoldPartial, ProxyFlowCounts};
use super::{OtherKey, NO_SITE};
use crate::aggregate::org::OrgSums;
use crate::aggregate::FlowSum;
use crate::attribute::Method;
use crate::candidates::CandidateHit;
use crate::classify::vendors::ProductId;
use crate::coverage::{CoverageCell, DayCounts};
use crate::run::Catalogs;

/// The tables of a partial result, in the order they are written.
pub const TABLES: [&str; 16] = [
    "ai",
    "other",
    "countries",
    "site_lookups",
    "unattributed",
    "scalars",
    "org_before",
    "org_daily",
    "org_governed",
    "org_governed_sources",
    "org_violations",
    "org_departments",
    "org_department_sources",
    "coverage",
    "candidates",
    "files",
];

/// Columns of one table being written.
#[derive(Default)]
struct Table {
    columns: Vec<Column>,
}

impl Table {
    fn col<T>(mut self, name: &str, values: Vec<T>) -> Self
    where
        Series: NamedFrom<Vec<T>, [T]>,
    {
        self.columns.push(Column::new(name.into(), values));
        self
    }

    /// The five columns of a [`FlowSum`].
    fn sums<'s>(self, sums: impl Iterator<Item = &'s FlowSum> + Clone) -> Self {
        self.col("flows", sums.clone().map(|s| s.flows).collect::<Vec<u64>>())
            .col(
                "bytes_out",
                sums.clone().map(|s| s.bytes_out).collect::<Vec<u64>>(),
            )
            .col(
                "bytes_in",
                sums.clone().map(|s| s.bytes_in).collect::<Vec<u64>>(),
            )
            .col("first", sums.clone().map(|s| s.first).collect::<Vec<i64>>())
            .col("last", sums.map(|s| s.last).collect::<Vec<i64>>())
    }

    /// The `site` (index into the sites file) and `site_name` columns, which reading
    /// checks against each other.
    fn sites(self, catalogs: &Catalogs, sites: impl Iterator<Item = u16> + Clone) -> Self {
        self.col("site", sites.clone().map(u32::from).collect::<Vec<u32>>())
            .col(
                "site_name",
                sites
                    .map(|s| site_name(catalogs, s))
                    .collect::<Vec<String>>(),
            )
    }

    fn write(self, dir: &Path, name: &str) -> Result<()> {
        let path = dir.join(format!("{name}.parquet"));
        let fail = |e: PolarsError| Error::Report {
            path: path.clone(),
            message: e.to_string(),
        };
        let mut frame = DataFrame::new_infer_height(self.columns).map_err(fail)?;
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        ParquetWriter::new(file).finish(&mut frame).map_err(fail)?;
        Ok(())
    }
}

/// One table read back, with errors naming its file and column.
struct Read {
    path: PathBuf,
    frame: DataFrame,
}

impl Read {
    fn open(dir: &Path, name: &str) -> Result<Self> {
        let path = dir.join(format!("{name}.parquet"));
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let frame = ParquetReader::new(file)
            .finish()
            .map_err(|e| Error::Report {
                path: path.clone(),
                message: e.to_string(),
            })?;
        Ok(Read { path, frame })
    }

    fn height(&self) -> usize {
        self.frame.height()
    }

    fn bad(&self, column: &str, why: impl std::fmt::Display) -> Error {
        Error::Report {
            path: self.path.clone(),
            message: format!("column `{column}`: {why}"),
        }
    }

    fn column(&self, name: &str) -> Result<&Column> {
        self.frame
            .column(name)
            .map_err(|_| self.bad(name, "missing from this partial result"))
    }

    /// A numeric column of polars type `T`, nulls as `None`.
    fn optional<T: PolarsNumericType>(&self, name: &str) -> Result<Vec<Option<T::Native>>> {
        let c = self.column(name)?.as_materialized_series();
        let c = c.unpack::<T>().map_err(|e| self.bad(name, e))?;
        Ok(c.iter().collect())
    }

    /// A numeric column of polars type `T` in which every row has a value.
    fn required<T: PolarsNumericType>(&self, name: &str) -> Result<Vec<T::Native>> {
        self.optional::<T>(name)?
            .into_iter()
            .map(|v| v.ok_or_else(|| self.bad(name, "a value is missing")))
            .collect()
    }

    fn u64(&self, name: &str) -> Result<Vec<u64>> {
        self.required::<UInt64Type>(name)
    }

    fn u32(&self, name: &str) -> Result<Vec<u32>> {
        self.required::<UInt32Type>(name)
    }

    fn opt_u32(&self, name: &str) -> Result<Vec<Option<u32>>> {
        self.optional::<UInt32Type>(name)
    }

    fn opt_i64(&self, name: &str) -> Result<Vec<Option<i64>>> {
        self.optional::<Int64Type>(name)
    }

    fn i64(&self, name: &str) -> Result<Vec<i64>> {
        self.required::<Int64Type>(name)
    }

    fn i32(&self, name: &str) -> Result<Vec<i32>> {
        self.required::<Int32Type>(name)
    }

    fn opt_str(&self, name: &str) -> Result<Vec<Option<String>>> {
        let c = self.column(name)?;
        let c = c.str().map_err(|e| self.bad(name, e))?;
        Ok(c.iter().map(|v| v.map(str::to_string)).collect())
    }

    fn str(&self, name: &str) -> Result<Vec<String>> {
        self.opt_str(name)?
            .into_iter()
            .map(|v| v.ok_or_else(|| self.bad(name, "a value is missing")))
            .collect()
    }

    fn ip(&self, name: &str) -> Result<Vec<IpAddr>> {
        self.str(name)?
            .iter()
            .map(|s| {
                s.parse()
                    .map_err(|_| self.bad(name, format!("`{s}` is not an IP address")))
            })
            .collect()
    }

    fn country(&self, name: &str) -> Result<Vec<[u8; 2]>> {
        self.str(name)?
            .iter()
            .map(|s| match s.as_bytes() {
                [a, b] => Ok([*a, *b]),
                _ => Err(self.bad(name, format!("`{s}` is not a two-letter country code"))),
            })
            .collect()
    }

    fn sums(&self) -> Result<Vec<FlowSum>> {
        let (flows, out, back, first, last) = (
            self.u64("flows")?,
            self.u64("bytes_out")?,
            self.u64("bytes_in")?,
            self.i64("first")?,
            self.i64("last")?,
        );
        Ok((0..self.height())
            .map(|i| FlowSum {
                flows: flows[i],
                bytes_out: out[i],
                bytes_in: back[i],
                first: first[i],
                last: last[i],
            })
            .collect())
    }
}

/// Checks indices read back against the catalogs of the merging run.
struct Check<'c> {
    catalogs: &'c Catalogs,
}

impl Check<'_> {
    /// The `site` column of `r`, each index checked against its `site_name`.
    fn sites(&self, r: &Read) -> Result<Vec<u16>> {
        let (index, name) = (r.u32("site")?, r.str("site_name")?);
        index
            .iter()
            .zip(&name)
            .map(|(i, n)| self.site(r, *i, n))
            .collect()
    }

    fn site(&self, r: &Read, index: u32, name: &str) -> Result<u16> {
        let site = u16::try_from(index).map_err(|_| r.bad("site", "out of range"))?;
        let known = if site == NO_SITE {
            name.is_empty()
        } else {
            self.catalogs
                .sites
                .sites
                .get(usize::from(site))
                .is_some_and(|s| s.name == name)
        };
        if known {
            Ok(site)
        } else {
            Err(r.bad(
                "site",
                format!("site #{index} `{name}` is not in this run's sites file"),
            ))
        }
    }

    fn product(&self, r: &Read, index: u32, id: &str) -> Result<ProductId> {
        let products = &self.catalogs.vendors.products;
        match ProductId::try_from(index) {
            Ok(p) if products.get(usize::from(p)).is_some_and(|x| x.id == id) => Ok(p),
            _ => Err(r.bad(
                "product",
                format!("product #{index} `{id}` is not in this run's vendor catalog"),
            )),
        }
    }

    fn rule(&self, r: &Read, index: u32, id: &str) -> Result<usize> {
        let ok = self
            .catalogs
            .policy
            .as_ref()
            .and_then(|p| p.rules.get(index as usize))
            .is_some_and(|rule| rule.id == id);
        if ok {
            Ok(index as usize)
        } else {
            Err(r.bad(
                "rule",
                format!("rule #{index} `{id}` is not in this run's policy"),
            ))
        }
    }

    fn asset(&self, r: &Read, index: Option<u32>) -> Result<Option<usize>> {
        match index {
            None => Ok(None),
            Some(i) => {
                let known = self
                    .catalogs
                    .assets
                    .as_ref()
                    .is_some_and(|a| (i as usize) < a.entries.len());
                if known {
                    Ok(Some(i as usize))
                } else {
                    Err(r.bad(
                        "asset",
                        format!("asset #{i} is not in this run's inventory"),
                    ))
                }
            }
        }
    }
}

fn site_name(catalogs: &Catalogs, site: u16) -> String {
    catalogs
        .sites
        .sites
        .get(usize::from(site))
        .map(|s| s.name.clone())
        .unwrap_or_default()
}

fn product_id(catalogs: &Catalogs, p: ProductId) -> String {
    catalogs.vendors.product(p).id.clone()
}

fn rule_id(catalogs: &Catalogs, r: usize) -> String {
    catalogs
        .policy
        .as_ref()
        .and_then(|p| p.rules.get(r))
        .map(|rule| rule.id.clone())
        .unwrap_or_default()
}

fn text(c: &[u8; 2]) -> String {
    String::from_utf8_lossy(c).into_owned()
}

/// A [`FlowBreakdown`] as (field, value) pairs; maps as `field.key`.
fn breakdown_pairs(b: &FlowBreakdown) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(b) {
        for (field, value) in fields {
            match value {
                serde_json::Value::Number(n) => out.push((field, n.as_u64().unwrap_or(0))),
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        out.push((format!("{field}.{k}"), v.as_u64().unwrap_or(0)));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The [`FlowBreakdown`] of (field, value) pairs; an unknown field is an error.
fn breakdown_of(r: &Read, pairs: Vec<(String, u64)>) -> Result<FlowBreakdown> {
    let mut object = serde_json::Map::new();
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(FlowBreakdown::default()) {
        object = fields;
    }
    for (field, value) in pairs {
        match field.split_once('.') {
            Some((map, key)) => match object.get_mut(map) {
                Some(serde_json::Value::Object(m)) => {
                    m.insert(key.to_string(), value.into());
                }
                _ => return Err(r.bad("field", format!("unknown count `{field}`"))),
            },
            None => match object.get_mut(&field) {
                Some(slot @ serde_json::Value::Number(_)) => *slot = value.into(),
                _ => return Err(r.bad("field", format!("unknown count `{field}`"))),
            },
        }
    }
    serde_json::from_value(serde_json::Value::Object(object)).map_err(|e| r.bad("field", e))
}

impl FoldPartial {
    /// Write this partial result into `dir` (created if missing), one Parquet file per
    /// table of [`TABLES`].
    pub fn write(&self, dir: &Path, catalogs: &Catalogs) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let g = &self.groups;
        let ai: Vec<(&AiGroup, &FlowSum)> = g.ai.iter().collect();
        Table::default()
            .col("day", ai.iter().map(|(k, _)| k.day).collect::<Vec<i32>>())
            .sites(catalogs, ai.iter().map(|(k, _)| k.site))
            .col(
                "src",
                ai.iter()
                    .map(|(k, _)| k.src.to_string())
                    .collect::<Vec<_>>(),
            )
            .col(
                "dst",
                ai.iter()
                    .map(|(k, _)| k.dst.to_string())
                    .collect::<Vec<_>>(),
            )
            .col(
                "product",
                ai.iter()
                    .map(|(k, _)| u32::from(k.product))
                    .collect::<Vec<u32>>(),
            )
            .col(
                "product_id",
                ai.iter()
                    .map(|(k, _)| product_id(catalogs, k.product))
                    .collect::<Vec<String>>(),
            )
            .col(
                "method",
                ai.iter()
                    .map(|(k, _)| k.method.as_str().to_string())
                    .collect::<Vec<String>>(),
            )
            .col(
                "hostname",
                ai.iter()
                    .map(|(k, _)| k.hostname.clone())
                    .collect::<Vec<Option<String>>>(),
            )
            .sums(ai.iter().map(|(_, s)| *s))
            .write(dir, "ai")?;
        let other: Vec<(&OtherKey, &FlowSum)> = g.other.iter().collect();
        Table::default()
            .col(
                "day",
                other.iter().map(|(k, _)| k.day).collect::<Vec<i32>>(),
            )
            .sites(catalogs, other.iter().map(|(k, _)| k.site))
            .col(
                "src",
                other
                    .iter()
                    .map(|(k, _)| k.src.to_string())
                    .collect::<Vec<_>>(),
            )
            .col(
                "country",
                other
                    .iter()
                    .map(|(k, _)| text(&k.country))
                    .collect::<Vec<_>>(),
            )
            .sums(other.iter().map(|(_, s)| *s))
            .write(dir, "other")?;
        Table::default()
            .col(
                "ip",
                g.countries
                    .keys()
                    .map(|ip| ip.to_string())
                    .collect::<Vec<_>>(),
            )
            .col(
                "country",
                g.countries.values().map(text).collect::<Vec<_>>(),
            )
            .write(dir, "countries")?;
        Table::default()
            .col(
                "ip",
                g.site_lookups
                    .iter()
                    .map(|ip| ip.to_string())
                    .collect::<Vec<_>>(),
            )
            .write(dir, "site_lookups")?;
        Table::default()
            .col(
                "ip",
                g.unattributed
                    .keys()
                    .map(|ip| ip.to_string())
                    .collect::<Vec<_>>(),
            )
            .col(
                "bytes",
                g.unattributed.values().copied().collect::<Vec<u64>>(),
            )
            .write(dir, "unattributed")?;
        Table::default()
            .col("observed_first", vec![g.observed.map(|o| o.0)])
            .col("observed_last", vec![g.observed.map(|o| o.1)])
            .col("egress_bytes_out", vec![g.egress_bytes.0])
            .col("egress_bytes_in", vec![g.egress_bytes.1])
            .col(
                "flows_carried_by_proxy_logs",
                vec![self.proxy.flows_carried_by_proxy_logs],
            )
            .col(
                "proxy_egress_without_proxy_logs",
                vec![self.proxy.proxy_egress_without_proxy_logs],
            )
            .col("joined_to_flows", vec![self.proxy.joined_to_flows])
            .write(dir, "scalars")?;
        self.write_org(dir, catalogs)?;
        let cells = &self.coverage;
        let count =
            |f: fn(&DayCounts) -> u64| cells.iter().map(|c| f(&c.counts)).collect::<Vec<u64>>();
        Table::default()
            .sites(catalogs, cells.iter().map(|c| c.site))
            .col(
                "source",
                cells.iter().map(|c| c.source.clone()).collect::<Vec<_>>(),
            )
            .col("day", cells.iter().map(|c| c.day).collect::<Vec<i32>>())
            .col("flow_records", count(|c| c.flow_records))
            .col("dns_records", count(|c| c.dns_records))
            .col("egress_flows", count(|c| c.egress_flows))
            .col("egress_dns_visible", count(|c| c.egress_dns_visible))
            .col("egress_with_hostname", count(|c| c.egress_with_hostname))
            .col("egress_name_visible", count(|c| c.egress_name_visible))
            .col(
                "flow_hours",
                cells
                    .iter()
                    .map(|c| c.counts.flow_hours)
                    .collect::<Vec<u32>>(),
            )
            .write(dir, "coverage")?;
        let hits = &self.candidates;
        Table::default()
            .col(
                "name",
                hits.iter().map(|h| h.name.clone()).collect::<Vec<_>>(),
            )
            .sites(catalogs, hits.iter().map(|h| h.site))
            .col("flows", hits.iter().map(|h| h.flows).collect::<Vec<u64>>())
            .col(
                "bytes_out",
                hits.iter().map(|h| h.bytes_out).collect::<Vec<u64>>(),
            )
            .col(
                "bytes_in",
                hits.iter().map(|h| h.bytes_in).collect::<Vec<u64>>(),
            )
            .col("first", hits.iter().map(|h| h.first).collect::<Vec<i64>>())
            .col("last", hits.iter().map(|h| h.last).collect::<Vec<i64>>())
            .col(
                "destinations",
                hits.iter()
                    .map(|h| {
                        h.destinations
                            .iter()
                            .map(|d| d.to_string())
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect::<Vec<_>>(),
            )
            .write(dir, "candidates")?;
        let mut files = (Vec::new(), Vec::new(), Vec::new());
        for (file, b) in &self.files {
            for (field, value) in breakdown_pairs(b) {
                files.0.push(*file);
                files.1.push(field);
                files.2.push(value);
            }
        }
        Table::default()
            .col("file", files.0)
            .col("field", files.1)
            .col("value", files.2)
            .write(dir, "files")
    }

    fn write_org(&self, dir: &Path, catalogs: &Catalogs) -> Result<()> {
        let o = &self.org;
        let before: Vec<_> = o.before.iter().collect();
        Table::default()
            .col(
                "rule",
                before
                    .iter()
                    .map(|((r, _), _)| *r as u32)
                    .collect::<Vec<u32>>(),
            )
            .col(
                "rule_id",
                before
                    .iter()
                    .map(|((r, _), _)| rule_id(catalogs, *r))
                    .collect::<Vec<_>>(),
            )
            .sites(catalogs, before.iter().map(|((_, s), _)| *s))
            .col(
                "flows",
                before.iter().map(|(_, v)| v.0).collect::<Vec<u64>>(),
            )
            .col(
                "bytes_out",
                before.iter().map(|(_, v)| v.1).collect::<Vec<u64>>(),
            )
            .write(dir, "org_before")?;
        let daily: Vec<_> = o.daily.iter().collect();
        rule_site_table(catalogs, daily.iter().map(|((r, s, _), _)| (*r, *s)))
            .col(
                "day",
                daily.iter().map(|((_, _, d), _)| *d).collect::<Vec<i32>>(),
            )
            .sums(daily.iter().map(|(_, v)| *v))
            .write(dir, "org_daily")?;
        let governed: Vec<_> = o.governed.iter().collect();
        rule_site_table(catalogs, governed.iter().map(|((r, s), _)| (*r, *s)))
            .sums(governed.iter().map(|(_, v)| &v.0))
            .write(dir, "org_governed")?;
        let sources: Vec<((usize, u16), IpAddr)> = governed
            .iter()
            .flat_map(|(k, v)| v.1.iter().map(move |ip| (**k, *ip)))
            .collect();
        rule_site_table(catalogs, sources.iter().map(|(k, _)| *k))
            .col(
                "ip",
                sources
                    .iter()
                    .map(|(_, ip)| ip.to_string())
                    .collect::<Vec<_>>(),
            )
            .write(dir, "org_governed_sources")?;
        let violations: Vec<_> = o.violations.iter().collect();
        rule_site_table(catalogs, violations.iter().map(|((r, s, ..), _)| (*r, *s)))
            .col(
                "src",
                violations
                    .iter()
                    .map(|(k, _)| k.2.to_string())
                    .collect::<Vec<_>>(),
            )
            .col(
                "product",
                violations
                    .iter()
                    .map(|(k, _)| u32::from(k.3))
                    .collect::<Vec<u32>>(),
            )
            .col(
                "product_id",
                violations
                    .iter()
                    .map(|(k, _)| product_id(catalogs, k.3))
                    .collect::<Vec<_>>(),
            )
            .col(
                "day",
                violations.iter().map(|(k, _)| k.4).collect::<Vec<i32>>(),
            )
            .col(
                "asset",
                violations
                    .iter()
                    .map(|(k, _)| k.5.map(|a| a as u32))
                    .collect::<Vec<Option<u32>>>(),
            )
            .col(
                "user",
                violations
                    .iter()
                    .map(|(k, _)| k.6.clone())
                    .collect::<Vec<Option<String>>>(),
            )
            .sums(violations.iter().map(|(_, v)| *v))
            .write(dir, "org_violations")?;
        let departments: Vec<_> = o.departments.iter().collect();
        department_table(catalogs, departments.iter().map(|(k, _)| *k))
            .sums(departments.iter().map(|(_, v)| &v.0))
            .write(dir, "org_departments")?;
        let sources: Vec<(&crate::aggregate::org::DepartmentKey, IpAddr)> = departments
            .iter()
            .flat_map(|(k, v)| v.1.iter().map(move |ip| (*k, *ip)))
            .collect();
        department_table(catalogs, sources.iter().map(|(k, _)| *k))
            .col(
                "ip",
                sources
                    .iter()
                    .map(|(_, ip)| ip.to_string())
                    .collect::<Vec<_>>(),
            )
            .write(dir, "org_department_sources")
    }

    /// Read a partial result written by [`FoldPartial::write`], checking its sites,
    /// rules, assets and products against `catalogs`.
    pub fn read(dir: &Path, catalogs: &Catalogs) -> Result<FoldPartial> {
        let check = Check { catalogs };
        let mut p = FoldPartial::default();

        let r = Read::open(dir, "ai")?;
        let (day, site, src, dst) = (r.i32("day")?, check.sites(&r)?, r.ip("src")?, r.ip("dst")?);
        let (product, product_ids, method, hostname, sums) = (
            r.u32("product")?,
            r.str("product_id")?,
            r.str("method")?,
            r.opt_str("hostname")?,
            r.sums()?,
        );
        for i in 0..r.height() {
            let method = Method::ALL
                .into_iter()
                .find(|m| m.as_str() == method[i])
                .ok_or_else(|| r.bad("method", format!("unknown method `{}`", method[i])))?;
            let key = AiGroup {
                day: day[i],
                site: site[i],
                src: src[i],
                dst: dst[i],
                product: check.product(&r, product[i], &product_ids[i])?,
                method,
                hostname: hostname[i].clone(),
            };
            p.groups.ai.insert(key, sums[i]);
        }

        let r = Read::open(dir, "other")?;
        let (day, site, src, country, sums) = (
            r.i32("day")?,
            check.sites(&r)?,
            r.ip("src")?,
            r.country("country")?,
            r.sums()?,
        );
        for i in 0..r.height() {
            let key = OtherKey {
                day: day[i],
                site: site[i],
                src: src[i],
                country: country[i],
            };
            p.groups.other.insert(key, sums[i]);
        }

        let r = Read::open(dir, "countries")?;
        p.groups.countries = r.ip("ip")?.into_iter().zip(r.country("country")?).collect();
        let r = Read::open(dir, "site_lookups")?;
        p.groups.site_lookups = r.ip("ip")?.into_iter().collect::<BTreeSet<_>>();
        let r = Read::open(dir, "unattributed")?;
        p.groups.unattributed = r.ip("ip")?.into_iter().zip(r.u64("bytes")?).collect();

        let r = Read::open(dir, "scalars")?;
        if r.height() != 1 {
            return Err(r.bad("observed_first", "expected exactly one row"));
        }
        let (first, last) = (r.opt_i64("observed_first")?, r.opt_i64("observed_last")?);
        p.groups.observed = match (first[0], last[0]) {
            (Some(a), Some(b)) => Some((a, b)),
            (None, None) => None,
            _ => return Err(r.bad("observed_last", "only one end of the observed range")),
        };
        p.groups.egress_bytes = (r.u64("egress_bytes_out")?[0], r.u64("egress_bytes_in")?[0]);
        p.proxy = ProxyFlowCounts {
            flows_carried_by_proxy_logs: r.u64("flows_carried_by_proxy_logs")?[0],
            proxy_egress_without_proxy_logs: r.u64("proxy_egress_without_proxy_logs")?[0],
            joined_to_flows: r.u64("joined_to_flows")?[0],
        };

        p.org = read_org(dir, &check)?;

        let r = Read::open(dir, "coverage")?;
        let (site, source, day) = (check.sites(&r)?, r.str("source")?, r.i32("day")?);
        let (flow_records, dns_records, egress_flows) = (
            r.u64("flow_records")?,
            r.u64("dns_records")?,
            r.u64("egress_flows")?,
        );
        let (dns_visible, with_hostname, name_visible, hours) = (
            r.u64("egress_dns_visible")?,
            r.u64("egress_with_hostname")?,
            r.u64("egress_name_visible")?,
            r.u32("flow_hours")?,
        );
        for i in 0..r.height() {
            p.coverage.push(CoverageCell {
                site: site[i],
                source: source[i].clone(),
                day: day[i],
                counts: DayCounts {
                    flow_records: flow_records[i],
                    dns_records: dns_records[i],
                    egress_flows: egress_flows[i],
                    egress_dns_visible: dns_visible[i],
                    egress_with_hostname: with_hostname[i],
                    egress_name_visible: name_visible[i],
                    flow_hours: hours[i],
                },
            });
        }

        let r = Read::open(dir, "candidates")?;
        let (name, site, destinations) = (r.str("name")?, check.sites(&r)?, r.str("destinations")?);
        let (flows, out, back, first, last) = (
            r.u64("flows")?,
            r.u64("bytes_out")?,
            r.u64("bytes_in")?,
            r.i64("first")?,
            r.i64("last")?,
        );
        for i in 0..r.height() {
            let destinations = destinations[i]
                .split_whitespace()
                .map(|d| {
                    d.parse()
                        .map_err(|_| r.bad("destinations", format!("`{d}` is not an address")))
                })
                .collect::<Result<Vec<IpAddr>>>()?;
            p.candidates.push(CandidateHit {
                name: name[i].clone(),
                site: site[i],
                flows: flows[i],
                bytes_out: out[i],
                bytes_in: back[i],
                first: first[i],
                last: last[i],
                destinations,
            });
        }

        let r = Read::open(dir, "files")?;
        let mut pairs: BTreeMap<u32, Vec<(String, u64)>> = BTreeMap::new();
        for ((file, field), value) in r
            .u32("file")?
            .into_iter()
            .zip(r.str("field")?)
            .zip(r.u64("value")?)
        {
            pairs.entry(file).or_default().push((field, value));
        }
        for (file, pairs) in pairs {
            p.files.insert(file, breakdown_of(&r, pairs)?);
        }
        Ok(p)
    }
}

/// A table starting with the rule and site columns (index and name of each).
fn rule_site_table(catalogs: &Catalogs, keys: impl Iterator<Item = (usize, u16)> + Clone) -> Table {
    Table::default()
        .col(
            "rule",
            keys.clone().map(|(r, _)| r as u32).collect::<Vec<u32>>(),
        )
        .col(
            "rule_id",
            keys.clone()
                .map(|(r, _)| rule_id(catalogs, r))
                .collect::<Vec<_>>(),
        )
        .sites(catalogs, keys.clone().map(|(_, s)| s))
}

/// A table starting with the department view's key columns.
fn department_table<'k>(
    catalogs: &Catalogs,
    keys: impl Iterator<Item = &'k crate::aggregate::org::DepartmentKey> + Clone,
) -> Table {
    Table::default()
        .col(
            "department",
            keys.clone().map(|k| k.0.clone()).collect::<Vec<_>>(),
        )
        .sites(catalogs, keys.clone().map(|k| k.1))
        .col(
            "product",
            keys.clone().map(|k| u32::from(k.2)).collect::<Vec<u32>>(),
        )
        .col(
            "product_id",
            keys.clone()
                .map(|k| product_id(catalogs, k.2))
                .collect::<Vec<_>>(),
        )
        .col("regimes", keys.map(|k| k.3.clone()).collect::<Vec<_>>())
}

/// The rule and site of each row of a table made by [`rule_site_table`].
fn rule_sites(r: &Read, check: &Check<'_>) -> Result<Vec<(usize, u16)>> {
    let (rule, rule_ids, site) = (r.u32("rule")?, r.str("rule_id")?, check.sites(r)?);
    (0..r.height())
        .map(|i| Ok((check.rule(r, rule[i], &rule_ids[i])?, site[i])))
        .collect()
}

/// The department key of each row of a table made by [`department_table`].
fn department_keys(
    r: &Read,
    check: &Check<'_>,
) -> Result<Vec<crate::aggregate::org::DepartmentKey>> {
    let (department, site, product, product_ids, regimes) = (
        r.str("department")?,
        check.sites(r)?,
        r.u32("product")?,
        r.str("product_id")?,
        r.str("regimes")?,
    );
    (0..r.height())
        .map(|i| {
            Ok((
                department[i].clone(),
                site[i],
                check.product(r, product[i], &product_ids[i])?,
                regimes[i].clone(),
            ))
        })
        .collect()
}

fn read_org(dir: &Path, check: &Check<'_>) -> Result<OrgSums> {
    let mut o = OrgSums::default();
    let r = Read::open(dir, "org_before")?;
    let keys = rule_sites(&r, check)?;
    for ((k, flows), bytes) in keys
        .into_iter()
        .zip(r.u64("flows")?)
        .zip(r.u64("bytes_out")?)
    {
        o.before.insert(k, (flows, bytes));
    }
    let r = Read::open(dir, "org_daily")?;
    let keys = rule_sites(&r, check)?;
    for (((rule, site), day), sum) in keys.into_iter().zip(r.i32("day")?).zip(r.sums()?) {
        o.daily.insert((rule, site, day), sum);
    }
    let r = Read::open(dir, "org_governed")?;
    for (k, sum) in rule_sites(&r, check)?.into_iter().zip(r.sums()?) {
        o.governed.insert(k, (sum, BTreeSet::new()));
    }
    let r = Read::open(dir, "org_governed_sources")?;
    for (k, ip) in rule_sites(&r, check)?.into_iter().zip(r.ip("ip")?) {
        o.governed
            .get_mut(&k)
            .ok_or_else(|| r.bad("ip", "a source of a rule and site with no sums"))?
            .1
            .insert(ip);
    }
    let r = Read::open(dir, "org_violations")?;
    let keys = rule_sites(&r, check)?;
    let (src, product, product_ids, day, asset, user, sums) = (
        r.ip("src")?,
        r.u32("product")?,
        r.str("product_id")?,
        r.i32("day")?,
        r.opt_u32("asset")?,
        r.opt_str("user")?,
        r.sums()?,
    );
    for (i, (rule, site)) in keys.into_iter().enumerate() {
        let key = (
            rule,
            site,
            src[i],
            check.product(&r, product[i], &product_ids[i])?,
            day[i],
            check.asset(&r, asset[i])?,
            user[i].clone(),
        );
        o.violations.insert(key, sums[i]);
    }
    let r = Read::open(dir, "org_departments")?;
    for (k, sum) in department_keys(&r, check)?.into_iter().zip(r.sums()?) {
        o.departments.insert(k, (sum, BTreeSet::new()));
    }
    let r = Read::open(dir, "org_department_sources")?;
    for (k, ip) in department_keys(&r, check)?.into_iter().zip(r.ip("ip")?) {
        o.departments
            .get_mut(&k)
            .ok_or_else(|| r.bad("ip", "a source of a department row with no sums"))?
            .1
            .insert(ip);
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold::partial::{AiGroup, Groups};
    use crate::run::AnalyzeOptions;

    fn catalogs() -> Catalogs {
        Catalogs::load(&AnalyzeOptions::new(Vec::new())).unwrap()
    }

    fn sum(flows: u64, bytes_out: u64, first: i64) -> FlowSum {
        FlowSum {
            flows,
            bytes_out,
            bytes_in: 7,
            first,
            last: first + 5,
        }
    }

    fn partial() -> FoldPartial {
        let v4: IpAddr = "10.1.0.5".parse().unwrap();
        let v6: IpAddr = "2001:db8::7".parse().unwrap();
        let mut p = FoldPartial::default();
        let mut g = Groups::default();
        g.ai.insert(
            AiGroup {
                day: 20_640,
                site: NO_SITE,
                src: v4,
                dst: "160.79.104.10".parse().unwrap(),
                product: 0,
                method: Method::Dns,
                hostname: Some("api.anthropic.com".into()),
            },
            // Sums above 2^63 must survive the round trip as unsigned.
            sum(3, (1 << 63) + 11, -5),
        );
        g.ai.insert(
            AiGroup {
                day: 20_641,
                site: NO_SITE,
                src: v6,
                dst: "::".parse().unwrap(),
                product: 1,
                method: Method::IpRange,
                hostname: None,
            },
            sum(1, 0, 1_783_000_000_000_000),
        );
        g.other.insert(
            OtherKey {
                day: 20_640,
                site: NO_SITE,
                src: v6,
                country: *b"ZZ",
            },
            sum(2, 10, 0),
        );
        g.countries.insert("160.79.104.10".parse().unwrap(), *b"US");
        g.site_lookups.extend([v4, v6]);
        g.unattributed.insert(v6, u64::MAX);
        g.observed = Some((-5, 1_783_000_000_000_005));
        g.egress_bytes = (u64::MAX, 3);
        p.groups = g;
        p.coverage.push(CoverageCell {
            site: NO_SITE,
            source: "zeek-conn".into(),
            day: 20_640,
            counts: DayCounts {
                flow_records: 4,
                egress_flows: 3,
                flow_hours: 0b1010,
                ..DayCounts::default()
            },
        });
        p.candidates.push(CandidateHit {
            name: "llm.example.net".into(),
            site: NO_SITE,
            flows: 2,
            bytes_out: 1_000_000,
            bytes_in: 0,
            first: 1,
            last: 2,
            destinations: vec![v4, v6],
        });
        p.proxy = ProxyFlowCounts {
            flows_carried_by_proxy_logs: 1,
            proxy_egress_without_proxy_logs: 2,
            joined_to_flows: 3,
        };
        let mut b = FlowBreakdown {
            egress: 3,
            ai_vendor: 2,
            ..FlowBreakdown::default()
        };
        b.ai_by_method.insert("dns".into(), 1);
        b.attribution_disagreements.insert("sni_vs_dns".into(), 1);
        p.files.insert(2, b);
        p.files.insert(0, FlowBreakdown::default());
        p
    }

    /// Every table reads back as written: unsigned sums past 2^63, IPv6, the unspecified
    /// address, nulls, the breakdown's maps, an empty policy view.
    #[test]
    fn a_partial_reads_back_as_written() {
        let catalogs = catalogs();
        let dir = tempfile::tempdir().unwrap();
        let p = partial();
        p.write(dir.path(), &catalogs).unwrap();
        for table in TABLES {
            assert!(
                dir.path().join(format!("{table}.parquet")).is_file(),
                "{table}"
            );
        }
        assert_eq!(FoldPartial::read(dir.path(), &catalogs).unwrap(), p);
        let empty = FoldPartial::default();
        empty.write(dir.path(), &catalogs).unwrap();
        assert_eq!(FoldPartial::read(dir.path(), &catalogs).unwrap(), empty);
    }

    /// A partial made with another vendor catalog is refused, not merged into the wrong
    /// products; a missing table is an error naming its file.
    #[test]
    fn a_partial_from_other_catalogs_is_refused() {
        let catalogs = catalogs();
        let dir = tempfile::tempdir().unwrap();
        partial().write(dir.path(), &catalogs).unwrap();
        let mut other = self::catalogs();
        other.vendors.products[1].id = "renamed".into();
        let err = FoldPartial::read(dir.path(), &other)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not in this run's vendor catalog"), "{err}");
        assert!(err.contains("ai.parquet"), "{err}");
        std::fs::remove_file(dir.path().join("coverage.parquet")).unwrap();
        let err = FoldPartial::read(dir.path(), &catalogs)
            .unwrap_err()
            .to_string();
        assert!(err.contains("coverage.parquet"), "{err}");
    }
}
