"""Refuse, before anything is read, a destination this pipeline cannot keep correct.

Every table here is written with `write_disposition="merge"` on its id (dlt's default `delete-insert`
strategy): the lookback and open runs re-read rows that are already stored. A destination without
that strategy (dlt's `filesystem` without a table format, vector stores) makes dlt fall back to
append with a log line, so each load stores another copy of every re-read run, and it has no SQL
to hold the views. Measured with `--destination filesystem`: an incremental load duplicated 80 runs
while the summary said the views were created.
"""

from __future__ import annotations

import dlt

from .errors import ConfigError

MERGE_STRATEGY = "delete-insert"


def check_destination_merges(pipeline: dlt.Pipeline) -> None:
    """Raise `ConfigError` (exit 2) when the pipeline's destination cannot merge on a primary key."""
    destination = pipeline.destination
    if destination is None:
        return
    strategies = destination.capabilities().supported_merge_strategies or []
    if MERGE_STRATEGY in strategies:
        return
    raise ConfigError(
        f"The {destination.destination_name} destination cannot merge rows on their id (dlt's "
        f"{MERGE_STRATEGY} merge): every load would store another copy of each re-read run, and it has "
        "no SQL for the views. Use a SQL destination: duckdb (the default), postgres, bigquery, "
        "snowflake, motherduck, ..."
    )
