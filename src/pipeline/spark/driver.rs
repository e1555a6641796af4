//! `xborder analyze --engine spark`: plan on the driver, run the job with `spark-submit`,
//! merge what it returns. The Python job is embedded in the binary and written next to
//! the job description, so the driver, the job and the executors' stages are always the
//! same version.

use std::process::Command;

use super::*;
use xborder_engine::run::EngineReport;

/// The PySpark job (spark/xborder_spark.py).
pub const JOB_SCRIPT: &str = include_str!("../../../spark/xborder_spark.py");

/// How to reach Spark.
#[derive(Debug, Clone)]
pub struct SparkSettings {
    /// The master URL (`local[2]`, `spark://host:7077`, `yarn`, `k8s://…`).
    pub master: String,
    /// The `spark-submit` to run.
    pub spark_submit: PathBuf,
    /// Partitions of the de-duplication and fold shuffles (default: from the input size).
    pub partitions: Option<u32>,
    /// Further `spark-submit` options, passed before the job (`--conf k=v`, `--deploy-mode`…).
    pub submit_options: Vec<String>,
    /// The `analyze` command line, which every stage parses again.
    pub argv: Vec<String>,
    /// The command line as run.json records it (without the engine options).
    pub full_argv: Vec<String>,
}

/// Input bytes per shuffle partition when `--spark-partitions` is not given.
const BYTES_PER_PARTITION: u64 = 256 << 20;

/// Plan a Spark run: write the job description (`job.json`) and the job itself
/// (`xborder_spark.py`) into `exchange`. `argv` is the `analyze` command line every stage
/// parses again.
pub fn plan(
    opts: &AnalyzeOptions,
    argv: &[String],
    partitions: Option<u32>,
    exchange: &Path,
) -> Result<Job> {
    let inputs = job_inputs(opts)?;
    let bytes: u64 = inputs
        .iter()
        .filter_map(|i| std::fs::metadata(&i.path).ok())
        .map(|m| m.len())
        .sum();
    let partitions =
        partitions.unwrap_or_else(|| (bytes / BYTES_PER_PARTITION).clamp(2, 4096) as u32);
    let here = |e| Error::io(Path::new("."), e);
    let job = Job {
        version: env!("CARGO_PKG_VERSION").to_string(),
        cwd: std::env::current_dir().map_err(here)?,
        argv: argv.to_vec(),
        xborder: std::env::current_exe().map_err(here)?,
        inputs,
        dedup_partitions: partitions,
        fold_partitions: partitions,
    };
    let job_path = exchange.join(JOB_FILE);
    let text = serde_json::to_string_pretty(&job)
        .map_err(|e| Error::Aggregate(format!("cannot encode the job: {e}")))?;
    std::fs::write(&job_path, text).map_err(|e| Error::io(&job_path, e))?;
    let script = exchange.join(SCRIPT_FILE);
    std::fs::write(&script, JOB_SCRIPT).map_err(|e| Error::io(&script, e))?;
    Ok(job)
}

/// The job description in an exchange directory.
pub const JOB_FILE: &str = "job.json";
/// The job, as written next to it.
pub const SCRIPT_FILE: &str = "xborder_spark.py";

/// Run the analysis as a Spark job started here with `spark-submit`. `exchange` is a
/// directory on the driver for the job description and the results it returns; evidence
/// rows go to `evidence` in reading order.
pub fn analyze(
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    spark: &SparkSettings,
    exchange: &Path,
    evidence: Option<&mut dyn EvidenceSink>,
) -> Result<Analysis> {
    plan(opts, &spark.argv, spark.partitions, exchange)?;
    let mut submit = Command::new(&spark.spark_submit);
    submit
        .arg("--master")
        .arg(&spark.master)
        .arg("--name")
        .arg("xborder analyze");
    // Spark's INFO log is thousands of lines; warnings and errors are what a run needs,
    // unless the caller asked for another level.
    if !spark
        .submit_options
        .iter()
        .any(|o| o.starts_with("spark.log.level="))
    {
        submit.arg("--conf").arg("spark.log.level=WARN");
    }
    // spark-submit passes the job's own output to its standard output; the run's summary
    // owns ours, so Spark's goes to standard error with its log.
    let status = submit
        .stdout(std::io::stderr())
        .args(&spark.submit_options)
        .arg(exchange.join(SCRIPT_FILE))
        .arg(exchange.join(JOB_FILE))
        .arg(exchange)
        .status()
        .map_err(|e| {
            Error::Usage(format!(
                "cannot run {} ({e}): install Spark (pip install pyspark) or give --spark-submit PATH",
                spark.spark_submit.display()
            ))
        })?;
    if !status.success() {
        return Err(Error::Aggregate(format!(
            "the Spark job failed ({status}); spark-submit's log above says why"
        )));
    }
    results(opts, catalogs, exchange, &spark.full_argv, evidence)
}

/// The analysis from a finished job's results in `exchange` (the job's own `job.json`
/// names the inputs): the merge stage, and run.json's `engine` section.
pub fn results(
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    exchange: &Path,
    full_argv: &[String],
    evidence: Option<&mut dyn EvidenceSink>,
) -> Result<Analysis> {
    let job = Job::load(&exchange.join(JOB_FILE))?;
    let mut analysis = merge::analysis(&job, opts, catalogs, exchange, evidence)?;
    let engine_path = exchange.join("engine.json");
    let text = std::fs::read_to_string(&engine_path).map_err(|e| Error::io(&engine_path, e))?;
    let reported: SparkReported = serde_json::from_str(&text).map_err(|e| Error::Report {
        path: engine_path.clone(),
        message: e.to_string(),
    })?;
    analysis.engine = Some(EngineReport {
        name: "spark".into(),
        spark_version: reported.spark_version,
        master: reported.master,
        application_id: reported.application_id,
        dedup_partitions: job.dedup_partitions,
        fold_partitions: job.fold_partitions,
        command_line: full_argv.to_vec(),
    });
    Ok(analysis)
}

/// What the Python job reports of the Spark application (engine.json).
#[derive(Debug, Deserialize)]
struct SparkReported {
    spark_version: String,
    master: String,
    application_id: String,
}
