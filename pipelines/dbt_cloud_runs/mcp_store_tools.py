"""MCP tools that answer from the loaded history (the DuckDB store), never calling the API.

Every call opens the store read-only through `store.read_only_connection` (the reader copy when
`[dbt_cloud] publish_path` is set), with DuckDB's external access off, and closes it before answering:
a server left running holds nothing, so it never makes a scheduled load fail. A call that meets a load
holding the file waits a few seconds, then answers an error saying to try again (from `store.py`).

"Now" is the views' `as_of` (the start of the latest load), returned with every answer, so windows
such as "the last 24 hours" mean the same thing here as in the views and between loads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import duckdb
from pydantic import Field

from .errors import DestinationError
from .mcp_answers import JsonDict, table
from .mcp_query import check_select
from .settings import STATUS_CANCELLED, STATUS_ERROR, STATUS_SUCCESS
from .store import read_only_connection

STATEMENT_SECONDS = 10.0
"""A statement still running after this long is interrupted: a runaway agent query would otherwise keep
the store open and make the next scheduled load wait or fail. DuckDB has no statement timeout of its own."""

MAX_ROWS = 1000
"""The most rows any store tool returns in one answer."""

COMPILE_ONLY_COMMANDS = ("generate", "compile", "show", "list", "ls", "parse")
"""run_results documents of these commands hold compile times, not build times; the model views in
`sql/model_timings.sql` and `sql/slowest_models.sql` leave out the same list."""

RUN_AT = "coalesce(r.created_at, rr.execute_started_at, rr.compile_started_at, rr.generated_at)"
"""When a model result happened, as the model views date it: its run's creation, else its own times."""

JobId = Annotated[int, Field(description="dbt Cloud job id (job_definition_id)")]
Limit = Annotated[int, Field(ge=1, le=MAX_ROWS, description=f"most rows to return (1-{MAX_ROWS})")]
Days = Annotated[int, Field(ge=1, le=3660, description="how many days back from the latest load")]
Hours = Annotated[int, Field(ge=1, le=87840, description="how many hours back from the latest load")]


class StoreTools:
    """The store tools, bound to one DuckDB file (None: the file `store.store_path()` picks per call)."""

    def __init__(self, database: Path | None = None) -> None:
        self.database = database

    @contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only, no-external-access connection, closed after the call; UTC; statements time-limited."""
        with read_only_connection(self.database, external_access=False) as connection:
            connection.execute("SET TimeZone = 'UTC'")
            # DuckDB draws a progress bar on the terminal for long statements: on stdio it would corrupt
            # the MCP stream.
            connection.execute("SET enable_progress_bar = false")
            timer = threading.Timer(STATEMENT_SECONDS, connection.interrupt)
            timer.daemon = True
            timer.start()
            try:
                yield connection
            except duckdb.InterruptException:
                raise DestinationError(
                    f"the statement ran longer than {STATEMENT_SECONDS:g} s and was stopped: narrow it "
                    "(filter on a job or a time window, aggregate) and try again."
                ) from None
            except duckdb.Error as exc:
                reason = str(exc).strip().splitlines()[0][:400]
                raise DestinationError(f"the store could not answer: {reason}") from None
            finally:
                timer.cancel()

    @staticmethod
    def _rows(
        connection: duckdb.DuckDBPyConnection, sql: str, params: list[Any], limit: int, **extra: Any
    ) -> JsonDict:
        """Run a statement and shape up to `limit` rows (one more is read to tell `truncated`)."""
        result = connection.execute(sql, params)
        columns = _unique_names([column[0] for column in result.description or []])
        rows = result.fetchmany(limit + 1)  # before the next statement, which would discard this result
        as_of = connection.execute("SELECT as_of FROM as_of").fetchone()
        return table(columns, rows, limit, as_of=as_of[0] if as_of else None, **extra)

    # -- tools ------------------------------------------------------------------------------------

    def job_health(
        self,
        job_id: Annotated[int | None, Field(description="only this job")] = None,
        name: Annotated[
            str | None, Field(description="only jobs whose name contains this (any case)")
        ] = None,
        limit: Limit = 20,
    ) -> JsonDict:
        """How each dbt Cloud job is doing, from the stored history (no API call): last run and its
        status, last success and hours since, Error runs in a row since then, runs and success rate over
        7 and 30 days, median and p95 run time and p95 queue time (seconds). Rows of the `job_health`
        view, most failures in a row first. Prefer this over the live API for "is job X healthy?",
        "which jobs are failing?", "when did X last succeed?"."""
        sql = """
            SELECT * FROM job_health
            WHERE (CAST(? AS BIGINT) IS NULL OR job_id = ?)
              AND (CAST(? AS VARCHAR) IS NULL OR job_name ILIKE '%' || ? || '%')
            ORDER BY consecutive_failures DESC, last_run_at DESC NULLS LAST, job_id
        """
        with self._connection() as connection:
            return self._rows(connection, sql, [job_id, job_id, name, name], limit)

    def recent_failures(
        self,
        hours: Hours = 24,
        job_id: Annotated[int | None, Field(description="only runs of this job")] = None,
        limit: Limit = 20,
    ) -> JsonDict:
        """Runs that ended in Error in the last `hours` before the latest load, newest first, from the
        stored history (no API call): job, project and environment names, dbt Cloud's status message,
        trigger, times and a link. Rows of the `failures` view; `failed_runs` counts them all even when
        the rows are truncated. For the failing models and their messages, call get_run_error."""
        where = """
            FROM failures
            WHERE finished_at > (SELECT as_of FROM as_of) - to_hours(CAST(? AS BIGINT))
              AND finished_at <= (SELECT as_of FROM as_of)
              AND (CAST(? AS BIGINT) IS NULL OR job_id = ?)
        """
        params = [hours, job_id, job_id]
        with self._connection() as connection:
            count = connection.execute(f"SELECT count(*) {where}", params).fetchone()
            sql = f"SELECT * {where} ORDER BY finished_at DESC, run_id DESC"
            return self._rows(
                connection, sql, params, limit, hours=hours, failed_runs=count[0] if count else 0
            )

    def run_history(self, job_id: JobId, days: Days = 30, limit: Limit = 100) -> JsonDict:
        """One job's runs over the last `days` before the latest load, newest first, from the stored
        history (which keeps runs older than the year dbt Cloud serves): status, trigger, created /
        started / finished times, queue and run seconds, message. `summary` counts the whole window
        (runs, successes, errors, cancelled, still open, success rate, median and max run seconds),
        so "how often did this job fail this month" needs no rows. Columns of `runs_enriched`."""
        window = """
            FROM runs_enriched
            WHERE job_definition_id = ?
              AND created_at > (SELECT as_of FROM as_of) - to_days(CAST(? AS BIGINT))
              AND created_at <= (SELECT as_of FROM as_of)
        """
        params = [job_id, days]
        columns = (
            "id, status_name, trigger_cause, trigger_kind, created_at, started_at, finished_at, "
            "queued_seconds, run_seconds, git_branch, status_message"
        )
        with self._connection() as connection:
            summary_row = connection.execute(
                f"""SELECT count(*) AS runs,
                        count(*) FILTER (WHERE status = {STATUS_SUCCESS}) AS successes,
                        count(*) FILTER (WHERE status = {STATUS_ERROR}) AS errors,
                        count(*) FILTER (WHERE status = {STATUS_CANCELLED}) AS cancelled,
                        count(*) FILTER (WHERE NOT coalesce(is_final, false)) AS open,
                        count(*) FILTER (WHERE status = {STATUS_SUCCESS}) / nullif(
                            count(*) FILTER (WHERE status IN ({STATUS_SUCCESS}, {STATUS_ERROR})), 0
                        ) AS success_rate,
                        quantile_cont(run_seconds, 0.5) AS p50_run_seconds,
                        max(run_seconds) AS max_run_seconds
                    {window}""",
                params,
            )
            names = [column[0] for column in summary_row.description or []]
            values = summary_row.fetchone() or ()
            job = connection.execute("SELECT (SELECT name FROM jobs WHERE id = ?)", [job_id]).fetchone()
            return self._rows(
                connection,
                f"SELECT {columns} {window} ORDER BY created_at DESC, id DESC",
                params,
                limit,
                job_id=job_id,
                job_name=job[0] if job else None,
                days=days,
                summary=dict(zip(names, values, strict=False)),
            )

    def model_history(
        self,
        name: Annotated[
            str, Field(description="model name (e.g. fct_orders) or unique_id (model.pkg.fct_orders)")
        ],
        days: Days = 30,
        limit: Limit = 200,
    ) -> JsonDict:
        """One model's executions over the last `days` before the latest load, newest first, from the
        stored run_results.json of each run (no API call; dbt Cloud keeps model history two months):
        run, job, status, execution seconds, rows affected, message. `summary` gives the executions,
        errors, and the median / p95 / max execution seconds of successful ones over the window. Use
        it for "did model X get slower?" and "when did X start failing?"."""
        window = f"""
            FROM run_results AS rr
            LEFT JOIN runs AS r ON r.id = rr.run_id
            LEFT JOIN jobs AS j ON j.id = coalesce(r.job_definition_id, rr.job_definition_id)
            WHERE (rr.name = ? OR rr.unique_id = ?)
              AND coalesce(rr.command, '') NOT IN {COMPILE_ONLY_COMMANDS!r}
              AND {RUN_AT}
                  > (SELECT as_of FROM as_of) - to_days(CAST(? AS BIGINT))
              AND {RUN_AT}
                  <= (SELECT as_of FROM as_of)
        """
        params = [name, name, days]
        with self._connection() as connection:
            summary_row = connection.execute(
                f"""SELECT count(*) FILTER (WHERE rr.status IS DISTINCT FROM 'skipped') AS executions,
                        count(*) FILTER (WHERE rr.status IN ('error', 'fail', 'runtime error')) AS errors,
                        round(quantile_cont(rr.execution_time, 0.5) FILTER (WHERE rr.status = 'success'), 3)
                            AS p50_execution_seconds,
                        round(quantile_cont(rr.execution_time, 0.95) FILTER (WHERE rr.status = 'success'), 3)
                            AS p95_execution_seconds,
                        round(max(rr.execution_time) FILTER (WHERE rr.status = 'success'), 3)
                            AS max_execution_seconds
                    {window}""",
                params,
            )
            names = [column[0] for column in summary_row.description or []]
            values = summary_row.fetchone() or ()
            sql = f"""
                SELECT rr.run_id,
                    coalesce(r.job_definition_id, rr.job_definition_id) AS job_id,
                    j.name AS job_name,
                    rr.unique_id,
                    rr.resource_type,
                    rr.status,
                    rr.execution_time,
                    rr.rows_affected,
                    {RUN_AT}
                        AS run_at,
                    rr.message
                {window}
                ORDER BY run_at DESC, rr.run_id DESC, rr.unique_id
            """
            return self._rows(
                connection,
                sql,
                params,
                limit,
                name=name,
                days=days,
                summary=dict(zip(names, values, strict=False)),
            )

    def slowest_models(
        self,
        days: Days = 7,
        limit: Annotated[int, Field(ge=1, le=MAX_ROWS, description="how many models (1-1000)")] = 20,
    ) -> JsonDict:
        """Where the warehouse time goes: models ranked by their total execution time over the last
        `days` before the latest load, per job (a model two jobs build is listed once per job), with
        runs and average / max seconds; skipped executions and compile-only documents are not counted.
        The `slowest_models` view's rule with a window of your choice (its columns without the `_7d`
        suffix). From the stored history, no API call."""
        sql = f"""
            WITH results AS (
                SELECT coalesce(r.job_definition_id, rr.job_definition_id) AS job_id,
                    rr.unique_id,
                    rr.name AS model_name,
                    rr.execution_time,
                    {RUN_AT} AS run_at
                FROM run_results AS rr
                LEFT JOIN runs AS r ON r.id = rr.run_id
                CROSS JOIN as_of AS n
                WHERE rr.resource_type = 'model'
                    AND coalesce(rr.command, '') NOT IN {COMPILE_ONLY_COMMANDS!r}
                    AND rr.status IS DISTINCT FROM 'skipped'
                    AND {RUN_AT}
                        > n.as_of - to_days(CAST(? AS BIGINT))
                    AND {RUN_AT}
                        <= n.as_of
            ),
            per_model AS (
                SELECT job_id, unique_id, arg_max(model_name, run_at) AS model_name, count(*) AS runs,
                    coalesce(sum(execution_time), 0) AS total_seconds, avg(execution_time) AS avg_seconds,
                    max(execution_time) AS max_seconds
                FROM results
                GROUP BY job_id, unique_id
            )
            SELECT rank() OVER (ORDER BY m.total_seconds DESC) AS rank, m.unique_id, m.model_name, m.job_id,
                j.name AS job_name, m.runs,
                round(m.total_seconds, 3) AS total_execution_seconds,
                round(m.avg_seconds, 3) AS avg_execution_seconds,
                round(m.max_seconds, 3) AS max_execution_seconds
            FROM per_model AS m
            LEFT JOIN jobs AS j ON j.id = m.job_id
            ORDER BY rank, m.job_id, m.unique_id
        """
        with self._connection() as connection:
            return self._rows(connection, sql, [days], limit, days=days)

    def query(
        self,
        sql: Annotated[
            str,
            Field(description="one DuckDB SELECT or WITH ... SELECT; the dbt_cloud. prefix is optional"),
        ],
        limit: Annotated[int, Field(ge=1, le=MAX_ROWS, description="most rows to return (1-1000)")] = 200,
    ) -> JsonDict:
        """Any read-only question the other tools do not answer: one SELECT (or WITH ... SELECT) over the
        stored dataset, DuckDB SQL. Tables: runs, jobs, projects, environments, loads, run_results,
        run_artifacts. Views: runs_enriched, job_health, daily_runs, failures, run_triggers, slow_runs,
        status_codes, model_timings, slowest_models, test_failures, as_of ("now" = latest load). The
        `dbt_cloud.` schema prefix may be left out. Anything else (several statements, INSERT, ATTACH,
        COPY, PRAGMA, SET) is refused, and files cannot be read. Aggregate in SQL rather than fetching
        many rows; answers stop at `limit` rows with `truncated` true."""
        statement = check_select(sql)
        with self._connection() as connection:
            return self._rows(connection, statement, [], limit)


def _unique_names(names: list[str]) -> list[str]:
    """Column names as keys: `SELECT 1 AS a, 2 AS a` keeps both, the second as `a_2`."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return unique
