"""Model-level history: one row per node of a run's `run_results.json`, and the fetch bookkeeping.

dbt Cloud keeps each finished run's `run_results.json`; it is the only place that says how long each
model, test, seed or snapshot took and how it ended. The run list only has the run's total, so "which
model got slow" and "which test keeps warning" need this document.

Parsing is pure (no I/O): the source fetches the document and hands it here with the run it belongs
to. The result is an Arrow table with a fixed schema, like `runs`, so every load writes the same column
types whatever values one document happens to hold, and dlt skips row-by-row normalization.

Schema versions: dbt 1.0 writes run-results v4, 1.7 v5, 1.9 to 1.12 v6. The fields read here
(`unique_id`, `status`, `timing`, `thread_id`, `execution_time`, `adapter_response`, `message`,
`failures`, `relation_name`, the `metadata` block, `args.which`) are the same in all three; anything
newer or older that is missing becomes NULL and unknown fields are ignored. Compiled SQL (`compiled_code` /
`compiled_sql`) is left out on purpose: it is large, it is in the manifest, and nobody queries it.

`command` (the document's `args.which`: build, run, test, seed, snapshot, generate, compile...) is kept
because dbt Cloud serves the run's *last* step's document, and a job with "generate docs" on ends with
`dbt docs generate`: its results are all "success" with compile-only timings (execution_time is how long
compiling took, execute start = end). The views leave such documents out of the timing questions.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pyarrow as pa

from .artifact_ledger import ARTIFACT_OUTCOMES
from .contract import RUN_ARTIFACTS_SCHEMA, TIMESTAMP, column_hints
from .converters import parse_timestamp, to_int

JsonDict = dict[str, Any]


RUN_RESULTS_PRIMARY_KEY: tuple[str, str] = ("run_id", "unique_id")
"""A node appears once per document; one document per run (the run's last step), so this is unique."""

# (column, arrow type, dlt data type). The order is the table's column order.
_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("run_id", pa.int64()),
    ("job_definition_id", pa.int64()),
    ("environment_id", pa.int64()),
    ("project_id", pa.int64()),
    ("unique_id", pa.string()),
    ("resource_type", pa.string()),
    ("name", pa.string()),
    ("package_name", pa.string()),
    ("status", pa.string()),
    ("execution_time", pa.float64()),
    ("thread_id", pa.string()),
    ("rows_affected", pa.int64()),
    ("adapter_code", pa.string()),
    ("message", pa.string()),
    ("failures", pa.int64()),
    ("compile_started_at", TIMESTAMP),
    ("compile_completed_at", TIMESTAMP),
    ("execute_started_at", TIMESTAMP),
    ("execute_completed_at", TIMESTAMP),
    ("relation_name", pa.string()),
    ("dbt_version", pa.string()),
    ("dbt_schema_version", pa.string()),
    ("invocation_id", pa.string()),
    ("command", pa.string()),
    ("generated_at", TIMESTAMP),
    ("elapsed_time", pa.float64()),
]

_NOT_NULL = frozenset(RUN_RESULTS_PRIMARY_KEY)
_PER_DOCUMENT = frozenset(
    {
        "run_id",
        "job_definition_id",
        "environment_id",
        "project_id",
        "dbt_version",
        "dbt_schema_version",
        "invocation_id",
        "command",
        "generated_at",
        "elapsed_time",
    }
)
"""Columns with one value per document (from the run or the `metadata` block), repeated on every row."""

RUN_RESULTS_SCHEMA: pa.Schema = pa.schema(
    [pa.field(name, dtype, nullable=name not in _NOT_NULL) for name, dtype in _COLUMNS]
)

RUN_RESULTS_HINTS = column_hints(RUN_RESULTS_SCHEMA)
"""dlt column hints for `run_results`, derived from the Arrow schema, so an empty first table or a
column that is NULL in every row still gets its type."""

_TIMING_COLUMNS = {
    ("compile", "started_at"): "compile_started_at",
    ("compile", "completed_at"): "compile_completed_at",
    ("execute", "started_at"): "execute_started_at",
    ("execute", "completed_at"): "execute_completed_at",
}

RUN_ARTIFACTS_HINTS = column_hints(RUN_ARTIFACTS_SCHEMA)
"""dlt column hints for `run_artifacts` (primary key `run_id`)."""


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _timestamp(value: Any) -> datetime | None:
    try:
        return parse_timestamp(value)
    except (TypeError, ValueError):
        return None


def split_unique_id(unique_id: str) -> tuple[str, str | None, str | None]:
    """`(resource_type, package_name, name)` from a dbt `unique_id`.

    `model.jaffle_shop.orders` -> `("model", "jaffle_shop", "orders")`. Generic tests end in a hash
    (`test.pkg.not_null_orders_id.e2cfb1f9aa`) and unit tests are `unit_test.pkg.<model>.<test>`: both keep
    only the test's own name. Everything else keeps what follows the package, so a source reads
    `raw.orders` and a versioned model `orders.v2`.
    """
    parts = unique_id.split(".")
    resource_type = parts[0]
    package = parts[1] if len(parts) > 1 else None
    if len(parts) < 3:
        return resource_type, package, None
    if resource_type == "test":
        name = parts[2]
    elif resource_type == "unit_test":
        name = parts[-1]
    else:
        name = ".".join(parts[2:])
    return resource_type, package, name


def _as_document(document: Any) -> JsonDict:
    """The parsed document; raw bytes/text are accepted too, since that is what an artifact fetch returns."""
    if isinstance(document, bytes | bytearray | str):
        document = json.loads(document)
    if not isinstance(document, dict):
        raise ValueError(f"run_results.json must be a JSON object, got {type(document).__name__}")
    return document


def run_results_to_arrow(run: JsonDict, document: Any) -> pa.Table:
    """One row per entry of the document's `results`, in `RUN_RESULTS_SCHEMA`.

    `run` is the stored run (or the API run object): `id` is required, `job_definition_id`,
    `environment_id` and `project_id` are copied when present so the table can be grouped by job even for
    runs that are no longer in `runs`. Entries without a `unique_id` are skipped (they cannot be keyed);
    if a `unique_id` repeats, the last entry wins, as the merge on `(run_id, unique_id)` would do anyway.
    """
    document = _as_document(document)
    run_id = to_int(run.get("id"))
    if run_id is None:
        raise ValueError(f"run has no usable id: {run.get('id')!r}")
    metadata = document.get("metadata") or {}
    if not isinstance(metadata, dict):
        metadata = {}
    args = document.get("args") or {}
    if not isinstance(args, dict):
        args = {}

    by_unique_id: dict[str, JsonDict] = {}
    for result in document.get("results") or ():
        if isinstance(result, dict) and isinstance(result.get("unique_id"), str) and result["unique_id"]:
            by_unique_id[result["unique_id"]] = result
    results = list(by_unique_id.values())
    count = len(results)

    columns: dict[str, list[Any]] = {name: [] for name, _ in _COLUMNS if name not in _PER_DOCUMENT}
    for result in results:
        unique_id = result["unique_id"]
        resource_type, package, name = split_unique_id(unique_id)
        adapter = result.get("adapter_response")
        if not isinstance(adapter, dict):
            adapter = {}
        timing: dict[str, Any] = dict.fromkeys(_TIMING_COLUMNS.values())
        for step in result.get("timing") or ():
            if not isinstance(step, dict):
                continue
            for field in ("started_at", "completed_at"):
                column = _TIMING_COLUMNS.get((str(step.get("name")), field))
                if column is not None:
                    timing[column] = step.get(field)
        columns["unique_id"].append(unique_id)
        columns["resource_type"].append(resource_type)
        columns["name"].append(name)
        columns["package_name"].append(package)
        columns["status"].append(_text(result.get("status")))
        columns["execution_time"].append(_float(result.get("execution_time")))
        columns["thread_id"].append(_text(result.get("thread_id")))
        columns["rows_affected"].append(to_int(adapter.get("rows_affected")))
        columns["adapter_code"].append(_text(adapter.get("code")))
        columns["message"].append(_text(result.get("message")))
        columns["failures"].append(to_int(result.get("failures")))
        for column, value in timing.items():
            columns[column].append(value)
        columns["relation_name"].append(_text(result.get("relation_name")))

    constants = {
        "run_id": run_id,
        "job_definition_id": to_int(run.get("job_definition_id")),
        "environment_id": to_int(run.get("environment_id")),
        "project_id": to_int(run.get("project_id")),
        "dbt_version": _text(metadata.get("dbt_version")),
        "dbt_schema_version": _text(metadata.get("dbt_schema_version")),
        "invocation_id": _text(metadata.get("invocation_id")),
        "command": _text(args.get("which") or args.get("rpc_method")),
        "generated_at": _timestamp(metadata.get("generated_at")),
        "elapsed_time": _float(document.get("elapsed_time")),
    }
    arrays = []
    for name, dtype in _COLUMNS:
        if name in constants:
            arrays.append(pa.array([constants[name]] * count, type=dtype))
        elif dtype == TIMESTAMP:
            arrays.append(_timestamps(columns[name]))
        else:
            arrays.append(pa.array(columns[name], type=dtype))
    return pa.Table.from_arrays(arrays, schema=RUN_RESULTS_SCHEMA)


def _timestamps(values: list[Any]) -> pa.Array:
    """dbt's `2024-12-16T07:45:11.518721Z`, cast by Arrow in one go; anything odd parsed value by value
    (a naive time is taken as UTC, an unreadable one becomes NULL)."""
    try:
        return pa.array(values, type=pa.string()).cast(TIMESTAMP)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.array([_timestamp(value) for value in values], type=TIMESTAMP)


def artifact_fetch_row(
    run_id: int,
    outcome: str,
    fetched_at: datetime | str,
    results: int,
    reason: str | None = None,
    attempts: int = 1,
) -> JsonDict:
    """A `run_artifacts` row: this run's `run_results.json` was asked for, so no later load asks again.

    `outcome` is "loaded" (the document was read; `results` is its number of rows) or "none" (404: the run
    failed before dbt started, or saved nothing). Recording "none" too is what keeps a run without
    artifacts from costing a request on every load. "unreadable" and "failed" carry the `reason` and
    how many loads have tried (`attempts`); later loads try again until `ARTIFACT_MAX_ATTEMPTS`.
    """
    if outcome not in ARTIFACT_OUTCOMES:
        raise ValueError(f"outcome must be one of {ARTIFACT_OUTCOMES}, got {outcome!r}")
    run_id_int = to_int(run_id)
    if run_id_int is None:
        raise ValueError(f"run_id must be an integer, got {run_id!r}")
    when = parse_timestamp(fetched_at)
    if when is None:
        raise ValueError("fetched_at is required")
    return {
        "run_id": run_id_int,
        "outcome": outcome,
        "fetched_at": when,
        "results": int(results),
        "reason": reason,
        "attempts": int(attempts),
    }
