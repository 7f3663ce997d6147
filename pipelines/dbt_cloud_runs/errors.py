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
EXIT_BUSY = 7
EXIT_ALREADY_FINISHED = 8


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


class LoadBusyError(DbtCloudError):
    """Another load holds the pipeline's state dir or destination: this one did nothing."""

    exit_code = EXIT_BUSY


class ViewsError(DbtCloudError):
    """The data was loaded, but some views could not be created: answers would be missing."""

    exit_code = EXIT_DESTINATION


class Interrupted(KeyboardInterrupt):
    """SIGTERM (what cron's kill, systemd, Airflow and Kubernetes send), raised like Ctrl-C's
    KeyboardInterrupt so every `except KeyboardInterrupt` that cleans up handles both."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number


def interrupt_exit_code(exc: KeyboardInterrupt) -> int:
    """130 for Ctrl-C, 143 for SIGTERM: the shell's 128 + signal number."""
    return 128 + getattr(exc, "signal_number", 2)
