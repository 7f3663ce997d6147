"""Turn API objects into the rows we store: chosen columns, parsed timestamps, no step logs.

Runs are the big table, so they become Arrow tables with a fixed schema: dlt then skips row-by-row
normalization (measured: the load step went from 24 s to under 1 s for 20k runs) and every load
writes the same column types, whatever values a page happens to hold. Jobs, projects and
environments are small and stay plain dicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import pendulum
import pyarrow as pa

JsonDict = dict[str, Any]


def parse_timestamp(value: Any) -> datetime | None:
    """Parse the API's `2026-11-20 08:15:49.123456+00:00` (microseconds sometimes absent) to aware UTC.

    `datetime.fromisoformat` reads both shapes and is ~20x faster than a general parser, which
    matters at 100k runs x 6 timestamps; pendulum handles anything more exotic.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            parsed = pendulum.parse(str(value))  # type: ignore[assignment]
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def _trigger(field: str, convert: Callable[[Any], Any] = lambda v: v) -> Callable[[JsonDict], Any]:
    def get(run: JsonDict) -> Any:
        trigger = run.get("trigger") or {}
        return convert(trigger.get(field))

    return get


def _field(field: str, convert: Callable[[Any], Any] = lambda v: v) -> Callable[[JsonDict], Any]:
    def get(run: JsonDict) -> Any:
        return convert(run.get(field))

    return get


TIMESTAMP = pa.timestamp("us", tz="UTC")

# (column, arrow type, how to read it from an API run). The order is the table's column order.
RUN_COLUMNS: list[tuple[str, pa.DataType, Callable[[JsonDict], Any]]] = [
    ("id", pa.int64(), _field("id", _int)),
    ("account_id", pa.int64(), _field("account_id", _int)),
    ("project_id", pa.int64(), _field("project_id", _int)),
    ("environment_id", pa.int64(), _field("environment_id", _int)),
    ("job_definition_id", pa.int64(), _field("job_definition_id", _int)),
    ("trigger_id", pa.int64(), _field("trigger_id", _int)),
    ("status", pa.int64(), _field("status", _int)),
    ("status_humanized", pa.string(), _field("status_humanized")),
    ("status_message", pa.string(), _field("status_message")),
    ("dbt_version", pa.string(), _field("dbt_version")),
    ("git_branch", pa.string(), _field("git_branch")),
    ("git_sha", pa.string(), _field("git_sha")),
    ("created_at", TIMESTAMP, _field("created_at", parse_timestamp)),
    ("updated_at", TIMESTAMP, _field("updated_at", parse_timestamp)),
    ("dequeued_at", TIMESTAMP, _field("dequeued_at", parse_timestamp)),
    ("started_at", TIMESTAMP, _field("started_at", parse_timestamp)),
    ("finished_at", TIMESTAMP, _field("finished_at", parse_timestamp)),
    ("should_start_at", TIMESTAMP, _field("should_start_at", parse_timestamp)),
    ("in_progress", pa.bool_(), _field("in_progress")),
    ("is_complete", pa.bool_(), _field("is_complete")),
    ("is_success", pa.bool_(), _field("is_success")),
    ("is_error", pa.bool_(), _field("is_error")),
    ("is_cancelled", pa.bool_(), _field("is_cancelled")),
    ("artifacts_saved", pa.bool_(), _field("artifacts_saved")),
    ("has_docs_generated", pa.bool_(), _field("has_docs_generated")),
    ("has_sources_generated", pa.bool_(), _field("has_sources_generated")),
    ("duration", pa.string(), _field("duration")),
    ("queued_duration", pa.string(), _field("queued_duration")),
    ("run_duration", pa.string(), _field("run_duration")),
    ("href", pa.string(), _field("href")),
    ("trigger__id", pa.int64(), _trigger("id", _int)),
    ("trigger__cause", pa.string(), _trigger("cause")),
    ("trigger__git_branch", pa.string(), _trigger("git_branch")),
    ("trigger__git_sha", pa.string(), _trigger("git_sha")),
    ("trigger__schema_override", pa.string(), _trigger("schema_override")),
    ("trigger__dbt_version_override", pa.string(), _trigger("dbt_version_override")),
    ("trigger__target_name_override", pa.string(), _trigger("target_name_override")),
    ("trigger__threads_override", pa.int64(), _trigger("threads_override", _int)),
    ("trigger__timeout_seconds_override", pa.int64(), _trigger("timeout_seconds_override", _int)),
    ("trigger__generate_docs_override", pa.bool_(), _trigger("generate_docs_override")),
    ("trigger__steps_override", pa.string(), _trigger("steps_override", _json_text)),
    ("trigger__github_pull_request_id", pa.int64(), _trigger("github_pull_request_id", _int)),
    ("trigger__gitlab_merge_request_id", pa.int64(), _trigger("gitlab_merge_request_id", _int)),
    ("trigger__azure_pull_request_id", pa.int64(), _trigger("azure_pull_request_id", _int)),
]

RUNS_SCHEMA = pa.schema([pa.field(name, dtype, nullable=name != "id") for name, dtype, _ in RUN_COLUMNS])


def runs_to_arrow(runs: Iterable[JsonDict]) -> pa.Table:
    """Build an Arrow table of the stored run columns from API run objects."""
    runs = list(runs)
    arrays = [pa.array([read(run) for run in runs], type=dtype) for _, dtype, read in RUN_COLUMNS]
    return pa.Table.from_arrays(arrays, schema=RUNS_SCHEMA)


def job_row(job: JsonDict, seen_at: datetime) -> JsonDict:
    """The stored columns of a job; nested settings flattened, steps kept as JSON text."""
    triggers = job.get("triggers") or {}
    settings = job.get("settings") or {}
    schedule = job.get("schedule") or {}
    execution = job.get("execution") or {}
    return {
        "id": _int(job.get("id")),
        "account_id": _int(job.get("account_id")),
        "project_id": _int(job.get("project_id")),
        "environment_id": _int(job.get("environment_id")),
        "name": job.get("name"),
        "description": job.get("description"),
        "job_type": job.get("job_type"),
        "state": _int(job.get("state")),
        "deactivated": job.get("deactivated"),
        "dbt_version": job.get("dbt_version"),
        "generate_docs": job.get("generate_docs"),
        "run_generate_sources": job.get("run_generate_sources"),
        "schedule_cron": schedule.get("cron"),
        "triggers_schedule": triggers.get("schedule"),
        "triggers_github_webhook": triggers.get("github_webhook"),
        "triggers_git_provider_webhook": triggers.get("git_provider_webhook"),
        "triggers_on_merge": triggers.get("on_merge"),
        "execute_steps": _json_text(job.get("execute_steps")),
        "threads": _int(settings.get("threads")),
        "target_name": settings.get("target_name"),
        "timeout_seconds": _int(execution.get("timeout_seconds", job.get("timeout_seconds"))),
        "created_at": parse_timestamp(job.get("created_at")),
        "updated_at": parse_timestamp(job.get("updated_at")),
        "last_seen_at": seen_at,
    }


def project_row(project: JsonDict, seen_at: datetime) -> JsonDict:
    """The stored columns of a project (connection and repository details left out)."""
    return {
        "id": _int(project.get("id")),
        "account_id": _int(project.get("account_id")),
        "name": project.get("name"),
        "description": project.get("description"),
        "dbt_project_subdirectory": project.get("dbt_project_subdirectory"),
        "connection_id": _int(project.get("connection_id")),
        "repository_id": _int(project.get("repository_id")),
        "state": _int(project.get("state")),
        "created_at": parse_timestamp(project.get("created_at")),
        "updated_at": parse_timestamp(project.get("updated_at")),
        "last_seen_at": seen_at,
    }


def environment_row(environment: JsonDict, seen_at: datetime) -> JsonDict:
    """The stored columns of an environment (credentials and connection left out)."""
    return {
        "id": _int(environment.get("id")),
        "account_id": _int(environment.get("account_id")),
        "project_id": _int(environment.get("project_id")),
        "name": environment.get("name"),
        "type": environment.get("type"),
        "deployment_type": environment.get("deployment_type"),
        "dbt_version": environment.get("dbt_version"),
        "use_custom_branch": environment.get("use_custom_branch"),
        "custom_branch": environment.get("custom_branch"),
        "state": _int(environment.get("state")),
        "created_at": parse_timestamp(environment.get("created_at")),
        "updated_at": parse_timestamp(environment.get("updated_at")),
        "last_seen_at": seen_at,
    }


def _hints(types: dict[str, str]) -> dict[str, dict[str, Any]]:
    """dlt column hints, so columns exist with their types even while every value is still NULL."""
    return {name: {"data_type": data_type, "nullable": name != "id"} for name, data_type in types.items()}


_COMMON = {
    "id": "bigint",
    "account_id": "bigint",
    "state": "bigint",
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "last_seen_at": "timestamp",
}

JOB_HINTS = _hints(
    {
        **_COMMON,
        "project_id": "bigint",
        "environment_id": "bigint",
        "name": "text",
        "description": "text",
        "job_type": "text",
        "deactivated": "bool",
        "dbt_version": "text",
        "generate_docs": "bool",
        "run_generate_sources": "bool",
        "schedule_cron": "text",
        "triggers_schedule": "bool",
        "triggers_github_webhook": "bool",
        "triggers_git_provider_webhook": "bool",
        "triggers_on_merge": "bool",
        "execute_steps": "text",
        "threads": "bigint",
        "target_name": "text",
        "timeout_seconds": "bigint",
    }
)
PROJECT_HINTS = _hints(
    {
        **_COMMON,
        "name": "text",
        "description": "text",
        "dbt_project_subdirectory": "text",
        "connection_id": "bigint",
        "repository_id": "bigint",
    }
)
ENVIRONMENT_HINTS = _hints(
    {
        **_COMMON,
        "project_id": "bigint",
        "name": "text",
        "type": "text",
        "deployment_type": "text",
        "dbt_version": "text",
        "use_custom_branch": "bool",
        "custom_branch": "text",
    }
)
LOAD_HINTS: dict[str, dict[str, Any]] = {
    "load_id": {"data_type": "text", "nullable": False},
    "as_of": {"data_type": "timestamp", "nullable": False},
    "since": {"data_type": "timestamp", "nullable": True},
    "full_refresh": {"data_type": "bool", "nullable": True},
}
