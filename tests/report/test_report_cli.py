"""`report` through the real entry point: empty sections say why, and user errors are one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ReportPage
from entry_point import run_entry_point

pytestmark = pytest.mark.e2e


def test_without_artifacts_the_model_sections_say_why(store_without_artifacts: Path, tmp_path: Path) -> None:
    proc = run_entry_point(
        None, tmp_path, "report", "--database", str(store_without_artifacts), "--days", "7"
    )
    assert proc.returncode == 0, proc.stderr
    written = tmp_path / "dbt_runs_report.html"  # the default output, in the working directory
    assert f"Report written to {written}" in proc.stdout
    page = ReportPage(written.read_text(encoding="utf-8"))
    data = json.loads(page.data_json)
    assert data["days"] == 7 and data["artifacts_loaded"] == 0
    for section in ("slowest_models", "model_growth", "test_failures"):
        assert "No run artifacts are loaded" in page.empty[section], section
    assert "slow_job_trends" in page.empty and "No job slowed down" in page.empty["slow_job_trends"]
    assert page.chart_svgs["runs_per_day"] == 1, "run charts do not need artifacts"


def test_reads_the_default_store_of_the_working_directory(
    store_without_artifacts: Path, tmp_path: Path
) -> None:
    (tmp_path / "dbt_runs.duckdb").write_bytes(store_without_artifacts.read_bytes())
    proc = run_entry_point(None, tmp_path, "report", "-o", "monday.html")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "monday.html").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["report"], 2, "No loaded history at"),
        (["report", "--days", "0"], 2, "--days: must be between 1 and 366"),
        (["report", "--days", "week"], 2, "not a whole number of days"),
    ],
)
def test_user_errors_are_one_line(tmp_path: Path, args: list[str], code: int, says: str) -> None:
    proc = run_entry_point(None, tmp_path, *args)
    assert proc.returncode == code
    assert says in proc.stderr
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(("error:", "python pipelines/dbt_runs.py report: error:"))
    )
    assert not (tmp_path / "dbt_runs_report.html").exists()


def test_output_in_a_missing_folder_is_one_line(store_without_artifacts: Path, tmp_path: Path) -> None:
    proc = run_entry_point(
        None, tmp_path, "report", "--database", str(store_without_artifacts), "-o", "nowhere/r.html"
    )
    assert proc.returncode == 2
    folder = tmp_path / "nowhere"
    assert proc.stderr.strip().splitlines() == [
        f"error: Cannot write {folder / 'r.html'}: the folder {folder} does not exist."
    ]


def test_a_file_that_is_not_a_store_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes.duckdb").write_text("not a database")
    proc = run_entry_point(None, tmp_path, "report", "--database", "notes.duckdb")
    assert proc.returncode == 6
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: Cannot open")


def test_a_database_without_the_views_is_one_line(tmp_path: Path) -> None:
    import duckdb

    duckdb.connect(str(tmp_path / "other.duckdb")).close()
    proc = run_entry_point(None, tmp_path, "report", "--database", "other.duckdb")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "has no loaded views to report on" in proc.stderr


def test_demo_writes_the_report_and_prints_its_path(tmp_path: Path) -> None:
    proc = run_entry_point(None, tmp_path, "--demo")
    assert proc.returncode == 0, proc.stderr
    report = tmp_path / "dbt_runs_demo_report.html"
    assert f"The report with charts (one HTML file, opens from disk): {report}" in proc.stdout
    page = ReportPage(report.read_text(encoding="utf-8"))
    assert json.loads(page.data_json)["headline"]["current"]["runs"] > 0
    assert page.chart_svgs["runs_per_day"] == 1
