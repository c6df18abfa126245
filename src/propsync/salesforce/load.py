"""Load the generator's Salesforce starting state into an org, through the API only,
so the same code fills the emulator and a real sandbox.

The file (`salesforce_product_property.parquet`) holds records with API names,
including `Id` and `IsDeleted`. Ids cannot be chosen on insert, so records get new
ones. Records that must end in the recycle bin are inserted and deleted first, in
rounds where each external id appears once, and the live records are inserted last:
Salesforce keeps uniqueness among live records only, so a live record may share its
external id with a deleted one, and this order is the only one in which both load.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from propsync.emulator.knobs import ADMIN_HEADER, KNOBS_HEADER
from propsync.errors import TerminalSalesforceError, UsageError
from propsync.fields import EXTERNAL_ID, FIELDS
from propsync.salesforce.errors import RecordResult

if TYPE_CHECKING:
    import pyarrow as pa

    from propsync.salesforce.client import SalesforceClient

log = logging.getLogger(__name__)

SYSTEM_FIELDS = frozenset(
    {"Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "LastModifiedById"}
)
# Every writable field of the contract, sf_property_id__c included (the starting state
# is what the Salesforce workflow already wrote).
INSERT_COLUMNS = [f.name for f in FIELDS if f.name not in SYSTEM_FIELDS]
# Salesforce lets an insert set these when the org grants "Set Audit Fields upon Record
# Creation"; they keep the starting state's history (who last touched each record).
AUDIT_FIELDS = ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById")
_SLICE_ROWS = 500_000


@dataclass
class LoadStats:
    inserted: int = 0
    deleted: int = 0
    failed: list[RecordResult] = field(default_factory=list)
    jobs: int = 0
    audit_fields: bool = False  # whether CreatedDate/LastModified* were set on insert
    api_calls: int = 0
    seconds: float = 0.0


def load_starting_state(
    client: SalesforceClient,
    parquet_path: Path | str,
    *,
    strict: bool = True,
    audit_fields: bool = True,
    hold_workflow: bool = True,
) -> LoadStats:
    """Insert the records of `parquet_path` into the org and delete those marked
    IsDeleted. Refuses an org that already holds records of the object (a starting
    state loads into an empty org). With `audit_fields`, CreatedDate and
    LastModified* are set from the file where the org allows it (without the
    permission the first job is refused as a whole, and the load goes on without
    them). With `strict`, any record the org refuses raises a TerminalSalesforceError
    naming the records, the codes and the fields.

    The file is the org *after* its workflow ran: a record without sf_property_id__c
    must stay without one. `hold_workflow` asks the emulator not to run the workflow
    on these inserts (header `X-Emulator-Knobs`, with the emulator's admin token that
    `connect()` put on the client; sent only when it did); on a real org deactivate the
    flow for the duration of the load."""
    import pyarrow.dataset as ds  # heavy driver: imported on first use

    path = Path(parquet_path)
    if not path.exists():
        raise UsageError(f"{path}: no such starting-state file (run `propsync generate`)")
    started, calls0 = time.monotonic(), client.calls
    existing = next(
        client.query_all(f"SELECT Id FROM {client.object_name} LIMIT 1", include_deleted=True),
        None,
    )
    if existing is not None:
        raise TerminalSalesforceError(
            f"the org already holds {client.object_name} records (e.g. {existing['Id']}); "
            "a starting state loads into an empty org "
            "(for the emulator: `propsync generate --reset-org`)"
        )
    dataset = ds.dataset(path, format="parquet")
    names = set(dataset.schema.names)
    missing = [c for c in [*INSERT_COLUMNS, "IsDeleted"] if c not in names]
    if missing:
        raise UsageError(f"{path}: the starting state lacks the columns {missing}")
    held = {h: client.extra_headers.get(h) for h in (KNOBS_HEADER, ADMIN_HEADER)}
    if hold_workflow and client.emulator_admin_token:
        # Only the local emulator (whose admin token connect() knows) takes the knob.
        client.extra_headers[KNOBS_HEADER] = json.dumps({"workflow_enabled": False})
        client.extra_headers[ADMIN_HEADER] = client.emulator_admin_token
    try:
        stats = _load(client, dataset, names, audit_fields)
    finally:
        for header, value in held.items():
            if value is None:
                client.extra_headers.pop(header, None)
            else:
                client.extra_headers[header] = value
    stats.api_calls = client.calls - calls0
    stats.seconds = time.monotonic() - started
    log.info(
        "starting state: %d inserted, %d deleted, %d failed, %d API calls",
        stats.inserted,
        stats.deleted,
        len(stats.failed),
        stats.api_calls,
    )
    if strict and stats.failed:
        raise TerminalSalesforceError(_describe_failures(stats.failed))
    return stats


def _load(client: SalesforceClient, dataset: Any, names: set[str], audit_fields: bool) -> LoadStats:
    # heavy driver: imported on first use
    import pyarrow as pa
    import pyarrow.compute as pc

    deleted_filter = pc.field("IsDeleted") == pa.scalar(True)
    stats = LoadStats()
    columns = list(INSERT_COLUMNS)
    if audit_fields:
        columns += [c for c in AUDIT_FIELDS if c in names]
    stats.audit_fields = len(columns) > len(INSERT_COLUMNS)

    # 1. Records that end in the recycle bin: insert, then delete, a round at a time.
    doomed = dataset.to_table(columns=columns, filter=deleted_filter)
    for round_table in _rounds(doomed):
        inserted = _insert(client, round_table, stats)
        ids = [{"Id": r.id} for r in inserted if r.id]
        if ids:
            result = client.bulk_ingest("delete", ids, columns=["Id"])
            stats.jobs += len(result.jobs)
            stats.deleted += result.succeeded
            stats.failed.extend(result.failed)

    # 2. Live records, streamed in slices so a 10M-record state never sits in memory.
    live_filter = ~deleted_filter | pc.field("IsDeleted").is_null()
    for batch_table in _slices(dataset, live_filter, columns):
        _insert(client, batch_table, stats)
    return stats


def _insert(client: SalesforceClient, table: pa.Table, stats: LoadStats) -> list[RecordResult]:
    if table.num_rows == 0:
        return []
    if not stats.audit_fields:
        table = table.select(INSERT_COLUMNS)
    result = client.bulk_ingest("insert", table, columns=table.column_names, key=EXTERNAL_ID)
    if stats.audit_fields and _audit_refused(result.results):
        log.warning("the org does not allow setting audit fields on insert; loading without")
        stats.audit_fields = False
        return _insert(client, table, stats)
    stats.jobs += len(result.jobs)
    stats.inserted += result.succeeded
    stats.failed.extend(result.failed)
    return [r for r in result.results if r.success]


def _audit_refused(results: list[RecordResult]) -> bool:
    """Every record failed, and for naming an audit field (no Set Audit Fields permission)."""
    if not results or any(r.success for r in results):
        return False
    for r in results:
        text = " ".join(f"{e.code} {e.message} {' '.join(e.fields)}" for e in r.errors)
        if not any(name in text for name in AUDIT_FIELDS):
            return False
    return True


def _rounds(table: pa.Table) -> Iterator[pa.Table]:
    """Split rows so that no external id (compared case-insensitively, as Salesforce
    compares unique text) appears twice in one round."""
    import pyarrow as pa  # heavy driver: imported on first use

    keys = table.column(EXTERNAL_ID).to_pylist()
    round_of: list[int] = []
    seen: dict[str, int] = {}
    for k in keys:
        norm = (k or "").lower()
        n = seen.get(norm, -1) + 1
        seen[norm] = n
        round_of.append(n)
    rounds = max(round_of, default=-1) + 1
    index = pa.array(round_of)
    for r in range(rounds):
        yield table.filter(pa.compute.equal(index, r))


def _slices(dataset: object, flt: object, columns: list[str]) -> Iterator[pa.Table]:
    import pyarrow as pa  # heavy driver: imported on first use

    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in dataset.to_batches(columns=columns, filter=flt):  # type: ignore[attr-defined]
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        rows += batch.num_rows
        if rows >= _SLICE_ROWS:
            yield pa.Table.from_batches(pending)
            pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _describe_failures(failed: list[RecordResult], limit: int = 10) -> str:
    lines = [f"{len(failed)} records of the starting state were refused:"]
    for r in failed[:limit]:
        for e in r.errors or []:
            fields = f" (fields: {', '.join(e.fields)})" if e.fields else ""
            lines.append(f"  {EXTERNAL_ID}={r.key}: {e.code} {e.message}{fields}")
    if len(failed) > limit:
        lines.append(f"  ... and {len(failed) - limit} more")
    return "\n".join(lines)
