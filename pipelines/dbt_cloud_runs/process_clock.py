"""How long this process has been running, start-up included: the `Elapsed` a cron log should show.

A load's own timer starts after Python, dlt and the destination client are imported (1-2 s that the
scheduler does see). On Linux the kernel records when the process started (`/proc/self/stat` field 22,
clock ticks since boot, the clock `CLOCK_BOOTTIME` counts), so the age is exact; elsewhere the age is
counted from this module's import, which `cli` does first.
"""

from __future__ import annotations

import os
import time

_IMPORTED = time.monotonic()


def process_age_seconds() -> float:
    """Seconds since this process started (since `cli` was imported where /proc is not available)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()  # the command name may contain spaces
        started_ticks = int(fields[19])  # field 22 counted from 1; [0] here is field 3
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic() - _IMPORTED
    return max(age, time.monotonic() - _IMPORTED)
