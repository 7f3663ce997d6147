"""The same simulated account loaded into DuckDB and into a real PostgreSQL server gives the same answers.

Every view is compared row by row (times to the microsecond, floats to 1e-9 relative), after a first
load, after time moved on (new runs, open runs refreshed), after a load that found nothing new, and
after `--full-refresh` on PostgreSQL. Both loads run the real entry point as a subprocess. The views'
"now" (`loads.as_of`, `load_checks.checked_at`) is the wall clock at each load's start; both stores get
the simulator's present instead, so the two engines answer for the same moment.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest
from dbt_cloud_runs.views import view_files
from dbt_cloud_simulator import DbtCloudSimulator
from entry_point import run_entry_point

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
VIEWS = [path.stem for path in view_files()]
# every finished run's artifacts, whatever the wall clock says, so both loads fetch the same ones
SETTINGS = {"DBT_CLOUD__ARTIFACTS_DAYS": "3650"}


def _normalized(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, Decimal | float):
        return float(value)
    return value


def _sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    def key(value: Any) -> tuple[int, Any]:
        if value is None:
            return (0, "")
        if isinstance(value, float):
            return (1, round(value, 6))
        if isinstance(value, datetime | date):
            return (1, value.isoformat())
        return (1, value)

    return tuple(key(value) for value in row)


def _rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    normalized = [tuple(_normalized(value) for value in row) for row in rows]
    return sorted(normalized, key=_sort_key)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(left, float | int) and isinstance(right, float | int) and type(left) is not type(right):
        return False  # a count in one engine must not be a fraction in the other
    return left == right and type(left) is type(right)


class Stores:
    """The DuckDB file and the PostgreSQL database holding the same account."""

    def __init__(self, duckdb_path: Path, dsn: str) -> None:
        self.duckdb_path, self.dsn = duckdb_path, dsn

    def pin_now(self, as_of: datetime) -> None:
        with duckdb.connect(str(self.duckdb_path)) as con:
            con.execute("UPDATE dbt_cloud.loads SET as_of = ?", [as_of])
            con.execute("UPDATE dbt_cloud.load_checks SET checked_at = ?", [as_of])
        with psycopg2.connect(self.dsn) as con, con.cursor() as cursor:
            cursor.execute("UPDATE dbt_cloud.loads SET as_of = %s", (as_of,))
            cursor.execute("UPDATE dbt_cloud.load_checks SET checked_at = %s", (as_of,))

    def view(self, name: str) -> tuple[list[str], list[tuple[Any, ...]], list[str], list[tuple[Any, ...]]]:
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            cursor = con.execute(f"SELECT * FROM dbt_cloud.{name}")
            duck_columns = [column[0] for column in cursor.description]
            duck_rows = cursor.fetchall()
        with psycopg2.connect(self.dsn) as con, con.cursor() as cursor:
            cursor.execute(f"SELECT * FROM dbt_cloud.{name}")
            pg_columns = [column[0] for column in cursor.description]
            pg_rows = cursor.fetchall()
        return duck_columns, duck_rows, pg_columns, pg_rows

    def assert_views_match(self, as_of: datetime) -> dict[str, int]:
        self.pin_now(as_of)
        counts = {}
        for name in VIEWS:
            duck_columns, duck_rows, pg_columns, pg_rows = self.view(name)
            assert pg_columns == duck_columns, name
            assert len(pg_rows) == len(duck_rows), (
                f"{name}: {len(pg_rows)} rows on PostgreSQL, {len(duck_rows)}"
            )
            for duck_row, pg_row in zip(_rows(duck_rows), _rows(pg_rows), strict=True):
                differing = [
                    (column, d, p)
                    for column, d, p in zip(duck_columns, duck_row, pg_row, strict=True)
                    if not _same(d, p)
                ]
                assert not differing, f"{name}: {differing} in {duck_row}"
            counts[name] = len(duck_rows)
        return counts


def _pg_rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg2.connect(dsn) as con, con.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _stored_runs(dsn: str) -> dict[int, int]:
    return dict(_pg_rows(dsn, "SELECT id, status FROM dbt_cloud.runs"))


def _views(dsn: str) -> set[str]:
    return {name for (name,) in _pg_rows(dsn, "SELECT viewname FROM pg_views WHERE schemaname = 'dbt_cloud'")}


def _load_checks(dsn: str) -> int:
    return _pg_rows(dsn, "SELECT count(*) FROM dbt_cloud.load_checks")[0][0]


def test_every_view_answers_the_same_on_duckdb_and_postgres(tmp_path: Path, postgres_server) -> None:
    dsn = postgres_server.create_database("views_compare")
    postgres_env = {**SETTINGS, "DESTINATION__POSTGRES__CREDENTIALS": dsn}
    stores = Stores(tmp_path / "duck" / "dbt_runs.duckdb", dsn)

    def load_both(*args: str) -> None:
        duck = run_entry_point(sim, tmp_path / "duck", *args, extra_env=SETTINGS)
        assert duck.returncode == 0, duck.stderr
        pg = run_entry_point(sim, tmp_path / "pg", "--destination", "postgres", *args, extra_env=postgres_env)
        assert pg.returncode == 0, pg.stderr
        assert _views(dsn) == set(VIEWS), "every view was created on PostgreSQL"

    with DbtCloudSimulator(runs=400, jobs=40, seed=23, now=NOW) as sim:
        load_both()
        assert len(_stored_runs(dsn)) == 400
        counts = stores.assert_views_match(sim.now)
        for name in (
            "runs_enriched",
            "job_health",
            "daily_runs",
            "failures",
            "model_timings",
            "test_failures",
        ):
            assert counts[name] > 0, f"{name} is empty: the comparison would prove nothing"

        # time moves on: new runs arrive, runs that were open finish and are re-read by id
        open_before = set(sim.open_run_ids())
        assert open_before
        sim.advance(hours=6)
        load_both()
        stored = _stored_runs(dsn)
        assert len(stored) > 400
        assert {run_id: stored[run_id] for run_id in open_before} == {
            run_id: sim.runs_by_id(run_id)["status"] for run_id in open_before
        }
        stores.assert_views_match(sim.now)

        # nothing changed since: the load succeeds and the answers stay the same
        checks = _load_checks(dsn)
        load_both()
        assert _stored_runs(dsn) == stored, "no run added or changed"
        assert _load_checks(dsn) == checks + 1, "the load recorded that it looked"
        stores.assert_views_match(sim.now)

        # --full-refresh drops the views before the tables they read, then rebuilds everything; both
        # stores refresh, because the simulator's artifacts depend on its present ("slower lately")
        load_both("--full-refresh", "--yes")
        assert _load_checks(dsn) == 0, "the refresh started the history over"
        assert _stored_runs(dsn) == {run_id: sim.runs_by_id(run_id)["status"] for run_id in stored}
        stores.assert_views_match(sim.now)
