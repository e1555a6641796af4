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

use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};
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

/// What the parser thread hands to the caller.
pub enum Message {
    Items(Vec<Item>),
    /// The file was read to the end: its SHA-256 and size on disk.
    Done {
        sha256: String,
        size: u64,
    },
    Failed(Error),
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

/// Open `path` and start reading it as `format` on two helper threads.
pub fn spawn(
    path: &Path,
    format: Format,
    file_index: u32,
    options: &ReaderOptions,
) -> Result<ThreadedInput> {
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
            let mut batch = Vec::with_capacity(BATCH_ITEMS);
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
                        let full =
                            std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ITEMS));
                        if msg_tx.send(Message::Items(full)).is_err() {
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
            if !batch.is_empty() && msg_tx.send(Message::Items(batch)).is_err() {
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

/// Fill `buf` with about [`CHUNK_BYTES`] of text ending at a line end (or at end of
/// input). Returns false at end of input.
fn fill_chunk(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<bool> {
    while buf.len() < CHUNK_BYTES {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(false);
        }
        let n = available.len().min(CHUNK_BYTES - buf.len());
        buf.extend_from_slice(&available[..n]);
        reader.consume(n);
    }
    // Finish the current line so chunks split between lines (bounded: a line longer than
    // the line limit is cut by the line reader anyway, and this stops at 1 MiB more).
    if buf.last() != Some(&b'\n') {
        let mut extra = 0;
        loop {
            let available = match reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(false);
            }
            let (n, found) = match memchr::memchr(b'\n', available) {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(path: &Path, format: Format) -> (Vec<String>, String) {
        let t = spawn(path, format, 0, &ReaderOptions::default()).unwrap();
        let mut out = Vec::new();
        let mut sha = String::new();
        for m in t.messages.iter() {
            match m {
                Message::Items(items) => out.extend(items.into_iter().map(|i| format!("{i:?}"))),
                Message::Done { sha256, .. } => sha = sha256,
                Message::Failed(e) => panic!("{e}"),
            }
        }
        (out, sha)
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
        let t = spawn(&path, Format::Builtin(&SPEC), 0, &ReaderOptions::default()).unwrap();
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
