"""REST API handlers: versions, limits, describe, sObject CRUD and upsert, SOQL
query/queryAll with cursors, sObject Collections. Pure functions of a `Call`,
run in a worker thread by the app; they return a `Reply`.
"""

from __future__ import annotations

import json
import random
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from propsync.emulator import dml, inputs
from propsync.emulator.ids import canonical
from propsync.emulator.knobs import Knobs
from propsync.emulator.objects import ObjectDef
from propsync.emulator.org import Cursor, Org
from propsync.emulator.soql import Query, SoqlError, parse
from propsync.emulator.store import column, compared, quote
from propsync.emulator.values import RecordError, to_json

MAX_COLLECTION = 200
CURSOR_TTL_S = 900.0


@dataclass
class Call:
    org: Org
    method: str
    version: str
    parts: list[str]
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes
    user_id: str
    knobs: Knobs
    rng: random.Random

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from exc

    def ctx(self) -> dml.Ctx:
        return dml.Ctx(self.org.store, self.user_id, self.knobs, self.org.box, self.rng)


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    media: str = "application/json"


class ApiError(Exception):
    """A whole-request failure: `[{"message", "errorCode", "fields"?}]` with a status."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields

    def reply(self) -> Reply:
        doc: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            doc["fields"] = self.fields
        return Reply(self.status, [doc])


NOT_FOUND = ApiError(404, "NOT_FOUND", "The requested resource does not exist")


def _obj(call: Call, name: str) -> ObjectDef:
    obj = call.org.obj(name)
    if obj is None:
        raise ApiError(404, "NOT_FOUND", f"The requested resource does not exist: {name}")
    return obj


def _record_error(err: RecordError, status: int = 400) -> ApiError:
    return ApiError(status, err.code, err.message, err.fields)


def version_root(call: Call) -> Reply:
    base = f"/services/data/v{call.version}"
    names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
    return Reply(200, {n: f"{base}/{n}" for n in names})


def limits(call: Call) -> Reply:
    return Reply(200, call.org.limits())


def global_describe(call: Call) -> Reply:
    objs = [o.summary(call.version) for o in call.org.objects.values()]
    return Reply(200, {"encoding": "UTF-8", "maxBatchSize": MAX_COLLECTION, "sobjects": objs})


def sobject(call: Call) -> Reply:
    """Everything under /sobjects/{object}/..."""
    obj = _obj(call, call.parts[1])
    rest = call.parts[2:]
    m = call.method
    if not rest:
        if m == "GET":
            return Reply(200, {"objectDescribe": obj.summary(call.version), "recentItems": []})
        if m == "POST":
            return _create(call, obj)
        raise _method(m)
    if rest == ["describe"] and m == "GET":
        return Reply(200, obj.describe(call.version))
    if len(rest) == 1:
        return _by_id(call, obj, rest[0])
    if len(rest) == 2:
        return _by_external_id(call, obj, rest[0], rest[1])
    raise NOT_FOUND


def _method(m: str) -> ApiError:
    return ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{m}' not allowed. Allowed are GET")


def _create(call: Call, obj: ObjectDef) -> Reply:
    body = call.json()
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    item = inputs.item_from_json(obj, dml.INSERT, body, call.knobs)
    out = dml.execute(call.ctx(), obj, dml.INSERT, [item])[0]
    if not out.success:
        return Reply(400, [_err_doc(e) for e in out.errors])
    return Reply(201, {"id": out.id, "success": True, "errors": []})


def _err_doc(e: RecordError) -> dict[str, Any]:
    return {"message": e.message, "errorCode": e.code, "fields": e.fields}


def _row_json(
    obj: ObjectDef, version: str, names: list[str], row: tuple, rid: str | None = None
) -> dict[str, Any]:
    rid = row[names.index("Id")] if "Id" in names else rid
    doc: dict[str, Any] = {
        "attributes": {
            "type": obj.name,
            "url": f"/services/data/v{version}/sobjects/{obj.name}/{rid}",
        }
    }
    for n, v in zip(names, row, strict=True):
        doc[n] = to_json(obj.fields[n], v)
    return doc


def _fetch(call: Call, obj: ObjectDef, col: str, value: str) -> list[tuple]:
    fields = call.params.get("fields")
    names = list(obj.fields)
    if fields:
        names = []
        for raw in fields.split(","):
            f = obj.field(raw.strip())
            if f is None:
                raise ApiError(
                    400, "INVALID_FIELD", f"No such column '{raw}' on sobject of type {obj.name}"
                )
            names.append(f.name)
        if "Id" not in names:
            names.insert(0, "Id")
    rows = (
        call.org.store.connection()
        .execute(
            f"SELECT {', '.join(quote(n) for n in names)} FROM {quote(obj.table)} "
            f'WHERE {column(obj.fields[col])} = ? AND "IsDeleted" = 0',
            (compared(obj.fields[col], value),),
        )
        .fetchall()
    )
    return [(names, r) for r in rows]


def _by_id(call: Call, obj: ObjectDef, raw_id: str) -> Reply:
    cid = canonical(raw_id)
    if cid is None or not cid.startswith(obj.key_prefix):
        # Salesforce reads a non-id segment as an external id field name.
        raise ApiError(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {raw_id}",
        )
    m = call.method
    if m == "GET":
        hits = _fetch(call, obj, "Id", cid)
        if not hits:
            raise NOT_FOUND
        names, row = hits[0]
        return Reply(200, _row_json(obj, call.version, names, row))
    if m in ("PATCH", "DELETE"):
        op = dml.UPDATE if m == "PATCH" else dml.DELETE
        body = call.json() if m == "PATCH" else {}
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        item = inputs.item_from_json(obj, op, body, call.knobs)
        item.id = cid
        out = dml.execute(call.ctx(), obj, op, [item])[0]
        if out.success:
            return Reply(204)
        err = out.errors[0]
        if err.code == "INVALID_CROSS_REFERENCE_KEY":
            raise NOT_FOUND
        raise _record_error(err, 404 if err.code == "ENTITY_IS_DELETED" else 400)
    raise _method(m)


def _by_external_id(call: Call, obj: ObjectDef, field_name: str, value: str) -> Reply:
    f = obj.field(field_name)
    if f is None or not (f.external_id or f.name == "Id"):
        raise ApiError(
            404, "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {field_name}",
        )  # fmt: skip
    m = call.method
    if m == "GET":
        hits = _fetch(call, obj, f.name, value)
        if not hits:
            raise NOT_FOUND
        if len(hits) > 1:
            return Reply(300, [_url(call, obj, r[0]) for _, r in hits])
        names, row = hits[0]
        return Reply(200, _row_json(obj, call.version, names, row))
    if m == "PATCH":
        body = call.json()
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        update_only = call.params.get("updateOnly", "false").lower() == "true"
        item = inputs.item_from_json(obj, dml.UPSERT, body, call.knobs)
        item.key = value
        out = dml.execute(call.ctx(), obj, dml.UPSERT, [item], ext_field=f.name,
                          update_only=update_only)[0]  # fmt: skip
        if out.success:
            doc: dict[str, Any] = {
                "id": out.id,
                "success": True,
                "errors": [],
                "created": out.created,
            }
            return Reply(201 if out.created else 200, doc)
        err = out.errors[0]
        if err.code == "DUPLICATE_EXTERNAL_ID":
            ids = err.message.rsplit("[", 1)[1].rstrip("]").split(", ")
            return Reply(300, [_url(call, obj, i) for i in ids])
        raise _record_error(err, 404 if err.code == "NOT_FOUND" else 400)
    raise _method(m)


def _url(call: Call, obj: ObjectDef, rid: str) -> str:
    return f"/services/data/v{call.version}/sobjects/{obj.name}/{rid}"


# query ----------------------------------------------------------------------------------


def query(call: Call) -> Reply:
    """GET /query?q=... and /queryAll?q=..., and their cursor pages /query/{locator}."""
    all_rows = call.parts[0].lower() == "queryall"
    if len(call.parts) == 2:
        return _next_page(call, call.parts[1], all_rows)
    text = call.params.get("q")
    if text is None:
        raise ApiError(400, "MALFORMED_QUERY", "A query string (q=) is required")
    try:
        q = parse(text, call.org.objects)
    except SoqlError as exc:
        raise ApiError(400, exc.code, str(exc)) from exc
    con = call.org.store.connection()
    if q.count_only:
        sql, params = q.sql(all_rows=all_rows, count=True)
        n = int(_execute(con, sql, params).fetchone()[0])
        return Reply(200, {"totalSize": n, "done": True, "records": []})
    batch = _batch_size(call)
    sql, params = q.sql(all_rows=all_rows)
    cur = _execute(con, sql, params)
    first = cur.fetchmany(batch + 1)
    if len(first) <= batch:
        records = [_row_json(q.obj, call.version, [f.name for f in q.fields], r) for r in first]
        return Reply(200, {"totalSize": len(records), "done": True, "records": records})
    # More than one page: snapshot the matching ids, as Salesforce's server-side cursor does.
    id_sql, id_params = _id_query(q, all_rows)
    ids = [r[0] for r in _execute(con, id_sql, id_params)]
    locator = "01g" + secrets.token_hex(8)[:12] + "IAA"
    cursor = Cursor(query=q, ids=ids, position=0, batch=batch, touched=time.time())
    with call.org.cursors_lock:
        stale = [k for k, c in call.org.cursors.items() if c.touched < time.time() - CURSOR_TTL_S]
        for k in stale:
            del call.org.cursors[k]
        call.org.cursors[locator] = cursor
    return _page(call, locator, cursor, all_rows)


def _execute(con: sqlite3.Connection, sql: str, params: list[Any]) -> sqlite3.Cursor:
    """Run a compiled query; what SQLite finds too big to run is Salesforce's
    QUERY_TOO_COMPLICATED, not a 500."""
    try:
        return con.execute(sql, params)
    except sqlite3.OperationalError as exc:
        raise ApiError(400, "QUERY_TOO_COMPLICATED", f"query too complicated: {exc}") from exc


def _id_query(q: Query, all_rows: bool) -> tuple[str, list[Any]]:
    sql, params = q.sql(all_rows=all_rows)
    head = sql.index(" FROM ")
    return 'SELECT "Id"' + sql[head:], params


def _batch_size(call: Call) -> int:
    batch = call.knobs.query_batch_size
    opts = call.headers.get("sforce-query-options", "")
    for part in opts.split(","):
        k, _, v = part.partition("=")
        if k.strip().lower() == "batchsize" and v.strip().isdigit():
            batch = min(max(int(v), 200), 2000)
    return batch


def _next_page(call: Call, token: str, all_rows: bool) -> Reply:
    locator, _, pos = token.rpartition("-")
    with call.org.cursors_lock:
        cursor = call.org.cursors.get(locator)
    if cursor is None or not pos.isdigit():
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    cursor.position = int(pos)
    cursor.touched = time.time()
    return _page(call, locator, cursor, all_rows)


def _page(call: Call, locator: str, cursor: Cursor, all_rows: bool) -> Reply:
    q = cursor.query
    ids = cursor.ids[cursor.position : cursor.position + cursor.batch]
    names = [f.name for f in q.fields]
    pick = names if "Id" in names else [*names, "Id"]
    rows = (
        call.org.store.connection()
        .execute(
            f"SELECT {', '.join(quote(n) for n in pick)} FROM {quote(q.obj.table)} "
            'WHERE "Id" IN (SELECT value FROM json_each(?))',
            (json.dumps(ids),),
        )
        .fetchall()
    )
    by_id = {r[pick.index("Id")]: r[: len(names)] for r in rows}
    records = [_row_json(q.obj, call.version, names, by_id[i]) for i in ids if i in by_id]
    end = cursor.position + len(ids)
    doc: dict[str, Any] = {"totalSize": len(cursor.ids), "done": end >= len(cursor.ids)}
    if end < len(cursor.ids):
        kind = "queryAll" if all_rows else "query"
        doc["nextRecordsUrl"] = f"/services/data/v{call.version}/{kind}/{locator}-{end}"
    else:
        with call.org.cursors_lock:
            call.org.cursors.pop(locator, None)
    doc["records"] = records
    return Reply(200, doc)


# sObject Collections ------------------------------------------------------------------


def collections(call: Call) -> Reply:
    """/composite/sobjects: POST create, PATCH update, DELETE ?ids=, PATCH .../X/Field
    upsert, GET .../X?ids=&fields= (or POST .../X with {"ids", "fields"}) retrieve."""
    m = call.method
    rest = call.parts[2:]
    if len(rest) == 1 and m in ("GET", "POST"):
        return _retrieve(call, _obj(call, rest[0]))
    if m == "DELETE" and not rest:
        ids = [i for i in call.params.get("ids", "").split(",") if i]
        _check_size(len(ids))
        all_or_none = call.params.get("allOrNone", "false").lower() == "true"
        groups: dict[str, list[int]] = {}
        for n, rid in enumerate(ids):
            groups.setdefault(rid[:3], []).append(n)
        results: list[dict[str, Any] | None] = [None] * len(ids)
        for prefix, idx in groups.items():
            obj = next((o for o in call.org.objects.values() if o.key_prefix == prefix), None)
            if obj is None:
                for n in idx:
                    err = RecordError("MALFORMED_ID", f"malformed id {ids[n]}", ["Id"])
                    results[n] = dml.Outcome(errors=[err]).as_json(with_created=False)
                continue
            items = [dml.Item(id=ids[n]) for n in idx]
            outs = dml.execute(call.ctx(), obj, dml.DELETE, items, all_or_none=all_or_none)
            for n, o in zip(idx, outs, strict=True):
                results[n] = o.as_json(with_created=False)
        return Reply(200, results)
    body = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", 'Expected {"allOrNone": ..., "records": [...]}')
    records = body["records"]
    _check_size(len(records))
    all_or_none = bool(body.get("allOrNone", False))
    if not records:
        return Reply(200, [])
    if m == "PATCH" and len(rest) == 2:
        obj = _obj(call, rest[0])
        f = obj.field(rest[1])
        if f is None or not (f.external_id or f.name == "Id"):
            raise ApiError(
                400, "INVALID_FIELD",
                f"Provided external ID field does not exist or is not accessible: {rest[1]}",
            )  # fmt: skip
        items = [_collection_item(call, obj, dml.UPSERT, r) for r in records]
        outs = dml.execute(call.ctx(), obj, dml.UPSERT, items, ext_field=f.name,
                           all_or_none=all_or_none)  # fmt: skip
        return Reply(200, [o.as_json(with_created=True) for o in outs])
    if rest or m not in ("POST", "PATCH"):
        raise _method(m)
    types = {
        str((r.get("attributes") or {}).get("type", "")) for r in records if isinstance(r, dict)
    }
    if len(types) != 1 or "" in types:
        raise ApiError(
            400, "INVALID_FIELD",
            "every record needs attributes.type, and the emulator takes one sObject type per "
            "request",
        )  # fmt: skip
    obj = _obj(call, types.pop())
    op = dml.INSERT if m == "POST" else dml.UPDATE
    items = [_collection_item(call, obj, op, r) for r in records]
    outs = dml.execute(call.ctx(), obj, op, items, all_or_none=all_or_none)
    return Reply(200, [o.as_json(with_created=op == dml.INSERT) for o in outs])


def _retrieve(call: Call, obj: ObjectDef) -> Reply:
    """Records by id, in request order; null where an id matches no live record."""
    if call.method == "GET":
        ids = [i for i in call.params.get("ids", "").split(",") if i]
        names = [n for n in call.params.get("fields", "").split(",") if n]
    else:
        body = call.json()
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", 'Expected {"ids": [...], "fields": [...]}')
        ids, names = list(body.get("ids") or []), list(body.get("fields") or [])
    if not names:
        raise ApiError(400, "MISSING_ARGUMENT", "fields must be specified")
    _check_size(len(ids))
    fields = []
    for raw in names:
        f = obj.field(raw.strip())
        if f is None:
            raise ApiError(
                400, "INVALID_FIELD", f"No such column '{raw}' on sobject of type {obj.name}"
            )
        fields.append(f.name)
    pick = fields if "Id" in fields else [*fields, "Id"]
    wanted = {i: canonical(i) for i in ids}
    rows = (
        call.org.store.connection()
        .execute(
            f"SELECT {', '.join(quote(n) for n in pick)} FROM {quote(obj.table)} "
            'WHERE "Id" IN (SELECT value FROM json_each(?)) AND "IsDeleted" = 0',
            (json.dumps([c for c in wanted.values() if c]),),
        )
        .fetchall()
    )
    by_id = {r[pick.index("Id")]: r[: len(fields)] for r in rows}
    out = []
    for i in ids:
        row = by_id.get(wanted[i] or "")
        out.append(None if row is None else _row_json(obj, call.version, fields, row, wanted[i]))
    return Reply(200, out)


def _collection_item(call: Call, obj: ObjectDef, op: str, record: Any) -> dml.Item:
    if not isinstance(record, dict):
        return dml.Item(error=RecordError("JSON_PARSER_ERROR", "record is not a JSON object"))
    if op == dml.INSERT and record.get("Id"):
        return dml.Item(
            error=RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        )
    return inputs.item_from_json(obj, op, record, call.knobs)


def _check_size(n: int) -> None:
    if n > MAX_COLLECTION:
        raise ApiError(
            400, "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_COLLECTION} records into "
            "this call",
        )  # fmt: skip
