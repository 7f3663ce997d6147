"""A thin client for the dbt Cloud Administrative API (v2, and v3 for listings), built on dlt's `RESTClient`.

What it adds to dlt's client, and why:
- every answer is unwrapped from dbt Cloud's `{"status", "data", "extra"}` envelope; a 2xx whose body
  is not that envelope (a proxy's HTML page, cut-off JSON) is retried by dlt's client like a 5xx;
- a 429 that outlasts dlt's retries (dbt's five-minute account cooldown, often without Retry-After)
  pauses every worker for `rate_limit_cooldown_seconds` (or what Retry-After asks), at most
  `MAX_COOLDOWNS` times per process, before it becomes an error;
- 401/403/404 and exhausted retries become one `ApiError` line that says what to check;
- listings are paged here, by `DbtCloudApi.iter_pages` alone, rather than by a dlt paginator, for two
  reasons: pages after the first are
  fetched concurrently once the first page has told `total_count` (dlt's paginators are sequential),
  yet yielded in order so dlt's incremental can still close the generator at the first old run; and
  the offset steps by the rows actually received (the API caps pages at 100, whatever you ask).
Retries (429 with Retry-After, 5xx, dropped connections) are dlt's retrying `requests` client; its
attempts and backoff follow dlt's `[runtime]` settings (`request_max_attempts`, ...).
"""

from __future__ import annotations

import email.utils
import itertools
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from dlt.sources.helpers.rest_client.typing import HTTPMethod
from requests import Response
from requests.exceptions import ConnectionError, RequestException, Timeout

from .credentials import DbtCloudCredentials
from .errors import ApiError
from .settings import DEFAULT_MAX_WORKERS, DEFAULT_REQUESTS_PER_MINUTE, MAX_COOLDOWNS, PAGE_SIZE

JsonDict = dict[str, Any]
T = TypeVar("T")
R = TypeVar("R")


class RateLimiter:
    """A token bucket shared by all worker threads, keeping us under a per-minute request budget.

    The bucket holds a twentieth of the minute's budget, so a short burst (a first load's pages) goes
    out at full concurrency while any 60 s window stays under `budget * 1.05` requests — below the
    API's 5,000/min at our default of 4,000. dlt has no client-side rate limiter, hence these lines.
    """

    def __init__(
        self,
        requests_per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`clock`/`sleep` are the real ones; tests pass a fake pair to check the waits asked for."""
        self._rate = requests_per_minute / 60.0
        self._capacity = max(1.0, requests_per_minute / 20.0)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self._capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Take one token, sleeping until one is there."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            self._tokens -= 1.0
            delay = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if delay > 0:
            self._sleep(delay)


class Cooldown:
    """The account-wide pause once dbt Cloud keeps answering 429 after dlt's retries have given up.

    Over 5,000 requests a minute dbt Cloud starts a five-minute cooldown, often without Retry-After,
    and other tools of the account share that budget; dlt's backoff (seconds) gives up long before.
    One worker that meets it starts a pause that every worker waits out (new requests too), with one
    `warning:` line saying until when; at most `limit` pauses per process, so a load's longest wait
    is `limit` cooldowns plus dlt's retries. dlt has no such pause, hence these lines.
    """

    def __init__(self, seconds: float, limit: int = MAX_COOLDOWNS) -> None:
        self.seconds = seconds
        self.limit = limit
        self.used = 0
        self._until = 0.0  # wall-clock time the current pause ends
        self._lock = threading.Lock()

    @staticmethod
    def now() -> float:
        """Wall-clock time (the pause's end is printed as a time of day); tests replace it."""
        return time.time()

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds)

    def hold(self) -> None:
        """Before a request: wait while a pause is on."""
        with self._lock:
            delay = self._until - self.now()
        if delay > 0:
            self.sleep(delay)

    def wait_out(self, retry_after: float | None) -> bool:
        """After a 429 that outlasted dlt's retries: pause and return True, or False when spent."""
        with self._lock:
            now = self.now()
            if now < self._until:  # another worker already started this pause
                delay = self._until - now
            elif self.used >= self.limit:
                return False
            else:
                self.used += 1
                delay = retry_after if retry_after is not None else self.seconds
                self._until = now + delay
                until = time.strftime("%H:%M:%S UTC", time.gmtime(self._until))
                asked = "as its Retry-After asks" if retry_after is not None else "the rate-limit cooldown"
                print(
                    f"warning: dbt Cloud is rate-limiting this account (429 after retries): waiting "
                    f"{delay:g} s ({asked}), until {until}, before trying again "
                    f"(pause {self.used} of {self.limit}).",
                    file=sys.stderr,
                    flush=True,
                )
        self.sleep(delay)
        return True


def retry_after_seconds(response: Response) -> float | None:
    """The `Retry-After` header in seconds (a number or an HTTP date), or None without one."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def envelope_problem(response: Response) -> str | None:
    """What a 2xx answer holds when it is not dbt Cloud's JSON envelope, in words; None when it is.

    The parsed envelope is kept on the response, so it is decoded once however often it is looked at.
    """
    if getattr(response, "dbt_envelope", None) is not None:
        return None
    body = response.content or b""
    size = len(body)
    head = body[:200].lstrip().lower()
    if not size or not head:
        return "an empty body"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or "html" in (
        response.headers.get("Content-Type") or ""
    ):
        return "an HTML page"
    try:
        parsed = json.loads(body)
    except ValueError:
        if head.startswith((b"{", b"[")):
            return f"cut-off JSON ({size} bytes)"
        return f"a body that is not JSON ({size} bytes)"
    if not isinstance(parsed, dict) or "data" not in parsed or "status" not in parsed:
        return "JSON that is not dbt Cloud's {status, data, extra} envelope"
    response.dbt_envelope = parsed  # type: ignore[attr-defined]
    return None


def _bad_body(response: Response | None, exception: BaseException | None) -> bool:
    """dlt retry condition: a 2xx GET that is not the envelope is a proxy's hiccup, retried like a 5xx.

    Only GETs: a POST (trigger, cancel, retry) that came back garbled may have been carried out, and
    sending it again could start a second run.
    """
    if response is None or not 200 <= response.status_code < 300:
        return False
    if response.request is not None and response.request.method != "GET":
        return False
    return envelope_problem(response) is not None


_request_numbers = itertools.count()
"""Requests of this process in the order sent: number 0 is the very first."""


class DbtCloudApi:
    """Calls under `{access_url}/api/v{2,3}/accounts/{account_id}/`, safe to use from worker threads."""

    def __init__(
        self,
        credentials: DbtCloudCredentials,
        max_workers: int = DEFAULT_MAX_WORKERS,
        requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
    ) -> None:
        self.base_url: str = credentials.base_url or ""  # resolved credentials always carry it
        self.account_id = credentials.account_id
        self.roots = {version: credentials.api_root_for(version) for version in (2, 3)}
        self.api_root = self.roots[2]
        self.max_workers = max_workers
        # `Token <token>` is the documented header; an auth object (not a default header) keeps the
        # token out of dlt's debug request log.
        self._auth = APIKeyAuth(name="Authorization", api_key=f"Token {credentials.api_token}")
        # dlt's retrying clients keep one session per thread, so each worker thread gets its own.
        # Enveloped answers are also retried when a 2xx body is not the envelope; artifact files are
        # not enveloped, so they go through a client without that condition.
        self._retrying = Client(raise_for_status=False, retry_condition=_bad_body)
        self._retrying_raw = Client(raise_for_status=False)
        self._local = threading.local()
        self._limiter = RateLimiter(requests_per_minute)
        self.cooldown = Cooldown(credentials.rate_limit_cooldown_seconds)

    # -- single requests -------------------------------------------------------------------------

    def _rest(self, raw: bool = False) -> RESTClient:
        """This thread's client; paths are relative to `{access_url}/api/` (`v2/accounts/...`)."""
        name = "raw_client" if raw else "client"
        client: RESTClient | None = getattr(self._local, name, None)
        if client is None:
            session = (self._retrying_raw if raw else self._retrying).session
            client = RESTClient(base_url=f"{self.base_url}/api/", auth=self._auth, session=session)
            setattr(self._local, name, client)
        return client

    def _send(
        self, method: HTTPMethod, path: str, version: int, raw: bool = False, **kwargs: Any
    ) -> tuple[Response, int]:
        """One request through dlt's retrying client, waiting out rate-limit cooldowns.

        Returns the answer and the request's number in this process (0: the very first).
        """
        relative = f"v{version}/accounts/{self.account_id}/{path}"
        paused = False
        while True:
            if not paused:  # a request that just waited out a pause goes at once
                self.cooldown.hold()
            self._limiter.wait()
            number = next(_request_numbers)
            try:
                response = self._rest(raw).request(relative, method=method, **kwargs)
            except (ConnectionError, Timeout) as exc:
                raise ApiError(
                    f"Could not reach dbt Cloud at {self.base_url} ({type(exc).__name__} after retries): "
                    "check [dbt_cloud] base_url (your account's access URL) and the network.",
                    path=path,
                ) from None
            except RequestException as exc:
                raise ApiError(
                    f"Request to {self.base_url} failed: {type(exc).__name__}: check base_url."
                ) from None
            if response.status_code == 429 and self.cooldown.wait_out(retry_after_seconds(response)):
                paused = True
                continue
            return response, number

    def request(
        self,
        method: HTTPMethod,
        path: str,
        params: JsonDict | None = None,
        json: Any = None,
        version: int = 2,
    ) -> JsonDict:
        """Send one request (retried by dlt's client) and return the whole envelope."""
        response, number = self._send(method, path, version, params=params, json=json)
        return self._unwrap(response, path, first_of_process=number == 0)

    def get(self, path: str, params: JsonDict | None = None, version: int = 2) -> Any:
        """GET one object or page and return its `data`."""
        return self.request("GET", path, params=params, version=version)["data"]

    def post(self, path: str, json: JsonDict | None = None) -> Any:
        """POST and return the answer's `data`."""
        return self.request("POST", path, json=json or {})["data"]

    def get_raw(self, path: str, params: JsonDict | None = None) -> Response:
        """GET something that is not enveloped (an artifact file); errors still become `ApiError`."""
        response, _ = self._send("GET", path, 2, raw=True, params=params)
        if response.status_code >= 400:
            self._raise_for_status(response, path)
        return response

    # -- listings --------------------------------------------------------------------------------

    def iter_pages(
        self,
        path: str,
        params: JsonDict | None = None,
        first: JsonDict | None = None,
        version: int = 2,
        wanted_rows: int | None = None,
        expected_total: int = 0,
    ) -> Generator[list[JsonDict], None, None]:
        """Yield every page of a listing in order, fetching ahead on worker threads.

        The only paging code of the project (the load's runs, the account listings, the `runs`
        command and the MCP `list_runs` tool all page through it), so the API's paging rules live
        here once: no page asks for more than `PAGE_SIZE` rows, and offsets step by the rows actually
        received (a host may serve fewer than asked; a page that came back short of its share of
        `total_count` is completed before moving on).

        The first page is fetched alone: an incremental load usually stops there (dlt closes this
        generator at the first row older than the cursor), so nothing is fetched ahead for it. After
        that the window of requests in flight doubles per page up to `2 * max_workers`, and closing
        the generator cancels what has not started. A page with fewer rows than asked that reaches
        the first page's `total_count` ends the listing; otherwise it is read on past `total_count`
        (one page at a time, until such a page), because runs created while we page push older rows
        down. Rows pushed onto a later page come twice: callers drop repeats by `id`.

        - `first`: the first page's envelope when the caller already has it (the load's head).
        - `version`: the API root (3 for projects and environments).
        - `wanted_rows`: how many rows the caller means to read (`runs --limit N`): the first page
          asks for no more than that, the last planned page only for the rows still wanted, and
          nothing is fetched ahead past it, so at most `ceil(wanted_rows / PAGE_SIZE)` pages and
          `wanted_rows` rows are asked for unless the caller asks for more pages
          (after dropping repeats), which then come one at a time.
        - `expected_total`: how many rows the listing had last time (a load's jobs, projects,
          environments): the first page and every page that size needs, plus one past it to see the
          end, are asked for at once, one round trip instead of one per page (not with `first`).
        """
        base = dict(params or {})
        first_limit = PAGE_SIZE if wanted_rows is None else max(1, min(PAGE_SIZE, wanted_rows))
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="dbt-cloud-page") as pool:
            ahead: dict[int, Future[list[JsonDict]]] = {}
            pending: deque[tuple[int, Future[list[JsonDict]]]] = deque()

            def fetch(offset: int, limit: int = PAGE_SIZE) -> Future[list[JsonDict]]:
                """The page at `offset`: asked for at once when it was not asked for ahead."""
                future = ahead.pop(offset, None)
                if future is None:
                    future = pool.submit(self._page, path, base, offset, version, limit)
                return future

            try:
                if first is None:
                    stop = expected_total + 1 if wanted_rows is None else min(expected_total + 1, wanted_rows)
                    for later in range(PAGE_SIZE, stop, PAGE_SIZE):
                        ahead[later] = pool.submit(self._page, path, base, later, version)
                    first = self.first_page(path, base, version, first_limit)  # meanwhile, on this thread
                rows: list[JsonDict] = first["data"] or []
                total = total_count(first, default=len(rows))
                yield rows

                def is_last(offset: int, page: list[JsonDict], asked_for: int) -> bool:
                    return len(page) < asked_for and offset + len(page) >= total

                if is_last(0, rows, first_limit):
                    return
                next_offset = len(rows)
                end = total if wanted_rows is None else min(total, wanted_rows)
                planned = iter(range(next_offset, end, PAGE_SIZE))

                def asked_for(offset: int) -> int:
                    """A `wanted_rows` read asks its last planned page for only the rows still wanted."""
                    cut_short = wanted_rows is not None and wanted_rows < total
                    return min(PAGE_SIZE, end - offset) if cut_short else PAGE_SIZE

                max_in_flight = max(1, 2 * self.max_workers)
                window = 1
                while True:
                    while len(pending) < window:
                        offset = next(planned, None)
                        if offset is None:
                            break
                        pending.append((offset, fetch(offset, asked_for(offset))))
                    if not pending:
                        break
                    offset, future = pending.popleft()
                    page = future.result()
                    expected = min(PAGE_SIZE, end - offset)
                    page = page + self._complete_short_page(path, base, offset, len(page), expected, version)
                    window = min(max_in_flight, window * 2)
                    yield page
                    next_offset = offset + len(page)
                    if is_last(offset, page, asked_for(offset)):
                        return
                # rows pushed past the first page's total_count by runs created while we paged
                while True:
                    page = fetch(next_offset).result()
                    if page:
                        yield page
                    if len(page) < PAGE_SIZE:
                        return
                    next_offset += len(page)
            finally:
                for future in [*(future for _, future in pending), *ahead.values()]:
                    future.cancel()

    def read_listing(
        self, path: str, expected_total: int, params: JsonDict | None = None, version: int = 2
    ) -> list[list[JsonDict]]:
        """Every non-empty page of a small listing whose size is roughly known, all asked for at once.

        An account with 400 jobs would otherwise cost four round trips one after another on every
        load; `iter_pages` still checks that the pages fit together and reads on if the listing grew.
        """
        pages = self.iter_pages(path, params, version=version, expected_total=max(expected_total, 0))
        return [page for page in pages if page]

    def first_page(
        self, path: str, params: JsonDict | None = None, version: int = 2, limit: int = PAGE_SIZE
    ) -> JsonDict:
        """The first page of a listing, as the whole envelope (with `extra.pagination`)."""
        return self.request("GET", path, params=page_params(params, 0, limit), version=version)

    def get_each(self, paths: Iterable[str], params: JsonDict | None = None) -> Iterator[tuple[str, Any]]:
        """GET many objects concurrently, in order; yields `(path, data)`, or `(path, ApiError)` on a 404."""

        def fetch(path: str) -> tuple[str, Any]:
            try:
                return path, self.get(path, params=params)
            except ApiError as exc:
                if exc.status_code == 404:
                    return path, exc
                raise

        yield from self.map_concurrently(fetch, paths)

    def map_concurrently(self, func: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`func` over `items` on `max_workers` threads (each call may make requests), results in order."""
        items = list(items)
        if not items:
            return
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="dbt-cloud-get") as pool:
            yield from pool.map(func, items)

    # -- helpers ---------------------------------------------------------------------------------

    def _page(
        self, path: str, base: JsonDict, offset: int, version: int = 2, limit: int = PAGE_SIZE
    ) -> list[JsonDict]:
        return list(self.get(path, params=page_params(base, offset, limit), version=version) or [])

    def _complete_short_page(
        self, path: str, base: JsonDict, offset: int, got: int, expected: int, version: int = 2
    ) -> list[JsonDict]:
        """Fetch what a page returned fewer rows than asked for, so no offset is skipped.

        Each request asks only for what is missing, so a completed page ends where the next planned
        page starts (a host serving 40 rows a page: 40, then 40 at +40, then 20 at +80).
        """
        extra: list[JsonDict] = []
        while got < expected:
            more = self._page(path, base, offset + got, version, limit=expected - got)
            if not more:
                break
            extra.extend(more)
            got += len(more)
        return extra

    def _unwrap(self, response: Response, path: str, first_of_process: bool = False) -> JsonDict:
        if response.status_code >= 400:
            self._raise_for_status(response, path)
        problem = envelope_problem(response)
        if problem is not None:  # still so after dlt's retries
            method = response.request.method if response.request is not None else "GET"
            hint = (
                " This was the first request of this run, so base_url may be wrong: check [dbt_cloud] "
                "base_url (your account's access URL, shown in Account settings)."
                if first_of_process
                else " A proxy or gateway in between may be failing; nothing was committed, the next "
                "load fills in."
            )
            raise ApiError(
                f"{self.base_url} answered {method} {path} with {problem}, not the dbt Cloud API's JSON "
                f"envelope, after retries.{hint}",
                status_code=response.status_code,
                path=path,
            )
        return response.dbt_envelope  # type: ignore[attr-defined]

    def _raise_for_status(self, response: Response, path: str) -> None:
        status = response.status_code
        detail = _user_message(response)
        said = f"{status} {detail}".strip()
        if status == 401:
            message = (
                f"dbt Cloud refused the API token ({said}): check [dbt_cloud] api_token / "
                "DBT_CLOUD__API_TOKEN — it may be wrong, revoked or expired."
            )
        elif status == 403:
            message = (
                f"dbt Cloud denied access to account {self.account_id} ({said}): check [dbt_cloud] "
                "account_id and that the token has permission on that account."
            )
        elif status == 404:
            root = self.api_root
            if response.request is not None and "/api/v3/" in str(response.request.url):
                root = self.roots[3]
            message = (
                f"dbt Cloud answered 404 for {root}{path} ({detail or 'not found'}): "
                "check [dbt_cloud] account_id and base_url (the access URL of your account's region or cell)."
            )
        elif status == 429:
            message = (
                f"dbt Cloud kept rate-limiting requests (429) after retries and {self.cooldown.used} "
                "cooldown pause(s): other tools may be using the account's budget; lower [dbt_cloud] "
                "requests_per_minute or raise rate_limit_cooldown_seconds. Nothing was committed; the "
                "next load fills in."
            )
        elif status >= 500:
            message = (
                f"dbt Cloud kept failing with {said} on {path} after retries. Nothing was committed; "
                "the next load picks up where the last good one ended."
            )
        else:
            message = f"dbt Cloud rejected {path} ({said})."
        raise ApiError(message, status_code=status, path=path)


def _user_message(response: Response) -> str:
    """The envelope's human message, if the body is one; short and free of anything we sent."""
    try:
        status = response.json().get("status") or {}
        message = status.get("user_message") or ""
    except (ValueError, AttributeError):
        message = ""
    return str(message)[:200]


def total_count(envelope: JsonDict, default: int) -> int:
    pagination = (envelope.get("extra") or {}).get("pagination") or {}
    total = pagination.get("total_count")
    return int(total) if total is not None else default


def page_params(params: JsonDict | None, offset: int, limit: int = PAGE_SIZE) -> JsonDict:
    """A listing request's parameters: the caller's, plus `limit` (never over the API's cap) and `offset`."""
    return {**(params or {}), "limit": min(limit, PAGE_SIZE), "offset": offset}
