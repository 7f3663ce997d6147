"""Synthetic dbt artifacts a run serves: which there are, and each document by path and step.

Documents are generated on request from the run's id and timeline with their own seeded RNG, so each
is identical every time it is fetched and costs no memory while nobody asks for it. `run_results.json`
(the one worth analysing) is made in run_results.py; `manifest.json`, `catalog.json` and
`sources.json` are small stubs made here.
"""

from __future__ import annotations

from typing import Any

from .dag import project_nodes
from .model import Account, Run, iso
from .run_results import run_results
from .steps import command_steps

MANIFEST_SCHEMA = "https://schemas.getdbt.com/dbt/manifest/v12.json"
CATALOG_SCHEMA = "https://schemas.getdbt.com/dbt/catalog/v1.json"
SOURCES_SCHEMA = "https://schemas.getdbt.com/dbt/sources/v3.json"


def artifact_names(account: Account, run: Run) -> list[str]:
    """What `GET /runs/{id}/artifacts/` lists for a run whose artifacts were saved."""
    names = ["manifest.json", "run_results.json"]
    steps = [command for _, command in command_steps(account, run)]
    if "generate" in steps:
        names.append("catalog.json")
    if "freshness" in steps:
        names.append("sources.json")
    return names


def _manifest(slug: str, generated: str) -> dict[str, Any]:
    nodes = {
        f"{kind}.{slug}.{name}": {
            "resource_type": kind,
            "name": name,
            "depends_on": {"nodes": [f"model.{slug}.{p}" for p in parents]},
        }
        for kind, name, parents in project_nodes(slug)
    }
    return {"metadata": {"dbt_schema_version": MANIFEST_SCHEMA, "generated_at": generated}, "nodes": nodes}


def _catalog(slug: str, generated: str) -> dict[str, Any]:
    nodes = {
        f"model.{slug}.{name}": {"metadata": {"name": name, "type": "table"}, "columns": {}}
        for kind, name, _ in project_nodes(slug)
        if kind == "model"
    }
    return {"metadata": {"dbt_schema_version": CATALOG_SCHEMA, "generated_at": generated}, "nodes": nodes}


def _sources(slug: str, generated: str) -> dict[str, Any]:
    return {
        "metadata": {"dbt_schema_version": SOURCES_SCHEMA, "generated_at": generated},
        "results": [],
        "elapsed_time": 1.5,
    }


_STUBS = {"manifest.json": _manifest, "catalog.json": _catalog, "sources.json": _sources}


def _pick_step(steps: list[tuple[int, str]], step: int | None) -> tuple[int, str] | None:
    """The last dbt command step, or the one with index `step`; None when there is no such step."""
    if step is None:
        return steps[-1]
    return next(((index, command) for index, command in steps if index == step), None)


def artifact(account: Account, run: Run, path: str, step: int | None) -> dict[str, Any] | None:
    """One artifact document, from the last dbt command step unless `step` (1-based) says otherwise."""
    steps = command_steps(account, run)
    if not steps or path not in artifact_names(account, run):
        return None
    picked = _pick_step(steps, step)
    if picked is None:
        return None
    index, command = picked
    if path == "run_results.json":
        if command == "freshness":
            return None
        return run_results(account, run, index, command, is_last=index == steps[-1][0])
    project = account.project(run.project_id)
    assert project is not None  # a run's project exists (projects are never removed)
    return _STUBS[path](project["name"].split()[0].lower(), iso(run.finished or run.created))
