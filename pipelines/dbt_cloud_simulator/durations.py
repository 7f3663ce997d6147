"""Durations as the API writes them: `"HH:MM:SS"` strings and dbt Cloud's humanized texts."""

from __future__ import annotations

from datetime import timedelta


def hms(seconds: int) -> str:
    """Durations are "HH:MM:SS" strings in the API, not numbers."""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


_UNITS = (("day", 86_400), ("hour", 3600), ("minute", 60), ("second", 1))


def _count(value: int, unit: str) -> str:
    return f"{value} {unit}{'' if value == 1 else 's'}"


def humanize(seconds: int) -> str:
    """dbt Cloud style, the two largest units: "2 minutes, 5 seconds", "1 hour, 3 minutes"."""
    if seconds < 60:
        return _count(seconds, "second")
    parts: list[str] = []
    for unit, size in _UNITS:
        if seconds >= size or parts:
            value, seconds = divmod(seconds, size)
            if value:
                parts.append(_count(value, unit))
            if len(parts) == 2 or (parts and not value):
                break
    return ", ".join(parts)


def seconds_of(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds()))
