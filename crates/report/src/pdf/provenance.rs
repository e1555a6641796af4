//! Provenance: the inputs, GeoIP database and catalogs with their SHA-256.

use super::basename;
use crate::layout::{ColumnSpec, Layout};
use crate::tf;
use crate::{group_digits, RunContext};
use xborder_engine::run::{Analysis, Catalogs};

pub(super) fn provenance(l: &mut Layout, catalogs: &Catalogs, a: &Analysis, ctx: &RunContext) {
    l.heading("Provenance");
    l.subheading("Inputs");
    let rows: Vec<Vec<String>> = a
        .files
        .iter()
        .map(|f| {
            vec![
                basename(&f.path).to_string(),
                group_digits(f.size_bytes),
                f.sha256.clone(),
            ]
        })
        .collect();
    l.table(
        &[
            ColumnSpec::left("File", 30.0),
            ColumnSpec::right("Bytes", 14.0),
            ColumnSpec::left("SHA-256", 100.0),
        ],
        &rows,
        7.0,
    );
    l.subheading("GeoIP database");
    let g = &a.geoip;
    l.key_values(
        &[
            ("Path".into(), g.path.clone()),
            ("Type".into(), g.database_type.clone()),
            (
                "Build date".into(),
                tf!(l.tr, "{} (epoch {})", g.build_date, g.build_epoch),
            ),
            ("SHA-256".into(), g.sha256.clone()),
        ],
        8.0,
    );
    l.subheading("Catalogs");
    let mut rows: Vec<(String, String)> = Vec::new();
    // Each catalog's age on the report date, as run.json records it.
    let (ages, warnings) = crate::catalog_ages(&a.catalogs, ctx);
    for (c, age) in a.catalogs.iter().zip(&ages) {
        rows.push((
            c.kind.clone(),
            tf!(
                l.tr,
                "{}, version {} (as of {})",
                c.path,
                c.version,
                c.as_of
            ),
        ));
        rows.push((String::new(), format!("SHA-256 {}", c.sha256)));
        if let Some(days) = age.age_days {
            rows.push((
                String::new(),
                tf!(l.tr, "{} days old on the report date", days),
            ));
        }
    }
    for w in warnings {
        rows.push((l.tr.s("Warning").to_string(), w));
    }
    if let (Some(p), Some(h)) = (&catalogs.sites.source, &catalogs.sites.sha256) {
        rows.push(("sites".into(), p.clone()));
        rows.push((String::new(), format!("SHA-256 {h}")));
    }
    l.key_values(&rows, 8.0);
    super::assurance::verdict_inputs(l, a);
}
