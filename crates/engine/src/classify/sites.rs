//! Sites: which office a source address belongs to, by longest-prefix match on the
//! organisation's own CIDRs.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use serde::Deserialize;

use super::countries::Countries;
use xborder_model::error::{Error, Result};

/// A site CIDR as the flow addresses it must match are held: readers turn IPv4-mapped
/// IPv6 addresses (`::ffff:10.1.2.3`) into IPv4, so `::ffff:10.10.0.0/112` becomes
/// `10.10.0.0/16`; a prefix that covers mapped and other IPv6 space together cannot be
/// matched as written and is refused.
fn canonical_net(net: IpNet) -> std::result::Result<IpNet, String> {
    let IpNet::V6(v6) = net else {
        return Ok(net);
    };
    match v6.addr().to_ipv4_mapped() {
        Some(v4) if v6.prefix_len() >= 96 => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
            .map(IpNet::V4)
            .map_err(|e| e.to_string()),
        Some(_) => Err(format!(
            "an IPv4-mapped prefix shorter than /96 mixes IPv4 and IPv6 space; write the IPv4 CIDR (for example {}/{})",
            v6.addr().to_ipv4_mapped().map_or_else(String::new, |a| a.to_string()),
            v6.prefix_len().saturating_sub(96)
        )),
        None => Ok(net),
    }
}

/// The site label given to egress whose source matches no configured site.
pub const UNKNOWN_SITE: &str = "unknown_site";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SitesFile {
    #[serde(default)]
    site: Vec<SiteEntry>,
    /// Addresses (or CIDRs) of web proxies and gateways whose upstream flows the proxy
    /// logs account for.
    #[serde(default)]
    proxies: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteEntry {
    name: String,
    country: String,
    cidrs: Vec<String>,
    #[serde(default)]
    description: Option<String>,
    /// IANA time zone name (`Asia/Shanghai`); UTC when absent.
    #[serde(default)]
    timezone: Option<String>,
}

/// A named office with its ISO 3166 country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub name: String,
    pub country: String,
    pub description: Option<String>,
    pub cidrs: Vec<IpNet>,
    /// The site's own time zone: policy dates (`effective_from = "2026-07-10"`) start at
    /// local midnight here. UTC when the sites file names none.
    pub timezone: chrono_tz::Tz,
}

/// All sites, with prefixes ordered longest first so the first hit is the longest match.
#[derive(Debug, Clone, Default)]
pub struct Sites {
    pub sites: Vec<Site>,
    prefixes: Vec<(IpNet, usize)>,
    /// Declared web proxies (`proxies = [...]`): flows from them to the internet are the
    /// upstream legs of requests their own logs count.
    pub proxies: Vec<IpNet>,
    /// Where the sites came from, for run.json; `None` when no file was given.
    pub source: Option<String>,
    pub sha256: Option<String>,
    /// Entries that were read, but perhaps not as meant (a CIDR with host bits set).
    pub warnings: Vec<String>,
}

impl Sites {
    pub fn load(path: &Path, countries: &Countries) -> Result<Self> {
        let label = path.display().to_string();
        let bytes = xborder_model::fsio::read_regular(path)?;
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| Error::config(&label, "file is not UTF-8"))?;
        let mut sites = Self::parse(&label, &text, countries)?;
        sites.source = Some(label);
        sites.sha256 = Some(xborder_model::hash::sha256_bytes(&bytes));
        Ok(sites)
    }

    pub fn parse(label: &str, text: &str, countries: &Countries) -> Result<Self> {
        let file: SitesFile = super::parse_toml(label, text)?;
        let mut sites = Vec::new();
        let mut prefixes = Vec::new();
        let mut warnings = Vec::new();
        for (i, entry) in file.site.into_iter().enumerate() {
            let name = entry.name.trim().to_string();
            if name.is_empty()
                || name == UNKNOWN_SITE
                || name.starts_with(['=', '+', '-', '@'])
                || name.chars().any(char::is_control)
            {
                return Err(Error::config(
                    label,
                    format!(
                        "site #{} has an empty, reserved or unsafe name `{name}` (names may not start with = + - @)",
                        i + 1
                    ),
                ));
            }
            if sites.iter().any(|s: &Site| s.name == name) {
                return Err(Error::config(
                    label,
                    format!("site `{name}` is defined twice"),
                ));
            }
            let country = entry.country.trim().to_ascii_uppercase();
            if !countries.contains(&country) {
                return Err(Error::config(
                    label,
                    format!(
                        "site `{name}`: country `{}` is not an ISO 3166 alpha-2 code",
                        entry.country
                    ),
                ));
            }
            let mut cidrs = Vec::new();
            for raw in &entry.cidrs {
                let parsed: IpNet = raw.trim().parse().map_err(|_| {
                    Error::config(label, format!("site `{name}`: `{raw}` is not a CIDR"))
                })?;
                let net = canonical_net(parsed).map_err(|why| {
                    Error::config(label, format!("site `{name}`: `{raw}`: {why}"))
                })?;
                if net.addr() != net.network() {
                    warnings.push(format!(
                        "{label}: site `{name}`: `{raw}` has host bits set; read as {}",
                        net.trunc()
                    ));
                }
                let net = net.trunc();
                if let Some((_, other)) = prefixes.iter().find(|(p, _)| *p == net) {
                    let other: &Site = &sites[*other];
                    return Err(Error::config(
                        label,
                        format!(
                            "site `{name}`: {net} is also claimed by site `{}`",
                            other.name
                        ),
                    ));
                }
                prefixes.push((net, sites.len()));
                cidrs.push(net);
            }
            let timezone = match entry.timezone.as_deref().map(str::trim) {
                None => chrono_tz::UTC,
                Some(tz) => tz.parse::<chrono_tz::Tz>().map_err(|_| {
                    Error::config(
                        label,
                        format!(
                            "site `{name}`: timezone `{tz}` is not an IANA time zone name such as Asia/Shanghai or Europe/Dublin"
                        ),
                    )
                })?,
            };
            sites.push(Site {
                name,
                country,
                description: entry.description,
                cidrs,
                timezone,
            });
        }
        if sites.len() >= usize::from(u16::MAX) {
            return Err(Error::config(
                label,
                format!("{} sites; at most 65534 are supported", sites.len()),
            ));
        }
        prefixes.sort_by(|a, b| b.0.prefix_len().cmp(&a.0.prefix_len()).then(a.0.cmp(&b.0)));
        let mut proxies = Vec::with_capacity(file.proxies.len());
        for raw in &file.proxies {
            let raw = raw.trim();
            let net: IpNet = match raw.parse::<IpAddr>() {
                Ok(ip) => IpNet::from(ip.to_canonical()),
                Err(_) => raw.parse::<IpNet>().map(|n| n.trunc()).map_err(|_| {
                    Error::config(
                        label,
                        format!("proxies: `{raw}` is not an address or a CIDR"),
                    )
                })?,
            };
            proxies.push(net);
        }
        Ok(Sites {
            sites,
            prefixes,
            proxies,
            source: None,
            sha256: None,
            warnings,
        })
    }

    /// The site whose most specific prefix contains `ip`.
    pub fn lookup(&self, ip: IpAddr) -> Option<&Site> {
        self.prefixes
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, i)| &self.sites[*i])
    }

    pub fn index_of(&self, ip: IpAddr) -> Option<usize> {
        self.prefixes
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, i)| *i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{embedded, CatalogText};

    fn countries() -> Countries {
        Countries::load(&CatalogText::load(None, "c", embedded::COUNTRIES).unwrap()).unwrap()
    }

    #[test]
    fn longest_prefix_wins() {
        let text = r#"
[[site]]
name = "hangzhou"
country = "CN"
cidrs = ["10.10.0.0/16", "fd10::/16"]
[[site]]
name = "hangzhou-lab"
country = "cn"
cidrs = ["10.10.5.0/24"]
"#;
        let s = Sites::parse("t", text, &countries()).unwrap();
        assert_eq!(
            s.lookup("10.10.5.9".parse().unwrap()).unwrap().name,
            "hangzhou-lab"
        );
        assert_eq!(
            s.lookup("10.10.6.9".parse().unwrap()).unwrap().name,
            "hangzhou"
        );
        assert_eq!(s.lookup("fd10::1".parse().unwrap()).unwrap().country, "CN");
        assert!(s.lookup("10.11.0.1".parse().unwrap()).is_none());
    }

    #[test]
    fn errors_name_the_problem() {
        let c = countries();
        let e = Sites::parse(
            "sites.toml",
            "[[site]]\nname='a'\ncountry='XX'\ncidrs=[]\n",
            &c,
        )
        .unwrap_err();
        assert!(e.to_string().contains("XX"), "{e}");
        let e = Sites::parse(
            "sites.toml",
            "[[site]]\nname='a'\ncountry='DE'\ncidrs=['10.0.0.0/33']\n",
            &c,
        )
        .unwrap_err();
        assert!(e.to_string().contains("10.0.0.0/33"), "{e}");
        let e = Sites::parse("sites.toml", "[[site]]\nname='a'\ncountry='DE'\ncidrs=['10.0.0.0/8']\n[[site]]\nname='b'\ncountry='DE'\ncidrs=['10.0.0.0/8']\n", &c).unwrap_err();
        assert!(e.to_string().contains("also claimed"), "{e}");
        let e = Sites::parse("sites.toml", "[[site]]\nname='a'\n", &c).unwrap_err();
        assert!(e.to_string().contains("sites.toml"), "{e}");
        let e = Sites::parse(
            "sites.toml",
            "[[site]]\nname='a'\ncountry='CN'\ncidrs=[]\ntimezone='Asia/Beijing'\n",
            &c,
        )
        .unwrap_err();
        assert!(e.to_string().contains("Asia/Beijing"), "{e}");
    }

    #[test]
    fn timezone_is_an_iana_name_and_defaults_to_utc() {
        let c = countries();
        let s = Sites::parse("t", "[[site]]\nname='a'\ncountry='CN'\ncidrs=[]\ntimezone='Asia/Shanghai'\n[[site]]\nname='b'\ncountry='IE'\ncidrs=[]\n", &c).unwrap();
        assert_eq!(s.sites[0].timezone, chrono_tz::Asia::Shanghai);
        assert_eq!(s.sites[1].timezone, chrono_tz::UTC);
    }

    #[test]
    fn proxy_entries_are_checked() {
        let c = countries();
        let e = Sites::parse("sites.toml", "proxies = ['10.0.0.300']\n", &c).unwrap_err();
        assert!(e.to_string().contains("10.0.0.300"), "{e}");
    }

    #[test]
    fn proxies_are_addresses_or_networks() {
        let s = Sites::parse(
            "t",
            "proxies = ['10.9.0.10', '198.51.100.0/24']\n[[site]]\nname='a'\ncountry='DE'\ncidrs=['10.0.0.0/8']\n",
            &countries(),
        )
        .unwrap();
        assert_eq!(s.proxies.len(), 2);
        assert!(s.proxies[0].contains(&"10.9.0.10".parse::<IpAddr>().unwrap()));
        assert!(s.proxies[1].contains(&"198.51.100.77".parse::<IpAddr>().unwrap()));
    }

    /// An IPv4-mapped IPv6 CIDR matches the IPv4 addresses readers produce; a mapped
    /// prefix shorter than /96 is refused; host bits are read as the network, with a
    /// warning.
    #[test]
    fn mapped_and_sloppy_cidrs() {
        let c = countries();
        let s = Sites::parse(
            "sites.toml",
            "[[site]]\nname='hz'\ncountry='CN'\ncidrs=['::ffff:10.10.0.0/112', '10.20.1.1/16']\n",
            &c,
        )
        .unwrap();
        assert_eq!(s.lookup("10.10.3.4".parse().unwrap()).unwrap().name, "hz");
        assert_eq!(s.lookup("10.20.9.9".parse().unwrap()).unwrap().name, "hz");
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(s.warnings[0].contains("10.20.0.0/16"), "{:?}", s.warnings);
        let e = Sites::parse(
            "sites.toml",
            "[[site]]\nname='hz'\ncountry='CN'\ncidrs=['::ffff:0.0.0.0/80']\n",
            &c,
        )
        .unwrap_err();
        assert!(e.to_string().contains("IPv4-mapped"), "{e}");
    }
}
