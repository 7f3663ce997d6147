"""Simulator answers validate against dbt Labs' published OpenAPI v2 response schemas.

The spec is read from /work/shared/reference (never copied into the repo). Two deliberate relaxations,
because the live service — which the simulator imitates — differs from this older spec:

* every property is made nullable: the spec marks few fields `nullable`, yet the real API returns null
  for e.g. `started_at` of a queued run, `trigger` without include_related, or `dbt_version` of a job;
* string formats are not checked: the service writes `2026-11-20 08:15:49+00:00` (a space, not `T`),
  which is not RFC 3339 `date-time`, and clients must accept exactly that.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from dbt_cloud_simulator import DbtCloudSimulator

REFERENCE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
SPEC_PATH = REFERENCE_DIR / "dbt-cloud-openapi-v2.yaml"


def _inline(node: Any, schemas: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """Replace `$ref`s to components by the component itself (the spec has no cycles we use)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name in seen:
                return {}
            return _inline(schemas[name], schemas, (*seen, name))
        return {key: _inline(value, schemas, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, schemas, seen) for item in node]
    return node


def _all_nullable(node: Any) -> Any:
    """Mark every property (at any depth) `nullable: true`; see the module docstring for why."""
    if isinstance(node, dict):
        node = {key: _all_nullable(value) for key, value in node.items()}
        for prop in (node.get("properties") or {}).values():
            if isinstance(prop, dict):
                prop["nullable"] = True
        if "items" in node and isinstance(node["items"], dict):
            node["items"]["nullable"] = True
        return node
    if isinstance(node, list):
        return [_all_nullable(item) for item in node]
    return node


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    if not SPEC_PATH.exists():
        pytest.skip(f"the OpenAPI spec is not available at {SPEC_PATH} (shared reference data missing)")
    yaml = pytest.importorskip("yaml", reason="pyyaml is needed to read the OpenAPI spec")
    components = yaml.safe_load(SPEC_PATH.read_text())["components"]["schemas"]
    return {
        name: _all_nullable(_inline(copy.deepcopy(schema), components)) for name, schema in components.items()
    }


@pytest.fixture(scope="module")
def sim() -> Iterator[DbtCloudSimulator]:
    with DbtCloudSimulator(
        runs=300, jobs=40, seed=2, now=datetime(2026, 11, 20, 12, tzinfo=UTC)
    ) as simulator:
        yield simulator


def fetch(sim: DbtCloudSimulator, path: str, **params: Any) -> dict[str, Any]:
    answer = requests.get(
        f"{sim.base_url}/api/v2/accounts/{sim.account_id}/{path}",
        params=params,
        headers={"Authorization": f"Token {sim.token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def validate(schema: dict[str, Any], document: dict[str, Any]) -> None:
    validators = pytest.importorskip(
        "openapi_schema_validator", reason="openapi-schema-validator is not installed"
    )
    validators.OAS30Validator(schema).validate(document)


@pytest.mark.parametrize(
    ("path", "schema_name", "params"),
    [
        ("runs/", "RunsResponse", {}),
        ("runs/", "RunsResponse", {"include_related": '["trigger","job","run_steps"]', "order_by": "-id"}),
        ("jobs/", "JobsResponse", {}),
        ("projects/", "ProjectsResponse", {}),
        ("environments/", "EnvironmentsResponse", {}),
    ],
)
def test_list_responses_match_the_spec(
    sim: DbtCloudSimulator, schemas: dict[str, Any], path: str, schema_name: str, params: dict[str, str]
) -> None:
    body = fetch(sim, path, **params)
    assert body["data"], "validate real rows, not an empty list"
    validate(schemas[schema_name], body)


def test_single_objects_match_the_spec(sim: DbtCloudSimulator, schemas: dict[str, Any]) -> None:
    runs = fetch(sim, "runs/", order_by="-id", include_related='["trigger","job"]')["data"]
    open_run = next(run for run in runs if run["status"] in (1, 2, 3))
    validate(
        schemas["RunResponse"], fetch(sim, f"runs/{open_run['id']}/", include_related='["trigger","job"]')
    )
    validate(schemas["JobResponse"], fetch(sim, f"jobs/{open_run['job_definition_id']}/"))
    validate(schemas["ProjectResponse"], fetch(sim, f"projects/{open_run['project_id']}/"))
    validate(schemas["EnvironmentResponse"], fetch(sim, f"environments/{open_run['environment_id']}/"))


def test_a_wrong_shape_is_caught(schemas: dict[str, Any]) -> None:
    """The relaxed schema still has teeth: a number where the spec says string is rejected."""
    validators = pytest.importorskip(
        "openapi_schema_validator", reason="openapi-schema-validator is not installed"
    )
    bad = {"data": [{"id": "not-an-int", "status": 99}], "status": {"code": 200}}
    assert list(validators.OAS30Validator(schemas["RunsResponse"]).iter_errors(bad))
