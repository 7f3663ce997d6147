"""Subcommands that operate on dbt Cloud jobs and runs: trigger, status, cancel, retry, runs, artifacts.

Built for schedulers (cron, Airflow's BashOperator, ...): the exit code tells the outcome (0 success,
1 run ended in Error, 4 cancelled, 5 timed out, 2 usage/config, 3 API error), every line about a run
names its id and dbt Cloud URL, and status changes while waiting are printed (and flushed) as they
happen, so a scheduler's log shows progress live. Errors surface as `DbtCloudError`s, which `cli.main`
prints as one `error:` line.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from .cli_options import add_command, add_output_option, positive_float, positive_int
from .errors import EXIT_OK, ConfigError, Interrupted, interrupt_exit_code
from .settings import DEFAULT_CAUSE, DEFAULT_POLL_SECONDS, DEFAULT_RUNS_LIMIT, STATUS_BY_NAME
from .text_table import format_table

JsonDict = dict[str, Any]

WAIT_EPILOG = """\
exit codes: 0 success (or still open without --wait), 1 run ended in Error, 2 usage or configuration,
3 dbt Cloud API error (also: no such run or job), 4 run cancelled, 5 timed out waiting (--timeout),
130 interrupted (Ctrl-C), 143 terminated (SIGTERM): the run goes on in dbt Cloud
"""


# -- argument types -----------------------------------------------------------------------------


def status_choice(value: str) -> int:
    """`--status success` (any case) to the API's status code; unknown names list the choices."""
    code = STATUS_BY_NAME.get(value.strip().lower())
    if code is None:
        raise argparse.ArgumentTypeError(
            f"unknown status {value!r} (choose from {', '.join(STATUS_BY_NAME)})"
        )
    return code


# -- parser -------------------------------------------------------------------------------------


def add_subcommands(subparsers: Any) -> None:
    """Register trigger / status / cancel / runs / artifacts on the main parser's subparsers."""
    _add_trigger(subparsers)
    _add_status(subparsers)
    _add_cancel(subparsers)
    _add_retry(subparsers)
    _add_runs(subparsers)
    _add_artifacts(subparsers)


def _add_wait_flags(parser: argparse.ArgumentParser, cancels: str | None = None) -> None:
    """--wait, --timeout, --poll-seconds; and --cancel-on-timeout when `cancels` names the new run."""
    parser.add_argument(
        "--wait", action="store_true", help="poll until the run is final; the exit code tells the outcome"
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        help="with --wait: give up after this long (exit 5); default: wait as long as it takes",
    )
    parser.add_argument(
        "--poll-seconds",
        type=positive_float,
        default=DEFAULT_POLL_SECONDS,
        metavar="SECONDS",
        help=f"with --wait: seconds between status checks (default {DEFAULT_POLL_SECONDS:g})",
    )
    if cancels is not None:
        parser.add_argument(
            "--cancel-on-timeout",
            action="store_true",
            help=f"with --timeout: cancel {cancels} when the time is up (still exits 5)",
        )


def _add_trigger(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "trigger",
        "start a run of a dbt Cloud job, optionally wait for its outcome",
        command_trigger,
        epilog=WAIT_EPILOG
        + """
examples:
  python pipelines/dbt_runs.py trigger 67890 --wait --timeout 3600
  python pipelines/dbt_runs.py trigger --git-branch feature/x --steps-override "dbt seed" \\
      --steps-override "dbt build -s orders+" --wait --timeout 1800 --cancel-on-timeout
""",
    )
    parser.add_argument(
        "job_id", nargs="?", type=int, metavar="JOB_ID", help="the job to run; default: [dbt_cloud] job_id"
    )
    parser.add_argument(
        "--cause", default=DEFAULT_CAUSE, help=f'why, shown in dbt Cloud (default "{DEFAULT_CAUSE}")'
    )
    parser.add_argument("--git-branch", metavar="BRANCH", help="run this branch instead of the job's")
    parser.add_argument("--git-sha", metavar="SHA", help="run this commit")
    parser.add_argument("--schema-override", metavar="SCHEMA", help="build into this schema")
    parser.add_argument(
        "--steps-override",
        action="append",
        metavar="COMMAND",
        help='replace the job\'s steps, e.g. "dbt build -s orders"; repeat for several (kept in order)',
    )
    _add_wait_flags(parser, cancels="the run")


def _add_status(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "status",
        "show one run's status, optionally wait for its outcome",
        command_status,
        epilog=WAIT_EPILOG
        + "\nexample:\n  python pipelines/dbt_runs.py status 123456 --wait --timeout 600\n",
    )
    parser.add_argument("run_id", type=int, metavar="RUN_ID", help="the run to show")
    _add_wait_flags(parser)


def _add_cancel(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "cancel",
        "ask dbt Cloud to cancel a run",
        command_cancel,
        epilog="exit codes: 0 cancel requested, 8 the run had already finished (nothing cancelled), "
        "3 dbt Cloud API error (also: no such run), 2 usage or configuration\n",
    )
    parser.add_argument("run_id", type=int, metavar="RUN_ID", help="the run to cancel")


def _add_retry(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "retry",
        "retry a failed run from the point of failure, optionally wait for its outcome",
        command_retry,
        epilog=WAIT_EPILOG
        + """
dbt Cloud retries only the latest run of a job that ended in Error and saved run_results.json (dbt 1.6
or newer); otherwise it refuses, and this exits 3 with dbt's reason in words.

example:
  python pipelines/dbt_runs.py retry 123456 --wait --timeout 3600
""",
    )
    parser.add_argument("run_id", type=int, metavar="RUN_ID", help="the failed run to retry")
    _add_wait_flags(parser, cancels="the retry")


def _add_runs(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "runs",
        "list recent runs straight from the API, newest first",
        command_runs,
        epilog="""\
duration_s is finished_at - created_at (queue time included, like dbt Cloud's `duration`); empty while
a run is open.

examples:
  python pipelines/dbt_runs.py runs --status error --limit 50
  python pipelines/dbt_runs.py runs --job 67890
""",
    )
    parser.add_argument("--job", type=int, metavar="JOB_ID", help="only runs of this job")
    parser.add_argument(
        "--status",
        type=status_choice,
        metavar="NAME",
        help=f"only runs in this status: {', '.join(STATUS_BY_NAME)} (any case)",
    )
    parser.add_argument(
        "--limit",
        type=positive_int,
        default=DEFAULT_RUNS_LIMIT,
        metavar="N",
        help=f"how many runs (default {DEFAULT_RUNS_LIMIT}; >100 is paged)",
    )


def _add_artifacts(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "artifacts",
        "list a finished run's artifacts, or fetch one",
        command_artifacts,
        epilog="""\
examples:
  python pipelines/dbt_runs.py artifacts 123456
  python pipelines/dbt_runs.py artifacts 123456 run_results.json -o run_results.json
  python pipelines/dbt_runs.py artifacts 123456 manifest.json --step 2 | jq .metadata
""",
    )
    parser.add_argument("run_id", type=int, metavar="RUN_ID", help="the run")
    parser.add_argument(
        "path", nargs="?", metavar="PATH", help="artifact to fetch, e.g. run_results.json; omit to list"
    )
    parser.add_argument(
        "--step", type=positive_int, metavar="N", help="of this step (1-based); default: the last step"
    )
    add_output_option(parser, "write the artifact here instead of stdout", metavar="FILE")


# -- handlers -----------------------------------------------------------------------------------


def _connect() -> tuple[Any, Any]:
    """`[dbt_cloud]` credentials and an API client; imported here so `--help` does not load dlt."""
    from .api import DbtCloudApi
    from .credentials import resolve_credentials

    credentials = resolve_credentials()
    return credentials, DbtCloudApi(credentials)


def _api() -> Any:
    return _connect()[1]


def say(text: str) -> None:
    """One line on stdout, flushed at once so a scheduler's log shows it while we wait."""
    print(text, flush=True)


def _now() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S")


class StatusPrinter:
    """`on_poll` callback printing one line per status change (not per poll), with the time of day."""

    def __init__(self, base_url: str, last_status: int | None = None) -> None:
        self.base_url = base_url
        self.last_status = last_status

    def __call__(self, run: JsonDict) -> None:
        from .operations import status_name

        if run.get("status") != self.last_status:
            self.last_status = run.get("status")
            say(f"{_now()} run {run.get('id')}: {status_name(run)}")


def command_trigger(args: argparse.Namespace) -> int:
    """Trigger, then (with --wait) watch; the outcome becomes the exit code."""
    from . import operations as ops

    _check_wait_flags(args)
    credentials, api = _connect()
    job_id = args.job_id if args.job_id is not None else _default_job_id(credentials.job_id)
    run = ops.trigger_run(
        api,
        job_id,
        cause=args.cause,
        git_branch=args.git_branch,
        git_sha=args.git_sha,
        schema_override=args.schema_override,
        steps_override=args.steps_override,
    )
    return _follow_new_run(api, run, args, f"Triggered {ops.describe(run, api.base_url)}")


def command_retry(args: argparse.Namespace) -> int:
    """Retry a failed run, then (with --wait) watch the retry exactly as `trigger --wait` does."""
    from . import operations as ops

    _check_wait_flags(args)
    api = _api()
    run = ops.retry_run(api, args.run_id)
    headline = f"Retrying run {args.run_id} from the point of failure: {ops.describe(run, api.base_url)}"
    return _follow_new_run(api, run, args, headline)


def command_status(args: argparse.Namespace) -> int:
    """Show a run; a final Error/Cancelled run exits 1/4 even without --wait, so scripts can branch."""
    from . import operations as ops

    _check_wait_flags(args)
    api = _api()
    run = ops.find_run(api, args.run_id)  # waits out the 404 of a run triggered a moment ago
    _print_run(run, api.base_url)
    if args.wait and run.get("status") not in ops.FINAL_STATUSES:
        try:
            return _wait(api, run, args, cancel_on_timeout=False)
        except KeyboardInterrupt as exc:
            return _stopped_watching(api, run, exc)
    return _outcome(api, run)


def command_cancel(args: argparse.Namespace) -> int:
    from . import operations as ops

    api = _api()
    run = ops.cancel_open_run(api, args.run_id)
    say(f"Cancel requested for {ops.describe(run, api.base_url)}")
    return EXIT_OK


def command_runs(args: argparse.Namespace) -> int:
    from . import operations as ops

    api = _api()
    runs = ops.list_runs(api, job_id=args.job, status=args.status, limit=args.limit)
    for line in format_runs_table(runs):
        say(line)
    if not runs:
        print("(no runs matched)", file=sys.stderr)
    return EXIT_OK


def command_artifacts(args: argparse.Namespace) -> int:
    """List a run's artifacts, or fetch one to a file or to stdout (bytes as served)."""
    from . import operations as ops

    api = _api()
    step_text = f" step {args.step}" if args.step else ""
    if not args.path:
        paths = ops.list_artifacts(api, args.run_id, step=args.step)
        for path in paths:
            say(path)
        print(f"run {args.run_id}{step_text}: {len(paths)} artifact(s)", file=sys.stderr)
        return EXIT_OK
    content = ops.fetch_artifact(api, args.run_id, args.path, step=args.step)
    if args.output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return EXIT_OK
    try:
        args.output.write_bytes(content)
    except OSError as exc:
        raise ConfigError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    say(f"Wrote {args.path} of run {args.run_id}{step_text} ({len(content)} bytes) to {args.output}")
    return EXIT_OK


# -- shared steps -------------------------------------------------------------------------------


def _check_wait_flags(args: argparse.Namespace) -> None:
    """`--timeout` without `--wait` would be silently ignored; say so before anything is triggered."""
    if args.wait:
        return
    given = [
        flag
        for flag, value in (
            ("--timeout", args.timeout),
            ("--cancel-on-timeout", getattr(args, "cancel_on_timeout", False)),
        )
        if value
    ]
    if given:
        verb = "applies" if len(given) == 1 else "apply"
        raise ConfigError(f"{' and '.join(given)} only {verb} with --wait: add --wait.")


def _follow_new_run(api: Any, run: JsonDict, args: argparse.Namespace, headline: str) -> int:
    """After `trigger` or `retry`: the headline naming the new run, then with --wait its outcome.

    Once the run exists, Ctrl-C or SIGTERM only stops the watching: one line with the run's URL.
    """
    try:
        say(headline)
        if not args.wait:
            return EXIT_OK
        return _wait(api, run, args, cancel_on_timeout=args.cancel_on_timeout)
    except KeyboardInterrupt as exc:
        return _stopped_watching(api, run, exc)


def _default_job_id(job_id: int | None) -> int:
    if job_id is None:
        raise ConfigError(
            "No job to trigger: pass JOB_ID or set job_id under [dbt_cloud] in .dlt/config.toml "
            "(or DBT_CLOUD__JOB_ID)."
        )
    return job_id


def _wait(api: Any, run: JsonDict, args: argparse.Namespace, cancel_on_timeout: bool) -> int:
    """Watch until final or timed out; print each status change; optionally cancel on timeout."""
    from . import operations as ops

    printer = StatusPrinter(api.base_url, last_status=run.get("status"))  # already printed
    try:
        final = ops.wait_for_run(
            api, run["id"], timeout_seconds=args.timeout, poll_seconds=args.poll_seconds, on_poll=printer
        )
    except ops.RunTimeout:
        if not cancel_on_timeout:
            raise
        cancelled = ops.cancel_run(api, run["id"])
        say(f"Timed out: cancel requested for {ops.describe(cancelled, api.base_url)}")
        raise ops.RunTimeout(
            f"timed out after {args.timeout:g} s waiting for dbt Cloud run {run['id']}; cancel requested "
            f"(now {ops.status_name(cancelled)}): {ops.run_url(cancelled, api.base_url) or 'see dbt Cloud'}",
            cancelled,
        ) from None
    return _outcome(api, final)


def _stopped_watching(api: Any, run: JsonDict, exc: KeyboardInterrupt) -> int:
    """Ctrl-C or SIGTERM once a run exists: one line with its URL (it goes on), exit 130 / 143."""
    from .operations import run_url

    how = "terminated (SIGTERM)" if isinstance(exc, Interrupted) else "interrupted"
    print(
        f"{how}: stopped watching run {run['id']}; it goes on in dbt Cloud: "
        f"{run_url(run, api.base_url) or 'see dbt Cloud'}",
        file=sys.stderr,
        flush=True,
    )
    return interrupt_exit_code(exc)


def _outcome(api: Any, run: JsonDict) -> int:
    """Success (or still open) exits 0 with a closing line; Error/Cancelled raise (one `error:` line)."""
    from . import operations as ops

    ops.check_outcome(run, api.base_url)
    if run.get("status") in ops.FINAL_STATUSES:
        duration = _seconds_between(run.get("created_at"), run.get("finished_at"))
        took = f" in {duration:.0f} s" if duration is not None else ""
        say(f"Finished{took}: {ops.describe(run, api.base_url)}")
    return EXIT_OK


def _print_run(run: JsonDict, base_url: str) -> None:
    from .operations import describe

    say(describe(run, base_url))
    trigger = run.get("trigger") or {}
    fields = {
        "cause": trigger.get("cause"),
        "created": _short_time(run.get("created_at")),
        "started": _short_time(run.get("started_at")),
        "finished": _short_time(run.get("finished_at")),
        "duration": run.get("duration_humanized") or run.get("duration"),
        "git": run.get("git_branch") or run.get("git_sha"),
        "message": run.get("status_message"),
    }
    for name, value in fields.items():
        if value:
            say(f"  {name + ':':<10}{value}")


# -- the runs table -----------------------------------------------------------------------------

RUNS_TABLE_HEADERS = ("id", "job_id", "status", "created (UTC)", "duration_s", "cause")


def format_runs_table(runs: list[JsonDict]) -> list[str]:
    """Fixed-width rows: id, job id, status, created, duration in seconds, cause (clipped)."""
    from .operations import status_name

    rows = []
    for run in runs:
        duration = _seconds_between(run.get("created_at"), run.get("finished_at"))
        rows.append(
            (
                run.get("id", ""),
                run.get("job_definition_id") or run.get("job_id") or "",
                status_name(run),
                _short_time(run.get("created_at")) or "",
                f"{duration:.0f}" if duration is not None else "",
                _clip(str((run.get("trigger") or {}).get("cause") or ""), 60),
            )
        )
    return format_table(RUNS_TABLE_HEADERS, rows)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _parse_time(value: Any) -> datetime | None:
    """The API's timestamp as an aware datetime; None if absent or unreadable (display only)."""
    from .rows import parse_timestamp  # imported here: pyarrow is not needed for --help

    try:
        return parse_timestamp(value)
    except (ValueError, TypeError):
        return None


def _short_time(value: Any) -> str | None:
    parsed = _parse_time(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if parsed else None


def _seconds_between(start: Any, end: Any) -> float | None:
    first, last = _parse_time(start), _parse_time(end)
    if first is None or last is None:
        return None
    return max(0.0, (last - first).total_seconds())
