"""Builders for a requests-mock dbt Cloud on a non-US access URL, shared by the operations tests.

The host is an EMEA cell access URL on purpose: dlt's own helper always calls the US host, and every
test here would fail if ours did.
"""

from __future__ import annotations

from typing import Any

from fake_time import FakeClock as FakeClock  # re-exported: the operations tests take it from here

BASE_URL = "https://ab123.eu1.dbt.com"
ACCOUNT_ID = 4242
TOKEN = "dbtc_operations_test_secret"
ROOT = f"{BASE_URL}/api/v2/accounts/{ACCOUNT_ID}/"
STATUS_TEXT = {1: "Queued", 2: "Starting", 3: "Running", 10: "Success", 20: "Error", 30: "Cancelled"}


def envelope(data: Any, **extra: Any) -> dict[str, Any]:
    """dbt Cloud's answer envelope."""
    return {
        "status": {"code": 200, "is_success": True, "user_message": "Success!", "developer_message": ""},
        "data": data,
        "extra": extra,
    }


def error_envelope(code: int, message: str) -> dict[str, Any]:
    return {
        "status": {"code": code, "is_success": False, "user_message": message, "developer_message": ""},
        "data": None,
    }


def make_run(run_id: int, status: int = 1, job_id: int = 7, **fields: Any) -> dict[str, Any]:
    """A run as the API answers, with only the fields the operations read."""
    run: dict[str, Any] = {
        "id": run_id,
        "account_id": ACCOUNT_ID,
        "project_id": 11,
        "job_definition_id": job_id,
        "status": status,
        "status_humanized": STATUS_TEXT[status],
        "status_message": None,
        "created_at": "2026-11-20 08:00:00+00:00",
        "started_at": None,
        "finished_at": None,
        "href": None,
        "trigger": {"cause": "Triggered via API"},
    }
    run.update(fields)
    return run


def run_response(run: dict[str, Any]) -> dict[str, Any]:
    return {"json": envelope(run)}


def not_found() -> dict[str, Any]:
    return {"status_code": 404, "json": error_envelope(404, "Not found.")}
