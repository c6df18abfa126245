"""What an extraction did, and the per-table watermarks kept in the engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from propsync.engines import Engine

# progress(table, rows_read_so_far): called after every batch.
Progress = Callable[[str, int], None]

WATERMARKS = "_extract_watermarks"


@dataclass
class TableStats:
    """One table's extraction. `rows_read` is what crossed the wire (the changed rows
    in incremental mode); `rows_total` is the table's size in the engine afterwards."""

    table: str
    mode: str  # "full" | "incremental"
    rows_read: int = 0
    rows_deleted: int = 0
    rows_total: int = 0
    seconds: float = 0.0
    watermark: datetime | None = None
    previous_watermark: datetime | None = None
    reason: str = ""  # why this mode (e.g. "schema changed", "no watermark yet")


@dataclass
class ExtractStats:
    source: str  # the source without secrets, e.g. postgresql://host:5432/db
    tables: dict[str, TableStats] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(t.rows_read for t in self.tables.values())

    @property
    def mode(self) -> str:
        modes = {t.mode for t in self.tables.values()}
        return modes.pop() if len(modes) == 1 else "mixed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "mode": self.mode,
            "seconds": round(self.seconds, 3),
            "rows_read": self.rows_read,
            "tables": {
                name: {
                    k: (
                        v.isoformat()
                        if isinstance(v, datetime)
                        else round(v, 3)
                        if isinstance(v, float)
                        else v
                    )
                    for k, v in asdict(t).items()
                }
                for name, t in self.tables.items()
            },
        }


@dataclass(frozen=True)
class Watermark:
    source: str
    watermark: datetime | None
    fingerprint: str


def ensure_watermarks(engine: Engine) -> None:
    engine.execute(
        f"CREATE TABLE IF NOT EXISTS {WATERMARKS} ("
        " table_name VARCHAR, source VARCHAR, watermark TIMESTAMPTZ,"
        " schema_fingerprint VARCHAR, mode VARCHAR, rows_read BIGINT,"
        " extracted_at TIMESTAMPTZ)"
    )


def read_watermark(engine: Engine, table: str) -> Watermark | None:
    """The last extraction's watermark for a table, if it is still in the engine."""
    ensure_watermarks(engine)
    if not engine.table_exists(table):
        return None  # the data is gone (dropped by hand): a watermark would lie
    rows = engine.rows(
        f"SELECT source, watermark, schema_fingerprint FROM {WATERMARKS}"
        " WHERE table_name = ? ORDER BY extracted_at DESC LIMIT 1",
        [table],
    )
    if not rows:
        return None
    return Watermark(rows[0][0], rows[0][1], rows[0][2])


def write_watermark(engine: Engine, stats: TableStats, source: str, fingerprint: str) -> None:
    # One row per table: the history is not needed, and the table stays tiny.
    ensure_watermarks(engine)
    engine.execute(f"DELETE FROM {WATERMARKS} WHERE table_name = ?", [stats.table])
    engine.execute(
        f"INSERT INTO {WATERMARKS} VALUES (?, ?, ?, ?, ?, ?, now())",
        [stats.table, source, stats.watermark, fingerprint, stats.mode, stats.rows_read],
    )
