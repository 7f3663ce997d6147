"""The API's routes: each handler reads the account under the simulator's lock and returns the
envelope (or the artifact document), or raises `ApiError`.

Runs are kept in id order (append-only), so the common listings (`id`, `-id`, `created_at`,
`-created_at` without filters) are a slice, not a scan.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .artifacts import artifact, artifact_names
from .model import FINAL_STATUSES, Run
from .params import (
    OBJECT_ORDERS,
    RUN_ORDERS,
    ApiError,
    envelope,
    int_param,
    list_extra,
    one_param,
    paging,
    parse_list,
    states,
)
from .retries import retry_refusal
from .serialize import status_at

if TYPE_CHECKING:
    from .simulator import DbtCloudSimulator

RUN_ID_FILTERS = {
    "job_definition_id": "job_id",
    "project_id": "project_id",
    "environment_id": "environment_id",
}
"""`GET /runs/` filters on ids: query parameter -> `Run` attribute."""


class Api:
    """Route handlers; each returns (status code, envelope) or raises `ApiError`."""

    def __init__(self, sim: DbtCloudSimulator) -> None:
        self.sim = sim
        self.account = sim.account

    # ----- runs ------------------------------------------------------------------------------------
    def list_runs(self, query: dict[str, list[str]]) -> dict[str, Any]:
        limit, offset = paging(query, self.sim.clamp_limit)
        order_by = one_param(query, "order_by") or "id"
        if order_by not in RUN_ORDERS:
            raise ApiError(400, f"Invalid order_by: {order_by!r}.")
        include = frozenset(parse_list(one_param(query, "include_related")))
        filters = self._run_filters(query)
        with self.sim.lock:
            runs = self.account.runs_by_id
            if len(filters) > 1:
                runs = [run for run in runs if self._matches(run, filters)]
            page, total = self._order_and_slice(runs, order_by, offset, limit)
            data = [self.sim.serialize(run, include) for run in page]
        filters.update(limit=limit, offset=offset)
        return envelope(200, data, extra=list_extra(filters, order_by, len(data), total))

    def _run_filters(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """The filters `GET /runs/` applies (echoed in `extra.filters`), always with the account id."""
        filters: dict[str, Any] = {"account_id": self.account.account_id}
        for name in (*RUN_ID_FILTERS, "status"):
            value = int_param(query, name)
            if value is not None:
                filters[name] = value
        statuses = one_param(query, "status__in")
        if statuses is not None:
            try:
                filters["status__in"] = [int(s) for s in parse_list(statuses)]
            except ValueError:
                raise ApiError(400, f"Invalid value for status__in: {statuses!r}.") from None
        return filters

    def _matches(self, run: Run, filters: dict[str, Any]) -> bool:
        if any(
            name in filters and getattr(run, RUN_ID_FILTERS[name]) != filters[name] for name in RUN_ID_FILTERS
        ):
            return False
        if "status" not in filters and "status__in" not in filters:
            return True
        status = status_at(run, self.sim.clock_for(run))
        return filters.get("status", status) == status and status in filters.get("status__in", (status,))

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
        return self._by_finished(runs, descending=order_by.startswith("-"))[offset : offset + limit], total

    def _by_finished(self, runs: list[Run], descending: bool) -> list[Run]:
        """Open runs have no finished_at; as in Postgres, NULLs sort last ascending, first descending."""
        finished = {run.id: self._finished(run) for run in runs}
        done = sorted((r for r in runs if finished[r.id] is not None), key=lambda r: (finished[r.id], r.id))
        open_runs = [r for r in runs if finished[r.id] is None]
        return open_runs[::-1] + done[::-1] if descending else done + open_runs

    def _finished(self, run: Run) -> datetime | None:
        if run.settled:
            return run.finished
        return run.finished if status_at(run, self.sim.clock_for(run)) in FINAL_STATUSES else None

    def get_run(self, run_id: int, query: dict[str, list[str]], *, poll: bool = True) -> dict[str, Any]:
        include = frozenset(parse_list(one_param(query, "include_related")))
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
        step = int_param(query, "step")
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
        order_by = one_param(query, "order_by") or "id"
        if order_by not in OBJECT_ORDERS:
            raise ApiError(400, f"Invalid order_by: {order_by!r}.")
        filters: dict[str, Any] = {"account_id": self.account.account_id}
        for name in filter_names:
            value = int_param(query, name)
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
        answer["extra"]["filters"]["state"] = one_param(query, "state") or "active"
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
            return self._route_runs(method, ids, query)
        if head == "jobs":
            return self._route_jobs(method, ids, query, body)
        if head in ("projects", "environments") and len(ids) <= 1:
            return self._route_objects(method, head, ids, query)
        raise ApiError(404, "Not found.")

    def _route_runs(self, method: str, ids: list[str], query: dict[str, list[str]]) -> dict[str, Any]:
        """`runs/`, `runs/{id}/`, `runs/{id}/cancel/`, `runs/{id}/retry/`, `runs/{id}/artifacts/[path]`."""
        if not ids:
            return self._expect(method, "GET") or self.list_runs(query)
        run_id = _path_id(ids[0])
        if len(ids) == 1:
            return self._expect(method, "GET") or self.get_run(run_id, query)
        if ids[1] == "artifacts":
            self._expect(method, "GET")
            if len(ids) == 2:
                return self.list_artifacts(run_id)
            return self.get_artifact(run_id, "/".join(ids[2:]), query)
        actions = {"cancel": self.cancel_run, "retry": self.retry_run}
        if ids[1] in actions and len(ids) == 2:
            return self._expect(method, "POST") or actions[ids[1]](run_id)
        raise ApiError(404, "Not found.")

    def _route_jobs(
        self, method: str, ids: list[str], query: dict[str, list[str]], body: bytes
    ) -> dict[str, Any]:
        """`jobs/`, `jobs/{id}/`, `jobs/{id}/run/`."""
        if not ids:
            return self._expect(method, "GET") or self.list_jobs(query)
        job_id = _path_id(ids[0])
        if len(ids) == 1:
            return self._expect(method, "GET") or self.get_job(job_id)
        if ids[1] == "run" and len(ids) == 2:
            return self._expect(method, "POST") or self.trigger(job_id, body)
        raise ApiError(404, "Not found.")

    def _route_objects(
        self, method: str, head: str, ids: list[str], query: dict[str, list[str]]
    ) -> dict[str, Any]:
        """v2 `projects/[id]` and `environments/[id]` (the latter filterable by project)."""
        self._expect(method, "GET")
        objects = self.account.projects if head == "projects" else self.account.environments
        if not ids:
            return self.list_objects(objects, query, ("project_id",) if head == "environments" else ())
        return self.get_object(objects, _path_id(ids[0]), head[:-1].capitalize())

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
        return self._route_v3_environments(parts[2:], project_id, wanted, query)

    def _route_v3_environments(
        self, parts: list[str], project_id: int, wanted: tuple[int, ...], query: dict[str, list[str]]
    ) -> dict[str, Any]:
        """`projects/{project_id}/environments/[id]`: a project's environments in the wanted states."""
        if parts[0] != "environments":
            raise ApiError(404, "Not found.")
        environments = [
            e
            for e in self.account.environments
            if e["project_id"] == project_id and e.get("state", 1) in wanted
        ]
        if len(parts) == 1:
            return self.list_objects(environments, query, ())
        return self.get_object(environments, _path_id(parts[1]), "Environment")

    @staticmethod
    def _expect(method: str, allowed: str) -> None:
        if method != allowed:
            raise ApiError(405, f"Method {method} not allowed here.")


def _path_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ApiError(404, "Not found.") from None
