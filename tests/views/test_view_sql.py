"""The PostgreSQL translation of the views (no server needed; tests/postgres compares real answers)."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot
from dbt_cloud_runs.view_sql import translate
from dbt_cloud_runs.views import view_files


@pytest.mark.parametrize("path", view_files(), ids=lambda path: path.stem)
def test_every_view_translates_to_postgres_without_duckdb_only_functions(path) -> None:
    tree = sqlglot.parse_one(translate(path.read_text(), "postgres"), read="postgres")
    sql = tree.sql("postgres", comments=False).upper()
    assert sql.startswith("CREATE OR REPLACE VIEW DBT_CLOUD.")
    for duckdb_only in ("ARG_MAX", "DATE_DIFF", "ANY_VALUE", "QUANTILE_CONT", "INTERVAL 7 DAY", "ROUND("):
        assert duckdb_only not in sql, duckdb_only


def test_duckdb_sql_is_left_alone() -> None:
    sql = "CREATE OR REPLACE VIEW dbt_cloud.x AS SELECT arg_max(a, b) FROM t"
    assert translate(sql, "duckdb") == sql
    assert translate(sql, None) == sql


def test_translated_round_is_duckdbs_round_ties_included() -> None:
    """The PostgreSQL rounding is plain double arithmetic, so DuckDB can evaluate it and compare."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE expected AS SELECT row_number() OVER () AS id, x, round(x, 3) AS d FROM ("
        "SELECT (i + 0.5) / 1000.0 AS x FROM range(-20000, 20000) t(i) "
        "UNION ALL SELECT i / 7000.0 FROM range(-20000, 20000) t(i) UNION ALL SELECT 6.9675)"
    )
    translated = translate("SELECT id, round(x, 3) AS r FROM expected", "postgres")
    assert "ROUND" not in translated.upper()
    compared = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE d <> r) FROM expected JOIN ({translated}) USING (id)"
    ).fetchone()
    assert compared == (80001, 0)
