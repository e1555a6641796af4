//! `xborder spark-stage`: one stage of a Spark run, inside an executor's task.
//!
//! Usage: xborder spark-stage plan --exchange DIR -- ANALYZE-ARGS...
//!        xborder spark-stage read --job JOB.json --input N --out ROWS.parquet
//!        xborder spark-stage dedup --job JOB.json --vendor-addresses FILE --in ROWS --out ROWS
//!        xborder spark-stage fold --job JOB.json --vendor-addresses FILE --in ROWS --out ROWS
//!
//! Run by spark/xborder_spark.py, never by hand: the job file carries the driver's plan
//! and command line, which the stage parses again so that every task runs with the
//! driver's options and catalogs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use xborder::pipeline::spark::{self, Job};
use xborder::pipeline::{AnalyzeOptions, Catalogs};

#[derive(Debug, Args)]
pub struct SparkStageArgs {
    #[command(subcommand)]
    stage: Stage,
}

#[derive(Debug, Subcommand)]
enum Stage {
    /// Plan a run for a job started by spark-submit: write DIR/job.json from the `analyze`
    /// arguments.
    Plan {
        #[arg(long)]
        exchange: PathBuf,
        /// The arguments of `xborder analyze`.
        #[arg(last = true, required = true)]
        analyze: Vec<std::ffi::OsString>,
    },
    /// Read one input file into rows, with its report.
    Read {
        #[arg(long)]
        job: PathBuf,
        /// The input's position in the job (0-based).
        #[arg(long)]
        input: u32,
        #[arg(long)]
        out: PathBuf,
    },
    /// De-duplicate one partition of rows sorted into reading order.
    Dedup(Partition),
    /// Fold one partition of clients' DNS records, hostnames and flows.
    Fold(Partition),
}

/// The files of a stage over one shuffled partition.
#[derive(Debug, Args)]
struct Partition {
    #[arg(long)]
    job: PathBuf,
    /// The run's vendor addresses, as the job collected them.
    #[arg(long)]
    vendor_addresses: PathBuf,
    #[arg(long = "in")]
    input: PathBuf,
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: SparkStageArgs) -> anyhow::Result<ExitCode> {
    match args.stage {
        Stage::Plan { exchange, analyze } => plan(&exchange, analyze)?,
        Stage::Read { job, input, out } => {
            let (job, opts, catalogs, [out]) = setup(&job, [out])?;
            spark::read(&job, &opts, &catalogs, input, &out)?;
        }
        Stage::Dedup(p) => {
            let (_, opts, catalogs, [vendor, input, out]) =
                setup(&p.job, [p.vendor_addresses, p.input, p.out])?;
            spark::dedup(&opts, &catalogs, &vendor, &input, &out)?;
        }
        Stage::Fold(p) => {
            let (job, opts, catalogs, [vendor, input, out]) =
                setup(&p.job, [p.vendor_addresses, p.input, p.out])?;
            spark::fold(&job, &opts, &catalogs, &vendor, &input, &out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Plan from `analyze` arguments, as `analyze --engine spark` does before it submits.
fn plan(exchange: &Path, analyze: Vec<std::ffi::OsString>) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding this binary")?;
    let mut argv = vec![exe.into_os_string(), "analyze".into()];
    argv.extend(analyze);
    let argv = super::analyze::expanded_argv(argv)?;
    let cli = super::Cli::try_parse_from(&argv)?;
    let super::Command::Analyze(args) = cli.command else {
        anyhow::bail!("not an `analyze` command line");
    };
    let opts = super::analyze::options(&args)?;
    std::fs::create_dir_all(exchange)
        .with_context(|| format!("creating {}", exchange.display()))?;
    spark::driver::plan(&opts, &argv, args.spark_partitions, exchange)?;
    Ok(())
}

/// Load the job, move to the driver's working directory (relative inputs and catalogs
/// name files from there) and rebuild the driver's options and catalogs. `paths` are
/// made absolute first.
fn setup<const N: usize>(
    job_path: &Path,
    paths: [PathBuf; N],
) -> anyhow::Result<(Job, AnalyzeOptions, Catalogs, [PathBuf; N])> {
    let here = std::env::current_dir().context("reading the working directory")?;
    let paths = paths.map(|p| here.join(p));
    let job = Job::load(&here.join(job_path))?;
    if job.cwd.is_dir() {
        std::env::set_current_dir(&job.cwd)
            .with_context(|| format!("moving to {}", job.cwd.display()))?;
    }
    let cli = super::Cli::try_parse_from(&job.argv)
        .map_err(|e| anyhow::anyhow!("the job's command line does not parse: {e}"))?;
    let super::Command::Analyze(args) = cli.command else {
        anyhow::bail!("the job's command line is not an `xborder analyze` command");
    };
    let mut opts = super::analyze::options(&args)?;
    opts.progress = false;
    // Spark gives a task one core (`spark.task.cpus`) and runs as many tasks as the
    // executor has cores: a task parses its file on one parser thread.
    opts.threads = Some(1);
    // `--spill-dir` names a directory on the driver: tasks use it where it exists too,
    // else their executor's temporary directory.
    opts.spill_dir = args.spill_dir.clone().filter(|d| d.is_dir());
    let catalogs = Catalogs::load(&opts).context("loading catalogs")?;
    Ok((job, opts, catalogs, paths))
}
