"""Say where dlt looked for `.dlt/` when a setting is missing: cron jobs often run without `cd`.

dlt reads `.dlt/config.toml` and `.dlt/secrets.toml` from its run directory: the working directory,
or `DLT_PROJECT_DIR` when set (dlt's `RunContext.settings_dir`). We do not move that directory
ourselves: the default DuckDB file and `--publish` / `-o` paths are relative to the working
directory too, and silently loading into another directory's store would be worse than stopping.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The checkout this package runs from (`<root>/pipelines/dbt_cloud_runs`); for an installed wheel
it is a site-packages parent without `.dlt/`, and then it is not mentioned."""


def searched_settings_dir() -> Path:
    """The `.dlt/` dlt reads settings from in this process."""
    import dlt

    return Path(dlt.current.run_context().settings_dir).resolve()


def missing_settings_hint() -> str:
    """`` (looked in /x/.dlt, which does not exist; ...)``, or `` when that `.dlt/` exists."""
    searched = searched_settings_dir()
    if searched.is_dir():
        return ""
    hint = f" (dlt looked for settings in {searched}, which does not exist"
    project = PROJECT_ROOT / ".dlt"
    if project.is_dir() and project != searched and "DLT_PROJECT_DIR" not in os.environ:
        hint += f"; this project's are in {project}: cd {PROJECT_ROOT} first, as the README's cron line does"
    return hint + ")"
