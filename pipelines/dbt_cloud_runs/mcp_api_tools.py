"""MCP tools that ask the live dbt Cloud API (the account in `[dbt_cloud]`), for "right now" questions.

They use the same client (`api.DbtCloudApi`) and operations (`operations.py`) as the CLI. Credentials
are resolved on the first API call, not at start-up, so the server starts and the store tools work on
a machine without API settings; an API tool then answers the one-line error naming what to set.

Answers are compact: runs are cut down to the fields an agent reasons with, step logs are left out,
times are ISO strings, and failed nodes come from `run_results.json` rather than from logs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import Field

from . import operations as ops
from .api import DbtCloudApi
from .converters import parse_timestamp
from .credentials import DbtCloudCredentials, resolve_credentials
from .errors import ApiError
from .mcp_answers import JsonDict, json_value, table
from .run_results import run_results_to_arrow
from .settings import FINAL_STATUSES, RUN_STATUS_PARAMS, STATUS_BY_NAME

MAX_RUNS = 100
MAX_FAILED_NODES = 25
MESSAGE_CHARS = 500
LOG_TAIL_LINES = 15
FAILED_NODE_STATUSES = ("error", "fail", "runtime error")
"""run_results statuses that mean the node failed (a model's `error`, a test's `fail`; dbt < 1.0 wrote
`runtime error`). `warn` and `skipped` are counted, not listed."""

RunId = Annotated[int, Field(description="dbt Cloud run id")]


class ApiTools:
    """The live-API tools; one `DbtCloudApi`, made on first use from `[dbt_cloud]` settings."""

    def __init__(self, resolve: Callable[[], DbtCloudCredentials] = resolve_credentials) -> None:
        self._resolve = resolve
        self._api: DbtCloudApi | None = None
        self._lock = threading.Lock()

    def api(self) -> DbtCloudApi:
        """The client; a missing or malformed setting raises `ConfigError` (a tool error) on each call
        until fixed, so the agent reads what to set."""
        with self._lock:
            if self._api is None:
                self._api = DbtCloudApi(self._resolve())
            return self._api

    # -- read tools -------------------------------------------------------------------------------

    def list_runs(
        self,
        job_id: Annotated[int | None, Field(description="only runs of this job")] = None,
        status: Annotated[
            str | None, Field(description=f"only runs in this status: {', '.join(STATUS_BY_NAME)}")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=MAX_RUNS, description=f"how many runs (1-{MAX_RUNS})")] = 20,
    ) -> JsonDict:
        """The newest runs straight from the dbt Cloud API, newest first: status, trigger cause, times,
        queue and run seconds, message. Use it for what is happening right now (queued and running runs,
        a run started minutes ago); for history and counts over days, prefer run_history,
        recent_failures or job_health, which read the stored history without API calls."""
        code = ops.parse_status(status) if status is not None else None
        api = self.api()
        runs = ops.list_runs(api, job_id=job_id, status=code, limit=limit + 1)
        rows = [run_summary(run) for run in runs]
        columns = list(rows[0]) if rows else []
        return table(columns, [list(row.values()) for row in rows], limit)

    def get_run(self, run_id: RunId) -> JsonDict:
        """One run from the live API: status, message, job name, trigger and overrides, git branch and
        sha, times, queue and run seconds, link, whether artifacts were saved, and each step's name,
        status and duration (without logs). For why it failed, call get_run_error."""
        api = self.api()
        run = api.get(f"runs/{run_id}/", params=RUN_STATUS_PARAMS)
        return {"run": run_detail(run, api.base_url)}

    def list_run_artifacts(
        self,
        run_id: RunId,
        step: Annotated[
            int | None, Field(ge=1, description="of this step (1-based); default: the last step")
        ] = None,
    ) -> JsonDict:
        """The artifact files a finished run saved (run_results.json, manifest.json, catalog.json,
        sources.json...), from the live API. An unfinished run, or one that saved none, answers an
        error saying so."""
        paths = ops.list_artifacts(self.api(), run_id, step=step)
        return {"run_id": run_id, "step": step, "artifacts": paths, "count": len(paths)}

    def get_run_error(self, run_id: RunId) -> JsonDict:
        """Why a run failed: the failed models, tests, seeds and snapshots with their messages, read
        from the failed step's run_results.json (live API), plus counts of skipped and warned nodes.
        When the run saved no artifacts (it failed before dbt ran, e.g. at git clone), the answer has
        dbt Cloud's status message, the failed step and the last lines of its log instead."""
        api = self.api()
        run = api.get(f"runs/{run_id}/", params=RUN_STATUS_PARAMS)
        answer: JsonDict = {"run": run_summary(run)}
        steps = sorted(run.get("run_steps") or [], key=lambda step: step.get("index") or 0)
        failed_step = next((step for step in reversed(steps) if step.get("status") == ops.STATUS_ERROR), None)
        if failed_step is not None:
            answer["failed_step"] = {"index": failed_step.get("index"), "name": failed_step.get("name")}
        if run.get("status") != ops.STATUS_ERROR:
            answer["note"] = f"the run did not end in Error (status {ops.status_name(run)}): nothing failed"
            answer["failed_nodes"] = []
            return answer
        step_index = failed_step.get("index") if failed_step is not None else None
        try:
            document = ops.fetch_artifact(api, run_id, "run_results.json", step=step_index)
        except ApiError as exc:
            if exc.status_code != 404:
                raise
            answer["failed_nodes"] = []
            answer["note"] = "no run_results.json for this run: dbt did not get to run; see status_message"
            if failed_step is not None:
                answer["log_tail"] = _log_tail(failed_step.get("logs"))
            return answer
        answer.update(failed_nodes_of(run, document))
        return answer

    # -- write tools (registered only with --allow-writes) -------------------------------------------

    def trigger_job_run(
        self,
        job_id: Annotated[int, Field(description="the dbt Cloud job to run")],
        cause: Annotated[str, Field(min_length=1, max_length=255, description="why, shown in dbt Cloud")] = (
            "Triggered by an agent via MCP"
        ),
        git_branch: Annotated[str | None, Field(description="run this branch instead of the job's")] = None,
        git_sha: Annotated[str | None, Field(description="run this commit")] = None,
        schema_override: Annotated[str | None, Field(description="build into this schema")] = None,
        steps_override: Annotated[
            list[str] | None, Field(description='replace the job\'s steps, e.g. ["dbt build -s orders+"]')
        ] = None,
    ) -> JsonDict:
        """Start a run of a dbt Cloud job now (it costs warehouse time and may queue). Answers the new
        run (status Queued) and its link; follow it with get_run."""
        api = self.api()
        run = ops.trigger_run(
            api,
            job_id,
            cause=cause,
            git_branch=git_branch,
            git_sha=git_sha,
            schema_override=schema_override,
            steps_override=steps_override,
        )
        return {"run": run_summary(run) | {"href": ops.run_url(run, api.base_url)}}

    def cancel_run(self, run_id: RunId) -> JsonDict:
        """Ask dbt Cloud to cancel a queued or running run. Answers the run as dbt Cloud returns it
        (a final run is returned unchanged)."""
        api = self.api()
        run = ops.cancel_run(api, run_id)
        return {"run": run_summary(run) | {"href": ops.run_url(run, api.base_url)}}

    def retry_run(self, run_id: RunId) -> JsonDict:
        """Retry a failed run from its point of failure (dbt Cloud's retry): only the job's latest run,
        ended in Error, with run_results.json; otherwise dbt Cloud's reason is the error. Answers the
        new run."""
        api = self.api()
        run = ops.retry_run(api, run_id)
        return {"retry_of": run_id, "run": run_summary(run) | {"href": ops.run_url(run, api.base_url)}}


# -- shaping API objects ----------------------------------------------------------------------------


def _seconds(start: Any, end: Any) -> float | None:
    first, last = parse_timestamp(start), parse_timestamp(end)
    if first is None or last is None:
        return None
    return round(max(0.0, (last - first).total_seconds()), 3)


def _clip(text: Any, chars: int = MESSAGE_CHARS) -> str | None:
    if text is None or text == "":
        return None
    value = str(text).strip()
    return value if len(value) <= chars else value[: chars - 1] + "…"


def run_summary(run: Mapping[str, Any]) -> JsonDict:
    """A run in the fields an agent reasons with, named like the store's `runs_enriched` columns."""
    trigger = run.get("trigger") or {}
    return {
        "id": run.get("id"),
        "job_definition_id": run.get("job_definition_id") or run.get("job_id"),
        "status": run.get("status"),
        "status_name": ops.status_name(run),
        "is_final": run.get("status") in FINAL_STATUSES,
        "trigger_cause": _clip(trigger.get("cause"), 200),
        "created_at": json_value(parse_timestamp(run.get("created_at"))),
        "started_at": json_value(parse_timestamp(run.get("started_at"))),
        "finished_at": json_value(parse_timestamp(run.get("finished_at"))),
        "queued_seconds": _seconds(run.get("created_at"), run.get("started_at")),
        "run_seconds": _seconds(run.get("started_at"), run.get("finished_at")),
        "git_branch": run.get("git_branch"),
        "status_message": _clip(run.get("status_message")),
    }


def run_detail(run: Mapping[str, Any], base_url: str) -> JsonDict:
    """`run_summary` plus what one run's page shows: job name, overrides, sha, steps (no logs), link."""
    trigger = run.get("trigger") or {}
    overrides = {
        key: value
        for key, value in trigger.items()
        if key.endswith("_override") and value not in (None, "", [])
    }
    steps = sorted(run.get("run_steps") or [], key=lambda step: step.get("index") or 0)
    return run_summary(run) | {
        "job_name": (run.get("job") or {}).get("name"),
        "project_id": run.get("project_id"),
        "environment_id": run.get("environment_id"),
        "git_sha": run.get("git_sha"),
        "dbt_version": run.get("dbt_version"),
        "overrides": json_value(overrides) or None,
        "artifacts_saved": run.get("artifacts_saved"),
        "href": ops.run_url(run, base_url),
        "steps": [
            {
                "index": step.get("index"),
                "name": step.get("name"),
                "status_name": ops.status_name(step),
                "seconds": _seconds(step.get("started_at"), step.get("finished_at")),
            }
            for step in steps
        ],
    }


def failed_nodes_of(run: Mapping[str, Any], document: bytes | Mapping[str, Any]) -> JsonDict:
    """The failed nodes of a run_results.json (parsed by `run_results.py`) and counts of the rest."""
    rows = run_results_to_arrow(dict(run), document).to_pylist()
    failed = [row for row in rows if row["status"] in FAILED_NODE_STATUSES]
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row["status"])] = counts.get(str(row["status"]), 0) + 1
    nodes = [
        {
            "unique_id": row["unique_id"],
            "resource_type": row["resource_type"],
            "status": row["status"],
            "message": _clip(row["message"]),
            "failures": row["failures"],
            "execution_time": json_value(row["execution_time"]),
            "relation_name": row["relation_name"],
        }
        for row in failed[:MAX_FAILED_NODES]
    ]
    answer: JsonDict = {
        "command": rows[0]["command"] if rows else None,
        "failed_nodes": nodes,
        "failed_count": len(failed),
        "status_counts": counts,
        "truncated": len(failed) > MAX_FAILED_NODES,
    }
    if answer["truncated"]:
        answer["note"] = f"only the first {MAX_FAILED_NODES} failed nodes are listed"
    return answer


def _log_tail(logs: Any) -> list[str]:
    lines = [line for line in str(logs or "").splitlines() if line.strip()]
    return [_clip(line, 300) or "" for line in lines[-LOG_TAIL_LINES:]]
