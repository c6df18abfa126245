"""The pilot's results (migration 005): each `pilot run`'s pre-flight checklist
(`pilot_preflights`), the baseline it captured (`pilot_baselines`: the update set's
Salesforce values before Sync B) and each `pilot validate` (`pilot_validations`).
Append-only: a second run or validation is new rows; readers take the latest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from propsync.errors import StateError
from propsync.state.backend import Backend
from propsync.state.records import from_row, new_run_id, now, to_json

PREFLIGHT_COLUMNS = (
    "preflight_id",
    "pilot_name",
    "selection_id",
    "checked_at",
    "passed",
    "forced",
    "items",
)
BASELINE_COLUMNS = (
    "preflight_id",
    "pilot_name",
    "captured_at",
    "salesforce_id",
    "snappt_property_id_c",
    "rds_property_id",
    "field_values",
)
VALIDATION_COLUMNS = (
    "validation_id",
    "pilot_name",
    "selection_id",
    "preflight_id",
    "validated_at",
    "passed",
    "failed_items",
    "items",
    "run_ids",
    "report_markdown",
    "report_html",
)


@dataclass(frozen=True)
class Preflight:
    """One `pilot run`'s pre-flight checklist (`items`: the report items as JSON)."""

    preflight_id: str
    pilot_name: str
    selection_id: str
    checked_at: datetime
    passed: bool
    forced: bool
    items: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BaselineRecord:
    """One update-set record as Salesforce held it before the pilot's Sync B."""

    preflight_id: str
    pilot_name: str
    captured_at: datetime
    salesforce_id: str
    snappt_property_id_c: str | None
    rds_property_id: str | None
    field_values: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Validation:
    """One `pilot validate`: every checklist item with its offending rows, the runs it
    judged and where its reports are."""

    validation_id: str
    pilot_name: str
    selection_id: str
    preflight_id: str | None
    validated_at: datetime
    passed: bool
    failed_items: int
    items: list[dict[str, Any]]
    run_ids: list[str] | None
    report_markdown: str | None
    report_html: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class PilotValidations:
    """Record and read pre-flights, baselines and validations of pilots."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend

    # --- pre-flight ----------------------------------------------------------------

    def record_preflight(
        self,
        name: str,
        selection_id: str,
        *,
        passed: bool,
        forced: bool,
        items: Sequence[Mapping[str, Any]],
    ) -> Preflight:
        """Store a pre-flight checklist; return it with its new id."""
        if not name:
            raise StateError("pilot pre-flight: pilot name is empty")
        at = now()
        preflight_id = new_run_id(at)
        self._db.insert(
            "pilot_preflights",
            PREFLIGHT_COLUMNS,
            [
                (
                    preflight_id,
                    name,
                    selection_id,
                    at,
                    bool(passed),
                    bool(forced),
                    to_json(list(items), where=f"pilot {name!r} pre-flight items"),
                )
            ],
        )
        return Preflight(
            preflight_id, name, selection_id, at, passed, forced, [dict(i) for i in items]
        )

    def latest_preflight(self, name: str) -> Preflight | None:
        """The newest pre-flight of a pilot (None when it never ran)."""
        rows = self._db.dicts(
            "SELECT * FROM pilot_preflights WHERE pilot_name = ?"
            " ORDER BY checked_at DESC, preflight_id DESC LIMIT 1",
            [name],
        )
        return from_row(Preflight, rows[0], ("items",)) if rows else None

    # --- baseline ------------------------------------------------------------------

    def save_baseline(self, preflight: Preflight, records: Iterable[Mapping[str, Any]]) -> int:
        """Store the baseline of a pre-flight: one row per record, each with `id` (the
        Salesforce Id), `snappt_property_id_c`, `rds_property_id` and its field values
        (everything else in the mapping)."""
        at = now()
        out: list[tuple[Any, ...]] = []
        for index, rec in enumerate(records):
            where = f"pilot {preflight.pilot_name!r} baseline record #{index}"
            sf_id = rec.get("id")
            if not sf_id:
                raise StateError(f"{where}: id (the Salesforce record Id) is empty")
            rds_id = rec.get("rds_property_id")
            if type(rds_id) is int:  # R9: keys are text; an integer is its digits
                rds_id = str(rds_id)
            if rds_id is not None and (not isinstance(rds_id, str) or not rds_id.strip()):
                raise StateError(f"{where}: rds_property_id must be non-empty text, got {rds_id!r}")
            values = {k: v for k, v in rec.items() if k not in ("rds_property_id",)}
            out.append(
                (
                    preflight.preflight_id,
                    preflight.pilot_name,
                    at,
                    str(sf_id),
                    None
                    if rec.get("snappt_property_id_c") is None
                    else str(rec["snappt_property_id_c"]),
                    rds_id,
                    to_json(values, where=f"{where} (Id {sf_id}): field values"),
                )
            )
        if not out:
            return 0
        return self._db.insert("pilot_baselines", BASELINE_COLUMNS, out)

    def baseline(self, preflight_id: str) -> list[BaselineRecord]:
        """The baseline a pre-flight captured, by Salesforce Id."""
        rows = self._db.dicts(
            "SELECT * FROM pilot_baselines WHERE preflight_id = ? ORDER BY salesforce_id",
            [preflight_id],
        )
        return [from_row(BaselineRecord, r, ("field_values",)) for r in rows]

    # --- validation ----------------------------------------------------------------

    def record_validation(
        self,
        name: str,
        selection_id: str,
        *,
        preflight_id: str | None,
        items: Sequence[Mapping[str, Any]],
        run_ids: Sequence[str],
        report_markdown: str | None = None,
        report_html: str | None = None,
        validation_id: str | None = None,
    ) -> Validation:
        """Store a validation; `passed` is every item passed (an item is a mapping with
        `passed`). Returns it with its id."""
        for index, item in enumerate(items):
            if not isinstance(item.get("passed"), bool):
                raise StateError(
                    f"pilot {name!r} validation item #{index} ({item.get('name')!r}):"
                    " passed must be true or false"
                )
        at = now()
        vid = validation_id or new_run_id(at)
        failed = sum(1 for i in items if not i["passed"])
        passed = failed == 0 and bool(items)
        self._db.insert(
            "pilot_validations",
            VALIDATION_COLUMNS,
            [
                (
                    vid,
                    name,
                    selection_id,
                    preflight_id,
                    at,
                    passed,
                    failed,
                    to_json(list(items), where=f"pilot {name!r} validation items"),
                    to_json(list(run_ids), where=f"pilot {name!r} validation run ids"),
                    report_markdown,
                    report_html,
                )
            ],
        )
        return Validation(
            vid, name, selection_id, preflight_id, at, passed, failed, [dict(i) for i in items],
            list(run_ids), report_markdown, report_html,
        )  # fmt: skip

    def latest_validation(self, name: str) -> Validation | None:
        """The newest validation of a pilot (None when it was never validated)."""
        rows = self._db.dicts(
            "SELECT * FROM pilot_validations WHERE pilot_name = ?"
            " ORDER BY validated_at DESC, validation_id DESC LIMIT 1",
            [name],
        )
        return from_row(Validation, rows[0], ("items", "run_ids")) if rows else None

    def get_validation(self, validation_id: str) -> Validation | None:
        rows = self._db.dicts(
            "SELECT * FROM pilot_validations WHERE validation_id = ?", [validation_id]
        )
        return from_row(Validation, rows[0], ("items", "run_ids")) if rows else None
