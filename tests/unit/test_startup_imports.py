"""A load that finds nothing new must stay cheap: it never imports Arrow (about 0.1 s of a 1 s load).

The extract path (source, artifacts, run_results, rows, contract) builds Arrow schemas at import; the
no-op path (cli -> pipeline -> change_detection, artifact_ledger) must not pull them in.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PIPELINES = Path(__file__).resolve().parents[2] / "pipelines"


def run_python(code: str) -> str:
    """`code` in a fresh interpreter with `pipelines/` importable (argv[1]); its stdout, stripped."""
    prelude = "import sys; sys.path.insert(0, sys.argv[1]);"
    return subprocess.run(
        [sys.executable, "-c", prelude + code, str(PIPELINES)], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_no_op_load_path_does_not_import_arrow() -> None:
    code = (
        "import dbt_cloud_runs.cli, dbt_cloud_runs.pipeline, dbt_cloud_runs.change_detection;"
        "import dbt_cloud_runs.artifact_ledger, dbt_cloud_runs.load_checks, dbt_cloud_runs.recovery;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyarrow', 'numpy')))"
    )
    assert run_python(code) == "[]"


def test_the_extract_path_still_has_arrow() -> None:
    """The guard above is meaningful: the modules it keeps out do import Arrow."""
    assert run_python("import dbt_cloud_runs.source; print('pyarrow' in sys.modules)") == "True"
