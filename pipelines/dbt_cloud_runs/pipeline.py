"""One load, start to end: lock, recover, read what is stored, read the head, load or record, views.

The entry point (`pipelines/dbt_runs.py`) and the demo call `run_load`; errors a user can cause come
out as `DbtCloudError` subclasses carrying one clear line.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dlt
from dlt.common.destination.exceptions import DestinationUndefinedEntity
from dlt.destinations.exceptions import DatabaseException
from dlt.pipeline.exceptions import PipelineStepFailed

from . import load_checks
from .api import DbtCloudApi
from .artifact_ledger import artifacts_window_days, ledger_from_rows, ledger_queries, widest_window_start
from .change_detection import (
    Head,
    StoredHead,
    fetch_head,
    nothing_changed,
    stored_head_from_rows,
    stored_head_queries,
)
from .credentials import DbtCloudCredentials
from .destination import (
    data_location,
    duckdb_file,
    explain_destination,
    explain_failure,
    is_file_lock,
    loader_file_format,
    query,
    while_readers_hold_the_file,
    with_client,
)
from .errors import ApiError, DestinationError, ViewsError
from .load_lock import load_lock
from .recovery import Recovery, finish_interrupted_load
from .settings import OPEN_STATUSES, LoadSettings
from .views import ViewResult, apply_views, drop_views

if TYPE_CHECKING:
    from .artifacts import ArtifactsPlan  # imported by the extract path only: it brings Arrow


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
    nothing_changed: bool = False
    """the account's head matched the store: the check was recorded, no dlt load ran"""
    artifacts: ArtifactsPlan | None = None
    """what the artifacts step did (None: artifacts off, or nothing changed)"""
    earlier_load: str | None = None
    """what became of a load package an interrupted load left behind"""
    backup: Path | None = None
    """where `--full-refresh` copied the old DuckDB file"""
    reader_copy: str | None = None
    """the reader copy this load published (`--publish` / `publish_path`)"""

    def notes(self) -> list[tuple[str, str]]:
        """The optional summary lines, `(label, text)`, for what this load did besides runs and listings."""
        out: list[tuple[str, str]] = []
        if self.nothing_changed:
            out.append(
                ("Nothing changed since the last load", "recorded the check (as_of), no rows rewritten")
            )
        elif self.artifacts is not None:
            out.append(("Artifacts (run_results.json)", self.artifacts.summary()))
        else:
            out.append(("Artifacts (run_results.json)", "off"))
        if self.earlier_load:
            out.append(("Earlier load", self.earlier_load))
        if self.backup is not None:
            out.append(("Before the full refresh", f"the old store was copied to {self.backup}"))
        if self.reader_copy:
            out.append(("Reader copy", self.reader_copy))
        return out

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
        out += [f"{label}: {text}" for label, text in self.notes()]
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
    window_start = (
        widest_window_start(as_of, settings.artifacts_days, settings.first_load_artifacts_days)
        if settings.artifacts
        else None
    )
    open_rows, count_rows, outcome_rows, backlog_rows, *head_rows = query(
        pipeline,
        _open_runs_sql(dataset),
        f"SELECT count(*) FROM {dataset}.runs",
        *ledger_queries(dataset, window_start),
        *stored_head_queries(dataset, settings.lookback_hours),
    )
    ledger = ledger_from_rows(
        outcome_rows, backlog_rows, as_of, settings.artifacts_days, settings.first_load_artifacts_days
    )
    return StoredState(
        open_run_ids=[int(row[0]) for row in open_rows],
        run_count=int(count_rows[0][0]) if count_rows else 0,
        fetched_artifacts=ledger.settled,
        artifact_attempts=ledger.attempts,
        artifacts_backlog=ledger.backlog,
        first_artifacts_load=ledger.first_load,
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
                explain=lambda exc: exc if is_file_lock(exc) else explain_destination(exc, pipeline),
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
    summary.earlier_load = recovery.line()
    summary.backup = backup
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
    # imported here: they bring Arrow (~0.1 s), which a load that finds nothing new never needs
    from .artifacts import ArtifactsPlan
    from .source import ExtractStats, dbt_cloud_source

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
        while_readers_hold_the_file(lambda: with_client(pipeline, load_checks.drop_table), pipeline)
    # dlt reads its state from the destination before extracting: wait out readers there first
    while_readers_hold_the_file(pipeline.sync_destination, pipeline)
    try:
        # dlt's signature defaults both to None (no refresh, the destination's preferred format) but
        # types them without it
        info = pipeline.run(
            source,
            refresh="drop_sources" if full_refresh else None,  # type: ignore[arg-type]
            loader_file_format=loader_file_format(pipeline),  # type: ignore[arg-type]
        )
    except PipelineStepFailed as exc:
        if not (is_file_lock(exc) and pipeline.has_pending_data):
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
    summary.artifacts = artifacts

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
    summary.views = while_readers_hold_the_file(lambda: with_client(pipeline, _create_views), pipeline)
    return summary


def _create_views(client: Any, dataset: str) -> ViewResult:
    load_checks.ensure_table(client, dataset)
    return apply_views(client, dataset)


def _load_pending(pipeline: dlt.Pipeline) -> Any:
    try:
        return pipeline.load()
    except PipelineStepFailed as exc:
        if is_file_lock(exc):
            raise
        raise explain_failure(exc, pipeline) from None


def drop_views_before_refresh(pipeline: dlt.Pipeline) -> None:
    """`--full-refresh` drops the tables; the views that read them go first (PostgreSQL insists)."""
    try:
        with pipeline.sql_client() as client:
            drop_views(client, pipeline.dataset_name)
    except Exception as exc:
        explained = explain_destination(exc, pipeline)
        if explained:
            raise explained from None
        raise


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
    summary.nothing_changed = True

    def record_and_create_views(client: Any, dataset: str) -> ViewResult:
        load_checks.record(client, dataset, as_of)
        return apply_views(client, dataset)

    summary.views = while_readers_hold_the_file(
        lambda: with_client(pipeline, record_and_create_views), pipeline
    )
    return summary
