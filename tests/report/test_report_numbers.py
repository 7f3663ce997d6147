"""The report's numbers, read back from the file, equal the views' answers on the same store.

The report is written by the real entry point (`report` subcommand) from a simulator-loaded store;
expected values are computed here from the views' rows (in Python where a rule is simple enough to
restate: windows, rates, medians), not by the report's own queries.
"""

from __future__ import annotations

import json
import statistics
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import HOSTILE_JOB_NAME, ReportPage
from entry_point import run_entry_point

pytestmark = pytest.mark.e2e

DAYS = 30


def iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def cell(value: Any) -> str:
    """What a table cell's data-value holds for a value: empty for NULL, 1/0 for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def quantile(values: list[float], q: float) -> float | None:
    """Interpolated quantile, as DuckDB's quantile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@pytest.fixture(scope="module")
def report(
    report_store: tuple[Path, int], tmp_path_factory: pytest.TempPathFactory
) -> tuple[ReportPage, dict, str]:
    out = tmp_path_factory.mktemp("report") / "report.html"
    proc = run_entry_point(
        None,
        out.parent,
        "report",
        "--database",
        str(report_store[0]),
        "--output",
        str(out),
        "--days",
        str(DAYS),
    )
    assert proc.returncode == 0, proc.stderr
    assert str(out) in proc.stdout
    html = out.read_text(encoding="utf-8")
    page = ReportPage(html)
    return page, json.loads(page.data_json), html


def test_header_and_headline_equal_runs_enriched(report, view) -> None:
    page, data, _ = report
    as_of = view("SELECT as_of FROM as_of")[0]["as_of"]
    assert data["as_of"] == as_of.isoformat()
    runs = view("SELECT created_at, status, queued_seconds FROM runs_enriched")
    windows = {
        "current": (as_of - timedelta(days=DAYS), as_of),
        "previous": (as_of - timedelta(days=2 * DAYS), as_of - timedelta(days=DAYS)),
    }
    for name, (start, end) in windows.items():
        inside = [r for r in runs if start < r["created_at"] <= end]
        successes = sum(r["status"] == 10 for r in inside)
        errors = sum(r["status"] == 20 for r in inside)
        expected = {
            "runs": len(inside),
            "successes": successes,
            "errors": errors,
            "cancellations": sum(r["status"] == 30 for r in inside),
            "success_rate": successes / (successes + errors),
            "median_queued_seconds": statistics.median(
                r["queued_seconds"] for r in inside if r["queued_seconds"] is not None
            ),
        }
        assert data["headline"][name] == pytest.approx(expected), name
        assert expected["runs"] > 100, "the window has data"
    for key in ("runs", "success_rate", "errors", "median_queued_seconds"):
        assert float(page.cards[key]["data-value"]) == pytest.approx(data["headline"]["current"][key])
        assert float(page.cards[key]["data-previous"]) == pytest.approx(data["headline"]["previous"][key])
    failing = view("SELECT count(*) AS n FROM job_health WHERE consecutive_failures > 0 AND NOT is_deleted")
    assert int(page.cards["failing_jobs"]["data-value"]) == data["failing_jobs"] == failing[0]["n"]
    assert data["account_ids"] == [row["account_id"] for row in view("SELECT DISTINCT account_id FROM jobs")]


def test_job_health_table_is_the_view_failing_jobs_first(report, view) -> None:
    page, data, _ = report
    expected = {
        row["job_id"]: {k: iso(v) for k, v in row.items()} for row in view("SELECT * FROM job_health")
    }
    shown = {
        row["job_id"]: {k: v for k, v in row.items() if k != "recent_run_seconds"}
        for row in data["job_health"]
    }
    assert shown == expected  # every job, every column, exactly (JSON keeps doubles exact)
    rows = page.tables["job-health-table"]
    assert [int(r["data-job-id"]) for r in rows] == [job["job_id"] for job in data["job_health"]]
    for html_row, job in zip(rows, data["job_health"], strict=True):
        for key in (
            "job_name",
            "last_status_name",
            "consecutive_failures",
            "success_rate_30d",
            "runs_30d",
            "p50_run_seconds_30d",
            "p95_run_seconds_30d",
            "p95_queued_seconds_30d",
            "last_run_at",
        ):
            assert html_row[key] == cell(job[key]), (job["job_id"], key)
    failing = [not job["is_deleted"] and job["consecutive_failures"] > 0 for job in data["job_health"]]
    assert any(failing), "the simulated account has failing jobs"
    assert failing == sorted(failing, reverse=True), "failing jobs come first"
    deleted = [job["is_deleted"] for job in data["job_health"] if not job["consecutive_failures"]]
    assert deleted == sorted(deleted), "deleted jobs come last"


def test_sparklines_are_each_jobs_latest_run_times(report, view) -> None:
    _, data, _ = report
    as_of = datetime.fromisoformat(data["as_of"])
    runs = view(
        "SELECT job_definition_id AS job_id, id, created_at, run_seconds FROM runs_enriched "
        "WHERE run_seconds IS NOT NULL ORDER BY created_at, id"
    )
    limit = data["limits"]["sparkline_runs"]
    for job in data["job_health"]:
        points = [
            r["run_seconds"]
            for r in runs
            if r["job_id"] == job["job_id"] and as_of - timedelta(days=DAYS) < r["created_at"] <= as_of
        ]
        assert job["recent_run_seconds"] == pytest.approx(points[-limit:]), job["job_id"]
    assert any(len(job["recent_run_seconds"]) == limit for job in data["job_health"])


def test_daily_charts_equal_daily_runs_and_runs_enriched(report, view) -> None:
    page, data, _ = report
    as_of = datetime.fromisoformat(data["as_of"])
    days = [as_of.date() - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    assert [row["day"] for row in data["daily_runs"]] == [d.isoformat() for d in days]
    per_day = view("SELECT * FROM daily_runs")
    for row in data["daily_runs"]:
        same_day = [r for r in per_day if r["day"].isoformat() == row["day"]]
        for key in ("runs", "successes", "errors", "cancellations"):
            assert row[key] == sum(r[key] for r in same_day), (row["day"], key)
        assert row["open"] == row["runs"] - row["successes"] - row["errors"] - row["cancellations"]
        assert row["run_minutes"] == pytest.approx(sum(r["run_minutes"] for r in same_day))
    queued = view("SELECT created_at, queued_seconds FROM runs_enriched WHERE queued_seconds IS NOT NULL")
    expected_queue = []
    for day in days:
        values = [r["queued_seconds"] for r in queued if r["created_at"].date() == day]
        if values:
            expected_queue.append(
                {
                    "day": day.isoformat(),
                    "started_runs": len(values),
                    "p50_queued_seconds": quantile(values, 0.5),
                    "p95_queued_seconds": quantile(values, 0.95),
                }
            )
    assert len(data["daily_queue"]) == len(expected_queue)
    for shown, expected in zip(data["daily_queue"], expected_queue, strict=True):
        assert shown == pytest.approx(expected)
    assert page.chart_svgs["runs_per_day"] == 1 and page.chart_svgs["queue_per_day"] == 1


def test_slowed_down_job_is_slow_runs(report, view, report_store) -> None:
    page, data, _ = report
    expected = [{k: iso(v) for k, v in row.items()} for row in view("SELECT * FROM slow_runs")]
    assert data["slow_jobs"] == expected
    assert report_store[1] in [job["job_id"] for job in data["slow_jobs"]]
    assert [int(r["data-job-id"]) for r in page.tables["slow-jobs-table"]] == [j["job_id"] for j in expected]
    trend = data["slow_job_trends"][str(report_store[1])]
    as_of = datetime.fromisoformat(data["as_of"])
    runs = view(
        "SELECT created_at, run_seconds FROM runs_enriched WHERE job_definition_id = ? AND status = 10 "
        "AND run_seconds IS NOT NULL",
        [report_store[1]],
    )
    for point in trend:
        values = [
            r["run_seconds"]
            for r in runs
            if r["created_at"].date().isoformat() == point["day"]
            and as_of - timedelta(days=35) < r["created_at"] <= as_of
        ]
        assert point["p50_run_seconds"] == pytest.approx(quantile(values, 0.5))
    assert page.chart_svgs["slow_job_trends"] == 1


def test_failures_of_the_last_seven_days_are_the_failures_view(report, view) -> None:
    page, data, _ = report
    expected = view(
        "SELECT run_id, href FROM failures, as_of WHERE created_at > as_of - INTERVAL 7 DAY "
        "AND created_at <= as_of ORDER BY finished_at DESC NULLS LAST, run_id DESC"
    )
    assert expected, "the simulated account failed runs this week"
    assert data["failures_total"] == len(expected)
    assert [row["run_id"] for row in data["failures"]] == [row["run_id"] for row in expected][:200]
    assert [int(r["data-run-id"]) for r in page.tables["failures-table"]] == [
        row["run_id"] for row in data["failures"]
    ]
    assert all(row["href"] for row in data["failures"]), "each failure links to dbt Cloud"
    per_job = {}
    for row in data["failures"]:
        per_job[row["job_id"]] = per_job.get(row["job_id"], 0) + 1
    assert {row["job_id"]: row["failures"] for row in data["failures_by_job"]} == per_job
    assert page.chart_svgs["failures_by_job"] == 1


def test_model_and_test_sections_are_the_artifact_views(report, view) -> None:
    page, data, _ = report
    expected = [
        {k: iso(v) for k, v in row.items()}
        for row in view("SELECT * FROM slowest_models ORDER BY rank, job_id, unique_id LIMIT 15")
    ]
    assert expected and data["slowest_models"] == expected
    assert [r["data-unique-id"] for r in page.tables["slowest-models-table"]] == [
        m["unique_id"] for m in expected
    ]
    compared = view(
        "SELECT count(*) AS n FROM model_timings WHERE p50_execution_seconds_prev_30d IS NOT NULL"
    )
    if compared[0]["n"] == 0:  # artifacts of a first load go back artifacts_days (14), not 30-60 days
        assert data["model_growth"] == []
        assert "Nothing to compare with yet" in page.empty["model_growth"]
    results = view(
        "SELECT unique_id, status FROM test_failures, as_of "
        "WHERE run_created_at > as_of - INTERVAL 30 DAY AND run_created_at <= as_of"
    )
    counts: dict[str, dict[str, int]] = {}
    for row in results:
        entry = counts.setdefault(row["unique_id"], {"failed": 0, "warned": 0})
        entry["warned" if row["status"] == "warn" else "failed"] += 1
    assert data["test_failures"], "the simulated account has failing and warning tests"
    for shown in data["test_failures"]:
        assert {"failed": shown["failed"], "warned": shown["warned"]} == counts[shown["unique_id"]]
        assert shown["times"] == shown["failed"] + shown["warned"]
    times = sorted((c["failed"] + c["warned"] for c in counts.values()), reverse=True)
    assert [t["times"] for t in data["test_failures"]] == times[: len(data["test_failures"])]
    assert page.chart_svgs["slowest_models"] == 1 and page.chart_svgs["test_failures"] == 1


def test_file_is_self_contained_and_escapes_store_text(report) -> None:
    page, _, html = report
    assert page.external == [], "nothing is fetched when the file opens"
    assert all(count == 1 for count in page.chart_svgs.values())
    assert set(page.charts) | set(page.empty) == {
        "runs_per_day",
        "queue_per_day",
        "slow_job_trends",
        "failures_by_job",
        "slowest_models",
        "model_growth",
        "test_failures",
    }
    names = [row["job_name"] for row in page.tables["job-health-table"]]
    assert HOSTILE_JOB_NAME in names, "the job name survives, as text"
    assert '<script>alert("x")' not in html and "&lt;script&gt;alert(" in html
    assert len(html.encode()) < 5_000_000
