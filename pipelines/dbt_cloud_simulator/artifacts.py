"""Synthetic dbt artifacts (`run_results.json` v6 and small manifest/catalog/sources documents).

Each document is generated on request from the run's id and timeline with its own seeded RNG, so
it is identical every time it is fetched and costs no memory while nobody asks for it. The shape
follows dbt's run-results v6 schema; the content is made to be worth analysing: one or two models
per project are chronically slow (and get slower over time), failing runs have a failing model with
its downstream nodes skipped and failing tests, and a few tests warn now and then.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from .model import ERROR, Account, Run
from .serialize import run_steps_of

RUN_RESULTS_SCHEMA = "https://schemas.getdbt.com/dbt/run-results/v6.json"
MANIFEST_SCHEMA = "https://schemas.getdbt.com/dbt/manifest/v12.json"
CATALOG_SCHEMA = "https://schemas.getdbt.com/dbt/catalog/v1.json"
SOURCES_SCHEMA = "https://schemas.getdbt.com/dbt/sources/v3.json"

MODEL_STEMS = (
    "orders",
    "customers",
    "payments",
    "sessions",
    "events",
    "invoices",
    "products",
    "subscriptions",
    "refunds",
    "accounts",
    "campaigns",
    "ledger",
    "inventory",
    "shipments",
    "users",
    "pageviews",
)
SLOW_MODELS = ("fct_sessions_rollup", "int_ledger_history")
DBT_VERSIONS = {"1.9.0-latest": "1.9.4", "1.8.0-latest": "1.8.9", "versionless": "1.11.7"}


def _iso(dt: datetime) -> str:
    """dbt writes artifact timestamps as `2024-12-16T07:45:32.505887Z`."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hash(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()[:10]


def project_nodes(project_slug: str) -> list[tuple[str, str, list[str]]]:
    """(resource type, name, parents) in DAG order for a project; deterministic per project."""
    rng = random.Random(project_slug)
    nodes: list[tuple[str, str, list[str]]] = []
    seeds = [f"seed_{stem}" for stem in rng.sample(MODEL_STEMS, 3)]
    nodes += [("seed", name, []) for name in seeds]
    staging = [f"stg_{stem}" for stem in rng.sample(MODEL_STEMS, 10)]
    nodes += [("model", name, [rng.choice(seeds)]) for name in staging]
    intermediate = [f"int_{stem}_joined" for stem in rng.sample(MODEL_STEMS, 6)] + [SLOW_MODELS[1]]
    nodes += [("model", name, rng.sample(staging, 2)) for name in intermediate]
    marts = [f"fct_{stem}" for stem in rng.sample(MODEL_STEMS, 6)] + [
        f"dim_{s}" for s in rng.sample(MODEL_STEMS, 4)
    ]
    marts.append(SLOW_MODELS[0])
    nodes += [("model", name, rng.sample(intermediate, 2)) for name in marts]
    nodes += [("snapshot", f"{stem}_snapshot", [f"stg_{stem}"]) for stem in (s[4:] for s in staging[:2])]
    for _kind, model, _parents in [n for n in nodes if n[0] == "model"]:
        nodes.append(("test", f"not_null_{model}_id", [model]))
        if rng.random() < 0.6:
            nodes.append(("test", f"unique_{model}_id", [model]))
    return nodes


def _selected(command: str, kind: str) -> bool:
    """Which resource types a dbt command touches."""
    if command in ("build", "generate", "compile"):
        return kind != "test" or command == "build"
    return {"run": "model", "test": "test", "seed": "seed", "snapshot": "snapshot"}.get(command) == kind


def _command_of(step: str) -> str:
    words = step.replace("Invoke ", "").split()
    if words[:2] == ["dbt", "docs"]:
        return "generate"
    if words[:2] == ["dbt", "source"]:
        return "freshness"
    return words[1] if len(words) > 1 else "build"


def command_steps(account: Account, run: Run) -> list[tuple[int, str]]:
    """(1-based step index, dbt sub-command) of the run's dbt command steps; `?step=N` picks one."""
    return [
        (index, _command_of(name))
        for index, name in enumerate(run_steps_of(account, run), start=1)
        if name.startswith("Invoke dbt") and "deps" not in name
    ]


def run_results(account: Account, run: Run, command: str, is_last: bool) -> dict[str, Any]:
    """A run_results.json document for one dbt command of `run`."""
    project = account.project(run.project_id)
    assert project is not None  # a run's project exists (projects are never removed)
    slug = project["name"].split()[0].lower()
    rng = random.Random(f"{account.seed}:{run.id}:{command}")
    env = account.environment(run.environment_id)
    assert env is not None  # a run's environment exists (environments are never removed)
    threads = account.jobs[run.job_id].data["settings"]["threads"]
    start = (run.started or run.created) + timedelta(seconds=20 + rng.random() * 15)
    clocks = [start] * threads
    failing = run.outcome == ERROR and is_last and command != "generate"
    broken: set[str] = set()
    age_days = max(0.0, (account.now - run.created).total_seconds() / 86_400)
    results: list[dict[str, Any]] = []
    for kind, name, parents in project_nodes(slug):
        if not _selected(command, kind):
            continue
        thread = min(range(threads), key=lambda t: clocks[t])
        compile_start = clocks[thread]
        compile_end = compile_start + timedelta(seconds=0.02 + rng.random() * 0.3)
        if command == "generate":
            duration = 0.0
        elif name in SLOW_MODELS:
            duration = 600 + 400 * rng.random() + max(0.0, 120 - age_days) * 3  # slower in recent months
        elif kind == "test":
            duration = 0.5 + rng.random() * 3
        else:
            duration = 2 + rng.lognormvariate(1.5, 0.8)
        execute_end = compile_end + timedelta(seconds=duration)
        clocks[thread] = execute_end + timedelta(seconds=0.01)
        message: str | None = None
        failures: int | None = 0 if kind == "test" else None
        status = "pass" if kind == "test" else "success"
        if any(parent in broken for parent in parents):
            status, message, duration, broken = "skipped", None, 0.0, broken | {name}
            execute_end = compile_end
        elif failing and kind == "model" and not broken and rng.random() < 0.15:
            status, message, broken = "error", f"Database Error in model {name}\n  division by zero", {name}
        elif kind == "test" and command != "generate":
            roll = rng.random()
            if failing and roll < 0.1:
                status, failures, message = "fail", rng.randrange(1, 50), "Got results, expected 0"
            elif roll < 0.04 or (name.startswith("unique_fct") and roll < 0.3):
                status, failures, message = "warn", rng.randrange(1, 10), "Got results, configured to warn"
        adapter: dict[str, str | int]
        if kind != "test" and status == "success":
            rows = rng.randrange(0, 500_000)
            adapter = {"_message": f"SUCCESS {rows}", "code": "SUCCESS", "rows_affected": rows}
            message = f"SUCCESS {rows}" if command != "generate" else None
        else:
            adapter = (
                {}
                if status == "skipped"
                else {"_message": "OK", "code": "SELECT", "rows_affected": failures or 0}
            )
        unique_id = f"{kind}.{slug}.{name}" + (f".{_hash(name)}" if kind == "test" else "")
        results.append(
            {
                "status": status,
                "timing": [
                    {"name": "compile", "started_at": _iso(compile_start), "completed_at": _iso(compile_end)},
                    {"name": "execute", "started_at": _iso(compile_end), "completed_at": _iso(execute_end)},
                ],
                "thread_id": f"Thread-{thread + 1} (worker)",
                "execution_time": round((execute_end - compile_start).total_seconds(), 6),
                "adapter_response": adapter,
                "message": message,
                "failures": failures,
                "unique_id": unique_id,
                "compiled": True,
                "compiled_code": f"select * from {{{{ ref('{parents[0]}') }}}}" if parents else "select 1",
                "relation_name": None if kind == "test" else f'"{slug}"."prod"."{name}"',
                "batch_results": None,
            }
        )
    end = max(clocks)
    dbt_version = DBT_VERSIONS.get(run.dbt_version, "1.9.4")
    return {
        "metadata": {
            "dbt_schema_version": RUN_RESULTS_SCHEMA,
            "dbt_version": dbt_version,
            "generated_at": _iso(end),
            "invocation_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "env": {
                "DBT_CLOUD_RUN_ID": str(run.id),
                "DBT_CLOUD_JOB_ID": str(run.job_id),
                "DBT_CLOUD_ENVIRONMENT_NAME": env["name"],
            },
        },
        "results": results,
        "elapsed_time": round((end - start).total_seconds(), 6),
        "args": {
            "which": command,
            "invocation_command": f"dbt {command}",
            "threads": threads,
            "target": account.jobs[run.job_id].data["settings"]["target_name"],
            "project_dir": "/tmp/jobs/src",
        },
    }


def artifact_names(account: Account, run: Run) -> list[str]:
    """What `GET /runs/{id}/artifacts/` lists for a run whose artifacts were saved."""
    names = ["manifest.json", "run_results.json"]
    steps = [command for _, command in command_steps(account, run)]
    if "generate" in steps:
        names.append("catalog.json")
    if "freshness" in steps:
        names.append("sources.json")
    return names


def artifact(account: Account, run: Run, path: str, step: int | None) -> dict[str, Any] | None:
    """One artifact document, from the last dbt command step unless `step` (1-based) says otherwise."""
    steps = command_steps(account, run)
    if not steps or path not in artifact_names(account, run):
        return None
    if step is None:
        index, command = steps[-1]
    else:
        match = [(i, c) for i, c in steps if i == step]
        if not match:
            return None
        index, command = match[0]
    if path == "run_results.json":
        if command == "freshness":
            return None
        return run_results(account, run, command, is_last=index == steps[-1][0])
    project = account.project(run.project_id)
    assert project is not None  # a run's project exists (projects are never removed)
    slug = project["name"].split()[0].lower()
    generated = _iso(run.finished or run.created)
    if path == "manifest.json":
        nodes = {
            f"{kind}.{slug}.{name}": {
                "resource_type": kind,
                "name": name,
                "depends_on": {"nodes": [f"model.{slug}.{p}" for p in parents]},
            }
            for kind, name, parents in project_nodes(slug)
        }
        return {
            "metadata": {"dbt_schema_version": MANIFEST_SCHEMA, "generated_at": generated},
            "nodes": nodes,
        }
    if path == "catalog.json":
        nodes = {
            f"model.{slug}.{name}": {"metadata": {"name": name, "type": "table"}, "columns": {}}
            for kind, name, _ in project_nodes(slug)
            if kind == "model"
        }
        return {"metadata": {"dbt_schema_version": CATALOG_SCHEMA, "generated_at": generated}, "nodes": nodes}
    return {
        "metadata": {"dbt_schema_version": SOURCES_SCHEMA, "generated_at": generated},
        "results": [],
        "elapsed_time": 1.5,
    }
