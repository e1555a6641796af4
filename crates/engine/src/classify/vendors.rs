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
use xborder_model::error::{Error, Result};

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
    "jetbrains.com.cn",
    "intellij.net",
    "bytepluses.com",
    "volccdn.com",
    "zijieapi.com",
    "myqcloud.com",
    "tencentcs.com",
    "qcloud.com",
    "alicdn.com",
    "googleusercontent.com",
    "azurefd.net",
    "trafficmanager.net",
    "akamaized.net",
    "edgesuite.net",
    "edgekey.net",
    "b-cdn.net",
    "vercel.app",
    "netlify.app",
    "pages.dev",
    "workers.dev",
    "herokuapp.com",
    "amazonwebservices.com",
    "x.com",
    "hf.space",
    "replit.app",
    "replit.dev",
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

/// Product categories the catalog may use. `gateway` marks relays and aggregators that
/// forward requests to upstream model providers (see [`super::onward`]).
pub const CATEGORIES: &[&str] = &[
    "coding-assistant",
    "agent",
    "api",
    "chat",
    "telemetry",
    "gateway",
];

/// Where a product's inference may run beyond the access point its host names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProcessingScope {
    /// Any available node worldwide, including nodes in the Chinese mainland.
    GlobalInclCn,
    /// Only nodes in the Chinese mainland.
    MainlandCn,
    /// Nodes outside the Chinese mainland only (no onward transfer to CN).
    InternationalExclCn,
}

impl ProcessingScope {
    /// Every scope with its catalog spelling.
    pub const ALL: [ProcessingScope; 3] = [
        ProcessingScope::GlobalInclCn,
        ProcessingScope::MainlandCn,
        ProcessingScope::InternationalExclCn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProcessingScope::GlobalInclCn => "global-incl-CN",
            ProcessingScope::MainlandCn => "mainland-CN",
            ProcessingScope::InternationalExclCn => "international-excl-CN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VendorsFile {
    catalog: CatalogHeader,
    #[serde(default)]
    region_list: Vec<RegionListEntry>,
    #[serde(default)]
    vendor: Vec<VendorEntry>,
}

/// A named list of a provider's region codes, each with the country it is in, used to
/// generate exact hosts from a product's `host_templates`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionListEntry {
    id: String,
    sources: Vec<SourceRef>,
    regions: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostTemplateEntry {
    /// A hostname with exactly one `{region}` placeholder.
    template: String,
    /// The id of a `[[region_list]]`.
    regions: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VendorEntry {
    id: String,
    name: String,
    hq_country: String,
    dpf_certified: String,
    #[serde(default)]
    importer_entity: Option<String>,
    #[serde(default)]
    importer_country: Option<String>,
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
    host_templates: Vec<HostTemplateEntry>,
    #[serde(default)]
    suffixes: Vec<String>,
    #[serde(default)]
    ip_ranges: Vec<String>,
    #[serde(default)]
    regions: BTreeMap<String, String>,
    #[serde(default)]
    processing: BTreeMap<String, String>,
    #[serde(default)]
    upstream_question: Option<String>,
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
    /// The legal entity that receives the data (the importer under EDPB Guidelines
    /// 05/2021), when the catalog names one; else the vendor itself.
    pub importer_entity: Option<String>,
    /// The importer's country; the HQ country when the catalog names none.
    pub importer_country: String,
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
    /// Processing scope per host or one-label pattern (see [`ProcessingScope`]).
    pub processing: BTreeMap<String, ProcessingScope>,
    /// For a `gateway`: what to ask the relay about its upstream providers.
    pub upstream_question: Option<String>,
    pub sources: Vec<SourceRef>,
    pub notes: Option<String>,
    pub ip_ranges: Vec<IpNet>,
    /// The exact hosts the catalog lists, including those generated from templates.
    pub hosts: Vec<String>,
    pub host_patterns: Vec<String>,
    pub suffixes: Vec<String>,
}

/// How a hostname or address matched the catalog, for `xborder catalog explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchRule {
    Exact,
    /// An exact host generated from a template for one region.
    Template {
        template: String,
        region: String,
    },
    Pattern(String),
    Suffix(String),
    Range(IpNet),
}

/// Index of a product in [`VendorCatalog::products`].
pub type ProductId = u16;

/// The loaded catalog with its lookup tables.
#[derive(Debug, Clone)]
pub struct VendorCatalog {
    pub identity: CatalogIdentity,
    /// Files added on top with `--vendors-extra`, in order.
    pub extra_identities: Vec<CatalogIdentity>,
    pub vendors: Vec<Vendor>,
    pub products: Vec<Product>,
    exact: HashMap<String, ProductId>,
    /// Hosts generated from a template: (template, region code), for explanations.
    templated: HashMap<String, (String, String)>,
    /// Patterns as label lists, `*` standing for one label.
    patterns: Vec<(Vec<String>, ProductId)>,
    suffixes: HashMap<String, ProductId>,
    /// Ranges ordered longest prefix first.
    ranges: Vec<(IpNet, ProductId)>,
}

impl VendorCatalog {
    /// Load one catalog file (the embedded default or `--vendors`).
    pub fn load(text: &CatalogText) -> Result<Self> {
        Self::load_layered(text, &[])
    }

    /// Load a catalog and add the entries of `extras` (`--vendors-extra`) on top. An extra
    /// vendor with a new id is added; one whose id the base already has adds its products
    /// to that vendor. Every load check applies to the combined catalog, and a host, pattern
    /// or suffix claimed twice is refused naming both claimants.
    pub fn load_layered(base: &CatalogText, extras: &[CatalogText]) -> Result<Self> {
        let file: VendorsFile = base.parse()?;
        let identity = base.identity("vendors", &file.catalog);
        let mut builder = Builder::default();
        builder.add_file(&base.label, file)?;
        let mut extra_identities = Vec::new();
        for extra in extras {
            let file: VendorsFile = extra.parse()?;
            extra_identities.push(extra.identity("vendors-extra", &file.catalog));
            builder.add_file(&extra.label, file)?;
        }
        let mut ranges = builder.ranges;
        ranges.sort_by(|a, b| b.0.prefix_len().cmp(&a.0.prefix_len()).then(a.0.cmp(&b.0)));
        Ok(VendorCatalog {
            identity,
            extra_identities,
            vendors: builder.vendors,
            products: builder.products,
            exact: builder.exact,
            templated: builder.templated,
            patterns: builder.patterns,
            suffixes: builder.suffixes,
            ranges,
        })
    }

    /// Load the embedded catalog or `vendors`, with `extras` on top, and check every
    /// country code it uses against `countries`.
    pub fn load_files(
        vendors: Option<&std::path::Path>,
        extras: &[std::path::PathBuf],
        countries: &super::countries::Countries,
    ) -> Result<Self> {
        let base = CatalogText::load(vendors, "data/vendors.toml", super::embedded::VENDORS)?;
        let extras = extras
            .iter()
            .map(|p| CatalogText::load(Some(p), "", ""))
            .collect::<Result<Vec<_>>>()?;
        let catalog = Self::load_layered(&base, &extras)?;
        catalog.check_countries(countries)?;
        Ok(catalog)
    }

    /// Refuse a country code (HQ, importer, region) the country catalog does not know.
    pub fn check_countries(&self, countries: &super::countries::Countries) -> Result<()> {
        let path = &self.identity.path;
        for v in &self.vendors {
            for (what, code) in [
                ("hq_country", &v.hq_country),
                ("importer_country", &v.importer_country),
            ] {
                if !countries.contains(code) {
                    return Err(Error::config(
                        path,
                        format!("vendor `{}`: unknown {what} `{code}`", v.id),
                    ));
                }
            }
        }
        for (p, code) in self.region_countries() {
            if !countries.contains(code) {
                let v = &self.vendors[p.vendor];
                return Err(Error::config(
                    path,
                    format!(
                        "vendor `{}` product `{}`: unknown region country `{code}`",
                        v.id, p.id
                    ),
                ));
            }
        }
        Ok(())
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

    /// Which entry a hostname matches and by which rule, for `xborder catalog explain`;
    /// the same order as [`Self::match_host`].
    pub fn explain_host(&self, host: &str) -> Option<(ProductId, MatchRule)> {
        let host = normalise(host);
        if host.is_empty() {
            return None;
        }
        if let Some(p) = self.exact.get(&host) {
            let rule = match self.templated.get(&host) {
                Some((template, region)) => MatchRule::Template {
                    template: template.clone(),
                    region: region.clone(),
                },
                None => MatchRule::Exact,
            };
            return Some((*p, rule));
        }
        let labels: Vec<&str> = host.split('.').collect();
        for (pattern, p) in &self.patterns {
            if pattern.len() == labels.len()
                && pattern.iter().zip(&labels).all(|(a, b)| a == "*" || a == b)
            {
                return Some((*p, MatchRule::Pattern(pattern.join("."))));
            }
        }
        let mut rest = host.as_str();
        loop {
            if let Some(p) = self.suffixes.get(rest) {
                return Some((*p, MatchRule::Suffix(rest.to_string())));
            }
            match rest.find('.') {
                Some(i) => rest = &rest[i + 1..],
                None => return None,
            }
        }
    }

    /// Which published range an address falls in, for `xborder catalog explain`.
    pub fn explain_ip(&self, ip: IpAddr) -> Option<(ProductId, MatchRule)> {
        self.ranges
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(net, p)| (*p, MatchRule::Range(*net)))
    }

    /// Where inference for `host` of this product may run, when the catalog says.
    pub fn processing_for(&self, id: ProductId, host: &str) -> Option<ProcessingScope> {
        let product = self.product(id);
        if product.processing.is_empty() {
            return None;
        }
        let host = normalise(host);
        if let Some(s) = product.processing.get(&host) {
            return Some(*s);
        }
        let labels: Vec<&str> = host.split('.').collect();
        product.processing.iter().find_map(|(pat, scope)| {
            let p: Vec<&str> = pat.split('.').collect();
            (p.len() == labels.len() && p.iter().zip(&labels).all(|(a, b)| *a == "*" || a == b))
                .then_some(*scope)
        })
    }

    /// Every region code a vendor's products name, for the load check against the
    /// country catalog.
    pub fn region_countries(&self) -> impl Iterator<Item = (&Product, &str)> {
        self.products
            .iter()
            .flat_map(|p| p.regions.values().map(move |c| (p, c.as_str())))
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
        let host = normalise(host);
        let host = host.as_str();
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

/// Why a suffix cannot be a dedicated vendor apex, if it cannot: it is on the shared-apex
/// list, has a single label, or is itself a public suffix. The Public Suffix List (embedded
/// by the `psl` crate, no network) names registry suffixes such as `co.uk` and hosting
/// platforms such as `s3.amazonaws.com`, under which every name belongs to someone else.
pub fn suffix_refusal(suffix: &str) -> Option<String> {
    if SHARED_APEXES.contains(&suffix) || !suffix.contains('.') {
        return Some(format!(
            "`{suffix}` is a shared platform apex and cannot be a suffix; list the product's exact hosts instead"
        ));
    }
    if psl::domain(suffix.as_bytes()).is_none() {
        return Some(format!(
            "`{suffix}` is a public suffix (Public Suffix List), so every name under it belongs to an unrelated owner; it cannot be a vendor suffix, list the product's exact hosts instead"
        ));
    }
    None
}

/// Accumulates vendors and lookup tables while files are read.
#[derive(Default)]
struct Builder {
    vendors: Vec<Vendor>,
    products: Vec<Product>,
    exact: HashMap<String, ProductId>,
    templated: HashMap<String, (String, String)>,
    patterns: Vec<(Vec<String>, ProductId)>,
    suffixes: HashMap<String, ProductId>,
    ranges: Vec<(IpNet, ProductId)>,
    /// `kind:key` -> who claimed it, to refuse double claims.
    owner: HashMap<String, String>,
    region_lists: HashMap<String, BTreeMap<String, String>>,
}

impl Builder {
    fn add_file(&mut self, label: &str, file: VendorsFile) -> Result<()> {
        let bad = |msg: String| Error::config(label, msg);
        for list in file.region_list {
            if list.sources.is_empty() {
                return Err(bad(format!("region_list `{}` has no sources", list.id)));
            }
            for (region, country) in &list.regions {
                if !is_alpha2(country) {
                    return Err(bad(format!(
                        "region_list `{}`: region `{region}` has country `{country}`, not an ISO alpha-2 code",
                        list.id
                    )));
                }
            }
            if self
                .region_lists
                .insert(list.id.clone(), list.regions)
                .is_some()
            {
                return Err(bad(format!("region_list `{}` is defined twice", list.id)));
            }
        }
        for v in file.vendor {
            self.add_vendor(label, v)?;
        }
        Ok(())
    }

    fn add_vendor(&mut self, label: &str, v: VendorEntry) -> Result<()> {
        let bad = |msg: String| Error::config(label, msg);
        let existing = self.vendors.iter().position(|x| x.id == v.id);
        if existing.is_some() && label_of_vendor_is_same_file(&self.owner, &v.id, label) {
            return Err(bad(format!("vendor `{}` is defined twice", v.id)));
        }
        if v.sources.is_empty() {
            return Err(bad(format!("vendor `{}` has no sources", v.id)));
        }
        if !is_alpha2(&v.hq_country) {
            return Err(bad(format!(
                "vendor `{}`: hq_country must be ISO alpha-2",
                v.id
            )));
        }
        if let Some(c) = &v.importer_country {
            if !is_alpha2(c) {
                return Err(bad(format!(
                    "vendor `{}`: importer_country must be ISO alpha-2",
                    v.id
                )));
            }
        }
        if !["yes", "no", "n/a", "unverified"].contains(&v.dpf_certified.as_str()) {
            return Err(bad(format!(
                "vendor `{}`: dpf_certified must be yes, no, n/a or unverified",
                v.id
            )));
        }
        self.owner
            .entry(format!("vendor:{}", v.id))
            .or_insert_with(|| label.to_string());
        let vendor_index = match existing {
            Some(i) => i,
            None => {
                self.vendors.push(Vendor {
                    id: v.id.clone(),
                    name: v.name.clone(),
                    importer_country: v
                        .importer_country
                        .clone()
                        .unwrap_or_else(|| v.hq_country.clone()),
                    importer_entity: v.importer_entity.clone(),
                    hq_country: v.hq_country.clone(),
                    dpf_certified: v.dpf_certified.clone(),
                    sources: v.sources.clone(),
                    corroborating_hosts: v.corroborating_hosts.clone(),
                });
                self.vendors.len() - 1
            }
        };
        for p in v.product {
            self.add_product(label, &v.id, vendor_index, p)?;
        }
        Ok(())
    }

    fn add_product(
        &mut self,
        label: &str,
        vendor_id: &str,
        vendor_index: usize,
        p: ProductEntry,
    ) -> Result<()> {
        let where_ = format!("vendor `{vendor_id}` product `{}`", p.id);
        let bad = |msg: String| Error::config(label, format!("{where_}: {msg}"));
        if self
            .products
            .iter()
            .any(|x| x.vendor == vendor_index && x.id == p.id)
        {
            return Err(bad("the product is defined twice".into()));
        }
        if !CATEGORIES.contains(&p.category.as_str()) {
            return Err(bad(format!(
                "category `{}` is not one of {}",
                p.category,
                CATEGORIES.join(", ")
            )));
        }
        if p.category == "gateway" && p.upstream_question.as_deref().unwrap_or("").is_empty() {
            return Err(bad(
                "a gateway needs `upstream_question`: what to ask the relay about its upstream providers".into(),
            ));
        }
        let pid = ProductId::try_from(self.products.len())
            .map_err(|_| bad("too many products".into()))?;
        let mut hosts = Vec::new();
        for h in p.hosts {
            let h = self.claim(label, &where_, h, "host")?;
            self.exact.insert(h.clone(), pid);
            hosts.push(h);
        }
        let mut regions = p.regions;
        for t in p.host_templates {
            let template = normalise_template(&t.template);
            if template.matches("{region}").count() != 1 {
                return Err(bad(format!(
                    "host template `{}` must contain `{{region}}` exactly once",
                    t.template
                )));
            }
            let Some(list) = self.region_lists.get(&t.regions).cloned() else {
                return Err(bad(format!(
                    "host template `{}` names the unknown region_list `{}`",
                    t.template, t.regions
                )));
            };
            for (region, country) in list {
                let host = template.replace("{region}", &region);
                let host = self.claim(label, &where_, host, "host")?;
                self.exact.insert(host.clone(), pid);
                self.templated
                    .insert(host.clone(), (template.clone(), region.clone()));
                regions.entry(host.clone()).or_insert(country);
                hosts.push(host);
            }
        }
        let mut host_patterns = Vec::new();
        for pat in p.host_patterns {
            let pat = self.claim(label, &where_, pat, "pattern")?;
            let labels: Vec<String> = pat.split('.').map(str::to_string).collect();
            if labels.iter().all(|l| l == "*") || labels.iter().any(|l| l.contains('*') && l != "*")
            {
                return Err(bad(format!(
                    "pattern `{pat}` must use `*` for whole labels only"
                )));
            }
            // `*.<public suffix>` or `*.<shared apex>` would match every tenant.
            let rest = labels
                .iter()
                .skip_while(|l| *l == "*")
                .cloned()
                .collect::<Vec<_>>()
                .join(".");
            if labels[0] == "*"
                && labels[1..].iter().all(|l| l != "*")
                && (SHARED_APEXES.contains(&rest.as_str())
                    || psl::domain(rest.as_bytes()).is_none())
            {
                return Err(bad(format!(
                    "pattern `{pat}` would match every name directly under the shared apex or public suffix `{rest}`"
                )));
            }
            self.patterns.push((labels, pid));
            host_patterns.push(pat);
        }
        let mut suffixes = Vec::new();
        for s in p.suffixes {
            let s = self.claim(label, &where_, s, "suffix")?;
            if let Some(why) = suffix_refusal(&s) {
                return Err(bad(why));
            }
            self.suffixes.insert(s.clone(), pid);
            suffixes.push(s);
        }
        for (key, country) in &regions {
            if !is_alpha2(country) {
                return Err(bad(format!(
                    "region of `{key}` is `{country}`, not an ISO alpha-2 code"
                )));
            }
        }
        let mut processing = BTreeMap::new();
        for (key, scope) in p.processing {
            let Some(parsed) = ProcessingScope::parse(&scope) else {
                return Err(bad(format!(
                    "processing scope `{scope}` of `{key}` is not one of {}",
                    ProcessingScope::ALL.map(|s| s.as_str()).join(", ")
                )));
            };
            processing.insert(normalise(&key), parsed);
        }
        let mut nets = Vec::new();
        for r in p.ip_ranges {
            let net: IpNet = r.parse().map_err(|_| bad(format!("`{r}` is not a CIDR")))?;
            if net.trunc() != net {
                return Err(bad(format!("`{r}` has host bits set")));
            }
            if let Some((_, other)) = self.ranges.iter().find(|(n, _)| *n == net) {
                let other = &self.products[usize::from(*other)];
                return Err(bad(format!(
                    "range {net} is already claimed by product `{}`",
                    other.id
                )));
            }
            self.ranges.push((net, pid));
            nets.push(net);
        }
        self.products.push(Product {
            vendor: vendor_index,
            id: p.id,
            name: p.name,
            category: p.category,
            confidence: p.confidence,
            regions,
            processing,
            upstream_question: p.upstream_question,
            sources: p.sources,
            notes: p.notes,
            ip_ranges: nets,
            hosts,
            host_patterns,
            suffixes,
        });
        Ok(())
    }

    /// Record that `where_` (in file `label`) claims `key` as a `what`, refusing a key that
    /// is not a hostname or that another entry already claims.
    fn claim(&mut self, label: &str, where_: &str, key: String, what: &str) -> Result<String> {
        let key = normalise(&key);
        if key.is_empty() || key.contains('/') || key.contains(':') {
            return Err(Error::config(
                label,
                format!("{where_}: `{key}` is not a hostname"),
            ));
        }
        let claimant = format!("{where_} in {label}");
        if let Some(prev) = self.owner.insert(format!("{what}:{key}"), claimant) {
            return Err(Error::config(
                label,
                format!("{where_}: {what} `{key}` is already claimed by {prev}"),
            ));
        }
        Ok(key)
    }
}

/// Whether the vendor id was first defined in the same file (a true duplicate) rather
/// than in a base file that an extra file extends.
fn label_of_vendor_is_same_file(owner: &HashMap<String, String>, id: &str, label: &str) -> bool {
    owner
        .get(&format!("vendor:{id}"))
        .is_some_and(|first| first == label)
}

fn is_alpha2(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// Lower-case a template and strip a trailing dot, keeping the `{region}` placeholder.
fn normalise_template(t: &str) -> String {
    t.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn normalise(s: &str) -> String {
    xborder_model::schema::normalise_hostname(s)
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

#[cfg(test)]
mod catalog_2026_12 {
    use super::*;
    use crate::classify::embedded;

    fn catalog() -> VendorCatalog {
        VendorCatalog::load(
            &CatalogText::load(None, "data/vendors.toml", embedded::VENDORS).unwrap(),
        )
        .unwrap()
    }

    fn ids(c: &VendorCatalog, host: &str) -> Option<(String, String)> {
        c.match_host(host)
            .map(|p| (c.vendor_of(p).id.clone(), c.product(p).id.clone()))
    }

    /// Real endpoints of current AI coding tools and APIs, each from the source the
    /// catalog cites, with the vendor and product they must be attributed to.
    #[test]
    fn documented_ai_hosts_are_attributed_to_the_right_product() {
        let c = catalog();
        for (host, vendor, product) in [
            ("comate.baidu.com", "baidu", "comate"),
            ("dashscope.aliyuncs.com", "alibaba", "model-studio"),
            ("dashscope-intl.aliyuncs.com", "alibaba", "model-studio"),
            ("dashscope-us.aliyuncs.com", "alibaba", "model-studio"),
            (
                "cn-hongkong.dashscope.aliyuncs.com",
                "alibaba",
                "model-studio",
            ),
            (
                "ws-1a2b.eu-central-1.maas.aliyuncs.com",
                "alibaba",
                "model-studio",
            ),
            (
                "trial.ap-northeast-1.maas.aliyuncs.com",
                "alibaba",
                "model-studio",
            ),
            ("ws9.us-east-1.maas.aliyuncs.com", "alibaba", "model-studio"),
            (
                "coding.dashscope.aliyuncs.com",
                "alibaba",
                "model-studio-coding-plan",
            ),
            ("portal.qwen.ai", "alibaba", "qwen-code"),
            ("api.qoder.com.cn", "alibaba", "qoder-cn"),
            ("gateway.qoder.com.cn", "alibaba", "qoder-cn"),
            ("qoder.com.cn", "alibaba", "qoder-cn"),
            ("lingma.alibabacloud.com", "alibaba", "lingma"),
            ("lingma-api.tongyi.aliyun.com", "alibaba", "lingma"),
            ("api-inference.modelscope.cn", "alibaba", "modelscope"),
            ("qoder.com", "qoder", "qoder"),
            ("api.kimi.com", "moonshot", "kimi-code"),
            ("code.kimi.com", "moonshot", "kimi-code"),
            ("kimi.com", "moonshot", "kimi-chat"),
            ("chat.z.ai", "zhipu", "chatglm"),
            ("api.z.ai", "zhipu", "glm-api"),
            ("aida.googleapis.com", "google", "jules"),
            (
                "cloudcode-pa.googleapis.com",
                "google",
                "gemini-code-assist",
            ),
            (
                "europe-west3-aiplatform.googleapis.com",
                "google",
                "vertex-ai",
            ),
            (
                "us-central1-aiplatform.googleapis.com",
                "google",
                "vertex-ai",
            ),
            ("aiplatform.googleapis.com", "google", "vertex-ai"),
            ("q.eu-central-1.amazonaws.com", "amazon", "q-developer"),
            ("kiro.dev", "amazon", "kiro"),
            (
                "bedrock-runtime.eu-central-1.amazonaws.com",
                "amazon",
                "bedrock",
            ),
            (
                "bedrock-runtime.us-west-2.amazonaws.com",
                "amazon",
                "bedrock",
            ),
            ("bedrock-mantle.us-east-2.api.aws", "amazon", "bedrock"),
            ("myres.openai.azure.com", "microsoft", "azure-openai"),
            ("myres.services.ai.azure.com", "microsoft", "azure-openai"),
            (
                "proj-resource.cognitiveservices.azure.com",
                "microsoft",
                "azure-openai",
            ),
            ("ark.cn-beijing.volces.com", "bytedance", "ark"),
            (
                "ark.ap-southeast.bytepluses.com",
                "bytedance",
                "byteplus-modelark",
            ),
            ("trae-api-sg.mchost.guru", "bytedance", "trae"),
            ("copilot.tencent.com", "tencent", "codebuddy"),
            ("api.hunyuan.cloud.tencent.com", "tencent", "hunyuan-api"),
            ("cody-gateway.sourcegraph.com", "sourcegraph", "cody"),
            ("tenant7.api.augmentcode.com", "augment", "augment"),
            ("evs.grdt.augmentcode.com", "augment", "augment-telemetry"),
            ("openrouter.ai", "openrouter", "openrouter"),
            ("api.poe.com", "poe", "poe"),
            ("api.groq.com", "groq", "groq-api"),
            ("api.together.xyz", "together", "together-api"),
            ("api.fireworks.ai", "fireworks", "fireworks-api"),
            ("api.deepinfra.com", "deepinfra", "deepinfra-api"),
            ("api.siliconflow.cn", "siliconflow", "siliconflow-api"),
            ("api.stepfun.com", "stepfun", "stepfun-api"),
            ("api.sensenova.cn", "sensetime", "sensenova-api"),
            ("api.lingyiwanwu.com", "01ai", "yi-api"),
            ("api.baichuan-ai.com", "baichuan", "baichuan-api"),
            ("aihubmix.com", "aihubmix", "aihubmix"),
            (
                "api.app.prod.grazie.aws.intellij.net",
                "jetbrains-ai",
                "jetbrains-ai",
            ),
            ("hunyuan.tencentcloudapi.com", "tencent", "hunyuan-api"),
            ("hunyuan.intl.tencentcloudapi.com", "tencent", "hunyuan-api"),
            ("codegeex.cn", "zhipu", "codegeex"),
            ("api.continue.dev", "continue", "continue-hub"),
            ("ampcode.com", "sourcegraph", "amp"),
            ("app.devin.ai", "windsurf", "devin"),
            ("app.coderabbit.ai", "coderabbit", "coderabbit"),
            ("gateway.ai.cloudflare.com", "cloudflare", "ai-gateway"),
            ("integrate.api.nvidia.com", "nvidia", "nim-api"),
            ("www.meta.ai", "meta", "meta-ai"),
            ("api.302.ai", "302ai", "302ai"),
            ("www.dmxapi.cn", "dmxapi", "dmxapi"),
        ] {
            assert_eq!(
                ids(&c, host),
                Some((vendor.to_string(), product.to_string())),
                "{host}"
            );
        }
    }

    /// Hosts of the same companies that carry no AI traffic of their own, and hosting
    /// domains whose names belong to users' apps.
    #[test]
    fn non_ai_and_user_hosted_names_are_not_attributed() {
        let c = catalog();
        for host in [
            "www.aliyun.com",
            "oss-cn-beijing.aliyuncs.com",
            "ecs.eu-central-1.aliyuncs.com",
            "www.alibabacloud.com",
            "g.alicdn.com",
            "ec2.eu-central-1.amazonaws.com",
            "s3.eu-central-1.amazonaws.com",
            "storage.googleapis.com",
            "europe-west3-run.googleapis.com",
            "myaccount.blob.core.windows.net",
            "www.jetbrains.com",
            "plugins.jetbrains.com",
            "www.volcengine.com",
            "console.byteplus.com",
            "cloud.tencent.com",
            "www.baidu.com",
            "sourcegraph.com",
            "someone.hf.space",
            "my-site.windsurf.build",
            "bot1.cozeapp.net",
            "preview.mcprev.cn",
            "app.mcbaas.work",
            "other.mchost.guru",
            "someone.replit.app",
            "mybucket.s3.amazonaws.com",
            "artifact.claudeusercontent.com",
            "app.ai.studio",
            "www.bbc.co.uk",
            "cvm.tencentcloudapi.com",
            "download.jetbrains.com",
            "account.jetbrains.com",
            "www.intellij.net",
            "www.cloudflare.com",
            "dash.cloudflare.com",
            "www.nvidia.com",
            "www.facebook.com",
        ] {
            assert_eq!(ids(&c, host), None, "{host}");
        }
    }

    #[test]
    fn templated_hosts_carry_their_region_country() {
        let c = catalog();
        for (host, country) in [
            ("europe-west3-aiplatform.googleapis.com", "DE"),
            ("asia-east2-aiplatform.googleapis.com", "HK"),
            ("bedrock-runtime.eu-west-1.amazonaws.com", "IE"),
            ("bedrock-mantle.ap-northeast-1.api.aws", "JP"),
            ("cn-hongkong.dashscope.aliyuncs.com", "HK"),
            ("w1.eu-central-1.maas.aliyuncs.com", "DE"),
        ] {
            let p = c.match_host(host).unwrap();
            assert_eq!(c.region_for(p, host), Some(country), "{host}");
        }
        let (_, rule) = c
            .explain_host("europe-west3-aiplatform.googleapis.com")
            .unwrap();
        assert_eq!(
            rule,
            MatchRule::Template {
                template: "{region}-aiplatform.googleapis.com".into(),
                region: "europe-west3".into()
            }
        );
    }

    #[test]
    fn processing_scopes_follow_the_deployment_scope_of_each_region() {
        let c = catalog();
        let scope = |h: &str| c.processing_for(c.match_host(h).unwrap(), h);
        assert_eq!(
            scope("dashscope.aliyuncs.com"),
            Some(ProcessingScope::MainlandCn)
        );
        assert_eq!(
            scope("dashscope-intl.aliyuncs.com"),
            Some(ProcessingScope::InternationalExclCn)
        );
        for h in [
            "dashscope-us.aliyuncs.com",
            "cn-hongkong.dashscope.aliyuncs.com",
            "ws1.eu-central-1.maas.aliyuncs.com",
        ] {
            assert_eq!(scope(h), Some(ProcessingScope::GlobalInclCn), "{h}");
        }
        assert_eq!(scope("api.openai.com"), None);
    }

    #[test]
    fn wrong_products_of_the_audit_are_fixed() {
        let c = catalog();
        let product = |h: &str| c.product(c.match_host(h).unwrap()).clone();
        assert_eq!(product("portal.qwen.ai").category, "coding-assistant");
        assert_eq!(product("api.kimi.com").category, "coding-assistant");
        assert_eq!(product("aida.googleapis.com").id, "jules");
        assert!(product("q.us-east-1.amazonaws.com").name.contains("Kiro"));
        assert_eq!(product("chat.z.ai").category, "chat");
        assert!(product("lingma.alibabacloud.com")
            .notes
            .unwrap()
            .contains("two service sites"));
    }

    #[test]
    fn qoder_international_is_not_a_prc_vendor() {
        let c = catalog();
        let p = c.match_host("qoder.com").unwrap();
        assert_eq!(c.vendor_of(p).hq_country, "SG");
        let p = c.match_host("api.qoder.com.cn").unwrap();
        assert_eq!(c.vendor_of(p).hq_country, "CN");
    }

    #[test]
    fn every_gateway_carries_its_question_and_every_entry_is_sourced() {
        let c = catalog();
        let gateways: Vec<&Product> = c
            .products
            .iter()
            .filter(|p| p.category == "gateway")
            .collect();
        assert!(gateways.len() >= 10);
        for p in gateways {
            assert!(
                p.upstream_question
                    .as_deref()
                    .is_some_and(|q| q.ends_with('?')),
                "{}",
                p.id
            );
        }
        for p in &c.products {
            let vendor = &c.vendors[p.vendor];
            assert!(
                p.sources
                    .iter()
                    .chain(&vendor.sources)
                    .all(|s| !s.url.is_empty() && !s.as_of.is_empty())
                    && !vendor.sources.is_empty(),
                "{}",
                p.id
            );
        }
        assert_eq!(c.identity.as_of, "2026-12-05");
    }

    fn minimal(products: &str) -> CatalogText {
        CatalogText {
            label: "extra.toml".into(),
            text: format!("[catalog]\nname='t'\nversion='1'\nas_of='2026-12-01'\n[[vendor]]\nid='x'\nname='X'\nhq_country='US'\ndpf_certified='no'\nsources=[{{url='u',as_of='2026'}}]\n{products}"),
        }
    }

    #[test]
    fn public_suffixes_and_platform_suffixes_are_refused_at_load() {
        for suffix in [
            "co.uk",
            "s3.amazonaws.com",
            "hf.space",
            "github.io",
            "com.cn",
            "vercel.app",
        ] {
            let e = VendorCatalog::load(&minimal(&format!(
                "[[vendor.product]]\nid='p'\nname='P'\ncategory='api'\nconfidence='documented'\nsuffixes=['{suffix}']\n"
            )))
            .unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("extra.toml") && msg.contains("product `p`") && msg.contains(suffix),
                "{msg}"
            );
        }
        // A dedicated apex directly under a registry suffix stays allowed.
        VendorCatalog::load(&minimal(
            "[[vendor.product]]\nid='p'\nname='P'\ncategory='api'\nconfidence='documented'\nsuffixes=['qoder.com.cn']\n",
        ))
        .unwrap();
        // A one-label wildcard straight under a shared apex is refused too.
        let e = VendorCatalog::load(&minimal(
            "[[vendor.product]]\nid='p'\nname='P'\ncategory='api'\nconfidence='documented'\nhost_patterns=['*.amazonaws.com']\n",
        ))
        .unwrap_err();
        assert!(
            e.to_string().contains("shared apex or public suffix"),
            "{e}"
        );
    }

    #[test]
    fn templates_need_one_placeholder_and_a_known_region_list() {
        let e = VendorCatalog::load(&minimal(
            "[[vendor.product]]\nid='p'\nname='P'\ncategory='api'\nconfidence='documented'\nhost_templates=[{template='api.example', regions='r'}]\n",
        ))
        .unwrap_err();
        assert!(e.to_string().contains("exactly once"), "{e}");
        let e = VendorCatalog::load(&minimal(
            "[[vendor.product]]\nid='p'\nname='P'\ncategory='api'\nconfidence='documented'\nhost_templates=[{template='{region}.api.example', regions='nope'}]\n",
        ))
        .unwrap_err();
        assert!(e.to_string().contains("unknown region_list `nope`"), "{e}");
        let e = VendorCatalog::load(&minimal(
            "[[vendor.product]]\nid='g'\nname='G'\ncategory='gateway'\nconfidence='documented'\nhosts=['relay.example']\n",
        ))
        .unwrap_err();
        assert!(e.to_string().contains("upstream_question"), "{e}");
    }

    #[test]
    fn extras_add_on_top_and_cannot_steal_a_host() {
        let base = CatalogText::load(None, "data/vendors.toml", embedded::VENDORS).unwrap();
        let extra = minimal(
            "[[vendor.product]]\nid='relay'\nname='Corp relay'\ncategory='gateway'\nconfidence='documented'\nhosts=['llm.corp.example']\nupstream_question='Which upstreams?'\n",
        );
        let c = VendorCatalog::load_layered(&base, &[extra]).unwrap();
        assert_eq!(
            ids(&c, "llm.corp.example"),
            Some(("x".into(), "relay".into()))
        );
        assert_eq!(
            ids(&c, "api.openai.com"),
            Some(("openai".into(), "openai-api".into()))
        );
        assert_eq!(c.extra_identities.len(), 1);
        let steal = minimal(
            "[[vendor.product]]\nid='p'\nname='P'\ncategory='api'\nconfidence='documented'\nhosts=['api.openai.com']\n",
        );
        let e = VendorCatalog::load_layered(&base, &[steal]).unwrap_err();
        assert!(
            e.to_string().contains("already claimed by vendor `openai`"),
            "{e}"
        );
    }
}

#[cfg(test)]
mod never_a_suffix {
    use super::*;

    /// Domain-like words (two or more labels, a letter in the last) of a sentence.
    fn domains(sentence: &str) -> Vec<String> {
        sentence
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
            .map(|w| w.trim_matches('.').to_ascii_lowercase())
            .filter(|w| {
                w.contains('.')
                    && w.rsplit('.').next().is_some_and(|tld| {
                        tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_lowercase())
                    })
            })
            .collect()
    }

    /// Every apex a catalog note calls "never a suffix" (or "never suffixes", "never used as
    /// a suffix") is refused as a suffix by the loader, not only by the note.
    #[test]
    fn every_never_a_suffix_note_is_enforced() {
        let text = super::super::embedded::VENDORS;
        let mut checked = 0;
        for line in text
            .lines()
            .filter(|l| l.contains("never") && l.contains("suffix"))
        {
            for sentence in line.split("; ").flat_map(|s| s.split(". ")) {
                if !(sentence.contains("never") && sentence.contains("suffix")) {
                    continue;
                }
                // Names after "only" in the same sentence are the exact hosts kept.
                let claimed = sentence.split(" only ").next().unwrap_or(sentence);
                for d in domains(claimed) {
                    assert!(
                        suffix_refusal(&d).is_some(),
                        "`{d}` is called never a suffix but the loader would accept it"
                    );
                    checked += 1;
                }
            }
        }
        assert!(
            checked >= 6,
            "only {checked} apexes found in never-a-suffix notes"
        );
    }
}
