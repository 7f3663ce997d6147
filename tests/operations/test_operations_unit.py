"""Trigger, watch, cancel, list and fetch — against requests-mock, asserting exactly what is sent.

Each test pins one thing dlt's `dlt.helpers.dbt_cloud` gets wrong or a client easily gets wrong:
the caller's data really sent, the account's access URL honoured, waits that end, failures that raise,
a first-poll 404 that is not a failure, listings past the API's 100-row page cap.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests_mock
from dbt_cloud_runs import get_dbt_cloud_run_status, run_dbt_cloud_job
from dbt_cloud_runs import operations as ops
from dbt_cloud_runs.api import DbtCloudApi
from dbt_cloud_runs.credentials import DbtCloudCredentials
from dbt_cloud_runs.errors import EXIT_RUN_CANCELLED, EXIT_RUN_ERROR, EXIT_TIMEOUT, ApiError, ConfigError
from ops_fakes import (
    ACCOUNT_ID,
    BASE_URL,
    ROOT,
    TOKEN,
    FakeClock,
    envelope,
    make_run,
    not_found,
    run_response,
)


def sent_bodies(mock: requests_mock.Mocker, method: str = "POST") -> list[Any]:
    return [request.json() for request in mock.request_history if request.method == method]


def query(request: Any) -> dict[str, list[str]]:
    return parse_qs(urlparse(request.url).query)


# -- trigger -----------------------------------------------------------------------------------


def test_trigger_sends_the_exact_body_to_the_access_url(api: DbtCloudApi, mock: requests_mock.Mocker) -> None:
    mock.post(ROOT + "jobs/7/run/", json=envelope(make_run(501)))

    run = ops.trigger_run(
        api,
        7,
        cause="Nightly from Airflow",
        git_branch="feature/x",
        git_sha="abc123",
        schema_override="dbt_ci_42",
        steps_override=["dbt seed", "dbt build -s orders+", "dbt test"],
        extra={"threads_override": 8, "generate_docs_override": True},
    )

    assert run["id"] == 501
    (request,) = mock.request_history
    assert request.url == f"{BASE_URL}/api/v2/accounts/{ACCOUNT_ID}/jobs/7/run/"
    assert request.headers["Authorization"] == f"Token {TOKEN}"
    assert request.json() == {
        "cause": "Nightly from Airflow",
        "git_branch": "feature/x",
        "git_sha": "abc123",
        "schema_override": "dbt_ci_42",
        "steps_override": ["dbt seed", "dbt build -s orders+", "dbt test"],
        "threads_override": 8,
        "generate_docs_override": True,
    }


def test_trigger_always_sends_a_cause(api: DbtCloudApi, mock: requests_mock.Mocker) -> None:
    mock.post(ROOT + "jobs/7/run/", json=envelope(make_run(502)))
    ops.trigger_run(api, 7)
    ops.trigger_run(api, 7, extra={"cause": None})
    assert sent_bodies(mock) == [{"cause": "Triggered via API"}, {"cause": "Triggered via API"}]


def test_run_dbt_cloud_job_really_sends_data(credentials: dict[str, Any], mock: requests_mock.Mocker) -> None:
    """dlt's helper does `json_data.update(json_data)` and drops all of this."""
    mock.post(ROOT + "jobs/9/run/", json=envelope(make_run(503, job_id=9)))
    data = {
        "git_branch": "release",
        "steps_override": ["dbt run -s a", "dbt run -s b"],
        "threads_override": 4,
    }

    run = run_dbt_cloud_job(credentials, job_id=9, data=data, wait_for_outcome=False)

    assert run["id"] == 503
    assert sent_bodies(mock) == [{"cause": "Triggered via API", **data}]
    assert data == {  # the caller's dict is not modified
        "git_branch": "release",
        "steps_override": ["dbt run -s a", "dbt run -s b"],
        "threads_override": 4,
    }


def test_run_dbt_cloud_job_uses_the_callers_cause(
    credentials: dict[str, Any], mock: requests_mock.Mocker
) -> None:
    mock.post(ROOT + "jobs/9/run/", json=envelope(make_run(504, job_id=9)))
    run_dbt_cloud_job(credentials, job_id=9, data={"cause": "deploy 1.4"}, wait_for_outcome=False)
    assert sent_bodies(mock) == [{"cause": "deploy 1.4"}]


def test_job_id_defaults_to_credentials(credentials: dict[str, Any], mock: requests_mock.Mocker) -> None:
    mock.post(ROOT + "jobs/77/run/", json=envelope(make_run(505, job_id=77)))
    spec = DbtCloudCredentials()
    spec.api_token = TOKEN  # type: ignore[assignment]
    spec.account_id = ACCOUNT_ID
    spec.base_url = BASE_URL + "/"
    spec.job_id = 77
    assert run_dbt_cloud_job(spec, wait_for_outcome=False)["id"] == 505
    assert run_dbt_cloud_job({**credentials, "job_id": "77"}, wait_for_outcome=False)["id"] == 505


def test_missing_job_id_is_a_config_error(credentials: dict[str, Any], mock: requests_mock.Mocker) -> None:
    with pytest.raises(ConfigError, match="job_id"):
        run_dbt_cloud_job(credentials, wait_for_outcome=False)
    assert mock.request_history == []


def test_missing_token_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="api_token"):
        run_dbt_cloud_job({"account_id": ACCOUNT_ID, "job_id": 1})


def test_credentials_none_reads_dbt_cloud_config(api_env: Any, mock: requests_mock.Mocker) -> None:
    mock.post(ROOT + "jobs/5/run/", json=envelope(make_run(506, job_id=5)))
    assert run_dbt_cloud_job(job_id=5, wait_for_outcome=False)["id"] == 506
    assert mock.request_history[0].headers["Authorization"] == f"Token {TOKEN}"


# -- wait -------------------------------------------------------------------------------------


def test_wait_retries_a_404_right_after_triggering_then_polls_to_success(
    api: DbtCloudApi, mock: requests_mock.Mocker, fake_clock: FakeClock
) -> None:
    mock.get(
        ROOT + "runs/600/",
        [
            not_found(),
            not_found(),
            run_response(make_run(600, 1)),
            run_response(make_run(600, 1)),
            run_response(make_run(600, 3)),
            run_response(make_run(600, 10)),
        ],
    )
    seen: list[int] = []

    run = ops.wait_for_run(
        api,
        600,
        timeout_seconds=3600,
        poll_seconds=5,
        on_poll=lambda r: seen.append(r["status"]),
        clock=fake_clock.clock,
        sleep=fake_clock.sleep,
    )

    assert run["status"] == 10
    assert seen == [1, 1, 3, 10]
    assert fake_clock.sleeps == [5, 5, 5, 5, 5]
    assert all(query(r)["include_related"] == ['["trigger"]'] for r in mock.request_history)


def test_wait_gives_up_on_a_run_that_never_appears(
    api: DbtCloudApi, mock: requests_mock.Mocker, fake_clock: FakeClock
) -> None:
    runs = mock.get(ROOT + "runs/601/", **not_found())
    mock.get(ROOT, json={"status": {"code": 200}, "data": {"id": 4242}})  # the account answers
    with pytest.raises(ApiError) as info:
        ops.wait_for_run(api, 601, poll_seconds=1, clock=fake_clock.clock, sleep=fake_clock.sleep)
    assert info.value.status_code == 404
    assert str(info.value).startswith("run 601 not found in account 4242")
    assert runs.call_count == ops.NOT_FOUND_RETRIES + 1


def test_wait_does_not_retry_a_404_once_the_run_was_seen(
    api: DbtCloudApi, mock: requests_mock.Mocker, fake_clock: FakeClock
) -> None:
    runs = mock.get(ROOT + "runs/602/", [run_response(make_run(602, 3)), not_found()])
    mock.get(ROOT, json={"status": {"code": 200}, "data": {"id": 4242}})
    with pytest.raises(ApiError):
        ops.wait_for_run(api, 602, poll_seconds=1, clock=fake_clock.clock, sleep=fake_clock.sleep)
    assert runs.call_count == 2


def test_queued_for_long_is_not_a_failure(
    api: DbtCloudApi, mock: requests_mock.Mocker, fake_clock: FakeClock
) -> None:
    mock.get(ROOT + "runs/603/", [run_response(make_run(603, 1))] * 50 + [run_response(make_run(603, 10))])
    run = ops.wait_for_run(api, 603, poll_seconds=60, clock=fake_clock.clock, sleep=fake_clock.sleep)
    assert run["status"] == 10
    assert mock.call_count == 51


def test_wait_times_out_with_the_last_run(
    api: DbtCloudApi, mock: requests_mock.Mocker, fake_clock: FakeClock
) -> None:
    mock.get(ROOT + "runs/604/", json=envelope(make_run(604, 3)))

    with pytest.raises(ops.RunTimeout) as info:
        ops.wait_for_run(
            api, 604, timeout_seconds=25, poll_seconds=10, clock=fake_clock.clock, sleep=fake_clock.sleep
        )

    assert info.value.exit_code == EXIT_TIMEOUT
    assert info.value.run["status"] == 3
    assert fake_clock.sleeps == [10, 10, 5]  # the last sleep is cut to the deadline
    assert mock.call_count == 4
    assert "604" in str(info.value) and "Running" in str(info.value)
    assert f"{BASE_URL}/deploy/{ACCOUNT_ID}/projects/11/runs/604/" in str(info.value)


def test_run_dbt_cloud_job_waits_with_a_timeout(
    credentials: dict[str, Any], mock: requests_mock.Mocker
) -> None:
    mock.post(ROOT + "jobs/7/run/", json=envelope(make_run(605)))
    mock.get(ROOT + "runs/605/", json=envelope(make_run(605, 1)))
    with pytest.raises(ops.RunTimeout):
        run_dbt_cloud_job(credentials, job_id=7, wait_seconds=0.01, timeout_seconds=0.05)


@pytest.mark.parametrize(
    ("status", "error", "exit_code"),
    [(20, ops.RunFailed, EXIT_RUN_ERROR), (30, ops.RunCancelled, EXIT_RUN_CANCELLED)],
)
def test_raise_on_failure(
    credentials: dict[str, Any], mock: requests_mock.Mocker, status: int, error: type, exit_code: int
) -> None:
    final = make_run(606, status, status_message="Database Error in model orders" if status == 20 else None)
    mock.post(ROOT + "jobs/7/run/", json=envelope(make_run(606)))
    mock.get(ROOT + "runs/606/", [run_response(make_run(606, 3)), run_response(final)] * 3)

    assert run_dbt_cloud_job(credentials, job_id=7, wait_seconds=0.01)["status"] == status
    with pytest.raises(error) as info:
        run_dbt_cloud_job(credentials, job_id=7, wait_seconds=0.01, raise_on_failure=True)
    assert info.value.exit_code == exit_code
    assert info.value.run["id"] == 606
    with pytest.raises(error):
        get_dbt_cloud_run_status(credentials, run_id=606, wait_seconds=0.01, raise_on_failure=True)


def test_raise_on_failure_returns_a_success(credentials: dict[str, Any], mock: requests_mock.Mocker) -> None:
    mock.get(ROOT + "runs/607/", json=envelope(make_run(607, 10)))
    run = get_dbt_cloud_run_status(credentials, run_id=607, raise_on_failure=True)
    assert run["status"] == 10
    assert get_dbt_cloud_run_status(credentials, run_id=607, wait_for_outcome=False)["id"] == 607


# -- cancel -----------------------------------------------------------------------------------


def test_cancel_posts_to_the_cancel_endpoint(api: DbtCloudApi, mock: requests_mock.Mocker) -> None:
    mock.post(ROOT + "runs/700/cancel/", json=envelope(make_run(700, 30)))
    assert ops.cancel_run(api, 700)["status"] == 30
    assert mock.request_history[0].url == ROOT + "runs/700/cancel/"


# -- list runs --------------------------------------------------------------------------------


def install_run_listing(
    mock: requests_mock.Mocker, total: int, page_cap: int, arrivals: dict[int, int] | None = None
) -> list[dict[str, Any]]:
    """`GET runs/` over `total` runs (newest first) that serves at most `page_cap` rows a page.

    `arrivals` maps an offset to how many new runs are created just before that page is answered
    (runs created while a client pages push the older rows down). `total_count` is what the
    listing holds when the page is answered, as the API reports it.
    """
    runs = [make_run(10_000 - i, 10) for i in range(total)]
    newest = iter(range(20_000, 30_000))
    pending = dict(arrivals or {})

    def answer(request: Any, context: Any) -> dict[str, Any]:
        q = query(request)
        offset, limit = int(q["offset"][0]), int(q["limit"][0])
        runs[:0] = [make_run(next(newest), 1) for _ in range(pending.pop(offset, 0))]
        page = runs[offset : offset + min(limit, page_cap)]
        return envelope(page, pagination={"count": len(page), "total_count": len(runs)})

    mock.get(ROOT + "runs/", json=answer)
    return runs


def asked_pages(mock: requests_mock.Mocker) -> list[tuple[int, int]]:
    """`(offset, limit)` of every `GET runs/`, in offset order (read-ahead may send them out of order)."""
    return sorted((int(query(r)["offset"][0]), int(query(r)["limit"][0])) for r in mock.request_history)


def test_list_runs_pages_past_100_stepping_by_rows_received(
    api: DbtCloudApi, mock: requests_mock.Mocker
) -> None:
    runs = install_run_listing(mock, total=400, page_cap=40)

    listed = ops.list_runs(api, limit=150)

    assert [r["id"] for r in listed] == [r["id"] for r in runs[:150]]
    # a host serving 40 a page: each page is completed by asking only for what it lacks, and the last
    # one asks only for the 10 runs still wanted
    assert asked_pages(mock) == [(0, 100), (40, 100), (80, 60), (120, 20), (140, 10)]
    first = query(mock.request_history[0])
    assert first["order_by"] == ["-created_at"]
    assert first["include_related"] == ['["trigger"]']


@pytest.mark.parametrize(
    "limit,pages",
    [
        (20, [(0, 20)]),  # one page, of that size
        (250, [(0, 100), (100, 100), (200, 50)]),  # ceil(250 / 100) pages, the last asking for the 50 left
    ],
)
def test_list_runs_asks_only_the_pages_it_needs(
    api: DbtCloudApi, mock: requests_mock.Mocker, limit: int, pages: list[tuple[int, int]]
) -> None:
    runs = install_run_listing(mock, total=1000, page_cap=100)

    listed = ops.list_runs(api, limit=limit)

    assert [r["id"] for r in listed] == [r["id"] for r in runs[:limit]]
    assert asked_pages(mock) == pages


def test_list_runs_stops_at_the_end(api: DbtCloudApi, mock: requests_mock.Mocker) -> None:
    """A page with fewer rows than asked that reaches total_count is the end: nothing more is asked."""
    install_run_listing(mock, total=130, page_cap=100)
    assert len(ops.list_runs(api, limit=500)) == 130
    assert asked_pages(mock) == [(0, 100), (100, 100)]


def test_list_runs_ending_on_a_full_page_asks_once_past_it(
    api: DbtCloudApi, mock: requests_mock.Mocker
) -> None:
    """A full last page may have rows pushed past it by new runs: one more page tells, empty here."""
    install_run_listing(mock, total=200, page_cap=100)
    assert len(ops.list_runs(api, limit=500)) == 200
    assert asked_pages(mock) == [(0, 100), (100, 100), (200, 100)]


def test_list_runs_drops_runs_repeated_by_new_runs_and_reads_on(
    api: DbtCloudApi, mock: requests_mock.Mocker
) -> None:
    """Three runs created before the second page push three rows of the first page onto it again."""
    runs = install_run_listing(mock, total=400, page_cap=100, arrivals={100: 3})
    before = [r["id"] for r in runs]  # the listing as the first page saw it

    listed = ops.list_runs(api, limit=200)

    ids = [r["id"] for r in listed]
    assert len(ids) == len(set(ids)) == 200
    assert ids == before[:200], "newest first as first seen; the new runs came after the first page"
    assert asked_pages(mock) == [(0, 100), (100, 100), (200, 100)], "one more page for the 3 repeats"


def test_list_runs_filters(api: DbtCloudApi, mock: requests_mock.Mocker) -> None:
    mock.get(ROOT + "runs/", json=envelope([make_run(1, 20)], pagination={"count": 1, "total_count": 1}))
    ops.list_runs(api, job_id=7, status="ERROR", limit=5)
    q = query(mock.request_history[0])
    assert q["job_definition_id"] == ["7"]
    assert q["status"] == ["20"]
    assert q["limit"] == ["5"]
    with pytest.raises(ConfigError, match="queued, starting, running, success, error, cancelled"):
        ops.list_runs(api, status="failed")


# -- artifacts --------------------------------------------------------------------------------


def test_list_and_fetch_artifacts(api: DbtCloudApi, mock: requests_mock.Mocker) -> None:
    paths = ["manifest.json", "run_results.json", "catalog.json"]
    mock.get(ROOT + "runs/800/artifacts/", json=envelope(paths))
    mock.get(ROOT + "runs/800/artifacts/run_results.json", content=b'{"results": []}')

    assert ops.list_artifacts(api, 800) == paths
    assert ops.fetch_artifact(api, 800, "run_results.json", step=2) == b'{"results": []}'
    assert query(mock.request_history[-1]) == {"step": ["2"]}


def test_missing_artifact_says_why(api: DbtCloudApi, mock: requests_mock.Mocker) -> None:
    mock.get(ROOT + "runs/801/artifacts/manifest.json", **not_found())
    with pytest.raises(ApiError) as info:
        ops.fetch_artifact(api, 801, "manifest.json")
    assert info.value.status_code == 404
    assert "run 801 has no artifact 'manifest.json'" in str(info.value)
    assert "not be complete" in str(info.value)


# -- run_url ----------------------------------------------------------------------------------


def test_run_url_prefers_href_and_builds_from_the_access_url() -> None:
    assert ops.run_url(make_run(1, href="https://x.dbt.com/deploy/1/projects/2/runs/1/")) == (
        "https://x.dbt.com/deploy/1/projects/2/runs/1/"
    )
    assert (
        ops.run_url(make_run(900), BASE_URL + "/") == f"{BASE_URL}/deploy/{ACCOUNT_ID}/projects/11/runs/900/"
    )
    assert ops.run_url(make_run(900)) is None
