//! Outputs are written into a hidden sibling of the destination and renamed into place only
//! once every file, run.json last, is complete: a run that fails, is killed or runs out of
//! disk never leaves a folder whose files come from two runs.
//!
//! A lock file beside the destination (`.NAME.xborder-lock`, an advisory `flock` that the
//! operating system releases however the process ends) keeps two runs from writing the same
//! destination at once; the second is refused at once instead of racing the first.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use xborder_model::error::{Error, Result};

/// What an existing destination may hold for a run to replace it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// `--out`: a missing or empty directory, or a previous run's outputs (it holds
    /// run.json), which is replaced whole; anything else is refused.
    PreviousRun,
    /// `--pack`: only a missing or empty directory (a pack is never overwritten).
    EmptyOnly,
}

/// A destination being written: files go to [`StagedOutput::path`] until
/// [`StagedOutput::commit`] renames it into place. Dropped uncommitted, it removes what it
/// wrote.
#[derive(Debug)]
pub struct StagedOutput {
    dest: PathBuf,
    staging: PathBuf,
    replace: Replace,
    committed: bool,
    /// Held until the process ends: the advisory lock on the destination.
    _lock: File,
}

impl StagedOutput {
    /// Lock `dest`, check that it may be replaced, and create the hidden staging directory
    /// beside it. Staging directories left by a killed run for the same destination are
    /// removed (the lock proves no run owns them).
    pub fn begin(dest: &Path, replace: Replace) -> Result<Self> {
        let name = dest
            .file_name()
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{} is not a directory name to write into",
                    dest.display()
                ))
            })?
            .to_string_lossy()
            .into_owned();
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let lock_path = parent.join(format!(".{name}.xborder-lock"));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Usage(format!(
                    "another xborder run is writing {}; wait for it to finish or choose another directory",
                    dest.display()
                )))
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
        }
        check_replaceable(dest, replace)?;
        let prefix = format!(".{name}.xborder-tmp-");
        if let Ok(entries) = std::fs::read_dir(&parent) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let staging = parent.join(format!("{prefix}{}", std::process::id()));
        std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
        Ok(StagedOutput {
            dest: dest.to_path_buf(),
            staging,
            replace,
            committed: false,
            _lock: lock,
        })
    }

    /// Where the run writes its files until it commits.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The final destination.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Move the finished outputs into place: a previous run's directory is moved aside,
    /// the staging directory renamed to the destination, then the old one removed.
    pub fn commit(mut self) -> Result<()> {
        check_replaceable(&self.dest, self.replace)?;
        let mut old = None;
        if self.dest.exists() {
            if is_empty_dir(&self.dest)? {
                std::fs::remove_dir(&self.dest).map_err(|e| Error::io(&self.dest, e))?;
            } else {
                let aside = self.staging.with_extension("old");
                std::fs::rename(&self.dest, &aside).map_err(|e| Error::io(&self.dest, e))?;
                old = Some(aside);
            }
        }
        if let Err(e) = std::fs::rename(&self.staging, &self.dest) {
            if let Some(aside) = &old {
                let _ = std::fs::rename(aside, &self.dest);
            }
            return Err(Error::io(&self.dest, e));
        }
        self.committed = true;
        if let Some(aside) = old {
            std::fs::remove_dir_all(&aside).map_err(|e| Error::io(&aside, e))?;
        }
        if let Some(parent) = self.dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Make the rename durable; not every platform can open a directory to sync it.
            if let Ok(dir) = File::open(parent) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for StagedOutput {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

fn is_empty_dir(dir: &Path) -> Result<bool> {
    Ok(std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .next()
        .is_none())
}

/// Refuse a destination the run must not replace.
fn check_replaceable(dest: &Path, replace: Replace) -> Result<()> {
    let meta = match std::fs::symlink_metadata(dest) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dest, e)),
    };
    if !meta.is_dir() {
        return Err(Error::Usage(format!(
            "{} exists and is not a directory",
            dest.display()
        )));
    }
    if is_empty_dir(dest)? {
        return Ok(());
    }
    match replace {
        Replace::PreviousRun if dest.join("run.json").is_file() => Ok(()),
        Replace::PreviousRun => Err(Error::Usage(format!(
            "{} holds files that are not an xborder run's outputs (no run.json); refusing to replace it: give a new or empty directory",
            dest.display()
        ))),
        Replace::EmptyOnly => Err(Error::Usage(format!(
            "pack directory {} is not empty; give a new directory",
            dest.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_appear_only_on_commit_and_replace_a_previous_run_whole() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("out");
        let staged = StagedOutput::begin(&dest, Replace::PreviousRun).unwrap();
        std::fs::write(staged.path().join("run.json"), "{}").unwrap();
        std::fs::write(staged.path().join("a.csv"), "first").unwrap();
        assert!(!dest.exists(), "nothing at the destination before commit");
        staged.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.join("a.csv")).unwrap(),
            "first"
        );

        let staged = StagedOutput::begin(&dest, Replace::PreviousRun).unwrap();
        std::fs::write(staged.path().join("run.json"), "{}").unwrap();
        std::fs::write(staged.path().join("b.csv"), "second").unwrap();
        staged.commit().unwrap();
        assert!(
            !dest.join("a.csv").exists(),
            "no file of the first run is left"
        );
        assert!(dest.join("b.csv").exists());
        let names: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with("xborder-lock"))
            .collect();
        assert_eq!(names, ["out"], "no staging directory is left");
    }

    #[test]
    fn a_failed_run_leaves_the_destination_untouched() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("run.json"), "old").unwrap();
        {
            let staged = StagedOutput::begin(&dest, Replace::PreviousRun).unwrap();
            std::fs::write(staged.path().join("run.json"), "new").unwrap();
            // Dropped without commit: the run failed.
        }
        assert_eq!(
            std::fs::read_to_string(dest.join("run.json")).unwrap(),
            "old"
        );
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_second_writer_is_refused_and_foreign_folders_are_kept() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("out");
        let first = StagedOutput::begin(&dest, Replace::PreviousRun).unwrap();
        let e = StagedOutput::begin(&dest, Replace::PreviousRun).unwrap_err();
        assert!(e.to_string().contains("another xborder run"), "{e}");
        drop(first);

        let logs = root.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        std::fs::write(logs.join("conn.log"), "x").unwrap();
        let e = StagedOutput::begin(&logs, Replace::PreviousRun).unwrap_err();
        assert!(e.to_string().contains("not an xborder run"), "{e}");
        assert!(logs.join("conn.log").exists());

        let pack = root.path().join("pack");
        std::fs::create_dir(&pack).unwrap();
        std::fs::write(pack.join("run.json"), "x").unwrap();
        assert!(StagedOutput::begin(&pack, Replace::EmptyOnly).is_err());
    }

    #[test]
    fn leftovers_of_a_killed_run_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("out");
        let stale = root.path().join(".out.xborder-tmp-999999");
        std::fs::create_dir(&stale).unwrap();
        std::fs::write(stale.join("run.json"), "half").unwrap();
        let staged = StagedOutput::begin(&dest, Replace::PreviousRun).unwrap();
        assert!(!stale.exists());
        staged.commit().unwrap();
    }
}
