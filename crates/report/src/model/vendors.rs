//! The vendors reached: bytes per vendor for the top-vendors chart, and what the vendor
//! catalog says about each of them.

use std::collections::{BTreeMap, BTreeSet};

use super::largest_first;
use xborder_engine::aggregate::VendorSummaryRow;
use xborder_engine::classify::vendors::VendorCatalog;

/// Bars of the top-vendors chart.
pub const TOP_VENDORS: usize = 15;

/// What the catalog says about one vendor reached, and its rows of summary_by_vendor.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorDetail {
    pub name: String,
    pub hq_country: String,
    /// "host: region" of every product, each once, in order.
    pub regions: Vec<String>,
    /// The importing entity (the vendor itself unless the catalog names another).
    pub importer: String,
    pub importer_country: String,
    /// "host: scope" of every product, each once, in order.
    pub scopes: Vec<String>,
    /// (product name, question) for each relay product.
    pub relay_questions: Vec<(String, String)>,
    /// The vendor's first source, and the newest date among its sources.
    pub source_url: String,
    pub source_as_of: String,
    /// Indexes into `Analysis::tables.summary_by_vendor`.
    pub products: Vec<usize>,
}

/// Bytes out per vendor over all its products, largest first, at most [`TOP_VENDORS`].
pub(super) fn top_vendors(rows: &[VendorSummaryRow]) -> Vec<(String, u64)> {
    let mut by_vendor: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows {
        let b = by_vendor.entry(r.vendor.clone()).or_default();
        *b = b.saturating_add(r.bytes_out);
    }
    let mut ranked = largest_first(by_vendor);
    ranked.truncate(TOP_VENDORS);
    ranked
}

/// Each catalog vendor with a row in summary_by_vendor.csv, in catalog order.
pub(super) fn vendor_details(
    catalog: &VendorCatalog,
    rows: &[VendorSummaryRow],
) -> Vec<VendorDetail> {
    let used: BTreeSet<&str> = rows.iter().map(|r| r.vendor.as_str()).collect();
    catalog
        .vendors
        .iter()
        .filter(|v| used.contains(v.name.as_str()))
        .map(|v| {
            let products: Vec<_> = catalog
                .products
                .iter()
                .filter(|p| catalog.vendors.get(p.vendor).is_some_and(|o| o.id == v.id))
                .collect();
            let regions: BTreeSet<String> = products
                .iter()
                .flat_map(|p| p.regions.iter().map(|(h, c)| format!("{h}: {c}")))
                .collect();
            let scopes: BTreeSet<String> = products
                .iter()
                .flat_map(|p| {
                    p.processing
                        .iter()
                        .map(|(h, s)| format!("{h}: {}", s.as_str()))
                })
                .collect();
            VendorDetail {
                name: v.name.clone(),
                hq_country: v.hq_country.clone(),
                regions: regions.into_iter().collect(),
                importer: v.importer_entity.clone().unwrap_or_else(|| v.name.clone()),
                importer_country: v.importer_country.clone(),
                scopes: scopes.into_iter().collect(),
                relay_questions: products
                    .iter()
                    .filter_map(|p| {
                        p.upstream_question
                            .as_ref()
                            .map(|q| (p.name.clone(), q.clone()))
                    })
                    .collect(),
                source_url: v.sources.first().map(|s| s.url.clone()).unwrap_or_default(),
                source_as_of: v
                    .sources
                    .iter()
                    .map(|s| s.as_of.as_str())
                    .max()
                    .unwrap_or("")
                    .to_string(),
                products: (0..rows.len())
                    .filter(|&i| rows[i].vendor == v.name)
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_rows::summary;
    use super::*;

    #[test]
    fn top_vendors_sum_products_rank_ties_by_name_and_stop_at_fifteen() {
        let mut rows = vec![
            summary("OpenAI", "ChatGPT", 300, 0),
            summary("OpenAI", "OpenAI API", 200, 0),
            summary("Anthropic", "Claude", 500, 0),
        ];
        assert_eq!(
            top_vendors(&rows),
            vec![("Anthropic".to_string(), 500), ("OpenAI".to_string(), 500)]
        );
        rows.extend((0..20).map(|i| summary(&format!("V{i:02}"), "p", 1, 0)));
        let top = top_vendors(&rows);
        assert_eq!(top.len(), TOP_VENDORS);
        assert_eq!(top[TOP_VENDORS - 1].0, "V12");
        assert!(top_vendors(&[]).is_empty());
    }

    #[test]
    fn vendor_details_follow_the_catalog_for_vendors_reached_only() {
        use xborder_engine::classify::{embedded, CatalogText};
        let catalog = VendorCatalog::load(
            &CatalogText::load(None, "data/vendors.toml", embedded::VENDORS).unwrap(),
        )
        .unwrap();
        let rows = [
            summary("OpenRouter", "OpenRouter model router", 10, 10),
            summary(
                "Alibaba",
                "Model Studio (DashScope / Bailian) Qwen API",
                5,
                0,
            ),
            summary("OpenRouter", "other", 1, 0),
        ];
        let d = vendor_details(&catalog, &rows);
        // Catalog order (Alibaba is listed before OpenRouter), not the rows' order.
        let names: Vec<&str> = d.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["Alibaba", "OpenRouter"]);
        let alibaba = &d[0];
        assert!(alibaba
            .regions
            .contains(&"dashscope.aliyuncs.com: CN".to_string()));
        assert!(alibaba
            .scopes
            .iter()
            .any(|s| s.starts_with("dashscope.aliyuncs.com: ")));
        assert_eq!(alibaba.products, [1]);
        let router = &d[1];
        assert_eq!(router.products, [0, 2]);
        assert_eq!(router.importer, "OpenRouter");
        assert_eq!(router.relay_questions.len(), 1);
        assert_eq!(router.relay_questions[0].0, "OpenRouter model router");
        // The newest of the vendor's sources.
        assert_eq!(router.source_as_of, "2026-12");
        assert!(router.regions.is_empty() && router.scopes.is_empty());
        assert!(vendor_details(&catalog, &[]).is_empty());
    }
}
