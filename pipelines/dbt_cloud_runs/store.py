"""Reading the loaded history from outside a load: the report, the MCP server, ad-hoc readers.

Readers open the DuckDB store read-only, for as short as they can, because DuckDB lets one process
write a file *or* several read it: a reader left open makes the next scheduled load wait or fail.
When a reader copy is published (`[dbt_cloud] publish_path`), readers use it and never meet the loader.

Which file, in order: an explicit path, `publish_path`, dlt's `DESTINATION__DUCKDB__CREDENTIALS`, and
the loader's default `dbt_runs.duckdb` in the working directory.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from .errors import ConfigError, DestinationError
from .settings import CONFIG_SECTION, DATASET_NAME, DEFAULT_DUCKDB_FILE

DEFAULT_LOCK_WAIT_SECONDS = 5.0
"""How long a reader waits for a load that holds the file before it gives up with a clear error."""


def _configured(key: str) -> str | None:
    import dlt  # imported here: readers such as `--help` should not pay for dlt

    value: object = dlt.config.get(key)
    return str(value) if value not in (None, "") else None


def store_path(explicit: str | Path | None = None) -> Path:
    """The DuckDB file readers should open (see the module docstring for the order)."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    for key in (f"{CONFIG_SECTION}.publish_path", "destination.duckdb.credentials"):
        value = _configured(key)
        if value:
            return Path(value.removeprefix("duckdb:///")).expanduser().resolve()
    return Path(DEFAULT_DUCKDB_FILE).resolve()


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


@contextmanager
def read_only_connection(
    path: str | Path | None = None,
    wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
    external_access: bool = True,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the store, closed on exit; waits up to `wait_seconds` for a load.

    `external_access=False` turns off DuckDB's file and network readers (`read_text`, `ATTACH`, ...)
    on this connection, for answering SQL written by someone else.
    """
    resolved = store_path(path)
    if not resolved.exists():
        raise ConfigError(
            f"No loaded history at {resolved}: run a load first (python pipelines/dbt_runs.py), or point "
            "to the DuckDB file (or its reader copy, [dbt_cloud] publish_path)."
        )
    config: dict[str, str | bool | int | float | list[str]] = (
        {} if external_access else {"enable_external_access": False}
    )
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            connection = duckdb.connect(str(resolved), read_only=True, config=config)
            break
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                reason = str(exc).splitlines()[0]
                raise DestinationError(f"Cannot open {resolved} read-only: {reason}") from None
            if time.monotonic() >= deadline:
                raise DestinationError(
                    f"{resolved} is being written by a load: try again in a few seconds, or read the "
                    "reader copy ([dbt_cloud] publish_path), which a load never holds."
                ) from None
            time.sleep(0.1)
    try:
        connection.execute(f"SET search_path = '{DATASET_NAME}'")
        yield connection
    finally:
        connection.close()
