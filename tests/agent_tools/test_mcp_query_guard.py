"""The `query` tool's statement check (sqlglot, DuckDB dialect) and the answer shape, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from dbt_cloud_runs.mcp_answers import as_text, json_value, table
from dbt_cloud_runs.mcp_query import QueryRejected, check_select

ACCEPTED = [
    "SELECT 1",
    "select * from runs;",
    "FROM runs_enriched",
    "WITH e AS (SELECT * FROM failures) SELECT job_name, count(*) FROM e GROUP BY 1",
    "SELECT id FROM runs UNION ALL SELECT id FROM jobs",
    "(SELECT 1)",
    "SELECT ';' AS semicolon -- ; DROP TABLE runs",
    "SELECT * FROM read_text('.dlt/secrets.toml')",  # parses; the connection's external access refuses it
]

REFUSED = {
    "SELECT 1; SELECT 2": "2 statements",
    "SELECT 1; DROP TABLE runs": "2 statements",
    "INSERT INTO runs (id) VALUES (1)": "not INSERT",
    "UPDATE runs SET status = 10": "not UPDATE",
    "DELETE FROM runs": "not DELETE",
    "DROP VIEW job_health": "not DROP",
    "CREATE TABLE x AS SELECT 1": "not CREATE",
    "ATTACH 'other.duckdb' AS other": "not ATTACH",
    "DETACH other": "not DETACH",
    "COPY runs TO 'runs.csv'": "not COPY",
    "PRAGMA database_list": "not PRAGMA",
    "SET enable_external_access = true": "not SET",
    "INSTALL httpfs": "not INSTALL",
    "LOAD httpfs": "not LOAD",
    "CALL pragma_version()": "not CALL",
    "CHECKPOINT": "not CHECKPOINT",
    "DESCRIBE runs": "not DESCRIBE",
    "SELECT * FROM": "does not parse",
    "": "empty",
    " ; ": "0 statements",
}


@pytest.mark.parametrize("sql", ACCEPTED)
def test_one_select_is_accepted_as_sent(sql: str) -> None:
    assert check_select(sql) == sql.strip()


@pytest.mark.parametrize(("sql", "reason"), REFUSED.items())
def test_anything_else_is_refused_with_the_reason(sql: str, reason: str) -> None:
    with pytest.raises(QueryRejected, match=reason):
        check_select(sql)


def test_values_become_compact_json() -> None:
    moment = datetime(2026, 11, 20, 12, 0, 5, 123456, tzinfo=UTC)
    assert json_value(moment) == "2026-11-20T12:00:05+00:00"
    assert json_value(1.23456) == 1.235 and json_value(Decimal("2.5")) == 2.5
    assert json_value(timedelta(minutes=2)) == 120.0 and json_value(float("nan")) is None
    assert json_value({"a": [moment]}) == {"a": ["2026-11-20T12:00:05+00:00"]}


def test_table_tells_truncation_from_the_extra_row() -> None:
    full = table(["id"], [(1,), (2,)], limit=2)
    assert full == {"rows": [{"id": 1}, {"id": 2}], "row_count": 2, "truncated": False}
    cut = table(["id"], [(1,), (2,), (3,)], limit=2, as_of=datetime(2026, 1, 1, tzinfo=UTC))
    assert cut["row_count"] == 2 and cut["truncated"] is True and "limit" in cut["note"]
    assert cut["as_of"] == "2026-01-01T00:00:00+00:00"
    assert as_text(full) == '{"rows":[{"id":1},{"id":2}],"row_count":2,"truncated":false}'
