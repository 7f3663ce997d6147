"""The simulated account's data model: status codes, ids, schedules, runs, jobs and the account.

Runs are small slotted objects holding a *planned* timeline (created, dequeued, started, finished,
outcome); what a client sees (status, which timestamps are set) is derived from that plan and a clock
when the run is serialized (serialize.py), which is how `advance()` and wall-clock triggered runs make
runs progress without rewriting them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, overload

QUEUED, STARTING, RUNNING, SUCCESS, ERROR, CANCELLED = 1, 2, 3, 10, 20, 30
FINAL_STATUSES = (SUCCESS, ERROR, CANCELLED)

STATUS_HUMANIZED = {
    QUEUED: "Queued",
    STARTING: "Starting",
    RUNNING: "Running",
    SUCCESS: "Success",
    ERROR: "Error",
    CANCELLED: "Cancelled",
}
STATUS_COLORS = {SUCCESS: "#55973a", ERROR: "#d64545", CANCELLED: "#777777"}

RUN_ID_START = 400_000_000
JOB_ID_START = 100_001
PROJECT_ID_START = 70_001
ENVIRONMENT_ID_START = 210_001
TRIGGER_ID_START = 600_000_000


@dataclass(frozen=True)
class Schedule:
    """A cron schedule of the small shapes the generator uses: one minute, some hours, some weekdays.

    Kept structured (not parsed from text) so `advance()` can enumerate fire times cheaply.
    `dows` uses cron numbering (0 = Sunday); None means every day.
    """

    minute: int
    hours: tuple[int, ...]
    dows: tuple[int, ...] | None = None

    @property
    def cron(self) -> str:
        if len(self.hours) == 24:
            hours = "*"
        elif len(self.hours) > 1:
            hours = f"*/{self.hours[1] - self.hours[0]}"
        else:
            hours = str(self.hours[0])
        if self.dows is None:
            dows = "*"
        else:
            dows = "1-5" if self.dows == (1, 2, 3, 4, 5) else ",".join(map(str, self.dows))
        return f"{self.minute} {hours} * * {dows}"

    @property
    def runs_per_day(self) -> float:
        days = 7 if self.dows is None else len(self.dows)
        return len(self.hours) * days / 7

    def fires_between(self, start: datetime, end: datetime) -> list[datetime]:
        """Fire times t with start < t <= end (UTC)."""
        fires = []
        hour = start.replace(minute=0, second=0, microsecond=0)
        while hour <= end:
            at = hour.replace(minute=self.minute)
            if (
                start < at <= end
                and at.hour in self.hours
                and (self.dows is None or (at.weekday() + 1) % 7 in self.dows)
            ):
                fires.append(at)
            hour += timedelta(hours=1)
        return fires


class Run:
    """One run's identity and planned timeline; the visible state is derived from a clock on read.

    `live` runs (triggered over HTTP) are evaluated against the live clock (sim now + wall time since
    the last advance) instead of the fixed `now`. `settled` caches "final under any future clock".
    """

    __slots__ = (
        "id",
        "trigger_id",
        "job_id",
        "project_id",
        "environment_id",
        "created",
        "dequeued",
        "started",
        "finished",
        "outcome",
        "status_message",
        "artifacts_saved",
        "cause",
        "overrides",
        "git_branch",
        "git_sha",
        "dbt_version",
        "live",
        "settled",
        "pending_404",
        "scheduled",
        "updated_extra",
        "retrying_run_id",
    )

    id: int
    trigger_id: int
    job_id: int
    project_id: int
    environment_id: int
    created: datetime
    dequeued: datetime | None
    """None once cancelled while still queued (never dequeued)"""
    started: datetime | None
    """None once cancelled before it started"""
    finished: datetime
    """the planned (or, when cancelled, actual) end; whether it is reached depends on the clock"""
    outcome: int
    status_message: str | None
    artifacts_saved: bool
    cause: str
    overrides: dict[str, Any] | None
    git_branch: str
    git_sha: str
    dbt_version: str
    live: bool
    settled: bool
    pending_404: bool
    scheduled: bool
    updated_extra: int
    retrying_run_id: int | None

    def __init__(self, **values: Any) -> None:
        self.overrides = None
        self.live = False
        self.settled = False
        self.pending_404 = False
        self.scheduled = False
        self.updated_extra = 0
        self.retrying_run_id = None
        for name, value in values.items():
            setattr(self, name, value)


@dataclass
class JobSpec:
    """A job plus the private knobs that shape its runs (error rate, typical duration)."""

    data: dict[str, Any]
    schedule: Schedule | None
    error_rate: float
    run_minutes: float
    weight: float


@dataclass
class Account:
    """The whole synthetic account; mutated by the simulator under its lock."""

    account_id: int
    seed: int
    now: datetime
    projects: list[dict[str, Any]] = field(default_factory=list)
    environments: list[dict[str, Any]] = field(default_factory=list)
    jobs: dict[int, JobSpec] = field(default_factory=dict)
    runs_by_id: list[Run] = field(default_factory=list)  # ascending id (append-only)
    open_candidates: set[int] = field(default_factory=set)
    next_run_id: int = RUN_ID_START
    next_trigger_id: int = TRIGGER_ID_START
    created_in_id_order: bool = True  # False once a run is created earlier than one with a smaller id
    latest_run_by_job: dict[int, int] = field(default_factory=dict)
    """newest run id per job: only a job's latest run can be retried"""

    def project(self, project_id: int) -> dict[str, Any] | None:
        return next((p for p in self.projects if p["id"] == project_id), None)

    def environment(self, environment_id: int) -> dict[str, Any] | None:
        return next((e for e in self.environments if e["id"] == environment_id), None)

    def run(self, run_id: int) -> Run | None:
        """Runs are append-only with ascending ids, so a bisect finds one without an index dict."""
        runs = self.runs_by_id
        lo, hi = 0, len(runs)
        while lo < hi:
            mid = (lo + hi) // 2
            if runs[mid].id < run_id:
                lo = mid + 1
            else:
                hi = mid
        return runs[lo] if lo < len(runs) and runs[lo].id == run_id else None


def jitter_micro(rng: random.Random, dt: datetime, zero_share: float = 0.4) -> datetime:
    """Give a timestamp random microseconds, except for a share that stays on a whole second.

    The real API omits the fraction when it is zero; clients must parse both shapes.
    """
    return dt.replace(microsecond=0 if rng.random() < zero_share else rng.randrange(1, 1_000_000))


@overload
def fmt_ts(dt: datetime) -> str: ...
@overload
def fmt_ts(dt: None) -> None: ...
@overload
def fmt_ts(dt: datetime | None) -> str | None: ...
def fmt_ts(dt: datetime | None) -> str | None:
    """`2026-11-20 08:15:49.123456+00:00`, or without the fraction when microseconds are 0."""
    return None if dt is None else dt.isoformat(" ")


def iso(dt: datetime) -> str:
    """dbt writes artifact timestamps as `2024-12-16T07:45:32.505887Z` (always with the fraction).

    `dt` is UTC, as every simulator time is; isoformat is about 3x faster than strftime here, which
    matters when a document has a few hundred timestamps."""
    return dt.isoformat(timespec="microseconds")[:26] + "Z"
