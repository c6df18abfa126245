"""`--pilot NAME` and `--ids FILE`: restrict a plan or a run to a set of RDS ids.

The ids go into a temporary table of the engine and the queue SQL filters on it, so a
restriction of any size costs one join, never a giant IN list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from propsync.errors import UsageError
from propsync.models.queues import Queue

if TYPE_CHECKING:
    from propsync.engines import Engine

FILTER_TABLE = "_propsync_sync_filter"


@dataclass(frozen=True)
class Restriction:
    """A set of RDS ids (as text) and where it came from, for messages and sync_runs."""

    source: str
    ids: frozenset[str]

    def where(self, queue: Queue) -> str:
        column = "q.rds_property_id" if queue == "create" else "q.snappt_property_id_c"
        return f"CAST({column} AS VARCHAR) IN (SELECT id FROM {FILTER_TABLE})"

    def install(self, engine: Engine) -> None:
        """Load the ids into the engine's session-local filter table."""
        import pyarrow as pa  # heavy driver: imported on first use

        engine.create_temp_table(FILTER_TABLE, "SELECT CAST(NULL AS VARCHAR) AS id LIMIT 0")
        if self.ids:
            engine.load_arrow(FILTER_TABLE, pa.table({"id": sorted(self.ids)}), mode="append")


def read_ids_file(path: Path) -> frozenset[str]:
    """One RDS id per line, any non-empty text (R9: keys are text), trimmed as the keys
    are at extraction; blank lines and lines starting with '#' are ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--ids {path}: {exc.strerror or exc}") from None
    ids: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        ids.add(line)
    if not ids:
        raise UsageError(f"--ids {path}: no ids in the file")
    return frozenset(ids)


def from_ids(ids: Iterable[str | int], source: str = "ids") -> Restriction:
    return Restriction(source, frozenset(str(i).strip() for i in ids))


def combine(a: Restriction | None, b: Restriction | None) -> Restriction | None:
    """Both --pilot and --ids: the records in both."""
    if a is None:
        return b
    if b is None:
        return a
    return Restriction(f"{a.source} and {b.source}", a.ids & b.ids)
