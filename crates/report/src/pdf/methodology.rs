//! Methodology and limitations.

use super::regime_name;
use crate::i18n::Lang;
use crate::layout::{Layout, MUTED};
use crate::model::shown_regimes;
use crate::tf;
use xborder_engine::run::{AnalyzeOptions, Catalogs};

pub(super) fn methodology(l: &mut Layout, opts: &AnalyzeOptions, catalogs: &Catalogs) {
    l.heading("Methodology and limitations");
    l.subheading("Egress");
    l.paragraph("A flow is egress when its originator lies in a configured site (longest prefix wins) and its destination is not a special-purpose address (RFC 6890: private, loopback, link-local, CGNAT, documentation, multicast, unique-local and similar). Flows opened from outside are inbound, not egress. Egress from a local address in no site is reported as unknown_site and judged under no regime.", 9.0);
    l.subheading("Attribution");
    l.paragraph(&tf!(l.tr, "dns: the query name of the most recent DNS response to the same client whose answers contain the flow's destination, seen at or before the flow started. The answer counts for its TTL plus {} s of grace, and never longer than {} s. The hostname is the name queried, not a CNAME target. An answer seen by another client never attributes a flow, because CDN addresses are shared by unrelated sites. ip_range: otherwise, an address in a range the vendor publishes as its own. none: otherwise.",
        opts.dns_window.ttl_grace_s, opts.dns_window.max_age_s
    ), 9.0);
    if !catalogs.snapshots.files.is_empty() || catalogs.ptr.network.is_some() {
        l.paragraph(&tf!(l.tr, "Weaker evidence, used only when dns and ip_range give nothing. snapshot: the organisation's own resolver answered this address for a vendor host in a dated snapshot taken by `xborder resolve` ({} file(s)), at most {} s before or after the flow; the client's own DNS answer was not seen, and CDN addresses are shared and rotate. ptr: the address's reverse DNS (PTR) name, looked up during this run, matches a vendor host; PTR names are set by the address owner and are not proof of the name the client used. Reverse look-ups {}.",
            catalogs.snapshots.files.len(),
            opts.snapshot_max_distance_s,
            if catalogs.ptr.network.is_some() { "were made (see run.json network)" } else { "were not made" }
        ), 9.0);
    }
    l.subheading("Geolocation");
    l.paragraph(&tf!(l.tr, "Destination countries come from the MaxMind-format database {} ({}, built {}). Each distinct address is looked up once. Anycast and CDN addresses are placed where the database registers them, which may differ from where the vendor processes data; the vendor's headquarters country is reported separately. Addresses absent from the database are reported as ZZ and treated as cross-border (undetermined) rather than hidden.",
        catalogs.geoip.identity.path, catalogs.geoip.identity.database_type, catalogs.geoip.identity.build_date
    ), 9.0);
    l.subheading("Regime rules");
    for r in shown_regimes(catalogs) {
        // The English report keeps the catalog's English name here; others name the law
        // in their language (the official title of PRC law in Chinese).
        let name = match l.tr.lang {
            Lang::En => r.name.clone(),
            _ => regime_name(&l.tr, r),
        };
        let obligation = l.tr.s(&r.obligation);
        l.paragraph(&tf!(l.tr, "{} - {}: {}", r.id, name, obligation), 8.5);
        let citation = l.tr.s(&r.citation);
        l.paragraph_indented(&tf!(l.tr, "Citation: {}", citation), 8.0, 4.0, MUTED);
    }
    l.subheading("Limitations");
    for s in [
        "Network logs show that bytes left, not what they contained. Whether a flow carried personal information, important data or source code needs content classification.",
        "DNS attribution proves that the same client resolved a vendor name to the destination shortly before; it cannot rule out that another name on a shared CDN address was used. Encrypted DNS (DoH/DoT) bypasses DNS logs and leaves such flows to ip_range or none.",
        "snapshot and ptr attributions are weaker than dns and ip_range: resolution time differs from flow time, and a shared address may serve other names. The data quality section shows how many flows each method attributed.",
        "Traffic through a web proxy is attributed to the laptop behind it only when the proxy's own logs are given (proxy_host: the host the proxy logged for the client's request); the proxy's flows in hours its logs cover are not counted again, and those in hours they do not cover are reported as the proxy's egress (data quality: proxy egress without proxy logs). Without TLS interception a proxy logs only the host of a CONNECT, not the path; requests without a logged server address have an unknown destination country (ZZ). Traffic through a VPN is attributed to the VPN concentrator.",
        "sni and http_host attributions rest on the name the client itself sent on the connection (TLS server name, HTTP Host); they outrank DNS, and where they contradict a weaker method the data quality section counts it. Encrypted Client Hello hides the real server name.",
        "Byte counts follow each input format (docs/formats.md): payload bytes from the originator for Zeek, bytes to the server for Suricata; one-direction exports (NetFlow, VPC) are turned round so return traffic counts as received; Cisco ASA totals cover both directions and are reported as sent. Unset counts are treated as 0 and counted in the data quality section.",
    ] {
        l.bullet(s, 8.5);
    }
    l.y -= 2.0;
}
