"""run_retries and job_health.recovered_failures_30d on a hand-built dataset.

The link between a failure and its retry is `retrying_run_id`; the view must not depend on which of
the two runs carries it (see docs/tables.md), so both directions are built here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import duckdb
import pytest
from dbt_cloud_runs.views import apply_views
from test_views import AS_OF, DAY, Client, add_run, make_db, rows


@pytest.fixture(scope="module")
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    con = make_db()
    con.execute("INSERT INTO dbt_cloud.projects VALUES (1, 'Analytics')")
    con.execute("INSERT INTO dbt_cloud.environments VALUES (11, 'Production', 1)")
    for job_id, name in [(7, "Recovers"), (8, "Retry failed too"), (9, "Old recovery")]:
        con.execute("INSERT INTO dbt_cloud.jobs VALUES (?, ?, 1, 11, 1, ?)", [job_id, name, AS_OF])
    # job 7: a failure retried successfully 10 minutes after it finished (link on the retry) ...
    add_run(con, 701, 7, AS_OF - 4 * DAY, 20, 10, 50)
    add_run(con, 702, 7, AS_OF - 4 * DAY + timedelta(minutes=5), 10, 60, 240)
    # ... and another failure whose link sits on the failed run (the other direction), retry still open
    add_run(con, 703, 7, AS_OF - 2 * DAY, 20, 10, 50)
    add_run(con, 704, 7, AS_OF - 2 * DAY + timedelta(minutes=5), 3, 10)
    # job 8: the retry failed as well
    add_run(con, 801, 8, AS_OF - 3 * DAY, 20, 10, 50)
    add_run(con, 802, 8, AS_OF - 3 * DAY + timedelta(minutes=5), 20, 10, 50)
    # job 9: recovered, but 40 days ago (outside the 30-day window)
    add_run(con, 901, 9, AS_OF - 40 * DAY, 20, 10, 50)
    add_run(con, 902, 9, AS_OF - 40 * DAY + timedelta(minutes=5), 10, 10, 50)
    for retry, failed in [(702, 701), (802, 801), (902, 901)]:
        con.execute("UPDATE dbt_cloud.runs SET retrying_run_id = ? WHERE id = ?", [failed, retry])
    con.execute("UPDATE dbt_cloud.runs SET retrying_run_id = 704 WHERE id = 703")
    result = apply_views(Client(con))
    assert not result.failed, result.failed
    yield con


def test_one_row_per_retried_failure_whichever_run_carries_the_link(db) -> None:
    assert rows(
        db,
        """SELECT failed_run_id, job_name, retry_run_id, retry_status_name, recovered, minutes_to_recover
           FROM dbt_cloud.run_retries ORDER BY failed_run_id""",
    ) == [
        (701, "Recovers", 702, "Success", True, pytest.approx(5 + (60 + 240 - 60) / 60)),
        (703, "Recovers", 704, "Running", None, None),
        (801, "Retry failed too", 802, "Error", False, None),
        (901, "Old recovery", 902, "Success", True, pytest.approx(5.0)),
    ]


def test_job_health_counts_recovered_failures_in_the_window(db) -> None:
    assert rows(db, "SELECT job_id, recovered_failures_30d FROM dbt_cloud.job_health ORDER BY job_id") == [
        (7, 1),
        (8, 0),
        (9, 0),
    ]
