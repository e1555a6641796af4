//! The regime rows of the egress tables: each distinct (source country, destination
//! country, vendor, day, onward scope) is put to the regime decision
//! ([`crate::classify::onward::decide`]) once.

use std::collections::{BTreeMap, BTreeSet};

use super::{EgressRow, RegimeRow};
use crate::classify::regimes::Regimes;
use crate::classify::vendors::VendorCatalog;

/// Evaluate regimes once per distinct (source country, destination country, vendor, day).
pub fn regime_rows(
    vendors: &VendorCatalog,
    regimes: &Regimes,
    ai: &[EgressRow],
    other: &[EgressRow],
) -> Vec<RegimeRow> {
    let mut by_name: BTreeMap<&str, crate::classify::regimes::Recipient<'_>> = BTreeMap::new();
    for v in &vendors.vendors {
        by_name.insert(
            v.name.as_str(),
            crate::classify::regimes::Recipient::from(v),
        );
    }
    let mut combos: BTreeSet<(&str, &str, &str, i32, &str)> = BTreeSet::new();
    for r in ai.iter().chain(other) {
        if r.source_country.is_empty() {
            continue;
        }
        combos.insert((
            &r.source_country,
            &r.destination_country,
            &r.vendor,
            r.day,
            &r.onward,
        ));
    }
    let mut out = Vec::new();
    for (sc, dc, vendor, day, onward) in combos {
        let (recipient, exposure) = if vendor.is_empty() {
            (None, crate::classify::onward::Exposure::default())
        } else {
            (
                by_name.get(vendor).copied(),
                crate::classify::onward::exposure_from_key(vendors, vendor, onward),
            )
        };
        let findings = crate::classify::onward::decide(
            regimes,
            sc,
            dc,
            xborder_model::period::day_date(day),
            recipient,
            &exposure,
        );
        for f in findings {
            out.push(RegimeRow {
                source_country: sc.to_string(),
                destination_country: dc.to_string(),
                vendor: vendor.to_string(),
                day,
                onward: onward.to_string(),
                regime: f.regime,
                rule_id: f.rule_id,
                citation: f.citation,
                transfer_basis: f.transfer_basis,
            });
        }
    }
    out
}
