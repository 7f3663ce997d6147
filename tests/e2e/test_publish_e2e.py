"""The reader copy (`--publish` / `publish_path`): a BI tool holding it open never blocks a load.

A separate process holds the copy open read-only and queries it in a loop (as Metabase or a notebook
would) while two loads run and publish through the real entry point.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from dbt_cloud_simulator import DbtCloudSimulator
from e2e_support import NOW, dlt_loads_and_checks, scalar
from entry_point import error_lines, run_entry_point

pytestmark = pytest.mark.e2e

# Holds the copy open read-only and queries a table and two views until stdin says "stop"; on each
# "report" line it answers with what it has seen so far, as JSON.
HOLDER = r"""
import json, sys, threading, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
seen = {"queries": 0, "errors": [], "run_counts": []}
stop = threading.Event()
def query_loop():
    while not stop.wait(0.02):
        try:
            runs = con.execute("SELECT count(*) FROM dbt_cloud.runs").fetchone()[0]
            con.execute("SELECT count(*) FROM dbt_cloud.runs_enriched").fetchone()
            con.execute("SELECT max(hours_since_success) FROM dbt_cloud.job_health").fetchone()
            if runs not in seen["run_counts"]:
                seen["run_counts"].append(runs)
            seen["queries"] += 1
        except Exception as exc:
            seen["errors"].append(str(exc))
worker = threading.Thread(target=query_loop)
worker.start()
for line in sys.stdin:
    if line.strip() == "stop":
        break
    print(json.dumps(seen), flush=True)
stop.set()
worker.join()
print(json.dumps(seen), flush=True)
"""


@pytest.fixture
def sim() -> Iterator[DbtCloudSimulator]:
    with DbtCloudSimulator(runs=600, jobs=40, seed=5, now=NOW) as simulator:
        yield simulator


def _ask(holder: subprocess.Popen[str], command: str) -> dict:
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write(command + "\n")
    holder.stdin.flush()
    return json.loads(holder.stdout.readline())


def test_a_reader_holding_the_copy_never_blocks_loads(sim: DbtCloudSimulator, tmp_path: Path) -> None:
    workdir = tmp_path / "loader"
    copy = tmp_path / "bi" / "dbt_cloud_history.duckdb"
    first = run_entry_point(sim, workdir, "--publish", str(copy), "--no-artifacts")
    assert first.returncode == 0, first.stderr
    assert f"Reader copy: {copy} (" in first.stdout
    first_count = scalar(copy, "SELECT count(*) FROM dbt_cloud.runs")
    assert first_count == 600

    elsewhere = tmp_path / "notebook"
    elsewhere.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(copy)],
        cwd=elsewhere,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        before = _ask(holder, "report")
        while before["queries"] == 0 and not before["errors"]:
            before = _ask(holder, "report")
        for _ in range(2):  # two loads, time moving on in between: new runs each time
            sim.advance(hours=6)
            load = run_entry_point(sim, workdir, "--publish", str(copy), "--no-artifacts")
            assert load.returncode == 0, load.stderr
        assert holder.poll() is None, "the reader kept its connection through both loads"
        after = _ask(holder, "stop")
    finally:
        holder.kill()
        holder.wait()

    assert after["errors"] == [], "the reader's queries kept working"
    assert after["queries"] > before["queries"], "the reader queried while the loads ran"
    assert after["run_counts"] == [first_count], "the reader kept reading the copy it opened"
    stored = scalar(workdir / "dbt_runs.duckdb", "SELECT count(*) FROM dbt_cloud.runs")
    assert stored > first_count
    assert scalar(copy, "SELECT count(*) FROM dbt_cloud.runs") == stored, "a new connection sees the new runs"
    assert scalar(copy, "SELECT count(*) FROM dbt_cloud.runs_enriched") == stored
    newest = scalar(workdir / "dbt_runs.duckdb", "SELECT max(id) FROM dbt_cloud.runs")
    assert scalar(copy, f"SELECT count(*) FROM dbt_cloud.runs_enriched WHERE id = {newest}") == 1
    assert [p.name for p in copy.parent.iterdir()] == [copy.name], "no half-built file left beside it"


def test_the_copy_answers_like_the_store_under_another_name_elsewhere(
    sim: DbtCloudSimulator, tmp_path: Path
) -> None:
    workdir = tmp_path / "loader"
    copy = tmp_path / "bi" / "copy.duckdb"
    proc = run_entry_point(sim, workdir, "--no-artifacts", extra_env={"DBT_CLOUD__PUBLISH_PATH": str(copy)})
    assert proc.returncode == 0, proc.stderr
    first_as_of = scalar(copy, "SELECT epoch_us(as_of) FROM dbt_cloud.as_of")
    loads, checks = dlt_loads_and_checks(workdir)
    # a load that finds nothing new still publishes: the copy's "now" moves on with the store's
    unchanged = run_entry_point(
        sim, workdir, "--no-artifacts", extra_env={"DBT_CLOUD__PUBLISH_PATH": str(copy)}
    )
    assert unchanged.returncode == 0, unchanged.stderr
    assert dlt_loads_and_checks(workdir) == (loads, checks + 1), "nothing new: only a check was recorded"
    assert scalar(copy, "SELECT epoch_us(as_of) FROM dbt_cloud.as_of") > first_as_of
    moved = tmp_path / "elsewhere" / "renamed.duckdb"
    moved.parent.mkdir()
    moved.write_bytes(copy.read_bytes())
    views = [path.stem for path in sorted((Path(__file__).parents[2] / "sql").glob("*.sql"))]
    with (
        duckdb.connect(str(workdir / "dbt_runs.duckdb"), read_only=True) as store,
        duckdb.connect(str(moved), read_only=True) as reader,
    ):
        for view in views:
            sql = f"SELECT * FROM dbt_cloud.{view} ORDER BY ALL"
            assert reader.execute(sql).fetchall() == store.execute(sql).fetchall(), view
        tables = (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'dbt_cloud' ORDER BY 1"
        )
        copied = {row[0] for row in reader.execute(tables).fetchall()}
        assert {"runs", "jobs", "projects", "environments", "loads", "run_results"} <= copied
        assert not any(name.startswith("_dlt_") for name in copied)


def test_publish_is_refused_for_another_destination_and_for_the_store_itself(
    sim: DbtCloudSimulator, tmp_path: Path
) -> None:
    other = run_entry_point(sim, tmp_path, "--destination", "postgres", "--publish", "copy.duckdb")
    assert other.returncode == 2
    (line,) = error_lines(other.stderr)
    assert "needs the DuckDB destination" in line

    itself = run_entry_point(sim, tmp_path, "--publish", "dbt_runs.duckdb")
    assert itself.returncode == 2
    (line,) = error_lines(itself.stderr)
    assert "is the loaded DuckDB file itself" in line
    assert not (tmp_path / "dbt_runs.duckdb").exists(), "refused before loading anything"
