"""What the end-to-end tests share: the entry point run as a scheduler runs it, and ground truth.

Ground truth is read from the simulator over HTTP; the store is read with DuckDB, read-only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import requests
from dbt_cloud_runs.converters import parse_timestamp
from dbt_cloud_simulator import DbtCloudSimulator

REPO_ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINT = REPO_ROOT / "pipelines" / "dbt_runs.py"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOKEN = "dbtc_e2e_secret_token_value"


def pipeline_env(
    sim: DbtCloudSimulator, workdir: Path, extra_env: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a scheduled load against the simulator, with its own state dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_CLOUD__", "DESTINATION__"))}
    env.update(
        {
            "DBT_CLOUD__API_TOKEN": TOKEN,
            "DBT_CLOUD__ACCOUNT_ID": str(sim.account_id),
            "DBT_CLOUD__BASE_URL": sim.base_url + "/",
            "DLT_DATA_DIR": str(workdir / "dlt"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "RUNTIME__REQUEST_MAX_ATTEMPTS": "6",
            "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.05",
            "RUNTIME__REQUEST_MAX_RETRY_DELAY": "1",
            **(extra_env or {}),
        }
    )
    return env


def start_pipeline(
    sim: DbtCloudSimulator, workdir: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """The entry point started in the background (to signal or kill it)."""
    return subprocess.Popen(
        [sys.executable, str(ENTRY_POINT), *args],
        cwd=workdir,
        env=pipeline_env(sim, workdir, extra_env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_pipeline(
    sim: DbtCloudSimulator, workdir: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The entry point run to its end; never a traceback, never the token."""
    proc = subprocess.run(
        [sys.executable, str(ENTRY_POINT), *args],
        cwd=workdir,
        env=pipeline_env(sim, workdir, extra_env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert TOKEN not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def api_runs(sim: DbtCloudSimulator) -> dict[int, tuple[int, datetime | None]]:
    """Every run the simulator serves now: id -> (status, finished_at), read over HTTP."""
    url = f"{sim.base_url}/api/v2/accounts/{sim.account_id}/runs/"
    headers = {"Authorization": f"Token {TOKEN}"}
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


def stored_runs(workdir: Path) -> dict[int, tuple[int, datetime | None]]:
    with duckdb.connect(str(workdir / "dbt_runs.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT id, status, finished_at FROM dbt_cloud.runs").fetchall()
        count, distinct = con.execute("SELECT count(*), count(DISTINCT id) FROM dbt_cloud.runs").fetchone()
    assert count == distinct, "no run stored twice"
    return {row[0]: (row[1], row[2]) for row in rows}


def scalar(workdir: Path, sql: str):
    with duckdb.connect(str(workdir / "dbt_runs.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchone()[0]
