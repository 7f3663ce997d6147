"""dlt resources for run artifacts: each newly finished run's `run_results.json`, fetched once.

A transformer child of the runs listing and of the open-run refresh (a run becomes final in either),
writing `run_results` (parsed by `run_results.py`) and `run_artifacts` (which runs were asked for),
plus a backlog resource for stored runs whose document is still owed (a load with `--no-artifacts`,
or an earlier fetch that failed). One run's artifact never fails a load: a body that is not a
run_results document is recorded as "unreadable", a request that keeps failing as "failed", each with
its reason, and later loads try again up to `ARTIFACT_MAX_ATTEMPTS` times.

How far back: a store's first artifacts load (no `run_artifacts` row yet) reaches back
`first_load_artifacts_days` (60), so the model views that compare two 30-day windows answer from it;
later loads reach back `artifacts_days` (14), where only newly finished runs are owed anyway.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.runtime.collector import NULL_COLLECTOR, Collector
from dlt.sources import DltResource

from .api import DbtCloudApi
from .artifact_ledger import ARTIFACT_MAX_ATTEMPTS, ARTIFACT_RUN_COLUMNS, is_owed
from .contract import RUN_ARTIFACTS_SCHEMA
from .errors import ApiError
from .progress import ARTIFACTS_COUNTER
from .run_results import (
    RUN_ARTIFACTS_HINTS,
    RUN_RESULTS_HINTS,
    RUN_RESULTS_PRIMARY_KEY,
    RUN_RESULTS_SCHEMA,
    artifact_fetch_row,
    run_results_to_arrow,
)
from .settings import FINAL_STATUSES, RUN_STEPS_PARAMS


@dataclass
class ArtifactsPlan:
    """Which runs get their `run_results.json` fetched: final, `artifacts_saved`, finished after
    `finished_after`, and not settled by an earlier load (`already_fetched`, from `run_artifacts`).
    Several resources fetch on worker threads; `claim` makes sure each run is fetched once per load.
    Counts what it did, for the load summary, and reports it to dlt's progress collector (`progress`:
    the runs to fetch as they become known, then each one fetched)."""

    finished_after: datetime
    already_fetched: set[int] = field(default_factory=set)
    attempts: dict[int, int] = field(default_factory=dict)
    """earlier attempts of runs whose fetch failed or was unreadable"""
    first_load_days: int | None = None
    """set on a store's first artifacts load: how many days back it reaches (for the summary)"""
    progress: Collector = field(default=NULL_COLLECTOR, repr=False)
    fetched: int = 0
    missing: int = 0
    failed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def claim(self, run_id: int) -> bool:
        """True for the first caller of this load asking for `run_id`."""
        with self._lock:
            if run_id in self.already_fetched:
                return False
            self.already_fetched.add(run_id)
            return True

    def planned(self, runs: int) -> None:
        """`runs` more documents to fetch: the N of the progress line's "k of N"."""
        if runs:
            with self._lock:
                self.progress.update(ARTIFACTS_COUNTER, 0, inc_total=runs)

    def count(self, outcome: str) -> None:
        with self._lock:
            if outcome == "loaded":
                self.fetched += 1
            elif outcome == "none":
                self.missing += 1
            else:
                self.failed += 1
            self.progress.update(ARTIFACTS_COUNTER, 1)

    def summary(self) -> str:
        text = f"{self.fetched} loaded, {self.missing} runs without one"
        if self.failed:
            text += (
                f", {self.failed} failed (recorded in run_artifacts with the reason; later loads try "
                f"again, up to {ARTIFACT_MAX_ATTEMPTS} times)"
            )
        if self.first_load_days is not None:
            text += (
                f"; first artifacts load: runs finished in the last {self.first_load_days} days "
                "(first_load_artifacts_days)"
            )
        return text


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


def artifact_tables_resource() -> DltResource:
    """Empty `run_results`/`run_artifacts` tables, so their views exist before the first artifact."""

    @dlt.resource(name="artifact_tables", write_disposition="merge")
    def artifact_tables() -> Iterator[Any]:
        yield dlt.mark.with_hints(RUN_RESULTS_SCHEMA.empty_table(), _RESULTS_HINTS, create_table_variant=True)
        yield dlt.mark.with_hints(
            RUN_ARTIFACTS_SCHEMA.empty_table(), _FETCHED_HINTS, create_table_variant=True
        )

    return artifact_tables


def run_results_resource(
    api: DbtCloudApi,
    parent: DltResource,
    name: str,
    plan: ArtifactsPlan,
    as_of: datetime,
) -> DltResource:
    """Child of a runs resource: each newly final run's `run_results.json`, fetched once.

    A 404 (no artifact: the run failed before dbt started, or it was never saved) is recorded as
    "none" in `run_artifacts`, like a loaded one, so no later load asks again.
    """

    @dlt.transformer(data_from=parent, name=name, write_disposition="merge")
    def run_results(runs: pa.Table) -> Iterator[Any]:
        wanted = [run for run in runs.select(ARTIFACT_RUN_COLUMNS).to_pylist() if _wants_artifact(run, plan)]
        yield from _fetch_and_record(api, [run for run in wanted if plan.claim(run["id"])], plan, as_of)

    return run_results


def artifacts_backlog_resource(
    api: DbtCloudApi, runs: Sequence[dict[str, Any]], plan: ArtifactsPlan, as_of: datetime
) -> DltResource:
    """Stored runs whose document is still owed: skipped by `--no-artifacts`, or failed before."""

    @dlt.resource(name="artifacts_backlog", write_disposition="merge", parallelized=True)
    def artifacts_backlog() -> Iterator[Any]:
        wanted = [run for run in runs if _wants_artifact(run, plan) and plan.claim(run["id"])]
        yield from _fetch_and_record(api, wanted, plan, as_of)

    return artifacts_backlog


def _fetch_and_record(
    api: DbtCloudApi, runs: list[dict[str, Any]], plan: ArtifactsPlan, as_of: datetime
) -> Iterator[Any]:
    """Fetch each run's documents concurrently; yield their rows and one `run_artifacts` row per run."""
    if not runs:
        return
    plan.planned(len(runs))
    fetched = []
    for run, outcome in api.map_concurrently(lambda run: (run, _fetch_outcome(api, run["id"])), runs):
        documents, reason = outcome
        attempt = plan.attempts.get(run["id"], 0) + 1
        if reason is not None:
            plan.count("failed")
            kind = "failed" if reason.startswith(_REQUEST_FAILED) else "unreadable"
            fetched.append(artifact_fetch_row(run["id"], kind, as_of, 0, reason=reason, attempts=attempt))
            continue
        if documents is None:
            plan.count("none")
            fetched.append(artifact_fetch_row(run["id"], "none", as_of, 0, attempts=attempt))
            continue
        try:
            table = _results_table(run, documents)
        except (ValueError, TypeError, KeyError, AttributeError, pa.ArrowException) as exc:
            plan.count("failed")
            reason = f"not a run_results document: {type(exc).__name__}: {str(exc)[:160]}"
            fetched.append(
                artifact_fetch_row(run["id"], "unreadable", as_of, 0, reason=reason, attempts=attempt)
            )
            continue
        plan.count("loaded")
        fetched.append(artifact_fetch_row(run["id"], "loaded", as_of, table.num_rows, attempts=attempt))
        if table.num_rows:
            yield dlt.mark.with_hints(table, _RESULTS_HINTS, create_table_variant=True)
    yield dlt.mark.with_hints(fetched, _FETCHED_HINTS, create_table_variant=True)


_REQUEST_FAILED = "request failed"


def _fetch_outcome(api: DbtCloudApi, run_id: int) -> tuple[list[Any] | None, str | None]:
    """`(documents, None)`, `(None, None)` for no artifact, or `(None, reason)` when it went wrong."""
    try:
        return _fetch_run_results(api, run_id), None
    except ApiError as exc:
        return None, f"{_REQUEST_FAILED}: {str(exc)[:200]}"
    except ValueError as exc:  # the body is not JSON: a proxy's page, a cut-off document
        return None, f"not JSON: {str(exc)[:160]}"


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
    run = api.get(f"runs/{run_id}/", params=RUN_STEPS_PARAMS)
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


def _wants_artifact(run: dict[str, Any], plan: ArtifactsPlan) -> bool:
    return (
        run["status"] in FINAL_STATUSES
        and bool(run["artifacts_saved"])
        and is_owed(run, plan.finished_after, plan.attempts)
        and run["id"] not in plan.already_fetched
    )
