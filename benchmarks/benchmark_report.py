"""Benchmark: how long `report` takes and how big its file is, on a 100,000-run store.

Run from the project root (after the README's install):

    .venv/bin/python benchmarks/benchmark_report.py                  # 100k runs, artifacts on
    .venv/bin/python benchmarks/benchmark_report.py --runs 20000 --no-artifacts

It loads a simulated account (the simulator in its own process, no latency: the load is not what is
measured) into a fresh DuckDB file with `python pipelines/dbt_runs.py`, then runs
`python pipelines/dbt_runs.py report` three times as fresh processes (as cron would) and reports the
best and worst wall time, peak memory and the HTML file's size. Targets (issue 14): under 5 s and under
5 MB at 100,000 runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

from benchmark_load import ENTRY_POINT, Simulator, load_env, timed_process


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--no-artifacts", action="store_true", help="load without run_results.json")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dbt_runs_report_bench_") as tmp:
        workdir = Path(tmp)
        sim = Simulator(args.runs, latency_ms=0)
        try:
            env = load_env(sim, workdir, artifacts=not args.no_artifacts)
            load_seconds, _, out = timed_process([sys.executable, str(ENTRY_POINT)], workdir, env)
        finally:
            sim.stop()
        print(out)
        store = workdir / "dbt_runs.duckdb"
        output = workdir / "report.html"
        measures = [
            timed_process(
                [
                    sys.executable,
                    str(ENTRY_POINT),
                    "report",
                    "--database",
                    str(store),
                    "--output",
                    str(output),
                ],
                workdir,
                env,
            )
            for _ in range(args.repeats)
        ]
        size_mb = output.stat().st_size / 1e6
        store_mb = store.stat().st_size / 1e6

    seconds = sorted(m[0] for m in measures)
    peak = max(m[1] for m in measures)
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"store: {args.runs} runs, artifacts {'off' if args.no_artifacts else 'on'}, {store_mb:.0f} MB "
        f"(loaded in {load_seconds:.1f} s)\n"
    )
    print("| measure | value | target |")
    print("|---|---:|---|")
    print(f"| report build, best of {args.repeats} (whole process) | {seconds[0]:.2f} s | < 5 s |")
    print(f"| report build, worst of {args.repeats} | {seconds[-1]:.2f} s | |")
    print(f"| peak RSS | {peak:.0f} MB | |")
    print(f"| HTML file | {size_mb:.2f} MB | < 5 MB |")


if __name__ == "__main__":
    main()
