//! The attribution cascade: which method's claim on a flow wins.
//!
//! A flow can be claimed by several methods at once. The strongest evidence wins:
//!
//! 1. `proxy_host`: a proxy or URL-filter log of this very session names the host;
//! 2. `sni` / `http_host`: the client named the host on this connection;
//! 3. without a name on the connection, the first of `dns` (the same client resolved a
//!    vendor name to this address shortly before), `ip_range` (a published vendor range),
//!    `snapshot` (the organisation's resolver, near the flow's time) and `ptr` (reverse
//!    DNS).
//!
//! A name on the connection outranks the weaker methods whether it names a vendor or not:
//! a client that sent `shop.example` in its ClientHello did not talk to OpenAI, even if
//! the address is in OpenAI's range. When the winner and the best weaker method disagree
//! on the product, the disagreement is counted (`attribution_disagreements` in run.json)
//! so an auditor can see how often the methods conflict.
//!
//! The fold looks each method up lazily (the weaker ones only when needed) and asks
//! [`decide`] which claim stands.

use super::Method;
use crate::classify::vendors::ProductId;

/// One method's claim that a flow went to a vendor product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub product: ProductId,
    pub method: Method,
    /// The name the method used, as an id in that method's name table (none for an
    /// `ip_range` flow no DNS answer named).
    pub hostname: Option<u32>,
}

/// A host named on the connection itself (SNI, HTTP Host, or a proxy log of the
/// session), whether or not it belongs to a vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    /// The vendor product the name belongs to; `None` for any other name.
    pub product: Option<ProductId>,
    pub method: Method,
    pub name: u32,
}

/// The claim of the methods that need no name on the connection, strongest first: `dns`,
/// then `ip_range`, `snapshot` and `ptr`, each looked up only if the ones before it made
/// no claim.
pub fn weaker(
    dns: Option<Claim>,
    ip_range: impl FnOnce() -> Option<Claim>,
    snapshot: impl FnOnce() -> Option<Claim>,
    ptr: impl FnOnce() -> Option<Claim>,
) -> Option<Claim> {
    dns.or_else(ip_range).or_else(snapshot).or_else(ptr)
}

/// The outcome of the cascade for one flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The claim that stands; `None` when the flow is not attributed to a vendor.
    pub attribution: Option<Claim>,
    /// `"{winner}_vs_{weaker}"` when a name on the connection and a weaker method named
    /// different products (or the name is no vendor's).
    pub disagreement: Option<String>,
}

/// Decide between a proxy log of the session, a name on the connection and the weaker
/// methods' claim. The first of `proxied` and `named` present decides, vendor or not.
pub fn decide(proxied: Option<Named>, named: Option<Named>, weaker: Option<Claim>) -> Decision {
    let Some(winner) = proxied.or(named) else {
        return Decision {
            attribution: weaker,
            disagreement: None,
        };
    };
    let disagreement = weaker
        .filter(|w| winner.product != Some(w.product))
        .map(|w| format!("{}_vs_{}", winner.method.as_str(), w.method.as_str()));
    Decision {
        attribution: winner.product.map(|product| Claim {
            product,
            method: winner.method,
            hostname: Some(winner.name),
        }),
        disagreement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAI: ProductId = 1;
    const ANTHROPIC: ProductId = 2;

    fn claim(product: ProductId, method: Method, hostname: Option<u32>) -> Claim {
        Claim {
            product,
            method,
            hostname,
        }
    }

    fn named(product: Option<ProductId>, method: Method, name: u32) -> Named {
        Named {
            product,
            method,
            name,
        }
    }

    #[test]
    fn weaker_methods_are_tried_in_order_and_only_when_needed() {
        let dns = claim(OPENAI, Method::Dns, Some(7));
        let range = claim(ANTHROPIC, Method::IpRange, None);
        let got = weaker(
            Some(dns),
            || panic!("ip_range looked up although dns claimed the flow"),
            || panic!("snapshot looked up"),
            || panic!("ptr looked up"),
        );
        assert_eq!(got, Some(dns));
        assert_eq!(
            weaker(None, || Some(range), || panic!("snapshot"), || None),
            Some(range)
        );
        let snap = claim(OPENAI, Method::Snapshot, Some(3));
        assert_eq!(weaker(None, || None, || Some(snap), || None), Some(snap));
        let ptr = claim(OPENAI, Method::Ptr, Some(4));
        assert_eq!(weaker(None, || None, || None, || Some(ptr)), Some(ptr));
        assert_eq!(weaker(None, || None, || None, || None), None);
    }

    #[test]
    fn without_a_name_on_the_connection_the_weaker_claim_stands() {
        let dns = claim(OPENAI, Method::Dns, Some(7));
        let d = decide(None, None, Some(dns));
        assert_eq!(d.attribution, Some(dns));
        assert_eq!(d.disagreement, None);
        assert_eq!(decide(None, None, None).attribution, None);
    }

    #[test]
    fn a_name_on_the_connection_outranks_dns_and_counts_a_disagreement() {
        let dns = claim(OPENAI, Method::Dns, Some(7));
        let sni = named(Some(ANTHROPIC), Method::Sni, 9);
        let d = decide(None, Some(sni), Some(dns));
        assert_eq!(d.attribution, Some(claim(ANTHROPIC, Method::Sni, Some(9))));
        assert_eq!(d.disagreement.as_deref(), Some("sni_vs_dns"));
        // Agreement is not a disagreement.
        let same = named(Some(OPENAI), Method::HttpHost, 9);
        assert_eq!(decide(None, Some(same), Some(dns)).disagreement, None);
    }

    #[test]
    fn a_non_vendor_name_on_the_connection_unattributes_the_flow() {
        // The client asked for shop.example at an address inside a vendor's range.
        let range = claim(OPENAI, Method::IpRange, None);
        let d = decide(None, Some(named(None, Method::Sni, 5)), Some(range));
        assert_eq!(d.attribution, None);
        assert_eq!(d.disagreement.as_deref(), Some("sni_vs_ip_range"));
    }

    #[test]
    fn a_proxy_log_of_the_session_outranks_the_connection_name() {
        let sni = named(Some(OPENAI), Method::Sni, 1);
        let proxy = named(Some(ANTHROPIC), Method::ProxyHost, 2);
        let dns = claim(OPENAI, Method::Dns, Some(3));
        let d = decide(Some(proxy), Some(sni), Some(dns));
        assert_eq!(
            d.attribution,
            Some(claim(ANTHROPIC, Method::ProxyHost, Some(2)))
        );
        assert_eq!(d.disagreement.as_deref(), Some("proxy_host_vs_dns"));
    }
}
