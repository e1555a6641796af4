//! The organisation's own AI-tool policy: ordered rules that allow, flag for review or
//! ban a vendor, product or category at some sites from a given date.
//!
//! Laws say which transfers need a legal basis; the policy says which tools may be used at
//! all. A rule applies to a flow when its tool matcher (product, vendor or category) and its
//! place matcher (site, site country or all sites) match and the flow's day is within its
//! effective window. Among the rules that apply, the most specific wins: a product beats a
//! vendor beats a category beats any tool; then a site beats a country beats all sites; a
//! tie goes to the rule listed first.
//!
//! `effective_from` and `effective_until` are either calendar dates, which start at local
//! midnight in each site's own time zone (sites.toml `timezone`), or RFC 3339 instants,
//! which are the same moment everywhere.

use std::fmt;
use std::path::Path;

use chrono::{NaiveDate, TimeZone};
use serde::Deserialize;

use super::sites::Sites;
use super::vendors::VendorCatalog;
use xborder_model::error::{Error, Result};
use xborder_model::schema::Micros;

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

/// Where a rule starts or ends: a calendar date, read in each site's own time zone, or one
/// instant that is the same everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// `2026-07-10`: local midnight at each site (UTC for flows from no configured site).
    Date(NaiveDate),
    /// `2026-07-09T16:00:00Z`: this moment at every site.
    Instant(Micros),
}

impl Boundary {
    /// Parse a `YYYY-MM-DD` date or an RFC 3339 instant.
    pub fn parse(s: &str) -> Option<Boundary> {
        let s = s.trim();
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Some(Boundary::Date(d));
        }
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| Boundary::Instant(t.timestamp_micros()))
    }

    /// The first instant (µs since the epoch) at or after the start of this boundary's day
    /// in `tz`. A date whose midnight does not exist locally (a DST jump) starts at the
    /// first local time that does.
    pub fn start_in(self, tz: chrono_tz::Tz) -> Micros {
        match self {
            Boundary::Instant(t) => t,
            Boundary::Date(d) => local_midnight(d, tz),
        }
    }

    /// The exclusive end of a rule whose `effective_until` is this boundary: the midnight
    /// after the date in `tz` (the date is the last day in effect), or the instant itself.
    pub fn end_in(self, tz: chrono_tz::Tz) -> Micros {
        match self {
            Boundary::Instant(t) => t,
            Boundary::Date(d) => local_midnight(d.succ_opt().unwrap_or(d), tz),
        }
    }

    /// The calendar date shown on charts: the date itself, or the instant's UTC date.
    pub fn date(self) -> NaiveDate {
        match self {
            Boundary::Date(d) => d,
            Boundary::Instant(t) => chrono::DateTime::from_timestamp_micros(t)
                .map(|t| t.date_naive())
                .unwrap_or_default(),
        }
    }
}

/// 00:00 of `d` in `tz`, or the first valid local time after it on a DST gap.
fn local_midnight(d: NaiveDate, tz: chrono_tz::Tz) -> Micros {
    let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    for minutes in 0..=180i64 {
        let local = midnight + chrono::Duration::minutes(minutes);
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.timestamp_micros();
        }
    }
    midnight.and_utc().timestamp_micros()
}

impl fmt::Display for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Boundary::Date(d) => write!(f, "{d}"),
            Boundary::Instant(t) => f.write_str(&xborder_model::period::rfc3339(*t)),
        }
    }
}

/// One policy rule, resolved against the catalogs.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub verdict: Verdict,
    pub effective_from: Boundary,
    /// When the rule ends: the last day in effect (a date), or the instant it stops.
    pub effective_until: Option<Boundary>,
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

    /// Whether the rule is in effect at `ts` for a site in time zone `tz`.
    pub fn in_effect_at(&self, ts: Micros, tz: chrono_tz::Tz) -> bool {
        let (from, until) = self.window_in(tz);
        ts >= from && until.is_none_or(|u| ts < u)
    }

    /// The rule's window at a site in `tz`: first instant in effect, exclusive end.
    pub fn window_in(&self, tz: chrono_tz::Tz) -> (Micros, Option<Micros>) {
        (
            self.effective_from.start_in(tz),
            self.effective_until.map(|u| u.end_in(tz)),
        )
    }

    /// Whether the rule starts or ends strictly inside `[start, end)` in `tz`, so a
    /// decision taken for the whole span would be wrong for part of it.
    pub fn changes_within(&self, start: Micros, end: Micros, tz: chrono_tz::Tz) -> bool {
        let (from, until) = self.window_in(tz);
        let inside = |t: Micros| t > start && t < end;
        inside(from) || until.is_some_and(inside)
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
        let bytes = xborder_model::fsio::read_regular(path)?;
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| Error::config(&label, "file is not UTF-8"))?;
        let mut policy = Self::parse(&label, &text, vendors, sites)?;
        policy.sha256 = xborder_model::hash::sha256_bytes(&bytes);
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
                Boundary::parse(s).ok_or_else(|| {
                    bad(format!(
                        "`{s}` is not a YYYY-MM-DD date or an RFC 3339 time such as 2026-07-10T00:00:00+08:00"
                    ))
                })
            };
            let effective_from = date(&r.effective_from)?;
            let effective_until = r.effective_until.as_deref().map(date).transpose()?;
            if let Some(u) = effective_until {
                // Compared in UTC: the order of two dates is the same in every zone.
                if u.end_in(chrono_tz::UTC) <= effective_from.start_in(chrono_tz::UTC) {
                    return Err(bad("effective_until is before effective_from".into()));
                }
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

    /// The deciding rule for a flow at `ts` from a site in time zone `tz`, if any applies.
    pub fn decide(
        &self,
        tool: &Tool<'_>,
        site: &str,
        site_country: &str,
        tz: chrono_tz::Tz,
        ts: Micros,
    ) -> Option<usize> {
        let mut best: Option<(usize, (u8, u8))> = None;
        for (i, r) in self.rules.iter().enumerate() {
            if !r.in_effect_at(ts, tz) || !r.matches(tool, site, site_country) {
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

    const EXAMPLE: &str = include_str!("../../../../data/examples/policy.toml");

    /// 12:00 UTC of a date.
    fn d(s: &str) -> Micros {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    fn at(s: &str) -> Micros {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn a_date_starts_at_local_midnight_and_an_instant_everywhere_at_once() {
        let (v, s) = fixtures();
        let text = "[policy]\nname='t'\nversion='1'\n\
            [[rule]]\nid='date'\nverdict='banned'\neffective_from='2026-07-10'\neffective_until='2026-07-20'\nreason='r'\nvendors=['anthropic']\n\
            [[rule]]\nid='instant'\nverdict='banned'\neffective_from='2026-07-10T09:30:00+08:00'\nreason='r'\nvendors=['openai']\n";
        let p = Policy::parse("p", text, &v, &s).unwrap();
        let shanghai = chrono_tz::Asia::Shanghai;
        let claude = Tool {
            vendor: "anthropic",
            product: "claude-api",
            category: "api",
        };
        // 10 July 00:00 in Shanghai is 9 July 16:00 UTC.
        assert_eq!(
            p.rules[0].window_in(shanghai),
            (at("2026-07-09T16:00:00Z"), Some(at("2026-07-20T16:00:00Z")))
        );
        let decide = |tz, t: &str| p.decide(&claude, "hangzhou", "CN", tz, at(t));
        assert_eq!(decide(shanghai, "2026-07-09T15:59:59Z"), None);
        assert_eq!(decide(shanghai, "2026-07-09T16:00:00Z"), Some(0));
        assert_eq!(decide(chrono_tz::UTC, "2026-07-09T16:00:00Z"), None);
        assert_eq!(decide(shanghai, "2026-07-20T15:59:59Z"), Some(0));
        assert_eq!(decide(shanghai, "2026-07-20T16:00:00Z"), None);
        // An instant is the same moment at every site.
        let inst = p.rules[1].effective_from;
        assert_eq!(inst.start_in(shanghai), at("2026-07-10T01:30:00Z"));
        assert_eq!(inst.start_in(chrono_tz::UTC), at("2026-07-10T01:30:00Z"));
        assert_eq!(inst.to_string(), "2026-07-10T01:30:00Z");
        assert!(p.rules[0].changes_within(
            at("2026-07-09T00:00:00Z"),
            at("2026-07-10T00:00:00Z"),
            shanghai
        ));
        assert!(!p.rules[0].changes_within(
            at("2026-07-10T00:00:00Z"),
            at("2026-07-11T00:00:00Z"),
            shanghai
        ));
        let e = Policy::parse("p.toml", "[policy]\nname='t'\nversion='1'\n[[rule]]\nid='x'\nverdict='banned'\neffective_from='10 July'\nreason='r'\n", &v, &s).unwrap_err();
        assert!(e.to_string().contains("RFC 3339"), "{e}");
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
            vendor: "qoder",
            product: "qoder",
            category: "coding-assistant",
        };
        let cursor = Tool {
            vendor: "cursor",
            product: "cursor",
            category: "coding-assistant",
        };
        let verdict = |t: &Tool<'_>, site: &str, c: &str, day: &str| {
            p.decide(t, site, c, chrono_tz::UTC, d(day))
                .map(|i| p.rules[i].verdict)
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
                .decide(&cursor, "hangzhou", "CN", chrono_tz::UTC, d("2026-05-01"))
                .unwrap()]
            .id,
            "hz-cursor"
        );
        assert_eq!(
            p.rules[p
                .decide(&cursor, "dublin", "IE", chrono_tz::UTC, d("2026-05-01"))
                .unwrap()]
            .id,
            "all"
        );
        let e = Policy::parse("p.toml", "[policy]\nname='t'\nversion='1'\n[[rule]]\nid='x'\nverdict='banned'\neffective_from='2026-01-01'\nreason='r'\nvendors=['nope']\n", &v, &s).unwrap_err();
        assert!(
            e.to_string().contains("p.toml") && e.to_string().contains("nope"),
            "{e}"
        );
    }
}
