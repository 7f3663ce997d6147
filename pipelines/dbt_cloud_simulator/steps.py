"""A run's steps: their names in order and the part of the run's time each one takes.

One home for step timing, so the `run_steps` a run is served with and the `run_results.json` of each
dbt step (artifacts) agree: a step's document lies inside that step's window.
"""

from __future__ import annotations

from datetime import datetime

from .model import Account, Run

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
