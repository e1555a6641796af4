//! Candidate AI destinations: large egress that no catalog entry attributes, to names that
//! look like AI services.
//!
//! A catalog is never complete. A ban on one vendor "holds" trivially when staff moved to a
//! relay or gateway the catalog does not list, so egress to such names is listed for review
//! (candidates.csv, a report section) and keeps verdicts `undetermined` until a person has
//! looked at it and recorded that in a reviewed-candidates file (`--reviewed-candidates`).
//!
//! A name looks like an AI service when one of its labels, or a hyphen/underscore-separated
//! part of a label, is one of [`AI_WORDS`] (or `gpt` followed by a version, `gpt4o`), or a
//! label contains one of the relay and gateway names in [`RELAY_NAMES`]. The names come
//! from DNS answers (per destination address) and from TLS server names and HTTP Hosts.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;

use xborder_model::error::{Error, Result};
use xborder_model::fasthash::FastMap;
use xborder_model::period::rfc3339;
use xborder_model::schema::Micros;

/// Whole labels (or label parts) that suggest an AI service.
pub const AI_WORDS: &[&str] = &[
    "ai",
    "llm",
    "llms",
    "gpt",
    "chatgpt",
    "model",
    "models",
    "copilot",
    "inference",
    "chat",
    "genai",
    "aigc",
    "embeddings",
    "completions",
];

/// Names of LLM API relays and gateways, matched anywhere inside a label.
pub const RELAY_NAMES: &[&str] = &[
    "openrouter",
    "litellm",
    "portkey",
    "helicone",
    "one-api",
    "oneapi",
    "new-api",
    "newapi",
    "api2d",
    "closeai",
    "aiproxy",
    "chatanywhere",
    "aigateway",
    "ai-gateway",
];

/// Why `name` looks like an AI service (the word or relay name matched), if it does.
pub fn looks_like_ai(name: &str) -> Option<&'static str> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    for label in name.split('.') {
        if let Some(r) = RELAY_NAMES.iter().find(|r| label.contains(**r)) {
            return Some(r);
        }
        for part in label.split(['-', '_']) {
            if let Some(w) = AI_WORDS.iter().find(|w| **w == part) {
                return Some(w);
            }
            if let Some(rest) = part.strip_prefix("gpt") {
                if rest.starts_with(|c: char| c.is_ascii_digit()) {
                    return Some("gpt");
                }
            }
        }
    }
    None
}

/// Names a person has reviewed (`--reviewed-candidates`): one per line, a host name or a
/// domain that covers its subdomains; text after the name is a note; `#` starts a comment.
#[derive(Debug, Clone, Default)]
pub struct ReviewedList {
    names: Vec<String>,
    pub path: Option<String>,
    pub sha256: Option<String>,
}

impl ReviewedList {
    pub fn load(path: &Path) -> Result<Self> {
        let label = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| Error::config(&label, "file is not UTF-8"))?;
        let mut list = Self::parse(&label, &text)?;
        list.path = Some(label);
        list.sha256 = Some(xborder_model::hash::sha256_bytes(&bytes));
        Ok(list)
    }

    pub fn parse(label: &str, text: &str) -> Result<Self> {
        let mut names = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            let name = name.trim_start_matches("*.").trim_end_matches('.');
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
            {
                return Err(Error::config(
                    label,
                    format!("line {}: `{name}` is not a host or domain name", i + 1),
                ));
            }
            names.push(name.to_ascii_lowercase());
        }
        Ok(ReviewedList {
            names,
            path: None,
            sha256: None,
        })
    }

    /// Whether `host` is listed, or is under a listed domain.
    pub fn covers(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.names.iter().any(|n| {
            host == *n
                || (host.len() > n.len()
                    && host.ends_with(n.as_str())
                    && host.as_bytes()[host.len() - n.len() - 1] == b'.')
        })
    }
}

#[derive(Debug, Clone)]
struct Hit {
    flows: u64,
    bytes_out: u64,
    bytes_in: u64,
    first: Micros,
    last: Micros,
    destinations: BTreeSet<IpAddr>,
}

impl Hit {
    fn merge(&mut self, o: Hit) {
        self.flows += o.flows;
        self.bytes_out = self.bytes_out.saturating_add(o.bytes_out);
        self.bytes_in = self.bytes_in.saturating_add(o.bytes_in);
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
        self.destinations.extend(o.destinations);
        while self.destinations.len() > DESTINATIONS_KEPT {
            self.destinations.pop_last();
        }
    }
}

/// Destinations kept per candidate for the report.
const DESTINATIONS_LISTED: usize = 5;

/// Distinct destinations kept per candidate and site: the lowest addresses, so the set
/// (and the count, which stops here) does not depend on the order flows arrive in.
pub const DESTINATIONS_KEPT: usize = 64;

/// Unattributed egress from one site to one AI-looking name, in a partial result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateHit {
    pub name: String,
    pub site: u16,
    pub flows: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub first: Micros,
    pub last: Micros,
    /// The lowest distinct destinations, at most [`DESTINATIONS_KEPT`].
    pub destinations: Vec<IpAddr>,
}

/// Collects AI-looking names during the DNS pass and unattributed egress to them during
/// the flow pass.
#[derive(Debug, Default)]
pub struct CandidateTracker {
    names: Vec<String>,
    ids: FastMap<Box<str>, Option<u32>>,
    /// Destination address → the AI-looking name a DNS answer gave it.
    by_address: FastMap<IpAddr, u32>,
    hits: FastMap<(u32, u16), Hit>,
    /// [`CandidateTracker::name_id`]'s answers by the id another table gave the name
    /// ([`CandidateTracker::indexed_name_id`]).
    by_indexed_name: Vec<Option<Option<u32>>>,
}

impl CandidateTracker {
    /// [`CandidateTracker::name_id`] of a name that the DNS index interned as `indexed`
    /// (ids of that one index only), memoised by that id: the index has hashed the name
    /// already, and a DNS log repeats a few hundred names millions of times.
    pub fn indexed_name_id(
        &mut self,
        indexed: u32,
        name: &str,
        is_vendor: impl FnOnce(&str) -> bool,
    ) -> Option<u32> {
        let slot = indexed as usize;
        if let Some(Some(id)) = self.by_indexed_name.get(slot) {
            return *id;
        }
        let id = self.name_id(name, is_vendor);
        if slot >= self.by_indexed_name.len() {
            self.by_indexed_name.resize(slot + 1, None);
        }
        self.by_indexed_name[slot] = Some(id);
        id
    }

    /// The id of `name` when it looks like an AI service and `is_vendor` (asked only then)
    /// says no catalog entry covers it; memoised per distinct name.
    pub fn name_id(&mut self, name: &str, is_vendor: impl FnOnce(&str) -> bool) -> Option<u32> {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = (looks_like_ai(name).is_some() && !is_vendor(name)).then(|| {
            self.names
                .push(name.trim_end_matches('.').to_ascii_lowercase());
            (self.names.len() - 1) as u32
        });
        self.ids.insert(name.into(), id);
        id
    }

    /// Remember that a DNS answer gave `address` to the AI-looking name `id`.
    pub fn answer(&mut self, id: u32, address: IpAddr) {
        self.by_address.entry(address).or_insert(id);
    }

    /// The AI-looking name a DNS answer gave `address`, if any.
    pub fn name_of_address(&self, address: IpAddr) -> Option<u32> {
        if self.by_address.is_empty() {
            return None;
        }
        self.by_address.get(&address).copied()
    }

    /// One unattributed egress flow from `site` to `dst` under the AI-looking name `id`.
    #[allow(clippy::too_many_arguments)]
    pub fn egress(
        &mut self,
        id: u32,
        site: u16,
        dst: IpAddr,
        ts: Micros,
        bytes_out: u64,
        bytes_in: u64,
    ) {
        let h = self.hits.entry((id, site)).or_insert_with(|| Hit {
            flows: 0,
            bytes_out: 0,
            bytes_in: 0,
            first: ts,
            last: ts,
            destinations: BTreeSet::new(),
        });
        h.flows += 1;
        h.bytes_out = h.bytes_out.saturating_add(bytes_out);
        h.bytes_in = h.bytes_in.saturating_add(bytes_in);
        h.first = h.first.min(ts);
        h.last = h.last.max(ts);
        if h.destinations.insert(dst) && h.destinations.len() > DESTINATIONS_KEPT {
            h.destinations.pop_last();
        }
    }

    /// A tracker for one fold shard: the names and answers of the DNS pass, no egress yet.
    pub fn for_shard(&self) -> Self {
        CandidateTracker {
            names: self.names.clone(),
            ids: self.ids.clone(),
            by_address: self.by_address.clone(),
            hits: FastMap::default(),
            // The flow pass names no index ids.
            by_indexed_name: Vec::new(),
        }
    }

    /// Take the egress gathered so far, each hit naming its candidate, for a partial
    /// result (the names and DNS answers stay).
    pub fn take_hits(&mut self) -> Vec<CandidateHit> {
        let mut hits: Vec<CandidateHit> = std::mem::take(&mut self.hits)
            .into_iter()
            .map(|((id, site), h)| CandidateHit {
                name: self.names[id as usize].clone(),
                site,
                flows: h.flows,
                bytes_out: h.bytes_out,
                bytes_in: h.bytes_in,
                first: h.first,
                last: h.last,
                destinations: h.destinations.into_iter().collect(),
            })
            .collect();
        hits.sort_by(|a, b| (&a.name, a.site).cmp(&(&b.name, b.site)));
        hits
    }

    /// Add the hits of a partial result. Hits are matched by name, so ids assigned in
    /// different shards cannot mix; a name this tracker has not met is added.
    pub fn absorb(&mut self, hits: Vec<CandidateHit>) {
        if hits.is_empty() {
            return;
        }
        let mut by_name: FastMap<String, u32> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        for h in hits {
            let id = *by_name.entry(h.name.clone()).or_insert_with(|| {
                self.names.push(h.name.clone());
                (self.names.len() - 1) as u32
            });
            let hit = Hit {
                flows: h.flows,
                bytes_out: h.bytes_out,
                bytes_in: h.bytes_in,
                first: h.first,
                last: h.last,
                destinations: h.destinations.into_iter().collect(),
            };
            match self.hits.entry((id, h.site)) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(hit);
                }
                std::collections::hash_map::Entry::Occupied(mut o) => o.get_mut().merge(hit),
            }
        }
    }

    /// Candidates with at least `min_bytes` out over all sites, largest first.
    pub fn finish(
        self,
        min_bytes: u64,
        reviewed: &ReviewedList,
        site_name: &dyn Fn(u16) -> String,
    ) -> Vec<Candidate> {
        let mut by_name: HashMap<u32, Vec<(u16, Hit)>> = HashMap::new();
        for ((id, site), hit) in self.hits {
            by_name.entry(id).or_default().push((site, hit));
        }
        let mut out = Vec::new();
        for (id, mut hits) in by_name {
            hits.sort_by_key(|(s, _)| *s);
            let bytes_out = hits
                .iter()
                .fold(0u64, |a, (_, h)| a.saturating_add(h.bytes_out));
            if bytes_out < min_bytes {
                continue;
            }
            let name = self.names[id as usize].clone();
            let mut destinations: BTreeSet<IpAddr> = BTreeSet::new();
            for (_, h) in &hits {
                destinations.extend(h.destinations.iter().copied());
            }
            out.push(Candidate {
                matched: looks_like_ai(&name).unwrap_or_default(),
                reviewed: reviewed.covers(&name),
                flows: hits.iter().map(|(_, h)| h.flows).sum(),
                bytes_out,
                bytes_in: hits
                    .iter()
                    .fold(0u64, |a, (_, h)| a.saturating_add(h.bytes_in)),
                first_seen: hits.iter().map(|(_, h)| h.first).min().unwrap_or(0),
                last_seen: hits.iter().map(|(_, h)| h.last).max().unwrap_or(0),
                destination_count: destinations.len() as u64,
                destinations: destinations
                    .iter()
                    .take(DESTINATIONS_LISTED)
                    .map(|d| d.to_string())
                    .collect(),
                sites: hits
                    .iter()
                    .map(|(s, h)| CandidateSite {
                        site: site_name(*s),
                        flows: h.flows,
                        bytes_out: h.bytes_out,
                        first_seen: h.first,
                        last_seen: h.last,
                    })
                    .collect(),
                hostname: name,
            });
        }
        out.sort_by(|a, b| {
            b.bytes_out
                .cmp(&a.bytes_out)
                .then(a.hostname.cmp(&b.hostname))
        });
        out
    }
}

/// Egress to a candidate from one site.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateSite {
    pub site: String,
    pub flows: u64,
    pub bytes_out: u64,
    #[serde(serialize_with = "ser_ts")]
    pub first_seen: Micros,
    #[serde(serialize_with = "ser_ts")]
    pub last_seen: Micros,
}

fn ser_ts<S: serde::Serializer>(t: &Micros, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

/// A destination name for review.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub hostname: String,
    /// The word or relay name that made it look like an AI service.
    pub matched: &'static str,
    /// Listed in the reviewed-candidates file.
    pub reviewed: bool,
    pub flows: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    #[serde(serialize_with = "ser_ts")]
    pub first_seen: Micros,
    #[serde(serialize_with = "ser_ts")]
    pub last_seen: Micros,
    pub destination_count: u64,
    /// Up to five destination addresses.
    pub destinations: Vec<String>,
    pub sites: Vec<CandidateSite>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site_name(i: u16) -> String {
        format!("site{i}")
    }

    /// Egress split over two shards, each meeting names in its own order, merges into what
    /// one tracker sees, and the destinations kept do not depend on the arrival order.
    #[test]
    fn shards_merge_by_name_into_the_unsharded_result() {
        let mut base = CandidateTracker::default();
        let dns = base.name_id("llm.dns.example", |_| false).unwrap();
        base.answer(dns, "198.51.100.1".parse().unwrap());
        let flows: Vec<(&str, u16, IpAddr, i64, u64)> = (0..1000u32)
            .map(|i| {
                let name = ["chat.a.example", "gpt.b.example", "llm.dns.example"][i as usize % 3];
                let dst = IpAddr::from([203, 0, (i % 90) as u8, (i % 7) as u8]);
                (
                    name,
                    (i % 2) as u16,
                    dst,
                    i64::from(i) * 1000,
                    u64::from(i) * 10,
                )
            })
            .collect();
        let fold = |t: &mut CandidateTracker, f: &(&str, u16, IpAddr, i64, u64)| {
            let id = t.name_id(f.0, |_| false).unwrap();
            t.egress(id, f.1, f.2, f.3, f.4, 1);
        };
        let mut one = base.for_shard();
        for f in &flows {
            fold(&mut one, f);
        }
        let (mut a, mut b) = (base.for_shard(), base.for_shard());
        // Shard b meets the names in the other order, so their ids differ from a's.
        for f in flows.iter().rev() {
            if f.2.to_string().ends_with(".0") || f.2.to_string().ends_with(".3") {
                fold(&mut b, f);
            } else {
                fold(&mut a, f);
            }
        }
        let mut merged = base.for_shard();
        merged.absorb(a.take_hits());
        merged.absorb(b.take_hits());
        let reviewed = ReviewedList::default();
        let want = one.finish(0, &reviewed, &site_name);
        let got = merged.finish(0, &reviewed, &site_name);
        let show = |c: &[Candidate]| serde_json::to_string(c).unwrap();
        assert_eq!(show(&got), show(&want));
        assert_eq!(want.len(), 3);
        let chat = want
            .iter()
            .find(|c| c.hostname == "chat.a.example")
            .unwrap();
        assert_eq!(chat.flows, 334);
        // Per site, the 64 lowest of its destinations; the report lists the union.
        let kept = |site: u32| -> BTreeSet<IpAddr> {
            let all: BTreeSet<IpAddr> = (0..1000u32)
                .filter(|i| i % 3 == 0 && i % 2 == site)
                .map(|i| IpAddr::from([203, 0, (i % 90) as u8, (i % 7) as u8]))
                .collect();
            all.into_iter().take(64).collect()
        };
        let union: BTreeSet<IpAddr> = kept(0).union(&kept(1)).copied().collect();
        assert!(union.len() > 64);
        assert_eq!(chat.destination_count, union.len() as u64);
        assert_eq!(
            chat.destinations[0], "203.0.0.0",
            "the lowest addresses are kept"
        );
    }

    /// Names asked for by an index's ids get the ids asking by name gives, in the same
    /// order, whether they look like AI services, are a vendor's or neither; and each
    /// name's vendor question is asked once.
    #[test]
    fn indexed_names_answer_as_names_do() {
        const NAMES: [&str; 5] = [
            "llm.example.com",
            "api.vendor.example",
            "mail.example.com",
            "chat.b.example",
            "",
        ];
        let is_vendor = |n: &str| n.contains("vendor");
        let (mut by_index, mut by_name) =
            (CandidateTracker::default(), CandidateTracker::default());
        let mut asked = [0u32; NAMES.len()];
        let mut rng = xborder_model::rng::Rng::new(5);
        for _ in 0..500 {
            // The index numbers names in reverse here, so the two ids differ.
            let at = rng.below(NAMES.len() as u64) as usize;
            let indexed = (NAMES.len() - 1 - at) as u32;
            let got = by_index.indexed_name_id(indexed, NAMES[at], |n| {
                asked[at] += 1;
                is_vendor(n)
            });
            assert_eq!(got, by_name.name_id(NAMES[at], is_vendor), "{}", NAMES[at]);
        }
        assert_eq!(by_index.names, by_name.names);
        // Asked at most once each (not at all for names that do not look like AI).
        assert!(asked.iter().all(|&n| n <= 1), "{asked:?}");
    }

    #[test]
    fn names_that_look_like_ai_services() {
        assert_eq!(looks_like_ai("llm-gateway.example.com"), Some("llm"));
        assert_eq!(looks_like_ai("api.openrouter.ai"), Some("openrouter"));
        assert_eq!(looks_like_ai("inference.corp-cloud.net"), Some("inference"));
        assert_eq!(looks_like_ai("gpt4o.proxy.example"), Some("gpt"));
        assert_eq!(looks_like_ai("my-copilot.dev"), Some("copilot"));
        assert_eq!(looks_like_ai("Chat.Example.COM."), Some("chat"));
        assert_eq!(looks_like_ai("brand.ai"), Some("ai"));
        // Words inside longer words are not labels.
        assert_eq!(looks_like_ai("mail.example.com"), None);
        assert_eq!(looks_like_ai("chatter.example.com"), None);
        assert_eq!(looks_like_ai("modeling.example.com"), None);
        assert_eq!(looks_like_ai("gptw.example.com"), None);
    }

    #[test]
    fn reviewed_list_covers_names_and_subdomains() {
        let r = ReviewedList::parse(
            "r",
            "# reviewed 2026-09\nllm.example.com  approved by ISO\n*.relay.example.net\n\n",
        )
        .unwrap();
        assert!(r.covers("llm.example.com"));
        assert!(r.covers("LLM.example.com."));
        assert!(r.covers("a.relay.example.net"));
        assert!(r.covers("relay.example.net"));
        assert!(!r.covers("xrelay.example.net"));
        assert!(!r.covers("other.example.com"));
        let e = ReviewedList::parse("reviewed.txt", "ok.example\nbad/name\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn tracker_lists_large_unreviewed_names_per_site() {
        let mut t = CandidateTracker::default();
        let llm = t.name_id("llm.example.com", |_| false).unwrap();
        assert_eq!(
            t.name_id("llm.example.com", |_| panic!("memoised")),
            Some(llm)
        );
        assert_eq!(t.name_id("api.vendor.ai", |_| true), None);
        assert_eq!(t.name_id("www.example.com", |_| false), None);
        let small = t.name_id("chat.small.example", |_| false).unwrap();
        let dst: IpAddr = "203.0.113.5".parse().unwrap();
        t.answer(llm, dst);
        assert_eq!(t.name_of_address(dst), Some(llm));
        t.egress(llm, 0, dst, 10, 700_000, 1);
        t.egress(llm, 1, dst, 20, 400_000, 1);
        t.egress(small, 0, dst, 30, 10, 1);
        let reviewed = ReviewedList::default();
        let c = t.finish(1_000_000, &reviewed, &|s| format!("site{s}"));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].hostname, "llm.example.com");
        assert_eq!((c[0].flows, c[0].bytes_out), (2, 1_100_000));
        assert_eq!(c[0].sites.len(), 2);
        assert_eq!(c[0].sites[1].site, "site1");
        assert!(!c[0].reviewed);
    }
}
