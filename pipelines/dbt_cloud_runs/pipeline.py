"""One load, start to end: open the pipeline, find open runs, extract, load, views, summary.

The entry point (`pipelines/dbt_runs.py`) and the demo call `run_load`; errors a user can cause come
out as `DbtCloudError` subclasses carrying one clear line.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
from dlt.pipeline.exceptions import PipelineStepFailed

from . import load_checks
from .api import DbtCloudApi
from .artifacts import (
    BACKLOG_COLUMNS,
    ArtifactsPlan,
    artifacts_window_days,
    is_first_artifacts_load,
    is_owed,
)
from .change_detection import (
    Head,
    StoredHead,
    fetch_head,
    nothing_changed,
    stored_head_from_rows,
    stored_head_queries,
)
from .credentials import DbtCloudCredentials, LoadSettings
from .errors import ApiError, ConfigError, DbtCloudError, DestinationError, ViewsError
from .load_lock import load_lock
from .recovery import Recovery, finish_interrupted_load
from .run_results import ARTIFACT_MAX_ATTEMPTS, ARTIFACT_RETRY_OUTCOMES
from .settings import DATASET_NAME, FINAL_STATUSES, OPEN_STATUSES, PIPELINE_NAME, READER_LOCK_WAIT_SECONDS
from .source import ExtractStats, dbt_cloud_source
from .views import ViewResult, apply_views, drop_views


@dataclass
class LoadSummary:
    """What a load did, printed at its end."""

    runs_new: int = 0
    runs_updated: int = 0
    """Stored runs this load wrote again: runs in the lookback window whose `updated_at` or status
    changed, and open runs re-read by id (written even when still unchanged)."""
    runs_total: int = 0
    open_runs_refreshed: int = 0
    open_runs_now_final: int = 0
    open_runs_still_open: int = 0
    jobs: int = 0
    projects: int = 0
    environments: int = 0
    run_pages: int = 0
    elapsed_seconds: float = 0.0
    process_seconds: float | None = None
    """The whole process's wall time, start-up included (set by the CLI): what a scheduler sees."""
    location: str = ""
    views: ViewResult = field(default_factory=lambda: ViewResult([], {}))
    extra: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Human summary, a few lines."""
        out = [
            f"Runs: {self.runs_new} new, {self.runs_updated} stored runs rewritten (changed, or open and "
            f"re-read) ({self.runs_total} stored; "
            f"{self.run_pages} page(s) of runs read)",
            f"Open runs re-read: {self.open_runs_refreshed} ({self.open_runs_now_final} now final; "
            f"{self.open_runs_still_open} runs open after this load)",
            f"Jobs: {self.jobs}, projects: {self.projects}, environments: {self.environments} "
            "(in the API listings)",
        ]
        for key, value in self.extra.items():
            out.append(f"{key}: {value}")
        out.append(
            f"Views: {len(self.views.created)} created"
            + (
                f", {len(self.views.failed)} failed: "
                + "; ".join(f"{k}: {v}" for k, v in self.views.failed.items())
                if self.views.failed
                else ""
            )
        )
        if self.process_seconds is None:
            out.append(f"Elapsed: {self.elapsed_seconds:.1f} s")
        else:
            out.append(
                f"Elapsed: {self.process_seconds:.1f} s (whole process; the load itself "
                f"{self.elapsed_seconds:.1f} s)"
            )
        out.append(f"Data: {self.location}")
        return out


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
            if _is_file_lock(exc) and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            explained = explain_destination(exc, pipeline)
            if explained is not None:
                raise explained from None
            raise


def _is_file_lock(exc: BaseException) -> bool:
    text = " ".join(str(e) for e in _chain(exc))
    return "Could not set lock" in text or "Conflicting lock" in text


def _open_runs_sql(dataset: str) -> str:
    codes = ", ".join(str(code) for code in sorted(OPEN_STATUSES))
    return f"SELECT id FROM {dataset}.runs WHERE status IN ({codes}) ORDER BY id"


@dataclass
class StoredState:
    """What earlier loads left in the destination that this load needs to know."""

    open_run_ids: list[int] = field(default_factory=list)
    """runs stored as queued/starting/running: re-read by id, however old"""
    run_count: int = 0
    fetched_artifacts: set[int] = field(default_factory=set)
    """runs whose run_results.json is settled (loaded, none, or out of attempts): never asked again"""
    artifact_attempts: dict[int, int] = field(default_factory=dict)
    """runs whose fetch failed or was unreadable, and how many loads tried"""
    artifacts_backlog: list[dict[str, Any]] = field(default_factory=list)
    """stored runs in the artifacts window whose document is still owed"""
    first_artifacts_load: bool = True
    """no document fetched yet (`run_artifacts` empty): the artifacts window is first_load_artifacts_days"""
    head: StoredHead = field(default_factory=StoredHead)


def read_stored_state(pipeline: dlt.Pipeline, settings: LoadSettings, as_of: datetime) -> StoredState:
    """Everything the load needs from the destination, over one connection."""
    dataset = pipeline.dataset_name
    retry = ", ".join(f"'{outcome}'" for outcome in ARTIFACT_RETRY_OUTCOMES)
    # the widest window a load can have; which one applies is known once `run_artifacts` is read
    widest = artifacts_window_days(settings.artifacts_days, settings.first_load_artifacts_days, True)
    window_start = (as_of - timedelta(days=widest)).isoformat()
    backlog_sql = (
        f"SELECT {', '.join('r.' + c for c in BACKLOG_COLUMNS)} FROM {dataset}.runs AS r "
        f"LEFT JOIN {dataset}.run_artifacts AS a ON a.run_id = r.id "
        f"WHERE r.artifacts_saved AND r.finished_at >= '{window_start}' "
        f"AND r.status IN ({', '.join(str(code) for code in sorted(FINAL_STATUSES))}) "
        f"AND (a.run_id IS NULL OR (a.outcome IN ({retry}) "
        f"AND coalesce(a.attempts, 1) < {ARTIFACT_MAX_ATTEMPTS}))"
    )
    open_rows, count_rows, artifact_rows, backlog_rows, *head_rows = query(
        pipeline,
        _open_runs_sql(dataset),
        f"SELECT count(*) FROM {dataset}.runs",
        f"SELECT run_id, outcome, attempts FROM {dataset}.run_artifacts",
        backlog_sql if settings.artifacts else "SELECT 1 WHERE 1 = 0",
        *stored_head_queries(dataset, settings.lookback_hours),
    )
    settled: set[int] = set()
    attempts: dict[int, int] = {}
    for run_id, outcome, tried in artifact_rows:
        tried = int(tried or 1)
        if outcome in ARTIFACT_RETRY_OUTCOMES and tried < ARTIFACT_MAX_ATTEMPTS:
            attempts[int(run_id)] = tried
        else:
            settled.add(int(run_id))
    first = is_first_artifacts_load(artifact_rows)
    days = artifacts_window_days(settings.artifacts_days, settings.first_load_artifacts_days, first)
    finished_after = as_of - timedelta(days=days)
    candidates = [dict(zip(BACKLOG_COLUMNS, row, strict=True)) for row in backlog_rows]
    return StoredState(
        open_run_ids=[int(row[0]) for row in open_rows],
        run_count=int(count_rows[0][0]) if count_rows else 0,
        fetched_artifacts=settled,
        artifact_attempts=attempts,
        artifacts_backlog=[run for run in candidates if is_owed(run, finished_after, attempts)],
        first_artifacts_load=first,
        head=stored_head_from_rows(head_rows),
    )


def run_load(
    pipeline: dlt.Pipeline,
    credentials: DbtCloudCredentials,
    settings: LoadSettings,
    since: datetime | None = None,
    full_refresh: bool = False,
    as_of: datetime | None = None,
) -> LoadSummary:
    """Load one account into the pipeline's destination and (re)create the views.

    The story: take the load lock; finish what an interrupted load left; read what is stored; read
    the account's head; if nothing changed, record the check, else let dlt extract, normalize and
    load; then the views. A load that fails half-way commits nothing: dlt stores the new cursor with
    the data, so the next load starts from the last good one and fills everything in.
    """
    started = time.monotonic()
    as_of = as_of or datetime.now(UTC)
    with load_lock(lock_paths(pipeline), wait_seconds=settings.lock_wait_seconds):
        recovery = while_readers_hold_the_file(
            lambda: finish_interrupted_load(
                pipeline,
                explain=lambda exc: exc if _is_file_lock(exc) else explain_destination(exc, pipeline),
            ),
            pipeline,
        )
        backup = backup_store(pipeline, as_of) if full_refresh else None
        api = DbtCloudApi(
            credentials, max_workers=settings.max_workers, requests_per_minute=settings.requests_per_minute
        )
        stored = StoredState() if full_refresh else read_stored_state(pipeline, settings, as_of)
        head = None
        if stored.head.cursor is not None:
            head = fetch_head(api, stored.open_run_ids, stored.head)
            if not stored.artifacts_backlog and nothing_changed(head, stored.head, settings.lookback_hours):
                summary = _unchanged_summary(pipeline, head, stored, as_of)
                return _finish(summary, recovery, backup, started)
        summary = _extract_and_load(pipeline, api, settings, stored, head, since, full_refresh, as_of)
        return _finish(summary, recovery, backup, started)


def _finish(summary: LoadSummary, recovery: Recovery, backup: Path | None, started: float) -> LoadSummary:
    if recovery.line():
        summary.extra["Earlier load"] = recovery.line()
    if backup is not None:
        summary.extra["Before the full refresh"] = f"the old store was copied to {backup}"
    summary.elapsed_seconds = time.monotonic() - started
    if summary.views.failed:
        names = ", ".join(sorted(summary.views.failed))
        first = next(iter(summary.views.failed.values()))
        raise ViewsError(
            f"the data was loaded, but {len(summary.views.failed)} view(s) could not be created: {names} "
            f"({first}). Answers from them are missing until a load creates them."
        )
    return summary


def _extract_and_load(
    pipeline: dlt.Pipeline,
    api: DbtCloudApi,
    settings: LoadSettings,
    stored: StoredState,
    head: Head | None,
    since: datetime | None,
    full_refresh: bool,
    as_of: datetime,
) -> LoadSummary:
    """Something changed (or this is a first load): a dlt extract/normalize/load cycle."""
    artifacts = None
    if settings.artifacts:
        first = stored.first_artifacts_load
        days = artifacts_window_days(settings.artifacts_days, settings.first_load_artifacts_days, first)
        artifacts = ArtifactsPlan(
            finished_after=as_of - timedelta(days=days),
            already_fetched=stored.fetched_artifacts,
            attempts=stored.artifact_attempts,
            first_load_days=days if first else None,
            progress=pipeline.collector,
        )
    if full_refresh:
        drop_views_before_refresh(pipeline)
    stats = ExtractStats()
    source = dbt_cloud_source(
        api=api,
        as_of=as_of,
        since=since,
        lookback_hours=settings.lookback_hours,
        open_run_ids=stored.open_run_ids,
        full_refresh=full_refresh,
        stats=stats,
        artifacts=artifacts,
        head=head,
        unchanged_runs=stored.head.recent_runs,
        artifacts_backlog=stored.artifacts_backlog if artifacts is not None else [],
    )
    if full_refresh:
        while_readers_hold_the_file(lambda: _with_client(pipeline, load_checks.drop_table), pipeline)
    # dlt reads its state from the destination before extracting: wait out readers there first
    while_readers_hold_the_file(pipeline.sync_destination, pipeline)
    try:
        # dlt's signature defaults both to None (no refresh, the destination's preferred format) but
        # types them without it
        info = pipeline.run(
            source,
            refresh="drop_sources" if full_refresh else None,  # type: ignore[arg-type]
            loader_file_format=_loader_file_format(pipeline),  # type: ignore[arg-type]
        )
    except PipelineStepFailed as exc:
        if not (_is_file_lock(exc) and pipeline.has_pending_data):
            raise explain_failure(exc, pipeline) from None
        # extracted and normalized, but a reader held the file at the write: finish the write
        info = while_readers_hold_the_file(lambda: _load_pending(pipeline), pipeline)
    except (DatabaseException, DestinationUndefinedEntity) as exc:
        raise explain_failure(exc, pipeline) from None
    summary = LoadSummary(
        open_runs_refreshed=stats.open_runs_requested - len(stats.open_runs_missing),
        open_runs_now_final=stats.open_runs_now_final,
        jobs=stats.jobs,
        projects=stats.projects,
        environments=stats.environments,
        run_pages=stats.run_pages,
        location=data_location(pipeline),
    )
    summary.extra["Artifacts (run_results.json)"] = artifacts.summary() if artifacts is not None else "off"

    dataset = pipeline.dataset_name
    load_ids = ", ".join(f"'{load_id}'" for load_id in info.loads_ids) or "''"
    total_rows, written_rows, open_rows = query(
        pipeline,
        f"SELECT count(*) FROM {dataset}.runs",
        f"SELECT count(*) FROM {dataset}.runs WHERE _dlt_load_id IN ({load_ids})",
        _open_runs_sql(dataset),
    )
    summary.runs_total = int(total_rows[0][0]) if total_rows else 0
    summary.runs_new = max(0, summary.runs_total - stored.run_count)
    summary.runs_updated = max(0, (int(written_rows[0][0]) if written_rows else 0) - summary.runs_new)
    summary.open_runs_still_open = len(open_rows)
    summary.views = while_readers_hold_the_file(lambda: _with_client(pipeline, _create_views), pipeline)
    return summary


def _with_client(pipeline: dlt.Pipeline, action: Callable[[Any, str], T]) -> T:
    with pipeline.sql_client() as client:
        return action(client, pipeline.dataset_name)


def _create_views(client: Any, dataset: str) -> ViewResult:
    load_checks.ensure_table(client, dataset)
    return apply_views(client, dataset)


def _load_pending(pipeline: dlt.Pipeline) -> Any:
    try:
        return pipeline.load()
    except PipelineStepFailed as exc:
        if _is_file_lock(exc):
            raise
        raise explain_failure(exc, pipeline) from None


def drop_views_before_refresh(pipeline: dlt.Pipeline) -> None:
    """`--full-refresh` drops the tables; the views that read them go first (PostgreSQL insists)."""
    try:
        with pipeline.sql_client() as client:
            drop_views(client, pipeline.dataset_name)
    except Exception as exc:
        explained = destination_error(exc, pipeline) or destination_setup_error(exc, pipeline)
        if explained:
            raise explained from None
        raise


def _loader_file_format(pipeline: dlt.Pipeline) -> TLoaderFileFormat | None:
    """Parquet (runs arrive as Arrow tables), except on PostgreSQL, which loads Parquet only through an
    ADBC driver we do not install (dlt would warn on every table and fall back anyway)."""
    destination_type = pipeline.destination.destination_type if pipeline.destination else ""
    return None if destination_type.endswith("postgres") else "parquet"


def _is_duckdb(pipeline: dlt.Pipeline) -> bool:
    return pipeline.destination is not None and pipeline.destination.destination_type.endswith("duckdb")


def duckdb_file(pipeline: dlt.Pipeline) -> Path | None:
    """The DuckDB file the pipeline writes, when its destination is DuckDB."""
    if not _is_duckdb(pipeline):
        return None
    try:
        credentials = pipeline.destination_client().config.credentials
    except Exception as exc:
        raise explain_destination(exc, pipeline) or exc from None
    database = getattr(credentials, "database", None)
    return Path(database).resolve() if database and database != ":memory:" else None


def lock_paths(pipeline: dlt.Pipeline) -> list[tuple[Path, str]]:
    """The load's locks: its state dir, and its DuckDB file when it has one."""
    paths = [
        (
            Path(pipeline.pipelines_dir) / f"{pipeline.pipeline_name}.load.lock",
            f"state dir {pipeline.working_dir}",
        )
    ]
    database = duckdb_file(pipeline)
    if database is not None:
        if not database.parent.is_dir():
            raise DestinationError(
                f"Cannot open the destination ({database.parent} does not exist): check its location, "
                "e.g. DESTINATION__DUCKDB__CREDENTIALS for the DuckDB file."
            )
        paths.append((database.with_name(database.name + ".load.lock"), f"{database}"))
    return paths


def backup_store(pipeline: dlt.Pipeline, as_of: datetime) -> Path | None:
    """Before `--full-refresh` drops the history, copy the DuckDB file beside it (runs older than the
    year dbt Cloud still serves exist nowhere else)."""
    database = duckdb_file(pipeline)
    if database is None or not database.exists():
        return None
    target = database.with_name(
        f"{database.stem}.before-full-refresh-{as_of:%Y%m%dT%H%M%SZ}{database.suffix}"
    )
    try:
        shutil.copy2(database, target)
    except OSError as exc:
        raise DestinationError(
            f"could not save a copy of {database} before the full refresh ({exc.strerror}): free some space "
            "or copy it yourself, then run again. Nothing was dropped."
        ) from None
    return target


def _unchanged_summary(
    pipeline: dlt.Pipeline, head: Head, stored: StoredState, as_of: datetime
) -> LoadSummary:
    """Nothing changed since the last load: record the check, refresh the views, say so."""
    summary = LoadSummary(
        runs_total=stored.run_count,
        open_runs_refreshed=sum(1 for _, run in head.open_runs if not isinstance(run, ApiError)),
        open_runs_still_open=len(stored.open_run_ids),
        jobs=sum(len(page) for page in head.listings["jobs"]),
        projects=sum(len(page) for page in head.listings["projects"]),
        environments=sum(len(page) for page in head.listings["environments"]),
        run_pages=1,
        location=data_location(pipeline),
    )
    summary.extra["Nothing changed since the last load"] = "recorded the check (as_of), no rows rewritten"

    def record_and_create_views(client: Any, dataset: str) -> ViewResult:
        load_checks.record(client, dataset, as_of)
        return apply_views(client, dataset)

    summary.views = while_readers_hold_the_file(
        lambda: _with_client(pipeline, record_and_create_views), pipeline
    )
    return summary


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
