"""Answers shaped like a real account's (redacted style: 14-digit ids, a run of more than 24 hours, a
queued run blocked by another, `T`-form job timestamps, empty project and environment listings).

Such an account loaded with exit 0 but 7 of 11 views failed, because an empty listing created no
table. Every table and every view must exist after the first load, whatever the listings hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import requests_mock
from dbt_cloud_runs.cli import main
from dbt_cloud_runs.views import view_files

ACCOUNT = 70412300000001
PROJECT = 70412300000117
ENVIRONMENT = 70412300000245
JOB = 70412300000388
DELETED_JOB = 70412300000399
HOST = "https://xy789.us1.dbt.com"
TOKEN = "dbtc_recorded_fixture_token"


def envelope(data: Any, total: int | None = None) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if isinstance(data, list):
        extra = {
            "filters": {"limit": 100, "offset": 0, "account_id": ACCOUNT},
            "order_by": "id",
            "pagination": {"count": len(data), "total_count": len(data) if total is None else total},
        }
    return {
        "status": {"code": 200, "is_success": True, "user_message": "Success!", "developer_message": ""},
        "data": data,
        "extra": extra,
    }


def run(run_id: int, status: int, created: str, finished: str | None, **fields: Any) -> dict[str, Any]:
    names = {1: "Queued", 10: "Success", 20: "Error", 30: "Cancelled"}
    base = {
        "id": run_id,
        "trigger_id": run_id + 3,
        "account_id": ACCOUNT,
        "environment_id": ENVIRONMENT,
        "project_id": PROJECT,
        "job_definition_id": JOB,
        "job_id": JOB,
        "status": status,
        "status_humanized": names[status],
        "dbt_version": "latest",
        "git_branch": "main" if finished else None,
        "git_sha": "5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ff" if finished else None,
        "status_message": None,
        "owner_thread_id": None,
        "executed_by_thread_id": "scheduler-run-0-abcde" if finished else None,
        "deferring_run_id": None,
        "artifacts_saved": False,
        "artifact_s3_path": None,
        "has_docs_generated": False,
        "has_sources_generated": False,
        "notifications_sent": bool(finished),
        "blocked_by": [],
        "created_at": created,
        "updated_at": finished or created,
        "dequeued_at": created if finished else None,
        "started_at": created if finished else None,
        "finished_at": finished,
        "last_checked_at": finished,
        "last_heartbeat_at": finished,
        "should_start_at": None,
        "trigger": None,
        "job": None,
        "environment": None,
        "run_steps": [],
        "in_progress": status == 1,
        "is_complete": status != 1,
        "is_success": status == 10,
        "is_error": status == 20,
        "is_cancelled": status == 30,
        "duration": "00:01:00",
        "queued_duration": "00:00:02",
        "run_duration": "00:00:58",
        "duration_humanized": "1 minute",
        "retrying_run_id": None,
        "can_retry": False,
        "retry_not_supported_reason": "RETRY_NOT_FAILED_RUN",
        "is_running": None,
        "href": f"{HOST}/deploy/{ACCOUNT}/projects/{PROJECT}/runs/{run_id}/",
        "used_repo_cache": None,
    }
    base.update(fields)
    return base


RUNS = [
    run(
        70412311223344,
        1,
        "2026-11-19 04:46:06.929885+00:00",
        None,
        blocked_by=[70412311223300],
        duration="00:56:48",
        queued_duration="00:56:48",
        run_duration="00:00:00",
    ),
    run(
        70412311223300,
        20,
        "2026-11-18 22:00:03+00:00",
        "2026-11-18 22:04:10.5+00:00",
        can_retry=True,
        retry_not_supported_reason=None,
        status_message="Database Error in model orders",
        artifacts_saved=True,
    ),
    run(
        70412310257794,
        30,
        "2026-11-01 10:42:16.179903+00:00",
        "2026-11-02 10:42:52.622408+00:00",
        job_definition_id=DELETED_JOB,
        job_id=DELETED_JOB,
        status_message="This run timed out after running for 1 day.",
        duration="24:00:36",
        queued_duration="00:00:04",
        run_duration="24:00:32",
    ),
]


def job(job_id: int, name: str, state: int) -> dict[str, Any]:
    return {
        "id": job_id,
        "account_id": ACCOUNT,
        "project_id": PROJECT,
        "environment_id": ENVIRONMENT,
        "name": name,
        "description": "",
        "dbt_version": None,
        "created_at": "2026-05-27T10:42:10.111442+00:00",
        "updated_at": "2026-05-27T10:42:10.111459+00:00",
        "execute_steps": ["dbt build"],
        "state": state,
        "deactivated": False,
        "triggers": {
            "github_webhook": False,
            "git_provider_webhook": False,
            "schedule": True,
            "on_merge": False,
        },
        "settings": {"threads": 4, "target_name": "default"},
        "schedule": {"cron": "6 */12 * * 0,1,2,3,4,5,6", "date": {"type": "interval_cron"}, "time": {}},
        "execution": {"timeout_seconds": 86400},
        "job_type": "scheduled",
    }


JOBS = [job(JOB, "Twice a day", 1), job(DELETED_JOB, "Retired backfill", 2)]


def answer(request: Any, context: Any) -> dict[str, Any]:
    path = request.path
    if path.endswith("/runs/"):
        return envelope(RUNS if request.qs.get("offset", ["0"]) == ["0"] else [], total=len(RUNS))
    if path.endswith("/jobs/"):
        state = request.qs.get("state", ["active"])[0]
        return envelope([j for j in JOBS if state == "all" or j["state"] == 1])
    if "/runs/" in path:  # an open run re-read by id
        return envelope(next(r for r in RUNS if str(r["id"]) in path))
    return envelope([])  # v3 projects and environments: empty for this token


def test_first_load_of_a_recorded_account_creates_every_table_and_view(
    workdir: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("DBT_CLOUD__API_TOKEN", TOKEN)
    monkeypatch.setenv("DBT_CLOUD__ACCOUNT_ID", str(ACCOUNT))
    monkeypatch.setenv("DBT_CLOUD__BASE_URL", HOST)
    with requests_mock.Mocker() as mocker:
        mocker.get(requests_mock.ANY, json=answer)
        assert main(["--no-artifacts"]) == 0, capsys.readouterr().err
    with duckdb.connect(str(workdir / "dbt_runs.duckdb"), read_only=True) as con:
        tables = {
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'dbt_cloud'"
            ).fetchall()
        }
        assert {"runs", "jobs", "projects", "environments", "loads", "run_results", "run_artifacts"} <= tables
        assert {path.stem for path in view_files()} <= tables
        assert con.execute("SELECT count(*) FROM dbt_cloud.projects").fetchone() == (0,)
        got = con.execute(
            "SELECT id, job_name, job_deleted, run_seconds FROM dbt_cloud.runs_enriched ORDER BY id"
        ).fetchall()
        assert got == [
            (70412310257794, "Retired backfill", True, 86436.442505),
            (70412311223300, "Twice a day", False, 247.5),
            (70412311223344, "Twice a day", False, None),
        ]
        assert con.execute(
            "SELECT duration, can_retry, retry_not_supported_reason FROM dbt_cloud.runs ORDER BY id"
        ).fetchall() == [
            ("24:00:36", False, "RETRY_NOT_FAILED_RUN"),
            ("00:01:00", True, None),
            ("00:56:48", False, "RETRY_NOT_FAILED_RUN"),
        ]
        assert (
            con.execute("SELECT created_at FROM dbt_cloud.jobs WHERE id = ?", [JOB]).fetchone()[0].year
            == 2026
        )
