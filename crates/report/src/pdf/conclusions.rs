//! Key figures and the three conclusions of the executive summary.

use super::country_name;
use crate::layout::Layout;
use crate::model::ReportModel;
use crate::tf;
use crate::{group_digits, human_bytes};
use std::collections::{BTreeMap, BTreeSet};
use xborder_engine::run::{Analysis, Catalogs};

pub(super) fn key_figures_and_conclusions(
    l: &mut Layout,
    catalogs: &Catalogs,
    a: &Analysis,
    model: &ReportModel,
) {
    let f = &a.tables.findings;
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
    let mut sentences = Vec::new();
    let mut by_country: BTreeMap<&str, (u64, BTreeMap<&str, u64>)> = BTreeMap::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for r in f {
        if !seen.insert(&r.finding_id) {
            continue;
        }
        let c = by_country.entry(&r.destination_country).or_default();
        c.0 += r.bytes_out;
        *c.1.entry(&r.vendor).or_default() += r.bytes_out;
    }
    if let Some((site, b)) = model.site_bytes.first() {
        sentences.push(tf!(
            l.tr,
            "{} sent {} to AI vendors abroad, the most of any site.",
            site,
            human_bytes(*b)
        ));
    } else {
        sentences
            .push(l.tr.ui("No AI-vendor egress crossed a border under the configured regimes."));
    }
    if let Some((country, (b, vendors))) = by_country.iter().max_by_key(|(_, v)| v.0) {
        let top = vendors
            .iter()
            .max_by_key(|(_, b)| **b)
            .map(|(v, _)| *v)
            .unwrap_or("");
        let name = country_name(&l.tr, catalogs, country).to_string();
        sentences.push(tf!(
            l.tr,
            "{} received the most cross-border bytes from this organisation ({}), mainly at {}.",
            name,
            human_bytes(*b),
            top
        ));
    }
    let banned: Vec<_> = a.org.summary.iter().filter(|r| r.held == "no").collect();
    if let Some(policy) = &catalogs.policy {
        for rule in policy
            .rules
            .iter()
            .filter(|r| r.verdict == xborder_engine::classify::policy::Verdict::Banned)
        {
            let n = banned.iter().filter(|r| r.rule_id == rule.id).count();
            if n > 0 {
                let products: BTreeSet<&str> = a
                    .org
                    .violations
                    .iter()
                    .filter(|v| v.rule_id == rule.id)
                    .map(|v| v.product.as_str())
                    .collect();
                let list = products.into_iter().collect::<Vec<_>>().join(", ");
                sentences.push(tf!(
                    l.tr,
                    "{} was used from {} site(s) after its ban date ({}).",
                    list,
                    n,
                    rule.effective_from
                ));
            }
        }
    }
    if sentences.len() < 3 {
        let total: u64 = a.tables.summary_by_vendor.iter().map(|r| r.bytes_out).sum();
        let cross: u64 = a
            .tables
            .summary_by_vendor
            .iter()
            .map(|r| r.cross_border_bytes_out)
            .sum();
        if total > 0 {
            let pct = format!(
                "{:.0}%",
                (total - cross.min(total)) as f64 * 100.0 / total as f64
            );
            sentences.push(tf!(l.tr, "{} of AI-vendor egress stayed within its source country or came from sites under no configured regime.", pct));
        }
    }
    for sentence in sentences.iter().take(3) {
        l.bullet(sentence, 9.5);
    }
    l.y -= 2.0;
}
