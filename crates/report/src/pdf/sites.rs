//! Findings by site: each configured site, its AI egress and its findings.

use super::country_name;
use crate::layout::{ColumnSpec, Layout};
use crate::model::ReportModel;
use crate::tf;
use crate::{group_digits, human_bytes};
use xborder_engine::run::{Analysis, Catalogs};

pub(super) fn site_sections(
    l: &mut Layout,
    catalogs: &Catalogs,
    a: &Analysis,
    model: &ReportModel,
) {
    l.heading("Findings by site");
    for site in &model.sites {
        let country = country_name(&l.tr, catalogs, &site.country);
        l.subheading(&tf!(l.tr, "{} ({})", site.site, country));
        l.paragraph(
            &tf!(
                l.tr,
                "Site {} ({}): {} AI-vendor flows, {} sent, of which {} flows were cross-border.",
                site.site,
                site.country,
                group_digits(site.ai.flows),
                human_bytes(site.ai.bytes_out),
                group_digits(site.cross_border_flows)
            ),
            9.0,
        );
        if site.findings.is_empty() {
            l.paragraph("No cross-border AI egress from this site.", 8.5);
            continue;
        }
        let table: Vec<Vec<String>> = site
            .findings
            .iter()
            .map(|&i| &a.tables.findings[i])
            .map(|f| {
                vec![
                    f.regime.clone(),
                    f.destination_country.clone(),
                    f.vendor.clone(),
                    f.product.clone(),
                    f.attribution.clone(),
                    group_digits(f.flows),
                    human_bytes(f.bytes_out),
                ]
            })
            .collect();
        l.table(
            &[
                ColumnSpec::left("Regime", 12.0),
                ColumnSpec::left("Dest", 10.0),
                ColumnSpec::left("Vendor", 20.0),
                ColumnSpec::left("Product", 30.0),
                ColumnSpec::left("Method", 12.0),
                ColumnSpec::right("Flows", 12.0),
                ColumnSpec::right("Bytes out", 16.0),
            ],
            &table,
            7.5,
        );
    }
}
