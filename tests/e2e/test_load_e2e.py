"""End to end: the real entry point, run as a scheduler runs it (a subprocess), against the simulator.

Ground truth is read from the simulator over HTTP; after each load the DuckDB copy must match it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt_cloud_simulator import DbtCloudSimulator
from e2e_support import TOKEN, api_runs, runs_read_by_id, scalar, stored_runs
from entry_point import error_lines, run_entry_point

pytestmark = pytest.mark.e2e


def test_first_load_then_time_moves(sim: DbtCloudSimulator, workdir: Path) -> None:
    first = run_entry_point(sim, workdir)
    assert first.returncode == 0, first.stderr
    assert stored_runs(workdir) == api_runs(sim)
    assert scalar(workdir, "SELECT count(DISTINCT _dlt_load_id) FROM dbt_cloud.runs") == 1, (
        "one load wrote all"
    )
    open_before = set(sim.open_run_ids())
    assert open_before, "the synthetic account has open runs near now"
    assert scalar(workdir, "SELECT count(*) FROM dbt_cloud.jobs") == 120
    assert scalar(workdir, "SELECT count(*) FROM dbt_cloud.runs_enriched") == 1500
    assert scalar(workdir, "SELECT count(*) FROM dbt_cloud.runs WHERE trigger__cause IS NULL") == 0

    deleted_job = sim.jobs()[0]
    sim.delete_job(deleted_job["id"])
    sim.advance(hours=6)
    sim.reset_requests()
    second = run_entry_point(sim, workdir)
    assert second.returncode == 0, second.stderr
    truth = api_runs(sim)
    assert len(truth) > 1500, "time moved: new runs arrived"
    assert stored_runs(workdir) == truth, "new runs in, open runs final, nothing lost"
    still_open = {run_id for run_id in open_before if truth[run_id][0] in (1, 2, 3)}
    assert open_before <= runs_read_by_id(sim), "every run stored as open was re-read by id"
    assert len(still_open) < len(open_before)
    assert (
        scalar(workdir, f"SELECT name FROM dbt_cloud.jobs WHERE id = {deleted_job['id']}")
        == deleted_job["name"]
    )
    named = scalar(
        workdir,
        f"SELECT count(*) FROM dbt_cloud.runs_enriched WHERE job_definition_id = {deleted_job['id']} "
        "AND job_name IS NOT NULL",
    )
    assert named == len(
        [1 for run_id in truth if sim.runs_by_id(run_id)["job_definition_id"] == deleted_job["id"]]
    )


def test_faults_are_retried_and_nothing_is_lost(sim: DbtCloudSimulator, workdir: Path) -> None:
    sim.inject("429", count=2, retry_after=1, path_contains="/runs/")
    sim.inject("503", count=2, path_contains="/runs/")
    sim.inject("drop", count=2, path_contains="/jobs/")
    proc = run_entry_point(sim, workdir)
    assert proc.returncode == 0, proc.stderr
    assert stored_runs(workdir) == api_runs(sim)
    statuses = [request["status"] for request in sim.requests]
    assert statuses.count(429) == 2 and statuses.count(503) == 2


def test_persistent_5xx_fails_clearly_loses_nothing_and_heals(sim: DbtCloudSimulator, workdir: Path) -> None:
    assert run_entry_point(sim, workdir).returncode == 0
    before = stored_runs(workdir)
    sim.advance(hours=30)
    sim.inject("500", count=None, path_contains="/runs/")
    failed = run_entry_point(sim, workdir)
    assert failed.returncode == 3
    (line,) = error_lines(failed.stderr)
    assert "kept failing with 500" in line and "next load" in line
    assert stored_runs(workdir) == before, "nothing of the failed load was committed"

    sim.clear_faults()
    healed = run_entry_point(sim, workdir)
    assert healed.returncode == 0, healed.stderr
    assert stored_runs(workdir) == api_runs(sim), "the next load fills everything in, with no gap"


def test_revoked_token(sim: DbtCloudSimulator, workdir: Path) -> None:
    assert run_entry_point(sim, workdir).returncode == 0
    sim.revoke_token()
    proc = run_entry_point(sim, workdir)
    assert proc.returncode == 3
    (line,) = error_lines(proc.stderr)
    assert "refused the API token" in line


def test_token_is_not_stored(sim: DbtCloudSimulator, workdir: Path) -> None:
    assert run_entry_point(sim, workdir).returncode == 0
    for path in workdir.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), f"token found in {path}"


def test_demo_uses_its_own_file(tmp_path: Path) -> None:
    real_store = {"DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "real.duckdb")}
    proc = run_entry_point(None, tmp_path, "--demo", extra_env=real_store)
    assert proc.returncode == 0, proc.stderr
    assert "Jobs failing right now" in proc.stdout
    assert "dbt_runs_demo.duckdb" in proc.stdout
    assert (tmp_path / "dbt_runs_demo.duckdb").exists()
    assert not (tmp_path / "real.duckdb").exists() and not (tmp_path / "dbt_runs.duckdb").exists()


def test_settings_pick_file_and_state_dir(sim: DbtCloudSimulator, workdir: Path) -> None:
    """dlt's DESTINATION__DUCKDB__CREDENTIALS picks the file; DLT_DATA_DIR holds the pipeline state."""
    elsewhere = {"DESTINATION__DUCKDB__CREDENTIALS": str(workdir / "elsewhere.duckdb")}
    proc = run_entry_point(sim, workdir, "--no-artifacts", extra_env=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert (workdir / "elsewhere.duckdb").exists() and not (workdir / "dbt_runs.duckdb").exists()
    assert str(workdir / "elsewhere.duckdb") in proc.stdout
    assert (workdir / "dlt" / "pipelines" / "dbt_runs" / "state.json").exists()


def test_help_explains_each_flag(tmp_path: Path) -> None:
    proc = run_entry_point(None, tmp_path, "--help", timeout=60)
    assert proc.returncode == 0
    for flag in (
        "--since",
        "--full-refresh",
        "--destination",
        "--lookback-hours",
        "--no-artifacts",
        "--demo",
    ):
        assert flag in proc.stdout
    for command in ("trigger", "status", "cancel", "runs", "artifacts"):
        assert command in proc.stdout


def test_artifacts_loaded_once_and_a_triggered_run_joins_the_history(
    sim: DbtCloudSimulator, workdir: Path
) -> None:
    assert run_entry_point(sim, workdir).returncode == 0
    fetched_first = {r["path"] for r in sim.requests if r["path"].endswith("run_results.json")}
    assert fetched_first, "recently finished runs had their run_results.json loaded"
    assert scalar(workdir, "SELECT count(DISTINCT run_id) FROM dbt_cloud.run_results") > 0
    assert scalar(workdir, "SELECT count(*) FROM dbt_cloud.run_results WHERE command = 'generate'") == 0

    sim.trigger_plan(queue_seconds=0.2, run_seconds=0.3, outcome=10)
    job_id = sim.jobs()[1]["id"]
    trigger = run_entry_point(
        sim, workdir, "trigger", str(job_id), "--wait", "--poll-seconds", "0.2", "--timeout", "30"
    )
    assert trigger.returncode == 0, trigger.stderr
    run_id = max(
        run["id"] for run in [sim.runs_by_id(i) for i in api_runs(sim)] if run["job_definition_id"] == job_id
    )
    sim.reset_requests()
    assert run_entry_point(sim, workdir).returncode == 0
    assert scalar(workdir, f"SELECT status FROM dbt_cloud.runs WHERE id = {run_id}") == 10
    fetched_again = {r["path"] for r in sim.requests if r["path"].endswith("run_results.json")}
    assert not fetched_again & fetched_first, "no run's artifact is fetched twice"
