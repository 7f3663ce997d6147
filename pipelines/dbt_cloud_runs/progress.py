"""Progress of a load on stderr, through dlt's own progress hook (a `Collector`).

dlt reports rows per table while it extracts (each page of runs, each run_results.json fetched), then
files and jobs while it normalizes and loads. On a terminal the phase's line is rewritten in place as
the counts grow, with a rate; otherwise (cron, CI) each phase gives one line when it ends, so a log
shows where a load spent its time without a line per page. stdout keeps only the summary.

dlt ships collectors (`LogCollector` prints a multi-line block every period; the tqdm, enlighten and
alive_progress ones need packages we do not depend on): this one is a single line per phase.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from dlt.common.runtime.collector_base import Collector

REFRESH_SECONDS = 0.25
ROW_COUNTERS_SKIPPED = frozenset({"Resources", "Files", "Jobs"})
"""dlt's bookkeeping counters: shown as `x/y`, not counted as rows in the rate."""
HIDDEN = ("Resources", "_dlt")
"""Not shown: resources done (all of them, always) and dlt's own state rows (its own extract phase)."""


class PhaseProgress(Collector):
    """One line per dlt phase (Extract, Normalize, Load) on stderr; live on a terminal."""

    def __init__(self, live: bool | None = None) -> None:
        self.step = ""
        self.live = live
        self.counters: dict[str, int] = {}
        self.totals: dict[str, int] = {}
        self.started = 0.0
        self.last_drawn = 0.0

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
        if self._is_live() and now - self.last_drawn >= REFRESH_SECONDS:
            self.last_drawn = now
            self._stream().write("\r\033[K" + self.line(now))
            self._stream().flush()

    def line(self, now: float) -> str:
        """`Extract dbt_cloud: runs 1500, jobs 120, Resources 5/5 (2.1 s, 714 rows/s)`."""
        elapsed = max(now - self.started, 1e-9)
        rows = sum(
            count
            for name, count in self.counters.items()
            if name not in ROW_COUNTERS_SKIPPED and not name.startswith(HIDDEN)
        )
        parts = [
            f"{name} {count}/{self.totals[name]}" if self.totals.get(name) else f"{name} {count}"
            for name, count in self.counters.items()
            if not name.startswith(HIDDEN)
        ]
        rate = f", {rows / elapsed:.0f} rows/s" if rows else ""
        return f"{self.step.split(' in ')[0]}: {', '.join(parts) or 'nothing to do'} ({elapsed:.1f} s{rate})"

    def _start(self, step: str) -> None:
        self.counters, self.totals = {}, {}
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
