//! The fold: attribute, classify and fold each accepted flow into partial groups.
//!
//! Flows stream past one at a time. Look-ups that depend only on an address or a name
//! (site, GeoIP country, vendor match, regimes) are memoised per distinct key, so the work
//! per flow is a few hash probes. Each flow lands in one partial group keyed by (day, site,
//! source, destination, product, method, hostname) for AI vendors, or (day, site, source,
//! country) for other egress; [`FlowState::rows`] turns the groups into table rows.
//! Attributed flows are reported through [`EvidenceSink`], which the report's evidence
//! writer implements: the fold never names a writer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};

use xborder_model::accounting::FlowBreakdown;
use xborder_model::error::{Error, Result};
use xborder_model::fasthash::FastMap;
use xborder_model::period::{day_date, day_of};
use xborder_model::schema::{ByteDirection, FlowRecord, Micros};

use crate::aggregate::org::OrgTracker;
use crate::aggregate::{self, FlowSum};
use crate::attribute::cascade::{self, Claim, Named};
use crate::attribute::{DnsHints, DnsIndex, DnsWindow, HostnameIndex, HostnameMatch, Method};
use crate::candidates::CandidateTracker;
use crate::classify::regimes::Recipient;
use crate::classify::sites::UNKNOWN_SITE;
use crate::classify::vendors::ProductId;
use crate::coverage::{CoverageTracker, DnsPresence};
use crate::geolocate::Location;
use crate::run::{AnalyzeOptions, Catalogs};

pub mod partial;
pub mod partial_files;
pub mod proxy;
pub mod shard;

/// Where the fold reports every attributed AI-vendor flow. The report's evidence spool
/// implements it (evidence.csv and evidence.parquet); a run without evidence passes
/// `None`. As ripgrep's searcher pushes matches through a sink, the fold never names the
/// writer, so a sharded or distributed run can collect rows its own way.
pub trait EvidenceSink {
    /// One evidence row; an error stops the run.
    fn attributed(&mut self, row: &EvidenceRow<'_>) -> Result<()>;

    /// `n` further sinks, one per fold shard running on its own thread, or `None` when
    /// this sink cannot take rows from several threads (the fold then runs in one shard).
    /// Each shard reports its rows in increasing [`EvidenceRow::seq`]; the sink writes
    /// the rows of all shards and of itself in `seq` order, so the output does not depend
    /// on how many shards there were.
    fn shards(&mut self, n: usize) -> Result<Option<Vec<&mut (dyn EvidenceSink + Send)>>> {
        let _ = n;
        Ok(None)
    }
}

/// The sink reborrowed for one call, so a loop can hand the same sink to every flow.
pub fn reborrow<'a>(
    evidence: &'a mut Option<&mut dyn EvidenceSink>,
) -> Option<&'a mut dyn EvidenceSink> {
    match evidence {
        Some(sink) => Some(&mut **sink),
        None => None,
    }
}

/// One attributed AI-vendor egress flow, as the fold reports it: the evidence row behind a
/// finding, with the input line it came from and the record that justified it.
#[derive(Debug, Clone)]
pub struct EvidenceRow<'a> {
    /// Position of the record in the run's single-threaded reading order: rows are written
    /// in this order whichever shard folded them.
    pub seq: u64,
    pub finding_id: &'a str,
    pub regimes: &'a str,
    pub file: u32,
    pub line: u64,
    pub ts: Micros,
    pub src_ip: IpAddr,
    pub src_port: Option<u16>,
    /// Unspecified (`0.0.0.0`) for a proxy request that logged no server address.
    pub dst_ip: IpAddr,
    pub dst_port: Option<u16>,
    pub proto: &'a str,
    pub bytes_out: Option<u64>,
    pub bytes_in: Option<u64>,
    pub hostname: &'a str,
    pub attribution: &'a str,
    pub vendor: &'a str,
    pub product: &'a str,
    pub category: &'a str,
    pub source_site: &'a str,
    /// The GeoIP country code's two bytes, as the fold keys groups by them.
    pub destination_country: [u8; 2],
    pub dns: Option<(u32, u64, Micros)>,
    /// The group of this row's finding, regimes, hostname, attribution, vendor, product,
    /// category, site and country, when the fold numbered it: a sink may convert those
    /// texts once per group rather than once per row. None promises nothing.
    pub texts: Option<TextGroup>,
}

impl EvidenceRow<'_> {
    /// The texts a [`TextGroup`] stands for besides the country: finding id, regimes,
    /// hostname, attribution, vendor, product, category and site, in that order.
    pub fn shared_texts(&self) -> [&str; 8] {
        [
            self.finding_id,
            self.regimes,
            self.hostname,
            self.attribution,
            self.vendor,
            self.product,
            self.category,
            self.source_site,
        ]
    }
}

/// A number for one set of the texts evidence rows share (see [`EvidenceRow::texts`]),
/// unique within the process: two rows with the same number have the same texts in
/// those fields, whichever fold state or shard made them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TextGroup(NonZeroU32);

impl TextGroup {
    /// A number no other group of this process has; none once 2^32 - 1 have been given,
    /// and rows then go unnumbered.
    pub fn next() -> Option<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        NEXT.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_add(1))
            .ok()
            .and_then(NonZeroU32::new)
            .map(TextGroup)
    }
}

/// What every AI-vendor flow of a [`RegimeGroup`] shares, made once per group.
#[derive(Debug, Clone)]
pub struct GroupTexts {
    /// The regimes that treat the group's flows as a transfer, `;`-separated.
    pub regimes: String,
    /// The id of the finding the group's flows count towards.
    pub finding_id: String,
    /// The number its evidence rows carry.
    pub number: Option<TextGroup>,
}

/// What an AI-vendor flow's regimes depend on: site, destination country, product, day,
/// and the name that attributed it (by method and id in that method's name table; none
/// for `ip_range`).
pub type RegimeGroup = (u16, [u8; 2], ProductId, i32, Method, Option<u32>);

/// Sentinel site index for egress from no configured site.
pub const NO_SITE: u16 = u16::MAX;

/// The group of an AI-vendor egress flow. `hostname` indexes the name table of the
/// method that attributed the flow ([`FlowState::host_name`]); a partial result names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AiKey {
    pub day: i32,
    pub site: u16,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub product: ProductId,
    pub method: Method,
    pub hostname: Option<u32>,
}

/// What the fold needs of an egress flow's destination address, looked up once.
#[derive(Debug, Clone, Copy)]
pub struct Destination {
    /// ISO country code from the GeoIP database, `ZZ` when unknown.
    pub country: [u8; 2],
    /// The product whose published ranges hold the address.
    pub range: Option<ProductId>,
}

/// The group of another egress flow: by destination country only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OtherKey {
    pub day: i32,
    pub site: u16,
    pub src: IpAddr,
    pub country: [u8; 2],
}

/// Per-run state of the flow pass: memo tables and partial groups.
pub struct FlowState<'a> {
    pub catalogs: &'a Catalogs,
    pub index: &'a DnsIndex,
    /// Where this state's last DNS look-up of each (client, address) pair ended.
    pub dns_hints: DnsHints,
    pub hostnames: &'a HostnameIndex,
    pub window: DnsWindow,
    pub snapshot_max_distance_s: u32,
    pub collect_unattributed: bool,
    pub unattributed: HashMap<IpAddr, u64>,
    pub site_cache: FastMap<IpAddr, Option<u16>>,
    /// What each egress flow's destination is, looked up once per address.
    pub destinations: FastMap<IpAddr, Destination>,
    /// The product whose published ranges hold an address, for proxy requests to an
    /// address literal.
    pub range_cache: FastMap<IpAddr, Option<ProductId>>,
    pub name_cache: FastMap<u32, Option<ProductId>>,
    pub finding_ids: FastMap<(u16, [u8; 2], ProductId, Method), String>,
    pub flow_regimes: FastMap<(u16, [u8; 2], ProductId, i32, String), String>,
    /// Regimes and finding id by flow group and name id, so a flow finds them without
    /// copying the name or building its exposure key ([`Self::remember_group`]).
    pub group_texts: FastMap<RegimeGroup, GroupTexts>,
    pub ai: FastMap<AiKey, FlowSum>,
    pub other: FastMap<OtherKey, FlowSum>,
    pub observed: Option<(Micros, Micros)>,
    /// Reading-order position of the record being folded, for its evidence row.
    pub seq: u64,
    /// Bytes out and in of every egress flow folded so far. Every table sums a subset of
    /// these flows, so while these fit in 64 bits no group, daily, policy or department
    /// total can wrap.
    pub egress_bytes: (u64, u64),
    pub org: OrgTracker<'a>,
    pub coverage: CoverageTracker,
    pub presence: &'a DnsPresence,
    pub candidates: CandidateTracker,
    /// Coverage source id of the file being read.
    pub source: u16,
    pub proxy: proxy::ProxyState,
}

impl<'a> FlowState<'a> {
    pub fn new(
        catalogs: &'a Catalogs,
        index: &'a DnsIndex,
        hostnames: &'a HostnameIndex,
        presence: &'a DnsPresence,
        opts: &AnalyzeOptions,
    ) -> Self {
        FlowState {
            catalogs,
            index,
            dns_hints: index.hints(),
            hostnames,
            window: opts.dns_window,
            snapshot_max_distance_s: opts.snapshot_max_distance_s,
            collect_unattributed: opts.collect_unattributed,
            unattributed: HashMap::new(),
            site_cache: FastMap::default(),
            destinations: FastMap::default(),
            range_cache: FastMap::default(),
            name_cache: FastMap::default(),
            finding_ids: FastMap::default(),
            flow_regimes: FastMap::default(),
            group_texts: FastMap::default(),
            ai: FastMap::default(),
            other: FastMap::default(),
            observed: None,
            seq: 0,
            egress_bytes: (0, 0),
            coverage: CoverageTracker::default(),
            presence,
            candidates: CandidateTracker::default(),
            source: 0,
            org: OrgTracker::new(
                catalogs.policy.as_ref(),
                catalogs.assets.as_ref(),
                &catalogs.sites,
                &catalogs.vendors,
            ),
            proxy: proxy::ProxyState::new(&catalogs.sites.proxies),
        }
    }

    /// The `;`-joined regimes under which egress from `site` to `country` for `product`
    /// (reached by the name `host`, empty when none) on `day` is a transfer, including the
    /// onward transfers the catalog implies (`classify::onward`); empty when none, memoised.
    fn regimes_for(
        &mut self,
        site: u16,
        country: [u8; 2],
        product: ProductId,
        day: i32,
        host: &str,
    ) -> String {
        let catalogs = self.catalogs;
        let key = crate::classify::onward::exposure_key(&catalogs.vendors, product, host);
        self.flow_regimes
            .entry((site, country, product, day, key))
            .or_insert_with_key(|(_, _, _, _, key)| {
                let Some(s) = catalogs.sites.sites.get(usize::from(site)) else {
                    return String::new();
                };
                let dc = String::from_utf8_lossy(&country).into_owned();
                let v = catalogs.vendors.vendor_of(product);
                let exposure =
                    crate::classify::onward::exposure_from_key(&catalogs.vendors, &v.name, key);
                crate::classify::onward::decide(
                    &catalogs.regimes,
                    &s.country,
                    &dc,
                    day_date(day),
                    Some(Recipient::from(v)),
                    &exposure,
                )
                .into_iter()
                .map(|f| f.regime)
                .collect::<Vec<_>>()
                .join(";")
            })
            .clone()
    }

    /// Make sure [`Self::group_texts`] holds `group`'s regimes and finding id:
    /// [`Self::regimes_for`] once per group, not once per flow.
    fn remember_group(&mut self, group: RegimeGroup) {
        if !self.group_texts.contains_key(&group) {
            let (site, country, product, day, method, host) = group;
            let host_text = host.map_or(String::new(), |h| self.host_name(method, h).to_string());
            let regimes = self.regimes_for(site, country, product, day, &host_text);
            let finding_id = self.finding_id(site, country, product, method);
            self.group_texts.insert(
                group,
                GroupTexts {
                    regimes,
                    finding_id,
                    number: TextGroup::next(),
                },
            );
        }
    }

    /// The id of the finding of `site`'s flows to `product` in `country`, attributed
    /// by `method`, memoised per finding.
    fn finding_id(
        &mut self,
        site: u16,
        country: [u8; 2],
        product: ProductId,
        method: Method,
    ) -> String {
        let catalogs = self.catalogs;
        self.finding_ids
            .entry((site, country, product, method))
            .or_insert_with(|| {
                let (site_name, site_country) = match catalogs.sites.sites.get(usize::from(site)) {
                    Some(s) => (s.name.as_str(), s.country.as_str()),
                    None => (UNKNOWN_SITE, ""),
                };
                let p = catalogs.vendors.product(product);
                let v = catalogs.vendors.vendor_of(product);
                aggregate::finding_id([
                    site_name,
                    site_country,
                    &String::from_utf8_lossy(&country),
                    &v.name,
                    &p.name,
                    &p.category,
                    method.as_str(),
                ])
            })
            .clone()
    }

    fn site(&mut self, ip: IpAddr) -> Option<u16> {
        let sites = &self.catalogs.sites;
        *self
            .site_cache
            .entry(ip)
            .or_insert_with(|| sites.index_of(ip).map(|i| i as u16))
    }

    /// The country and the vendor range of an egress flow's destination: one look-up
    /// per flow for both (each had its own map).
    fn destination(&mut self, ip: IpAddr) -> Destination {
        let catalogs = self.catalogs;
        *self.destinations.entry(ip).or_insert_with(|| Destination {
            country: match catalogs.geoip.locate(ip) {
                Location::Country(c) => {
                    let b = c.as_bytes();
                    [b[0], b[1]]
                }
                _ => *b"ZZ",
            },
            range: catalogs.vendors.match_ip(ip),
        })
    }

    /// Whether an address is on the inside: in a configured site, or special-purpose.
    fn is_local(&mut self, ip: IpAddr) -> bool {
        self.site(ip).is_some() || crate::geolocate::special_purpose(ip).is_some()
    }

    /// Fold one accepted flow into the partial groups. The flow is borrowed: the shards
    /// read it where the parser put it, and only a return direction is copied to be
    /// turned round.
    pub fn fold(
        &mut self,
        flow: &FlowRecord,
        breakdown: &mut FlowBreakdown,
        evidence: Option<&mut dyn EvidenceSink>,
    ) -> Result<()> {
        let turned;
        let flow = match flow.direction {
            ByteDirection::Biflow => flow,
            ByteDirection::Combined => {
                breakdown.bytes_combined += 1;
                flow
            }
            // One direction of a connection: the return direction of a connection opened
            // from inside is turned round so its bytes count as received by the client.
            ByteDirection::Uniflow => {
                if !self.is_local(flow.src_ip) && self.is_local(flow.dst_ip) {
                    breakdown.return_direction += 1;
                    turned = FlowRecord {
                        src_ip: flow.dst_ip,
                        dst_ip: flow.src_ip,
                        src_port: flow.dst_port,
                        dst_port: flow.src_port,
                        bytes_in: flow.bytes_out,
                        bytes_out: flow.bytes_out.map(|_| 0),
                        ..flow.clone()
                    };
                    &turned
                } else {
                    flow
                }
            }
        };
        // The source's site is looked up once: it is asked for again below.
        let src_site = self.site(flow.src_ip);
        if let Some(s) = src_site.or_else(|| self.site(flow.dst_ip)) {
            self.coverage.flow(s, self.source, flow.ts);
        }
        if self.carried_by_proxy_log(flow) {
            return Ok(());
        }
        self.observed = Some(match self.observed {
            None => (flow.ts, flow.ts),
            Some((a, b)) => (a.min(flow.ts), b.max(flow.ts)),
        });
        // A combined count, and one direction of a uniflow export, have nothing in the
        // other byte field by design.
        let unset = match flow.direction {
            ByteDirection::Combined | ByteDirection::Uniflow => {
                flow.bytes_out.is_none() && flow.bytes_in.is_none()
            }
            ByteDirection::Biflow => flow.bytes_out.is_none() || flow.bytes_in.is_none(),
        };
        if unset {
            breakdown.bytes_unset += 1;
        }
        let site = src_site;
        let src_local = site.is_some()
            || crate::geolocate::special_purpose(flow.src_ip).is_some()
            || flow.local_orig == Some(true);
        if !src_local {
            breakdown.inbound += 1;
            return Ok(());
        }
        if crate::geolocate::special_purpose(flow.dst_ip).is_some() {
            breakdown.internal += 1;
            return Ok(());
        }
        self.egress_bytes = checked_total(self.egress_bytes, flow)?;
        match site {
            Some(_) => breakdown.egress += 1,
            None => breakdown.egress_unknown_site += 1,
        }
        let site = site.unwrap_or(NO_SITE);
        let day = day_of(flow.ts);
        let destination = self.destination(flow.dst_ip);

        let dns = self.index.lookup_hinted(
            &mut self.dns_hints,
            flow.src_ip,
            flow.dst_ip,
            flow.ts,
            self.window,
        )?;
        let index = self.index;
        let catalog = &self.catalogs.vendors;
        let dns_product = dns.as_ref().and_then(|m| {
            *self
                .name_cache
                .entry(m.name)
                .or_insert_with(|| catalog.match_host(index.name(m.name)))
        });
        // Without a hostname on the connection: dns, ip_range, snapshot, ptr, strongest
        // first. `hostname` indexes the name table of the method that attributed the flow.
        let dns_name = dns.as_ref().map(|m| m.name);
        let catalogs = self.catalogs;
        let weaker = cascade::weaker(
            dns_product.map(|product| Claim {
                product,
                method: Method::Dns,
                hostname: dns_name,
            }),
            || {
                destination.range.map(|product| Claim {
                    product,
                    method: Method::IpRange,
                    hostname: dns_name,
                })
            },
            || {
                catalogs
                    .snapshots
                    .lookup(flow.dst_ip, flow.ts, self.snapshot_max_distance_s)
                    .map(|m| Claim {
                        product: m.product,
                        method: Method::Snapshot,
                        hostname: Some(m.host),
                    })
            },
            || {
                catalogs.ptr.get(flow.dst_ip).map(|(product, name)| Claim {
                    product,
                    method: Method::Ptr,
                    hostname: Some(name),
                })
            },
        );
        // The name the client sent on this connection (SNI, HTTP Host) outranks them all,
        // whether it names a vendor or not; a weaker method that said otherwise is counted.
        let named: Option<HostnameMatch> = match (&flow.uid, self.hostnames.is_empty()) {
            (Some(uid), false) => self.hostnames.lookup(uid, flow.dst_ip),
            _ => None,
        };
        // A URL-filter log of this very session names the host just as directly.
        let proxied = self.session_host(flow);
        let decision = cascade::decide(
            proxied.as_ref().map(|p| Named {
                product: p.product,
                method: Method::ProxyHost,
                name: p.name,
            }),
            named.map(|h| Named {
                product: h.product,
                method: Method::from(h.source),
                name: h.name,
            }),
            weaker,
        );
        if let Some(key) = decision.disagreement {
            *breakdown.attribution_disagreements.entry(key).or_default() += 1;
        }
        let attribution = decision
            .attribution
            .map(|c| (c.product, c.method, c.hostname));
        if site != NO_SITE {
            let dns_visible = self
                .presence
                .visible(flow.src_ip, flow.ts, self.window.max_age_s);
            self.coverage
                .egress(site, self.source, flow.ts, dns_visible, named.is_some());
        }
        match attribution {
            Some((product, method, hostname)) => {
                breakdown.ai_vendor += 1;
                breakdown.count_method(method);
                let key = AiKey {
                    day,
                    site,
                    src: flow.src_ip,
                    dst: flow.dst_ip,
                    product,
                    method,
                    hostname,
                };
                let country = destination.country;
                self.ai
                    .entry(key)
                    .or_insert_with(|| FlowSum::new(flow.ts))
                    .add(flow);
                // An ip_range flow's DNS name, if any, did not attribute it.
                let named_by = match method {
                    Method::IpRange => None,
                    _ => hostname,
                };
                if self.catalogs.policy.is_some() || self.catalogs.assets.is_some() {
                    let group = (site, country, product, day, method, named_by);
                    self.remember_group(group);
                    let regimes = self.group_texts.get(&group).map_or("", |g| &g.regimes);
                    self.org.observe(flow, site, product, day, regimes);
                }
                if let Some(spool) = evidence {
                    let justifying = match method {
                        Method::Dns => dns
                            .as_ref()
                            .map(|m| (m.provenance.file, m.provenance.line, m.response_ts)),
                        Method::Sni | Method::HttpHost => {
                            named.map(|h| (h.provenance.file, h.provenance.line, h.ts))
                        }
                        Method::ProxyHost => proxied
                            .as_ref()
                            .map(|h| (h.provenance.file, h.provenance.line, h.ts)),
                        _ => None,
                    };
                    self.write_evidence(
                        spool, flow, site, country, product, method, justifying, named_by, day,
                    )?;
                }
            }
            None => {
                let catalog = &self.catalogs.vendors;
                let candidate = match named {
                    Some(h) => self.candidates.name_id(self.hostnames.name(h.name), |n| {
                        catalog.match_host(n).is_some()
                    }),
                    None => None,
                }
                .or_else(|| self.candidates.name_of_address(flow.dst_ip));
                if let Some(id) = candidate {
                    self.candidates.egress(
                        id,
                        site,
                        flow.dst_ip,
                        flow.ts,
                        flow.bytes_out.unwrap_or(0),
                        flow.bytes_in.unwrap_or(0),
                    );
                }
                if self.collect_unattributed {
                    // Only ranks destinations for PTR look-ups, never reported as a total.
                    let bytes = flow.bytes_out.unwrap_or(0) + flow.bytes_in.unwrap_or(0);
                    let slot = self.unattributed.entry(flow.dst_ip).or_default();
                    *slot = slot.saturating_add(bytes);
                }
                let country = destination.country;
                let key = OtherKey {
                    day,
                    site,
                    src: flow.src_ip,
                    country,
                };
                self.other
                    .entry(key)
                    .or_insert_with(|| FlowSum::new(flow.ts))
                    .add(flow);
            }
        }
        Ok(())
    }

    /// Write one evidence row, with the finding it counts towards and the regimes that
    /// treat it as a transfer (both memoised per group).
    #[allow(clippy::too_many_arguments)]
    fn write_evidence(
        &mut self,
        spool: &mut dyn EvidenceSink,
        flow: &FlowRecord,
        site: u16,
        country: [u8; 2],
        product: ProductId,
        method: Method,
        justifying: Option<(u32, u64, Micros)>,
        host: Option<u32>,
        day: i32,
    ) -> Result<()> {
        let catalog = &self.catalogs.vendors;
        let site_name = self
            .catalogs
            .sites
            .sites
            .get(usize::from(site))
            .map_or(UNKNOWN_SITE, |s| s.name.as_str());
        let p = catalog.product(product);
        let v = catalog.vendor_of(product);
        // Regimes and finding id are memoised per group; a row borrows them.
        let group = (site, country, product, day, method, host);
        self.remember_group(group);
        let texts = self.group_texts.get(&group);
        let regimes = texts.map_or("", |g| &g.regimes);
        let finding_id = texts.map_or("", |g| &g.finding_id);
        let host_text = host.map_or("", |h| self.host_name(method, h));
        spool.attributed(&EvidenceRow {
            seq: self.seq,
            finding_id,
            regimes,
            file: flow.provenance.file,
            line: flow.provenance.line,
            ts: flow.ts,
            src_ip: flow.src_ip,
            src_port: flow.src_port,
            dst_ip: flow.dst_ip,
            dst_port: flow.dst_port,
            proto: flow.proto.as_str(),
            bytes_out: flow.bytes_out,
            bytes_in: flow.bytes_in,
            hostname: host_text,
            attribution: method.as_str(),
            vendor: &v.name,
            product: &p.name,
            category: &p.category,
            source_site: site_name,
            destination_country: country,
            dns: justifying,
            texts: texts.and_then(|g| g.number),
        })
    }

    /// A hostname id in the name table of the method that produced it.
    pub fn host_name(&self, method: Method, id: u32) -> &str {
        match method {
            Method::Snapshot => self.catalogs.snapshots.name(id),
            Method::Ptr => self.catalogs.ptr.name(id),
            Method::Sni | Method::HttpHost => self.hostnames.name(id),
            Method::ProxyHost => self.proxy.name(id),
            _ => self.index.name(id),
        }
    }
}

/// `totals` plus one flow's bytes, or an error when either sum would pass 2^64-1. Each
/// record is bounded by [`xborder_ingest::MAX_FLOW_BYTES`], so this takes over 2,000 forged
/// records; it stops the run rather than report a wrapped or saturated figure.
pub fn checked_total(totals: (u64, u64), flow: &FlowRecord) -> Result<(u64, u64)> {
    let out = totals.0.checked_add(flow.bytes_out.unwrap_or(0));
    let back = totals.1.checked_add(flow.bytes_in.unwrap_or(0));
    match (out, back) {
        (Some(out), Some(back)) => Ok((out, back)),
        _ => Err(Error::Aggregate(format!(
            "the bytes of all egress flows would exceed 2^64-1 at line {} of input #{}: the input holds implausibly large byte counts; no total is reported rather than a wrapped one",
            flow.provenance.line,
            flow.provenance.file + 1
        ))),
    }
}
