"""The inverse of a run, read from its audit rows: what a rollback writes, field by field.

Each SUCCESS audit row of the run is compared with the record as Salesforce holds it
now (the engine's extract, brought up to date from the org just before):

- a field the run wrote (UPDATE, or a ROLLBACK's restore) is restored to its before
  value (CLEAR when that was null), unless Salesforce no longer holds what the run
  wrote: then it changed again since (by anyone) and is *drift*, reported and left
  alone unless `force`; a field already back at its before value needs nothing;
- a record the run created is deleted only with `delete_created` (else listed as left
  in place); if a field the run wrote on it changed since, it is drift too;
- what cannot be undone is listed with the reason: a record that is gone from the org,
  an upsert that matched an existing record (no before image), a record the run
  deleted (a rollback with `delete_created`; Salesforce's undelete is not used).

`build` streams the audit rows a page at a time, fills a `RollbackPlan` and stores the
WriteItems (restores on queue "update", deletes on queue "delete") in a temp table of
the engine; `stream` pages them back to the writer. So the rollback writes exactly what
was planned, and the 417k records of a 1M run are never all in memory. FAILED rows
wrote nothing and are only counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from dataclasses import field as _field
from typing import Any

from propsync import fields as sf
from propsync.engines import Engine
from propsync.salesforce.client import CLEAR
from propsync.state import AuditImage, StateStore
from propsync.state.records import to_json
from propsync.sync.payload import WriteItem, WriteQueue

PAGE = 10_000
SAMPLES = 5  # examples kept per field
LISTED = 1_000  # drift, created and not-restorable records listed (all are counted)
_IDS = "_propsync_rollback_ids"
PLAN_TABLE = "_propsync_rollback_plan"
_COLUMNS = [(f.name, f.column, f.engine_type) for f in sf.FIELDS if f.synced]
_TYPES = {f.name: f.type for f in sf.FIELDS}


@dataclass
class FieldRestore:
    """One field the rollback writes: on how many records, and a few examples."""

    field: str
    count: int = 0
    samples: list[dict[str, Any]] = _field(default_factory=list)


@dataclass
class RollbackPlan:
    """What rolling back `source_run_id` writes and what it leaves, with the reasons."""

    source_run_id: str
    delete_created: bool
    force: bool
    audited: int = 0  # SUCCESS audit rows of the run
    failed_rows: int = 0  # FAILED rows: nothing was written, nothing to undo
    restores: int = 0  # records updated back
    deletes: int = 0  # created records deleted
    fields: dict[str, FieldRestore] = _field(default_factory=dict)
    already_restored: int = 0  # fields already back at their before value
    drift_count: int = 0  # fields changed since the run
    drift_records: int = 0
    drift: list[dict[str, Any]] = _field(default_factory=list)
    created_left_count: int = 0
    created_left: list[dict[str, Any]] = _field(default_factory=list)
    not_restorable_count: int = 0
    not_restorable: list[dict[str, Any]] = _field(default_factory=list)

    @property
    def records_to_write(self) -> int:
        return self.restores + self.deletes

    def planned(self, queue: WriteQueue) -> int:
        return self.deletes if queue == "delete" else self.restores

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["fields"] = [asdict(f) for f in self.fields.values()]
        doc["records_to_write"] = self.records_to_write
        return doc

    # --- filled by walk -------------------------------------------------------------

    def _drift(self, entry: AuditImage, name: str, wrote: Any, now: Any) -> None:
        self.drift_count += 1
        if len(self.drift) < LISTED:
            self.drift.append(
                {
                    "salesforce_id": entry.salesforce_id,
                    "rds_property_id": entry.snappt_property_id_c,
                    "field": name,
                    "before": (entry.before_values or {}).get(name),
                    "written": wrote,
                    "current": now,
                    "action": "restored (--force)" if self.force else "left alone",
                }
            )

    def _left(self, target: list[dict[str, Any]], entry: AuditImage, reason: str) -> None:
        if len(target) < LISTED:
            target.append(
                {
                    "salesforce_id": entry.salesforce_id,
                    "rds_property_id": entry.snappt_property_id_c,
                    "operation": entry.sync_operation,
                    "reason": reason,
                }
            )

    def _not_restorable(self, entry: AuditImage, reason: str) -> None:
        self.not_restorable_count += 1
        self._left(self.not_restorable, entry, reason)

    def _restore(self, entry: AuditImage, name: str, now: Any, value: Any) -> None:
        f = self.fields.setdefault(name, FieldRestore(name))
        f.count += 1
        if len(f.samples) < SAMPLES:
            f.samples.append({"key": entry.salesforce_id, "current": now, "restored": value})


def same(name: str, a: Any, b: Any) -> bool:
    """Two values of field `name` as Salesforce holds them are equal (an empty text is
    null, a null checkbox is false, numbers compare as numbers)."""
    kind = _TYPES.get(name, "string")
    if kind == "boolean":
        return bool(a) == bool(b)
    if a is None or b is None:
        return (a in (None, "")) and (b in (None, ""))
    if kind == "double":
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return bool(a == b)
    return bool(a == b)


def is_delete(entry: AuditImage) -> bool:
    """The row of a record the run deleted (a rollback with delete_created)."""
    return entry.after_values == {"IsDeleted": True}


def current_values(engine: Engine, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The live records (not deleted) among `ids` in the engine's Salesforce extract:
    Id -> {API name: value as the sync writes it}, converted a column at a time."""
    import pyarrow as pa  # heavy driver: imported on first use
    import pyarrow.compute as pc

    if not ids:
        return {}
    engine.load_arrow(_IDS, pa.table({"id": pa.array(ids, pa.string())}), temporary=True)
    try:
        cols = ", ".join(f"s.{column}" for _, column, _ in _COLUMNS)
        table = engine.arrow(
            f"SELECT s.id, {cols} FROM {sf.ENGINE_TABLE} AS s"
            f" JOIN {_IDS} AS i ON i.id = s.id WHERE NOT coalesce(s.is_deleted, FALSE)"
        )
    finally:
        engine.drop(_IDS)
    names, columns = [], []
    for name, column, engine_type in _COLUMNS:
        values = table.column(column)
        if engine_type == "TIMESTAMPTZ":  # as `payload.to_salesforce` writes it: UTC, ms
            ms = pc.cast(values, pa.timestamp("ms", tz="UTC"), safe=False)
            values = pc.strftime(ms, format="%Y-%m-%dT%H:%M:%SZ")
        names.append(name)
        columns.append(values.to_pylist())
    return {
        str(rid): dict(zip(names, row, strict=True))
        for rid, *row in zip(table.column("id").to_pylist(), *columns, strict=True)
    }


def walk(state: StateStore, engine: Engine, plan: RollbackPlan) -> Iterator[WriteItem]:
    """Stream the run's inverse: fill `plan` and yield the WriteItems (see the module
    docstring)."""
    plan.failed_rows = sum(
        s.records for s in state.audit.summary(plan.source_run_id) if s.sync_status == "FAILED"
    )
    for page in state.audit.images(plan.source_run_id):
        current = current_values(engine, [e.salesforce_id for e in page if e.salesforce_id])
        for entry in page:
            plan.audited += 1
            item = _inverse(entry, current.get(entry.salesforce_id or ""), plan)
            if item is not None:
                yield item


def _inverse(entry: AuditImage, now: dict[str, Any] | None, plan: RollbackPlan) -> WriteItem | None:
    sfid = entry.salesforce_id
    after = entry.after_values or {}
    if is_delete(entry):
        plan._not_restorable(entry, "deleted by the run; a rollback does not undelete")
        return None
    if sfid is None or now is None:
        plan._not_restorable(entry, "no longer in Salesforce (deleted or never written)")
        return None
    if entry.before_values is None:  # a create
        if not entry.created:
            plan._not_restorable(
                entry, "the upsert matched an existing record; the run kept no before image"
            )
            return None
        drifted = [n for n, wrote in after.items() if not same(n, now.get(n), wrote)]
        for name in drifted:
            plan._drift(entry, name, after.get(name), now.get(name))
        if drifted:
            plan.drift_records += 1
        if not plan.delete_created:
            plan.created_left_count += 1
            plan._left(plan.created_left, entry, "created by the run; left in place")
            return None
        if drifted and not plan.force:
            plan.created_left_count += 1
            plan._left(plan.created_left, entry, "created by the run, changed since; left")
            return None
        plan.deletes += 1
        before = {n: now.get(n) for n in after}
        return WriteItem("delete", sfid, entry.snappt_property_id_c, sfid, {"Id": sfid}, before)
    before_values = entry.before_values
    record: dict[str, Any] = {"Id": sfid}
    image: dict[str, Any] = {}
    drifted_any = False
    for name, wrote in after.items():  # the fields the run wrote (a cleared one is None)
        want, held = before_values.get(name), now.get(name)
        if same(name, held, want):
            plan.already_restored += 1
            continue
        if not same(name, held, wrote):
            plan._drift(entry, name, wrote, held)
            drifted_any = True
            if not plan.force:
                continue
        record[name] = CLEAR if want is None else want
        image[name] = held
        plan._restore(entry, name, held, want)
    if drifted_any:
        plan.drift_records += 1
    if len(record) == 1:
        return None
    plan.restores += 1
    return WriteItem("update", sfid, entry.snappt_property_id_c, sfid, record, image)


# --- the plan's table ----------------------------------------------------------------


def build(state: StateStore, engine: Engine, plan: RollbackPlan) -> int:
    """Compute the plan and store its WriteItems in `PLAN_TABLE` (a temp table, in the
    order the audit log has them); return how many."""
    import pyarrow as pa  # heavy driver: imported on first use

    schema = pa.schema(
        [("seq", pa.int64()), ("queue", pa.string()), ("key", pa.string()),
         ("rds_property_id", pa.string()), ("record", pa.string()), ("before", pa.string())]
    )  # fmt: skip
    engine.load_arrow(PLAN_TABLE, schema.empty_table(), temporary=True)
    seq = 0
    batch: list[WriteItem] = []

    def flush() -> None:
        nonlocal seq
        first = seq
        seq += len(batch)
        where = "rollback plan of run " + plan.source_run_id
        columns = {
            "seq": list(range(first + 1, seq + 1)),
            "queue": [i.queue for i in batch],
            "key": [i.key for i in batch],
            "rds_property_id": [i.rds_property_id for i in batch],
            "record": [to_json(_plain(i.record), where=where) for i in batch],
            "before": [to_json(i.before, where=where) for i in batch],
        }
        engine.load_arrow(PLAN_TABLE, pa.table(columns, schema=schema), mode="append")
        batch.clear()

    for item in walk(state, engine, plan):
        batch.append(item)
        if len(batch) >= PAGE:
            flush()
    if batch:
        flush()
    return seq


def stream(engine: Engine, queue: WriteQueue) -> Iterator[WriteItem]:
    """The planned items of `queue` in order, a page at a time (separate queries: the
    audit rows go into the same DuckDB connection meanwhile)."""
    last = 0
    while True:
        rows = engine.rows(
            f"SELECT seq, key, rds_property_id, record, before FROM {PLAN_TABLE}"
            f" WHERE queue = ? AND seq > ? ORDER BY seq LIMIT {PAGE}",
            [queue, last],
        )
        for _seq, key, rds_id, record, before in rows:
            values = {k: (CLEAR if v is None else v) for k, v in json.loads(record).items()}
            yield WriteItem(queue, key, rds_id, key, values, json.loads(before))
        if len(rows) < PAGE:
            return
        last = int(rows[-1][0])


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """A record as JSON-ready values: CLEAR as null (`stream` turns it back)."""
    return {k: (None if v is CLEAR else v) for k, v in record.items()}
