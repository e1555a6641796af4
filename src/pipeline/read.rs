//! Read per file: one input through its reader on helper threads, counting every record
//! (accepted, rejected with a reason, filtered) and hashing the bytes as they pass.

use super::*;

fn skipped_report(path: &Path, format: &str) -> Result<FileReport> {
    let sha256 = ingest::input::sha256_file(path)?;
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    Ok(FileReport {
        sha256,
        size_bytes: size,
        ..FileReport::skipped(path, format)
    })
}

/// The report of an input listed but not read (other Zeek logs, empty, unrecognised or
/// not regular files), saying why; `None` for an input that is read.
pub(super) fn unread_report(path: &Path, detection: &Detection) -> Result<Option<FileReport>> {
    Ok(Some(match detection {
        Detection::Supported(_) => return Ok(None),
        Detection::ZeekOtherLog(name) => skipped_report(path, &format!("skipped:zeek-{name}"))?,
        Detection::Empty => skipped_report(path, "empty")?,
        Detection::Unrecognised(why) => {
            let mut report = skipped_report(path, "skipped:unrecognised")?;
            report
                .notes
                .push(crate::text::escape_control(why).into_owned());
            report
        }
        Detection::NotRegular => FileReport {
            notes: vec!["not a regular file (a FIFO, socket or device): not opened".into()],
            ..FileReport::skipped(path, "skipped:not-a-regular-file")
        },
    }))
}

/// Work for the parser threads: a function of each batch's items, whose result the pass
/// takes back with [`work_or`].
pub(super) struct BatchFn<T>(pub fn(&[Item]) -> T);

impl<T: Send + 'static> ingest::parallel::BatchWork for BatchFn<T> {
    fn run(&self, items: &[Item]) -> ingest::parallel::WorkDone {
        Box::new((self.0)(items))
    }
}

impl<T: Send + 'static> BatchFn<T> {
    /// This function as the parser threads' work.
    pub fn work(self) -> Arc<dyn ingest::parallel::BatchWork> {
        Arc::new(self)
    }
}

/// What the parser threads' [`BatchFn`] `compute` made of `batch`, or, for a batch that
/// came without it, the same made here.
pub(super) fn work_or<T: 'static>(
    batch: &mut ingest::parallel::Batch,
    compute: fn(&[Item]) -> T,
) -> T {
    match batch.take_work().and_then(|done| done.downcast::<T>().ok()) {
        Some(done) => *done,
        None => compute(batch),
    }
}

/// Read one file, counting rejects and filtered records here and handing records to
/// `on_record` with their place in their batch, each batch first to `on_batch` with what
/// the parser threads' `work` made of it, and then, its records handled, to
/// `on_batch_end` if given (which may keep it; otherwise it is dropped, and goes back to
/// its parser thread). A file read a second time (a mixed file in the flow pass)
/// continues its `prior` report: its rejects, filtered records and notes were counted on
/// the first read.
#[allow(clippy::too_many_arguments)]
pub(super) fn read_file(
    planned: &Planned,
    file_index: u32,
    format: Format,
    opts: &AnalyzeOptions,
    prior: Option<FileReport>,
    rejects: &mut Vec<RejectRow>,
    progress: &mut Progress,
    work: Option<Arc<dyn ingest::parallel::BatchWork>>,
    on_batch: &mut dyn FnMut(&mut ingest::parallel::Batch),
    on_record: &mut dyn FnMut(&mut Record, usize, &mut RecordCounts) -> Result<()>,
    mut on_batch_end: Option<&mut dyn FnMut(ingest::parallel::Batch) -> Result<()>>,
) -> Result<FileReport> {
    let path = &planned.path;
    let display = path.display().to_string();
    // Read, hash and decompress on one helper thread, parse on others; fold here.
    let threaded = ingest::parallel::spawn(
        path,
        format.clone(),
        file_index,
        &opts.reader,
        threads_wanted(opts),
        work,
    )?;
    progress.start_file(
        &display,
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
    );
    let compression = threaded.compression.as_str().to_string();
    let first_read = prior.is_none();
    let (mut counts, mut notes, mut listed) = match prior {
        Some(p) => (p.counts, p.notes, p.rejects_listed),
        None => (RecordCounts::default(), Vec::new(), 0u64),
    };
    let mut handle = |item: &mut Item, at: usize, counts: &mut RecordCounts| -> Result<()> {
        progress.tick(&|| threaded.raw.get());
        match item {
            Item::Record(rec) => on_record(rec, at, counts)?,
            Item::Reject(_) | Item::Filtered { .. } | Item::Note(_) if !first_read => {}
            Item::Reject(r) => {
                if opts.strict {
                    return Err(Error::StrictReject {
                        path: path.clone(),
                        line: r.line,
                        field: r.field.clone(),
                        reason: format!("{}: {}", r.reason.as_str(), r.detail),
                    });
                }
                counts.reject(r.reason);
                if (listed as usize) < REJECTS_LISTED_PER_FILE {
                    listed += 1;
                    rejects.push(RejectRow {
                        file: display.clone(),
                        reject: r.clone(),
                    });
                }
            }
            Item::Filtered { reason, .. } => counts.filter(reason),
            Item::Note(note) => {
                if !notes.contains(note) {
                    notes.push(std::mem::take(note));
                }
            }
        }
        Ok(())
    };
    let mut finished = None;
    let mut failure = None;
    for message in threaded.messages.iter() {
        match message {
            // The batch goes back to its parser thread when dropped, to be freed there.
            ingest::parallel::Message::Items(mut items) => {
                on_batch(&mut items);
                for (at, item) in items.iter_mut().enumerate() {
                    if let Err(e) = handle(item, at, &mut counts) {
                        failure = Some(e);
                        break;
                    }
                }
                if failure.is_some() {
                    break;
                }
                if let Some(end) = on_batch_end.as_mut() {
                    if let Err(e) = end(items) {
                        failure = Some(e);
                        break;
                    }
                }
            }
            ingest::parallel::Message::Done { sha256, size } => finished = Some((sha256, size)),
            // Decompression and read errors name the file.
            ingest::parallel::Message::Failed(e) => {
                failure = Some(match e {
                    Error::Io { cause, .. } => Error::io(path, cause),
                    other => other,
                });
                break;
            }
        }
    }
    threaded.join();
    if let Some(e) = failure {
        return Err(e);
    }
    let Some((sha256, size)) = finished else {
        return Err(Error::io(
            path,
            std::io::Error::other("reading stopped before the end of the file"),
        ));
    };
    Ok(FileReport {
        path: display,
        sha256,
        size_bytes: size,
        compression,
        format: format.id().to_string(),
        kind: Some(format.kinds_label()),
        counts,
        notes,
        flows: None,
        rejects_listed: listed,
        pack_member: None,
    })
}
