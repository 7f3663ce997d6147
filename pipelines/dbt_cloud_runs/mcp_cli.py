"""The `mcp` subcommand: serve the run history and the live API to AI agents over MCP.

Kept apart from `mcp_server.py` so that building the CLI parser (every command, `--help`) does not
import the MCP SDK; the server is imported only when `mcp` runs.
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Any

from .cli_options import add_command, add_database_option, whole_number
from .errors import EXIT_OK, ConfigError

HTTP_HOST = "127.0.0.1"

EPILOG = """\
Speaks MCP on stdin/stdout (what MCP clients start as a command), or with --http PORT streamable HTTP
at http://127.0.0.1:PORT/mcp (this machine only). History tools read the DuckDB store read-only, one
short connection per call, so a running server never blocks a load. Live tools use [dbt_cloud]
api_token / account_id / base_url (or DBT_CLOUD__* variables), read on first use.

examples:
  python pipelines/dbt_runs.py mcp
  python pipelines/dbt_runs.py mcp --database /srv/dbt_runs/dbt_runs.duckdb --allow-writes
  python pipelines/dbt_runs.py mcp --http 8765
"""


port_number = whole_number(1, 65535, noun="port number")


def add_subcommand(subparsers: Any) -> None:
    """Register `mcp` on the main parser's subparsers."""
    parser = add_command(
        subparsers,
        "mcp",
        "serve the run history and the dbt Cloud API to AI agents (MCP server)",
        command_mcp,
        description="Serve the stored run history and the live dbt Cloud API as MCP tools for AI agents.",
        epilog=EPILOG,
    )
    parser.add_argument(
        "--http",
        type=port_number,
        metavar="PORT",
        help=f"serve streamable HTTP on {HTTP_HOST}:PORT (path /mcp) instead of stdio",
    )
    parser.add_argument(
        "--allow-writes",
        action="store_true",
        help="also offer trigger_job_run, cancel_run and retry_run (otherwise they are not listed)",
    )
    add_database_option(parser)


def _check_port_free(port: int) -> None:
    """Fail with one line before the SDK starts, instead of uvicorn's log and exit on a taken port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HTTP_HOST, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {HTTP_HOST}:{port} ({exc.strerror}): pick another --http PORT."
            ) from None


def command_mcp(args: argparse.Namespace) -> int:
    """Serve until the client closes stdin (stdio) or the process is interrupted (HTTP)."""
    from .mcp_server import build_server

    database = args.database.expanduser().resolve() if args.database else None
    server = build_server(database=database, allow_writes=args.allow_writes)
    try:
        if args.http is None:
            server.run("stdio")
        else:
            _check_port_free(args.http)
            print(
                f"MCP server (streamable HTTP) on http://{HTTP_HOST}:{args.http}/mcp",
                file=sys.stderr,
                flush=True,
            )
            server.run("streamable-http", host=HTTP_HOST, port=args.http)
    except KeyboardInterrupt:
        pass
    return EXIT_OK
