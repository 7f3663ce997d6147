"""The reader copy: after a load, the dataset's tables and views written to another DuckDB file.

DuckDB lets one process write a file *or* several read it, so a BI tool holding the loaded file open
(even read-only) makes the next load fail. Readers point at the copy instead (`[dbt_cloud]
publish_path`, `--publish PATH`): it is built as a new file beside the target and renamed over it, so
a reader never sees a half-written file, one holding the old copy open keeps reading the old copy (the
rename leaves its open file alone), and the next connection sees the new data. The loader never opens
the copy, so readers never block a load.

How: a fresh DuckDB file attaches the loaded file read-only, copies each table of the dataset with
`CREATE TABLE ... AS SELECT` (dlt's own `_dlt_*` bookkeeping tables stay behind), and creates the views
from `sql/` in it, so they name only `dbt_cloud.<table>` and work whatever the copy is called and
wherever it is opened. Measured on a 100,000-run store (benchmarks/benchmark_publish.py): 0.38 s;
DuckDB's `COPY FROM DATABASE` took 0.33 s but copies the whole file, dlt's state tables and any other
schema in it included, which readers should not get.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from dlt.destinations.exceptions import DatabaseTerminalException

from .errors import ConfigError, DestinationError
from .settings import DATASET_NAME
from .views import apply_views

SOURCE_ALIAS = "loaded_store"


@dataclass
class Published:
    path: Path
    tables: int
    views: int
    seconds: float

    def describe(self) -> str:
        return f"{self.path} ({self.tables} tables, {self.views} views, {self.seconds:.1f} s)"


class _Client:
    """What `apply_views` needs of dlt's sql_client, over a plain DuckDB connection."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def execute_sql(self, sql: str) -> None:
        try:
            self.connection.execute(sql)
        except duckdb.Error as exc:
            raise DatabaseTerminalException(exc) from exc


def duckdb_file(pipeline_or_path: Any) -> Path:
    """The loaded DuckDB file: a path as given, or the pipeline's; a ConfigError for other destinations."""
    if isinstance(pipeline_or_path, str | Path):
        return Path(pipeline_or_path).expanduser().resolve()
    destination = pipeline_or_path.destination
    if destination is None or not destination.destination_type.endswith(".duckdb"):
        name = destination.destination_name if destination is not None else "this"
        raise ConfigError(
            f"A reader copy (--publish / [dbt_cloud] publish_path) needs the DuckDB destination; the {name} "
            "destination is read by BI tools directly: drop --publish or unset publish_path."
        )
    credentials = pipeline_or_path.destination_client().config.credentials
    return Path(credentials.database).expanduser().resolve()


def check_publishable(pipeline_or_path: Any, publish_path: str | Path | None) -> None:
    """Refuse, before loading, a reader copy the load could not write (wrong destination, same file)."""
    if not publish_path:
        return
    source = duckdb_file(pipeline_or_path)
    if Path(publish_path).expanduser().resolve() == source:
        raise ConfigError(
            f"publish_path {publish_path} is the loaded DuckDB file itself: give the reader copy its own "
            "file name, e.g. dbt_runs_bi.duckdb."
        )


def publish(pipeline_or_path: Any, publish_path: str | Path, dataset: str = DATASET_NAME) -> Published:
    """Write the dataset's tables and views to `publish_path`, atomically (new file, then rename)."""
    started = time.monotonic()
    source = duckdb_file(pipeline_or_path)
    target = Path(publish_path).expanduser().resolve()
    check_publishable(source, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f".{target.name}.{os.getpid()}.building")
    _remove(building)
    try:
        tables, views = _build(source, building, dataset)
        # a WAL left beside the old copy (someone opened it for writing) must not replay into the new one
        _remove(target.with_name(target.name + ".wal"))
        os.replace(building, target)
    except (duckdb.Error, OSError) as exc:
        _remove(building)
        _remove(building.with_name(building.name + ".wal"))
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise DestinationError(
            f"The load succeeded, but the reader copy {target} could not be written ({reason}): "
            "check that its folder is writable and has space, then run the load again."
        ) from None
    return Published(path=target, tables=tables, views=views, seconds=time.monotonic() - started)


def _build(source: Path, building: Path, dataset: str) -> tuple[int, int]:
    connection = duckdb.connect(str(building))
    try:
        connection.execute(f"ATTACH '{_quoted(source)}' AS {SOURCE_ALIAS} (READ_ONLY)")
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? "
                "AND table_schema = ? AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_dlt\\_%' "
                "ESCAPE '\\' ORDER BY table_name",
                [SOURCE_ALIAS, dataset],
            ).fetchall()
        ]
        connection.execute(f"CREATE SCHEMA {dataset}")
        for table in tables:
            connection.execute(
                f'CREATE TABLE {dataset}."{table}" AS SELECT * FROM {SOURCE_ALIAS}.{dataset}."{table}"'
            )
        connection.execute(f"DETACH {SOURCE_ALIAS}")
        views = apply_views(_Client(connection), dataset)
        if views.failed:
            raise duckdb.Error(f"views failed in the copy: {views.failed}")
        connection.execute("CHECKPOINT")
    finally:
        connection.close()
    return len(tables), len(views.created)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
