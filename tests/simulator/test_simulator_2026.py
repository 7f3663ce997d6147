"""The simulator as dbt Cloud is in late 2026: v3 listings, job `state`, deleted jobs with runs, the
retry endpoint and its refusals, dbt's rate-limit cooldown, and 2xx bodies that are not the envelope.

Answers are validated against the August 2026 specs (v2 for runs and jobs, v3 for projects and
environments) read from /work/shared/reference, with the same two relaxations as test_openapi_schema.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from dbt_cloud_simulator import DbtCloudSimulator
from test_openapi_schema import REFERENCE_DIR, _inline, validate

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def sim() -> Iterator[DbtCloudSimulator]:
    with DbtCloudSimulator(runs=400, jobs=30, seed=4, now=NOW, deleted_jobs=3) as simulator:
        yield simulator


def get(sim: DbtCloudSimulator, path: str, version: int = 2, **params: Any) -> requests.Response:
    return requests.get(
        f"{sim.base_url}/api/v{version}/accounts/{sim.account_id}/{path}",
        params=params,
        headers={"Authorization": f"Token {sim.token}"},
        timeout=10,
    )


def post(sim: DbtCloudSimulator, path: str) -> requests.Response:
    return requests.post(
        f"{sim.base_url}/api/v2/accounts/{sim.account_id}/{path}",
        json={},
        headers={"Authorization": f"Token {sim.token}"},
        timeout=10,
    )


def _nullable_everywhere(node: Any) -> Any:
    """Every typed schema at any depth may be null: the 2026 specs wrap nested objects in `allOf`,
    where marking only the property nullable does not reach (see test_openapi_schema for why)."""
    if isinstance(node, dict):
        node = {key: _nullable_everywhere(value) for key, value in node.items()}
        if "type" in node or "allOf" in node or "oneOf" in node:
            node["nullable"] = True
        if isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        return node
    if isinstance(node, list):
        return [_nullable_everywhere(item) for item in node]
    return node


def spec_schemas(name: str) -> dict[str, Any]:
    path = REFERENCE_DIR / name
    if not path.exists():
        pytest.skip(f"the OpenAPI spec is not available at {path} (shared reference data missing)")
    yaml = pytest.importorskip("yaml", reason="pyyaml is needed to read the OpenAPI spec")
    components = yaml.safe_load(path.read_text())["components"]["schemas"]
    return {
        key: _nullable_everywhere(_inline(copy.deepcopy(schema), components))
        for key, schema in components.items()
    }


@pytest.fixture(scope="module")
def v3_schemas() -> dict[str, Any]:
    return spec_schemas("dbt-cloud-openapi-v3-2026-08.yaml")


@pytest.fixture(scope="module")
def v2_2026_schemas() -> dict[str, Any]:
    return spec_schemas("dbt-cloud-openapi-v2-2026-08.yaml")


# ----- v3 listings -------------------------------------------------------------------------------


def test_v3_projects_and_per_project_environments_match_the_spec(
    sim: DbtCloudSimulator, v3_schemas: dict[str, Any]
) -> None:
    projects = get(sim, "projects/", version=3).json()
    assert projects["data"] and projects["extra"]["pagination"]["total_count"] == len(projects["data"])
    validate(v3_schemas["ProjectListEnveloped"], projects)
    listed = []
    for project in projects["data"]:
        environments = get(sim, f"projects/{project['id']}/environments/", version=3).json()
        validate(v3_schemas["EnvironmentV3ListEnveloped"], environments)
        assert {env["project_id"] for env in environments["data"]} == {project["id"]}
        listed += [env["id"] for env in environments["data"]]
    assert sorted(listed) == sorted(env["id"] for env in get(sim, "environments/").json()["data"])


def test_v3_unknown_project_and_older_host_answer_404(sim: DbtCloudSimulator) -> None:
    assert get(sim, "projects/999/environments/", version=3).status_code == 404
    sim.v3 = False
    try:
        assert get(sim, "projects/", version=3).status_code == 404
        assert get(sim, "projects/").status_code == 200, "v2 still answers"
    finally:
        sim.v3 = True


# ----- jobs in every state -----------------------------------------------------------------------


def test_jobs_state_filter_and_deleted_jobs_keep_their_runs(sim: DbtCloudSimulator) -> None:
    # not validated against the 2026-08 job schema: it and the older spec disagree on `schedule.date`
    active = get(sim, "jobs/").json()
    every = get(sim, "jobs/", state="all").json()
    deleted = get(sim, "jobs/", state="deleted").json()
    assert every["extra"]["filters"]["state"] == "all"
    assert len(active["data"]) == 27 and len(every["data"]) == 30
    assert {job["state"] for job in deleted["data"]} == {2} and len(deleted["data"]) == 3
    assert get(sim, "jobs/", state=2).json()["data"] == deleted["data"]
    deleted_ids = {job["id"] for job in deleted["data"]}
    run_jobs = {run["job_definition_id"] for run in get(sim, "runs/", order_by="-id").json()["data"]}
    every_run_job = set(run_jobs)
    offset = 100
    while True:
        page = get(sim, "runs/", offset=offset).json()["data"]
        if not page:
            break
        every_run_job |= {run["job_definition_id"] for run in page}
        offset += len(page)
    assert deleted_ids <= every_run_job, "runs of deleted jobs are still listed"
    assert get(sim, "jobs/", state="gone").status_code == 400


# ----- retries ------------------------------------------------------------------------------------


def test_runs_carry_retry_fields_and_retried_failures(
    sim: DbtCloudSimulator, v2_2026_schemas: dict[str, Any]
) -> None:
    body = get(sim, "runs/", order_by="-id", include_related='["trigger"]').json()
    validate(v2_2026_schemas["RunResponseListEnveloped"], body)
    runs = {run["id"]: run for run in body["data"]}
    offset = 100
    while True:
        page = get(sim, "runs/", order_by="-id", offset=offset).json()["data"]
        if not page:
            break
        runs.update({run["id"]: run for run in page})
        offset += len(page)
    retries = [run for run in runs.values() if run["retrying_run_id"] is not None]
    assert retries, "the synthetic history holds retried failures"
    for retry in retries:
        failed = runs[retry["retrying_run_id"]]
        assert failed["status"] == 20 and failed["id"] < retry["id"]
        assert failed["job_definition_id"] == retry["job_definition_id"]
    assert {run["retry_not_supported_reason"] for run in runs.values() if run["status"] != 20} == {
        "RETRY_NOT_FAILED_RUN"
    }
    assert all(run["can_retry"] is (run["retry_not_supported_reason"] is None) for run in runs.values())


def test_retry_endpoint_retries_the_latest_failed_run_and_refuses_the_rest(sim: DbtCloudSimulator) -> None:
    success = next(run for run in sim.account.runs_by_id if run.outcome == 10 and run.settled)
    refused = post(sim, f"runs/{success.id}/retry/")
    assert refused.status_code == 400
    assert "RETRY_NOT_FAILED_RUN" in refused.json()["status"]["user_message"]

    sim.trigger_plan(queue_seconds=0.01, run_seconds=0.01, outcome=20)
    job_id = next(job_id for job_id, spec in sim.account.jobs.items() if spec.data["state"] == 1)
    failed = requests.post(
        f"{sim.base_url}/api/v2/accounts/{sim.account_id}/jobs/{job_id}/run/",
        json={"cause": "test"},
        headers={"Authorization": f"Token {sim.token}"},
        timeout=10,
    ).json()["data"]
    time.sleep(0.1)
    assert get(sim, f"runs/{failed['id']}/").json()["data"]["can_retry"] is True
    sim.trigger_plan()
    retry = post(sim, f"runs/{failed['id']}/retry/").json()["data"]
    assert retry["retrying_run_id"] == failed["id"] and retry["status"] == 1
    again = post(sim, f"runs/{failed['id']}/retry/")
    assert again.status_code == 400 and "RETRY_NOT_LATEST_RUN" in again.json()["status"]["user_message"]


# ----- rate-limit cooldown and bad bodies ---------------------------------------------------------


def test_cooldown_answers_429_without_retry_after_until_it_ends(sim: DbtCloudSimulator) -> None:
    sim.cooldown(0.5)
    first = get(sim, "jobs/")
    assert first.status_code == 429 and "Retry-After" not in first.headers
    assert get(sim, "runs/").status_code == 429
    time.sleep(0.6)
    assert get(sim, "jobs/").status_code == 200


@pytest.mark.parametrize(("kind", "starts"), [("html", b"<!DOCTYPE html>"), ("truncated", b'{"status"')])
def test_bad_body_faults_answer_200_with_something_else(
    sim: DbtCloudSimulator, kind: str, starts: bytes
) -> None:
    sim.inject(kind, count=1, path_contains="/jobs/")
    bad = get(sim, "jobs/")
    assert bad.status_code == 200 and bad.content.startswith(starts)
    with pytest.raises(ValueError):
        bad.json()
    assert get(sim, "jobs/").json()["data"], "a count-limited fault ends"
