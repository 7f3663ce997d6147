"""(Re)create the SQL views in `sql/` on the destination after every load.

One view per `.sql` file. Views may read other views, so files are applied in name order and those
that fail (a view they read does not exist yet) are retried until a pass makes no progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dlt.common.destination.exceptions import DestinationUndefinedEntity
from dlt.destinations.exceptions import DatabaseException

from .settings import DATASET_NAME

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"


@dataclass
class ViewResult:
    created: list[str]
    failed: dict[str, str]


def view_files(sql_dir: Path = SQL_DIR) -> list[Path]:
    """The view definitions, one `.sql` file each, in name order."""
    return sorted(sql_dir.glob("*.sql"))


def apply_views(sql_client, dataset_name: str = DATASET_NAME, sql_dir: Path = SQL_DIR) -> ViewResult:
    """Create or replace every view; returns what was created and why the rest failed.

    `sql_client` is an open `pipeline.sql_client()`. The files name the dataset `dbt_cloud.`; another
    dataset name is substituted.
    """
    pending = {path.stem: path.read_text() for path in view_files(sql_dir)}
    if dataset_name != DATASET_NAME:
        pending = {name: sql.replace(f"{DATASET_NAME}.", f"{dataset_name}.") for name, sql in pending.items()}
    created: list[str] = []
    errors: dict[str, str] = {}
    while pending:
        progressed = False
        for name, sql in list(pending.items()):
            try:
                sql_client.execute_sql(sql)
            except (DatabaseException, DestinationUndefinedEntity) as exc:
                errors[name] = str(exc).splitlines()[0][:300]
                continue
            created.append(name)
            errors.pop(name, None)
            del pending[name]
            progressed = True
        if not progressed:
            break
    return ViewResult(created=created, failed={name: errors[name] for name in pending})
