"""Run locks for the DuckDB state store: an OS file lock per name.

`fcntl.flock` is released by the kernel when the holder's process dies, however it
dies (kill -9 included), so a killed run can never leave its lock held. The holder
(run id, pid, host, since) is written into the file so a refused caller can be
told who holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from propsync.errors import LockHeld, StateError
from propsync.state.records import now

_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise StateError(f"lock name {name!r}: use letters, digits, '.', '_' or '-'")
    return name


def describe_holder(name: str, holder: dict[str, Any] | None) -> str:
    if not holder:
        return f"lock {name!r} is held by another process (holder unknown)"
    return (
        f"lock {name!r} is held by run {holder.get('run_id')} "
        f"(pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')})"
    )


class FileLocks:
    """Named locks as files under one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, name: str) -> Path:
        return self.folder / f"{check_name(name)}.lock"

    @contextmanager
    def hold(self, name: str, run_id: str) -> Iterator[dict[str, Any]]:
        """Hold the named lock for the duration of the block; LockHeld names the holder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path(name), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockHeld(describe_holder(name, _read(fd))) from None
            holder = {
                "name": name,
                "run_id": run_id,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": now().isoformat(timespec="seconds"),
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder).encode(), 0)
            try:
                yield holder
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def holders(self) -> dict[str, dict[str, Any]]:
        """Locks held right now (by any process): run id -> holder."""
        held: dict[str, dict[str, Any]] = {}
        if not self.folder.exists():
            return held
        for path in sorted(self.folder.glob("*.lock")):
            fd = os.open(path, os.O_RDWR)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = _read(fd)
                    if holder and holder.get("run_id"):
                        held[str(holder["run_id"])] = holder
                else:
                    fcntl.flock(fd, fcntl.LOCK_UN)  # free: its file is a stale leftover
            finally:
                os.close(fd)
        return held


def _read(fd: int) -> dict[str, Any] | None:
    try:
        raw = os.pread(fd, 4096, 0)
        value = json.loads(raw.decode()) if raw else None
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
