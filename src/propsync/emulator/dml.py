"""Record writes: insert, update, upsert and delete with Salesforce's per-record
semantics. The REST sObject endpoints, sObject Collections and Bulk API 2.0 all
come through `execute`, so they validate and fail the same way.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from propsync.emulator.ids import canonical, mint_many
from propsync.emulator.knobs import KnobBox, Knobs
from propsync.emulator.objects import SYSTEM_FIELDS, ObjectDef
from propsync.emulator.store import Store, column, compared, fold, quote
from propsync.emulator.values import (
    SKIP,
    RecordError,
    coerce_json,
    now_stamp,
)

INSERT, UPDATE, UPSERT, DELETE = "insert", "update", "upsert", "delete"
ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)


@dataclass(slots=True)
class Item:
    """One record to write: stored values by field name (SKIP = leave as is), the
    target id (update, delete) or external id value (upsert), or an early error."""

    values: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    key: str | None = None
    error: RecordError | None = None


@dataclass(slots=True)
class Outcome:
    id: str | None = None
    success: bool = False
    created: bool = False
    errors: list[RecordError] = field(default_factory=list)

    def as_json(self, with_created: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "success": self.success,
            "errors": [e.as_json() for e in self.errors],
        }
        if with_created:
            d["created"] = self.created
        return d


@dataclass
class Ctx:
    """Who writes, and the knobs and dice in force for this request."""

    store: Store
    user_id: str
    knobs: Knobs
    box: KnobBox
    rng: random.Random


def execute(
    ctx: Ctx,
    obj: ObjectDef,
    op: str,
    items: list[Item],
    *,
    ext_field: str | None = None,
    all_or_none: bool = False,
    update_only: bool = False,
    before_commit: Callable[[sqlite3.Connection, list[Outcome]], None] | None = None,
) -> list[Outcome]:
    """Write `items` in one transaction; one Outcome per item, in order. With
    `all_or_none`, any failure rolls back every record. `before_commit` runs inside
    the transaction (Bulk jobs record their progress there, atomically with the
    records)."""
    outcomes = [Outcome() for _ in items]

    class _Rollback(Exception):
        pass

    try:
        with ctx.store.write() as con:
            _execute(con, ctx, obj, op, items, outcomes, ext_field, update_only)
            if all_or_none and any(not o.success for o in outcomes):
                raise _Rollback
            if before_commit is not None:
                before_commit(con, outcomes)
    except _Rollback:
        for o in outcomes:
            if o.success:
                o.success, o.id, o.created, o.errors = False, None, False, [ROLLED_BACK]
    return outcomes


def _chunks(values: list[str], n: int = 30_000) -> Iterable[list[str]]:
    for i in range(0, len(values), n):
        yield values[i : i + n]


def _lookup(con: sqlite3.Connection, obj: ObjectDef, col: str, values: list[str]) -> list[tuple]:
    """(Id, value, IsDeleted) of the records whose `col` matches one of `values`
    (case-insensitively for a case-insensitive field, as SOQL compares)."""
    f = obj.fields[col]
    out: list[tuple] = []
    for part in _chunks(values):
        out.extend(
            con.execute(
                f'SELECT "Id", {quote(col)}, "IsDeleted" FROM {quote(obj.table)} '
                f"WHERE {column(f)} IN (SELECT value FROM json_each(?))",
                (json.dumps([compared(f, v) for v in part]),),
            )
        )
    return out


def _execute(
    con: sqlite3.Connection,
    ctx: Ctx,
    obj: ObjectDef,
    op: str,
    items: list[Item],
    outcomes: list[Outcome],
    ext_field: str | None,
    update_only: bool,
) -> None:
    # 1. Resolve each item to its target record (None: a record to create).
    targets: list[str | None] = [None] * len(items)
    if op in (UPDATE, DELETE):
        _resolve_ids(con, obj, op, items, outcomes, targets)
    elif op == UPSERT:
        assert ext_field is not None
        _resolve_keys(con, obj, items, outcomes, targets, ext_field, update_only)
    else:
        for i, item in enumerate(items):
            if item.error is not None:
                outcomes[i].errors.append(item.error)

    # 2. Validation of values: required fields, unique external ids.
    required = [
        f.name
        for f in obj.fields.values()
        if not (f.nillable or f.type == "boolean" or f.name in SYSTEM_FIELDS)
    ]
    for i, item in enumerate(items):
        if outcomes[i].errors or op == DELETE:
            continue
        creating = targets[i] is None
        values = item.values
        missing = []
        for name in required:
            v = values.get(name, SKIP)
            if v is None or (creating and v is SKIP):
                missing.append(name)
        if missing:
            outcomes[i].errors.append(
                RecordError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
            )
    if op != DELETE:
        # An upsert's key was matched by _resolve_keys, so it cannot collide.
        _check_unique(con, obj, items, outcomes, targets, skip=ext_field if op == UPSERT else None)

    # 3. Injected lock faults, on records that would otherwise be written.
    k = ctx.knobs
    faults = k.lock_error_rate > 0 or k.wrapped_lock_error_rate > 0
    for i in range(len(items) if faults else 0):
        if outcomes[i].errors:
            continue
        rid = targets[i] or ""
        if ctx.box.roll(ctx.rng, k.lock_error_rate):
            outcomes[i].errors.append(
                RecordError(
                    "UNABLE_TO_LOCK_ROW",
                    f"unable to obtain exclusive access to this record or 1 records: {rid}",
                )
            )
        elif ctx.box.roll(ctx.rng, k.wrapped_lock_error_rate):
            outcomes[i].errors.append(
                RecordError(
                    "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                    f"{obj.name}Trigger: execution of AfterUpdate caused by: "
                    "System.DmlException: Update failed. First exception on row 0 with id "
                    f"{rid}; first error: UNABLE_TO_LOCK_ROW, unable to obtain exclusive "
                    "access to this record: []",
                )
            )

    # 4. Write.
    now = now_stamp()
    user = ctx.user_id
    inserts = [i for i in range(len(items)) if not outcomes[i].errors and targets[i] is None]
    if op != DELETE and inserts:
        _insert(con, ctx, obj, [items[i] for i in inserts], [outcomes[i] for i in inserts], now)
    updates = [i for i in range(len(items)) if not outcomes[i].errors and targets[i] is not None]
    if op == DELETE:
        con.executemany(
            f'UPDATE {quote(obj.table)} SET "IsDeleted" = 1, "LastModifiedDate" = ?, '
            '"LastModifiedById" = ?, "SystemModstamp" = ? WHERE "Id" = ?',
            [(now, user, now, targets[i]) for i in updates],
        )
    elif updates:
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for i in updates:
            vals = items[i].values
            names = tuple(n for n, v in vals.items() if v is not SKIP and n != "Id")
            params = [_stored(obj, n, vals[n]) for n in names]
            groups.setdefault(names, []).append((*params, now, user, now, targets[i]))
        for names, rows in groups.items():
            sets = "".join(f"{quote(n)} = ?, " for n in names)
            con.executemany(
                f"UPDATE {quote(obj.table)} SET {sets}"
                '"LastModifiedDate" = ?, "LastModifiedById" = ?, "SystemModstamp" = ? '
                'WHERE "Id" = ?',
                rows,
            )
    for i in updates:
        o = outcomes[i]
        o.id, o.success, o.created = targets[i], True, False


def _stored(obj: ObjectDef, name: str, value: Any) -> Any:
    # A checkbox is never null in Salesforce: clearing it makes it false.
    if value is None and obj.fields[name].type == "boolean":
        return 0
    return value


def _resolve_ids(
    con: sqlite3.Connection,
    obj: ObjectDef,
    op: str,
    items: list[Item],
    outcomes: list[Outcome],
    targets: list[str | None],
) -> None:
    wanted: dict[int, str] = {}
    for i, item in enumerate(items):
        if item.error is not None:
            outcomes[i].errors.append(item.error)
            continue
        raw = item.id or ""
        cid = canonical(raw) if raw else None
        if not raw:
            outcomes[i].errors.append(
                RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
            )
        elif cid is None:
            outcomes[i].errors.append(RecordError("MALFORMED_ID", f"malformed id {raw}", ["Id"]))
        elif not cid.startswith(obj.key_prefix):
            outcomes[i].errors.append(
                RecordError("MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw}")
            )
        else:
            wanted[i] = cid
    found = {r[0]: r[2] for r in _lookup(con, obj, "Id", list(set(wanted.values())))}
    seen: set[str] = set()
    for i, cid in wanted.items():
        if cid not in found:
            outcomes[i].errors.append(
                RecordError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {cid}")
            )
        elif found[cid]:
            outcomes[i].errors.append(RecordError("ENTITY_IS_DELETED", "entity is deleted"))
        elif cid in seen:
            outcomes[i].errors.append(
                RecordError("DUPLICATE_VALUE", f"Duplicate id in list: {cid}", ["Id"])
            )
        else:
            seen.add(cid)
            targets[i] = cid
            outcomes[i].id = cid


def _resolve_keys(
    con: sqlite3.Connection,
    obj: ObjectDef,
    items: list[Item],
    outcomes: list[Outcome],
    targets: list[str | None],
    ext_field: str,
    update_only: bool,
) -> None:
    f = obj.field(ext_field)
    assert f is not None
    keyed: dict[int, str] = {}
    for i, item in enumerate(items):
        if item.error is not None:
            outcomes[i].errors.append(item.error)
            continue
        key = item.key
        if key is None:
            v = item.values.get(f.name, SKIP)
            key = None if v is SKIP or v is None else str(v)
        if not key:
            outcomes[i].errors.append(
                RecordError("MISSING_ARGUMENT", f"{f.name} not specified", [f.name])
            )
            continue
        if f.name == "Id":
            cid = canonical(key)
            if cid is None:
                outcomes[i].errors.append(RecordError("MALFORMED_ID", f"malformed id {key}"))
                continue
            key = cid
        else:
            try:
                item.values[f.name] = coerce_json(f, key)
            except RecordError as exc:
                outcomes[i].errors.append(exc)
                continue
        keyed[i] = key
    norm = (lambda s: s) if f.case_sensitive or f.name == "Id" else fold
    matches: dict[str, list[str]] = {}
    for rid, value, deleted in _lookup(con, obj, f.name, list({k for k in keyed.values()})):
        if not deleted:
            matches.setdefault(norm(value), []).append(rid)
    counts: dict[str, int] = {}
    for key in keyed.values():
        counts[norm(key)] = counts.get(norm(key), 0) + 1
    for i, key in keyed.items():
        hits = matches.get(norm(key), [])
        if counts[norm(key)] > 1:
            outcomes[i].errors.append(
                RecordError("DUPLICATE_VALUE", f"Duplicate external id specified: {key}", [f.name])
            )
        elif len(hits) > 1:
            outcomes[i].errors.append(
                RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{f.name}: more than one record found for external id field: "
                    f"[{', '.join(sorted(hits))}]",
                    [f.name],
                )
            )
        elif hits:
            targets[i] = hits[0]
        elif update_only or f.name == "Id":
            outcomes[i].errors.append(
                RecordError("NOT_FOUND", f"Provided external ID field value not found: {key}")
            )


def _check_unique(
    con: sqlite3.Connection,
    obj: ObjectDef,
    items: list[Item],
    outcomes: list[Outcome],
    targets: list[str | None],
    skip: str | None = None,
) -> None:
    for f in obj.fields.values():
        if not f.unique or f.name in ("Id", skip):
            continue
        norm = (lambda s: s) if f.case_sensitive else fold
        writing: dict[int, str] = {}
        for i, item in enumerate(items):
            v = item.values.get(f.name, SKIP)
            if not outcomes[i].errors and v is not SKIP and v is not None:
                writing[i] = v
        if not writing:
            continue
        holders = {
            norm(value): rid
            for rid, value, deleted in _lookup(con, obj, f.name, list(set(writing.values())))
            if not deleted
        }
        claimed: dict[str, int] = {}
        for i, v in writing.items():
            holder = holders.get(norm(v))
            if holder is not None and holder != targets[i]:
                dup = holder
            elif norm(v) in claimed:
                j = claimed[norm(v)]
                dup = targets[j] or "(a record earlier in this request)"
            else:
                claimed[norm(v)] = i
                continue
            outcomes[i].errors.append(
                RecordError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {f.name} duplicates value on record with id: {dup}",
                    [f.name],
                )
            )


def _insert(
    con: sqlite3.Connection,
    ctx: Ctx,
    obj: ObjectDef,
    items: list[Item],
    outcomes: list[Outcome],
    now: str,
) -> None:
    first = ctx.store.reserve_ids(con, obj.key_prefix, len(items))
    ids = mint_many(obj.key_prefix, first, len(items))
    names = list(obj.fields)
    index = {n: i for i, n in enumerate(names)}
    defaults = {
        "IsDeleted": 0,
        "CreatedDate": now,
        "CreatedById": ctx.user_id,
        "LastModifiedDate": now,
        "LastModifiedById": ctx.user_id,
        "SystemModstamp": now,
    }
    base = [defaults.get(n, 0 if f.type == "boolean" else None) for n, f in obj.fields.items()]
    id_at = index["Id"]
    rows = []
    for rid, item, o in zip(ids, items, outcomes, strict=True):
        row = base.copy()
        row[id_at] = rid
        for name, v in item.values.items():
            # SKIP and None keep the default (null, or false for a checkbox).
            if v is not SKIP and v is not None and name != "Id":
                row[index[name]] = v
        rows.append(row)
        o.id, o.success, o.created = rid, True, True
    cols = ", ".join(quote(n) for n in names)
    marks = ", ".join("?" for _ in names)
    con.executemany(f"INSERT INTO {quote(obj.table)} ({cols}) VALUES ({marks})", rows)
    _schedule_workflow(con, ctx, obj, items, outcomes)


def _schedule_workflow(
    con: sqlite3.Connection, ctx: Ctx, obj: ObjectDef, items: list[Item], outcomes: list[Outcome]
) -> None:
    wf = obj.workflow
    if not wf or not ctx.knobs.workflow_enabled:
        return
    due = time.time() + ctx.knobs.workflow_delay_s
    target = wf["writes"]
    con.executemany(
        "INSERT OR REPLACE INTO workflow_events (record_id, object, due_at) VALUES (?, ?, ?)",
        [
            (o.id, obj.name, due)
            for item, o in zip(items, outcomes, strict=True)
            if item.values.get(target, SKIP) in (SKIP, None)
        ],
    )
