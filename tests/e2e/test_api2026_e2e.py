"""End to end against the simulator as dbt Cloud is in late 2026: no default host, v3 listings (and the
v2 fallback), jobs deleted before the first load, the rate-limit cooldown, bad 2xx bodies, retries.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbt_cloud_simulator import DbtCloudSimulator
from e2e_support import NOW, TOKEN, one
from entry_point import error_lines, run_entry_point

pytestmark = pytest.mark.e2e


@pytest.fixture
def sim() -> Iterator[DbtCloudSimulator]:
    with DbtCloudSimulator(runs=400, jobs=30, seed=21, now=NOW, token=TOKEN, deleted_jobs=3) as simulator:
        yield simulator


def cli(sim: DbtCloudSimulator, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A job subcommand, run like the load (a subprocess of the entry point), polling fast."""
    fast = ("--poll-seconds", "0.1") if "--wait" in args else ()
    return run_entry_point(sim, tmp_path, *args, *fast)


def triggered_run_id(output: str) -> int:
    match = re.search(r"^Triggered run (\d+) ", output, re.MULTILINE)
    assert match, output
    return int(match.group(1))


def test_without_a_base_url_a_load_sends_nothing_and_exits_2(sim: DbtCloudSimulator, tmp_path: Path) -> None:
    proc = run_entry_point(sim, tmp_path, extra_env={"DBT_CLOUD__BASE_URL": ""})
    assert proc.returncode == 2
    (line,) = error_lines(proc.stderr)
    assert "base_url" in line and "Account settings" in line
    assert sim.requests == []


def test_first_load_names_the_job_of_every_run_even_of_jobs_deleted_before(
    sim: DbtCloudSimulator, tmp_path: Path
) -> None:
    proc = run_entry_point(sim, tmp_path, "--no-artifacts")
    assert proc.returncode == 0, proc.stderr
    assert one(tmp_path, "SELECT count(*) FROM dbt_cloud.runs") == (400,)
    assert one(tmp_path, "SELECT count(*) FROM dbt_cloud.runs_enriched WHERE job_name IS NULL") == (0,)
    assert one(tmp_path, "SELECT count(*) FROM dbt_cloud.jobs WHERE state = 2") == (3,)
    deleted_runs = one(
        tmp_path,
        "SELECT count(*) FROM dbt_cloud.runs r JOIN dbt_cloud.jobs j ON j.id = r.job_definition_id "
        "WHERE j.state = 2",
    )[0]
    assert deleted_runs > 0
    assert one(tmp_path, "SELECT count(*) FROM dbt_cloud.runs_enriched WHERE job_deleted") == (deleted_runs,)
    assert one(tmp_path, "SELECT count(*) FROM dbt_cloud.job_health WHERE is_deleted") == (3,)
    assert one(tmp_path, "SELECT count(*) > 0 FROM dbt_cloud.run_retries") == (True,)
    paths = {request["path"] for request in sim.requests}
    assert f"/api/v3/accounts/{sim.account_id}/projects/" in paths
    assert any(re.search(r"/api/v3/accounts/\d+/projects/\d+/environments/", path) for path in paths)
    assert {q["state"][0] for r in sim.requests if r["path"].endswith("/jobs/") for q in [r["query"]]} == {
        "all"
    }


def test_an_older_host_without_v3_loads_from_v2_and_says_so_once(
    sim: DbtCloudSimulator, tmp_path: Path
) -> None:
    sim.v3 = False
    proc = run_entry_point(sim, tmp_path, "--no-artifacts")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "v2" in warnings[0]
    assert one(tmp_path, "SELECT count(*) > 0 FROM dbt_cloud.environments") == (True,)


def test_a_20_second_cooldown_is_waited_out_and_nothing_is_missing(
    sim: DbtCloudSimulator, tmp_path: Path
) -> None:
    sim.cooldown(20)  # starts with the load's first request; 429s without Retry-After
    started = time.monotonic()
    proc = run_entry_point(
        sim, tmp_path, "--no-artifacts", extra_env={"DBT_CLOUD__RATE_LIMIT_COOLDOWN_SECONDS": "20"}
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started >= 20
    waits = [line for line in proc.stderr.splitlines() if line.startswith("warning: dbt Cloud is rate")]
    assert len(waits) == 1 and "until" in waits[0]
    assert one(tmp_path, "SELECT count(*), count(DISTINCT id) FROM dbt_cloud.runs") == (400, 400)
    assert one(tmp_path, "SELECT count(*) FROM dbt_cloud.jobs") == (30,)
    assert any(request["status"] == 429 for request in sim.requests)


def test_a_bad_body_once_is_retried_and_one_that_persists_fails_with_what_came(
    sim: DbtCloudSimulator, tmp_path: Path
) -> None:
    sim.inject("html", count=1, path_contains="/runs/")
    proc = run_entry_point(sim, tmp_path, "--no-artifacts")
    assert proc.returncode == 0, proc.stderr
    assert one(tmp_path, "SELECT count(*) FROM dbt_cloud.runs") == (400,)

    sim.inject("truncated", count=None, path_contains="/jobs/")
    proc = run_entry_point(sim, tmp_path, "--no-artifacts")
    assert proc.returncode == 3
    (line,) = error_lines(proc.stderr)
    assert "cut-off JSON" in line and "jobs/" in line


def test_retry_waits_like_trigger_and_refuses_with_dbts_reason(
    sim: DbtCloudSimulator, tmp_path: Path
) -> None:
    job_id = next(int(job["id"]) for job in sim.jobs() if job["state"] == 1)
    sim.trigger_plan(queue_seconds=0.2, run_seconds=0.2, outcome=20)
    failed = cli(sim, tmp_path, "trigger", str(job_id), "--wait")
    assert failed.returncode == 1, failed.stderr
    failed_id = triggered_run_id(failed.stdout)

    sim.trigger_plan(queue_seconds=0.2, run_seconds=0.2, outcome=10)
    retried = cli(sim, tmp_path, "retry", str(failed_id), "--wait")
    assert retried.returncode == 0, retried.stderr
    match = re.search(
        rf"^Retrying run {failed_id} from the point of failure: run (\d+) ", retried.stdout, re.M
    )
    assert match and "Finished" in retried.stdout
    assert sim.runs_by_id(int(match.group(1)))["retrying_run_id"] == failed_id

    again = cli(sim, tmp_path, "retry", str(failed_id))
    assert again.returncode == 3
    (line,) = error_lines(again.stderr)
    assert "not the latest run of its job" in line and "RETRY_NOT_LATEST_RUN" in line
    success = cli(sim, tmp_path, "retry", match.group(1))
    assert success.returncode == 3 and "did not end in Error" in error_lines(success.stderr)[0]
