"""The load's progress line: live on a terminal, one line per phase otherwise."""

from __future__ import annotations

import io

import pytest
from dbt_cloud_runs.progress import PhaseProgress


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
