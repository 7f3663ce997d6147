"""`--demo`: try the product without a dbt Cloud account.

Starts the local simulator (a synthetic account served over real HTTP on 127.0.0.1), loads it into
`dbt_runs_demo.duckdb` through the same code path as a real load, and shows a few answers from the
views. It uses its own pipeline name and an explicit file, so it never touches the real data or
state, whatever `DESTINATION__DUCKDB__CREDENTIALS` says.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import dlt

from .credentials import DbtCloudCredentials
from .destination import make_pipeline
from .errors import EXIT_OK
from .pipeline import run_load
from .publish import publish
from .settings import DEMO_DUCKDB_FILE, LoadSettings
from .text_table import format_table

DEMO_PIPELINE_NAME = "dbt_runs_demo"
DEMO_RUNS = 3000
DEMO_REPORT_FILE = "dbt_runs_demo_report.html"

QUESTIONS: list[tuple[str, str]] = [
    (
        "Jobs failing right now (Error runs since their last success)",
        """SELECT job_name, consecutive_failures, last_status_name,
                  round(hours_since_success, 1) AS hours_since_success
           FROM dbt_cloud.job_health WHERE consecutive_failures > 0
           ORDER BY consecutive_failures DESC, job_name LIMIT 5""",
    ),
    (
        "Failed runs this week, by job",
        """SELECT job_name, count(*) AS failed_runs, max(finished_at) AS last_failure
           FROM dbt_cloud.failures
           WHERE created_at > (SELECT as_of FROM dbt_cloud.as_of) - INTERVAL 7 DAY
           GROUP BY job_name ORDER BY failed_runs DESC, job_name LIMIT 5""",
    ),
    (
        "Longest queues (p95 seconds from created to started, last 30 days)",
        """SELECT job_name, runs_30d, round(p95_queued_seconds_30d) AS p95_queued_seconds
           FROM dbt_cloud.job_health WHERE p95_queued_seconds_30d IS NOT NULL
           ORDER BY p95_queued_seconds_30d DESC LIMIT 5""",
    ),
    (
        "How runs are triggered",
        """SELECT trigger_kind, count(*) AS runs FROM dbt_cloud.run_triggers
           GROUP BY trigger_kind ORDER BY runs DESC""",
    ),
]


def _python() -> str:
    """This interpreter as the user would type it (`.venv/bin/python` from the project root)."""
    path = os.path.relpath(sys.executable)
    return path if not path.startswith("..") else sys.executable


DEMO_REQUESTS_PER_MINUTE = 100_000


def run_demo(args: argparse.Namespace) -> int:
    """Serve a synthetic account, load it, print the summary and some answers."""
    from dbt_cloud_simulator import DbtCloudSimulator

    database = Path(DEMO_DUCKDB_FILE).resolve()
    print(f"Starting a simulated dbt Cloud account ({DEMO_RUNS} runs) on 127.0.0.1 ...", flush=True)
    with DbtCloudSimulator(runs=DEMO_RUNS) as simulator:
        credentials = DbtCloudCredentials()
        credentials.api_token = simulator.token
        credentials.account_id = simulator.account_id
        credentials.base_url = simulator.base_url
        pipeline = make_pipeline(
            destination=dlt.destinations.duckdb(credentials=str(database)), pipeline_name=DEMO_PIPELINE_NAME
        )
        settings = LoadSettings()
        # the local simulator shares no account budget: the 4,000 requests/minute ceiling that keeps a
        # real account under dbt Cloud's limit would only make the demo's 60 days of artifacts slow
        settings.requests_per_minute = DEMO_REQUESTS_PER_MINUTE
        # every demo starts from scratch: the simulated account is generated anew around "now"
        summary = run_load(pipeline, credentials, settings, full_refresh=True)
    if getattr(args, "publish", None):
        summary.reader_copy = publish(pipeline, args.publish).describe()
    print(f"Loaded the simulated account {credentials.account_id} from {credentials.base_url}")
    for line in summary.lines():
        print(f"  {line}")
    for title, sql in QUESTIONS:
        print(f"\n{title}:")
        with pipeline.sql_client() as client, client.execute_query(sql) as cursor:
            headers = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
        print("\n".join(format_table(headers, rows)) if rows else "  (none)")
    from .report.command import write_report

    report = write_report(database, Path(DEMO_REPORT_FILE))
    print(f"\nThe report with charts (one HTML file, opens from disk): {report}")
    print(
        f"\nThe demo data is in {database} (schema dbt_cloud). Open it read-only:\n"
        f"  {_python()} -c \"import duckdb; print(duckdb.connect('{database.name}', read_only=True)"
        f".sql('SELECT * FROM dbt_cloud.job_health LIMIT 10'))\"\n"
        f"  or: duckdb -readonly {database.name}   (DuckDB CLI)\n"
        "Your real data goes to dbt_runs.duckdb: fill .dlt/secrets.toml (see .dlt/secrets.toml.example) "
        f"and run {_python()} pipelines/dbt_runs.py"
    )
    return EXIT_OK
