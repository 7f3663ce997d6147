"""A load as an operator sees it (issue 15, points 2 and 3), through the real entry point.

The summary in a cron log starts with the time and the account and reports the process's wall time;
dlt's data dir does not grow with every load.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dbt_cloud_runs.load_packages import KEEP_LOADED_PACKAGES
from dbt_cloud_simulator import DbtCloudSimulator
from e2e_support import NOW, TOKEN, scalar
from entry_point import run_entry_point

pytestmark = pytest.mark.e2e


@pytest.fixture
def small_sim() -> Iterator[DbtCloudSimulator]:
    with DbtCloudSimulator(runs=120, jobs=10, seed=21, now=NOW, token=TOKEN) as simulator:
        yield simulator


def loaded_packages(workdir: Path) -> list[Path]:
    loaded = workdir / "dlt" / "pipelines" / "dbt_runs" / "load" / "loaded"
    return sorted(loaded.iterdir()) if loaded.is_dir() else []


def test_summary_starts_with_the_time_and_the_account(small_sim: DbtCloudSimulator, workdir: Path) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    proc = run_entry_point(small_sim, workdir)

    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) Loaded dbt Cloud account (\d+) from ", first)
    assert match, first
    stamp = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
    assert before <= stamp <= datetime.now(UTC) + timedelta(seconds=1)
    assert int(match.group(2)) == small_sim.account_id
    elapsed = re.search(r"Elapsed: (\d+\.\d) s \(whole process; the load itself (\d+\.\d) s\)", proc.stdout)
    assert elapsed, proc.stdout
    assert float(elapsed.group(1)) >= float(elapsed.group(2))
    runs = re.search(r"Runs: (\d+) new, (\d+) stored runs rewritten", proc.stdout)
    assert runs, proc.stdout
    stored = scalar(workdir, "SELECT count(*) FROM dbt_cloud.runs")
    assert (int(runs.group(1)), int(runs.group(2))) == (stored, 0), "the summary counts what was stored"


def test_completed_load_packages_do_not_pile_up(small_sim: DbtCloudSimulator, workdir: Path) -> None:
    for _ in range(KEEP_LOADED_PACKAGES + 2):
        proc = run_entry_point(small_sim, workdir)
        assert proc.returncode == 0, proc.stderr
        small_sim.advance(hours=3)  # new runs: every load writes a package

    packages = loaded_packages(workdir)
    assert len(packages) == KEEP_LOADED_PACKAGES
    data_files = [f for package in packages for f in (package / "completed_jobs").glob("*") if f.is_file()]
    assert data_files == [], "dlt deleted the loaded files of every completed package"


def test_an_explicit_setting_keeps_dlts_files(small_sim: DbtCloudSimulator, workdir: Path) -> None:
    proc = run_entry_point(small_sim, workdir, extra_env={"LOAD__DELETE_COMPLETED_JOBS": "false"})
    assert proc.returncode == 0, proc.stderr

    (package,) = loaded_packages(workdir)
    assert any((package / "completed_jobs").iterdir())


def test_progress_goes_to_stderr_one_line_per_phase(small_sim: DbtCloudSimulator, workdir: Path) -> None:
    proc = run_entry_point(small_sim, workdir)

    assert proc.returncode == 0, proc.stderr
    phases = [line.split(":")[0] for line in proc.stderr.splitlines()]
    assert phases == ["Extract dbt_cloud", "Normalize dbt_cloud", "Load dbt_cloud"], proc.stderr
    assert "runs 120" in proc.stderr.splitlines()[0]
    assert "Extract" not in proc.stdout and "\r" not in proc.stderr


def test_quiet_prints_nothing_and_verbose_adds_dlts_log(small_sim: DbtCloudSimulator, workdir: Path) -> None:
    quiet = run_entry_point(small_sim, workdir, "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert (quiet.stdout, quiet.stderr) == ("", "")

    small_sim.advance(hours=3)
    verbose = run_entry_point(small_sim, workdir, "--verbose")
    assert verbose.returncode == 0, verbose.stderr
    assert "Loaded dbt Cloud account" in verbose.stdout
    assert "|[INFO]|" in verbose.stderr, verbose.stderr[-2000:]


@pytest.mark.parametrize("destination", ["filesystem"])
def test_a_destination_that_cannot_merge_is_refused_before_loading(
    small_sim: DbtCloudSimulator, workdir: Path, destination: str
) -> None:
    proc = run_entry_point(small_sim, workdir, "--destination", destination)

    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: The {destination} destination cannot merge rows on their id")
    assert proc.stdout == ""
    assert small_sim.requests == [], "refused before reading anything"


def test_a_refused_destination_leaves_the_next_load_quiet(
    small_sim: DbtCloudSimulator, workdir: Path
) -> None:
    assert run_entry_point(small_sim, workdir).returncode == 0
    assert run_entry_point(small_sim, workdir, "--destination", "filesystem").returncode == 2
    small_sim.advance(hours=1)
    again = run_entry_point(small_sim, workdir)
    assert again.returncode == 0, again.stderr
    assert "WARNING" not in again.stderr and "warning:" not in again.stderr, again.stderr
