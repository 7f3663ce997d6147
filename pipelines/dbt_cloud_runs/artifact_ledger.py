"""The artifacts ledger: what `run_artifacts` says about each run's run_results.json, read before a load.

Every run whose document was asked for has one row in `run_artifacts` with its outcome. `loaded` and
`none` (dbt Cloud has no document) are settled and never asked again; `unreadable` and `failed` are
owed another try, by later loads, up to `ARTIFACT_MAX_ATTEMPTS` in all. The backlog is the stored
runs inside the artifacts window whose document is still owed (skipped by `--no-artifacts`, or failed).

Kept apart from `artifacts.py`, which fetches and parses documents into Arrow tables, so that a load
which finds nothing new reads the ledger without importing Arrow (about 0.1 s of a 1 s load).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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


@dataclass
class ArtifactLedger:
    settled: set[int] = field(default_factory=set)
    """runs whose run_results.json is settled (loaded, none, or out of attempts): never asked again"""
    attempts: dict[int, int] = field(default_factory=dict)
    """runs whose fetch failed or was unreadable, and how many loads tried"""
    backlog: list[dict[str, Any]] = field(default_factory=list)
    """stored runs in the artifacts window whose document is still owed"""


def ledger_queries(dataset: str, window_start: datetime | None) -> list[str]:
    """The two queries a ledger is read from: every outcome, and the backlog (none without a window,
    i.e. with artifacts off)."""
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


def ledger_from_rows(
    outcome_rows: list[tuple[Any, ...]], backlog_rows: list[tuple[Any, ...]]
) -> ArtifactLedger:
    """The ledger from the rows of `ledger_queries` (a missing table reads as no rows)."""
    ledger = ArtifactLedger()
    for run_id, outcome, tried in outcome_rows:
        tried = int(tried or 1)
        if outcome in ARTIFACT_RETRY_OUTCOMES and tried < ARTIFACT_MAX_ATTEMPTS:
            ledger.attempts[int(run_id)] = tried
        else:
            ledger.settled.add(int(run_id))
    ledger.backlog = [dict(zip(ARTIFACT_RUN_COLUMNS, row, strict=True)) for row in backlog_rows]
    return ledger
