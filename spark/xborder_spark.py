"""xborder's Spark job: the audit run with Spark doing the scheduling, shuffles and
retries, and the xborder binary doing the reading, de-duplication and fold in each task.

Usage, either way:

    xborder analyze --engine spark --master URL ANALYZE-ARGS...
        (xborder plans, writes JOB.json and this job into an exchange directory, runs
        `spark-submit xborder_spark.py JOB.json EXCHANGE_DIR` and merges what it leaves)

    spark-submit [spark options] xborder_spark.py --xborder PATH ANALYZE-ARGS...
        (this job is the entry point, for platforms that start Python jobs themselves: it
        runs `xborder spark-stage plan`, the job, then `xborder analyze ANALYZE-ARGS
        --engine spark --spark-results EXCHANGE_DIR`, which merges and writes the outputs)

Stages (docs/scale-out.md explains why each boundary is where it is):

1. read: one task per input file runs `xborder spark-stage read`; a file's hash and
   counts stay with one task;
2. the vendor addresses (addresses any vendor name resolved to) are collected and
   broadcast as a file;
3. dedup: rows shuffled by de-duplication key and sorted into reading order; each task
   runs `xborder spark-stage dedup`;
4. fold: accepted DNS records (with copies for the later days their answers reach) and
   flows shuffled by client and day, hostnames joined to the flows of their connection id;
   each task runs `xborder spark-stage fold`;
5. the small results (file reports, counts, partial results; names are counted in Spark
   and only the counts travel) are collected into
   EXCHANGE/results.parquet and the evidence rows, range-partitioned by reading order,
   into EXCHANGE/evidence/part-NNNNN.parquet, one partition at a time.

Every row has the columns kind, file, ord, part, shard and payload; the kinds are those of
src/pipeline/spark/rows.rs, which the tests check against KINDS below.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark import SparkFiles, StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

KINDS = {
    "REPORT": 0,
    "DNS": 1,
    "HOSTNAME": 2,
    "FLOW": 3,
    "VENDOR_ADDRESS": 4,
    "DNS_NAME": 5,
    "HOST_NAME": 6,
    "DEDUP_COUNTS": 7,
    "HOST_VENDOR_NAME": 8,
    "CONFLICT": 9,
    "PARTIAL": 10,
    "EVIDENCE": 11,
    "FOLD_COUNTS": 12,
    "DISTINCT_COUNTS": 13,
    "DNS_COPY": 14,
    "ADDRESS_PAIR": 15,
}

# The row table as Spark holds it (signed types) and as xborder reads and writes it.
SPARK_SCHEMA = "kind int, file int, ord long, part long, shard long, payload binary"
SPARK_ARROW = pa.schema(
    [
        ("kind", pa.int32()),
        ("file", pa.int32()),
        ("ord", pa.int64()),
        ("part", pa.int64()),
        ("shard", pa.int64()),
        ("payload", pa.binary()),
    ]
)
XBORDER_ARROW = pa.schema(
    [
        ("kind", pa.uint32()),
        ("file", pa.uint32()),
        ("ord", pa.uint64()),
        ("part", pa.int64()),
        ("shard", pa.int64()),
        ("payload", pa.binary()),
    ]
)
COLUMNS = ["kind", "file", "ord", "part", "shard", "payload"]
READING_ORDER = ["kind", "file", "ord"]


def kind_in(*names: str):
    return F.col("kind").isin([KINDS[n] for n in names])


def shipped(name: str, fallback: str) -> str:
    """A file shipped with the job (`--files`, or SparkContext.addFile), else `fallback`."""
    try:
        path = SparkFiles.get(name)
    except Exception:
        return fallback
    if os.path.exists(path):
        return path
    return fallback


def xborder_binary(job: dict) -> str:
    """The binary this executor runs: one shipped with `--files xborder`, else the
    driver's own path (a cluster sharing a filesystem, or one machine)."""
    path = shipped("xborder", job["xborder"])
    if not os.access(path, os.X_OK):
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def write_rows(batches: Iterator[pa.RecordBatch], path: str) -> int:
    """Spark's batches as a Parquet file of xborder's row table; the number of rows."""
    writer = None
    rows = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        table = pa.Table.from_batches([batch]).select(COLUMNS).cast(XBORDER_ARROW)
        if writer is None:
            # A task-local file read once: encoding and compression would only cost time.
            writer = pq.ParquetWriter(
                path, XBORDER_ARROW, compression="none", use_dictionary=False
            )
        writer.write_table(table)
        rows += batch.num_rows
    if writer is not None:
        writer.close()
    return rows


def read_rows(path: str) -> Iterator[pa.RecordBatch]:
    table = pq.read_table(path).select(COLUMNS).cast(SPARK_ARROW)
    yield from table.to_batches(max_chunksize=65536)


METRICS = ("tasks", "rows_in", "rows_out", "xborder_seconds", "exchange_seconds")


def stage(job: dict, job_path: str, name: str, args: list, meter: dict, batches=None):
    """Run `xborder spark-stage NAME` on this executor and yield its rows. With
    `batches`, they are its input; a partition with no rows runs nothing. `meter` adds up
    what the stage cost (Spark accumulators): the xborder process's wall time, and the time
    spent handing rows to it and back."""
    with tempfile.TemporaryDirectory(prefix="xborder-stage-") as tmp:
        command = [xborder_binary(job), "spark-stage", name, "--job", job_path]
        started = time.monotonic()
        if batches is not None:
            rows_in = os.path.join(tmp, "in.parquet")
            count = write_rows(batches, rows_in)
            if count == 0:
                return
            meter["rows_in"].add(count)
            command += ["--in", rows_in]
        rows_out = os.path.join(tmp, "out.parquet")
        command += args + ["--out", rows_out]
        cwd = job["cwd"] if os.path.isdir(job["cwd"]) else None
        ran = time.monotonic()
        done = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if done.returncode != 0:
            raise RuntimeError(
                "xborder spark-stage %s failed (exit %d): %s"
                % (name, done.returncode, done.stderr.decode("utf-8", "replace").strip())
            )
        finished = time.monotonic()
        rows = 0
        for batch in read_rows(rows_out):
            rows += batch.num_rows
            yield batch
        meter["tasks"].add(1)
        meter["rows_out"].add(rows)
        meter["xborder_seconds"].add(finished - ran)
        meter["exchange_seconds"].add((ran - started) + (time.monotonic() - finished))


def collect_to(frame: DataFrame, path: str) -> int:
    """Collect a (small) frame on the driver into a Parquet file; the number of rows."""
    table = frame.select(COLUMNS).toArrow()
    table = table.cast(SPARK_ARROW).cast(XBORDER_ARROW)
    pq.write_table(table, path)
    return table.num_rows


def main(argv: list) -> int:
    if len(argv) >= 3 and argv[1] == "--xborder":
        return entry(argv[2], argv[3:])
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    spark = run_job(os.path.abspath(argv[1]), os.path.abspath(argv[2]))
    spark.stop()
    return 0


def entry(xborder: str, analyze: list) -> int:
    """This job as the entry point: plan with xborder, run, merge with xborder."""
    exchange = tempfile.mkdtemp(prefix="xborder-spark-")
    try:
        subprocess.run(
            [xborder, "spark-stage", "plan", "--exchange", exchange, "--", *analyze], check=True
        )
        spark = run_job(os.path.join(exchange, "job.json"), exchange)
        done = subprocess.run(
            [xborder, "analyze", *analyze, "--engine", "spark", "--spark-results", exchange]
        )
        # A platform's own session (Databricks) outlives the job; one started here does not.
        if "DATABRICKS_RUNTIME_VERSION" not in os.environ:
            spark.stop()
        return done.returncode
    finally:
        shutil.rmtree(exchange, ignore_errors=True)


def run_job(job_path: str, exchange: str) -> SparkSession:
    """Run the stages of the job in JOB_PATH and leave the results in EXCHANGE."""
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    spark = SparkSession.builder.appName("xborder analyze").getOrCreate()
    sc = spark.sparkContext
    sc.addFile(job_path)
    inputs = len(job["inputs"])
    dedup_partitions = int(job["dedup_partitions"])
    fold_partitions = int(job["fold_partitions"])

    meters = {
        name: {m: sc.accumulator(0.0 if m.endswith("seconds") else 0) for m in METRICS}
        for name in ("read", "dedup", "fold")
    }

    def on_executor(path: str) -> str:
        return shipped(os.path.basename(path), path)

    # 1. read: one task per input file.
    def read_task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        job_file = on_executor(job_path)
        for batch in batches:
            for value in batch.column("id").to_pylist():
                yield from stage(job, job_file, "read", ["--input", str(value)], meters["read"])

    # A file's rows are one task's output; they are shuffled by key at once and kept on
    # disk in bounded partitions, so no block grows with the largest input.
    read = (
        spark.range(0, inputs, 1, numPartitions=max(inputs, 1))
        .mapInArrow(read_task, SPARK_SCHEMA)
        .repartition(dedup_partitions, "part")
        .persist(StorageLevel.DISK_ONLY)
    )

    # 2. the vendor addresses of the whole run, broadcast as a file.
    vendor_path = os.path.join(exchange, "vendor_addresses.parquet")
    collect_to(read.where(kind_in("VENDOR_ADDRESS")).distinct(), vendor_path)
    sc.addFile(vendor_path)

    def partition_task(name: str):
        """The task of a stage over one shuffled partition (dedup, fold)."""

        def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            yield from stage(
                job,
                on_executor(job_path),
                name,
                ["--vendor-addresses", on_executor(vendor_path)],
                meters[name],
                batches,
            )

        return task

    # 3. de-duplication: by key, in reading order.
    records = read.where(kind_in("DNS", "HOSTNAME", "FLOW"))
    dedup = (
        records.repartition(dedup_partitions, "part")
        .sortWithinPartitions(*READING_ORDER)
        .mapInArrow(partition_task("dedup"), SPARK_SCHEMA)
        .persist(StorageLevel.DISK_ONLY)
    )

    # 4. fold: by client and day; hostnames go to every shard with a flow of their
    # connection id.
    accepted = dedup.where(kind_in("DNS", "DNS_COPY", "FLOW"))
    routes = accepted.where(kind_in("FLOW")).select("part", "shard").distinct()
    hostnames = (
        records.where(kind_in("HOSTNAME"))
        .drop("shard")
        .join(routes, "part")
        .select(*COLUMNS)
    )
    fold = (
        accepted.unionByName(hostnames)
        .repartition(fold_partitions, "shard")
        .sortWithinPartitions(*READING_ORDER)
        .mapInArrow(partition_task("fold"), SPARK_SCHEMA)
        .persist(StorageLevel.DISK_ONLY)
    )

    # 5. results back to the driver. Names are counted here; only the counts travel.
    def distinct_count(frame: DataFrame) -> int:
        return frame.select("payload", "shard").distinct().count()

    dns_names = read.where(kind_in("DNS_NAME"))
    counts = {
        "dns_names": distinct_count(dns_names),
        "dns_vendor_names": distinct_count(dns_names.where(F.col("shard") == 1)),
        "host_names": distinct_count(read.where(kind_in("HOST_NAME"))),
        "host_vendor_names": distinct_count(dedup.where(kind_in("HOST_VENDOR_NAME"))),
        "client_address_pairs": distinct_count(fold.where(kind_in("ADDRESS_PAIR"))),
    }
    counts_row = spark.createDataFrame(
        [(KINDS["DISTINCT_COUNTS"], 0, 0, 0, 0, bytearray(json.dumps(counts).encode()))],
        SPARK_SCHEMA,
    )
    small = (
        read.where(kind_in("REPORT"))
        .unionByName(read.where(kind_in("VENDOR_ADDRESS")).distinct())
        .unionByName(dedup.where(kind_in("DEDUP_COUNTS", "CONFLICT")))
        .unionByName(fold.where(kind_in("PARTIAL", "FOLD_COUNTS")))
        .unionByName(counts_row)
    )
    collect_to(small, os.path.join(exchange, "results.parquet"))

    evidence_dir = os.path.join(exchange, "evidence")
    os.makedirs(evidence_dir, exist_ok=True)
    ranges = max(fold_partitions, 1)
    evidence = (
        fold.where(kind_in("EVIDENCE"))
        .repartitionByRange(ranges, "file", "ord")
        .sortWithinPartitions("file", "ord")
        .persist(StorageLevel.DISK_ONLY)
    )
    # One range at a time, so the driver holds one partition's rows, not all of them.
    for i in range(evidence.rdd.getNumPartitions()):
        collect_to(
            evidence.where(F.spark_partition_id() == i),
            os.path.join(evidence_dir, "part-%05d.parquet" % i),
        )

    # What each stage cost, for sizing (docs/scale-out.md); retried tasks count twice.
    costs = {
        name: {m: meter[m].value for m in METRICS} for name, meter in meters.items()
    }
    with open(os.path.join(exchange, "stages.json"), "w", encoding="utf-8") as f:
        json.dump(costs, f, indent=1)
    for name, c in costs.items():
        print(
            "xborder spark: %-5s %4d tasks, %11d rows in, %11d rows out, xborder %8.1f s, "
            "row exchange %8.1f s" % (name, c["tasks"], c["rows_in"], c["rows_out"],
                                      c["xborder_seconds"], c["exchange_seconds"]),
            file=sys.stderr,
        )
    with open(os.path.join(exchange, "engine.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "spark_version": spark.version,
                "master": sc.master,
                "application_id": sc.applicationId,
            },
            f,
        )
    return spark


if __name__ == "__main__":
    sys.exit(main(sys.argv))
