"""Benchmark: what the reader copy (`--publish`) costs a load, on a 100,000-run store.

Run from the project root (after the README's install; about 2 minutes):

    .venv/bin/python benchmarks/benchmark_publish.py
    .venv/bin/python benchmarks/benchmark_publish.py --runs 20000

It builds a store with a first load of the simulated account (artifacts off, no latency), then, with
the simulator's clock moving an hour before each load (new runs, open runs finishing):
  (i) incremental loads without a reader copy, each a fresh `python pipelines/dbt_runs.py` process;
  (p) incremental loads with `--publish`, same situation; the summary tells the publish time itself;
  (x) `publish()` called in-process on the same store, and DuckDB's `COPY FROM DATABASE` into a new file
      for comparison (does the copy's view work when the file is opened under another name?).
Best of 3 for each. Target (issue 12): publish time <= 10% of an incremental load + 1-2 s.
The simulator runs in this process (its clock is moved between loads); every load is its own process.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "pipelines"), str(Path(__file__).resolve().parent)]

from benchmark_load import ENTRY_POINT, timed_process  # noqa: E402
from dbt_cloud_runs.publish import publish  # noqa: E402
from dbt_cloud_simulator import DbtCloudSimulator  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def load_env(sim: DbtCloudSimulator, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DBT_CLOUD__API_TOKEN": sim.token,
            "DBT_CLOUD__ACCOUNT_ID": str(sim.account_id),
            "DBT_CLOUD__BASE_URL": sim.base_url,
            "DBT_CLOUD__ARTIFACTS": "false",
            "DLT_DATA_DIR": str(workdir / "dlt"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }
    )
    return env


def incremental_loads(sim: DbtCloudSimulator, workdir: Path, *args: str) -> list[tuple[float, str]]:
    """Three loads, the clock an hour on before each: (seconds, stdout)."""
    results = []
    for _ in range(3):
        sim.advance(hours=1)
        seconds, _, out = timed_process(
            [sys.executable, str(ENTRY_POINT), *args], workdir, load_env(sim, workdir)
        )
        results.append((seconds, out))
    return results


def copy_from_database(source: Path, target: Path) -> tuple[float, str]:
    """DuckDB's whole-file copy, for comparison; says whether a view works in the renamed copy."""
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(target)) as con:
        con.execute(f"ATTACH '{source}' AS source_db (READ_ONLY)")
        con.execute(f"COPY FROM DATABASE source_db TO {target.stem}")
    seconds = time.perf_counter() - started
    renamed = target.with_name("renamed_" + target.name)
    shutil.copy(target, renamed)
    try:
        with duckdb.connect(str(renamed), read_only=True) as con:
            con.execute("SELECT count(*) FROM dbt_cloud.job_health").fetchone()
        views = "views work under another name"
    except duckdb.Error as exc:
        views = f"views fail under another name: {str(exc).splitlines()[0][:90]}"
    return seconds, views


def _times(seconds) -> str:
    return ", ".join(f"{s:.2f}" for s in seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100_000)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="dbt_runs_publish_bench_") as tmp,
        DbtCloudSimulator(runs=args.runs, jobs=120, seed=7, now=NOW) as sim,
    ):
        workdir = Path(tmp)
        store = workdir / "dbt_runs.duckdb"
        first, _, out = timed_process([sys.executable, str(ENTRY_POINT)], workdir, load_env(sim, workdir))
        runs = re.search(r"Runs: .*", out)
        size = store.stat().st_size / 1e6
        print(f"first load: {first:.2f} s; {runs.group(0) if runs else ''}; store {size:.0f} MB")

        plain = incremental_loads(sim, workdir)
        copy = workdir / "bi" / "dbt_runs_bi.duckdb"
        published = incremental_loads(sim, workdir, "--publish", str(copy))
        inside = [
            float(m.group(1)) for _, o in published if (m := re.search(r"Reader copy: .*, ([\d.]+) s\)", o))
        ]

        in_process = []
        for _ in range(3):
            result = publish(store, copy)
            in_process.append(result.seconds)
        (workdir / "whole").mkdir(exist_ok=True)
        whole_file = [copy_from_database(store, workdir / "whole" / "copy.duckdb") for _ in range(3)]

        best_plain = min(s for s, _ in plain)
        best_published = min(s for s, _ in published)
        best_publish = min(in_process)
        print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(
            f"store: {args.runs} runs; copy {copy.stat().st_size / 1e6:.0f} MB ({result.tables} tables, "
            f"{result.views} views)\n"
        )
        print("| measure (best of 3) | seconds | all three |")
        print("|---|---:|---|")
        print(f"| (i) incremental load, no copy | {best_plain:.2f} | {_times(s for s, _ in plain)} |")
        print(
            f"| (p) incremental load with --publish | {best_published:.2f} | "
            f"{', '.join(f'{s:.2f}' for s, _ in published)} |"
        )
        print(f"| publish inside (p), from its summary | {min(inside):.2f} | {_times(inside)} |")
        print(
            f"| (x) publish() in-process | {best_publish:.2f} | {', '.join(f'{s:.2f}' for s in in_process)} |"
        )
        print(
            f"| (x') COPY FROM DATABASE, for comparison | {min(s for s, _ in whole_file):.2f} | "
            f"{', '.join(f'{s:.2f}' for s, _ in whole_file)}; {whole_file[0][1]} |"
        )
        print()
        budget = 0.1 * best_plain + 2.0
        print(
            f"publish {min(inside):.2f} s vs budget 10% of (i) + 2 s = {budget:.2f} s: "
            f"{'within' if min(inside) <= budget else 'OVER'}"
        )
        print(f"(p) - (i) = {best_published - best_plain:.2f} s")


if __name__ == "__main__":
    main()
