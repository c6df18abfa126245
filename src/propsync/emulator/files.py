"""Files under the emulator's data folder are private: every file is created 0600 and
every folder 0700, whatever the process umask. The folder holds the org's client
secret, password, tokens and TLS key (org.sqlite and its WAL, connection.json,
tls/) and the records themselves (jobs/).

SQLite creates `org.sqlite-wal` and `-shm` with the mode of the database file, so
the database file is made here (0600) before SQLite first opens it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """`path` as a folder with mode 0700 (made, with its missing parents, if need be)."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def touch_private(path: Path) -> Path:
    """`path` as an existing file with mode 0600 (an empty one if it did not exist)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def open_private(path: Path, mode: str = "wb", **kw: Any) -> IO[Any]:
    """`open(path, mode)` for writing, the file created 0600 ("w", "wb", "a", "ab";
    "r+b" opens an existing file and leaves its mode alone)."""
    if mode.startswith("r"):
        return open(path, mode, **kw)
    flags = os.O_WRONLY | os.O_CREAT
    flags |= os.O_APPEND if mode.startswith("a") else os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, mode, **kw)
    except BaseException:
        os.close(fd)
        raise


def write_private(path: Path, data: bytes | str) -> None:
    """Write `data` to `path` (replacing it), the file 0600."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open_private(path, "wb") as fh:
        fh.write(data)


# What the emulator keeps in its data folder; `lock_down` touches these and nothing
# else, so a data folder that also holds other files (`--data .`) keeps them as they are.
OWN_FILES = ("org.sqlite", "org.sqlite-wal", "org.sqlite-shm", "org.sqlite-journal",
             "connection.json")  # fmt: skip
OWN_DIRS = ("tls", "jobs", "jwt", "jwt-client")


def lock_down(root: Path) -> None:
    """Make the emulator's own files under `root` private (a folder left by an older
    emulator, or copied with cp): files 0600, folders 0700, `root` itself 0700.
    Symbolic links and files that are not the emulator's are left alone."""
    if not root.is_dir():
        return
    os.chmod(root, DIR_MODE)
    for name in OWN_FILES:
        _chmod(root / name, FILE_MODE)
    for name in OWN_DIRS:
        top = root / name
        if not top.is_dir() or top.is_symlink():
            continue
        _chmod(top, DIR_MODE)
        for base, dirs, files in os.walk(top):
            for d in dirs:
                _chmod(Path(base, d), DIR_MODE)
            for f in files:
                _chmod(Path(base, f), FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    if path.is_symlink():
        return
    with contextlib.suppress(FileNotFoundError):
        os.chmod(path, mode)
