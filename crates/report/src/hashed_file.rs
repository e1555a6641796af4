//! An output file hashed while it is written, on a thread of its own.
//!
//! run.json lists every output with its SHA-256. Hashing evidence.csv after writing it
//! meant reading hundreds of megabytes back on an AI-heavy run; here the writer hands
//! full buffers to a thread that hashes and writes them, so the bytes are hashed once,
//! on the way out, and the thread formatting rows never waits for the disk or the hash.
//!
//! A large file's written pages are also let go of as it grows (Linux): each 16 MiB
//! chunk is handed to writeback once written and dropped from the page cache two chunks
//! later. Without that, a 37 GB evidence.csv fills the page cache with pages nobody reads
//! again, evicting the inputs', and each new page costs a first touch; on the reference
//! virtual machine copying into fresh page-cache pages ran at about 0.4 GB/s against
//! 3.7 GB/s into reused ones, and was a third of an AI-heavy run's wall time.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};
use xborder_model::error::{Error, Result};
use xborder_model::hash::hex;

/// Bytes gathered before a buffer goes to the writing thread.
const BUFFER_BYTES: usize = 1 << 20;
/// Buffers queued for the writing thread: bounds the memory in flight.
const BUFFERS_IN_FLIGHT: usize = 4;
/// Bytes per chunk handed to writeback and later dropped from the page cache.
const DROP_BEHIND_CHUNK: u64 = 16 << 20;

/// Lets go of a growing file's written pages, a chunk at a time (see the module doc).
/// Advice only: the kernel may ignore it, and errors change nothing but speed.
#[derive(Default)]
struct DropBehind {
    /// Bytes handed to writeback so far: a multiple of [`DROP_BEHIND_CHUNK`].
    handed: u64,
}

impl DropBehind {
    /// `size` bytes are written: hand every completed chunk to writeback, and drop the
    /// chunk two before it, whose writeback has had the time of two chunks to finish.
    fn written(&mut self, file: &File, size: u64) {
        while size >= self.handed + DROP_BEHIND_CHUNK {
            // For dirty pages DONTNEED starts their writeback; for clean ones it drops them.
            advise_dont_need(file, self.handed);
            if let Some(old) = self.handed.checked_sub(2 * DROP_BEHIND_CHUNK) {
                advise_dont_need(file, old);
            }
            self.handed += DROP_BEHIND_CHUNK;
        }
    }
}

#[cfg(target_os = "linux")]
fn advise_dont_need(file: &File, offset: u64) {
    let length = std::num::NonZeroU64::new(DROP_BEHIND_CHUNK);
    let _ = rustix::fs::fadvise(file, offset, length, rustix::fs::Advice::DontNeed);
}

#[cfg(not(target_os = "linux"))]
fn advise_dont_need(_file: &File, _offset: u64) {}

/// A file being written and hashed; [`HashedFile::finish`] gives its SHA-256 and size.
pub struct HashedFile {
    path: PathBuf,
    buffer: Vec<u8>,
    full: Option<SyncSender<Vec<u8>>>,
    spare: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<io::Result<(String, u64)>>>,
    /// Why the writing thread stopped, once [`HashedFile::why_stopped`] has asked it.
    stopped: Option<io::Error>,
}

impl HashedFile {
    /// Create (or truncate) `path` and start its writing thread.
    pub fn create(path: &Path) -> Result<Self> {
        let mut file = File::create(path).map_err(|e| Error::io(path, e))?;
        let (full, queued) = sync_channel::<Vec<u8>>(BUFFERS_IN_FLIGHT);
        let (give_back, spare) = sync_channel::<Vec<u8>>(BUFFERS_IN_FLIGHT + 2);
        let thread = std::thread::Builder::new()
            .name("xborder-write".into())
            .spawn(move || -> io::Result<(String, u64)> {
                let mut hasher = Sha256::new();
                let mut size = 0u64;
                let mut drop_behind = DropBehind::default();
                for mut buffer in queued {
                    hasher.update(&buffer);
                    file.write_all(&buffer)?;
                    size += buffer.len() as u64;
                    drop_behind.written(&file, size);
                    buffer.clear();
                    // The writer may have stopped reusing buffers; dropping one is fine.
                    let _ = give_back.try_send(buffer);
                }
                file.flush()?;
                Ok((hex(&hasher.finalize()), size))
            })
            .map_err(|e| Error::io(path, e))?;
        Ok(HashedFile {
            path: path.to_path_buf(),
            buffer: Vec::with_capacity(BUFFER_BYTES),
            full: Some(full),
            spare,
            thread: Some(thread),
            stopped: None,
        })
    }

    /// Hand the buffered bytes to the writing thread.
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BUFFER_BYTES));
        let full = std::mem::replace(&mut self.buffer, next);
        let sent = self.full.as_ref().map(|tx| tx.send(full).is_ok());
        if sent == Some(true) {
            Ok(())
        } else {
            Err(self.why_stopped())
        }
    }

    /// The writing thread stopped taking buffers, which it does only on a write error:
    /// wait for it and return that error ("No space left on device", say), which the
    /// writer in front passes up as this file's error. Nothing else would report it: a
    /// writer that fails midway never calls [`HashedFile::finish`].
    fn why_stopped(&mut self) -> io::Error {
        drop(self.full.take());
        let why = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => io::Error::other("the writing thread panicked"),
            Some(Ok(Ok(_))) => io::Error::other("the writing thread stopped"),
            None => self.stopped_or("the writing thread stopped"),
        };
        self.stopped = Some(copy_of(&why));
        why
    }

    /// The error the writing thread stopped on, if [`HashedFile::why_stopped`] took it;
    /// else an error saying `otherwise`.
    fn stopped_or(&self, otherwise: &str) -> io::Error {
        match &self.stopped {
            Some(e) => copy_of(e),
            None => io::Error::other(otherwise.to_string()),
        }
    }

    /// Let `append` add bytes at the end of the buffer in place, then hand the buffer on
    /// if it is full: a writer that formats many rows at once (evidence.csv) then copies
    /// nothing, where [`Write::write_all`] copies every byte once more. The buffer may
    /// pass [`BUFFER_BYTES`] by what one call appends.
    pub fn append_with<R>(&mut self, append: impl FnOnce(&mut Vec<u8>) -> R) -> io::Result<R> {
        let made = append(&mut self.buffer);
        if self.buffer.len() >= BUFFER_BYTES {
            self.send()?;
        }
        Ok(made)
    }

    /// Write what is buffered, wait for the thread, and return the file's SHA-256 (hex)
    /// and size in bytes. A write error of the thread is reported here, naming the file.
    pub fn finish(mut self) -> Result<(String, u64)> {
        let sent = self.send();
        self.join(sent)
    }

    fn join(&mut self, sent: io::Result<()>) -> Result<(String, u64)> {
        drop(self.full.take());
        let joined = match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the writing thread panicked"))),
            // Taken by `why_stopped`: its error again.
            None => Err(self.stopped_or("the file was already finished")),
        };
        // The thread's own error says more than "stopped".
        let done = joined.map_err(|e| Error::io(&self.path, e))?;
        sent.map_err(|e| Error::io(&self.path, e))?;
        Ok(done)
    }
}

impl Write for HashedFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.buffer.len() + bytes.len() > BUFFER_BYTES {
            self.send()?;
        }
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    /// Buffers are handed over when full and at [`HashedFile::finish`]; flushing the
    /// writers in front of this one must not send a buffer per flush.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for HashedFile {
    /// Dropped without `finish` (an error elsewhere): stop the thread and wait for it.
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.join(Ok(()));
        }
    }
}

/// An `io::Error` of the same kind and message (`io::Error` is not `Clone`).
fn copy_of(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use xborder_model::hash::sha256_bytes;

    #[test]
    fn hash_and_size_are_those_of_the_bytes_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut file = HashedFile::create(&path).unwrap();
        // Writes of every size, several buffers' worth, one larger than a buffer.
        let mut expected = Vec::new();
        for i in 0..5000u32 {
            let piece = format!("{i},{}\n", "x".repeat((i % 700) as usize));
            file.write_all(piece.as_bytes()).unwrap();
            expected.extend_from_slice(piece.as_bytes());
        }
        let big = vec![b'y'; BUFFER_BYTES * 2 + 17];
        file.write_all(&big).unwrap();
        expected.extend_from_slice(&big);
        // Appended in place, between and across buffers, and mixed with writes.
        for i in 0..3000u32 {
            let piece = format!("{i};{}\n", "z".repeat((i * 7 % 1500) as usize));
            let n = file
                .append_with(|buffer| {
                    buffer.extend_from_slice(piece.as_bytes());
                    piece.len()
                })
                .unwrap();
            assert_eq!(n, piece.len());
            expected.extend_from_slice(piece.as_bytes());
            if i % 5 == 0 {
                file.write_all(b"w").unwrap();
                expected.push(b'w');
            }
        }
        let (sha, size) = file.finish().unwrap();
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(on_disk, expected);
        assert_eq!(size, expected.len() as u64);
        assert_eq!(sha, sha256_bytes(&expected));
    }

    /// A file several chunks long, whose early chunks are let go of from the page cache
    /// while it is written, reads back whole.
    #[test]
    fn a_file_past_the_drop_behind_chunks_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let mut file = HashedFile::create(&path).unwrap();
        let mut expected = Vec::new();
        let mut line = 0u64;
        while (expected.len() as u64) < DROP_BEHIND_CHUNK * 7 / 2 {
            let piece = format!("{line},{}\n", line.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            file.write_all(piece.as_bytes()).unwrap();
            expected.extend_from_slice(piece.as_bytes());
            line += 1;
        }
        let (sha, size) = file.finish().unwrap();
        assert_eq!(size, expected.len() as u64);
        assert_eq!(sha, sha256_bytes(&expected));
        assert!(std::fs::read(&path).unwrap() == expected);
    }

    /// Every completed chunk is handed over once, in order, however the writes fall.
    #[test]
    fn chunks_are_handed_over_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        let mut drop_behind = DropBehind::default();
        drop_behind.written(&file, DROP_BEHIND_CHUNK - 1);
        assert_eq!(drop_behind.handed, 0);
        drop_behind.written(&file, DROP_BEHIND_CHUNK);
        assert_eq!(drop_behind.handed, DROP_BEHIND_CHUNK);
        drop_behind.written(&file, DROP_BEHIND_CHUNK * 4 + 5);
        assert_eq!(drop_behind.handed, DROP_BEHIND_CHUNK * 4);
        drop_behind.written(&file, DROP_BEHIND_CHUNK * 4 + 6);
        assert_eq!(drop_behind.handed, DROP_BEHIND_CHUNK * 4);
    }

    #[test]
    fn an_empty_file_has_the_empty_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        let (sha, size) = HashedFile::create(&path).unwrap().finish().unwrap();
        assert_eq!((sha, size), (sha256_bytes(b""), 0));
        assert!(path.is_file());
    }

    /// A write that fails midway (the disk full) says why, at once and again at
    /// `finish`, instead of only that the writing thread stopped.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_write_error_midway_says_what_went_wrong() {
        let mut file = HashedFile::create(Path::new("/dev/full")).unwrap();
        let chunk = vec![b'z'; BUFFER_BYTES];
        let err = (0..64)
            .find_map(|_| file.write_all(&chunk).err())
            .expect("a write to /dev/full fails");
        assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
        file.write_all(b"more").unwrap();
        let finished = file.finish().unwrap_err().to_string();
        assert!(
            finished.contains("/dev/full") && finished.contains("No space left"),
            "{finished}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_write_error_names_the_file() {
        // /dev/full accepts the open and fails every write with "no space".
        let path = Path::new("/dev/full");
        let mut file = HashedFile::create(path).unwrap();
        let _ = file.write_all(&vec![b'z'; BUFFER_BYTES * 8]);
        let err = file.finish().unwrap_err().to_string();
        assert!(err.contains("/dev/full"), "{err}");
    }
}
