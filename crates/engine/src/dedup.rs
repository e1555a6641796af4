//! Exact de-duplication of record keys in bounded memory.
//!
//! Overlapping SIEM exports repeat records, so every flow uid and DNS record key is checked
//! against every key seen before it. Held in one hash set, those keys are the one structure
//! that grows with the input (10^8 flows need ~2 GiB). [`SeenKeys`] instead keeps the most
//! recent keys in memory and, when that set reaches its budget, sorts it into a *run* on
//! disk and remembers the run's keys in a fixed-size blocked Bloom filter. A key missing
//! from the recent set and from the filter is certainly new (one cache line is read); a key
//! the filter may have seen is looked up exactly in the runs on disk, one 4 KiB block per
//! run through a sparse in-memory index (runs are merged eight at a time, so there are
//! few; a merge runs on its own thread while the old runs keep answering look-ups, so the
//! reading thread never waits on it). Decisions are therefore exact, identical to a
//! single unbounded set, and memory stays at the set's budget plus the filter whatever the
//! input size. The price grows with how far back duplicates reach: a duplicate of a key
//! still in the recent set costs nothing extra, one of a spilled key costs a block read per
//! run.

use std::collections::VecDeque;
use std::fs::File;
use std::hash::Hasher;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::num::NonZeroU128;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use xborder_model::error::{Error, Result};
use xborder_model::fasthash::{hasher64, key128};
use xborder_model::schema::{AnswerValue, DnsRecord, FlowRecord, Proto, Provenance};

/// Keys per block of a run on disk; the sparse index holds each block's first key.
const BLOCK_KEYS: usize = 256;
const KEY_BYTES: usize = 16;

/// How much memory a [`SeenKeys`] may use.
#[derive(Debug, Clone, Copy)]
pub struct DedupBudget {
    /// Keys held in the in-memory set before it is spilled (16-byte slots, at most three
    /// quarters full; sorted in place when spilled).
    pub recent_keys: usize,
    /// Size of the Bloom filter over spilled keys, bytes (allocated at the first spill, or
    /// ahead of it when [`SeenKeys::expect`] foresees one).
    pub filter_bytes: usize,
}

impl DedupBudget {
    /// Flow keys, one a record ([`FlowKeys`]): 12.6 M recent records (a 256 MiB table
    /// just under its load limit) and a 320 MiB filter over the connection ids of the
    /// spilled keys (~27 bits an id at 10^8 flows; each false alarm is an exact look-up
    /// on disk).
    pub const FLOWS: DedupBudget = DedupBudget {
        recent_keys: (1 << 24) / 4 * 3 - 1,
        filter_bytes: 320 << 20,
    };
    /// DNS record keys: DNS logs are a fraction of the flows.
    pub const DNS: DedupBudget = DedupBudget {
        recent_keys: (1 << 22) / 4 * 3 - 1,
        filter_bytes: 64 << 20,
    };

    /// The memory this budget allows: the in-memory table and the filter.
    pub fn bytes(&self) -> u64 {
        ((self.recent_keys as u64 + 1) * 4 / 3) * KEY_BYTES as u64 + self.filter_bytes as u64
    }

    /// This budget shrunk to `fraction` (at most 1) of its memory, keeping the table a
    /// power of two just under its load limit: `--memory-limit` below 1 GiB shrinks the
    /// de-duplication sets so the run spills earlier instead of stopping.
    pub fn scaled(self, fraction: f64) -> DedupBudget {
        if fraction.is_nan() || fraction >= 1.0 {
            return self;
        }
        let slots = ((self.recent_keys + 1) * 4 / 3) as f64 * fraction.max(0.0);
        let slots = (slots as usize).max(1 << 12);
        let slots = if slots.is_power_of_two() {
            slots
        } else {
            slots.next_power_of_two() / 2
        };
        DedupBudget {
            recent_keys: slots / 4 * 3 - 1,
            filter_bytes: ((self.filter_bytes as f64 * fraction) as usize).max(1 << 16),
        }
    }
}

/// What the spilling cost, for run.json.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DedupStats {
    /// Distinct keys seen.
    pub distinct_keys: u64,
    /// Sorted runs written to disk (0: everything fitted in memory).
    pub runs_spilled: u64,
    /// Keys written to those runs (before merging).
    pub keys_spilled: u64,
    /// Keys the filter could not rule out, looked up on disk.
    pub disk_lookups: u64,
    /// Of those, keys found on disk (duplicates of a spilled key).
    pub found_on_disk: u64,
}

/// One sorted run of keys on disk.
struct Run {
    /// Read at explicit offsets, so a merge thread and look-ups can share it.
    file: Arc<File>,
    /// 0 for a run spilled from memory, n + 1 for a merge of level-n runs.
    level: u32,
    keys: usize,
    /// First key of every block.
    sparse: Vec<u128>,
    /// Which run this is, so a finished merge removes exactly its inputs.
    id: u64,
}

/// A merge of [`MERGE_FANOUT`] runs in progress on its own thread. Its input runs stay
/// in [`SeenKeys::runs`], answering look-ups, until the merged run replaces them.
struct Merge {
    inputs: Vec<u64>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<Run>>,
}

/// How full the table is, as a fraction, when the filter a foreseen spill needs starts to
/// be made ([`SeenKeys::expect`]). The flow table's last sixteenth takes some 0.8 M
/// records to fill, seconds of reading, several times what making the filter takes;
/// starting at three quarters, a typical 10^7-flow run (estimated from its bytes at 13 M
/// records, read at 10 M) made a 320 MiB filter it never used.
const FILTER_AHEAD_AT: (usize, usize) = (15, 16);

/// Level-0 runs allowed to wait while a merge is in progress before a spill waits for it:
/// keeps the open files and the block reads per look-up bounded.
const MAX_WAITING_RUNS: usize = 3 * MERGE_FANOUT;

/// The set of keys seen so far; see the module documentation.
pub struct SeenKeys {
    budget: DedupBudget,
    spill_dir: PathBuf,
    recent: KeyTable,
    runs: Vec<Run>,
    next_run_id: u64,
    merge: Option<Merge>,
    filter: Option<BlockedBloom>,
    /// Whether [`SeenKeys::expect`] was told of more keys than the table holds.
    spill_foreseen: bool,
    /// The filter being made, on a thread of its own, ahead of a foreseen first spill
    /// ([`SeenKeys::expect`]), unused until then.
    spare_filter: Option<JoinHandle<BlockedBloom>>,
    /// The bits of a key the filter holds: all of them, or the prefix that
    /// [`SeenKeys::insert_prefixed`] asks about.
    prefix: u128,
    stats: DedupStats,
    block: Vec<u8>,
}

/// What [`SeenKeys::insert_prefixed`] found among the keys seen before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sighting {
    /// The key itself.
    pub key: bool,
    /// The neighbour key asked about.
    pub neighbour: bool,
    /// A key with the same prefix (the key itself or its neighbour included).
    pub prefix: bool,
}

impl Sighting {
    fn or(self, other: Sighting) -> Sighting {
        Sighting {
            key: self.key || other.key,
            neighbour: self.neighbour || other.neighbour,
            prefix: self.prefix || other.prefix,
        }
    }
}

impl SeenKeys {
    /// A set that spills sorted runs of keys to unnamed temporary files in `spill_dir`
    /// (removed by the operating system when the run ends, however it ends).
    pub fn new(budget: DedupBudget, spill_dir: &Path) -> Self {
        Self::with_prefix(budget, spill_dir, !0)
    }

    /// A set that can also tell whether any key seen shares a key's top bits, those set
    /// in `prefix` ([`SeenKeys::insert_prefixed`]); its filter holds only those bits.
    pub fn with_prefix(budget: DedupBudget, spill_dir: &Path, prefix: u128) -> Self {
        SeenKeys {
            budget: DedupBudget {
                recent_keys: budget.recent_keys.max(1),
                filter_bytes: budget.filter_bytes.max(64),
            },
            spill_dir: spill_dir.to_path_buf(),
            recent: KeyTable::with_capacity(1 << 12),
            runs: Vec::new(),
            next_run_id: 0,
            merge: None,
            filter: None,
            spill_foreseen: false,
            spare_filter: None,
            prefix,
            stats: DedupStats::default(),
            block: vec![0; BLOCK_KEYS * KEY_BYTES],
        }
    }

    /// Size the in-memory table for about `keys` keys (capped by the budget) at once:
    /// growing it by doubling re-inserts every key at random, a cache miss each. When
    /// `keys` is more than the table may hold, the filter the first spill needs is made
    /// ahead, on a thread of its own, once the table is [`FILTER_AHEAD_AT`] full: writing
    /// its pages (320 MiB for flows) takes a fraction of a second, which the first spill
    /// would otherwise add to the time the reading waits for it. Waiting for the table to
    /// fill keeps a run whose estimate was too high from holding a filter it never uses,
    /// unless it came within a sixteenth of a spill.
    pub fn expect(&mut self, keys: u64) {
        let wanted = keys.min(self.budget.recent_keys as u64) as usize;
        let slots = (wanted + wanted / 3 + 1).next_power_of_two();
        if slots > self.recent.slots.len() && self.recent.len() == 0 {
            self.recent = KeyTable::with_capacity(slots);
        }
        self.spill_foreseen = keys > self.budget.recent_keys as u64;
    }

    /// Start making the first spill's filter if a spill is foreseen and no filter is made
    /// or being made. If no thread can be started, the spill makes the filter itself.
    fn make_filter_ahead(&mut self) {
        if self.spill_foreseen && self.filter.is_none() && self.spare_filter.is_none() {
            let bytes = self.budget.filter_bytes;
            self.spare_filter = std::thread::Builder::new()
                .name("xborder-filter".into())
                .spawn(move || BlockedBloom::new(bytes))
                .ok();
        }
    }

    /// Record `key`; true if it was not seen before.
    pub fn insert(&mut self, key: u128) -> Result<bool> {
        if !self.recent.insert(key) {
            return Ok(false);
        }
        // A key found on disk stays in the recent set too: duplicates come in runs, and
        // the next repeat is then caught in memory.
        let new = if self.may_be_on_disk(key) {
            self.stats.disk_lookups += 1;
            let found = self.on_disk(key)?;
            self.stats.found_on_disk += u64::from(found);
            !found
        } else {
            true
        };
        self.stats.distinct_keys += u64::from(new);
        self.inserted()?;
        Ok(new)
    }

    /// Record `key`, and tell whether it, `neighbour`, or any key with the same prefix
    /// (the bits set in the set's `prefix`, [`SeenKeys::with_prefix`]) was seen before.
    ///
    /// Keys with one prefix share their home slot in the table, so they lie in the probe
    /// run that inserting `key` walks anyway, and side by side in a sorted run on disk:
    /// the answer costs what inserting `key` alone does. When the key itself was seen,
    /// the neighbour's answer may be left false.
    pub fn insert_prefixed(
        &mut self,
        key: NonZeroU128,
        neighbour: Option<NonZeroU128>,
    ) -> Result<Sighting> {
        let mut seen = self.recent.insert_prefixed(key, neighbour, self.prefix);
        if seen.key {
            return Ok(seen);
        }
        if self.may_be_on_disk(key.get()) {
            self.stats.disk_lookups += 1;
            let on_disk = self.on_disk_prefixed(key.get(), neighbour.map(NonZeroU128::get))?;
            // Found on disk: a duplicate of a spilled key, as itself or in its
            // neighbouring second.
            self.stats.found_on_disk += u64::from(on_disk.key || on_disk.neighbour);
            seen = seen.or(on_disk);
        }
        self.stats.distinct_keys += u64::from(!seen.key);
        self.inserted()?;
        Ok(seen)
    }

    /// Whether the filter over the runs on disk may hold `key`'s prefix.
    fn may_be_on_disk(&self, key: u128) -> bool {
        self.filter
            .as_ref()
            .is_some_and(|f| f.may_contain(key & self.prefix))
    }

    /// A key was added to the table: spill it when full, and make the filter ahead when
    /// a spill draws near.
    fn inserted(&mut self) -> Result<()> {
        let held = self.recent.len();
        if held >= self.budget.recent_keys {
            self.spill()?;
        } else if held == self.budget.recent_keys / FILTER_AHEAD_AT.1 * FILTER_AHEAD_AT.0 {
            self.make_filter_ahead();
        }
        Ok(())
    }

    /// Touch the memory that inserting `keys` will read. The set and the filter are far
    /// larger than the CPU caches, so each insert waits on a cache miss; looked up together
    /// first, a batch's misses overlap instead of queueing one behind another.
    pub fn warm(&self, keys: impl Iterator<Item = u128>) {
        let mut hits = 0usize;
        for k in keys {
            hits ^= self.recent.warm(k);
            hits += usize::from(self.may_be_on_disk(k));
        }
        std::hint::black_box(hits);
    }

    /// Distinct keys held in memory right now (for `--memory-limit` messages).
    pub fn in_memory(&self) -> usize {
        self.recent.len()
    }

    /// Bytes held in memory: the table, the filter and the runs' sparse indexes.
    pub fn memory_bytes(&self) -> u64 {
        let sparse: usize = self.runs.iter().map(|r| r.sparse.len()).sum();
        ((self.recent.slots.len() + sparse) * KEY_BYTES
            + self.filter.as_ref().map_or(0, |f| f.blocks.len() * 32)
            + self.spare_filter.as_ref().map_or(0, |_| {
                BlockedBloom::blocks_for(self.budget.filter_bytes) * 32
            })) as u64
    }

    /// What the set did.
    pub fn stats(&self) -> DedupStats {
        self.stats
    }

    fn io_error(&self, e: std::io::Error) -> Error {
        Error::io(&self.spill_dir, e)
    }

    /// Sort the recent keys into a run on disk and add them to the filter.
    fn spill(&mut self) -> Result<()> {
        let bytes = self.budget.filter_bytes;
        let spare = &mut self.spare_filter;
        let filter = self
            .filter
            .get_or_insert_with(|| match spare.take().map(JoinHandle::join) {
                Some(Ok(made)) => made,
                _ => BlockedBloom::new(bytes),
            });
        // Sorted in place in the table's own memory: no second copy of the keys.
        let mut recent = std::mem::take(&mut self.recent);
        let keys = recent.sorted_keys();
        // The reading waits while a spill runs, so the filter is filled on a second core
        // while this one writes the run. The helper allocates nothing: memory a short-lived
        // thread allocates (the run's write buffer and index) stays in its own malloc arena,
        // which at 10^8 flows held tens of MiB more at the peak.
        let dir = &self.spill_dir;
        let prefix = self.prefix;
        let (run, ()) = on_two_cores(
            || write_run(dir, 0, keys.iter().copied().map(Ok), None),
            || {
                for k in keys.iter() {
                    filter.insert(*k & prefix);
                }
            },
        );
        self.stats.runs_spilled += 1;
        self.stats.keys_spilled += keys.len() as u64;
        recent.clear();
        self.recent = recent;
        self.push_run(run?);
        self.merge_full_levels()
    }

    fn push_run(&mut self, mut run: Run) {
        run.id = self.next_run_id;
        self.next_run_id += 1;
        self.runs.push(run);
    }

    /// Keep the number of runs (open files, block reads per look-up) logarithmic in the
    /// input: [`MERGE_FANOUT`] runs of one level are merged into one run of the next, on a
    /// merge thread. A finished merge is taken in here; a spill waits for one still going
    /// only when many runs queue behind it.
    fn merge_full_levels(&mut self) -> Result<()> {
        if let Some(m) = &self.merge {
            let waiting = self.runs.len() - m.inputs.len();
            if m.thread.is_finished() || waiting >= MAX_WAITING_RUNS {
                self.finish_merge()?;
            }
        }
        if self.merge.is_none() {
            self.start_merge()?;
        }
        Ok(())
    }

    /// Start merging the oldest runs of the lowest full level, if any.
    fn start_merge(&mut self) -> Result<()> {
        let Some(level) =
            (0..32).find(|l| self.runs.iter().filter(|r| r.level == *l).count() >= MERGE_FANOUT)
        else {
            return Ok(());
        };
        let inputs: Vec<(Arc<File>, usize, u64)> = self
            .runs
            .iter()
            .filter(|r| r.level == level)
            .take(MERGE_FANOUT)
            .map(|r| (r.file.clone(), r.keys, r.id))
            .collect();
        let ids = inputs.iter().map(|(_, _, id)| *id).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let dir = self.spill_dir.clone();
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("xborder-merge".into())
            .spawn(move || {
                let readers = inputs
                    .into_iter()
                    .map(|(file, keys, _)| RunReader::new(file, keys))
                    .collect();
                let merged = MergedKeys::new(readers, &dir)?;
                write_run(&dir, level + 1, merged, Some(&stopped))
            })
            .map_err(|e| self.io_error(e))?;
        self.merge = Some(Merge {
            inputs: ids,
            stop,
            thread,
        });
        Ok(())
    }

    /// Wait for the merge in progress, if any, and put its run in place of its inputs;
    /// then start the next one a full level calls for.
    fn finish_merge(&mut self) -> Result<()> {
        let Some(m) = self.merge.take() else {
            return Ok(());
        };
        let merged = m
            .thread
            .join()
            .map_err(|_| Error::Aggregate("the de-duplication merge thread failed".into()))??;
        self.runs.retain(|r| !m.inputs.contains(&r.id));
        self.push_run(merged);
        Ok(())
    }

    /// Wait until no merge is in progress and no level is full (for tests).
    #[cfg(test)]
    fn settle(&mut self) -> Result<()> {
        self.finish_merge()?;
        while self.merge.is_none() {
            self.start_merge()?;
            if self.merge.is_none() {
                return Ok(());
            }
            self.finish_merge()?;
        }
        Ok(())
    }

    /// Exact lookup of `key` in the runs on disk.
    fn on_disk(&mut self, key: u128) -> Result<bool> {
        for run in &self.runs {
            let after = run.sparse.partition_point(|k| *k <= key);
            if after == 0 {
                continue;
            }
            let block = after - 1;
            if run.sparse[block] == key {
                return Ok(true);
            }
            let first = block * BLOCK_KEYS;
            let n = BLOCK_KEYS.min(run.keys - first);
            let buf = &mut self.block[..n * KEY_BYTES];
            read_exact_at(&run.file, buf, (first * KEY_BYTES) as u64)
                .map_err(|e| Error::io(&self.spill_dir, e))?;
            let at = first_at_least(buf, n, key);
            if at < n && key_at(buf, at) == key {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Exact look-up in the runs on disk of `key`, `neighbour` and any key with `key`'s
    /// prefix: such keys lie side by side in a sorted run, in one block or, rarely, the
    /// next ones too.
    fn on_disk_prefixed(&mut self, key: u128, neighbour: Option<u128>) -> Result<Sighting> {
        let low = key & self.prefix;
        let high = low | !self.prefix;
        let mut seen = Sighting::default();
        for run in &self.runs {
            let mut block = run.sparse.partition_point(|k| *k <= low).saturating_sub(1);
            while block < run.sparse.len() && run.sparse[block] <= high {
                let first = block * BLOCK_KEYS;
                let n = BLOCK_KEYS.min(run.keys - first);
                let buf = &mut self.block[..n * KEY_BYTES];
                read_exact_at(&run.file, buf, (first * KEY_BYTES) as u64)
                    .map_err(|e| Error::io(&self.spill_dir, e))?;
                let mut i = first_at_least(buf, n, low);
                while i < n {
                    let k = key_at(buf, i);
                    if k > high {
                        break;
                    }
                    seen.prefix = true;
                    seen.key |= k == key;
                    seen.neighbour |= Some(k) == neighbour;
                    i += 1;
                }
                if seen.key {
                    return Ok(seen);
                }
                if i < n {
                    break;
                }
                block += 1;
            }
        }
        Ok(seen)
    }
}

/// The first of the `n` sorted keys in `buf` that is at least `low` (`n` if none is).
fn first_at_least(buf: &[u8], n: usize, low: u128) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if key_at(buf, mid) < low {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

impl Drop for SeenKeys {
    /// A merge still in progress is no longer wanted: stop it and wait, so its thread
    /// does not outlive the set (its temporary file goes with it).
    fn drop(&mut self) {
        if let Some(m) = self.merge.take() {
            m.stop.store(true, Ordering::Relaxed);
            let _ = m.thread.join();
        }
    }
}

/// Write sorted keys (repeats dropped) as a run of `level` in an unnamed temporary file
/// in `dir`; stops with an error if `stop` is raised.
fn write_run(
    dir: &Path,
    level: u32,
    keys: impl Iterator<Item = Result<u128>>,
    stop: Option<&AtomicBool>,
) -> Result<Run> {
    let io_error = |e| Error::io(dir, e);
    let file = tempfile::tempfile_in(dir).map_err(io_error)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut sparse = Vec::new();
    let mut written = 0usize;
    let mut last = None;
    for k in keys {
        let k = k?;
        if last == Some(k) {
            continue;
        }
        last = Some(k);
        if written.is_multiple_of(BLOCK_KEYS) {
            sparse.push(k);
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                return Err(Error::Aggregate("de-duplication merge stopped".into()));
            }
        }
        out.write_all(&k.to_le_bytes()).map_err(io_error)?;
        written += 1;
    }
    let file = out.into_inner().map_err(|e| io_error(e.into_error()))?;
    Ok(Run {
        file: Arc::new(file),
        level,
        keys: written,
        sparse,
        id: 0,
    })
}

/// Fill `buf` from `file` at `offset`, without moving a shared file position.
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let (mut done, mut buf) = (0u64, buf);
        while !buf.is_empty() {
            match std::os::windows::fs::FileExt::seek_read(file, buf, offset + done) {
                Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    done += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The zeroed slot array of a [`KeyTable`]. A table of [`MAPPED_SLOT_BYTES`] or more is a
/// mapping of its own, advised to be backed by transparent huge pages: each insert reads a
/// slot at random, and with 4 KiB pages nearly every one also missed the TLB (the table is
/// 256 MiB; the TLB reaches a few MiB), a page walk that on a virtual machine walks the
/// host's tables too. With 2 MiB pages the walks mostly hit. Where the system offers no
/// huge pages the advice does nothing; where no mapping can be made, the slots are an
/// ordinary vector.
enum Slots {
    Heap(Vec<u128>),
    Mapped(memmap2::MmapMut),
}

/// Tables from this size up get a mapping of their own ([`Slots`]): two huge pages.
const MAPPED_SLOT_BYTES: usize = 4 << 20;

impl Default for Slots {
    fn default() -> Self {
        Slots::Heap(Vec::new())
    }
}

impl Slots {
    /// `n` zero slots whose pages are written now (see [`written_pages`]).
    fn zeroed(n: usize) -> Slots {
        let bytes = n.saturating_mul(KEY_BYTES);
        let mapped = (bytes >= MAPPED_SLOT_BYTES)
            .then(|| memmap2::MmapOptions::new().len(bytes).map_anon().ok())
            .flatten()
            .filter(|m| bytemuck::try_cast_slice::<u8, u128>(&m[..]).is_ok());
        match mapped {
            Some(mut map) => {
                #[cfg(target_os = "linux")]
                let _ = map.advise(memmap2::Advice::HugePage);
                // A fresh mapping reads as zeros; write each page once, as for a vector.
                write_pages(&mut map[..], 0);
                Slots::Mapped(map)
            }
            None => Slots::Heap(written_pages(vec![0u128; n], 0)),
        }
    }
}

impl std::ops::Deref for Slots {
    type Target = [u128];

    fn deref(&self) -> &[u128] {
        match self {
            Slots::Heap(v) => v,
            // Checked to cast when made (`zeroed`): a mapping starts on a page boundary.
            Slots::Mapped(m) => bytemuck::cast_slice::<u8, u128>(&m[..]),
        }
    }
}

impl std::ops::DerefMut for Slots {
    fn deref_mut(&mut self) -> &mut [u128] {
        match self {
            Slots::Heap(v) => v,
            Slots::Mapped(m) => bytemuck::cast_slice_mut::<u8, u128>(&mut m[..]),
        }
    }
}

/// `zeros` with each of its pages written once. Fresh zeroed memory is mapped on first
/// touch; when the first touch is a read ([`KeyTable::warm`], [`BlockedBloom::may_contain`],
/// or the load of a read-modify-write) it maps the shared zero page, and the write after it
/// must copy the page and flush the TLB of every core running one of the process's
/// threads, an interrupt to each. Writing each page once up front costs one ordinary fault
/// per page instead.
fn written_pages<T: Copy>(mut zeros: Vec<T>, zero: T) -> Vec<T> {
    write_pages(&mut zeros, zero);
    zeros
}

/// Write `zero` into the first item of each 4 KiB page of `zeros` (see [`written_pages`]).
fn write_pages<T: Copy>(zeros: &mut [T], zero: T) {
    // `black_box` keeps the compiler from dropping stores of zero into memory it knows
    // is zeroed.
    let zeros = std::hint::black_box(zeros);
    let per_page = (4096 / std::mem::size_of::<T>().max(1)).max(1);
    for item in zeros.iter_mut().step_by(per_page) {
        *item = zero;
    }
}

/// An open-addressing set of 128-bit hash keys: one slot array, so a lookup reads one
/// cache line and [`SeenKeys::warm`] can fetch exactly that line ahead of the insert.
/// Key 0 marks an empty slot and is tracked apart.
///
/// A key's home slot is its top bits, so the slot array is already in key order but for
/// the short displacements of linear probing: a spill sorts it in about linear time
/// ([`KeyTable::sorted_keys`]) instead of a full sort of millions of keys.
#[derive(Default)]
struct KeyTable {
    slots: Slots,
    len: usize,
    has_zero: bool,
}

impl KeyTable {
    fn with_capacity(slots: usize) -> Self {
        KeyTable {
            slots: Slots::zeroed(slots.next_power_of_two()),
            len: 0,
            has_zero: false,
        }
    }

    fn len(&self) -> usize {
        self.len + usize::from(self.has_zero)
    }

    fn home(&self, key: u128) -> usize {
        home_slot(key, self.slots.len())
    }

    fn warm(&self, key: u128) -> usize {
        self.slots.get(self.home(key)).map_or(0, |k| *k as usize)
    }

    /// Insert `key` if it is not in the table, and tell whether it, `neighbour`, or a
    /// key with the same bits under `prefix` is. Keys with one prefix (which must cover
    /// the bits [`home_slot`] takes) share their home slot, and with no key ever removed
    /// but by [`KeyTable::clear`], every key lies between its home slot and the next
    /// empty one: the probe run the insert walks holds them all. Key 0 is never such a
    /// key, so it needs no slot of its own here.
    fn insert_prefixed(
        &mut self,
        key: NonZeroU128,
        neighbour: Option<NonZeroU128>,
        prefix: u128,
    ) -> Sighting {
        if self.slots.is_empty() || (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let (key, neighbour) = (key.get(), neighbour.map_or(0, NonZeroU128::get));
        let wanted = key & prefix;
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        let mut seen = Sighting::default();
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                self.slots[i] = key;
                self.len += 1;
                return seen;
            }
            if slot == key {
                seen.key = true;
                seen.prefix = true;
                return seen;
            }
            if slot & prefix == wanted {
                seen.prefix = true;
                seen.neighbour |= slot == neighbour;
            }
            i = (i + 1) & mask;
        }
    }

    /// True if `key` was not in the table.
    fn insert(&mut self, key: u128) -> bool {
        if key == 0 {
            return !std::mem::replace(&mut self.has_zero, true);
        }
        if self.slots.is_empty() || (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let slot = self.slots[i];
            if slot == key {
                return false;
            }
            if slot == 0 {
                self.slots[i] = key;
                self.len += 1;
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, Slots::zeroed(size));
        let mask = self.slots.len() - 1;
        for key in old.iter().copied().filter(|k| *k != 0) {
            let mut i = home_slot(key, size);
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = key;
        }
    }

    /// The keys, sorted, gathered at the front of the slot array (the table is unusable
    /// until [`KeyTable::clear`]).
    ///
    /// Slots hold keys in home order except where probing moved a key a few slots on, and
    /// except the cluster that wraps round from the end to the front. So the front cluster
    /// is set aside, the rest is compacted and insertion-sorted (near-linear), and the two
    /// are merged from the back. A large table is cut at an empty slot past its middle and
    /// its two halves are compacted and sorted on two cores: no probe sequence crosses an
    /// empty slot, so every key after the cut is greater than every key before it (but
    /// the front cluster's).
    fn sorted_keys(&mut self) -> &[u128] {
        let size = self.slots.len();
        let wrap_end = self.slots.iter().position(|k| *k == 0).unwrap_or(size);
        let mut front: Vec<u128> = self.slots[..wrap_end].to_vec();
        if self.has_zero {
            front.push(0);
        }
        front.sort_unstable();
        let n = match self.cut(wrap_end) {
            Some(cut) => {
                let (low, high) = self.slots.split_at_mut(cut);
                let (low_keys, high_keys) = on_two_cores(
                    || compact_and_sort(low, wrap_end),
                    || compact_and_sort(high, 0),
                );
                self.slots.copy_within(cut..cut + high_keys, low_keys);
                low_keys + high_keys
            }
            None => compact_and_sort(&mut self.slots, wrap_end),
        };
        // The load limit (three quarters) leaves a free slot for key 0, so the merged keys
        // fit in the slot array.
        let total = n + front.len();
        debug_assert!(total <= size);
        let (mut i, mut j) = (n, front.len());
        for out in (0..total).rev() {
            if j == 0 {
                break;
            }
            if i > 0 && self.slots[i - 1] > front[j - 1] {
                self.slots[out] = self.slots[i - 1];
                i -= 1;
            } else {
                self.slots[out] = front[j - 1];
                j -= 1;
            }
        }
        &self.slots[..total]
    }

    /// Where [`KeyTable::sorted_keys`] cuts the table in two: the first empty slot past the
    /// middle and past the front cluster, if the table is large enough to be worth it.
    fn cut(&self, wrap_end: usize) -> Option<usize> {
        let size = self.slots.len();
        if size < PARALLEL_SLOTS {
            return None;
        }
        (wrap_end.max(size / 2)..size).find(|&i| self.slots[i] == 0)
    }

    fn clear(&mut self) {
        let size = self.slots.len();
        if size >= PARALLEL_SLOTS {
            let (low, high) = self.slots.split_at_mut(size / 2);
            on_two_cores(|| low.fill(0), || high.fill(0));
        } else {
            self.slots.fill(0);
        }
        self.len = 0;
        self.has_zero = false;
    }
}

/// Tables from this many slots up are sorted and cleared on two cores when spilled.
const PARALLEL_SLOTS: usize = 1 << 12;

/// Run `here` on this thread and `there` on a helper thread at the same time, and return
/// both results; both run here, one after the other, if no thread can be started. Memory
/// `there` allocates is held in the helper's own malloc arena after it ends, so the jobs
/// given to it allocate nothing.
fn on_two_cores<A, B: Send>(here: impl FnOnce() -> A, there: impl FnOnce() -> B + Send) -> (A, B) {
    let job = std::sync::Mutex::new(Some(there));
    let take = || job.lock().unwrap_or_else(|e| e.into_inner()).take();
    std::thread::scope(|s| {
        let helper = std::thread::Builder::new()
            .name("xborder-spill".into())
            .spawn_scoped(s, || take().map(|f| f()));
        let a = here();
        let from_helper = match helper {
            Ok(h) => h
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => None,
        };
        match from_helper.or_else(|| take().map(|f| f())) {
            Some(b) => (a, b),
            None => unreachable!("the helper ran the job, or left it to run here"),
        }
    })
}

/// Move the keys of `slots[from..]` to the front of `slots`, sorted; their number.
fn compact_and_sort(slots: &mut [u128], from: usize) -> usize {
    let mut n = 0;
    for i in from..slots.len() {
        let k = slots[i];
        if k != 0 {
            slots[n] = k;
            n += 1;
        }
    }
    sort_nearly_sorted(&mut slots[..n]);
    n
}

/// The home slot of `key` in a table of `size` slots (a power of two): its top bits.
fn home_slot(key: u128, size: usize) -> usize {
    match size.trailing_zeros() {
        0 => 0,
        bits => ((key >> 64) as u64 >> (64 - bits)) as usize,
    }
}

/// Sort keys that are nearly in order by insertion, in time linear in the keys plus the
/// distance they move; keys far out of order (hash keys never are, but the input picks
/// them) fall back to a full sort once the moves pass a few per key.
fn sort_nearly_sorted(keys: &mut [u128]) {
    let limit = keys.len().saturating_mul(8).saturating_add(1024);
    let mut moves = 0usize;
    for i in 1..keys.len() {
        let k = keys[i];
        let mut j = i;
        while j > 0 && keys[j - 1] > k {
            keys[j] = keys[j - 1];
            j -= 1;
            moves += 1;
        }
        keys[j] = k;
        if moves > limit {
            keys.sort_unstable();
            return;
        }
    }
}

/// Runs of one level merged into one run of the next.
const MERGE_FANOUT: usize = 8;

fn key_at(buf: &[u8], i: usize) -> u128 {
    let mut b = [0u8; KEY_BYTES];
    b.copy_from_slice(&buf[i * KEY_BYTES..(i + 1) * KEY_BYTES]);
    u128::from_le_bytes(b)
}

/// Sequential reader of one run's keys, by positional reads of a shared file.
struct RunReader {
    file: Arc<File>,
    offset: u64,
    left: usize,
    buf: Vec<u8>,
    at: usize,
}

/// Bytes a [`RunReader`] reads at once.
const READ_BYTES: usize = 1 << 16;

impl RunReader {
    fn new(file: Arc<File>, keys: usize) -> Self {
        RunReader {
            file,
            offset: 0,
            left: keys,
            buf: Vec::new(),
            at: 0,
        }
    }

    fn next_key(&mut self) -> std::io::Result<Option<u128>> {
        if self.at == self.buf.len() {
            if self.left == 0 {
                return Ok(None);
            }
            let n = (self.left * KEY_BYTES).min(READ_BYTES);
            self.buf.resize(n, 0);
            read_exact_at(&self.file, &mut self.buf, self.offset)?;
            self.offset += n as u64;
            self.left -= n / KEY_BYTES;
            self.at = 0;
        }
        let key = key_at(&self.buf[self.at..], 0);
        self.at += KEY_BYTES;
        Ok(Some(key))
    }
}

/// The keys of several sorted runs in one sorted stream.
struct MergedKeys<'a> {
    readers: Vec<RunReader>,
    heads: std::collections::BinaryHeap<std::cmp::Reverse<(u128, usize)>>,
    dir: &'a Path,
}

impl<'a> MergedKeys<'a> {
    fn new(mut readers: Vec<RunReader>, dir: &'a Path) -> Result<Self> {
        let mut heads = std::collections::BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(k) = r.next_key().map_err(|e| Error::io(dir, e))? {
                heads.push(std::cmp::Reverse((k, i)));
            }
        }
        Ok(MergedKeys {
            readers,
            heads,
            dir,
        })
    }
}

impl Iterator for MergedKeys<'_> {
    type Item = Result<u128>;

    fn next(&mut self) -> Option<Result<u128>> {
        let std::cmp::Reverse((key, i)) = self.heads.pop()?;
        match self.readers[i].next_key() {
            Ok(Some(k)) => self.heads.push(std::cmp::Reverse((k, i))),
            Ok(None) => {}
            Err(e) => return Some(Err(Error::io(self.dir, e))),
        }
        Some(Ok(key))
    }
}

/// A split-block Bloom filter (as in Parquet): each key sets one bit in each of the eight
/// 32-bit words of one 32-byte block, so a lookup touches a single cache line.
struct BlockedBloom {
    blocks: Vec<[u32; 8]>,
}

const SALT: [u32; 8] = [
    0x47b6_137b,
    0x4497_4d91,
    0x8824_ad5b,
    0xa2b7_289d,
    0x7054_95c7,
    0x2df1_424b,
    0x9efc_4947,
    0x5c6b_fb31,
];

impl BlockedBloom {
    fn new(bytes: usize) -> Self {
        BlockedBloom {
            blocks: written_pages(vec![[0; 8]; Self::blocks_for(bytes)], [0; 8]),
        }
    }

    /// The blocks of a filter of `bytes` bytes.
    fn blocks_for(bytes: usize) -> usize {
        (bytes / 32).max(1)
    }

    /// Keys are already uniform hashes: the high half's top bits pick the block; the
    /// bits within it come from its low word and the key's, so a key whose low half is
    /// cleared (a flow key cut to its id, [`SeenKeys::with_prefix`]) still sets bits of
    /// its own, not the same eight as every other.
    fn locate(&self, key: u128) -> (usize, u32) {
        let hi = (key >> 64) as u64;
        let block = ((u128::from(hi) * self.blocks.len() as u128) >> 64) as usize;
        (block, key as u32 ^ hi as u32)
    }

    fn insert(&mut self, key: u128) {
        let (b, h) = self.locate(key);
        let block = &mut self.blocks[b];
        for (word, salt) in block.iter_mut().zip(SALT) {
            *word |= 1 << (h.wrapping_mul(salt) >> 27);
        }
    }

    fn may_contain(&self, key: u128) -> bool {
        let (b, h) = self.locate(key);
        self.blocks[b]
            .iter()
            .zip(SALT)
            .all(|(word, salt)| word & (1 << (h.wrapping_mul(salt) >> 27)) != 0)
    }
}

/// Two records of one connection may have start times this far apart and still be the
/// same connection when they straddle a whole second (exporters round the fraction
/// differently: a JSON float against a TSV decimal).
pub const START_EDGE_US: i64 = 1_000;
const SECOND_US: i64 = 1_000_000;

/// The bits of a flow key that hold its connection id: the top 72, the hash of the id.
/// Two ids share them with odds of 2^-72 a pair: at 10^10 distinct ids, about 1 % that any
/// pair does, and such a record is kept and listed as a conflict, never dropped. The
/// other 56 bits are the connection's, so two connections with one id are taken for one
/// only at odds of 2^-55.
pub const FLOW_ID_BITS: u128 = !0 << 56;

/// The de-duplication identity of a flow record that carries a connection id (Zeek uid,
/// Suricata flow_id, a synthesised id).
///
/// A duplicate is the *same connection*: the same id, the same two endpoints (addresses
/// and ports, in either order) and protocol, and a start time in the same whole second
/// (or within [`START_EDGE_US`] across a second boundary). Records that share an id but
/// disagree on any of these are *conflicts*: both are kept and counted, so a forged file
/// reusing real ids can never hide real egress as "duplicate".
///
/// A key is the id's hash in its top bits ([`FLOW_ID_BITS`]) and the rest of the
/// connection's in its low 56 (the lowest always 1, so no key is 0). The id needs no key
/// of its own: a record whose connection is new has an id seen before exactly when some
/// connection key with the same top bits was seen, and those keys lie beside it in the
/// set ([`SeenKeys::insert_prefixed`]). One key a record holds twice as many records in
/// the same memory as a key for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKeys {
    /// The connection: id, endpoints, protocol and start second.
    pub connection: NonZeroU128,
    /// The same connection in the neighbouring second, when the start lies within
    /// [`START_EDGE_US`] of a second boundary.
    pub neighbour: Option<NonZeroU128>,
}

impl FlowKeys {
    /// The keys of `flow`, or `None` when it has no connection id (such records are
    /// never de-duplicated: nothing tells two equal-looking flows apart).
    ///
    /// Two connections with one id collide only if their 55 low bits agree; with
    /// different ids, only if those and the ids' 72 bits do (127 bits).
    pub fn of(flow: &FlowRecord) -> Option<FlowKeys> {
        let uid = flow.uid.as_deref()?;
        let id = key128(uid);
        let id_high = id & FLOW_ID_BITS;
        let a = (flow.src_ip, flow.src_port);
        let b = (flow.dst_ip, flow.dst_port);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let second = flow.ts.div_euclid(SECOND_US);
        let into = flow.ts.rem_euclid(SECOND_US);
        let connection = Connection::new(id as u64, lo, hi, &flow.proto);
        let key = |s: i64| NonZeroU128::MIN | id_high | u128::from(connection.hash(s) >> 8);
        let neighbour = if into < START_EDGE_US {
            Some(key(second - 1))
        } else if into >= SECOND_US - START_EDGE_US {
            Some(key(second + 1))
        } else {
            None
        };
        Some(FlowKeys {
            connection: key(second),
            neighbour,
        })
    }
}

/// What a connection key is made of, but the start second, as fixed-width words: hashed
/// a word at a time, the key costs a few multiplies instead of the dozen writes (with a
/// length or discriminant before each part) of hashing the parts as a tuple.
struct Connection<'p> {
    /// The connection id's 64-bit hash under a seed of its own ([`key128`]'s low half).
    id: u64,
    /// The lower and higher endpoint's address, IPv4 in the low 32 bits.
    addresses: [u128; 2],
    /// Both ports, whether each is set, each address's family and the protocol; the
    /// address bits alone do not tell an IPv4 address from an IPv6 one.
    shape: u64,
    /// A protocol without a code of its own, by name.
    other_proto: Option<&'p str>,
}

type Endpoint = (IpAddr, Option<u16>);

impl<'p> Connection<'p> {
    fn new(id: u64, lo: Endpoint, hi: Endpoint, proto: &'p Proto) -> Self {
        let address = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 0u64),
            IpAddr::V6(v6) => (u128::from(v6), 1),
        };
        let (lo_bits, lo_v6) = address(lo.0);
        let (hi_bits, hi_v6) = address(hi.0);
        let port = |p: Option<u16>| p.map_or(0, |p| u64::from(p) | 1 << 16);
        let (code, other_proto) = match proto {
            Proto::Tcp => (0, None),
            Proto::Udp => (1, None),
            Proto::Icmp => (2, None),
            Proto::Other(name) => (3, Some(name.as_str())),
        };
        Connection {
            id,
            addresses: [lo_bits, hi_bits],
            shape: port(lo.1) | port(hi.1) << 17 | lo_v6 << 34 | hi_v6 << 35 | code << 36,
            other_proto,
        }
    }

    /// The connection's 64-bit hash with start second `second`.
    fn hash(&self, second: i64) -> u64 {
        let mut h = hasher64(2);
        h.write_u64(self.id);
        h.write_u128(self.addresses[0]);
        h.write_u128(self.addresses[1]);
        h.write_u64(self.shape);
        h.write_i64(second);
        if let Some(name) = self.other_proto {
            h.write(name.as_bytes());
        }
        h.finish()
    }
}

/// The keys of a batch's flow records that have a connection id, with where each record
/// is, in the batch's order: what [`BatchedFlows`] takes for a batch.
pub fn flow_keys<'f>(flows: impl Iterator<Item = &'f FlowRecord>) -> Vec<(Provenance, FlowKeys)> {
    flows
        .filter_map(|f| FlowKeys::of(f).map(|k| (f.provenance, k)))
        .collect()
}

/// What de-duplication decided for one flow record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowVerdict {
    /// A connection not seen before, with an id not seen before.
    New,
    /// The same connection as a record seen before: counted as duplicate, not folded.
    Duplicate,
    /// A new connection whose id an earlier, different connection already used: kept
    /// and counted, and listed in conflicts.csv.
    Conflict,
}

/// Exact de-duplication of flow records by connection, with conflict detection, in
/// bounded memory: one key a record ([`FlowKeys`]) in a [`SeenKeys`] that also tells
/// whether a key with the same id was seen.
pub struct FlowDedup {
    keys: SeenKeys,
    /// Distinct connection ids: records decided [`FlowVerdict::New`].
    distinct_ids: u64,
}

impl FlowDedup {
    pub fn new(budget: DedupBudget, spill_dir: &Path) -> Self {
        FlowDedup {
            keys: SeenKeys::with_prefix(budget, spill_dir, FLOW_ID_BITS),
            distinct_ids: 0,
        }
    }

    /// Size the table for about `records` records (a key each).
    pub fn expect(&mut self, records: u64) {
        self.keys.expect(records);
    }

    /// Touch the memory that deciding `keys` will read (see [`SeenKeys::warm`]).
    pub fn warm<'k>(&self, keys: impl Iterator<Item = &'k FlowKeys>) {
        self.keys.warm(keys.map(|k| k.connection.get()));
    }

    /// Decide one record, in input order.
    pub fn decide(&mut self, keys: &FlowKeys) -> Result<FlowVerdict> {
        let seen = self.keys.insert_prefixed(keys.connection, keys.neighbour)?;
        Ok(if seen.key || seen.neighbour {
            FlowVerdict::Duplicate
        } else if seen.prefix {
            FlowVerdict::Conflict
        } else {
            self.distinct_ids += 1;
            FlowVerdict::New
        })
    }

    /// Keys in memory, for `--memory-limit` messages.
    pub fn in_memory(&self) -> usize {
        self.keys.in_memory()
    }

    pub fn memory_bytes(&self) -> u64 {
        self.keys.memory_bytes()
    }

    /// What de-duplication did for connection keys, and the distinct connection ids.
    /// Ids are not held apart but in the connection keys, so the second's spill and
    /// look-up counts are 0: the first's are the cost of both.
    pub fn stats(&self) -> (DedupStats, DedupStats) {
        let ids = DedupStats {
            distinct_keys: self.distinct_ids,
            ..DedupStats::default()
        };
        (self.keys.stats(), ids)
    }
}

/// Identity of a logged DNS record for de-duplicating overlapping exports. Zeek may log
/// one transaction in two rows (a retransmit without answers, then the response); those
/// differ in answers or round trip and are both kept, so no answer is ever lost.
pub fn dns_key(d: &DnsRecord) -> u128 {
    dns_key_with(d, &mut Vec::new())
}

/// [`dns_key`], with `bytes` to write the record's identity into (reused across a batch).
/// The fields are written once, each closed by its length or a tag, and the bytes hashed
/// under the key's two seeds: hashing the fields as a tuple, under each seed in turn,
/// was a dozen small hasher calls a field and about a seventh of parsing a DNS log.
fn dns_key_with(d: &DnsRecord, bytes: &mut Vec<u8>) -> u128 {
    bytes.clear();
    write_dns_identity(d, bytes);
    key128(bytes.as_slice())
}

/// The fields of a DNS record's identity ([`dns_key`]) as bytes from which they could
/// be read back: two records with different fields never write the same bytes.
fn write_dns_identity(d: &DnsRecord, out: &mut Vec<u8>) {
    fn text(out: &mut Vec<u8>, text: Option<&str>) {
        match text {
            None => out.push(0),
            Some(t) => {
                out.push(1);
                out.extend_from_slice(&(t.len() as u64).to_le_bytes());
                out.extend_from_slice(t.as_bytes());
            }
        }
    }
    fn address(out: &mut Vec<u8>, ip: IpAddr) {
        match ip {
            IpAddr::V4(a) => {
                out.push(4);
                out.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                out.push(6);
                out.extend_from_slice(&a.octets());
            }
        }
    }
    fn number(out: &mut Vec<u8>, n: Option<u32>) {
        match n {
            None => out.push(0),
            Some(n) => {
                out.push(1);
                out.extend_from_slice(&n.to_le_bytes());
            }
        }
    }
    text(out, d.uid.as_deref());
    out.extend_from_slice(&d.ts.to_le_bytes());
    out.extend_from_slice(&d.response_ts.to_le_bytes());
    number(out, d.trans_id);
    text(out, Some(&d.query));
    text(out, d.qtype.as_deref());
    text(out, d.rcode.as_deref());
    address(out, d.client_ip);
    out.extend_from_slice(&(d.answers.len() as u64).to_le_bytes());
    for a in &d.answers {
        match &a.value {
            AnswerValue::Address(ip) => address(out, *ip),
            AnswerValue::Other(t) => {
                out.push(2);
                text(out, Some(t));
            }
        }
        number(out, a.ttl);
    }
}

/// Keys a batched set warms at a time, ahead of deciding them. Warmed together, their
/// cache misses overlap; and a key is decided while its page is still in the TLB. Warming
/// a whole 2,048-record batch ahead touched more pages than the TLB holds (the table is
/// 256 MiB of 4 KiB pages), so each decision walked the page tables again.
pub const WARM_AHEAD: usize = 32;

/// Which of a batch's keys are warm: at least [`WARM_AHEAD`] and fewer than twice as many
/// ahead of the next decision (or all that are left), warmed [`WARM_AHEAD`] at a time.
#[derive(Debug, Default)]
struct WarmWindow {
    /// Keys at the front of the pending queue whose slots have been warmed.
    warmed: usize,
}

impl WarmWindow {
    /// A new batch of keys arrived; none of them is warm.
    fn reset(&mut self) {
        self.warmed = 0;
    }

    /// One key was taken from the front; the range of pending keys to warm now, if any.
    fn advance(&mut self, pending: usize, taken: bool) -> Option<std::ops::Range<usize>> {
        self.warmed = self.warmed.saturating_sub(usize::from(taken));
        if self.warmed >= WARM_AHEAD || self.warmed >= pending {
            return None;
        }
        let from = self.warmed;
        self.warmed = (from + WARM_AHEAD).min(pending);
        Some(from..self.warmed)
    }
}

/// A batch's keys waiting to be decided, in the batch's order, and which of them are warm.
#[derive(Debug)]
struct PendingKeys<K> {
    queue: VecDeque<(Provenance, K)>,
    window: WarmWindow,
}

impl<K> Default for PendingKeys<K> {
    fn default() -> Self {
        PendingKeys {
            queue: VecDeque::new(),
            window: WarmWindow::default(),
        }
    }
}

impl<K> PendingKeys<K> {
    /// Take a new batch's keys, dropping what is left of the last; the keys to warm first.
    fn replace(&mut self, keys: Vec<(Provenance, K)>) -> impl Iterator<Item = &K> {
        self.queue = VecDeque::from(keys);
        self.window.reset();
        self.warm_next(false)
    }

    /// The next key, if it is that of the record at `at` (`None` if the handler strayed
    /// from the batch's order, so a mismatch can never pair a record with another's
    /// key); and the keys to warm now.
    fn take(&mut self, at: Provenance) -> (Option<K>, impl Iterator<Item = &K>) {
        let next = self.queue.pop_front();
        let taken = next.is_some();
        let key = next.and_then(|(p, k)| (p == at).then_some(k));
        (key, self.warm_next(taken))
    }

    fn warm_next(&mut self, taken: bool) -> impl Iterator<Item = &K> {
        let range = self.window.advance(self.queue.len(), taken).unwrap_or(0..0);
        self.queue.range(range).map(|(_, k)| k)
    }
}

/// The keys of a batch's DNS records ([`dns_key`]), with where each record is, in the
/// batch's order: what [`BatchedSeen`] takes for a batch of a DNS log.
pub fn dns_keys<'d>(records: impl Iterator<Item = &'d DnsRecord>) -> Vec<(Provenance, u128)> {
    let mut bytes = Vec::new();
    records
        .map(|d| (d.provenance, dns_key_with(d, &mut bytes)))
        .collect()
}

/// A de-duplication set fed a batch at a time: each batch's keys are computed once (on
/// the parser thread that made the batch) and warmed a group at a time just ahead of
/// being decided ([`WARM_AHEAD`]); the record handler then takes them in order instead
/// of hashing again.
pub struct BatchedSeen {
    pub seen: SeenKeys,
    pending: PendingKeys<u128>,
}

impl BatchedSeen {
    pub fn new(seen: SeenKeys) -> Self {
        BatchedSeen {
            seen,
            pending: PendingKeys::default(),
        }
    }

    /// Take a batch's keys, with where each record is, in the batch's order.
    pub fn prepare(&mut self, keys: Vec<(Provenance, u128)>) {
        self.seen.warm(self.pending.replace(keys).copied());
    }

    /// The prepared key of the record at `at`; computed afresh if the handler strayed
    /// from the batch's order.
    pub fn key(&mut self, at: Provenance, compute: impl FnOnce() -> u128) -> u128 {
        let (key, warm) = self.pending.take(at);
        self.seen.warm(warm.copied());
        key.unwrap_or_else(compute)
    }
}

/// [`FlowDedup`] fed a batch at a time, as [`BatchedSeen`] for DNS keys.
pub struct BatchedFlows {
    pub dedup: FlowDedup,
    pending: PendingKeys<FlowKeys>,
}

impl BatchedFlows {
    pub fn new(dedup: FlowDedup) -> Self {
        BatchedFlows {
            dedup,
            pending: PendingKeys::default(),
        }
    }

    /// Take a batch's keys ([`flow_keys`]).
    pub fn prepare(&mut self, keys: Vec<(Provenance, FlowKeys)>) {
        self.dedup.warm(self.pending.replace(keys));
    }

    /// The prepared keys of `flow`; computed afresh if the handler strayed from the
    /// batch's order.
    pub fn key(&mut self, at: Provenance, flow: &FlowRecord) -> Option<FlowKeys> {
        let (keys, warm) = self.pending.take(at);
        self.dedup.warm(warm);
        keys.or_else(|| FlowKeys::of(flow))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xborder_model::fasthash::key128;

    fn tiny(recent_keys: usize, filter_bytes: usize) -> (tempfile::TempDir, SeenKeys) {
        let dir = tempfile::tempdir().unwrap();
        let seen = SeenKeys::new(
            DedupBudget {
                recent_keys,
                filter_bytes,
            },
            dir.path(),
        );
        (dir, seen)
    }

    /// Two DNS records get one key exactly when every field of their identity is equal:
    /// records drawn from a few values per field, so that most pairs differ in one or two
    /// fields, among them one text in either of two neighbouring fields (a query type or
    /// a response code of `A`), texts that end alike, an IPv4 address and its IPv6
    /// spelling, a name and an address in one answer, and a missing TTL beside 0.
    /// The batch's keys are the record's own.
    #[test]
    fn dns_keys_are_equal_exactly_when_the_identities_are() {
        use xborder_model::schema::DnsAnswer;
        let mut rng = xborder_model::rng::Rng::new(41);
        let mut pick = |n: u64| rng.below(n) as usize;
        let addresses: [IpAddr; 3] = [
            "10.0.0.1".parse().unwrap(),
            "::ffff:10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
        ];
        let records: Vec<DnsRecord> = (0..3_000)
            .map(|line| {
                let answers = (0..pick(3))
                    .map(|_| DnsAnswer {
                        value: match pick(3) {
                            0 => AnswerValue::Address(addresses[pick(2)]),
                            1 => AnswerValue::Other("10.0.0.1".into()),
                            _ => AnswerValue::Other("a.example".into()),
                        },
                        ttl: [None, Some(0), Some(60)][pick(3)],
                    })
                    .collect();
                DnsRecord {
                    ts: [0, 1][pick(2)],
                    response_ts: [0, 1][pick(2)],
                    uid: [None, Some("Cab"), Some("Ca")][pick(3)].map(Into::into),
                    trans_id: [None, Some(0), Some(7)][pick(3)],
                    client_ip: addresses[pick(3)],
                    query: ["a.example", "ba.example", ""][pick(3)].into(),
                    qtype: [None, Some("A")][pick(2)].map(Into::into),
                    rcode: [None, Some("A"), Some("NOERROR")][pick(3)].map(Into::into),
                    answers,
                    provenance: Provenance { file: 0, line },
                }
            })
            .collect();
        let identity = |d: &DnsRecord| {
            format!(
                "{:?}",
                (
                    &d.uid,
                    d.ts,
                    d.response_ts,
                    d.trans_id,
                    &d.query,
                    &d.qtype,
                    &d.rcode,
                    d.client_ip,
                    &d.answers
                )
            )
        };
        let keys = dns_keys(records.iter());
        let mut equal = 0;
        for (a, (pa, ka)) in records.iter().zip(&keys) {
            assert_eq!((*pa, *ka), (a.provenance, dns_key(a)));
            for (b, (_, kb)) in records.iter().zip(&keys).take(300) {
                assert_eq!(ka == kb, identity(a) == identity(b), "{a:?}\n{b:?}");
                equal += usize::from(ka == kb && a.provenance != b.provenance);
            }
        }
        assert!(equal > 0, "no two records drawn alike");
    }

    /// The warm window warms each key of a batch once, before it is decided, and never
    /// more than twice [`WARM_AHEAD`] keys ahead: its pages stay in the TLB.
    #[test]
    fn the_warm_window_warms_each_key_once_just_ahead() {
        for n in [0, 1, 5, WARM_AHEAD - 1, WARM_AHEAD, WARM_AHEAD + 1, 2048] {
            let mut window = WarmWindow::default();
            let mut warmed = vec![0u32; n];
            // Keys are numbered from the batch's start; `front` is the next one decided.
            let mark = |warmed: &mut [u32], front: usize, range: Option<std::ops::Range<usize>>| {
                for i in range.into_iter().flatten() {
                    warmed[front + i] += 1;
                }
            };
            window.reset();
            mark(&mut warmed, 0, window.advance(n, false));
            for front in 0..n {
                assert_eq!(
                    warmed[front], 1,
                    "key {front} of {n} warmed before it is decided"
                );
                let ahead = warmed[front..].iter().filter(|w| **w > 0).count();
                assert!(ahead <= 2 * WARM_AHEAD, "{ahead} keys warm ahead");
                mark(&mut warmed, front + 1, window.advance(n - front - 1, true));
            }
            assert!(
                warmed.iter().all(|w| *w == 1),
                "each of {n} keys warmed once"
            );
        }
    }

    /// The spilling set decides exactly like one unbounded set, whatever the budget.
    #[test]
    fn decisions_match_an_unbounded_set() {
        // Keys with repeats near and far: i % 1500 repeats every 1500 inserts.
        let keys: Vec<u128> = (0..20_000u64)
            .map(|i| key128(&(i % 1500, i % 7 == 0)))
            .collect();
        let mut reference = std::collections::HashSet::new();
        let expected: Vec<bool> = keys.iter().map(|k| reference.insert(*k)).collect();
        for (recent, filter) in [
            (1, 64),
            (7, 64),
            (100, 1024),
            (1000, 1 << 16),
            (1 << 20, 64),
        ] {
            for foreseen in [false, true] {
                let (_dir, mut seen) = tiny(recent, filter);
                if foreseen {
                    seen.expect(keys.len() as u64);
                }
                let got: Vec<bool> = keys.iter().map(|k| seen.insert(*k).unwrap()).collect();
                assert_eq!(got, expected, "budget {recent}/{filter}/{foreseen}");
                assert_eq!(seen.stats().distinct_keys, reference.len() as u64);
            }
        }
    }

    /// Expecting more keys than the table holds makes the first spill's filter ahead,
    /// once the table is fifteen sixteenths full; it counts in the memory held, and the first
    /// spill takes it. Expecting no more than the table holds makes none.
    #[test]
    fn a_foreseen_spill_has_its_filter_made_ahead() {
        let (_dir, mut unforeseen) = tiny(1000, 4096);
        unforeseen.expect(1000);
        for i in 0..999u64 {
            assert!(unforeseen.insert(key128(&i)).unwrap());
        }
        assert!(unforeseen.spare_filter.is_none() && unforeseen.filter.is_none());
        let (_dir, mut seen) = tiny(1000, 4096);
        seen.expect(1001);
        let table = seen.memory_bytes();
        for i in 0..929u64 {
            assert!(seen.insert(key128(&i)).unwrap());
        }
        assert!(seen.spare_filter.is_none(), "not before fifteen sixteenths");
        assert!(seen.insert(key128(&929u64)).unwrap());
        assert!(seen.spare_filter.is_some() && seen.filter.is_none());
        assert_eq!(seen.memory_bytes(), table + 4096);
        for i in 930..1000u64 {
            assert!(seen.insert(key128(&i)).unwrap());
        }
        assert!(seen.spare_filter.is_none() && seen.filter.is_some());
        assert_eq!(seen.stats().runs_spilled, 1);
        // And the run's sparse index: 1,000 keys make four blocks.
        assert_eq!(seen.memory_bytes(), table + 4096 + 4 * KEY_BYTES as u64);
    }

    #[test]
    fn spills_when_the_recent_set_is_full() {
        let (_dir, mut seen) = tiny(1000, 4096);
        for i in 0..10_500u64 {
            assert!(seen.insert(key128(&i)).unwrap());
        }
        let s = seen.stats();
        assert_eq!(s.runs_spilled, 10);
        assert_eq!(s.keys_spilled, 10_000);
        assert_eq!(seen.in_memory(), 500);
        // Eight level-0 runs were merged into one: three files remain.
        seen.settle().unwrap();
        assert_eq!(seen.runs.len(), 3);
        // Every spilled key is found again, on disk.
        for i in 0..10_500u64 {
            assert!(!seen.insert(key128(&i)).unwrap());
        }
        assert!(seen.stats().found_on_disk >= 10_000);
    }

    /// A table of 4 MiB or more lives in a mapping of its own (for huge pages), reads as
    /// zeros, and inserts, grows, sorts and clears as a vector-backed one does.
    #[test]
    fn a_large_table_is_mapped_and_works_as_a_small_one() {
        let small = Slots::zeroed(MAPPED_SLOT_BYTES / KEY_BYTES - 1);
        assert!(matches!(small, Slots::Heap(_)));
        let large = Slots::zeroed(MAPPED_SLOT_BYTES / KEY_BYTES);
        assert!(matches!(large, Slots::Mapped(_)));
        assert!(large.iter().all(|k| *k == 0));
        // Starts vector-backed and grows into a mapping, then sorts and clears in it.
        let mut t = KeyTable::with_capacity(1 << 17);
        let keys: Vec<u128> = (0..200_000u64).map(|i| key128(&i)).collect();
        for k in &keys {
            assert!(t.insert(*k));
        }
        assert!(matches!(t.slots, Slots::Mapped(_)));
        assert!(keys.iter().all(|k| !t.insert(*k)));
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(t.sorted_keys(), &sorted[..]);
        t.clear();
        assert_eq!(t.len(), 0);
        assert!(t.slots.iter().all(|k| *k == 0));
        assert!(t.insert(keys[0]) && !t.insert(keys[0]));
    }

    #[test]
    fn key_table_grows_sorts_and_handles_key_zero() {
        let mut t = KeyTable::with_capacity(4);
        let keys: Vec<u128> = (0..1000u64).map(|i| key128(&i)).chain([0, 1, 2]).collect();
        for k in &keys {
            assert!(t.insert(*k));
        }
        for k in &keys {
            assert!(!t.insert(*k));
        }
        assert_eq!(t.len(), keys.len());
        let mut expected = keys.clone();
        expected.sort_unstable();
        assert_eq!(t.sorted_keys(), &expected[..]);
        t.clear();
        assert_eq!(t.len(), 0);
        assert!(t.insert(0) && t.insert(5));
    }

    /// Sorting by insertion after setting the wrapped front cluster aside gives exactly
    /// a full sort's order, with and without key 0, at every fill up to the load limit.
    #[test]
    fn spilled_keys_come_out_sorted_whatever_the_layout() {
        let mut rng = xborder_model::rng::Rng::new(17);
        for size in [16usize, 64, 1024, 1 << 14] {
            for fill in [0usize, 1, size / 4, size / 2, size * 3 / 4 - 1] {
                for with_zero in [false, true] {
                    let mut t = KeyTable::with_capacity(size);
                    let mut keys: Vec<u128> = Vec::new();
                    // Keys whose homes crowd the end of the table make a cluster that
                    // wraps round to the front.
                    for i in 0..fill {
                        let k = if i % 3 == 0 {
                            u128::MAX - u128::from(rng.next_u64() % 1000)
                        } else {
                            (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
                        };
                        if k != 0 && t.insert(k) {
                            keys.push(k);
                        }
                    }
                    if with_zero {
                        assert!(t.insert(0));
                        keys.push(0);
                    }
                    assert_eq!(t.slots.len(), size, "no growth below the load limit");
                    keys.sort_unstable();
                    assert_eq!(t.sorted_keys(), &keys[..], "{size}/{fill}/{with_zero}");
                }
            }
        }
    }

    /// A large table is cut at an empty slot past its middle and its halves sorted apart:
    /// a cluster running across the middle moves the cut past it, and a table whose upper
    /// half has no empty slot is sorted whole. Either way the order is a full sort's.
    #[test]
    fn a_large_table_sorts_in_two_halves() {
        let size = 1usize << 14;
        let bits = size.trailing_zeros();
        let mut rng = xborder_model::rng::Rng::new(29);
        let mut at_home =
            |home: usize| ((home as u128) << (128 - bits)) | u128::from(rng.next_u64()) | 1;
        // 40 keys whose homes are just below the middle: a cluster across it.
        let across: Vec<u128> = (0..40).map(|i| at_home(size / 2 - 3 + i % 4)).collect();
        // Upper-half homes only, up to the load limit: the upper half fills and wraps.
        let upper: Vec<u128> = (0..size * 3 / 4 - 1)
            .map(|i| at_home(size / 2 + i % (size / 2)))
            .collect();
        for (keys, cut_past) in [(across, Some(size / 2 + 36)), (upper, None)] {
            let mut t = KeyTable::with_capacity(size);
            for k in &keys {
                assert!(t.insert(*k));
            }
            let wrap_end = t.slots.iter().position(|k| *k == 0).unwrap();
            let cut = t.cut(wrap_end);
            match cut_past {
                Some(past) => assert!(cut.is_some_and(|c| c > past && t.slots[c] == 0)),
                None => assert_eq!(cut, None),
            }
            let mut expected = keys.clone();
            expected.sort_unstable();
            assert_eq!(t.sorted_keys(), &expected[..]);
        }
    }

    #[test]
    fn both_jobs_run_and_both_results_come_back() {
        let mut here = 0;
        let (a, b) = on_two_cores(
            || {
                here += 1;
                "here"
            },
            || std::thread::current().name().map(str::to_owned),
        );
        assert_eq!((a, here), ("here", 1));
        assert_eq!(b.as_deref(), Some("xborder-spill"));
    }

    /// Keys far out of order fall back to a full sort and still come out sorted.
    #[test]
    fn keys_far_out_of_order_still_sort() {
        let mut keys: Vec<u128> = (0..5000u128).rev().collect();
        sort_nearly_sorted(&mut keys);
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        let mut few: Vec<u128> = vec![3, 1, 2, 9, 4];
        sort_nearly_sorted(&mut few);
        assert_eq!(few, [1, 2, 3, 4, 9]);
    }

    #[test]
    fn scaled_budgets_keep_power_of_two_tables() {
        let full = DedupBudget::FLOWS;
        assert_eq!(full.scaled(1.0).recent_keys, full.recent_keys);
        assert_eq!(full.scaled(2.0).filter_bytes, full.filter_bytes);
        let quarter = full.scaled(0.25);
        assert_eq!(quarter.recent_keys, (1 << 22) / 4 * 3 - 1);
        assert_eq!(quarter.filter_bytes, 80 << 20);
        let third = full.scaled(0.3);
        assert_eq!(third.recent_keys, (1 << 22) / 4 * 3 - 1);
        assert!(full.scaled(0.0).recent_keys >= 3000);
    }

    #[test]
    fn filter_has_no_false_negatives_and_few_false_alarms() {
        let mut f = BlockedBloom::new(1 << 16);
        for i in 0..20_000u64 {
            f.insert(key128(&i));
        }
        assert!((0..20_000u64).all(|i| f.may_contain(key128(&i))));
        let alarms = (20_000..120_000u64)
            .filter(|i| f.may_contain(key128(i)))
            .count();
        // 26 bits a key: well under 1 %.
        assert!(alarms < 1_000, "{alarms} false alarms");
        // Flow keys cut to their ids, as the flow set's filter holds them: as few.
        let id = |i: u64| key128(&i) & FLOW_ID_BITS;
        let mut f = BlockedBloom::new(1 << 16);
        for i in 0..20_000u64 {
            f.insert(id(i));
        }
        assert!((0..20_000u64).all(|i| f.may_contain(id(i))));
        let alarms = (20_000..120_000u64)
            .filter(|i| f.may_contain(id(*i)))
            .count();
        assert!(alarms < 1_000, "{alarms} false alarms for ids");
    }

    #[test]
    fn an_unwritable_spill_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("missing");
        let mut seen = SeenKeys::new(
            DedupBudget {
                recent_keys: 2,
                filter_bytes: 64,
            },
            &gone,
        );
        seen.insert(1).unwrap();
        let err = seen.insert(2).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
    }

    fn flow(uid: &str, ts: i64, src: &str, dst: &str) -> FlowRecord {
        FlowRecord {
            ts,
            uid: Some(uid.into()),
            src_ip: src.parse().unwrap(),
            src_port: Some(40000),
            dst_ip: dst.parse().unwrap(),
            dst_port: Some(443),
            proto: xborder_model::schema::Proto::Tcp,
            bytes_out: Some(1),
            bytes_in: Some(1),
            duration: None,
            local_orig: None,
            direction: xborder_model::schema::ByteDirection::Biflow,
            provenance: xborder_model::schema::Provenance { file: 0, line: 1 },
        }
    }

    /// The same connection is a duplicate (also across a second boundary within the
    /// tolerance, and with its endpoints reversed); a different connection reusing the id
    /// is a conflict, never a duplicate.
    #[test]
    fn flows_are_duplicates_only_when_they_are_the_same_connection() {
        let dir = tempfile::tempdir().unwrap();
        let budget = DedupBudget {
            recent_keys: 3,
            filter_bytes: 1 << 12,
        };
        let mut d = FlowDedup::new(budget, dir.path());
        let mut decide = |f: &FlowRecord| d.decide(&FlowKeys::of(f).unwrap()).unwrap();
        let real = flow("C1", 1_000_999_600, "10.0.0.5", "160.79.104.10");
        assert_eq!(decide(&real), FlowVerdict::New);
        assert_eq!(decide(&real), FlowVerdict::Duplicate);
        // 700 µs later, in the next second: the same connection.
        let rounded = FlowRecord {
            ts: 1_001_000_300,
            ..real.clone()
        };
        assert_eq!(decide(&rounded), FlowVerdict::Duplicate);
        let reversed = FlowRecord {
            src_ip: real.dst_ip,
            dst_ip: real.src_ip,
            src_port: real.dst_port,
            dst_port: real.src_port,
            ..real.clone()
        };
        assert_eq!(decide(&reversed), FlowVerdict::Duplicate);
        // A forged record with the same id to a DNS server: kept, flagged.
        let forged = flow("C1", 1_000_999_600, "10.0.0.5", "10.0.0.53");
        assert_eq!(decide(&forged), FlowVerdict::Conflict);
        assert_eq!(decide(&forged), FlowVerdict::Duplicate);
        // The same id and endpoints an hour later is another connection.
        let later = FlowRecord {
            ts: real.ts + 3_600_000_000,
            ..real.clone()
        };
        assert_eq!(decide(&later), FlowVerdict::Conflict);
        // Spilled keys are still found (budget of 3 keys forces spills).
        for i in 0..20 {
            decide(&flow(&format!("X{i}"), 5_000_000, "10.0.0.9", "1.1.1.1"));
        }
        assert_eq!(decide(&real), FlowVerdict::Duplicate);
        assert_eq!(decide(&forged), FlowVerdict::Duplicate);
        assert!(d.stats().0.runs_spilled > 0);
    }

    /// Every part of a connection is in its key, an address's family included: keys
    /// hashed a word at a time must not let an IPv4 address pass for an IPv6 one with the
    /// same bits, a missing port for port 0, or one protocol for another.
    #[test]
    fn every_part_of_a_connection_changes_its_key() {
        use xborder_model::schema::Proto;
        let base = flow("C1", 1_000_500_000, "0.0.0.1", "10.0.0.1");
        let key = |f: &FlowRecord| FlowKeys::of(f).unwrap().connection.get();
        let variants = [
            FlowRecord {
                src_ip: "::1".parse().unwrap(),
                ..base.clone()
            },
            FlowRecord {
                dst_ip: "::a00:1".parse().unwrap(),
                ..base.clone()
            },
            FlowRecord {
                src_port: None,
                ..base.clone()
            },
            FlowRecord {
                src_port: Some(0),
                ..base.clone()
            },
            FlowRecord {
                dst_port: None,
                ..base.clone()
            },
            FlowRecord {
                src_port: base.dst_port,
                dst_port: base.src_port,
                ..base.clone()
            },
            FlowRecord {
                proto: Proto::Udp,
                ..base.clone()
            },
            FlowRecord {
                proto: Proto::Icmp,
                ..base.clone()
            },
            FlowRecord {
                proto: Proto::Other("sctp".into()),
                ..base.clone()
            },
            FlowRecord {
                proto: Proto::Other("gre".into()),
                ..base.clone()
            },
            FlowRecord {
                ts: base.ts + 1_000_000,
                ..base.clone()
            },
            FlowRecord {
                uid: Some("C2".into()),
                ..base.clone()
            },
        ];
        let mut keys: Vec<u128> = variants.iter().map(key).collect();
        keys.push(key(&base));
        let distinct: std::collections::HashSet<u128> = keys.iter().copied().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:x?}");
        // The ends in either order, and the fraction of the second, are the same key.
        let reversed = FlowRecord {
            src_ip: base.dst_ip,
            dst_ip: base.src_ip,
            src_port: base.dst_port,
            dst_port: base.src_port,
            ts: base.ts + 400_000,
            ..base.clone()
        };
        assert_eq!(key(&reversed), key(&base));
        assert_eq!(key(&base.clone()), key(&base));
    }

    /// One key a record decides as a set of connections and a set of ids held whole in
    /// memory would, keyed by the records' own fields, however small the budget: the
    /// way the flow pass decided when each kind had a set (and a key) of its own.
    #[test]
    fn one_key_a_record_decides_as_a_set_per_kind() {
        use std::collections::HashSet;
        // Ids reused by other connections, repeats near and far, starts on second edges,
        // endpoints reversed. The last 2,000 records repeat the first 2,000, half of them
        // 300 µs later: a start 200 µs before a second's end moves into the next second.
        let flows: Vec<FlowRecord> = (0..6_000u64)
            .map(|i| {
                let j = i % 4_000;
                let uid = format!("C{}", j % 1_700);
                let later = if i >= 4_000 && j % 2 == 0 { 300 } else { 0 };
                let ts = 1_000_000_000 + j as i64 * 1_000_000 + (j % 5) as i64 * 499_900 + later;
                let dst = ["160.79.104.10", "1.1.1.1", "10.0.0.53"][(j % 3) as usize];
                let f = flow(&uid, ts, "10.0.0.5", dst);
                if j % 7 == 0 {
                    FlowRecord {
                        src_ip: f.dst_ip,
                        dst_ip: f.src_ip,
                        src_port: f.dst_port,
                        dst_port: f.src_port,
                        ..f
                    }
                } else {
                    f
                }
            })
            .collect();
        type Connection = (String, (IpAddr, Option<u16>), (IpAddr, Option<u16>), i64);
        let connection = |f: &FlowRecord, second: i64| -> Connection {
            let a = (f.src_ip, f.src_port);
            let b = (f.dst_ip, f.dst_port);
            let uid = f.uid.as_deref().unwrap().to_string();
            (uid, a.min(b), a.max(b), second)
        };
        for recent_keys in [3, 7, 300, 1 << 20] {
            let dir = tempfile::tempdir().unwrap();
            let budget = DedupBudget {
                recent_keys,
                filter_bytes: 1 << 12,
            };
            let mut d = FlowDedup::new(budget, dir.path());
            let (mut connections, mut ids) = (HashSet::new(), HashSet::new());
            let mut verdicts = [0u64; 3];
            for f in &flows {
                let second = f.ts.div_euclid(SECOND_US);
                let into = f.ts.rem_euclid(SECOND_US);
                let neighbour = if into < START_EDGE_US {
                    Some(second - 1)
                } else if into >= SECOND_US - START_EDGE_US {
                    Some(second + 1)
                } else {
                    None
                };
                let new_connection = connections.insert(connection(f, second))
                    && !neighbour.is_some_and(|n| connections.contains(&connection(f, n)));
                let expected = if !new_connection {
                    FlowVerdict::Duplicate
                } else if ids.insert(f.uid.clone()) {
                    FlowVerdict::New
                } else {
                    FlowVerdict::Conflict
                };
                let k = FlowKeys::of(f).unwrap();
                assert_eq!(d.decide(&k).unwrap(), expected, "{recent_keys}: {f:?}");
                verdicts[expected as usize] += 1;
            }
            assert!(verdicts.iter().all(|v| *v > 100), "{verdicts:?}");
            let (c, i) = d.stats();
            assert_eq!(c.distinct_keys, connections.len() as u64);
            assert_eq!(i.distinct_keys, ids.len() as u64);
            if recent_keys < 1_000 {
                assert!(c.runs_spilled > 0 && c.disk_lookups > 0 && c.found_on_disk > 0);
            } else {
                assert_eq!(c.runs_spilled, 0);
            }
        }
    }

    /// A brute-force answer to [`SeenKeys::insert_prefixed`]: was the key, the neighbour,
    /// or any key with the key's prefix inserted before.
    fn sighting_by_search(before: &[u128], key: u128, neighbour: u128, prefix: u128) -> Sighting {
        Sighting {
            key: before.contains(&key),
            neighbour: before.contains(&neighbour),
            prefix: before.iter().any(|k| k & prefix == key & prefix),
        }
    }

    /// Keys drawn from few prefixes (so probe runs hold many of each, wrap round the
    /// table's end, and a prefix's keys fill several blocks of a run on disk): every
    /// answer is the brute-force one, whether the keys stayed in memory or spilled.
    #[test]
    fn prefixed_inserts_find_every_key_with_the_prefix() {
        let prefix = FLOW_ID_BITS;
        // 12 prefixes; two of them at the very top and bottom of the key space.
        let prefixes: Vec<u128> = (0..12u64)
            .map(|p| match p {
                0 => 0,
                1 => FLOW_ID_BITS,
                _ => key128(&p) & FLOW_ID_BITS,
            })
            .collect();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let low = |r: u64| u128::from(r) << 1 | 1;
        let draws: Vec<(u128, u128)> = (0..3_000)
            .map(|_| {
                let p = prefixes[(next() % 12) as usize];
                // Low bits from few values, so keys repeat.
                let key = p | low(next() % 700);
                let neighbour = p | low(next() % 700);
                (key, neighbour)
            })
            .collect();
        for recent_keys in [5, 100, 1 << 16] {
            let (_dir, mut seen) = {
                let dir = tempfile::tempdir().unwrap();
                let budget = DedupBudget {
                    recent_keys,
                    filter_bytes: 1 << 10,
                };
                let seen = SeenKeys::with_prefix(budget, dir.path(), prefix);
                (dir, seen)
            };
            let mut before = Vec::new();
            for (key, neighbour) in &draws {
                let expected = sighting_by_search(&before, *key, *neighbour, prefix);
                let got = seen
                    .insert_prefixed(
                        NonZeroU128::new(*key).unwrap(),
                        NonZeroU128::new(*neighbour),
                    )
                    .unwrap();
                if expected.key {
                    assert!(got.key, "{recent_keys}: {key:x}");
                } else {
                    assert_eq!(got, expected, "{recent_keys}: {key:x} {neighbour:x}");
                }
                before.push(*key);
            }
            let distinct: std::collections::HashSet<_> = before.iter().collect();
            assert_eq!(seen.stats().distinct_keys, distinct.len() as u64);
            if recent_keys < 1_000 {
                assert!(
                    seen.stats().runs_spilled > 1,
                    "{recent_keys} {:?}",
                    seen.stats()
                );
            }
        }
    }
}
