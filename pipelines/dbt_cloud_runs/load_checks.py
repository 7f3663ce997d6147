"""Loads that found nothing new: recorded in `load_checks`, a table this project owns (not dlt's).

An incremental load that finds the account's head unchanged (see `change_detection.py`) skips dlt's
extract/normalize/load cycle, which would rewrite identical rows at a fixed cost of about a second.
It still looked, so the views' "now" (`as_of`) must move on: the check is one row here. dlt's own
bookkeeping (`_dlt_loads`, `loads`) only ever describes loads dlt really ran.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

TABLE = "load_checks"


def ensure_table(client: Any, dataset: str) -> None:
    """Create the table if missing (portable SQL: DuckDB and PostgreSQL), so `as_of` can read it."""
    client.execute_sql(
        f"CREATE TABLE IF NOT EXISTS {dataset}.{TABLE} (checked_at TIMESTAMP WITH TIME ZONE NOT NULL)"
    )


def record(client: Any, dataset: str, as_of: datetime) -> None:
    """One row: this load looked at `as_of` and found nothing to write."""
    ensure_table(client, dataset)
    client.execute_sql(f"INSERT INTO {dataset}.{TABLE} (checked_at) VALUES ('{as_of.isoformat()}')")


def drop_table(client: Any, dataset: str) -> None:
    """`--full-refresh` starts the history over: the checks go with it."""
    client.execute_sql(f"DROP TABLE IF EXISTS {dataset}.{TABLE}")
