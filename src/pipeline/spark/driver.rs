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

/// Run the analysis as a Spark job. `exchange` is a directory on the driver for the job
/// description and the results it returns; evidence rows go to `evidence` in reading
/// order.
pub fn analyze(
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    spark: &SparkSettings,
    exchange: &Path,
    evidence: Option<&mut dyn EvidenceSink>,
) -> Result<Analysis> {
    let inputs = job_inputs(opts)?;
    check_supported(opts, &inputs)?;
    let bytes: u64 = inputs
        .iter()
        .filter_map(|i| std::fs::metadata(&i.path).ok())
        .map(|m| m.len())
        .sum();
    let partitions = spark
        .partitions
        .unwrap_or_else(|| (bytes / BYTES_PER_PARTITION).clamp(2, 4096) as u32);
    let here = |e| Error::io(Path::new("."), e);
    let job = Job {
        version: env!("CARGO_PKG_VERSION").to_string(),
        cwd: std::env::current_dir().map_err(here)?,
        argv: spark.argv.clone(),
        xborder: std::env::current_exe().map_err(here)?,
        inputs,
        dedup_partitions: partitions,
        fold_partitions: partitions,
        master: spark.master.clone(),
    };
    let job_path = exchange.join("job.json");
    let text = serde_json::to_string_pretty(&job)
        .map_err(|e| Error::Aggregate(format!("cannot encode the job: {e}")))?;
    std::fs::write(&job_path, text).map_err(|e| Error::io(&job_path, e))?;
    let script = exchange.join("xborder_spark.py");
    std::fs::write(&script, JOB_SCRIPT).map_err(|e| Error::io(&script, e))?;

    let status = Command::new(&spark.spark_submit)
        .arg("--master")
        .arg(&spark.master)
        .arg("--name")
        .arg("xborder analyze")
        .args(&spark.submit_options)
        .arg(&script)
        .arg(&job_path)
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
        command_line: spark.full_argv.clone(),
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
