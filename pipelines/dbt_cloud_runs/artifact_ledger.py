"""The artifacts ledger: what `run_artifacts` says about each run's run_results.json, read before a load.

Every run whose document was asked for has one row in `run_artifacts` with its outcome. `loaded` and
`none` (dbt Cloud has no document) are settled and never asked again; `unreadable` and `failed` are
owed another try, by later loads, up to `ARTIFACT_MAX_ATTEMPTS` in all. The backlog is the stored
runs inside the artifacts window whose document is still owed (skipped by `--no-artifacts`, or failed).

The window: a store's first artifacts load (no row in `run_artifacts` yet) reaches back
`first_load_artifacts_days` (60 by default, so "which models got slower", 30 days against the 30
before, answers at once); later loads reach back `artifacts_days` (14).

Kept apart from `artifacts.py`, which fetches and parses documents into Arrow tables, so that a load
which finds nothing new reads the ledger without importing Arrow (about 0.1 s of a 1 s load).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .settings import FINAL_STATUSES

ARTIFACT_OUTCOMES = ("loaded", "none", "unreadable", "failed")
"""loaded/none are final; unreadable (a body that is not a run_results document) and failed (the
request kept failing) are tried again by later loads, up to `ARTIFACT_MAX_ATTEMPTS` in all."""
ARTIFACT_RETRY_OUTCOMES = ("unreadable", "failed")
ARTIFACT_MAX_ATTEMPTS = 3

ARTIFACT_RUN_COLUMNS = [
    "id",
    "job_definition_id",
    "environment_id",
    "project_id",
    "status",
    "artifacts_saved",
    "finished_at",
]
"""The run columns that decide whether a run's document is wanted (and the backlog query reads)."""


def is_first_artifacts_load(run_artifacts_rows: Sequence[Any]) -> bool:
    """A store whose `run_artifacts` has no row (or no table) has never fetched a document: a first
    load, a `--full-refresh`, or the first load with artifacts on after loads with them off."""
    return not run_artifacts_rows


def artifacts_window_days(
    artifacts_days: int, first_load_artifacts_days: int, first_artifacts_load: bool
) -> int:
    """How many days before the load a run may have finished and still get its `run_results.json`:
    `first_load_artifacts_days` on a first artifacts load (never less than `artifacts_days`), else
    `artifacts_days`."""
    return max(artifacts_days, first_load_artifacts_days) if first_artifacts_load else artifacts_days


def is_owed(run: dict[str, Any], finished_after: datetime, attempts: dict[int, int]) -> bool:
    """Is this stored, final run's document owed to this load? It finished inside the window, or an
    earlier load already tried it and failed (retried up to `ARTIFACT_MAX_ATTEMPTS` times even once the
    window has moved past it, so a first load's 60 days do not keep a hole where a fetch failed)."""
    finished_at = run["finished_at"]
    return finished_at is not None and (finished_at >= finished_after or run["id"] in attempts)


@dataclass
class ArtifactLedger:
    settled: set[int] = field(default_factory=set)
    """runs whose run_results.json is settled (loaded, none, or out of attempts): never asked again"""
    attempts: dict[int, int] = field(default_factory=dict)
    """runs whose fetch failed or was unreadable, and how many loads tried"""
    backlog: list[dict[str, Any]] = field(default_factory=list)
    """stored runs in the artifacts window whose document is still owed"""
    first_load: bool = True
    """no document was ever asked for: this load reaches back `first_load_artifacts_days`"""


def ledger_queries(dataset: str, window_start: datetime | None) -> list[str]:
    """The two queries a ledger is read from: every outcome, and the backlog candidates finished since
    `window_start` (the widest window a load can have; none without one, i.e. with artifacts off)."""
    retry = ", ".join(f"'{outcome}'" for outcome in ARTIFACT_RETRY_OUTCOMES)
    finals = ", ".join(str(code) for code in sorted(FINAL_STATUSES))
    backlog = (
        f"SELECT {', '.join('r.' + c for c in ARTIFACT_RUN_COLUMNS)} FROM {dataset}.runs AS r "
        f"LEFT JOIN {dataset}.run_artifacts AS a ON a.run_id = r.id "
        f"WHERE r.artifacts_saved AND r.finished_at >= '{window_start.isoformat()}' "
        f"AND r.status IN ({finals}) "
        f"AND (a.run_id IS NULL OR (a.outcome IN ({retry}) "
        f"AND coalesce(a.attempts, 1) < {ARTIFACT_MAX_ATTEMPTS}))"
        if window_start is not None
        else "SELECT 1 WHERE 1 = 0"
    )
    return [f"SELECT run_id, outcome, attempts FROM {dataset}.run_artifacts", backlog]


def widest_window_start(as_of: datetime, artifacts_days: int, first_load_artifacts_days: int) -> datetime:
    """Where the backlog query starts: which window applies is known only once `run_artifacts` is read."""
    return as_of - timedelta(days=artifacts_window_days(artifacts_days, first_load_artifacts_days, True))


def ledger_from_rows(
    outcome_rows: list[tuple[Any, ...]],
    backlog_rows: list[tuple[Any, ...]],
    as_of: datetime,
    artifacts_days: int,
    first_load_artifacts_days: int,
) -> ArtifactLedger:
    """The ledger from the rows of `ledger_queries` (a missing table reads as no rows)."""
    ledger = ArtifactLedger()
    for run_id, outcome, tried in outcome_rows:
        tried = int(tried or 1)
        if outcome in ARTIFACT_RETRY_OUTCOMES and tried < ARTIFACT_MAX_ATTEMPTS:
            ledger.attempts[int(run_id)] = tried
        else:
            ledger.settled.add(int(run_id))
    ledger.first_load = is_first_artifacts_load(outcome_rows)
    days = artifacts_window_days(artifacts_days, first_load_artifacts_days, ledger.first_load)
    finished_after = as_of - timedelta(days=days)
    candidates = [dict(zip(ARTIFACT_RUN_COLUMNS, row, strict=True)) for row in backlog_rows]
    ledger.backlog = [run for run in candidates if is_owed(run, finished_after, ledger.attempts)]
    return ledger
