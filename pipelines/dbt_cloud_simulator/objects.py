"""The account's fixed objects: 3-4 projects with their environments, and the jobs with their schedules.

Everything is drawn from the generator's one seeded `random.Random`, in a fixed order: reordering
draws here changes every value after them (the runs too), so helpers keep the original draw order.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from .model import (
    ENVIRONMENT_ID_START,
    JOB_ID_START,
    PROJECT_ID_START,
    Account,
    JobSpec,
    Schedule,
    fmt_ts,
    jitter_micro,
)

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


def _timestamp(rng: random.Random, base: datetime, days_back: int) -> str:
    return fmt_ts(jitter_micro(rng, base - timedelta(days=days_back, seconds=rng.randrange(86_400))))


def build_projects(account: Account, rng: random.Random) -> None:
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


def _job_type(rng: random.Random, index: int) -> str:
    """~70% scheduled (always the first job), ~12% CI, the rest triggered by API or by hand."""
    roll = rng.random()
    return "scheduled" if index == 0 or roll < 0.7 else ("ci" if roll < 0.82 else "other")


def _job_environment(rng: random.Random, account: Account, job_type: str) -> dict[str, Any]:
    """CI jobs run in a CI environment (deployment_type null), the others in production or staging."""
    ci = job_type == "ci"
    return rng.choice(
        [
            e
            for e in account.environments
            if e["type"] == "deployment" and (e["deployment_type"] is None) == ci
        ]
    )


def _job_schedule(rng: random.Random, index: int, job_type: str) -> Schedule | None:
    """The cron shape of a scheduled job; the first job is the daily 06:00 one the docs talk about."""
    if job_type != "scheduled":
        return None
    schedule = _pick_schedule(rng)
    return Schedule(0, (6,)) if index == 0 else schedule


def _job_name(job_type: str, schedule: Schedule | None, subject: str, project: dict[str, Any]) -> str:
    if schedule is not None:
        return f"{_schedule_word(schedule)} {subject}"
    if job_type == "ci":
        return f"CI check ({project['name']})"
    return f"{subject.capitalize()} (orchestrated)"


def _unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name #2`, `#3`... when another job already has it (dbt Cloud allows duplicates)."""
    base, number = name, 2
    while name in taken:
        name, number = f"{base} #{number}", number + 1
    taken.add(name)
    return name


def _job_data(
    account: Account,
    rng: random.Random,
    job_id: int,
    env: dict[str, Any],
    project: dict[str, Any],
    job_type: str,
    name: str,
    schedule: Schedule | None,
    steps: list[str],
) -> dict[str, Any]:
    """The job object as `GET /jobs/{id}/` returns it."""
    generate_docs = job_type == "scheduled" and rng.random() < 0.3
    cron = schedule.cron if schedule else "0 0 * * *"
    return {
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


def build_jobs(account: Account, rng: random.Random, count: int) -> None:
    """`count` jobs; three fail chronically (~50% errors) and two are slow (70-110 min)."""
    chronic = {3, 17, 41} if count > 41 else {min(3, count - 1)}
    slow = {7, 29} if count > 29 else {count // 2}
    names: set[str] = set()
    for index in range(count):
        job_id = JOB_ID_START + index
        job_type = _job_type(rng, index)
        env = _job_environment(rng, account, job_type)
        project = account.project(env["project_id"])
        assert project is not None  # every environment belongs to a project built just before
        subject = "marts refresh" if index == 0 else rng.choice(SUBJECTS)
        schedule = _job_schedule(rng, index, job_type)
        name = _unique_name(_job_name(job_type, schedule, subject, project), names)
        steps = _job_steps(rng, job_type, subject)
        data = _job_data(account, rng, job_id, env, project, job_type, name, schedule, steps)
        per_day = schedule.runs_per_day if schedule else (2.0 if job_type == "ci" else 0.8)
        account.jobs[job_id] = JobSpec(
            data=data,
            schedule=schedule,
            error_rate=0.5 if index in chronic else 0.05,
            run_minutes=rng.uniform(70, 110) if index in slow else rng.uniform(2, 18),
            weight=per_day**0.5,
        )
