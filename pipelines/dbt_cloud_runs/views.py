"""(Re)create the SQL views in `sql/` on the destination after every load.

One view per `.sql` file, written in DuckDB SQL; on another engine (PostgreSQL) each is translated at
apply time (`view_sql.py`). Views may read other views, so files are applied in name order and those
that fail (a view they read does not exist yet) are retried until a pass makes no progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dlt.common.destination.exceptions import DestinationUndefinedEntity
from dlt.destinations.exceptions import DatabaseException

from .settings import DATASET_NAME
from .view_sql import translate

SQL_DIR = Path(__file__).resolve().parent / "sql"
"""The view definitions ship inside the package, so an installed wheel creates every view."""


@dataclass
class ViewResult:
    created: list[str]
    failed: dict[str, str]


def view_files(sql_dir: Path = SQL_DIR) -> list[Path]:
    """The view definitions, one `.sql` file each, in name order."""
    return sorted(sql_dir.glob("*.sql"))


def apply_views(sql_client, dataset_name: str = DATASET_NAME, sql_dir: Path = SQL_DIR) -> ViewResult:
    """Create or replace every view; returns what was created and why the rest failed.

    `sql_client` is an open `pipeline.sql_client()`; its destination's sqlglot dialect decides the
    translation. The files name the dataset `dbt_cloud.`; another dataset name is substituted.
    """
    dialect = sql_dialect(sql_client)
    pending = {}
    for path in view_files(sql_dir):
        sql = path.read_text()
        if dataset_name != DATASET_NAME:
            sql = sql.replace(f"{DATASET_NAME}.", f"{dataset_name}.")
        pending[path.stem] = translate(sql, dialect)
    return _until_no_progress(sql_client, pending)


def drop_views(sql_client, dataset_name: str = DATASET_NAME, sql_dir: Path = SQL_DIR) -> ViewResult:
    """Drop every view of `sql/` (those that read others first), e.g. before `--full-refresh` drops
    the tables: PostgreSQL refuses to drop a table a view reads. No CASCADE, so a view of the user's
    built on ours is never dropped behind their back: the refresh then fails naming it.
    """
    statements = {
        path.stem: f"DROP VIEW IF EXISTS {dataset_name}.{path.stem}" for path in view_files(sql_dir)
    }
    return _until_no_progress(sql_client, statements)


def sql_dialect(sql_client) -> str | None:
    """The sqlglot dialect of the client's destination (None: a plain client, treated as DuckDB)."""
    capabilities = getattr(sql_client, "capabilities", None)
    return getattr(capabilities, "sqlglot_dialect", None)


def _until_no_progress(sql_client, pending: dict[str, str]) -> ViewResult:
    """Run each statement; retry those that failed while a pass still makes progress."""
    done: list[str] = []
    errors: dict[str, str] = {}
    while pending:
        progressed = False
        for name, sql in list(pending.items()):
            try:
                sql_client.execute_sql(sql)
            except (DatabaseException, DestinationUndefinedEntity) as exc:
                errors[name] = str(exc).splitlines()[0][:300]
                continue
            done.append(name)
            errors.pop(name, None)
            del pending[name]
            progressed = True
        if not progressed:
            break
    return ViewResult(created=done, failed={name: errors[name] for name in pending})
