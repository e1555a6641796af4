//! The organisation's own AI-tool policy: ordered rules that allow, flag for review or
//! ban a vendor, product or category at some sites from a given date.
//!
//! Laws say which transfers need a legal basis; the policy says which tools may be used at
//! all. A rule applies to a flow when its tool matcher (product, vendor or category) and its
//! place matcher (site, site country or all sites) match and the flow's day is within its
//! effective window. Among the rules that apply, the most specific wins: a product beats a
//! vendor beats a category beats any tool; then a site beats a country beats all sites; a
//! tie goes to the rule listed first.

use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

use super::sites::Sites;
use super::vendors::VendorCatalog;
use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    policy: PolicyHeader,
    #[serde(default)]
    rule: Vec<RuleEntry>,
}

/// The `[policy]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyHeader {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    id: String,
    verdict: String,
    effective_from: String,
    #[serde(default)]
    effective_until: Option<String>,
    reason: String,
    #[serde(default)]
    memo: Option<String>,
    #[serde(default)]
    products: Vec<String>,
    #[serde(default)]
    vendors: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    sites: Vec<String>,
    #[serde(default)]
    site_countries: Vec<String>,
}

/// What a rule says about a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    Allowed,
    Review,
    Banned,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Review => "review",
            Verdict::Banned => "banned",
        }
    }
}

/// One policy rule, resolved against the catalogs.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub verdict: Verdict,
    pub effective_from: NaiveDate,
    /// Inclusive last day, when the rule ends.
    pub effective_until: Option<NaiveDate>,
    pub reason: String,
    pub memo: Option<String>,
    /// `vendor/product` ids.
    pub products: Vec<String>,
    pub vendors: Vec<String>,
    pub categories: Vec<String>,
    pub sites: Vec<String>,
    pub site_countries: Vec<String>,
}

impl Rule {
    /// 3 product, 2 vendor, 1 category, 0 any tool.
    fn tool_specificity(&self) -> u8 {
        if !self.products.is_empty() {
            3
        } else if !self.vendors.is_empty() {
            2
        } else if !self.categories.is_empty() {
            1
        } else {
            0
        }
    }

    /// 2 site, 1 site country, 0 all sites.
    fn place_specificity(&self) -> u8 {
        if !self.sites.is_empty() {
            2
        } else if !self.site_countries.is_empty() {
            1
        } else {
            0
        }
    }

    /// Whether the tool and place match, ignoring dates.
    pub fn matches(&self, tool: &Tool<'_>, site: &str, site_country: &str) -> bool {
        let tool_ok = match self.tool_specificity() {
            3 => self
                .products
                .iter()
                .any(|p| p == &format!("{}/{}", tool.vendor, tool.product)),
            2 => self.vendors.iter().any(|v| v == tool.vendor),
            1 => self.categories.iter().any(|c| c == tool.category),
            _ => true,
        };
        let place_ok = match self.place_specificity() {
            2 => self.sites.iter().any(|s| s == site),
            1 => self.site_countries.iter().any(|c| c == site_country),
            _ => true,
        };
        tool_ok && place_ok
    }

    pub fn in_effect(&self, day: NaiveDate) -> bool {
        day >= self.effective_from && self.effective_until.is_none_or(|u| day <= u)
    }
}

/// The tool a flow went to, by catalog ids.
pub struct Tool<'a> {
    pub vendor: &'a str,
    pub product: &'a str,
    pub category: &'a str,
}

/// A loaded policy with where it came from.
#[derive(Debug, Clone)]
pub struct Policy {
    pub header: PolicyHeader,
    pub rules: Vec<Rule>,
    pub path: String,
    pub sha256: String,
}

impl Policy {
    pub fn load(path: &Path, vendors: &VendorCatalog, sites: &Sites) -> Result<Self> {
        let label = path.display().to_string();
        let bytes = crate::ingest::input::read_regular(path)?;
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| Error::config(&label, "file is not UTF-8"))?;
        let mut policy = Self::parse(&label, &text, vendors, sites)?;
        policy.sha256 = crate::ingest::input::sha256_bytes(&bytes);
        Ok(policy)
    }

    pub fn parse(label: &str, text: &str, vendors: &VendorCatalog, sites: &Sites) -> Result<Self> {
        let file: PolicyFile = super::parse_toml(label, text)?;
        let mut rules = Vec::new();
        for r in file.rule {
            let ctx = format!("rule `{}`", r.id);
            let bad = |m: String| Error::config(label, format!("{ctx}: {m}"));
            if rules.iter().any(|x: &Rule| x.id == r.id) {
                return Err(bad("defined twice".into()));
            }
            let verdict = match r.verdict.as_str() {
                "allowed" => Verdict::Allowed,
                "review" => Verdict::Review,
                "banned" => Verdict::Banned,
                other => {
                    return Err(bad(format!(
                        "verdict `{other}` must be allowed, review or banned"
                    )))
                }
            };
            let date = |s: &str| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| bad(format!("`{s}` is not a YYYY-MM-DD date")))
            };
            let effective_from = date(&r.effective_from)?;
            let effective_until = r.effective_until.as_deref().map(date).transpose()?;
            if effective_until.is_some_and(|u| u < effective_from) {
                return Err(bad("effective_until is before effective_from".into()));
            }
            for p in &r.products {
                let known = p.split_once('/').is_some_and(|(v, prod)| {
                    vendors
                        .products
                        .iter()
                        .any(|x| x.id == prod && vendors.vendors[x.vendor].id == v)
                });
                if !known {
                    return Err(bad(format!(
                        "product `{p}` is not a vendor/product id in the vendor catalog"
                    )));
                }
            }
            for v in &r.vendors {
                if !vendors.vendors.iter().any(|x| &x.id == v) {
                    return Err(bad(format!("vendor `{v}` is not in the vendor catalog")));
                }
            }
            for c in &r.categories {
                if !super::vendors::CATEGORIES.contains(&c.as_str()) {
                    return Err(bad(format!(
                        "category `{c}` is not one of {}",
                        super::vendors::CATEGORIES.join(", ")
                    )));
                }
            }
            for s in &r.sites {
                if !sites.sites.iter().any(|x| &x.name == s) {
                    return Err(bad(format!("site `{s}` is not in the sites file")));
                }
            }
            if !r.sites.is_empty() && !r.site_countries.is_empty() {
                return Err(bad("give sites or site_countries, not both".into()));
            }
            let tool_kinds = [
                !r.products.is_empty(),
                !r.vendors.is_empty(),
                !r.categories.is_empty(),
            ];
            if tool_kinds.iter().filter(|b| **b).count() > 1 {
                return Err(bad("give one of products, vendors or categories".into()));
            }
            rules.push(Rule {
                id: r.id,
                verdict,
                effective_from,
                effective_until,
                reason: r.reason,
                memo: r.memo,
                products: r.products,
                vendors: r.vendors,
                categories: r.categories,
                sites: r.sites,
                site_countries: r
                    .site_countries
                    .iter()
                    .map(|c| c.to_ascii_uppercase())
                    .collect(),
            });
        }
        Ok(Policy {
            header: file.policy,
            rules,
            path: label.to_string(),
            sha256: String::new(),
        })
    }

    /// The deciding rule for a flow on `day`, if any rule applies.
    pub fn decide(
        &self,
        tool: &Tool<'_>,
        site: &str,
        site_country: &str,
        day: NaiveDate,
    ) -> Option<usize> {
        let mut best: Option<(usize, (u8, u8))> = None;
        for (i, r) in self.rules.iter().enumerate() {
            if !r.in_effect(day) || !r.matches(tool, site, site_country) {
                continue;
            }
            let spec = (r.tool_specificity(), r.place_specificity());
            if best.is_none_or(|(_, b)| spec > b) {
                best = Some((i, spec));
            }
        }
        best.map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::countries::Countries;
    use crate::classify::{embedded, CatalogText};

    fn fixtures() -> (VendorCatalog, Sites) {
        let c =
            Countries::load(&CatalogText::load(None, "c", embedded::COUNTRIES).unwrap()).unwrap();
        let v =
            VendorCatalog::load(&CatalogText::load(None, "v", embedded::VENDORS).unwrap()).unwrap();
        let s = Sites::parse(
            "s",
            "[[site]]\nname='hangzhou'\ncountry='CN'\ncidrs=['10.10.0.0/16']\n[[site]]\nname='dublin'\ncountry='IE'\ncidrs=['10.40.0.0/16']\n",
            &c,
        )
        .unwrap();
        (v, s)
    }

    const EXAMPLE: &str = include_str!("../../data/examples/policy.toml");

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn example_policy_bans_claude_code_in_cn_from_the_tenth() {
        let (v, s) = fixtures();
        let p = Policy::parse("policy.toml", EXAMPLE, &v, &s).unwrap();
        let claude = Tool {
            vendor: "anthropic",
            product: "claude-api",
            category: "api",
        };
        let qoder = Tool {
            vendor: "alibaba",
            product: "qoder",
            category: "coding-assistant",
        };
        let cursor = Tool {
            vendor: "cursor",
            product: "cursor",
            category: "coding-assistant",
        };
        let verdict = |t: &Tool<'_>, site: &str, c: &str, day: &str| {
            p.decide(t, site, c, d(day)).map(|i| p.rules[i].verdict)
        };
        assert_eq!(verdict(&claude, "hangzhou", "CN", "2026-07-09"), None);
        assert_eq!(
            verdict(&claude, "hangzhou", "CN", "2026-07-10"),
            Some(Verdict::Banned)
        );
        assert_eq!(verdict(&claude, "dublin", "IE", "2026-08-01"), None);
        assert_eq!(
            verdict(&qoder, "hangzhou", "CN", "2026-08-01"),
            Some(Verdict::Allowed)
        );
        assert_eq!(
            verdict(&cursor, "hangzhou", "CN", "2026-08-01"),
            Some(Verdict::Review)
        );
    }

    #[test]
    fn most_specific_rule_wins_and_errors_name_the_rule() {
        let (v, s) = fixtures();
        let text = "[policy]\nname='t'\nversion='1'\n\
            [[rule]]\nid='all'\nverdict='banned'\neffective_from='2026-01-01'\nreason='r'\ncategories=['coding-assistant']\n\
            [[rule]]\nid='hz-cursor'\nverdict='allowed'\neffective_from='2026-01-01'\nreason='r'\nproducts=['cursor/cursor']\nsites=['hangzhou']\n";
        let p = Policy::parse("p", text, &v, &s).unwrap();
        let cursor = Tool {
            vendor: "cursor",
            product: "cursor",
            category: "coding-assistant",
        };
        assert_eq!(
            p.rules[p
                .decide(&cursor, "hangzhou", "CN", d("2026-05-01"))
                .unwrap()]
            .id,
            "hz-cursor"
        );
        assert_eq!(
            p.rules[p.decide(&cursor, "dublin", "IE", d("2026-05-01")).unwrap()].id,
            "all"
        );
        let e = Policy::parse("p.toml", "[policy]\nname='t'\nversion='1'\n[[rule]]\nid='x'\nverdict='banned'\neffective_from='2026-01-01'\nreason='r'\nvendors=['nope']\n", &v, &s).unwrap_err();
        assert!(
            e.to_string().contains("p.toml") && e.to_string().contains("nope"),
            "{e}"
        );
    }
}
