"""Refuse, before anything is read, a destination this pipeline cannot keep correct.

Every table here is written with `write_disposition="merge"` on its id (dlt's default `delete-insert`
strategy): the lookback and open runs re-read rows that are already stored. A destination without
that strategy (dlt's `filesystem` without a table format, vector stores) makes dlt fall back to
append with a log line, so each load stores another copy of every re-read run, and it has no SQL
to hold the views. Measured with `--destination filesystem`: an incremental load duplicated 80 runs
while the summary said the views were created.
"""

from __future__ import annotations

import logging
import re
import sys

import dlt
from dlt.common.destination import Destination
from dlt.common.destination.exceptions import UnknownDestinationModule

from .errors import ConfigError

MERGE_STRATEGY = "delete-insert"


def chosen_destination(name: str | None) -> str:
    """`--destination`, else dlt's configured destination, else DuckDB: `make_pipeline`'s rule, read here
    before the pipeline exists, because creating it records the destination in dlt's local state."""
    return name or dlt.config.get("destination_type") or "duckdb"


def check_destination_merges(name: str | None) -> None:
    """Raise `ConfigError` (exit 2) when the chosen destination cannot merge on a primary key.

    Checked before the pipeline is created, so a refused destination leaves dlt's state as it was.
    Unknown names pass here: `make_pipeline` says what is wrong with them.
    """
    chosen = chosen_destination(name)
    try:
        destination = Destination.from_reference(chosen)
    except (UnknownDestinationModule, ImportError):
        return
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


_SWITCH = re.compile(
    r"destination dlt\.destinations\.(?P<old>\w+)\S* in state differs from destination "
    r"dlt\.destinations\.(?P<new>\w+)"
)


class DestinationSwitchNote(logging.Filter):
    """dlt logs a raw WARNING line when a pipeline's destination changes; say it as one `warning:`."""

    def filter(self, record: logging.LogRecord) -> bool:
        match = _SWITCH.search(record.getMessage())
        if match is None:
            return True
        print(
            f"warning: the pipeline's destination changes from {match['old']} to {match['new']}: each "
            "destination keeps its own history and continues from its own last load",
            file=sys.stderr,
        )
        return False


def note_destination_switches() -> None:
    """Install `DestinationSwitchNote` on dlt's logger (idempotent)."""
    dlt_logger = logging.getLogger("dlt")
    if not any(isinstance(existing, DestinationSwitchNote) for existing in dlt_logger.filters):
        dlt_logger.addFilter(DestinationSwitchNote())
