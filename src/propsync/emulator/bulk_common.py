"""What the Bulk API 2.0 job book (`bulk.Jobs`) and its worker (`bulk_worker`) share:
the CSV dialects a job may name, a job's private part, and the `JobBook` protocol the
worker processes jobs through (so the worker never imports the book)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from propsync.emulator.org import Org

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


@dataclass
class JobPrivate:
    """What a job carries besides its public info: knobs and caller, fixed at close."""

    user_id: str
    knobs: dict[str, Any]
    polls_left: int = 0
    fail: bool = False
    progress: dict[str, int] | None = None  # rows done and result file sizes (ingest)


class JobBook(Protocol):
    """The job bookkeeping the worker reads and updates (implemented by `bulk.Jobs`)."""

    org: Org

    def load(self, job_id: str, kind: str) -> tuple[dict[str, Any], JobPrivate]: ...

    def dir(self, job_id: str) -> Path: ...

    def _load_raw(self, job_id: str) -> dict[str, Any] | None: ...

    def _finish(self, job_id: str, state: str, error: str | None = None, **counts: int) -> None: ...

    def _progress(self, job_id: str, **counts: int) -> bool: ...

    def _write_unprocessed(self, info: dict[str, Any], skip_rows: int) -> None: ...
