"""The SQL views on a fixed, hand-built dataset, with hand-computed expected values.

"Now" is `loads.as_of` = 2026-11-20 12:00 UTC, so nothing here depends on the wall clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from dbt_cloud_runs.run_results import RUN_RESULTS_SCHEMA
from dbt_cloud_runs.views import SQL_DIR, apply_views, view_files
from dlt.destinations.exceptions import DatabaseTerminalException

AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)

TABLES = {
    "runs": """id BIGINT, account_id BIGINT, project_id BIGINT, environment_id BIGINT,
        job_definition_id BIGINT,
        status BIGINT, status_message VARCHAR, dbt_version VARCHAR, git_branch VARCHAR, git_sha VARCHAR,
        created_at TIMESTAMPTZ, dequeued_at TIMESTAMPTZ, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
        href VARCHAR, trigger__cause VARCHAR, trigger__github_pull_request_id BIGINT,
        trigger__gitlab_merge_request_id BIGINT, trigger__azure_pull_request_id BIGINT,
        retrying_run_id BIGINT""",
    "jobs": "id BIGINT, name VARCHAR, project_id BIGINT, environment_id BIGINT, state BIGINT, "
    "last_seen_at TIMESTAMPTZ",
    "projects": "id BIGINT, name VARCHAR",
    "environments": "id BIGINT, name VARCHAR, project_id BIGINT",
    "loads": "load_id VARCHAR, as_of TIMESTAMPTZ",
    "load_checks": "checked_at TIMESTAMPTZ",
}


class Client:
    """The part of dlt's sql_client that `apply_views` uses, over a plain DuckDB connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute_sql(self, sql: str) -> None:
        try:
            self.con.execute(sql)
        except duckdb.Error as exc:
            raise DatabaseTerminalException(exc) from exc


def make_db(with_load: bool = True) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA dbt_cloud")
    for name, columns in TABLES.items():
        con.execute(f"CREATE TABLE dbt_cloud.{name} ({columns})")
    empty_results = RUN_RESULTS_SCHEMA.empty_table()  # noqa: F841 - read by DuckDB's replacement scan
    con.execute("CREATE TABLE dbt_cloud.run_results AS SELECT * FROM empty_results")
    if with_load:
        con.execute("INSERT INTO dbt_cloud.loads VALUES ('l1', ?)", [AS_OF])
    return con


def add_run(
    con,
    run_id: int,
    job_id: int,
    created: datetime,
    status: int,
    queue: float | None = None,
    run: float | None = None,
    cause: str | None = "Kicked off by the scheduler",
    pr: int | None = None,
    project_id: int | None = 1,
    environment_id: int | None = 11,
    finished_after: float | None = None,
):
    started = created + timedelta(seconds=queue) if queue is not None else None
    finished = started + timedelta(seconds=run) if started is not None and run is not None else None
    if finished_after is not None:
        finished = created + timedelta(seconds=finished_after)
    con.execute(
        "INSERT INTO dbt_cloud.runs (id, project_id, environment_id, job_definition_id, status,"
        " status_message, git_branch, created_at, started_at, finished_at, href, trigger__cause,"
        " trigger__github_pull_request_id)"
        " VALUES (?, ?, ?, ?, ?, ?, 'main', ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            project_id,
            environment_id,
            job_id,
            status,
            "Database Error" if status == 20 else None,
            created,
            started,
            finished,
            f"https://cloud.getdbt.com/runs/{run_id}/",
            cause,
            pr,
        ],
    )


@pytest.fixture(scope="module")
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    con = make_db()
    con.execute("INSERT INTO dbt_cloud.projects VALUES (1, 'Analytics')")
    con.execute("INSERT INTO dbt_cloud.environments VALUES (11, 'Production', 1), (12, 'Staging', 1)")
    jobs = [
        (1, "Nightly", 11, AS_OF),
        (2, "Never succeeds", 11, AS_OF),
        (3, "Only cancelled", 12, AS_OF),
        (4, "Deleted job", 12, AS_OF - DAY),
        (5, "One run", 11, AS_OF),
        (6, "Got slow", 11, AS_OF),
    ]
    for job_id, name, env, seen in jobs:
        con.execute("INSERT INTO dbt_cloud.jobs VALUES (?, ?, 1, ?, 1, ?)", [job_id, name, env, seen])
    # job 1: a success 20 days ago, then errors (a cancelled run in between), and a queued run now
    add_run(con, 101, 1, AS_OF - 40 * DAY, 10, 60, 600)
    add_run(con, 102, 1, AS_OF - 20 * DAY, 10, 30, 300, cause="Kicked off from UI by jane@example.com")
    add_run(con, 103, 1, AS_OF - 10 * DAY, 20, 30, 100, cause="Triggered by GitHub pull request #42", pr=42)
    add_run(con, 104, 1, AS_OF - 5 * DAY, 30, 10, 50, cause="Kicked off from Airflow")
    add_run(con, 105, 1, AS_OF - 3 * DAY, 20, 20, 200, cause=None)
    add_run(con, 106, 1, AS_OF - timedelta(hours=1), 1, cause="Scheduled")
    # job 2: never succeeded
    add_run(con, 201, 2, AS_OF - 2 * DAY, 20, 5, 50)
    add_run(con, 202, 2, AS_OF - 1 * DAY, 20, 5, 70)
    # job 3: only a run cancelled before it started
    add_run(con, 301, 3, AS_OF - 2 * DAY, 30, finished_after=10, environment_id=12)
    # job 4: deleted in dbt Cloud (missing from the latest listing)
    add_run(con, 401, 4, AS_OF - 6 * DAY, 10, 10, 100, environment_id=12)
    # job 5: one run, still running
    add_run(con, 501, 5, AS_OF - timedelta(hours=12), 3, 15)
    # job 6: 3 successes this week at ~11 min, 3 in the previous weeks at ~5 min
    for run_id, days, seconds in [
        (601, 1, 600),
        (602, 2, 660),
        (603, 3, 720),
        (604, 10, 300),
        (605, 14, 310),
        (606, 20, 320),
    ]:
        add_run(con, run_id, 6, AS_OF - days * DAY, 10, 0, seconds)
    # job 99: unknown to the jobs listing (deleted before our first load)
    add_run(con, 991, 99, AS_OF - timedelta(hours=3), 10, 1, 9)
    result = apply_views(Client(con))
    assert not result.failed, result.failed
    yield con


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_every_file_is_one_documented_view_named_after_it() -> None:
    files = view_files()
    assert {f.stem for f in files} >= {
        "as_of",
        "status_codes",
        "runs_enriched",
        "job_health",
        "daily_runs",
        "failures",
        "run_triggers",
        "slow_runs",
    }
    for path in files:
        text = path.read_text()
        assert text.startswith("-- Question:"), f"{path.name}: the header says what question it answers"
        assert re.findall(r"CREATE OR REPLACE VIEW dbt_cloud\.(\w+)", text) == [path.stem], path


def test_status_codes(db) -> None:
    assert rows(db, "SELECT status, status_name, is_final FROM dbt_cloud.status_codes ORDER BY status") == [
        (1, "Queued", False),
        (2, "Starting", False),
        (3, "Running", False),
        (10, "Success", True),
        (20, "Error", True),
        (30, "Cancelled", True),
    ]


def test_as_of_is_the_latest_load(db) -> None:
    assert rows(db, "SELECT as_of FROM dbt_cloud.as_of") == [(AS_OF,)]


def test_runs_enriched(db) -> None:
    got = rows(
        db,
        """SELECT id, job_name, project_name, environment_name, status_name, is_final, trigger_kind,
                          queued_seconds, run_seconds, job_deleted
                      FROM dbt_cloud.runs_enriched WHERE id IN (102, 106, 301, 401, 501, 991) ORDER BY id""",
    )
    assert got == [
        (102, "Nightly", "Analytics", "Production", "Success", True, "manual", 30.0, 300.0, False),
        (106, "Nightly", "Analytics", "Production", "Queued", False, "scheduled", None, None, False),
        (301, "Only cancelled", "Analytics", "Staging", "Cancelled", True, "scheduled", None, None, False),
        (401, "Deleted job", "Analytics", "Staging", "Success", True, "scheduled", 10.0, 100.0, True),
        (501, "One run", "Analytics", "Production", "Running", False, "scheduled", 15.0, None, False),
        (991, None, "Analytics", "Production", "Success", True, "scheduled", 1.0, 9.0, False),
    ]
    assert rows(db, "SELECT count(*) FROM dbt_cloud.runs_enriched") == [(18,)]


def test_run_triggers(db) -> None:
    got = rows(db, "SELECT run_id, trigger_kind FROM dbt_cloud.run_triggers WHERE job_id = 1 ORDER BY run_id")
    assert got == [
        (101, "scheduled"),
        (102, "manual"),
        (103, "pull_request"),
        (104, "api"),
        (105, "other"),
        (106, "scheduled"),
    ]


def test_failures_newest_first(db) -> None:
    got = rows(
        db, "SELECT run_id, job_name, environment_name, status_message, finished_at FROM dbt_cloud.failures"
    )
    assert got == [
        (202, "Never succeeds", "Production", "Database Error", AS_OF - DAY + timedelta(seconds=75)),
        (201, "Never succeeds", "Production", "Database Error", AS_OF - 2 * DAY + timedelta(seconds=55)),
        (105, "Nightly", "Production", "Database Error", AS_OF - 3 * DAY + timedelta(seconds=220)),
        (103, "Nightly", "Production", "Database Error", AS_OF - 10 * DAY + timedelta(seconds=130)),
    ]


def test_daily_runs(db) -> None:
    got = rows(
        db,
        """SELECT day::VARCHAR, job_id, job_name, environment_name, runs, successes, errors,
                          cancellations, round(run_minutes, 4), round(queued_minutes, 4)
                      FROM dbt_cloud.daily_runs WHERE job_id IN (1, 3) ORDER BY job_id, day""",
    )
    assert got == [
        ("2026-10-11", 1, "Nightly", "Production", 1, 1, 0, 0, 10.0, 1.0),
        ("2026-10-31", 1, "Nightly", "Production", 1, 1, 0, 0, 5.0, 0.5),
        ("2026-11-10", 1, "Nightly", "Production", 1, 0, 1, 0, round(100 / 60, 4), 0.5),
        ("2026-11-15", 1, "Nightly", "Production", 1, 0, 0, 1, round(50 / 60, 4), round(10 / 60, 4)),
        ("2026-11-17", 1, "Nightly", "Production", 1, 0, 1, 0, round(200 / 60, 4), round(20 / 60, 4)),
        ("2026-11-20", 1, "Nightly", "Production", 1, 0, 0, 0, 0.0, 0.0),
        ("2026-11-18", 3, "Only cancelled", "Staging", 1, 0, 0, 1, 0.0, 0.0),
    ]
    assert rows(db, "SELECT sum(runs) FROM dbt_cloud.daily_runs") == [(18,)]


JOB_HEALTH_COLUMNS = """job_id, job_name, project_name, environment_name, is_deleted, last_run_at,
    last_status_name, last_success_at, hours_since_success, consecutive_failures, runs_7d, success_rate_7d,
    runs_30d, success_rate_30d, p50_run_seconds_30d, p95_run_seconds_30d, p95_queued_seconds_30d"""


def health(db, job_id: int) -> dict:
    cursor = db.execute(f"SELECT {JOB_HEALTH_COLUMNS} FROM dbt_cloud.job_health WHERE job_id = ?", [job_id])
    names = [d[0] for d in cursor.description]
    (row,) = cursor.fetchall()
    return dict(zip(names, row, strict=True))


def test_job_health_job_with_errors_since_success(db) -> None:
    got = health(db, 1)
    assert got == {
        "job_id": 1,
        "job_name": "Nightly",
        "project_name": "Analytics",
        "environment_name": "Production",
        "is_deleted": False,
        "last_run_at": AS_OF - timedelta(hours=1),
        "last_status_name": "Queued",
        "last_success_at": AS_OF - 20 * DAY + timedelta(seconds=330),
        "hours_since_success": pytest.approx(480 - 330 / 3600),
        "consecutive_failures": 2,  # 103 and 105; the cancelled 104 neither breaks nor counts
        "runs_7d": 3,
        "success_rate_7d": 0.0,  # 104 (cancelled), 105 (error), 106 (queued)
        "runs_30d": 5,
        "success_rate_30d": pytest.approx(1 / 3),  # 102 ok; 103, 105 errors
        "p50_run_seconds_30d": 150.0,  # 50, 100, 200, 300
        "p95_run_seconds_30d": pytest.approx(285.0),  # 200 + 0.85 * 100
        "p95_queued_seconds_30d": pytest.approx(30.0),  # 10, 20, 30, 30
    }


def test_job_health_never_succeeded(db) -> None:
    got = health(db, 2)
    assert (got["last_success_at"], got["hours_since_success"], got["consecutive_failures"]) == (
        None,
        None,
        2,
    )
    assert (got["runs_7d"], got["success_rate_7d"], got["runs_30d"], got["success_rate_30d"]) == (
        2,
        0.0,
        2,
        0.0,
    )
    assert got["p50_run_seconds_30d"] == 60.0
    assert got["p95_run_seconds_30d"] == pytest.approx(69.0)
    assert got["p95_queued_seconds_30d"] == pytest.approx(5.0)
    assert got["last_status_name"] == "Error"


def test_job_health_only_cancelled(db) -> None:
    got = health(db, 3)
    assert got["environment_name"] == "Staging" and got["last_status_name"] == "Cancelled"
    assert (got["consecutive_failures"], got["runs_7d"], got["success_rate_7d"], got["success_rate_30d"]) == (
        0,
        1,
        None,
        None,
    )
    assert (got["p50_run_seconds_30d"], got["p95_queued_seconds_30d"], got["last_success_at"]) == (
        None,
        None,
        None,
    )


def test_job_health_deleted_and_unknown_jobs(db) -> None:
    deleted = health(db, 4)
    assert deleted["is_deleted"] is True and deleted["job_name"] == "Deleted job"
    assert deleted["last_success_at"] == AS_OF - 6 * DAY + timedelta(seconds=110)
    assert deleted["hours_since_success"] == pytest.approx(144 - 110 / 3600)
    unknown = health(db, 99)
    assert (unknown["job_name"], unknown["project_name"], unknown["is_deleted"], unknown["runs_7d"]) == (
        None,
        "Analytics",
        True,
        1,
    )


def test_job_health_one_open_run(db) -> None:
    got = health(db, 5)
    assert (got["last_status_name"], got["runs_7d"], got["success_rate_7d"], got["consecutive_failures"]) == (
        "Running",
        1,
        None,
        0,
    )
    assert (got["p50_run_seconds_30d"], got["p95_queued_seconds_30d"]) == (None, 15.0)


def test_job_health_lists_every_job(db) -> None:
    assert rows(db, "SELECT job_id FROM dbt_cloud.job_health ORDER BY job_id") == [
        (1,),
        (2,),
        (3,),
        (4,),
        (5,),
        (6,),
        (99,),
    ]


def test_slow_runs(db) -> None:
    got = rows(
        db,
        """SELECT job_id, job_name, runs_this_week, p50_run_seconds_this_week, runs_previous_weeks,
                          p50_run_seconds_previous_weeks, slowdown_ratio FROM dbt_cloud.slow_runs""",
    )
    assert got == [(6, "Got slow", 3, 660.0, 3, 310.0, pytest.approx(660 / 310))]


def test_views_on_empty_tables_and_no_load_yet() -> None:
    con = make_db(with_load=False)
    result = apply_views(Client(con))
    assert not result.failed, result.failed
    for name in [p.stem for p in view_files()]:
        count = con.execute(f"SELECT count(*) FROM dbt_cloud.{name}").fetchone()[0]
        assert count == (1 if name in ("as_of",) else 6 if name == "status_codes" else 0), name
    (now,) = con.execute("SELECT as_of FROM dbt_cloud.as_of").fetchone()
    assert abs((now - datetime.now(UTC)).total_seconds()) < 60, "falls back to the current time"


def test_dataset_name_is_substituted(tmp_path: Path) -> None:
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA other")
    con.execute("CREATE TABLE other.loads (load_id VARCHAR, as_of TIMESTAMPTZ)")
    con.execute("CREATE TABLE other.load_checks (checked_at TIMESTAMPTZ)")
    (tmp_path / "as_of.sql").write_text((SQL_DIR / "as_of.sql").read_text())
    result = apply_views(Client(con), dataset_name="other", sql_dir=tmp_path)
    assert result.created == ["as_of"]
