"""HTTP layer: routing, the `{status, data, extra}` envelope, auth, faults, latency and pagination.

Stdlib `ThreadingHTTPServer` speaking HTTP/1.1 with keep-alive, so a client's connection pool is
reused as it would be against the real service. Runs are kept in id order (append-only), so the
common listings (`id`, `-id`, `created_at`, `-created_at` without filters) are a slice, not a scan.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, overload
from urllib.parse import parse_qs, urlsplit

from .artifacts import artifact, artifact_names
from .model import FINAL_STATUSES, Run
from .retries import retry_refusal
from .serialize import status_at

if TYPE_CHECKING:
    from .simulator import DbtCloudSimulator

MAX_LIMIT = 100
RUN_ORDERS = ("id", "-id", "created_at", "-created_at", "finished_at", "-finished_at")
OBJECT_ORDERS = ("id", "-id", "name", "-name", "created_at", "-created_at")
ACCOUNT_PATH = re.compile(r"^/api/v([23])/accounts/([^/]+)(?:/(.*))?$")
LIMIT_ERROR = "The limit parameter must be less than or equal to 100."
"""Multi-tenant hosts refuse `limit` > 100 (dbt documents an API error); single-tenant ones clamp."""
STATES = {"1": (1,), "active": (1,), "2": (2,), "deleted": (2,), "all": (1, 2)}
"""`state` of the jobs (v2) and projects/environments (v3) listings: active by default."""
BAD_BODIES: dict[str, tuple[str, bytes]] = {
    "html": (
        "text/html; charset=utf-8",
        b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
        b"<body><h1>Bad Gateway</h1><p>The proxy could not reach the upstream server.</p></body></html>",
    ),
    "truncated": ("application/json", b'{"status": {"code": 200, "is_success": true}, "data": [{"id": 4000'),
}
"""2xx answers a proxy in between may give instead of dbt Cloud's envelope (fault kinds)."""
REASONS = {400: "Bad request.", 401: "Invalid token.", 404: "Not found.", 405: "Method not allowed."}


class ApiError(Exception):
    """An error answer in the API's envelope."""

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message or REASONS.get(code, "Error.")


def envelope(
    code: int, data: Any, user_message: str = "Success!", extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "status": {
            "code": code,
            "is_success": code < 400,
            "user_message": user_message,
            "developer_message": "",
        },
        "data": data,
        "extra": extra if extra is not None else {},
    }


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


@overload
def _int_param(query: dict[str, list[str]], name: str, default: int) -> int: ...
@overload
def _int_param(query: dict[str, list[str]], name: str, default: None = None) -> int | None: ...
def _int_param(query: dict[str, list[str]], name: str, default: int | None = None) -> int | None:
    value = _one(query, name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"Invalid value for {name}: {value!r}.") from None


def parse_list(value: str | None) -> list[str]:
    """`["trigger","job"]`, `[10,20]`, `trigger,job` and `10,20` all mean the same list."""
    if not value:
        return []
    return [
        item.strip().strip("\"'")
        for item in value.strip().strip("[]").split(",")
        if item.strip().strip("\"'")
    ]


def paging(query: dict[str, list[str]], clamp: bool = False) -> tuple[int, int]:
    """limit (default 100). Above 100: a 400 as on multi-tenant hosts, or clamped (`clamp`, single-tenant)."""
    limit = _int_param(query, "limit", MAX_LIMIT)
    offset = _int_param(query, "offset", 0)
    if limit < 0 or offset < 0:
        raise ApiError(400, "limit and offset must not be negative.")
    if limit > MAX_LIMIT and not clamp:
        raise ApiError(400, LIMIT_ERROR)
    return min(limit or MAX_LIMIT, MAX_LIMIT), offset


def states(query: dict[str, list[str]]) -> tuple[int, ...]:
    value = (_one(query, "state") or "active").strip().lower()
    if value not in STATES:
        raise ApiError(400, f"Invalid value for state: {value!r} (use active, deleted, all, 1 or 2).")
    return STATES[value]


def list_extra(filters: dict[str, Any], order_by: str, count: int, total: int) -> dict[str, Any]:
    return {"filters": filters, "order_by": order_by, "pagination": {"count": count, "total_count": total}}


class Api:
    """Route handlers; each returns (status code, envelope) or raises `ApiError`."""

    def __init__(self, sim: DbtCloudSimulator) -> None:
        self.sim = sim
        self.account = sim.account

    # ----- runs ------------------------------------------------------------------------------------
    def list_runs(self, query: dict[str, list[str]]) -> dict[str, Any]:
        limit, offset = paging(query, self.sim.clamp_limit)
        order_by = _one(query, "order_by") or "id"
        if order_by not in RUN_ORDERS:
            raise ApiError(400, f"Invalid order_by: {order_by!r}.")
        include = frozenset(parse_list(_one(query, "include_related")))
        filters: dict[str, Any] = {"account_id": self.account.account_id}
        for name in ("job_definition_id", "project_id", "environment_id", "status"):
            value = _int_param(query, name)
            if value is not None:
                filters[name] = value
        statuses = _one(query, "status__in")
        if statuses is not None:
            try:
                filters["status__in"] = [int(s) for s in parse_list(statuses)]
            except ValueError:
                raise ApiError(400, f"Invalid value for status__in: {statuses!r}.") from None
        with self.sim.lock:
            runs = self.account.runs_by_id
            filtered = len(filters) > 1
            if filtered:
                runs = [run for run in runs if self._matches(run, filters)]
            page, total = self._order_and_slice(runs, order_by, offset, limit)
            data = [self.sim.serialize(run, include) for run in page]
        filters.update(limit=limit, offset=offset)
        return envelope(200, data, extra=list_extra(filters, order_by, len(data), total))

    def _matches(self, run: Run, filters: dict[str, Any]) -> bool:
        if "job_definition_id" in filters and run.job_id != filters["job_definition_id"]:
            return False
        if "project_id" in filters and run.project_id != filters["project_id"]:
            return False
        if "environment_id" in filters and run.environment_id != filters["environment_id"]:
            return False
        if "status" in filters or "status__in" in filters:
            status = status_at(run, self.sim.clock_for(run))
            if "status" in filters and status != filters["status"]:
                return False
            if "status__in" in filters and status not in filters["status__in"]:
                return False
        return True

    def _order_and_slice(
        self, runs: list[Run], order_by: str, offset: int, limit: int
    ) -> tuple[list[Run], int]:
        """Runs are in id order, and ids ascend with created_at, so most orders are a slice."""
        total = len(runs)
        if order_by in ("created_at", "-created_at") and not self.account.created_in_id_order:
            runs = sorted(runs, key=lambda r: (r.created, r.id))
        if order_by in ("id", "created_at"):
            return runs[offset : offset + limit], total
        if order_by in ("-id", "-created_at"):
            end = max(0, total - offset)
            return runs[max(0, end - limit) : end][::-1], total
        # finished_at: open runs have none; as in Postgres, NULLs sort last ascending, first descending
        finished = {run.id: self._finished(run) for run in runs}
        done = sorted((r for r in runs if finished[r.id] is not None), key=lambda r: (finished[r.id], r.id))
        open_runs = [r for r in runs if finished[r.id] is None]
        ordered = done + open_runs if order_by == "finished_at" else open_runs[::-1] + done[::-1]
        return ordered[offset : offset + limit], total

    def _finished(self, run: Run) -> datetime | None:
        if run.settled:
            return run.finished
        return run.finished if status_at(run, self.sim.clock_for(run)) in FINAL_STATUSES else None

    def get_run(self, run_id: int, query: dict[str, list[str]], *, poll: bool = True) -> dict[str, Any]:
        include = frozenset(parse_list(_one(query, "include_related")))
        with self.sim.lock:
            run = self._run(run_id)
            if poll and run.pending_404:
                run.pending_404 = False
                raise ApiError(404, "Run not found.")
            return envelope(200, self.sim.serialize(run, include))

    def _run(self, run_id: int) -> Run:
        run = self.account.run(run_id)
        if run is None:
            raise ApiError(404, "Run not found.")
        return run

    def cancel_run(self, run_id: int) -> dict[str, Any]:
        with self.sim.lock:
            run = self._run(run_id)
            self.sim.cancel(run)
            return envelope(200, self.sim.serialize(run, frozenset({"trigger"})))

    def _complete_with_artifacts(self, run_id: int) -> Run:
        run = self._run(run_id)
        if status_at(run, self.sim.clock_for(run)) not in FINAL_STATUSES or not run.artifacts_saved:
            raise ApiError(404, "No artifacts found for this run.")
        return run

    def list_artifacts(self, run_id: int) -> dict[str, Any]:
        with self.sim.lock:
            run = self._complete_with_artifacts(run_id)
            return envelope(200, artifact_names(self.account, run))

    def get_artifact(self, run_id: int, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """The artifact document itself (not enveloped), as the service returns it."""
        step = _int_param(query, "step")
        with self.sim.lock:
            run = self._complete_with_artifacts(run_id)
            document = artifact(self.account, run, path, step)
        if document is None:
            raise ApiError(404, f"Artifact {path} not found for this run.")
        return document

    # ----- jobs, projects, environments ------------------------------------------------------------
    def list_objects(
        self, objects: list[dict[str, Any]], query: dict[str, list[str]], filter_names: tuple[str, ...]
    ) -> dict[str, Any]:
        limit, offset = paging(query, self.sim.clamp_limit)
        order_by = _one(query, "order_by") or "id"
        if order_by not in OBJECT_ORDERS:
            raise ApiError(400, f"Invalid order_by: {order_by!r}.")
        filters: dict[str, Any] = {"account_id": self.account.account_id}
        for name in filter_names:
            value = _int_param(query, name)
            if value is not None:
                filters[name] = value
        rows = [o for o in objects if all(o.get(k) == v for k, v in filters.items() if k != "account_id")]
        key = order_by.lstrip("-")
        rows.sort(key=lambda o: (o[key], o["id"]), reverse=order_by.startswith("-"))
        page = rows[offset : offset + limit]
        filters.update(limit=limit, offset=offset)
        return envelope(200, page, extra=list_extra(filters, order_by, len(page), len(rows)))

    def list_jobs(self, query: dict[str, list[str]]) -> dict[str, Any]:
        wanted = states(query)
        with self.sim.lock:
            jobs = [spec.data for spec in self.account.jobs.values() if spec.data["state"] in wanted]
            answer = self.list_objects(jobs, query, ("project_id", "environment_id"))
        answer["extra"]["filters"]["state"] = _one(query, "state") or "active"
        return answer

    def retry_run(self, run_id: int) -> dict[str, Any]:
        """`POST /runs/{id}/retry/`: a new run from the point of failure, or 400 with dbt's reason."""
        with self.sim.lock:
            run = self._run(run_id)
            reason = retry_refusal(self.account, run, status_at(run, self.sim.clock_for(run)))
            if reason is not None:
                raise ApiError(400, f"This run cannot be retried: {reason}.")
            retry = self.sim.trigger(run.job_id, {"cause": f"Retry of run {run.id}"}, retrying=run)
            return envelope(200, self.sim.serialize(retry, frozenset({"trigger", "job"})))

    def get_job(self, job_id: int) -> dict[str, Any]:
        spec = self.account.jobs.get(job_id)
        if spec is None:
            raise ApiError(404, "Job not found.")
        return envelope(200, spec.data)

    def trigger(self, job_id: int, body: bytes) -> dict[str, Any]:
        spec = self.account.jobs.get(job_id)
        if spec is None or spec.data["state"] != 1:
            raise ApiError(404, "Job not found.")
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            raise ApiError(400, "The request body is not valid JSON.") from None
        if not isinstance(payload, dict) or not str(payload.get("cause") or "").strip():
            raise ApiError(400, "The cause field is required.")
        run = self.sim.trigger(job_id, payload)
        return envelope(200, self.sim.serialize(run, frozenset({"trigger", "job"})))

    def get_object(self, objects: list[dict[str, Any]], object_id: int, what: str) -> dict[str, Any]:
        found = next((o for o in objects if o["id"] == object_id), None)
        if found is None:
            raise ApiError(404, f"{what} not found.")
        return envelope(200, found)

    def account_dict(self) -> dict[str, Any]:
        return {
            "id": self.account.account_id,
            "name": "Simulated Analytics Co",
            "state": 1,
            "plan": "enterprise",
            "run_slots": 8,
            "developer_seats": 25,
            "read_only_seats": 50,
            "locked": False,
        }

    # ----- routing ---------------------------------------------------------------------------------
    def route(
        self, method: str, parts: list[str], query: dict[str, list[str]], body: bytes
    ) -> dict[str, Any]:
        """Dispatch `parts` (the path after /api/v2/accounts/{id}/, split on '/')."""
        head, ids = (parts[0] if parts else ""), parts[1:]
        if head == "" and not ids:
            return self._expect(method, "GET") or envelope(200, self.account_dict())
        if head == "runs":
            if not ids:
                return self._expect(method, "GET") or self.list_runs(query)
            run_id = _path_id(ids[0])
            if len(ids) == 1:
                return self._expect(method, "GET") or self.get_run(run_id, query)
            if ids[1] == "cancel" and len(ids) == 2:
                return self._expect(method, "POST") or self.cancel_run(run_id)
            if ids[1] == "retry" and len(ids) == 2:
                return self._expect(method, "POST") or self.retry_run(run_id)
            if ids[1] == "artifacts":
                self._expect(method, "GET")
                if len(ids) == 2:
                    return self.list_artifacts(run_id)
                return self.get_artifact(run_id, "/".join(ids[2:]), query)
        if head == "jobs":
            if not ids:
                return self._expect(method, "GET") or self.list_jobs(query)
            job_id = _path_id(ids[0])
            if len(ids) == 1:
                return self._expect(method, "GET") or self.get_job(job_id)
            if ids[1] == "run" and len(ids) == 2:
                return self._expect(method, "POST") or self.trigger(job_id, body)
        if head in ("projects", "environments") and len(ids) <= 1:
            self._expect(method, "GET")
            objects = self.account.projects if head == "projects" else self.account.environments
            if not ids:
                return self.list_objects(objects, query, ("project_id",) if head == "environments" else ())
            return self.get_object(objects, _path_id(ids[0]), head[:-1].capitalize())
        raise ApiError(404, "Not found.")

    def route_v3(self, method: str, parts: list[str], query: dict[str, list[str]]) -> dict[str, Any]:
        """v3: `projects/` and, per project, `projects/{id}/environments/` (paged like v2, with `state`)."""
        if not self.sim.v3 or not parts or parts[0] != "projects" or len(parts) > 4:
            raise ApiError(404, "Not found.")
        self._expect(method, "GET")
        wanted = states(query)
        if len(parts) == 1:
            rows = [p for p in self.account.projects if p.get("state", 1) in wanted]
            return self.list_objects(rows, query, ())
        project_id = _path_id(parts[1])
        if self.account.project(project_id) is None:
            raise ApiError(404, "Project not found.")
        if len(parts) == 2:
            return self.get_object(self.account.projects, project_id, "Project")
        if parts[2] != "environments":
            raise ApiError(404, "Not found.")
        environments = [
            e
            for e in self.account.environments
            if e["project_id"] == project_id and e.get("state", 1) in wanted
        ]
        if len(parts) == 3:
            return self.list_objects(environments, query, ())
        return self.get_object(environments, _path_id(parts[3]), "Environment")

    @staticmethod
    def _expect(method: str, allowed: str) -> None:
        if method != allowed:
            raise ApiError(405, f"Method {method} not allowed here.")


def _path_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ApiError(404, "Not found.") from None


class Handler(BaseHTTPRequestHandler):
    """One request: latency, request log, faults, auth, account check, then the API."""

    protocol_version = "HTTP/1.1"
    server: SimulatorServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: a benchmark must not pay for, or drown in, access logs."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        sim = self.server.sim
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        if sim.latency_ms:
            time.sleep(sim.latency_ms / 1000)
        fault = sim.take_fault(url.path)
        if fault is not None and fault.kind == "drop":
            sim.record(method, url.path, query, None)
            self._drop()
            return
        if fault is None and sim.cooling_down():
            self._send(method, url.path, query, 429, envelope(429, None, "Too many requests."))
            return
        if fault is not None and fault.kind in BAD_BODIES:
            self._send_raw(method, url.path, query, 200, *BAD_BODIES[fault.kind])
            return
        if fault is not None:
            code = int(fault.kind)
            headers = (
                {"Retry-After": str(fault.retry_after)}
                if fault.kind == "429" and fault.retry_after is not None
                else {}
            )
            message = "Too many requests." if code == 429 else "Internal server error."
            self._send(method, url.path, query, code, envelope(code, None, message), headers)
            return
        code, payload = self._answer(method, url.path, query, body)
        self._send(method, url.path, query, code, payload)

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        sim = self.server.sim
        try:
            if sim.revoked or not self._authorized():
                raise ApiError(401, "Invalid token.")
            match = ACCOUNT_PATH.match(path)
            if match is None:
                raise ApiError(404, "Not found.")
            if match.group(2) != str(sim.account_id):
                raise ApiError(403, "You do not have permission to access this account.")
            parts = [part for part in (match.group(3) or "").split("/") if part]
            if match.group(1) == "3":
                return 200, Api(sim).route_v3(method, parts, query)
            return 200, Api(sim).route(method, parts, query, body)
        except ApiError as error:
            return error.code, envelope(error.code, None, error.message)
        except Exception as error:  # a simulator bug must still answer like a server would
            return 500, envelope(500, None, "Internal server error.", {"error": repr(error)})

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        return scheme.lower() in ("token", "bearer") and token.strip() == self.server.sim.token

    def _send(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        code: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        raw = json.dumps(payload, separators=(",", ":")).encode()
        self.server.sim.record(method, path, query, code)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _send_raw(
        self, method: str, path: str, query: dict[str, list[str]], code: int, content_type: str, raw: bytes
    ) -> None:
        """A body that is not the envelope (a proxy's page, cut-off JSON), with the length it has."""
        self.server.sim.record(method, path, query, code)
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _drop(self) -> None:
        """Close the socket without a byte of response: the client sees a connection error."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sim: DbtCloudSimulator, port: int) -> None:
        self.sim = sim
        super().__init__(("127.0.0.1", port), Handler)


def make_server(sim: DbtCloudSimulator, port: int = 0) -> SimulatorServer:
    return SimulatorServer(sim, port)
