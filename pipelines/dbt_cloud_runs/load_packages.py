"""Keep dlt's data dir small: completed load packages are pruned after each load.

dlt keeps every completed load package under `<DLT_DATA_DIR>/pipelines/dbt_runs/load/loaded/`:
160-300 KB for a load that changed something, so a load every 30 minutes fills gigabytes a year.
Two of dlt's own means clean up: its `[load] delete_completed_jobs` setting (the data files of a
package, deleted by dlt as the package completes; on by default here) and `LoadStorage`'s
`delete_loaded_package` for what remains of each package (about 40 KB of schema and state, measured on
the simulator), of which the newest `KEEP_LOADED_PACKAGES` are kept for `dlt pipeline dbt_runs info` /
`load-package`. Packages left by a killed load are not here: the next load completes or aborts them
(`recovery.py`) and they land in `loaded/` like any other.
"""

from __future__ import annotations

import os

import dlt
from dlt.common.storages import LoadStorage, LoadStorageConfiguration

KEEP_LOADED_PACKAGES = 5

DELETE_COMPLETED_JOBS = "load.delete_completed_jobs"


def delete_completed_jobs_by_default() -> None:
    """Turn on dlt's `[load] delete_completed_jobs` unless the user set it (env or config.toml)."""
    if dlt.config.get(DELETE_COMPLETED_JOBS) is None:
        os.environ["LOAD__DELETE_COMPLETED_JOBS"] = "true"


def prune_loaded_packages(pipeline: dlt.Pipeline, keep: int = KEEP_LOADED_PACKAGES) -> int:
    """Delete all but the newest `keep` completed packages; returns how many were deleted."""
    if not dlt.config.get(DELETE_COMPLETED_JOBS):
        return 0  # the user keeps load files on purpose: keep the packages too
    volume = os.path.join(pipeline.working_dir, "load")
    if not os.path.isdir(volume):
        return 0
    storage = LoadStorage(False, [], LoadStorageConfiguration(load_volume_path=volume))
    loaded = sorted(storage.list_loaded_packages(), key=float)  # load ids are unix timestamps
    old = loaded[:-keep] if keep > 0 else loaded
    for load_id in old:
        storage.delete_loaded_package(load_id)
    return len(old)
