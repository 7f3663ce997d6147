"""The three model-level views on an in-memory DuckDB: hand-built runs, documents parsed by the real code.

"Now" is 2026-11-20 12:00 UTC. The 30-day window is (2026-10-21 12:00, now], the previous one
(2026-09-21 12:00, 2026-10-21 12:00], the 7-day one (2026-11-13 12:00, now].

    job 1 "nightly" (env 100 prod)             job 2 "hourly" (env 101 staging)
    run 105 11-20 02:00 orders error 5         run 201 11-15 08:00 orders 7.5
            customers 4, payments skipped      run 301 (not in `runs`; execute start 11-16 09:00)
            unique_orders_id warn (1)                  stg_x 1.25, assert_total_positive error
    run 101 11-19 02:00 orders 10, customers 2
            not_null_orders_id fail (3)
    run 102 11-18 02:00 orders 20, customers error 1
    run 103 11-10 02:00 orders 30, customers skipped
    run 104 11-01 02:00 orders 40
    run 106 10-15 02:00 orders 8, not_null_orders_id fail (2)      <- previous 30 days
    run 107 10-01 02:00 orders 12, customers 3, retired 9         <- previous 30 days
    run 108 08-01 02:00 orders 100                                 <- older than both windows
    run 109 11-20 13:00 orders 1000                                <- after "now": ignored
    run 110 11-19 06:00 `dbt docs generate`: orders 0.02, customers 0.01 <- not a build: ignored
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from dbt_cloud_runs.run_results import RUN_RESULTS_SCHEMA, run_results_to_arrow
from dbt_cloud_runs.views import SQL_DIR  # noqa: E402

VIEW_FILES = ["model_timings.sql", "test_failures.sql", "slowest_models.sql"]
AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HREF = "https://cloud.getdbt.com/deploy/1/projects/500/runs/{}/"


def at(month: int, day: int, hour: int = 2, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def model(name: str, status: str, seconds: float) -> dict[str, Any]:
    return {"unique_id": f"model.pkg.{name}", "status": status, "execution_time": seconds, "timing": []}


def dbt_test(name: str, status: str, failures: int | None, message: str | None) -> dict[str, Any]:
    return {
        "unique_id": f"test.pkg.{name}",
        "status": status,
        "failures": failures,
        "message": message,
        "execution_time": 0.5,
    }


# run id -> (job, created_at or None when the run is not stored, results)
RUNS: dict[int, tuple[int, datetime | None, list[dict[str, Any]]]] = {
    105: (
        1,
        at(11, 20),
        [
            model("orders", "error", 5.0),
            model("customers", "success", 4.0),
            model("payments", "skipped", 0.0),
            dbt_test("unique_orders_id.bbbbbbbbbb", "warn", 1, "Got 1 result, configured to warn if != 0"),
            dbt_test("not_null_orders_id.aaaaaaaaaa", "pass", 0, None),
        ],
    ),
    101: (
        1,
        at(11, 19),
        [
            model("orders", "success", 10.0),
            model("customers", "success", 2.0),
            dbt_test("not_null_orders_id.aaaaaaaaaa", "fail", 3, "Got 3 results, configured to fail if != 0"),
        ],
    ),
    102: (1, at(11, 18), [model("orders", "success", 20.0), model("customers", "error", 1.0)]),
    103: (1, at(11, 10), [model("orders", "success", 30.0), model("customers", "skipped", 0.0)]),
    104: (1, at(11, 1), [model("orders", "success", 40.0)]),
    106: (
        1,
        at(10, 15),
        [
            model("orders", "success", 8.0),
            dbt_test("not_null_orders_id.aaaaaaaaaa", "fail", 2, "Got 2 results, configured to fail if != 0"),
        ],
    ),
    107: (
        1,
        at(10, 1),
        [
            model("orders", "success", 12.0),
            model("customers", "success", 3.0),
            model("retired", "success", 9.0),
        ],
    ),
    108: (1, at(8, 1), [model("orders", "success", 100.0)]),
    109: (1, at(11, 20, 13), [model("orders", "success", 1000.0)]),
    # the run's last step was `dbt docs generate`: compile-only timings, never counted
    110: (1, at(11, 19, 6), [model("orders", "success", 0.02), model("customers", "success", 0.01)]),
    201: (2, at(11, 15, 8), [model("orders", "success", 7.5)]),
    301: (
        2,
        None,
        [
            {
                "unique_id": "model.pkg.stg_x",
                "status": "success",
                "execution_time": 1.25,
                "timing": [
                    {
                        "name": "compile",
                        "started_at": "2026-11-16T08:59:59Z",
                        "completed_at": "2026-11-16T09:00:00Z",
                    },
                    {
                        "name": "execute",
                        "started_at": "2026-11-16T09:00:00Z",
                        "completed_at": "2026-11-16T09:00:01Z",
                    },
                ],
            },
            {
                "unique_id": "test.pkg.assert_total_positive",
                "status": "error",
                "failures": None,
                "message": "Database Error in test assert_total_positive",
                "execution_time": 0.2,
                "timing": [{"name": "execute", "started_at": "2026-11-16T09:00:02Z", "completed_at": None}],
            },
        ],
    ),
}
JOB_ENVIRONMENT = {1: 100, 2: 101}
COMMANDS = {110: "generate"}  # the others are `dbt build`


def _install_as_of(con: duckdb.DuckDBPyConnection) -> None:
    """The real sql/as_of.sql over a one-row `loads` and an empty `load_checks`."""
    con.execute(
        "CREATE TABLE dbt_cloud.loads "
        "(load_id TEXT, as_of TIMESTAMPTZ, since TIMESTAMPTZ, full_refresh BOOLEAN)"
    )
    con.execute("CREATE TABLE dbt_cloud.load_checks (checked_at TIMESTAMPTZ)")
    con.execute("INSERT INTO dbt_cloud.loads VALUES ('1', ?, NULL, false)", [AS_OF])
    con.execute((SQL_DIR / "as_of.sql").read_text())
    assert con.execute("SELECT as_of FROM dbt_cloud.as_of").fetchall() == [(AS_OF,)]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA dbt_cloud")
    con.execute("CREATE TABLE dbt_cloud.projects (id BIGINT, name TEXT)")
    con.execute("INSERT INTO dbt_cloud.projects VALUES (500, 'analytics')")
    con.execute("CREATE TABLE dbt_cloud.environments (id BIGINT, project_id BIGINT, name TEXT)")
    con.execute("INSERT INTO dbt_cloud.environments VALUES (100, 500, 'prod'), (101, 500, 'staging')")
    con.execute(
        "CREATE TABLE dbt_cloud.jobs (id BIGINT, project_id BIGINT, environment_id BIGINT, name TEXT)"
    )
    con.execute("INSERT INTO dbt_cloud.jobs VALUES (1, 500, 100, 'nightly'), (2, 500, 101, 'hourly')")
    con.execute(
        "CREATE TABLE dbt_cloud.runs (id BIGINT, job_definition_id BIGINT, environment_id BIGINT, "
        "project_id BIGINT, status BIGINT, created_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, href TEXT)"
    )
    tables = []
    for run_id, (job, created_at, results) in RUNS.items():
        run = {
            "id": run_id,
            "job_definition_id": job,
            "environment_id": JOB_ENVIRONMENT[job],
            "project_id": 500,
        }
        if created_at is not None:
            con.execute(
                "INSERT INTO dbt_cloud.runs VALUES (?, ?, ?, ?, 10, ?, ?, ?)",
                [run_id, job, JOB_ENVIRONMENT[job], 500, created_at, created_at, HREF.format(run_id)],
            )
        document = {
            "metadata": {
                "dbt_version": "1.9.0",
                "generated_at": "2026-11-16T09:00:05Z",
                "invocation_id": "x",
            },
            "results": results,
            "elapsed_time": 10.0,
            "args": {"which": COMMANDS.get(run_id, "build")},
        }
        tables.append(run_results_to_arrow(run, document))
    run_results = pa.concat_tables(tables)
    assert run_results.schema == RUN_RESULTS_SCHEMA
    con.register("run_results_arrow", run_results)
    con.execute("CREATE TABLE dbt_cloud.run_results AS SELECT * FROM run_results_arrow")
    con.unregister("run_results_arrow")
    _install_as_of(con)
    for name in VIEW_FILES:
        con.execute((SQL_DIR / name).read_text())
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, view: str) -> list[dict[str, Any]]:
    cursor = con.execute(f"SELECT * FROM dbt_cloud.{view}")
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.mark.parametrize("name", VIEW_FILES)
def test_view_files_are_one_schema_qualified_view_each(name: str) -> None:
    sql = (SQL_DIR / name).read_text()
    assert sql.startswith("-- ")
    assert sql.count("CREATE OR REPLACE VIEW") == 1
    assert f"CREATE OR REPLACE VIEW dbt_cloud.{name.removesuffix('.sql')} AS" in sql
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    assert body.rstrip().endswith(";") and body.count(";") == 1
    ctes = set(re.findall(r"(\w+) AS \(", body))
    read = re.findall(r"\b(?:FROM|JOIN)\s+([\w.]+)", body, flags=re.IGNORECASE)
    assert read
    assert [name for name in read if not name.startswith("dbt_cloud.") and name not in ctes] == []


def test_model_timings(con: duckdb.DuckDBPyConnection) -> None:
    base = {"last_run_at": at(11, 20)}
    assert rows(con, "model_timings") == [
        {
            # 30 days: 10, 20, 30, 40 (success) + run 105's error; previous: 8, 12
            "job_id": 1,
            "job_name": "nightly",
            "environment_name": "prod",
            "unique_id": "model.pkg.orders",
            "model_name": "orders",
            "runs_30d": 5,
            "p50_execution_seconds_30d": 25.0,
            "p95_execution_seconds_30d": 38.5,  # 30 + 0.85 * (40 - 30)
            "last_status": "error",
            **base,
            "p50_execution_seconds_prev_30d": 10.0,
            "change_pct": 150.0,
        },
        {
            "job_id": 2,
            "job_name": "hourly",
            "environment_name": "staging",
            "unique_id": "model.pkg.orders",
            "model_name": "orders",
            "runs_30d": 1,
            "p50_execution_seconds_30d": 7.5,
            "p95_execution_seconds_30d": 7.5,
            "last_status": "success",
            "last_run_at": at(11, 15, 8),
            "p50_execution_seconds_prev_30d": None,
            "change_pct": None,
        },
        {
            # 30 days: 2, 4 (success), 1 (error), skipped not counted; previous: 3
            "job_id": 1,
            "job_name": "nightly",
            "environment_name": "prod",
            "unique_id": "model.pkg.customers",
            "model_name": "customers",
            "runs_30d": 3,
            "p50_execution_seconds_30d": 3.0,
            "p95_execution_seconds_30d": 3.9,
            "last_status": "success",
            **base,
            "p50_execution_seconds_prev_30d": 3.0,
            "change_pct": 0.0,
        },
        {
            # run 301 is not stored: dated by its execute start, job/environment from the row itself
            "job_id": 2,
            "job_name": "hourly",
            "environment_name": "staging",
            "unique_id": "model.pkg.stg_x",
            "model_name": "stg_x",
            "runs_30d": 1,
            "p50_execution_seconds_30d": 1.25,
            "p95_execution_seconds_30d": 1.25,
            "last_status": "success",
            "last_run_at": at(11, 16, 9),
            "p50_execution_seconds_prev_30d": None,
            "change_pct": None,
        },
        {
            # only skipped in the window: listed, without timings
            "job_id": 1,
            "job_name": "nightly",
            "environment_name": "prod",
            "unique_id": "model.pkg.payments",
            "model_name": "payments",
            "runs_30d": 0,
            "p50_execution_seconds_30d": None,
            "p95_execution_seconds_30d": None,
            "last_status": "skipped",
            **base,
            "p50_execution_seconds_prev_30d": None,
            "change_pct": None,
        },
    ]


def test_test_failures(con: duckdb.DuckDBPyConnection) -> None:
    common = {"job_id": 1, "job_name": "nightly", "environment_name": "prod", "project_name": "analytics"}
    assert rows(con, "test_failures") == [
        {
            "run_id": 105,
            **common,
            "unique_id": "test.pkg.unique_orders_id.bbbbbbbbbb",
            "test_name": "unique_orders_id",
            "status": "warn",
            "failures": 1,
            "message": "Got 1 result, configured to warn if != 0",
            "run_created_at": at(11, 20),
            "href": HREF.format(105),
        },
        {
            "run_id": 101,
            **common,
            "unique_id": "test.pkg.not_null_orders_id.aaaaaaaaaa",
            "test_name": "not_null_orders_id",
            "status": "fail",
            "failures": 3,
            "message": "Got 3 results, configured to fail if != 0",
            "run_created_at": at(11, 19),
            "href": HREF.format(101),
        },
        {
            # run not stored: names come through the row's own ids, no created_at / href
            "run_id": 301,
            "job_id": 2,
            "job_name": "hourly",
            "environment_name": "staging",
            "project_name": "analytics",
            "unique_id": "test.pkg.assert_total_positive",
            "test_name": "assert_total_positive",
            "status": "error",
            "failures": None,
            "message": "Database Error in test assert_total_positive",
            "run_created_at": None,
            "href": None,
        },
        {
            "run_id": 106,
            **common,
            "unique_id": "test.pkg.not_null_orders_id.aaaaaaaaaa",
            "test_name": "not_null_orders_id",
            "status": "fail",
            "failures": 2,
            "message": "Got 2 results, configured to fail if != 0",
            "run_created_at": at(10, 15),
            "href": HREF.format(106),
        },
    ]


def test_slowest_models(con: duckdb.DuckDBPyConnection) -> None:
    # 7 days: runs 105, 101, 102 (job 1), 201 and 301 (job 2); run 109 is after "now", payments only skipped
    assert rows(con, "slowest_models") == [
        {
            "rank": 1,
            "unique_id": "model.pkg.orders",
            "model_name": "orders",
            "job_id": 1,
            "job_name": "nightly",
            "runs_7d": 3,
            "total_execution_seconds_7d": 35.0,  # 5 (error) + 10 + 20
            "avg_execution_seconds_7d": 11.667,
            "max_execution_seconds_7d": 20.0,
        },
        {
            "rank": 2,
            "unique_id": "model.pkg.orders",
            "model_name": "orders",
            "job_id": 2,
            "job_name": "hourly",
            "runs_7d": 1,
            "total_execution_seconds_7d": 7.5,
            "avg_execution_seconds_7d": 7.5,
            "max_execution_seconds_7d": 7.5,
        },
        {
            "rank": 3,
            "unique_id": "model.pkg.customers",
            "model_name": "customers",
            "job_id": 1,
            "job_name": "nightly",
            "runs_7d": 3,
            "total_execution_seconds_7d": 7.0,  # 4 + 2 + 1 (error)
            "avg_execution_seconds_7d": 2.333,
            "max_execution_seconds_7d": 4.0,
        },
        {
            "rank": 4,
            "unique_id": "model.pkg.stg_x",
            "model_name": "stg_x",
            "job_id": 2,
            "job_name": "hourly",
            "runs_7d": 1,
            "total_execution_seconds_7d": 1.25,
            "avg_execution_seconds_7d": 1.25,
            "max_execution_seconds_7d": 1.25,
        },
    ]


def test_ties_share_a_rank(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("UPDATE dbt_cloud.run_results SET execution_time = 7.5 WHERE unique_id = 'model.pkg.stg_x'")
    ranked = [(row["rank"], row["job_id"], row["model_name"]) for row in rows(con, "slowest_models")]
    assert ranked == [(1, 1, "orders"), (2, 2, "orders"), (2, 2, "stg_x"), (4, 1, "customers")]


def test_views_work_when_the_session_is_not_in_utc(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("SET TimeZone = 'America/New_York'")
    assert [row["model_name"] for row in rows(con, "slowest_models")] == [
        "orders",
        "orders",
        "customers",
        "stg_x",
    ]
    assert len(rows(con, "model_timings")) == 5
    assert len(rows(con, "test_failures")) == 4
