"""Numbered migrations per backend: `<dialect>/NNN_name.sql`, applied in order once.

Each applied migration is recorded in `state_migrations` with a checksum; a file
edited after it was applied is an error, so a schema can never drift silently.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from propsync.errors import StateError

_FILE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

TRACKING_DDL = (
    "CREATE TABLE IF NOT EXISTS state_migrations ("
    " version INTEGER NOT NULL, name VARCHAR NOT NULL, checksum VARCHAR NOT NULL,"
    " applied_at TIMESTAMPTZ NOT NULL)"
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AppliedMigration:
    """A row of `state_migrations`: a migration applied to this database."""

    version: int
    name: str
    checksum: str
    applied_at: datetime


def available(dialect: str) -> list[Migration]:
    """The migrations shipped for a backend, by version."""
    folder = resources.files(__name__) / dialect
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise StateError(f"state migrations for {dialect}: duplicate version numbers")
    return found


def pending(dialect: str, applied: dict[int, str]) -> list[Migration]:
    """Migrations not yet applied; StateError if an applied one was edited since."""
    todo: list[Migration] = []
    for migration in available(dialect):
        checksum = applied.get(migration.version)
        if checksum is None:
            todo.append(migration)
        elif checksum != migration.checksum:
            raise StateError(
                f"state migration {migration.name} changed after it was applied "
                f"(checksum {checksum} in the database, {migration.checksum} now); "
                "add a new numbered migration instead of editing an applied one"
            )
    return todo
