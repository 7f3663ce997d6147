"""Constants of the dbt Cloud Administrative API v2 and of this loader's defaults.

Kept in one place so the source, the CLI and the tests agree on them.
"""

from __future__ import annotations

CONFIG_SECTION = "dbt_cloud"
"""Top-level config section, the layout dlt's own dbt Cloud helper documents (`[dbt_cloud]`)."""

DEFAULT_BASE_URL = "https://cloud.getdbt.com"
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

READER_LOCK_WAIT_SECONDS = 10.0
"""How long a load waits out a reader holding the DuckDB file (readers hold it for milliseconds)."""

STATUS_NAMES: dict[int, str] = {
    1: "Queued",
    2: "Starting",
    3: "Running",
    10: "Success",
    20: "Error",
    30: "Cancelled",
}
OPEN_STATUSES: frozenset[int] = frozenset({1, 2, 3})
FINAL_STATUSES: frozenset[int] = frozenset({10, 20, 30})
STATUS_BY_NAME: dict[str, int] = {name.lower(): code for code, name in STATUS_NAMES.items()}
