"""Client input to `dml.Item`s: JSON records (REST, sObject Collections) and CSV rows
(Bulk API 2.0), with field names matched case-insensitively, values coerced and
checked against the object definition, and read-only fields refused."""

from __future__ import annotations

from typing import Any

from propsync.emulator.dml import DELETE, INSERT, UPDATE, UPSERT, Item
from propsync.emulator.knobs import Knobs
from propsync.emulator.objects import AUDIT_FIELDS, FieldDef, ObjectDef
from propsync.emulator.values import (
    SKIP,
    RecordError,
    coerce_csv,
    coerce_json,
    parse_datetime,
)


def item_from_json(obj: ObjectDef, op: str, record: dict[str, Any], knobs: Knobs) -> Item:
    """An Item from a REST/Collections JSON record; field names match case-insensitively."""
    item = Item()
    bad: list[str] = []
    try:
        for name, value in record.items():
            if name == "attributes":
                continue
            f = obj.field(name)
            if f is None:
                raise RecordError(
                    "INVALID_FIELD",
                    f"No such column '{name}' on sobject of type {obj.name}",
                    [name],
                )
            if f.name == "Id":
                if op in (UPDATE, DELETE):
                    item.id = value if isinstance(value, str) else str(value)
                    continue
                if op == UPSERT and value is None:
                    continue
            insert_audit = op in (INSERT, UPSERT) and knobs.set_audit_fields
            writable = f.updateable if op == UPDATE else f.createable or f.updateable
            if not writable and not (insert_audit and f.name in AUDIT_FIELDS):
                bad.append(f.name)
                continue
            item.values[f.name] = coerce_json(f, value)
        if bad:
            raise _not_writable(bad)
    except RecordError as exc:
        item.error = exc
    return item


def _not_writable(names: list[str]) -> RecordError:
    return RecordError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {', '.join(names)}. Please check the security "
        "settings of this field and verify that it is read/write for your profile or "
        "permission set.",
        names,
    )


class CsvShape:
    """A Bulk API CSV header resolved against the object, then rows -> Items."""

    def __init__(self, obj: ObjectDef, op: str, header: list[str], knobs: Knobs, ext: str | None):
        self.obj = obj
        self.op = op
        self.fields: list[FieldDef | None] = []
        self.id_col: int | None = None
        self.key_col: int | None = None
        for i, name in enumerate(header):
            f = obj.field(name.strip())
            if f is None:
                raise ValueError(f"InvalidBatch : Field name not found : {name}")
            if f.name == "Id" and op in (UPDATE, DELETE):
                self.id_col = i
                self.fields.append(None)
                continue
            if op == DELETE:
                raise ValueError("InvalidBatch : The 'delete' batch must contain only ids: " + name)
            audit = op in (INSERT, UPSERT) and knobs.set_audit_fields and f.name in AUDIT_FIELDS
            writable = f.updateable if op == UPDATE else f.createable or f.updateable
            if not writable and not audit and not (f.name == "Id" and op == UPSERT):
                raise ValueError(f"InvalidBatch : Field name not writable : {f.name}")
            if ext is not None and f.name.lower() == ext.lower():
                self.key_col = i
            self.fields.append(f)
        if op in (UPDATE, DELETE) and self.id_col is None:
            raise ValueError("InvalidBatch : Field name not found : Id")
        if op == UPSERT and self.key_col is None:
            raise ValueError(f"InvalidBatch : Field name not found : {ext}")
        self.width = len(header)
        self.plan: list[tuple[int, str, int, int, FieldDef]] = [
            (
                i,
                f.name,
                _KINDS.get(f.type, 0),
                f.length or 1 << 30,
                f,
            )
            for i, f in enumerate(self.fields)
            if f is not None
        ]

    def item(self, row: list[str]) -> Item:
        item = Item()
        if len(row) != self.width:
            item.error = RecordError(
                "INVALID_FIELD",
                f"Row has {len(row)} columns, header has {self.width}",
            )
            return item
        if self.id_col is not None:
            item.id = row[self.id_col]
        if self.key_col is not None:
            item.key = row[self.key_col]
        values = item.values
        try:
            # Text and checkbox cells inline (most of a bulk load); the rest via coerce_csv.
            for i, name, kind, limit, f in self.plan:
                cell = row[i]
                if not cell:
                    values[name] = SKIP
                elif cell == "#N/A":
                    values[name] = None
                elif kind == 1:
                    if len(cell) > limit:
                        coerce_csv(f, cell)  # raises STRING_TOO_LONG
                    values[name] = cell
                elif kind == 2:
                    b = _BOOL.get(cell)
                    values[name] = coerce_csv(f, cell) if b is None else b
                elif kind == 3:
                    dt = parse_datetime(cell)
                    values[name] = coerce_csv(f, cell) if dt is None else dt
                else:
                    values[name] = coerce_csv(f, cell)
        except RecordError as exc:
            item.error = exc
        return item


_KINDS = {"string": 1, "boolean": 2, "datetime": 3}
_BOOL = {"true": 1, "false": 0, "TRUE": 1, "FALSE": 0, "1": 1, "0": 0}
