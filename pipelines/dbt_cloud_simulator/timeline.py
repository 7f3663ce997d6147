"""The run history: when runs are created, how each one's timeline and outcome are drawn, and the runs
that moving the clock forward brings.

Draws come from the generator's seeded `random.Random` in a fixed order (changing the order changes
every run after it), so two accounts built with the same settings are identical.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .model import CANCELLED, ERROR, SUCCESS, Account, JobSpec, Run, jitter_micro

SCHEDULER_CAUSE = "Kicked off by the scheduler"
API_CAUSES = (
    "Kicked off from Airflow",
    "Triggered via API",
    "Nightly orchestration",
    "Kicked off from Dagster",
)
UI_USERS = ("alice", "bob", "carmen", "dev", "li.wei", "sam.ortiz")
ERROR_MESSAGES = (
    "Database Error in model fct_orders (models/marts/fct_orders.sql)\n  division by zero",
    "Compilation Error in model stg_payments (models/staging/stg_payments.sql)\n  'ref' not found",
    "Failure in test unique_dim_customers_customer_id (models/marts/schema.yml)\n  Got 3 results",
    "Database Error in model int_sessions (models/intermediate/int_sessions.sql)\n  permission denied",
    "Runtime Error\n  Could not connect to the warehouse: timeout after 60s",
    "Failed to clone repository: remote end hung up unexpectedly",
)


def cause_for(
    rng: random.Random, spec: JobSpec, project: dict[str, Any]
) -> tuple[str, dict[str, Any] | None, bool]:
    """(cause, trigger overrides, scheduled?) as the real service words them, per job type."""
    job_type = spec.data["job_type"]
    roll = rng.random()
    if job_type == "ci":
        number = rng.randrange(100, 4000)
        branch = f"feature/{rng.choice(('orders', 'ltv', 'fix-nulls', 'refactor', 'sessions'))}-{number}"
        common = {"git_branch": branch, "schema_override": f"dbt_cloud_pr_{spec.data['id']}_{number}"}
        if project["git_provider"] == "gitlab":
            return (
                f"Triggered by GitLab merge request !{number}",
                {**common, "gitlab_merge_request_id": number},
                False,
            )
        return (
            f"Triggered by GitHub pull request #{number}",
            {**common, "github_pull_request_id": number},
            False,
        )
    if job_type == "scheduled" and roll < 0.9:
        return SCHEDULER_CAUSE, None, True
    if job_type == "other" and roll < 0.8 or job_type == "scheduled" and roll < 0.95:
        return rng.choice(API_CAUSES), None, False
    return f"Kicked off from UI by {rng.choice(UI_USERS)}@example.com", None, False


@dataclass
class _Timeline:
    """The planned moments of one run while it is being drawn (see `plan_run`)."""

    created: datetime
    dequeued: datetime
    started: datetime
    finished: datetime
    queue_seconds: float
    run_seconds: float


def _draw_timeline(rng: random.Random, spec: JobSpec, created: datetime) -> _Timeline:
    """Queue (median ~20 s, 2% wait 5-30 min) then a run around the job's typical length."""
    queue = rng.lognormvariate(3.0, 0.9)  # median ~20 s
    if rng.random() < 0.02:
        queue += rng.uniform(300, 1800)  # the occasional long queue (concurrency limits)
    dequeued = jitter_micro(rng, created + timedelta(seconds=queue * rng.uniform(0.3, 0.8)), 0.3)
    started = jitter_micro(rng, created + timedelta(seconds=queue), 0.3)
    run_seconds = max(20.0, spec.run_minutes * 60 * rng.lognormvariate(0, 0.25))
    finished = jitter_micro(rng, started + timedelta(seconds=run_seconds), 0.3)
    return _Timeline(created, dequeued, started, finished, queue, run_seconds)


def _draw_outcome(
    rng: random.Random, spec: JobSpec, roll: float, plan: _Timeline
) -> tuple[int, str | None, bool, bool]:
    """(outcome, status message, artifacts saved?, never started?); moves `plan.finished` for runs
    that end early (cancelled, or failed part-way)."""
    if roll < 0.03:
        if rng.random() < 0.4:  # cancelled while still queued: never started
            plan.finished = jitter_micro(
                rng, plan.created + timedelta(seconds=plan.queue_seconds * rng.uniform(0.2, 0.9)), 0.3
            )
            return CANCELLED, "Cancelled by user", False, True
        plan.finished = jitter_micro(
            rng, plan.started + timedelta(seconds=plan.run_seconds * rng.uniform(0.1, 0.9)), 0.3
        )
        return CANCELLED, "Cancelled by user", False, False
    if roll < 0.03 + spec.error_rate:
        message = rng.choice(ERROR_MESSAGES)
        artifacts = not message.startswith(("Failed to clone", "Runtime Error"))
        plan.finished = jitter_micro(
            rng, plan.started + timedelta(seconds=plan.run_seconds * rng.uniform(0.2, 1.0)), 0.3
        )
        return ERROR, message, artifacts, False
    return SUCCESS, None, True, False


def plan_run(
    account: Account,
    rng: random.Random,
    spec: JobSpec,
    created: datetime,
    *,
    open_stage: str | None = None,
    by_scheduler: bool = False,
) -> Run:
    """A run of `spec` created at `created`, with a random but realistic planned timeline and outcome."""
    project = account.project(spec.data["project_id"])
    env = account.environment(spec.data["environment_id"])
    assert project is not None and env is not None  # jobs are built from existing environments
    cause, overrides, scheduled = cause_for(rng, spec, project)
    if by_scheduler:
        cause, overrides, scheduled = SCHEDULER_CAUSE, None, True
    roll = rng.random()
    plan = _draw_timeline(rng, spec, created)
    if open_stage is not None:
        plan.created, plan.dequeued, plan.started, plan.finished = _open_timeline(
            rng, account.now, open_stage
        )
        roll = max(roll, 0.03)  # an open run has not been cancelled (yet)
    outcome, message, artifacts, never_started = _draw_outcome(rng, spec, roll, plan)
    run = Run(
        id=account.next_run_id,
        trigger_id=account.next_trigger_id,
        job_id=spec.data["id"],
        project_id=spec.data["project_id"],
        environment_id=spec.data["environment_id"],
        created=plan.created,
        dequeued=None if never_started else plan.dequeued,
        started=None if never_started else plan.started,
        finished=plan.finished,
        outcome=outcome,
        status_message=message,
        artifacts_saved=artifacts,
        cause=cause,
        overrides=overrides,
        git_branch=(overrides or {}).get("git_branch") or env["custom_branch"] or "main",
        git_sha=f"{rng.getrandbits(160):040x}",
        dbt_version=spec.data["dbt_version"] or env["dbt_version"],
        scheduled=scheduled,
    )
    account.next_run_id += 1
    account.next_trigger_id += 1
    return run


def _open_timeline(
    rng: random.Random, now: datetime, stage: str
) -> tuple[datetime, datetime, datetime, datetime]:
    """A timeline that is still at `stage` (queued / starting / running) at `now`."""
    seconds = timedelta(seconds=1)
    if stage == "queued":
        created = now - rng.uniform(5, 60) * seconds
        dequeued = now + rng.uniform(30, 120) * seconds
        started = dequeued + rng.uniform(10, 60) * seconds
    elif stage == "starting":
        created = now - rng.uniform(60, 180) * seconds
        dequeued = now - rng.uniform(5, 30) * seconds
        started = now + rng.uniform(10, 90) * seconds
    else:
        created = now - rng.uniform(180, 900) * seconds
        dequeued = created + rng.uniform(5, 60) * seconds
        started = dequeued + rng.uniform(5, 30) * seconds
    finished = max(now, started) + rng.uniform(120, 1800) * seconds
    return (
        jitter_micro(rng, created, 0.3),
        jitter_micro(rng, dequeued, 0.3),
        jitter_micro(rng, started, 0.3),
        jitter_micro(rng, finished, 0.3),
    )


def add_run(account: Account, run: Run, clock: datetime) -> None:
    """Append a run (ids only grow) and remember whether it may still be open at some clock."""
    if account.runs_by_id and run.created < account.runs_by_id[-1].created:
        account.created_in_id_order = False
    account.runs_by_id.append(run)
    account.latest_run_by_job[run.job_id] = max(run.id, account.latest_run_by_job.get(run.job_id, 0))
    if run.finished is not None and run.finished <= clock and not run.live:
        run.settled = True
    else:
        account.open_candidates.add(run.id)


def _span_days(runs: int) -> float:
    """Several months of history; bigger accounts spread further, within the API's ~365 days."""
    return min(360.0, 120.0 + max(0, runs - 5000) / 400)


def created_times(
    rng: random.Random, account: Account, specs: list[JobSpec], count: int
) -> list[tuple[datetime, JobSpec]]:
    """Sample (created_at, job) pairs over the span: scheduled jobs at their cron minute, others anywhere."""
    span = _span_days(count)
    chosen = rng.choices(specs, weights=[s.weight for s in specs], k=count)
    day0 = account.now.replace(hour=0, minute=0, second=0, microsecond=0)
    pairs = []
    for spec in chosen:
        days_back = int(rng.random() * span)
        if spec.schedule is not None:
            day = day0 - timedelta(days=days_back)
            if spec.schedule.dows is not None:
                while (day.weekday() + 1) % 7 not in spec.schedule.dows:
                    day -= timedelta(days=1)
            at = day + timedelta(
                hours=rng.choice(spec.schedule.hours), minutes=spec.schedule.minute, seconds=rng.random() * 4
            )
        else:
            at = day0 - timedelta(days=days_back) + timedelta(seconds=rng.random() * 86_400)
        if at >= account.now - timedelta(minutes=30):  # the most recent half hour is filled on purpose below
            at -= timedelta(days=1)
        pairs.append((jitter_micro(rng, at), spec))
    pairs.sort(key=lambda pair: pair[0])
    return pairs


def schedule_new_runs(account: Account, start: datetime, end: datetime) -> int:
    """Create the runs that time moving from `start` to `end` brings: cron fires of active scheduled
    jobs, plus PR and API runs at their usual daily rates. Returns how many were created."""
    rng = random.Random(f"{account.seed}:{start.isoformat()}:{end.isoformat()}")
    planned: list[tuple[datetime, JobSpec, bool]] = []
    hours = (end - start).total_seconds() / 3600
    for spec in account.jobs.values():
        if spec.data["state"] != 1:
            continue
        if spec.schedule is not None and spec.data["triggers"]["schedule"]:
            planned += [
                (jitter_micro(rng, at + timedelta(seconds=rng.random() * 4)), spec, True)
                for at in spec.schedule.fires_between(start, end)
            ]
        else:
            expected = hours / 24 * (2.0 if spec.data["job_type"] == "ci" else 0.8)
            whole = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
            planned += [
                (jitter_micro(rng, start + (end - start) * rng.random()), spec, False) for _ in range(whole)
            ]
    planned.sort(key=lambda item: (item[0], item[1].data["id"]))
    for created, spec, by_scheduler in planned:
        add_run(account, plan_run(account, rng, spec, created, by_scheduler=by_scheduler), end)
    return len(planned)
