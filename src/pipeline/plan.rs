//! Plan: find every input, refuse what must not be opened, and detect each format
//! before any is read, so a bad file stops the run at once.

use super::*;

/// Every input of the run, planned: configuration files beside the logs left out,
/// `--exclude` applied, formats detected. No input at all is a usage error; inputs none
/// of which could be read stop the run too, since skipped files alone must not pass for
/// an audited empty period.
pub(super) fn plan_run(opts: &AnalyzeOptions) -> Result<Vec<Planned>> {
    let config_files: Vec<PathBuf> = [
        &opts.sites,
        &opts.geoip,
        &opts.vendors,
        &opts.regimes,
        &opts.countries,
        &opts.policy,
        &opts.assets,
    ]
    .into_iter()
    .flatten()
    .chain(&opts.reviewed_candidates)
    .chain(&opts.snapshots)
    .cloned()
    .collect();
    let planned = plan(
        &opts.inputs,
        &opts.exclude,
        &config_files,
        opts.format.clone(),
        &opts.reader,
        opts.strict,
    )?;
    if planned.is_empty() {
        return Err(Error::Usage("no input files found".into()));
    }
    if !planned
        .iter()
        .any(|p| matches!(p.detection, Detection::Supported(_)))
    {
        let why: Vec<String> = planned
            .iter()
            .filter_map(|p| match &p.detection {
                Detection::Unrecognised(why) => Some(format!("{}: {why}", p.path.display())),
                Detection::NotRegular => Some(format!("{}: not a regular file", p.path.display())),
                _ => None,
            })
            .collect();
        if !why.is_empty() {
            return Err(Error::UnknownFormat {
                path: planned[0].path.clone(),
                detail: format!("no input file could be read ({})", why.join("; ")),
                supported: Format::supported_list(),
            });
        }
    }
    Ok(planned)
}

/// Progress over every read of the run: a file holding flows and DNS or hostnames
/// (Suricata EVE, OCSF, ECS) is read in both passes, and each read counts.
pub(super) fn progress(opts: &AnalyzeOptions, planned: &[Planned]) -> Progress {
    let reads = |p: &Planned| -> u64 {
        match p.detection {
            Detection::Supported(ref f) => {
                u64::from(f.holds(RecordKind::Flow))
                    + u64::from(f.holds(RecordKind::Dns) || f.holds(RecordKind::Hostname))
                    + u64::from(f.holds(RecordKind::Proxy))
            }
            _ => 0,
        }
    };
    let read_order = planned.iter().map(reads).sum::<u64>() as usize;
    let bytes_total = planned
        .iter()
        .map(|p| reads(p) * std::fs::metadata(&p.path).map(|m| m.len()).unwrap_or(0))
        .sum();
    Progress::new(opts.progress, read_order, bytes_total)
}

/// A detected input waiting to be read.
pub(super) struct Planned {
    pub path: PathBuf,
    pub detection: Detection,
}

/// Detect every input's format before reading any, so a bad file stops the run at once.
fn plan(
    inputs: &[PathBuf],
    patterns: &[glob::Pattern],
    exclude: &[PathBuf],
    forced: Option<Format>,
    reader: &ReaderOptions,
    strict: bool,
) -> Result<Vec<Planned>> {
    // Configuration files named on the command line often sit beside the logs (the sample
    // keeps sites.toml in its directory); they are configuration, not input.
    let excluded: Vec<PathBuf> = exclude
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let files: Vec<ingest::input::Discovered> = ingest::discover_inputs(inputs)?
        .into_iter()
        .filter(|f| std::fs::canonicalize(&f.path).map_or(true, |c| !excluded.contains(&c)))
        .filter(|f| !ingest::input::excluded_by(&f.path, patterns))
        .collect();
    let mut planned = Vec::with_capacity(files.len());
    for file in files {
        let path = file.path;
        if file.not_regular {
            planned.push(Planned {
                path,
                detection: Detection::NotRegular,
            });
            continue;
        }
        let detection = match detect(&path, forced.clone(), reader) {
            // A stray file inside a directory (a README, the sites file) is listed as
            // skipped; a file named on the command line, or --strict, stops the run.
            Err(Error::UnknownFormat { detail, .. }) if file.in_directory && !strict => {
                Detection::Unrecognised(detail)
            }
            other => other?,
        };
        planned.push(Planned { path, detection });
    }
    Ok(planned)
}

/// One file's format, detected from its first 64 KiB as planning does.
fn detect(path: &Path, forced: Option<Format>, reader: &ReaderOptions) -> Result<Detection> {
    let head = ingest::input::read_head(path, 65_536)?;
    ingest::detect_with(path, &head, forced, reader)
}

/// The format of one planned input, detected again by a task of a distributed run, which
/// must find what the driver planned.
pub(super) fn detect_one(path: &Path, opts: &AnalyzeOptions) -> Result<Format> {
    match detect(path, opts.format.clone(), &opts.reader)? {
        Detection::Supported(f) => Ok(f),
        _ => Err(Error::Aggregate(format!(
            "{}: the file changed after the run was planned (its format is no longer detected)",
            path.display()
        ))),
    }
}

/// Bytes on disk of the planned inputs holding any of `kinds`, for sizing tables.
pub(super) fn bytes_of(planned: &[Planned], kinds: &[RecordKind]) -> u64 {
    planned
        .iter()
        .filter(|p| match p.detection {
            Detection::Supported(ref f) => kinds.iter().any(|k| f.holds(*k)),
            _ => false,
        })
        .map(|p| std::fs::metadata(&p.path).map_or(0, |m| m.len()))
        .sum()
}
