"""The plan's Salesforce-side workflow: some time after a staging record is created,
a production record is made and its Id written back by the workflow user.

An object opts in with a `workflow` entry in its definition, e.g. for
product_property__c: `{"creates": "Property__c", "writes": "sf_property_id__c",
"copies": {"Name": "Name"}}`. Due events live in SQLite, so a restart loses
none; they are applied by a background timer and also lazily before any request
is served, so a client never sees a due event still pending.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from propsync.emulator.ids import mint
from propsync.emulator.store import Store, quote
from propsync.emulator.values import now_stamp


def apply_due(store: Store, workflow_user_id: str, *, limit: int = 50_000) -> int:
    """Apply every workflow event that is due; returns how many records it updated."""
    con = store.connection()
    now = time.time()
    if (
        con.execute("SELECT 1 FROM workflow_events WHERE due_at <= ? LIMIT 1", (now,)).fetchone()
        is None
    ):
        return 0
    done = 0
    with store.write() as wcon:
        events = wcon.execute(
            "SELECT record_id, object FROM workflow_events WHERE due_at <= ? "
            "ORDER BY due_at LIMIT ?",
            (now, limit),
        ).fetchall()
        by_object: dict[str, list[str]] = {}
        for rid, obj_name in events:
            by_object.setdefault(obj_name, []).append(rid)
        stamp = now_stamp()
        for obj_name, ids in by_object.items():
            obj = store.objects[obj_name.lower()]
            wf = obj.workflow or {}
            target = store.objects[str(wf["creates"]).lower()]
            copies: dict[str, str] = wf.get("copies", {})
            src_cols = list(copies)
            select = ", ".join(quote(c) for c in ["Id", *src_cols])
            rows: list[tuple[object, ...]] = []
            for part in range(0, len(ids), 30_000):
                rows.extend(
                    wcon.execute(
                        f"SELECT {select} FROM {quote(obj.table)} "
                        f'WHERE "Id" IN (SELECT value FROM json_each(?)) AND "IsDeleted" = 0 '
                        f"AND {quote(wf['writes'])} IS NULL",
                        (_json(ids[part : part + 30_000]),),
                    )
                )
            if not rows:
                continue
            first = store.reserve_ids(wcon, target.key_prefix, len(rows), start=62**7)
            new_cols = ["Id", *copies.values(), "IsDeleted", "CreatedDate", "CreatedById"]
            new_cols += ["LastModifiedDate", "LastModifiedById", "SystemModstamp"]
            sys_vals = (0, stamp, workflow_user_id, stamp, workflow_user_id, stamp)
            new_rows = []
            back = []
            for n, row in enumerate(rows):
                new_id = mint(target.key_prefix, first + n)
                new_rows.append((new_id, *row[1:], *sys_vals))
                back.append((new_id, stamp, workflow_user_id, stamp, row[0]))
            marks = ", ".join("?" for _ in new_cols)
            wcon.executemany(
                f"INSERT INTO {quote(target.table)} ({', '.join(quote(c) for c in new_cols)}) "
                f"VALUES ({marks})",
                new_rows,
            )
            wcon.executemany(
                f"UPDATE {quote(obj.table)} SET {quote(wf['writes'])} = ?, "
                '"LastModifiedDate" = ?, "LastModifiedById" = ?, "SystemModstamp" = ? '
                'WHERE "Id" = ?',
                back,
            )
            done += len(back)
        wcon.executemany(
            "DELETE FROM workflow_events WHERE record_id = ?", [(rid,) for rid, _ in events]
        )
    return done


def _json(values: list[str]) -> str:
    return json.dumps(values)


class WorkflowTimer:
    """Applies due workflow events every `interval` seconds in a daemon thread."""

    def __init__(self, store: Store, workflow_user_id: str, interval: float = 0.25) -> None:
        self._store = store
        self._user = workflow_user_id
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="emulator-workflow", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                while apply_due(self._store, self._user) > 0:
                    pass
            except Exception:  # keep the timer alive; the lazy path reports errors
                logging.getLogger(__name__).exception("workflow timer failed")
