"""The simulator's run_results.json documents agree with the run they belong to (issue 15 point 5).

Every finished run with saved artifacts is walked, every dbt step's document is read through the same
function the server answers `GET /runs/{id}/artifacts/run_results.json?step=N` with, and checked against
the run as a client sees it (`started_at`, `finished_at` and its `run_steps`): node timings inside the
run's window and inside their step, steps in order without overlapping, `elapsed_time` no longer than
the run, `execution_time` equal to the node's own timing, `generated_at` at the end of the document's
nodes. A failure says how many of the runs disagree and shows the first reasons.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dbt_cloud_runs.demo import DEMO_RUNS
from dbt_cloud_simulator import DbtCloudSimulator
from dbt_cloud_simulator.artifacts import artifact

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOLERANCE = 1e-6  # seconds; documents carry microseconds, execution_time is rounded to 6 decimals


def _api_time(text: str) -> datetime:
    """The API's `2026-11-20 08:15:49[.123456]+00:00`."""
    return datetime.fromisoformat(text)


def _artifact_time(text: str) -> datetime:
    """dbt's `2026-11-20T08:15:49.123456Z`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _node_problems(node: dict[str, Any], begin: datetime, end: datetime, where: str) -> list[str]:
    """Why one result disagrees with its window [begin, end] (empty when it agrees)."""
    timing = {entry["name"]: entry for entry in node["timing"]}
    points = [
        _artifact_time(timing["compile"]["started_at"]),
        _artifact_time(timing["compile"]["completed_at"]),
        _artifact_time(timing["execute"]["started_at"]),
        _artifact_time(timing["execute"]["completed_at"]),
    ]
    problems = []
    if points != sorted(points):
        problems.append(f"{where} {node['unique_id']}: timing out of order")
    if points[0] < begin or points[-1] > end:
        problems.append(f"{where} {node['unique_id']}: {points[0]}..{points[-1]} outside {begin}..{end}")
    spent = (points[-1] - points[0]).total_seconds()
    if abs(node["execution_time"] - spent) > TOLERANCE:
        problems.append(f"{where} {node['unique_id']}: execution_time {node['execution_time']} != {spent}")
    return problems


def _document_problems(document: dict[str, Any], begin: datetime, end: datetime, where: str) -> list[str]:
    """Why one run_results.json disagrees with its step's window [begin, end]."""
    problems = [
        problem for node in document["results"] for problem in _node_problems(node, begin, end, where)
    ]
    generated = _artifact_time(document["metadata"]["generated_at"])
    if not begin <= generated <= end:
        problems.append(f"{where}: generated_at {generated} outside {begin}..{end}")
    completions = [_artifact_time(n["timing"][-1]["completed_at"]) for n in document["results"]]
    if completions and max(completions) > generated:
        problems.append(f"{where}: a node completed after generated_at {generated}")
    if document["elapsed_time"] > (end - begin).total_seconds() + TOLERANCE:
        problems.append(f"{where}: elapsed_time {document['elapsed_time']} longer than its step")
    return problems


def run_problems(sim: DbtCloudSimulator, run_id: int) -> list[str] | None:
    """Disagreements of one run's documents with its timeline; None when the run has no run_results."""
    run = sim.account.run(run_id)
    assert run is not None
    served = sim.serialize(run, frozenset({"run_steps"}))
    if not (served["is_complete"] and served["artifacts_saved"]):
        return None
    started, finished = _api_time(served["started_at"]), _api_time(served["finished_at"])
    problems: list[str] = []
    documents = 0
    previous_end = started
    for step in served["run_steps"]:
        document = artifact(sim.account, run, "run_results.json", step["index"])
        if document is None:
            continue
        documents += 1
        where = f"run {run_id} step {step['index']}"
        if step["finished_at"] is None:
            problems.append(f"{where}: the step of a finished run has no finished_at")
            continue
        step_begin, step_end = _api_time(step["started_at"]), _api_time(step["finished_at"])
        if not started <= step_begin <= step_end <= finished:
            problems.append(f"{where}: step {step_begin}..{step_end} outside the run {started}..{finished}")
        if document["elapsed_time"] > (finished - started).total_seconds() + TOLERANCE:
            problems.append(f"{where}: elapsed_time {document['elapsed_time']} longer than the run")
        problems += _document_problems(document, max(step_begin, previous_end), step_end, where)
        previous_end = _artifact_time(document["metadata"]["generated_at"])
    return problems if documents else None


def disagreements(sim: DbtCloudSimulator) -> tuple[int, int, list[str]]:
    """(runs that disagree, runs with run_results, the first few reasons) over the whole account."""
    checked, failing, examples = 0, 0, []
    for run in list(sim.account.runs_by_id):
        problems = run_problems(sim, run.id)
        if problems is None:
            continue
        checked += 1
        if problems:
            failing += 1
            examples += problems[:2] if len(examples) < 6 else []
    return failing, checked, examples


def _assert_agree(sim: DbtCloudSimulator, least_runs: int) -> None:
    failing, checked, examples = disagreements(sim)
    assert checked >= least_runs, f"only {checked} runs with run_results were checked"
    assert failing == 0, f"{failing} of {checked} runs disagree with their timeline:\n" + "\n".join(examples)


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"runs": DEMO_RUNS, "now": None}, id="demo-account"),
        pytest.param({"now": NOW}, id="default-account"),
        pytest.param({"runs": 600, "jobs": 40, "seed": 11, "now": NOW}, id="small-account-other-seed"),
    ],
)
def test_every_finished_run_agrees_with_its_artifacts(settings: dict[str, Any]) -> None:
    """The demo builds `DbtCloudSimulator(runs=DEMO_RUNS)` around the present (now=None), as `--demo`
    does; the default account is pinned to a fixed `now`; a third one has another seed and size."""
    sim = DbtCloudSimulator(**settings)
    _assert_agree(sim, least_runs=400)


def test_runs_created_by_advancing_time_agree() -> None:
    """Open runs that finish and runs that schedules create while time moves on are checked too."""
    sim = DbtCloudSimulator(runs=300, jobs=30, seed=5, now=NOW)
    assert sim.advance(hours=36) > 0
    _assert_agree(sim, least_runs=250)


def test_a_short_triggered_run_agrees() -> None:
    """Runs triggered over HTTP last seconds (the trigger plan), far less than a natural dbt build."""
    sim = DbtCloudSimulator(runs=50, jobs=8, seed=2, now=NOW)
    sim.trigger_plan(queue_seconds=0.2, run_seconds=0.5)
    job_id = sim.jobs()[0]["id"]
    run = sim.trigger(job_id, {"cause": "test"})
    sim.advance(minutes=1)  # the live clock moves with it: the run is finished
    problems = run_problems(sim, run.id)
    assert problems == [], problems
    assert run.finished - run.started < timedelta(seconds=1)
