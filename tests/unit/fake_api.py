"""A small in-memory dbt Cloud API for requests-mock tests: exact data, exact answers.

It implements only what the loader calls (listing with a capped page size and offset, one run by id,
the v2 jobs listing with `state`, the v3 projects and per-project environments listings, and their v2
fallbacks) so a test can state precisely what the API holds and assert precisely what lands in DuckDB.
The real-HTTP simulator (tests/e2e) covers the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests_mock

BASE_URL = "https://ab123.eu1.dbt.com"
ACCOUNT_ID = 4242
TOKEN = "dbtc_unit_test_secret_token"
T0 = datetime(2026, 11, 1, 0, 0, 0, tzinfo=UTC)


def fmt(ts: datetime | None) -> str | None:
    """The API's timestamp text: microseconds omitted when zero."""
    if ts is None:
        return None
    text = ts.strftime("%Y-%m-%d %H:%M:%S")
    if ts.microsecond:
        text += f".{ts.microsecond:06d}"
    return text + "+00:00"


def hms(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def make_run(
    run_id: int,
    created_at: datetime,
    status: int = 10,
    job_id: int = 1,
    queue_seconds: float = 30,
    run_seconds: float = 300,
    cause: str = "Kicked off by the scheduler",
    project_id: int = 10,
    environment_id: int = 100,
) -> dict[str, Any]:
    """A run as the API returns it (with `trigger`, which the API only fills when asked)."""
    started = created_at + timedelta(seconds=queue_seconds) if status in (2, 3, 10, 20) else None
    if status == 30 and run_seconds:
        started = created_at + timedelta(seconds=queue_seconds)
    finished = started + timedelta(seconds=run_seconds) if started and status in (10, 20, 30) else None
    if status == 30 and not started:
        finished = created_at + timedelta(seconds=queue_seconds)
    names = {1: "Queued", 2: "Starting", 3: "Running", 10: "Success", 20: "Error", 30: "Cancelled"}
    return {
        "id": run_id,
        "trigger_id": run_id + 1000,
        "account_id": ACCOUNT_ID,
        "environment_id": environment_id,
        "project_id": project_id,
        "job_definition_id": job_id,
        "job_id": job_id,
        "status": status,
        "status_humanized": names[status],
        "status_message": "Database Error in model orders" if status == 20 else None,
        "dbt_version": "1.9.0",
        "git_branch": "main",
        "git_sha": f"sha{run_id}",
        "created_at": fmt(created_at),
        "updated_at": fmt(finished or started or created_at),
        "dequeued_at": fmt(started),
        "started_at": fmt(started),
        "finished_at": fmt(finished),
        "should_start_at": fmt(created_at),
        "in_progress": status in (1, 2, 3),
        "is_complete": status in (10, 20, 30),
        "is_success": status == 10,
        "is_error": status == 20,
        "is_cancelled": status == 30,
        "is_running": status == 3,
        "artifacts_saved": status in (10, 20),
        "has_docs_generated": False,
        "has_sources_generated": False,
        "duration": hms((finished - created_at).total_seconds() if finished else None),
        "queued_duration": hms(queue_seconds if started else None),
        "run_duration": hms((finished - started).total_seconds() if finished and started else None),
        "href": f"{BASE_URL}/deploy/{ACCOUNT_ID}/projects/{project_id}/runs/{run_id}/",
        "run_steps": [{"index": 1, "logs": "x" * 1000}],
        "trigger": {
            "id": run_id + 1000,
            "cause": cause,
            "job_definition_id": job_id,
            "git_branch": None,
            "git_sha": None,
            "github_pull_request_id": 77 if "pull request" in cause else None,
            "schema_override": None,
            "steps_override": ["dbt build -s orders"] if "API" in cause else None,
        },
    }


class FakeDbtCloud:
    """Holds runs/jobs/projects/environments and answers the loader's requests through requests-mock."""

    def __init__(self, page_cap: int = 100) -> None:
        self.runs: dict[int, dict[str, Any]] = {}
        self.jobs: list[dict[str, Any]] = []
        self.projects: list[dict[str, Any]] = [
            {"id": 10, "account_id": ACCOUNT_ID, "name": "Analytics", "state": 1, "created_at": fmt(T0)}
        ]
        self.environments: list[dict[str, Any]] = [
            {
                "id": 100,
                "account_id": ACCOUNT_ID,
                "project_id": 10,
                "name": "Production",
                "type": "deployment",
                "deployment_type": "production",
                "state": 1,
            }
        ]
        self.page_cap = page_cap
        self.short_pages: set[int] = set()  # offsets answered with half a page
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.artifacts: dict[Any, dict[str, Any]] = {}  # run id (last step) or 'id/step' -> run_results.json
        self.fail: Callable[[str, dict[str, list[str]]], Any] | None = None
        """Return None (answer normally), (status, body[, headers]) or an exception to raise."""
        self.v3 = True
        """False: an older single-tenant host where every v3 route answers 404"""

    # -- data --------------------------------------------------------------------------------------
    def add_job(self, job_id: int, name: str, project_id: int = 10, environment_id: int = 100) -> None:
        self.jobs.append(
            {
                "id": job_id,
                "account_id": ACCOUNT_ID,
                "project_id": project_id,
                "environment_id": environment_id,
                "name": name,
                "state": 1,
                "execute_steps": ["dbt build"],
                "settings": {"threads": 4, "target_name": "prod"},
                "triggers": {"schedule": True, "github_webhook": False},
                "schedule": {"cron": "0 * * * *"},
                "created_at": fmt(T0),
            }
        )

    def delete_job(self, job_id: int) -> None:
        """dbt soft-deletes: state 2, listed only when the listing asks for `state=all` or `deleted`."""
        for job in self.jobs:
            if job["id"] == job_id:
                job["state"] = 2
                job["updated_at"] = fmt(T0 + timedelta(days=30))  # deleting changes the job

    def add_runs(self, *runs: dict[str, Any]) -> None:
        for run in runs:
            self.runs[run["id"]] = run

    # -- requests ----------------------------------------------------------------------------------
    def install(self, mocker: requests_mock.Mocker) -> None:
        root = re.compile(rf"^{re.escape(BASE_URL)}/api/v[23]/accounts/{ACCOUNT_ID}/.*")
        mocker.register_uri(requests_mock.ANY, root, json=self._answer)

    def _answer(self, request: Any, context: Any) -> dict[str, Any]:
        url = urlparse(request.url)
        query = parse_qs(url.query)
        path = url.path.split(f"/accounts/{ACCOUNT_ID}/", 1)[1].strip("/")
        if "/api/v3/" in url.path:
            path = "v3/" + path
        self.requests.append((request.method, path, query))
        if request.headers.get("Authorization") != f"Token {TOKEN}":
            context.status_code = 401
            return envelope(None, 401, "Invalid token.")
        if self.fail:
            failure = self.fail(path, query)
            if isinstance(failure, BaseException):
                raise failure
            if failure:
                context.status_code = failure[0]
                for name, value in (failure[2] if len(failure) > 2 else {}).items():
                    context.headers[name] = value
                return failure[1]
        if path == "runs":
            return self._list(sorted(self.runs.values(), key=lambda r: r["created_at"], reverse=True), query)
        if path.startswith("runs/") and "/artifacts/" in path:
            run_id = int(path.split("/")[1])
            step = query.get("step", [None])[0]
            document = self.artifacts.get(f"{run_id}/{step}") if step else self.artifacts.get(run_id)
            if document is None:
                context.status_code = 404
                return envelope(None, 404, "The requested artifact was not found.")
            return document
        if path.startswith("runs/"):
            run = self.runs.get(int(path.split("/")[1]))
            if run is None:
                context.status_code = 404
                return envelope(None, 404, "Not found.")
            return envelope(self._public(run, query))
        if path.startswith("v3/"):
            return self._v3(path, query, context)
        if path == "jobs":
            wanted = query.get("state", ["active"])[0]
            states = {"active": {1}, "1": {1}, "deleted": {2}, "2": {2}, "all": {1, 2}}[wanted]
            return self._list([job for job in self.jobs if job.get("state", 1) in states], query)
        listing = {"projects": self.projects, "environments": self.environments}.get(path)
        if listing is None:
            context.status_code = 404
            return envelope(None, 404, "Not found.")
        return self._list(listing, query)

    def _v3(self, path: str, query: dict[str, list[str]], context: Any) -> dict[str, Any]:
        parts = path.split("/")[1:]
        if self.v3 and parts == ["projects"]:
            return self._list(self.projects, query)
        if self.v3 and len(parts) == 3 and parts[0] == "projects" and parts[2] == "environments":
            project_id = int(parts[1])
            return self._list([env for env in self.environments if env["project_id"] == project_id], query)
        context.status_code = 404
        return envelope(None, 404, "Not found.")

    def _list(self, rows: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
        limit = min(int(query.get("limit", ["100"])[0]), self.page_cap)
        offset = int(query.get("offset", ["0"])[0])
        if offset in self.short_pages:
            limit = max(1, limit // 2)
        page = [self._public(row, query) for row in rows[offset : offset + limit]]
        return envelope(
            page,
            extra={
                "filters": {"limit": limit, "offset": offset},
                "pagination": {"count": len(page), "total_count": len(rows)},
            },
        )

    @staticmethod
    def _public(row: dict[str, Any], query: dict[str, list[str]]) -> dict[str, Any]:
        related = query.get("include_related", ["[]"])[0]
        out = dict(row)
        if "trigger" in out and "trigger" not in json.loads(related if related.startswith("[") else "[]"):
            out["trigger"] = None
        return out


def envelope(
    data: Any, code: int = 200, message: str = "Success!", extra: dict | None = None
) -> dict[str, Any]:
    return {
        "status": {"code": code, "is_success": code < 400, "user_message": message, "developer_message": ""},
        "data": data,
        "extra": extra or {},
    }
