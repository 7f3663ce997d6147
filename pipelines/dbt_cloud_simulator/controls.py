"""What tests and the demo control besides time: injected faults, and how triggered runs progress.

Triggered runs (`POST /jobs/{id}/run/`, retries) are timed in wall-clock seconds by the `TriggerPlan`,
so a client in another process sees them queue, run and finish.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .model import CANCELLED, SUCCESS

FAULT_KINDS = ("429", "500", "502", "503", "drop", "html", "truncated")


@dataclass
class Fault:
    """An injected failure; `remaining` None means until `clear_faults()`."""

    kind: str
    remaining: int | None
    retry_after: int | None
    path_contains: str | None


@dataclass
class TriggerPlan:
    """How runs created by `POST /jobs/{id}/run/` progress, in wall-clock seconds."""

    queue_seconds: float = 1.0
    run_seconds: float = 2.0
    outcome: int = 10
    status_message: str | None = None
    first_poll_404: bool = False

    def message(self) -> str | None:
        """The run's status message: the plan's, or what dbt Cloud says for the outcome."""
        if self.status_message is not None or self.outcome == SUCCESS:
            return self.status_message
        return "Cancelled by user" if self.outcome == CANCELLED else "Database Error in model fct_orders"

    def timeline(self, created: datetime) -> dict[str, Any]:
        """The planned timeline and outcome of a run triggered at `created` (Run's keyword arguments)."""
        queue = timedelta(seconds=max(self.queue_seconds, 0.001))
        started = created + queue
        return {
            "created": created,
            "dequeued": created + queue / 2,
            "started": started,
            "finished": started + timedelta(seconds=max(self.run_seconds, 0.001)),
            "outcome": self.outcome,
            "status_message": self.message(),
            "artifacts_saved": self.outcome != CANCELLED,
            "pending_404": self.first_poll_404,
        }


def checkout(
    overrides: dict[str, Any], job: dict[str, Any], env: dict[str, Any], default_sha: str
) -> dict[str, str]:
    """Branch, commit and dbt version of a triggered run: the trigger's overrides, else the job's and
    environment's settings."""
    return {
        "git_branch": overrides.get("git_branch") or env["custom_branch"] or "main",
        "git_sha": overrides.get("git_sha") or default_sha,
        "dbt_version": overrides.get("dbt_version_override") or job["dbt_version"] or env["dbt_version"],
    }
