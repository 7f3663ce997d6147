"""Change detection: read the account's head (its first answers) and tell whether anything changed.

A scheduled load usually finds little or nothing new. It reads, concurrently, the first page of runs,
the stored open runs by id, and every page of jobs, projects and environments (the "head"), and
compares their `(id, updated_at, status)` with what the destination holds. When nothing differs, a
dlt extract/normalize/load cycle would rewrite identical rows at a fixed cost of about a second, so
the load only records that it looked (a row in `load_checks`, which moves the views' "now"). Otherwise
the head is handed to the dlt resources, so no page is requested twice.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .api import DbtCloudApi, total_count
from .converters import parse_timestamp
from .errors import ApiError
from .listings import LISTINGS, AccountListings
from .settings import OPEN_STATUSES, RUN_DETAIL_PARAMS, RUNS_LIST_PARAMS

Fingerprint = tuple[Any, ...]


@dataclass
class Head:
    """The first API answers of a load, reused by the dlt resources."""

    runs_first_page: dict[str, Any]
    open_runs: list[tuple[str, Any]]
    """`(path, run)` per stored open run; `run` is an `ApiError` when dbt Cloud no longer has it"""
    listings: dict[str, list[list[dict[str, Any]]]] = field(default_factory=dict)


@dataclass
class StoredHead:
    """The same facts as the destination holds them."""

    cursor: datetime | None = None
    """newest stored `created_at`"""
    recent_runs: dict[int, Fingerprint] = field(default_factory=dict)
    """`(updated_at, status)` of runs created at or after cursor - lookback"""
    open_runs: dict[int, Fingerprint] = field(default_factory=dict)
    listings: dict[str, dict[int, Any]] = field(default_factory=dict)
    """per listing, `updated_at` of the objects the latest listing showed"""


def fetch_head(api: DbtCloudApi, open_run_ids: list[int], stored: StoredHead) -> Head:
    """Read the head of the account, all requests at once (listings sized by what is stored)."""
    # one round trip for all of it: each open run is its own request (there are few), within the rate limit
    workers = min(1 + len(LISTINGS) + len(open_run_ids), 2 * api.max_workers)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dbt-cloud-head") as pool:
        runs = pool.submit(api.first_page, "runs/", RUNS_LIST_PARAMS)
        # how listings are read (jobs of every state, v3 projects/environments) lives in listings.py
        account = AccountListings(
            api,
            {name: len(stored.listings.get(name, {})) for name in LISTINGS},
            known_project_ids=sorted(stored.listings.get("projects", {})),
        )
        listings = {name: pool.submit(account.read, name) for name in LISTINGS}
        open_runs = [
            pool.submit(_read_one, api, f"runs/{run_id}/", RUN_DETAIL_PARAMS) for run_id in open_run_ids
        ]
        return Head(
            runs_first_page=runs.result(),
            open_runs=[future.result() for future in open_runs],
            listings={name: future.result() for name, future in listings.items()},
        )


def _read_one(api: DbtCloudApi, path: str, params: dict[str, Any]) -> tuple[str, Any]:
    """`(path, run)`, or `(path, ApiError)` when dbt Cloud no longer has it."""
    return next(api.get_each([path], params))


def stored_head_queries(dataset: str, lookback_hours: float) -> list[str]:
    """The queries that read a `StoredHead` (run with the other pre-load queries, one connection)."""
    lookback = f"INTERVAL '{int(lookback_hours * 3600)} seconds'"  # DuckDB and PostgreSQL both read this
    queries = [
        f"SELECT max(created_at) FROM {dataset}.runs",
        f"SELECT id, updated_at, status FROM {dataset}.runs "
        f"WHERE created_at >= (SELECT max(created_at) FROM {dataset}.runs) - {lookback}",
        f"SELECT id, updated_at, status FROM {dataset}.runs "
        f"WHERE status IN ({', '.join(str(code) for code in sorted(OPEN_STATUSES))})",
    ]
    queries += [
        f"SELECT id, updated_at FROM {dataset}.{name} "
        f"WHERE last_seen_at = (SELECT max(last_seen_at) FROM {dataset}.{name})"
        for name in LISTINGS
    ]
    return queries


def stored_head_from_rows(results: list[list[tuple[Any, ...]]]) -> StoredHead:
    cursor_rows, recent_rows, open_rows, *listing_rows = results
    return StoredHead(
        cursor=cursor_rows[0][0] if cursor_rows else None,
        recent_runs={row[0]: (row[1], row[2]) for row in recent_rows},
        open_runs={row[0]: (row[1], row[2]) for row in open_rows},
        listings={
            name: {row[0]: row[1] for row in rows} for name, rows in zip(LISTINGS, listing_rows, strict=True)
        },
    )


def nothing_changed(head: Head, stored: StoredHead, lookback_hours: float) -> bool:
    """True only when a load would write exactly what is stored already (apart from `last_seen_at`)."""
    if stored.cursor is None:
        return False
    oldest_wanted = stored.cursor - timedelta(hours=lookback_hours)
    rows = head.runs_first_page.get("data") or []
    wanted = [run for run in rows if _created(run) >= oldest_wanted]
    if len(wanted) == len(rows) and len(rows) < total_count(head.runs_first_page, len(rows)):
        return False  # the lookback window goes on past the first page: read it properly
    if {run["id"]: _fingerprint(run) for run in wanted} != stored.recent_runs:
        return False
    for _, run in head.open_runs:
        if not isinstance(run, ApiError) and stored.open_runs.get(run["id"]) != _fingerprint(run):
            return False
    for name in LISTINGS:
        listed = {
            item["id"]: parse_timestamp(item.get("updated_at"))
            for page in head.listings[name]
            for item in page
        }
        if listed != stored.listings.get(name, {}):
            return False
    return True


def _created(run: dict[str, Any]) -> datetime:
    """A run's created_at; a run without one counts as oldest (it cannot be in the lookback window)."""
    return parse_timestamp(run.get("created_at")) or datetime.min.replace(tzinfo=UTC)


def _fingerprint(run: dict[str, Any]) -> Fingerprint:
    return parse_timestamp(run.get("updated_at")), run.get("status")
