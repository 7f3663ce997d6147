"""Run the real entry point (`pipelines/dbt_runs.py`) as a subprocess against a simulator, as cron would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dbt_cloud_simulator import DbtCloudSimulator

REPO_ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINT = REPO_ROOT / "pipelines" / "dbt_runs.py"


def run_entry_point(
    sim: DbtCloudSimulator,
    workdir: Path,
    *args: str,
    extra_env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """One load (or subcommand) in `workdir`, with its own dlt state dir; never a traceback or the token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_CLOUD__", "DESTINATION__"))}
    env.update(
        {
            "DBT_CLOUD__API_TOKEN": sim.token,
            "DBT_CLOUD__ACCOUNT_ID": str(sim.account_id),
            "DBT_CLOUD__BASE_URL": sim.base_url,
            "DLT_DATA_DIR": str(workdir / "dlt"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            **(extra_env or {}),
        }
    )
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, str(ENTRY_POINT), *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert sim.token not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc
