"""End to end: the real entry point in a subprocess against the local dbt Cloud simulator over HTTP.

Proves what a scheduler sees — exit codes, the run id and URL in the output, a timeout that cancels
the run in dbt Cloud, one `error:` line without the token — with the real HTTP client, config
resolution from `DBT_CLOUD__*` variables and argument parsing. Runs progress in wall-clock time in the
simulator, so plans are short and polling is fast (`--poll-seconds 0.1`).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from entry_point import run_entry_point

simulator = pytest.importorskip(
    "dbt_cloud_simulator", reason="E2E: the simulator package pipelines/dbt_cloud_simulator is not there yet"
)
if not hasattr(simulator, "DbtCloudSimulator"):  # an empty folder imports as a namespace package
    pytest.skip("E2E: pipelines/dbt_cloud_simulator has no DbtCloudSimulator yet", allow_module_level=True)

pytestmark = pytest.mark.e2e

FAST = ("--poll-seconds", "0.1")


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    server = simulator.DbtCloudSimulator(runs=300, jobs=120, seed=7).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def job_id(sim: Any) -> int:
    sim.trigger_plan(queue_seconds=0.3, run_seconds=0.4, outcome=10)
    return int(sim.jobs()[0]["id"])


WORKDIR = Path()
"""This module's scratch directory (its dlt state dir), set by conftest's `_module_workdir`."""


def cli(
    sim: Any, *args: str, token: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The entry point run as a scheduler runs it (`tests/entry_point.py`), optionally with another token."""
    extra_env = {"DBT_CLOUD__API_TOKEN": token} if token else None
    return run_entry_point(sim, WORKDIR, *args, extra_env=extra_env, timeout=timeout)


def triggered_run_id(output: str) -> int:
    match = re.search(r"^Triggered run (\d+) ", output, re.MULTILINE)
    assert match, output
    return int(match.group(1))


def run_url_pattern(run_id: int) -> re.Pattern[str]:
    return re.compile(rf"https?://\S+/runs/{run_id}/")


def api_get(sim: Any, path: str, **params: Any) -> Any:
    """Ask the simulator directly (to pick fixtures), as any API client would."""
    response = requests.get(
        f"{sim.base_url}/api/v2/accounts/{sim.account_id}/{path}",
        params=params,
        headers={"Authorization": f"Token {sim.token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["data"]


def requests_to(sim: Any, method: str, suffix: str) -> list[dict[str, Any]]:
    return [r for r in sim.requests if r["method"] == method and r["path"].endswith(suffix)]


def test_trigger_wait_success(sim: Any, job_id: int) -> None:
    result = cli(sim, "trigger", str(job_id), "--cause", "e2e", "--wait", "--timeout", "30", *FAST)

    assert result.returncode == 0, result.stdout + result.stderr
    run_id = triggered_run_id(result.stdout)
    assert run_url_pattern(run_id).search(result.stdout)
    assert re.search(rf"run {run_id}: Success$", result.stdout, re.MULTILINE)
    assert result.stdout.rstrip().splitlines()[-1].startswith("Finished")
    assert requests_to(sim, "POST", f"/jobs/{job_id}/run/")


def test_trigger_survives_a_404_on_the_first_poll(sim: Any, job_id: int) -> None:
    sim.trigger_plan(queue_seconds=0.2, run_seconds=0.3, outcome=10, first_poll_404=True)
    result = cli(sim, "trigger", str(job_id), "--wait", "--timeout", "30", *FAST)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("outcome", "exit_code", "word"), [(20, 1, "ended in Error"), (30, 4, "was cancelled")]
)
def test_trigger_wait_failure(sim: Any, job_id: int, outcome: int, exit_code: int, word: str) -> None:
    sim.trigger_plan(
        queue_seconds=0.2, run_seconds=0.3, outcome=outcome, status_message="Database Error in x"
    )

    result = cli(sim, "trigger", str(job_id), "--wait", "--timeout", "30", *FAST)

    assert result.returncode == exit_code, result.stdout + result.stderr
    run_id = triggered_run_id(result.stdout)
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert f"run {run_id}" in error and word in error
    assert run_url_pattern(run_id).search(error)


def test_timeout_cancels_the_run(sim: Any, job_id: int) -> None:
    sim.trigger_plan(queue_seconds=60, run_seconds=60, outcome=10)

    result = cli(sim, "trigger", str(job_id), "--wait", "--timeout", "1", "--cancel-on-timeout", *FAST)

    assert result.returncode == 5, result.stdout + result.stderr
    run_id = triggered_run_id(result.stdout)
    assert requests_to(sim, "POST", f"/runs/{run_id}/cancel/")
    assert "error: timed out after 1 s" in result.stderr
    status = cli(sim, "status", str(run_id))
    assert status.returncode == 4  # the simulator now holds it as Cancelled
    assert f"run {run_id} (job {job_id}) Cancelled" in status.stdout


def test_status_and_cancel(sim: Any, job_id: int) -> None:
    sim.trigger_plan(queue_seconds=60, run_seconds=60, outcome=10)
    run_id = triggered_run_id(cli(sim, "trigger", str(job_id)).stdout)

    status = cli(sim, "status", str(run_id))
    assert status.returncode == 0
    assert status.stdout.startswith(f"run {run_id} (job {job_id}) ")
    assert run_url_pattern(run_id).search(status.stdout)

    cancel = cli(sim, "cancel", str(run_id))
    assert cancel.returncode == 0, cancel.stderr
    assert f"Cancel requested for run {run_id}" in cancel.stdout
    assert cli(sim, "status", str(run_id), "--wait", "--timeout", "10", *FAST).returncode == 4


def test_runs_table(sim: Any) -> None:
    result = cli(sim, "runs", "--status", "SUCCESS", "--limit", "5")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["id", "job_id", "status", "created"]
    rows = lines[2:]
    assert len(rows) == 5
    assert all(row.split()[2] == "Success" for row in rows)
    created = [" ".join(row.split()[3:5]) for row in rows]
    assert created == sorted(created, reverse=True)  # newest first


def test_unknown_status_is_a_usage_error(sim: Any) -> None:
    result = cli(sim, "runs", "--status", "failed")
    assert result.returncode == 2
    assert "queued, starting, running, success, error, cancelled" in result.stderr


def test_artifacts_of_a_finished_run(sim: Any, tmp_path: Path) -> None:
    runs = api_get(sim, "runs/", status=10, order_by="-created_at", limit=50)
    run = next(r for r in runs if r.get("artifacts_saved", True))

    listing = cli(sim, "artifacts", str(run["id"]))
    assert listing.returncode == 0, listing.stderr
    assert "run_results.json" in listing.stdout.splitlines()

    target = tmp_path / "run_results.json"
    fetched = cli(sim, "artifacts", str(run["id"]), "run_results.json", "-o", str(target))
    assert fetched.returncode == 0, fetched.stderr
    assert "results" in json.loads(target.read_text())

    to_stdout = cli(sim, "artifacts", str(run["id"]), "run_results.json")
    assert json.loads(to_stdout.stdout) == json.loads(target.read_text())


def test_revoked_token_is_one_error_line() -> None:
    server = simulator.DbtCloudSimulator(runs=20, jobs=5, seed=7).start()
    try:
        server.revoke_token()
        result = cli(server, "runs")
    finally:
        server.stop()
    assert result.returncode == 3
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: dbt Cloud refused the API token")
