"""Trigger, watch and cancel dbt Cloud jobs; list runs and fetch their artifacts.

These are plain functions over a `DbtCloudApi`: no printing, no config reading (except the two
dlt-compatible helpers at the bottom), so the CLI, a scheduler task or a notebook can all use them.

They exist because dlt's `dlt.helpers.dbt_cloud.run_dbt_cloud_job` / `get_dbt_cloud_run_status` drop
the caller's `data` (`json_data.update(json_data)`), wait forever, always call the US host and never
raise on a failed run. Here the body you pass is the body sent, every wait can time out, the access
URL comes from `[dbt_cloud] base_url`, and a failed or cancelled run can raise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import closing
from typing import Any

from .api import DbtCloudApi
from .credentials import (
    DbtCloudCredentials,
    normalize_base_url,
    resolve_credentials,
    warn_if_old_region_host,
)
from .errors import (
    EXIT_ALREADY_FINISHED,
    EXIT_RUN_CANCELLED,
    EXIT_RUN_ERROR,
    EXIT_TIMEOUT,
    ApiError,
    ConfigError,
    DbtCloudError,
)
from .settings import (
    DEFAULT_CAUSE,
    DEFAULT_POLL_SECONDS,
    DEFAULT_RUNS_LIMIT,
    FINAL_STATUSES,
    RETRY_REFUSALS,
    RUN_DETAIL_PARAMS,
    RUNS_LIST_PARAMS,
    STATUS_BY_NAME,
    STATUS_CANCELLED,
    STATUS_ERROR,
    STATUS_NAMES,
)

JsonDict = dict[str, Any]

NOT_FOUND_RETRIES = 3
"""A run polled right after it was triggered answers 404 in about 1% of cases (seen by other clients);
that many 404s before the first successful poll are waited out rather than reported."""
NOT_FOUND_PAUSE_SECONDS = 1.0
"""How long `find_run` waits before asking again about a run that answered 404 (`status` right after
`trigger`); a run id that is really wrong costs NOT_FOUND_RETRIES of these before the error."""


# -- errors carrying the run --------------------------------------------------------------------


class RunOutcomeError(DbtCloudError):
    """A run ended (or waiting for it ended) in a way a scheduler must see; `run` is the last run dict."""

    def __init__(self, message: str, run: JsonDict) -> None:
        super().__init__(message)
        self.run = run


class RunFailed(RunOutcomeError):
    """The run finished with status Error."""

    exit_code = EXIT_RUN_ERROR


class RunCancelled(RunOutcomeError):
    """The run was cancelled (by someone, or by us after a timeout)."""

    exit_code = EXIT_RUN_CANCELLED


class RunTimeout(RunOutcomeError):
    """The run was still open when the wait's time budget ran out; it may still be running."""

    exit_code = EXIT_TIMEOUT


class RunAlreadyFinished(RunOutcomeError):
    """`cancel` of a run that had already finished: nothing was cancelled."""

    exit_code = EXIT_ALREADY_FINISHED


# -- small helpers ------------------------------------------------------------------------------


def status_name(run: Mapping[str, Any]) -> str:
    """The run's status as a word (`Queued` ... `Cancelled`), whatever fields the answer carries."""
    code = run.get("status")
    return STATUS_NAMES.get(code, str(run.get("status_humanized") or code))  # type: ignore[arg-type]


def parse_status(value: int | str) -> int:
    """A status code from a code or a name (case-insensitive); unknown ones name the choices."""
    if isinstance(value, int) and value in STATUS_NAMES:
        return value
    text = str(value).strip().lower()
    if text in STATUS_BY_NAME:
        return STATUS_BY_NAME[text]
    if text.isdigit() and int(text) in STATUS_NAMES:
        return int(text)
    raise ConfigError(f"unknown run status {value!r}: choose one of {', '.join(STATUS_BY_NAME)}.")


def run_url(run: Mapping[str, Any], base_url: str | None = None) -> str | None:
    """The run's page in dbt Cloud: the API's `href` when it sent one, else built from the access URL.

    The fallback needs `base_url` (the account's access URL) on purpose: guessing the US host is the
    mistake dlt's helper makes. Returns None when neither is available.
    """
    href = run.get("href")
    if href:
        return str(href)
    if not base_url or run.get("project_id") is None:
        return None
    return (
        f"{base_url.rstrip('/')}/deploy/{run.get('account_id')}/projects/{run['project_id']}"
        f"/runs/{run.get('id')}/"
    )


def run_label(run: Mapping[str, Any]) -> str:
    """`run 123 (job 45)`: how every message names a run."""
    job = run.get("job_definition_id") or run.get("job_id")
    return f"run {run.get('id')}" + (f" (job {job})" if job is not None else "")


def describe(run: Mapping[str, Any], base_url: str | None = None) -> str:
    """`run 123 (job 45) Success: <url>` — the one line every message about a run starts from."""
    url = run_url(run, base_url)
    return f"{run_label(run)} {status_name(run)}" + (f": {url}" if url else "")


def check_outcome(run: JsonDict, base_url: str | None = None) -> JsonDict:
    """Return a successful or still-open run; raise `RunFailed` / `RunCancelled` for the other two."""
    status = run.get("status")
    url = run_url(run, base_url)
    where = f": {url}" if url else ""
    if status == STATUS_ERROR:
        detail = f" ({run['status_message']})" if run.get("status_message") else ""
        raise RunFailed(f"dbt Cloud {run_label(run)} ended in Error{detail}{where}", run)
    if status == STATUS_CANCELLED:
        raise RunCancelled(f"dbt Cloud {run_label(run)} was cancelled{where}", run)
    return run


def not_found(api: DbtCloudApi, exc: ApiError, what: str) -> ApiError:
    """A 404 on one run or job, in words: "run 5 not found in account 7" when the account answers.

    dbt Cloud answers 404 alike for a wrong id and for a wrong account_id or access URL; one request
    for the account itself tells them apart. When that fails too, its own error (which names
    account_id and base_url) is the one to show.
    """
    if exc.status_code != 404:
        return exc
    try:
        api.get("")
    except ApiError as account_exc:
        return account_exc
    return ApiError(
        f"{what} not found in account {api.account_id} at {api.base_url}: check the id "
        "(deleted runs and jobs answer the same).",
        status_code=404,
        path=exc.path,
    )


# -- operations ---------------------------------------------------------------------------------


def trigger_run(
    api: DbtCloudApi,
    job_id: int | str,
    cause: str = DEFAULT_CAUSE,
    git_branch: str | None = None,
    git_sha: str | None = None,
    schema_override: str | None = None,
    steps_override: list[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JsonDict:
    """Start a run of `job_id` and return the new run (status Queued).

    `cause` is required by the API and always sent; `extra` (any other documented field, e.g.
    `threads_override`) is merged in last, so what the caller passes is exactly what is sent.
    """
    body: JsonDict = {"cause": cause}
    optional = {
        "git_branch": git_branch,
        "git_sha": git_sha,
        "schema_override": schema_override,
        "steps_override": list(steps_override) if steps_override else None,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    body.update(extra or {})
    if not body.get("cause"):
        body["cause"] = DEFAULT_CAUSE
    try:
        return api.post(f"jobs/{job_id}/run/", json=body)
    except ApiError as exc:
        raise not_found(api, exc, f"job {job_id}") from None


def get_run(api: DbtCloudApi, run_id: int | str) -> JsonDict:
    """One run, with its trigger (cause and overrides); a 404 is raised as the API said it."""
    return api.get(f"runs/{run_id}/", params=RUN_DETAIL_PARAMS)


def find_run(
    api: DbtCloudApi,
    run_id: int | str,
    pause_seconds: float = NOT_FOUND_PAUSE_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> JsonDict:
    """One run, asked for again after a 404 (a run just triggered may not be listed yet), like
    `wait_for_run`'s first polls; a run still missing after that is "run N not found in account A"."""
    attempt = 0
    while True:
        try:
            return get_run(api, run_id)
        except ApiError as exc:
            if exc.status_code != 404 or attempt >= NOT_FOUND_RETRIES:
                raise not_found(api, exc, f"run {run_id}") from None
        attempt += 1
        sleep(pause_seconds)


def wait_for_run(
    api: DbtCloudApi,
    run_id: int | str,
    timeout_seconds: float | None = None,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
    on_poll: Callable[[JsonDict], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> JsonDict:
    """Poll the run until it is final (Success, Error or Cancelled) and return it.

    Queued is not failed: a run may wait for a free slot for a long time, so only `timeout_seconds`
    (None = no limit) ends the wait, with `RunTimeout` carrying the last run seen. A 404 on the
    first polls right after triggering is retried up to `NOT_FOUND_RETRIES` times. `on_poll` sees
    every run dict polled (the CLI prints status changes from it); `clock`/`sleep` are for tests.
    """
    deadline = None if timeout_seconds is None else clock() + timeout_seconds
    last: JsonDict | None = None
    missing = 0
    while True:
        try:
            run = get_run(api, run_id)
        except ApiError as exc:
            if exc.status_code != 404 or last is not None or missing >= NOT_FOUND_RETRIES:
                raise not_found(api, exc, f"run {run_id}") from None
            missing += 1  # not listed yet right after triggering: poll again
        else:
            last = run
            if on_poll is not None:
                on_poll(run)
            if run.get("status") in FINAL_STATUSES:
                return run
        remaining = None if deadline is None else deadline - clock()
        if remaining is not None and remaining <= 0:
            seen = last or {"id": run_id}
            raise RunTimeout(
                f"timed out after {timeout_seconds:g} s waiting for dbt Cloud run {run_id} "
                f"(last status: {status_name(seen) if last else 'not found yet'}); it may still run: "
                f"{run_url(seen, api.base_url) or 'see dbt Cloud'}",
                seen,
            )
        sleep(poll_seconds if remaining is None else min(poll_seconds, remaining))


class RetryRefused(ApiError):
    """dbt Cloud will not retry this run; the message gives its reason in words."""


def retry_run(api: DbtCloudApi, run_id: int | str) -> JsonDict:
    """Retry a failed run from the point of failure (`POST /runs/{id}/retry/`); returns the new run.

    When dbt Cloud refuses (the run did not fail, is not its job's latest run, saved no
    run_results.json, ...), the run's `retry_not_supported_reason` is read and the refusal raised
    as `RetryRefused` with that reason in words.
    """
    try:
        return api.post(f"runs/{run_id}/retry/")
    except ApiError as exc:
        if exc.status_code is None or not 400 <= exc.status_code < 500 or exc.status_code in (401, 403):
            raise
        refused = exc
    reason = None
    try:
        reason = get_run(api, run_id).get("retry_not_supported_reason")
    except ApiError as exc:
        if exc.status_code != 404:
            raise
    if reason:
        words = RETRY_REFUSALS.get(str(reason), str(reason))
        raise RetryRefused(f"dbt Cloud will not retry run {run_id}: {words} ({reason}).", status_code=400)
    raise RetryRefused(f"dbt Cloud will not retry run {run_id}: {refused}", status_code=refused.status_code)


def cancel_run(api: DbtCloudApi, run_id: int | str) -> JsonDict:
    """Ask dbt Cloud to cancel the run; returns the run as the API answers (often Cancelled already).

    dbt Cloud answers a finished run unchanged, so the caller cannot tell from the answer alone
    whether anything was cancelled: `cancel_open_run` checks first."""
    try:
        return api.post(f"runs/{run_id}/cancel/")
    except ApiError as exc:
        raise not_found(api, exc, f"run {run_id}") from None


def cancel_open_run(api: DbtCloudApi, run_id: int | str) -> JsonDict:
    """Cancel a run that is still open; one that already finished raises `RunAlreadyFinished`."""
    run = find_run(api, run_id)
    if run.get("status") in FINAL_STATUSES:
        raise RunAlreadyFinished(
            f"{run_label(run)} already finished ({status_name(run)}): nothing to cancel: "
            f"{run_url(run, api.base_url) or 'see dbt Cloud'}",
            run,
        )
    return cancel_run(api, run_id)


def list_runs(
    api: DbtCloudApi,
    job_id: int | str | None = None,
    status: int | str | None = None,
    limit: int = DEFAULT_RUNS_LIMIT,
) -> list[JsonDict]:
    """The newest `limit` runs (optionally of one job / in one status), newest first, with triggers.

    Paged by `DbtCloudApi.iter_pages` (at most `ceil(limit / 100)` pages, the first asking for no more
    than `limit` rows). Runs created while paging push rows down, so a row may come twice: it is
    kept once, and a further page is read only if repeats left fewer than `limit` runs.
    """
    if limit < 1:
        return []
    params: JsonDict = dict(RUNS_LIST_PARAMS)
    if job_id is not None:
        params["job_definition_id"] = job_id
    if status is not None:
        params["status"] = parse_status(status)
    runs: list[JsonDict] = []
    seen: set[Any] = set()
    with closing(api.iter_pages("runs/", params=params, wanted_rows=limit)) as pages:
        for page in pages:
            for run in page:
                if run.get("id") not in seen:
                    seen.add(run.get("id"))
                    runs.append(run)
                    if len(runs) == limit:
                        return runs
    return runs


def list_artifacts(api: DbtCloudApi, run_id: int | str, step: int | None = None) -> list[str]:
    """Paths of the artifacts a finished run saved (of its last step, or of step `step`, 1-based)."""
    path = f"runs/{run_id}/artifacts/"
    try:
        data = api.get(path, params=_step_params(step))
    except ApiError as exc:
        raise _no_artifact(exc, run_id, None, step) from None
    return [str(item) for item in data or []]


def fetch_artifact(api: DbtCloudApi, run_id: int | str, path: str, step: int | None = None) -> bytes:
    """The bytes of one artifact, e.g. `run_results.json` or `manifest.json`."""
    clean = path.lstrip("/")
    try:
        response = api.get_raw(f"runs/{run_id}/artifacts/{clean}", params=_step_params(step))
    except ApiError as exc:
        raise _no_artifact(exc, run_id, clean, step) from None
    return response.content


def _step_params(step: int | None) -> JsonDict | None:
    return {"step": step} if step is not None else None


def _no_artifact(exc: ApiError, run_id: int | str, path: str | None, step: int | None) -> ApiError:
    """Turn the API's 404 into what it means here: this run has no such artifact (yet)."""
    if exc.status_code != 404:
        return exc
    what = f"artifact {path!r}" if path else "artifacts"
    where = f" for step {step}" if step is not None else ""
    return ApiError(
        f"dbt Cloud run {run_id} has no {what}{where} (404): the run may not be complete yet, it may not "
        "have saved artifacts (artifacts_saved false), or the run id, path or step is wrong.",
        status_code=404,
        path=exc.path,
    )


# -- dlt-compatible helpers ---------------------------------------------------------------------

CredentialsLike = DbtCloudCredentials | Mapping[str, Any] | None


def make_credentials(credentials: CredentialsLike = None) -> DbtCloudCredentials:
    """Credentials from a `DbtCloudCredentials`, a dict with the same keys, or `[dbt_cloud]` config."""
    if credentials is None:
        return resolve_credentials()
    if isinstance(credentials, DbtCloudCredentials):
        resolved = credentials
    elif isinstance(credentials, Mapping):
        resolved = _credentials_from_mapping(credentials)
    else:
        raise ConfigError("credentials must be DbtCloudCredentials, a dict or None (read [dbt_cloud]).")
    if not resolved.api_token:
        raise ConfigError("Missing dbt Cloud API token: credentials have no api_token.")
    if resolved.account_id is None:
        raise ConfigError("Missing dbt Cloud account id: credentials have no account_id.")
    resolved.base_url = normalize_base_url(resolved.base_url)
    warn_if_old_region_host(resolved.base_url)
    return resolved


def _credentials_from_mapping(values: Mapping[str, Any]) -> DbtCloudCredentials:
    credentials = DbtCloudCredentials()
    credentials.api_token = values.get("api_token")
    credentials.base_url = values.get("base_url") or credentials.base_url
    for key in ("account_id", "job_id"):
        value = values.get(key)
        try:
            setattr(credentials, key, int(value) if value not in (None, "") else None)
        except (TypeError, ValueError):
            raise ConfigError(f"credentials {key} must be a number, got {value!r}.") from None
    return credentials


def run_dbt_cloud_job(
    credentials: CredentialsLike = None,
    job_id: int | str | None = None,
    data: Mapping[str, Any] | None = None,
    wait_for_outcome: bool = True,
    wait_seconds: float = DEFAULT_POLL_SECONDS,
    timeout_seconds: float | None = None,
    raise_on_failure: bool = False,
) -> JsonDict:
    """Trigger a job and (by default) wait for its outcome; a drop-in for dlt's helper of this name.

    Unlike dlt's: `data` (any trigger field: `cause`, `git_branch`, `steps_override`, ...) is sent as
    given, `cause` defaulting to "Triggered via API"; the account's `base_url` is used; the wait stops
    after `timeout_seconds` with `RunTimeout`; `raise_on_failure=True` raises `RunFailed` /
    `RunCancelled`. Returns the run dict (the final one when waiting).
    """
    resolved = make_credentials(credentials)
    job = job_id if job_id is not None else resolved.job_id
    if job is None:
        raise ConfigError(
            "No dbt Cloud job id: pass job_id or set [dbt_cloud] job_id (or DBT_CLOUD__JOB_ID)."
        )
    api = DbtCloudApi(resolved)
    body = dict(data or {})
    run = trigger_run(api, job, cause=body.pop("cause", None) or DEFAULT_CAUSE, extra=body)
    if wait_for_outcome:
        run = wait_for_run(api, run["id"], timeout_seconds=timeout_seconds, poll_seconds=wait_seconds)
    return check_outcome(run, api.base_url) if raise_on_failure else run


def get_dbt_cloud_run_status(
    credentials: CredentialsLike = None,
    run_id: int | str | None = None,
    wait_for_outcome: bool = True,
    wait_seconds: float = DEFAULT_POLL_SECONDS,
    timeout_seconds: float | None = None,
    raise_on_failure: bool = False,
) -> JsonDict:
    """A run's status, by default after waiting for its outcome; a drop-in for dlt's helper.

    Same differences as `run_dbt_cloud_job`: the account's `base_url`, a timeout, optional raising.
    """
    if run_id is None:
        raise ConfigError("No dbt Cloud run id: pass run_id.")
    api = DbtCloudApi(make_credentials(credentials))
    if wait_for_outcome:
        run = wait_for_run(api, run_id, timeout_seconds=timeout_seconds, poll_seconds=wait_seconds)
    else:
        run = get_run(api, run_id)
    return check_outcome(run, api.base_url) if raise_on_failure else run
