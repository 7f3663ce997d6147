"""Messages that fit the case (issue 15, point 4), through the real entry point against the simulator.

`status` right after `trigger` waits out dbt Cloud's first-poll 404; a missing run or job is named as
missing in the account; `cancel` of a finished run says so and exits 8; a timeout that cancelled the run
does not say it may still run; SIGTERM while watching prints the run's URL and exits 143; run from a
directory without `.dlt/`, a missing setting names the directory dlt searched.
"""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbt_cloud_simulator import DbtCloudSimulator
from entry_point import run_entry_point, start_entry_point

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
FAST = ("--poll-seconds", "0.1")


@pytest.fixture(scope="module")
def sim() -> Iterator[DbtCloudSimulator]:
    with DbtCloudSimulator(runs=200, jobs=20, seed=5) as server:
        yield server


@pytest.fixture
def job_id(sim: DbtCloudSimulator) -> int:
    return int(sim.jobs()[0]["id"])


WORKDIR = Path()
"""This module's scratch directory (its dlt state dir), set by conftest's `_module_workdir`."""


def cli(
    sim: DbtCloudSimulator, *args: str, cwd: Path | None = None, **settings: str
) -> subprocess.CompletedProcess[str]:
    """The entry point run as a scheduler runs it (`tests/entry_point.py`), with `settings` on top."""
    return run_entry_point(sim, cwd or WORKDIR, *args, extra_env=settings, timeout=120)


def triggered_run_id(output: str) -> int:
    match = re.search(r"^Triggered run (\d+) ", output, re.MULTILINE)
    assert match, output
    return int(match.group(1))


def only_error_line(stderr: str) -> str:
    (line,) = [line for line in stderr.splitlines() if line.strip()]
    assert line.startswith("error: "), stderr
    return line


def test_status_right_after_trigger_waits_out_the_first_poll_404(sim: DbtCloudSimulator, job_id: int) -> None:
    sim.trigger_plan(queue_seconds=30, run_seconds=30, outcome=10, first_poll_404=True)
    run_id = triggered_run_id(cli(sim, "trigger", str(job_id)).stdout)

    status = cli(sim, "status", str(run_id))

    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith(f"run {run_id} (job {job_id}) ")
    cli(sim, "cancel", str(run_id))


def test_a_missing_run_is_named_as_missing_in_the_account(sim: DbtCloudSimulator) -> None:
    for command in ("status", "cancel"):
        result = cli(sim, command, "999999999")
        assert result.returncode == 3, result.stderr
        line = only_error_line(result.stderr)
        assert f"run 999999999 not found in account {sim.account_id}" in line
        assert "base_url" not in line


def test_a_missing_job_is_named_as_missing_in_the_account(sim: DbtCloudSimulator) -> None:
    result = cli(sim, "trigger", "999999999")
    assert result.returncode == 3
    assert f"job 999999999 not found in account {sim.account_id}" in only_error_line(result.stderr)


def test_a_wrong_account_still_points_at_the_settings(sim: DbtCloudSimulator) -> None:
    result = cli(sim, "status", "1", DBT_CLOUD__ACCOUNT_ID=str(sim.account_id + 1))
    assert result.returncode == 3
    assert "account_id" in only_error_line(result.stderr)


def test_cancel_of_a_finished_run_says_so_and_exits_8(sim: DbtCloudSimulator, job_id: int) -> None:
    sim.trigger_plan(queue_seconds=0.1, run_seconds=0.1, outcome=10)
    run_id = triggered_run_id(cli(sim, "trigger", str(job_id), "--wait", "--timeout", "30", *FAST).stdout)
    cancels_before = len([r for r in sim.requests if r["path"].endswith(f"/runs/{run_id}/cancel/")])

    result = cli(sim, "cancel", str(run_id))

    assert result.returncode == 8, result.stdout + result.stderr
    line = only_error_line(result.stderr)
    assert f"run {run_id} (job {job_id}) already finished (Success): nothing to cancel" in line
    assert re.search(rf"https?://\S+/runs/{run_id}/", line)
    cancels_after = len([r for r in sim.requests if r["path"].endswith(f"/runs/{run_id}/cancel/")])
    assert cancels_after == cancels_before  # nothing was sent to cancel


def test_a_timeout_that_cancelled_the_run_does_not_say_it_may_still_run(
    sim: DbtCloudSimulator, job_id: int
) -> None:
    sim.trigger_plan(queue_seconds=60, run_seconds=60, outcome=10)
    result = cli(sim, "trigger", str(job_id), "--wait", "--timeout", "0.5", "--cancel-on-timeout", *FAST)

    assert result.returncode == 5
    line = only_error_line(result.stderr)
    assert "timed out after 0.5 s" in line and "cancel requested (now Cancelled)" in line
    assert "may still run" not in line


def test_sigterm_while_watching_prints_the_run_url_and_exits_143(sim: DbtCloudSimulator, job_id: int) -> None:
    sim.trigger_plan(queue_seconds=60, run_seconds=60, outcome=10)
    proc = start_entry_point(sim, WORKDIR, "trigger", str(job_id), "--wait", *FAST)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # flushed as soon as the run exists: we are watching it now
        run_id = triggered_run_id(first)
        proc.send_signal(signal.SIGTERM)
        rest, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, first + rest + stderr
    (line,) = stderr.strip().splitlines()
    assert line.startswith(f"terminated (SIGTERM): stopped watching run {run_id}")
    assert re.search(rf"https?://\S+/runs/{run_id}/", line)
    cli(sim, "cancel", str(run_id))


def test_missing_settings_away_from_the_project_name_the_directory_searched(
    sim: DbtCloudSimulator, tmp_path: Path
) -> None:
    env = {"DLT_DATA_DIR": str(tmp_path / "dlt")}
    result = cli(sim, "runs", cwd=tmp_path, DBT_CLOUD__BASE_URL="", **env)
    assert result.returncode == 2
    line = only_error_line(result.stderr)
    assert f"dlt looked for settings in {tmp_path.resolve() / '.dlt'}, which does not exist" in line
    assert f"cd {REPO_ROOT}" in line


def test_load_flags_before_a_subcommand_are_refused_not_ignored(sim: DbtCloudSimulator) -> None:
    asked_before = len(sim.requests)
    result = cli(sim, "--demo", "status", "1")
    assert result.returncode == 2
    line = only_error_line(result.stderr)
    assert line.startswith("error: --demo applies to loads only, not to `status`")
    assert "docs/simulator.md" in line
    assert len(sim.requests) == asked_before, "nothing was asked"
