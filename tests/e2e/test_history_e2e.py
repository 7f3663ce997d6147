"""End to end: answers that need history come from the first load, and its progress counts artifacts.

The entry point as a scheduler runs it (stderr not a terminal) against a simulated account with 120 days
of history whose "now" is the current minute, so the loader's own clock (`as_of`) agrees with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from dbt_cloud_runs.converters import parse_timestamp
from dbt_cloud_simulator import DbtCloudSimulator
from e2e_support import TOKEN
from entry_point import run_entry_point

pytestmark = pytest.mark.e2e

ARTIFACTS_DAYS = 14


@pytest.fixture
def account() -> Iterator[DbtCloudSimulator]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with DbtCloudSimulator(runs=800, jobs=30, seed=17, now=now, token=TOKEN) as simulator:
        yield simulator


def artifact_run_ids(sim: DbtCloudSimulator) -> set[int]:
    """Runs whose run_results.json the loader asked for (from the simulator's request log)."""
    return {
        int(request["path"].split("/runs/")[1].split("/")[0])
        for request in sim.requests
        if request["path"].endswith("/artifacts/run_results.json")
    }


def rows(workdir: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(workdir / "dbt_runs.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_one_first_load_answers_which_models_got_slower(account: DbtCloudSimulator, workdir: Path) -> None:
    first = run_entry_point(account, workdir)
    assert first.returncode == 0, first.stderr

    fetched_first = artifact_run_ids(account)
    oldest = min(parse_timestamp(account.runs_by_id(run_id)["finished_at"]) for run_id in fetched_first)
    assert oldest < account.now - timedelta(days=55), "the first load reached back about 60 days"
    assert "first artifacts load: runs finished in the last 60 days" in first.stdout

    # models with a successful execution in both 30-day windows, straight from the loaded results
    in_both = set(
        rows(
            workdir,
            """
            SELECT rr.job_definition_id, rr.unique_id
            FROM dbt_cloud.run_results AS rr
            JOIN dbt_cloud.runs AS r ON r.id = rr.run_id
            CROSS JOIN dbt_cloud.as_of AS n
            WHERE rr.resource_type = 'model' AND rr.status = 'success'
                AND coalesce(rr.command, '') NOT IN ('generate', 'compile', 'show', 'list', 'ls', 'parse')
            GROUP BY 1, 2
            HAVING bool_or(r.created_at > n.as_of - INTERVAL 30 DAY AND r.created_at <= n.as_of)
                AND bool_or(
                    r.created_at > n.as_of - INTERVAL 60 DAY AND r.created_at <= n.as_of - INTERVAL 30 DAY
                )
            """,
        )
    )
    answered = set(
        rows(workdir, "SELECT job_id, unique_id FROM dbt_cloud.model_timings WHERE change_pct IS NOT NULL")
    )
    assert in_both, "the simulated account has models that ran in both windows"
    assert answered == in_both, "change_pct answers for every model that ran in both windows"

    # the second load fetches only newly finished runs: nothing older than artifacts_days, nothing twice
    account.advance(hours=6)
    account.reset_requests()
    window_start = datetime.now(UTC) - timedelta(days=ARTIFACTS_DAYS)
    second = run_entry_point(account, workdir)
    assert second.returncode == 0, second.stderr
    fetched_second = artifact_run_ids(account)
    assert fetched_second, "runs finished in the 6 hours that passed"
    assert not fetched_second & fetched_first
    finished = [parse_timestamp(account.runs_by_id(run_id)["finished_at"]) for run_id in fetched_second]
    assert min(finished) >= window_start
    assert "first artifacts load" not in second.stdout


def test_progress_has_one_artifacts_line_per_phase_and_quiet_has_none(
    account: DbtCloudSimulator, workdir: Path
) -> None:
    loud = run_entry_point(account, workdir)
    assert loud.returncode == 0, loud.stderr
    fetched = len(artifact_run_ids(account))
    lines = loud.stderr.splitlines()
    artifact_lines = [line for line in lines if "artifacts:" in line]
    assert len(artifact_lines) == 1, loud.stderr  # one line for the phase, not one per artifact
    assert artifact_lines[0].startswith(f"Extract dbt_cloud: artifacts: {fetched} of {fetched} (")
    assert "\r" not in loud.stderr and "\033[" not in loud.stderr, "not a terminal: no redraws"
    assert len(lines) <= 3, loud.stderr  # Extract, Normalize, Load

    elsewhere = workdir / "quiet"  # the same first load, with artifacts, into another store
    elsewhere.mkdir()
    account.reset_requests()
    quiet = run_entry_point(account, elsewhere, "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert len(artifact_run_ids(account)) == fetched
    assert quiet.stderr == "" and quiet.stdout == ""
