"""SQLite state of the emulated org: records (one table per object), tokens, API
usage, pending workflow events and Bulk API jobs.

WAL mode lets requests read while a bulk job writes; all writes go through
`Store.write()`, which serialises writers in-process so SQLite never reports
"database is locked" (and makes dml's uniqueness check race-free). The unique
external id is enforced among records that are not in the recycle bin (a deleted
record's value can be reused, as in Salesforce, where undeleting such a record
then fails with DUPLICATE_VALUE).

Text compares case-insensitively for every letter, as Salesforce's does (SQLite's
NOCASE folds ASCII only): a case-insensitive field is compared and sorted through
`sf_fold(column)` (Python's `str.casefold`), registered on every connection, against
folded values; its external id index is an index on that expression.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from propsync.emulator.objects import FieldDef, ObjectDef

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (prefix TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
  token TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS usage (
  day TEXT NOT NULL, endpoint TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (day, endpoint));
CREATE TABLE IF NOT EXISTS workflow_events (
  record_id TEXT PRIMARY KEY, object TEXT NOT NULL, due_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS workflow_events_due ON workflow_events (due_at);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, info TEXT NOT NULL, created_at REAL NOT NULL);
"""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def fold(value: Any) -> Any:
    """The case-folded form text is compared in (`sf_fold` in SQL); other values as given."""
    return value.casefold() if isinstance(value, str) else value


def column(f: FieldDef) -> str:
    """The SQL expression `f` is compared and sorted by: `sf_fold("Name")` for a
    case-insensitive text field (compare it with `fold(value)`), the column otherwise."""
    return f"sf_fold({quote(f.name)})" if f.nocase else quote(f.name)


def compared(f: FieldDef, value: Any) -> Any:
    """`value` in the form `column(f)` compares against."""
    return fold(value) if f.nocase else value


class Store:
    """One SQLite file; a connection per thread; one writer at a time."""

    def __init__(self, path: Path, objects: dict[str, ObjectDef]) -> None:
        self.path = path
        self.objects = objects
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        con = self.connection()
        con.executescript(_SCHEMA)
        for obj in objects.values():
            self._create_table(con, obj)

    def connection(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            con.create_function("sf_fold", 1, fold, deterministic=True)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("PRAGMA cache_size=-65536")
            con.execute("PRAGMA busy_timeout=30000")
            self._local.con = con
            with self._all_lock:
                self._all.append(con)
        return con

    def close(self) -> None:
        """Close every thread's connection (at server stop; the store is unusable after)."""
        with self._write_lock, self._all_lock:
            for con in self._all:
                con.close()
            self._all.clear()
        self._local = threading.local()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any exception."""
        with self._write_lock:
            con = self.connection()
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _create_table(self, con: sqlite3.Connection, obj: ObjectDef) -> None:
        cols = []
        for f in obj.fields.values():
            col = f"{quote(f.name)} {f.sql_type}"
            if f.name == "Id":
                col += " PRIMARY KEY"
            elif f.nocase:
                col += " COLLATE NOCASE"
            cols.append(col)
        con.execute(f"CREATE TABLE IF NOT EXISTS {quote(obj.table)} ({', '.join(cols)})")
        for f in obj.fields.values():
            # A plain index serves query and queryAll alike; uniqueness among records
            # outside the recycle bin is checked by dml under the single writer.
            if f.external_id and f.name != "Id":
                suffix = "_fold" if f.nocase else ""
                con.execute(
                    f"CREATE INDEX IF NOT EXISTS "
                    f"{quote(obj.table + '_' + f.name.lower() + suffix)} "
                    f"ON {quote(obj.table)} ({column(f)})"
                )

    def reserve_ids(self, con: sqlite3.Connection, prefix: str, n: int, start: int = 1) -> int:
        """Reserve `n` id numbers for `prefix`; returns the first. Call inside write()."""
        row = con.execute(
            "INSERT INTO counters (prefix, value) VALUES (?, ?) "
            "ON CONFLICT (prefix) DO UPDATE SET value = value + ? RETURNING value",
            (prefix, start - 1 + n, n),
        ).fetchone()
        return int(row[0]) - n + 1

    def meta(self, key: str) -> str | None:
        row = self.connection().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as con:
            con.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # API usage -----------------------------------------------------------------------

    @staticmethod
    def today() -> str:
        return time.strftime("%Y-%m-%d", time.gmtime())

    def count_call(self, endpoint: str) -> None:
        with self.write() as con:
            con.execute(
                "INSERT INTO usage (day, endpoint, n) VALUES (?, ?, 1) "
                "ON CONFLICT (day, endpoint) DO UPDATE SET n = n + 1",
                (self.today(), endpoint),
            )

    def usage_today(self) -> dict[str, int]:
        rows = self.connection().execute(
            "SELECT endpoint, n FROM usage WHERE day = ? ORDER BY endpoint", (self.today(),)
        )
        return {str(e): int(n) for e, n in rows}

    def reset_usage(self) -> None:
        with self.write() as con:
            con.execute("DELETE FROM usage")
