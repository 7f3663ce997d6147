"""The MCP server: the store tools and the live-API tools, registered on the official SDK's `MCPServer`.

Every tool answers one JSON object, as structured content and as the same JSON in compact text (the SDK
would indent it, which costs an agent's context for nothing). An error a user or agent can cause (a
bad argument, a refused SQL statement, a load holding the store, a missing setting, an API refusal)
is raised as the SDK's `ToolError`, so the agent reads the message instead of "Error executing tool".
The three write tools exist only when the server is started with `--allow-writes`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations

from .errors import DbtCloudError
from .mcp_answers import JsonDict, as_text
from .mcp_api_tools import ApiTools
from .mcp_query import QueryRejected
from .mcp_store_tools import StoreTools

SERVER_NAME = "dbt-cloud-runs"

INSTRUCTIONS = """\
dbt Cloud run history of one account. Two kinds of tools:
- History (job_health, recent_failures, run_history, model_history, slowest_models, query) read the
  locally stored history, loaded every few minutes by a scheduled job: fast, no API calls, and older
  than dbt Cloud keeps (it serves about a year of runs and two months of model history). "Now" there
  is the latest load, returned as `as_of`. Prefer them for health, trends, counts and "since when".
- Live (list_runs, get_run, list_run_artifacts, get_run_error) ask the dbt Cloud API: use them for
  what is happening right now and for one run's detail or errors.
Lists stop at `limit` rows and say `truncated`; narrow the question (a job, a window) rather than
raising the limit. query takes one read-only DuckDB SELECT over the stored tables and views.
"""

READ_STORE = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
READ_API = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
WRITE_API = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)
CANCEL_API = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
)

WRITE_TOOLS = ("trigger_job_run", "cancel_run", "retry_run")


def answering(tool: Callable[..., JsonDict]) -> Callable[..., CallToolResult]:
    """Wrap a tool: its dict becomes structured content plus the same compact JSON as text, and the
    errors a caller can cause become `ToolError` with their one-line message.

    The SDK reads the tool's parameters (and their descriptions) through `functools.wraps`.
    """

    @functools.wraps(tool)
    def call(**arguments: Any) -> CallToolResult:
        try:
            answer = tool(**arguments)
        except (DbtCloudError, QueryRejected) as exc:
            raise ToolError(str(exc)) from None
        except duckdb.Error as exc:  # anything the store tools did not already word
            raise ToolError(f"the store could not answer: {str(exc).strip().splitlines()[0][:400]}") from None
        return CallToolResult(
            content=[TextContent(type="text", text=as_text(answer))], structured_content=answer
        )

    return call


def build_server(
    database: Path | None = None, allow_writes: bool = False, api_tools: ApiTools | None = None
) -> MCPServer:
    """The server with every read tool, and the write tools only when `allow_writes`."""
    server: MCPServer = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS, log_level="WARNING")
    store = StoreTools(database)
    api = api_tools or ApiTools()
    tools: list[tuple[Callable[..., JsonDict], ToolAnnotations]] = [
        (store.job_health, READ_STORE),
        (store.recent_failures, READ_STORE),
        (store.run_history, READ_STORE),
        (store.model_history, READ_STORE),
        (store.slowest_models, READ_STORE),
        (store.query, READ_STORE),
        (api.list_runs, READ_API),
        (api.get_run, READ_API),
        (api.list_run_artifacts, READ_API),
        (api.get_run_error, READ_API),
    ]
    if allow_writes:
        tools += [(api.trigger_job_run, WRITE_API), (api.cancel_run, CANCEL_API), (api.retry_run, WRITE_API)]
    for tool, hints in tools:
        server.add_tool(answering(tool), name=tool.__name__, annotations=hints)
    return server
