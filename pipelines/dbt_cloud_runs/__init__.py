"""Load dbt Cloud run history with dlt; trigger, watch and cancel dbt Cloud jobs.

`run_dbt_cloud_job` and `get_dbt_cloud_run_status` are drop-ins for dlt's `dlt.helpers.dbt_cloud`
helpers of the same names (see `operations.py` for how they differ). They are imported lazily so that
`import dbt_cloud_runs.cli` (and `--help`) does not pay for importing dlt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .operations import get_dbt_cloud_run_status, run_dbt_cloud_job

__all__ = ["run_dbt_cloud_job", "get_dbt_cloud_run_status"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import operations

        return getattr(operations, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
