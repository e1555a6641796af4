//! Geolocate: destination address to ISO 3166 country, from a MaxMind-format database.
//!
//! Three record schemas are read: GeoIP2/GeoLite2 and DB-IP (`country.iso_code`, falling
//! back to `registered_country.iso_code`), ip-location-db (flat `country_code`) and IPinfo
//! (`country`). Lookups are memoised per distinct address by the caller.

pub mod special;

use std::borrow::Cow;
use std::net::IpAddr;
use std::path::Path;

use maxminddb::{PathElement, Reader};
use serde::Serialize;

use xborder_model::error::{Error, Result};
use xborder_model::hash::sha256_bytes;

pub use special::special_purpose;

/// The database shipped in data/geoip so the tool works out of the box.
pub const EMBEDDED_DB: &[u8] = include_bytes!("../../../../data/geoip/geo-whois-asn-country.mmdb");
pub const EMBEDDED_DB_NAME: &str = "embedded:data/geoip/geo-whois-asn-country.mmdb";

/// What run.json and the report say about the database used.
#[derive(Debug, Clone, Serialize)]
pub struct GeoIpIdentity {
    pub path: String,
    pub sha256: String,
    pub database_type: String,
    pub build_epoch: u64,
    pub build_date: String,
    pub ip_version: u16,
    pub description: String,
}

/// Where a destination was placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A special-purpose (internal, non-routable) address; never a destination abroad.
    Special(&'static str),
    /// ISO 3166 alpha-2 code (or the database's own `EU`/`AP` for unlocated blocks).
    Country(String),
    /// Public address absent from the database.
    Unknown,
}

pub struct GeoIp {
    reader: Reader<Cow<'static, [u8]>>,
    pub identity: GeoIpIdentity,
}

impl GeoIp {
    /// Open the user's database, or the embedded default when `path` is `None`.
    pub fn open(path: Option<&Path>) -> Result<Self> {
        let (bytes, label): (Cow<'static, [u8]>, String) = match path {
            Some(p) => (
                Cow::Owned(xborder_model::fsio::read_regular(p)?),
                p.display().to_string(),
            ),
            None => (Cow::Borrowed(EMBEDDED_DB), EMBEDDED_DB_NAME.to_string()),
        };
        let sha256 = sha256_bytes(&bytes);
        let reader = Reader::from_source(bytes).map_err(|e| Error::GeoIp {
            path: label.clone(),
            message: format!("not a readable MaxMind DB file: {e}"),
        })?;
        let m = reader.metadata();
        let build_date = chrono::DateTime::from_timestamp(m.build_epoch as i64, 0)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let description = m
            .description
            .get("en")
            .cloned()
            .or_else(|| m.description.values().next().cloned())
            .unwrap_or_default();
        let identity = GeoIpIdentity {
            path: label,
            sha256,
            database_type: m.database_type.clone(),
            build_epoch: m.build_epoch,
            build_date,
            ip_version: m.ip_version,
            description,
        };
        Ok(GeoIp { reader, identity })
    }

    /// Locate one address. Special-purpose addresses are classified without a lookup.
    pub fn locate(&self, ip: IpAddr) -> Location {
        if let Some(kind) = special_purpose(ip) {
            return Location::Special(kind);
        }
        let Ok(result) = self.reader.lookup(ip) else {
            return Location::Unknown;
        };
        if !result.has_data() {
            return Location::Unknown;
        }
        const PATHS: &[&[PathElement<'static>]] = &[
            &[PathElement::Key("country"), PathElement::Key("iso_code")],
            &[
                PathElement::Key("registered_country"),
                PathElement::Key("iso_code"),
            ],
            &[PathElement::Key("country_code")],
            &[PathElement::Key("country")],
        ];
        for path in PATHS {
            if let Ok(Some(code)) = result.decode_path::<String>(path) {
                let code = code.trim().to_ascii_uppercase();
                if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Location::Country(code);
                }
            }
        }
        Location::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_database_opens_and_locates() {
        let g = GeoIp::open(None).unwrap();
        assert_eq!(g.identity.ip_version, 6);
        assert!(!g.identity.database_type.is_empty());
        assert_eq!(
            g.locate("160.79.104.10".parse().unwrap()),
            Location::Country("US".into())
        );
        assert_eq!(
            g.locate("47.93.1.10".parse().unwrap()),
            Location::Country("CN".into())
        );
        assert_eq!(
            g.locate("10.1.2.3".parse().unwrap()),
            Location::Special("private")
        );
    }

    #[derive(Serialize)]
    struct GeoIp2Like {
        country: Option<IsoCode>,
        registered_country: Option<IsoCode>,
    }
    #[derive(Serialize)]
    struct IsoCode {
        iso_code: &'static str,
    }
    #[derive(Serialize)]
    struct IpInfoLike {
        country: &'static str,
    }

    fn db_with<T: Serialize>(entries: &[(&str, T)]) -> tempfile::NamedTempFile {
        let mut w = mmdb_writer::Writer::new("Test-Country");
        for (net, v) in entries {
            w.insert(net.parse::<ipnet::IpNet>().unwrap(), v).unwrap();
        }
        let bytes = w.to_bytes().unwrap();
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), bytes).unwrap();
        f
    }

    #[test]
    fn reads_geoip2_with_registered_country_fallback() {
        let f = db_with(&[
            (
                "8.8.8.0/24",
                GeoIp2Like {
                    country: Some(IsoCode { iso_code: "US" }),
                    registered_country: None,
                },
            ),
            (
                "9.9.9.0/24",
                GeoIp2Like {
                    country: None,
                    registered_country: Some(IsoCode { iso_code: "CH" }),
                },
            ),
        ]);
        let g = GeoIp::open(Some(f.path())).unwrap();
        assert_eq!(
            g.locate("8.8.8.8".parse().unwrap()),
            Location::Country("US".into())
        );
        assert_eq!(
            g.locate("9.9.9.9".parse().unwrap()),
            Location::Country("CH".into())
        );
        assert_eq!(g.locate("1.1.1.1".parse().unwrap()), Location::Unknown);
        assert_eq!(g.identity.database_type, "Test-Country");
    }

    #[test]
    fn reads_ipinfo_country_strings() {
        let f = db_with(&[("1.0.0.0/24", IpInfoLike { country: "au" })]);
        let g = GeoIp::open(Some(f.path())).unwrap();
        assert_eq!(
            g.locate("1.0.0.1".parse().unwrap()),
            Location::Country("AU".into())
        );
    }

    #[test]
    fn a_file_that_is_not_a_database_is_a_clear_error() {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), b"not a database").unwrap();
        let e = GeoIp::open(Some(f.path())).err().unwrap();
        assert!(e.to_string().contains("not a readable MaxMind DB"), "{e}");
    }
}
