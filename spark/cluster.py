#!/usr/bin/env python3
"""Start and stop a Spark standalone cluster on 127.0.0.1 for tests.

The cluster is one master and N workers, each a JVM launched from the Spark
distribution that the pyspark wheel ships (``pyspark/jars`` and
``pyspark/bin/spark-class``). pyspark does not ship ``sbin/start-master.sh`` or
``sbin/start-worker.sh``, so this tool runs ``spark-class`` itself with
``SPARK_HOME`` pointing at the pyspark package.

Everything lives under the directory given with ``--dir``:

    DIR/cluster.json         what ``start`` printed (read by ``stop`` and ``kill-worker``)
    DIR/master.pid           pid of the master JVM
    DIR/worker-N.pid         pid of worker N's JVM (N counts from 0)
    DIR/logs/*.log           stdout and stderr of each daemon
    DIR/run/                 the master's working directory
    DIR/work/worker-N/       the worker's work dir (one folder per application and
                             executor, with the executors' stdout and stderr)
    DIR/local/worker-N/      the executors' scratch space (shuffle files, blocks)
    DIR/local/worker-N/tmp/  TMPDIR of the worker, its executors and their Python workers

Commands (run with the Python that has pyspark installed):

    python spark/cluster.py start --dir DIR [--workers 2] [--cores 1] [--memory 1g]
    python spark/cluster.py stop --dir DIR
    python spark/cluster.py kill-worker N --dir DIR [--jvm-only]
    python spark/cluster.py status --dir DIR

``start`` returns once the master is ALIVE and every worker has registered with
it (it polls the master's ``/json/`` endpoint), and prints one JSON object:

    {"master": "spark://127.0.0.1:PORT", "master_webui": "http://127.0.0.1:PORT",
     "master_pid": ..., "master_log": ..., "workers": [{"index": 0, "pid": ...,
     "log": ..., "webui": ..., "work_dir": ..., "local_dir": ...}, ...],
     "dir": ..., "spark_home": ..., "python": ..., "startup_seconds": ...}

On any failure (a daemon exits, a port is taken, the timeout passes) it stops
every process it started, prints the tail of the daemons' logs to stderr and
exits with status 1. Ports are picked free by the tool; Spark's own port
retries are turned off (``spark.port.maxRetries=0``) so a daemon never moves to
a port other than the one the tool chose: on a clash it exits and the tool
retries with fresh ports.

The cluster's processes are found by their working directory, not by pid
alone (pids get reused, and the Python workers are not in their worker's
process group): the master runs in DIR/run, worker N in DIR/work/worker-N, a
worker starts each executor in DIR/work/worker-N/<app>/<executor>, and the
executor's Python workers inherit that directory. ``kill-worker N`` sends
SIGKILL to everything under DIR/work/worker-N, so the whole machine is lost at
once: worker JVM, executor JVMs and Python workers. ``--jvm-only`` kills only
the worker JVM; its executors then notice the lost worker and exit on their
own. ``stop`` sends SIGTERM to everything under DIR/run and DIR/work, waits up
to 15 s, then sends SIGKILL to what is left.

Pitfalls this tool handles, and the ones a caller must handle:

* ``SPARK_LOCAL_IP=127.0.0.1`` is set for the daemons; the driver (spark-submit)
  needs it too, otherwise Spark binds the host's external address.
* The executors run the Python that the *driver* names (``PYSPARK_PYTHON`` or
  ``spark.pyspark.python`` at spark-submit); without it they run ``python3`` from
  PATH, which usually lacks pyarrow. The daemons get ``PYSPARK_PYTHON`` set to
  this tool's interpreter as a fallback.
* An executor asks for ``spark.executor.memory`` (default 1g); a worker offering
  less than that never gets an executor and the job waits forever.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
LOOPBACK = "127.0.0.1"
# Fresh-port attempts when a daemon loses a race for the port the tool picked.
PORT_ATTEMPTS = 3


class ClusterError(Exception):
    """A cluster could not be started, found or stopped; the message says why."""


def spark_home() -> Path:
    """The Spark distribution to run: $SPARK_HOME, else the installed pyspark package."""
    env = os.environ.get("SPARK_HOME")
    if env:
        home = Path(env)
    else:
        try:
            import pyspark
        except ImportError as err:
            raise ClusterError(
                f"pyspark is not importable by {sys.executable} and SPARK_HOME is not set"
            ) from err
        home = Path(pyspark.__file__).resolve().parent
    if not (home / "bin" / "spark-class").is_file() or not (home / "jars").is_dir():
        raise ClusterError(f"{home} is not a Spark distribution (no bin/spark-class or jars/)")
    return home


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def daemon_env(home: Path, local_dir: Path | None, daemon_memory: str) -> dict:
    """The environment of one daemon: this process's, bound to loopback, with a small heap."""
    env = dict(os.environ)
    env["SPARK_HOME"] = str(home)
    env["SPARK_LOCAL_IP"] = LOOPBACK
    env["SPARK_DAEMON_MEMORY"] = daemon_memory
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    # A worker hands SPARK_LOCAL_DIRS to its executors as their scratch space (shuffle files,
    # blocks); its environment, TMPDIR included, is inherited by the executors, their Python
    # workers and anything those run, so task temp files land under DIR too, not in /tmp.
    if local_dir is not None:
        env["SPARK_LOCAL_DIRS"] = str(local_dir)
        env["TMPDIR"] = str(local_dir / "tmp")
    # Keep a user's spark-defaults.conf or spark-env.sh out of the test cluster.
    env.pop("SPARK_CONF_DIR", None)
    return env


def launch(cmd: list[str], env: dict, cwd: Path, log: Path, pid_file: Path) -> subprocess.Popen:
    """Start one daemon in its own session, inside cwd; stdout and stderr go to log."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    # spark-class execs java, so this pid is the JVM's once the launcher is done.
    pid_file.write_text(f"{proc.pid}\n")
    return proc


def fetch_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return json.load(resp)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def log_tail(log: Path, lines: int = 25) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def wait_until(what: str, check, procs: list[tuple[str, subprocess.Popen]], deadline: float):
    """Poll check() until it returns a true value; fail if a daemon exits or time runs out."""
    while True:
        result = check()
        if result:
            return result
        for name, proc in procs:
            code = proc.poll()
            if code is not None:
                raise ClusterError(f"{name} exited with status {code} while waiting for {what}")
        if time.monotonic() > deadline:
            raise ClusterError(f"timed out waiting for {what}")
        time.sleep(0.25)


def start(
    cluster_dir: Path,
    workers: int = 2,
    cores: int = 1,
    memory: str = "1g",
    daemon_memory: str = "256m",
    timeout: float = 120.0,
) -> dict:
    """Start a master and `workers` workers on loopback; return what `start` prints."""
    if workers < 1 or cores < 1:
        raise ClusterError("--workers and --cores must be at least 1")
    cluster_dir = cluster_dir.resolve()
    if (cluster_dir / "cluster.json").exists():
        raise ClusterError(
            f"{cluster_dir}/cluster.json exists: a cluster may be running there; "
            "run `stop` first or use another directory"
        )
    home = spark_home()
    for sub in ("logs", "run", "work", "local"):
        (cluster_dir / sub).mkdir(parents=True, exist_ok=True)
    # Spark would otherwise move a daemon to the next port on a clash. The master's REST
    # submission server listens on the fixed port 6066: off, so clusters can run side by side.
    props = cluster_dir / "spark-daemon.conf"
    props.write_text("spark.port.maxRetries 0\nspark.master.rest.enabled false\n")
    spark_class = str(home / "bin" / "spark-class")
    began = time.monotonic()
    deadline = began + timeout

    last_error: ClusterError | None = None
    for _attempt in range(PORT_ATTEMPTS):
        started: list[tuple[str, subprocess.Popen]] = []
        try:
            info = _start_once(
                cluster_dir, home, spark_class, props, workers, cores, memory,
                daemon_memory, deadline, started,
            )
            info["startup_seconds"] = round(time.monotonic() - began, 1)
            (cluster_dir / "cluster.json").write_text(json.dumps(info, indent=2) + "\n")
            return info
        except ClusterError as err:
            _stop_processes(cluster_dir)
            last_error = err
            logs = sorted((cluster_dir / "logs").glob("*.log"))
            clash = any("Address already in use" in log_tail(log, 200) for log in logs)
            if not clash or time.monotonic() > deadline:
                break
        except BaseException:
            _stop_processes(cluster_dir)
            raise
    tails = "\n".join(
        f"--- {log}\n{log_tail(log)}" for log in sorted((cluster_dir / "logs").glob("*.log"))
    )
    raise ClusterError(f"{last_error}\n{tails}")


def _start_once(cluster_dir, home, spark_class, props, workers, cores, memory,
                daemon_memory, deadline, started) -> dict:
    master_port, master_ui = free_port(), free_port()
    master_url = f"spark://{LOOPBACK}:{master_port}"
    master_webui = f"http://{LOOPBACK}:{master_ui}"
    master_log = cluster_dir / "logs" / "master.log"
    master = launch(
        [spark_class, MASTER_CLASS, "--host", LOOPBACK, "--port", str(master_port),
         "--webui-port", str(master_ui), "--properties-file", str(props)],
        daemon_env(home, None, daemon_memory),
        cluster_dir / "run",
        master_log,
        cluster_dir / "master.pid",
    )
    started.append(("master", master))

    def master_alive():
        state = fetch_json(f"{master_webui}/json/")
        if state and state.get("status") == "ALIVE" and state.get("url") == master_url:
            return state
        return None

    wait_until("the master", master_alive, started, deadline)

    worker_info = []
    for index in range(workers):
        ui_port = free_port()
        work_dir = cluster_dir / "work" / f"worker-{index}"
        local_dir = cluster_dir / "local" / f"worker-{index}"
        work_dir.mkdir(parents=True, exist_ok=True)
        (local_dir / "tmp").mkdir(parents=True, exist_ok=True)
        log = cluster_dir / "logs" / f"worker-{index}.log"
        proc = launch(
            [spark_class, WORKER_CLASS, "--host", LOOPBACK, "--webui-port", str(ui_port),
             "--cores", str(cores), "--memory", memory, "--work-dir", str(work_dir),
             "--properties-file", str(props), master_url],
            daemon_env(home, local_dir, daemon_memory),
            work_dir,
            log,
            cluster_dir / f"worker-{index}.pid",
        )
        started.append((f"worker {index}", proc))
        worker_info.append({
            "index": index,
            "pid": proc.pid,
            "log": str(log),
            "webui": f"http://{LOOPBACK}:{ui_port}",
            "work_dir": str(work_dir),
            "local_dir": str(local_dir),
        })

    wanted = {w["webui"] for w in worker_info}

    def all_registered():
        state = fetch_json(f"{master_webui}/json/")
        if not state:
            return None
        alive = {w.get("webuiaddress") for w in state.get("workers", []) if w.get("state") == "ALIVE"}
        return state if wanted <= alive else None

    wait_until(f"{workers} workers to register", all_registered, started, deadline)
    return {
        "master": master_url,
        "master_webui": master_webui,
        "master_pid": master.pid,
        "master_log": str(master_log),
        "workers": worker_info,
        "cores_per_worker": cores,
        "memory_per_worker": memory,
        "dir": str(cluster_dir),
        "spark_home": str(home),
        "python": sys.executable,
    }


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _under(path: str, root: Path) -> bool:
    return path == str(root) or path.startswith(str(root) + os.sep)


def _processes_in(root: Path) -> list[int]:
    """Live processes whose working directory lies under root.

    Every process of the cluster runs inside DIR/run or DIR/work: the daemons are started
    there, a worker starts each executor in DIR/work/worker-N/<app>/<executor>, and the
    executor's Python workers inherit that directory. Nothing else has a reason to be there,
    so this finds the cluster's processes without trusting pids that may have been reused.
    """
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone, or not ours to inspect
        if state != "Z" and _under(cwd, root):
            found.append(int(entry.name))
    return found


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _reap_children() -> None:
    """Collect exit statuses of daemons this process started (when used as a library)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _stop_processes(cluster_dir: Path, grace: float = 15.0) -> list[int]:
    """SIGTERM every process of the cluster, wait up to `grace` seconds, SIGKILL the rest."""
    roots = [cluster_dir / "run", cluster_dir / "work"]

    def alive() -> list[int]:
        _reap_children()
        return [pid for root in roots for pid in _processes_in(root)]

    signalled = alive()
    _signal(signalled, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    left = alive()
    if left:
        _signal(left, signal.SIGKILL)
        signalled += left
        time.sleep(0.5)
        left = alive()
        if left:
            raise ClusterError(f"processes still alive after SIGKILL: {left}")
    for pid_file in [cluster_dir / "master.pid", *cluster_dir.glob("worker-*.pid")]:
        pid_file.unlink(missing_ok=True)
    return sorted(set(signalled))


def stop(cluster_dir: Path) -> dict:
    """Stop every process of the cluster in cluster_dir; logs and work dirs are kept."""
    cluster_dir = cluster_dir.resolve()
    if not (cluster_dir / "master.pid").exists() and not list(cluster_dir.glob("worker-*.pid")):
        raise ClusterError(f"no cluster pid files in {cluster_dir}")
    stopped = _stop_processes(cluster_dir)
    (cluster_dir / "cluster.json").unlink(missing_ok=True)
    return {"stopped": stopped, "dir": str(cluster_dir)}


def kill_worker(cluster_dir: Path, index: int, jvm_only: bool = False) -> dict:
    """SIGKILL worker `index` with its executors and their Python workers (a lost machine).

    With jvm_only, only the worker JVM is killed; its executors notice and exit by themselves.
    """
    cluster_dir = cluster_dir.resolve()
    work_dir = cluster_dir / "work" / f"worker-{index}"
    pid = _read_pid(cluster_dir / f"worker-{index}.pid")
    if pid is None:
        raise ClusterError(f"no worker {index} in {cluster_dir}")
    members = _processes_in(work_dir)
    if pid not in members:
        raise ClusterError(f"worker {index} (pid {pid}) is not running")
    killed = [pid] if jvm_only else members
    _signal(killed, signal.SIGKILL)
    _reap_children()
    return {"killed": sorted(killed), "worker": index}


def status(cluster_dir: Path) -> dict:
    """What the master reports now: alive workers, applications."""
    cluster_dir = cluster_dir.resolve()
    try:
        info = json.loads((cluster_dir / "cluster.json").read_text())
    except (OSError, ValueError) as err:
        raise ClusterError(f"no running cluster in {cluster_dir}: {err}") from err
    state = fetch_json(f"{info['master_webui']}/json/")
    if state is None:
        raise ClusterError(f"master at {info['master_webui']} does not answer")
    return {
        "master": info["master"],
        "status": state.get("status"),
        "alive_workers": state.get("aliveworkers"),
        "workers": [{"webui": w.get("webuiaddress"), "state": w.get("state")} for w in state.get("workers", [])],
        "active_apps": [a.get("id") for a in state.get("activeapps", [])],
        "completed_apps": [a.get("id") for a in state.get("completedapps", [])],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="start a master and workers; print JSON")
    p_start.add_argument("--dir", type=Path, required=True)
    p_start.add_argument("--workers", type=int, default=2)
    p_start.add_argument("--cores", type=int, default=1, help="cores per worker")
    p_start.add_argument("--memory", default="1g", help="executor memory a worker offers")
    p_start.add_argument("--daemon-memory", default="256m", help="heap of each daemon JVM")
    p_start.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for startup")
    p_stop = sub.add_parser("stop", help="stop everything the cluster in DIR started")
    p_stop.add_argument("--dir", type=Path, required=True)
    p_kill = sub.add_parser("kill-worker", help="SIGKILL one worker (a lost machine)")
    p_kill.add_argument("index", type=int)
    p_kill.add_argument("--dir", type=Path, required=True)
    p_kill.add_argument("--jvm-only", action="store_true", help="kill the worker JVM, not its executors")
    p_status = sub.add_parser("status", help="print what the master reports")
    p_status.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)

    def terminated(signum, _frame):
        # Unwinds through start(), which then stops the daemons it has started.
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)
    try:
        if args.command == "start":
            result = start(args.dir, args.workers, args.cores, args.memory, args.daemon_memory, args.timeout)
        elif args.command == "stop":
            result = stop(args.dir)
        elif args.command == "kill-worker":
            result = kill_worker(args.dir, args.index, args.jvm_only)
        else:
            result = status(args.dir)
    except ClusterError as err:
        print(f"cluster.py {args.command}: {err}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
