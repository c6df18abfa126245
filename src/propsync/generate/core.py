"""`generate`: the plan's scenario as RDS tables, the org's starting state and the truth."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from propsync.errors import UsageError
from propsync.generate import compose, construction, schema, special, truth
from propsync.generate.bulk import build_chunk
from propsync.generate.keys import KeyMap
from propsync.generate.writers import open_writer

DEFAULT_SCALE = compose.PLAN_SCALE
DEFAULT_SEED = 7
CHUNK_SIZE = 250_000
SALESFORCE_FILE = "salesforce_product_property.parquet"
TRUTH_FILE = "ground_truth.json"
FIRST_BULK_ID = 100_001


@dataclass
class GroundTruth:
    """The counts of `ground_truth.json` (see `propsync.generate.truth`) and what was
    written: `rds_target`, `salesforce_parquet`, `ground_truth_json`."""

    counts: dict[str, Any]
    rds_target: str
    salesforce_parquet: Path
    ground_truth_json: Path
    seconds: float = 0.0
    paths: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.counts[key]


def default_now() -> datetime:
    """The current UTC time truncated to the hour."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def generate(
    scale: int = DEFAULT_SCALE,
    seed: int = DEFAULT_SEED,
    *,
    rds_target: str,
    out_dir: Path,
    now: datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
    truth_from: str = "auto",
    progress: Any = None,
    key_type: str = "int",
) -> GroundTruth:
    """Write the scenario: RDS tables into `rds_target` (`duckdb:PATH` or a PostgreSQL
    DSN), `salesforce_product_property.parquet` and `ground_truth.json` into `out_dir`.

    `scale` is the size of the plan's queues (create + update; ACTIVE properties are that
    minus the few records of inactive properties), `now` (default: this hour, UTC)
    anchors every relative date. Deterministic in (scale, seed, now, chunk_size); streams
    `chunk_size` properties at a time. `progress(done, total)` is called per chunk.

    The truth is counted from the rows in plain Python (`truth_from="rows"`, the default
    up to 250k) or, for the bulk, from the arrays the rows were made of
    (`"construction"`, the default above that; see `propsync.generate.construction`).
    `key_type` (int, uuid, text) keys the same scenario on that type (R9; see
    `propsync.generate.keys`): the same rows, org and counts.
    """
    import pyarrow.parquet as pq  # heavy driver: imported on first use

    if scale < 1 or chunk_size < 1:
        raise UsageError("scale and chunk size must be positive")
    try:
        keys = KeyMap(key_type)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    now = now or default_now()
    if now.tzinfo is None:
        raise UsageError("now must be timezone-aware")
    now = now.astimezone(UTC)
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)

    companies, prop_rows, feat_rows, rec_rows = special.build(now)
    props = pa.Table.from_pylist(prop_rows, schema=schema.PROPERTIES)
    feats = pa.Table.from_pylist(feat_rows, schema=schema.PROPERTY_FEATURES)
    recs = pa.Table.from_pylist(rec_rows, schema=schema.SALESFORCE)
    special_truth = truth.count(props, feats, recs, now)
    specs = compose.chunk_specs(scale, special_truth, chunk_size)
    n_companies = max(10, scale // 25)

    parquet_path = out_dir / SALESFORCE_FILE
    tmp_parquet = parquet_path.with_suffix(".parquet.tmp")
    writer = open_writer(rds_target, keys)
    sf_writer = pq.ParquetWriter(tmp_parquet, schema.SALESFORCE)
    parts: list[dict[str, Any]] = []
    # Counting the truth in plain Python is the slow part; with several chunks it runs in
    # worker processes while this one generates and writes the next chunk. At most two
    # chunks wait for a worker, so memory stays bounded.
    if truth_from not in ("auto", "rows", "construction"):
        raise UsageError(f"truth_from must be auto, rows or construction, not {truth_from!r}")
    by_construction = truth_from == "construction" or (
        truth_from == "auto" and scale > construction.ROWS_LIMIT
    )
    pool = None if by_construction else _pool(len(specs))
    pending: deque[Future[dict[str, Any]]] = deque()
    try:
        special_companies = pa.Table.from_pylist(companies, schema=schema.COMPANIES)
        writer.append("companies", keys.rds_table("companies", special_companies))
        for start in range(0, n_companies, chunk_size):
            chunk = _companies(start, min(n_companies, start + chunk_size), now)
            writer.append("companies", keys.rds_table("companies", chunk))
        first_id = FIRST_BULK_ID
        for spec in specs:
            p, f, r, facts = build_chunk(
                spec, first_id=first_id, seed=seed, now=now, companies=n_companies
            )
            first_id += p.num_rows
            if by_construction:
                parts.append(construction.count(facts, p, now))
                if spec.index == 0:
                    parts.append(special_truth)
            if spec.index == 0:
                p = pa.concat_tables([props, p])
                f = pa.concat_tables([feats, f])
                r = pa.concat_tables([recs, r])
            writer.append("properties", keys.rds_table("properties", p))
            writer.append("property_features", keys.rds_table("property_features", f))
            sf_writer.write_table(keys.salesforce_table(r))
            if not by_construction and pool is None:
                parts.append(truth.count(p, f, r, now))
            elif not by_construction and pool is not None:
                pending.append(pool.submit(truth.count, *truth.needed_columns(p, f, r), now))
                while len(pending) > 2:
                    parts.append(pending.popleft().result())
            if progress is not None:
                progress(spec.index + 1, len(specs))
        parts.extend(future.result() for future in pending)
    finally:
        sf_writer.close()
        writer.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    os.replace(tmp_parquet, parquet_path)

    counts: dict[str, Any] = {
        "scale": scale,
        "seed": seed,
        "now": now.isoformat(),
        "chunk_size": chunk_size,
        "key_type": key_type,
        "truth_from": "construction" if by_construction else "rows",
        "companies": n_companies + len(companies),
    }
    counts.update(truth.merge(parts))
    counts = keys.truth(counts)
    truth_path = out_dir / TRUTH_FILE
    truth_path.write_text(json.dumps(counts, indent=2, ensure_ascii=False) + "\n", "utf-8")
    result = GroundTruth(
        counts=counts,
        rds_target=rds_target,
        salesforce_parquet=parquet_path,
        ground_truth_json=truth_path,
        seconds=time.perf_counter() - started,
    )
    result.paths = {
        "rds_target": _redact(rds_target),
        "salesforce_parquet": str(parquet_path),
        "ground_truth_json": str(truth_path),
    }
    return result


def _pool(chunks: int) -> ProcessPoolExecutor | None:
    if chunks < 2:
        return None
    # spawn: never fork a process that holds a database connection
    return ProcessPoolExecutor(
        max_workers=min(2, os.cpu_count() or 1), mp_context=multiprocessing.get_context("spawn")
    )


def _redact(target: str) -> str:
    # A DSN may carry a password; never echo it back.
    if "://" in target and "@" in target:
        scheme, rest = target.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}" if ":" in creds else target
    return target


def _companies(start: int, stop: int, now: datetime) -> pa.Table:
    import numpy as np
    import pyarrow.compute as pc

    ids = np.arange(start + 4, stop + 4, dtype=np.int64)
    text = pc.cast(pa.array(ids), pa.string())
    # every 7th company has a non-ASCII name
    head = pa.array(np.where(ids % 7 == 0, "Compañía", "Company"))
    now_s = int(now.timestamp())
    created = (now_s - (ids % 2500) * 86_400 - 3 * 86_400).astype("datetime64[s]")
    return pa.table(
        {
            "id": pa.array(ids),
            "name": pc.binary_join_element_wise(head, text, pa.array(["Holdings"] * len(ids)), " "),
            "created_at": pa.array(created.astype("datetime64[us]"), schema.TS),
            "updated_at": pa.array(created.astype("datetime64[us]"), schema.TS),
        },
        schema=schema.COMPANIES,
    )
