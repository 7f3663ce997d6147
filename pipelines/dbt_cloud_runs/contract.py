"""The stored tables' columns, written once as Arrow schemas; dlt's column hints derive from them.

Every table the loader writes has its columns and types here (runs and run_results build their
schemas from their column mappings in `rows.py` / `run_results.py` with the `TIMESTAMP` below).
The hints dlt needs (so that a column exists with its type while every value is still NULL, and an
empty table is created at all) come from `dlt.common.libs.pyarrow`'s own converter, so the Arrow
data and the dlt schema cannot drift apart.
"""

from __future__ import annotations

import copy

import pyarrow as pa
from dlt.common.libs.pyarrow import py_arrow_to_table_schema_columns
from dlt.common.schema.typing import TTableSchemaColumns

TIMESTAMP = pa.timestamp("us", tz="UTC")
"""Every stored timestamp: microseconds, UTC (TIMESTAMP WITH TIME ZONE in the destination)."""


def _schema(not_null: set[str], **types: pa.DataType) -> pa.Schema:
    return pa.schema([pa.field(name, dtype, nullable=name not in not_null) for name, dtype in types.items()])


_LISTED = {  # columns every listed object (job, project, environment) has
    "id": pa.int64(),
    "account_id": pa.int64(),
    "state": pa.int64(),
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "last_seen_at": TIMESTAMP,
}

JOBS_SCHEMA = _schema(
    {"id"},
    **_LISTED,
    project_id=pa.int64(),
    environment_id=pa.int64(),
    name=pa.string(),
    description=pa.string(),
    job_type=pa.string(),
    deactivated=pa.bool_(),
    dbt_version=pa.string(),
    generate_docs=pa.bool_(),
    run_generate_sources=pa.bool_(),
    schedule_cron=pa.string(),
    triggers_schedule=pa.bool_(),
    triggers_github_webhook=pa.bool_(),
    triggers_git_provider_webhook=pa.bool_(),
    triggers_on_merge=pa.bool_(),
    execute_steps=pa.string(),
    threads=pa.int64(),
    target_name=pa.string(),
    timeout_seconds=pa.int64(),
)
PROJECTS_SCHEMA = _schema(
    {"id"},
    **_LISTED,
    name=pa.string(),
    description=pa.string(),
    dbt_project_subdirectory=pa.string(),
    connection_id=pa.int64(),
    repository_id=pa.int64(),
)
ENVIRONMENTS_SCHEMA = _schema(
    {"id"},
    **_LISTED,
    project_id=pa.int64(),
    name=pa.string(),
    type=pa.string(),
    deployment_type=pa.string(),
    dbt_version=pa.string(),
    use_custom_branch=pa.bool_(),
    custom_branch=pa.string(),
)
LOADS_SCHEMA = _schema(
    {"load_id", "as_of"}, load_id=pa.string(), as_of=TIMESTAMP, since=TIMESTAMP, full_refresh=pa.bool_()
)
RUN_ARTIFACTS_SCHEMA = _schema(
    {"run_id", "outcome", "fetched_at", "results"},
    run_id=pa.int64(),
    outcome=pa.string(),
    fetched_at=TIMESTAMP,
    results=pa.int64(),
    reason=pa.string(),
    attempts=pa.int64(),
)


def column_hints(schema: pa.Schema) -> TTableSchemaColumns:
    """dlt column hints for a table with this Arrow schema (a fresh copy: dlt writes into hints)."""
    return copy.deepcopy(py_arrow_to_table_schema_columns(schema))
