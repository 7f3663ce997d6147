"""The dlt source: runs (incremental, newest first), open-run refresh, jobs, projects, environments,
and (from `artifacts.py`) each newly finished run's `run_results.json`.

Runs are listed `order_by=-created_at` and paging stops at the first run older than the stored
cursor minus the lookback window: `dlt.sources.incremental(row_order="desc", lag=...)` closes the
page generator for us. Runs stored while queued/starting/running are re-read by id on the next load,
however old, through a second resource writing into the same `runs` table; the row with the newest
`updated_at` wins when both resources see the same run (`dedup_sort`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources import DltResource

from .api import DbtCloudApi
from .artifacts import (
    ArtifactsPlan,
    artifact_tables_resource,
    artifacts_backlog_resource,
    run_results_resource,
)
from .change_detection import Head
from .contract import ENVIRONMENTS_SCHEMA, JOBS_SCHEMA, LOADS_SCHEMA, PROJECTS_SCHEMA, column_hints
from .errors import ApiError
from .listings import AccountListings
from .rows import (
    RUNS_SCHEMA,
    environment_row,
    job_row,
    parse_timestamp,
    project_row,
    runs_to_arrow,
)
from .settings import DATASET_NAME, OPEN_STATUSES, RUN_DETAIL_PARAMS, RUNS_LIST_PARAMS

RUN_HINTS: TTableSchemaColumns = {
    "id": {"nullable": False},
    # when the listing and the open-run refresh both carry a run, keep the fresher copy
    "updated_at": {"dedup_sort": "desc"},
}
RUNS_BATCH_ROWS = 1000


@dataclass
class ExtractStats:
    """What the resources saw, for the load summary (filled in while extracting)."""

    runs_listed: int = 0
    run_pages: int = 0
    open_runs_requested: int = 0
    open_runs_now_final: int = 0
    open_runs_missing: list[int] = field(default_factory=list)
    jobs: int = 0
    projects: int = 0
    environments: int = 0


@dlt.source(name=DATASET_NAME, max_table_nesting=0)
def dbt_cloud_source(
    api: DbtCloudApi,
    as_of: datetime,
    since: datetime | None = None,
    lookback_hours: float = 6.0,
    open_run_ids: Sequence[int] = (),
    full_refresh: bool = False,
    stats: ExtractStats | None = None,
    artifacts: ArtifactsPlan | None = None,
    head: Head | None = None,
    unchanged_runs: Mapping[int, tuple[Any, ...]] | None = None,
    artifacts_backlog: Sequence[dict[str, Any]] = (),
) -> list[DltResource]:
    """Every resource of one dbt Cloud account.

    Args:
        api: a configured client for the account.
        as_of: the moment this load started; stamped on listed objects (`last_seen_at`) and stored
            in `loads`, it is the "now" of the time-relative views.
        since: where a first load starts (default: all the history the API serves).
        lookback_hours: re-read runs created this long before the stored cursor.
        open_run_ids: runs stored in a non-final state by earlier loads, to re-read by id.
        full_refresh: recorded in `loads` (the caller drops the data).
        stats: filled with counts for the summary.
        artifacts: which finished runs get their `run_results.json` loaded; None loads none.
        head: the first answers this load already read (see `change_detection.py`): not asked twice.
        unchanged_runs: `(updated_at, status)` of stored runs in the lookback window: a listed run
            that still matches is not written again.
        artifacts_backlog: stored runs whose `run_results.json` is still owed (see `artifacts.py`).
    """
    stats = stats if stats is not None else ExtractStats()
    runs = runs_resource(
        api, since, lookback_hours, stats, head.runs_first_page if head else None, unchanged_runs or {}
    )
    open_runs = open_runs_resource(api, open_run_ids, stats, head.open_runs if head else None)
    account = AccountListings(api)  # read only when there is no head (its listings are read already)
    resources = [
        runs,
        open_runs,
        listing_resource(account, "jobs", job_row, JOBS_SCHEMA, as_of, stats, head),
        listing_resource(account, "projects", project_row, PROJECTS_SCHEMA, as_of, stats, head),
        listing_resource(account, "environments", environment_row, ENVIRONMENTS_SCHEMA, as_of, stats, head),
        loads_resource(as_of, since, full_refresh),
    ]
    if artifacts is not None:
        # a run can become final in the listing or in the open-run refresh: both feed the same table
        resources.append(run_results_resource(api, runs, "run_results", artifacts, as_of))
        resources.append(run_results_resource(api, open_runs, "open_run_results", artifacts, as_of))
        if artifacts_backlog:
            resources.append(artifacts_backlog_resource(api, artifacts_backlog, artifacts, as_of))
    # the tables exist (empty) even with artifacts off, so the model views can always be created
    resources.append(artifact_tables_resource())
    return resources


def runs_resource(
    api: DbtCloudApi,
    since: datetime | None,
    lookback_hours: float,
    stats: ExtractStats,
    first_page: dict[str, Any] | None = None,
    unchanged: Mapping[int, tuple[Any, ...]] | None = None,
) -> DltResource:
    """Runs newest first, stopping at the first run older than cursor - lookback.

    Runs in the lookback window whose `(updated_at, status)` equal the stored copy are dropped before
    dlt sees them, so an incremental load writes only what changed; paging then stops here (dlt's
    incremental would never see the old row that closes it).
    """
    unchanged = unchanged or {}
    lag_seconds = lookback_hours * 3600 if lookback_hours else None

    @dlt.resource(name="runs", primary_key="id", write_disposition="merge", columns=RUN_HINTS)
    def runs(
        created_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(  # noqa: B008
            "created_at",
            initial_value=since,
            row_order="desc",
            lag=lag_seconds,
            primary_key=(),  # merge on `id` dedupes; boundary hashing would hide updates in the lag window
        ),
    ) -> Iterator[pa.Table]:
        seen: set[int] = set()
        batch: list[dict[str, Any]] = []
        # lag-adjusted: the oldest created_at this load still wants (None on a first load without --since)
        oldest_wanted = parse_timestamp(created_at.start_value)
        with closing(api.iter_pages("runs/", params=RUNS_LIST_PARAMS, first=first_page)) as pages:
            for page in pages:
                stats.run_pages += 1
                # runs created while we page shift offsets, so a run can come twice: keep the first
                fresh = [run for run in page if run["id"] not in seen]
                seen.update(run["id"] for run in fresh)
                batch.extend(run for run in fresh if not _is_unchanged(run, unchanged))
                reached_cursor = _reaches_before(page, oldest_wanted)
                # Hand dlt ~1,000 rows at a time (its per-item cost dominates at 100 rows), but at once
                # when this page reaches past the cursor, and then stop: no further page is requested.
                if batch and (len(batch) >= RUNS_BATCH_ROWS or reached_cursor):
                    stats.runs_listed += len(batch)
                    yield runs_to_arrow(batch)
                    batch = []
                if reached_cursor:
                    break
        if batch:
            stats.runs_listed += len(batch)
            yield runs_to_arrow(batch)
        elif not stats.runs_listed:
            yield RUNS_SCHEMA.empty_table()  # an account without runs still gets its (empty) table

    return runs


def _is_unchanged(run: dict[str, Any], unchanged: Mapping[int, tuple[Any, ...]]) -> bool:
    stored = unchanged.get(run["id"])
    return stored is not None and stored == (parse_timestamp(run.get("updated_at")), run.get("status"))


def _reaches_before(page: list[dict[str, Any]], oldest_wanted: datetime | None) -> bool:
    """Does this page hold a run created before the oldest one this load wants?"""
    if oldest_wanted is None:
        return False
    created = (parse_timestamp(run.get("created_at")) for run in page)
    return any(value is not None and value < oldest_wanted for value in created)


def open_runs_resource(
    api: DbtCloudApi,
    open_run_ids: Sequence[int],
    stats: ExtractStats,
    fetched: list[tuple[str, Any]] | None = None,
) -> DltResource:
    """Re-read by id every run an earlier load stored as queued/starting/running."""

    @dlt.resource(
        name="open_runs",
        table_name="runs",
        primary_key="id",
        write_disposition="merge",
        columns=RUN_HINTS,
        parallelized=True,
    )
    def open_runs() -> Iterator[pa.Table]:
        paths = [f"runs/{run_id}/" for run_id in open_run_ids]
        stats.open_runs_requested = len(paths)
        refreshed = []
        answers = fetched if fetched is not None else api.get_each(paths, params=RUN_DETAIL_PARAMS)
        for path, run in answers:
            if isinstance(run, ApiError):
                stats.open_runs_missing.append(int(path.split("/")[1]))
                continue
            refreshed.append(run)
            if run.get("status") not in OPEN_STATUSES:
                stats.open_runs_now_final += 1
        if refreshed:
            yield runs_to_arrow(refreshed)

    return open_runs


def listing_resource(
    account: AccountListings,
    name: str,
    to_row: Callable[[dict[str, Any], datetime], dict[str, Any]],
    schema: pa.Schema,
    as_of: datetime,
    stats: ExtractStats,
    head: Head | None = None,
) -> DltResource:
    """Every page of a listing (jobs, projects, environments; see `listings.py`), merged on `id`.

    Jobs are listed in every state, so deleted jobs arrive with `state` 2; an object that leaves the
    listing altogether keeps our copy (and so the names of its old runs), and `last_seen_at` tells
    when a listing last showed it. An empty listing still creates its (empty) table, so every view
    can be created from the first load.
    """

    @dlt.resource(
        name=name,
        primary_key="id",
        write_disposition="merge",
        columns=column_hints(schema),
        parallelized=True,
    )
    def listing() -> Iterator[Any]:
        pages = head.listings[name] if head is not None else account.read(name)
        listed = 0
        for page in pages:
            listed += len(page)
            setattr(stats, name, getattr(stats, name) + len(page))
            yield [to_row(item, as_of) for item in page]
        if not listed:
            yield schema.empty_table()

    return listing


def loads_resource(as_of: datetime, since: datetime | None, full_refresh: bool) -> DltResource:
    """One row per load: its `as_of` is the "now" of the time-relative views."""

    @dlt.resource(
        name="loads", primary_key="load_id", write_disposition="merge", columns=column_hints(LOADS_SCHEMA)
    )
    def loads() -> Iterator[dict[str, Any]]:
        yield {"load_id": as_of.isoformat(), "as_of": as_of, "since": since, "full_refresh": full_refresh}

    return loads
