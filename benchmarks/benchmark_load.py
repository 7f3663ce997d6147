"""Benchmark: how fast and how lean is a load, against the local simulator with real latency.

Run from the project root (after the README's install):

    .venv/bin/python benchmarks/benchmark_load.py            # 20k and 100k runs, 50 ms per request
    .venv/bin/python benchmarks/benchmark_load.py --runs 20000 --skip-large

It measures, in one run, so that ratios are comparable on a noisy machine:
  (a) the floor: a bare sequential fetch of every page of runs with plain `requests`, no processing;
  (b) our full first load into DuckDB (`python pipelines/dbt_runs.py`, a fresh process, as cron runs it),
      with artifacts off, and (b+) the same with the default artifact loading on, for reference;
  (c) an incremental load with nothing new (best of 3), against (s) the start-up of a Python process
      importing dlt and duckdb (best of 3);
  (d) a first load at 100,000 runs.
Each load runs as its own process; its wall time and peak memory (max RSS, from wait4) are recorded.
The simulator runs in another process so it does not share the loader's interpreter.
Targets (issue 7): (b)/(a) <= 0.6, peak RSS of (b) <= 500 MB, (c)/(s) <= 2, (d)/(b) <= ~5.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINT = ROOT / "pipelines" / "dbt_runs.py"


@dataclass
class Measure:
    name: str
    seconds: float
    peak_mb: float | None = None
    detail: str = ""


class Simulator:
    """The simulator as a separate process (`python -m dbt_cloud_simulator`)."""

    def __init__(self, runs: int, latency_ms: int) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "pipelines"))
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dbt_cloud_simulator",
                "--port",
                "0",
                "--runs",
                str(runs),
                "--latency-ms",
                str(latency_ms),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("the simulator did not start")
        info = json.loads(line)
        self.base_url, self.account_id, self.token = info["base_url"], info["account_id"], info["token"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def timed_process(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Run a process to completion; return (seconds, its own peak RSS in MB, stdout)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)  # reaps it with its own rusage (max RSS)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({process.returncode}):\n{stdout}\n{stderr}")
    return seconds, usage.ru_maxrss / 1024.0, stdout


def floor_fetch(sim: Simulator) -> tuple[float, int]:
    """(a) every page, one after another, plain requests, nothing else."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {sim.token}"
    url = f"{sim.base_url}/api/v2/accounts/{sim.account_id}/runs/"
    started = time.perf_counter()
    offset, rows = 0, 0
    while True:
        page = session.get(
            url,
            params={
                "order_by": "-created_at",
                "limit": 100,
                "offset": offset,
                "include_related": '["trigger"]',
            },
        ).json()["data"]
        rows += len(page)
        offset += len(page)
        if len(page) < 100:
            break
    return time.perf_counter() - started, rows


def load_env(sim: Simulator, workdir: Path, artifacts: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DBT_CLOUD__API_TOKEN": sim.token,
            "DBT_CLOUD__ACCOUNT_ID": str(sim.account_id),
            "DBT_CLOUD__BASE_URL": sim.base_url,
            "DBT_CLOUD__ARTIFACTS": "true" if artifacts else "false",
            "DLT_DATA_DIR": str(workdir / "dlt"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }
    )
    return env


def summary_detail(out: str) -> str:
    runs = re.search(r"Runs: .*", out)
    artifacts = re.search(r"Artifacts \(run_results.json\): .*", out)
    unchanged = re.search(r"Nothing changed since the last load.*", out)
    return "; ".join(m.group(0) for m in (runs, artifacts, unchanged) if m)


def first_and_incremental(sim: Simulator, artifacts: bool, incremental: bool) -> list[Measure]:
    with tempfile.TemporaryDirectory(prefix="dbt_runs_bench_") as tmp:
        workdir = Path(tmp)
        env = load_env(sim, workdir, artifacts)
        label = "with artifacts" if artifacts else "runs, jobs, projects, environments"
        seconds, peak, out = timed_process([sys.executable, str(ENTRY_POINT)], workdir, env)
        measures = [Measure(f"first load ({label})", seconds, peak, summary_detail(out))]
        if incremental:
            # the same situation three times; the fastest, like the start-up baseline (noisy machine)
            repeats = [timed_process([sys.executable, str(ENTRY_POINT)], workdir, env) for _ in range(3)]
            seconds, peak, out = min(repeats)
            detail = f"{summary_detail(out)}; best of 3: {', '.join(f'{r[0]:.2f}' for r in repeats)} s"
            measures.append(Measure("incremental load, nothing new", seconds, peak, detail))
        size = (workdir / "dbt_runs.duckdb").stat().st_size / 1e6
        measures[0].detail += f"; DuckDB file {size:.0f} MB"
        return measures


def startup_baseline() -> Measure:
    seconds, peak, _ = timed_process([sys.executable, "-c", "import dlt, duckdb"], ROOT, dict(os.environ))
    return Measure("python -c 'import dlt, duckdb'", seconds, peak)


def bench(runs: int, latency_ms: int, with_artifacts: bool) -> dict[str, Measure]:
    sim = Simulator(runs, latency_ms)
    try:
        floor_seconds, rows = floor_fetch(sim)
        results = {"a": Measure(f"floor: sequential fetch of {rows} runs", floor_seconds)}
        first, incremental = first_and_incremental(sim, artifacts=False, incremental=True)
        results["b"], results["c"] = first, incremental
        if with_artifacts:
            results["b+"] = first_and_incremental(sim, artifacts=True, incremental=False)[0]
        return results
    finally:
        sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--large-runs", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    startup = min((startup_baseline() for _ in range(3)), key=lambda m: m.seconds)
    small = bench(args.runs, args.latency_ms, with_artifacts=True)
    large = None if args.skip_large else bench(args.large_runs, args.latency_ms, with_artifacts=False)

    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"simulator latency: {args.latency_ms} ms per request\n")
    print("| measure | seconds | peak RSS MB | detail |")
    print("|---|---:|---:|---|")
    rows = [("s", startup), *((f"{k} ({args.runs} runs)", v) for k, v in small.items())]
    if large:
        rows += [(f"{k} ({args.large_runs} runs)", v) for k, v in large.items() if k in ("a", "b")]
    for key, m in rows:
        peak = f"{m.peak_mb:.0f}" if m.peak_mb else ""
        print(f"| {key}: {m.name} | {m.seconds:.2f} | {peak} | {m.detail} |")
    print()
    print(f"(b)/(a) = {small['b'].seconds / small['a'].seconds:.2f}  (target <= 0.6)")
    print(f"peak RSS (b) = {small['b'].peak_mb:.0f} MB  (target <= 500)")
    print(f"(c)/(s) = {small['c'].seconds / startup.seconds:.2f}  (target <= 2)")
    if large:
        print(
            f"(d)/(b) = {large['b'].seconds / small['b'].seconds:.2f}  (target <= ~5); "
            f"peak RSS (d) = {large['b'].peak_mb:.0f} MB"
        )
    if args.json:
        figures = {"startup": asdict(startup), "small": {k: asdict(v) for k, v in small.items()}}
        if large:
            figures["large"] = {k: asdict(v) for k, v in large.items()}
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
