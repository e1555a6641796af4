//! Reading configuration, keys and catalogs safely: regular files only.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// Open `path` for reading only if it is a regular file. Opening a FIFO blocks until a
/// writer appears and reading a device may never end, so anything else is refused before
/// it is opened (and checked again on the open handle).
pub fn open_regular(path: &Path) -> Result<File> {
    let not_regular = || {
        Error::io(
            path,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file (a FIFO, socket or device); xborder reads regular files only",
            ),
        )
    };
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    match file.metadata() {
        Ok(m) if m.is_file() => Ok(file),
        Ok(_) => Err(not_regular()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// The whole of a regular file (configuration, keys, catalogs); see [`open_regular`].
pub fn read_regular(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_regular(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_regular_text(path: &Path) -> Result<String> {
    String::from_utf8(read_regular(path)?).map_err(|_| {
        Error::io(
            path,
            io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"),
        )
    })
}
