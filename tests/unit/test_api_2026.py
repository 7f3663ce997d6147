"""dbt Cloud as it is in late 2026, against requests-mock: no default host, the old-host warning, v3
listings with their v2 fallback, jobs of every state, the rate-limit cooldown, bad 2xx bodies, retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests_mock
from dbt_cloud_runs import api as api_module
from dbt_cloud_runs import listings
from dbt_cloud_runs.api import DbtCloudApi
from dbt_cloud_runs.cli import main
from dbt_cloud_runs.credentials import DbtCloudCredentials
from dbt_cloud_runs.errors import EXIT_API, EXIT_USAGE, ApiError
from fake_api import ACCOUNT_ID, BASE_URL, T0, TOKEN, FakeDbtCloud, envelope, make_run


@pytest.fixture
def fake(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDbtCloud]:
    api = FakeDbtCloud()
    api.add_job(1, "Nightly build")
    api.add_runs(*[make_run(i, T0 + timedelta(hours=i)) for i in range(1, 151)])
    monkeypatch.setenv("DBT_CLOUD__API_TOKEN", TOKEN)
    monkeypatch.setenv("DBT_CLOUD__ACCOUNT_ID", str(ACCOUNT_ID))
    monkeypatch.setenv("DBT_CLOUD__BASE_URL", BASE_URL)
    monkeypatch.setattr(listings, "_said", set())
    with requests_mock.Mocker() as mocker:
        api.install(mocker)
        yield api


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The cooldown's pauses, recorded on a fake clock that each pause moves on (no real waiting)."""
    waits: list[float] = []
    clock = [1_800_000_000.0]

    def sleep(seconds: float) -> None:
        waits.append(round(seconds))
        clock[0] += seconds

    monkeypatch.setattr(api_module.Cooldown, "sleep", staticmethod(sleep))
    monkeypatch.setattr(api_module.Cooldown, "now", staticmethod(lambda: clock[0]))
    return waits


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    return code, out, err


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def client() -> DbtCloudApi:
    creds = DbtCloudCredentials()
    creds.api_token, creds.account_id, creds.base_url = TOKEN, ACCOUNT_ID, BASE_URL
    creds.rate_limit_cooldown_seconds = 300
    return DbtCloudApi(creds, max_workers=2)


# ----- access URL ---------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [[], ["runs"], ["status", "1"], ["retry", "1"]])
def test_without_a_base_url_nothing_is_sent_and_one_line_says_where_to_find_it(
    fake: FakeDbtCloud, monkeypatch: pytest.MonkeyPatch, capsys, args: list[str]
) -> None:
    monkeypatch.delenv("DBT_CLOUD__BASE_URL")
    code, _, err = run_cli(capsys, *args)
    assert code == EXIT_USAGE
    line = error_line(err)
    assert "base_url" in line and "Account settings" in line and "DBT_CLOUD__BASE_URL" in line
    assert fake.requests == [], "no request is sent"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("HTTPS://ab123.us1.dbt.com", "uppercase scheme"),
        ("htps://ab123.us1.dbt.com", "unknown scheme 'htps://'"),
        ("ab123.us1.dbt.com", "no scheme"),
    ],
)
def test_bad_schemes_are_named(fake, monkeypatch, capsys, value: str, words: str) -> None:
    monkeypatch.setenv("DBT_CLOUD__BASE_URL", value)
    code, _, err = run_cli(capsys, "runs")
    assert code == EXIT_USAGE and words in error_line(err)


def test_an_old_region_host_still_works_with_one_warning_line(capsys) -> None:
    from dbt_cloud_runs import credentials

    credentials._warned_hosts.clear()
    credentials.warn_if_old_region_host("https://emea.dbt.com")
    credentials.warn_if_old_region_host("https://emea.dbt.com")
    credentials.warn_if_old_region_host("https://ab123.eu1.dbt.com")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("warning: ") and "2026-11-01" in err[0]


def test_since_that_is_not_a_date_is_a_usage_error(fake, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--since", "P1D"])
    assert exit_info.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "not a date: 'P1D' is a duration" in err and "Traceback" not in err


# ----- listings -----------------------------------------------------------------------------------


def test_listings_use_v3_and_jobs_of_every_state(fake: FakeDbtCloud) -> None:
    fake.add_job(2, "Gone")
    fake.delete_job(2)
    fake.projects.append({"id": 11, "account_id": ACCOUNT_ID, "name": "Finance", "state": 1})
    fake.environments.append({"id": 111, "account_id": ACCOUNT_ID, "project_id": 11, "name": "Prod"})
    account = listings.AccountListings(client())
    jobs = [job for page in account.read("jobs") for job in page]
    assert [(job["id"], job["state"]) for job in jobs] == [(1, 1), (2, 2)]
    envs = [env["id"] for page in account.read("environments") for env in page]
    assert sorted(envs) == [100, 111]
    paths = sorted(path for _, path, _ in fake.requests)
    assert paths == ["jobs", "v3/projects", "v3/projects/10/environments", "v3/projects/11/environments"]
    assert [query["state"] for _, path, query in fake.requests if path == "jobs"] == [["all"]]


def test_environments_of_known_projects_are_asked_at_once_and_the_listing_still_decides(
    fake: FakeDbtCloud,
) -> None:
    """The last load's projects (10 and 12) have their environments asked for alongside the projects
    listing; project 12 is gone (its answer, a 404, is dropped) and project 11 is new (asked after)."""
    fake.projects.append({"id": 11, "account_id": ACCOUNT_ID, "name": "Finance", "state": 1})
    fake.environments.append({"id": 111, "account_id": ACCOUNT_ID, "project_id": 11, "name": "Prod"})
    account = listings.AccountListings(client(), known_project_ids=[10, 12])
    envs = [env["id"] for page in account.read("environments") for env in page]
    assert envs == [100, 111]
    paths = sorted(path for _, path, _ in fake.requests)
    assert paths == [
        "v3/projects",
        "v3/projects/10/environments",
        "v3/projects/11/environments",
        "v3/projects/12/environments",
    ]


def test_known_projects_on_an_older_host_still_fall_back_to_v2(fake: FakeDbtCloud) -> None:
    fake.v3 = False
    account = listings.AccountListings(client(), known_project_ids=[10])
    assert [e["id"] for page in account.read("environments") for e in page] == [100]


def test_an_older_host_without_v3_falls_back_to_v2_and_says_so_once(fake: FakeDbtCloud, capsys) -> None:
    fake.v3 = False
    account = listings.AccountListings(client())
    assert [p["id"] for page in account.read("projects") for p in page] == [10]
    assert [e["id"] for page in account.read("environments") for e in page] == [100]
    listings.AccountListings(client()).read("projects")
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "v2" in warnings[0] and "404" in warnings[0]
    assert {path for _, path, _ in fake.requests} >= {"projects", "environments"}


def test_a_listing_the_token_may_not_read_is_empty_with_a_warning(fake: FakeDbtCloud, capsys) -> None:
    fake.fail = lambda path, query: (403, envelope(None, 403, "Forbidden")) if "projects" in path else None
    assert listings.AccountListings(client()).read("projects") == []
    assert "may not read projects (403)" in capsys.readouterr().err


# ----- rate-limit cooldown ------------------------------------------------------------------------


def test_a_cooldown_without_retry_after_is_waited_out(fake: FakeDbtCloud, slept: list[float], capsys) -> None:
    answers = iter([(429, envelope(None, 429, "Too many requests."))] * 4)  # outlasts dlt's 3 attempts
    fake.fail = lambda path, query: next(answers, None)
    api = client()
    assert len(api.get("runs/", params={"limit": 100})) == 100
    assert slept == [300]
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("warning: dbt Cloud is rate-limiting") and "until" in line and "UTC" in line


def test_retry_after_is_waited_as_asked(fake: FakeDbtCloud, slept: list[float]) -> None:
    answers = iter([(429, envelope(None, 429, "Slow down"), {"Retry-After": "42"})] * 3)
    fake.fail = lambda path, query: next(answers, None)
    assert client().get("jobs/")
    assert 42 in slept


def test_a_cooldown_that_does_not_end_fails_after_two_pauses_with_one_line(
    fake: FakeDbtCloud, slept: list[float], capsys
) -> None:
    fake.fail = lambda path, query: (429, envelope(None, 429, "Too many requests."))
    code, _, err = run_cli(capsys, "--no-artifacts")
    assert code == EXIT_API
    assert "429" in error_line(err) and "2 cooldown pause(s)" in error_line(err)
    assert slept == [300, 300]
    assert len([line for line in err.splitlines() if line.startswith("warning: dbt Cloud is rate")]) == 2


# ----- bad bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"<!DOCTYPE html><html><body>502 from the proxy</body></html>", "an HTML page"),
        (b'{"status": {"code": 200}, "data": [{"id": 1', "cut-off JSON (43 bytes)"),
    ],
)
def test_a_bad_body_once_is_retried(fake: FakeDbtCloud, body: bytes, said: str) -> None:
    with requests_mock.Mocker() as mocker:
        url = f"{BASE_URL}/api/v2/accounts/{ACCOUNT_ID}/runs/"
        mocker.get(url, [{"content": body, "status_code": 200}, {"json": envelope([{"id": 1}])}])
        assert client().get("runs/") == [{"id": 1}]
        assert mocker.call_count == 2


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"<!DOCTYPE html><html><body>502 from the proxy</body></html>", "an HTML page"),
        (b'{"status": {"code": 200}, "data": [{"id": 1', "cut-off JSON (43 bytes)"),
        (b"[]", "not dbt Cloud's {status, data, extra} envelope"),
    ],
)
def test_a_bad_body_that_persists_fails_with_one_line_saying_what_came(
    fake: FakeDbtCloud, body: bytes, said: str
) -> None:
    api = client()
    api.get("jobs/")
    with requests_mock.Mocker() as mocker:
        mocker.get(requests_mock.ANY, content=body)
        with pytest.raises(ApiError) as error:
            api.get("runs/")
        assert mocker.call_count == 3, "as many attempts as dlt's retrying client makes"
    message = str(error.value)
    assert said in message and "base_url may be wrong" not in message


def test_a_bad_body_on_the_first_request_suspects_the_base_url(
    monkeypatch: pytest.MonkeyPatch, fake: FakeDbtCloud
) -> None:
    monkeypatch.setattr(api_module, "_request_numbers", iter(range(10**6)))
    with requests_mock.Mocker() as mocker:
        mocker.get(requests_mock.ANY, text="<html>login</html>")
        with pytest.raises(ApiError, match="first request of this run, so base_url may be wrong"):
            client().get("runs/")
