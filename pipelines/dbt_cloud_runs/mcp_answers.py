"""The shape of every MCP tool answer: a small JSON object an agent can read without overflowing.

Tabular answers are `{"rows": [{column: value}], "row_count": N, "truncated": bool}`; values are made
JSON-native here (times as ISO 8601 strings to the second, floats to 3 decimals, decimals as floats,
intervals as seconds), so the structured content and its JSON text are the same thing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

JsonDict = dict[str, Any]

FLOAT_DECIMALS = 3


def json_value(value: Any) -> Any:
    """One value as compact JSON: ISO times, rounded floats, nested lists/dicts converted too."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return round(value, FLOAT_DECIMALS) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return json_value(float(value))
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return json_value(value.total_seconds())
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_value(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    return str(value)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], limit: int, **extra: Any) -> JsonDict:
    """A tabular answer from up to `limit + 1` rows: the extra row only tells that there are more."""
    records = [dict(zip(columns, (json_value(v) for v in row), strict=True)) for row in rows]
    truncated = len(records) > limit
    records = records[:limit]
    answer: JsonDict = {"rows": records, "row_count": len(records), "truncated": truncated}
    if truncated:
        answer["note"] = f"only the first {limit} rows are shown: narrow the question or raise limit"
    answer.update({key: json_value(value) for key, value in extra.items()})
    return answer


def as_text(answer: Mapping[str, Any]) -> str:
    """The answer as compact JSON text, for clients that only read a tool's text content."""
    return json.dumps(answer, separators=(",", ":"), ensure_ascii=False)
