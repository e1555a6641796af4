//! Findings by site: each configured site, its AI egress and its findings.

use super::country_name;
use crate::layout::Layout;
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
        super::finding_table(l, a, &site.findings, ("Regime", 12.0), |f| f.regime.clone());
    }
}
