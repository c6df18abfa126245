"""Pilot sets (`pilot_sets`: named selections of properties, re-selected by appending
a new selection) and the sign-offs on them (`signoffs`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from propsync.errors import StateError
from propsync.state.backend import Backend
from propsync.state.records import from_row, new_run_id, normalise_decision, now, to_json

PILOT_COLUMNS = (
    "pilot_name",
    "selection_id",
    "queue",
    "rds_property_id",
    "snappt_property_id_c",
    "pilot_reason",
    "priority",
    "details",
    "selected_at",
)
_CORE = {"queue", "rds_property_id", "snappt_property_id_c", "pilot_reason", "priority"}
SIGNOFF_COLUMNS = (
    "pilot_name",
    "who",
    "role",
    "decision",
    "comment",
    "signed_at",
    "validation_id",
)


@dataclass(frozen=True)
class PilotMember:
    """One property of a pilot selection (a row of `pilot_sets`)."""

    pilot_name: str
    selection_id: str
    queue: str  # create | update
    rds_property_id: str | None
    snappt_property_id_c: str | None
    pilot_reason: str | None
    priority: int | None
    details: dict[str, Any] | None
    selected_at: datetime

    @property
    def key(self) -> str | None:
        """The RDS id the member names, as text (`rds_property_id`, else the record's
        `snappt_property_id_c`)."""
        if self.rds_property_id is not None:
            return str(self.rds_property_id)
        return self.snappt_property_id_c

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Signoff:
    """One person's decision on a pilot (a row of `signoffs`)."""

    pilot_name: str
    who: str
    role: str | None
    decision: str  # APPROVED | REJECTED
    comment: str | None
    signed_at: datetime
    validation_id: str | None = None  # the pilot validation signed (migration 005)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Pilots:
    """Save and read pilot selections."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend

    def save(self, name: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Save a pilot selection under a name; return its size. Each row needs `queue`
        ('create' | 'update') and `rds_property_id` or `snappt_property_id_c`;
        `pilot_reason` and `priority` are kept as columns, anything else in `details`.
        Saving again under the same name makes a new selection that replaces the old
        one for `members` (the old one stays in the table)."""
        if not name:
            raise StateError("pilot set name is empty")
        selected = now()
        selection = new_run_id(selected)
        out: list[tuple[Any, ...]] = []
        for index, row in enumerate(rows):
            where = f"pilot set {name!r} row #{index}"
            queue = row.get("queue")
            if queue not in ("create", "update"):
                raise StateError(f"{where}: queue {queue!r} must be 'create' or 'update'")
            rds_id = row.get("rds_property_id")
            sf_key = row.get("snappt_property_id_c")
            if rds_id is None and sf_key is None:
                raise StateError(f"{where}: needs rds_property_id or snappt_property_id_c")
            if rds_id is not None and (type(rds_id) not in (int, str) or not str(rds_id).strip()):
                raise StateError(
                    f"{where}: rds_property_id must be non-empty text or an integer, got {rds_id!r}"
                )
            if rds_id is not None:
                rds_id = str(rds_id).strip()
            priority = row.get("priority")
            if priority is not None and (type(priority) is not int):
                raise StateError(f"{where}: priority must be an integer, got {priority!r}")
            details = {k: v for k, v in row.items() if k not in _CORE}
            out.append(
                (
                    name,
                    selection,
                    queue,
                    rds_id,
                    None if sf_key is None else str(sf_key),
                    row.get("pilot_reason"),
                    priority,
                    to_json(details or None, where=f"{where}: details"),
                    selected,
                )
            )
        if not out:
            raise StateError(f"pilot set {name!r} is empty")
        return self._db.insert("pilot_sets", PILOT_COLUMNS, out)

    def members(self, name: str) -> list[PilotMember]:
        """The latest selection saved under a name ([] when there is none)."""
        rows = self._db.dicts(
            "SELECT * FROM pilot_sets WHERE pilot_name = ? AND selection_id = "
            "(SELECT max(selection_id) FROM pilot_sets WHERE pilot_name = ?)"
            " ORDER BY queue, priority, rds_property_id, snappt_property_id_c",
            [name, name],
        )
        return [from_row(PilotMember, r, ("details",)) for r in rows]

    def names(self) -> list[str]:
        rows = self._db.dicts("SELECT DISTINCT pilot_name FROM pilot_sets ORDER BY pilot_name")
        return [str(r["pilot_name"]) for r in rows]


class Signoffs:
    """Record and read the sign-offs on pilots."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend

    def add(
        self,
        name: str,
        *,
        who: str,
        role: str | None = None,
        decision: str = "approve",
        comment: str | None = None,
        validation_id: str | None = None,
    ) -> None:
        """Record one person's decision (approve | reject) on a pilot, naming the
        validation it is about when there is one."""
        if not who:
            raise StateError(f"sign-off on pilot {name!r}: who is empty")
        self._db.insert(
            "signoffs",
            SIGNOFF_COLUMNS,
            [(name, who, role, normalise_decision(decision), comment, now(), validation_id)],
        )

    def for_pilot(self, name: str) -> list[Signoff]:
        """Every sign-off on a pilot, oldest first."""
        rows = self._db.dicts(
            "SELECT * FROM signoffs WHERE pilot_name = ? ORDER BY signed_at", [name]
        )
        return [from_row(Signoff, r) for r in rows]
