"""End to end: scheduled loads that never lie.

Each test runs the real entry point as a subprocess against the simulator and does what an operator's
schedule does to it: two loads at once, `kill -9` mid-load, Ctrl-C and SIGTERM, an artifact that
always fails, dangerous flags, views that cannot be created. After each, the store must match the API.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from dbt_cloud_runs.settings import DEFAULT_FIRST_LOAD_ARTIFACTS_DAYS
from dbt_cloud_simulator import DbtCloudSimulator
from e2e_support import api_runs, dlt_loads_and_checks, one, scalar, stored_runs
from entry_point import error_lines, run_entry_point, start_entry_point

pytestmark = pytest.mark.e2e

STATE_DIR = Path("dlt") / "pipelines"


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 120) -> None:
    """Poll until `condition()` holds (fail if the process ends first or time runs out)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(
                f"the load ended (exit {proc.returncode}) before the moment to act came:\n{out}\n{err}"
            )
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("timed out waiting for the load to get there")
        time.sleep(0.005)


def lock_held(workdir: Path) -> Callable[[], bool]:
    return lambda: (workdir / STATE_DIR / "dbt_runs.load.lock.holder").exists()


def package_normalized(workdir: Path) -> Callable[[], bool]:
    """dlt's load step has a package to write: the moment to kill it mid-write."""
    return lambda: any((workdir / STATE_DIR / "dbt_runs" / "load" / "normalized").glob("*"))


def test_a_second_load_meanwhile_exits_7_and_one_that_waits_gets_everything(
    sim: DbtCloudSimulator, workdir: Path
) -> None:
    sim.latency_ms = 40
    first = start_entry_point(sim, workdir, "--no-artifacts")
    wait_for(lock_held(workdir), first)
    busy = run_entry_point(sim, workdir, "--no-artifacts")
    assert busy.returncode == 7, busy.stderr
    (line,) = error_lines(busy.stderr)
    assert "another load is running since" in line and "lock_wait_seconds" in line
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err

    sim.advance(hours=8)
    second = start_entry_point(sim, workdir, "--no-artifacts")
    wait_for(lock_held(workdir), second)
    waiting = run_entry_point(sim, workdir, "--no-artifacts", "--lock-wait", "300")
    second.communicate(timeout=300)
    assert (second.returncode, waiting.returncode) == (0, 0), waiting.stderr
    assert stored_runs(workdir) == api_runs(sim)


@pytest.mark.parametrize("moment", ["extracting", "writing"])
def test_kill_9_never_blocks_the_next_load_which_alone_completes_the_store(
    sim: DbtCloudSimulator, workdir: Path, moment: str
) -> None:
    assert run_entry_point(sim, workdir, "--no-artifacts").returncode == 0
    sim.advance(hours=30)
    sim.latency_ms = 20
    victim = start_entry_point(sim, workdir, "--no-artifacts", "--lookback-hours", "48")
    wait_for(lock_held(workdir) if moment == "extracting" else package_normalized(workdir), victim)
    if moment == "extracting":
        time.sleep(0.3)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=60)
    sim.latency_ms = 0

    healed = run_entry_point(sim, workdir, "--no-artifacts")
    assert healed.returncode == 0, healed.stderr
    assert stored_runs(workdir) == api_runs(sim), "the next load alone leaves the store complete"
    loads, checks = dlt_loads_and_checks(workdir)
    again = run_entry_point(sim, workdir, "--no-artifacts")
    assert again.returncode == 0, again.stderr
    assert dlt_loads_and_checks(workdir) == (loads, checks + 1), "nothing left to write: only a check"


def test_a_load_whose_write_failed_is_finished_with_the_new_runs_by_the_next_one(
    sim: DbtCloudSimulator, workdir: Path
) -> None:
    assert run_entry_point(sim, workdir, "--no-artifacts").returncode == 0
    sim.advance(hours=30)
    sim.latency_ms = 20
    victim = start_entry_point(sim, workdir, "--no-artifacts")
    wait_for(package_normalized(workdir), victim)
    victim.send_signal(signal.SIGKILL)  # leaves a normalized package, as a failed write step does
    victim.communicate(timeout=60)
    sim.latency_ms = 0
    sim.advance(hours=12)  # runs created after the failed load: the next load must have them too

    with duckdb.connect(str(workdir / "dbt_runs.duckdb")):  # a BI tool holds the file
        locked = run_entry_point(sim, workdir, "--no-artifacts")
    assert locked.returncode == 6, locked.stderr
    (line,) = error_lines(locked.stderr)
    assert "locked by another process" in line

    healed = run_entry_point(sim, workdir, "--no-artifacts")
    assert healed.returncode == 0, healed.stderr
    # the package was finished, or (when the locked load's retries made dlt abort it) discarded with the
    # cursor rolled back: either way this one load leaves the store complete
    assert stored_runs(workdir) == api_runs(sim), "the package and every run created since, in one load"


@pytest.mark.parametrize(
    ("sent", "code", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_ctrl_c_and_sigterm_stop_with_one_line_and_lose_nothing(
    sim: DbtCloudSimulator, workdir: Path, sent: signal.Signals, code: int, word: str
) -> None:
    sim.latency_ms = 30
    proc = start_entry_point(sim, workdir, "--no-artifacts")
    wait_for(lock_held(workdir), proc)
    time.sleep(0.5)
    proc.send_signal(sent)
    started = time.monotonic()
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - started < 15, "stops promptly"
    assert proc.returncode == code, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and word in lines[0] and "nothing is lost" in lines[0], err
    sim.latency_ms = 0
    healed = run_entry_point(sim, workdir, "--no-artifacts")
    assert healed.returncode == 0, healed.stderr
    assert stored_runs(workdir) == api_runs(sim)


def _recent_run_with_artifacts(sim: DbtCloudSimulator) -> int:
    runs = [sim.runs_by_id(run_id) for run_id in api_runs(sim)]
    finished = [run for run in runs if run["status"] == 10 and run["artifacts_saved"]]
    return max(finished, key=lambda run: run["finished_at"])["id"]


def test_an_artifact_that_always_fails_never_holds_the_runs_hostage(
    sim: DbtCloudSimulator, workdir: Path
) -> None:
    broken = _recent_run_with_artifacts(sim)
    sim.inject("500", count=None, path_contains=f"/runs/{broken}/artifacts")
    attempts = []
    for _ in range(4):
        proc = run_entry_point(sim, workdir)
        assert proc.returncode == 0, proc.stderr
        assert stored_runs(workdir) == api_runs(sim), "runs are stored whatever one artifact does"
        attempts.append(
            scalar(workdir, f"SELECT attempts FROM dbt_cloud.run_artifacts WHERE run_id = {broken}")
        )
        sim.advance(hours=1)
    assert attempts == [1, 2, 3, 3], "tried again by later loads, up to 3 times"
    sim.reset_requests()
    assert run_entry_point(sim, workdir).returncode == 0
    assert not [r for r in sim.requests if f"/runs/{broken}/artifacts" in r["path"]], "out of attempts"
    outcome, reason = one(
        workdir, f"SELECT outcome, reason FROM dbt_cloud.run_artifacts WHERE run_id = {broken}"
    )
    assert outcome == "failed" and "500" in reason


@pytest.mark.parametrize("body", ["html", "truncated"])
def test_an_unreadable_artifact_is_recorded_and_the_load_goes_on(
    sim: DbtCloudSimulator, workdir: Path, body: str
) -> None:
    broken = _recent_run_with_artifacts(sim)
    sim.inject(body, count=None, path_contains=f"/runs/{broken}/artifacts")
    proc = run_entry_point(sim, workdir)
    assert proc.returncode == 0, proc.stderr
    assert stored_runs(workdir) == api_runs(sim)
    outcome, reason, attempts = one(
        workdir, f"SELECT outcome, reason, attempts FROM dbt_cloud.run_artifacts WHERE run_id = {broken}"
    )
    loaded = scalar(workdir, "SELECT count(*) FROM dbt_cloud.run_artifacts WHERE outcome = 'loaded'")
    assert (outcome, attempts) == ("unreadable", 1) and "not JSON" in reason
    assert loaded > 0, "the other runs' artifacts were loaded"


def test_the_first_failure_is_counted_in_the_summary(sim: DbtCloudSimulator, workdir: Path) -> None:
    broken = _recent_run_with_artifacts(sim)
    sim.inject("500", count=None, path_contains=f"/runs/{broken}/artifacts")
    proc = run_entry_point(sim, workdir)
    assert proc.returncode == 0, proc.stderr
    recorded = one(workdir, f"SELECT outcome, attempts FROM dbt_cloud.run_artifacts WHERE run_id = {broken}")
    assert recorded == ("failed", 1)
    # the wording is the feature here: the operator reads of the failure in the summary
    assert "1 failed (recorded in run_artifacts" in proc.stdout


def test_artifacts_skipped_by_no_artifacts_are_fetched_by_a_later_load(
    sim: DbtCloudSimulator, workdir: Path
) -> None:
    assert run_entry_point(sim, workdir, "--no-artifacts").returncode == 0
    assert scalar(workdir, "SELECT count(*) FROM dbt_cloud.run_artifacts") == 0
    later = run_entry_point(sim, workdir)
    assert later.returncode == 0, later.stderr
    owed = scalar(
        workdir,
        "SELECT count(*) FROM dbt_cloud.runs WHERE artifacts_saved AND status IN (10, 20, 30) "
        "AND finished_at >= (SELECT max(as_of) FROM dbt_cloud.loads) "
        f"- INTERVAL {DEFAULT_FIRST_LOAD_ARTIFACTS_DAYS} DAY",
    )  # the store's first load with artifacts on: it reaches back first_load_artifacts_days
    assert owed > 0
    assert scalar(workdir, "SELECT count(*) FROM dbt_cloud.run_artifacts") == owed


def test_since_in_the_future_is_refused(sim: DbtCloudSimulator, workdir: Path) -> None:
    proc = run_entry_point(sim, workdir, "--since", "2099-01-01", "--full-refresh", "--yes")
    assert proc.returncode == 2
    (line,) = error_lines(proc.stderr)
    assert "in the future" in line
    assert not (workdir / "dbt_runs.duckdb").exists(), "nothing was done"


@pytest.mark.parametrize("value", ["P1D", "yesterday", "2026-13-45"])
def test_since_that_is_not_a_date_is_one_line(sim: DbtCloudSimulator, workdir: Path, value: str) -> None:
    proc = run_entry_point(sim, workdir, "--since", value)
    assert proc.returncode == 2
    assert "not a date" in proc.stderr and "Traceback" not in proc.stderr


def test_full_refresh_needs_yes_and_keeps_a_copy_of_the_old_store(
    sim: DbtCloudSimulator, workdir: Path
) -> None:
    assert run_entry_point(sim, workdir, "--no-artifacts").returncode == 0
    stored = stored_runs(workdir)
    refused = run_entry_point(sim, workdir, "--full-refresh")
    assert refused.returncode == 2
    (line,) = error_lines(refused.stderr)
    assert f"drops the {len(stored)} stored runs" in line and "--yes" in line
    assert stored_runs(workdir) == stored, "nothing dropped"

    done = run_entry_point(sim, workdir, "--full-refresh", "--yes", "--since", "2026-11-01", "--no-artifacts")
    assert done.returncode == 0, done.stderr
    (copy,) = workdir.glob("dbt_runs.before-full-refresh-*.duckdb")
    assert str(copy) in done.stdout
    assert scalar(copy, "SELECT count(*) FROM dbt_cloud.runs") == len(stored)
    assert len(stored_runs(workdir)) < len(stored), "the refresh started at --since"


def test_a_view_that_cannot_be_created_fails_the_load_with_its_name(
    sim: DbtCloudSimulator, workdir: Path
) -> None:
    assert run_entry_point(sim, workdir, "--no-artifacts").returncode == 0
    with duckdb.connect(str(workdir / "dbt_runs.duckdb")) as con:
        con.execute("DROP VIEW dbt_cloud.failures")
        con.execute("CREATE TABLE dbt_cloud.failures (x INTEGER)")  # something else took the view's name
    sim.advance(hours=2)
    proc = run_entry_point(sim, workdir, "--no-artifacts")
    assert proc.returncode == 6
    (line,) = error_lines(proc.stderr)
    assert "failures" in line and "could not be created" in line


def test_an_unusable_state_dir_is_one_line(sim: DbtCloudSimulator, workdir: Path) -> None:
    (workdir / "a_file").write_text("not a folder")
    proc = run_entry_point(sim, workdir, extra_env={"DLT_DATA_DIR": str(workdir / "a_file" / "dlt")})
    assert proc.returncode == 2
    (line,) = error_lines(proc.stderr)
    assert "DLT_DATA_DIR" in line
