"""`python pipelines/dbt_runs.py report`: write the HTML report from the loaded history, no API call.

The store is opened read-only only while the numbers are read (well under a second), then closed
before the charts are drawn, so a scheduled load is never kept waiting by a report.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..cli_options import add_command, add_database_option, add_output_option, whole_number
from ..errors import EXIT_OK, ConfigError

DEFAULT_OUTPUT = "dbt_runs_report.html"
DEFAULT_DAYS = 30
MAX_DAYS = 366

DESCRIPTION = """\
Write one HTML file (charts inline, opens from disk with no network) with job health, runs and queue
times per day, jobs that slowed down, recent failures and, when artifacts are loaded, the slowest
models and the tests that fail or warn most. Reads the DuckDB store read-only; no API call.
"""

EPILOG = """\
exit codes: 0 ok, 2 usage or configuration error (e.g. nothing loaded yet at that path),
6 the store cannot be read (e.g. a load holds it for longer than a few seconds)

examples:
  python pipelines/dbt_runs.py report                          -> dbt_runs_report.html, last 30 days
  python pipelines/dbt_runs.py report --days 7 --output /srv/www/dbt.html
  python pipelines/dbt_runs.py report --database /srv/bi/dbt_runs.duckdb   (a reader copy)
"""


days_argument = whole_number(1, MAX_DAYS, noun="whole number of days")


def add_subcommand(subparsers: Any) -> None:
    """Register `report` on the main parser's subparsers."""
    parser = add_command(
        subparsers,
        "report",
        "write a self-contained HTML report with charts of the loaded run history",
        command_report,
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    add_output_option(
        parser,
        f"the HTML file to write (default {DEFAULT_OUTPUT}; replaced if it exists)",
        default=Path(DEFAULT_OUTPUT),
    )
    parser.add_argument(
        "--days",
        type=days_argument,
        default=DEFAULT_DAYS,
        metavar="N",
        help=f"the window of the headline numbers and daily charts, compared with the N days before "
        f"(default {DEFAULT_DAYS})",
    )
    add_database_option(parser)


def write_report(database: str | Path | None, output: Path, days: int = DEFAULT_DAYS) -> Path:
    """Read the store, draw, write `output`; returns the written file's absolute path."""
    # imported here: duckdb, matplotlib and jinja2 cost every other command (a load, --help) ~0.5 s
    import duckdb

    from ..store import read_only_connection, store_path
    from .queries import read_report_data
    from .render import render_html

    source = store_path(database)
    try:
        with read_only_connection(source) as connection:
            data = read_report_data(connection, days)
    except duckdb.CatalogException as exc:  # no dbt_cloud schema, or a view missing
        reason = str(exc).splitlines()[0]
        raise ConfigError(
            f"{source} has no loaded views to report on ({reason}): point --database at the loader's "
            "DuckDB file, or run a load (python pipelines/dbt_runs.py), which (re)creates the views."
        ) from None
    html = render_html(data, source=source.name, generated_at=datetime.now(UTC))
    output = output.expanduser().resolve()
    if output.is_dir():
        raise ConfigError(
            f"--output {output} is a directory: give a file name, e.g. {output / DEFAULT_OUTPUT}"
        )
    if not output.parent.is_dir():
        raise ConfigError(f"Cannot write {output}: the folder {output.parent} does not exist.")
    partial = output.with_name(f".{output.name}.partial")
    try:
        partial.write_text(html, encoding="utf-8")
        partial.replace(output)  # whoever has the old file open never sees half a page
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ConfigError(f"Cannot write {output}: {exc.strerror}.") from None
    return output


def command_report(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    written = write_report(args.database, args.output, args.days)
    size_kb = written.stat().st_size / 1024
    print(f"Report written to {written} ({size_kb:,.0f} kB, {time.perf_counter() - started:.1f} s)")
    return EXIT_OK
