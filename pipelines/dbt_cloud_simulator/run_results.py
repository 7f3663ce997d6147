"""`run_results.json` (dbt's v6 schema) for one dbt step of a run, inside that step's time.

The document is drawn from its own seeded RNG (run id and command), so it is the same every time it
is fetched. Nodes are first given natural durations (seconds to minutes; the slow models 10-16 min,
slower in recent months) and laid out on the job's threads; the layout is then shrunk, never
stretched, to fit the step's window (steps.py), so every node's timing lies inside the run and the
document's `elapsed_time` is never longer than its step. The shrink factor is sized on the slow
models at their slowest, so within one job "slower in recent months" survives the fitting.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .dag import SLOW_MODELS, project_nodes, selected, test_hash
from .model import ERROR, Account, Run, iso
from .steps import run_step_windows, run_steps_of, step_windows

RUN_RESULTS_SCHEMA = "https://schemas.getdbt.com/dbt/run-results/v6.json"
DBT_VERSIONS = {"1.9.0-latest": "1.9.4", "1.8.0-latest": "1.8.9", "versionless": "1.11.7"}

SLOW_TREND_DAYS = 120
"""The slow models get slower over the last this many days before the account's `now`..."""
SLOW_TREND_SECONDS_PER_DAY = 3.0
"""... by this many seconds per day (up to 6 minutes)."""
LEAD_SECONDS = (20.0, 15.0)
"""dbt's start-up before the first node: 20-35 s, at most LEAD_SHARE of the step."""
LEAD_SHARE = 0.1
NODE_GAP_SECONDS = 0.01
"""A thread's pause between two nodes."""
SLOW_BUILD_SECONDS = 1500.0
"""About the longest a `dbt build`/`dbt run` document takes unhurried (the slow models at their slowest)."""
SHORT_RUN_SHARE = 0.6
"""A job's runs last its typical length times lognormal(0, 0.25) (timeline.py): 0.6 of it covers ~98%."""


@dataclass
class _Node:
    """One result while the document is drawn: its outcome, durations and place on a thread."""

    kind: str
    name: str
    parents: list[str]
    status: str = "success"
    message: str | None = None
    failures: int | None = None
    compile_seconds: float = 0.0
    execute_seconds: float = 0.0
    peak_seconds: float = 0.0
    """execute_seconds as it would be at the slow models' slowest (sizes the fit to the window)"""
    thread: int = 0
    start: float = 0.0
    """offset of the compile start from the document's start, in layout seconds"""
    adapter: dict[str, str | int] = field(default_factory=dict)

    @property
    def end(self) -> float:
        return self.start + self.compile_seconds + self.execute_seconds


def _test_outcome(rng: random.Random, node: _Node, failing: bool) -> None:
    """Tests pass; in a failing run some fail; now and then one warns (unique tests on facts more)."""
    node.status, node.failures = "pass", 0
    roll = rng.random()
    if failing and roll < 0.1:
        node.status, node.failures, node.message = "fail", rng.randrange(1, 50), "Got results, expected 0"
    elif roll < 0.04 or (node.name.startswith("unique_fct") and roll < 0.3):
        node.status, node.failures = "warn", rng.randrange(1, 10)
        node.message = "Got results, configured to warn"


def _draw_outcomes(rng: random.Random, nodes: list[_Node], failing: bool) -> None:
    """In a failing document one model errors and everything downstream of it is skipped."""
    broken: set[str] = set()
    for node in nodes:
        if node.kind == "test":
            node.failures = 0
        if any(parent in broken for parent in node.parents):
            node.status = "skipped"
            broken.add(node.name)
        elif failing and node.kind == "model" and not broken and rng.random() < 0.15:
            node.status, node.message = "error", f"Database Error in model {node.name}\n  division by zero"
            broken.add(node.name)
        elif node.kind == "test":
            _test_outcome(rng, node, failing)


def _natural_seconds(rng: random.Random, node: _Node, command: str) -> float:
    """How long a node would take unhurried (before the trend); `docs generate` only compiles."""
    if command == "generate" or node.status == "skipped":
        return 0.0
    if node.name in SLOW_MODELS:
        return 600 + 400 * rng.random()
    if node.kind == "test":
        return 0.5 + rng.random() * 3
    return 2 + rng.lognormvariate(1.5, 0.8)


def _draw_durations(rng: random.Random, nodes: list[_Node], command: str, age_days: float) -> None:
    trend = max(0.0, SLOW_TREND_DAYS - age_days) * SLOW_TREND_SECONDS_PER_DAY
    peak = SLOW_TREND_DAYS * SLOW_TREND_SECONDS_PER_DAY
    for node in nodes:
        node.compile_seconds = 0.02 + rng.random() * 0.3
        base = _natural_seconds(rng, node, command)
        slow = base > 0 and node.name in SLOW_MODELS
        node.execute_seconds = base + (trend if slow else 0.0)
        node.peak_seconds = base + (peak if slow else 0.0)


def _layout(nodes: list[_Node], threads: int, peak: bool = False) -> float:
    """Put nodes in DAG order on the first free thread (as dbt's pool does); returns the makespan.

    With `peak`, only measures the makespan the slowest slow models would give, leaving nodes as laid.
    """
    clocks = [0.0] * threads
    makespan = 0.0
    for node in nodes:
        thread = min(range(threads), key=lambda t: clocks[t])
        end = clocks[thread] + node.compile_seconds + (node.peak_seconds if peak else node.execute_seconds)
        if not peak:
            node.thread, node.start = thread, clocks[thread]
        clocks[thread] = end + NODE_GAP_SECONDS
        makespan = max(makespan, end)
    return makespan


def _fit(nodes: list[_Node], threads: int, available: float) -> float:
    """The factor (at most 1) that makes the layout fit in `available` seconds."""
    needed = max(_layout(nodes, threads, peak=True), _layout(nodes, threads))
    return 1.0 if needed <= available else available / needed


def _job_factor(account: Account, run: Run, step: int, command: str) -> float:
    """The shrink that fits a model build into this step of a short run of the job, the same for every
    run of the job, so that run-to-run differences of the nodes (the slow models' trend) survive."""
    if command not in ("build", "run"):
        return 1.0
    short_run = timedelta(minutes=account.jobs[run.job_id].run_minutes * SHORT_RUN_SHARE)
    begin, end = step_windows(run_steps_of(account, run), run.created, run.created + short_run)[step - 1]
    return min(1.0, (end - begin).total_seconds() * (1 - LEAD_SHARE) / SLOW_BUILD_SECONDS)


def _adapter_response(rng: random.Random, node: _Node, command: str) -> None:
    """Built nodes report rows; tests report their failures; skipped nodes report nothing."""
    if node.kind != "test" and node.status == "success":
        rows = rng.randrange(0, 500_000)
        node.adapter = {"_message": f"SUCCESS {rows}", "code": "SUCCESS", "rows_affected": rows}
        node.message = f"SUCCESS {rows}" if command != "generate" else None
    elif node.status != "skipped":
        node.adapter = {"_message": "OK", "code": "SELECT", "rows_affected": node.failures or 0}


def _result(node: _Node, slug: str, at: Callable[[float], datetime]) -> dict[str, Any]:
    """One entry of `results`; `at` turns a layout offset into the timestamp inside the window."""
    compile_start, compile_end = at(node.start), at(node.start + node.compile_seconds)
    execute_end = at(node.end)
    unique_id = f"{node.kind}.{slug}.{node.name}" + (
        f".{test_hash(node.name)}" if node.kind == "test" else ""
    )
    parents = node.parents
    return {
        "status": node.status,
        "timing": [
            {"name": "compile", "started_at": iso(compile_start), "completed_at": iso(compile_end)},
            {"name": "execute", "started_at": iso(compile_end), "completed_at": iso(execute_end)},
        ],
        "thread_id": f"Thread-{node.thread + 1} (worker)",
        "execution_time": round((execute_end - compile_start).total_seconds(), 6),
        "adapter_response": node.adapter,
        "message": node.message,
        "failures": node.failures,
        "unique_id": unique_id,
        "compiled": True,
        "compiled_code": f"select * from {{{{ ref('{parents[0]}') }}}}" if parents else "select 1",
        "relation_name": None if node.kind == "test" else f'"{slug}"."prod"."{node.name}"',
        "batch_results": None,
    }


def _document_start(rng: random.Random, window: tuple[datetime, datetime]) -> datetime:
    """Where the first node starts: after dbt's start-up, which takes at most LEAD_SHARE of the step."""
    begin, end = window
    lead = min(LEAD_SECONDS[0] + LEAD_SECONDS[1] * rng.random(), (end - begin).total_seconds() * LEAD_SHARE)
    return begin + timedelta(seconds=lead)


def _metadata(account: Account, run: Run, rng: random.Random, generated: datetime) -> dict[str, Any]:
    env = account.environment(run.environment_id)
    assert env is not None  # a run's environment exists (environments are never removed)
    return {
        "dbt_schema_version": RUN_RESULTS_SCHEMA,
        "dbt_version": DBT_VERSIONS.get(run.dbt_version, "1.9.4"),
        "generated_at": iso(generated),
        "invocation_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "env": {
            "DBT_CLOUD_RUN_ID": str(run.id),
            "DBT_CLOUD_JOB_ID": str(run.job_id),
            "DBT_CLOUD_ENVIRONMENT_NAME": env["name"],
        },
    }


def run_results(account: Account, run: Run, step: int, command: str, is_last: bool) -> dict[str, Any]:
    """The run_results.json of `run`'s step `step` (1-based), which ran `dbt <command>`."""
    project = account.project(run.project_id)
    assert project is not None  # a run's project exists (projects are never removed)
    slug = project["name"].split()[0].lower()
    rng = random.Random(f"{account.seed}:{run.id}:{command}")
    job_settings = account.jobs[run.job_id].data["settings"]
    threads = job_settings["threads"]
    nodes = [
        _Node(kind, name, parents) for kind, name, parents in project_nodes(slug) if selected(command, kind)
    ]
    _draw_outcomes(rng, nodes, failing=run.outcome == ERROR and is_last and command != "generate")
    _draw_durations(rng, nodes, command, max(0.0, (account.now - run.created).total_seconds() / 86_400))
    for node in nodes:
        _adapter_response(rng, node, command)
    window = run_step_windows(account, run)[step - 1]
    start = _document_start(rng, window)
    factor = min(
        _job_factor(account, run, step, command), _fit(nodes, threads, (window[1] - start).total_seconds())
    )

    def at(offset: float) -> datetime:
        return min(start + timedelta(seconds=offset * factor), window[1])

    generated = at(max((node.end for node in nodes), default=0.0))
    return {
        "metadata": _metadata(account, run, rng, generated),
        "results": [_result(node, slug, at) for node in nodes],
        "elapsed_time": round((generated - start).total_seconds(), 6),
        "args": {
            "which": command,
            "invocation_command": f"dbt {command}",
            "threads": threads,
            "target": job_settings["target_name"],
            "project_dir": "/tmp/jobs/src",
        },
    }
