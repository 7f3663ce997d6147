"""Every number of the report, read from the views in `sql/` (one source of truth) in one short visit.

The report never computes a rule of its own where a view has one: job health is `job_health` as it
stands, slowed-down jobs are `slow_runs`, failures are `failures`, model timings are `model_timings`
and `slowest_models`. What no view answers directly (headline numbers over the report's window, queue
percentiles per day, the points of a trend line) is aggregated here from `runs_enriched` and
`daily_runs`, with the same definitions the views use (success rate = Success / (Success + Error),
windows (as_of - N days, as_of] on created_at, interpolated percentiles).

Rows are plain dicts of JSON-ready values (timestamps as ISO 8601 text in UTC), so the same data feeds
the charts, the tables and the JSON block a test parses back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb

Row = dict[str, Any]

FAILURES_DAYS = 7
"""The failures list covers this many days, whatever the report's window (what a Monday review needs)."""
FAILURES_SHOWN = 200
"""At most this many failed runs are listed one by one; the count says how many there were."""
SPARKLINE_RUNS = 30
"""A job's trend line shows the run times of its latest finished runs in the window, at most this many."""
SLOW_JOBS_CHARTED = 5
SLOW_RUNS_DAYS = 35
"""`slow_runs` compares this week with the four weeks before: the trend charts span the same 35 days."""
TOP_MODELS = 15
GROWTH_MIN_RUNS = 3
"""A model needs this many executions in 30 days before its change in median counts (noise otherwise)."""
TOP_TESTS = 20


@dataclass
class ReportData:
    """What the report shows; `as_json()` is embedded in the file for machines (and the tests)."""

    days: int
    as_of: str
    window_start: str
    previous_window_start: str
    account_ids: list[int]
    dbt_cloud_host: str | None
    headline: dict[str, Row]
    failing_jobs: int
    job_health: list[Row]
    daily_runs: list[Row]
    daily_queue: list[Row]
    slow_jobs: list[Row]
    slow_job_trends: dict[str, list[Row]]
    failures: list[Row]
    failures_total: int
    failures_by_job: list[Row]
    artifacts_loaded: int
    slowest_models: list[Row]
    model_growth: list[Row]
    models_with_previous_median: int
    test_failures: list[Row]
    limits: dict[str, int] = field(
        default_factory=lambda: {
            "failures_days": FAILURES_DAYS,
            "failures_shown": FAILURES_SHOWN,
            "sparkline_runs": SPARKLINE_RUNS,
            "slow_jobs_charted": SLOW_JOBS_CHARTED,
            "slow_runs_days": SLOW_RUNS_DAYS,
            "top_models": TOP_MODELS,
            "growth_min_runs": GROWTH_MIN_RUNS,
            "top_tests": TOP_TESTS,
        }
    )

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


Params = list[Any] | dict[str, Any]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Params | None = None) -> list[Row]:
    result = con.execute(sql, params or [])
    names = [column[0] for column in result.description]
    return [
        {name: _value(value) for name, value in zip(names, row, strict=True)} for row in result.fetchall()
    ]


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Params | None = None) -> Any:
    rows = con.execute(sql, params or []).fetchall()
    return _value(rows[0][0]) if rows else None


# -- the queries ---------------------------------------------------------------------------------

HEADLINE_SQL = """
WITH n AS (SELECT as_of FROM as_of),
windowed AS (
    SELECT
        r.status,
        r.queued_seconds,
        CASE
            WHEN r.created_at > n.as_of - to_days($days) AND r.created_at <= n.as_of THEN 'current'
            WHEN r.created_at > n.as_of - to_days(2 * $days) AND r.created_at <= n.as_of - to_days($days)
                THEN 'previous'
        END AS window_name
    FROM runs_enriched AS r CROSS JOIN n
)
SELECT
    window_name,
    count(*) AS runs,
    count(*) FILTER (WHERE status = 10) AS successes,
    count(*) FILTER (WHERE status = 20) AS errors,
    count(*) FILTER (WHERE status = 30) AS cancellations,
    count(*) FILTER (WHERE status = 10) / nullif(count(*) FILTER (WHERE status IN (10, 20)), 0)
        AS success_rate,
    quantile_cont(queued_seconds, 0.5) AS median_queued_seconds
FROM windowed
WHERE window_name IS NOT NULL
GROUP BY window_name
"""

JOB_HEALTH_SQL = """
SELECT *
FROM job_health
ORDER BY
    consecutive_failures > 0 AND NOT is_deleted DESC,
    is_deleted,
    consecutive_failures DESC,
    success_rate_30d NULLS LAST,
    runs_30d DESC,
    job_id
"""

SPARKLINE_SQL = """
WITH n AS (SELECT as_of FROM as_of),
recent AS (
    SELECT
        r.job_definition_id AS job_id,
        r.created_at,
        r.id,
        r.run_seconds,
        row_number() OVER (PARTITION BY r.job_definition_id ORDER BY r.created_at DESC, r.id DESC) AS recency
    FROM runs_enriched AS r CROSS JOIN n
    WHERE r.run_seconds IS NOT NULL
        AND r.created_at > n.as_of - to_days($days) AND r.created_at <= n.as_of
)
SELECT job_id, list(run_seconds ORDER BY created_at, id) AS run_seconds
FROM recent
WHERE recency <= $points
GROUP BY job_id
"""

DAILY_RUNS_SQL = """
WITH n AS (SELECT CAST(as_of AT TIME ZONE 'UTC' AS DATE) AS today FROM as_of),
days AS (
    SELECT CAST(d AS DATE) AS day
    FROM n, generate_series(n.today - ($days - 1), n.today, INTERVAL 1 DAY) AS g(d)
),
per_day AS (
    SELECT day, sum(runs) AS runs, sum(successes) AS successes, sum(errors) AS errors,
        sum(cancellations) AS cancellations, sum(run_minutes) AS run_minutes,
        sum(queued_minutes) AS queued_minutes
    FROM daily_runs
    GROUP BY day
)
SELECT
    d.day,
    coalesce(p.runs, 0) AS runs,
    coalesce(p.successes, 0) AS successes,
    coalesce(p.errors, 0) AS errors,
    coalesce(p.cancellations, 0) AS cancellations,
    coalesce(p.runs - p.successes - p.errors - p.cancellations, 0) AS open,
    coalesce(p.run_minutes, 0) AS run_minutes,
    coalesce(p.queued_minutes, 0) AS queued_minutes
FROM days AS d
LEFT JOIN per_day AS p ON p.day = d.day
ORDER BY d.day
"""

DAILY_QUEUE_SQL = """
WITH n AS (SELECT CAST(as_of AT TIME ZONE 'UTC' AS DATE) AS today FROM as_of)
SELECT
    CAST(r.created_at AT TIME ZONE 'UTC' AS DATE) AS day,
    count(r.queued_seconds) AS started_runs,
    quantile_cont(r.queued_seconds, 0.5) AS p50_queued_seconds,
    quantile_cont(r.queued_seconds, 0.95) AS p95_queued_seconds
FROM runs_enriched AS r CROSS JOIN n
WHERE r.queued_seconds IS NOT NULL
    AND CAST(r.created_at AT TIME ZONE 'UTC' AS DATE) BETWEEN n.today - ($days - 1) AND n.today
GROUP BY 1
ORDER BY 1
"""

SLOW_TREND_SQL = """
WITH n AS (SELECT as_of FROM as_of)
SELECT
    CAST(r.created_at AT TIME ZONE 'UTC' AS DATE) AS day,
    count(*) AS successes,
    quantile_cont(r.run_seconds, 0.5) AS p50_run_seconds
FROM runs_enriched AS r CROSS JOIN n
WHERE r.job_definition_id = $job_id
    AND r.status = 10
    AND r.run_seconds IS NOT NULL
    AND r.created_at > n.as_of - to_days($span) AND r.created_at <= n.as_of
GROUP BY 1
ORDER BY 1
"""

FAILURES_SQL = """
SELECT run_id, job_id, job_name, project_name, environment_name, status_message, trigger_kind,
    created_at, finished_at, run_seconds, git_branch, href
FROM failures
WHERE created_at > (SELECT as_of FROM as_of) - to_days($days) AND created_at <= (SELECT as_of FROM as_of)
ORDER BY finished_at DESC NULLS LAST, run_id DESC
"""

TEST_FAILURES_SQL = """
SELECT
    unique_id,
    any_value(test_name) AS test_name,
    count(*) AS times,
    count(*) FILTER (WHERE status IN ('fail', 'error')) AS failed,
    count(*) FILTER (WHERE status = 'warn') AS warned,
    count(DISTINCT job_id) AS jobs,
    max(run_created_at) AS last_run_created_at,
    arg_max(message, run_created_at) AS last_message,
    arg_max(href, run_created_at) AS last_href
FROM test_failures
WHERE run_created_at > (SELECT as_of FROM as_of) - to_days($days)
    AND run_created_at <= (SELECT as_of FROM as_of)
GROUP BY unique_id
ORDER BY times DESC, failed DESC, unique_id
LIMIT $top
"""


def read_report_data(con: duckdb.DuckDBPyConnection, days: int) -> ReportData:
    """Read everything the report shows; `con` is a read-only connection with the dataset on its path."""
    con.execute("SET TimeZone = 'UTC'")
    as_of = con.execute("SELECT as_of, as_of - to_days(?), as_of - to_days(2 * ?) FROM as_of", [days, days])
    as_of_value, window_start, previous_start = as_of.fetchall()[0]
    headline = {row.pop("window_name"): row for row in _rows(con, HEADLINE_SQL, {"days": days})}
    empty_window = {
        "runs": 0, "successes": 0, "errors": 0, "cancellations": 0,
        "success_rate": None, "median_queued_seconds": None,
    }  # fmt: skip
    for name in ("current", "previous"):
        headline.setdefault(name, dict(empty_window))

    jobs = _rows(con, JOB_HEALTH_SQL)
    sparklines = {
        row["job_id"]: row["run_seconds"]
        for row in _rows(con, SPARKLINE_SQL, {"days": days, "points": SPARKLINE_RUNS})
    }
    for job in jobs:
        job["recent_run_seconds"] = sparklines.get(job["job_id"], [])

    slow_jobs = _rows(con, "SELECT * FROM slow_runs")
    trends = {
        str(job["job_id"]): _rows(con, SLOW_TREND_SQL, {"job_id": job["job_id"], "span": SLOW_RUNS_DAYS})
        for job in slow_jobs[:SLOW_JOBS_CHARTED]
    }

    failures = _rows(con, FAILURES_SQL, {"days": FAILURES_DAYS})
    by_job: dict[Any, Row] = {}
    for failure in failures:
        entry = by_job.setdefault(
            failure["job_id"], {"job_id": failure["job_id"], "job_name": failure["job_name"], "failures": 0}
        )
        entry["failures"] += 1

    artifacts_loaded = _scalar(con, "SELECT count(*) FROM run_results")
    model_growth = _rows(
        con,
        """SELECT job_id, job_name, environment_name, unique_id, model_name, runs_30d,
               p50_execution_seconds_prev_30d, p50_execution_seconds_30d, change_pct, last_status
           FROM model_timings
           WHERE change_pct > 0 AND runs_30d >= ?
           ORDER BY change_pct DESC, job_id, unique_id
           LIMIT ?""",
        [GROWTH_MIN_RUNS, TOP_MODELS],
    )
    return ReportData(
        days=days,
        as_of=_value(as_of_value),
        window_start=_value(window_start),
        previous_window_start=_value(previous_start),
        account_ids=[
            row[0] for row in con.execute("SELECT DISTINCT account_id FROM jobs ORDER BY 1").fetchall()
        ],
        dbt_cloud_host=_scalar(
            con, "SELECT regexp_extract(any_value(href), '^(https?://[^/]+)') FROM runs_enriched"
        ),
        headline=headline,
        failing_jobs=sum(1 for job in jobs if job["consecutive_failures"] > 0 and not job["is_deleted"]),
        job_health=jobs,
        daily_runs=_rows(con, DAILY_RUNS_SQL, {"days": days}),
        daily_queue=_rows(con, DAILY_QUEUE_SQL, {"days": days}),
        slow_jobs=slow_jobs,
        slow_job_trends=trends,
        failures=failures[:FAILURES_SHOWN],
        failures_total=len(failures),
        failures_by_job=sorted(by_job.values(), key=lambda row: (-row["failures"], str(row["job_name"]))),
        artifacts_loaded=artifacts_loaded or 0,
        slowest_models=_rows(
            con,
            "SELECT * FROM slowest_models ORDER BY rank, job_id, unique_id LIMIT ?",
            [TOP_MODELS],
        ),
        model_growth=model_growth,
        models_with_previous_median=_scalar(
            con, "SELECT count(*) FROM model_timings WHERE p50_execution_seconds_prev_30d IS NOT NULL"
        ),
        test_failures=_rows(con, TEST_FAILURES_SQL, {"days": days, "top": TOP_TESTS}),
    )
