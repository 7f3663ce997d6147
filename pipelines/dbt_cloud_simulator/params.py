"""The API's answer shape and request parameters: the `{status, data, extra}` envelope, errors,
paging, list parameters and the `state` filter, as every route of the simulator reads them.
"""

from __future__ import annotations

from typing import Any, overload

MAX_LIMIT = 100
RUN_ORDERS = ("id", "-id", "created_at", "-created_at", "finished_at", "-finished_at")
OBJECT_ORDERS = ("id", "-id", "name", "-name", "created_at", "-created_at")
LIMIT_ERROR = "The limit parameter must be less than or equal to 100."
"""Multi-tenant hosts refuse `limit` > 100 (dbt documents an API error); single-tenant ones clamp."""
STATES = {"1": (1,), "active": (1,), "2": (2,), "deleted": (2,), "all": (1, 2)}
"""`state` of the jobs (v2) and projects/environments (v3) listings: active by default."""
REASONS = {400: "Bad request.", 401: "Invalid token.", 404: "Not found.", 405: "Method not allowed."}


class ApiError(Exception):
    """An error answer in the API's envelope."""

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message or REASONS.get(code, "Error.")


def envelope(
    code: int, data: Any, user_message: str = "Success!", extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "status": {
            "code": code,
            "is_success": code < 400,
            "user_message": user_message,
            "developer_message": "",
        },
        "data": data,
        "extra": extra if extra is not None else {},
    }


def one_param(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


@overload
def int_param(query: dict[str, list[str]], name: str, default: int) -> int: ...
@overload
def int_param(query: dict[str, list[str]], name: str, default: None = None) -> int | None: ...
def int_param(query: dict[str, list[str]], name: str, default: int | None = None) -> int | None:
    value = one_param(query, name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"Invalid value for {name}: {value!r}.") from None


def parse_list(value: str | None) -> list[str]:
    """`["trigger","job"]`, `[10,20]`, `trigger,job` and `10,20` all mean the same list."""
    if not value:
        return []
    return [
        item.strip().strip("\"'")
        for item in value.strip().strip("[]").split(",")
        if item.strip().strip("\"'")
    ]


def paging(query: dict[str, list[str]], clamp: bool = False) -> tuple[int, int]:
    """limit (default 100). Above 100: a 400 as on multi-tenant hosts, or clamped (`clamp`, single-tenant)."""
    limit = int_param(query, "limit", MAX_LIMIT)
    offset = int_param(query, "offset", 0)
    if limit < 0 or offset < 0:
        raise ApiError(400, "limit and offset must not be negative.")
    if limit > MAX_LIMIT and not clamp:
        raise ApiError(400, LIMIT_ERROR)
    return min(limit or MAX_LIMIT, MAX_LIMIT), offset


def states(query: dict[str, list[str]]) -> tuple[int, ...]:
    value = (one_param(query, "state") or "active").strip().lower()
    if value not in STATES:
        raise ApiError(400, f"Invalid value for state: {value!r} (use active, deleted, all, 1 or 2).")
    return STATES[value]


def list_extra(filters: dict[str, Any], order_by: str, count: int, total: int) -> dict[str, Any]:
    return {"filters": filters, "order_by": order_by, "pagination": {"count": count, "total_count": total}}
