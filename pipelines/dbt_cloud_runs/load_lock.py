"""One load at a time, per pipeline state dir and per destination file.

Two loads sharing a state dir or a DuckDB file trip over each other: one fails at its write step and
leaves a half-finished load package behind (see `recovery.py`). So a load takes an exclusive lock
before it reads anything. The locks are `flock`s (the `filelock` package): the kernel releases them when
the holding process dies, so a lock left by `kill -9` never blocks the next load. Beside each lock a
small note says who holds it since when, for the "another load is running" message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import DestinationError, LoadBusyError


def _holder_note(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".holder")


def _describe_holder(lock_path: Path) -> str:
    try:
        note = json.loads(_holder_note(lock_path).read_text())
        return f" since {note['started_at']} (pid {note['pid']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


@contextmanager
def _hold(lock_path: Path, wait_seconds: float, what: str) -> Iterator[None]:
    lock = FileLock(str(lock_path), timeout=wait_seconds, is_singleton=False)
    try:
        lock.acquire()
    except Timeout:
        waited = f" (waited {wait_seconds:g} s)" if wait_seconds > 0 else ""
        raise LoadBusyError(
            f"another load is running{_describe_holder(lock_path)} on {what}{waited}: this load did "
            "nothing. Let it finish; to queue instead of skipping, set [dbt_cloud] lock_wait_seconds "
            "(or --lock-wait SECONDS)."
        ) from None
    except OSError as exc:
        raise DestinationError(
            f"cannot create the load lock {lock_path} ({exc.strerror}): the folder must exist and be "
            f"writable for {what}"
        ) from None
    try:
        note = {"pid": os.getpid(), "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
        _holder_note(lock_path).write_text(json.dumps(note))
        yield
    finally:
        _holder_note(lock_path).unlink(missing_ok=True)
        lock.release()


@contextmanager
def load_lock(lock_paths: list[tuple[Path, str]], wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold every `(lock file, what it guards)` for the duration of a load, in a fixed order.

    Raises `LoadBusyError` when another load holds one of them for longer than `wait_seconds`.
    """
    with ExitStack() as stack:
        for path, what in sorted(set(lock_paths)):
            stack.enter_context(_hold(path, wait_seconds, what))
        yield
