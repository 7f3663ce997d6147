"""Deterministic synthetic dbt Cloud account: projects, environments, jobs and their run history.

Everything comes from one seeded `random.Random` and the account's `now`, never from the wall clock, so
two simulators built with the same (seed, runs, jobs, now) serve byte-identical data. Runs are stored
as small slotted objects holding a *planned* timeline (created, dequeued, started, finished, outcome);
what a client sees (status, which timestamps are set) is derived from that plan and a clock when the
run is serialized, which is how `advance()` and wall-clock triggered runs make runs progress without
rewriting them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, overload

QUEUED, STARTING, RUNNING, SUCCESS, ERROR, CANCELLED = 1, 2, 3, 10, 20, 30
FINAL_STATUSES = (SUCCESS, ERROR, CANCELLED)

RUN_ID_START = 400_000_000
JOB_ID_START = 100_001
PROJECT_ID_START = 70_001
ENVIRONMENT_ID_START = 210_001
TRIGGER_ID_START = 600_000_000

SCHEDULER_CAUSE = "Kicked off by the scheduler"
API_CAUSES = (
    "Kicked off from Airflow",
    "Triggered via API",
    "Nightly orchestration",
    "Kicked off from Dagster",
)
UI_USERS = ("alice", "bob", "carmen", "dev", "li.wei", "sam.ortiz")

PROJECTS = (
    ("Analytics", "analytics", "github"),
    ("Finance Marts", "finance", "github"),
    ("Marketing Attribution", "marketing", "gitlab"),
    ("Data Platform", "platform", "github"),
)
SUBJECTS = (
    "marts refresh",
    "staging build",
    "snapshots",
    "finance close",
    "orders models",
    "customer 360",
    "attribution",
    "source freshness",
    "exposures refresh",
    "revenue models",
    "inventory sync",
    "product analytics",
    "sessionization",
    "metrics layer",
    "ledger reconciliation",
    "seed reload",
)
ERROR_MESSAGES = (
    "Database Error in model fct_orders (models/marts/fct_orders.sql)\n  division by zero",
    "Compilation Error in model stg_payments (models/staging/stg_payments.sql)\n  'ref' not found",
    "Failure in test unique_dim_customers_customer_id (models/marts/schema.yml)\n  Got 3 results",
    "Database Error in model int_sessions (models/intermediate/int_sessions.sql)\n  permission denied",
    "Runtime Error\n  Could not connect to the warehouse: timeout after 60s",
    "Failed to clone repository: remote end hung up unexpectedly",
)


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


def _timestamp(rng: random.Random, base: datetime, days_back: int) -> str:
    return fmt_ts(jitter_micro(rng, base - timedelta(days=days_back, seconds=rng.randrange(86_400))))


def _build_projects(account: Account, rng: random.Random) -> None:
    """3-4 projects, each with a development env, production, and for some staging and CI envs."""
    count = 3 + (account.seed % 2)
    env_id = ENVIRONMENT_ID_START
    for index, (name, slug, provider) in enumerate(PROJECTS[:count]):
        project_id = PROJECT_ID_START + index
        account.projects.append(
            {
                "id": project_id,
                "account_id": account.account_id,
                "name": name,
                "description": f"The {slug} dbt project",
                "connection_id": 5000 + index,
                "connection": None,
                "repository_id": 6000 + index,
                "repository": None,
                "dbt_project_subdirectory": None,
                "semantic_layer_config_id": None,
                "state": 1,
                "type": 0,
                "git_provider": provider,
                "created_at": _timestamp(rng, account.now, 700 + 30 * index),
                "updated_at": _timestamp(rng, account.now, 200),
            }
        )
        kinds = [("Development", "development", None), ("Production", "deployment", "production")]
        if index % 2 == 0:
            kinds.append(("Staging", "deployment", "staging"))
        kinds.append(("CI", "deployment", None))
        version = "versionless" if index == 3 else ("1.8.0-latest" if index == 2 else "1.9.0-latest")
        for env_name, env_type, deployment_type in kinds:
            account.environments.append(
                {
                    "id": env_id,
                    "account_id": account.account_id,
                    "project_id": project_id,
                    "name": env_name,
                    "type": env_type,
                    "deployment_type": deployment_type,
                    "dbt_version": version,
                    "use_custom_branch": deployment_type == "staging",
                    "custom_branch": "develop" if deployment_type == "staging" else None,
                    "supports_docs": env_type == "deployment",
                    "credentials_id": 8000 + env_id % 1000,
                    "deploy_key_id": None,
                    "created_by_id": 1,
                    "repository_id": 6000 + index,
                    "state": 1,
                    "created_at": _timestamp(rng, account.now, 650),
                    "updated_at": _timestamp(rng, account.now, 90),
                }
            )
            env_id += 1


def _pick_schedule(rng: random.Random) -> Schedule:
    minute = rng.choice((0, 0, 5, 15, 30, 45, rng.randrange(60)))
    roll = rng.random()
    if roll < 0.1:
        return Schedule(minute, tuple(range(24)))
    if roll < 0.3:
        step = rng.choice((4, 6, 8, 12))
        return Schedule(minute, tuple(range(0, 24, step)))
    hour = rng.choice((1, 2, 3, 4, 5, 6, 7, 8, 12, 18))
    if roll < 0.8:
        return Schedule(minute, (hour,))
    if roll < 0.9:
        return Schedule(minute, (hour,), (1, 2, 3, 4, 5))
    return Schedule(minute, (hour,), (rng.randrange(7),))


def _schedule_word(schedule: Schedule) -> str:
    if len(schedule.hours) == 24:
        return "Hourly"
    if len(schedule.hours) > 1:
        return f"Every {24 // len(schedule.hours)}h"
    if schedule.dows is None:
        return "Daily" if schedule.hours[0] >= 5 else "Nightly"
    return "Weekday" if len(schedule.dows) == 5 else "Weekly"


def _job_steps(rng: random.Random, job_type: str, subject: str) -> list[str]:
    if job_type == "ci":
        return ["dbt build --select state:modified+"]
    if "freshness" in subject:
        return ["dbt source freshness", "dbt build --select source_status:fresher+"]
    if "snapshot" in subject:
        return ["dbt snapshot", "dbt run --select snapshots+"]
    if "seed" in subject:
        return ["dbt seed --full-refresh", "dbt build"]
    return rng.choice(
        (["dbt build"], ["dbt run", "dbt test"], ["dbt seed", "dbt run", "dbt test"], ["dbt build"])
    )


def _build_jobs(account: Account, rng: random.Random, count: int) -> None:
    """`count` jobs: ~70% scheduled, ~12% CI (PR webhooks), the rest triggered by API or by hand."""
    deploy_envs = [e for e in account.environments if e["type"] == "deployment"]
    chronic = {3, 17, 41} if count > 41 else {min(3, count - 1)}
    slow = {7, 29} if count > 29 else {count // 2}
    names: set[str] = set()
    for index in range(count):
        job_id = JOB_ID_START + index
        roll = rng.random()
        job_type = "scheduled" if index == 0 or roll < 0.7 else ("ci" if roll < 0.82 else "other")
        if job_type == "ci":
            env = rng.choice([e for e in deploy_envs if e["deployment_type"] is None])
        else:
            env = rng.choice([e for e in deploy_envs if e["deployment_type"] is not None])
        project = account.project(env["project_id"])
        assert project is not None  # every environment belongs to a project built just before
        subject = "marts refresh" if index == 0 else rng.choice(SUBJECTS)
        schedule = _pick_schedule(rng) if job_type == "scheduled" else None
        if index == 0:
            schedule = Schedule(0, (6,))
        if job_type == "scheduled":
            assert schedule is not None  # picked above for every scheduled job
            name = f"{_schedule_word(schedule)} {subject}"
        elif job_type == "ci":
            name = f"CI check ({project['name']})"
        else:
            name = f"{subject.capitalize()} (orchestrated)"
        base, n = name, 2
        while name in names:
            name, n = f"{base} #{n}", n + 1
        names.add(name)
        steps = _job_steps(rng, job_type, subject)
        generate_docs = job_type == "scheduled" and rng.random() < 0.3
        cron = schedule.cron if schedule else "0 0 * * *"
        data = {
            "id": job_id,
            "account_id": account.account_id,
            "project_id": env["project_id"],
            "environment_id": env["id"],
            "name": name,
            "description": f"{name} for {project['name']}",
            "dbt_version": None,
            "job_type": job_type,
            "triggers": {
                "schedule": job_type == "scheduled",
                "github_webhook": job_type == "ci" and project["git_provider"] == "github",
                "git_provider_webhook": job_type == "ci",
                "custom_branch_only": False,
                "on_merge": False,
            },
            "schedule": {"cron": cron, "date": "custom_cron", "time": "every_hour"},
            "cron_humanized": cron,
            "execute_steps": steps,
            "settings": {
                "threads": rng.choice((4, 8, 8, 16)),
                "target_name": "ci" if job_type == "ci" else "prod",
            },
            "state": 1,
            "deactivated": False,
            "generate_docs": generate_docs,
            "run_generate_sources": any("freshness" in s for s in steps),
            "timeout_seconds": 0,
            "deferring_job_definition_id": None,
            "deferring_environment_id": None,
            "lifecycle_webhooks": False,
            "triggers_on_draft_pr": False,
            "run_compare_changes": False,
            "is_deferrable": job_type != "ci",
            "next_run": None,
            "next_run_humanized": None,
            "created_at": _timestamp(rng, account.now, 400 + rng.randrange(200)),
            "updated_at": _timestamp(rng, account.now, 1 + rng.randrange(60)),
        }
        per_day = schedule.runs_per_day if schedule else (2.0 if job_type == "ci" else 0.8)
        account.jobs[job_id] = JobSpec(
            data=data,
            schedule=schedule,
            error_rate=0.5 if index in chronic else 0.05,
            run_minutes=rng.uniform(70, 110) if index in slow else rng.uniform(2, 18),
            weight=per_day**0.5,
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
    queue = rng.lognormvariate(3.0, 0.9)  # median ~20 s
    if rng.random() < 0.02:
        queue += rng.uniform(300, 1800)  # the occasional long queue (concurrency limits)
    dequeued = jitter_micro(rng, created + timedelta(seconds=queue * rng.uniform(0.3, 0.8)), 0.3)
    started = jitter_micro(rng, created + timedelta(seconds=queue), 0.3)
    run_seconds = max(20.0, spec.run_minutes * 60 * rng.lognormvariate(0, 0.25))
    finished = jitter_micro(rng, started + timedelta(seconds=run_seconds), 0.3)
    if open_stage is not None:
        created, dequeued, started, finished = _open_timeline(rng, account.now, open_stage)
        roll = max(roll, 0.03)  # an open run has not been cancelled (yet)
    outcome, message, artifacts = SUCCESS, None, True
    never_started = False
    if roll < 0.03:
        outcome, message, artifacts = CANCELLED, "Cancelled by user", False
        if rng.random() < 0.4:  # cancelled while still queued: never started
            finished = jitter_micro(rng, created + timedelta(seconds=queue * rng.uniform(0.2, 0.9)), 0.3)
            never_started = True
        else:
            finished = jitter_micro(
                rng, started + timedelta(seconds=run_seconds * rng.uniform(0.1, 0.9)), 0.3
            )
    elif roll < 0.03 + spec.error_rate:
        outcome, message = ERROR, rng.choice(ERROR_MESSAGES)
        artifacts = not message.startswith(("Failed to clone", "Runtime Error"))
        finished = jitter_micro(rng, started + timedelta(seconds=run_seconds * rng.uniform(0.2, 1.0)), 0.3)
    git_branch = (overrides or {}).get("git_branch") or env["custom_branch"] or "main"
    run = Run(
        id=account.next_run_id,
        trigger_id=account.next_trigger_id,
        job_id=spec.data["id"],
        project_id=spec.data["project_id"],
        environment_id=spec.data["environment_id"],
        created=created,
        dequeued=None if never_started else dequeued,
        started=None if never_started else started,
        finished=finished,
        outcome=outcome,
        status_message=message,
        artifacts_saved=artifacts,
        cause=cause,
        overrides=overrides,
        git_branch=git_branch,
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


def _created_times(
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


def generate_account(
    *, seed: int, runs: int, jobs: int, now: datetime, account_id: int, deleted_jobs: int = 0
) -> Account:
    """Build the account. Deterministic for (seed, runs, jobs, now, account_id, deleted_jobs)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    rng = random.Random(seed)
    account = Account(account_id=account_id, seed=seed, now=now)
    _build_projects(account, rng)
    _build_jobs(account, rng, max(1, jobs))
    specs = list(account.jobs.values())
    open_count = min(8, runs // 10) if runs >= 10 else min(runs, 1)
    for created, spec in _created_times(rng, account, specs, runs - open_count):
        add_run(account, plan_run(account, rng, spec, created), now)
    stages = [
        ("running", "starting", "queued")[min(2, i // max(1, open_count // 3))] for i in range(open_count)
    ]
    recent = [plan_run(account, rng, rng.choice(specs), now, open_stage=stage) for stage in stages]
    ids = sorted((r.id, r.trigger_id) for r in recent)
    for run, (run_id, trigger_id) in zip(sorted(recent, key=lambda r: r.created), ids, strict=True):
        run.id, run.trigger_id = run_id, trigger_id  # ids ascend with created_at
        add_run(account, run, now)
    _mark_retries(account)
    _delete_jobs_with_runs(account, deleted_jobs)
    return account


RETRYABLE_COMMANDS = frozenset({"build", "run", "test", "seed", "snapshot", "compile", "clone", "docs"})
"""Commands `dbt retry` supports (dbt's docs); a run whose last step is another cannot be retried."""


def retry_refusal(account: Account, run: Run, status: int) -> str | None:
    """Why dbt Cloud would refuse to retry `run` now (a `retry_not_supported_reason`), or None."""
    if status != ERROR:
        return "RETRY_NOT_FAILED_RUN"
    if not run.artifacts_saved:
        return "RETRY_NO_RUN_RESULTS"
    parts = (run.dbt_version or "").split("-")[0].split(".")
    numeric = len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit()
    if numeric and (int(parts[0]), int(parts[1])) < (1, 6):
        return "RETRY_UNSUPPORTED_VERSION"
    steps = (run.overrides or {}).get("steps_override") or account.jobs[run.job_id].data["execute_steps"]
    words = str(steps[-1]).split() if steps else []
    if len(words) > 1 and words[1] not in RETRYABLE_COMMANDS:
        return "RETRY_UNSUPPORTED_CMD"
    if account.latest_run_by_job.get(run.job_id) != run.id:
        return "RETRY_NOT_LATEST_RUN"
    return None


def _mark_retries(account: Account) -> None:
    """Every third failed run that dbt ran (artifacts saved) was retried: its job's next run.

    That run carries `retrying_run_id` = the failed run (the direction dbt's field names, like
    `deferring_run_id`). Chosen by id rather than by the generator's random stream, so adding this
    changed no other value of the account.
    """
    last_error: dict[int, Run] = {}
    for run in account.runs_by_id:
        failed = last_error.pop(run.job_id, None)
        if failed is not None:
            run.retrying_run_id = failed.id
        if run.outcome == ERROR and run.artifacts_saved and run.id % 3 == 0 and not run.live:
            last_error[run.job_id] = run


def _delete_jobs_with_runs(account: Account, count: int) -> None:
    """Soft-delete (state 2) `count` jobs that have runs, as if deleted before the first load.

    Their runs stay in `GET /runs/`, while `GET /jobs/` leaves them out unless asked for `state=all`.
    """
    for job_id in sorted(account.latest_run_by_job)[: max(0, count)]:
        account.jobs[job_id].data["state"] = 2
        account.jobs[job_id].data["updated_at"] = fmt_ts(account.now - timedelta(days=1))


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
