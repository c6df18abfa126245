"""Bring the engine's inputs up to date before a plan: RDS, Salesforce, the models.

Salesforce is read incrementally when the engine already holds an extract: only the
records whose LastModifiedDate is at or after the start of the previous extract (minus
a margin, `OVERLAP`, for clock skew and for transactions that committed after that
extract with an earlier timestamp) are queried, with queryAll so deletions come too,
and merged by Id. A run with nothing to change then
costs one query instead of a full extract. The full extract runs when there is no
extract yet, when the changes are many (above the client's bulk query threshold: a
Bulk API query job is cheaper then), or when asked (`full=True`; run it daily: a
record purged from the recycle bin never shows up in an incremental query).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from propsync import models, sources
from propsync.engines import Engine
from propsync.fields import ENGINE_TABLE
from propsync.salesforce.client import SalesforceClient
from propsync.salesforce.extract import (
    _from_records,
    arrow_schema,
    extract_product_property,
    soql,
)
from propsync.workspace import Workspace

log = logging.getLogger("propsync.sync")

# How far before the previous extract's start the incremental query starts.
OVERLAP = dt.timedelta(minutes=2)
STAGING = f"{ENGINE_TABLE}__delta"
WATERMARK = "_propsync_salesforce_watermark"  # when the engine's extract was taken
_FINGERPRINT = "count(*) AS rows_seen, max(last_modified_date) AS newest_seen"


@dataclass(frozen=True)
class RefreshStats:
    salesforce: str  # "full" or "incremental"
    salesforce_rows: int  # rows extracted (full) or merged (incremental)
    seconds: float


def refresh(
    ws: Workspace,
    client: SalesforceClient,
    progress: Callable[[str, int, int], None] | None = None,
    *,
    full: bool = False,
) -> RefreshStats:
    """Extract RDS, update the Salesforce extract (incrementally unless `full`), migrate
    the state tables (mirrored into the engine when they live in PostgreSQL), build the
    models."""
    started = time.monotonic()
    engine = ws.engine()
    tick = progress or (lambda phase, done, total: None)
    tick("extract", 0, 3)
    sources.extract(ws.config.source, engine, root=ws.root)
    tick("extract", 1, 3)
    kind, rows = refresh_salesforce(client, engine, full=full)
    tick("extract", 2, 3)
    build_models(ws)
    tick("extract", 3, 3)
    stats = RefreshStats(kind, rows, time.monotonic() - started)
    log.info("refresh: %s", stats)
    return stats


def refresh_salesforce(
    client: SalesforceClient, engine: Engine, *, full: bool = False
) -> tuple[str, int]:
    """Bring the engine's Salesforce extract up to date (incrementally unless `full` or
    there is none yet) and stamp its watermark; return ("full" | "incremental", rows)."""
    taken_at = dt.datetime.now(dt.UTC)
    merged = None if full else salesforce_incremental(client, engine)
    if merged is None:
        kind, rows = "full", extract_product_property(client, engine).rows
    else:
        kind, rows = "incremental", merged
    engine.create_table(
        WATERMARK,
        f"SELECT CAST(? AS TIMESTAMPTZ) AS taken_at, {_FINGERPRINT} FROM {ENGINE_TABLE}",
        [taken_at],
    )
    return kind, rows


def build_models(ws: Workspace, *, strict: bool = True) -> list[str]:
    """Build every view in the engine; return their names. The state tables the
    monitoring views read are migrated first (and mirrored into the engine when the
    state lives in PostgreSQL). Run it after every extraction: the RDS side of the
    models is materialised. `strict=False` skips views whose inputs are missing."""
    engine = ws.engine()
    ws.state().mirror_to(engine)
    return list(models.build(engine, strict=strict))


def salesforce_incremental(client: SalesforceClient, engine: Engine) -> int | None:
    """Merge the records changed since the engine's extract; return how many, or None
    when a full extract is needed instead."""
    import pyarrow as pa  # heavy driver: imported on first use

    if not engine.table_exists(ENGINE_TABLE) or not engine.table_exists(WATERMARK):
        return None
    # The extract must still be the one the watermark was taken with: if anything else
    # replaced the table (an older snapshot, say), only a full extract is safe.
    mark = engine.rows(f"SELECT taken_at, rows_seen, newest_seen FROM {WATERMARK}")
    now = engine.rows(f"SELECT {_FINGERPRINT} FROM {ENGINE_TABLE}")
    if not mark or mark[0][0] is None or tuple(mark[0][1:]) != tuple(now[0]):
        return None
    taken_at = mark[0][0]
    since = (taken_at - OVERLAP).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = f"{soql(client.object_name)} WHERE LastModifiedDate >= {since}"
    pages = client.query_pages(query, include_deleted=True)
    first = next(pages, None)
    if first is None:
        return 0
    total, records = first
    if total > client.bulk_query_threshold:
        log.info("refresh: %d records changed since %s; a full extract is cheaper", total, since)
        return None
    schema = arrow_schema()
    batches = [_from_records(records, schema)] if records else []
    for _total, more in pages:
        batches.append(_from_records(more, schema))
    rows = sum(b.num_rows for b in batches)
    if not rows:
        return 0
    engine.load_arrow(STAGING, pa.Table.from_batches(batches, schema=schema))
    try:
        # One transaction: a run killed here leaves the old extract, never a half merge.
        engine.merge_by_key(ENGINE_TABLE, STAGING, "id")
    finally:
        engine.drop(STAGING)
    log.info("refresh: merged %d Salesforce record(s) changed since %s", rows, since)
    return rows
