"""The destination: open the dlt pipeline on it, say where the data is, read it, explain its failures.

The load (`pipeline.py`), the CLI and the demo share these. DuckDB allows one writing process and
readers block it, so every read and write goes through `while_readers_hold_the_file`; failures a user
can fix (a held file, a destination without its settings or package) come out as one-line errors.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.common.destination import TLoaderFileFormat
from dlt.common.destination.exceptions import DestinationUndefinedEntity, UnknownDestinationModule
from dlt.common.exceptions import MissingDependencyException
from dlt.destinations.exceptions import (
    DatabaseException,
    DatabaseUndefinedRelation,
    DestinationConnectionError,
)

from .errors import ConfigError, DbtCloudError, DestinationError
from .settings import DATASET_NAME, PIPELINE_NAME, READER_LOCK_WAIT_SECONDS


def make_pipeline(
    destination: Any | None = None,
    pipeline_name: str = PIPELINE_NAME,
    pipelines_dir: str | None = None,
) -> dlt.Pipeline:
    """The dlt pipeline: `--destination`, else dlt's configured destination, else DuckDB.

    The DuckDB file defaults to `<pipeline_name>.duckdb` in the working directory; dlt's
    `DESTINATION__DUCKDB__CREDENTIALS` picks another. State lives under dlt's data dir (`DLT_DATA_DIR`).
    """
    # Runs arrive as Arrow tables, which dlt loads without `_dlt_load_id` unless asked; we want it on
    # every row (which load wrote it). An explicit user setting still wins.
    os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
    destination = destination or dlt.config.get("destination_type") or "duckdb"
    try:
        return dlt.pipeline(
            pipeline_name=pipeline_name,
            pipelines_dir=pipelines_dir,  # type: ignore[arg-type]  # None means dlt's default; its hint says str
            destination=destination,
            dataset_name=DATASET_NAME,
        )
    except (UnknownDestinationModule, MissingDependencyException) as exc:
        raise destination_setup_error(exc, str(destination)) or exc from None
    except OSError as exc:  # dlt creates its state dir here
        raise ConfigError(
            f"cannot write dlt's state dir ({exc.strerror}: {exc.filename}): set DLT_DATA_DIR to a writable "
            "folder (default ~/.dlt)."
        ) from None


def data_location(pipeline: dlt.Pipeline) -> str:
    """Where the data is, in words a user can act on (the DuckDB file path when it is DuckDB)."""
    try:
        credentials = pipeline.destination_client().config.credentials
        database = getattr(credentials, "database", None)
        if pipeline.destination.destination_type.endswith("duckdb") and database:
            return f"{Path(database).resolve()} (dataset/schema {pipeline.dataset_name})"
    except Exception:  # noqa: BLE001 - describing the location must never fail a load
        pass
    return f"{pipeline.destination.destination_name} dataset {pipeline.dataset_name}"


def query(pipeline: dlt.Pipeline, *sqls: str) -> list[list[tuple[Any, ...]]]:
    """Run queries on the destination over one connection; a missing table reads as no rows."""
    return while_readers_hold_the_file(lambda: _query(pipeline, *sqls), pipeline)


def _query(pipeline: dlt.Pipeline, *sqls: str) -> list[list[tuple[Any, ...]]]:
    results: list[list[tuple[Any, ...]]] = []
    try:
        with pipeline.sql_client() as client:
            for sql in sqls:
                try:
                    results.append([tuple(row) for row in client.execute_sql(sql) or []])
                except (DatabaseUndefinedRelation, DestinationUndefinedEntity):
                    results.append([])
    except (DatabaseUndefinedRelation, DestinationUndefinedEntity):
        results += [[] for _ in sqls[len(results) :]]
    return results


T = TypeVar("T")


def while_readers_hold_the_file(action: Callable[[], T], pipeline: dlt.Pipeline) -> T:
    """Run `action`, trying again for up to `READER_LOCK_WAIT_SECONDS` while the DuckDB file is held.

    Readers that open the store briefly (the MCP server, the report, `duckdb -readonly`) hold DuckDB's
    file lock for tens of milliseconds; a load waits them out instead of failing. A reader that keeps
    the file open still ends the load with exit 6 and a message pointing to the reader copy. Other
    destination failures a user can fix become our one-line errors.
    """
    deadline = time.monotonic() + READER_LOCK_WAIT_SECONDS
    while True:
        try:
            return action()
        except Exception as exc:
            if is_file_lock(exc) and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            explained = explain_destination(exc, pipeline)
            if explained is not None:
                raise explained from None
            raise


def is_file_lock(exc: BaseException) -> bool:
    text = " ".join(str(e) for e in _chain(exc))
    return "Could not set lock" in text or "Conflicting lock" in text


def loader_file_format(pipeline: dlt.Pipeline) -> TLoaderFileFormat | None:
    """Parquet (runs arrive as Arrow tables), except on PostgreSQL, which loads Parquet only through an
    ADBC driver we do not install (dlt would warn on every table and fall back anyway)."""
    destination_type = pipeline.destination.destination_type if pipeline.destination else ""
    return None if destination_type.endswith("postgres") else "parquet"


def is_duckdb(pipeline: dlt.Pipeline) -> bool:
    return pipeline.destination is not None and pipeline.destination.destination_type.endswith("duckdb")


def duckdb_file(pipeline: dlt.Pipeline) -> Path | None:
    """The DuckDB file the pipeline writes, when its destination is DuckDB."""
    if not is_duckdb(pipeline):
        return None
    try:
        credentials = pipeline.destination_client().config.credentials
    except Exception as exc:
        raise explain_destination(exc, pipeline) or exc from None
    database = getattr(credentials, "database", None)
    return Path(database).resolve() if database and database != ":memory:" else None


def explain_destination(exc: BaseException, pipeline: dlt.Pipeline) -> DbtCloudError | None:
    """A destination failure a user can fix, as our one-line error (None when it is not one)."""
    return destination_error(exc, pipeline) or destination_setup_error(exc, pipeline)


def destination_error(exc: BaseException, pipeline: dlt.Pipeline) -> DestinationError | None:
    """Recognise a DuckDB file held by another process (a BI tool, another load)."""
    text = " ".join(str(e) for e in _chain(exc))
    if "Could not set lock" in text or "Conflicting lock" in text:
        return DestinationError(
            f"The DuckDB file {data_location(pipeline).split(' (')[0]} is locked by another process "
            "(a BI tool, even read-only, or another load): close it and run the load again, and point BI "
            "tools at a reader copy instead: set [dbt_cloud] publish_path (or --publish PATH)."
        )
    connection = next((e for e in _chain(exc) if isinstance(e, DestinationConnectionError)), None)
    if connection is not None:
        reason = str(connection).split("The actual reason given is:")[-1].strip().splitlines()[0][:300]
        return DestinationError(
            f"Cannot open the destination ({reason}): check its location and credentials, e.g. "
            "DESTINATION__DUCKDB__CREDENTIALS for the DuckDB file."
        )
    return None


def destination_setup_error(exc: BaseException, pipeline_or_name: Any) -> DbtCloudError | None:
    """A destination a user named but did not set up: unknown, missing credentials or its package."""
    name = (
        pipeline_or_name
        if isinstance(pipeline_or_name, str)
        else getattr(getattr(pipeline_or_name, "destination", None), "destination_name", "the destination")
    )
    for cause in _chain(exc):
        if isinstance(cause, UnknownDestinationModule):
            return ConfigError(
                f"Unknown dlt destination {cause.ref!r}: use --destination with a dlt destination name "
                "(duckdb, postgres, bigquery, snowflake, motherduck, filesystem, ...)."
            )
        if isinstance(cause, ConfigFieldMissingException):
            field = cause.fields[0] if cause.fields else "credentials"  # name the setting that is missing
            return ConfigError(
                f"The {name} destination is missing settings ({cause.spec_name}: {', '.join(cause.fields)}): "
                f"give them the dlt way, e.g. DESTINATION__{str(name).upper()}__{field.upper()} or "
                f"{field} under [destination.{name}] in .dlt/secrets.toml."
            )
        if isinstance(cause, MissingDependencyException):
            return ConfigError(
                f"The {name} destination needs a package that is not installed: {cause.dependencies}; "
                f'install it, e.g. .venv/bin/pip install "dlt[{name}]".'
            )
    return None


def explain_failure(exc: BaseException, pipeline: dlt.Pipeline) -> BaseException:
    """Turn a failed dlt step into our one-line error when a user can fix the cause."""
    for cause in _chain(exc):
        if isinstance(cause, DbtCloudError | KeyboardInterrupt):
            return cause  # dlt wraps Ctrl-C and SIGTERM too: unwrap them for the CLI
    found = destination_error(exc, pipeline) or destination_setup_error(exc, pipeline)
    if found:
        return found
    if any(isinstance(cause, DatabaseException) for cause in _chain(exc)):
        step = getattr(exc, "step", "load")
        return DestinationError(f"The destination refused the load at step {step}: {_last_line(exc)}")
    return exc


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__ or getattr(current, "exception", None)
    return seen


def _last_line(exc: BaseException) -> str:
    causes = _chain(exc)
    return str(causes[-1]).strip().splitlines()[0][:300] if causes else str(exc)


def with_client(pipeline: dlt.Pipeline, action: Callable[[Any, str], T]) -> T:
    with pipeline.sql_client() as client:
        return action(client, pipeline.dataset_name)
