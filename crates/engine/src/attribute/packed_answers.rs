//! One (client, address) pair's DNS answers, packed for the index, in pages that may live
//! on disk.
//!
//! The index keeps every answer that can attribute a flow, and on an AI-heavy mix that is
//! most of the DNS log: 32 million answers at 10^8 flows, a gigabyte at the 32 bytes an
//! answer takes unpacked. Yet an answer mostly repeats the one before it in its pair: the
//! same name, TTL and file, a time a little later and a line a little further on. So the
//! answers are stored sorted, each as its differences from the one before in
//! variable-length integers, about a third of their unpacked size. They are cut into
//! blocks of [`BLOCK`] answers that each decode on their own, and the blocks into pages of
//! [`PAGE`] answers, each page starting with its blocks' first times.
//!
//! Packed, the answers still grow with the input, by about 9 bytes each. So the pages go
//! to a [`Store`] that holds them in memory while they are few and moves them to an
//! unnamed file in the spill directory past [`STORE_IN_MEMORY`]. What stays in memory is
//! each page's first time and place, 16 bytes for 256 answers. A look-up searches a pair's
//! pages' first times, takes one page (from memory, the reader's [`PageCache`] or the
//! file), searches its blocks' first times and decodes one block.
//!
//! While the DNS logs are read, a pair's answers arrive roughly, not exactly, in time
//! order (a log is written as responses come in, files may overlap). [`Growing`] sorts
//! each [`PAGE`] answers and stores them as a page. Pages that follow one another, as they
//! do when a pair's logs are read in time order, are kept as the pair's pages, without
//! reading them again. Pages that overlap (two resolvers' logs of one quarter) are
//! merged, a page at a time from at most [`MERGE_FAN_IN`] chains of pages at once, so
//! the merge holds a few pages in memory, never a pair's whole list.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::dedup::read_exact_at;
use xborder_model::error::{Error, Result};
use xborder_model::schema::{Micros, Provenance};

/// Answers per block: a look-up decodes at most this many.
const BLOCK: usize = 16;

/// Blocks per page: a page read from disk is about 2.4 KB. Pages of a quarter of that
/// were measured no faster to read (the cost of a read is the call, not the bytes) and
/// take more memory for their places.
const PAGE_BLOCKS: usize = 16;

/// Answers per page, and the answers a pair gathers unpacked before it sorts and stores
/// them as one.
const PAGE: usize = BLOCK * PAGE_BLOCKS;

/// The most bytes one answer packs to (a wide time step, every field changed): a page's
/// block offsets fit in 16 bits.
const MAX_ANSWER_BYTES: usize = 11 + 5 + 5 + 5 + 10;
const _: () = assert!(PAGE * MAX_ANSWER_BYTES <= u16::MAX as usize);

/// Bytes of pages a store holds in memory before it moves them to a file: an index this
/// small costs no reads, and a larger one no more memory.
pub(super) const STORE_IN_MEMORY: usize = 64 << 20;

/// Chains of pages one merge pass reads at once, each through one decoded page (8 KiB).
const MERGE_FAN_IN: usize = 64;

/// Bytes of pages one reader of an index on disk keeps: with the 2.4 KB pages of a
/// typical log, one page for each of 7,000 pairs.
pub(super) const CACHE_BYTES: usize = 16 << 20;

/// One kept answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Entry {
    pub response_ts: Micros,
    pub name: u32,
    pub ttl: u32,
    pub provenance: Provenance,
}

/// The index's order: by time, ties by input position so reruns pick the same answer.
type Key = (Micros, Provenance);

impl Entry {
    fn key(&self) -> Key {
        (self.response_ts, self.provenance)
    }
}

/// What a block's first answer is encoded against.
fn block_base(first_ts: Micros) -> Entry {
    Entry {
        response_ts: first_ts,
        name: 0,
        ttl: 0,
        provenance: Provenance { file: 0, line: 0 },
    }
}

const NAME_CHANGES: u8 = 1;
const TTL_CHANGES: u8 = 2;
const FILE_CHANGES: u8 = 4;
/// The time step does not fit beside the flags and follows on its own.
const WIDE_STEP: u8 = 8;
/// The flags ride in the low bits of the time step, which saves a byte an answer.
const FLAG_BITS: u64 = 15;

/// Where a page is: its first time, its place in the store, its length in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PageRef {
    first: Micros,
    at: u64,
    bytes: u32,
    answers: u32,
}

/// Packs one page from answers given in the index's order.
///
/// A page is its answer count (16 bits), its block count (8 bits), each block's first time
/// (64 bits) and offset in the data (16 bits), then the blocks.
#[derive(Debug, Default)]
struct PageWriter {
    data: Vec<u8>,
    firsts: Vec<Micros>,
    offsets: Vec<u16>,
    len: usize,
    prev: Option<Entry>,
}

impl PageWriter {
    fn is_full(&self) -> bool {
        self.len == PAGE
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&mut self, e: Entry) {
        debug_assert!(self.len < PAGE);
        debug_assert!(self.prev.is_none_or(|prev| prev.key() <= e.key()));
        let prev = if self.len.is_multiple_of(BLOCK) {
            self.firsts.push(e.response_ts);
            // Under 2^16: see MAX_ANSWER_BYTES.
            self.offsets.push(self.data.len() as u16);
            block_base(e.response_ts)
        } else {
            self.prev.unwrap_or(block_base(e.response_ts))
        };
        let out = &mut self.data;
        let mut flags = 0;
        if e.name != prev.name {
            flags |= NAME_CHANGES;
        }
        if e.ttl != prev.ttl {
            flags |= TTL_CHANGES;
        }
        if e.provenance.file != prev.provenance.file {
            flags |= FILE_CHANGES;
        }
        let step = e.response_ts.wrapping_sub(prev.response_ts) as u64;
        if step < 1 << 60 {
            write_varint(out, step << 4 | u64::from(flags));
        } else {
            // Only a forged time steps 36,000 years; it is kept exactly all the same.
            write_varint(out, u64::from(flags | WIDE_STEP));
            write_varint(out, step);
        }
        if flags & NAME_CHANGES != 0 {
            write_varint(out, u64::from(e.name));
        }
        if flags & TTL_CHANGES != 0 {
            write_varint(out, u64::from(e.ttl));
        }
        if flags & FILE_CHANGES != 0 {
            write_varint(out, u64::from(e.provenance.file));
        }
        let line_step = e.provenance.line.wrapping_sub(prev.provenance.line) as i64;
        write_varint(out, zigzag(line_step));
        self.len += 1;
        self.prev = Some(e);
    }

    /// The page written to `out` (cleared first), with its first time and answer count;
    /// the writer starts a new page.
    fn finish(&mut self, out: &mut Vec<u8>) -> (Micros, u32) {
        out.clear();
        out.extend_from_slice(&(self.len as u16).to_le_bytes());
        out.push(self.firsts.len() as u8);
        for first in &self.firsts {
            out.extend_from_slice(&first.to_le_bytes());
        }
        for offset in &self.offsets {
            out.extend_from_slice(&offset.to_le_bytes());
        }
        out.extend_from_slice(&self.data);
        let done = (
            self.firsts.first().copied().unwrap_or(Micros::MIN),
            self.len as u32,
        );
        self.data.clear();
        self.firsts.clear();
        self.offsets.clear();
        self.len = 0;
        self.prev = None;
        done
    }
}

/// One page's bytes, read through its header. The bytes are the index's own, written by
/// [`PageWriter`].
#[derive(Clone, Copy)]
struct PageView<'a> {
    answers: usize,
    blocks: usize,
    firsts: &'a [u8],
    offsets: &'a [u8],
    data: &'a [u8],
}

impl<'a> PageView<'a> {
    fn new(bytes: &'a [u8]) -> PageView<'a> {
        let answers = usize::from(u16::from_le_bytes([bytes[0], bytes[1]]));
        let blocks = usize::from(bytes[2]);
        let (firsts, rest) = bytes[3..].split_at(blocks * 8);
        let (offsets, data) = rest.split_at(blocks * 2);
        PageView {
            answers,
            blocks,
            firsts,
            offsets,
            data,
        }
    }

    fn first(&self, block: usize) -> Micros {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.firsts[block * 8..block * 8 + 8]);
        Micros::from_le_bytes(b)
    }

    fn block(&self, block: usize) -> Decoder<'a> {
        let at = usize::from(u16::from_le_bytes([
            self.offsets[block * 2],
            self.offsets[block * 2 + 1],
        ]));
        Decoder {
            bytes: self.data,
            at,
            prev: block_base(self.first(block)),
            left: (self.answers - block * BLOCK).min(BLOCK),
        }
    }

    /// Every answer, in order.
    fn entries(&self) -> impl Iterator<Item = Entry> + 'a {
        let view = *self;
        (0..self.blocks).flat_map(move |b| view.block(b))
    }

    /// The last block that starts at or before `ts`; the first when none does.
    fn latest_block(&self, ts: Micros) -> usize {
        (1..self.blocks)
            .take_while(|&b| self.first(b) <= ts)
            .last()
            .unwrap_or(0)
    }
}

/// Bytes of one chunk of a store's memory; a page never straddles two. Chunks let the
/// store grow without moving what it holds: a vector doubling in place left its old
/// buffers with the allocator, 10 to 15 MiB more resident memory beside a 29 MB index.
const CHUNK: usize = 1 << 20;
const _: () = assert!(PAGE * MAX_ANSWER_BYTES + 3 + PAGE_BLOCKS * 10 <= CHUNK);

/// Where a builder's pages go: memory while they are few, then (given a spill directory)
/// an unnamed file, which the operating system removes when the run ends however it ends.
/// A page's place is the same in either: chunk `place / CHUNK`, or that byte of the file.
pub(super) struct Store {
    memory: Vec<Vec<u8>>,
    file: Option<StoreFile>,
    /// Bytes stored in all: the next page's place.
    len: u64,
    /// Answers in the pages held in memory.
    answers_in_memory: u64,
    dir: Option<PathBuf>,
    limit_bytes: usize,
    limit_answers: u64,
    /// The page being packed, and its bytes once packed; reused.
    writer: PageWriter,
    page: Vec<u8>,
}

struct StoreFile {
    file: File,
    /// Pages not yet written to the file.
    pending: Vec<u8>,
    flushed: u64,
}

/// Pages a store's file gathers before one write.
const STORE_WRITE_BYTES: usize = 1 << 20;

impl Default for Store {
    fn default() -> Self {
        Store {
            memory: Vec::new(),
            file: None,
            len: 0,
            answers_in_memory: 0,
            dir: None,
            limit_bytes: STORE_IN_MEMORY,
            limit_answers: u64::MAX,
            writer: PageWriter::default(),
            page: Vec::new(),
        }
    }
}

impl Store {
    /// Move the pages to an unnamed file in `dir` once they pass [`STORE_IN_MEMORY`].
    pub fn spill_to(&mut self, dir: &Path) {
        self.dir = Some(dir.to_path_buf());
    }

    /// Move the pages to the file once they hold more than `answers` (tests the file on
    /// small inputs).
    pub fn spill_after(&mut self, answers: u64) {
        self.limit_answers = answers;
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.memory.iter().map(Vec::capacity).sum::<usize>()
            + self.file.as_ref().map_or(0, |f| f.pending.capacity())
            + self.page.capacity()
            + self.writer.data.capacity()
    }

    fn io(&self, e: std::io::Error) -> Error {
        Error::io(self.dir.clone().unwrap_or_default(), e)
    }

    /// Store the page `writer` holds; its place.
    fn put_page(&mut self) -> Result<PageRef> {
        let (first, answers) = self.writer.finish(&mut self.page);
        let page = std::mem::take(&mut self.page);
        let at = self.append(&page, answers);
        self.page = page;
        Ok(PageRef {
            first,
            at: at?,
            bytes: self.page.len() as u32,
            answers,
        })
    }

    /// Store one page's `bytes`, holding `answers` answers; its place.
    fn append(&mut self, bytes: &[u8], answers: u32) -> Result<u64> {
        if self.file.is_none()
            && self.dir.is_some()
            && (self.len as usize + bytes.len() > self.limit_bytes
                || self.answers_in_memory + u64::from(answers) > self.limit_answers)
        {
            self.move_to_file()?;
        }
        if self.file.is_none()
            && self
                .memory
                .last()
                .is_none_or(|c| c.len() + bytes.len() > CHUNK)
        {
            self.len = (self.memory.len() * CHUNK) as u64;
            self.memory.push(Vec::with_capacity(CHUNK));
        }
        let at = self.len;
        match &mut self.file {
            None => {
                if let Some(chunk) = self.memory.last_mut() {
                    chunk.extend_from_slice(bytes);
                }
                self.answers_in_memory += u64::from(answers);
            }
            Some(f) => {
                f.pending.extend_from_slice(bytes);
                if f.pending.len() >= STORE_WRITE_BYTES {
                    self.flush()?;
                }
            }
        }
        self.len += bytes.len() as u64;
        Ok(at)
    }

    fn move_to_file(&mut self) -> Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let mut file = tempfile::tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
        let mut out = std::io::BufWriter::with_capacity(STORE_WRITE_BYTES, &mut file);
        let last = self.memory.len().saturating_sub(1);
        for (i, chunk) in self.memory.iter().enumerate() {
            out.write_all(chunk).map_err(|e| Error::io(dir, e))?;
            if i < last {
                // Pages keep their places: chunk i starts at byte i * CHUNK.
                let gap = vec![0u8; CHUNK - chunk.len()];
                out.write_all(&gap).map_err(|e| Error::io(dir, e))?;
            }
        }
        out.flush().map_err(|e| Error::io(dir, e))?;
        drop(out);
        self.file = Some(StoreFile {
            file,
            pending: Vec::with_capacity(STORE_WRITE_BYTES * 2),
            flushed: self.len,
        });
        self.memory = Vec::new();
        self.answers_in_memory = 0;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let Some(f) = &mut self.file else {
            return Ok(());
        };
        let written = f.file.write_all(&f.pending);
        f.flushed += f.pending.len() as u64;
        f.pending.clear();
        written.map_err(|e| self.io(e))
    }

    /// The bytes of `page` into `buf`.
    fn read(&mut self, page: PageRef, buf: &mut Vec<u8>) -> Result<()> {
        buf.clear();
        buf.resize(page.bytes as usize, 0);
        if self.file.is_none() {
            buf.copy_from_slice(in_chunks(&self.memory, page.at, page.bytes as usize));
            return Ok(());
        }
        if self
            .file
            .as_ref()
            .is_some_and(|f| page.at + u64::from(page.bytes) > f.flushed)
        {
            self.flush()?;
        }
        let Some(f) = &self.file else {
            return Ok(());
        };
        read_exact_at(&f.file, buf, page.at).map_err(|e| self.io(e))
    }

    /// The stored pages, for reading only, with `pairs`' pages (`live` bytes in all)
    /// copied together without those merged away when these are more than an eighth of
    /// the pages held in memory (on a generated AI-heavy mix, where answers for other
    /// names come in last and overlap every pair's runs, half). Pages on disk stay as
    /// they are: those merged away are never read.
    pub fn finish_compact<'p>(
        self,
        pairs: impl Iterator<Item = &'p mut PairPages>,
        live: u64,
    ) -> Result<Pages> {
        if self.file.is_some() || self.len.saturating_sub(live) <= live / 8 {
            return self.finish();
        }
        let mut fresh = Store::default();
        for pair in pairs {
            for place in pair.places.iter_mut() {
                let bytes = in_chunks(&self.memory, place.at(), place.bytes());
                *place = Place::new(fresh.append(bytes, 0)?, place.bytes());
            }
        }
        drop(self);
        fresh.finish()
    }

    /// The stored pages, for reading only.
    pub fn finish(mut self) -> Result<Pages> {
        self.flush()?;
        Ok(match self.file {
            None => {
                if let Some(chunk) = self.memory.last_mut() {
                    chunk.shrink_to_fit();
                }
                Pages::Memory(self.memory)
            }
            Some(f) => Pages::File {
                file: f.file,
                dir: self.dir.unwrap_or_default(),
            },
        })
    }
}

/// The `bytes` bytes at `at` of pages held in chunks.
fn in_chunks(chunks: &[Vec<u8>], at: u64, bytes: usize) -> &[u8] {
    let start = (at % CHUNK as u64) as usize;
    &chunks[(at / CHUNK as u64) as usize][start..start + bytes]
}

/// An index's pages, finished: in memory, or in the store's unnamed file.
#[derive(Debug)]
pub(super) enum Pages {
    Memory(Vec<Vec<u8>>),
    File { file: File, dir: PathBuf },
}

impl Default for Pages {
    fn default() -> Self {
        Pages::Memory(Vec::new())
    }
}

impl Pages {
    /// Whether the pages are in a file, read through a [`PageCache`].
    pub fn on_disk(&self) -> bool {
        matches!(self, Pages::File { .. })
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        match self {
            Pages::Memory(m) => m.iter().map(Vec::capacity).sum(),
            Pages::File { .. } => 0,
        }
    }
}

/// The pages one reader of an index on disk has read lately: a slot per pair while they
/// last ([`CACHE_BYTES`]), then slots taken in turn from other pairs, so a pair walking
/// its answers in time order reads each of its pages once. A stale slot only costs a
/// read.
#[derive(Debug, Default)]
pub(super) struct PageCache {
    slots: Vec<CachedPage>,
    /// Most slots.
    capacity: usize,
    /// Each pair's slot, or [`NO_SLOT`].
    slot_of: Vec<u32>,
    /// The slot taken next once all are in use.
    hand: usize,
    /// Pages read from the file.
    reads: u64,
}

const NO_SLOT: u32 = u32::MAX;

#[derive(Debug)]
struct CachedPage {
    pair: usize,
    /// The page held, once read.
    page: Option<usize>,
    bytes: Vec<u8>,
}

impl PageCache {
    /// A cache of up to `slots` pages (at least one) for `pairs` pairs.
    pub fn new(slots: usize, pairs: usize) -> Self {
        PageCache {
            slots: Vec::new(),
            capacity: slots.clamp(1, NO_SLOT as usize - 1),
            slot_of: vec![NO_SLOT; pairs],
            hand: 0,
            reads: 0,
        }
    }

    /// The slot of pair `pair`, taking one for it if it has none.
    fn slot(&mut self, pair: usize) -> usize {
        if let Some(&s) = self.slot_of.get(pair) {
            if s != NO_SLOT {
                return s as usize;
            }
        }
        let s = if self.slots.len() < self.capacity.max(1) {
            self.slots.push(CachedPage {
                pair,
                page: None,
                bytes: Vec::new(),
            });
            self.slots.len() - 1
        } else {
            let s = self.hand % self.slots.len();
            self.hand = s + 1;
            let taken = &mut self.slots[s];
            if let Some(owner) = self.slot_of.get_mut(taken.pair) {
                *owner = NO_SLOT;
            }
            taken.pair = pair;
            taken.page = None;
            s
        };
        if let Some(owner) = self.slot_of.get_mut(pair) {
            *owner = s as u32;
        }
        s
    }

    /// Page number `page` of pair `pair`, at `place`.
    fn page<'a>(
        &'a mut self,
        pages: &'a Pages,
        pair: usize,
        page: usize,
        place: Place,
    ) -> Result<&'a [u8]> {
        let (at, bytes) = (place.at(), place.bytes());
        match pages {
            Pages::Memory(m) => Ok(in_chunks(m, at, bytes)),
            Pages::File { file, dir } => {
                // The slot is the pair's: `slot` gives a slot taken from another pair no page.
                let s = self.slot(pair);
                let slot = &mut self.slots[s];
                if slot.page != Some(page) {
                    slot.bytes.clear();
                    slot.bytes.resize(bytes, 0);
                    read_exact_at(file, &mut slot.bytes, at).map_err(|e| Error::io(dir, e))?;
                    slot.page = Some(page);
                    self.reads += 1;
                }
                Ok(&slot.bytes)
            }
        }
    }
}

/// One pair's answers while the DNS logs are read: sorted runs in the store, and the
/// newest answers not yet sorted.
#[derive(Debug, Default)]
pub(super) struct Growing {
    runs: Vec<Run>,
    tail: Vec<Entry>,
}

/// A stored page of a sorted run, with its first and last answers' keys, to chain pages
/// without reading them.
#[derive(Debug, Clone, Copy)]
struct Run {
    page: PageRef,
    first_key: Key,
    last_key: Key,
}

impl Growing {
    pub fn push(&mut self, e: Entry, store: &mut Store) -> Result<()> {
        self.tail.push(e);
        if self.tail.len() >= PAGE {
            self.seal(store)?;
        }
        Ok(())
    }

    /// Heap bytes held (the stored pages are the store's).
    pub fn memory_bytes(&self) -> usize {
        self.runs.capacity() * std::mem::size_of::<Run>()
            + self.tail.capacity() * std::mem::size_of::<Entry>()
    }

    fn seal(&mut self, store: &mut Store) -> Result<()> {
        // Stable: answers with equal keys keep the order they were read in.
        self.tail.sort_by_key(Entry::key);
        let (Some(first), Some(last)) = (self.tail.first(), self.tail.last()) else {
            return Ok(());
        };
        let (first_key, last_key) = (first.key(), last.key());
        self.tail.drain(..).for_each(|e| store.writer.push(e));
        let page = store.put_page()?;
        self.runs.push(Run {
            page,
            first_key,
            last_key,
        });
        Ok(())
    }

    /// All the pair's answers in the index's order, as a stable sort of the order they
    /// were pushed in would give them.
    pub fn finish(mut self, store: &mut Store) -> Result<PairPages> {
        self.seal(store)?;
        self.tail = Vec::new();
        // Runs that follow one another form a chain, already in order.
        let mut chains: Vec<Vec<PageRef>> = Vec::new();
        let mut last: Option<Key> = None;
        for run in &self.runs {
            match chains.last_mut() {
                Some(chain) if last.is_some_and(|l| l <= run.first_key) => chain.push(run.page),
                _ => chains.push(vec![run.page]),
            }
            last = Some(run.last_key);
        }
        // Merging neighbouring chains, ties to the earlier, keeps the order stable.
        while chains.len() > 1 {
            let mut merged = Vec::with_capacity(chains.len().div_ceil(MERGE_FAN_IN));
            for group in chains.chunks(MERGE_FAN_IN) {
                merged.push(match group {
                    [one] => one.clone(),
                    _ => merge(group, store)?,
                });
            }
            chains = merged;
        }
        Ok(PairPages::new(chains.pop().unwrap_or_default()))
    }
}

/// Chains of pages that overlap in time, merged into new pages; ties go to the earlier
/// chain, which keeps the merge stable.
fn merge(chains: &[Vec<PageRef>], store: &mut Store) -> Result<Vec<PageRef>> {
    struct Reader<'a> {
        pages: std::slice::Iter<'a, PageRef>,
        entries: std::vec::IntoIter<Entry>,
        buf: Vec<u8>,
    }
    impl Reader<'_> {
        fn next(&mut self, store: &mut Store) -> Result<Option<Entry>> {
            loop {
                if let Some(e) = self.entries.next() {
                    return Ok(Some(e));
                }
                let Some(page) = self.pages.next() else {
                    return Ok(None);
                };
                store.read(*page, &mut self.buf)?;
                self.entries = PageView::new(&self.buf)
                    .entries()
                    .collect::<Vec<_>>()
                    .into_iter();
            }
        }
    }
    struct Head {
        entry: Entry,
        chain: usize,
    }
    impl Head {
        fn order(&self) -> (Key, usize) {
            (self.entry.key(), self.chain)
        }
    }
    impl PartialEq for Head {
        fn eq(&self, other: &Self) -> bool {
            self.order() == other.order()
        }
    }
    impl Eq for Head {}
    impl PartialOrd for Head {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Head {
        // Reversed: BinaryHeap pops its greatest.
        fn cmp(&self, other: &Self) -> Ordering {
            other.order().cmp(&self.order())
        }
    }
    let mut readers: Vec<Reader<'_>> = chains
        .iter()
        .map(|c| Reader {
            pages: c.iter(),
            entries: Vec::new().into_iter(),
            buf: Vec::new(),
        })
        .collect();
    let mut heap = BinaryHeap::with_capacity(readers.len());
    for (chain, r) in readers.iter_mut().enumerate() {
        if let Some(entry) = r.next(store)? {
            heap.push(Head { entry, chain });
        }
    }
    let mut out = Vec::new();
    while let Some(head) = heap.pop() {
        store.writer.push(head.entry);
        if store.writer.is_full() {
            out.push(store.put_page()?);
        }
        if let Some(entry) = readers[head.chain].next(store)? {
            heap.push(Head {
                entry,
                chain: head.chain,
            });
        }
    }
    if !store.writer.is_empty() {
        out.push(store.put_page()?);
    }
    Ok(out)
}

/// Where a page is in the [`Pages`] and its length, in one word: the place in the high 48
/// bits (256 TiB of pages), the length in the low 16 (a page is under 64 KiB, see
/// [`MAX_ANSWER_BYTES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place(u64);

impl Place {
    fn new(at: u64, bytes: usize) -> Place {
        debug_assert!(at < 1 << 48 && bytes < 1 << 16);
        Place(at << 16 | bytes as u64)
    }

    fn of(page: &PageRef) -> Place {
        Place::new(page.at, page.bytes as usize)
    }

    fn at(self) -> u64 {
        self.0 >> 16
    }

    fn bytes(self) -> usize {
        (self.0 & 0xffff) as usize
    }
}

/// One pair's answers in the index's order: each page's first time, for the search, and
/// its place in the [`Pages`].
#[derive(Debug, Default)]
pub(super) struct PairPages {
    firsts: Box<[Micros]>,
    places: Box<[Place]>,
    len: u64,
}

impl PairPages {
    fn new(pages: Vec<PageRef>) -> Self {
        PairPages {
            firsts: pages.iter().map(|p| p.first).collect(),
            places: pages.iter().map(Place::of).collect(),
            len: pages.iter().map(|p| u64::from(p.answers)).sum(),
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// Pages of answers.
    pub fn pages(&self) -> usize {
        self.firsts.len()
    }

    /// Bytes of the pages.
    pub fn page_bytes(&self) -> u64 {
        self.places.iter().map(|p| p.bytes() as u64).sum()
    }

    /// Heap bytes held (the pages themselves are the [`Pages`]').
    pub fn memory_bytes(&self) -> usize {
        self.firsts.len() * std::mem::size_of::<Micros>()
            + self.places.len() * std::mem::size_of::<Place>()
    }

    /// The last answer at or before `ts` ([`PairPages::search`]) of pair number `pair`,
    /// from where `cursor` left the previous look-up, and without reading anything when
    /// `ts` comes before the answer after the one it found (a pair's flows come mostly in
    /// time order, often several to one answer).
    pub fn latest_from(
        &self,
        pages: &Pages,
        pair: usize,
        ts: Micros,
        cursor: &mut Cursor,
        cache: &mut PageCache,
    ) -> Result<Option<Entry>> {
        if let Some((e, next)) = cursor.found {
            if e.response_ts <= ts && ts < next {
                return Ok(Some(e));
            }
        }
        let Some((page, e, next)) = self.search(pages, pair, ts, cursor.page as usize, cache)?
        else {
            return Ok(None);
        };
        *cursor = Cursor {
            // Past 2^32 pages for one pair, the next search starts from the first.
            page: u32::try_from(page).unwrap_or(0),
            found: Some((e, next)),
        };
        Ok(Some(e))
    }

    /// The page and the last answer at or before `ts`, searching the pages forward from
    /// `hint` when that page starts at or before `ts`, with the time of the answer after
    /// it (`Micros::MAX` after the last). That time is later than `ts`: the page is the
    /// last that starts at or before `ts`, and the block the last of the page.
    fn search(
        &self,
        pages: &Pages,
        pair: usize,
        ts: Micros,
        hint: usize,
        cache: &mut PageCache,
    ) -> Result<Option<(usize, Entry, Micros)>> {
        let Some(page) = latest_at_or_before(&self.firsts, ts, hint) else {
            return Ok(None);
        };
        let view = PageView::new(cache.page(pages, pair, page, self.places[page])?);
        let block = view.latest_block(ts);
        let mut next = if block + 1 < view.blocks {
            view.first(block + 1)
        } else {
            self.firsts.get(page + 1).copied().unwrap_or(Micros::MAX)
        };
        let mut found = None;
        for e in view.block(block) {
            if e.response_ts > ts {
                next = e.response_ts;
                break;
            }
            found = Some(e);
        }
        Ok(found.map(|e| (page, e, next)))
    }

    /// Every answer, in order.
    #[cfg(test)]
    pub(super) fn entries(&self, pages: &Pages) -> Vec<Entry> {
        let mut cache = PageCache::new(1, 2);
        let mut all = Vec::new();
        for page in 0..self.pages() {
            let bytes = cache.page(pages, 0, page, self.places[page]).unwrap();
            all.extend(PageView::new(bytes).entries());
        }
        all
    }
}

/// Where a reader's previous look-up in one pair's answers ended: the page it searched
/// from, and the answer it found with the time the next answer starts. Any cursor is safe
/// with the [`PairPages`] it was made on, whatever times follow: a time outside the
/// answer's span is searched for afresh.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cursor {
    pub(super) page: u32,
    pub(super) found: Option<(Entry, Micros)>,
}

/// Decodes one block.
struct Decoder<'a> {
    bytes: &'a [u8],
    at: usize,
    prev: Entry,
    left: usize,
}

impl Iterator for Decoder<'_> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let head = read_varint(self.bytes, &mut self.at);
        let flags = (head & FLAG_BITS) as u8;
        let step = if flags & WIDE_STEP != 0 {
            read_varint(self.bytes, &mut self.at)
        } else {
            head >> 4
        };
        let mut e = self.prev;
        e.response_ts = e.response_ts.wrapping_add(step as i64);
        if flags & NAME_CHANGES != 0 {
            e.name = read_varint(self.bytes, &mut self.at) as u32;
        }
        if flags & TTL_CHANGES != 0 {
            e.ttl = read_varint(self.bytes, &mut self.at) as u32;
        }
        if flags & FILE_CHANGES != 0 {
            e.provenance.file = read_varint(self.bytes, &mut self.at) as u32;
        }
        let line_step = unzigzag(read_varint(self.bytes, &mut self.at));
        e.provenance.line = e.provenance.line.wrapping_add(line_step as u64);
        self.prev = e;
        Some(e)
    }
}

/// The index of the last of `times` (sorted) at or before `ts`, searched forward from
/// `hint` when that time is at or before `ts`, else from the start.
fn latest_at_or_before(times: &[Micros], ts: Micros, hint: usize) -> Option<usize> {
    let at_or_before = |t: &Micros| *t <= ts;
    match times.get(hint) {
        Some(t) if at_or_before(t) => {
            // Gallop: times[low] is at or before ts throughout; the answer lies before
            // low + step.
            let (mut low, mut step) = (hint, 1usize);
            while times.get(low + step).is_some_and(at_or_before) {
                low += step;
                step = step.saturating_mul(2);
            }
            let high = low.saturating_add(step).min(times.len());
            Some(low + times[low..high].partition_point(at_or_before) - 1)
        }
        _ => times.partition_point(at_or_before).checked_sub(1),
    }
}

pub(super) fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads what [`write_varint`] wrote; the bytes are the index's own.
fn read_varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = bytes[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

pub(super) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(super) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use xborder_model::rng::Rng;

    fn entry(rng: &mut Rng, ts: i64) -> Entry {
        Entry {
            response_ts: ts,
            name: rng.below(3) as u32 * 1000,
            ttl: [60, 300, u32::MAX][rng.below(3) as usize],
            provenance: Provenance {
                file: rng.below(2) as u32,
                line: rng.below(1 << 40),
            },
        }
    }

    fn sorted(mut pushed: Vec<Entry>) -> Vec<Entry> {
        pushed.sort_by_key(Entry::key);
        pushed
    }

    /// A store in memory, or one whose pages all go to a file in `dir`.
    fn store(dir: Option<&Path>) -> Store {
        let mut store = Store::default();
        if let Some(dir) = dir {
            store.spill_to(dir);
            store.spill_after(0);
        }
        store
    }

    /// One pair's answers, pushed in this order into `store`.
    fn pair_in(store: &mut Store, pushed: &[Entry]) -> PairPages {
        let mut g = Growing::default();
        pushed.iter().for_each(|e| g.push(*e, store).unwrap());
        g.finish(store).unwrap()
    }

    fn grown(pushed: &[Entry], dir: Option<&Path>) -> (PairPages, Pages) {
        let mut store = store(dir);
        let pair = pair_in(&mut store, pushed);
        let pages = store.finish().unwrap();
        assert_eq!(pages.on_disk(), dir.is_some() && !pushed.is_empty());
        (pair, pages)
    }

    /// The search from a hint finds what a search from the start finds, whatever the hint
    /// (before, at, after the answer, past the end) and with runs of equal times.
    #[test]
    fn search_from_a_hint_finds_the_same_answer() {
        let mut rng = Rng::new(17);
        for len in [0usize, 1, 2, 3, 7, 64, 1000] {
            let mut times: Vec<Micros> = (0..len).map(|_| rng.below(500) as i64).collect();
            times.sort();
            for ts in -1..=501 {
                let want = times.partition_point(|&t| t <= ts).checked_sub(1);
                for hint in 0..=len + 1 {
                    assert_eq!(
                        latest_at_or_before(&times, ts, hint),
                        want,
                        "len {len} ts {ts} hint {hint}"
                    );
                }
            }
        }
    }

    #[test]
    fn varints_and_zigzag_round_trip_at_the_edges() {
        for v in [0u64, 1, 127, 128, 16_383, 16_384, u64::MAX >> 1, u64::MAX] {
            let mut b = Vec::new();
            write_varint(&mut b, v);
            let mut at = 0;
            assert_eq!(read_varint(&b, &mut at), v);
            assert_eq!(at, b.len());
        }
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    /// In order, nearly in order (runs that overlap a little), shuffled, and in more
    /// overlapping runs than one merge pass reads, with times at the ends of the range and
    /// runs of equal keys, in memory and on disk: the packed answers are the stable sort
    /// of what was pushed.
    #[test]
    fn packed_answers_are_the_stable_sort_of_the_pushed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng::new(29);
        let many_runs = PAGE * (MERGE_FAN_IN + 6) + 3;
        for len in [0usize, 1, 15, 16, 17, 255, 256, 257, 1000, 4099, many_runs] {
            let in_order: Vec<Entry> = {
                let mut ts = -5_000_000i64;
                (0..len)
                    .map(|_| {
                        ts += rng.below(3) as i64 * 1_000_003;
                        entry(&mut rng, ts)
                    })
                    .collect()
            };
            let mut shuffled = in_order.clone();
            for i in (1..shuffled.len()).rev() {
                shuffled.swap(i, rng.below(i as u64 + 1) as usize);
            }
            let mut nearly = in_order.clone();
            for i in 1..nearly.len() {
                if rng.below(20) == 0 {
                    nearly.swap(i - 1, i);
                }
            }
            // Equal keys, different answers: their pushed order must survive.
            let mut ties = in_order.clone();
            for (i, e) in ties.iter_mut().enumerate() {
                e.response_ts = (i / 7) as i64;
                e.provenance = Provenance { file: 1, line: 9 };
                e.name = i as u32;
            }
            let extremes: Vec<Entry> = (0..len)
                .map(|i| {
                    let ts = if i % 2 == 0 {
                        i64::MIN + i as i64
                    } else {
                        i64::MAX - i as i64
                    };
                    let mut e = entry(&mut rng, ts);
                    e.provenance.line = if i % 3 == 0 { u64::MAX } else { 0 };
                    e
                })
                .collect();
            for pushed in [in_order, shuffled, nearly, ties, extremes] {
                for on_disk in [None, Some(dir.path())] {
                    let (pair, pages) = grown(&pushed, on_disk);
                    assert_eq!(pair.len(), len as u64);
                    let got = pair.entries(&pages);
                    assert_eq!(got, sorted(pushed.clone()), "len {len} {on_disk:?}");
                }
            }
        }
    }

    /// Runs that follow one another are the pair's pages as they stand: nothing is read
    /// back or stored again.
    #[test]
    fn following_runs_are_kept_as_they_stand() {
        let mut rng = Rng::new(3);
        for len in [PAGE * 3, PAGE * 3 + 5, PAGE + BLOCK / 2] {
            let pushed: Vec<Entry> = (0..len).map(|i| entry(&mut rng, i as i64 * 10)).collect();
            let mut store = Store::default();
            let mut g = Growing::default();
            pushed.iter().for_each(|e| g.push(*e, &mut store).unwrap());
            g.seal(&mut store).unwrap();
            let stored = store.len;
            let runs: Vec<PageRef> = g.runs.iter().map(|r| r.page).collect();
            let pair = g.finish(&mut store).unwrap();
            assert_eq!(store.len, stored);
            assert_eq!(pair.places.len(), runs.len());
            assert!(pair
                .places
                .iter()
                .zip(&runs)
                .all(|(p, r)| *p == Place::of(r)));
            assert_eq!(pair.entries(&store.finish().unwrap()), pushed);
        }
    }

    /// The search finds the last answer at or before a time, from any hint, in memory
    /// and on disk.
    #[test]
    fn search_finds_the_latest_answer_from_any_hint() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng::new(11);
        let pushed: Vec<Entry> = (0..1_700)
            .map(|_| {
                let ts = rng.below(2_000) as i64;
                entry(&mut rng, ts)
            })
            .collect();
        let want = sorted(pushed.clone());
        for on_disk in [None, Some(dir.path())] {
            let (pair, pages) = grown(&pushed, on_disk);
            let n = pair.pages();
            assert!(n > 2);
            let mut cache = PageCache::new(1, 2);
            for ts in -1..=2_001i64 {
                let expected = want.iter().rev().find(|e| e.response_ts <= ts).copied();
                for hint in [0, 1, n / 2, n - 1, n, n + 9] {
                    let got = pair.search(&pages, 0, ts, hint, &mut cache).unwrap();
                    assert_eq!(got.map(|(_, e, _)| e), expected, "ts {ts} hint {hint}");
                    if let Some((page, e, _)) = got {
                        let bytes = cache.page(&pages, 0, page, pair.places[page]).unwrap();
                        assert!(PageView::new(bytes).entries().any(|x| x == e));
                    }
                }
            }
        }
    }

    /// A cursor gives what a search without one gives, whatever order the times come in:
    /// mostly forward with ties, then backward, then jumping, then the extremes. Two pairs
    /// on disk share one cache slot, each taking it from the other.
    #[test]
    fn a_cursor_remembers_only_what_still_holds() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng::new(5);
        let mut store = store(Some(dir.path()));
        let mut lists = Vec::new();
        let mut pairs = Vec::new();
        for _ in 0..2 {
            let pushed: Vec<Entry> = (0..(PAGE * 3 + BLOCK * 9 + 3))
                .map(|_| {
                    let ts = rng.below(600) as i64 * 3;
                    entry(&mut rng, ts)
                })
                .collect();
            pairs.push(pair_in(&mut store, &pushed));
            lists.push(sorted(pushed));
        }
        let pages = store.finish().unwrap();
        let mut times: Vec<Micros> = (-2..1_805).collect();
        times.extend((-2..1_805).rev());
        times.extend((0..3_000).map(|_| rng.below(1_900) as i64 - 50));
        times.extend([Micros::MIN, Micros::MAX, 1_797, Micros::MAX, 0, Micros::MIN]);
        let mut cursors = [Cursor::default(); 2];
        let mut cache = PageCache::new(1, 2);
        let mut remembered = 0;
        for ts in times {
            for (pair, want) in lists.iter().enumerate() {
                let cursor = &mut cursors[pair];
                let before = *cursor;
                let got = pairs[pair]
                    .latest_from(&pages, pair, ts, cursor, &mut cache)
                    .unwrap();
                let latest = want.iter().rev().find(|e| e.response_ts <= ts).copied();
                assert_eq!(got, latest, "ts {ts}");
                remembered += usize::from(before.found.is_some() && before.found == cursor.found);
                if let Some((e, next)) = cursor.found {
                    assert!(e.response_ts <= next);
                    assert_eq!(
                        want.iter()
                            .find(|x| x.response_ts > e.response_ts)
                            .map_or(Micros::MAX, |x| x.response_ts),
                        next
                    );
                }
            }
        }
        // Most of the forward walk is answered from the cursor.
        assert!(remembered > 4_000, "{remembered}");
    }

    /// A pair walked forward in time reads each of its pages once.
    #[test]
    fn a_forward_walk_reads_each_page_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng::new(4);
        let mut store = store(Some(dir.path()));
        let pushed: Vec<Entry> = (0..PAGE * 7 + 9)
            .map(|i| entry(&mut rng, i as i64 * 10))
            .collect();
        let pair = pair_in(&mut store, &pushed);
        let pages = store.finish().unwrap();
        let mut cache = PageCache::new(4, 1);
        let mut cursor = Cursor::default();
        for ts in 0..(PAGE * 7 + 9) as i64 * 10 + 5 {
            pair.latest_from(&pages, 0, ts, &mut cursor, &mut cache)
                .unwrap()
                .unwrap();
        }
        assert_eq!(cache.reads, pair.pages() as u64);
    }

    /// The point of packing: typical answers take well under a third of 32 bytes, and once
    /// the store is on disk, memory holds a few bytes per page, not per answer.
    #[test]
    fn typical_answers_pack_small_and_leave_memory_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng::new(1);
        let mut ts = 1_750_000_000_000_000i64;
        let mut line = 0u64;
        let pushed: Vec<Entry> = (0..100_000)
            .map(|_| {
                ts += rng.below(600_000_000) as i64;
                line += rng.below(20_000);
                Entry {
                    response_ts: ts,
                    name: 7,
                    ttl: 300,
                    provenance: Provenance { file: 4, line },
                }
            })
            .collect();
        let (pair, pages) = grown(&pushed, None);
        let per_answer = pair.page_bytes() as f64 / pushed.len() as f64;
        assert!(per_answer < 9.5, "{per_answer} bytes per answer");
        assert_eq!(pages.memory_bytes() as u64, pair.page_bytes());
        let (pair_on_disk, on_disk) = grown(&pushed, Some(dir.path()));
        assert_eq!(pair_on_disk.page_bytes(), pair.page_bytes());
        assert_eq!(on_disk.memory_bytes(), 0);
        let per_answer = pair_on_disk.memory_bytes() as f64 / pushed.len() as f64;
        assert!(per_answer < 0.1, "{per_answer} bytes per answer in memory");
        assert_eq!(pair.memory_bytes(), pair_on_disk.memory_bytes());
    }

    /// Each pair keeps its own slot while there are slots enough; past that a pair takes
    /// the slots of others in turn, and every page read is still the pair's own.
    #[test]
    fn pairs_keep_their_cache_slots_while_they_last() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng::new(2);
        let mut store = store(Some(dir.path()));
        let pairs: Vec<PairPages> = (0..3)
            .map(|p| {
                let pushed: Vec<Entry> = (0..PAGE * 2)
                    .map(|i| entry(&mut rng, (p * 1_000_000 + i) as i64))
                    .collect();
                pair_in(&mut store, &pushed)
            })
            .collect();
        let pages = store.finish().unwrap();
        let mut cache = PageCache::new(2, 3);
        let first = |cache: &mut PageCache, p: usize| {
            let bytes = cache.page(&pages, p, 1, pairs[p].places[1]).unwrap();
            PageView::new(bytes).first(0)
        };
        assert_eq!(first(&mut cache, 0), pairs[0].firsts[1]);
        assert_eq!(first(&mut cache, 1), pairs[1].firsts[1]);
        assert_eq!(first(&mut cache, 0), pairs[0].firsts[1]);
        assert_eq!((cache.slot_of[0], cache.slot_of[1]), (0, 1));
        // The third pair takes the first slot from pair 0, which then takes the second.
        assert_eq!(first(&mut cache, 2), pairs[2].firsts[1]);
        assert_eq!(cache.slot_of, vec![NO_SLOT, 1, 0]);
        assert_eq!(first(&mut cache, 0), pairs[0].firsts[1]);
        assert_eq!(cache.slot_of, vec![1, NO_SLOT, 0]);
        assert_eq!(cache.slots.len(), 2);
    }

    /// Pages fill several chunks of memory without straddling two, and keep their places
    /// when the chunks move to the file, gaps and all.
    #[test]
    fn pages_over_several_chunks_read_back_in_memory_and_after_the_move() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng::new(6);
        let pushed: Vec<Entry> = (0..300_000)
            .map(|i| entry(&mut rng, i as i64 * 1_000))
            .collect();
        for moved_after in [None, Some(200_000u64)] {
            let mut store = Store::default();
            if let Some(answers) = moved_after {
                store.spill_to(dir.path());
                store.spill_after(answers);
            }
            let pair = pair_in(&mut store, &pushed);
            assert!(pair.page_bytes() > 2 * CHUNK as u64);
            let pages = store.finish().unwrap();
            assert_eq!(pages.on_disk(), moved_after.is_some());
            assert_eq!(pair.entries(&pages), pushed);
        }
    }

    /// Pages merged away are dropped from memory when the store finishes, and every pair
    /// reads the same answers from the copy; on disk nothing moves.
    #[test]
    fn finishing_drops_pages_merged_away_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng::new(12);
        let lists: Vec<Vec<Entry>> = (0..3)
            .map(|_| {
                (0..PAGE * 6)
                    .map(|_| {
                        let ts = rng.below(1 << 30) as i64;
                        entry(&mut rng, ts)
                    })
                    .collect()
            })
            .collect();
        for on_disk in [None, Some(dir.path())] {
            let mut store = store(on_disk);
            let mut pairs: Vec<PairPages> = lists
                .iter()
                .map(|pushed| pair_in(&mut store, pushed))
                .collect();
            let live: u64 = pairs.iter().map(PairPages::page_bytes).sum();
            let stored = store.len;
            // Shuffled answers: every run overlaps the others, all are merged.
            assert!(stored > live * 3 / 2, "{stored} {live}");
            let pages = store.finish_compact(pairs.iter_mut(), live).unwrap();
            if on_disk.is_none() {
                assert!(pages.memory_bytes() as u64 <= live + CHUNK as u64);
                assert!((pages.memory_bytes() as u64) < stored);
            }
            for (pair, pushed) in pairs.iter().zip(&lists) {
                assert_eq!(pair.entries(&pages), sorted(pushed.clone()));
            }
        }
    }

    /// A store moves to its file once its pages pass the limit, and keeps every page
    /// readable across the move.
    #[test]
    fn a_store_moves_to_its_file_past_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::default();
        store.spill_to(dir.path());
        store.spill_after(PAGE as u64 * 2);
        let mut rng = Rng::new(8);
        let pushed: Vec<Entry> = (0..PAGE * 5).map(|i| entry(&mut rng, i as i64)).collect();
        let mut g = Growing::default();
        for (i, e) in pushed.iter().enumerate() {
            g.push(*e, &mut store).unwrap();
            assert_eq!(store.file.is_some(), i >= PAGE * 3 - 1, "{i}");
        }
        let pair = g.finish(&mut store).unwrap();
        assert!(store.memory.is_empty());
        let pages = store.finish().unwrap();
        assert!(pages.on_disk());
        assert_eq!(pair.entries(&pages), pushed);
    }
}
