"""The simulator over real HTTP: envelope, paging cap, ordering, filters, auth, errors, time and faults.

These are the behaviours clients of the real dbt Cloud API must cope with (see the API notes in
/work/shared/reference), so the simulator is only useful if it reproduces them faithfully.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from dbt_cloud_simulator import DbtCloudSimulator

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?\+00:00$")
HMS = re.compile(r"^\d\d:\d\d:\d\d$")
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim() -> Iterator[DbtCloudSimulator]:
    """One shared, read-only simulator; tests that change state build their own."""
    with DbtCloudSimulator(runs=450, jobs=120, seed=3, now=NOW) as simulator:
        yield simulator


@pytest.fixture
def fresh() -> Iterator[DbtCloudSimulator]:
    with DbtCloudSimulator(runs=120, jobs=12, seed=5, now=NOW) as simulator:
        yield simulator


def get(sim: DbtCloudSimulator, path: str, token: str | None = None, **params: Any) -> requests.Response:
    return requests.get(
        f"{sim.base_url}/api/v2/accounts/{sim.account_id}/{path}",
        params=params,
        headers={"Authorization": f"Token {token or sim.token}"},
        timeout=10,
    )


def post(sim: DbtCloudSimulator, path: str, body: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(
        f"{sim.base_url}/api/v2/accounts/{sim.account_id}/{path}",
        json=body or {},
        headers={"Authorization": f"Token {sim.token}"},
        timeout=10,
    )


def all_runs(sim: DbtCloudSimulator, **params: Any) -> list[dict[str, Any]]:
    """Page with offset += rows actually received, as a correct client must."""
    rows, offset = [], 0
    while True:
        page = get(sim, "runs/", limit=100, offset=offset, **params).json()["data"]
        if not page:
            return rows
        rows += page
        offset += len(page)


# ----- envelope and paging ------------------------------------------------------------------------


def test_limit_over_100_is_an_error_as_on_multi_tenant_hosts(sim: DbtCloudSimulator) -> None:
    answer = get(sim, "runs/", limit=101)
    assert answer.status_code == 400
    assert answer.json()["status"]["user_message"] == "The limit parameter must be less than or equal to 100."
    assert get(sim, "jobs/", limit=500).status_code == 400


def test_envelope_and_limit_capped_to_100(sim: DbtCloudSimulator) -> None:
    sim.clamp_limit = True  # single-tenant hosts clamp silently
    try:
        body = get(sim, "runs/", limit=500).json()
    finally:
        sim.clamp_limit = False
    assert body["status"] == {
        "code": 200,
        "is_success": True,
        "user_message": "Success!",
        "developer_message": "",
    }
    assert len(body["data"]) == 100
    assert body["extra"]["filters"]["limit"] == 100 and body["extra"]["filters"]["offset"] == 0
    assert body["extra"]["order_by"] == "id"
    assert body["extra"]["pagination"] == {"count": 100, "total_count": 450}


def test_offset_paging_reaches_every_run_once(sim: DbtCloudSimulator) -> None:
    ids = [run["id"] for run in all_runs(sim)]
    assert len(ids) == len(set(ids)) == 450
    assert ids == sorted(ids), "default order is id ascending"
    last = get(sim, "runs/", offset=400).json()
    assert last["extra"]["pagination"] == {"count": 50, "total_count": 450}


def test_order_by_newest_first(sim: DbtCloudSimulator) -> None:
    page = get(sim, "runs/", order_by="-created_at").json()["data"]
    created = [datetime.fromisoformat(run["created_at"]) for run in page]
    assert created == sorted(created, reverse=True)
    assert page[0]["id"] == max(run["id"] for run in all_runs(sim))
    finished = get(sim, "runs/", order_by="-finished_at").json()["data"]
    assert finished[0]["finished_at"] is None, "open runs first when newest finish comes first (NULLs first)"
    done = [datetime.fromisoformat(r["finished_at"]) for r in finished if r["finished_at"]]
    assert done == sorted(done, reverse=True)


def test_filters(sim: DbtCloudSimulator) -> None:
    job_id = sim.jobs()[0]["id"]
    runs = all_runs(sim, job_definition_id=job_id)
    assert runs and {run["job_definition_id"] for run in runs} == {job_id}
    errors = get(sim, "runs/", status=20).json()
    assert errors["data"] and {r["status"] for r in errors["data"]} == {20}
    assert errors["extra"]["filters"]["status"] == 20
    for spelling in ("[10,30]", "10,30"):
        mixed = all_runs(sim, status__in=spelling)
        assert {r["status"] for r in mixed} == {10, 30}
    project_id = sim.jobs()[0]["project_id"]
    assert {r["project_id"] for r in all_runs(sim, project_id=project_id)} == {project_id}


def test_include_related(sim: DbtCloudSimulator) -> None:
    plain = get(sim, "runs/", limit=5).json()["data"]
    assert all(run["trigger"] is None and run["job"] is None for run in plain)
    related = get(sim, "runs/", limit=5, include_related='["trigger","job"]').json()["data"]
    assert all(run["trigger"]["cause"] and run["job"]["id"] == run["job_definition_id"] for run in related)
    bare = get(sim, "runs/", limit=5, include_related="trigger").json()["data"]
    assert all(run["trigger"] is not None and run["job"] is None for run in bare)
    finished = next(r for r in plain if r["status"] == 10)
    steps = get(sim, f"runs/{finished['id']}/", include_related='["run_steps"]').json()["data"]["run_steps"]
    assert steps and all(step["logs"] for step in steps)


def test_causes_cover_every_kind(sim: DbtCloudSimulator) -> None:
    causes = [run["trigger"]["cause"] for run in all_runs(sim, include_related='["trigger"]')]
    assert "Kicked off by the scheduler" in causes
    assert any(c.startswith("Kicked off from UI by ") and c.endswith("@example.com") for c in causes)
    assert any(
        c.startswith(("Triggered by GitHub pull request #", "Triggered by GitLab merge request !"))
        for c in causes
    )
    assert any(c in ("Kicked off from Airflow", "Triggered via API", "Nightly orchestration") for c in causes)


def test_run_fields_timestamps_and_durations(sim: DbtCloudSimulator) -> None:
    runs = all_runs(sim)
    stamps = [r[key] for r in runs for key in ("created_at", "started_at", "finished_at") if r[key]]
    assert all(TIMESTAMP.match(stamp) for stamp in stamps)
    with_fraction = sum("." in stamp for stamp in stamps)
    assert 0.2 < with_fraction / len(stamps) < 0.9, "both shapes appear, each in a good share"
    assert all(HMS.match(r[k]) for r in runs for k in ("duration", "queued_duration", "run_duration"))
    statuses = [r["status"] for r in runs]
    assert 0.8 < statuses.count(10) / len(runs) < 0.95
    assert statuses.count(20) and statuses.count(30)
    assert any(r["status"] == 30 and r["started_at"] is None for r in runs), "cancelled while queued"
    assert {1, 3} <= set(statuses), "open runs near now"
    queued = next(r for r in runs if r["status"] == 1)
    assert queued["started_at"] is None and queued["finished_at"] is None and queued["in_progress"]
    run = runs[0]
    assert run["job_id"] == run["job_definition_id"]
    assert (
        run["href"]
        == f"{sim.base_url}/deploy/{sim.account_id}/projects/{run['project_id']}/runs/{run['id']}/"
    )


def test_jobs_projects_environments(sim: DbtCloudSimulator) -> None:
    first = get(sim, "jobs/").json()
    assert first["extra"]["pagination"] == {"count": 100, "total_count": 120}
    second = get(sim, "jobs/", offset=100).json()
    assert len({j["id"] for j in first["data"] + second["data"]}) == 120
    job = first["data"][0]
    assert get(sim, f"jobs/{job['id']}").json()["data"]["name"] == job["name"]
    assert {"schedule", "triggers", "execute_steps", "settings", "job_type", "state"} <= job.keys()
    projects = get(sim, "projects/").json()["data"]
    assert 3 <= len(projects) <= 4
    envs = get(sim, "environments/", project_id=projects[0]["id"]).json()["data"]
    assert {e["type"] for e in envs} == {"development", "deployment"}
    assert "production" in {e["deployment_type"] for e in envs}
    assert get(sim, f"environments/{envs[0]['id']}/").json()["data"]["id"] == envs[0]["id"]


def test_deterministic() -> None:
    pages = []
    for _ in range(2):
        with DbtCloudSimulator(runs=200, jobs=30, seed=9, now=NOW) as simulator:
            pages.append(
                [get(simulator, p, include_related='["trigger"]').json()["data"] for p in ("runs/", "jobs/")]
            )
    for page in pages:  # href holds the port, which differs
        for run in page[0]:
            run.pop("href")
    assert pages[0] == pages[1]


# ----- auth and errors ----------------------------------------------------------------------------


def test_auth_and_errors(sim: DbtCloudSimulator) -> None:
    bad = get(sim, "runs/", token="wrong")
    assert bad.status_code == 401
    assert bad.json() == {
        "status": {
            "code": 401,
            "is_success": False,
            "user_message": "Invalid token.",
            "developer_message": "",
        },
        "data": None,
        "extra": {},
    }
    assert (
        requests.get(f"{sim.base_url}/api/v2/accounts/{sim.account_id}/runs/", timeout=5).status_code == 401
    )
    bearer = requests.get(
        f"{sim.base_url}/api/v2/accounts/{sim.account_id}/runs",
        headers={"Authorization": f"Bearer {sim.token}"},
        timeout=5,
    )
    assert bearer.status_code == 200, "Bearer accepted, path without trailing slash too"
    other = requests.get(
        f"{sim.base_url}/api/v2/accounts/1/runs/", headers={"Authorization": f"Token {sim.token}"}, timeout=5
    )
    assert other.status_code == 403 and "permission" in other.json()["status"]["user_message"]
    for path in ("runs/1/", "jobs/1/", "nothing/", "projects/1/"):
        missing = get(sim, path)
        assert missing.status_code == 404 and missing.json()["status"]["is_success"] is False
    assert get(sim, "runs/", order_by="name").status_code == 400


def test_revoked_token(fresh: DbtCloudSimulator) -> None:
    assert get(fresh, "runs/").status_code == 200
    fresh.revoke_token()
    answer = get(fresh, "runs/")
    assert answer.status_code == 401 and answer.json()["status"]["user_message"] == "Invalid token."


# ----- time ---------------------------------------------------------------------------------------


def test_advance_finishes_open_runs_and_creates_new_ones(fresh: DbtCloudSimulator) -> None:
    open_before = fresh.open_run_ids()
    assert open_before
    count = get(fresh, "runs/").json()["extra"]["pagination"]["total_count"]
    fresh.advance(hours=6)
    assert fresh.now == NOW + timedelta(hours=6)
    for run_id in open_before:
        run = fresh.runs_by_id(run_id)
        assert run["status"] in (10, 20, 30) and run["finished_at"] and run["is_complete"]
    after = all_runs(fresh, include_related='["trigger"]')
    assert len(after) > count
    new = [r for r in after if datetime.fromisoformat(r["created_at"]) > NOW]
    assert new and any(r["trigger"]["cause"] == "Kicked off by the scheduler" for r in new)
    assert [r["id"] for r in after] == sorted(r["id"] for r in after)
    fresh.advance(timedelta(minutes=30))
    assert fresh.now == NOW + timedelta(hours=6, minutes=30)


def test_delete_job_hides_it_from_listing_but_keeps_runs(fresh: DbtCloudSimulator) -> None:
    job = fresh.jobs()[0]
    runs_before = all_runs(fresh, job_definition_id=job["id"])
    fresh.delete_job(job["id"])
    listed = get(fresh, "jobs/").json()
    assert job["id"] not in {j["id"] for j in listed["data"]}
    assert listed["extra"]["pagination"]["total_count"] == 11
    assert get(fresh, f"jobs/{job['id']}/").json()["data"]["state"] == 2
    assert all_runs(fresh, job_definition_id=job["id"]) == runs_before
    assert [j["state"] for j in fresh.jobs() if j["id"] == job["id"]] == [2]


# ----- faults and latency -------------------------------------------------------------------------


def test_429_with_retry_after_then_success(fresh: DbtCloudSimulator) -> None:
    fresh.inject("429", count=2, retry_after=1, path_contains="/runs/")
    answers = [get(fresh, "runs/") for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "1"
    assert get(fresh, "jobs/").status_code == 200
    assert [r["status"] for r in fresh.requests][-4:] == [429, 429, 200, 200]


def test_5xx_and_path_filter(fresh: DbtCloudSimulator) -> None:
    fresh.inject("500", count=1)
    fresh.inject("503", count=None, path_contains="/jobs/")
    assert get(fresh, "runs/").status_code == 500
    assert get(fresh, "runs/").status_code == 200
    assert [get(fresh, "jobs/").status_code for _ in range(3)] == [503, 503, 503]
    fresh.clear_faults()
    assert get(fresh, "jobs/").status_code == 200


def test_drop_closes_the_connection(fresh: DbtCloudSimulator) -> None:
    fresh.inject("drop", count=1)
    with pytest.raises(requests.ConnectionError):
        get(fresh, "runs/")
    assert get(fresh, "runs/").status_code == 200
    assert fresh.requests[0]["status"] is None


def test_latency(fresh: DbtCloudSimulator) -> None:
    fresh.latency_ms = 150
    started = time.monotonic()
    get(fresh, "projects/")
    assert time.monotonic() - started >= 0.15
    fresh.latency_ms = 0


def test_request_log(fresh: DbtCloudSimulator) -> None:
    fresh.reset_requests()
    get(fresh, "runs/", limit=5, order_by="-id")
    (entry,) = fresh.requests
    assert entry == {
        "method": "GET",
        "path": f"/api/v2/accounts/{fresh.account_id}/runs/",
        "query": {"limit": ["5"], "order_by": ["-id"]},
        "status": 200,
    }


# ----- triggering, cancelling, artifacts ----------------------------------------------------------


def wait_final(sim: DbtCloudSimulator, run_id: int, seconds: float = 5) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = get(sim, f"runs/{run_id}/").json()["data"]
        if run["status"] in (10, 20, 30):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish")


def test_trigger_poll_lifecycle(fresh: DbtCloudSimulator) -> None:
    fresh.trigger_plan(queue_seconds=0.2, run_seconds=0.3, outcome=20, status_message="Database Error in x")
    job_id = fresh.jobs()[0]["id"]
    assert post(fresh, f"jobs/{job_id}/run/", {}).status_code == 400, "cause is required"
    answer = post(
        fresh, f"jobs/{job_id}/run/", {"cause": "tests", "git_branch": "dev", "steps_override": ["dbt run"]}
    )
    run = answer.json()["data"]
    assert answer.status_code == 200 and run["status"] == 1 and run["started_at"] is None
    assert run["trigger"]["cause"] == "tests" and run["trigger"]["steps_override"] == ["dbt run"]
    assert run["git_branch"] == "dev" and run["id"] in fresh.open_run_ids()
    assert get(fresh, f"runs/{run['id']}/artifacts/").status_code == 404, "no artifacts before the end"
    done = wait_final(fresh, run["id"])
    assert done["status"] == 20 and done["status_message"] == "Database Error in x"
    assert done["started_at"] and done["finished_at"] and done["is_error"]
    assert get(fresh, "runs/", order_by="-id").json()["data"][0]["id"] == run["id"]


def test_first_poll_404(fresh: DbtCloudSimulator) -> None:
    fresh.trigger_plan(queue_seconds=0.1, run_seconds=0.1, first_poll_404=True)
    run_id = post(fresh, f"jobs/{fresh.jobs()[1]['id']}/run/", {"cause": "x"}).json()["data"]["id"]
    assert get(fresh, f"runs/{run_id}/").status_code == 404
    assert wait_final(fresh, run_id)["status"] == 10


def test_cancel(fresh: DbtCloudSimulator) -> None:
    fresh.trigger_plan(queue_seconds=60, run_seconds=60)
    run_id = post(fresh, f"jobs/{fresh.jobs()[0]['id']}/run/", {"cause": "x"}).json()["data"]["id"]
    cancelled = post(fresh, f"runs/{run_id}/cancel/").json()["data"]
    assert cancelled["status"] == 30 and cancelled["status_message"] == "Cancelled by user"
    assert cancelled["finished_at"] and cancelled["started_at"] is None
    again = post(fresh, f"runs/{run_id}/cancel/").json()["data"]
    assert again["finished_at"] == cancelled["finished_at"], "a final run is returned unchanged"
    finished = next(r for r in all_runs(fresh) if r["status"] == 10)
    assert post(fresh, f"runs/{finished['id']}/cancel/").json()["data"]["status"] == 10


def test_artifacts(sim: DbtCloudSimulator) -> None:
    runs = all_runs(sim)
    saved = next(r for r in runs if r["status"] == 10 and r["artifacts_saved"])
    names = get(sim, f"runs/{saved['id']}/artifacts/").json()["data"]
    assert {"manifest.json", "run_results.json"} <= set(names)
    document = get(sim, f"runs/{saved['id']}/artifacts/run_results.json", step=4).json()
    assert document["metadata"]["dbt_schema_version"] == "https://schemas.getdbt.com/dbt/run-results/v6.json"
    assert document == get(sim, f"runs/{saved['id']}/artifacts/run_results.json", step=4).json(), (
        "deterministic"
    )
    result = document["results"][0]
    assert {
        "status",
        "timing",
        "thread_id",
        "execution_time",
        "adapter_response",
        "unique_id",
    } <= result.keys()
    assert [t["name"] for t in result["timing"]] == ["compile", "execute"]
    not_saved = next(r for r in runs if r["status"] == 30 and not r["artifacts_saved"])
    assert get(sim, f"runs/{not_saved['id']}/artifacts/run_results.json").status_code == 404
    assert get(sim, f"runs/{saved['id']}/artifacts/nope.json").status_code == 404


def test_failing_runs_have_failing_nodes(sim: DbtCloudSimulator) -> None:
    failed = [r for r in all_runs(sim) if r["status"] == 20 and r["artifacts_saved"]]
    statuses: set[str] = set()
    for run in failed[:10]:
        for step in (None, 4, 5):
            params = {} if step is None else {"step": step}
            answer = get(sim, f"runs/{run['id']}/artifacts/run_results.json", **params)
            if answer.status_code == 200:
                statuses |= {r["status"] for r in answer.json()["results"]}
    assert statuses & {"error", "fail"}


# ----- the command line ---------------------------------------------------------------------------


def test_cli_prints_one_json_line_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dbt_cloud_simulator",
            "--port",
            "0",
            "--runs",
            "50",
            "--jobs",
            "5",
            "--now",
            "2026-11-20T12:00:00+00:00",
        ],
        cwd=REPO_ROOT / "pipelines",
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(process.stdout.readline())
        assert info["runs"] == 50 and info["token"] and isinstance(info["account_id"], int)
        answer = requests.get(
            f"{info['base_url']}/api/v2/accounts/{info['account_id']}/runs/",
            headers={"Authorization": f"Token {info['token']}"},
            timeout=5,
        )
        assert answer.json()["extra"]["pagination"]["total_count"] == 50
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
