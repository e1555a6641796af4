//! Transfers that the destination address alone does not show.
//!
//! GeoIP says where the first server is, not where the data ends up nor who receives it.
//! Three facts from the vendor catalog can make a flow a transfer (or a further transfer)
//! whatever GeoIP says:
//!
//! - the **importer**: under EDPB Guidelines 05/2021 a transfer depends on the recipient
//!   being established in a third country, so an EU edge of a non-EU vendor is still a
//!   transfer to that vendor's country;
//! - the **processing scope**: a host whose deployment scope may run inference in the
//!   Chinese mainland (Alibaba Model Studio's "global" scope in Frankfurt, Virginia and
//!   Hong Kong) is a possible onward transfer to CN;
//! - **relays** (`gateway` products): a relay forwards requests to upstream providers it
//!   does not name per request, so every flow to one is a potential onward transfer to an
//!   undetermined country, with the question to put to the relay.
//!
//! [`decide`] folds these into the regime verdicts: one finding per regime at most, so
//! totals per regime still count each flow once.

use chrono::NaiveDate;

use super::countries::UNKNOWN_COUNTRY;
use super::regimes::{Finding, Recipient, Regimes};
use super::vendors::{ProcessingScope, ProductId, VendorCatalog};

/// The recipient of the data: entity name and country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Importer<'a> {
    pub entity: &'a str,
    pub country: &'a str,
}

/// A relay a flow went to, and what to ask it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relay<'a> {
    pub name: &'a str,
    pub question: &'a str,
}

/// What the catalog says about one flow group beyond its destination address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exposure<'a> {
    pub importer: Option<Importer<'a>>,
    /// The processing scope and the host it was documented for.
    pub scope: Option<(ProcessingScope, &'a str)>,
    pub relay: Option<Relay<'a>>,
}

/// One country the data may reach beyond the located address, and why.
struct Candidate {
    country: String,
    reason: String,
    /// The destination is unknown (relays): the regime's basis text for an unlocated
    /// destination would wrongly say geolocation failed, so the reason stands alone.
    undetermined: bool,
}

impl Exposure<'_> {
    fn candidates(&self, located: &str) -> Vec<Candidate> {
        let mut out = Vec::new();
        if let Some(i) = self.importer {
            // An importer of unknown country (a relay whose operator was not verified)
            // adds nothing the relay reason does not already say.
            if i.country != located && i.country != UNKNOWN_COUNTRY {
                out.push(Candidate {
                    country: i.country.to_string(),
                    reason: format!(
                        "importer {} established in {} (EDPB Guidelines 05/2021: an address in {located} does not end a transfer to an importer outside it)",
                        i.entity, i.country
                    ),
                    undetermined: false,
                });
            }
        }
        if let Some((scope, host)) = self.scope {
            let reason = match scope {
                ProcessingScope::GlobalInclCn => Some(format!(
                    "possible onward transfer to CN: {host} uses a global deployment scope that may run inference on nodes in the Chinese mainland"
                )),
                ProcessingScope::MainlandCn => Some(format!(
                    "onward transfer to CN: {host} runs inference in the Chinese mainland"
                )),
                ProcessingScope::InternationalExclCn => None,
            };
            if let Some(reason) = reason {
                if located != "CN" {
                    out.push(Candidate {
                        country: "CN".into(),
                        reason,
                        undetermined: false,
                    });
                }
            }
        }
        if let Some(r) = self.relay {
            out.push(Candidate {
                country: UNKNOWN_COUNTRY.into(),
                reason: format!(
                    "potential onward transfer: {} relays requests to upstream model providers in undetermined countries; ask the relay: {}",
                    r.name, r.question
                ),
                undetermined: true,
            });
        }
        out
    }
}

/// The regime verdicts for a flow group from `source_country` whose destination address
/// is located in `located`, with what the catalog says about importer, processing scope
/// and relays. A regime that already finds a transfer keeps its basis, with the further
/// exposure appended (`; also …`); a regime that finds none from the address alone gets a
/// finding whose basis starts with the reason.
pub fn decide(
    regimes: &Regimes,
    source_country: &str,
    located: &str,
    day: NaiveDate,
    recipient: Option<Recipient<'_>>,
    exposure: &Exposure<'_>,
) -> Vec<Finding> {
    let direct = regimes.evaluate(source_country, located, day, recipient);
    let candidates = exposure.candidates(located);
    if candidates.is_empty() {
        return direct;
    }
    let further: Vec<(&Candidate, Vec<Finding>)> = candidates
        .iter()
        .map(|c| {
            (
                c,
                regimes.evaluate(source_country, &c.country, day, recipient),
            )
        })
        .collect();
    let mut out = Vec::new();
    for regime in &regimes.regimes {
        let own = direct.iter().find(|f| f.regime == regime.id);
        let extra: Vec<String> = further
            .iter()
            .filter_map(|(c, findings)| {
                let f = findings.iter().find(|f| f.regime == regime.id)?;
                Some(if c.undetermined {
                    c.reason.clone()
                } else {
                    format!("{}: {}", c.reason, f.transfer_basis)
                })
            })
            .collect();
        match (own, extra.is_empty()) {
            (Some(f), true) => out.push(f.clone()),
            (Some(f), false) => out.push(Finding {
                transfer_basis: format!("{}; also {}", f.transfer_basis, extra.join("; also ")),
                ..f.clone()
            }),
            (None, false) => out.push(Finding {
                regime: regime.id.clone(),
                rule_id: regime.rule_id.clone(),
                citation: regime.citation.clone(),
                transfer_basis: extra.join("; "),
            }),
            (None, true) => {}
        }
    }
    out
}

/// The key that tells flow groups with different exposures apart in the tables: the
/// processing scope with its host, and the relay product (empty when neither applies; the
/// importer is the vendor's and needs no key).
pub fn exposure_key(catalog: &VendorCatalog, product: ProductId, host: &str) -> String {
    let mut parts = Vec::new();
    if !host.is_empty() {
        if let Some(scope) = catalog.processing_for(product, host) {
            parts.push(format!("scope={}@{host}", scope.as_str()));
        }
    }
    if catalog.product(product).category == "gateway" {
        parts.push(format!("relay={product}"));
    }
    parts.join(";")
}

/// The exposure of a flow group to `vendor_name`'s product, from the vendor record and
/// an [`exposure_key`].
pub fn exposure_from_key<'a>(
    catalog: &'a VendorCatalog,
    vendor_name: &str,
    key: &'a str,
) -> Exposure<'a> {
    let importer = catalog
        .vendors
        .iter()
        .find(|v| v.name == vendor_name)
        .map(|v| Importer {
            entity: v.importer_entity.as_deref().unwrap_or(v.name.as_str()),
            country: v.importer_country.as_str(),
        });
    let mut exposure = Exposure {
        importer,
        ..Exposure::default()
    };
    for part in key.split(';') {
        match part.split_once('=') {
            Some(("scope", v)) => {
                if let Some((scope, host)) = v.split_once('@') {
                    exposure.scope = ProcessingScope::parse(scope).map(|s| (s, host));
                }
            }
            Some(("relay", v)) => {
                exposure.relay = v
                    .parse::<ProductId>()
                    .ok()
                    .filter(|p| usize::from(*p) < catalog.products.len())
                    .and_then(|p| {
                        let product = catalog.product(p);
                        product.upstream_question.as_deref().map(|q| Relay {
                            name: product.name.as_str(),
                            question: q,
                        })
                    });
            }
            _ => {}
        }
    }
    exposure
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vendor with this DPF status, operated from outside every recipient-country list.
    fn vendor(dpf: &'static str) -> Option<Recipient<'static>> {
        Some(Recipient {
            dpf_certified: dpf,
            operator_country: "ZZ",
        })
    }
    use crate::classify::countries::Countries;
    use crate::classify::{embedded, CatalogText};

    fn regimes() -> Regimes {
        let c =
            Countries::load(&CatalogText::load(None, "c", embedded::COUNTRIES).unwrap()).unwrap();
        Regimes::load(
            &CatalogText::load(None, "r", embedded::REGIMES).unwrap(),
            &c,
        )
        .unwrap()
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    const ALIBABA: Importer<'static> = Importer {
        entity: "Alibaba",
        country: "CN",
    };

    #[test]
    fn a_global_scope_host_in_frankfurt_is_a_possible_transfer_to_cn() {
        let r = regimes();
        let exposure = Exposure {
            scope: Some((
                ProcessingScope::GlobalInclCn,
                "ws1.eu-central-1.maas.aliyuncs.com",
            )),
            ..Exposure::default()
        };
        // GeoIP alone: DE to DE is no transfer.
        assert!(r.evaluate("DE", "DE", day(), vendor("n/a")).is_empty());
        let f = decide(&r, "DE", "DE", day(), vendor("n/a"), &exposure);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].regime, "GDPR");
        assert!(
            f[0].transfer_basis
                .starts_with("possible onward transfer to CN: ws1.eu-central-1"),
            "{}",
            f[0].transfer_basis
        );
        assert!(
            f[0].transfer_basis.contains("none"),
            "{}",
            f[0].transfer_basis
        );
    }

    #[test]
    fn an_international_scope_adds_nothing() {
        let r = regimes();
        let exposure = Exposure {
            scope: Some((
                ProcessingScope::InternationalExclCn,
                "dashscope-intl.aliyuncs.com",
            )),
            ..Exposure::default()
        };
        assert_eq!(
            decide(&r, "DE", "SG", day(), vendor("n/a"), &exposure),
            r.evaluate("DE", "SG", day(), vendor("n/a"))
        );
        assert!(decide(&r, "CN", "CN", day(), None, &exposure).is_empty());
    }

    #[test]
    fn an_eu_edge_of_a_us_importer_is_a_transfer() {
        let r = regimes();
        let exposure = Exposure {
            importer: Some(Importer {
                entity: "GitHub (Microsoft)",
                country: "US",
            }),
            ..Exposure::default()
        };
        let f = decide(&r, "FR", "NL", day(), vendor("unverified"), &exposure);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].transfer_basis
                .starts_with("importer GitHub (Microsoft) established in US"),
            "{}",
            f[0].transfer_basis
        );
        assert!(
            f[0].transfer_basis.contains("conditional:"),
            "{}",
            f[0].transfer_basis
        );
        // An importer in the EEA adds nothing to an EEA flow.
        let eu = Exposure {
            importer: Some(Importer {
                entity: "Mistral AI",
                country: "FR",
            }),
            ..Exposure::default()
        };
        assert!(decide(&r, "DE", "NL", day(), vendor("n/a"), &eu).is_empty());
    }

    #[test]
    fn a_direct_finding_keeps_its_basis_and_gains_the_further_exposure() {
        let r = regimes();
        let exposure = Exposure {
            importer: Some(ALIBABA),
            scope: Some((
                ProcessingScope::GlobalInclCn,
                "cn-hongkong.dashscope.aliyuncs.com",
            )),
            relay: None,
        };
        // CN site to Hong Kong: PIPL and DSL already apply; CN is domestic for both, so
        // the possible return to the mainland adds no further finding.
        let f = decide(&r, "CN", "HK", day(), vendor("n/a"), &exposure);
        assert_eq!(
            f.iter().map(|x| x.regime.as_str()).collect::<Vec<_>>(),
            vec!["PIPL", "DSL"]
        );
        assert_eq!(f, r.evaluate("CN", "HK", day(), vendor("n/a")));
        // DE site to Virginia: GDPR applies for the US and again for CN.
        let us = decide(&r, "DE", "US", day(), vendor("n/a"), &exposure);
        assert_eq!(us.len(), 1);
        assert!(us[0]
            .transfer_basis
            .contains("; also importer Alibaba established in CN"));
        assert!(us[0]
            .transfer_basis
            .contains("; also possible onward transfer to CN"));
    }

    #[test]
    fn a_relay_in_the_same_country_is_a_potential_onward_transfer() {
        let r = regimes();
        let exposure = Exposure {
            importer: Some(Importer {
                entity: "AiHubMix",
                country: "CN",
            }),
            relay: Some(Relay {
                name: "AiHubMix relay",
                question: "Which upstream providers and regions serve our requests?",
            }),
            ..Exposure::default()
        };
        assert!(r.evaluate("CN", "CN", day(), vendor("n/a")).is_empty());
        let f = decide(&r, "CN", "CN", day(), vendor("n/a"), &exposure);
        assert_eq!(
            f.iter().map(|x| x.regime.as_str()).collect::<Vec<_>>(),
            vec!["PIPL", "DSL"]
        );
        for x in &f {
            assert!(
                x.transfer_basis
                    .starts_with("potential onward transfer: AiHubMix relay")
                    && x.transfer_basis.ends_with("serve our requests?"),
                "{}",
                x.transfer_basis
            );
        }
    }
}
