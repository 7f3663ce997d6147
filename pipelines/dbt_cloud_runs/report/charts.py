"""The report's charts, drawn with matplotlib and returned as inline SVG text.

SVG embeds in the HTML as it is (no image files, no JavaScript, nothing fetched when the file is
opened), stays sharp when zoomed, and is small for the few hundred marks a chart has. Text is kept as
SVG text (`svg.fonttype = none`), not glyph outlines, which keeps each chart a few tens of kB. Each
chart gets its own id salt so clip-path ids of several charts on one page never collide, and the
same data always gives the same bytes.

Measured: about 5 ms per sparkline and 50-100 ms per chart; importing matplotlib about 0.4 s.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

import matplotlib

matplotlib.use("svg")  # no GUI backend: the report runs under cron and in CI

from matplotlib import dates as mdates  # noqa: E402 - after choosing the backend
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

STATUS_COLORS = {
    "successes": "#2e7d32",
    "errors": "#c62828",
    "cancellations": "#9e9e9e",
    "open": "#1565c0",
}
STATUS_LABELS = {"successes": "Success", "errors": "Error", "cancellations": "Cancelled", "open": "Open"}
LINE = "#37474f"
ACCENT = "#ef6c00"

STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#90a4ae",
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#eceff1",
    "axes.axisbelow": True,
    "xtick.color": "#546e7a",
    "ytick.color": "#546e7a",
    "legend.frameon": False,
}

_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def _svg(fig: Figure, salt: str) -> str:
    """The figure as an `<svg>` element (no XML prologue), with ids unique to `salt`."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return _PROLOGUE.sub("", buffer.getvalue(), count=1)


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def _days(rows: Sequence[dict[str, Any]]) -> list[Any]:
    # dates, typed Any: matplotlib plots them through its unit converters; its stubs only admit numbers
    return [date.fromisoformat(row["day"]) for row in rows]


def _date_axis(ax: Any) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def duration_unit(values: Sequence[float | None]) -> tuple[float, str]:
    """Seconds, minutes or hours, whichever keeps the axis readable."""
    largest = max((value for value in values if value is not None), default=0.0)
    if largest >= 3 * 3600:
        return 3600.0, "hours"
    if largest >= 180:
        return 60.0, "minutes"
    return 1.0, "seconds"


def runs_per_day(rows: Sequence[dict[str, Any]]) -> str:
    """Stacked bars: runs per UTC day by outcome (Success, Error, Cancelled, still open)."""
    with matplotlib.rc_context(STYLE):
        fig = _figure(12.5, 3.2)
        ax = fig.add_subplot()
        days = _days(rows)
        bottom = [0.0] * len(rows)
        for key, color in STATUS_COLORS.items():
            values = [float(row[key]) for row in rows]
            ax.bar(days, values, bottom=bottom, color=color, label=STATUS_LABELS[key], width=0.8)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_ylabel("runs")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        _date_axis(ax)
        fig.legend(loc="outside upper left", ncols=4, fontsize=8)
        return _svg(fig, "runs_per_day")


def queue_per_day(rows: Sequence[dict[str, Any]]) -> str:
    """Two lines: median and p95 time from created to started, per UTC day."""
    with matplotlib.rc_context(STYLE):
        fig = _figure(12.5, 2.8)
        ax = fig.add_subplot()
        scale, unit = duration_unit([row["p95_queued_seconds"] for row in rows])
        days = _days(rows)
        ax.plot(
            days, [row["p95_queued_seconds"] / scale for row in rows], color=ACCENT, marker=".", label="p95"
        )
        ax.plot(
            days, [row["p50_queued_seconds"] / scale for row in rows], color=LINE, marker=".", label="median"
        )
        ax.set_ylabel(f"queue time ({unit})")
        ax.set_ylim(bottom=0)
        _date_axis(ax)
        fig.legend(loc="outside upper left", ncols=2, fontsize=8)
        return _svg(fig, "queue_per_day")


def slow_job_trends(jobs: Sequence[dict[str, Any]], trends: dict[str, list[dict[str, Any]]]) -> str:
    """One panel per slowed-down job: daily median run time over `slow_runs`' 35 days, with both medians."""
    with matplotlib.rc_context(STYLE):
        fig = _figure(12.5, 1.8 * len(jobs) + 0.5)
        axes = fig.subplots(len(jobs), 1, squeeze=False, sharex=True)[:, 0]
        for ax, job in zip(axes, jobs, strict=True):
            rows = trends[str(job["job_id"])]
            values = [row["p50_run_seconds"] for row in rows]
            scale, unit = duration_unit(values)
            ax.plot(
                _days(rows), [value / scale for value in values], color=LINE, marker=".", label="daily median"
            )
            ax.axhline(
                job["p50_run_seconds_previous_weeks"] / scale,
                color="#78909c",
                linestyle="--",
                label="median, previous 4 weeks",
            )
            ax.axhline(
                job["p50_run_seconds_this_week"] / scale,
                color=ACCENT,
                linestyle="--",
                label="median, this week",
            )
            ax.set_title(
                f"{job['job_name'] or job['job_id']}: {job['slowdown_ratio']:.1f}x slower",
                loc="left",
                fontsize=9,
            )
            ax.set_ylabel(unit)
            ax.set_ylim(bottom=0)
            _date_axis(ax)
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper left", ncols=3, fontsize=8)
        return _svg(fig, "slow_job_trends")


def horizontal_bars(
    name: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    colors: dict[str, str],
    xlabel: str,
    integer: bool = False,
) -> str:
    """Ranked horizontal bars, largest on top; several series stack (e.g. failed and warned tests)."""
    with matplotlib.rc_context({**STYLE, "axes.grid.axis": "x"}):
        fig = _figure(11, 0.25 * len(labels) + 0.8)
        ax = fig.add_subplot()
        positions = list(range(len(labels)))
        left = [0.0] * len(labels)
        for key, values in series.items():
            ax.barh(positions, values, left=left, color=colors[key], label=key, height=0.7)
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_yticks(positions, [_shorten(label) for label in labels])
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        if integer:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(series) > 1:
            fig.legend(loc="outside upper right", ncols=len(series), fontsize=8)
        return _svg(fig, name)


def _shorten(label: str, limit: int = 60) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def sparkline(values: Sequence[float], salt: str) -> str:
    """A job's recent run times as a tiny line, the last point marked; no axes (the table has numbers)."""
    with matplotlib.rc_context({**STYLE, "axes.grid": False}):
        fig = Figure(figsize=(1.4, 0.32))
        ax = fig.add_axes((0.02, 0.1, 0.96, 0.8))
        ax.axis("off")
        positions = list(range(len(values)))
        ax.plot(positions, values, color=LINE, linewidth=1)
        ax.plot(positions[-1:], values[-1:], color=ACCENT, marker="o", markersize=2.5)
        if len(values) == 1:
            ax.set_xlim(-1, 1)
        return _svg(fig, salt)
