"""The views' SQL for the destination's engine: written once in DuckDB SQL, translated by sqlglot.

Each view in `sql/` is DuckDB SQL. For another engine, sqlglot transpiles it at apply time, with a few
rewrites where sqlglot's PostgreSQL output would fail or answer differently from DuckDB (each checked
by `tests/postgres/test_views_postgres.py`, which compares every view row by row on both engines):

- `arg_max(arg, val)`: PostgreSQL has none; becomes the first element of `array_agg(arg ORDER BY val
  DESC)` over the rows where both are set, which is what DuckDB's `arg_max` looks at.
- `date_diff('microsecond', start, end)`: sqlglot casts both sides to `TIMESTAMP` (the session's wall
  clock, off by an hour across a DST change); the views' definition of a duration is the epoch
  difference to the microsecond, so it becomes `(EXTRACT(EPOCH FROM end) - EXTRACT(EPOCH FROM start))
  * 1000000` (exact: PostgreSQL's epoch is numeric), as a BIGINT like DuckDB's.
- `round(x, n)`: PostgreSQL rounds only NUMERIC to n places; x is cast to NUMERIC and back to DOUBLE.

A construct that cannot be rewritten this way would get a second file, `sql/<dialect>/<view>.sql`,
used instead of the translation; none is needed today.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

SOURCE_DIALECT = "duckdb"


def _postgres_rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.ArgMax):
        arg, val = node.this.sql("postgres"), node.expression.sql("postgres")
        return sqlglot.parse_one(
            f"(ARRAY_AGG({arg} ORDER BY {val} DESC) FILTER (WHERE {arg} IS NOT NULL AND {val} IS NOT NULL))[1]",
            read="postgres",
        )
    if isinstance(node, exp.DateDiff) and node.text("unit").lower() == "microsecond":
        end, start = node.this.sql("postgres"), node.expression.sql("postgres")
        return sqlglot.parse_one(
            f"CAST((EXTRACT(EPOCH FROM {end}) - EXTRACT(EPOCH FROM {start})) * 1000000 AS BIGINT)",
            read="postgres",
        )
    if isinstance(node, exp.Round) and node.args.get("decimals") is not None and not _is_numeric_cast(node.this):
        value = exp.cast(node.this.copy(), exp.DataType.build("NUMERIC"))
        rounded = exp.Round(this=value, decimals=node.args["decimals"].copy())
        return exp.cast(rounded, exp.DataType.build("DOUBLE PRECISION"))
    return node


def _is_numeric_cast(node: exp.Expression) -> bool:
    return isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.DECIMAL)


REWRITES = {"postgres": _postgres_rewrite}


def translate(sql: str, dialect: str | None) -> str:
    """The DuckDB SQL of one view, in `dialect` (a sqlglot dialect name; DuckDB's own is unchanged)."""
    if not dialect or dialect == SOURCE_DIALECT:
        return sql
    rewrite = REWRITES.get(dialect)
    statements = []
    for tree in sqlglot.parse(sql, read=SOURCE_DIALECT):
        if tree is None:
            continue
        if rewrite is not None:
            tree = tree.transform(rewrite)
        statements.append(tree.sql(dialect=dialect, pretty=True))
    return ";\n".join(statements)
