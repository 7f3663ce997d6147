"""`run_results.json` -> Arrow rows, for every schema version dbt writes (v4, v5, v6), from real documents.

Expected values were read by hand from the JSON files in /work/shared/reference/artifacts/.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from dbt_cloud_runs.run_results import (
    RUN_ARTIFACTS_HINTS,
    RUN_RESULTS_SCHEMA,
    artifact_fetch_row,
    run_results_to_arrow,
    split_unique_id,
)

ARTIFACTS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "artifacts"

RUN = {"id": 70001, "job_definition_id": 11, "environment_id": 21, "project_id": 31}

REQUIRED_COLUMNS = [
    "run_id",
    "job_definition_id",
    "environment_id",
    "project_id",
    "unique_id",
    "resource_type",
    "name",
    "package_name",
    "status",
    "execution_time",
    "thread_id",
    "rows_affected",
    "adapter_code",
    "message",
    "failures",
    "compile_started_at",
    "compile_completed_at",
    "execute_started_at",
    "execute_completed_at",
    "relation_name",
    "dbt_version",
    "dbt_schema_version",
    "invocation_id",
    "command",
    "generated_at",
    "elapsed_time",
]


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def load(name: str) -> dict[str, Any]:
    path = ARTIFACTS_DIR / name
    if not path.is_file():
        pytest.skip(f"reference artifact {path} not available (the shared reference folder is not mounted)")
    return json.loads(path.read_text())


def rows_by_id(table: pa.Table) -> dict[str, dict[str, Any]]:
    return {row["unique_id"]: row for row in table.to_pylist()}


# document -> (result count, document-level values, {unique_id: expected subset of the row})
DOCUMENTS: dict[str, tuple[int, dict[str, Any], dict[str, dict[str, Any]]]] = {
    "run_results_v4_dbt-1.0.0.json": (
        29,
        {
            "dbt_version": "1.0.0",
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v4.json",
            "invocation_id": "5b7ab67d-5559-49b8-9373-35eab8b9f2f7",
            "command": "build",
            "generated_at": ts("2021-12-07T10:49:34.224220"),
            "elapsed_time": 16.181153059005737,
        },
        {
            "seed.jaffle_shop.raw_customers": {
                "resource_type": "seed",
                "name": "raw_customers",
                "package_name": "jaffle_shop",
                "status": "success",
                "execution_time": 3.705381155014038,
                "thread_id": "Thread-2",
                "rows_affected": 100,
                "adapter_code": "INSERT",
                "message": "INSERT 100",
                "failures": None,
                "compile_started_at": ts("2021-12-07T10:49:20.193225"),
                "compile_completed_at": ts("2021-12-07T10:49:20.193229"),
                "execute_started_at": ts("2021-12-07T10:49:20.200036"),
                "execute_completed_at": ts("2021-12-07T10:49:23.894804"),
                "relation_name": None,  # v4 has no relation_name
            },
            "model.jaffle_shop.stg_customers": {
                "resource_type": "model",
                "name": "stg_customers",
                "status": "success",
                "execution_time": 0.9575939178466797,
                "rows_affected": None,  # adapter_response has a code but no rows_affected
                "adapter_code": "CREATE VIEW",
                "message": "OK",
                "thread_id": "Thread-5",
            },
            # an error before execution: empty timing list, empty adapter_response
            "model.jaffle_shop.test_insert_overwrite": {
                "resource_type": "model",
                "name": "test_insert_overwrite",
                "status": "error",
                "execution_time": 9.394618034362793,
                "thread_id": "Thread-1",
                "rows_affected": None,
                "adapter_code": None,
                "failures": None,
                "compile_started_at": None,
                "compile_completed_at": None,
                "execute_started_at": None,
                "execute_completed_at": None,
            },
            "test.jaffle_shop.accepted_values_stg_payments_payment_method__credit_card__coupon__bank_transfer"
            "__gift_card.3c3820f278": {
                "resource_type": "test",
                "name": "accepted_values_stg_payments_payment_method__credit_card__coupon__bank_transfer"
                "__gift_card",
                "package_name": "jaffle_shop",
                "status": "pass",
                "execution_time": 1.3578460216522217,
                "failures": 0,
                "message": None,
                "rows_affected": None,
                "execute_started_at": ts("2021-12-07T10:49:24.940156"),
                "execute_completed_at": ts("2021-12-07T10:49:26.268713"),
            },
        },
    ),
    "run_results_v5_dbt-1.7.0.json": (
        58,
        {
            "dbt_version": "1.7.0",
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v5.json",
            "invocation_id": "7ee58a18-366a-45b0-a0f2-a8a09f5e87ec",
            "command": "build",
            "generated_at": ts("2023-11-06T00:52:43.487173"),
            "elapsed_time": 68.85849285125732,
        },
        {
            "model.elementary.dbt_columns": {
                "resource_type": "model",
                "name": "dbt_columns",
                "package_name": "elementary",
                "status": "success",
                "execution_time": 4.576366186141968,
                "thread_id": "Thread-2 (worker)",
                "rows_affected": 0,
                "adapter_code": "MERGE",
                "message": "MERGE (0.0 rows, 0 processed)",
                "failures": None,
                "compile_started_at": ts("2023-11-06T00:51:37.898820"),
                "compile_completed_at": ts("2023-11-06T00:51:37.921391"),
                "execute_started_at": ts("2023-11-06T00:51:37.924045"),
                "execute_completed_at": ts("2023-11-06T00:51:42.459818"),
                "relation_name": "`your-project`.`elementary`.`dbt_columns`",
            },
            "test.jaffle_shop.not_null_stg_customers_customer_id.e2cfb1f9aa": {
                "resource_type": "test",
                "name": "not_null_stg_customers_customer_id",
                "status": "pass",
                "execution_time": 1.0090389251708984,
                "rows_affected": 1,
                "adapter_code": "SELECT",
                "failures": 0,
                "message": None,
                "relation_name": None,
                "execute_started_at": ts("2023-11-06T00:52:23.412616"),
            },
            "seed.jaffle_shop.raw_customers": {
                "resource_type": "seed",
                "status": "success",
                "execution_time": 3.676194906234741,
                "rows_affected": 100,
                "thread_id": "Thread-1 (worker)",
            },
        },
    ),
    "run_results_v6_dbt-1.9.0.json": (
        61,
        {
            "dbt_version": "1.9.0",
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "invocation_id": "cfbc1db9-66c1-46c2-a94b-8c0cef32314f",
            "command": "build",
            "generated_at": ts("2024-12-16T07:45:32.505887"),
            "elapsed_time": 38.73419785499573,
        },
        {
            "operation.elementary.elementary-on-run-start-0": {
                "resource_type": "operation",
                "name": "elementary-on-run-start-0",
                "package_name": "elementary",
                "status": "success",
                "execution_time": 0.640907,
                "thread_id": "main",
                "message": "elementary.on-run-start.0 passed",
                "failures": 0,
                "rows_affected": None,
                "compile_started_at": ts("2024-12-16T07:44:55.525836"),
                "execute_completed_at": ts("2024-12-16T07:44:56.166743"),
            },
            "seed.jaffle_shop.raw_orders": {
                "resource_type": "seed",
                "name": "raw_orders",
                "status": "success",
                "execution_time": 3.156231164932251,
                "thread_id": "Thread-3 (worker)",
                "rows_affected": 99,
                "adapter_code": "INSERT",
                "message": "INSERT 99",
                "execute_started_at": ts("2024-12-16T07:45:06.618433"),
                "execute_completed_at": ts("2024-12-16T07:45:09.773523"),
            },
            "model.elementary.dbt_invocations": {
                "status": "success",
                "execution_time": 5.151340961456299,
                "rows_affected": 0,
                "adapter_code": "MERGE",
                "relation_name": "`your-project`.`jaffle_shop`.`dbt_invocations`",
            },
        },
    ),
    "run_results_v6_dbt-1.11.7.json": (
        40,
        {
            "dbt_version": "1.11.7",
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "invocation_id": "626fe22d-01d8-44eb-87b3-cf4d0d6c02d5",
            "command": "generate",
            "generated_at": ts("2026-03-12T05:46:46.291159"),
            "elapsed_time": 0.2504711151123047,
        },
        {
            "model.jaffle_shop.metricflow_time_spine": {
                "resource_type": "model",
                "name": "metricflow_time_spine",
                "status": "success",
                "execution_time": 0.01619887351989746,
                "thread_id": "Thread-1 (worker)",
                "rows_affected": None,  # adapter_response is {} in this document
                "adapter_code": None,
                "message": None,
                "failures": None,
                "compile_started_at": ts("2026-03-12T05:46:46.100707"),
                "compile_completed_at": ts("2026-03-12T05:46:46.114779"),
                "execute_started_at": ts("2026-03-12T05:46:46.115049"),
                "execute_completed_at": ts("2026-03-12T05:46:46.115060"),
                "relation_name": '"jaffle_shop"."main"."metricflow_time_spine"',
            },
            "test.jaffle_shop.not_null_stg_customers_customer_id.e2cfb1f9aa": {
                "resource_type": "test",
                "name": "not_null_stg_customers_customer_id",
                "status": "success",  # as written by this dbt version, not normalised
                "execution_time": 0.006148815155029297,
                "relation_name": None,
            },
        },
    ),
    "run_results_v6_dbt-1.12.0.json": (
        46,
        {
            "dbt_version": "1.12.0",
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "invocation_id": "24ad943b-c71e-497c-be0b-d037a3c525ad",
            "command": "generate",
            "generated_at": ts("2026-08-10T07:03:39.914971"),
            "elapsed_time": 0.3225381374359131,
        },
        {
            "seed.jaffle_shop.raw_customers": {
                "resource_type": "seed",
                "name": "raw_customers",
                "status": "success",
                "execution_time": 0.0012769699096679688,
                "rows_affected": None,
                "compile_started_at": ts("2026-08-10T07:03:39.724099"),
                "compile_completed_at": ts("2026-08-10T07:03:39.724434"),
                "execute_started_at": ts("2026-08-10T07:03:39.724769"),
                "execute_completed_at": ts("2026-08-10T07:03:39.724774"),
            },
            "test.jaffle_shop.unique_stg_customers_customer_id.c7614daada": {
                "resource_type": "test",
                "name": "unique_stg_customers_customer_id",
                "execution_time": 0.0063169002532958984,
            },
        },
    ),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_reference_document(name: str) -> None:
    document = load(name)
    count, document_values, expected_rows = DOCUMENTS[name]

    table = run_results_to_arrow(RUN, document)

    assert table.schema == RUN_RESULTS_SCHEMA
    assert table.num_rows == count == len(document["results"])
    rows = rows_by_id(table)
    assert len(rows) == count  # unique_id is unique within a document
    for row in rows.values():
        assert (row["run_id"], row["job_definition_id"], row["environment_id"], row["project_id"]) == (
            70001,
            11,
            21,
            31,
        )
        for column, value in document_values.items():
            assert row[column] == value, (row["unique_id"], column)
    for unique_id, expected in expected_rows.items():
        row = rows[unique_id]
        for column, value in expected.items():
            assert row[column] == value, (name, unique_id, column)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_resource_type_counts(name: str) -> None:
    """Every row's resource_type is the unique_id's first segment; counts match the document."""
    document = load(name)
    table = run_results_to_arrow(RUN, document)
    for row in table.to_pylist():
        assert row["resource_type"] == row["unique_id"].split(".")[0]
        assert row["package_name"] == row["unique_id"].split(".")[1]
        assert row["name"]
    counts = {}
    for value in table.column("resource_type").to_pylist():
        counts[value] = counts.get(value, 0) + 1
    expected = {
        "run_results_v4_dbt-1.0.0.json": {"test": 20, "model": 6, "seed": 3},
        "run_results_v5_dbt-1.7.0.json": {"model": 35, "test": 20, "seed": 3},
        "run_results_v6_dbt-1.9.0.json": {"model": 36, "test": 20, "seed": 3, "operation": 2},
        "run_results_v6_dbt-1.11.7.json": {"test": 27, "model": 13},
        "run_results_v6_dbt-1.12.0.json": {"test": 27, "model": 13, "seed": 6},
    }[name]
    assert counts == expected


@pytest.mark.parametrize(
    ("unique_id", "expected"),
    [
        ("model.jaffle_shop.orders", ("model", "jaffle_shop", "orders")),
        ("model.jaffle_shop.orders.v2", ("model", "jaffle_shop", "orders.v2")),
        (
            "test.jaffle_shop.not_null_orders_order_id.cf6c17daed",
            ("test", "jaffle_shop", "not_null_orders_order_id"),
        ),
        ("test.jaffle_shop.assert_positive_total", ("test", "jaffle_shop", "assert_positive_total")),
        ("unit_test.jaffle_shop.orders.test_is_valid", ("unit_test", "jaffle_shop", "test_is_valid")),
        ("source.jaffle_shop.raw.orders", ("source", "jaffle_shop", "raw.orders")),
        ("snapshot.jaffle_shop.orders_snapshot", ("snapshot", "jaffle_shop", "orders_snapshot")),
        (
            "operation.elementary.elementary-on-run-end-0",
            ("operation", "elementary", "elementary-on-run-end-0"),
        ),
        ("seed.pkg", ("seed", "pkg", None)),
        ("odd", ("odd", None, None)),
    ],
)
def test_split_unique_id(unique_id: str, expected: tuple[str, str | None, str | None]) -> None:
    assert split_unique_id(unique_id) == expected


def test_compiled_sql_is_not_stored() -> None:
    names = set(RUN_RESULTS_SCHEMA.names)
    assert not names & {"compiled", "compiled_code", "compiled_sql", "batch_results", "adapter_response"}
    assert names >= set(REQUIRED_COLUMNS)
    document = load("run_results_v6_dbt-1.9.0.json")
    assert any(result.get("compiled_code") for result in document["results"])
    table = run_results_to_arrow(RUN, document)
    assert table.column_names == RUN_RESULTS_SCHEMA.names
    compiled = {result["compiled_code"] for result in document["results"] if result.get("compiled_code")}
    stored = {value for row in table.to_pylist() for value in row.values() if isinstance(value, str)}
    assert not compiled & stored


def test_empty_results_give_empty_table_with_full_schema() -> None:
    document = {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json"},
        "results": [],
        "elapsed_time": 0.1,
        "args": {},
    }
    table = run_results_to_arrow(RUN, document)
    assert table.num_rows == 0
    assert table.schema == RUN_RESULTS_SCHEMA
    assert table.column_names == REQUIRED_COLUMNS
    assert run_results_to_arrow(RUN, {}).num_rows == 0
    assert run_results_to_arrow(RUN, {"results": None}).num_rows == 0


def test_unknown_fields_and_missing_optional_ones_are_tolerated() -> None:
    document = {
        "metadata": {
            "dbt_version": "2.3.0",
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v9.json",
            "generated_at": "2030-01-02T03:04:05Z",  # no fraction
            "invocation_id": "abc",
            "some_new_metadata": {"x": 1},
        },
        "elapsed_time": 5,
        "new_top_level": [1, 2],
        "results": [
            {
                "unique_id": "model.pkg.orders",
                "status": "success",
                "timing": [
                    {"name": "compile", "started_at": "2030-01-02T03:04:00Z", "completed_at": None},
                    {"name": "execute", "started_at": "2030-01-02T03:04:01.5+00:00"},
                    {
                        "name": "queue",
                        "started_at": "2030-01-02T03:03:00Z",
                        "completed_at": "2030-01-02T03:03:01Z",
                    },
                ],
                "execution_time": 2,
                "adapter_response": {"rows_affected": "7", "code": "SUCCESS", "brand_new": True},
                "brand_new_field": {"nested": [1]},
                "batch_results": {"successful": [], "failed": []},
            },
            {"unique_id": "test.pkg.not_null_orders_id.abc1234567", "status": "warn", "failures": 3},
            {"status": "success"},  # no unique_id: cannot be keyed, skipped
            "not an object",
        ],
    }
    rows = rows_by_id(run_results_to_arrow({"id": "5"}, document))
    assert list(rows) == ["model.pkg.orders", "test.pkg.not_null_orders_id.abc1234567"]
    model = rows["model.pkg.orders"]
    assert model["run_id"] == 5
    assert (model["job_definition_id"], model["environment_id"], model["project_id"]) == (None, None, None)
    assert model["execution_time"] == 2.0
    assert model["rows_affected"] == 7
    assert model["adapter_code"] == "SUCCESS"
    assert model["compile_started_at"] == ts("2030-01-02T03:04:00")
    assert model["compile_completed_at"] is None
    assert model["execute_started_at"] == ts("2030-01-02T03:04:01.500000")
    assert model["execute_completed_at"] is None
    assert model["generated_at"] == ts("2030-01-02T03:04:05")
    assert model["elapsed_time"] == 5.0
    assert model["dbt_version"] == "2.3.0"
    assert model["command"] is None  # no `args` block
    test = rows["test.pkg.not_null_orders_id.abc1234567"]
    assert (test["status"], test["failures"], test["name"]) == ("warn", 3, "not_null_orders_id")
    assert test["execution_time"] is None
    assert test["thread_id"] is None
    assert test["execute_started_at"] is None


def test_odd_timestamps_fall_back_to_per_value_parsing() -> None:
    document = {
        "metadata": {"generated_at": "2030-01-02T03:04:05.123456789Z"},  # nanoseconds: Arrow's cast refuses
        "results": [
            {
                "unique_id": "model.pkg.a",
                "timing": [
                    {"name": "execute", "started_at": "2030-01-02T03:04:05", "completed_at": "garbage"}
                ],
            }
        ],
    }
    row = run_results_to_arrow(RUN, document).to_pylist()[0]
    assert row["generated_at"] == ts("2030-01-02T03:04:05.123456")
    assert row["execute_started_at"] == ts("2030-01-02T03:04:05")  # naive: taken as UTC
    assert row["execute_completed_at"] is None


def test_repeated_unique_id_keeps_the_last_entry() -> None:
    document = {
        "results": [
            {"unique_id": "model.pkg.a", "status": "error", "execution_time": 1.0},
            {"unique_id": "model.pkg.a", "status": "success", "execution_time": 2.0},
        ]
    }
    rows = run_results_to_arrow(RUN, document).to_pylist()
    assert [(row["status"], row["execution_time"]) for row in rows] == [("success", 2.0)]


def test_raw_bytes_are_accepted_and_bad_input_rejected() -> None:
    table = run_results_to_arrow(RUN, b'{"results": [{"unique_id": "seed.p.s", "status": "success"}]}')
    assert table.column("resource_type").to_pylist() == ["seed"]
    with pytest.raises(ValueError, match="JSON object"):
        run_results_to_arrow(RUN, [1, 2])
    with pytest.raises(ValueError, match="id"):
        run_results_to_arrow({"id": None}, {"results": []})


def test_artifact_fetch_row() -> None:
    when = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert artifact_fetch_row(70001, "loaded", when, 61) == {
        "run_id": 70001,
        "outcome": "loaded",
        "fetched_at": when,
        "results": 61,
        "reason": None,
        "attempts": 1,
    }
    assert artifact_fetch_row(70002, "none", "2026-11-20T12:00:00Z", 0) == {
        "run_id": 70002,
        "outcome": "none",
        "fetched_at": when,
        "results": 0,
        "reason": None,
        "attempts": 1,
    }
    failed = artifact_fetch_row(70003, "failed", when, 0, reason="request failed: 500", attempts=2)
    assert (failed["outcome"], failed["reason"], failed["attempts"]) == ("failed", "request failed: 500", 2)
    assert set(artifact_fetch_row(1, "none", when, 0)) == set(RUN_ARTIFACTS_HINTS)
    with pytest.raises(ValueError, match="outcome"):
        artifact_fetch_row(1, "404", when, 0)
    with pytest.raises(ValueError, match="fetched_at"):
        artifact_fetch_row(1, "none", None, 0)  # type: ignore[arg-type]


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started
