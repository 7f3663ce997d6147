"""End to end: `python pipelines/dbt_runs.py mcp` as a subprocess, driven over stdio by the SDK's client.

A store is loaded first by the real loader from the simulator; store answers are compared with the views
queried directly, API answers with what the simulator serves. Safety: the write tools are absent
without --allow-writes, `query` refuses files and anything but one SELECT, a load holding the store gives
an error instead of a hang, an idle server does not make a load fail, the token appears nowhere.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
from dbt_cloud_runs.mcp_answers import json_value
from dbt_cloud_runs.mcp_server import WRITE_TOOLS
from dbt_cloud_simulator import DbtCloudSimulator
from entry_point import ENTRY_POINT, run_entry_point, simulator_env, start_entry_point
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOKEN = "dbtc_mcp_e2e_secret_token_value"
READ_TOOLS = {
    "job_health",
    "recent_failures",
    "run_history",
    "model_history",
    "slowest_models",
    "query",
    "list_runs",
    "get_run",
    "list_run_artifacts",
    "get_run_error",
}
CALL_SECONDS = 30.0
"""A bound on every tool call, so a hanging server fails the test instead of blocking it."""


# -- set-up -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Any:
    with DbtCloudSimulator(runs=900, jobs=40, seed=5, now=NOW, token=TOKEN) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def store(sim: DbtCloudSimulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store loaded by the real loader (artifacts on), shared by the read-only tests."""
    workdir = tmp_path_factory.mktemp("mcp_store")
    proc = run_entry_point(sim, workdir)
    assert proc.returncode == 0, proc.stderr
    return workdir / "dbt_runs.duckdb"


class Server:
    """A connected MCP client; collects every answer's text and, after exit, the server's stderr."""

    def __init__(self, client: Client, stderr_path: Path) -> None:
        self.client = client
        self.stderr_path = stderr_path
        self.texts: list[str] = []

    async def call(self, name: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        result = await self.client.call_tool(name, arguments or {}, read_timeout_seconds=CALL_SECONDS)
        self.texts.extend(block.text for block in result.content if hasattr(block, "text"))
        return result

    async def answer(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """A successful call's structured content, checked to equal its JSON text."""
        result = await self.call(name, arguments)
        assert not result.is_error, result.content
        assert result.structured_content is not None
        assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]
        return result.structured_content

    async def error(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        result = await self.call(name, arguments)
        assert result.is_error, result.structured_content
        return result.content[0].text  # type: ignore[union-attr]

    def stderr(self) -> str:
        return self.stderr_path.read_text()


@asynccontextmanager
async def mcp_server(workdir: Path, *flags: str, env: dict[str, str] | None = None) -> AsyncIterator[Server]:
    """`python pipelines/dbt_runs.py mcp FLAGS` in `workdir`, with only `env` (plus PATH/HOME...)."""
    stderr_path = workdir / f"mcp-stderr-{time.monotonic_ns()}.log"
    params = StdioServerParameters(
        command=sys.executable, args=[str(ENTRY_POINT), "mcp", *flags], env=env or {}, cwd=workdir
    )
    with stderr_path.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            server = Server(client, stderr_path)
            yield server
    assert "Traceback" not in server.stderr(), server.stderr()
    assert TOKEN not in server.stderr()
    assert all(TOKEN not in text for text in server.texts)


def run(coroutine: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(coroutine())


def view_rows(db: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Rows straight from DuckDB, made JSON-native the way answers are."""
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        result = con.execute(sql, params or [])
        names = [column[0] for column in result.description]
        return [dict(zip(names, (json_value(v) for v in row), strict=True)) for row in result.fetchall()]


def api_get(sim: DbtCloudSimulator, path: str, **params: Any) -> Any:
    response = requests.get(
        f"{sim.base_url}/api/v2/accounts/{sim.account_id}/{path}",
        params=params,
        headers={"Authorization": f"Token {TOKEN}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["data"]


# -- listing --------------------------------------------------------------------------------------------


def test_write_tools_are_listed_only_with_allow_writes(sim: DbtCloudSimulator, store: Path) -> None:
    async def scenario() -> None:
        async with mcp_server(
            store.parent, "--database", str(store), env=simulator_env(sim, store.parent)
        ) as server:
            tools = (await server.client.list_tools()).tools
            assert {tool.name for tool in tools} == READ_TOOLS
            assert all(tool.description and len(tool.description) > 80 for tool in tools)
            assert all(tool.annotations and tool.annotations.read_only_hint for tool in tools)
            assert "Unknown tool" in await server.error("trigger_job_run", {"job_id": 1})
        async with mcp_server(store.parent, "--allow-writes", env=simulator_env(sim, store.parent)) as server:
            names = {tool.name for tool in (await server.client.list_tools()).tools}
            assert names == READ_TOOLS | set(WRITE_TOOLS)

    run(scenario)


# -- store tools against the views ----------------------------------------------------------------------


def test_store_tools_answer_what_the_views_say(sim: DbtCloudSimulator, store: Path) -> None:
    async def scenario() -> None:
        async with mcp_server(store.parent, "--database", str(store)) as server:  # no API settings at all
            health = await server.answer("job_health", {"limit": 1000})
            expected = view_rows(
                store,
                "SELECT * FROM dbt_cloud.job_health "
                "ORDER BY consecutive_failures DESC, last_run_at DESC NULLS LAST, job_id",
            )
            assert health["rows"] == expected and health["row_count"] == len(expected) > 10
            assert health["truncated"] is False
            as_of = view_rows(store, "SELECT as_of FROM dbt_cloud.as_of")[0]["as_of"]
            assert health["as_of"] == as_of

            job = next(row for row in expected if row["runs_30d"] > 3 and row["job_name"])
            one = await server.answer("job_health", {"job_id": job["job_id"]})
            assert one["rows"] == [job]
            by_name = await server.answer("job_health", {"name": job["job_name"].upper()})
            assert job in by_name["rows"]
            few = await server.answer("job_health", {"limit": 3})
            assert few["rows"] == expected[:3] and few["truncated"] is True and "note" in few

            failures = await server.answer("recent_failures", {"hours": 24 * 30, "limit": 1000})
            expected_failures = view_rows(
                store,
                "SELECT * FROM dbt_cloud.failures WHERE finished_at > (SELECT as_of FROM dbt_cloud.as_of) "
                "- INTERVAL 30 DAY AND finished_at <= (SELECT as_of FROM dbt_cloud.as_of) "
                "ORDER BY finished_at DESC, run_id DESC",
            )
            assert (
                failures["rows"] == expected_failures
                and failures["failed_runs"] == len(expected_failures) > 0
            )
            failed_job = expected_failures[0]["job_id"]
            of_job = await server.answer("recent_failures", {"hours": 24 * 30, "job_id": failed_job})
            assert of_job["rows"] == [row for row in expected_failures if row["job_id"] == failed_job]

            history = await server.answer("run_history", {"job_id": job["job_id"], "days": 30})
            expected_runs = view_rows(
                store,
                "SELECT id, status_name, status FROM dbt_cloud.runs_enriched WHERE job_definition_id = ? "
                "AND created_at > (SELECT as_of FROM dbt_cloud.as_of) - INTERVAL 30 DAY "
                "AND created_at <= (SELECT as_of FROM dbt_cloud.as_of) ORDER BY created_at DESC, id DESC",
                [job["job_id"]],
            )
            assert [row["id"] for row in history["rows"]] == [row["id"] for row in expected_runs]
            assert [row["status_name"] for row in history["rows"]] == [
                r["status_name"] for r in expected_runs
            ]
            summary = history["summary"]
            assert summary["runs"] == job["runs_30d"] == len(expected_runs)
            assert summary["errors"] == sum(1 for row in expected_runs if row["status"] == 20)
            assert summary["success_rate"] == job["success_rate_30d"]
            assert history["job_name"] == job["job_name"]

            slowest = await server.answer("slowest_models", {"days": 7, "limit": 1000})
            view = view_rows(store, "SELECT * FROM dbt_cloud.slowest_models")
            assert len(view) > 0
            renamed = [
                {key.removesuffix("_7d").replace("runs_7d", "runs"): value for key, value in row.items()}
                for row in view
            ]
            assert slowest["rows"] == renamed

            top_model = view[0]["model_name"]
            models = await server.answer("model_history", {"name": top_model, "days": 30, "limit": 1000})
            expected_count = view_rows(
                store,
                "SELECT count(*) AS n FROM dbt_cloud.run_results rr "
                "LEFT JOIN dbt_cloud.runs r ON r.id = rr.run_id WHERE rr.name = ? "
                "AND coalesce(rr.command, '') NOT IN ('generate', 'compile', 'show', 'list', 'ls', 'parse') "
                "AND coalesce(r.created_at, rr.execute_started_at) > "
                "(SELECT as_of FROM dbt_cloud.as_of) - INTERVAL 30 DAY",
                [top_model],
            )[0]["n"]
            assert models["row_count"] == expected_count > 0
            assert {row["unique_id"].rsplit(".", 1)[-1] for row in models["rows"]} == {top_model}
            times = [row["execution_time"] for row in models["rows"] if row["status"] == "success"]
            assert models["summary"]["max_execution_seconds"] == max(times)
            by_unique_id = await server.answer("model_history", {"name": view[0]["unique_id"]})
            assert by_unique_id["row_count"] > 0

            counted = await server.answer("query", {"sql": "SELECT count(*) AS n FROM runs"})
            assert counted["rows"] == view_rows(store, "SELECT count(*) AS n FROM dbt_cloud.runs")
            with_cte = await server.answer(
                "query",
                {
                    "sql": "WITH e AS (SELECT * FROM dbt_cloud.runs_enriched WHERE status = 20) "
                    "SELECT job_name, count(*) AS errors FROM e GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5"
                },
            )
            assert with_cte["rows"] and set(with_cte["rows"][0]) == {"job_name", "errors"}
            capped = await server.answer("query", {"sql": "SELECT id FROM runs ORDER BY id", "limit": 7})
            assert capped["row_count"] == 7 and capped["truncated"] is True
            assert [row["id"] for row in capped["rows"]] == [
                row["id"] for row in view_rows(store, "SELECT id FROM dbt_cloud.runs ORDER BY id LIMIT 7")
            ]

            # the API tools say what to set, while the store tools above worked without it
            assert "api_token" in await server.error("list_runs")

    run(scenario)


def test_query_refuses_files_and_anything_but_one_select(store: Path) -> None:
    refused = {
        "SELECT * FROM read_text('.dlt/secrets.toml')": "disabled",
        "SELECT * FROM read_csv('/etc/passwd')": "disabled",
        "SELECT * FROM 'dbt_runs.duckdb'": "",
        "INSERT INTO runs (id) VALUES (1)": "INSERT",
        "ATTACH 'other.duckdb' AS other": "ATTACH",
        "COPY runs TO 'runs.csv'": "COPY",
        "PRAGMA database_list": "PRAGMA",
        "SET enable_external_access = true": "SET",
        "SELECT 1; SELECT 2": "2 statements",
        "SELECT 1; DROP TABLE runs": "2 statements",
        "DELETE FROM runs": "DELETE",
        "SELECT * FROM": "does not parse",
        "": "empty",
    }

    async def scenario() -> None:
        async with mcp_server(store.parent, "--database", str(store)) as server:
            for sql, reason in refused.items():
                message = await server.error("query", {"sql": sql})
                assert reason in message, (sql, message)
                assert "Error executing tool query" not in message.replace("Error executing tool query: ", "")
            assert "less than or equal to 1000" in await server.error(
                "query", {"sql": "SELECT 1", "limit": 5000}
            )
            assert "job_id" in await server.error("run_history", {})
            assert "hours" in await server.error("recent_failures", {"hours": 0})
            # the server is still there after all of that
            assert (await server.answer("query", {"sql": "SELECT 42 AS answer"}))["rows"] == [{"answer": 42}]

    run(scenario)
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM dbt_cloud.runs WHERE id = 1").fetchone() == (0,)


# -- live API tools --------------------------------------------------------------------------------------


def test_api_read_tools_against_the_simulator(sim: DbtCloudSimulator, tmp_path: Path) -> None:
    newest = api_get(sim, "runs/", order_by="-created_at", limit=5)
    errors = api_get(sim, "runs/", order_by="-created_at", limit=100, status=20)
    with_artifacts = next(run for run in errors if run["artifacts_saved"])
    without_artifacts = next((run for run in errors if not run["artifacts_saved"]), None)
    successes = api_get(sim, "runs/", order_by="-created_at", limit=100, status=10)
    finished = next(run for run in successes if run["artifacts_saved"])

    async def scenario() -> None:
        async with mcp_server(tmp_path, env=simulator_env(sim, tmp_path)) as server:
            listed = await server.answer("list_runs", {"limit": 5})
            assert [row["id"] for row in listed["rows"]] == [run["id"] for run in newest]
            assert listed["truncated"] is True and listed["row_count"] == 5
            failed = await server.answer("list_runs", {"status": "Error", "limit": 3})
            assert [row["id"] for row in failed["rows"]] == [run["id"] for run in errors[:3]]
            assert {row["status_name"] for row in failed["rows"]} == {"Error"}
            assert "queued, starting, running" in await server.error("list_runs", {"status": "broken"})

            detail = (await server.answer("get_run", {"run_id": with_artifacts["id"]}))["run"]
            assert detail["id"] == with_artifacts["id"] and detail["status_name"] == "Error"
            assert detail["steps"] and all(
                {"index", "name", "status_name"} <= set(step) for step in detail["steps"]
            )
            assert "logs" not in json.dumps(detail)
            assert detail["href"].endswith(f"/runs/{with_artifacts['id']}/")

            artifacts = await server.answer("list_run_artifacts", {"run_id": finished["id"]})
            assert "run_results.json" in artifacts["artifacts"] and artifacts["count"] == len(
                artifacts["artifacts"]
            )
            assert "404" in await server.error("list_run_artifacts", {"run_id": 1})

            why = await server.answer("get_run_error", {"run_id": with_artifacts["id"]})
            document = requests.get(
                f"{sim.base_url}/api/v2/accounts/{sim.account_id}/runs/{with_artifacts['id']}/artifacts/"
                "run_results.json",
                params={"step": why["failed_step"]["index"]} if "failed_step" in why else {},
                headers={"Authorization": f"Token {TOKEN}"},
                timeout=30,
            ).json()
            failed_ids = [
                result["unique_id"] for result in document["results"] if result["status"] in ("error", "fail")
            ]
            assert [node["unique_id"] for node in why["failed_nodes"]] == failed_ids[:25]
            assert why["failed_count"] == len(failed_ids) > 0
            assert all(node["message"] for node in why["failed_nodes"])
            if without_artifacts is not None:
                early = await server.answer("get_run_error", {"run_id": without_artifacts["id"]})
                assert early["failed_nodes"] == [] and "no run_results.json" in early["note"]
                assert early["run"]["status_message"] == without_artifacts["status_message"]
            fine = await server.answer("get_run_error", {"run_id": finished["id"]})
            assert fine["failed_nodes"] == [] and "did not end in Error" in fine["note"]

    run(scenario)


def test_write_tools_trigger_cancel_retry(sim: DbtCloudSimulator, tmp_path: Path) -> None:
    job_id = int(next(job for job in sim.jobs() if job["state"] == 1)["id"])

    async def wait_final(server: Server, run_id: int) -> dict[str, Any]:
        for _ in range(300):
            run_now = (await server.answer("get_run", {"run_id": run_id}))["run"]
            if run_now["is_final"]:
                return run_now
            await asyncio.sleep(0.1)
        raise AssertionError(f"run {run_id} did not finish")

    async def scenario() -> None:
        async with mcp_server(tmp_path, "--allow-writes", env=simulator_env(sim, tmp_path)) as server:
            sim.trigger_plan(queue_seconds=30, run_seconds=30, outcome=10)
            started = (
                await server.answer(
                    "trigger_job_run", {"job_id": job_id, "cause": "agent test", "git_branch": "feature/x"}
                )
            )["run"]
            assert started["status_name"] == "Queued" and started["trigger_cause"] == "agent test"
            assert sim.runs_by_id(started["id"])["trigger"]["git_branch"] == "feature/x"
            cancelled = (await server.answer("cancel_run", {"run_id": started["id"]}))["run"]
            assert cancelled["status_name"] == "Cancelled"
            assert sim.runs_by_id(started["id"])["status"] == 30

            sim.trigger_plan(queue_seconds=0.2, run_seconds=0.3, outcome=20)
            failing = (await server.answer("trigger_job_run", {"job_id": job_id}))["run"]
            assert (await wait_final(server, failing["id"]))["status_name"] == "Error"
            sim.trigger_plan(queue_seconds=0.2, run_seconds=0.3, outcome=10)
            retried = await server.answer("retry_run", {"run_id": failing["id"]})
            assert retried["retry_of"] == failing["id"] and retried["run"]["id"] > failing["id"]
            assert sim.runs_by_id(retried["run"]["id"])["trigger"]["cause"] == f"Retry of run {failing['id']}"
            assert (await wait_final(server, retried["run"]["id"]))["status_name"] == "Success"
            refused = await server.error("retry_run", {"run_id": retried["run"]["id"]})
            assert "RETRY_NOT_FAILED_RUN" in refused
            assert "job 1 not found in account" in await server.error("trigger_job_run", {"job_id": 1})

    run(scenario)


# -- living beside the loader -----------------------------------------------------------------------------


def test_a_load_holding_the_store_gives_an_error_not_a_hang(store: Path) -> None:
    async def scenario() -> None:
        async with mcp_server(store.parent, "--database", str(store)) as server:
            assert (await server.answer("job_health", {"limit": 1}))["row_count"] == 1
            writer = duckdb.connect(str(store))  # what a load does: the write lock on the file
            try:
                started = time.monotonic()
                message = await server.error("job_health", {"limit": 1})
                waited = time.monotonic() - started
            finally:
                writer.close()
            assert "being written by a load" in message and "try again" in message
            print(f"store tool during a held write lock answered in {waited:.2f} s")
            assert (await server.answer("job_health", {"limit": 1}))["row_count"] == 1  # and recovers

    run(scenario)


def test_an_idle_server_does_not_make_a_load_fail(sim: DbtCloudSimulator, tmp_path: Path) -> None:
    assert run_entry_point(sim, tmp_path).returncode == 0
    db = tmp_path / "dbt_runs.duckdb"

    async def scenario() -> None:
        async with mcp_server(tmp_path, "--database", str(db)) as server:
            before = await server.answer("job_health", {"limit": 1})
            sim.advance(hours=2)
            load = await asyncio.to_thread(run_entry_point, sim, tmp_path)  # the server stays up, idle
            assert load.returncode == 0, load.stderr
            after = await server.answer("job_health", {"limit": 1})
            assert after["as_of"] > before["as_of"]

    run(scenario)


def test_streamable_http(sim: DbtCloudSimulator, store: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = start_entry_point(sim, store.parent, "mcp", "--http", str(port), "--database", str(store))
    try:
        assert server.stderr is not None
        assert f"http://127.0.0.1:{port}/mcp" in server.stderr.readline()

        for _ in range(300):  # the line is printed just before uvicorn binds the port
            with socket.socket() as knock:
                if knock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)

        async def scenario() -> None:
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                names = {tool.name for tool in (await client.list_tools()).tools}
                assert names == READ_TOOLS
                result = await client.call_tool("query", {"sql": "SELECT count(*) AS n FROM runs"})
                assert result.structured_content == {
                    "rows": view_rows(store, "SELECT count(*) AS n FROM dbt_cloud.runs"),
                    "row_count": 1,
                    "truncated": False,
                    "as_of": view_rows(store, "SELECT as_of FROM dbt_cloud.as_of")[0]["as_of"],
                }
                listed = await client.call_tool("list_runs", {"limit": 2})
                assert not listed.is_error and TOKEN not in listed.content[0].text  # type: ignore[union-attr]

        run(scenario)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert TOKEN not in stderr and "Traceback" not in stderr


def test_store_calls_during_a_load_answer_data_or_try_again(sim: DbtCloudSimulator, tmp_path: Path) -> None:
    """An agent calling store tools back to back while a load runs: every call answers (data or the
    "try again" error) instead of hanging or crashing the server, and the load, which waits out the
    server's short reads, succeeds."""
    assert run_entry_point(sim, tmp_path).returncode == 0
    db = tmp_path / "dbt_runs.duckdb"

    async def scenario() -> None:
        async with mcp_server(tmp_path, "--database", str(db)) as server:
            sim.advance(hours=12)
            load = asyncio.create_task(asyncio.to_thread(run_entry_point, sim, tmp_path))
            answers, errors = 0, []
            while not load.done():
                result = await server.call("job_health", {"limit": 1})
                if result.is_error:
                    errors.append(result.content[0].text)  # type: ignore[union-attr]
                else:
                    answers += 1
            finished = await load
            assert finished.returncode == 0, finished.stderr
            assert all("being written by a load" in message for message in errors), errors
            assert answers > 0
            print(
                f"during the load: {answers} answers, {len(errors)} try-again errors, "
                f"load exit {finished.returncode}"
            )

    run(scenario)
