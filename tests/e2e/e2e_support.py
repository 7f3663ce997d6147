"""What the end-to-end tests share: ground truth from the simulator, and the store read back.

The entry point itself is run by `tests/entry_point.py`. Ground truth is read from the simulator over
HTTP; the store is read with DuckDB, read-only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import requests
from dbt_cloud_runs.converters import parse_timestamp
from dbt_cloud_simulator import DbtCloudSimulator

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOKEN = "dbtc_e2e_secret_token_value"
STORE = "dbt_runs.duckdb"
"""The DuckDB file a load writes in its working directory by default."""


def api_runs(sim: DbtCloudSimulator) -> dict[int, tuple[int, datetime | None]]:
    """Every run the simulator serves now: id -> (status, finished_at), read over HTTP."""
    url = f"{sim.base_url}/api/v2/accounts/{sim.account_id}/runs/"
    headers = {"Authorization": f"Token {sim.token}"}
    runs: dict[int, tuple[int, datetime | None]] = {}
    offset = 0
    while True:
        page = requests.get(url, params={"limit": 100, "offset": offset}, headers=headers, timeout=30).json()[
            "data"
        ]
        runs.update({run["id"]: (run["status"], parse_timestamp(run["finished_at"])) for run in page})
        offset += len(page)
        if not page:
            return runs


def runs_read_by_id(sim: DbtCloudSimulator) -> set[int]:
    """The runs the simulator was asked for one by one (`GET .../runs/{id}/`) since its requests were
    last reset: how a load re-reads the runs it stored as open."""
    by_id = re.compile(rf"/accounts/{sim.account_id}/runs/(\d+)/?$")
    return {
        int(match.group(1))
        for request in sim.requests
        if request["method"] == "GET" and (match := by_id.search(request["path"]))
    }


def one(database: Path, sql: str) -> tuple[Any, ...]:
    """The first row of `sql` on a DuckDB file (`database` may be a load's working directory)."""
    path = database / STORE if database.is_dir() else database
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute(sql).fetchone()
    assert row is not None, sql
    return row


def scalar(database: Path, sql: str) -> Any:
    """The one value `sql` answers on a DuckDB file (or a load's working directory)."""
    return one(database, sql)[0]


def stored_runs(workdir: Path) -> dict[int, tuple[int, datetime | None]]:
    with duckdb.connect(str(workdir / STORE), read_only=True) as con:
        rows = con.execute("SELECT id, status, finished_at FROM dbt_cloud.runs").fetchall()
        count, distinct = con.execute("SELECT count(*), count(DISTINCT id) FROM dbt_cloud.runs").fetchone()
    assert count == distinct, "no run stored twice"
    return {row[0]: (row[1], row[2]) for row in rows}


def dlt_loads_and_checks(workdir: Path) -> tuple[int, int]:
    """(dlt loads run, unchanged-load checks recorded): a load that found nothing new adds a check and
    leaves dlt's loads alone; one that wrote rows adds a dlt load."""
    return one(
        workdir,
        "SELECT (SELECT count(*) FROM dbt_cloud._dlt_loads), (SELECT count(*) FROM dbt_cloud.load_checks)",
    )
