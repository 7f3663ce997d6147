"""Errors a user can cause, each with the one line that tells them what to fix and an exit code.

The CLI prints `error: <message>` and exits with `exit_code`, never a traceback, for these.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_RUN_ERROR = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_RUN_CANCELLED = 4
EXIT_TIMEOUT = 5
EXIT_DESTINATION = 6


class DbtCloudError(Exception):
    """Base of every error we turn into one clear line and a non-zero exit."""

    exit_code = EXIT_API


class ConfigError(DbtCloudError):
    """A setting is missing or malformed; the message names the setting."""

    exit_code = EXIT_USAGE


class ApiError(DbtCloudError):
    """dbt Cloud refused or failed a request; the message says what to check."""

    exit_code = EXIT_API

    def __init__(self, message: str, status_code: int | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.path = path


class DestinationError(DbtCloudError):
    """The destination cannot be written (e.g. the DuckDB file is held by another process)."""

    exit_code = EXIT_DESTINATION
