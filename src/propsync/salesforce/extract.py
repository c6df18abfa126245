"""Extract `product_property__c` into the engine as `salesforce_product_property`.

queryAll, so records in the recycle bin come too (`is_deleted`), through REST paging
for small orgs and a Bulk API 2.0 query job above `bulk_query_threshold` records.
Pages are converted to Arrow with the engine types of `fields.FIELDS` and streamed
into a staging table, which replaces the real one only when the extract is complete,
so a failed extract never leaves a half-filled table behind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from propsync.errors import TerminalSalesforceError
from propsync.fields import ENGINE_TABLE, FIELDS, OBJECT, SFField, engine_table_ddl

if TYPE_CHECKING:
    import pyarrow as pa

    from propsync.engines import Engine
    from propsync.salesforce.client import SalesforceClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractStats:
    rows: int
    deleted_rows: int
    method: str  # "rest" or "bulk"
    pages: int
    api_calls: int
    seconds: float


def soql(object_name: str = OBJECT) -> str:
    """The extract query: every field of the contract, in contract order."""
    return f"SELECT {', '.join(f.name for f in FIELDS)} FROM {object_name}"


def arrow_schema() -> pa.Schema:
    import pyarrow as pa  # heavy driver: imported on first use

    types = {
        "VARCHAR": pa.string(),
        "BOOLEAN": pa.bool_(),
        "INTEGER": pa.int32(),
        "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    }
    return pa.schema([(f.column, types[f.engine_type]) for f in FIELDS])


def extract_product_property(
    client: SalesforceClient,
    engine: Engine,
    *,
    bulk_threshold: int | None = None,
    table: str = ENGINE_TABLE,
) -> ExtractStats:
    """Replace `table` in the engine with every `product_property__c` record, deleted
    ones included. Uses REST queryAll up to `bulk_threshold` records (default: the
    client's `bulk_query_threshold`), a Bulk API 2.0 queryAll job above it."""
    import pyarrow as pa  # heavy driver: imported on first use

    threshold = client.bulk_query_threshold if bulk_threshold is None else bulk_threshold
    started, calls0 = time.monotonic(), client.calls
    query = soql(client.object_name)
    staging = f"{table}__staging"
    engine.execute(engine_table_ddl(staging))
    schema = arrow_schema()
    rows = pages = 0
    method = "rest"
    try:
        batches: Iterator[pa.RecordBatch]
        rest = client.query_pages(query, include_deleted=True) if threshold > 0 else None
        first = next(rest) if rest is not None else None
        if first is None or first[0] > threshold:
            method = "bulk"
            log.info("extract: %s records, using a Bulk API 2.0 query", first and first[0])
            batches = (_from_strings(t, schema) for t in client.bulk_query(query, all_rows=True))
        else:
            assert rest is not None
            batches = _rest_batches(first[1], rest, schema)
        for batch in batches:
            pages += 1
            if batch.num_rows:
                engine.load_arrow(staging, pa.Table.from_batches([batch]), mode="append")
                rows += batch.num_rows
        engine.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM "{staging}"')
    finally:
        engine.execute(f'DROP TABLE IF EXISTS "{staging}"')
    deleted = int(engine.scalar(f'SELECT count(*) FROM "{table}" WHERE is_deleted'))
    stats = ExtractStats(
        rows=rows,
        deleted_rows=deleted,
        method=method,
        pages=pages,
        api_calls=client.calls - calls0,
        seconds=time.monotonic() - started,
    )
    log.info("extract: %s", stats)
    return stats


def _rest_batches(
    first: list[dict[str, Any]],
    rest: Iterator[tuple[int, list[dict[str, Any]]]],
    schema: pa.Schema,
) -> Iterator[pa.RecordBatch]:
    yield _from_records(first, schema)
    for _total, records in rest:
        yield _from_records(records, schema)


def _from_records(records: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    """REST JSON records (typed values, datetimes as text) to one Arrow batch."""
    import pyarrow as pa  # heavy driver: imported on first use

    ids = [r.get("Id") for r in records]
    arrays = []
    for f in FIELDS:
        values = [r.get(f.name) for r in records]
        try:
            raw = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            raise _bad_value(f, ids, values) from None
        arrays.append(_convert(f, raw, ids, values))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _from_strings(table: pa.Table, schema: pa.Schema) -> pa.RecordBatch:
    """A Bulk API result page (all text, empty = null) to one Arrow batch."""
    import pyarrow as pa  # heavy driver: imported on first use

    by_name = {name.lower(): name for name in table.column_names}
    missing = [f.name for f in FIELDS if f.name.lower() not in by_name]
    if missing:
        raise TerminalSalesforceError(f"bulk query result lacks the fields {missing}")
    table = table.combine_chunks()
    ids = table.column(by_name["id"]).to_pylist()
    arrays = []
    for f in FIELDS:
        col = table.column(by_name[f.name.lower()])
        raw = col.chunk(0) if col.num_chunks else pa.array([], pa.string())
        arrays.append(_convert(f, raw, ids, None))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _convert(f: SFField, raw: pa.Array, ids: list[Any], values: list[Any] | None) -> pa.Array:
    # heavy driver: imported on first use
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        if f.engine_type == "BOOLEAN":
            if pa.types.is_string(raw.type):
                lowered = pc.utf8_lower(raw)
                valid = pc.is_in(lowered, value_set=pa.array(["true", "false"]))
                if not pc.all(pc.or_kleene(valid, pc.is_null(raw)), min_count=0).as_py():
                    raise pa.ArrowInvalid("not a boolean")
                return pc.equal(lowered, "true")
            return raw.cast(pa.bool_())
        if f.engine_type == "INTEGER":
            number = raw.cast(pa.float64())
            # min_count=0: no records (a new object, an org holding none yet) is no error.
            if not pc.all(
                pc.or_kleene(pc.equal(number, pc.floor(number)), pc.is_null(number)),
                min_count=0,
            ).as_py():
                raise pa.ArrowInvalid("not a whole number")
            return number.cast(pa.int32())
        if f.engine_type == "TIMESTAMPTZ":
            return raw.cast(pa.string()).cast(pa.timestamp("us", tz="UTC"))
        if not (pa.types.is_string(raw.type) or pa.types.is_null(raw.type)):
            raise pa.ArrowInvalid("not text")
        return raw.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        raise _bad_value(f, ids, values if values is not None else raw.to_pylist()) from None


def _bad_value(f: SFField, ids: list[Any], values: list[Any]) -> TerminalSalesforceError:
    """Name the first record whose value of `f` does not fit the field contract."""
    import pyarrow as pa  # heavy driver: imported on first use

    target = {
        "BOOLEAN": pa.bool_(),
        "INTEGER": pa.float64(),
        "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
        "VARCHAR": pa.string(),
    }[f.engine_type]
    for record_id, value in zip(ids, values, strict=True):
        if value is None:
            continue
        try:
            if f.engine_type == "TIMESTAMPTZ":
                pa.array([str(value)]).cast(target)
                if not isinstance(value, str):
                    raise TypeError
            elif f.engine_type == "BOOLEAN":
                if not isinstance(value, bool) and str(value).lower() not in ("true", "false"):
                    raise TypeError
            elif f.engine_type == "INTEGER":
                number = float(value)
                if isinstance(value, bool) or not number.is_integer():
                    raise TypeError
            elif not isinstance(value, str):
                raise TypeError
        except (pa.ArrowInvalid, TypeError, ValueError):
            return TerminalSalesforceError(
                f"record {record_id}: field {f.name}: cannot read {value!r} as {f.type}"
            )
    return TerminalSalesforceError(f"field {f.name}: values do not fit type {f.type}")
