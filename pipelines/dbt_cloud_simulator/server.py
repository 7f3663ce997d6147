"""HTTP layer: the request handler (latency, request log, faults, auth, account check) and the server.

Stdlib `ThreadingHTTPServer` speaking HTTP/1.1 with keep-alive, so a client's connection pool is
reused as it would be against the real service. What each route answers lives in routes.py.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .params import ApiError, envelope
from .routes import Api

if TYPE_CHECKING:
    from .controls import Fault
    from .simulator import DbtCloudSimulator

ACCOUNT_PATH = re.compile(r"^/api/v([23])/accounts/([^/]+)(?:/(.*))?$")
BAD_BODIES: dict[str, tuple[str, bytes]] = {
    "html": (
        "text/html; charset=utf-8",
        b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
        b"<body><h1>Bad Gateway</h1><p>The proxy could not reach the upstream server.</p></body></html>",
    ),
    "truncated": ("application/json", b'{"status": {"code": 200, "is_success": true}, "data": [{"id": 4000'),
}
"""2xx answers a proxy in between may give instead of dbt Cloud's envelope (fault kinds)."""


class Handler(BaseHTTPRequestHandler):
    """One request: latency, request log, faults, auth, account check, then the API."""

    protocol_version = "HTTP/1.1"
    server: SimulatorServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: a benchmark must not pay for, or drown in, access logs."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        sim = self.server.sim
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        if sim.latency_ms:
            time.sleep(sim.latency_ms / 1000)
        fault = sim.take_fault(url.path)
        if fault is not None:
            self._fail(method, url.path, query, fault)
        elif sim.cooling_down():
            self._send(method, url.path, query, 429, envelope(429, None, "Too many requests."))
        else:
            code, payload = self._answer(method, url.path, query, body)
            self._send(method, url.path, query, code, payload)

    def _fail(self, method: str, path: str, query: dict[str, list[str]], fault: Fault) -> None:
        """Answer with an injected fault: a dropped connection, a body that is not the envelope, or an
        error status (429 with `Retry-After` when the fault has one)."""
        if fault.kind == "drop":
            self.server.sim.record(method, path, query, None)
            self._drop()
            return
        if fault.kind in BAD_BODIES:
            self._send_raw(method, path, query, 200, *BAD_BODIES[fault.kind])
            return
        code = int(fault.kind)
        headers = (
            {"Retry-After": str(fault.retry_after)} if code == 429 and fault.retry_after is not None else {}
        )
        message = "Too many requests." if code == 429 else "Internal server error."
        self._send(method, path, query, code, envelope(code, None, message), headers)

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        try:
            return 200, self._route(method, path, query, body)
        except ApiError as error:
            return error.code, envelope(error.code, None, error.message)
        except Exception as error:  # a simulator bug must still answer like a server would
            return 500, envelope(500, None, "Internal server error.", {"error": repr(error)})

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        """Auth, then the account in the path, then the v2 or v3 route."""
        sim = self.server.sim
        if sim.revoked or not self._authorized():
            raise ApiError(401, "Invalid token.")
        match = ACCOUNT_PATH.match(path)
        if match is None:
            raise ApiError(404, "Not found.")
        if match.group(2) != str(sim.account_id):
            raise ApiError(403, "You do not have permission to access this account.")
        parts = [part for part in (match.group(3) or "").split("/") if part]
        if match.group(1) == "3":
            return Api(sim).route_v3(method, parts, query)
        return Api(sim).route(method, parts, query, body)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        return scheme.lower() in ("token", "bearer") and token.strip() == self.server.sim.token

    def _send(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        code: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        raw = json.dumps(payload, separators=(",", ":")).encode()
        self.server.sim.record(method, path, query, code)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _send_raw(
        self, method: str, path: str, query: dict[str, list[str]], code: int, content_type: str, raw: bytes
    ) -> None:
        """A body that is not the envelope (a proxy's page, cut-off JSON), with the length it has."""
        self.server.sim.record(method, path, query, code)
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _drop(self) -> None:
        """Close the socket without a byte of response: the client sees a connection error."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sim: DbtCloudSimulator, port: int) -> None:
        self.sim = sim
        super().__init__(("127.0.0.1", port), Handler)


def make_server(sim: DbtCloudSimulator, port: int = 0) -> SimulatorServer:
    return SimulatorServer(sim, port)
