//! The per-client DNS index behind `dns` attribution.
//!
//! Only answers that can matter are kept: an address that no vendor hostname ever
//! resolved to cannot attribute a flow to a vendor, so its answers are dropped once all
//! DNS logs are read. What remains is keyed by (client, address): a DNS answer seen by
//! another client never attributes a flow, because CDN addresses are shared by unrelated
//! sites at the same moment.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::interner::Interner;
use super::packed_answers::{
    unzigzag, write_varint, zigzag, Cursor, Entry, Growing, PageCache, Pages, PairPages, Store,
    CACHE_BYTES,
};
use crate::classify::vendors::VendorCatalog;
use xborder_model::error::{Error, Result};
use xborder_model::fasthash::FastMap;
use xborder_model::schema::{AnswerValue, DnsRecord, Micros, Provenance};

/// TTL sentinel for answers logged without one.
const NO_TTL: u32 = u32::MAX;

/// How long after a response its answer may still attribute a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DnsWindow {
    /// Hard ceiling, seconds (`--dns-max-age`).
    pub max_age_s: u32,
    /// Added to the answer's TTL: clients and stub resolvers keep using an address a
    /// little past expiry, and connection pools outlive it (`--dns-ttl-grace`).
    pub ttl_grace_s: u32,
}

impl DnsWindow {
    /// The effective window for one answer, in microseconds.
    fn limit_micros(&self, ttl: u32) -> i64 {
        let by_ttl = if ttl == NO_TTL {
            u64::from(self.max_age_s)
        } else {
            u64::from(ttl) + u64::from(self.ttl_grace_s)
        };
        (by_ttl.min(u64::from(self.max_age_s)) as i64) * 1_000_000
    }
}

#[derive(Debug, Clone, Copy)]
struct Observation {
    client: IpAddr,
    address: IpAddr,
    response_ts: Micros,
    name: u32,
    ttl: u32,
    provenance: Provenance,
}

impl Observation {
    /// The answer as its pair's list keeps it.
    fn entry(&self) -> Entry {
        Entry {
            response_ts: self.response_ts,
            name: self.name,
            ttl: self.ttl,
            provenance: self.provenance,
        }
    }
}

/// Answers for names no vendor matches, held in memory before they spill to disk.
const OTHER_ANSWERS_IN_MEMORY: usize = 1 << 20;

/// Collects answers while DNS logs are read.
///
/// Which addresses matter is known only once every DNS log is read (an address counts if
/// any vendor name ever resolved to it), yet answers for other names are most of a DNS log.
/// Those wait in a file (given a spill directory) instead of memory, so the DNS pass holds
/// only vendor answers and a bounded buffer whatever the log size. A vendor name's answer
/// always counts, so it goes straight into its pair's answers, packed as the index keeps
/// them (see [`super::packed_answers`]), not as a 72-byte observation copied into the
/// index at the end: on an AI-heavy 10^8 flows that was 32 million answers held twice,
/// 3.7 GB at the peak.
pub struct DnsIndexBuilder<'c> {
    catalog: &'c VendorCatalog,
    names: Interner,
    name_is_vendor: Vec<bool>,
    /// Vendor names' answers by (client, address), packed as they arrive.
    vendor: FastMap<(IpAddr, IpAddr), Growing>,
    vendor_answers: usize,
    /// The vendor answers' packed pages: in memory while few, then in a file.
    store: Store,
    other: Vec<Observation>,
    spill: Option<ObservationSpill>,
    spill_dir: Option<PathBuf>,
    other_in_memory: usize,
    answers_seen: u64,
}

impl<'c> DnsIndexBuilder<'c> {
    /// A builder that judges names against `catalog` and keeps everything in memory.
    pub fn new(catalog: &'c VendorCatalog) -> Self {
        DnsIndexBuilder {
            catalog,
            names: Interner::default(),
            name_is_vendor: Vec::new(),
            vendor: FastMap::default(),
            vendor_answers: 0,
            store: Store::default(),
            other: Vec::new(),
            spill: None,
            spill_dir: None,
            other_in_memory: OTHER_ANSWERS_IN_MEMORY,
            answers_seen: 0,
        }
    }

    /// Spill answers for non-vendor names to an unnamed file in `dir` past
    /// [`OTHER_ANSWERS_IN_MEMORY`], and the packed vendor answers to another past 64 MiB.
    pub fn spill_to(mut self, dir: &Path) -> Self {
        self.spill_dir = Some(dir.to_path_buf());
        self.store.spill_to(dir);
        self
    }

    /// Spill after `answers` non-vendor answers instead of [`OTHER_ANSWERS_IN_MEMORY`],
    /// and the packed vendor answers once they hold more than `answers` (tests the files
    /// on small inputs).
    pub fn spill_after(mut self, answers: usize) -> Self {
        self.other_in_memory = answers.max(1);
        self.store.spill_after(answers as u64);
        self
    }

    /// Address answers held in memory (for `--memory-limit` messages).
    pub fn answers(&self) -> usize {
        self.vendor_answers + self.other.len()
    }

    /// Heap bytes the held answers take, roughly (for `--memory-limit` messages).
    pub fn answer_bytes(&self) -> usize {
        let pairs = self.vendor.len() * std::mem::size_of::<((IpAddr, IpAddr), Growing)>();
        let vendor: usize = self.vendor.values().map(Growing::memory_bytes).sum();
        pairs
            + vendor
            + self.store.memory_bytes()
            + self.other.capacity() * std::mem::size_of::<Observation>()
    }

    /// Record every address answer of one accepted DNS record; the id its query name was
    /// given, when it has any (the name is interned on its first address answer).
    pub fn add(&mut self, record: &DnsRecord) -> Result<Option<u32>> {
        if record.query.is_empty() {
            return Ok(None);
        }
        let mut name = None;
        for answer in &record.answers {
            let AnswerValue::Address(address) = answer.value else {
                continue;
            };
            let id = *name.get_or_insert_with(|| {
                let id = self.names.intern(&record.query);
                if id as usize == self.name_is_vendor.len() {
                    let vendor = self.catalog.match_host(&record.query).is_some();
                    self.name_is_vendor.push(vendor);
                }
                id
            });
            let o = Observation {
                client: record.client_ip,
                address,
                response_ts: record.response_ts,
                name: id,
                ttl: answer.ttl.unwrap_or(NO_TTL),
                provenance: record.provenance,
            };
            self.answers_seen += 1;
            if self.name_is_vendor[id as usize] {
                self.vendor
                    .entry((o.client, o.address))
                    .or_default()
                    .push(o.entry(), &mut self.store)?;
                self.vendor_answers += 1;
            } else {
                self.other.push(o);
            }
        }
        if self.other.len() >= self.other_in_memory {
            if let Some(dir) = &self.spill_dir {
                let spill = match &mut self.spill {
                    Some(s) => s,
                    None => self.spill.insert(ObservationSpill::create(dir)?),
                };
                spill.write(&self.other)?;
                self.other.clear();
            }
        }
        Ok(name)
    }

    /// Keep only answers for addresses some vendor hostname resolved to, and index them.
    pub fn finish(self) -> Result<DnsIndex> {
        let vendor_addresses: HashSet<IpAddr> = self.vendor.keys().map(|p| p.1).collect();
        self.finish_with(vendor_addresses)
    }

    /// [`Self::finish`] with the vendor addresses of the whole run: a shard of a
    /// distributed run reads only its clients' answers, yet an address counts if a vendor
    /// name resolved to it for any client.
    pub fn finish_with(self, vendor_addresses: HashSet<IpAddr>) -> Result<DnsIndex> {
        let mut by_pair = self.vendor;
        let mut store = self.store;
        by_pair.retain(|pair, _| vendor_addresses.contains(&pair.1));
        let mut keep = |o: Observation| -> Result<()> {
            if vendor_addresses.contains(&o.address) {
                by_pair
                    .entry((o.client, o.address))
                    .or_default()
                    .push(o.entry(), &mut store)?;
            }
            Ok(())
        };
        if let Some(spill) = self.spill {
            spill.read_back(&mut keep)?;
        }
        self.other.into_iter().try_for_each(&mut keep)?;
        let (mut kept, mut answer_bytes) = (0u64, 0usize);
        let (mut page_count, mut page_bytes) = (0u64, 0u64);
        let mut finished: FastMap<(IpAddr, IpAddr), PairAnswers> = FastMap::default();
        finished.reserve(by_pair.len());
        for (id, (pair, growing)) in by_pair.into_iter().enumerate() {
            let answers = growing.finish(&mut store)?;
            kept += answers.len();
            answer_bytes += answers.memory_bytes();
            page_count += answers.pages() as u64;
            page_bytes += answers.page_bytes();
            finished.insert(pair, PairAnswers { id, answers });
        }
        let mut by_pair = finished;
        let pages =
            store.finish_compact(by_pair.values_mut().map(|p| &mut p.answers), page_bytes)?;
        let table = by_pair.capacity() * std::mem::size_of::<((IpAddr, IpAddr), PairAnswers)>()
            + pages.memory_bytes();
        Ok(DnsIndex {
            serial: NEXT_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            stats: DnsIndexStats {
                address_answers: self.answers_seen,
                distinct_names: self.names.names().len() as u64,
                vendor_names: self.name_is_vendor.iter().filter(|v| **v).count() as u64,
                vendor_addresses: vendor_addresses.len() as u64,
                answers_kept: kept,
                client_address_pairs: by_pair.len() as u64,
            },
            names: self.names.into_names(),
            memory_bytes: (table + answer_bytes) as u64,
            by_pair,
            pages,
            page_count,
            page_bytes,
            vendor_addresses,
        })
    }
}

/// Observations on disk, in the order they were added.
///
/// Each is a flags byte (which address is IPv6), the client and the address (4 or 16
/// bytes), then variable-length integers: the response time and the line as differences
/// from the observation before (zigzag), the name, the TTL plus one (so "none" takes one
/// byte) and the file. About 19 bytes an IPv4 answer, where fixed-size records took 62:
/// on a typical mix these files are most of what the DNS pass writes to the spill
/// directory, and a disk's worth at 10^10 flows.
struct ObservationSpill {
    dir: PathBuf,
    out: BufWriter<File>,
    records: u64,
    /// The response time and line of the last observation written.
    last: (Micros, u64),
    record: Vec<u8>,
}

/// The most bytes one observation takes on disk.
const MAX_SPILLED_BYTES: usize = 1 + 16 + 16 + 10 + 10 + 5 + 5 + 5;

const CLIENT_V6: u8 = 1;
const ADDRESS_V6: u8 = 1 << 1;

impl ObservationSpill {
    fn create(dir: &Path) -> Result<Self> {
        let file = tempfile::tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
        Ok(ObservationSpill {
            dir: dir.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, file),
            records: 0,
            last: (0, 0),
            record: Vec::with_capacity(MAX_SPILLED_BYTES),
        })
    }

    fn write(&mut self, observations: &[Observation]) -> Result<()> {
        let rec = &mut self.record;
        for o in observations {
            rec.clear();
            rec.push(
                if o.client.is_ipv6() { CLIENT_V6 } else { 0 }
                    | if o.address.is_ipv6() { ADDRESS_V6 } else { 0 },
            );
            push_ip(rec, o.client);
            push_ip(rec, o.address);
            let (ts, line) = self.last;
            write_varint(rec, zigzag(o.response_ts.wrapping_sub(ts)));
            write_varint(rec, zigzag(o.provenance.line.wrapping_sub(line) as i64));
            write_varint(rec, u64::from(o.name));
            write_varint(rec, u64::from(o.ttl.wrapping_add(1)));
            write_varint(rec, u64::from(o.provenance.file));
            self.last = (o.response_ts, o.provenance.line);
            self.out
                .write_all(rec)
                .map_err(|e| Error::io(&self.dir, e))?;
        }
        self.records += observations.len() as u64;
        Ok(())
    }

    fn read_back(self, each: &mut dyn FnMut(Observation) -> Result<()>) -> Result<()> {
        let dir = self.dir;
        let io = |e| Error::io(&dir, e);
        let mut file = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let damaged = || {
            Error::io(
                &dir,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the spilled DNS answers ended early or are damaged",
                ),
            )
        };
        // A buffer refilled whenever fewer bytes than the longest observation are left
        // in it, so a whole observation is always in hand.
        let mut chunk = vec![0u8; 1 << 20];
        let (mut start, mut end, mut at_end) = (0usize, 0usize, false);
        let (mut ts, mut line) = (0i64, 0u64);
        for _ in 0..self.records {
            if end - start < MAX_SPILLED_BYTES && !at_end {
                chunk.copy_within(start..end, 0);
                end -= start;
                start = 0;
                while end < chunk.len() {
                    match file.read(&mut chunk[end..]) {
                        Ok(0) => {
                            at_end = true;
                            break;
                        }
                        Ok(n) => end += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(io(e)),
                    }
                }
            }
            let mut r = SpilledBytes {
                bytes: &chunk[start..end],
                at: 0,
            };
            let o = (|| {
                let flags = r.byte()?;
                let client = r.ip(flags & CLIENT_V6 != 0)?;
                let address = r.ip(flags & ADDRESS_V6 != 0)?;
                ts = ts.wrapping_add(unzigzag(r.varint()?));
                line = line.wrapping_add(unzigzag(r.varint()?) as u64);
                let name = u32::try_from(r.varint()?).ok()?;
                let ttl = u32::try_from(r.varint()?).ok()?.wrapping_sub(1);
                let file = u32::try_from(r.varint()?).ok()?;
                Some(Observation {
                    client,
                    address,
                    response_ts: ts,
                    name,
                    ttl,
                    provenance: Provenance { file, line },
                })
            })()
            .ok_or_else(damaged)?;
            start += r.at;
            each(o)?;
        }
        Ok(())
    }
}

/// Reads one spilled observation's fields from the bytes in hand; `None` past their end.
struct SpilledBytes<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl SpilledBytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn ip(&mut self, v6: bool) -> Option<IpAddr> {
        let n = if v6 { 16 } else { 4 };
        let b = self.bytes.get(self.at..self.at + n)?;
        self.at += n;
        Some(match <[u8; 4]>::try_from(b) {
            Ok(v4) => IpAddr::from(v4),
            Err(_) => IpAddr::from(<[u8; 16]>::try_from(b).ok()?),
        })
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }
}

fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()),
        IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
    }
}

/// The answers one client got for one address, in response-time order.
#[derive(Debug, Default)]
struct PairAnswers {
    /// Dense number of the pair, indexing [`DnsHints`].
    id: usize,
    answers: PairPages,
}

/// Where each (client, address) pair's last look-up ended, for one reader of the index:
/// its block and the answer it found ([`Cursor`]).
///
/// A reader sees a pair's flows in time order (a log is written in time order, and a
/// client's flows stay on one shard), so the answer a flow needs is mostly in the block
/// its pair's previous flow used, or one soon after. Starting there reads a cache line or
/// two; a binary search over hundreds of blocks misses the cache at nearly every step
/// (on an AI-heavy run of 10^7 flows the look-ups were 9 % of all CPU before hints, 7 %
/// after). A stale or wrong hint only costs time: the search from it finds the same
/// answer. The answer found is kept too: the next flow whose time falls before the
/// pair's next answer gets it without decoding (a client often opens several connections
/// on one answer: 2.5 on the generated AI-heavy mix, where this took the look-ups from 8.9
/// to 7.2 % of the samples). When the index's pages are on disk, the hints also hold the
/// pages the reader read last ([`PageCache`]). A cursor stands for an answer of one index
/// and a cached page for a page of its file, so hints remember the index they were made
/// for and are ignored, cursors and pages, by any other.
#[derive(Debug, Default)]
pub struct DnsHints {
    /// [`DnsIndex::serial`] of the index they were made for; 0 for none.
    index: u64,
    at: Vec<Cursor>,
    /// Pages lately read, when the index's pages are on disk.
    pages: PageCache,
}

/// Counters that show how much of the DNS data could matter.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DnsIndexStats {
    pub address_answers: u64,
    pub distinct_names: u64,
    pub vendor_names: u64,
    pub vendor_addresses: u64,
    pub answers_kept: u64,
    pub client_address_pairs: u64,
}

/// The DNS answer that attributes a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMatch {
    pub name: u32,
    pub response_ts: Micros,
    pub provenance: Provenance,
}

/// The serial of the next index built; starts at 1, so default hints (0) fit none.
static NEXT_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Answers indexed by (client, address), each list sorted by response time.
#[derive(Debug, Default)]
pub struct DnsIndex {
    /// A number no other index of this process has, to tell whose [`DnsHints`] are whose.
    serial: u64,
    names: Vec<String>,
    by_pair: FastMap<(IpAddr, IpAddr), PairAnswers>,
    /// The answers' pages, in memory or in a file.
    pages: Pages,
    /// The pairs' pages and their bytes (without pages merged away, which stay in the
    /// file unread).
    page_count: u64,
    page_bytes: u64,
    /// Heap bytes of the kept answers and their pairs' table.
    memory_bytes: u64,
    vendor_addresses: HashSet<IpAddr>,
    pub stats: DnsIndexStats,
}

impl DnsIndex {
    /// The most recent response to `client` containing `address`, at or before `flow_ts`,
    /// if it is still within its window. An older answer never stands in for a stale newer
    /// one: the newest answer is what the client was acting on.
    pub fn lookup(
        &self,
        client: IpAddr,
        address: IpAddr,
        flow_ts: Micros,
        window: DnsWindow,
    ) -> Result<Option<DnsMatch>> {
        self.lookup_hinted(&mut DnsHints::default(), client, address, flow_ts, window)
    }

    /// Hints sized for this index: one per (client, address) pair, and a cache of pages
    /// when they are on disk (a page per pair, up to 16 MiB).
    pub fn hints(&self) -> DnsHints {
        DnsHints {
            index: self.serial,
            at: vec![Cursor::default(); self.by_pair.len()],
            pages: match self.cache_slots() {
                Some((slots, _)) => PageCache::new(slots, self.by_pair.len()),
                None => PageCache::default(),
            },
        }
    }

    /// The pages one reader's cache holds, and their mean size; `None` when the pages are
    /// in memory and need no cache.
    fn cache_slots(&self) -> Option<(usize, u64)> {
        if !self.pages.on_disk() {
            return None;
        }
        let mean_page = (self.page_bytes / self.page_count.max(1)).max(1);
        let fit = (CACHE_BYTES as u64 / mean_page).max(1) as usize;
        Some((self.by_pair.len().min(fit).max(1), mean_page))
    }

    /// Heap bytes one reader's [`DnsHints`] come to, at most: its cursors, and its cache
    /// once full.
    pub fn reader_bytes(&self) -> u64 {
        let cursors = (self.by_pair.len() * std::mem::size_of::<Cursor>()) as u64;
        cursors
            + self
                .cache_slots()
                .map_or(0, |(slots, mean)| slots as u64 * mean)
    }

    /// [`Self::lookup`], starting from where the pair's previous look-up through `hints`
    /// ended, and leaving this one's answer there for the next. Fails only when the
    /// index's file cannot be read.
    pub fn lookup_hinted(
        &self,
        hints: &mut DnsHints,
        client: IpAddr,
        address: IpAddr,
        flow_ts: Micros,
        window: DnsWindow,
    ) -> Result<Option<DnsMatch>> {
        let Some(answers) = self.by_pair.get(&(client, address)) else {
            return Ok(None);
        };
        // Hints of another index hold its cursors and its pages: neither may answer here.
        let (mut unhinted, mut uncached) = (Cursor::default(), PageCache::default());
        let (cursor, cache) = match hints.at.get_mut(answers.id) {
            Some(c) if hints.index == self.serial => (c, &mut hints.pages),
            _ => (&mut unhinted, &mut uncached),
        };
        let found = answers
            .answers
            .latest_from(&self.pages, answers.id, flow_ts, cursor, cache)?;
        let Some(e) = found else {
            return Ok(None);
        };
        if flow_ts - e.response_ts > window.limit_micros(e.ttl) {
            return Ok(None);
        }
        Ok(Some(DnsMatch {
            name: e.name,
            response_ts: e.response_ts,
            provenance: e.provenance,
        }))
    }

    /// Whether the answers' pages are in a file rather than memory.
    pub fn on_disk(&self) -> bool {
        self.pages.on_disk()
    }

    /// Heap bytes the kept answers take (their pages, when not on disk, and where each
    /// page is), with their pairs' table; readers' hints come on top ([`Self::reader_bytes`]).
    pub fn memory_bytes(&self) -> u64 {
        self.memory_bytes
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// Whether any client resolved a vendor name to `address`.
    pub fn is_vendor_address(&self, address: IpAddr) -> bool {
        self.vendor_addresses.contains(&address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{embedded, CatalogText};
    use xborder_model::schema::DnsAnswer;

    fn catalog() -> VendorCatalog {
        VendorCatalog::load(&CatalogText::load(None, "v", embedded::VENDORS).unwrap()).unwrap()
    }

    fn rec(line: u64, client: &str, query: &str, ts_s: i64, answers: &[(&str, u32)]) -> DnsRecord {
        DnsRecord {
            ts: ts_s * 1_000_000,
            response_ts: ts_s * 1_000_000,
            uid: None,
            trans_id: None,
            client_ip: client.parse().unwrap(),
            query: query.into(),
            qtype: None,
            rcode: None,
            answers: answers
                .iter()
                .map(|(v, ttl)| DnsAnswer {
                    value: xborder_ingest::zeek_tsv::answer_value(v),
                    ttl: Some(*ttl),
                })
                .collect(),
            provenance: Provenance { file: 0, line },
        }
    }

    impl DnsIndexBuilder<'_> {
        fn add_ok(&mut self, r: &DnsRecord) {
            self.add(r).unwrap();
        }
    }

    /// Look-ups through hints, in any order of flows and pairs, give exactly the plain
    /// look-up's matches.
    #[test]
    fn hinted_look_ups_match_plain_ones() {
        let catalog = catalog();
        let dir = tempfile::tempdir().unwrap();
        let mut b = DnsIndexBuilder::new(&catalog);
        // The same answers with their pages on disk.
        let mut d = DnsIndexBuilder::new(&catalog)
            .spill_to(dir.path())
            .spill_after(1);
        let clients = ["10.0.0.1", "10.0.0.2", "2001:db8::5"];
        let addresses = [
            ("104.18.32.7", 60),
            ("104.18.32.8", 5),
            ("2606:4700::1", 600),
        ];
        let mut rng = xborder_model::rng::Rng::new(5);
        for line in 0..3_000u64 {
            let client = clients[rng.below(3) as usize];
            let (address, ttl) = addresses[rng.below(3) as usize];
            let ts = rng.below(20_000) as i64;
            let r = rec(line, client, "api.openai.com", ts, &[(address, ttl)]);
            b.add_ok(&r);
            d.add_ok(&r);
        }
        let index = b.finish().unwrap();
        let on_disk = d.finish().unwrap();
        assert!(!index.on_disk() && on_disk.on_disk());
        let window = DnsWindow {
            max_age_s: 300,
            ttl_grace_s: 30,
        };
        let mut hints = index.hints();
        let mut disk_hints = on_disk.hints();
        let mut matched = 0;
        // Mostly forward in time, with jumps back.
        let mut ts = 0i64;
        for _ in 0..20_000 {
            ts = if rng.below(50) == 0 {
                rng.below(20_000) as i64
            } else {
                ts + rng.below(4) as i64
            };
            let client = clients[rng.below(3) as usize].parse().unwrap();
            let address = addresses[rng.below(3) as usize].0.parse().unwrap();
            let flow_ts = ts * 1_000_000 + rng.below(1_000_000) as i64;
            let plain = index.lookup(client, address, flow_ts, window).unwrap();
            let hinted = index
                .lookup_hinted(&mut hints, client, address, flow_ts, window)
                .unwrap();
            assert_eq!(plain, hinted);
            let from_disk = on_disk
                .lookup_hinted(&mut disk_hints, client, address, flow_ts, window)
                .unwrap();
            assert_eq!(plain, from_disk);
            matched += usize::from(plain.is_some());
        }
        assert!(matched > 1_000, "{matched}");
        // Hints from another index are ignored: a cursor it found an answer with there
        // must not answer here.
        let mut foreign = DnsHints {
            index: index.serial + 1,
            at: vec![
                Cursor {
                    page: 7,
                    found: Some((
                        Entry {
                            response_ts: 0,
                            name: 0,
                            ttl: 86_400,
                            provenance: Provenance { file: 9, line: 9 },
                        },
                        Micros::MAX,
                    )),
                };
                64
            ],
            pages: PageCache::default(),
        };
        let client = "10.0.0.1".parse().unwrap();
        let address = "104.18.32.7".parse().unwrap();
        assert_eq!(
            index
                .lookup_hinted(&mut foreign, client, address, 19_000_000_000, window)
                .unwrap(),
            index
                .lookup(client, address, 19_000_000_000, window)
                .unwrap()
        );
    }

    /// Hints made on one index with its pages on disk, holding that index's cursors and
    /// cached pages, never answer for another index of the same pairs.
    #[test]
    fn foreign_hints_never_lend_their_pages() {
        let catalog = catalog();
        let dir = tempfile::tempdir().unwrap();
        let window = DnsWindow {
            max_age_s: 86_400,
            ttl_grace_s: 0,
        };
        let client: IpAddr = "10.0.0.1".parse().unwrap();
        let address: IpAddr = "104.18.32.7".parse().unwrap();
        let build = |offset: i64, name: &str| {
            let mut b = DnsIndexBuilder::new(&catalog)
                .spill_to(dir.path())
                .spill_after(1);
            for line in 0..2_000u64 {
                let ts = line as i64 * 10 + offset;
                b.add_ok(&rec(line, "10.0.0.1", name, ts, &[("104.18.32.7", 86_400)]));
            }
            let index = b.finish().unwrap();
            assert!(index.on_disk());
            index
        };
        let (a, b) = (build(0, "api.openai.com"), build(5, "api.anthropic.com"));
        let mut hints = a.hints();
        let times: Vec<Micros> = (0..2_000).map(|i| (i * 10 + 7) * 1_000_000).collect();
        for &t in &times {
            let m = a
                .lookup_hinted(&mut hints, client, address, t, window)
                .unwrap()
                .unwrap();
            assert_eq!(a.name(m.name), "api.openai.com");
        }
        for &t in times.iter().rev() {
            let plain = b.lookup(client, address, t, window).unwrap();
            let foreign = b
                .lookup_hinted(&mut hints, client, address, t, window)
                .unwrap();
            assert_eq!(plain, foreign);
            assert_eq!(b.name(foreign.unwrap().name), "api.anthropic.com");
        }
    }

    /// Spilled answers come back exactly, and pages on disk read back exactly: the index
    /// equals the one built in memory.
    #[test]
    fn spilled_answers_give_the_same_index() {
        let catalog = catalog();
        let dir = tempfile::tempdir().unwrap();
        let records: Vec<DnsRecord> = (0..200u64)
            .map(|i| {
                let client = format!("10.0.{}.{}", i % 3, i % 7);
                let (query, ip) = match i % 4 {
                    0 => ("api.openai.com", "104.18.32.7"),
                    1 => ("shop.example", "104.18.32.7"),
                    2 => ("shop.example", "2606:4700::6812:2007"),
                    _ => ("other.example", "93.184.216.34"),
                };
                rec(i + 1, &client, query, i as i64 * 10, &[(ip, 60)])
            })
            .collect();
        let mut memory = DnsIndexBuilder::new(&catalog);
        let mut spilling = DnsIndexBuilder::new(&catalog)
            .spill_to(dir.path())
            .spill_after(5);
        for r in &records {
            memory.add_ok(r);
            spilling.add_ok(r);
        }
        assert!(spilling.spill.as_ref().is_some_and(|s| s.records >= 140));
        let (a, b) = (memory.finish().unwrap(), spilling.finish().unwrap());
        assert!(!a.on_disk() && b.on_disk());
        assert_eq!(format!("{:?}", a.stats), format!("{:?}", b.stats));
        assert_eq!(a.stats.answers_kept, 100);
        for (k, v) in &a.by_pair {
            // Pair numbers follow the map's order; the answers must agree.
            assert_eq!(
                v.answers.entries(&a.pages),
                b.by_pair[k].answers.entries(&b.pages)
            );
        }
        assert_eq!(a.by_pair.len(), b.by_pair.len());
    }

    /// Observations come back from the spill file exactly as written, in order, with
    /// every field at its edges (both families, times and lines running backwards and at
    /// their extremes, no TTL), across several writes and past the read buffer's end.
    #[test]
    fn spilled_observations_read_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = xborder_model::rng::Rng::new(17);
        let ips: [IpAddr; 4] = [
            "10.0.0.1".parse().unwrap(),
            "0.0.0.0".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
        ];
        let edges_i64 = [0, 1, -1, i64::MIN, i64::MAX, 1_783_000_000_000_000];
        let edges_u64 = [0, 1, u64::MAX, u64::MAX - 1, 1 << 40];
        let edges_u32 = [0, 1, NO_TTL, u32::MAX - 1, 60];
        let written: Vec<Observation> = (0..120_000usize)
            .map(|i| {
                let r: [u64; 9] = std::array::from_fn(|_| rng.next_u64());
                let pick = |k: usize, n: usize| (r[k] % n as u64) as usize;
                let edge = i % 3 == 0;
                Observation {
                    client: ips[pick(0, 4)],
                    address: ips[pick(1, 4)],
                    response_ts: if edge {
                        edges_i64[pick(2, 6)]
                    } else {
                        r[7] as i64
                    },
                    name: edges_u32[pick(3, 5)],
                    ttl: edges_u32[pick(4, 5)],
                    provenance: Provenance {
                        file: edges_u32[pick(5, 5)],
                        line: if edge { edges_u64[pick(6, 5)] } else { r[8] },
                    },
                }
            })
            .collect();
        let mut spill = ObservationSpill::create(dir.path()).unwrap();
        for part in written.chunks(7_000) {
            spill.write(part).unwrap();
        }
        let mut read = Vec::new();
        spill
            .read_back(&mut |o| {
                read.push(o);
                Ok(())
            })
            .unwrap();
        assert_eq!(format!("{read:?}"), format!("{written:?}"));
    }

    /// A spill file cut short is an error naming the spill directory, not a panic.
    #[test]
    fn a_damaged_spill_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let o = Observation {
            client: "10.0.0.1".parse().unwrap(),
            address: "2001:db8::1".parse().unwrap(),
            response_ts: 5,
            name: 1,
            ttl: 60,
            provenance: Provenance { file: 0, line: 3 },
        };
        let mut spill = ObservationSpill::create(dir.path()).unwrap();
        spill.write(&[o; 10]).unwrap();
        spill.out.flush().unwrap();
        let len = spill.out.get_ref().metadata().unwrap().len();
        spill.out.get_ref().set_len(len - 3).unwrap();
        let mut n = 0;
        let err = spill
            .read_back(&mut |_| {
                n += 1;
                Ok(())
            })
            .unwrap_err()
            .to_string();
        assert_eq!(n, 9);
        assert!(err.contains("damaged"), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
    }

    const W: DnsWindow = DnsWindow {
        max_age_s: 3600,
        ttl_grace_s: 300,
    };

    #[test]
    fn same_client_only_and_latest_answer_wins() {
        let catalog = catalog();
        let mut b = DnsIndexBuilder::new(&catalog);
        b.add_ok(&rec(
            1,
            "10.0.0.1",
            "api.openai.com",
            100,
            &[
                ("api.openai.com.cdn.cloudflare.net", 300),
                ("104.18.32.7", 60),
            ],
        ));
        b.add_ok(&rec(
            2,
            "10.0.0.2",
            "shop.example",
            110,
            &[("104.18.32.7", 60)],
        ));
        b.add_ok(&rec(
            3,
            "10.0.0.1",
            "shop.example",
            200,
            &[("104.18.32.7", 60)],
        ));
        b.add_ok(&rec(
            4,
            "10.0.0.3",
            "unrelated.example",
            100,
            &[("93.184.216.34", 60)],
        ));
        let idx = b.finish().unwrap();
        let ip = "104.18.32.7".parse().unwrap();
        let c1 = "10.0.0.1".parse().unwrap();
        let c2 = "10.0.0.2".parse().unwrap();
        // Client 1 asked for the vendor at t=100: attributed (name is the query, not the CNAME).
        let m = idx.lookup(c1, ip, 150 * 1_000_000, W).unwrap().unwrap();
        assert_eq!(idx.name(m.name), "api.openai.com");
        assert_eq!(m.provenance.line, 1);
        // Client 1 later resolved an unrelated name to the same CDN address.
        let m = idx.lookup(c1, ip, 250 * 1_000_000, W).unwrap().unwrap();
        assert_eq!(idx.name(m.name), "shop.example");
        // Client 2 never asked for the vendor: its own answer is kept (same CDN address)
        // and names the unrelated site.
        let m = idx.lookup(c2, ip, 150 * 1_000_000, W).unwrap().unwrap();
        assert_eq!(idx.name(m.name), "shop.example");
        // Answers arriving after the flow do not count.
        assert!(idx.lookup(c1, ip, 99 * 1_000_000, W).unwrap().is_none());
        // Addresses no vendor name resolved to are not kept at all.
        assert_eq!(idx.stats.vendor_addresses, 1);
        assert_eq!(idx.stats.answers_kept, 3);
    }

    #[test]
    fn window_is_ttl_plus_grace_capped_by_max_age() {
        let catalog = catalog();
        let mut b = DnsIndexBuilder::new(&catalog);
        b.add_ok(&rec(
            1,
            "10.0.0.1",
            "api.anthropic.com",
            0,
            &[("160.79.104.10", 60)],
        ));
        b.add_ok(&rec(
            2,
            "10.0.0.9",
            "api.anthropic.com",
            0,
            &[("160.79.104.10", 86_400)],
        ));
        let idx = b.finish().unwrap();
        let ip = "160.79.104.10".parse().unwrap();
        let c1 = "10.0.0.1".parse().unwrap();
        let c9 = "10.0.0.9".parse().unwrap();
        assert!(idx.lookup(c1, ip, 360 * 1_000_000, W).unwrap().is_some());
        assert!(idx.lookup(c1, ip, 361 * 1_000_000, W).unwrap().is_none());
        assert!(idx.lookup(c9, ip, 3600 * 1_000_000, W).unwrap().is_some());
        assert!(idx.lookup(c9, ip, 3601 * 1_000_000, W).unwrap().is_none());
    }
}
