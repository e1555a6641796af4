//! The AI-vendor catalog and the matcher that maps a hostname or an address to a product.
//!
//! Matching order: exact host, then a one-label pattern, then the longest dedicated suffix
//! on a label boundary (`eu.api.openai.com` is OpenAI, `notopenai.com` is not). Shared
//! platform apexes are refused as suffixes at load time, because a suffix there would
//! turn every customer of the platform into an AI vendor.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;

use super::{CatalogHeader, CatalogIdentity, CatalogText, SourceRef};
use crate::error::{Error, Result};

/// Apexes shared by many unrelated tenants. A catalog may list exact hosts under them but
/// never the apex itself as a suffix.
pub const SHARED_APEXES: &[&str] = &[
    "googleapis.com",
    "google.com",
    "gstatic.com",
    "aliyuncs.com",
    "aliyun.com",
    "alibaba.com",
    "alibabacloud.com",
    "amazonaws.com",
    "api.aws",
    "aws",
    "cloudfront.net",
    "azure.com",
    "windows.net",
    "microsoft.com",
    "azureedge.net",
    "githubusercontent.com",
    "github.com",
    "github.io",
    "tencent.com",
    "tencentcloudapi.com",
    "qq.com",
    "baidu.com",
    "baidubce.com",
    "bcebos.com",
    "volces.com",
    "volcengine.com",
    "bytedance.com",
    "cloudflare.com",
    "cloudflare.net",
    "akamaiedge.net",
    "akamai.net",
    "fastly.net",
    "sentry.io",
    "jetbrains.com",
    "com",
    "net",
    "org",
    "cn",
    "ai",
    "io",
    "dev",
    "app",
    "co",
    "sh",
    "com.cn",
];

/// Product categories the catalog may use.
pub const CATEGORIES: &[&str] = &["coding-assistant", "agent", "api", "chat", "telemetry"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VendorsFile {
    catalog: CatalogHeader,
    #[serde(default)]
    vendor: Vec<VendorEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VendorEntry {
    id: String,
    name: String,
    hq_country: String,
    dpf_certified: String,
    sources: Vec<SourceRef>,
    #[serde(default)]
    corroborating_hosts: Vec<String>,
    #[serde(default)]
    product: Vec<ProductEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductEntry {
    id: String,
    name: String,
    category: String,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    host_patterns: Vec<String>,
    #[serde(default)]
    suffixes: Vec<String>,
    #[serde(default)]
    ip_ranges: Vec<String>,
    #[serde(default)]
    regions: BTreeMap<String, String>,
    confidence: String,
    #[serde(default)]
    sources: Vec<SourceRef>,
    #[serde(default)]
    notes: Option<String>,
}

/// A vendor as the reports show it.
#[derive(Debug, Clone)]
pub struct Vendor {
    pub id: String,
    pub name: String,
    pub hq_country: String,
    pub dpf_certified: String,
    pub sources: Vec<SourceRef>,
    pub corroborating_hosts: Vec<String>,
}

/// A network-distinguishable product of a vendor.
#[derive(Debug, Clone)]
pub struct Product {
    pub vendor: usize,
    pub id: String,
    pub name: String,
    pub category: String,
    pub confidence: String,
    pub regions: BTreeMap<String, String>,
    pub sources: Vec<SourceRef>,
    pub notes: Option<String>,
    pub ip_ranges: Vec<IpNet>,
}

/// Index of a product in [`VendorCatalog::products`].
pub type ProductId = u16;

/// The loaded catalog with its lookup tables.
#[derive(Debug, Clone)]
pub struct VendorCatalog {
    pub identity: CatalogIdentity,
    pub vendors: Vec<Vendor>,
    pub products: Vec<Product>,
    exact: HashMap<String, ProductId>,
    /// Patterns as label lists, `*` standing for one label.
    patterns: Vec<(Vec<String>, ProductId)>,
    suffixes: HashMap<String, ProductId>,
    /// Ranges ordered longest prefix first.
    ranges: Vec<(IpNet, ProductId)>,
}

impl VendorCatalog {
    pub fn load(text: &CatalogText) -> Result<Self> {
        let file: VendorsFile = text.parse()?;
        let identity = text.identity("vendors", &file.catalog);
        let label = text.label.as_str();
        let bad = |msg: String| Error::config(label, msg);
        let mut vendors = Vec::new();
        let mut products = Vec::new();
        let mut exact = HashMap::new();
        let mut patterns = Vec::new();
        let mut suffixes = HashMap::new();
        let mut ranges = Vec::new();
        let mut owner: HashMap<String, String> = HashMap::new();
        for v in file.vendor {
            if vendors.iter().any(|x: &Vendor| x.id == v.id) {
                return Err(bad(format!("vendor `{}` is defined twice", v.id)));
            }
            if v.sources.is_empty() {
                return Err(bad(format!("vendor `{}` has no sources", v.id)));
            }
            if v.hq_country.len() != 2 {
                return Err(bad(format!(
                    "vendor `{}`: hq_country must be ISO alpha-2",
                    v.id
                )));
            }
            if !["yes", "no", "n/a", "unverified"].contains(&v.dpf_certified.as_str()) {
                return Err(bad(format!(
                    "vendor `{}`: dpf_certified must be yes, no, n/a or unverified",
                    v.id
                )));
            }
            let vendor_index = vendors.len();
            for p in v.product {
                let where_ = format!("vendor `{}` product `{}`", v.id, p.id);
                if !CATEGORIES.contains(&p.category.as_str()) {
                    return Err(bad(format!(
                        "{where_}: category `{}` is not one of {}",
                        p.category,
                        CATEGORIES.join(", ")
                    )));
                }
                let pid = ProductId::try_from(products.len())
                    .map_err(|_| bad("too many products".into()))?;
                let mut claim = |key: String, what: &str| -> Result<String> {
                    let key = normalise(&key);
                    if key.is_empty() || key.contains('/') || key.contains(':') {
                        return Err(bad(format!("{where_}: `{key}` is not a hostname")));
                    }
                    if let Some(prev) = owner.insert(format!("{what}:{key}"), where_.clone()) {
                        return Err(bad(format!(
                            "{where_}: {what} `{key}` is already claimed by {prev}"
                        )));
                    }
                    Ok(key)
                };
                for h in p.hosts {
                    let h = claim(h, "host")?;
                    exact.insert(h, pid);
                }
                for pat in p.host_patterns {
                    let pat = claim(pat, "pattern")?;
                    let labels: Vec<String> = pat.split('.').map(str::to_string).collect();
                    if labels.iter().all(|l| l == "*")
                        || labels.iter().any(|l| l.contains('*') && l != "*")
                    {
                        return Err(bad(format!(
                            "{where_}: pattern `{pat}` must use `*` for whole labels only"
                        )));
                    }
                    patterns.push((labels, pid));
                }
                for s in p.suffixes {
                    let s = claim(s, "suffix")?;
                    if SHARED_APEXES.contains(&s.as_str()) || !s.contains('.') {
                        return Err(bad(format!(
                            "{where_}: `{s}` is a shared platform apex and cannot be a suffix; list the product's exact hosts instead"
                        )));
                    }
                    suffixes.insert(s, pid);
                }
                let mut nets = Vec::new();
                for r in p.ip_ranges {
                    let net: IpNet = r
                        .parse()
                        .map_err(|_| bad(format!("{where_}: `{r}` is not a CIDR")))?;
                    if net.trunc() != net {
                        return Err(bad(format!("{where_}: `{r}` has host bits set")));
                    }
                    if let Some((_, other)) = ranges.iter().find(|(n, _)| *n == net) {
                        let other: &ProductId = other;
                        return Err(bad(format!(
                            "{where_}: range {net} is already claimed by product #{other}"
                        )));
                    }
                    ranges.push((net, pid));
                    nets.push(net);
                }
                products.push(Product {
                    vendor: vendor_index,
                    id: p.id,
                    name: p.name,
                    category: p.category,
                    confidence: p.confidence,
                    regions: p.regions,
                    sources: p.sources,
                    notes: p.notes,
                    ip_ranges: nets,
                });
            }
            vendors.push(Vendor {
                id: v.id,
                name: v.name,
                hq_country: v.hq_country,
                dpf_certified: v.dpf_certified,
                sources: v.sources,
                corroborating_hosts: v.corroborating_hosts,
            });
        }
        ranges.sort_by(|a, b| b.0.prefix_len().cmp(&a.0.prefix_len()).then(a.0.cmp(&b.0)));
        Ok(VendorCatalog {
            identity,
            vendors,
            products,
            exact,
            patterns,
            suffixes,
            ranges,
        })
    }

    /// The names `xborder resolve` looks up: exact hosts and dedicated apexes (sorted,
    /// distinct), and the `*` patterns, which name no single host (sorted).
    pub fn resolvable_names(&self) -> (Vec<String>, Vec<String>) {
        let hosts: std::collections::BTreeSet<String> = self
            .exact
            .keys()
            .chain(self.suffixes.keys())
            .cloned()
            .collect();
        let patterns: std::collections::BTreeSet<String> =
            self.patterns.iter().map(|(l, _)| l.join(".")).collect();
        (hosts.into_iter().collect(), patterns.into_iter().collect())
    }

    /// The product a hostname belongs to, if any.
    pub fn match_host(&self, host: &str) -> Option<ProductId> {
        let host = normalise(host);
        if host.is_empty() {
            return None;
        }
        if let Some(p) = self.exact.get(&host) {
            return Some(*p);
        }
        let labels: Vec<&str> = host.split('.').collect();
        for (pattern, p) in &self.patterns {
            if pattern.len() == labels.len()
                && pattern.iter().zip(&labels).all(|(a, b)| a == "*" || a == b)
            {
                return Some(*p);
            }
        }
        // Longest suffix first: walk from the full name towards the apex.
        let mut rest = host.as_str();
        loop {
            if let Some(p) = self.suffixes.get(rest) {
                return Some(*p);
            }
            match rest.find('.') {
                Some(i) => rest = &rest[i + 1..],
                None => return None,
            }
        }
    }

    /// The product whose published range contains `ip`, most specific range first.
    pub fn match_ip(&self, ip: IpAddr) -> Option<ProductId> {
        self.ranges
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, p)| *p)
    }

    pub fn product(&self, id: ProductId) -> &Product {
        &self.products[usize::from(id)]
    }

    pub fn vendor_of(&self, id: ProductId) -> &Vendor {
        &self.vendors[self.product(id).vendor]
    }

    /// The documented serving region for a host of this product, if the catalog has one.
    pub fn region_for(&self, id: ProductId, host: &str) -> Option<&str> {
        let product = self.product(id);
        if let Some(r) = product.regions.get(host) {
            return Some(r.as_str());
        }
        let labels: Vec<&str> = host.split('.').collect();
        product.regions.iter().find_map(|(pat, region)| {
            let p: Vec<&str> = pat.split('.').collect();
            (p.len() == labels.len() && p.iter().zip(&labels).all(|(a, b)| *a == "*" || a == b))
                .then_some(region.as_str())
        })
    }
}

fn normalise(s: &str) -> String {
    crate::schema::normalise_hostname(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::embedded;

    fn catalog() -> VendorCatalog {
        VendorCatalog::load(
            &CatalogText::load(None, "data/vendors.toml", embedded::VENDORS).unwrap(),
        )
        .unwrap()
    }

    fn vendor_of(c: &VendorCatalog, host: &str) -> Option<String> {
        c.match_host(host).map(|p| c.vendor_of(p).id.clone())
    }

    #[test]
    fn recognises_the_required_hosts() {
        let c = catalog();
        for (host, vendor) in [
            ("api.anthropic.com", "anthropic"),
            ("claude.ai", "anthropic"),
            ("api.openai.com", "openai"),
            ("chatgpt.com", "openai"),
            ("api.deepseek.com", "deepseek"),
            ("api.mistral.ai", "mistral"),
            ("api.moonshot.cn", "moonshot"),
            ("open.bigmodel.cn", "zhipu"),
            ("dashscope.aliyuncs.com", "alibaba"),
            ("dashscope-intl.aliyuncs.com", "alibaba"),
            ("generativelanguage.googleapis.com", "google"),
        ] {
            assert_eq!(vendor_of(&c, host).as_deref(), Some(vendor), "{host}");
        }
        for host in [
            "copilot-proxy.githubusercontent.com",
            "api.githubcopilot.com",
            "api2.cursor.sh",
        ] {
            assert!(c.match_host(host).is_some(), "{host}");
        }
    }

    #[test]
    fn suffixes_match_on_label_boundaries_only() {
        let c = catalog();
        assert_eq!(
            vendor_of(&c, "eu.api.openai.com").as_deref(),
            Some("openai")
        );
        assert_eq!(
            vendor_of(&c, "EU.API.OPENAI.COM.").as_deref(),
            Some("openai")
        );
        assert_eq!(vendor_of(&c, "notopenai.com"), None);
        assert_eq!(vendor_of(&c, "openai.com.evil.example"), None);
    }

    #[test]
    fn shared_platform_hosts_are_not_ai_by_themselves() {
        let c = catalog();
        for host in [
            "github.com",
            "api.github.com",
            "storage.googleapis.com",
            "sentry.io",
            "oss-cn-hangzhou.aliyuncs.com",
            "s3.amazonaws.com",
        ] {
            assert_eq!(vendor_of(&c, host), None, "{host}");
        }
    }

    #[test]
    fn published_ranges_match_most_specific_first() {
        let c = catalog();
        let p = c.match_ip("160.79.104.10".parse().unwrap()).unwrap();
        assert_eq!(c.vendor_of(p).id, "anthropic");
        let p = c.match_ip("2607:6bc0::10".parse().unwrap()).unwrap();
        assert_eq!(c.vendor_of(p).id, "anthropic");
        assert!(c.match_ip("160.79.106.1".parse().unwrap()).is_none());
    }

    #[test]
    fn every_vendor_and_product_is_sourced_and_dated() {
        let c = catalog();
        for v in &c.vendors {
            assert!(
                v.sources
                    .iter()
                    .all(|s| !s.url.is_empty() && !s.as_of.is_empty()),
                "{}",
                v.id
            );
        }
    }

    #[test]
    fn rejects_a_shared_apex_suffix_and_duplicate_hosts() {
        let base = "[catalog]\nname='t'\nversion='1'\nas_of='2026-11-21'\n[[vendor]]\nid='x'\nname='X'\nhq_country='US'\ndpf_certified='no'\nsources=[{url='u',as_of='2026'}]\n";
        let shared = format!("{base}[[vendor.product]]\nid='p'\nname='P'\ncategory='api'\nconfidence='documented'\nsuffixes=['googleapis.com']\n");
        let e = VendorCatalog::load(&CatalogText {
            label: "v.toml".into(),
            text: shared,
        })
        .unwrap_err();
        assert!(e.to_string().contains("shared platform apex"), "{e}");
        let dup = format!("{base}[[vendor.product]]\nid='p'\nname='P'\ncategory='api'\nconfidence='documented'\nhosts=['a.example']\n[[vendor.product]]\nid='q'\nname='Q'\ncategory='chat'\nconfidence='documented'\nhosts=['A.example.']\n");
        let e = VendorCatalog::load(&CatalogText {
            label: "v.toml".into(),
            text: dup,
        })
        .unwrap_err();
        assert!(e.to_string().contains("already claimed"), "{e}");
    }
}
