"""Shared test set-up: every test runs in its own folder with its own dlt state and no real config."""

from __future__ import annotations

import os
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
