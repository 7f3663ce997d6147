"""Benchmark: what a first load with artifacts costs for 14 days of run_results.json against 60.

Run from the project root (after the README's install):

    .venv/bin/python benchmarks/benchmark_first_load_artifacts.py               # 20k runs, 50 ms latency
    .venv/bin/python benchmarks/benchmark_first_load_artifacts.py --runs 5000 --days 14 60

For each `first_load_artifacts_days` it builds the same simulated account (same seed, "now" the current
minute, so the loader's clock agrees with it; a fresh simulator each time, in this process so its
request log can be counted) and measures, each load a fresh `python pipelines/dbt_runs.py` process as
cron runs it: the first load (wall time, peak RSS, requests, artifact requests, runs with documents),
then, after the account moved on by an hour, the next load (which fetches only newly finished runs,
whatever the first load's window was). `artifacts_days` stays at its default (14).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmark_load import ENTRY_POINT, ROOT, load_env, summary_detail, timed_process

sys.path.insert(0, str(ROOT / "pipelines"))
from dbt_cloud_simulator import DbtCloudSimulator  # noqa: E402


@dataclass
class Figures:
    days: int
    seconds: float
    peak_mb: float
    requests: int
    artifact_requests: int
    artifact_runs: int
    detail: str
    next_seconds: float
    next_artifact_requests: int


def is_artifact_request(request: dict) -> bool:
    """A run_results.json fetch, or the read of a run's steps that finds its build steps' documents."""
    return "/artifacts/" in request["path"] or "run_steps" in str(request["query"].get("include_related"))


def bench(runs: int, jobs: int, latency_ms: int, days: int, now: datetime) -> Figures:
    with (
        DbtCloudSimulator(runs=runs, jobs=jobs, seed=7, now=now, latency_ms=latency_ms) as sim,
        tempfile.TemporaryDirectory(prefix="dbt_runs_first_artifacts_") as tmp,
    ):
        workdir = Path(tmp)
        env = load_env(sim, workdir, artifacts=True)  # type: ignore[arg-type]
        env["DBT_CLOUD__FIRST_LOAD_ARTIFACTS_DAYS"] = str(days)
        load = [sys.executable, str(ENTRY_POINT), "--quiet"]
        seconds, peak, _ = timed_process(load, workdir, env)
        requests = list(sim.requests)
        artifact_runs = {
            request["path"].split("/runs/")[1].split("/")[0]
            for request in requests
            if request["path"].endswith("run_results.json")
        }
        sim.advance(hours=1)
        sim.reset_requests()
        next_seconds, _, out = timed_process([sys.executable, str(ENTRY_POINT)], workdir, env)
        return Figures(
            days=days,
            seconds=seconds,
            peak_mb=peak,
            requests=len(requests),
            artifact_requests=sum(1 for request in requests if is_artifact_request(request)),
            artifact_runs=len(artifact_runs),
            detail=summary_detail(out),
            next_seconds=next_seconds,
            next_artifact_requests=sum(1 for request in sim.requests if is_artifact_request(request)),
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=120)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--days", type=int, nargs="+", default=[14, 60])
    args = parser.parse_args()
    now = datetime.now(UTC).replace(second=0, microsecond=0)

    results = [bench(args.runs, args.jobs, args.latency_ms, days, now) for days in args.days]
    print(f"machine: {platform.platform()}, Python {platform.python_version()}")
    print(f"simulator: {args.runs} runs, {args.jobs} jobs, {args.latency_ms} ms latency per request\n")
    print(
        "| first_load_artifacts_days | first load s | peak RSS MB | requests | artifact requests "
        "| runs asked for | next load s | next load's artifact requests |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.days} | {r.seconds:.2f} | {r.peak_mb:.0f} | {r.requests} | {r.artifact_requests} "
            f"| {r.artifact_runs} | {r.next_seconds:.2f} | {r.next_artifact_requests} |"
        )
    print()
    for r in results:
        print(f"next load after {r.days}: {r.detail}")


if __name__ == "__main__":
    main()
