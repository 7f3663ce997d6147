"""The load's progress line: live on a terminal, one line per phase otherwise."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from dbt_cloud_runs.progress import ARTIFACTS_COUNTER, PhaseProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_phase(progress: PhaseProgress) -> None:
    with progress("Extract dbt_cloud"):
        progress.update("Resources", 0, 2)
        for _ in range(3):
            progress.update("runs", 100)
        progress.update("run_artifacts", 7)
        progress.update("Resources", 2)
    with progress("Extract dbt_cloud"):
        progress.update("_dlt_pipeline_state", 1)


def test_one_line_per_phase_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    run_phase(PhaseProgress())
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("Extract dbt_cloud: runs 300, run_artifacts 7 (")
    assert "rows/s)" in line and "\r" not in line and "_dlt" not in line


def test_live_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    run_phase(PhaseProgress())
    text = stream.getvalue()
    assert text.count("\n") == 1  # the phase's last state stays, each redraw overwrote the line
    assert text.count("\r\033[K") >= 2  # drawn as it grew, then rewritten at the end
    shown = text.split("\n")[0].rsplit("\r\033[K", 1)[-1]  # what the terminal shows at the end
    assert shown.startswith("Extract dbt_cloud: runs 300, run_artifacts 7 (") and shown.endswith("rows/s)")


@pytest.mark.parametrize("stream", [io.StringIO(), Terminal()])
def test_a_failed_phase_leaves_the_error_alone(monkeypatch: pytest.MonkeyPatch, stream: io.StringIO) -> None:
    monkeypatch.setattr("sys.stderr", stream)
    progress = PhaseProgress()
    with pytest.raises(KeyboardInterrupt), progress("Extract dbt_cloud"):
        progress.update("runs", 100)
        raise KeyboardInterrupt
    assert "\n" not in stream.getvalue()
    assert stream.getvalue().endswith("\r\033[K") if stream.isatty() else stream.getvalue() == ""


class Clock:
    """A hand-moved `time.monotonic`, so rates are exact and no test depends on the wall clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fetch_artifacts(progress: PhaseProgress, clock: Clock) -> None:
    """An extract phase where 2 pages of runs make 30 + 10 artifacts known and all 40 are fetched."""
    with progress("Extract dbt_cloud"):
        progress.update("runs", 100)
        progress.update(ARTIFACTS_COUNTER, 0, inc_total=30)
        clock.now += 1.0
        for _ in range(20):
            progress.update(ARTIFACTS_COUNTER, 1)
        progress.update("runs", 100)
        progress.update(ARTIFACTS_COUNTER, 0, inc_total=10)
        clock.now += 1.0
        for _ in range(20):
            progress.update(ARTIFACTS_COUNTER, 1)
        progress.update("run_results", 500)
        clock.now += 8.0  # the phase goes on (other resources) after the last artifact


def test_artifacts_are_counted_k_of_n_with_their_own_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr("dbt_cloud_runs.progress.time", SimpleNamespace(monotonic=clock))
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    fetch_artifacts(PhaseProgress(), clock)
    (line,) = stream.getvalue().splitlines()
    # 40 fetched over the 2 s between the first known and the last fetched; the phase took 10 s
    assert line == (
        "Extract dbt_cloud: artifacts: 40 of 40 (20/s); runs 200, run_results 500 (10.0 s, 70 rows/s)"
    )


def test_artifacts_line_grows_live_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr("dbt_cloud_runs.progress.time", SimpleNamespace(monotonic=clock))
    stream = Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    progress = PhaseProgress()
    with progress("Extract dbt_cloud"):
        progress.update(ARTIFACTS_COUNTER, 0, inc_total=30)
        for _ in range(10):
            clock.now += 0.4  # each fetch redraws (the line is redrawn at most every 0.25 s)
            progress.update(ARTIFACTS_COUNTER, 1)
        drawn = stream.getvalue().rsplit("\r\033[K", 1)[-1]
        assert drawn.startswith("Extract dbt_cloud: artifacts: 10 of 30 (2.5/s) (4.0 s")
        assert "\n" not in stream.getvalue()
    assert stream.getvalue().endswith("artifacts: 10 of 30 (2.5/s) (4.0 s)\n")


def test_a_phase_without_artifacts_has_no_artifacts_part(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    run_phase(PhaseProgress())
    assert "artifacts:" not in stream.getvalue()


def test_live_redraws_fit_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")  # shutil.get_terminal_size reads it first
    stream = Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    progress = PhaseProgress()
    with progress("Extract dbt_cloud"):
        progress.update(ARTIFACTS_COUNTER, 0, inc_total=30)
        progress.update("a_table_with_a_long_name", 100)
        drawn = stream.getvalue().rsplit("\r\033[K", 1)[-1]
        assert drawn == "Extract dbt_cloud: artifacts: 0 of 30 ("  # 39 columns: one less than 40
    last = stream.getvalue().rsplit("\r\033[K", 1)[-1]
    assert last.startswith("Extract dbt_cloud: artifacts: 0 of 30 (-/s); a_table_with_a_long_name 100")
