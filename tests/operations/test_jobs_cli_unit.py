"""The trigger/status/cancel/runs/artifacts subcommands, in-process against requests-mock.

What a scheduler relies on: the exit code tells the outcome, output names the run and its URL, status
changes are printed while waiting, a timeout can cancel the run, and errors are one `error:` line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests_mock
from dbt_cloud_runs.cli import main
from dbt_cloud_runs.errors import (
    EXIT_API,
    EXIT_OK,
    EXIT_RUN_CANCELLED,
    EXIT_RUN_ERROR,
    EXIT_TIMEOUT,
    EXIT_USAGE,
)
from ops_fakes import ACCOUNT_ID, BASE_URL, ROOT, TOKEN, envelope, error_envelope, make_run, run_response

URL_601 = f"{BASE_URL}/deploy/{ACCOUNT_ID}/projects/11/runs/601/"


@pytest.fixture
def cli_mock(api_env: Path) -> Any:
    with requests_mock.Mocker() as mocker:
        yield mocker


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    assert "Traceback" not in err
    return code, out, err


def finished(run_id: int, status: int, **fields: Any) -> dict[str, Any]:
    return make_run(
        run_id,
        status,
        started_at="2026-11-20 08:00:30+00:00",
        finished_at="2026-11-20 08:05:00.250000+00:00",
        **fields,
    )


def test_trigger_wait_success(cli_mock: requests_mock.Mocker, capsys: pytest.CaptureFixture[str]) -> None:
    cli_mock.post(ROOT + "jobs/7/run/", json=envelope(make_run(601)))
    cli_mock.get(
        ROOT + "runs/601/",
        [run_response(make_run(601, 1)), run_response(make_run(601, 3)), run_response(make_run(601, 3))]
        + [run_response(finished(601, 10))],
    )

    code, out, _ = run_cli(
        capsys, "trigger", "7", "--steps-override", "dbt seed", "--steps-override", "dbt build",
        "--git-branch", "main", "--wait", "--poll-seconds", "0.01",
    )  # fmt: skip

    assert code == EXIT_OK
    assert cli_mock.request_history[0].json() == {
        "cause": "Triggered via API",
        "git_branch": "main",
        "steps_override": ["dbt seed", "dbt build"],
    }
    lines = out.splitlines()
    assert lines[0] == f"Triggered run 601 (job 7) Queued: {URL_601}"
    assert [line.split(" ", 1)[1] for line in lines[1:3]] == [
        "run 601: Running",
        "run 601: Success",
    ]  # one line per change, not per poll
    assert lines[3] == f"Finished in 300 s: run 601 (job 7) Success: {URL_601}"


@pytest.mark.parametrize(("status", "exit_code"), [(20, EXIT_RUN_ERROR), (30, EXIT_RUN_CANCELLED)])
def test_trigger_wait_failure_exit_codes(
    cli_mock: requests_mock.Mocker, capsys: pytest.CaptureFixture[str], status: int, exit_code: int
) -> None:
    cli_mock.post(ROOT + "jobs/7/run/", json=envelope(make_run(601)))
    cli_mock.get(ROOT + "runs/601/", json=envelope(finished(601, status, status_message="Database Error")))

    code, out, err = run_cli(capsys, "trigger", "7", "--wait", "--poll-seconds", "0.01")

    assert code == exit_code
    assert URL_601 in out
    (line,) = err.splitlines()
    assert line.startswith("error: dbt Cloud run 601 (job 7)") and URL_601 in line
    expected = "ended in Error (Database Error)" if status == 20 else "was cancelled"
    assert line == f"error: dbt Cloud run 601 (job 7) {expected}: {URL_601}"


def test_trigger_timeout_cancels_the_run(
    cli_mock: requests_mock.Mocker, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_mock.post(ROOT + "jobs/7/run/", json=envelope(make_run(601)))
    cli_mock.get(ROOT + "runs/601/", json=envelope(make_run(601, 1)))
    cancel = cli_mock.post(ROOT + "runs/601/cancel/", json=envelope(make_run(601, 30)))

    code, out, err = run_cli(
        capsys, "trigger", "7", "--wait", "--timeout", "0.1", "--poll-seconds", "0.02", "--cancel-on-timeout"
    )

    assert code == EXIT_TIMEOUT
    assert cancel.call_count == 1
    assert f"Timed out: cancel requested for run 601 (job 7) Cancelled: {URL_601}" in out
    assert err.startswith("error: timed out after 0.1 s waiting for dbt Cloud run 601")


def test_trigger_timeout_without_cancel_leaves_the_run(
    cli_mock: requests_mock.Mocker, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_mock.post(ROOT + "jobs/7/run/", json=envelope(make_run(601)))
    cli_mock.get(ROOT + "runs/601/", json=envelope(make_run(601, 3)))
    cancel = cli_mock.post(ROOT + "runs/601/cancel/", json=envelope(make_run(601, 30)))

    code, _, _ = run_cli(capsys, "trigger", "7", "--wait", "--timeout", "0.05", "--poll-seconds", "0.02")

    assert code == EXIT_TIMEOUT
    assert cancel.call_count == 0


def test_timeout_without_wait_is_a_usage_error(
    cli_mock: requests_mock.Mocker, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "trigger", "7", "--timeout", "60")
    assert code == EXIT_USAGE
    assert err == "error: --timeout only applies with --wait: add --wait.\n"
    assert cli_mock.request_history == []  # nothing triggered


def test_trigger_job_id_from_config(
    cli_mock: requests_mock.Mocker, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_mock.post(ROOT + "jobs/31/run/", json=envelope(make_run(601, job_id=31)))
    code, out, _ = run_cli(capsys, "trigger")
    assert code == EXIT_USAGE  # no job anywhere yet

    monkeypatch.setenv("DBT_CLOUD__JOB_ID", "31")
    code, out, _ = run_cli(capsys, "trigger", "--cause", "cron")
    assert code == EXIT_OK
    assert out.startswith("Triggered run 601 (job 31) Queued: ")
    assert cli_mock.request_history[-1].json() == {"cause": "cron"}


def test_status_and_cancel(cli_mock: requests_mock.Mocker, capsys: pytest.CaptureFixture[str]) -> None:
    cli_mock.get(
        ROOT + "runs/601/", json=envelope(finished(601, 20, status_message="Database Error in orders"))
    )
    cli_mock.get(ROOT + "runs/602/", json=envelope(make_run(602, 3)))
    cli_mock.post(ROOT + "runs/602/cancel/", json=envelope(make_run(602, 30)))

    code, out, err = run_cli(capsys, "status", "601")
    assert code == EXIT_RUN_ERROR
    assert out.splitlines()[0] == f"run 601 (job 7) Error: {URL_601}"
    assert "Database Error in orders" in out + err

    code, out, _ = run_cli(capsys, "cancel", "602")
    assert code == EXIT_OK
    assert out.startswith("Cancel requested for run 602 (job 7) Cancelled: ")


def test_runs_table(cli_mock: requests_mock.Mocker, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        finished(3, 10, trigger={"cause": "Kicked off by the scheduler"}),
        make_run(2, 3, trigger={"cause": "Triggered via API"}),
    ]
    cli_mock.get(ROOT + "runs/", json=envelope(rows, pagination={"count": 2, "total_count": 2}))

    code, out, _ = run_cli(capsys, "runs", "--status", "Success", "--job", "7", "--limit", "5")

    assert code == EXIT_OK
    query = cli_mock.request_history[0].qs
    assert query["status"] == ["10"] and query["job_definition_id"] == ["7"] and query["limit"] == ["5"]
    lines = out.splitlines()
    assert lines[0].split() == ["id", "job_id", "status", "created", "(UTC)", "duration_s", "cause"]
    assert lines[2].split() == [
        "3",
        "7",
        "Success",
        "2026-11-20",
        "08:00:00",
        "300",
        "Kicked",
        "off",
        "by",
    ] + [
        "the",
        "scheduler",
    ]
    assert lines[3].split()[:5] == ["2", "7", "Running", "2026-11-20", "08:00:00"]
    assert lines[2].index("Success") == lines[0].index("status")  # fixed width


def test_unknown_status_is_a_usage_error(api_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["runs", "--status", "failed"])
    assert info.value.code == EXIT_USAGE
    assert "queued, starting, running, success, error, cancelled" in capsys.readouterr().err


def test_artifacts_list_and_fetch(
    cli_mock: requests_mock.Mocker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cli_mock.get(ROOT + "runs/601/artifacts/", json=envelope(["manifest.json", "run_results.json"]))
    cli_mock.get(ROOT + "runs/601/artifacts/run_results.json", content=b'{"results": [1]}')

    code, out, _ = run_cli(capsys, "artifacts", "601")
    assert (code, out) == (EXIT_OK, "manifest.json\nrun_results.json\n")

    target = tmp_path / "rr.json"
    code, out, _ = run_cli(capsys, "artifacts", "601", "run_results.json", "-o", str(target))
    assert code == EXIT_OK
    assert target.read_bytes() == b'{"results": [1]}'
    assert "run 601" in out


def test_artifact_404_and_api_errors_are_one_line(
    cli_mock: requests_mock.Mocker, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_mock.get(ROOT + "runs/601/artifacts/catalog.json", status_code=404, json=error_envelope(404, "nf"))
    code, _, err = run_cli(capsys, "artifacts", "601", "catalog.json")
    assert code == EXIT_API
    assert err.startswith("error: dbt Cloud run 601 has no artifact 'catalog.json'")

    cli_mock.get(ROOT + "runs/602/", status_code=401, json=error_envelope(401, "Invalid token."))
    code, _, err = run_cli(capsys, "status", "602")
    assert code == EXIT_API
    assert len(err.splitlines()) == 1 and "refused the API token" in err
