"""A store loaded from the simulator through the real entry point, shared by the report tests.

The simulated account's "now" is the current minute (as in `--demo`), so the load's artifact window
(`artifacts_days` before the load) holds runs and the model sections have data. The tests compare the
report with the views of the same file, so no assertion depends on the date.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt_cloud_simulator import DbtCloudSimulator
from entry_point import run_entry_point

TOKEN = "dbtc_report_secret_token"
HOSTILE_JOB_NAME = 'Nightly <script>alert("x")</script> & "marts"'


def _load(workdir: Path, runs: int, jobs: int, *flags: str) -> Path:
    with DbtCloudSimulator(runs=runs, jobs=jobs, seed=5, token=TOKEN) as sim:
        proc = run_entry_point(sim, workdir, *flags)
    assert proc.returncode == 0, proc.stderr
    return workdir / "dbt_runs.duckdb"


def slow_down_one_job(database: Path) -> int:
    """Make the busiest job's successful runs of the last 7 days three times longer: `slow_runs` lists it."""
    with duckdb.connect(str(database)) as con:
        job_id = con.execute(
            """SELECT job_definition_id FROM dbt_cloud.runs, dbt_cloud.as_of
               WHERE status = 10 AND created_at > as_of - INTERVAL 7 DAY
               GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"""
        ).fetchall()[0][0]
        con.execute(
            """UPDATE dbt_cloud.runs SET finished_at = started_at + 3 * (finished_at - started_at)
               WHERE job_definition_id = ? AND status = 10
                 AND created_at > (SELECT as_of FROM dbt_cloud.as_of) - INTERVAL 7 DAY""",
            [job_id],
        )
        con.execute("UPDATE dbt_cloud.jobs SET name = ? WHERE id = ?", [HOSTILE_JOB_NAME, job_id])
    return int(job_id)


@pytest.fixture(scope="session")
def report_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """(DuckDB file of a 2,000-run account with artifacts, the id of the job made slower)."""
    database = _load(tmp_path_factory.mktemp("report_store"), 2000, 40)
    return database, slow_down_one_job(database)


@pytest.fixture(scope="session")
def store_without_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _load(tmp_path_factory.mktemp("report_store_plain"), 300, 20, "--no-artifacts")


@pytest.fixture
def view(report_store: tuple[Path, int]) -> Iterator[Any]:
    """Run SQL on the loaded store (read-only, UTC): `view("SELECT ...")` -> list of dicts."""
    con = duckdb.connect(str(report_store[0]), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET search_path = 'dbt_cloud'")

    def query(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        result = con.execute(sql, params or [])
        names = [column[0] for column in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    try:
        yield query
    finally:
        con.close()


class ReportPage(HTMLParser):
    """What a program can read back from a report: its JSON block, table cells, charts, empty notes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.data_json = ""
        self.tables: dict[str, list[dict[str, str]]] = {}
        self.cards: dict[str, dict[str, str]] = {}
        self.charts: list[str] = []
        self.chart_svgs: dict[str, int] = {}
        self.empty: dict[str, str] = {}
        self.external: list[str] = []
        self._table: str | None = None
        self._row: dict[str, str] | None = None
        self._in_json = False
        self._chart: str | None = None
        self._empty: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for name in ("src", "href"):
            if a.get(name, "").startswith(("http://", "https://", "//")) and tag != "a":
                self.external.append(a[name])
        if tag == "link":
            self.external.append(a.get("href", ""))
        if tag == "script" and a.get("id") == "report-data":
            self._in_json = True
        elif tag == "table":
            self._table = a.get("id", "")
            self.tables[self._table] = []
        elif (
            tag == "tr"
            and self._table is not None
            and ("data-job-id" in a or "data-run-id" in a or "data-unique-id" in a)
        ):
            self._row = {k: v for k, v in a.items() if k.startswith("data-")}
            self.tables[self._table].append(self._row)
        elif tag == "td" and self._row is not None and "data-key" in a:
            self._row[a["data-key"]] = a.get("data-value", "")
        elif tag == "div" and "card" in a.get("class", "") and "data-key" in a:
            self.cards[a["data-key"]] = a
        elif tag == "figure" and "data-chart" in a:
            self._chart = a["data-chart"]
            self.charts.append(self._chart)
            self.chart_svgs[self._chart] = 0
        elif tag == "svg" and self._chart:
            self.chart_svgs[self._chart] += 1
        elif tag == "p" and "data-empty" in a:
            self._empty = a["data-empty"]
            self.empty[self._empty] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_json = False
        elif tag == "table":
            self._table = None
        elif tag == "tr":
            self._row = None
        elif tag == "figure":
            self._chart = None
        elif tag == "p":
            self._empty = None

    def handle_data(self, data: str) -> None:
        if self._in_json:
            self.data_json += data
        if self._empty:
            self.empty[self._empty] += data
