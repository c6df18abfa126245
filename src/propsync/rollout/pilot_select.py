"""`propsync pilot select`: the plan's Step 4.1, 50 properties to create and 50 records
to update in strata, saved as a named pilot set (`pilot_sets`) and exported as CSV.

The strata are SQL a data engineer can read and run by hand:
`rollout/sql/pilot_properties_create.sql` and `pilot_properties_update.sql`, over the
queue views. Seeded (md5 of the seed and the key, not RANDOM()): the same seed over the
same queues picks the same pilot.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from propsync.errors import UsageError
from propsync.models.queues import Queue
from propsync.state import PilotMember
from propsync.sync.mapping import predicted_error_sql, rules_from_describe
from propsync.sync.refresh import refresh
from propsync.workspace import Workspace

DEFAULT_NAME = "pilot"
DEFAULT_SEED = 1
SYNCABLE_MARK = "/* syncable */ TRUE"
# The plan's strata: priority -> (reason, target), per queue (the SQL files say the same).
STRATA: dict[Queue, dict[int, tuple[str, int]]] = {
    "create": {
        1: ("Has Features", 10),
        2: ("No Features", 10),
        3: ("Recently Created", 10),
        4: ("Old Properties", 10),
        5: ("Diverse Companies", 10),
    },
    "update": {
        1: ("Single Property", 10),
        2: ("Multi-Property (2)", 15),
        3: ("Multi-Property (3+)", 5),
        4: ("Feature Mismatch", 10),
        5: ("No Features", 10),
    },
}
# The plan's export columns, per queue, in its order; `filled` follows them.
EXPORT_COLUMNS: dict[Queue, tuple[str, ...]] = {
    "create": (
        "rds_property_id",
        "property_name",
        "short_id",
        "company_id",
        "city",
        "state",
        "idv_enabled",
        "bank_linking_enabled",
        "pilot_reason",
        "priority",
    ),
    "update": (
        "snappt_property_id_c",
        "sfdc_id",
        "property_name",
        "active_property_count",
        "is_multi_property",
        "idv_enabled",
        "bank_linking_enabled",
        "has_any_features_enabled",
        "pilot_reason",
        "priority",
    ),
}
SQL_FILE = {"create": "pilot_properties_create", "update": "pilot_properties_update"}


@dataclass(frozen=True)
class Stratum:
    """One stratum's outcome: how many rows met its rule, how many were filled in."""

    queue: Queue
    priority: int
    reason: str
    target: int
    selected: int
    filled: int  # rows taken from the rest of the queue because too few met the rule

    @property
    def shortfall(self) -> int:
        """Rows that met neither the rule nor could be filled (the queue ran out)."""
        return self.target - self.selected


@dataclass(frozen=True)
class PilotSelection:
    """A pilot set as selected: its rows per queue (export columns + filled) and strata."""

    name: str
    seed: int
    selected_at: dt.datetime
    rows: dict[Queue, list[dict[str, Any]]]
    strata: list[Stratum]
    exports: dict[Queue, Path] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.rows.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seed": self.seed,
            "selected_at": self.selected_at.isoformat(),
            "size": self.size,
            "strata": [asdict(s) | {"shortfall": s.shortfall} for s in self.strata],
            "rows": {q: [_plain(r) for r in rows] for q, rows in self.rows.items()},
            "exports": {q: str(p) for q, p in self.exports.items()},
        }


def strata_sql(queue: Queue) -> str:
    """The stratum query of a queue, with the field contract's checks filled in."""
    text = resources.files("propsync.rollout").joinpath("sql", f"{SQL_FILE[queue]}.sql")
    sql = text.read_text(encoding="utf-8")
    if sql.count(SYNCABLE_MARK) != 1:
        raise ValueError(f"rollout/sql/{SQL_FILE[queue]}.sql: expected {SYNCABLE_MARK!r} once")
    syncable = f"({predicted_error_sql(queue, rules_from_describe(None))}) = ''"
    return sql.replace(SYNCABLE_MARK, syncable)


def select_rows(ws: Workspace, queue: Queue, seed: int, now: dt.datetime) -> list[dict[str, Any]]:
    """A queue's pilot rows over the views as they are in the engine now."""
    params: list[Any] = [str(seed), now] if queue == "create" else [str(seed)]
    return ws.engine().dicts(strata_sql(queue), params)


def select(
    ws: Workspace,
    name: str = DEFAULT_NAME,
    *,
    seed: int = DEFAULT_SEED,
    now: dt.datetime | None = None,
    refresh_inputs: bool = True,
) -> PilotSelection:
    """Select the pilot over the queue views (refreshed first: RDS and Salesforce
    extracted, models built; `refresh_inputs=False` uses the engine as it is), save it
    under `name` (a new selection replaces an older one) and write the two CSV exports
    under <workspace>/reports/."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise UsageError(f"pilot name {name!r}: use letters, digits, '-' and '_'")
    when = now or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        raise UsageError("now needs a time zone")
    if refresh_inputs:
        refresh(ws, ws.client())
    engine = ws.engine()
    for view in ("properties_to_create", "properties_to_update"):
        if engine.relation_type(view) is None:
            raise UsageError(f"the view {view} is not built yet: run `propsync extract` first")
    queues: tuple[Queue, ...] = ("create", "update")
    rows: dict[Queue, list[dict[str, Any]]] = {q: select_rows(ws, q, seed, when) for q in queues}
    if not rows["create"] and not rows["update"]:
        raise UsageError("both queues are empty: there is nothing to pilot")
    saved: list[dict[str, Any]] = []
    for queue, chosen in rows.items():
        for r in chosen:
            saved.append(
                {
                    **_plain(r),
                    "queue": queue,
                    "rds_property_id": str(r["rds_property_id"]),
                    "snappt_property_id_c": str(r["rds_property_id"])
                    if queue == "create"
                    else r["snappt_property_id_c"],
                    "seed": seed,
                }
            )
    ws.state().pilots.save(name, saved)
    exports = {q: write_csv(ws.path("reports"), name, q, rows[q]) for q in rows}
    return PilotSelection(name, seed, when, rows, _strata(rows), exports)


def _strata(rows: dict[Queue, list[dict[str, Any]]]) -> list[Stratum]:
    out = []
    for queue, strata in STRATA.items():
        for priority, (reason, target) in strata.items():
            mine = [r for r in rows[queue] if r["priority"] == priority]
            filled = sum(1 for r in mine if r["filled"])
            out.append(Stratum(queue, priority, reason, target, len(mine), filled))
    return out


def rows_of(members: list[PilotMember]) -> dict[Queue, list[dict[str, Any]]]:
    """A saved pilot set back as export rows per queue (what `pilot show` prints)."""
    out: dict[Queue, list[dict[str, Any]]] = {"create": [], "update": []}
    for m in members:
        details = dict(m.details or {})
        row = {c: details.get(c) for c in EXPORT_COLUMNS[m.queue]}  # type: ignore[index]
        row |= {
            "rds_property_id": m.rds_property_id,
            "pilot_reason": m.pilot_reason,
            "priority": m.priority,
            "filled": bool(details.get("filled")),
        }
        if m.queue == "update":
            row["snappt_property_id_c"] = m.snappt_property_id_c
            row["salesforce_id"] = details.get("salesforce_id")
        out[m.queue].append(row)  # type: ignore[index]
    for queue, chosen in out.items():
        chosen.sort(
            key=lambda r: (r["priority"] or 0, str(r["property_name"] or ""), r["rds_property_id"])
        )
        out[queue] = chosen
    return out


def csv_text(queue: Queue, rows: list[dict[str, Any]]) -> str:
    """The plan's export of one pilot set (its columns in its order, then `filled`)."""
    buffer = io.StringIO()
    columns = [*EXPORT_COLUMNS[queue], "filled"]
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({c: _csv_cell(r.get(c)) for c in columns})
    return buffer.getvalue()


def write_csv(folder: Path, name: str, queue: Queue, rows: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"pilot-{name}-{queue}.csv"
    path.write_text(csv_text(queue, rows), encoding="utf-8")
    return path


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in row.items()}


@dataclass(frozen=True)
class PilotSet:
    """A saved pilot set (its latest selection) as `pilot show` prints it."""

    name: str
    selection_id: str
    selected_at: dt.datetime
    rows: dict[Queue, list[dict[str, Any]]]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "selection_id": self.selection_id,
            "selected_at": self.selected_at.isoformat(),
            "size": sum(len(r) for r in self.rows.values()),
            "rows": {q: [_plain(r) for r in rows] for q, rows in self.rows.items()},
        }


def saved_set(ws: Workspace, name: str) -> PilotSet:
    """The latest selection saved under `name`; a usage error naming the saved ones
    when there is none."""
    members = ws.state().pilots.members(name)
    if not members:
        known = ws.state().pilots.names()
        hint = f" (saved: {', '.join(known)})" if known else " (run `propsync pilot select`)"
        raise UsageError(f"no pilot set {name!r}{hint}")
    first = members[0]
    return PilotSet(name, first.selection_id, first.selected_at, rows_of(members))
