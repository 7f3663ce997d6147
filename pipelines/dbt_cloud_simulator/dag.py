"""Each synthetic project's dbt DAG (seeds, staging, intermediate and mart models, snapshots, tests)
and which resource types a dbt command touches.

Deterministic per project (seeded by its slug), so every run of a project builds the same nodes.
"""

from __future__ import annotations

import hashlib
import random

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
"""In every project, chronically slow and getting slower in recent months (run_results.py)."""

Node = tuple[str, str, list[str]]
"""(resource type, name, parent names)"""


def _models(rng: random.Random) -> list[Node]:
    """Seeds, then staging, intermediate and mart models, each layer built on the one before, and
    snapshots of two staging models.

    Each layer's parents are drawn right after its names (the draw order fixes every project's DAG).
    """
    seeds = [f"seed_{stem}" for stem in rng.sample(MODEL_STEMS, 3)]
    nodes: list[Node] = [("seed", name, []) for name in seeds]
    staging = [f"stg_{stem}" for stem in rng.sample(MODEL_STEMS, 10)]
    nodes += [("model", name, [rng.choice(seeds)]) for name in staging]
    nodes += _upper_models(rng, staging)
    nodes += [("snapshot", f"{name[4:]}_snapshot", [name]) for name in staging[:2]]
    return nodes


def _upper_models(rng: random.Random, staging: list[str]) -> list[Node]:
    """Intermediate models on staging ones, marts on intermediate ones; one slow model in each layer."""
    intermediate = [f"int_{stem}_joined" for stem in rng.sample(MODEL_STEMS, 6)] + [SLOW_MODELS[1]]
    nodes: list[Node] = [("model", name, rng.sample(staging, 2)) for name in intermediate]
    marts = [f"fct_{stem}" for stem in rng.sample(MODEL_STEMS, 6)]
    marts += [f"dim_{stem}" for stem in rng.sample(MODEL_STEMS, 4)] + [SLOW_MODELS[0]]
    nodes += [("model", name, rng.sample(intermediate, 2)) for name in marts]
    return nodes


def _tests(rng: random.Random, models: list[Node]) -> list[Node]:
    """A not_null test on every model, and a unique test on about 60% of them."""
    tests: list[Node] = []
    for kind, model, _parents in models:
        if kind != "model":
            continue
        tests.append(("test", f"not_null_{model}_id", [model]))
        if rng.random() < 0.6:
            tests.append(("test", f"unique_{model}_id", [model]))
    return tests


def project_nodes(project_slug: str) -> list[Node]:
    """(resource type, name, parents) in DAG order for a project; deterministic per project."""
    rng = random.Random(project_slug)
    models = _models(rng)
    return models + _tests(rng, models)


def selected(command: str, kind: str) -> bool:
    """Which resource types a dbt command touches."""
    if command in ("build", "generate", "compile"):
        return kind != "test" or command == "build"
    return {"run": "model", "test": "test", "seed": "seed", "snapshot": "snapshot"}.get(command) == kind


def test_hash(name: str) -> str:
    """The hash dbt appends to a generic test's unique_id (`test.<project>.<name>.<hash>`)."""
    return hashlib.md5(name.encode()).hexdigest()[:10]
