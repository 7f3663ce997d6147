"""The load against an exact in-memory API (requests-mock): paging, early stop, lookback, open runs,
deleted jobs, timestamps, and the DuckDB tables that result — checked value by value."""

from __future__ import annotations

import json
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
from fake_api import ACCOUNT_ID, BASE_URL, T0, TOKEN, FakeDbtCloud, fmt, make_run

AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeDbtCloud]:
    api = FakeDbtCloud()
    api.add_job(1, "Nightly build")
    api.add_job(2, "Hourly marts")
    with requests_mock.Mocker() as mocker:
        api.install(mocker)
        yield api


def credentials() -> DbtCloudCredentials:
    creds = DbtCloudCredentials()
    creds.api_token = TOKEN
    creds.account_id = ACCOUNT_ID
    creds.base_url = BASE_URL
    return creds


def load(workdir: Path, lookback_hours: float = 6.0, **kwargs) -> LoadSummary:
    settings = LoadSettings()
    settings.lookback_hours = lookback_hours
    pipeline = make_pipeline(pipelines_dir=str(workdir / "pipelines"))
    return run_load(pipeline, credentials(), settings, **kwargs)


def db_rows(workdir: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(workdir / "dbt_runs.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def runs_requests(fake: FakeDbtCloud) -> list[int]:
    """Offsets of the run listing pages requested, in order."""
    return [int(q["offset"][0]) for method, path, q in fake.requests if path == "runs"]


def hourly_runs(count: int, start_id: int = 1, job_id: int = 1, status: int = 10) -> list[dict]:
    return [
        make_run(start_id + i, T0 + timedelta(hours=start_id + i), status=status, job_id=job_id)
        for i in range(count)
    ]


def test_first_load_stores_exact_rows_and_types(workdir: Path, fake: FakeDbtCloud) -> None:
    fake.add_runs(
        make_run(
            1,
            datetime(2026, 11, 2, 8, 15, 49, 123456, tzinfo=UTC),
            status=10,
            job_id=1,
            queue_seconds=30,
            run_seconds=600,
        ),
        make_run(
            2, datetime(2026, 11, 2, 9, 0, 0, tzinfo=UTC), status=20, job_id=2, cause="Triggered via API"
        ),
        make_run(
            3,
            datetime(2026, 11, 2, 10, 0, 0, tzinfo=UTC),
            status=1,
            job_id=1,
            cause="Triggered by GitHub pull request #77",
        ),
    )
    summary = load(workdir, as_of=AS_OF)

    assert (summary.runs_new, summary.runs_updated, summary.runs_total) == (3, 0, 3)
    assert (summary.jobs, summary.projects, summary.environments) == (2, 1, 1)
    assert summary.open_runs_still_open == 1
    rows = db_rows(
        workdir,
        """
        SELECT id, job_definition_id, status, created_at, started_at, finished_at, trigger__cause,
               trigger__steps_override, trigger__github_pull_request_id, status_message, duration
        FROM dbt_cloud.runs ORDER BY id""",
    )
    utc = UTC
    assert rows == [
        (
            1,
            1,
            10,
            datetime(2026, 11, 2, 8, 15, 49, 123456, tzinfo=utc),
            datetime(2026, 11, 2, 8, 16, 19, 123456, tzinfo=utc),
            datetime(2026, 11, 2, 8, 26, 19, 123456, tzinfo=utc),
            "Kicked off by the scheduler",
            None,
            None,
            None,
            "00:10:30",
        ),
        (
            2,
            2,
            20,
            datetime(2026, 11, 2, 9, 0, tzinfo=utc),
            datetime(2026, 11, 2, 9, 0, 30, tzinfo=utc),
            datetime(2026, 11, 2, 9, 5, 30, tzinfo=utc),
            "Triggered via API",
            json.dumps(["dbt build -s orders"]),
            None,
            "Database Error in model orders",
            "00:05:30",
        ),
        (
            3,
            1,
            1,
            datetime(2026, 11, 2, 10, 0, tzinfo=utc),
            None,
            None,
            "Triggered by GitHub pull request #77",
            None,
            77,
            None,
            None,
        ),
    ]
    types = dict(
        db_rows(
            workdir,
            """
        SELECT column_name, data_type FROM information_schema.columns
        WHERE table_schema = 'dbt_cloud' AND table_name = 'runs'""",
        )
    )
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["finished_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["id"] == "BIGINT"
    assert not any("step" in name and "override" not in name for name in types), "step logs must be left out"
    assert "_dlt_load_id" in types
    jobs = db_rows(
        workdir,
        "SELECT id, name, project_id, threads, execute_steps, last_seen_at FROM dbt_cloud.jobs ORDER BY id",
    )
    assert jobs == [
        (1, "Nightly build", 10, 4, '["dbt build"]', AS_OF),
        (2, "Hourly marts", 10, 4, '["dbt build"]', AS_OF),
    ]
    assert db_rows(workdir, "SELECT id, name FROM dbt_cloud.projects") == [(10, "Analytics")]
    assert db_rows(workdir, "SELECT id, name, deployment_type FROM dbt_cloud.environments") == [
        (100, "Production", "production")
    ]
    assert db_rows(workdir, "SELECT as_of FROM dbt_cloud.loads") == [(AS_OF,)]


def test_every_request_asks_for_trigger_and_pages_of_100(workdir: Path, fake: FakeDbtCloud) -> None:
    fake.add_runs(*hourly_runs(120))
    load(workdir)
    listing = [q for _, path, q in fake.requests if path == "runs"]
    assert listing and all(q["include_related"] == ['["trigger"]'] for q in listing)
    assert all(q["order_by"] == ["-created_at"] and q["limit"] == ["100"] for q in listing)


@pytest.mark.parametrize("page_cap,short_pages", [(100, {100}), (40, set()), (100, {0, 200})])
def test_paging_steps_by_rows_received(
    workdir: Path, fake: FakeDbtCloud, page_cap: int, short_pages: set
) -> None:
    """A page with fewer rows than asked (capped, or short) must not make us skip rows."""
    fake.page_cap = page_cap
    fake.short_pages = short_pages
    fake.add_runs(*hourly_runs(350))
    summary = load(workdir)
    assert summary.runs_total == 350
    assert db_rows(workdir, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM dbt_cloud.runs") == [
        (350, 350, 1, 350)
    ]


def test_incremental_load_stops_at_first_old_run(workdir: Path, fake: FakeDbtCloud) -> None:
    fake.add_runs(*hourly_runs(300))
    load(workdir, lookback_hours=6)
    fake.requests.clear()
    fake.add_runs(*hourly_runs(5, start_id=301))
    summary = load(workdir, lookback_hours=6)
    assert runs_requests(fake) == [0], "one page holds the 5 new runs and the 6 h lookback"
    assert (summary.runs_new, summary.runs_total) == (5, 305)
    # the lookback window (runs created at cursor-6h .. cursor) is re-read, but nothing in it changed
    assert summary.runs_updated == 0
    assert db_rows(workdir, "SELECT count(DISTINCT _dlt_load_id) FROM dbt_cloud.runs WHERE id > 290") == [
        (2,)
    ]


def test_lookback_rewrites_only_runs_that_changed(workdir: Path, fake: FakeDbtCloud) -> None:
    fake.add_runs(*hourly_runs(300))
    load(workdir, lookback_hours=6)
    changed = fake.runs[297]
    changed["status_message"] = "edited after the run"
    changed["updated_at"] = fmt(T0 + timedelta(hours=400))
    fake.add_runs(*hourly_runs(1, start_id=301))
    summary = load(workdir, lookback_hours=6)
    assert (summary.runs_new, summary.runs_updated) == (1, 1)
    rewritten = db_rows(
        workdir,
        "SELECT id FROM dbt_cloud.runs WHERE _dlt_load_id = (SELECT max(_dlt_load_id) FROM dbt_cloud.runs) "
        "ORDER BY id",
    )
    assert rewritten == [(297,), (301,)]
    assert db_rows(workdir, "SELECT status_message FROM dbt_cloud.runs WHERE id = 297") == [
        ("edited after the run",)
    ]


def test_incremental_load_pages_until_cursor_minus_lookback(workdir: Path, fake: FakeDbtCloud) -> None:
    fake.add_runs(*hourly_runs(300))
    load(workdir, lookback_hours=6)
    fake.requests.clear()
    fake.add_runs(*hourly_runs(250, start_id=301))
    summary = load(workdir, lookback_hours=6)
    offsets = runs_requests(fake)
    assert sorted(offsets)[:3] == [0, 100, 200], offsets  # read-ahead requests run concurrently
    assert len(offsets) <= 5, "read-ahead past the page holding the cursor stays within two pages"
    assert (summary.runs_new, summary.runs_total) == (250, 550)


def test_lookback_window_picks_up_late_runs(workdir: Path, fake: FakeDbtCloud) -> None:
    """A run that shows up after its neighbours (created before the cursor) is caught by the lookback."""
    fake.add_runs(*hourly_runs(50))
    cursor = T0 + timedelta(hours=50)
    load(workdir, lookback_hours=3)
    fake.add_runs(make_run(9001, cursor - timedelta(hours=2)), make_run(9002, cursor - timedelta(hours=5)))
    load(workdir, lookback_hours=3)
    ids = {row[0] for row in db_rows(workdir, "SELECT id FROM dbt_cloud.runs WHERE id > 9000")}
    assert ids == {9001}, "2 h before the cursor is inside a 3 h lookback, 5 h is not"


def test_open_runs_are_refreshed_by_id_however_old(workdir: Path, fake: FakeDbtCloud) -> None:
    old = T0 + timedelta(hours=1)
    fake.add_runs(make_run(7, old, status=3), *hourly_runs(200, start_id=100))
    first = load(workdir, lookback_hours=1)
    assert first.open_runs_still_open == 1
    assert db_rows(workdir, "SELECT status, finished_at FROM dbt_cloud.runs WHERE id = 7") == [(3, None)]

    fake.add_runs(make_run(7, old, status=10, queue_seconds=30, run_seconds=600))
    fake.requests.clear()
    summary = load(workdir, lookback_hours=1)
    assert ("GET", "runs/7", {"include_related": ['["trigger"]']}) in fake.requests
    assert runs_requests(fake) == [0]
    assert (summary.open_runs_refreshed, summary.open_runs_now_final, summary.open_runs_still_open) == (
        1,
        1,
        0,
    )
    assert db_rows(workdir, "SELECT status, finished_at FROM dbt_cloud.runs WHERE id = 7") == [
        (10, old + timedelta(seconds=630))
    ]
    fake.requests.clear()
    load(workdir, lookback_hours=1)
    assert not [path for _, path, _ in fake.requests if path.startswith("runs/")], (
        "final runs are not re-read"
    )


def test_deleted_job_keeps_its_name(workdir: Path, fake: FakeDbtCloud) -> None:
    fake.add_runs(*hourly_runs(3, job_id=2))
    load(workdir, as_of=AS_OF)
    fake.delete_job(2)
    later = AS_OF + timedelta(hours=1)
    load(workdir, as_of=later)
    # jobs are listed with state=all: the deleted job is still listed, with state 2
    assert db_rows(workdir, "SELECT id, name, state, last_seen_at FROM dbt_cloud.jobs ORDER BY id") == [
        (1, "Nightly build", 1, later),
        (2, "Hourly marts", 2, later),
    ]
    assert db_rows(workdir, "SELECT DISTINCT job_name, job_deleted FROM dbt_cloud.runs_enriched") == [
        ("Hourly marts", True)
    ]
    assert db_rows(workdir, "SELECT count(*) FROM dbt_cloud.runs WHERE job_definition_id = 2") == [(3,)]


def test_reload_never_duplicates(workdir: Path, fake: FakeDbtCloud) -> None:
    fake.add_runs(*hourly_runs(150))
    load(workdir, lookback_hours=10_000)
    load(workdir, lookback_hours=10_000)
    assert db_rows(workdir, "SELECT count(*), count(DISTINCT id) FROM dbt_cloud.runs") == [(150, 150)]
    assert db_rows(workdir, "SELECT count(*) FROM dbt_cloud.jobs") == [(2,)]


def test_since_limits_the_first_load(workdir: Path, fake: FakeDbtCloud) -> None:
    fake.add_runs(*hourly_runs(500))
    since = T0 + timedelta(hours=401)
    load(workdir, since=since)
    assert db_rows(workdir, "SELECT count(*), min(id) FROM dbt_cloud.runs") == [(100, 401)]
    assert max(runs_requests(fake)) <= 200


def test_full_refresh_reloads_from_scratch(workdir: Path, fake: FakeDbtCloud) -> None:
    fake.add_runs(*hourly_runs(30))
    load(workdir, since=T0 + timedelta(hours=21))
    assert db_rows(workdir, "SELECT count(*) FROM dbt_cloud.runs") == [(10,)]
    summary = load(workdir, full_refresh=True)
    assert summary.runs_total == 30
    assert db_rows(workdir, "SELECT count(*) FROM dbt_cloud.runs") == [(30,)]


def run_results_document(run_id: int, models: int = 2) -> dict:
    """A minimal run_results.json (schema v6 shape) with `models` model results."""
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": "1.9.0",
            "generated_at": "2026-11-19T10:00:00.000000Z",
            "invocation_id": f"inv-{run_id}",
        },
        "results": [
            {
                "unique_id": f"model.analytics.model_{i}",
                "status": "success",
                "execution_time": 1.5 * (i + 1),
                "thread_id": "Thread-1",
                "adapter_response": {"rows_affected": 10 * i},
                "message": "OK",
                "failures": None,
                "timing": [],
            }
            for i in range(models)
        ],
        "elapsed_time": 9.5,
    }


def test_artifacts_fetched_once_and_missing_ones_recorded(workdir: Path, fake: FakeDbtCloud) -> None:
    recent = AS_OF - timedelta(days=2)
    fake.add_runs(
        make_run(1, AS_OF - timedelta(days=70)),  # finished before a first load's 60-day window: skipped
        make_run(2, recent),  # has an artifact
        make_run(3, recent + timedelta(hours=1), status=20),  # error run, artifact saved but 404
        make_run(4, recent + timedelta(hours=2), status=30),  # cancelled: artifacts_saved false
        make_run(5, recent + timedelta(hours=3), status=3),  # still running
    )
    fake.artifacts[2] = run_results_document(2)
    summary = load(workdir, as_of=AS_OF)
    assert summary.artifacts is not None
    assert (summary.artifacts.fetched, summary.artifacts.missing, summary.artifacts.failed) == (1, 1, 0)
    assert summary.artifacts.first_load_days == 60, "a store's first artifacts load reaches 60 days"
    fetched = sorted(path for _, path, _ in fake.requests if "artifacts" in path)
    assert fetched == ["runs/2/artifacts/run_results.json", "runs/3/artifacts/run_results.json"]
    assert db_rows(
        workdir,
        "SELECT run_id, unique_id, execution_time, rows_affected FROM dbt_cloud.run_results "
        "ORDER BY unique_id",
    ) == [
        (2, "model.analytics.model_0", 1.5, 0),
        (2, "model.analytics.model_1", 3.0, 10),
    ]
    assert db_rows(
        workdir, "SELECT run_id, outcome, results FROM dbt_cloud.run_artifacts ORDER BY run_id"
    ) == [
        (2, "loaded", 2),
        (3, "none", 0),
    ]

    # the running run finishes; a later load fetches only its artifact, never 2 or 3 again
    fake.add_runs(make_run(5, recent + timedelta(hours=3), status=10))
    fake.artifacts[5] = run_results_document(5, models=1)
    fake.requests.clear()
    load(workdir, as_of=AS_OF + timedelta(hours=1), lookback_hours=10_000)
    fetched = sorted(path for _, path, _ in fake.requests if "artifacts" in path)
    assert fetched == ["runs/5/artifacts/run_results.json"]
    assert db_rows(
        workdir, "SELECT run_id, count(*) FROM dbt_cloud.run_results GROUP BY run_id ORDER BY run_id"
    ) == [
        (2, 2),
        (5, 1),
    ]


def test_no_artifacts_switch(workdir: Path, fake: FakeDbtCloud) -> None:
    fake.add_runs(make_run(2, AS_OF - timedelta(days=1)))
    fake.artifacts[2] = run_results_document(2)
    settings = LoadSettings()
    settings.artifacts = False
    summary = run_load(make_pipeline(pipelines_dir=str(workdir / "p")), credentials(), settings, as_of=AS_OF)
    assert summary.artifacts is None
    assert db_rows(workdir, "SELECT count(*) FROM dbt_cloud.run_artifacts") == [(0,)]
    assert not summary.views.failed, "the (empty) run_results tables exist, so the model views do too"
    assert not [path for _, path, _ in fake.requests if "artifacts" in path]


def test_empty_account_still_gets_its_tables(workdir: Path, fake: FakeDbtCloud) -> None:
    summary = load(workdir, as_of=AS_OF)
    assert summary.runs_total == 0
    tables = {
        row[0]
        for row in db_rows(
            workdir, "SELECT table_name FROM information_schema.tables WHERE table_schema='dbt_cloud'"
        )
    }
    assert {"runs", "jobs", "projects", "environments", "loads", "run_results", "run_artifacts"} <= tables
    assert not summary.views.failed, summary.views.failed


def test_docs_generate_last_step_falls_back_to_the_build_step(workdir: Path, fake: FakeDbtCloud) -> None:
    """dbt Cloud serves the last step's run_results.json; after `dbt docs generate` we want the build's."""
    run = make_run(8, AS_OF - timedelta(days=1))
    run["run_steps"] = [
        {"index": 1, "name": "Clone git repository"},
        {"index": 2, "name": "Invoke dbt build"},
        {"index": 3, "name": "Invoke dbt docs generate"},
    ]
    fake.add_runs(run)
    docs = run_results_document(8, models=3)
    docs["args"] = {"which": "generate"}
    build = run_results_document(8, models=2)
    build["args"] = {"which": "build"}
    fake.artifacts[8] = docs
    fake.artifacts["8/2"] = build
    load(workdir, as_of=AS_OF)
    assert db_rows(workdir, "SELECT command, count(*) FROM dbt_cloud.run_results GROUP BY command") == [
        ("build", 2)
    ]
    assert ("GET", "runs/8", {"include_related": ['["run_steps"]']}) in fake.requests


def test_nothing_changed_records_the_check_without_rewriting(workdir: Path, fake: FakeDbtCloud) -> None:
    fake.add_runs(*hourly_runs(150), make_run(500, T0 + timedelta(hours=151), status=3))
    load(workdir, as_of=AS_OF)
    dlt_loads = db_rows(workdir, "SELECT count(*) FROM dbt_cloud._dlt_loads")
    fake.requests.clear()
    later = AS_OF + timedelta(minutes=30)
    summary = load(workdir, as_of=later)
    assert summary.nothing_changed
    assert (summary.runs_new, summary.runs_updated, summary.runs_total) == (0, 0, 151)
    assert (summary.open_runs_refreshed, summary.open_runs_still_open) == (1, 1)
    assert not summary.views.failed
    assert sorted(path for _, path, _ in fake.requests) == [
        "jobs",
        "runs",
        "runs/500",
        "v3/projects",
        "v3/projects/10/environments",
    ]
    assert db_rows(workdir, "SELECT count(*) FROM dbt_cloud._dlt_loads") == dlt_loads, "no dlt load ran"
    assert db_rows(workdir, "SELECT as_of FROM dbt_cloud.as_of") == [(later,)]
    assert db_rows(workdir, "SELECT count(*) FROM dbt_cloud.loads") == [(1,)], "loads holds dlt loads only"
    assert db_rows(workdir, "SELECT checked_at FROM dbt_cloud.load_checks") == [(later,)]
    unknown = (
        "SELECT count(*) FROM dbt_cloud.loads "
        "WHERE _dlt_load_id NOT IN (SELECT load_id FROM dbt_cloud._dlt_loads)"
    )
    assert db_rows(workdir, unknown) == [(0,)], "no forged dlt bookkeeping"


@pytest.mark.parametrize("change", ["job renamed", "open run finished", "new run", "job deleted"])
def test_any_change_takes_the_full_load_and_reads_the_head_once(
    workdir: Path, fake: FakeDbtCloud, change: str
) -> None:
    fake.add_runs(*hourly_runs(150), make_run(500, T0 + timedelta(hours=151), status=3))
    load(workdir, as_of=AS_OF)
    if change == "job renamed":
        fake.jobs[0].update(name="Nightly build v2", updated_at="2026-11-21 10:00:00+00:00")
    elif change == "open run finished":
        fake.add_runs(make_run(500, T0 + timedelta(hours=151), status=10))
    elif change == "new run":
        fake.add_runs(make_run(501, T0 + timedelta(hours=152)))
    else:
        fake.delete_job(2)
    fake.requests.clear()
    dlt_loads = db_rows(workdir, "SELECT count(*) FROM dbt_cloud._dlt_loads")[0][0]
    summary = load(workdir, as_of=AS_OF + timedelta(hours=1))
    assert not summary.nothing_changed
    assert db_rows(workdir, "SELECT count(*) FROM dbt_cloud._dlt_loads")[0][0] > dlt_loads, "a dlt load ran"
    assert db_rows(workdir, "SELECT count(*) FROM dbt_cloud.load_checks") == [(0,)], "not a bare check"
    first_pages = [path for _, path, query in fake.requests if query.get("offset") == ["0"]]
    assert sorted(first_pages) == ["jobs", "runs", "v3/projects", "v3/projects/10/environments"], (
        "each first page read once"
    )
    names = dict(db_rows(workdir, "SELECT id, name FROM dbt_cloud.jobs"))
    statuses = dict(db_rows(workdir, "SELECT id, status FROM dbt_cloud.runs WHERE id >= 500"))
    if change == "job renamed":
        assert names[1] == "Nightly build v2"
    elif change == "open run finished":
        assert statuses[500] == 10
    elif change == "new run":
        assert statuses == {500: 3, 501: 10}
    else:
        assert names[2] == "Hourly marts"
        assert db_rows(workdir, "SELECT id FROM dbt_cloud.jobs WHERE state = 2") == [(2,)]


def test_run_then_test_steps_both_loaded(workdir: Path, fake: FakeDbtCloud) -> None:
    """A job running `dbt run` then `dbt test`: models come from step 2, tests from the last step."""
    run = make_run(9, AS_OF - timedelta(days=1))
    run["run_steps"] = [
        {"index": 1, "name": "Clone git repository"},
        {"index": 2, "name": "Invoke dbt run"},
        {"index": 3, "name": "Invoke dbt test"},
    ]
    fake.add_runs(run)
    models = run_results_document(9, models=2)
    models["args"] = {"which": "run"}
    tests = run_results_document(9, models=1)  # model_0 again, as a later step reports it
    tests["args"] = {"which": "test"}
    tests["results"][0]["execution_time"] = 9.0
    tests["results"].append(
        dict(tests["results"][0], unique_id="test.analytics.not_null_x.abc", status="pass")
    )
    fake.artifacts[9] = tests
    fake.artifacts["9/2"] = models
    load(workdir, as_of=AS_OF)
    assert db_rows(
        workdir, "SELECT unique_id, command, execution_time FROM dbt_cloud.run_results ORDER BY unique_id"
    ) == [
        ("model.analytics.model_0", "test", 9.0),
        ("model.analytics.model_1", "run", 3.0),
        ("test.analytics.not_null_x.abc", "test", 9.0),
    ]
    assert db_rows(workdir, "SELECT results FROM dbt_cloud.run_artifacts WHERE run_id = 9") == [(3,)]
    steps = sorted(q.get("step", ["last"])[0] for _, path, q in fake.requests if "artifacts" in path)
    assert steps == ["2", "last"], "the last step is not fetched twice"
