"""Errors a user can cause end with one clear line and a non-zero exit, never a traceback or the token;
faults are retried, and a load that still fails commits nothing and is healed by the next one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
import requests
import requests_mock
from dbt_cloud_runs.cli import main
from dbt_cloud_runs.errors import EXIT_API, EXIT_DESTINATION, EXIT_USAGE
from entry_point import run_entry_point
from fake_api import ACCOUNT_ID, BASE_URL, T0, TOKEN, FakeDbtCloud, envelope, make_run


@pytest.fixture
def fake(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDbtCloud]:
    api = FakeDbtCloud()
    api.add_job(1, "Nightly build")
    api.add_runs(*[make_run(i, T0 + timedelta(hours=i)) for i in range(1, 351)])
    monkeypatch.setenv("DBT_CLOUD__API_TOKEN", TOKEN)
    monkeypatch.setenv("DBT_CLOUD__ACCOUNT_ID", str(ACCOUNT_ID))
    monkeypatch.setenv("DBT_CLOUD__BASE_URL", BASE_URL + "/")
    with requests_mock.Mocker() as mocker:
        api.install(mocker)
        yield api


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    return code, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def stored_runs(workdir: Path) -> int:
    path = workdir / "dbt_runs.duckdb"
    if not path.exists():
        return 0
    with duckdb.connect(str(path), read_only=True) as con:
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema='dbt_cloud' AND table_name='runs'"
        ).fetchone()[0]
        return con.execute("SELECT count(*) FROM dbt_cloud.runs").fetchone()[0] if exists else 0


def test_load_through_cli_prints_summary(fake: FakeDbtCloud, workdir: Path, capsys) -> None:
    code, out, _ = run_cli(capsys, "--lookback-hours", "2")
    assert code == 0
    assert "Runs: 350 new, 0 stored runs rewritten" in out
    assert str((workdir / "dbt_runs.duckdb").resolve()) in out
    assert re.search(r"Elapsed: \d+\.\d s \(whole process; the load itself \d+\.\d s\)", out)


@pytest.mark.e2e  # a subprocess: kept out of the fast tier
@pytest.mark.parametrize(
    "missing,setting",
    [
        ("DBT_CLOUD__API_TOKEN", "DBT_CLOUD__API_TOKEN"),
        ("DBT_CLOUD__ACCOUNT_ID", "DBT_CLOUD__ACCOUNT_ID"),
    ],
)
def test_missing_setting_names_it(
    fake, monkeypatch, capsys, missing: str, setting: str, tmp_path: Path
) -> None:
    monkeypatch.delenv(missing)
    # a subprocess in an empty folder: no .dlt/ files can fill the gap
    given = {name: value for name, value in os.environ.items() if name.startswith("DBT_CLOUD__")}
    proc = run_entry_point(None, tmp_path, extra_env=given, timeout=120)
    assert proc.returncode == EXIT_USAGE
    line = one_error_line(proc.stderr)
    assert setting in line and "[dbt_cloud]" in line


def test_bad_account_id_is_a_usage_error(fake, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DBT_CLOUD__ACCOUNT_ID", "acme")
    code, _, err = run_cli(capsys)
    assert code == EXIT_USAGE
    assert "account_id must be a number" in one_error_line(err)


def test_bad_token_401(fake, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DBT_CLOUD__API_TOKEN", "dbtc_revoked")
    code, _, err = run_cli(capsys)
    assert code == EXIT_API
    line = one_error_line(err)
    assert "refused the API token (401 Invalid token.)" in line and "api_token" in line
    assert "dbtc_revoked" not in err


def test_wrong_account_403(fake, capsys) -> None:
    fake.fail = lambda path, query: (403, envelope(None, 403, "You do not have access to this account."))
    code, _, err = run_cli(capsys)
    assert code == EXIT_API
    line = one_error_line(err)
    assert f"denied access to account {ACCOUNT_ID}" in line and "account_id" in line


def test_wrong_url_404(fake, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DBT_CLOUD__ACCOUNT_ID", "999")
    with requests_mock.Mocker() as mocker:
        mocker.get(requests_mock.ANY, status_code=404, text="<html>Not Found</html>")
        code, _, err = run_cli(capsys)
    assert code == EXIT_API
    line = one_error_line(err)
    assert "404" in line and "account_id and base_url" in line


def test_not_the_api_at_all(fake, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DBT_CLOUD__BASE_URL", "https://intranet.example.com")
    with requests_mock.Mocker() as mocker:
        mocker.get(requests_mock.ANY, text="<html>login</html>")
        code, _, err = run_cli(capsys)
    assert code == EXIT_API
    assert "not the dbt Cloud API" in one_error_line(err)


def test_unreachable_host(fake, monkeypatch, capsys) -> None:
    with requests_mock.Mocker() as mocker:
        mocker.get(requests_mock.ANY, exc=requests.exceptions.ConnectionError("refused"))
        code, _, err = run_cli(capsys)
    assert code == EXIT_API
    assert "Could not reach dbt Cloud" in one_error_line(err)


def test_429_and_5xx_and_dropped_connections_are_retried(fake: FakeDbtCloud, workdir: Path, capsys) -> None:
    faults = {
        ("runs", "100"): [(429, envelope(None, 429, "Slow down"), {"Retry-After": "0"})],
        ("runs", "200"): [(503, envelope(None, 503, "Unavailable"))],
        ("runs", "300"): [requests.exceptions.ConnectionError("connection dropped")],
        ("jobs", "0"): [(502, {"oops": True})],
    }

    def flaky(path: str, query: dict):
        queue = faults.get((path, query.get("offset", ["0"])[0]))
        return queue.pop(0) if queue else None

    fake.fail = flaky
    code, out, err = run_cli(capsys)
    assert code == 0, err
    assert not any(faults.values()), "every injected fault was hit once"
    assert stored_runs(workdir) == 350


def test_persistent_5xx_fails_commits_nothing_and_next_load_heals(
    fake: FakeDbtCloud, workdir: Path, capsys
) -> None:
    assert run_cli(capsys, "--lookback-hours", "1")[0] == 0
    fake.add_runs(*[make_run(i, T0 + timedelta(hours=i)) for i in range(351, 651)])

    fake.fail = lambda path, query: (
        (503, envelope(None, 503, "Down")) if query.get("offset") == ["200"] else None
    )
    code, _, err = run_cli(capsys, "--lookback-hours", "1")
    assert code == EXIT_API
    assert "kept failing with 503" in one_error_line(err)
    assert stored_runs(workdir) == 350, "nothing of the failed load is committed"

    fake.fail = None
    code, _, _ = run_cli(capsys, "--lookback-hours", "1")
    assert code == 0
    with duckdb.connect(str(workdir / "dbt_runs.duckdb"), read_only=True) as con:
        assert con.execute(
            "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM dbt_cloud.runs"
        ).fetchone() == (650, 650, 1, 650)


def test_first_load_failing_half_way_leaves_no_cursor(fake: FakeDbtCloud, workdir: Path, capsys) -> None:
    fake.fail = lambda path, query: (
        (500, envelope(None, 500, "Boom")) if query.get("offset") == ["300"] else None
    )
    assert run_cli(capsys)[0] == EXIT_API
    fake.fail = None
    assert run_cli(capsys)[0] == 0
    assert stored_runs(workdir) == 350


def test_locked_duckdb_file(fake: FakeDbtCloud, workdir: Path, capsys, monkeypatch) -> None:
    # a reader that never lets go: the load waits it out briefly, then says so
    monkeypatch.setattr("dbt_cloud_runs.destination.READER_LOCK_WAIT_SECONDS", 0.5)
    assert run_cli(capsys)[0] == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, time; c = duckdb.connect('dbt_runs.duckdb'); print('locked', flush=True); "
            "time.sleep(60)",
        ],
        cwd=workdir,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, _, err = run_cli(capsys)
    finally:
        holder.kill()
        holder.wait()
    assert code == EXIT_DESTINATION
    line = one_error_line(err)
    assert "is locked by another process" in line and "publish_path" in line and "--publish" in line


def test_unknown_destination(fake, capsys) -> None:
    code, _, err = run_cli(capsys, "--destination", "nonsense")
    assert code == EXIT_USAGE
    assert "Unknown dlt destination 'nonsense'" in one_error_line(err)


def test_destination_without_credentials(fake, capsys) -> None:
    code, _, err = run_cli(capsys, "--destination", "postgres")
    assert code == EXIT_USAGE
    line = one_error_line(err)
    assert "postgres destination is missing settings" in line and "DESTINATION__POSTGRES__CREDENTIALS" in line


def test_destination_file_that_cannot_be_opened(fake, monkeypatch, capsys, workdir: Path) -> None:
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(workdir / "missing" / "dir" / "x.duckdb"))
    code, _, err = run_cli(capsys)
    assert code == EXIT_DESTINATION
    assert "Cannot open the destination" in one_error_line(err)


def test_missing_destination_setting_is_named() -> None:
    """The hint names the setting that is missing, not always `credentials`."""
    from types import SimpleNamespace

    from dbt_cloud_runs.destination import destination_setup_error
    from dlt.common.configuration.exceptions import ConfigFieldMissingException

    config = SimpleNamespace(__resolved_fields_set__=[])
    missing = ConfigFieldMissingException(config, {"bucket_url": []})
    error = destination_setup_error(missing, "athena")
    assert error is not None and error.exit_code == 2
    assert "DESTINATION__ATHENA__BUCKET_URL" in str(error) and "bucket_url under [destination.athena]" in str(
        error
    )
