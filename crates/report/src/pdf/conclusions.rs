//! Key figures and the conclusions of the executive summary, worded from the model.

use super::country_name;
use crate::layout::Layout;
use crate::model::{Conclusion, ReportModel};
use crate::tf;
use crate::{group_digits, human_bytes};
use xborder_engine::run::Catalogs;

pub(super) fn key_figures_and_conclusions(
    l: &mut Layout,
    catalogs: &Catalogs,
    model: &ReportModel,
) {
    let t = &model.totals;
    l.subheading("Key figures");
    l.key_figures(&[
        (
            "Cross-border AI flows".into(),
            group_digits(t.cross_border.flows),
        ),
        (
            "Cross-border bytes out".into(),
            human_bytes(t.cross_border.bytes_out),
        ),
        ("AI vendors reached".into(), t.vendors.to_string()),
        ("Sites".into(), t.sites.to_string()),
    ]);
    l.subheading("Conclusions");
    for c in &model.conclusions {
        let sentence = match c {
            Conclusion::TopSite { site, bytes_out } => tf!(
                l.tr,
                "{} sent {} to AI vendors abroad, the most of any site.",
                site,
                human_bytes(*bytes_out)
            ),
            Conclusion::NoCrossBorder => l
                .tr
                .ui("No AI-vendor egress crossed a border under the configured regimes."),
            Conclusion::TopCountry {
                country,
                bytes_out,
                vendor,
            } => tf!(
                l.tr,
                "{} received the most cross-border bytes from this organisation ({}), mainly at {}.",
                country_name(&l.tr, catalogs, country),
                human_bytes(*bytes_out),
                vendor
            ),
            Conclusion::BanBroken {
                products,
                sites,
                effective_from,
            } => tf!(
                l.tr,
                "{} was used from {} site(s) after its ban date ({}).",
                products.join(", "),
                sites,
                effective_from
            ),
            Conclusion::StayedWithin { percent } => tf!(
                l.tr,
                "{} of AI-vendor egress stayed within its source country or came from sites under no configured regime.",
                format!("{percent:.0}%")
            ),
        };
        l.bullet(&sentence, 9.5);
    }
    l.y -= 2.0;
}
