"""A thin client for the dbt Cloud Administrative API v2, built on dlt's `RESTClient`.

What it adds to dlt's client, and why:
- every answer is unwrapped from dbt Cloud's `{"status", "data", "extra"}` envelope;
- 401/403/404 and exhausted retries become one `ApiError` line that says what to check;
- listings are paged here rather than by a dlt paginator, for two reasons: pages after the first are
  fetched concurrently once the first page has told `total_count` (dlt's paginators are sequential),
  yet yielded in order so dlt's incremental can still close the generator at the first old run; and
  the offset steps by the rows actually received (the API caps pages at 100, whatever you ask).
Retries (429 with Retry-After, 5xx, dropped connections) are dlt's retrying `requests` client; its
attempts and backoff follow dlt's `[runtime]` settings (`request_max_attempts`, ...).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from requests import Response
from requests.exceptions import ConnectionError, RequestException, Timeout

from .credentials import DbtCloudCredentials
from .errors import ApiError
from .settings import DEFAULT_MAX_WORKERS, DEFAULT_REQUESTS_PER_MINUTE, PAGE_SIZE

JsonDict = dict[str, Any]
T = TypeVar("T")
R = TypeVar("R")


class RateLimiter:
    """A token bucket shared by all worker threads, keeping us under a per-minute request budget.

    The bucket holds a twentieth of the minute's budget, so a short burst (a first load's pages) goes
    out at full concurrency while any 60 s window stays under `budget * 1.05` requests — below the
    API's 5,000/min at our default of 4,000. dlt has no client-side rate limiter, hence these lines.
    """

    def __init__(self, requests_per_minute: int) -> None:
        self._rate = requests_per_minute / 60.0
        self._capacity = max(1.0, requests_per_minute / 20.0)
        self._tokens = self._capacity
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Take one token, sleeping until one is there."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            self._tokens -= 1.0
            delay = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if delay > 0:
            time.sleep(delay)


class DbtCloudApi:
    """Calls under `{access_url}/api/v2/accounts/{account_id}/`, safe to use from worker threads."""

    def __init__(
        self,
        credentials: DbtCloudCredentials,
        max_workers: int = DEFAULT_MAX_WORKERS,
        requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
    ) -> None:
        self.base_url = credentials.base_url
        self.account_id = credentials.account_id
        self.api_root = credentials.api_root
        self.max_workers = max_workers
        # `Token <token>` is the documented header; an auth object (not a default header) keeps the
        # token out of dlt's debug request log.
        self._auth = APIKeyAuth(name="Authorization", api_key=f"Token {credentials.api_token}")
        # dlt's retrying client keeps one session per thread, so each worker thread gets its own.
        self._retrying = Client(raise_for_status=False)
        self._local = threading.local()
        self._limiter = RateLimiter(requests_per_minute)

    # -- single requests -------------------------------------------------------------------------

    @property
    def _rest(self) -> RESTClient:
        client: RESTClient | None = getattr(self._local, "client", None)
        if client is None:
            client = RESTClient(base_url=self.api_root, auth=self._auth, session=self._retrying.session)
            self._local.client = client
        return client

    def request(self, method: str, path: str, params: JsonDict | None = None, json: Any = None) -> JsonDict:
        """Send one request (retried by dlt's client) and return the whole envelope."""
        self._limiter.wait()
        try:
            response = self._rest.request(path, method=method, params=params, json=json)  # type: ignore[arg-type]
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
        return self._unwrap(response, path)

    def get(self, path: str, params: JsonDict | None = None) -> Any:
        """GET one object or page and return its `data`."""
        return self.request("GET", path, params=params)["data"]

    def post(self, path: str, json: JsonDict | None = None) -> Any:
        """POST and return the answer's `data`."""
        return self.request("POST", path, json=json or {})["data"]

    def get_raw(self, path: str, params: JsonDict | None = None) -> Response:
        """GET something that is not enveloped (an artifact file); errors still become `ApiError`."""
        self._limiter.wait()
        try:
            response = self._rest.get(path, params=params)
        except (ConnectionError, Timeout) as exc:
            raise ApiError(
                f"Could not reach dbt Cloud at {self.base_url} ({type(exc).__name__} after retries).",
                path=path,
            ) from None
        if response.status_code >= 400:
            self._raise_for_status(response, path)
        return response

    # -- listings --------------------------------------------------------------------------------

    def iter_pages(
        self, path: str, params: JsonDict | None = None, first: JsonDict | None = None
    ) -> Iterator[list[JsonDict]]:
        """Yield every page of a listing in order, fetching ahead on worker threads.

        The first page is fetched alone: an incremental load usually stops there (dlt closes this
        generator at the first row older than the cursor), so nothing is fetched ahead for it. After
        that the window of requests in flight doubles per page up to `2 * max_workers`, and closing
        the generator cancels what has not started. Offsets step by the rows actually received; a
        short page is completed before moving on, and the listing is read past the first page's
        `total_count` until a short page, because runs created while we page push older rows down.
        `first` is the first page's envelope when the caller already has it.
        """
        base = dict(params or {})
        if first is None:
            first = self.first_page(path, base)
        rows: list[JsonDict] = first["data"] or []
        total = total_count(first, default=len(rows))
        yield rows
        if len(rows) < PAGE_SIZE and len(rows) >= total:
            return
        next_offset = len(rows)
        max_in_flight = max(1, 2 * self.max_workers)
        window = 1
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="dbt-cloud-page") as pool:
            pending: deque[tuple[int, Future[list[JsonDict]]]] = deque()
            planned = iter(range(next_offset, total, PAGE_SIZE))
            try:
                while True:
                    while len(pending) < window:
                        offset = next(planned, None)
                        if offset is None:
                            break
                        pending.append((offset, pool.submit(self._page, path, base, offset)))
                    if not pending:
                        break
                    offset, future = pending.popleft()
                    page = future.result()
                    expected = min(PAGE_SIZE, total - offset)
                    page = page + self._complete_short_page(path, base, offset, len(page), expected)
                    window = min(max_in_flight, window * 2)
                    yield page
                    next_offset = offset + len(page)
                # rows pushed past the first page's total_count by runs created while we paged
                while True:
                    page = self._page(path, base, next_offset)
                    if page:
                        yield page
                    if len(page) < PAGE_SIZE:
                        break
                    next_offset += len(page)
            finally:
                for _, future in pending:
                    future.cancel()

    def read_listing(
        self, path: str, expected_total: int, params: JsonDict | None = None
    ) -> list[list[JsonDict]]:
        """Every page of a small listing whose size is roughly known, all pages asked for at once.

        An account with 400 jobs would otherwise cost four round trips one after another on every
        load. If the pages do not fit together (the listing grew past the plan, or a page came back
        short), the listing is read again the ordinary way from its first page.
        """
        base = dict(params or {})
        offsets = range(0, max(expected_total, 0) + 1, PAGE_SIZE)  # one page past it, to see the end
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="dbt-cloud-listing") as pool:
            envelopes = list(pool.map(lambda offset: self._envelope(path, base, offset), offsets))
        pages = [list(envelope["data"] or []) for envelope in envelopes]
        total = total_count(envelopes[0], default=sum(len(page) for page in pages))
        filled = [len(page) for page in pages]
        short = next((i for i, count in enumerate(filled) if count < PAGE_SIZE), None)
        if short is not None and not any(filled[short + 1 :]) and sum(filled) >= total:
            return [page for page in pages if page]
        return list(self.iter_pages(path, base, first=envelopes[0]))

    def _envelope(self, path: str, base: JsonDict, offset: int) -> JsonDict:
        return self.request("GET", path, params={**base, "limit": PAGE_SIZE, "offset": offset})

    def first_page(self, path: str, params: JsonDict | None = None) -> JsonDict:
        """The first page of a listing, as the whole envelope (with `extra.pagination`)."""
        return self.request("GET", path, params={**(params or {}), "limit": PAGE_SIZE, "offset": 0})

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

    def _page(self, path: str, base: JsonDict, offset: int) -> list[JsonDict]:
        data = self.get(path, params={**base, "limit": PAGE_SIZE, "offset": offset})
        return list(data or [])

    def _complete_short_page(
        self, path: str, base: JsonDict, offset: int, got: int, expected: int
    ) -> list[JsonDict]:
        """Fetch what a page returned fewer rows than asked for, so no offset is skipped."""
        extra: list[JsonDict] = []
        while got < expected:
            more = self._page(path, base, offset + got)
            if not more:
                break
            extra.extend(more)
            got += len(more)
        return extra

    def _unwrap(self, response: Response, path: str) -> JsonDict:
        if response.status_code >= 400:
            self._raise_for_status(response, path)
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict) or "data" not in envelope:
            raise ApiError(
                f"{self.base_url} answered {path} with something that is not the dbt Cloud API: check "
                "[dbt_cloud] base_url — it must be your account's access URL, e.g. https://cloud.getdbt.com.",
                status_code=response.status_code,
                path=path,
            )
        return envelope

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
            message = (
                f"dbt Cloud answered 404 for {self.api_root}{path} ({detail or 'not found'}): "
                "check [dbt_cloud] account_id and base_url (the access URL of your account's region or cell)."
            )
        elif status == 429:
            message = (
                "dbt Cloud kept rate-limiting requests (429) after retries: lower [dbt_cloud] "
                "requests_per_minute or max_workers. Nothing was committed; the next load fills in."
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
