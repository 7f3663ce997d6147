"""The report opened in a real browser: headless Debian chromium driven by Playwright.

Checks what a person would see: every chart drawn (an SVG with a size on screen), no JavaScript error,
no request leaving the file, tables that sort on click. A full-page screenshot is saved in the test's
temp dir. Skipped only when no chromium binary exists (`.ci/run` installs Debian's `chromium`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import HOSTILE_JOB_NAME
from entry_point import run_entry_point

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no chromium binary on PATH: apt-get install chromium (.ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def open_report(browser, path: Path, screenshot: Path):
    """Open the file, record errors, dialogs and requests; return (page, errors, dialogs, requests)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    dialogs: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri(), wait_until="load")
    page.screenshot(path=str(screenshot), full_page=True)
    return page, errors, dialogs, requests


def test_every_chart_renders_without_errors_or_network(browser, report_store, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    proc = run_entry_point(
        None, tmp_path, "report", "--database", str(report_store[0]), "--output", str(report)
    )
    assert proc.returncode == 0, proc.stderr
    screenshot = tmp_path / "report.png"
    page, errors, dialogs, requests = open_report(browser, report, screenshot)

    assert errors == [], "no JavaScript errors"
    assert dialogs == [], "text from the store never runs as script"
    assert requests == [report.as_uri()], "nothing but the file itself is loaded"
    assert page.evaluate("document.documentElement.dataset.sortReady") == "true", "the page's script ran"

    charts = page.locator("figure[data-chart]")
    empty = page.locator("p[data-empty]")
    assert charts.count() + empty.count() == 7
    assert charts.count() >= 6  # model growth needs artifacts from 30-60 days ago, which a first load lacks
    for index in range(charts.count()):
        figure = charts.nth(index)
        svg = figure.locator("svg")
        assert svg.count() == 1, figure.get_attribute("data-chart")
        box = svg.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 100, figure.get_attribute("data-chart")
        assert figure.locator("svg path, svg rect, svg use").count() > 10, "marks were drawn"
    sparks = page.locator("#job-health-table td.spark svg")
    assert sparks.count() > 10 and sparks.first.bounding_box()["width"] > 50
    assert page.locator("#job-health-table").get_by_text(HOSTILE_JOB_NAME).count() == 1
    assert screenshot.stat().st_size > 50_000


def test_tables_sort_on_click(browser, report_store, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    assert (
        run_entry_point(
            None, tmp_path, "report", "--database", str(report_store[0]), "--output", str(report)
        ).returncode
        == 0
    )
    page, errors, _, _ = open_report(browser, report, tmp_path / "before.png")
    table = page.locator("#job-health-table")
    runs_header = table.locator("th", has_text="Runs 30 d")

    def column(key: str) -> list[str]:
        return table.locator(f"tbody td[data-key='{key}']").evaluate_all(
            "cells => cells.map(c => c.dataset.value)"
        )

    runs_header.click()
    ascending = [int(value) for value in column("runs_30d")]
    assert ascending == sorted(ascending) and ascending[0] < ascending[-1]
    assert runs_header.get_attribute("aria-sort") == "ascending"
    runs_header.click()
    assert [int(value) for value in column("runs_30d")] == sorted(ascending, reverse=True)
    failures_header = table.locator("th", has_text="Failures in a row")
    failures_header.click()
    failures_header.click()
    descending = [int(value) for value in column("consecutive_failures")]
    assert descending == sorted(descending, reverse=True) and descending[0] > 0
    assert errors == []
