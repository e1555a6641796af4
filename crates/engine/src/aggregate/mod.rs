//! Aggregate: turn per-(day, source, destination) partial sums into the report tables
//! with polars' lazy engine.
//!
//! The flow pass already folded flows into small partial groups (compute on the few), so
//! these frames have one row per distinct (day, source, destination, hostname, method),
//! not per flow. Every output is sorted on all of its key columns, so the same input
//! gives the same bytes.

pub mod blocked;
pub mod org;
mod regime_rows;
pub use regime_rows::regime_rows;

use polars::prelude::*;
use serde::Serialize;

use xborder_model::error::Result;
use xborder_model::period::{day_string, rfc3339};

/// Running totals of a group of flows, folded one flow at a time while streaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSum {
    pub flows: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub first: xborder_model::schema::Micros,
    pub last: xborder_model::schema::Micros,
}

impl FlowSum {
    pub fn new(ts: xborder_model::schema::Micros) -> Self {
        FlowSum {
            flows: 0,
            bytes_out: 0,
            bytes_in: 0,
            first: ts,
            last: ts,
        }
    }

    /// Add one flow; unset byte counts add nothing. A group sums a subset of the run's
    /// egress flows, whose total the flow pass checks against 2^64 before folding, so
    /// these additions cannot wrap.
    pub fn add(&mut self, f: &xborder_model::schema::FlowRecord) {
        self.flows += 1;
        self.bytes_out += f.bytes_out.unwrap_or(0);
        self.bytes_in += f.bytes_in.unwrap_or(0);
        self.first = self.first.min(f.ts);
        self.last = self.last.max(f.ts);
    }

    /// Add another part of the same group (from another fold shard). The merged run's
    /// egress total is checked against 2^64 before the groups are merged, so these
    /// additions cannot wrap either.
    pub fn merge(&mut self, o: &FlowSum) {
        self.flows += o.flows;
        self.bytes_out += o.bytes_out;
        self.bytes_in += o.bytes_in;
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
    }
}

/// One partial group of egress flows, ready for the frame.
#[derive(Debug, Clone, Default)]
pub struct EgressRow {
    pub day: i32,
    pub source_site: String,
    pub source_country: String,
    pub src_ip: String,
    /// Empty for non-vendor egress, which is grouped by destination country only.
    pub dst_ip: String,
    pub destination_country: String,
    pub hostname: String,
    /// Empty when the flow is not AI-vendor egress.
    pub vendor: String,
    pub vendor_hq_country: String,
    pub product: String,
    pub category: String,
    pub attribution: String,
    pub flows: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub first_seen: i64,
    pub last_seen: i64,
    /// What the catalog says about the group beyond its address (processing scope, relay;
    /// `classify::onward::exposure_key`), empty when nothing; a join key, not an output.
    pub onward: String,
}

/// Stable id of an AI-egress group: (site, source country, destination country, vendor,
/// product, category, attribution). Regime-independent, so one flow under PIPL and DSL
/// carries one id, and the findings rows of each regime for the group share it.
pub fn finding_id(parts: [&str; 7]) -> String {
    let joined = parts.join("\u{1f}");
    format!(
        "F-{}",
        &xborder_model::hash::sha256_bytes(joined.as_bytes())[..12]
    )
}

fn finding_id_of(r: &EgressRow) -> String {
    finding_id([
        &r.source_site,
        &r.source_country,
        &r.destination_country,
        &r.vendor,
        &r.product,
        &r.category,
        &r.attribution,
    ])
}

/// A regime verdict for one (source country, destination country, vendor, day).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RegimeRow {
    pub source_country: String,
    pub destination_country: String,
    pub vendor: String,
    pub day: i32,
    /// The egress rows' `onward` key this verdict was made for.
    pub onward: String,
    pub regime: String,
    pub rule_id: String,
    pub citation: String,
    pub transfer_basis: String,
}

/// findings.csv: AI-vendor egress that is a cross-border transfer under a regime.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FindingRow {
    pub regime: String,
    pub rule_id: String,
    pub citation: String,
    pub source_site: String,
    pub source_country: String,
    pub destination_country: String,
    pub vendor: String,
    pub vendor_hq_country: String,
    pub product: String,
    pub category: String,
    pub attribution: String,
    pub transfer_basis: String,
    pub flows: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub distinct_sources: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// The egress group this row counts; evidence.csv rows reference it.
    pub finding_id: String,
}

/// cross_border_other.csv: cross-border egress to destinations that are not AI vendors.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OtherRow {
    pub regime: String,
    pub rule_id: String,
    pub source_site: String,
    pub source_country: String,
    pub destination_country: String,
    pub transfer_basis: String,
    pub flows: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub distinct_sources: u64,
    pub first_seen: String,
    pub last_seen: String,
}

/// summary_by_vendor.csv: all AI-vendor egress per vendor and product, cross-border or not.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VendorSummaryRow {
    pub vendor: String,
    pub vendor_hq_country: String,
    pub product: String,
    pub category: String,
    pub flows: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub cross_border_flows: u64,
    pub cross_border_bytes_out: u64,
    pub distinct_sources: u64,
    pub sites: String,
    pub destination_countries: String,
    pub first_seen: String,
    pub last_seen: String,
}

/// daily_egress.csv: AI-vendor egress per day, regime and vendor; `none` when no regime
/// treats the flows as cross-border.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DailyRow {
    pub day: String,
    pub regime: String,
    pub vendor: String,
    pub flows: u64,
    pub bytes_out: u64,
}

/// Every table the reports are built from.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    pub findings: Vec<FindingRow>,
    pub cross_border_other: Vec<OtherRow>,
    pub summary_by_vendor: Vec<VendorSummaryRow>,
    pub daily_egress: Vec<DailyRow>,
    /// AI-vendor egress per day (each flow once), for the report's time series.
    pub daily_ai: Vec<(i32, u64, u64)>,
    /// AI-vendor (flows, bytes out) per (site, vendor), for the report's heat table.
    pub site_vendor_bytes: Vec<(String, String, u64, u64)>,
}

fn str_col(name: &str, rows: &[EgressRow], f: impl Fn(&EgressRow) -> &str) -> Column {
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<&str>>())
}

fn egress_frame(rows: &[EgressRow], cross_border: &[bool]) -> Result<DataFrame> {
    let columns = vec![
        Column::new(
            "day".into(),
            rows.iter().map(|r| r.day).collect::<Vec<i32>>(),
        ),
        str_col("source_site", rows, |r| &r.source_site),
        str_col("source_country", rows, |r| &r.source_country),
        str_col("src_ip", rows, |r| &r.src_ip),
        str_col("dst_ip", rows, |r| &r.dst_ip),
        str_col("destination_country", rows, |r| &r.destination_country),
        str_col("hostname", rows, |r| &r.hostname),
        str_col("vendor", rows, |r| &r.vendor),
        str_col("vendor_hq_country", rows, |r| &r.vendor_hq_country),
        str_col("product", rows, |r| &r.product),
        str_col("category", rows, |r| &r.category),
        str_col("attribution", rows, |r| &r.attribution),
        Column::new(
            "flows".into(),
            rows.iter().map(|r| r.flows).collect::<Vec<u64>>(),
        ),
        Column::new(
            "bytes_out".into(),
            rows.iter().map(|r| r.bytes_out).collect::<Vec<u64>>(),
        ),
        Column::new(
            "bytes_in".into(),
            rows.iter().map(|r| r.bytes_in).collect::<Vec<u64>>(),
        ),
        Column::new(
            "first_seen".into(),
            rows.iter().map(|r| r.first_seen).collect::<Vec<i64>>(),
        ),
        Column::new(
            "last_seen".into(),
            rows.iter().map(|r| r.last_seen).collect::<Vec<i64>>(),
        ),
        Column::new("cross_border".into(), cross_border.to_vec()),
        str_col("onward", rows, |r| &r.onward),
        Column::new(
            "finding_id".into(),
            rows.iter().map(finding_id_of).collect::<Vec<String>>(),
        ),
    ];
    DataFrame::new(rows.len(), columns).map_err(crate::polars_error)
}

fn regime_frame(rows: &[RegimeRow]) -> Result<DataFrame> {
    let s = |f: fn(&RegimeRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let columns = vec![
        Column::new("source_country".into(), s(|r| &r.source_country)),
        Column::new("destination_country".into(), s(|r| &r.destination_country)),
        Column::new("vendor".into(), s(|r| &r.vendor)),
        Column::new(
            "day".into(),
            rows.iter().map(|r| r.day).collect::<Vec<i32>>(),
        ),
        Column::new("onward".into(), s(|r| &r.onward)),
        Column::new("regime".into(), s(|r| &r.regime)),
        Column::new("rule_id".into(), s(|r| &r.rule_id)),
        Column::new("citation".into(), s(|r| &r.citation)),
        Column::new("transfer_basis".into(), s(|r| &r.transfer_basis)),
    ];
    DataFrame::new(rows.len(), columns).map_err(crate::polars_error)
}

const JOIN_KEYS: [&str; 5] = [
    "source_country",
    "destination_country",
    "vendor",
    "day",
    "onward",
];

fn keys() -> Vec<Expr> {
    JOIN_KEYS.iter().map(|k| col(*k)).collect()
}

fn sums() -> Vec<Expr> {
    vec![
        col("flows").sum().alias("flows"),
        col("bytes_out").sum().alias("bytes_out"),
        col("bytes_in").sum().alias("bytes_in"),
        col("src_ip").n_unique().alias("distinct_sources"),
        col("first_seen").min().alias("first_seen"),
        col("last_seen").max().alias("last_seen"),
    ]
}

fn sorted(lf: LazyFrame, by: &[&str]) -> LazyFrame {
    let names: Vec<PlSmallStr> = by.iter().map(|s| (*s).into()).collect();
    lf.sort(
        names,
        SortMultipleOptions::default().with_maintain_order(true),
    )
}

/// Build every table from the partial groups and the regime verdicts.
pub fn build_tables(
    ai: &[EgressRow],
    other: &[EgressRow],
    regimes: &[RegimeRow],
) -> Result<Tables> {
    let regime_keys: std::collections::HashSet<(&str, &str, &str, i32, &str)> = regimes
        .iter()
        .map(|r| {
            (
                r.source_country.as_str(),
                r.destination_country.as_str(),
                r.vendor.as_str(),
                r.day,
                r.onward.as_str(),
            )
        })
        .collect();
    let ai_cross: Vec<bool> = ai
        .iter()
        .map(|r| {
            regime_keys.contains(&(
                r.source_country.as_str(),
                r.destination_country.as_str(),
                r.vendor.as_str(),
                r.day,
                r.onward.as_str(),
            ))
        })
        .collect();
    let other_cross: Vec<bool> = vec![false; other.len()];
    let ai_lf = egress_frame(ai, &ai_cross)?.lazy();
    let other_lf = egress_frame(other, &other_cross)?.lazy();
    let regime_lf = regime_frame(regimes)?.lazy();

    let finding_keys = [
        "regime",
        "rule_id",
        "citation",
        "source_site",
        "source_country",
        "destination_country",
        "vendor",
        "vendor_hq_country",
        "product",
        "category",
        "attribution",
        "transfer_basis",
        "finding_id",
    ];
    let findings = sorted(
        ai_lf
            .clone()
            .join(
                regime_lf.clone(),
                keys(),
                keys(),
                JoinArgs::new(JoinType::Inner),
            )
            .group_by(finding_keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
            .agg(sums()),
        &finding_keys,
    )
    .collect()
    .map_err(crate::polars_error)?;

    let other_keys = [
        "regime",
        "rule_id",
        "source_site",
        "source_country",
        "destination_country",
        "transfer_basis",
    ];
    let cross_border_other = sorted(
        other_lf
            .join(
                regime_lf.clone(),
                keys(),
                keys(),
                JoinArgs::new(JoinType::Inner),
            )
            .group_by(other_keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
            .agg(sums()),
        &other_keys,
    )
    .collect()
    .map_err(crate::polars_error)?;

    let vendor_keys = ["vendor", "vendor_hq_country", "product", "category"];
    let mut vendor_aggs = sums();
    vendor_aggs.push(
        col("flows")
            .filter(col("cross_border"))
            .sum()
            .alias("cross_border_flows"),
    );
    vendor_aggs.push(
        col("bytes_out")
            .filter(col("cross_border"))
            .sum()
            .alias("cross_border_bytes_out"),
    );
    let summary = sorted(
        ai_lf
            .clone()
            .group_by(vendor_keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
            .agg(vendor_aggs),
        &vendor_keys,
    )
    .collect()
    .map_err(crate::polars_error)?;

    let daily_keys = ["day", "regime", "vendor"];
    let daily = sorted(
        ai_lf
            .join(regime_lf, keys(), keys(), JoinArgs::new(JoinType::Left))
            .with_column(col("regime").fill_null(lit("none")).alias("regime"))
            .group_by(daily_keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
            .agg([
                col("flows").sum().alias("flows"),
                col("bytes_out").sum().alias("bytes_out"),
            ]),
        &daily_keys,
    )
    .collect()
    .map_err(crate::polars_error)?;

    let mut daily_ai: std::collections::BTreeMap<i32, (u64, u64)> = Default::default();
    let mut site_vendor: std::collections::BTreeMap<(String, String), (u64, u64)> =
        Default::default();
    for r in ai {
        let d = daily_ai.entry(r.day).or_default();
        d.0 += r.flows;
        d.1 += r.bytes_out;
        let sv = site_vendor
            .entry((r.source_site.clone(), r.vendor.clone()))
            .or_default();
        sv.0 += r.flows;
        sv.1 += r.bytes_out;
    }
    Ok(Tables {
        daily_ai: daily_ai.into_iter().map(|(d, (f, b))| (d, f, b)).collect(),
        site_vendor_bytes: site_vendor
            .into_iter()
            .map(|((s, v), (f, b))| (s, v, f, b))
            .collect(),
        findings: read_findings(&findings)?,
        cross_border_other: read_other(&cross_border_other)?,
        summary_by_vendor: read_summary(&summary, ai)?,
        daily_egress: read_daily(&daily)?,
    })
}

fn strings(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    let c = df
        .column(name)
        .map_err(crate::polars_error)?
        .str()
        .map_err(crate::polars_error)?
        .clone();
    Ok((0..c.len())
        .map(|i| c.get(i).unwrap_or_default().to_string())
        .collect())
}

fn u64s(df: &DataFrame, name: &str) -> Result<Vec<u64>> {
    let c = df
        .column(name)
        .map_err(crate::polars_error)?
        .cast(&DataType::UInt64)
        .map_err(crate::polars_error)?;
    let c = c.u64().map_err(crate::polars_error)?;
    Ok((0..c.len()).map(|i| c.get(i).unwrap_or(0)).collect())
}

fn i64s(df: &DataFrame, name: &str) -> Result<Vec<i64>> {
    let c = df
        .column(name)
        .map_err(crate::polars_error)?
        .cast(&DataType::Int64)
        .map_err(crate::polars_error)?;
    let c = c.i64().map_err(crate::polars_error)?;
    Ok((0..c.len()).map(|i| c.get(i).unwrap_or(0)).collect())
}

fn times(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    Ok(i64s(df, name)?.into_iter().map(rfc3339).collect())
}

fn read_findings(df: &DataFrame) -> Result<Vec<FindingRow>> {
    let n = df.height();
    let (regime, rule_id, citation) = (
        strings(df, "regime")?,
        strings(df, "rule_id")?,
        strings(df, "citation")?,
    );
    let (site, sc, dc) = (
        strings(df, "source_site")?,
        strings(df, "source_country")?,
        strings(df, "destination_country")?,
    );
    let (vendor, hq, product) = (
        strings(df, "vendor")?,
        strings(df, "vendor_hq_country")?,
        strings(df, "product")?,
    );
    let (category, attribution, basis) = (
        strings(df, "category")?,
        strings(df, "attribution")?,
        strings(df, "transfer_basis")?,
    );
    let (flows, out, inb, srcs) = (
        u64s(df, "flows")?,
        u64s(df, "bytes_out")?,
        u64s(df, "bytes_in")?,
        u64s(df, "distinct_sources")?,
    );
    let (first, last) = (times(df, "first_seen")?, times(df, "last_seen")?);
    let ids = strings(df, "finding_id")?;
    Ok((0..n)
        .map(|i| FindingRow {
            regime: regime[i].clone(),
            rule_id: rule_id[i].clone(),
            citation: citation[i].clone(),
            source_site: site[i].clone(),
            source_country: sc[i].clone(),
            destination_country: dc[i].clone(),
            vendor: vendor[i].clone(),
            vendor_hq_country: hq[i].clone(),
            product: product[i].clone(),
            category: category[i].clone(),
            attribution: attribution[i].clone(),
            transfer_basis: basis[i].clone(),
            flows: flows[i],
            bytes_out: out[i],
            bytes_in: inb[i],
            distinct_sources: srcs[i],
            first_seen: first[i].clone(),
            last_seen: last[i].clone(),
            finding_id: ids[i].clone(),
        })
        .collect())
}

fn read_other(df: &DataFrame) -> Result<Vec<OtherRow>> {
    let n = df.height();
    let (regime, rule_id, site) = (
        strings(df, "regime")?,
        strings(df, "rule_id")?,
        strings(df, "source_site")?,
    );
    let (sc, dc, basis) = (
        strings(df, "source_country")?,
        strings(df, "destination_country")?,
        strings(df, "transfer_basis")?,
    );
    let (flows, out, inb, srcs) = (
        u64s(df, "flows")?,
        u64s(df, "bytes_out")?,
        u64s(df, "bytes_in")?,
        u64s(df, "distinct_sources")?,
    );
    let (first, last) = (times(df, "first_seen")?, times(df, "last_seen")?);
    Ok((0..n)
        .map(|i| OtherRow {
            regime: regime[i].clone(),
            rule_id: rule_id[i].clone(),
            source_site: site[i].clone(),
            source_country: sc[i].clone(),
            destination_country: dc[i].clone(),
            transfer_basis: basis[i].clone(),
            flows: flows[i],
            bytes_out: out[i],
            bytes_in: inb[i],
            distinct_sources: srcs[i],
            first_seen: first[i].clone(),
            last_seen: last[i].clone(),
        })
        .collect())
}

/// Sites and destination countries per product, as `;`-joined sorted lists.
fn lists(ai: &[EgressRow], vendor: &str, product: &str) -> (String, String) {
    let mut sites = std::collections::BTreeSet::new();
    let mut countries = std::collections::BTreeSet::new();
    for r in ai
        .iter()
        .filter(|r| r.vendor == vendor && r.product == product)
    {
        sites.insert(r.source_site.as_str());
        countries.insert(r.destination_country.as_str());
    }
    let join = |s: std::collections::BTreeSet<&str>| s.into_iter().collect::<Vec<_>>().join(";");
    (join(sites), join(countries))
}

fn read_summary(df: &DataFrame, ai: &[EgressRow]) -> Result<Vec<VendorSummaryRow>> {
    let n = df.height();
    let (vendor, hq, product, category) = (
        strings(df, "vendor")?,
        strings(df, "vendor_hq_country")?,
        strings(df, "product")?,
        strings(df, "category")?,
    );
    let (flows, out, inb, srcs) = (
        u64s(df, "flows")?,
        u64s(df, "bytes_out")?,
        u64s(df, "bytes_in")?,
        u64s(df, "distinct_sources")?,
    );
    let (xf, xb) = (
        u64s(df, "cross_border_flows")?,
        u64s(df, "cross_border_bytes_out")?,
    );
    let (first, last) = (times(df, "first_seen")?, times(df, "last_seen")?);
    Ok((0..n)
        .map(|i| {
            let (sites, countries) = lists(ai, &vendor[i], &product[i]);
            VendorSummaryRow {
                vendor: vendor[i].clone(),
                vendor_hq_country: hq[i].clone(),
                product: product[i].clone(),
                category: category[i].clone(),
                flows: flows[i],
                bytes_out: out[i],
                bytes_in: inb[i],
                cross_border_flows: xf[i],
                cross_border_bytes_out: xb[i],
                distinct_sources: srcs[i],
                sites,
                destination_countries: countries,
                first_seen: first[i].clone(),
                last_seen: last[i].clone(),
            }
        })
        .collect())
}

fn read_daily(df: &DataFrame) -> Result<Vec<DailyRow>> {
    let n = df.height();
    let days = i64s(df, "day")?;
    let (regime, vendor) = (strings(df, "regime")?, strings(df, "vendor")?);
    let (flows, out) = (u64s(df, "flows")?, u64s(df, "bytes_out")?);
    Ok((0..n)
        .map(|i| DailyRow {
            day: day_string(days[i] as i32),
            regime: regime[i].clone(),
            vendor: vendor[i].clone(),
            flows: flows[i],
            bytes_out: out[i],
        })
        .collect())
}
