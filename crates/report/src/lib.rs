//! Report: write the tables (CSV), the run record (run.json), the PDF and the HTML report.
//!
//! Outputs are written in a fixed order and run.json, written last, lists every other
//! output with its row count and SHA-256, so one file vouches for the rest.

pub mod assurance;
pub mod csv_tables;
pub mod diff;
pub mod evidence;
pub mod fonts;
mod hashed_file;
pub mod html;
pub mod i18n;
mod i18n_law_zh;
mod i18n_zh;
pub mod layout;
pub mod model;
pub mod pack;
pub mod pdf;
pub mod pseudonym;
pub mod run_json;
pub mod staging;
pub mod tables;

use std::path::{Path, PathBuf};

use serde::Serialize;
pub use xborder_model::units::group_digits;

use xborder_engine::run::{Analysis, AnalyzeOptions, Catalogs};
use xborder_model::error::{Error, Result};
use xborder_model::hash::sha256_bytes;

/// Facts about the invocation that the outputs record.
#[derive(Debug, Clone, Serialize)]
pub struct RunContext {
    pub tool_version: String,
    pub command_line: Vec<String>,
    /// RFC 3339; from SOURCE_DATE_EPOCH when set, so reruns can be byte-identical.
    pub generated_at: String,
    pub generated_at_epoch: i64,
}

impl RunContext {
    pub fn new(command_line: Vec<String>) -> Self {
        let epoch = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or_else(|| chrono::Utc::now().timestamp());
        RunContext {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            command_line,
            generated_at: xborder_model::period::rfc3339(epoch.saturating_mul(1_000_000)),
            generated_at_epoch: epoch,
        }
    }
}

impl RunContext {
    /// The report date (UTC) the catalog ages are counted to.
    pub fn report_date(&self) -> chrono::NaiveDate {
        chrono::DateTime::from_timestamp(self.generated_at_epoch, 0)
            .unwrap_or_default()
            .date_naive()
    }
}

/// Age of each catalog on the report date, for run.json and the PDF.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogAge {
    pub kind: String,
    pub as_of: String,
    /// Days from `as_of` to the report date; `None` when `as_of` cannot be read.
    pub age_days: Option<i64>,
    /// Past [`xborder_engine::classify::CATALOG_MAX_AGE_DAYS`], or of unknown age.
    pub stale: bool,
}

/// The age of every catalog a run used, and the warnings for stale ones.
pub fn catalog_ages(
    catalogs: &[xborder_engine::classify::CatalogIdentity],
    ctx: &RunContext,
) -> (Vec<CatalogAge>, Vec<String>) {
    let today = ctx.report_date();
    let ages = catalogs
        .iter()
        .map(|c| {
            let age_days = xborder_engine::classify::catalog_age_days(&c.as_of, today);
            CatalogAge {
                kind: c.kind.clone(),
                as_of: c.as_of.clone(),
                age_days,
                stale: age_days.is_none_or(|d| d > xborder_engine::classify::CATALOG_MAX_AGE_DAYS),
            }
        })
        .collect();
    let warnings = catalogs
        .iter()
        .filter_map(|c| xborder_engine::classify::catalog_age_warning(c, today))
        .collect();
    (ages, warnings)
}

/// One written output, as run.json lists it.
#[derive(Debug, Clone, Serialize)]
pub struct OutputFile {
    pub file: String,
    pub rows: Option<u64>,
    pub sha256: String,
    pub bytes: u64,
}

/// Write `bytes` to `dir/name` and describe it.
pub(crate) fn write_output(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    rows: Option<u64>,
) -> Result<OutputFile> {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
    Ok(OutputFile {
        file: name.to_string(),
        rows,
        sha256: sha256_bytes(bytes),
        bytes: bytes.len() as u64,
    })
}

/// How outputs are written beyond the defaults.
#[derive(Default)]
pub struct WriteOptions<'a> {
    /// The spool of evidence rows filled by the pipeline; becomes evidence.csv/.parquet.
    pub evidence: Option<evidence::EvidenceSpool>,
    /// Which of evidence.csv and evidence.parquet to write (`--evidence`).
    pub evidence_formats: evidence::EvidenceFormats,
    /// Replace source addresses with keyed tokens and withhold raw log excerpts.
    pub pseudonymizer: Option<&'a pseudonym::Pseudonymizer>,
    /// Copy the input files into `inputs/` beside the outputs.
    pub include_inputs: bool,
    /// Show asset host names and owners in policy violations.
    pub show_owners: bool,
    /// A previous run to compare with: writes changes.csv and a PDF section.
    pub baseline: Option<&'a Path>,
    /// Report languages: the first is written as report.pdf, others as report.<lang>.pdf.
    pub langs: Vec<i18n::Lang>,
    /// Copy every verdict input given as a file into `config/` (evidence packs).
    pub copy_verdict_inputs: bool,
}

/// What `write_all` wrote, and warnings for the reader (text the PDF fonts cannot show).
pub struct Written {
    pub outputs: Vec<OutputFile>,
    pub warnings: Vec<String>,
}

/// Write every output of a run into `out_dir`: tables, evidence, PDF, input copies, and
/// run.json last, listing the hash of everything else.
pub fn write_all(
    out_dir: &Path,
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    analysis: &Analysis,
    ctx: &RunContext,
    mut w: WriteOptions<'_>,
) -> Result<Written> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    std::thread::scope(|scope| {
        // evidence.csv and evidence.parquet, by far the largest outputs of an AI-heavy
        // run, are written while the tables and the PDF are.
        let pseudonymizer = w.pseudonymizer;
        let formats = w.evidence_formats;
        let evidence = match w.evidence.take() {
            Some(spool) => Some(
                std::thread::Builder::new()
                    .name("xborder-evidence".into())
                    .spawn_scoped(scope, move || {
                        spool.finish(out_dir, &analysis.files, pseudonymizer, formats)
                    })
                    .map_err(|e| Error::io(out_dir, e))?,
            ),
            None => None,
        };
        write_the_rest(out_dir, opts, catalogs, analysis, ctx, &w, evidence)
    })
}

type EvidenceThread<'s> = std::thread::ScopedJoinHandle<'s, Result<evidence::EvidenceWritten>>;

/// Every output but the evidence, which `evidence` is writing meanwhile, in run.json's
/// order.
fn write_the_rest(
    out_dir: &Path,
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    analysis: &Analysis,
    ctx: &RunContext,
    w: &WriteOptions<'_>,
    evidence: Option<EvidenceThread<'_>>,
) -> Result<Written> {
    let mut outputs = csv_tables::write_tables(out_dir, analysis, w.pseudonymizer.is_some())?;
    outputs.extend(csv_tables::write_org_tables(
        out_dir,
        &analysis.org,
        w.pseudonymizer,
        w.show_owners,
    )?);
    outputs.extend(assurance::write_tables(out_dir, analysis)?);
    let evidence_at = outputs.len();
    let changes = match w.baseline {
        Some(old) => {
            let old = crate::diff::RunTables::load(old)?;
            let new = crate::diff::RunTables::load(out_dir)?;
            let changes = crate::diff::compare(&old, &new)?;
            outputs.push(write_output(
                out_dir,
                "changes.csv",
                &csv_tables::changes_csv(&changes)?,
                Some(changes.len() as u64),
            )?);
            Some(changes)
        }
        None => None,
    };
    let langs = if w.langs.is_empty() {
        vec![i18n::Lang::En]
    } else {
        w.langs.clone()
    };
    // Every figure of both reports, and the run id, computed once.
    let model = model::ReportModel::build(opts, catalogs, analysis);
    let mut warnings = Vec::new();
    for (i, lang) in langs.iter().enumerate() {
        let pdf = pdf::render(
            opts,
            catalogs,
            analysis,
            &model,
            ctx,
            changes.as_deref(),
            *lang,
        )?;
        let name = if i == 0 {
            "report.pdf".to_string()
        } else {
            format!("report.{}.pdf", lang.tag())
        };
        warnings.extend(pdf.warnings.into_iter().map(|w| format!("{name}: {w}")));
        outputs.push(write_output(out_dir, &name, &pdf.bytes, None)?);
    }
    let mut evidence_sample = html::EvidenceSample::default();
    if let Some(thread) = evidence {
        let written = thread.join().unwrap_or_else(|_| {
            Err(Error::Report {
                path: out_dir.join("evidence.csv"),
                message: "the evidence writing thread panicked".into(),
            })
        })?;
        outputs.splice(
            evidence_at..evidence_at,
            [written.csv, written.parquet].into_iter().flatten(),
        );
        evidence_sample = written.sample;
    }
    // The interactive report, from the same model as the PDF's figures.
    for (i, lang) in langs.iter().enumerate() {
        let page = html::render(
            opts,
            catalogs,
            analysis,
            ctx,
            &model,
            &evidence_sample,
            *lang,
        );
        let name = if i == 0 {
            "report.html".to_string()
        } else {
            format!("report.{}.html", lang.tag())
        };
        outputs.push(write_output(out_dir, &name, page.as_bytes(), None)?);
    }
    let summary = assurance::summary_json(opts, catalogs, analysis, ctx, &model.run_id)?;
    outputs.push(write_output(
        out_dir,
        "summary.json",
        summary.as_bytes(),
        None,
    )?);
    let mut files = analysis.files.clone();
    if w.include_inputs {
        copy_inputs(out_dir, &mut files)?;
    }
    let mut verdict_inputs = analysis.verdict_inputs.clone();
    if w.copy_verdict_inputs {
        assurance::copy_verdict_inputs(out_dir, &mut verdict_inputs)?;
    }
    let json = run_json::render(
        opts,
        catalogs,
        analysis,
        &files,
        ctx,
        &outputs,
        w.pseudonymizer.is_some(),
        &verdict_inputs,
    )?;
    outputs.push(write_output(out_dir, "run.json", json.as_bytes(), None)?);
    Ok(Written { outputs, warnings })
}

/// Copy every input to `inputs/NNNN.gz|.zst|.log` (names never come from input data) and check
/// that each copy has the hash recorded when the file was analysed.
fn copy_inputs(out_dir: &Path, files: &mut [xborder_model::accounting::FileReport]) -> Result<()> {
    let dir = out_dir.join("inputs");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    for (i, f) in files.iter_mut().enumerate() {
        // Never opened, so never copied: a FIFO or device found inside an input directory.
        if f.format == "skipped:not-a-regular-file" {
            continue;
        }
        let ext = match f.compression.as_str() {
            "gzip" => "gz",
            "zstd" => "zst",
            _ => "log",
        };
        let member = format!("inputs/{:04}.{ext}", i + 1);
        let target = out_dir.join(&member);
        std::fs::copy(&f.path, &target).map_err(|e| Error::io(&f.path, e))?;
        let sha = xborder_model::hash::sha256_file(&target)?;
        if sha != f.sha256 {
            return Err(Error::io(
                &f.path,
                std::io::Error::other("the file changed while the run was in progress (its SHA-256 differs from the one analysed)"),
            ));
        }
        f.pack_member = Some(member);
    }
    Ok(())
}

/// Human-readable byte count with its unit (KB = 1000 B).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500), "1.5 KB");
        assert_eq!(human_bytes(2_000_000_000), "2.0 GB");
        assert_eq!(group_digits(1234567), "1,234,567");
        assert_eq!(group_digits(12), "12");
    }
}
