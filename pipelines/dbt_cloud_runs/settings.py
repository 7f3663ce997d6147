"""Constants of the dbt Cloud Administrative API and this loader's settings: defaults, status codes,
request parameters, and `LoadSettings` (how a load behaves, read by dlt from `[dbt_cloud]`).

Kept in one place so the source, the CLI and the tests agree on them.
"""

from __future__ import annotations

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import ConfigValueCannotBeCoercedException
from dlt.common.configuration.specs import BaseConfiguration

from .errors import ConfigError

CONFIG_SECTION = "dbt_cloud"
"""Top-level config section, the layout dlt's own dbt Cloud helper documents (`[dbt_cloud]`)."""

OLD_REGION_HOSTS: frozenset[str] = frozenset({"cloud.getdbt.com", "emea.dbt.com", "au.dbt.com"})
"""dbt's old region hosts, scheduled for deprecation on `OLD_REGION_HOSTS_DEPRECATED_ON`: there is no
default host any more; every account has its own access URL (`https://PREFIX.REGION.dbt.com`)."""
OLD_REGION_HOSTS_DEPRECATED_ON = "2026-11-01"
API_VERSIONS = (2, 3)
"""`{access_url}/api/v{N}/accounts/{account_id}/`: v2 for runs and jobs, v3 for projects/environments."""
PIPELINE_NAME = "dbt_runs"
DATASET_NAME = "dbt_cloud"
DEFAULT_DUCKDB_FILE = "dbt_runs.duckdb"
DEMO_DUCKDB_FILE = "dbt_runs_demo.duckdb"

PAGE_SIZE = 100
"""The API caps every page at 100 rows, whatever `limit` asks for."""

DEFAULT_LOOKBACK_HOURS = 6.0
"""Paging stops at the first run older than the stored cursor minus this window."""

DEFAULT_MAX_WORKERS = 6
"""Concurrent requests once the first page has shown how many rows there are."""

DEFAULT_REQUESTS_PER_MINUTE = 4000
"""Our own ceiling, under the API's documented 5,000 requests per minute per account."""

DEFAULT_ARTIFACTS_DAYS = 14
"""Later loads fetch `run_results.json` of runs finished this many days before the load (new ones)."""
DEFAULT_FIRST_LOAD_ARTIFACTS_DAYS = 60
"""A store's first artifacts load reaches this far back: `model_timings.change_pct` compares the last
30 days with the 30 before, so 60 days of documents answer "which models got slower" at once."""

READER_LOCK_WAIT_SECONDS = 10.0
"""How long a load waits out a reader holding the DuckDB file (readers hold it for milliseconds)."""

DEFAULT_RATE_LIMIT_COOLDOWN_SECONDS = 300.0
"""Going over 5,000 requests a minute starts a five-minute cooldown, often answered without Retry-After."""
MAX_COOLDOWNS = 2
"""How many cooldowns one process waits out before it gives up (exit 3; the next load fills in)."""

JOB_STATE_ALL = "all"
"""`GET /jobs/?state=all`: active and deleted jobs (the listing's default is active only)."""

RETRY_REFUSALS: dict[str, str] = {
    "RETRY_UNSUPPORTED_CMD": "the step that failed runs a dbt command that dbt retry does not support",
    "RETRY_UNSUPPORTED_VERSION": "the run's dbt version is too old to retry from the point of failure "
    "(dbt 1.6 or newer is needed)",
    "RETRY_NOT_LATEST_RUN": "it is not the latest run of its job (only the latest run can be retried)",
    "RETRY_NOT_FAILED_RUN": "it did not end in Error (only failed runs can be retried)",
    "RETRY_NO_RUN_RESULTS": "it saved no run_results.json to retry from (it failed before dbt ran any "
    "node): trigger the job again instead",
}
"""dbt Cloud's `retry_not_supported_reason` codes, in words (the codes are from the 2026-08 v2 spec)."""

STATUS_QUEUED, STATUS_STARTING, STATUS_RUNNING = 1, 2, 3
STATUS_SUCCESS, STATUS_ERROR, STATUS_CANCELLED = 10, 20, 30
"""dbt Cloud's run status codes; the SQL views read the same names from the `status_codes` view."""
STATUS_NAMES: dict[int, str] = {
    STATUS_QUEUED: "Queued",
    STATUS_STARTING: "Starting",
    STATUS_RUNNING: "Running",
    STATUS_SUCCESS: "Success",
    STATUS_ERROR: "Error",
    STATUS_CANCELLED: "Cancelled",
}
OPEN_STATUSES: frozenset[int] = frozenset({STATUS_QUEUED, STATUS_STARTING, STATUS_RUNNING})
FINAL_STATUSES: frozenset[int] = frozenset({STATUS_SUCCESS, STATUS_ERROR, STATUS_CANCELLED})
STATUS_BY_NAME: dict[str, int] = {name.lower(): code for code, name in STATUS_NAMES.items()}

# -- request parameters: what every request of a kind sends, in one place ---------------------------

RUN_DETAIL_PARAMS: dict[str, str] = {"include_related": '["trigger"]'}
"""`GET runs/{id}/`: without `include_related=["trigger"]` the API leaves `trigger` (the cause) null."""
RUNS_LIST_PARAMS: dict[str, str] = {"order_by": "-created_at", **RUN_DETAIL_PARAMS}
"""`GET runs/`: newest first (a load stops at the first run older than its cursor), with triggers."""
RUN_STATUS_PARAMS: dict[str, str] = {"include_related": '["trigger","job","run_steps"]'}
"""`GET runs/{id}/` for an agent's question about one run: trigger, job name and steps (logs included)."""
RUN_STEPS_PARAMS: dict[str, str] = {"include_related": '["run_steps"]'}
"""`GET runs/{id}/` to find a run's build steps, whose `run_results.json` are fetched one by one."""
JOBS_LIST_PARAMS: dict[str, str] = {"state": JOB_STATE_ALL}
"""`GET jobs/`: jobs of every state, so runs of deleted jobs keep their job's name."""

# -- command defaults: trigger, status, runs and the Python helpers share them ----------------------

DEFAULT_CAUSE = "Triggered via API"
"""The `cause` a triggered run shows in dbt Cloud when none is given (the API requires one)."""
DEFAULT_POLL_SECONDS = 10.0
"""Seconds between status checks while waiting for a run."""
DEFAULT_RUNS_LIMIT = 20
"""How many runs `runs` lists by default."""

# -- the load's settings, `[dbt_cloud]` in .dlt/config.toml or DBT_CLOUD__* variables -------------


@configspec
class LoadSettings(BaseConfiguration):
    """How a load behaves; all optional, defaults in `.dlt/config.toml` and `settings.py`."""

    lookback_hours: float = DEFAULT_LOOKBACK_HOURS
    max_workers: int = DEFAULT_MAX_WORKERS
    requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE
    artifacts: bool = True
    artifacts_days: int = DEFAULT_ARTIFACTS_DAYS
    first_load_artifacts_days: int = DEFAULT_FIRST_LOAD_ARTIFACTS_DAYS
    """how far back the first load with artifacts (no `run_artifacts` rows yet) fetches them"""
    lock_wait_seconds: float = 0.0
    """how long a load waits for another load of the same pipeline or file before giving up"""
    publish_path: str | None = None
    """a DuckDB file that every successful load replaces with a copy of the dataset, for readers"""


def resolve_load_settings() -> LoadSettings:
    """Resolve the optional `[dbt_cloud]` load settings (lookback, concurrency, artifacts)."""
    try:
        settings = resolve_configuration(LoadSettings(), sections=(CONFIG_SECTION,))
    except ConfigValueCannotBeCoercedException as exc:
        raise ConfigError(
            f"[dbt_cloud] {exc.field_name} has a value of the wrong type: fix it in .dlt/config.toml "
            f"or DBT_CLOUD__{exc.field_name.upper()}."
        ) from None
    if settings.lookback_hours < 0:
        raise ConfigError("[dbt_cloud] lookback_hours must be 0 or more.")
    if settings.lock_wait_seconds < 0:
        raise ConfigError("[dbt_cloud] lock_wait_seconds must be 0 or more.")
    if settings.max_workers < 1 or settings.requests_per_minute < 1:
        raise ConfigError("[dbt_cloud] max_workers and requests_per_minute must be at least 1.")
    return settings
