"""Command line of `pipelines/dbt_runs.py`: a plain run loads; subcommands operate on jobs and runs.

Every error a user can cause ends as one `error: ...` line on stderr and a non-zero exit code
(see `errors.py`), never a traceback, and never with the token in it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from types import FrameType

import pendulum

from . import jobs_cli, mcp_cli, process_clock
from .cli_options import non_negative_float
from .errors import EXIT_OK, ConfigError, DbtCloudError, Interrupted, interrupt_exit_code
from .report import command as report_command

DESCRIPTION = """\
Load dbt Cloud run history (runs, jobs, projects, environments) into DuckDB or any dlt destination,
then (re)create the SQL views on top. Run it from the project root, by hand or from cron.

Settings come from the [dbt_cloud] section of .dlt/config.toml and .dlt/secrets.toml (api_token,
account_id, base_url, ...) or DBT_CLOUD__* environment variables.
"""

EPILOG = """\
exit codes: 0 ok, 1 run finished with Error, 2 usage or configuration error, 3 dbt Cloud API error,
4 run cancelled, 5 timed out waiting, 6 destination error (e.g. DuckDB file locked, views not created),
7 another load is running, 8 (cancel) the run had already finished, 130 interrupted (Ctrl-C),
143 terminated (SIGTERM)

examples:
  python pipelines/dbt_runs.py --demo            try it against a local simulated account
  python pipelines/dbt_runs.py                   load (incremental after the first load)
  python pipelines/dbt_runs.py --since 2026-01-01 --full-refresh
"""


def parse_since(value: str) -> datetime:
    """`--since` accepts a date or a timestamp (ISO 8601); naive values are UTC."""
    try:
        parsed = pendulum.parse(value)
    except (ValueError, pendulum.parsing.exceptions.ParserError) as exc:
        raise argparse.ArgumentTypeError(
            f"not a date: {value!r} (use YYYY-MM-DD or an ISO timestamp)"
        ) from exc
    if not isinstance(parsed, date):  # ISO 8601 also parses durations (P1D) and times (12:00)
        raise argparse.ArgumentTypeError(
            f"not a date: {value!r} is a {type(parsed).__name__.lower()}, not a point in time "
            "(use YYYY-MM-DD or an ISO timestamp, e.g. 2026-01-01T06:00:00Z)"
        )
    if not isinstance(parsed, datetime):  # a bare date parses to pendulum.Date
        parsed = pendulum.datetime(parsed.year, parsed.month, parsed.day)
    return parsed.astimezone(UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python pipelines/dbt_runs.py",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--since",
        type=parse_since,
        metavar="DATE",
        help="where a first load (or a --full-refresh) starts, e.g. 2026-01-01; default: all the history "
        "the API serves (about a year). Later loads continue from the stored cursor.",
    )
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="drop the loaded tables and the pipeline state, then reload everything from scratch",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="confirm --full-refresh without a question (needed when not on a terminal)",
    )
    parser.add_argument(
        "--lock-wait",
        type=non_negative_float,
        metavar="SECONDS",
        help="when another load of the same pipeline or file is running, wait this long for it before "
        "giving up with exit 7 (default 0, or [dbt_cloud] lock_wait_seconds)",
    )
    parser.add_argument(
        "--destination",
        metavar="NAME",
        help="a dlt destination (duckdb, postgres, bigquery, ...); default: dlt's configured destination, "
        "else DuckDB file dbt_runs.duckdb in the working directory (DESTINATION__DUCKDB__CREDENTIALS "
        "picks another file)",
    )
    parser.add_argument(
        "--lookback-hours",
        type=non_negative_float,
        metavar="HOURS",
        help="re-read runs created up to this long before the newest stored run (default 6, "
        "or [dbt_cloud] lookback_hours)",
    )
    parser.add_argument(
        "--no-artifacts",
        action="store_true",
        help="do not load run_results.json of finished runs this time (config: [dbt_cloud] artifacts = "
        "false); otherwise one request per newly finished run, within artifacts_days (default 14)",
    )
    parser.add_argument(
        "--publish",
        metavar="PATH",
        help="after the load, write the tables and views to this DuckDB file for BI tools, atomically "
        "(a new file renamed over the old; readers holding it open never block a load). DuckDB "
        "destination only; config: [dbt_cloud] publish_path",
    )
    chatter = parser.add_mutually_exclusive_group()
    chatter.add_argument(
        "--quiet",
        action="store_true",
        help="print nothing but warnings and errors (no progress, no summary): for cron's MAILTO",
    )
    chatter.add_argument(
        "--verbose",
        action="store_true",
        help="also show dlt's own log (INFO level) on stderr",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start a local simulated dbt Cloud account and load it into dbt_runs_demo.duckdb "
        "(never your real data), then show a few answers from the views",
    )
    parser.set_defaults(handler=run_load_command)
    subparsers = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        title="commands (without one, a load runs; each has --help)",
    )
    jobs_cli.add_subcommands(subparsers)
    mcp_cli.add_subcommand(subparsers)
    report_command.add_subcommand(subparsers)
    return parser


def run_load_command(args: argparse.Namespace) -> int:
    """The default command: one load, then its summary."""
    if args.verbose:
        os.environ["RUNTIME__LOG_LEVEL"] = "INFO"  # before dlt reads its runtime settings
    from .load_packages import delete_completed_jobs_by_default, prune_loaded_packages

    delete_completed_jobs_by_default()
    if args.demo:
        from .demo import run_demo

        return run_demo(args)
    from .credentials import resolve_credentials
    from .destination import make_pipeline
    from .destination_fit import check_destination_merges, note_destination_switches
    from .pipeline import run_load
    from .publish import check_publishable, publish
    from .settings import resolve_load_settings

    if args.since is not None and args.since > datetime.now(UTC):
        raise ConfigError(
            f"--since {args.since:%Y-%m-%d %H:%M} is in the future: a load from there would load nothing; "
            "give a past date, e.g. --since 2026-01-01."
        )
    credentials = resolve_credentials()
    settings = resolve_load_settings()
    if args.lookback_hours is not None:
        settings.lookback_hours = args.lookback_hours
    if args.no_artifacts:
        settings.artifacts = False
    if args.lock_wait is not None:
        settings.lock_wait_seconds = args.lock_wait
    settings.publish_path = args.publish or settings.publish_path
    check_destination_merges(args.destination)
    note_destination_switches()
    pipeline = make_pipeline(destination=args.destination)
    if not args.quiet:
        from .progress import PhaseProgress

        pipeline.collector = PhaseProgress()
    check_publishable(pipeline, settings.publish_path)
    if args.full_refresh:
        confirm_full_refresh(pipeline, assume_yes=args.yes)
    summary = run_load(pipeline, credentials, settings, since=args.since, full_refresh=args.full_refresh)
    if settings.publish_path:
        summary.reader_copy = publish(pipeline, settings.publish_path).describe()
    prune_loaded_packages(pipeline)
    if args.quiet:
        return EXIT_OK
    summary.process_seconds = process_clock.process_age_seconds()
    # cron appends every load to one log: the time (UTC, ISO 8601) and the account start each summary
    finished = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    print(f"{finished} Loaded dbt Cloud account {credentials.account_id} from {credentials.base_url}")
    for line in summary.lines():
        print(f"  {line}")
    return EXIT_OK


def confirm_full_refresh(pipeline: object, assume_yes: bool) -> None:
    """`--full-refresh` drops the stored history: ask on a terminal, else require `--yes`."""
    from .destination import query

    dataset = pipeline.dataset_name  # type: ignore[attr-defined]
    (rows,) = query(pipeline, f"SELECT count(*) FROM {dataset}.runs")  # type: ignore[arg-type]
    stored = int(rows[0][0]) if rows else 0
    if stored == 0 or assume_yes:
        return
    what = (
        f"--full-refresh drops the {stored} stored runs (including any older than the year dbt Cloud still "
        "serves) and reloads; a copy of a DuckDB file is saved beside it first"
    )
    if not sys.stdin.isatty():
        raise ConfigError(f"{what}. Add --yes to confirm.")
    answer = input(f"{what}. Continue? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise ConfigError("full refresh not confirmed: nothing was changed.")


LOAD_ONLY_FLAGS = (
    ("--demo", "demo"),
    ("--quiet", "quiet"),
    ("--verbose", "verbose"),
    ("--since", "since"),
    ("--full-refresh", "full_refresh"),
    ("--yes", "yes"),
    ("--lock-wait", "lock_wait"),
    ("--destination", "destination"),
    ("--lookback-hours", "lookback_hours"),
    ("--no-artifacts", "no_artifacts"),
    ("--publish", "publish"),
)


def check_load_flags(args: argparse.Namespace) -> None:
    """The load's flags go before a subcommand's name but do nothing for it: say so, not ignore them."""
    if args.handler is run_load_command:
        return
    given = [flag for flag, dest in LOAD_ONLY_FLAGS if getattr(args, dest, None) not in (None, False)]
    if not given:
        return
    hint = (
        " To try the subcommands without an account, start the simulator (docs/simulator.md) and set "
        "DBT_CLOUD__BASE_URL, DBT_CLOUD__ACCOUNT_ID and DBT_CLOUD__API_TOKEN from the line it prints."
        if "--demo" in given
        else ""
    )
    verb = "applies" if len(given) == 1 else "apply"
    raise ConfigError(
        f"{', '.join(given)} {verb} to loads only, not to `{args.command}`: run it without a "
        f"subcommand (python pipelines/dbt_runs.py {given[0]} ...).{hint}"
    )


def _raise_interrupted(signal_number: int, frame: FrameType | None) -> None:
    raise Interrupted(signal_number)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch, and turn user-fixable errors into one line and an exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # SIGTERM (systemd, Airflow, Kubernetes, `kill`) stops us like Ctrl-C does
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        check_load_flags(args)
        return int(args.handler(args))
    except DbtCloudError as exc:
        hint = ""
        if isinstance(exc, ConfigError) and ".dlt/" in str(exc):
            from .settings_dir import missing_settings_hint

            hint = missing_settings_hint()
        print(f"error: {exc}{hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        name = "terminated (SIGTERM)" if isinstance(exc, Interrupted) else "interrupted"
        what = (
            "; the store keeps the last good load and the next load completes or discards what this "
            "one left, then catches up (nothing is lost)"
            if args.handler is run_load_command
            else ""
        )
        print(f"{name}: stopped before the end{what}", file=sys.stderr)
        return interrupt_exit_code(exc)
