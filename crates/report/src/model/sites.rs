//! Each configured site's AI egress, domestic and cross-border.

use super::{figures, Figures};
use xborder_engine::aggregate::Tables;

/// AI-vendor egress of one configured site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFigures {
    pub site: String,
    pub country: String,
    /// All AI-vendor egress from the site (domestic and cross-border).
    pub ai: Figures,
    /// Cross-border AI flows, each egress group once.
    pub cross_border_flows: u64,
    /// Indexes into `Analysis::tables.findings` of the site's rows, in table order.
    pub findings: Vec<usize>,
}

/// One entry per configured site (name, country), in the order given.
pub(super) fn site_figures(t: &Tables, site_names: &[(String, String)]) -> Vec<SiteFigures> {
    let f = &t.findings;
    site_names
        .iter()
        .map(|(name, country)| {
            let ai = t.site_vendor_bytes.iter().filter(|x| x.0 == *name).fold(
                Figures::default(),
                |acc, x| Figures {
                    flows: acc.flows.saturating_add(x.2),
                    bytes_out: acc.bytes_out.saturating_add(x.3),
                },
            );
            let findings: Vec<usize> = (0..f.len())
                .filter(|&i| f[i].source_site == *name)
                .collect();
            SiteFigures {
                site: name.clone(),
                country: country.clone(),
                ai,
                cross_border_flows: figures(findings.iter().map(|&i| &f[i])).flows,
                findings,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_rows::tables;
    use super::*;

    #[test]
    fn sites_show_all_ai_egress_and_their_cross_border_share() {
        let s = site_figures(
            &tables(),
            &[
                ("Shanghai".into(), "CN".into()),
                ("Beijing".into(), "CN".into()),
                ("Idle".into(), "CN".into()),
            ],
        );
        assert_eq!(
            s[0],
            SiteFigures {
                site: "Shanghai".into(),
                country: "CN".into(),
                ai: Figures {
                    flows: 17,
                    bytes_out: 1600
                },
                // g1 once although it is a finding under PIPL and DSL.
                cross_border_flows: 15,
                findings: vec![0, 1, 2],
            }
        );
        assert_eq!(s[1].findings, [3]);
        // A site without egress: zeros and no findings.
        assert_eq!(s[2].ai, Figures::default());
        assert_eq!((s[2].cross_border_flows, s[2].findings.len()), (0, 0));
    }
}
