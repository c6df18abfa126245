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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from propsync.errors import LockHeld, StateError
from propsync.state.records import now

_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise StateError(f"lock name {name!r}: use letters, digits, '.', '_' or '-'")
    return name


@dataclass(frozen=True)
class LockHolder:
    """Who holds a run lock: the run, its process and host, and since when (ISO text)."""

    run_id: str
    pid: int | None
    host: str
    since: str
    name: str | None = None  # the lock's name, where the backend knows it

    @classmethod
    def new(cls, name: str, run_id: str) -> LockHolder:
        """This process, holding `name` for `run_id` from now."""
        since = now().isoformat(timespec="seconds")
        return cls(run_id=run_id, pid=os.getpid(), host=socket.gethostname(), since=since,
                   name=name)  # fmt: skip

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> LockHolder | None:
        if not doc.get("run_id"):
            return None
        pid = str(doc.get("pid"))
        return cls(
            run_id=str(doc["run_id"]),
            pid=int(pid) if pid.isdigit() else None,
            host=str(doc.get("host") or ""),
            since=str(doc.get("since") or ""),
            name=doc.get("name"),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def describe_holder(name: str, holder: LockHolder | None) -> str:
    if holder is None:
        return f"lock {name!r} is held by another process (holder unknown)"
    return (
        f"lock {name!r} is held by run {holder.run_id} "
        f"(pid {holder.pid} on {holder.host} since {holder.since})"
    )


class FileLocks:
    """Named locks as files under one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, name: str) -> Path:
        return self.folder / f"{check_name(name)}.lock"

    @contextmanager
    def hold(self, name: str, run_id: str) -> Iterator[LockHolder]:
        """Hold the named lock for the duration of the block; LockHeld names the holder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path(name), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockHeld(describe_holder(name, _read(fd))) from None
            holder = LockHolder.new(name, run_id)
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder.to_json()).encode(), 0)
            try:
                yield holder
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def holders(self) -> dict[str, LockHolder]:
        """Locks held right now (by any process): run id -> holder."""
        held: dict[str, LockHolder] = {}
        if not self.folder.exists():
            return held
        for path in sorted(self.folder.glob("*.lock")):
            fd = os.open(path, os.O_RDWR)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = _read(fd)
                    if holder is not None:
                        held[holder.run_id] = holder
                else:
                    fcntl.flock(fd, fcntl.LOCK_UN)  # free: its file is a stale leftover
            finally:
                os.close(fd)
        return held


def _read(fd: int) -> LockHolder | None:
    try:
        raw = os.pread(fd, 4096, 0)
        value = json.loads(raw.decode()) if raw else None
    except (OSError, ValueError):
        return None
    return LockHolder.from_json(value) if isinstance(value, dict) else None
