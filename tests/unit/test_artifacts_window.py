"""How far back artifacts are fetched: 60 days on a store's first artifacts load, then 14.

Through `run_load` with requests-mock (the entry point's e2e test is tests/e2e/test_history_e2e.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import requests_mock
from dbt_cloud_runs.credentials import DbtCloudCredentials
from dbt_cloud_runs.destination import make_pipeline
from dbt_cloud_runs.pipeline import LoadSummary, run_load
from dbt_cloud_runs.settings import LoadSettings
from fake_api import ACCOUNT_ID, BASE_URL, TOKEN, FakeDbtCloud, make_run

AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAYS_AGO = {1: 5, 2: 30, 3: 50, 4: 70}
"""run id -> days before AS_OF it was created: inside 14, inside 60 (twice), outside 60"""


@pytest.fixture
def fake() -> Iterator[FakeDbtCloud]:
    api = FakeDbtCloud()
    api.add_job(1, "Nightly build")
    api.add_runs(*(make_run(run_id, AS_OF - timedelta(days=days)) for run_id, days in DAYS_AGO.items()))
    for run_id in DAYS_AGO:
        api.artifacts[run_id] = document(run_id)
    with requests_mock.Mocker() as mocker:
        api.install(mocker)
        yield api


def document(run_id: int) -> dict:
    return {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json"},
        "results": [
            {"unique_id": "model.analytics.orders", "status": "success", "execution_time": 1.0 + run_id}
        ],
        "elapsed_time": 2.0,
    }


def load(workdir: Path, as_of: datetime = AS_OF, artifacts: bool = True, **settings: int) -> LoadSummary:
    credentials = DbtCloudCredentials()
    credentials.api_token, credentials.account_id, credentials.base_url = TOKEN, ACCOUNT_ID, BASE_URL
    load_settings = LoadSettings()
    load_settings.artifacts = artifacts
    for name, value in settings.items():
        setattr(load_settings, name, value)
    pipeline = make_pipeline(pipelines_dir=str(workdir / "pipelines"))
    return run_load(pipeline, credentials, load_settings, as_of=as_of)


def fetched_runs(fake: FakeDbtCloud) -> list[int]:
    paths = [path for _, path, _ in fake.requests if path.endswith("run_results.json")]
    return sorted(int(path.split("/")[1]) for path in paths)


def stored_artifacts(workdir: Path) -> dict[int, tuple[str, int]]:
    with duckdb.connect(str(workdir / "dbt_runs.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT run_id, outcome, attempts FROM dbt_cloud.run_artifacts").fetchall()
    return {run_id: (outcome, attempts) for run_id, outcome, attempts in rows}


def test_a_first_load_reaches_back_60_days_and_the_next_one_14(workdir: Path, fake: FakeDbtCloud) -> None:
    summary = load(workdir)
    assert fetched_runs(fake) == [1, 2, 3], "every run finished in the last 60 days, not the one 70 days old"
    assert summary.artifacts is not None and summary.artifacts.first_load_days == 60

    fake.add_runs(make_run(5, AS_OF + timedelta(hours=1)))
    fake.artifacts[5] = document(5)
    fake.requests.clear()
    summary = load(workdir, as_of=AS_OF + timedelta(hours=2))
    assert fetched_runs(fake) == [5], "only the new run: nothing of the first load's window again"
    assert summary.artifacts is not None and summary.artifacts.first_load_days is None


def test_the_window_is_a_setting_and_never_shorter_than_artifacts_days(
    workdir: Path, fake: FakeDbtCloud
) -> None:
    load(workdir, first_load_artifacts_days=3, artifacts_days=40)
    assert fetched_runs(fake) == [1, 2]


def test_the_first_load_with_artifacts_on_after_loads_without_them_is_a_first_artifacts_load(
    workdir: Path, fake: FakeDbtCloud
) -> None:
    load(workdir, artifacts=False)
    assert fetched_runs(fake) == []
    fake.requests.clear()
    load(workdir, as_of=AS_OF + timedelta(hours=1))  # nothing new in the account: the backlog is the work
    assert fetched_runs(fake) == [1, 2, 3]
    fake.requests.clear()
    summary = load(workdir, as_of=AS_OF + timedelta(hours=2))
    assert fetched_runs(fake) == []
    assert summary.nothing_changed, "no backlog left: the no-op path"


def test_runs_skipped_after_the_first_load_are_owed_within_artifacts_days_only(
    workdir: Path, fake: FakeDbtCloud
) -> None:
    load(workdir)
    new = {6: AS_OF - timedelta(days=20), 7: AS_OF + timedelta(hours=1)}  # listed late / new
    fake.add_runs(*(make_run(run_id, created) for run_id, created in new.items()))
    fake.artifacts.update({run_id: document(run_id) for run_id in new})
    load(workdir, as_of=AS_OF + timedelta(hours=2), artifacts=False, lookback_hours=24 * 30)
    fake.requests.clear()
    load(workdir, as_of=AS_OF + timedelta(hours=3))
    assert fetched_runs(fake) == [7], "run 6 finished 20 days ago: outside artifacts_days now"


def test_a_failed_fetch_of_the_first_load_is_retried_after_the_window_moved_on(
    workdir: Path, fake: FakeDbtCloud
) -> None:
    fake.artifacts[3] = ["not", "a", "document"]  # 50 days old; unreadable: later loads retry it
    load(workdir)
    assert stored_artifacts(workdir)[3] == ("unreadable", 1)
    fake.artifacts[3] = document(3)
    fake.requests.clear()
    load(workdir, as_of=AS_OF + timedelta(hours=1))
    assert fetched_runs(fake) == [3]
    assert stored_artifacts(workdir)[3] == ("loaded", 2)


def test_a_store_loaded_with_a_shorter_first_window_fills_in_with_one_longer_load(
    workdir: Path, fake: FakeDbtCloud
) -> None:
    """The README's way to fill in a store whose first load fetched 14 days: one load with 60."""
    load(workdir, first_load_artifacts_days=14)
    assert fetched_runs(fake) == [1]
    fake.requests.clear()
    load(workdir, as_of=AS_OF + timedelta(hours=1), artifacts_days=60)
    assert fetched_runs(fake) == [2, 3]
    fake.requests.clear()
    load(workdir, as_of=AS_OF + timedelta(hours=2))
    assert fetched_runs(fake) == []
