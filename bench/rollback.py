"""Benchmark: the converging sync of a scale-N org and its rollback, side by side.

    .venv/bin/python bench/rollback.py [--scale 1000000] [--keep-created]

The scenario and its loaded org come from bench/sync.py's cache (`--cache`, generated
once per scale and copied for each invocation). In one invocation, on one fresh copy
of the org, each in its own child process (the emulator in another, latency 0):

1. the converging run, `run_sync(ws, "all")` with the default configuration (at 1M:
   119k creates and 298k changed records, 417k writes by Bulk API 2.0);
2. its rollback, `rollback(ws, RUN_ID, delete_created=True)`: every field restored to
   its before value and every created record deleted, so it touches the same records
   (`--keep-created` leaves the created records, as the command does by default).

Reports the wall time of each, their ratio (target: rollback <= 1.5x the run), the
peak RSS of the rollback's process (target: under 1 GB) and of each of its phases, and
checks the rollback undid what the run did (restored = records the run updated,
deleted = records it created, no drift, nothing failed). Prints a markdown table and
one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sync as bench_sync  # bench/sync.py: the cached org, the emulator, the run's child

HERE = Path(__file__).resolve()
RATIO_TARGET = 1.5
RSS_TARGET_MB = 1024


def contender_rollback(root: Path, delete_created: bool) -> dict[str, Any]:
    """Roll back the workspace's latest sync run (in this child process)."""
    from propsync.rollout.rollback import rollback
    from propsync.workspace import Workspace

    rss = bench_sync._RssByPhase()
    with Workspace.open(root / "propsync.toml") as ws:
        source = ws.state().runs.recent(limit=1, sync="all")[0]
        t0 = time.perf_counter()
        result = rollback(ws, source.run_id, delete_created=delete_created, progress=rss.progress)
        wall = time.perf_counter() - t0
    return {
        "rss_mb_by_phase": rss.stop(),
        "wall_s": wall,
        "source_run_id": source.run_id,
        "source_updated": source.updated,
        "source_created": source.created,
        "status": result.status,
        "api_calls": result.api_calls,
        "restored": result.restored,
        "deleted": result.deleted,
        "failed": result.failed,
        "drift": result.plan.drift_count,
        "created_left": result.plan.created_left_count,
        "phases_s": {k: round(v, 2) for k, v in result.phases.items()},
    }


def _child(root: Path, delete_created: bool) -> dict[str, Any]:
    cmd = [sys.executable, str(HERE), "--contender", "rollback", "--root", str(root)]
    if not delete_created:
        cmd.append("--keep-created")
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"rollback failed:\n{proc.stderr.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return result


def side_by_side(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    cached = argparse.Namespace(memory_scale=args.scale, cache=args.cache)
    base = bench_sync._memory_base(cached)
    root = tmp / "org"
    root.mkdir()
    shutil.copy(base / "rds.duckdb", root / "rds.duckdb")
    shutil.copytree(base / "emulator", root / "emulator")
    (root / "propsync.toml").write_text(bench_sync.CONFIG.format(share=1.0), encoding="utf-8")
    emu = bench_sync._start_emulator(root / "emulator", 0)
    try:
        run = bench_sync._child("propsync", root, [])
        print(f"run: {run}", file=sys.stderr)
        back = _child(root, not args.keep_created)
        print(f"rollback: {back}", file=sys.stderr)
    finally:
        emu.terminate()
        emu.wait(timeout=60)
    # ru_maxrss of a child started by fork+exec carries the parent's high-water mark
    # (this process generated the scenario when the cache was cold): the peak sampled
    # every 20 ms in the child is its own.
    for r in (run, back):
        r["sampled_peak_rss_mb"] = max(r["rss_mb_by_phase"].values())
    ratio = back["wall_s"] / run["wall_s"]
    undone = (
        back["status"] == "SUCCEEDED"
        and back["restored"] == back["source_updated"]
        and back["deleted"] == (0 if args.keep_created else back["source_created"])
        and back["failed"] == 0
        and back["drift"] == 0
    )
    return {
        "scale": args.scale,
        "run": run,
        "rollback": back,
        "ratio": round(ratio, 3),
        "ratio_ok": ratio <= RATIO_TARGET,
        "rss_ok": back["sampled_peak_rss_mb"] < RSS_TARGET_MB,
        "undone": undone,
    }


def _print(report: dict[str, Any]) -> None:
    run, back = report["run"], report["rollback"]
    writes = back["restored"] + back["deleted"]
    print(f"scale {report['scale']:,}; {report['machine']}; `{report['command']}`")
    print()
    print(
        "| step | wall s | records written | API calls | peak RSS MB (sampled / ru_maxrss) |"
        " phases s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    print(
        f"| converging run | {run['wall_s']:.1f} | {run['written']:,} | {run['api_calls']} |"
        f" {run['sampled_peak_rss_mb']:,.0f} / {run['peak_rss_mb']:,.0f} | {run['phases_s']} |"
    )
    print(
        f"| its rollback ({back['restored']:,} restored, {back['deleted']:,} deleted) |"
        f" {back['wall_s']:.1f} | {writes:,} | {back['api_calls']} |"
        f" {back['sampled_peak_rss_mb']:,.0f} / {back['peak_rss_mb']:,.0f} | {back['phases_s']} |"
    )
    print()
    print(
        f"ratio {report['ratio']:.2f} (target <= {RATIO_TARGET}: "
        f"{'met' if report['ratio_ok'] else 'MISSED'}); rollback peak RSS"
        f" {back['sampled_peak_rss_mb']:,.0f} MB (target < {RSS_TARGET_MB}: "
        f"{'met' if report['rss_ok'] else 'MISSED'}); by phase {back['rss_mb_by_phase']};"
        f" undone exactly as audited: {report['undone']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1_000_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/propsync-bench-sync-cache"))
    parser.add_argument("--keep-created", action="store_true")
    parser.add_argument("--contender")
    parser.add_argument("--root", type=Path)
    args = parser.parse_args()

    if args.contender:
        out = contender_rollback(args.root, not args.keep_created)
        out["peak_rss_mb"] = round(bench_sync._peak_rss_mb(), 1)
        print(json.dumps(out))
        return

    report: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
    }
    with tempfile.TemporaryDirectory(prefix="propsync-bench-rollback-") as tmp_name:
        report |= side_by_side(args, Path(tmp_name))
    _print(report)
    print(json.dumps(report))
    if not report["undone"]:
        raise SystemExit("the rollback did not undo what the run wrote")


if __name__ == "__main__":
    main()
