//! Data quality: every record accounted for, per file and per kind of flow.

use super::basename;
use crate::group_digits;
use crate::layout::{ColumnSpec, Layout};
use crate::model::DataQuality;
use crate::tf;
use xborder_engine::run::Analysis;

pub(super) fn data_quality(l: &mut Layout, a: &Analysis, q: &DataQuality) {
    l.heading("Data quality");
    l.paragraph("Every record read is accounted for: read = accepted + rejected + duplicate + outside period + filtered. A duplicate flow is the same connection seen again (same connection id, endpoints, protocol and start time); a record that reuses a connection id for a different connection is a conflict, counted as egress like the other and listed in conflicts.csv, so a forged export can never hide real traffic. Duplicate DNS records are repeated DNS transactions. Filtered records were read and deliberately not used (for example AWS NODATA rows or Suricata alert events), each with a reason in run.json; rejects are listed in rejects.csv with file, line, field and reason. Files inside input directories that no reader recognises are listed as skipped.", 9.0);
    let methods: Vec<String> = q
        .ai_by_method
        .iter()
        .map(|m| {
            format!(
                "{} {}{}",
                m.method,
                group_digits(m.flows),
                if m.weaker { " (weaker evidence)" } else { "" }
            )
        })
        .collect();
    l.paragraph(
        &tf!(
            l.tr,
            "AI-vendor egress flows by attribution method: {}.",
            if methods.is_empty() {
                "none".to_string()
            } else {
                methods.join(", ")
            }
        ),
        9.0,
    );
    if !a.totals.flows.attribution_disagreements.is_empty() {
        let d: Vec<String> = a
            .totals
            .flows
            .attribution_disagreements
            .iter()
            .map(|(k, n)| format!("{k} {}", group_digits(*n)))
            .collect();
        l.paragraph(
            &tf!(
                l.tr,
                "Flows where a stronger method overruled a weaker one that named another vendor or none (stronger_vs_weaker): {}.",
                d.join(", ")
            ),
            9.0,
        );
    }
    let rows: Vec<Vec<String>> = a
        .files
        .iter()
        .map(|f| {
            let reasons = f
                .counts
                .rejected_by_reason
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .chain(
                    f.counts
                        .filtered_by_reason
                        .iter()
                        .map(|(k, v)| format!("{k} {v} (filtered)")),
                )
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                basename(&f.path).to_string(),
                f.format.clone(),
                group_digits(f.counts.read),
                group_digits(f.counts.accepted),
                group_digits(f.counts.rejected),
                group_digits(f.counts.duplicate),
                group_digits(f.counts.outside_period),
                group_digits(f.counts.filtered),
                reasons,
            ]
        })
        .collect();
    l.table(
        &[
            ColumnSpec::left("File", 22.0),
            ColumnSpec::left("Format", 16.0),
            ColumnSpec::right("Read", 10.0),
            ColumnSpec::right("Accepted", 11.0),
            ColumnSpec::right("Rejected", 10.0),
            ColumnSpec::right("Dup", 7.0),
            ColumnSpec::right("Outside", 8.0),
            ColumnSpec::right("Filtered", 8.0),
            ColumnSpec::left("Reject reasons", 19.0),
        ],
        &rows,
        7.5,
    );
    let f = &a.totals.flows;
    l.key_values(
        &[
            ("Egress from sites".into(), group_digits(f.egress)),
            (
                "Egress, unknown site".into(),
                group_digits(f.egress_unknown_site),
            ),
            ("Internal".into(), group_digits(f.internal)),
            ("Inbound".into(), group_digits(f.inbound)),
            ("Byte counts unset".into(), group_digits(f.bytes_unset)),
            (
                "Connection-id conflicts (conflicts.csv)".into(),
                group_digits(f.uid_conflicts),
            ),
            (
                "Return-direction records".into(),
                group_digits(f.return_direction),
            ),
            (
                "Byte totals of both directions".into(),
                group_digits(f.bytes_combined),
            ),
            (
                "Connections with a server name".into(),
                tf!(
                    l.tr,
                    "{} ({} kept for attribution)",
                    group_digits(a.hostnames.connections_named),
                    group_digits(a.hostnames.connections_kept)
                ),
            ),
            (
                "DNS answers kept".into(),
                tf!(
                    l.tr,
                    "{} of {} address answers ({} vendor addresses)",
                    group_digits(a.dns.answers_kept),
                    group_digits(a.dns.address_answers),
                    group_digits(a.dns.vendor_addresses)
                ),
            ),
        ],
        9.0,
    );
    let p = &a.totals.proxy;
    if p.requests > 0 || !p.proxies.is_empty() {
        l.key_values(
            &[
                (
                    "Proxy requests".into(),
                    tf!(
                        l.tr,
                        "{} allowed, {} blocked ({} to AI vendors), {} other",
                        group_digits(p.allowed),
                        group_digits(p.blocked),
                        group_digits(p.blocked_ai_vendor),
                        group_digits(p.other)
                    ),
                ),
                (
                    "Flows carried by proxy logs".into(),
                    group_digits(p.flows_carried_by_proxy_logs),
                ),
                (
                    "Proxy egress without proxy logs".into(),
                    group_digits(p.proxy_egress_without_proxy_logs),
                ),
                (
                    "Proxy requests without a server address".into(),
                    group_digits(p.without_server_address),
                ),
                ("Proxies".into(), p.proxies.join(", ")),
            ],
            9.0,
        );
        if p.proxy_egress_without_proxy_logs > 0 {
            l.paragraph("Proxy egress without proxy logs: flows from a proxy in hours its own log does not cover. They are counted as the proxy's egress (its site, no person or department) because no request in the proxy logs accounts for them; supply the proxy's logs for those hours to attribute them.", 9.0);
        }
    }
}
