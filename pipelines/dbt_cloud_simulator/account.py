"""Deterministic synthetic dbt Cloud account: builds projects, environments, jobs and their run history.

Everything comes from one seeded `random.Random` and the account's `now`, never from the wall clock, so
two simulators built with the same (seed, runs, jobs, now) serve byte-identical data. The parts live in
their own modules: the data model (model.py), projects/environments/jobs (objects.py), the run history
(timeline.py) and retries (retries.py); this module puts them together.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from .model import Account, fmt_ts
from .objects import build_jobs, build_projects
from .retries import mark_retries
from .timeline import add_run, created_times, plan_run


def generate_account(
    *, seed: int, runs: int, jobs: int, now: datetime, account_id: int, deleted_jobs: int = 0
) -> Account:
    """Build the account. Deterministic for (seed, runs, jobs, now, account_id, deleted_jobs)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    rng = random.Random(seed)
    account = Account(account_id=account_id, seed=seed, now=now)
    build_projects(account, rng)
    build_jobs(account, rng, max(1, jobs))
    specs = list(account.jobs.values())
    open_count = min(8, runs // 10) if runs >= 10 else min(runs, 1)
    for created, spec in created_times(rng, account, specs, runs - open_count):
        add_run(account, plan_run(account, rng, spec, created), now)
    stages = [
        ("running", "starting", "queued")[min(2, i // max(1, open_count // 3))] for i in range(open_count)
    ]
    recent = [plan_run(account, rng, rng.choice(specs), now, open_stage=stage) for stage in stages]
    ids = sorted((r.id, r.trigger_id) for r in recent)
    for run, (run_id, trigger_id) in zip(sorted(recent, key=lambda r: r.created), ids, strict=True):
        run.id, run.trigger_id = run_id, trigger_id  # ids ascend with created_at
        add_run(account, run, now)
    mark_retries(account)
    _delete_jobs_with_runs(account, deleted_jobs)
    return account


def _delete_jobs_with_runs(account: Account, count: int) -> None:
    """Soft-delete (state 2) `count` jobs that have runs, as if deleted before the first load.

    Their runs stay in `GET /runs/`, while `GET /jobs/` leaves them out unless asked for `state=all`.
    """
    for job_id in sorted(account.latest_run_by_job)[: max(0, count)]:
        account.jobs[job_id].data["state"] = 2
        account.jobs[job_id].data["updated_at"] = fmt_ts(account.now - timedelta(days=1))
