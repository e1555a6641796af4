//! The charts of the executive summary: bytes by regime and destination country, daily
//! egress with the first ban date, and the site × vendor table.

use super::country_name;
use crate::layout::Layout;
use crate::model::{ReportModel, CHART_BARS};
use crate::tf;
use crate::{group_digits, human_bytes};
use xborder_engine::run::Catalogs;

pub(super) fn charts(l: &mut Layout, catalogs: &Catalogs, model: &ReportModel) {
    let top = |v: &[(String, u64)]| v.iter().take(CHART_BARS).cloned().collect::<Vec<_>>();
    l.bar_chart(
        "Bytes out by regime (cross-border AI egress)",
        &top(&model.regime_bytes),
        &|v| human_bytes(v),
    );
    let countries: Vec<(String, u64)> = model
        .countries
        .iter()
        .map(|(code, b)| {
            (
                format!("{code} {}", country_name(&l.tr, catalogs, code)),
                *b,
            )
        })
        .collect();
    l.bar_chart(
        "Destination countries of cross-border AI egress (bytes out)",
        &top(&countries),
        &|v| human_bytes(v),
    );
    let points: Vec<(i32, u64)> = model
        .daily
        .iter()
        .map(|(d, flows, _)| (*d, *flows))
        .collect();
    let marker = model
        .bans
        .first()
        .map(|b| (b.day, tf!(l.tr, "ban from {}", b.effective_from)));
    l.time_bars(
        "Daily AI-vendor egress (flows)",
        &points,
        marker.as_ref().map(|(d, s)| (*d, s.as_str())),
        false,
        &|v| group_digits(v),
    );
    let h = &model.heat;
    let mut cols = h.vendors.clone();
    let mut values = h.values.clone();
    if h.hidden_vendors > 0 {
        cols.push(l.tr.ui("others"));
        for (row, other) in values.iter_mut().zip(&h.others) {
            row.push(*other);
        }
    }
    l.heat_table("Site x vendor: bytes out", &h.sites, &cols, &values, &|v| {
        human_bytes(v)
    });
    if h.hidden_vendors > 0 {
        l.paragraph(
            &tf!(
                l.tr,
                "The {} vendors with the most bytes out have a column each; the other {} are summed under \"others\" (summary_by_vendor.csv lists every vendor).",
                h.vendors.len(),
                h.hidden_vendors
            ),
            8.0,
        );
    }
}
