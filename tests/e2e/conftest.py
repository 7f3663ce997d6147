"""Fixtures of the end-to-end tests: a simulated account and a working directory per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dbt_cloud_simulator import DbtCloudSimulator
from e2e_support import NOW, TOKEN


@pytest.fixture
def sim() -> Iterator[DbtCloudSimulator]:
    with DbtCloudSimulator(runs=1500, jobs=120, seed=11, now=NOW, token=TOKEN) as simulator:
        yield simulator


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
