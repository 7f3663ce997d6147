"""The API client's own rules: paging while runs arrive, rate limiting, timestamps, access URLs."""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
import requests_mock
from dbt_cloud_runs.api import DbtCloudApi, RateLimiter
from dbt_cloud_runs.credentials import DbtCloudCredentials, normalize_base_url
from dbt_cloud_runs.errors import ConfigError
from dbt_cloud_runs.rows import RUNS_SCHEMA, parse_timestamp, runs_to_arrow
from fake_api import ACCOUNT_ID, BASE_URL, T0, TOKEN, FakeDbtCloud, make_run
from fake_time import FakeClock


def api(max_workers: int = 4) -> DbtCloudApi:
    creds = DbtCloudCredentials()
    creds.api_token, creds.account_id, creds.base_url = TOKEN, ACCOUNT_ID, BASE_URL
    return DbtCloudApi(creds, max_workers=max_workers)


def test_runs_created_while_paging_are_neither_lost_nor_missed() -> None:
    """New runs shift offsets: rows repeat (dropped later by id) and old rows move past total_count."""
    fake = FakeDbtCloud()
    fake.add_runs(*[make_run(i, T0 + timedelta(hours=i)) for i in range(1, 251)])
    arrived = iter(range(1000, 1030))

    def new_runs_arrive(path: str, query: dict) -> None:
        if path == "runs" and query["offset"] != ["0"]:
            for _ in range(10):
                run_id = next(arrived, None)
                if run_id:
                    fake.add_runs(make_run(run_id, T0 + timedelta(days=100, minutes=run_id)))
        return None

    fake.fail = new_runs_arrive
    with requests_mock.Mocker() as mocker:
        fake.install(mocker)
        pages = list(api(max_workers=1).iter_pages("runs/", params={"order_by": "-created_at"}))
    ids = [run["id"] for page in pages for run in page]
    assert set(range(1, 251)) <= set(ids), "every run that existed when paging began was seen"
    assert len(ids) > len(set(ids)), "shifted pages repeat rows, which the resource drops by id"


def test_iter_pages_reads_a_small_listing_in_one_request() -> None:
    fake = FakeDbtCloud()
    fake.add_runs(*[make_run(i, T0 + timedelta(hours=i)) for i in range(1, 43)])
    with requests_mock.Mocker() as mocker:
        fake.install(mocker)
        pages = list(api().iter_pages("runs/"))
    assert [len(page) for page in pages] == [42]
    assert len(fake.requests) == 1


def test_iter_pages_ends_at_a_short_page_that_reaches_total_count() -> None:
    """250 runs: pages at 0, 100, 200; the third has 50 of the 100 asked, so nothing past it is asked."""
    fake = FakeDbtCloud()
    fake.add_runs(*[make_run(i, T0 + timedelta(hours=i)) for i in range(1, 251)])
    with requests_mock.Mocker() as mocker:
        fake.install(mocker)
        pages = list(api().iter_pages("runs/"))
    assert [len(page) for page in pages] == [100, 100, 50]
    asked = sorted((query["offset"], query["limit"]) for _, _, query in fake.requests)
    assert asked == [(["0"], ["100"]), (["100"], ["100"]), (["200"], ["100"])]


def test_iter_pages_never_asks_for_more_than_100_rows() -> None:
    fake = FakeDbtCloud()
    fake.add_runs(*[make_run(i, T0 + timedelta(hours=i)) for i in range(1, 451)])
    with requests_mock.Mocker() as mocker:
        fake.install(mocker)
        pages = list(api().iter_pages("runs/", wanted_rows=1000))
    assert sum(len(page) for page in pages) == 450
    assert all(int(query["limit"][0]) <= 100 for _, _, query in fake.requests)


def test_closing_the_page_generator_stops_fetching() -> None:
    fake = FakeDbtCloud()
    fake.add_runs(*[make_run(i, T0 + timedelta(hours=i)) for i in range(1, 2001)])
    with requests_mock.Mocker() as mocker:
        fake.install(mocker)
        pages = api(max_workers=2).iter_pages("runs/")
        next(pages)
        next(pages)
        pages.close()  # cancels what has not started and waits for what has
    assert len(fake.requests) <= 1 + 2 + 4, "only the first page and a small read-ahead window"


def limiter_on(fake: FakeClock, requests_per_minute: int) -> RateLimiter:
    return RateLimiter(requests_per_minute, clock=fake.clock, sleep=fake.sleep)


def test_rate_limiter_bursts_then_spaces_requests() -> None:
    fake = FakeClock()
    limiter = limiter_on(fake, requests_per_minute=1200)  # 20/s, a burst of 60
    for _ in range(60):
        limiter.wait()
    assert fake.sleeps == [], "a burst of a twentieth of the minute's budget goes out at once"
    for _ in range(10):
        limiter.wait()
    assert fake.sleeps == pytest.approx([1 / 20] * 10), "then one request per 1/20 s"


def test_rate_limiter_refills_while_idle_but_never_past_one_burst() -> None:
    fake = FakeClock()
    limiter = limiter_on(fake, requests_per_minute=1200)
    for _ in range(60):
        limiter.wait()
    fake.now += 1.0  # idle for 1 s: 20 tokens back
    for _ in range(20):
        limiter.wait()
    assert fake.sleeps == []
    limiter.wait()
    assert fake.sleeps == pytest.approx([1 / 20])
    fake.now += 3600.0  # idle for an hour: still only one burst of 60
    fake.sleeps.clear()
    for _ in range(61):
        limiter.wait()
    assert fake.sleeps == pytest.approx([1 / 20])


def test_rate_limiter_keeps_every_minute_under_its_budget_plus_one_burst() -> None:
    fake = FakeClock()
    limiter = limiter_on(fake, requests_per_minute=4000)
    sent = []
    for _ in range(12_000):
        limiter.wait()
        sent.append(fake.now)
    busiest = max(bisect.bisect_left(sent, start + 60.0) - i for i, start in enumerate(sent))
    assert 4000 <= busiest <= 4000 * 1.05 + 1, busiest


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2026-11-20 08:15:49.123456+00:00", datetime(2026, 11, 20, 8, 15, 49, 123456, tzinfo=UTC)),
        ("2026-11-20 08:15:49+00:00", datetime(2026, 11, 20, 8, 15, 49, tzinfo=UTC)),
        ("2026-11-20T10:15:49+02:00", datetime(2026, 11, 20, 8, 15, 49, tzinfo=UTC)),
        ("2026-11-20T08:15:49Z", datetime(2026, 11, 20, 8, 15, 49, tzinfo=UTC)),
        (None, None),
    ],
)
def test_timestamps_with_and_without_microseconds(text: str | None, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected
    run = make_run(1, T0)
    run["finished_at"] = text
    table = runs_to_arrow([run])
    assert table.schema == RUNS_SCHEMA
    assert table.column("finished_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("finished_at").to_pylist() == [expected]


def test_odd_values_fall_back_to_row_parsing() -> None:
    run = make_run(1, T0)
    run["job_definition_id"] = "77"
    run["created_at"] = "Fri, 20 Nov 2026 08:15:49 +0000"
    row = runs_to_arrow([run]).to_pylist()[0]
    assert row["job_definition_id"] == 77
    assert row["created_at"] == datetime(2026, 11, 20, 8, 15, 49, tzinfo=UTC)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("https://cloud.getdbt.com/", "https://cloud.getdbt.com"),
        ("https://emea.dbt.com", "https://emea.dbt.com"),
        ("https://ab123.us1.dbt.com/api/v2/", "https://ab123.us1.dbt.com"),
    ],
)
def test_access_urls(value: str | None, expected: str) -> None:
    assert normalize_base_url(value) == expected


def test_bad_access_url() -> None:
    with pytest.raises(ConfigError, match="base_url"):
        normalize_base_url("cloud.getdbt.com")


@pytest.mark.parametrize("expected", [0, 1, 99, 100, 120, 200, 250, 400])
def test_read_listing_asks_every_page_at_once_and_still_reads_all(expected: int) -> None:
    fake = FakeDbtCloud()
    for job_id in range(1, 251):
        fake.add_job(job_id, f"job {job_id}")
    with requests_mock.Mocker() as mocker:
        fake.install(mocker)
        pages = api().read_listing("jobs/", expected_total=expected)
    assert sorted(job["id"] for page in pages for job in page) == list(range(1, 251))
    if expected in (200, 250):
        assert len(fake.requests) == 3, "the planned pages fit: no second pass"
