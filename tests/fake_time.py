"""A `clock`/`sleep` pair for code that waits: sleeping advances the clock, nothing really waits.

Shared by the tests of `wait_for_run` (tests/operations) and of the API's rate limiter (tests/unit),
so waits are checked as the sleeps they ask for, never by measuring wall-clock time.
"""

from __future__ import annotations


class FakeClock:
    """`clock()` reads the fake time; `sleep(s)` records `s` and moves the time on by it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
