"""The demo's model numbers reconcile with its run numbers (issue 15 point 5), through the real loader.

`--demo` is run as a user runs it (the entry point as a subprocess, its own simulator, its own DuckDB
file); then, for every loaded run with run_results, the node timings must lie inside the run's
[started_at, finished_at] and each document's elapsed_time must not be longer than the run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt_cloud_runs.settings import DEMO_DUCKDB_FILE
from dbt_cloud_runs.store import read_only_connection
from entry_point import run_entry_point

pytestmark = pytest.mark.e2e

# One row per loaded run that has run_results: does any node or document fall outside the run?
DISAGREEMENTS_SQL = """
WITH per_run AS (
    SELECT
        rr.run_id,
        max(rr.execute_completed_at) AS last_completed,
        min(least(rr.compile_started_at, rr.execute_started_at)) AS first_started,
        max(rr.generated_at) AS last_generated,
        max(rr.elapsed_time) AS longest_elapsed
    FROM dbt_cloud.run_results AS rr
    GROUP BY rr.run_id
)
SELECT
    p.run_id,
    r.started_at,
    r.finished_at,
    p.first_started,
    p.last_completed,
    p.longest_elapsed,
    p.last_completed > r.finished_at
        OR p.first_started < r.started_at
        OR p.last_generated > r.finished_at
        OR p.longest_elapsed > epoch(r.finished_at) - epoch(r.started_at) AS disagrees
FROM per_run AS p
JOIN dbt_cloud.runs AS r ON r.id = p.run_id
ORDER BY p.run_id
"""


def test_demo_model_timings_lie_inside_their_runs(tmp_path: Path) -> None:
    proc = run_entry_point(None, tmp_path, "--demo")
    assert proc.returncode == 0, proc.stderr
    with read_only_connection(tmp_path / DEMO_DUCKDB_FILE) as connection:
        rows = connection.execute(DISAGREEMENTS_SQL).fetchall()
    assert len(rows) >= 100, f"only {len(rows)} demo runs have run_results"
    disagreeing = [row for row in rows if row[-1]]
    examples = "\n".join(str(row[:-1]) for row in disagreeing[:5])
    count = f"{len(disagreeing)} of {len(rows)}"
    assert not disagreeing, f"{count} runs disagree with their timeline:\n{examples}"
