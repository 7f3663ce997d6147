"""The real entry point (`pipelines/dbt_runs.py`) run as a scheduler runs it: a subprocess of its own.

The one home for every test that starts the entry point (the wheel test, which runs an installed console
script, is the exception). A test gives a working directory and, when the command talks to dbt Cloud,
a simulator; the process gets the simulator's token, account and URL, its own dlt state dir in the
working directory, and none of the caller's DBT_CLOUD__* or DESTINATION__* settings. Every finished run
is checked for the two things no command may ever print: a traceback and the API token.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from dbt_cloud_simulator import DbtCloudSimulator

REPO_ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINT = REPO_ROOT / "pipelines" / "dbt_runs.py"

# Quick, bounded retries: the simulator's injected faults come in short bursts (at most four in a row on
# one path, e.g. two 429s then two 503s), so six attempts outlast them in about a second.
SIMULATOR_RETRIES = {
    "RUNTIME__REQUEST_MAX_ATTEMPTS": "6",
    "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.05",
    "RUNTIME__REQUEST_MAX_RETRY_DELAY": "1",
}


# The simulator shares no account budget: the loader's own ceiling of 4,000 requests a minute (which
# keeps a real account under dbt Cloud's 5,000) would only make a first load's 60 days of artifacts
# take minutes. A test about the ceiling sets its own value in `extra_env`.
SIMULATOR_REQUEST_CEILING = {"DBT_CLOUD__REQUESTS_PER_MINUTE": "100000"}


def state_env(workdir: Path) -> dict[str, str]:
    """dlt's state dir inside `workdir` (no test shares pipeline state), and no telemetry."""
    return {"DLT_DATA_DIR": str(workdir / "dlt"), "RUNTIME__DLTHUB_TELEMETRY": "false"}


def simulator_env(sim: DbtCloudSimulator, workdir: Path) -> dict[str, str]:
    """Only the settings that point a process at `sim` and give it a state dir in `workdir` (for a
    process that must see nothing else, like the MCP server the SDK starts).

    The trailing slash on the URL is the way users paste it from the browser (the README allows it).
    """
    return {
        **state_env(workdir),
        "DBT_CLOUD__API_TOKEN": sim.token,
        "DBT_CLOUD__ACCOUNT_ID": str(sim.account_id),
        "DBT_CLOUD__BASE_URL": sim.base_url + "/",
        **SIMULATOR_RETRIES,
        **SIMULATOR_REQUEST_CEILING,
    }


def entry_point_env(
    sim: DbtCloudSimulator | None, workdir: Path, extra_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """This process's environment without its dbt Cloud and destination settings, plus the simulator's
    (when given), the state dir in `workdir`, and `extra_env` last (it may override any of them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_CLOUD__", "DESTINATION__"))}
    env.update(state_env(workdir) if sim is None else simulator_env(sim, workdir))
    env.update(extra_env or {})
    return env


def entry_point_command(*args: str) -> list[str]:
    """The command line a scheduler runs: this interpreter and the entry point script."""
    return [sys.executable, str(ENTRY_POINT), *args]


def start_entry_point(
    sim: DbtCloudSimulator | None,
    workdir: Path,
    *args: str,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.Popen[str]:
    """The entry point started in the background (to signal, kill or talk to it); stdout and stderr are
    pipes, stdin is empty as under a scheduler."""
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        entry_point_command(*args),
        cwd=workdir,
        env=entry_point_env(sim, workdir, extra_env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_entry_point(
    sim: DbtCloudSimulator | None,
    workdir: Path,
    *args: str,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """One command (a load when `args` is empty) run to its end in `workdir`; never a traceback or the
    token (the simulator's, or one `extra_env` sets)."""
    env = entry_point_env(sim, workdir, extra_env)
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        entry_point_command(*args),
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert_no_traceback_or_token(proc.stdout, proc.stderr, env.get("DBT_CLOUD__API_TOKEN"))
    return proc


def assert_no_traceback_or_token(stdout: str, stderr: str, token: str | None) -> None:
    """What no command may print, whatever goes wrong."""
    assert "Traceback" not in stderr, stderr
    if token:
        assert token not in stdout + stderr, "the API token was printed"


def error_lines(stderr: str) -> list[str]:
    """The `error: ...` lines a failed command wrote (the house rule: exactly one)."""
    return [line for line in stderr.splitlines() if line.startswith("error:")]
