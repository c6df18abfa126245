"""Benchmark the SQL models on DuckDB at 1M and 10M properties, and the PostgreSQL
extraction of about 1M properties into the engine.

    .venv/bin/python bench/models.py                  # 1M and 10M, plus PostgreSQL 1M
    .venv/bin/python bench/models.py --scales 1000000 --no-postgres

For each scale: generate the scenario into a DuckDB source file (not timed), then in a
fresh child process (so its peak RSS is its own): copy the RDS tables and the org's
starting state into the engine ("load"), create the views ("build": on DuckDB this stores
rds_properties_normalized as a table), materialise what a sync's plan reads ("queues": the
create queue and the changed part of the update queue into temporary tables), then
count the update queue and query three dashboard widgets ("dashboard"). Prints a
markdown table with the wall times and the CPU seconds of build + queues (comparable
across hosts of different speed).
Target (DESIGN.md): build + queues at 10M under 20 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _cpu_s() -> float:
    """User + system CPU seconds of this process so far (all DuckDB threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(
    scale: int, folder: Path, target: str | None = None, *, reuse: bool = False
) -> dict[str, Any]:
    """Generate the scenario into `folder`; with `reuse`, keep a previous run's files
    for the same scale (the marker file `scale.json` says which)."""
    from propsync.generate.core import generate as gen

    marker = folder / "scale.json"
    if reuse and target is None and marker.exists():
        known = json.loads(marker.read_text())
        if known.get("scale") == scale:
            return {**known, "seconds": 0.0, "reused": True}
    if folder.exists():
        shutil.rmtree(folder)
    started = time.perf_counter()
    truth = gen(
        scale=scale,
        rds_target=target or f"duckdb:{folder / 'rds.duckdb'}",
        out_dir=folder / "generated",
    )
    out = {"scale": scale, "properties": truth["properties_total"]}
    if target is None:
        marker.write_text(json.dumps(out))
    return {**out, "seconds": time.perf_counter() - started}


def measure_models(folder: Path, threads: int, memory_limit: str) -> dict[str, Any]:
    """Child process: load, build, materialise; returns timings and peak RSS."""
    from propsync import models
    from propsync.engines.duckdb import DuckDBEngine
    from propsync.generate.sfstate import load_salesforce_state_into_engine
    from propsync.sources.embedded import extract_duckdb

    out: dict[str, Any] = {}
    engine_file = folder / "propsync.duckdb"
    for stale in (engine_file, engine_file.with_name(engine_file.name + ".wal")):
        stale.unlink(missing_ok=True)
    engine = DuckDBEngine(engine_file, threads=threads, memory_limit=memory_limit)
    t = time.perf_counter()
    extract_duckdb(folder / "rds.duckdb", engine)
    load_salesforce_state_into_engine(
        engine, folder / "generated" / "salesforce_product_property.parquet"
    )
    out["load_s"] = time.perf_counter() - t
    t, cpu = time.perf_counter(), _cpu_s()
    built = models.build(engine, strict=False)
    out["build_s"] = time.perf_counter() - t
    out["views"] = len(built)
    # What a sync's plan does: the create queue and the changed part of the update queue
    # into temporary tables, plus the size of the whole update queue.
    t = time.perf_counter()
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE bench_create AS SELECT * FROM properties_to_create"
    )
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE bench_update AS SELECT * FROM properties_to_update"
        " WHERE has_changes_since_last_sync"
    )
    out["queues_s"] = time.perf_counter() - t
    # CPU seconds compare across hosts of different speed better than wall time does.
    out["build_queues_cpu_s"] = _cpu_s() - cpu
    out["create_queue"] = engine.scalar("SELECT COUNT(*) FROM bench_create")
    out["updates_pending"] = engine.scalar("SELECT COUNT(*) FROM bench_update")
    t = time.perf_counter()
    out["update_queue"] = engine.scalar("SELECT COUNT(*) FROM properties_to_update")
    for view in ("feature_sync_accuracy", "properties_missing_from_sf", "multi_property_stats"):
        engine.rows(f"SELECT * FROM {view}")
    out["dashboard_s"] = time.perf_counter() - t
    out["properties"] = engine.scalar("SELECT COUNT(*) FROM properties")
    engine.close()
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def measure_postgres(scale: int, work: Path) -> dict[str, Any]:
    import uuid

    import psycopg

    from propsync.engines.duckdb import DuckDBEngine
    from propsync.sources.postgres import extract_tables

    name = f"propsync_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        gen = generate(scale, work, target=dsn)
        engine = DuckDBEngine(work / "pg_engine.duckdb", threads=2)
        t = time.perf_counter()
        stats = extract_tables(dsn, engine)
        seconds = time.perf_counter() - t
        rows = {n: s.rows_read for n, s in stats.tables.items()}
        engine.close()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    total = sum(int(v) for v in rows.values() if v is not None)
    return {
        "generate_s": gen["seconds"],
        "extract_s": seconds,
        "rows": rows,
        "rows_per_s": total / seconds if seconds else None,
        "properties": gen["properties"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1000000,10000000")
    parser.add_argument("--work", type=Path, default=Path("/tmp/propsync-bench-models"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="8GB")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--keep", action="store_true", help="Keep the generated files.")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Reuse the files of an earlier --keep run of the same scale (implies --keep).",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="Measure each scale N times (fresh process each)."
    )
    parser.add_argument("--postgres-scale", type=int, default=1_000_000)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_models(args.child, args.threads, args.memory_limit)))
        return

    keep = args.keep or args.reuse
    rows = []
    for scale in (int(s) for s in args.scales.split(",")):
        folder = args.work / f"scale-{scale}"
        gen = generate(scale, folder, reuse=args.reuse)
        for attempt in range(args.repeat):
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    str(folder),
                    "--threads",
                    str(args.threads),
                    "--memory-limit",
                    args.memory_limit,
                ],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            result = json.loads(child.stdout.strip().splitlines()[-1])
            result["scale"] = scale
            result["generate_s"] = gen["seconds"]
            result["load_avg"] = os.getloadavg()[0]
            rows.append(result)
            print(f"scale {scale} run {attempt + 1}: {result}", file=sys.stderr)
        (folder / "propsync.duckdb").unlink(missing_ok=True)
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)

    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    print()
    print(
        "| scale | properties | load s | build s | queues s | dashboard s | build+queues s |"
        " build+queues CPU s | create queue | update queue | pending | peak RSS MB | load avg |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['scale']:,} | {r['properties']:,} | {r['load_s']:.2f} | {r['build_s']:.2f} |"
            f" {r['queues_s']:.2f} | {r['dashboard_s']:.2f} |"
            f" {r['build_s'] + r['queues_s']:.2f} | {r['build_queues_cpu_s']:.1f} |"
            f" {r['create_queue']:,} |"
            f" {r['update_queue']:,} | {r['updates_pending']:,} | {r['peak_rss_mb']:.0f} |"
            f" {r['load_avg']:.1f} |"
        )
    if not args.no_postgres:
        pg = measure_postgres(args.postgres_scale, args.work / "postgres")
        shutil.rmtree(args.work / "postgres", ignore_errors=True)
        print()
        print("| PostgreSQL extraction | properties | rows (all tables) | seconds | rows/s |")
        print("|---|---:|---:|---:|---:|")
        total = sum(int(v) for v in pg["rows"].values() if v is not None)
        print(
            f"| ADBC bulk into DuckDB | {pg['properties']:,} | {total:,} |"
            f" {pg['extract_s']:.2f} | {pg['rows_per_s']:,.0f} |"
        )


if __name__ == "__main__":
    main()
