//! One (client, address) pair's DNS answers, packed for the index.
//!
//! The index keeps every answer that can attribute a flow, and on an AI-heavy mix that is
//! most of the DNS log: 32 million answers at 10^8 flows, a gigabyte at the 32 bytes an
//! answer takes unpacked. Yet an answer mostly repeats the one before it in its pair: the
//! same name, TTL and file, a time a little later and a line a little further on. So the
//! answers are stored sorted, each as its differences from the one before in
//! variable-length integers, about a third of their unpacked size. They are cut into
//! blocks of [`BLOCK`] that each decode on their own, and a look-up searches the blocks'
//! first times, then decodes one block.
//!
//! While the DNS logs are read, a pair's answers arrive roughly, not exactly, in time
//! order (a log is written as responses come in, files may overlap). [`Growing`] sorts
//! each [`RUN`] answers and packs them; [`Growing::finish`] merges the runs. Runs that
//! follow one another, as they do when a pair's logs are read in time order, are joined
//! without decoding.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use xborder_model::schema::{Micros, Provenance};

/// Answers per block: a look-up decodes at most this many.
const BLOCK: usize = 16;

/// Answers a pair gathers unpacked before they are sorted and packed as one run.
const RUN: usize = 256;

/// One kept answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Entry {
    pub response_ts: Micros,
    pub name: u32,
    pub ttl: u32,
    pub provenance: Provenance,
}

impl Entry {
    /// The index's order: by time, ties by input position so reruns pick the same answer.
    fn key(&self) -> (Micros, Provenance) {
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

/// Answers in the index's order, packed.
#[derive(Debug, Default)]
pub(super) struct Packed {
    /// Each block's first time, for the search.
    firsts: Vec<Micros>,
    /// Where each block starts in `bytes`.
    offsets: Vec<u64>,
    bytes: Vec<u8>,
    len: u64,
    /// The first and last answers' keys, to join runs without decoding them.
    first_key: Option<(Micros, Provenance)>,
    last_key: Option<(Micros, Provenance)>,
}

impl Packed {
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.firsts.capacity() * 8 + self.offsets.capacity() * 8 + self.bytes.capacity()
    }

    fn block_len(&self, block: usize) -> usize {
        let before = (block * BLOCK) as u64;
        (self.len - before).min(BLOCK as u64) as usize
    }

    fn block(&self, block: usize) -> Decoder<'_> {
        Decoder {
            bytes: &self.bytes,
            at: self.offsets[block] as usize,
            prev: block_base(self.firsts[block]),
            left: self.block_len(block),
        }
    }

    /// Every answer, in order.
    pub fn iter(&self) -> impl Iterator<Item = Entry> + '_ {
        (0..self.firsts.len()).flat_map(|b| self.block(b))
    }

    /// The last answer at or before `ts` ([`Packed::search`]), from where `cursor` left
    /// the previous look-up, and
    /// without decoding anything when `ts` comes before the answer after the one it found
    /// (a pair's flows come mostly in time order, often several to one answer).
    pub fn latest_from(&self, ts: Micros, cursor: &mut Cursor) -> Option<Entry> {
        if let Some((e, next)) = cursor.found {
            if e.response_ts <= ts && ts < next {
                return Some(e);
            }
        }
        let (block, e, next) = self.search(ts, cursor.block as usize)?;
        *cursor = Cursor {
            // Past 2^32 blocks for one pair, the next search starts from the first.
            block: u32::try_from(block).unwrap_or(0),
            found: Some((e, next)),
        };
        Some(e)
    }

    /// The block and the last answer at or before `ts`, searching the blocks forward from
    /// `hint` when that block starts at or before `ts`, with the time of the answer after
    /// it (`Micros::MAX` after the last). That time is later than `ts`: the block is the
    /// last that starts at or before `ts`.
    fn search(&self, ts: Micros, hint: usize) -> Option<(usize, Entry, Micros)> {
        let block = latest_at_or_before(&self.firsts, ts, hint)?;
        let mut found = None;
        let mut next = self.firsts.get(block + 1).copied().unwrap_or(Micros::MAX);
        for e in self.block(block) {
            if e.response_ts > ts {
                next = e.response_ts;
                break;
            }
            found = Some(e);
        }
        found.map(|e| (block, e, next))
    }

    fn shrink_to_fit(&mut self) {
        self.firsts.shrink_to_fit();
        self.offsets.shrink_to_fit();
        self.bytes.shrink_to_fit();
    }
}

/// Where a reader's previous look-up in one [`Packed`] ended: the block it searched from,
/// and the answer it found with the time the next answer starts. Any cursor is safe with
/// the [`Packed`] it was made on, whatever times follow: a time outside the answer's span
/// is searched for afresh.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cursor {
    pub(super) block: u32,
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

/// Packs answers given in the index's order.
#[derive(Default)]
struct Packer {
    packed: Packed,
    prev: Option<Entry>,
}

impl Packer {
    fn push(&mut self, e: Entry) {
        let p = &mut self.packed;
        debug_assert!(self.prev.is_none_or(|prev| prev.key() <= e.key()));
        let prev = if p.len.is_multiple_of(BLOCK as u64) {
            p.firsts.push(e.response_ts);
            p.offsets.push(p.bytes.len() as u64);
            block_base(e.response_ts)
        } else {
            self.prev.unwrap_or(block_base(e.response_ts))
        };
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
            write_varint(&mut p.bytes, step << 4 | u64::from(flags));
        } else {
            // Only a forged time steps 36,000 years; it is kept exactly all the same.
            write_varint(&mut p.bytes, u64::from(flags | WIDE_STEP));
            write_varint(&mut p.bytes, step);
        }
        if flags & NAME_CHANGES != 0 {
            write_varint(&mut p.bytes, u64::from(e.name));
        }
        if flags & TTL_CHANGES != 0 {
            write_varint(&mut p.bytes, u64::from(e.ttl));
        }
        if flags & FILE_CHANGES != 0 {
            write_varint(&mut p.bytes, u64::from(e.provenance.file));
        }
        let line_step = e.provenance.line.wrapping_sub(prev.provenance.line) as i64;
        write_varint(&mut p.bytes, zigzag(line_step));
        p.len += 1;
        p.first_key.get_or_insert(e.key());
        p.last_key = Some(e.key());
        self.prev = Some(e);
    }

    fn finish(self) -> Packed {
        self.packed
    }
}

/// One pair's answers while the DNS logs are read: sorted runs, and the newest answers
/// not yet sorted.
#[derive(Debug, Default)]
pub(super) struct Growing {
    runs: Vec<Packed>,
    tail: Vec<Entry>,
}

impl Growing {
    pub fn push(&mut self, e: Entry) {
        self.tail.push(e);
        if self.tail.len() >= RUN {
            self.seal();
        }
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.runs.iter().map(Packed::memory_bytes).sum::<usize>()
            + self.runs.capacity() * std::mem::size_of::<Packed>()
            + self.tail.capacity() * std::mem::size_of::<Entry>()
    }

    fn seal(&mut self) {
        if self.tail.is_empty() {
            return;
        }
        // Stable: answers with equal keys keep the order they were read in.
        self.tail.sort_by_key(Entry::key);
        let mut packer = Packer::default();
        self.tail.drain(..).for_each(|e| packer.push(e));
        let mut run = packer.finish();
        run.shrink_to_fit();
        self.runs.push(run);
    }

    /// All the pair's answers in the index's order, as a stable sort of the order they
    /// were pushed in would give them.
    pub fn finish(mut self) -> Packed {
        self.seal();
        self.tail = Vec::new();
        let mut packed = if self.runs.len() == 1 {
            self.runs.pop().unwrap_or_default()
        } else if self
            .runs
            .windows(2)
            .all(|w| w[0].last_key <= w[1].first_key)
        {
            join(self.runs)
        } else {
            merge(&self.runs)
        };
        packed.shrink_to_fit();
        packed
    }
}

/// Runs that follow one another, as one: blocks are copied as they are, since each
/// decodes on its own, and only a run's short last block is packed again with the next
/// run's answers.
fn join(runs: Vec<Packed>) -> Packed {
    let mut packer = Packer::default();
    for run in runs {
        let whole_blocks = if packer.packed.len.is_multiple_of(BLOCK as u64) {
            (run.len / BLOCK as u64) as usize
        } else {
            0
        };
        if whole_blocks > 0 {
            let p = &mut packer.packed;
            let copied_to = run
                .offsets
                .get(whole_blocks)
                .map_or(run.bytes.len(), |&o| o as usize);
            let shift = p.bytes.len() as u64;
            p.firsts.extend_from_slice(&run.firsts[..whole_blocks]);
            p.offsets
                .extend(run.offsets[..whole_blocks].iter().map(|o| o + shift));
            p.bytes.extend_from_slice(&run.bytes[..copied_to]);
            p.len += (whole_blocks * BLOCK) as u64;
            p.first_key = p.first_key.or(run.first_key);
            p.last_key = run.last_key;
            // The next answer starts a block, which never reads the one before it.
            packer.prev = None;
        }
        for block in whole_blocks..run.firsts.len() {
            run.block(block).for_each(|e| packer.push(e));
        }
    }
    packer.finish()
}

/// Runs that overlap in time, merged; ties go to the earlier run, which keeps the merge
/// stable.
fn merge(runs: &[Packed]) -> Packed {
    struct Head<'a> {
        entry: Entry,
        run: usize,
        rest: Box<dyn Iterator<Item = Entry> + 'a>,
    }
    impl Head<'_> {
        fn order(&self) -> ((Micros, Provenance), usize) {
            (self.entry.key(), self.run)
        }
    }
    impl PartialEq for Head<'_> {
        fn eq(&self, other: &Self) -> bool {
            self.order() == other.order()
        }
    }
    impl Eq for Head<'_> {}
    impl PartialOrd for Head<'_> {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Head<'_> {
        // Reversed: BinaryHeap pops its greatest.
        fn cmp(&self, other: &Self) -> Ordering {
            other.order().cmp(&self.order())
        }
    }
    let mut heap = BinaryHeap::with_capacity(runs.len());
    for (i, r) in runs.iter().enumerate() {
        let mut rest = r.iter();
        if let Some(entry) = rest.next() {
            heap.push(Head {
                entry,
                run: i,
                rest: Box::new(rest),
            });
        }
    }
    let mut packer = Packer::default();
    while let Some(mut head) = heap.pop() {
        packer.push(head.entry);
        if let Some(next) = head.rest.next() {
            head.entry = next;
            heap.push(head);
        }
    }
    packer.finish()
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

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
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

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
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

    fn grown(pushed: &[Entry]) -> Packed {
        let mut g = Growing::default();
        pushed.iter().for_each(|e| g.push(*e));
        g.finish()
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

    /// In order, nearly in order (runs that overlap a little) and shuffled, with times at
    /// the ends of the range and runs of equal keys: the packed answers are the stable
    /// sort of what was pushed.
    #[test]
    fn packed_answers_are_the_stable_sort_of_the_pushed_ones() {
        let mut rng = Rng::new(29);
        for len in [0usize, 1, 15, 16, 17, 255, 256, 257, 1000, 4099] {
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
                let packed = grown(&pushed);
                assert_eq!(packed.len(), len as u64);
                let got: Vec<Entry> = packed.iter().collect();
                assert_eq!(got, sorted(pushed), "len {len}");
            }
        }
    }

    /// Runs that follow one another are joined, not merged, and still give the sort.
    #[test]
    fn following_runs_are_joined_block_for_block() {
        let mut rng = Rng::new(3);
        for len in [RUN * 3, RUN * 3 + 5, RUN + BLOCK / 2] {
            let pushed: Vec<Entry> = (0..len).map(|i| entry(&mut rng, i as i64 * 10)).collect();
            let mut g = Growing::default();
            pushed.iter().for_each(|e| g.push(*e));
            g.seal();
            assert!(g.runs.windows(2).all(|w| w[0].last_key <= w[1].first_key));
            let joined = join(std::mem::take(&mut g.runs));
            let merged = {
                let mut g = Growing::default();
                pushed.iter().for_each(|e| g.push(*e));
                g.seal();
                merge(&g.runs)
            };
            assert_eq!(joined.iter().collect::<Vec<_>>(), pushed);
            assert_eq!(joined.firsts, merged.firsts);
            assert_eq!(joined.offsets, merged.offsets);
            assert_eq!(joined.bytes, merged.bytes);
        }
    }

    /// The search finds the last answer at or before a time, from any hint.
    #[test]
    fn search_finds_the_latest_answer_from_any_hint() {
        let mut rng = Rng::new(11);
        let pushed: Vec<Entry> = (0..700)
            .map(|_| {
                let ts = rng.below(2_000) as i64;
                entry(&mut rng, ts)
            })
            .collect();
        let want = sorted(pushed.clone());
        let packed = grown(&pushed);
        let blocks = packed.firsts.len();
        for ts in -1..=2_001i64 {
            let expected = want.iter().rev().find(|e| e.response_ts <= ts).copied();
            for hint in [0, 1, blocks / 2, blocks - 1, blocks, blocks + 9] {
                let got = packed.search(ts, hint);
                assert_eq!(got.map(|(_, e, _)| e), expected, "ts {ts} hint {hint}");
                if let Some((block, e, _)) = got {
                    assert!(packed.block(block).any(|x| x == e));
                }
            }
        }
    }

    /// A cursor gives what a search without one gives, whatever order the times come in:
    /// mostly forward with ties, then backward, then jumping, then the extremes.
    #[test]
    fn a_cursor_remembers_only_what_still_holds() {
        let mut rng = Rng::new(5);
        let pushed: Vec<Entry> = (0..(BLOCK * 9 + 3))
            .map(|_| {
                let ts = rng.below(600) as i64 * 3;
                entry(&mut rng, ts)
            })
            .collect();
        let want = sorted(pushed.clone());
        let latest = |ts: Micros| want.iter().rev().find(|e| e.response_ts <= ts).copied();
        let packed = grown(&pushed);
        let mut times: Vec<Micros> = (-2..1_805).collect();
        times.extend((-2..1_805).rev());
        times.extend((0..3_000).map(|_| rng.below(1_900) as i64 - 50));
        times.extend([Micros::MIN, Micros::MAX, 1_797, Micros::MAX, 0, Micros::MIN]);
        let mut cursor = Cursor::default();
        let mut remembered = 0;
        for ts in times {
            let before = cursor;
            let got = packed.latest_from(ts, &mut cursor);
            assert_eq!(got, latest(ts), "ts {ts}");
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
        // Most of the forward walk is answered from the cursor.
        assert!(remembered > 2_000, "{remembered}");
    }

    /// The point of packing: typical answers take well under a third of 32 bytes.
    #[test]
    fn typical_answers_pack_small() {
        let mut rng = Rng::new(1);
        let mut ts = 1_750_000_000_000_000i64;
        let mut line = 0u64;
        let pushed: Vec<Entry> = (0..10_000)
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
        let packed = grown(&pushed);
        let per_answer = packed.memory_bytes() as f64 / pushed.len() as f64;
        assert!(per_answer < 9.0, "{per_answer} bytes per answer");
    }
}
