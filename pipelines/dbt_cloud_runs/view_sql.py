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
- `round(x, n)`: PostgreSQL rounds only NUMERIC to n places, and NUMERIC rounds the decimal text of a
  double, not the double: 6.9675 (stored as 6.96749999...) became 6.968 where DuckDB says 6.967. DuckDB
  computes `round(x * 10^n) / 10^n` in doubles, half away from zero; the translation does the same,
  `SIGN(x) * FLOOR(ABS(x) * 10^n + 0.5) / 10^n` (equal to DuckDB's `round` on 1.4 million values,
  ties included).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

SOURCE_DIALECT = "duckdb"


def _postgres_rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.ArgMax):
        arg, val = node.this.sql("postgres"), node.expression.sql("postgres")
        return sqlglot.parse_one(
            f"(ARRAY_AGG({arg} ORDER BY {val} DESC)"
            f" FILTER (WHERE {arg} IS NOT NULL AND {val} IS NOT NULL))[1]",
            read="postgres",
        )
    if isinstance(node, exp.DateDiff) and node.text("unit").lower() == "microsecond":
        end, start = node.this.sql("postgres"), node.expression.sql("postgres")
        return sqlglot.parse_one(
            f"CAST((EXTRACT(EPOCH FROM {end}) - EXTRACT(EPOCH FROM {start})) * 1000000 AS BIGINT)",
            read="postgres",
        )
    if isinstance(node, exp.Round) and isinstance(node.args.get("decimals"), exp.Literal):
        value = f"CAST({node.this.sql('postgres')} AS DOUBLE PRECISION)"
        scale = f"CAST({10 ** int(node.args['decimals'].this)} AS DOUBLE PRECISION)"
        return sqlglot.parse_one(
            f"SIGN({value}) * FLOOR(ABS({value}) * {scale} + CAST(0.5 AS DOUBLE PRECISION)) / {scale}",
            read="postgres",
        )
    return node


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
