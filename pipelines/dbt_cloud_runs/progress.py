"""Progress of a load on stderr, through dlt's own progress hook (a `Collector`).

dlt reports rows per table while it extracts (each page of runs, each run_results.json fetched), then
files and jobs while it normalizes and loads. On a terminal the phase's line is rewritten in place as
the counts grow, with a rate; otherwise (cron, CI) each phase gives one line when it ends, so a log
shows where a load spent its time without a line per page. stdout keeps only the summary.

Artifacts are work items, not rows: `artifacts.py` reports each run whose `run_results.json` it is
about to fetch (`ARTIFACTS_COUNTER`, with a growing total: on a first load the runs to fetch become
known page by page) and each one fetched, and the phase's line leads with `artifacts: k of N (x/s)`.

dlt ships collectors (`LogCollector` prints a multi-line block every period; the tqdm, enlighten and
alive_progress ones need packages we do not depend on): this one is a single line per phase.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any, TextIO

from dlt.common.runtime.collector_base import Collector

REFRESH_SECONDS = 0.25
ROW_COUNTERS_SKIPPED = frozenset({"Resources", "Files", "Jobs"})
"""dlt's bookkeeping counters: shown as `x/y`, not counted as rows in the rate."""
HIDDEN = ("Resources", "_dlt")
"""Not shown: resources done (all of them, always) and dlt's own state rows (its own extract phase)."""
ARTIFACTS_COUNTER = "artifacts"
"""Runs whose `run_results.json` this load fetches: shown as `artifacts: k of N (x/s)`, not as rows."""
ITEM_COUNTERS = frozenset({ARTIFACTS_COUNTER})
"""Counters of work items (requests), each shown as `name: k of N (rate/s)` ahead of the row counts."""


class PhaseProgress(Collector):
    """One line per dlt phase (Extract, Normalize, Load) on stderr; live on a terminal."""

    def __init__(self, live: bool | None = None) -> None:
        self.step = ""
        self.live = live
        self.counters: dict[str, int] = {}
        self.totals: dict[str, int] = {}
        self.started = 0.0
        self.last_drawn = 0.0
        self.item_times: dict[str, tuple[float, float]] = {}
        """per item counter: when it was first reported and when it last counted one"""

    @staticmethod
    def _stream() -> TextIO:
        # looked up at each write: dlt deep-copies its collector, and a stream cannot be copied
        return sys.stderr

    def _is_live(self) -> bool:
        return self._stream().isatty() if self.live is None else self.live

    def update(
        self,
        name: str,
        inc: int = 1,
        total: int | None = None,
        inc_total: int | None = None,
        message: str | None = None,
        label: str | None = None,
    ) -> None:
        if label:  # e.g. failed jobs; the summary and errors report those
            return
        self.counters[name] = self.counters.get(name, 0) + inc
        if total is not None:
            self.totals[name] = total
        if inc_total:
            self.totals[name] = self.totals.get(name, 0) + inc_total
        now = time.monotonic()
        if name in ITEM_COUNTERS:
            first, last = self.item_times.get(name, (now, now))
            self.item_times[name] = (first, now if inc else last)
        if self._is_live() and now - self.last_drawn >= REFRESH_SECONDS:
            self.last_drawn = now
            # a line that wraps cannot be redrawn in place: cut it to the terminal's width (the
            # artifacts count leads it); the phase's last line is printed whole
            width = shutil.get_terminal_size().columns - 1
            self._stream().write("\r\033[K" + self.line(now)[:width])
            self._stream().flush()

    def line(self, now: float) -> str:
        """`Extract dbt_cloud: artifacts: 40 of 120 (21/s); runs 1500, jobs 120 (2.1 s, 714 rows/s)`."""
        elapsed = max(now - self.started, 1e-9)
        shown = {name: count for name, count in self.counters.items() if not name.startswith(HIDDEN)}
        rows = sum(
            count
            for name, count in shown.items()
            if name not in ROW_COUNTERS_SKIPPED and name not in ITEM_COUNTERS
        )
        parts = [
            f"{name} {count}/{self.totals[name]}" if self.totals.get(name) else f"{name} {count}"
            for name, count in shown.items()
            if name not in ITEM_COUNTERS
        ]
        items = [self.item_line(name, now) for name in shown if name in ITEM_COUNTERS]
        rate = f", {rows / elapsed:.0f} rows/s" if rows else ""
        body = "; ".join([*items, ", ".join(parts)] if parts else items) or "nothing to do"
        return f"{self.step.split(' in ')[0]}: {body} ({elapsed:.1f} s{rate})"

    def item_line(self, name: str, now: float) -> str:
        """`artifacts: 40 of 120 (21/s)`: the rate over the time since the first item was reported,
        up to the last one counted (so a phase that goes on after them does not dilute it)."""
        count = self.counters[name]
        first, last = self.item_times.get(name, (now, now))
        seconds = (last if count >= self.totals.get(name, 0) else now) - first
        per_second = count / seconds if count and seconds > 0 else None
        rate = "-/s" if per_second is None else f"{per_second:.{0 if per_second >= 10 else 1}f}/s"
        return f"{name}: {count} of {self.totals.get(name, count)} ({rate})"

    def _start(self, step: str) -> None:
        self.counters, self.totals, self.item_times = {}, {}, {}
        self.started = time.monotonic()
        self.last_drawn = 0.0  # the first count is drawn at once

    def __exit__(
        self, exc_type: type[BaseException] | None, exc_val: BaseException | None, exc_tb: Any
    ) -> None:
        if exc_type is None:
            self._stop()
        elif self._is_live():  # a failed or interrupted phase: its error is the one line to show
            self._stream().write("\r\033[K")
            self._stream().flush()

    def _stop(self) -> None:
        live = self._is_live()
        if not any(not name.startswith(HIDDEN) for name in self.counters):  # dlt's state-only extract
            if live:
                self._stream().write("\r\033[K")
            return
        self._stream().write(("\r\033[K" if live else "") + self.line(time.monotonic()) + "\n")
        self._stream().flush()
