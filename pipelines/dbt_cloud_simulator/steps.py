"""A run's steps: their names in order, the part of the run's time each one takes, and `run_steps`.

One home for step timing, so the `run_steps` a run is served with and the `run_results.json` of each
dbt step (artifacts) agree: a step's document lies inside that step's window.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from .durations import hms, humanize, seconds_of
from .model import (
    CANCELLED,
    ERROR,
    FINAL_STATUSES,
    RUNNING,
    STATUS_COLORS,
    STATUS_HUMANIZED,
    SUCCESS,
    Account,
    Run,
    fmt_ts,
)

PREPARATION_STEPS = ("Clone git repository", "Create profile from connection", "Invoke dbt deps")
DOCS_STEP = "Invoke dbt docs generate"

# Relative weights of a step's share of the run: dbt Cloud's preparation steps take seconds, the dbt
# commands take the time, and `dbt docs generate` only compiles.
PREPARATION_WEIGHT = 1
DOCS_WEIGHT = 2
COMMAND_WEIGHT = 8


def run_steps_of(account: Account, run: Run) -> list[str]:
    """Step names in order: dbt Cloud's own preparation steps, then the job's commands, then docs."""
    job = account.jobs[run.job_id].data
    commands = (run.overrides or {}).get("steps_override") or job["execute_steps"]
    docs = (run.overrides or {}).get("generate_docs_override")
    names = list(PREPARATION_STEPS)
    names += [f"Invoke {command}" for command in commands]
    if job["generate_docs"] if docs is None else docs:
        names.append(DOCS_STEP)
    return names


def _weight(name: str) -> int:
    if name in PREPARATION_STEPS:
        return PREPARATION_WEIGHT
    return DOCS_WEIGHT if name == DOCS_STEP else COMMAND_WEIGHT


def step_windows(names: list[str], begin: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """(start, stop) of each step when the steps fill [begin, end] one after the other, by weight.

    Consecutive: each step starts where the one before stopped, and the last stops exactly at `end`.
    """
    weights = [_weight(name) for name in names]
    total = sum(weights)
    span = end - begin
    bounds = [begin]
    done = 0
    for weight in weights:
        done += weight
        bounds.append(begin + span * done / total if done < total else end)
    return list(zip(bounds, bounds[1:], strict=False))


def run_step_windows(account: Account, run: Run) -> list[tuple[datetime, datetime]]:
    """The windows of a started run's steps over its planned [started, finished]."""
    start = run.started or run.created
    return step_windows(run_steps_of(account, run), start, run.finished)


def _command_of(step: str) -> str:
    """The dbt sub-command of a step name: `Invoke dbt run --select x` is `run`."""
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


def _step_logs(rng: random.Random, name: str, status: int, lines: int) -> str:
    """Synthetic console output; long on purpose (real logs hold up to 1,000 lines)."""
    out = [
        f"{i:02d}:00:{i % 60:02d}  {name}: {rng.choice(('OK', 'START', 'PASS', 'done'))} node {i}"
        for i in range(lines)
    ]
    if status == ERROR:
        out.append("Completed with 1 error and 0 warnings")
    return "\n".join(out)


def _step_status(index: int, count: int, status: int) -> int:
    """Steps before the last are done; the last is running until the run is final, then ends as it."""
    if index < count:
        return SUCCESS
    if status in FINAL_STATUSES:
        return status if status in (ERROR, CANCELLED) else SUCCESS
    return RUNNING


def _step_dict(
    account: Account,
    run: Run,
    index: int,
    name: str,
    window: tuple[datetime, datetime],
    step_status: int,
    logs: str,
    clock: datetime,
) -> dict[str, Any]:
    begin, stop = window
    done = step_status != RUNNING
    return {
        "id": run.id * 10 + index,
        "run_id": run.id,
        "account_id": account.account_id,
        "index": index,
        "status": step_status,
        "status_humanized": STATUS_HUMANIZED[step_status],
        "status_color": STATUS_COLORS.get(step_status, "#3f51b5"),
        "name": name,
        "logs": logs,
        "debug_logs": "",
        "log_location": "db",
        "log_path": None,
        "debug_log_path": None,
        "log_archive_type": "db_flushed",
        "truncated_debug_logs": "",
        "created_at": fmt_ts(begin),
        "updated_at": fmt_ts(stop if done else clock),
        "started_at": fmt_ts(begin),
        "finished_at": fmt_ts(stop) if done else None,
        "duration": hms(seconds_of(stop - begin)),
        "duration_humanized": humanize(seconds_of(stop - begin)),
    }


def run_steps_dict(account: Account, run: Run, clock: datetime, status: int) -> list[dict[str, Any]]:
    """The steps fill the run's time so far by weight (steps.py, the same windows the artifacts use);
    while the run is open its last step is the one running."""
    if run.started is None or run.started > clock:
        return []
    end = run.finished if run.finished <= clock else clock
    names = run_steps_of(account, run)
    rng = random.Random(run.id)
    steps = []
    for index, (name, window) in enumerate(zip(names, step_windows(names, run.started, end), strict=True), 1):
        step_status = _step_status(index, len(names), status)
        logs = _step_logs(rng, name, step_status, 40 if "dbt" in name else 3)
        steps.append(_step_dict(account, run, index, name, window, step_status, logs, clock))
    return steps
