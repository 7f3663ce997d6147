"""Destinations that cannot merge are refused; dlt's raw destination-switch log line becomes one warning."""

from __future__ import annotations

import logging

import pytest
from dbt_cloud_runs.destination_fit import DestinationSwitchNote, check_destination_merges
from dbt_cloud_runs.errors import ConfigError


@pytest.mark.parametrize("name", ["duckdb", "postgres", "bigquery", "snowflake"])
def test_sql_destinations_that_merge_pass(name: str) -> None:
    check_destination_merges(name)


@pytest.mark.parametrize("name", ["filesystem", "qdrant", "weaviate"])
def test_destinations_that_cannot_merge_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=f"The {name} destination cannot merge rows on their id"):
        check_destination_merges(name)


def test_the_switch_line_becomes_one_warning(capsys: pytest.CaptureFixture[str]) -> None:
    record = logging.LogRecord(
        "dlt", logging.WARNING, "pipeline.py", 1,
        "The destination dlt.destinations.filesystem:None in state differs from destination "
        "dlt.destinations.duckdb:duckdb in pipeline and will be ignored", None, None,
    )  # fmt: skip
    assert DestinationSwitchNote().filter(record) is False
    other = logging.LogRecord("dlt", logging.WARNING, "x.py", 1, "something else", None, None)
    assert DestinationSwitchNote().filter(other) is True
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("warning: the pipeline's destination changes from filesystem to duckdb")
