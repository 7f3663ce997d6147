"""How the account's jobs, projects and environments are listed, in one place for the head and the source.

- Jobs: v2 `jobs/?state=all`. The listing's default is active jobs only, while runs of deleted jobs
  keep coming back; asking for every state names the job of every run from the very first load, and
  `jobs.state` (1 active, 2 deleted) says which are gone.
- Projects: v3 `projects/` (v2's is deprecated). Environments: v3 `projects/{id}/environments/` for
  every project, concurrently within the rate limiter. An older single-tenant host answers 404 to v3:
  that listing then comes from v2, and one `warning:` line says so.
- A listing the token may not read (403) yields no rows and one `warning:` line, so the load goes on
  and the table still exists (a read-only permission set may lack projects, say). A wrong account
  is still an error: the runs listing, read alongside, fails the load.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .api import DbtCloudApi
from .errors import ApiError
from .settings import JOBS_LIST_PARAMS

LISTINGS = ("jobs", "projects", "environments")

Pages = list[list[dict[str, Any]]]

_said: set[str] = set()
_said_lock = threading.Lock()


def _warn_once(key: str, text: str) -> None:
    """One `warning:` line per process and subject, however many loads or threads meet it."""
    with _said_lock:
        if key in _said:
            return
        _said.add(key)
    print(f"warning: {text}", file=sys.stderr, flush=True)


class AccountListings:
    """Reads each listing once per load; projects are shared by the environments listing.

    `expected` holds how many objects each listing had at the last load, so a listing's pages can be
    asked for at once (see `DbtCloudApi.iter_pages`, `expected_total`).
    """

    def __init__(
        self,
        api: DbtCloudApi,
        expected: dict[str, int] | None = None,
        known_project_ids: list[int] | None = None,
    ) -> None:
        self.api = api
        self.expected = expected or {}
        self.known_project_ids = known_project_ids or []
        """projects the last load listed: their environments are asked for alongside the projects"""
        self._projects: Pages | None = None
        self._projects_version = 3
        self._lock = threading.Lock()

    def read(self, name: str) -> Pages:
        """Every page of `jobs`, `projects` or `environments`; [] when the token may not read it."""
        readers = {"jobs": self._jobs, "projects": self.projects, "environments": self._environments}
        try:
            return readers[name]()
        except ApiError as exc:
            if exc.status_code != 403:
                raise
            _warn_once(
                f"403 {name}",
                f"the API token may not read {name} (403): the {name} table keeps what it holds; give the "
                "token a permission set that can read them (e.g. Account Viewer) to load them.",
            )
            return []

    def _jobs(self) -> Pages:
        return self.api.read_listing("jobs/", self.expected.get("jobs", 0), params=JOBS_LIST_PARAMS)

    def projects(self) -> Pages:
        with self._lock:
            if self._projects is None:
                try:
                    self._projects = self.api.read_listing(
                        "projects/", self.expected.get("projects", 0), version=3
                    )
                except ApiError as exc:
                    if exc.status_code != 404:
                        raise
                    self._fell_back("projects")
                    self._projects_version = 2
                    self._projects = self.api.read_listing("projects/", self.expected.get("projects", 0))
            return self._projects

    def _environments(self) -> Pages:
        """v3 environments, project by project. The environments of the projects the last load listed
        are asked for while the projects listing is still on its way (one round trip instead of two
        on every load, about 50-100 ms); projects new since are asked for after it, and answers for
        projects that are gone are dropped."""
        workers = max(1, self.api.max_workers)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dbt-cloud-envs") as pool:
            early = {pid: pool.submit(self._project_environments, pid) for pid in self.known_project_ids}
            project_ids = [project["id"] for page in self.projects() for project in page]
            if self._projects_version == 3:
                asked = [
                    early.pop(pid) if pid in early else pool.submit(self._project_environments, pid)
                    for pid in project_ids
                ]
                try:
                    return [page for future in asked for page in future.result() if page]
                except ApiError as exc:
                    if exc.status_code != 404:
                        raise
                    self._fell_back("environments")
            for future in early.values():
                future.cancel()
        return self.api.read_listing("environments/", self.expected.get("environments", 0))

    def _project_environments(self, project_id: int) -> Pages:
        return list(self.api.iter_pages(f"projects/{project_id}/environments/", version=3))

    def _fell_back(self, name: str) -> None:
        _warn_once(
            "v2 fallback",
            f"{self.api.base_url} has no v3 {name} listing (404): listing {name} from the deprecated v2 "
            "API instead (an older single-tenant host; ask dbt Labs about its upgrade).",
        )
