"""`DbtCloudSimulator`: the account, its clock, injected faults and the HTTP server in one object.

Tests and the demo drive it from Python (advance time, delete a job, inject faults); clients talk to
it over real HTTP. One lock guards the account, so requests served on several threads and control
calls from the test thread never see a half-made change.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any

from .account import generate_account
from .controls import FAULT_KINDS, Fault, TriggerPlan, checkout
from .model import CANCELLED, FINAL_STATUSES, Account, Run
from .serialize import run_dict, status_at
from .timeline import add_run, schedule_new_runs


class DbtCloudSimulator:
    """A local dbt Cloud Administrative API v2 over HTTP on 127.0.0.1, with a synthetic account."""

    def __init__(
        self,
        runs: int = 3000,
        jobs: int = 120,
        seed: int = 7,
        now: datetime | None = None,
        token: str = "sim-token",
        account_id: int = 70403,
        latency_ms: float = 0,
        port: int = 0,
        deleted_jobs: int = 0,
    ) -> None:
        if now is None:
            now = datetime.now(UTC).replace(second=0, microsecond=0)
        self.token = token
        self.account_id = account_id
        self.latency_ms = latency_ms
        self.port = port
        self.lock = threading.RLock()
        self.account: Account = generate_account(
            seed=seed, runs=runs, jobs=jobs, now=now, account_id=account_id, deleted_jobs=deleted_jobs
        )
        self.v3 = True
        """False: an older single-tenant host, where every v3 route answers 404"""
        self.clamp_limit = False
        """True: `limit` > 100 is clamped (single-tenant hosts) instead of answering 400"""
        self._cooldown_seconds = 0.0
        self._cooldown_until: float | None = None
        self._wall_anchor = time.monotonic()
        self._revoked = False
        self._faults: list[Fault] = []
        self._plan = TriggerPlan()
        self._requests: deque[dict[str, Any]] = deque()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # ----- lifecycle -------------------------------------------------------------------------------
    def start(self) -> DbtCloudSimulator:
        """Bind 127.0.0.1 (port 0 = any free port) and serve on a daemon thread."""
        from .server import make_server

        self._server = make_server(self, self.port)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="dbt-cloud-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> DbtCloudSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- clock -----------------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """The account's present for generated runs; moves only with `advance()`."""
        return self.account.now

    def live_clock(self) -> datetime:
        """`now` plus wall time since the last advance: the clock triggered runs progress on."""
        return self.account.now + timedelta(seconds=time.monotonic() - self._wall_anchor)

    def clock_for(self, run: Run) -> datetime:
        return self.live_clock() if run.live else self.account.now

    def advance(self, delta: timedelta | None = None, *, hours: float = 0, minutes: float = 0) -> int:
        """Move time forward: open runs progress, schedules and PRs create new runs. Returns new runs."""
        step = (delta or timedelta(0)) + timedelta(hours=hours, minutes=minutes)
        if step <= timedelta(0):
            raise ValueError("advance() needs a positive amount of time")
        with self.lock:
            live_now = self.live_clock()
            start = self.account.now
            self.account.now = start + step
            self._wall_anchor = time.monotonic() - max(0.0, (live_now - self.account.now).total_seconds())
            created = schedule_new_runs(self.account, start, self.account.now)
            self._settle()
        return created

    def _settle(self) -> None:
        """Forget open-run candidates that became final, so status reads stay O(1) for them."""
        for run_id in list(self.account.open_candidates):
            run = self._candidate(run_id)
            if run.finished is not None and run.finished <= self.clock_for(run):
                run.settled = True
                self.account.open_candidates.discard(run_id)

    # ----- account control -------------------------------------------------------------------------
    def delete_job(self, job_id: int) -> None:
        """state=2: gone from the job listing, still readable by id; its runs stay."""
        with self.lock:
            self.account.jobs[job_id].data["state"] = 2

    def revoke_token(self) -> None:
        self._revoked = True

    @property
    def revoked(self) -> bool:
        return self._revoked

    def jobs(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(spec.data) for spec in self.account.jobs.values()]

    def open_run_ids(self) -> list[int]:
        with self.lock:
            self._settle()
            return sorted(
                run.id
                for run in map(self._candidate, self.account.open_candidates)
                if status_at(run, self.clock_for(run)) not in FINAL_STATUSES
            )

    def _candidate(self, run_id: int) -> Run:
        """The run of an open candidate id: candidates are ids of added runs, which are never removed."""
        run = self.account.run(run_id)
        assert run is not None
        return run

    def runs_by_id(self, run_id: int) -> dict[str, Any]:
        """The API representation (with trigger) of one run, as `GET /runs/{id}/` would return it."""
        with self.lock:
            run = self.account.run(run_id)
            if run is None:
                raise KeyError(run_id)
            return self.serialize(run, frozenset({"trigger"}))

    def serialize(self, run: Run, include: frozenset[str]) -> dict[str, Any]:
        return run_dict(self.account, run, self.clock_for(run), include, self.base_url)

    # ----- triggering and cancelling ---------------------------------------------------------------
    def trigger_plan(
        self,
        queue_seconds: float = 1.0,
        run_seconds: float = 2.0,
        outcome: int = 10,
        status_message: str | None = None,
        first_poll_404: bool = False,
    ) -> None:
        """Set how runs triggered over HTTP progress from now on (wall-clock seconds)."""
        if outcome not in FINAL_STATUSES:
            raise ValueError("outcome must be 10, 20 or 30")
        self._plan = TriggerPlan(queue_seconds, run_seconds, outcome, status_message, first_poll_404)

    def trigger(self, job_id: int, body: dict[str, Any], retrying: Run | None = None) -> Run:
        """Create a live run for `POST /jobs/{id}/run/` (or a retry of `retrying`), timed by the plan."""
        with self.lock:
            spec = self.account.jobs[job_id]
            env = self.account.environment(spec.data["environment_id"])
            assert env is not None  # a job's environment exists (environments are never removed)
            created = self.live_clock()
            overrides = {key: value for key, value in body.items() if key != "cause" and value is not None}
            run = Run(
                id=self.account.next_run_id,
                trigger_id=self.account.next_trigger_id,
                job_id=job_id,
                project_id=spec.data["project_id"],
                environment_id=spec.data["environment_id"],
                **self._plan.timeline(created),
                cause=str(body["cause"]),
                overrides=overrides or None,
                **checkout(overrides, spec.data, env, f"{self.account.next_run_id:040x}"),
                live=True,
            )
            if retrying is not None:  # a retry runs what the failed run ran
                run.retrying_run_id = retrying.id
                run.overrides = retrying.overrides
                run.git_sha, run.dbt_version = retrying.git_sha, retrying.dbt_version
            self.account.next_run_id += 1
            self.account.next_trigger_id += 1
            add_run(self.account, run, created)
            return run

    def cancel(self, run: Run) -> None:
        """Cancel an open run now; a final run is left as it is (the API returns it unchanged)."""
        with self.lock:
            clock = self.clock_for(run)
            if status_at(run, clock) in FINAL_STATUSES:
                return
            if run.started is not None and run.started > clock:
                run.started = None
            if run.dequeued is not None and run.dequeued > clock:
                run.dequeued = None
            run.finished, run.outcome = clock, CANCELLED
            run.status_message, run.artifacts_saved = "Cancelled by user", False

    # ----- faults and request log ------------------------------------------------------------------
    def inject(
        self,
        kind: str,
        count: int | None = 1,
        retry_after: int | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Make matching requests fail: 429 (with Retry-After), 500/502/503, drop the connection, or
        answer 200 with a body that is not the envelope: `html` (a proxy's page), `truncated`
        (cut-off JSON)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; use one of {FAULT_KINDS}")
        with self.lock:
            self._faults.append(Fault(kind, count, retry_after, path_contains))

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()
            self._cooldown_seconds, self._cooldown_until = 0.0, None

    def cooldown(self, seconds: float) -> None:
        """dbt's rate-limit cooldown: from the next request on, every request answers 429 without
        `Retry-After` for `seconds` of wall-clock time, then the account serves again."""
        with self.lock:
            self._cooldown_seconds, self._cooldown_until = seconds, None

    def cooling_down(self) -> bool:
        """Is the account in its cooldown now (starting it at the first request after `cooldown()`)?"""
        with self.lock:
            if not self._cooldown_seconds:
                return False
            if self._cooldown_until is None:
                self._cooldown_until = time.monotonic() + self._cooldown_seconds
            if time.monotonic() < self._cooldown_until:
                return True
            self._cooldown_seconds, self._cooldown_until = 0.0, None
            return False

    def take_fault(self, path: str) -> Fault | None:
        """The first fault that matches `path`, counting it down."""
        with self.lock:
            for fault in self._faults:
                if fault.path_contains is None or fault.path_contains in path:
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def record(self, method: str, path: str, query: dict[str, list[str]], status: int | None) -> None:
        self._requests.append({"method": method, "path": path, "query": query, "status": status})

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request served so far (status None for a dropped connection), oldest first."""
        return list(self._requests)

    def reset_requests(self) -> None:
        self._requests.clear()
