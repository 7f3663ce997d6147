"""Retries: which failed runs dbt Cloud would retry, and which generated runs were retries.

One home for the rules behind `POST /runs/{id}/retry/`'s refusals and the runs' `can_retry` and
`retry_not_supported_reason` fields.
"""

from __future__ import annotations

from .model import ERROR, Account, Run

RETRYABLE_COMMANDS = frozenset({"build", "run", "test", "seed", "snapshot", "compile", "clone", "docs"})
"""Commands `dbt retry` supports (dbt's docs); a run whose last step is another cannot be retried."""


def _before_retry_support(dbt_version: str | None) -> bool:
    """A pinned dbt older than 1.6 (`1.5.0-latest`); `versionless` and unknown shapes support retry."""
    parts = (dbt_version or "").split("-")[0].split(".")
    numeric = len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit()
    return numeric and (int(parts[0]), int(parts[1])) < (1, 6)


def _last_command_retryable(account: Account, run: Run) -> bool:
    steps = (run.overrides or {}).get("steps_override") or account.jobs[run.job_id].data["execute_steps"]
    words = str(steps[-1]).split() if steps else []
    return len(words) <= 1 or words[1] in RETRYABLE_COMMANDS


def retry_refusal(account: Account, run: Run, status: int) -> str | None:
    """Why dbt Cloud would refuse to retry `run` now (a `retry_not_supported_reason`), or None."""
    if status != ERROR:
        return "RETRY_NOT_FAILED_RUN"
    if not run.artifacts_saved:
        return "RETRY_NO_RUN_RESULTS"
    if _before_retry_support(run.dbt_version):
        return "RETRY_UNSUPPORTED_VERSION"
    if not _last_command_retryable(account, run):
        return "RETRY_UNSUPPORTED_CMD"
    if account.latest_run_by_job.get(run.job_id) != run.id:
        return "RETRY_NOT_LATEST_RUN"
    return None


def mark_retries(account: Account) -> None:
    """Every third failed run that dbt ran (artifacts saved) was retried: its job's next run.

    That run carries `retrying_run_id` = the failed run (the direction dbt's field names, like
    `deferring_run_id`). Chosen by id rather than by the generator's random stream, so adding this
    changed no other value of the account.
    """
    last_error: dict[int, Run] = {}
    for run in account.runs_by_id:
        failed = last_error.pop(run.job_id, None)
        if failed is not None:
            run.retrying_run_id = failed.id
        if run.outcome == ERROR and run.artifacts_saved and run.id % 3 == 0 and not run.live:
            last_error[run.job_id] = run
