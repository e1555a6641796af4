//! Reading one input on two helper threads, so a run uses both cores.
//!
//! A *reader* thread reads the raw file, hashes it (SHA-256 of the bytes on disk) and
//! decompresses it, handing 1 MiB chunks of text to a *parser* thread over a bounded
//! channel; the parser runs the ordinary reader ([`super::read_records`]) over those chunks
//! and hands batches of records and rejects to the caller, which folds them. Order is kept
//! end to end (one reader, one parser, FIFO channels), so results are byte-identical to a
//! single-threaded read. Bounded channels keep at most a few MiB in flight whatever the
//! file size; if the caller stops early (a `--strict` reject), dropping the receiver stops
//! both threads.

//!
//! A Zeek TSV log, whose lines depend on nothing but themselves and the header block
//! before them, is parsed by several parser threads instead ([`spawn`] with `parsers` >
//! 1): the reader cuts it into pieces at line ends, noting the header block and line
//! number each piece starts at, the parsers take pieces as they come, and a collector
//! thread hands the parsed pieces on in file order. The items are the same, in the same
//! order, as one parser gives.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};

use super::input::{Compression, RawCounter};
use super::{Format, Item, ReadContext, ReaderOptions};
use xborder_model::error::{Error, Result};

/// Text chunk size handed from the reader to the parser.
const CHUNK_BYTES: usize = 1 << 20;
/// Chunks in flight between reader and parser.
const CHUNKS_IN_FLIGHT: usize = 4;
/// Records per batch handed to the caller.
pub const BATCH_ITEMS: usize = 2048;
/// Batches in flight between parser and caller.
const BATCHES_IN_FLIGHT: usize = 4;

/// Spare batch vectors a parser keeps for reuse.
const SPARE_BATCHES: usize = 8;

/// What the parser thread hands to the caller.
pub enum Message {
    Items(Batch),
    /// The file was read to the end: its SHA-256 and size on disk.
    Done {
        sha256: String,
        size: u64,
    },
    Failed(Error),
}

/// Parsed items on their way to the caller. Dropped, a batch goes back to the parser
/// thread that filled it, which frees its records there before it parses on.
///
/// Why: DNS, hostname and proxy records hold strings the parser allocated. glibc frees a
/// block from another thread's arena only under that arena's lock, which the parser is
/// taking for its own allocations at the same moment: freed on the caller's thread, the
/// records of a DNS log kept the caller and the parsers waiting on each other
/// (docs/performance-history.md, the eighth pass).
pub struct Batch {
    items: Vec<Item>,
    home: Option<Sender<Vec<Item>>>,
    /// What the caller's [`BatchWork`] made of the items on the parser thread.
    work: Option<WorkDone>,
}

impl Batch {
    /// What the caller's [`BatchWork`] made of this batch's items, once.
    pub fn take_work(&mut self) -> Option<WorkDone> {
        self.work.take()
    }
}

/// The result of a [`BatchWork`], for the caller that set it to take back by its type.
pub type WorkDone = Box<dyn std::any::Any + Send>;

/// Work a parser thread does on each batch it fills, for the caller that reads the
/// batches: done where the records are made, it leaves the caller's one thread, which
/// every record passes through, free for what only it can do (the flow pass's
/// de-duplication keys: docs/performance-history.md, the thirteenth pass).
pub trait BatchWork: Send + Sync {
    /// The work's result for `items`, handed over with them ([`Batch::take_work`]).
    fn run(&self, items: &[Item]) -> WorkDone;
}

impl std::ops::Deref for Batch {
    type Target = [Item];
    fn deref(&self) -> &[Item] {
        &self.items
    }
}

impl std::ops::DerefMut for Batch {
    fn deref_mut(&mut self) -> &mut [Item] {
        &mut self.items
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            // A parser that has finished no longer listens: the items are freed here.
            let _ = home.send(std::mem::take(&mut self.items));
        }
    }
}

impl Batch {
    /// This batch's items, to be read by several threads at once: each fold shard reads
    /// its flows where the parser put them, instead of the reading thread copying every
    /// flow into the shard's own batch. The items go back to their parser thread when the
    /// last holder drops them, as a [`Batch`] does.
    pub fn share(mut self) -> Arc<SharedBatch> {
        Arc::new(SharedBatch {
            items: std::mem::take(&mut self.items),
            home: self.home.take(),
        })
    }
}

/// A batch's items shared between threads ([`Batch::share`]).
pub struct SharedBatch {
    items: Vec<Item>,
    home: Option<Sender<Vec<Item>>>,
}

impl std::ops::Deref for SharedBatch {
    type Target = [Item];
    fn deref(&self) -> &[Item] {
        &self.items
    }
}

impl Drop for SharedBatch {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            let _ = home.send(std::mem::take(&mut self.items));
        }
    }
}

/// A parser thread's end of the batches coming back: it frees their records and reuses
/// their vectors.
struct Home {
    back: Sender<Vec<Item>>,
    returned: Receiver<Vec<Item>>,
    spare: Vec<Vec<Item>>,
    work: Option<Arc<dyn BatchWork>>,
}

impl Home {
    fn new(work: Option<Arc<dyn BatchWork>>) -> Self {
        let (back, returned) = unbounded();
        Home {
            back,
            returned,
            spare: Vec::new(),
            work,
        }
    }

    /// `items` as a batch that comes back here when the caller is done with it, with the
    /// caller's work on them done.
    fn batch(&self, items: Vec<Item>) -> Batch {
        Batch {
            work: self.work.as_ref().map(|w| w.run(&items)),
            items,
            home: Some(self.back.clone()),
        }
    }

    /// An empty vector for the next batch. Batches handed back are emptied first, on this
    /// thread, which allocated their records: their buffers are kept for its next
    /// records ([`crate::spare`]), the rest freed.
    fn empty(&mut self) -> Vec<Item> {
        while let Ok(mut items) = self.returned.try_recv() {
            crate::spare::reclaim(&mut items);
            if self.spare.len() < SPARE_BATCHES {
                self.spare.push(items);
            }
        }
        self.spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BATCH_ITEMS))
    }
}

enum Chunk {
    Data(Vec<u8>),
    End(io::Result<(String, u64)>),
    Failed(io::Error),
}

/// A file being read on helper threads.
pub struct ThreadedInput {
    pub messages: Receiver<Message>,
    pub compression: Compression,
    pub raw: RawCounter,
    threads: Vec<JoinHandle<()>>,
}

impl ThreadedInput {
    /// Wait for the helper threads (after the last message, or after dropping out early).
    pub fn join(mut self) {
        drop(std::mem::replace(&mut self.messages, bounded(0).1));
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Open `path` and start reading it as `format` on helper threads: a reader and one
/// parser, or `parsers` parsers when the format can be cut into pieces (Zeek TSV). The
/// parsers do `work` on each batch they fill.
pub fn spawn(
    path: &Path,
    format: Format,
    file_index: u32,
    options: &ReaderOptions,
    parsers: usize,
    work: Option<Arc<dyn BatchWork>>,
) -> Result<ThreadedInput> {
    if parsers > 1 && splits_at_lines(&format) {
        return spawn_split(
            path,
            format,
            file_index,
            options,
            parsers,
            CHUNK_BYTES,
            work,
        );
    }
    let options = options.clone();
    let mut opened = super::open_input(path)?;
    let compression = opened.compression;
    let raw = opened.raw_counter();
    let (chunk_tx, chunk_rx) = bounded::<Chunk>(CHUNKS_IN_FLIGHT);
    let (spare_tx, spare_rx) = unbounded::<Vec<u8>>();
    let (msg_tx, msg_rx) = bounded::<Message>(BATCHES_IN_FLIGHT);
    let reader = std::thread::Builder::new()
        .name("xborder-read".into())
        .spawn(move || {
            loop {
                let mut buf = spare_rx
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(CHUNK_BYTES + 4096));
                buf.clear();
                match fill_chunk(&mut opened.reader, &mut buf) {
                    Ok(true) => {
                        if chunk_tx.send(Chunk::Data(buf)).is_err() {
                            return;
                        }
                    }
                    Ok(false) => {
                        if !buf.is_empty() && chunk_tx.send(Chunk::Data(buf)).is_err() {
                            return;
                        }
                        break;
                    }
                    Err(e) => {
                        let _ = chunk_tx.send(Chunk::Failed(e));
                        return;
                    }
                }
            }
            let done = opened.finish().map_err(|e| io::Error::other(e.to_string()));
            let _ = chunk_tx.send(Chunk::End(done));
        })
        .map_err(|e| Error::io(path, e))?;
    let path_buf: PathBuf = path.to_path_buf();
    let parser = std::thread::Builder::new()
        .name("xborder-parse".into())
        .spawn(move || {
            let mut input = ChunkReader {
                chunks: chunk_rx,
                spare: spare_tx,
                current: Vec::new(),
                pos: 0,
                end: None,
            };
            let mut home = Home::new(work);
            let mut batch = home.empty();
            let ctx = ReadContext {
                path: &path_buf,
                file_index,
                options: &options,
            };
            // A reader bug must not vanish with this thread: a panic becomes an error that
            // names the file and the reader, instead of a silently short read.
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                super::read_records(format.clone(), &mut input, &ctx, &mut |item| {
                    batch.push(item);
                    if batch.len() == BATCH_ITEMS {
                        let full = std::mem::replace(&mut batch, home.empty());
                        if msg_tx.send(Message::Items(home.batch(full))).is_err() {
                            // The caller stopped listening: stop reading.
                            return Err(Error::Aggregate("reader stopped".into()));
                        }
                    }
                    Ok(())
                })
            }));
            let result = read.unwrap_or_else(|payload| {
                let why = xborder_model::text::panic_message(payload.as_ref());
                Err(Error::io(
                    &path_buf,
                    io::Error::other(format!(
                        "the {} reader failed on this file ({why}); this is a bug in xborder, please report it",
                        format.id()
                    )),
                ))
            });
            if !batch.is_empty() && msg_tx.send(Message::Items(home.batch(batch))).is_err() {
                return;
            }
            let last = match result {
                Err(e) => Message::Failed(e),
                Ok(()) => match input.end.take() {
                    Some(Ok((sha256, size))) => Message::Done { sha256, size },
                    Some(Err(e)) => Message::Failed(Error::io(&path_buf, e)),
                    None => Message::Failed(Error::io(
                        &path_buf,
                        io::Error::other("reader thread ended early"),
                    )),
                },
            };
            let _ = msg_tx.send(last);
        })
        .map_err(|e| Error::io(path, e))?;
    Ok(ThreadedInput {
        messages: msg_rx,
        compression,
        raw,
        threads: vec![reader, parser],
    })
}

/// Append input to `buf` until it holds `bytes`; false when the input ended first.
fn fill_to(reader: &mut dyn BufRead, buf: &mut Vec<u8>, bytes: usize) -> io::Result<bool> {
    while buf.len() < bytes {
        let available = next_bytes(reader)?;
        if available.is_empty() {
            return Ok(false);
        }
        let n = available.len().min(bytes - buf.len());
        buf.extend_from_slice(&available[..n]);
        reader.consume(n);
    }
    Ok(true)
}

/// How many of `available` bytes reach the end of the current line (its newline
/// included), and whether the newline is among them.
fn through_line_end(available: &[u8]) -> (usize, bool) {
    match memchr::memchr(b'\n', available) {
        Some(i) => (i + 1, true),
        None => (available.len(), false),
    }
}

/// The reader's buffered bytes, read again after an interrupted read; empty at the end.
fn next_bytes(reader: &mut dyn BufRead) -> io::Result<&[u8]> {
    loop {
        match reader.fill_buf() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
            Ok(_) => break,
        }
    }
    // Filled above: the same bytes, without reading.
    reader.fill_buf()
}

/// Fill `buf` with about [`CHUNK_BYTES`] of text ending at a line end (or at end of
/// input). Returns false at end of input.
fn fill_chunk(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<bool> {
    if !fill_to(reader, buf, CHUNK_BYTES)? {
        return Ok(false);
    }
    // Finish the current line so chunks split between lines (bounded: a line longer than
    // the line limit is cut by the line reader anyway, and this stops at 1 MiB more).
    if buf.last() != Some(&b'\n') {
        let mut extra = 0;
        loop {
            let available = next_bytes(reader)?;
            if available.is_empty() {
                return Ok(false);
            }
            let (n, found) = through_line_end(available);
            buf.extend_from_slice(&available[..n]);
            reader.consume(n);
            extra += n;
            if found || extra > super::lines::MAX_LINE_BYTES {
                break;
            }
        }
    }
    Ok(true)
}

/// The parser's view of the chunk stream: an ordinary `BufRead`.
struct ChunkReader {
    chunks: Receiver<Chunk>,
    spare: Sender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    end: Option<io::Result<(String, u64)>>,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ChunkReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.current.len() && self.end.is_none() {
            match self.chunks.recv() {
                Ok(Chunk::Data(next)) => {
                    let used = std::mem::replace(&mut self.current, next);
                    let _ = self.spare.send(used);
                    self.pos = 0;
                }
                Ok(Chunk::End(r)) => self.end = Some(r),
                Ok(Chunk::Failed(e)) => return Err(e),
                Err(_) => return Err(io::Error::other("reader thread stopped")),
            }
        }
        Ok(&self.current[self.pos.min(self.current.len())..])
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
    }
}

/// Whether `format`'s records can be parsed from pieces of the file cut at line ends,
/// given the header block each piece starts in: Zeek's TSV logs.
fn splits_at_lines(format: &Format) -> bool {
    matches!(
        format.id(),
        "zeek-conn-tsv" | "zeek-dns-tsv" | "zeek-ssl-tsv" | "zeek-http-tsv"
    )
}

/// A piece of the file for a parser: its bytes end at a line end (or the end of input),
/// and it starts after line `before`, in header block `block`.
struct Piece {
    seq: u64,
    before: u64,
    block: Arc<super::zeek_tsv::Block>,
    bytes: Vec<u8>,
}

/// What reaches the collector, by sequence number.
enum Outcome {
    Parsed(Vec<Batch>),
    Failed(Error),
    /// After the last piece: the file's SHA-256 and size, or why reading stopped.
    End(io::Result<(String, u64)>),
}

/// [`spawn`] for a format that [`splits_at_lines`]: a reader cutting pieces of about
/// `piece_bytes`, `parsers` parser threads and a collector restoring file order.
fn spawn_split(
    path: &Path,
    format: Format,
    file_index: u32,
    options: &ReaderOptions,
    parsers: usize,
    piece_bytes: usize,
    work: Option<Arc<dyn BatchWork>>,
) -> Result<ThreadedInput> {
    let options = Arc::new(options.clone());
    let mut opened = super::open_input(path)?;
    let compression = opened.compression;
    let raw = opened.raw_counter();
    // Pieces read but not yet handed on: bounds memory whatever the file size.
    let in_flight = parsers * 2 + 2;
    let (slot_tx, slot_rx) = bounded::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = slot_tx.send(());
    }
    let (piece_tx, piece_rx) = bounded::<Piece>(parsers);
    let (done_tx, done_rx) = unbounded::<(u64, Outcome)>();
    let (spare_tx, spare_rx) = unbounded::<Vec<u8>>();
    let (msg_tx, msg_rx) = bounded::<Message>(BATCHES_IN_FLIGHT);
    let mut threads = Vec::with_capacity(parsers + 2);
    let failed_to_start = |e| Error::io(path, e);

    let reader_done = done_tx.clone();
    threads.push(
        std::thread::Builder::new()
            .name("xborder-read".into())
            .spawn(move || {
                let mut headers = super::zeek_tsv::Headers::new();
                let mut lines_before = 0u64;
                let mut seq = 0u64;
                loop {
                    if slot_rx.recv().is_err() {
                        return; // The collector stopped: nobody wants the rest.
                    }
                    let mut bytes = spare_rx
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(piece_bytes + 4096));
                    bytes.clear();
                    let more = match fill_piece(&mut opened.reader, &mut bytes, piece_bytes) {
                        Ok(more) => more,
                        Err(e) => {
                            let _ = reader_done.send((seq, Outcome::End(Err(e))));
                            return;
                        }
                    };
                    if !bytes.is_empty() {
                        let block = headers.current();
                        headers.see(&bytes, lines_before);
                        let before = lines_before;
                        lines_before += memchr::memchr_iter(b'\n', &bytes).count() as u64;
                        let piece = Piece {
                            seq,
                            before,
                            block,
                            bytes,
                        };
                        if piece_tx.send(piece).is_err() {
                            return;
                        }
                        seq += 1;
                    }
                    if !more {
                        break;
                    }
                }
                drop(piece_tx);
                let done = opened.finish().map_err(|e| io::Error::other(e.to_string()));
                let _ = reader_done.send((seq, Outcome::End(done)));
            })
            .map_err(failed_to_start)?,
    );

    for _ in 0..parsers {
        let pieces = piece_rx.clone();
        let done = done_tx.clone();
        let spare = spare_tx.clone();
        let options = options.clone();
        let format = format.clone();
        let path = path.to_path_buf();
        let work = work.clone();
        threads.push(
            std::thread::Builder::new()
                .name("xborder-parse".into())
                .spawn(move || {
                    let ctx = ReadContext {
                        path: &path,
                        file_index,
                        options: &options,
                    };
                    let mut home = Home::new(work);
                    for piece in pieces.iter() {
                        let outcome = parse_piece(&piece, &format, &ctx, &mut home);
                        let _ = spare.send(piece.bytes);
                        if done.send((piece.seq, outcome)).is_err() {
                            return;
                        }
                    }
                })
                .map_err(failed_to_start)?,
        );
    }
    drop(done_tx);

    let path_buf = path.to_path_buf();
    threads.push(
        std::thread::Builder::new()
            .name("xborder-collect".into())
            .spawn(move || {
                let mut waiting: BTreeMap<u64, Outcome> = BTreeMap::new();
                let mut next = 0u64;
                for (seq, outcome) in done_rx.iter() {
                    waiting.insert(seq, outcome);
                    while let Some(outcome) = waiting.remove(&next) {
                        let last = match outcome {
                            Outcome::Parsed(batches) => {
                                for batch in batches {
                                    if msg_tx.send(Message::Items(batch)).is_err() {
                                        return;
                                    }
                                }
                                // The reader may cut another piece.
                                let _ = slot_tx.send(());
                                next += 1;
                                continue;
                            }
                            Outcome::Failed(e) => Message::Failed(e),
                            Outcome::End(Ok((sha256, size))) => Message::Done { sha256, size },
                            Outcome::End(Err(e)) => Message::Failed(Error::io(&path_buf, e)),
                        };
                        let _ = msg_tx.send(last);
                        return;
                    }
                }
                let _ = msg_tx.send(Message::Failed(Error::io(
                    &path_buf,
                    io::Error::other("reader thread ended early"),
                )));
            })
            .map_err(failed_to_start)?,
    );
    Ok(ThreadedInput {
        messages: msg_rx,
        compression,
        raw,
        threads,
    })
}

/// Parse one piece into batches; a reader panic becomes an error naming the file.
fn parse_piece(piece: &Piece, format: &Format, ctx: &ReadContext<'_>, home: &mut Home) -> Outcome {
    let mut batches = Vec::new();
    let mut batch = home.empty();
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        super::read_piece(&piece.bytes, piece.before, &piece.block, ctx, &mut |item| {
            batch.push(item);
            if batch.len() == BATCH_ITEMS {
                let full = std::mem::replace(&mut batch, home.empty());
                batches.push(home.batch(full));
            }
            Ok(())
        })
    }));
    match read {
        Ok(Ok(())) => {
            if !batch.is_empty() {
                batches.push(home.batch(batch));
            }
            Outcome::Parsed(batches)
        }
        Ok(Err(e)) => Outcome::Failed(e),
        Err(payload) => {
            let why = xborder_model::text::panic_message(payload.as_ref());
            Outcome::Failed(Error::io(
                ctx.path,
                io::Error::other(format!(
                    "the {} reader failed on this file ({why}); this is a bug in xborder, please report it",
                    format.id()
                )),
            ))
        }
    }
}

/// Fill `buf` with about `piece_bytes` of text ending at a line end, or at the end of
/// input (returns false there). A last line longer than the line limit is cut after
/// one byte more than the limit, so the parser still rejects it as too long, and the
/// rest of it is skipped: a missing newline never makes a piece grow without bound.
fn fill_piece(reader: &mut dyn BufRead, buf: &mut Vec<u8>, piece_bytes: usize) -> io::Result<bool> {
    if !fill_to(reader, buf, piece_bytes)? {
        return Ok(false);
    }
    if buf.last() == Some(&b'\n') {
        return Ok(true);
    }
    let line_start = memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1);
    let keep = super::lines::MAX_LINE_BYTES + 1;
    let mut skipping = buf.len() - line_start > keep;
    if skipping {
        buf.truncate(line_start + keep);
    }
    loop {
        let available = next_bytes(reader)?;
        if available.is_empty() {
            return Ok(false);
        }
        let (n, found) = through_line_end(available);
        if !skipping {
            let room = line_start + keep - buf.len();
            if n > room && !(found && n - 1 <= room) {
                buf.extend_from_slice(&available[..room]);
                skipping = true;
            } else {
                buf.extend_from_slice(&available[..n]);
            }
        }
        reader.consume(n);
        if found {
            if skipping {
                buf.push(b'\n');
            }
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(path: &Path, format: Format) -> (Vec<String>, String) {
        drain(spawn(path, format, 0, &ReaderOptions::default(), 1, None).unwrap())
    }

    /// Every item of a threaded read (as text, to compare) and the file's SHA-256.
    fn drain(t: ThreadedInput) -> (Vec<String>, String) {
        let mut out = Vec::new();
        let mut sha = String::new();
        for m in t.messages.iter() {
            match m {
                Message::Items(items) => out.extend(items.iter().map(|i| format!("{i:?}"))),
                Message::Done { sha256, .. } => sha = sha256,
                Message::Failed(e) => panic!("{e}"),
            }
        }
        t.join();
        (out, sha)
    }

    /// A dropped batch goes back to its parser, which frees the records and reuses the
    /// vector, keeping no more than a few spare.
    #[test]
    fn dropped_batches_go_home_and_their_vectors_are_reused() {
        let mut home = Home::new(None);
        let mut items = home.empty();
        items.push(Item::Note("a note the parser allocated".into()));
        let place = items.as_ptr();
        let batch = home.batch(items);
        assert_eq!(batch.len(), 1);
        assert_eq!(home.returned.len(), 0);
        drop(batch);
        assert_eq!(home.returned.len(), 1, "the dropped batch came back");
        let again = home.empty();
        assert_eq!(home.returned.len(), 0);
        assert!(again.is_empty(), "its records were freed on the way in");
        assert_eq!(again.as_ptr(), place, "and its vector is the next batch's");

        let batches: Vec<Batch> = (0..3 * SPARE_BATCHES)
            .map(|_| {
                let mut items = home.empty();
                items.push(Item::Note(String::from("n")));
                home.batch(items)
            })
            .collect();
        drop(batches);
        let _next = home.empty();
        assert!(home.spare.len() < SPARE_BATCHES);
    }

    /// A shared batch is read on other threads and goes home once, when its last holder
    /// drops it, with its items as they were.
    #[test]
    fn a_shared_batch_goes_home_when_its_last_holder_drops_it() {
        let mut home = Home::new(None);
        let mut items = home.empty();
        items.push(Item::Note("first".into()));
        items.push(Item::Note("second".into()));
        let place = items.as_ptr();
        let shared = home.batch(items).share();
        let held = shared.clone();
        assert_eq!(home.returned.len(), 0, "sharing does not send it home");
        let read = std::thread::spawn(move || match &held[1] {
            Item::Note(n) => n.clone(),
            _ => String::new(),
        })
        .join()
        .unwrap();
        assert_eq!(read, "second");
        assert_eq!(home.returned.len(), 0, "one holder is left");
        assert_eq!(shared.len(), 2);
        drop(shared);
        assert_eq!(home.returned.len(), 1, "the last holder sent it home");
        let again = home.empty();
        assert!(again.is_empty(), "its records were freed on the way in");
        assert_eq!(again.as_ptr(), place, "and its vector is the next batch's");
    }

    /// Batches kept past the end of the read, when their parsers have gone, are freed
    /// where they are dropped.
    #[test]
    fn batches_outliving_their_parsers_are_freed_where_dropped() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
        let path = dir.join("dns.2026-Q3.log");
        let format = Format::by_id("zeek-dns-tsv").unwrap();
        for parsers in [1, 3] {
            let t = if parsers == 1 {
                spawn(&path, format.clone(), 0, &ReaderOptions::default(), 1, None).unwrap()
            } else {
                spawn_split(
                    &path,
                    format.clone(),
                    0,
                    &ReaderOptions::default(),
                    3,
                    4096,
                    None,
                )
                .unwrap()
            };
            let kept: Vec<Batch> = t
                .messages
                .iter()
                .filter_map(|m| match m {
                    Message::Items(b) => Some(b),
                    _ => None,
                })
                .collect();
            t.join();
            let items: usize = kept.iter().map(|b| b.len()).sum();
            assert_eq!(items, collect(&path, format.clone()).0.len());
            drop(kept);
        }
    }

    /// The threaded read gives the same items, in the same order, as a direct read, and
    /// the hash of the file on disk, across chunk boundaries and for gzip.
    #[test]
    fn same_items_as_a_direct_read() {
        // The shipped sample: plain and gzip conn logs and a dns log.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
        for (name, format) in [
            ("conn.2026-07.log", "zeek-conn-tsv"),
            ("conn.2026-08-09.log.gz", "zeek-conn-tsv"),
            ("dns.2026-Q3.log", "zeek-dns-tsv"),
        ] {
            let format = Format::by_id(format).unwrap();
            let path = dir.join(name);
            let mut opened = super::super::open_input(&path).unwrap();
            let mut direct = Vec::new();
            let options = ReaderOptions::default();
            let ctx = ReadContext {
                path: &path,
                file_index: 0,
                options: &options,
            };
            super::super::read_records(format.clone(), &mut opened.reader, &ctx, &mut |i| {
                direct.push(format!("{i:?}"));
                Ok(())
            })
            .unwrap();
            let (sha, _) = opened.finish().unwrap();
            let (threaded, tsha) = collect(&path, format);
            assert_eq!(threaded.len(), direct.len(), "{name}");
            assert!(threaded == direct, "{name}");
            assert_eq!(tsha, sha);
        }
    }

    fn collect_split(
        path: &Path,
        format: Format,
        parsers: usize,
        piece_bytes: usize,
    ) -> (Vec<String>, String) {
        let t = spawn_split(
            path,
            format,
            0,
            &ReaderOptions::default(),
            parsers,
            piece_bytes,
            None,
        )
        .unwrap();
        drain(t)
    }

    /// A Zeek log with every case where a piece must not lose its context: a BOM, CRLF,
    /// a data line before any header, header blocks mid-file with another separator,
    /// column order and log path, invalid UTF-8 in a data line and in a header line,
    /// empty lines, lines longer than the limit in the middle and at the end, and no
    /// newline at the end.
    fn hostile_zeek_log() -> Vec<u8> {
        let mut log = Vec::new();
        // Declared on line 1 behind a BOM: `-` is then a value, not unset.
        log.extend_from_slice(b"\xEF\xBB\xBF#unset_field\tNA\r\n");
        log.extend_from_slice(b"1700000000.0\tbefore-header\n");
        log.extend_from_slice(b"#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\torig_bytes\tresp_bytes\n");
        for i in 0..40u32 {
            log.extend_from_slice(
                format!(
                    "1700000{i:03}.5\tC{i}\t10.0.0.{}\t{}\t198.51.100.{}\t443\ttcp\t{}\t-\r\n",
                    i % 7,
                    40000 + i,
                    i % 3,
                    i * 11
                )
                .as_bytes(),
            );
            if i % 9 == 4 {
                log.extend_from_slice(b"\n");
            }
        }
        log.extend_from_slice(
            b"1700000100.0\tCbad\t10.0.0.\xFF\t1\t198.51.100.1\t443\ttcp\t1\t1\n",
        );
        log.extend_from_slice(b"#fields\tts\xFF\tuid\n");
        let mut long = vec![b'x'; super::super::lines::MAX_LINE_BYTES + 5];
        long.push(b'\n');
        log.extend_from_slice(&long);
        // A new block: comma-separated, columns reordered.
        log.extend_from_slice(b"#separator ,\n#path,conn\n#fields,uid,ts,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,orig_bytes,resp_bytes\n");
        for i in 0..25u32 {
            log.extend_from_slice(
                format!(
                    "D{i},1700001{i:03}.25,10.1.0.{},5{i:04},203.0.113.{},80,tcp,{},{}\n",
                    i % 5,
                    i % 4,
                    i * 3,
                    i
                )
                .as_bytes(),
            );
        }
        log.extend_from_slice(b"#separator \\x09\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tquery\tanswers\tTTLs\n");
        for i in 0..20u32 {
            log.extend_from_slice(
                format!("1700002{i:03}.0\tQ{i}\t10.0.0.{}\t5353\t10.0.0.53\t53\tapi{i}.example.com\t192.0.2.{i}\t60.0\n", i % 6)
                    .as_bytes(),
            );
        }
        let mut tail = vec![b'y'; super::super::lines::MAX_LINE_BYTES * 2];
        tail.extend_from_slice(
            b"\r\n1700003000.0\tlast\t10.0.0.1\t1\t10.0.0.53\t53\tend.example\t-\t-",
        );
        log.extend_from_slice(&tail);
        log
    }

    /// Parsed in pieces by several threads, a Zeek log gives the items one parser gives,
    /// in the same order, with the same line numbers and hash, whatever the piece size.
    #[test]
    fn pieces_parsed_apart_give_the_items_of_one_parser() {
        let dir = tempfile::tempdir().unwrap();
        let hostile = dir.path().join("hostile.log");
        std::fs::write(&hostile, hostile_zeek_log()).unwrap();
        let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
        let cases = [
            (hostile.clone(), "zeek-conn-tsv"),
            (sample.join("conn.2026-07.log"), "zeek-conn-tsv"),
            (sample.join("conn.2026-08-09.log.gz"), "zeek-conn-tsv"),
            (sample.join("dns.2026-Q3.log"), "zeek-dns-tsv"),
        ];
        for (path, format) in cases {
            let format = Format::by_id(format).unwrap();
            let (one, sha) = collect(&path, format.clone());
            assert!(one.len() > 60, "{}", path.display());
            for (parsers, piece_bytes) in [(2, 1), (3, 7), (2, 64), (5, 300), (2, 1 << 16)] {
                let (split, split_sha) = collect_split(&path, format.clone(), parsers, piece_bytes);
                assert_eq!(split_sha, sha);
                assert_eq!(
                    split.len(),
                    one.len(),
                    "{} {parsers} {piece_bytes}",
                    path.display()
                );
                for (a, b) in split.iter().zip(&one) {
                    assert_eq!(a, b, "{} {parsers} {piece_bytes}", path.display());
                }
            }
        }
    }

    /// The caller's batch work runs on every batch, one parser or several, and its result
    /// comes with the batch it was made from, once.
    #[test]
    fn batch_work_comes_with_its_batch() {
        /// The lines of a batch's items, as the work saw them.
        struct Lines;
        impl BatchWork for Lines {
            fn run(&self, items: &[Item]) -> WorkDone {
                Box::new(
                    items
                        .iter()
                        .map(|i| format!("{i:?}"))
                        .collect::<Vec<String>>(),
                )
            }
        }
        let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
        let path = sample.join("conn.2026-07.log");
        let format = Format::by_id("zeek-conn-tsv").unwrap();
        let (want, _) = collect(&path, format.clone());
        let opts = ReaderOptions::default();
        for threaded in [
            spawn(&path, format.clone(), 0, &opts, 1, Some(Arc::new(Lines))).unwrap(),
            spawn_split(
                &path,
                format.clone(),
                0,
                &opts,
                3,
                4096,
                Some(Arc::new(Lines)),
            )
            .unwrap(),
        ] {
            let mut seen = Vec::new();
            for m in threaded.messages.iter() {
                if let Message::Items(mut batch) = m {
                    let done = batch.take_work().expect("work done on the batch");
                    let lines = *done.downcast::<Vec<String>>().unwrap();
                    let items: Vec<String> = batch.iter().map(|i| format!("{i:?}")).collect();
                    assert_eq!(lines, items);
                    assert!(batch.take_work().is_none(), "taken once");
                    seen.extend(lines);
                }
            }
            threaded.join();
            assert_eq!(seen, want);
        }
    }

    /// A caller that stops listening (a --strict reject) stops every thread.
    #[test]
    fn dropping_the_reader_stops_the_split_threads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hostile.log");
        std::fs::write(&path, hostile_zeek_log()).unwrap();
        let format = Format::by_id("zeek-conn-tsv").unwrap();
        let t = spawn_split(&path, format, 0, &ReaderOptions::default(), 3, 16, None).unwrap();
        let first = t.messages.recv().unwrap();
        assert!(matches!(first, Message::Items(_)));
        // Returns only once every thread has ended.
        t.join();
    }

    /// A reader that panics half-way ends the read with an error naming the file and the
    /// reader, after the records it produced, instead of a silently short file.
    #[test]
    fn a_reader_panic_is_reported_not_swallowed() {
        fn panicking(
            _: &mut dyn BufRead,
            _: &ReadContext<'_>,
            sink: &mut dyn FnMut(Item) -> Result<()>,
        ) -> Result<()> {
            sink(Item::Note("before".into()))?;
            panic!("reader bug at record 2");
        }
        static SPEC: super::super::FormatSpec = super::super::FormatSpec {
            id: "test-panicking",
            title: "test",
            kinds: &[super::super::RecordKind::Flow],
            detected_by: "",
            bytes: "",
            field_map: &[],
            detect: |_| false,
            read: panicking,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        std::fs::write(&path, "x\n").unwrap();
        let t = spawn(
            &path,
            Format::Builtin(&SPEC),
            0,
            &ReaderOptions::default(),
            2,
            None,
        )
        .unwrap();
        let messages: Vec<Message> = t.messages.iter().collect();
        let failure = messages.iter().find_map(|m| match m {
            Message::Failed(e) => Some(e.to_string()),
            _ => None,
        });
        let failure = failure.expect("the panic is reported");
        assert!(failure.contains("x.log"), "{failure}");
        assert!(failure.contains("test-panicking"), "{failure}");
        assert!(failure.contains("reader bug at record 2"), "{failure}");
    }
}
