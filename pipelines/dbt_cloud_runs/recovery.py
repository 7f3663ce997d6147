"""Load packages left behind by an interrupted or failed load: finished, or discarded, first.

dlt keeps a load's extracted or normalized package on disk until it is loaded. Left alone, the next
`pipeline.run(data)` only loads that old package and returns without extracting ("the data you passed
will not be extracted"), so a scheduled load would exit 0 with every run created since missing. Here
such packages are loaded before the new load extracts, in the same process. A package that cannot be
loaded for a reason of its own (a file cut short by `kill -9`, say) is aborted with dlt's
`abort_packages`, which also rolls the local state (the runs cursor) back to where that package
started, so the new load reads its data again and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dlt
from dlt.pipeline.exceptions import PipelineStepFailed


@dataclass
class Recovery:
    """What was found from an earlier load, for the summary."""

    finished: int = 0
    """packages loaded now"""
    discarded: int = 0
    """packages aborted (their data is read again by this load)"""
    reason: str = ""

    def line(self) -> str | None:
        if self.finished:
            return f"finished {self.finished} load package(s) an interrupted load left behind"
        if self.discarded:
            return (
                f"discarded {self.discarded} load package(s) an interrupted load left behind "
                f"({self.reason}); their data is read again by this load"
            )
        return None


def finish_interrupted_load(
    pipeline: dlt.Pipeline, explain: Callable[[BaseException], BaseException | None]
) -> Recovery:
    """Load what an earlier load left pending, or abort it; then the pipeline is clean.

    `explain` returns the error to raise for a destination failure that is not the package's fault
    (the DuckDB file held by another process, a wrong location): the package is then kept, for this
    load to try again or the next one.
    """
    packages = len(pipeline.list_extracted_load_packages()) + len(pipeline.list_normalized_load_packages())
    if not packages:
        return Recovery()
    # dlt flags a package whose write failed for good for abort; `load()` then completes the abort
    # and rolls the state back, so this load reads that data again
    aborted_by_dlt = not pipeline.has_pending_data
    try:
        if pipeline.list_extracted_load_packages():
            pipeline.normalize()
        pipeline.load()
        if aborted_by_dlt:
            return Recovery(discarded=packages, reason="dlt had flagged it for abort after a failed write")
        return Recovery(finished=packages)
    except PipelineStepFailed as exc:
        explained = explain(exc)
        if explained is not None:
            raise explained from None
        reason = str(exc).strip().splitlines()[0][:200]
    try:
        pipeline.abort_packages()
    except PipelineStepFailed:
        # the abort itself could not run: wipe the local working state; dlt restores the state of
        # the last good load from the destination on the next run
        pipeline.drop()
    return Recovery(discarded=packages, reason=reason)
