//! Input discovery and opening. Compression is recognised by magic bytes, never by name,
//! and every file is hashed from the bytes actually read, so the hash in run.json is the
//! hash of what was analysed.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use flate2::bufread::GzDecoder;
use sha2::{Digest, Sha256};

use xborder_model::error::{Error, Result};
pub use xborder_model::fsio::{open_regular, read_regular, read_regular_text};
pub use xborder_model::hash::{hex, sha256_bytes, sha256_file};

/// One input file found from the command line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Discovered {
    pub path: PathBuf,
    /// Found by walking an input directory (or a glob), rather than named: such a file
    /// that no reader recognises is skipped and listed instead of stopping the run.
    pub in_directory: bool,
    /// Not a regular file (a FIFO, socket or device); only ever found inside directories,
    /// since a named one is refused.
    pub not_regular: bool,
}

/// Expand the command line's inputs: files, directories (recursively, hidden entries
/// left out) and glob patterns, sorted and without repeats. A named input that is not a
/// regular file or directory is refused: reading a FIFO would wait for ever.
pub fn discover_inputs(inputs: &[PathBuf]) -> Result<Vec<Discovered>> {
    let mut files = Vec::new();
    let mut expanded = Vec::new();
    for input in inputs {
        let text = input.to_string_lossy();
        if !input.exists() && text.contains(['*', '?', '[']) {
            let matches = glob::glob(&text).map_err(|e| {
                Error::Usage(format!("input pattern `{text}` is not a valid glob: {e}"))
            })?;
            let mut n = 0;
            for m in matches {
                let path = m.map_err(|e| Error::io(e.path().to_path_buf(), e.into()))?;
                expanded.push((path, true));
                n += 1;
            }
            if n == 0 {
                return Err(Error::Usage(format!(
                    "input pattern `{text}` matches no file"
                )));
            }
        } else {
            expanded.push((input.clone(), false));
        }
    }
    for (input, from_glob) in &expanded {
        let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
        if meta.is_dir() {
            walk(input, &mut files)?;
        } else if meta.is_file() {
            files.push(Discovered {
                path: input.clone(),
                in_directory: *from_glob,
                not_regular: false,
            });
        } else {
            return Err(Error::io(
                input,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a regular file (a FIFO, socket or device); xborder reads regular files only",
                ),
            ));
        }
    }
    files.sort();
    // The same file named twice (or named and found in a directory) is read once, as named.
    files.dedup_by(|later, earlier| {
        if later.path == earlier.path {
            earlier.in_directory &= later.in_directory;
            true
        } else {
            false
        }
    });
    Ok(files)
}

/// Whether `--exclude` patterns leave `path` out: a pattern matches the whole path as found
/// (`*` also crosses `/`, so `*.tmp` and `*/archive/*` work at any depth) or its file name.
pub fn excluded_by(path: &Path, patterns: &[glob::Pattern]) -> bool {
    let name = path.file_name().map(Path::new);
    patterns
        .iter()
        .any(|p| p.matches_path(path) || name.is_some_and(|n| p.matches_path(n)))
}

fn walk(dir: &Path, out: &mut Vec<Discovered>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut children = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        children.push(entry.path());
    }
    children.sort();
    for child in children {
        let meta = std::fs::metadata(&child).map_err(|e| Error::io(&child, e))?;
        if meta.is_dir() {
            walk(&child, out)?;
        } else {
            out.push(Discovered {
                path: child,
                in_directory: true,
                not_regular: !meta.is_file(),
            });
        }
    }
    Ok(())
}

/// Compression applied to a file, as recognised from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// SHA-256 and size of the raw (compressed) bytes, filled in as they are read.
#[derive(Debug, Default)]
struct HashState {
    hasher: Sha256,
    bytes: u64,
}

/// Wraps the raw file so hashing happens on the single pass that parses it.
struct HashingReader {
    inner: File,
    state: Arc<Mutex<HashState>>,
}

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut state) = self.state.lock() {
            state.hasher.update(&buf[..n]);
            state.bytes += n as u64;
        }
        Ok(n)
    }
}

/// Reports raw bytes read so far from an opened input.
pub struct RawCounter(Arc<Mutex<HashState>>);

impl RawCounter {
    pub fn get(&self) -> u64 {
        self.0.lock().map(|s| s.bytes).unwrap_or(0)
    }
}

/// An input opened for reading: a buffered, decompressed stream plus its hash so far.
pub struct OpenedInput {
    pub reader: Box<dyn BufRead + Send>,
    pub compression: Compression,
    raw: Arc<Mutex<HashState>>,
    path: PathBuf,
}

impl OpenedInput {
    /// A handle that reports how many raw (compressed) bytes have been read, for progress
    /// reports (it reads 0 after `finish`).
    pub fn raw_counter(&self) -> RawCounter {
        RawCounter(Arc::clone(&self.raw))
    }

    /// Finish the hash: drains whatever the parser did not read (for example after a
    /// `--strict` stop) so the digest always covers the whole file.
    pub fn finish(mut self) -> Result<(String, u64)> {
        drop(std::mem::replace(&mut self.reader, Box::new(io::empty())));
        // Progress counters may still hold the state: take it rather than unwrap the Arc.
        let state = std::mem::take(
            &mut *self
                .raw
                .lock()
                .map_err(|_| Error::io(&self.path, io::Error::other("hash state poisoned")))?,
        );
        Ok((hex(&state.hasher.finalize()), state.bytes))
    }
}

/// Drain the rest of the raw file into the hash without parsing it.
fn drain_raw(path: &Path, state: &Arc<Mutex<HashState>>, file: &mut File) -> Result<()> {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        if let Ok(mut s) = state.lock() {
            s.hasher.update(&buf[..n]);
            s.bytes += n as u64;
        }
    }
}

/// Open a file, recognising gzip (including multi-member gzip) by its magic bytes.
pub fn open_input(path: &Path) -> Result<OpenedInput> {
    let mut probe = open_regular(path)?;
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match probe.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    drop(probe);
    let compression = compression_of(&magic[..got]);
    let file = open_regular(path)?;
    let state = Arc::new(Mutex::new(HashState::default()));
    let hashing = HashingReader {
        inner: file,
        state: Arc::clone(&state),
    };
    let reader: Box<dyn BufRead + Send> = match compression {
        Compression::Gzip => Box::new(BufReader::with_capacity(
            1 << 17,
            GzMembers::new(BufReader::with_capacity(1 << 17, HashTail::new(hashing))),
        )),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(
                1 << 17,
                HashTail::new(hashing),
            ))
            .map_err(|e| Error::io(path, e))?;
            Box::new(BufReader::with_capacity(1 << 17, decoder))
        }
        Compression::None => Box::new(BufReader::with_capacity(1 << 17, HashTail::new(hashing))),
    };
    Ok(OpenedInput {
        reader,
        compression,
        raw: state,
        path: path.to_path_buf(),
    })
}

/// Every member of a (multi-member) gzip stream, one after another, tolerating zero bytes
/// after the last member: tape and block-device copies pad files with zeros, and
/// `gzip -t` accepts them. Anything else after a member must be another member.
struct GzMembers<R: BufRead> {
    current: Option<GzDecoder<R>>,
}

impl<R: BufRead> GzMembers<R> {
    fn new(inner: R) -> Self {
        GzMembers {
            current: Some(GzDecoder::new(inner)),
        }
    }
}

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(decoder) = self.current.as_mut() else {
                return Ok(0);
            };
            let n = decoder.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // This member is complete: padding, end of input, or the next member.
            let Some(decoder) = self.current.take() else {
                return Ok(0);
            };
            let mut inner = decoder.into_inner();
            let mut padded = false;
            loop {
                let available = inner.fill_buf()?;
                if available.is_empty() {
                    return Ok(0);
                }
                let zeros = available.iter().take_while(|b| **b == 0).count();
                if zeros == 0 && !padded {
                    break;
                }
                if zeros < available.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "data after the zero padding that follows the last gzip member",
                    ));
                }
                inner.consume(zeros);
                padded = true;
            }
            self.current = Some(GzDecoder::new(inner));
        }
    }
}

/// Recognise compression from a file's first bytes: gzip `1f 8b`, zstd `28 b5 2f fd`
/// (a frame; concatenated frames are read whole).
fn compression_of(magic: &[u8]) -> Compression {
    if magic.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Ensures the hash covers the whole file even if the consumer stops early: on drop, the
/// unread remainder is hashed.
struct HashTail {
    inner: Option<HashingReader>,
}

impl HashTail {
    fn new(inner: HashingReader) -> Self {
        HashTail { inner: Some(inner) }
    }
}

impl Read for HashTail {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.as_mut() {
            Some(r) => r.read(buf),
            None => Ok(0),
        }
    }
}

impl Drop for HashTail {
    fn drop(&mut self) {
        if let Some(mut r) = self.inner.take() {
            let state = Arc::clone(&r.state);
            let _ = drain_raw(Path::new(""), &state, &mut r.inner);
        }
    }
}

/// Up to `limit` decompressed bytes from the start of a file, for format detection. No
/// hashing and no draining: detection must not cost a second pass over the data.
pub fn read_head(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut raw = BufReader::new(file);
    let compression = compression_of(raw.fill_buf().map_err(|e| Error::io(path, e))?);
    let mut head = Vec::new();
    let reader: Box<dyn Read> = match compression {
        Compression::Gzip => Box::new(GzMembers::new(raw)),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::with_buffer(raw).map_err(|e| Error::io(path, e))?)
        }
        Compression::None => Box::new(raw),
    };
    let result = reader.take(limit).read_to_end(&mut head);
    match result {
        Ok(_) => Ok(head),
        // A truncated or corrupt gzip still gives whatever decompressed cleanly.
        Err(_) if !head.is_empty() => Ok(head),
        Err(e) => Err(Error::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    #[test]
    fn multi_member_gzip_is_read_whole_and_hashed_raw() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.bin");
        let mut raw = Vec::new();
        for part in [&b"first\n"[..], &b"second\n"[..]] {
            let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(part).unwrap();
            raw.extend(enc.finish().unwrap());
        }
        std::fs::write(&path, &raw).unwrap();
        let mut opened = open_input(&path).unwrap();
        assert_eq!(opened.compression, Compression::Gzip);
        let mut text = String::new();
        opened.reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "first\nsecond\n");
        let (sha, size) = opened.finish().unwrap();
        assert_eq!(size, raw.len() as u64);
        assert_eq!(sha, sha256_bytes(&raw));
    }

    #[test]
    fn zstd_is_recognised_by_magic_and_hashed_raw() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.noext");
        let mut raw = zstd::stream::encode_all(&b"alpha\n"[..], 3).unwrap();
        raw.extend(zstd::stream::encode_all(&b"beta\n"[..], 3).unwrap());
        std::fs::write(&path, &raw).unwrap();
        assert_eq!(read_head(&path, 100).unwrap(), b"alpha\nbeta\n");
        let mut opened = open_input(&path).unwrap();
        assert_eq!(opened.compression, Compression::Zstd);
        let mut text = String::new();
        opened.reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "alpha\nbeta\n");
        let (sha, _) = opened.finish().unwrap();
        assert_eq!(sha, sha256_bytes(&raw));
    }

    #[test]
    fn globs_expand_sorted_and_empty_matches_fail() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["b.log", "a.log", "c.txt"] {
            std::fs::write(dir.path().join(n), "x").unwrap();
        }
        let pattern = dir.path().join("*.log");
        let files = discover_inputs(&[pattern]).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.path.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.log", "b.log"]);
        let none = discover_inputs(&[dir.path().join("*.gz")]).unwrap_err();
        let pats = |p: &[&str]| -> Vec<glob::Pattern> {
            p.iter().map(|p| glob::Pattern::new(p).unwrap()).collect()
        };
        let tmp = Path::new("/logs/2026-07/conn.log.tmp");
        assert!(excluded_by(tmp, &pats(&["*.tmp"])));
        assert!(excluded_by(tmp, &pats(&["conn.log.*"])));
        assert!(excluded_by(tmp, &pats(&["*/2026-07/*"])));
        assert!(!excluded_by(tmp, &pats(&["*.gz", "*/2026-08/*"])));
        assert!(!excluded_by(tmp, &[]));
        assert!(none.to_string().contains("matches no file"), "{none}");
    }

    /// Zero padding after the last gzip member (which `gzip -t` accepts) reads cleanly and
    /// is hashed; two members read as one stream; data after the padding is an error.
    #[test]
    fn gzip_members_and_zero_padding() {
        use flate2::{write::GzEncoder, Compression as Level};
        use std::io::Write;
        let member = |text: &str| {
            let mut e = GzEncoder::new(Vec::new(), Level::default());
            e.write_all(text.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("padded.log.gz");
        let mut raw = member("alpha\n");
        raw.extend(member("beta\n"));
        raw.extend(vec![0u8; 300_000]);
        std::fs::write(&path, &raw).unwrap();
        let mut opened = open_input(&path).unwrap();
        let mut text = String::new();
        opened.reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "alpha\nbeta\n");
        let (sha, size) = opened.finish().unwrap();
        assert_eq!((sha, size), (sha256_bytes(&raw), raw.len() as u64));

        raw.extend(b"junk");
        std::fs::write(&path, &raw).unwrap();
        let mut opened = open_input(&path).unwrap();
        let mut text = String::new();
        let e = opened.reader.read_to_string(&mut text).unwrap_err();
        assert!(e.to_string().contains("zero padding"), "{e}");
    }

    #[test]
    fn hash_covers_unread_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.log");
        let content = vec![b'a'; 1 << 20];
        std::fs::write(&path, &content).unwrap();
        let mut opened = open_input(&path).unwrap();
        let mut small = [0u8; 10];
        opened.reader.read_exact(&mut small).unwrap();
        let (sha, size) = opened.finish().unwrap();
        assert_eq!(size, content.len() as u64);
        assert_eq!(sha, sha256_bytes(&content));
    }
}
