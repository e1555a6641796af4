//! The regime → site → vendor → finding drill-down, with each level's figures.

use std::collections::{BTreeMap, BTreeSet};

use super::{figures, largest_first, Figures};
use xborder_engine::aggregate::FindingRow;

/// One vendor reached from one site under one regime, with its findings.
#[derive(Debug, Clone)]
pub struct VendorNode {
    pub vendor: String,
    pub figures: Figures,
    /// Indexes into `Analysis::tables.findings`.
    pub findings: Vec<usize>,
    /// The product of each finding, in the same order.
    pub products: Vec<String>,
}

/// One site under one regime.
#[derive(Debug, Clone)]
pub struct SiteNode {
    pub site: String,
    pub figures: Figures,
    pub vendors: Vec<VendorNode>,
}

/// One regime governing a configured site, with its drill-down.
#[derive(Debug, Clone)]
pub struct RegimeNode {
    pub id: String,
    pub figures: Figures,
    /// The vendor with the most bytes out under this regime (a tie goes to the first
    /// name).
    pub top_vendor: Option<String>,
    pub vendor_count: usize,
    /// Sites in name order.
    pub sites: Vec<SiteNode>,
    /// Destination country codes, each once, in code order.
    pub destinations: Vec<String>,
    /// Indexes into `Analysis::tables.findings` of this regime's rows, in table order.
    pub findings: Vec<usize>,
}

/// One node per regime id, in the order given; a regime without findings has no sites.
pub(super) fn regime_nodes(f: &[FindingRow], regime_ids: &[String]) -> Vec<RegimeNode> {
    regime_ids
        .iter()
        .map(|id| {
            let idx: Vec<usize> = (0..f.len()).filter(|&i| f[i].regime == *id).collect();
            let mut by_site: BTreeMap<&str, BTreeMap<&str, Vec<usize>>> = BTreeMap::new();
            for &i in &idx {
                by_site
                    .entry(&f[i].source_site)
                    .or_default()
                    .entry(&f[i].vendor)
                    .or_default()
                    .push(i);
            }
            let mut vendor_bytes: BTreeMap<String, u64> = BTreeMap::new();
            let sites = by_site
                .into_iter()
                .map(|(site, vendors)| {
                    let vendors: Vec<VendorNode> = vendors
                        .into_iter()
                        .map(|(vendor, findings)| {
                            let figures = figures(findings.iter().map(|&i| &f[i]));
                            let b = vendor_bytes.entry(vendor.to_string()).or_default();
                            *b = b.saturating_add(figures.bytes_out);
                            VendorNode {
                                vendor: vendor.to_string(),
                                figures,
                                products: findings.iter().map(|&i| f[i].product.clone()).collect(),
                                findings,
                            }
                        })
                        .collect();
                    let rows = vendors
                        .iter()
                        .flat_map(|v| v.findings.iter().map(|&i| &f[i]));
                    SiteNode {
                        site: site.to_string(),
                        figures: figures(rows),
                        vendors,
                    }
                })
                .collect();
            let destinations: BTreeSet<&str> = idx
                .iter()
                .map(|&i| f[i].destination_country.as_str())
                .collect();
            RegimeNode {
                id: id.clone(),
                figures: figures(idx.iter().map(|&i| &f[i])),
                vendor_count: vendor_bytes.len(),
                top_vendor: largest_first(vendor_bytes)
                    .into_iter()
                    .next()
                    .map(|(v, _)| v),
                sites,
                destinations: destinations.into_iter().map(str::to_string).collect(),
                findings: idx,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_rows::{finding, tables};
    use super::*;

    fn nodes() -> Vec<RegimeNode> {
        regime_nodes(
            &tables().findings,
            &["CN-PIPL".into(), "CN-DSL".into(), "EU-GDPR".into()],
        )
    }

    #[test]
    fn each_regime_counts_its_own_rows() {
        let n = nodes();
        assert_eq!(
            n[0].figures,
            Figures {
                flows: 17,
                bytes_out: 1700
            }
        );
        assert_eq!(
            n[1].figures,
            Figures {
                flows: 10,
                bytes_out: 1000
            }
        );
        assert_eq!(n[0].destinations, ["SG", "US"]);
        assert_eq!(n[0].findings, [0, 2, 3]);
        // A regime without findings: zeros, no sites, no top vendor.
        assert_eq!(n[2].figures, Figures::default());
        assert!(n[2].sites.is_empty() && n[2].top_vendor.is_none());
        assert_eq!(n[2].vendor_count, 0);
    }

    #[test]
    fn regimes_drill_down_to_sites_vendors_and_findings() {
        let n = nodes();
        let pipl = &n[0];
        assert_eq!(pipl.top_vendor.as_deref(), Some("Anthropic"));
        assert_eq!(pipl.vendor_count, 2);
        let sites: Vec<&str> = pipl.sites.iter().map(|s| s.site.as_str()).collect();
        assert_eq!(sites, ["Beijing", "Shanghai"]);
        let shanghai = &pipl.sites[1];
        assert_eq!(
            shanghai.figures,
            Figures {
                flows: 15,
                bytes_out: 1500
            }
        );
        assert_eq!(shanghai.vendors[0].vendor, "Anthropic");
        assert_eq!(shanghai.vendors[0].findings, vec![0]);
        assert_eq!(shanghai.vendors[0].products, ["Anthropic API"]);
        assert_eq!(shanghai.vendors[1].findings, vec![2]);
    }

    #[test]
    fn a_tie_for_top_vendor_goes_to_the_first_name() {
        let f = [
            finding("R", "S", "Zeta", "g1", 1, 500),
            finding("R", "S", "Alpha", "g2", 1, 500),
        ];
        let n = regime_nodes(&f, &["R".into()]);
        assert_eq!(n[0].top_vendor.as_deref(), Some("Alpha"));
    }
}
