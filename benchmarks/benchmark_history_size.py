"""Benchmark: does an incremental load's memory grow with the stored history?

Run from the project root (after the README's install):

    .venv/bin/python benchmarks/benchmark_history_size.py                 # 100k and 300k stored runs
    .venv/bin/python benchmarks/benchmark_history_size.py --runs 300000

For each history size it builds a store with a first load (artifacts off, no latency: only the store
matters here), then measures, each as a fresh `python pipelines/dbt_runs.py` process as cron runs it:
  (n) an incremental load with nothing new (best of 3), and
  (k) an incremental load after the account moved on by about 1,000 runs,
recording wall time and peak RSS (max RSS from wait4). Target (issue 10): peak RSS <= 350 MB at
300,000 stored runs for both, and the no-op load <= 2x `python -c "import dlt, duckdb"` (s).
The simulator runs in this process on its own thread (it must advance its clock between loads).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmark_load import (
    ENTRY_POINT,
    ROOT,
    Measure,
    load_env,
    startup_baseline,
    summary_detail,
    timed_process,
)

sys.path.insert(0, str(ROOT / "pipelines"))
from dbt_cloud_simulator import DbtCloudSimulator  # noqa: E402

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def advance_until(sim: DbtCloudSimulator, new_runs: int) -> int:
    """Move the account's clock until about `new_runs` runs were created."""
    created = 0
    while created < new_runs:
        created += sim.advance(minutes=30)
    return created


def bench(runs: int) -> list[Measure]:
    with (
        DbtCloudSimulator(runs=runs, jobs=200, seed=5, now=NOW) as sim,
        tempfile.TemporaryDirectory(prefix="dbt_runs_hist_") as tmp,
    ):
        workdir = Path(tmp)
        env = load_env(sim, workdir, artifacts=False)  # type: ignore[arg-type]
        load = [sys.executable, str(ENTRY_POINT)]
        seconds, peak, out = timed_process(load, workdir, env)
        measures = [Measure(f"first load, {runs} runs", seconds, peak, summary_detail(out))]
        repeats = [timed_process(load, workdir, env) for _ in range(3)]
        seconds, peak, out = min(repeats)
        measures.append(
            Measure(
                f"(n) incremental, nothing new, {runs} stored",
                seconds,
                max(r[1] for r in repeats),
                f"{summary_detail(out)}; best of 3: {', '.join(f'{r[0]:.2f}' for r in repeats)} s",
            )
        )
        created = advance_until(sim, 1000)
        seconds, peak, out = timed_process(load, workdir, env)
        measures.append(
            Measure(f"(k) incremental, {created} new, {runs} stored", seconds, peak, summary_detail(out))
        )
        return measures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, action="append", help="stored history sizes (default 100000, 300000)"
    )
    args = parser.parse_args()
    baseline = min((startup_baseline() for _ in range(3)), key=lambda m: m.seconds)
    print(f"(s) {baseline.name}: {baseline.seconds:.2f} s, {baseline.peak_mb:.0f} MB", flush=True)
    for runs in args.runs or [100_000, 300_000]:
        for measure in bench(runs):
            ratio = (
                f" ({measure.seconds / baseline.seconds:.2f}x s)" if measure.name.startswith("(n)") else ""
            )
            timing = f"{measure.seconds:.2f} s{ratio}, peak {measure.peak_mb:.0f} MB"
            print(f"{measure.name}: {timing} — {measure.detail}", flush=True)


if __name__ == "__main__":
    main()
