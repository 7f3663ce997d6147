"""Shared test set-up: every test runs in its own folder with its own dlt state and no real config."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO_ROOT.parent / "shared" / "reference"

# Fast, bounded retries for tests (production defaults live in .dlt/config.toml), no telemetry.
os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
os.environ["RUNTIME__REQUEST_MAX_ATTEMPTS"] = "3"
os.environ["RUNTIME__REQUEST_BACKOFF_FACTOR"] = "0.01"
os.environ["RUNTIME__REQUEST_MAX_RETRY_DELAY"] = "0.1"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean working directory and dlt data dir; no DBT_CLOUD__* settings leak in."""
    for name in list(os.environ):
        if name.startswith(("DBT_CLOUD__", "DESTINATION__")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt_data"))
    yield tmp_path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """One throwaway PostgreSQL server for the session (see tests/postgres_server.py)."""
    from postgres_server import start_server

    server = start_server()
    if server is None:
        pytest.skip(
            "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin: "
            "install PostgreSQL 15 to run the PostgreSQL tests"
        )
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
