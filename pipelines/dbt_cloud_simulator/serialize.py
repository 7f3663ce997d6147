"""Turn a planned `Run` into the API's JSON shape as seen at a given clock.

This is the hot path (100 runs per page), so it is plain attribute access and `isoformat`, no
per-request work over the whole account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .durations import hms, humanize, seconds_of
from .model import (
    CANCELLED,
    ERROR,
    FINAL_STATUSES,
    QUEUED,
    RUNNING,
    STARTING,
    STATUS_HUMANIZED,
    SUCCESS,
    Account,
    Run,
    fmt_ts,
)
from .retries import retry_refusal
from .steps import run_steps_dict


def status_at(run: Run, clock: datetime) -> int:
    """The status a client sees at `clock`: reached milestones of the planned timeline."""
    if run.settled:
        return run.outcome
    if run.finished is not None and run.finished <= clock:
        return run.outcome
    if run.started is not None and run.started <= clock:
        return RUNNING
    if run.dequeued is not None and run.dequeued <= clock:
        return STARTING
    return QUEUED


def reached(value: datetime | None, clock: datetime) -> datetime | None:
    return value if value is not None and value <= clock else None


def trigger_dict(run: Run) -> dict[str, Any]:
    """The trigger object; `cause` is how clients tell scheduled/UI/API/PR runs apart."""
    overrides = run.overrides or {}
    return {
        "id": run.trigger_id,
        "cause": run.cause,
        "job_definition_id": run.job_id,
        "git_branch": overrides.get("git_branch"),
        "git_sha": overrides.get("git_sha"),
        "azure_pull_request_id": overrides.get("azure_pull_request_id"),
        "github_pull_request_id": overrides.get("github_pull_request_id"),
        "gitlab_merge_request_id": overrides.get("gitlab_merge_request_id"),
        "schema_override": overrides.get("schema_override"),
        "dbt_version_override": overrides.get("dbt_version_override"),
        "threads_override": overrides.get("threads_override"),
        "target_name_override": overrides.get("target_name_override"),
        "generate_docs_override": overrides.get("generate_docs_override"),
        "timeout_seconds_override": overrides.get("timeout_seconds_override"),
        "steps_override": overrides.get("steps_override"),
        "created_at": fmt_ts(run.created),
        "cause_humanized": run.cause,
    }


@dataclass(frozen=True)
class _Moments:
    """The milestones of a run a client can see at `clock` (unreached ones are None)."""

    clock: datetime
    status: int
    dequeued: datetime | None
    started: datetime | None
    finished: datetime | None

    @classmethod
    def of(cls, run: Run, clock: datetime) -> _Moments:
        status = status_at(run, clock)
        finished = run.finished if status in FINAL_STATUSES else None
        return cls(clock, status, reached(run.dequeued, clock), reached(run.started, clock), finished)


def _timestamps(run: Run, seen: _Moments) -> dict[str, Any]:
    latest = seen.finished or seen.started or seen.dequeued or run.created
    checked = seen.finished or (seen.started and seen.clock)
    return {
        "created_at": fmt_ts(run.created),
        "updated_at": fmt_ts(latest + timedelta(microseconds=run.updated_extra)),
        "dequeued_at": fmt_ts(seen.dequeued),
        "started_at": fmt_ts(seen.started),
        "finished_at": fmt_ts(seen.finished),
        "last_checked_at": fmt_ts(checked),
        "last_heartbeat_at": fmt_ts(checked),
        "should_start_at": fmt_ts(run.created.replace(second=0, microsecond=0)) if run.scheduled else None,
    }


def _flags(status: int) -> dict[str, bool]:
    final = status in FINAL_STATUSES
    return {
        "in_progress": not final,
        "is_complete": final,
        "is_success": status == SUCCESS,
        "is_error": status == ERROR,
        "is_cancelled": status == CANCELLED,
        "is_running": status == RUNNING,
    }


def _artifact_fields(account: Account, run: Run, status: int) -> dict[str, Any]:
    job = account.jobs[run.job_id].data
    saved = status in FINAL_STATUSES and run.artifacts_saved
    return {
        "artifacts_saved": saved,
        "artifact_s3_path": f"prod-us-east-1/runs/{run.id}/artifacts/target" if saved else None,
        "has_docs_generated": saved and status == SUCCESS and bool(job["generate_docs"]),
        "has_sources_generated": saved and bool(job["run_generate_sources"]),
    }


def _durations(run: Run, seen: _Moments) -> dict[str, str]:
    """`"HH:MM:SS"` durations (queue = started - created, run = finished - started) and their texts."""
    end = seen.finished or seen.clock
    queued_for = seconds_of((seen.started or seen.finished or seen.clock) - run.created)
    ran_for = seconds_of(end - seen.started) if seen.started else 0
    total = seconds_of(end - run.created)
    finished_ago = seconds_of(seen.clock - seen.finished) if seen.finished else None
    return {
        "duration": hms(total),
        "queued_duration": hms(queued_for),
        "run_duration": hms(ran_for),
        "duration_humanized": humanize(total),
        "queued_duration_humanized": humanize(queued_for),
        "run_duration_humanized": humanize(ran_for),
        "created_at_humanized": humanize(seconds_of(seen.clock - run.created)) + " ago",
        "finished_at_humanized": "0 minutes from now"
        if finished_ago is None
        else humanize(finished_ago) + " ago",
    }


def _related(account: Account, run: Run, seen: _Moments, include: frozenset[str]) -> dict[str, Any]:
    """`trigger`, `job`, `environment` are null and `run_steps` empty unless asked for."""
    return {
        "trigger": trigger_dict(run) if "trigger" in include else None,
        "job": account.jobs[run.job_id].data if "job" in include else None,
        "environment": account.environment(run.environment_id) if "environment" in include else None,
        "run_steps": run_steps_dict(account, run, seen.clock, seen.status) if "run_steps" in include else [],
    }


def run_dict(
    account: Account, run: Run, clock: datetime, include: frozenset[str], base_url: str
) -> dict[str, Any]:
    """The API representation of `run` at `clock`; related objects only when asked for."""
    seen = _Moments.of(run, clock)
    status = seen.status
    refusal = retry_refusal(account, run, status)
    return {
        "id": run.id,
        "trigger_id": run.trigger_id,
        "account_id": account.account_id,
        "environment_id": run.environment_id,
        "project_id": run.project_id,
        "job_definition_id": run.job_id,
        "job_id": run.job_id,
        "status": status,
        "status_humanized": STATUS_HUMANIZED[status],
        "status_message": run.status_message if status in FINAL_STATUSES else None,
        "dbt_version": run.dbt_version,
        "git_branch": run.git_branch,
        "git_sha": run.git_sha,
        **_timestamps(run, seen),
        **_flags(status),
        **_artifact_fields(account, run, status),
        "notifications_sent": status in FINAL_STATUSES,
        "owner_thread_id": None,
        "executed_by_thread_id": f"dbt-run-{run.id}-{run.git_sha[:5]}" if seen.dequeued else None,
        "deferring_run_id": None,
        "blocked_by": None,
        **_durations(run, seen),
        "retrying_run_id": run.retrying_run_id,
        "can_retry": refusal is None,
        "retry_not_supported_reason": refusal,
        "href": f"{base_url}/deploy/{account.account_id}/projects/{run.project_id}/runs/{run.id}/",
        **_related(account, run, seen, include),
    }
