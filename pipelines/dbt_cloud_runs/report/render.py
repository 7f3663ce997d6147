"""Assemble the report: the numbers from `queries`, the charts from `charts`, one Jinja2 template.

Jinja2 escapes every value from the store (job names, dbt messages) so a message with `<script>` in
it stays text. The numbers go in twice: shown formatted, and raw in `data-value` attributes and a
`<script type="application/json" id="report-data">` block, so the table sorts on real values and a
program (or a test) can read back exactly what the report shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from . import charts
from .queries import ReportData

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass
class Chart:
    """A drawn chart (inline SVG) or, when there is nothing to draw, the sentence that says why."""

    svg: str | None
    empty_reason: str | None = None


# -- formatting ----------------------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{100 * rate:.1f} %"


def when(iso: str | None) -> str:
    if not iso:
        return "–"
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def short_when(iso: str | None) -> str:
    """A timestamp in a table cell (the column header says UTC)."""
    return "–" if not iso else datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def number(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def raw(value: Any) -> str:
    """The `data-value` of a cell: what the table sorts on; empty for NULL (sorted last)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


# -- headline ------------------------------------------------------------------------------------


def headline_cards(data: ReportData) -> list[dict[str, Any]]:
    """Runs, success rate, failures and median queue time over the window, against the window before.

    `better` says whether the change is good news: more runs is neutral, a higher success rate good,
    more failures and longer queues bad.
    """
    current, previous = data.headline["current"], data.headline["previous"]

    def card(key: str, label: str, shown: str, before: str, delta: str | None, better: bool | None) -> dict:
        return {
            "key": key,
            "label": label,
            "value": current[key],
            "previous": previous[key],
            "shown": shown,
            "before": before,
            "delta": delta,
            "tone": "same" if better is None else ("better" if better else "worse"),
        }

    def change(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b

    runs_change = change(current["runs"], previous["runs"])
    rate_change = change(current["success_rate"], previous["success_rate"])
    errors_change = change(current["errors"], previous["errors"])
    queue_change = change(current["median_queued_seconds"], previous["median_queued_seconds"])
    return [
        card(
            "runs",
            "Runs",
            number(current["runs"]),
            number(previous["runs"]),
            None if runs_change is None else f"{runs_change:+,.0f}",
            None,
        ),
        card(
            "success_rate",
            "Success rate",
            percent(current["success_rate"]),
            percent(previous["success_rate"]),
            None if rate_change is None else f"{100 * rate_change:+.1f} pts",
            None if not rate_change else rate_change > 0,
        ),
        card(
            "errors",
            "Failed runs",
            number(current["errors"]),
            number(previous["errors"]),
            None if errors_change is None else f"{errors_change:+,.0f}",
            None if not errors_change else errors_change < 0,
        ),
        card(
            "median_queued_seconds",
            "Median queue time",
            duration(current["median_queued_seconds"]),
            duration(previous["median_queued_seconds"]),
            None
            if queue_change is None
            else f"{'+' if queue_change >= 0 else '-'}{duration(abs(queue_change))}",
            None if not queue_change else queue_change < 0,
        ),
    ]


# -- charts --------------------------------------------------------------------------------------


def draw_charts(data: ReportData) -> dict[str, Chart]:
    """Every chart of the report, or why it is empty."""
    result: dict[str, Chart] = {}
    if any(row["runs"] for row in data.daily_runs):
        result["runs_per_day"] = Chart(charts.runs_per_day(data.daily_runs))
    else:
        result["runs_per_day"] = Chart(None, f"No runs were created in the last {data.days} days.")
    if data.daily_queue:
        result["queue_per_day"] = Chart(charts.queue_per_day(data.daily_queue))
    else:
        result["queue_per_day"] = Chart(None, f"No run started in the last {data.days} days.")
    charted = data.slow_jobs[: data.limits["slow_jobs_charted"]]
    if charted:
        result["slow_job_trends"] = Chart(charts.slow_job_trends(charted, data.slow_job_trends))
    else:
        result["slow_job_trends"] = Chart(
            None,
            "No job slowed down: no job's median successful run time this week is 1.5x or more its median "
            "of the four weeks before (view slow_runs; a job needs 3 successful runs in each window).",
        )
    if data.failures_by_job:
        top = data.failures_by_job[:15]
        result["failures_by_job"] = Chart(
            charts.horizontal_bars(
                "failures_by_job",
                [row["job_name"] or f"job {row['job_id']}" for row in top],
                {"failed runs": [row["failures"] for row in top]},
                {"failed runs": charts.STATUS_COLORS["errors"]},
                f"failed runs, last {data.limits['failures_days']} days",
                integer=True,
            )
        )
    else:
        result["failures_by_job"] = Chart(
            None, f"No run failed in the last {data.limits['failures_days']} days."
        )
    no_artifacts = (
        "No run artifacts are loaded: model and test results come from each run's run_results.json, "
        "which loads fetch unless artifacts are off (--no-artifacts, [dbt_cloud] artifacts = false)."
    )
    if not data.artifacts_loaded:
        for name in ("slowest_models", "model_growth", "test_failures"):
            result[name] = Chart(None, no_artifacts)
        return result
    if data.slowest_models:
        rows = data.slowest_models
        scale, unit = charts.duration_unit([row["total_execution_seconds_7d"] for row in rows])
        result["slowest_models"] = Chart(
            charts.horizontal_bars(
                "slowest_models",
                [f"{row['model_name']} ({row['job_name'] or row['job_id']})" for row in rows],
                {"total": [row["total_execution_seconds_7d"] / scale for row in rows]},
                {"total": charts.LINE},
                f"total execution time, last 7 days ({unit})",
            )
        )
    else:
        result["slowest_models"] = Chart(None, "No model ran in the last 7 days (view slowest_models).")
    if data.model_growth:
        rows = data.model_growth
        result["model_growth"] = Chart(
            charts.horizontal_bars(
                "model_growth",
                [f"{row['model_name']} ({row['job_name'] or row['job_id']})" for row in rows],
                {"change": [row["change_pct"] for row in rows]},
                {"change": charts.ACCENT},
                "change of the median execution time, last 30 days vs the 30 days before (%)",
            )
        )
    elif not data.models_with_previous_median:
        result["model_growth"] = Chart(
            None,
            "Nothing to compare with yet: a model's growth compares its median of the last 30 days with "
            "the 30 days before, and no model has results from 30 to 60 days ago (a store's first load "
            "fetches first_load_artifacts_days of artifacts, 60 by default; a store first loaded with "
            "fewer fills in as its loads go on).",
        )
    else:
        result["model_growth"] = Chart(
            None,
            f"No model got slower: none with {data.limits['growth_min_runs']} or more executions in 30 days "
            "has a higher median than in the 30 days before (view model_timings).",
        )
    if data.test_failures:
        rows = data.test_failures
        result["test_failures"] = Chart(
            charts.horizontal_bars(
                "test_failures",
                [row["test_name"] for row in rows],
                {"failed": [row["failed"] for row in rows], "warned": [row["warned"] for row in rows]},
                {"failed": charts.STATUS_COLORS["errors"], "warned": charts.ACCENT},
                f"test results that failed or warned, last {data.days} days",
                integer=True,
            )
        )
    else:
        result["test_failures"] = Chart(None, f"No test failed or warned in the last {data.days} days.")
    return result


def sparklines(data: ReportData) -> dict[Any, str]:
    return {
        job["job_id"]: charts.sparkline(job["recent_run_seconds"], f"spark_{job['job_id']}")
        for job in data.job_health
        if job["recent_run_seconds"]
    }


# -- page ----------------------------------------------------------------------------------------


def render_html(data: ReportData, source: str, generated_at: datetime) -> str:
    """The whole page as one string."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        duration=duration, percent=percent, when=when, short_when=short_when, number=number, raw=raw
    )
    template = environment.get_template("report.html.j2")
    return template.render(
        data=data,
        report_json=data.as_json(),
        cards=headline_cards(data),
        charts=draw_charts(data),
        sparklines=sparklines(data),
        source=source,
        generated_at=generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
