"""The dlt source: runs (incremental, newest first), open-run refresh, jobs, projects, environments.

Runs are listed `order_by=-created_at` and paging stops at the first run older than the stored
cursor minus the lookback window: `dlt.sources.incremental(row_order="desc", lag=...)` closes the
page generator for us. Runs stored while queued/starting/running are re-read by id on the next load,
however old, through a second resource writing into the same `runs` table; the row with the newest
`updated_at` wins when both resources see the same run (`dedup_sort`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from .api import DbtCloudApi
from .errors import ApiError
from .head import RUN_DETAIL_PARAMS, RUNS_LIST_PARAMS, Head
from .records import (
    ENVIRONMENT_HINTS,
    JOB_HINTS,
    LOAD_HINTS,
    PROJECT_HINTS,
    RUNS_SCHEMA,
    environment_row,
    job_row,
    parse_timestamp,
    project_row,
    runs_to_arrow,
)
from .run_results import (
    RUN_ARTIFACTS_HINTS,
    RUN_RESULTS_HINTS,
    RUN_RESULTS_PRIMARY_KEY,
    RUN_RESULTS_SCHEMA,
    artifact_fetch_row,
    run_results_to_arrow,
)
from .settings import DATASET_NAME, FINAL_STATUSES, OPEN_STATUSES

RUN_HINTS: dict[str, dict[str, Any]] = {
    "id": {"nullable": False},
    # when the listing and the open-run refresh both carry a run, keep the fresher copy
    "updated_at": {"dedup_sort": "desc"},
}
RUNS_BATCH_ROWS = 1000


@dataclass
class ArtifactsPlan:
    """Which runs get their `run_results.json` fetched: final, `artifacts_saved`, finished after
    `finished_after`, and not fetched by an earlier load (`already_fetched`, from `run_artifacts`)."""

    finished_after: datetime
    already_fetched: set[int] = field(default_factory=set)


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
    artifacts_fetched: int = 0
    artifacts_missing: int = 0


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
        head: the first answers this load already read (see `head.py`), so they are not asked twice.
    """
    stats = stats if stats is not None else ExtractStats()
    runs = runs_resource(api, since, lookback_hours, stats, head.runs_first_page if head else None)
    open_runs = open_runs_resource(api, open_run_ids, stats, head.open_runs if head else None)
    resources = [
        runs,
        open_runs,
        listing_resource(api, "jobs", job_row, JOB_HINTS, as_of, stats, head),
        listing_resource(api, "projects", project_row, PROJECT_HINTS, as_of, stats, head),
        listing_resource(api, "environments", environment_row, ENVIRONMENT_HINTS, as_of, stats, head),
        loads_resource(as_of, since, full_refresh),
    ]
    if artifacts is not None:
        # a run can become final in the listing or in the open-run refresh: both feed the same table
        resources.append(run_results_resource(api, runs, "run_results", artifacts, as_of, stats))
        resources.append(run_results_resource(api, open_runs, "open_run_results", artifacts, as_of, stats))
    # the tables exist (empty) even with artifacts off, so the model views can always be created
    resources.append(artifact_tables_resource())
    return resources


def runs_resource(
    api: DbtCloudApi,
    since: datetime | None,
    lookback_hours: float,
    stats: ExtractStats,
    first_page: dict[str, Any] | None = None,
) -> DltResource:
    """Runs newest first, stopping at the first run older than cursor - lookback."""
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
                batch.extend(fresh)
                # Hand dlt ~1,000 rows at a time (its per-item cost dominates at 100 rows), but at once
                # when this page reaches past the cursor: dlt's incremental then closes this generator
                # and no further page is requested.
                if batch and (len(batch) >= RUNS_BATCH_ROWS or _reaches_before(page, oldest_wanted)):
                    stats.runs_listed += len(batch)
                    yield runs_to_arrow(batch)
                    batch = []
        if batch:
            stats.runs_listed += len(batch)
            yield runs_to_arrow(batch)
        elif not stats.runs_listed:
            yield RUNS_SCHEMA.empty_table()  # an account without runs still gets its (empty) table

    return runs


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
    api: DbtCloudApi,
    name: str,
    to_row: Callable[[dict[str, Any], datetime], dict[str, Any]],
    hints: dict[str, dict[str, Any]],
    as_of: datetime,
    stats: ExtractStats,
    head: Head | None = None,
) -> DltResource:
    """Every page of a listing (`jobs/`, `projects/`, `environments/`), merged on `id`.

    Objects deleted in dbt Cloud leave the listing; merge keeps our copy (and so the names of their
    old runs), and `last_seen_at` tells when a listing last showed them.
    """

    @dlt.resource(name=name, primary_key="id", write_disposition="merge", columns=hints, parallelized=True)
    def listing() -> Iterator[list[dict[str, Any]]]:
        pages = head.listings[name] if head is not None else api.iter_pages(f"{name}/")
        for page in pages:
            setattr(stats, name, getattr(stats, name) + len(page))
            yield [to_row(item, as_of) for item in page]

    return listing


def loads_resource(as_of: datetime, since: datetime | None, full_refresh: bool) -> DltResource:
    """One row per load: its `as_of` is the "now" of the time-relative views."""

    @dlt.resource(name="loads", primary_key="load_id", write_disposition="merge", columns=LOAD_HINTS)
    def loads() -> Iterator[dict[str, Any]]:
        yield {"load_id": as_of.isoformat(), "as_of": as_of, "since": since, "full_refresh": full_refresh}

    return loads


# One transformer feeds two tables, so each batch carries its own table hints (a table variant).
_RESULTS_HINTS = dlt.mark.make_hints(
    table_name="run_results",
    primary_key=RUN_RESULTS_PRIMARY_KEY,
    write_disposition="merge",
    columns=deepcopy(RUN_RESULTS_HINTS),  # dlt writes into the hint dicts it is given
)
_FETCHED_HINTS = dlt.mark.make_hints(
    table_name="run_artifacts",
    primary_key="run_id",
    write_disposition="merge",
    columns=deepcopy(RUN_ARTIFACTS_HINTS),
)
_RUN_ARTIFACTS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.int64(), nullable=False),
        pa.field("outcome", pa.string(), nullable=False),
        pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("results", pa.int64(), nullable=False),
    ]
)


def artifact_tables_resource() -> DltResource:
    """Empty `run_results`/`run_artifacts` tables, so their views exist before the first artifact."""

    @dlt.resource(name="artifact_tables", write_disposition="merge")
    def artifact_tables() -> Iterator[Any]:
        yield dlt.mark.with_hints(RUN_RESULTS_SCHEMA.empty_table(), _RESULTS_HINTS, create_table_variant=True)
        yield dlt.mark.with_hints(
            _RUN_ARTIFACTS_SCHEMA.empty_table(), _FETCHED_HINTS, create_table_variant=True
        )

    return artifact_tables


def run_results_resource(
    api: DbtCloudApi,
    parent: DltResource,
    name: str,
    plan: ArtifactsPlan,
    as_of: datetime,
    stats: ExtractStats,
) -> DltResource:
    """Child of a runs resource: each newly final run's `run_results.json`, fetched once.

    A 404 (no artifact: the run failed before dbt started, or it was never saved) is recorded as
    "none" in `run_artifacts`, like a loaded one, so no later load asks again.
    """

    @dlt.transformer(data_from=parent, name=name, write_disposition="merge")
    def run_results(runs: pa.Table) -> Iterator[Any]:
        wanted = [run for run in runs.select(_ARTIFACT_RUN_COLUMNS).to_pylist() if _wants_artifact(run, plan)]
        if not wanted:
            return
        fetched = []
        for run, documents in api.map_concurrently(
            lambda run: (run, _fetch_run_results(api, run["id"])), wanted
        ):
            plan.already_fetched.add(run["id"])
            if documents is None:
                stats.artifacts_missing += 1
                fetched.append(artifact_fetch_row(run["id"], "none", as_of, 0))
                continue
            stats.artifacts_fetched += 1
            table = _results_table(run, documents)
            fetched.append(artifact_fetch_row(run["id"], "loaded", as_of, table.num_rows))
            if table.num_rows:
                yield dlt.mark.with_hints(table, _RESULTS_HINTS, create_table_variant=True)
        yield dlt.mark.with_hints(fetched, _FETCHED_HINTS, create_table_variant=True)

    return run_results


# Commands whose run_results.json says nothing about building: dbt Cloud serves the *last* step's
# document, and a job with "generate docs" on ends with `dbt docs generate`.
_NOT_BUILD_COMMANDS = {"generate", "compile", "docs", "parse", "list", "ls", "show", "deps", "debug"}
_BUILD_STEP = re.compile(r"\bdbt\s+(build|run|test|seed|snapshot)\b")


def _fetch_run_results(api: DbtCloudApi, run_id: int) -> list[Any] | None:
    """The run's `run_results.json` of every build step, in step order; None when it has none (404).

    dbt Cloud serves the last step's document. A `dbt build` step holds models, tests, seeds and
    snapshots at once, so that is all we need. Otherwise (a job running `dbt run` then `dbt test`, or
    ending with `dbt docs generate`) the run's steps are read and each step that ran `dbt build/run/
    test/seed/snapshot` is fetched: one request for the steps plus one per other build step.
    """
    path = f"runs/{run_id}/artifacts/run_results.json"
    try:
        last = api.get_raw(path).json()
    except ApiError as exc:
        if exc.status_code == 404:
            return None
        raise
    command = (last.get("args") or {}).get("which") if isinstance(last, dict) else None
    if command in (None, "build"):
        return [last]
    run = api.get(f"runs/{run_id}/", params={"include_related": '["run_steps"]'})
    steps = sorted((run or {}).get("run_steps") or [], key=lambda step: step.get("index") or 0)
    indexes = [step.get("index") or position + 1 for position, step in enumerate(steps)]
    build_steps = [
        index for index, step in zip(indexes, steps, strict=True) if _BUILD_STEP.search(str(step.get("name")))
    ]
    documents = []
    for index in build_steps:
        if index == indexes[-1] and command not in _NOT_BUILD_COMMANDS:
            documents.append(last)  # the last step's document, which we already have
            continue
        try:
            documents.append(api.get_raw(path, params={"step": index}).json())
        except ApiError as exc:
            if exc.status_code != 404:
                raise
    return documents or [last]


def _results_table(run: dict[str, Any], documents: list[Any]) -> pa.Table:
    """One table for a run's documents; a node in several steps keeps its latest result."""
    table = pa.concat_tables([run_results_to_arrow(run, document) for document in documents])
    last_row = {unique_id: row for row, unique_id in enumerate(table.column("unique_id").to_pylist())}
    if len(last_row) == table.num_rows:
        return table
    return table.take(sorted(last_row.values()))


_ARTIFACT_RUN_COLUMNS = [
    "id",
    "job_definition_id",
    "environment_id",
    "project_id",
    "status",
    "artifacts_saved",
    "finished_at",
]


def _wants_artifact(run: dict[str, Any], plan: ArtifactsPlan) -> bool:
    return (
        run["status"] in FINAL_STATUSES
        and bool(run["artifacts_saved"])
        and run["finished_at"] is not None
        and run["finished_at"] >= plan.finished_after
        and run["id"] not in plan.already_fetched
    )
