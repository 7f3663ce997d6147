"""Fixtures for the trigger/watch/cancel operations tests (builders live in `ops_fakes.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests_mock
from dbt_cloud_runs.api import DbtCloudApi
from dbt_cloud_runs.operations import make_credentials
from ops_fakes import ACCOUNT_ID, BASE_URL, TOKEN, FakeClock


@pytest.fixture(scope="module", autouse=True)
def _module_workdir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A module that declares `WORKDIR` (its `cli` helper runs the entry point there) gets a scratch
    directory of its own for it, one per module: its dlt state dir, away from the repo's `.dlt/`."""
    if hasattr(request.module, "WORKDIR"):
        request.module.WORKDIR = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture
def api_env(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`[dbt_cloud]` settings from the environment, as the CLI and `credentials=None` read them."""
    monkeypatch.setenv("DBT_CLOUD__API_TOKEN", TOKEN)
    monkeypatch.setenv("DBT_CLOUD__ACCOUNT_ID", str(ACCOUNT_ID))
    monkeypatch.setenv("DBT_CLOUD__BASE_URL", BASE_URL + "/")
    return workdir


@pytest.fixture
def credentials() -> dict[str, Any]:
    return {"api_token": TOKEN, "account_id": ACCOUNT_ID, "base_url": BASE_URL}


@pytest.fixture
def api(credentials: dict[str, Any]) -> DbtCloudApi:
    return DbtCloudApi(make_credentials(credentials))


@pytest.fixture
def mock() -> Iterator[requests_mock.Mocker]:
    with requests_mock.Mocker() as mocker:
        yield mocker


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()
