"""Benchmark: Sync A + Sync B of the plan's scenario, side by side, against the emulator
at 100 ms latency per API call, and a no-op run over 1M properties.

    .venv/bin/python bench/sync.py [--scale 9061] [--latency-ms 100] [--noop-scale 1000000]
    .venv/bin/python bench/sync.py --skip-side-by-side --noop-scale 0 --memory-scale 1000000

`--memory-scale N` measures the peak RSS (and the peak of each phase) of the converging
sync of a scale-N org with the default configuration; the scenario and the loaded org
are generated once into `--cache` and copied for each run.

Contenders, each on its own fresh org loaded with the same starting state, each in its
own child process (so the peak RSS is its own; the emulator runs in another process):

- propsync: `run_sync(ws, "all")`, including its extraction of RDS and Salesforce and
  the model build (it decides what to write; the others are handed the answer).
- bulk script: a bare simple-salesforce Bulk API 2.0 script making the same writes
  (`sf.bulk2.product_property__c.upsert(...)` then `.update(...)`).
- record loop: a per-record simple-salesforce loop (`upsert` / `update` one record per
  call). When the full loop would take longer than --loop-budget-s it is timed on a
  sample and extrapolated, and the output says so.

The writes for the scripts come from propsync's own plan of the same starting state, so
all three make the same writes. Prints a markdown table and one JSON line.
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

HERE = Path(__file__).resolve()
CONFIG = """[source]
kind = "duckdb"
path = "rds.duckdb"

[sync]
max_change_share = {share}

[salesforce.emulator]
workflow_enabled = false
"""


# --- the contenders (run in child processes) ------------------------------------------


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _RssByPhase:
    """Samples this process's RSS every 20 ms and keeps the peak of each phase (the
    phase is what run_sync's progress callback last named: extract, plan, create,
    update)."""

    def __init__(self) -> None:
        import threading

        self.phase = "start"
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def progress(self, phase: str, done: int, total: int) -> None:
        self.phase = phase

    def _run(self) -> None:
        import psutil

        proc = psutil.Process()
        while not self._stop.wait(0.02):
            mb = proc.memory_info().rss / 2**20
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), mb)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {k: round(v) for k, v in self.peaks.items()}


def contender_propsync(root: Path) -> dict[str, Any]:
    from propsync.sync import run_sync
    from propsync.workspace import Workspace

    rss = _RssByPhase()
    with Workspace.open(root / "propsync.toml") as ws:
        t0 = time.perf_counter()
        result = run_sync(ws, "all", force=True, progress=rss.progress)
        wall = time.perf_counter() - t0
    totals = result.totals()
    return {
        "rss_mb_by_phase": rss.stop(),
        "wall_s": wall,
        "api_calls": result.api_calls,
        "written": totals["succeeded"],
        "failed": totals["failed"],
        "status": result.status,
        "phases_s": {k: round(v, 2) for k, v in result.phases.items()},
    }


def _simple_salesforce(root: Path) -> tuple[Any, list[int]]:
    """A simple_salesforce.Salesforce on the emulator, counting HTTP calls."""
    import requests
    from simple_salesforce import Salesforce

    info = json.loads((root / "emulator" / "connection.json").read_text())
    session = requests.Session()
    session.verify = info["ca_file"]
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override the emulator's CA
    token = session.post(
        f"{info['instance_url']}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
        },
    ).json()["access_token"]
    calls = [0]
    session.hooks["response"].append(lambda r, *a, **k: calls.__setitem__(0, calls[0] + 1))
    sf = Salesforce(
        instance_url=info["instance_url"], session_id=token, session=session, version="62.0"
    )
    return sf, calls


def _payload(root: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    doc = json.loads((root / "payload.json").read_text())
    return doc["create"], doc["update"]


def _csv_value(value: Any) -> Any:
    if value is None:
        return "#N/A"  # the field must become empty
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def contender_bulk_script(root: Path) -> dict[str, Any]:
    creates, updates = _payload(root)
    sf, calls = _simple_salesforce(root)
    t0 = time.perf_counter()
    written = failed = 0
    for op, rows in (("upsert", creates), ("update", updates)):
        if not rows:
            continue
        records = [{k: _csv_value(v) for k, v in r.items()} for r in rows]
        handler = sf.bulk2.product_property__c
        if op == "upsert":
            results = handler.upsert(
                records=records, external_id_field="snappt_property_id__c", wait=0.5
            )
        else:
            results = handler.update(records=records, wait=0.5)
        for r in results:
            failed += int(r["numberRecordsFailed"])
            written += int(r["numberRecordsProcessed"]) - int(r["numberRecordsFailed"])
    return {"wall_s": time.perf_counter() - t0, "api_calls": calls[0], "written": written,
            "failed": failed}  # fmt: skip


def contender_record_loop(root: Path, budget_s: float, sample: int) -> dict[str, Any]:
    from simple_salesforce.exceptions import SalesforceError

    creates, updates = _payload(root)
    work = [("upsert", r) for r in creates] + [("update", r) for r in updates]
    sf, calls = _simple_salesforce(root)
    obj = sf.product_property__c
    t0 = time.perf_counter()
    written = failed = done = 0
    extrapolated = False
    for op, row in work:
        try:
            if op == "upsert":
                body = {k: v for k, v in row.items() if k != "snappt_property_id__c"}
                obj.upsert(f"snappt_property_id__c/{row['snappt_property_id__c']}", body)
            else:
                obj.update(row["Id"], {k: v for k, v in row.items() if k != "Id"})
            written += 1
        except SalesforceError:
            failed += 1
        done += 1
        if done == sample:
            projected = (time.perf_counter() - t0) / done * len(work)
            if projected > budget_s:
                extrapolated = True
                break
    wall = time.perf_counter() - t0
    if extrapolated:
        wall = wall / done * len(work)
    return {"wall_s": wall, "api_calls": calls[0] if not extrapolated else len(work),
            "written": written, "failed": failed, "extrapolated_from": done if extrapolated
            else None}  # fmt: skip


# --- the harness ----------------------------------------------------------------------


def _start_emulator(data: Path, latency_ms: float) -> subprocess.Popen[bytes]:
    code = (
        "import sys, time; from pathlib import Path;"
        "from propsync.emulator import Emulator;"
        "e = Emulator.start(Path(sys.argv[1]), workflow_enabled=False,"
        " latency_ms=float(sys.argv[2]));"
        "print('ready', flush=True);"
        "time.sleep(10**6)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(data), str(latency_ms)], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    if b"ready" not in proc.stdout.readline():
        proc.kill()
        raise SystemExit("the emulator did not start")
    return proc


def _child(name: str, root: Path, extra: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, str(HERE), "--contender", name, "--root", str(root), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{err.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def _prepare(base: Path, root: Path, share: float) -> None:
    """A fresh workspace with the base scenario's RDS file and org starting state."""
    root.mkdir(parents=True)
    shutil.copy(base / "rds.duckdb", root / "rds.duckdb")
    (root / "propsync.toml").write_text(CONFIG.format(share=share), encoding="utf-8")


def _load_org(root: Path, base: Path) -> None:
    from propsync.salesforce.connect import connect
    from propsync.salesforce.load import load_starting_state
    from propsync.workspace import Workspace

    with (
        Workspace.open(root / "propsync.toml") as ws,
        connect(ws.config.salesforce, ws.root, sync=ws.config.sync) as sf,
    ):
        load_starting_state(sf, base / "generated" / "salesforce_product_property.parquet")


def _dump_payload(root: Path) -> dict[str, int]:
    """propsync's plan of this org, written as the records the scripts send."""
    from propsync.salesforce.bulk2 import CLEAR
    from propsync.sync import plan
    from propsync.sync.payload import items_from_batch
    from propsync.workspace import Workspace

    out: dict[str, list[dict[str, Any]]] = {"create": [], "update": []}
    with Workspace.open(root / "propsync.toml") as ws:
        p = plan(ws, "all")
        engine = ws.engine()
        for queue, q in p.queues.items():
            table = engine.arrow(f"SELECT * FROM {q.table} WHERE held IS NULL ORDER BY seq")
            for batch in table.to_batches():
                for item in items_from_batch(queue, batch):
                    out[queue].append(
                        {k: (None if v is CLEAR else v) for k, v in item.record.items()
                         if v is not None or queue == "update"}
                    )  # fmt: skip
    (root / "payload.json").write_text(json.dumps(out), encoding="utf-8")
    return {q: len(v) for q, v in out.items()}


def side_by_side(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from propsync.generate import generate

    base = tmp / "base"
    t0 = time.perf_counter()
    truth = generate(
        args.scale, 7, rds_target=f"duckdb:{base / 'rds.duckdb'}", out_dir=base / "generated"
    )
    print(f"generated scale {args.scale:,} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    results: dict[str, Any] = {"truth": {k: truth[k] for k in (
        "properties_to_create", "update_records_with_changes", "unsyncable_count")}}  # fmt: skip
    for name in args.contenders.split(","):
        root = tmp / name
        _prepare(base, root, args.max_change_share)
        emu = _start_emulator(root / "emulator", args.latency_ms)
        try:
            _load_org(root, base)
            if name != "propsync":
                results["payload"] = _dump_payload(root)
            extra = ["--loop-budget-s", str(args.loop_budget_s), "--loop-sample",
                     str(args.loop_sample)]  # fmt: skip
            results[name] = _child(name, root, extra)
            print(f"{name}: {results[name]}", file=sys.stderr)
        finally:
            emu.terminate()
            emu.wait(timeout=30)
    return results


def noop(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Converge a scale-N org once (unmeasured), then time a run with nothing to do."""
    from propsync.generate import generate

    root = tmp / "noop"
    t0 = time.perf_counter()
    generate(
        args.noop_scale, 7, rds_target=f"duckdb:{root / 'rds.duckdb'}", out_dir=root / "generated"
    )
    print(
        f"generated scale {args.noop_scale:,} in {time.perf_counter() - t0:.1f}s", file=sys.stderr
    )
    (root / "propsync.toml").write_text(CONFIG.format(share=1.0), encoding="utf-8")
    emu = _start_emulator(root / "emulator", 0)
    try:
        t0 = time.perf_counter()
        _load_org(root, root)
        print(f"loaded the org in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        first = _child("propsync", root, [])
        print(f"converging run: {first}", file=sys.stderr)
        # Steady state: the next run re-reads what the converging run wrote (it changed
        # after that run's extract); once OVERLAP has passed, the run after it reads
        # only what changed since, which is nothing.
        from propsync.sync.refresh import OVERLAP

        time.sleep(OVERLAP.total_seconds() + 5)
        settle = _child("propsync", root, [])
        print(f"settling run: {settle}", file=sys.stderr)
        full = _child("propsync", root, [])
        planned = _child("propsync-no-refresh", root, [])
    finally:
        emu.terminate()
        emu.wait(timeout=30)
    return {"scale": args.noop_scale, "converging_run": first, "settling_run": settle,
            "noop": full, "noop_without_refresh": planned}  # fmt: skip


def _memory_base(args: argparse.Namespace) -> Path:
    """The scale-N scenario and its org after loading, generated once into --cache (the
    RDS file, the ground truth, the emulator's data: copied for each measured run)."""
    from propsync.generate import generate

    base = args.cache / f"scale-{args.memory_scale}"
    if (base / "ready").exists():
        return base
    if base.exists():
        shutil.rmtree(base)
    t0 = time.perf_counter()
    generate(
        args.memory_scale, 7, rds_target=f"duckdb:{base / 'rds.duckdb'}",
        out_dir=base / "generated",
    )  # fmt: skip
    (base / "propsync.toml").write_text(CONFIG.format(share=1.0), encoding="utf-8")
    emu = _start_emulator(base / "emulator", 0)
    try:
        _load_org(base, base)
    finally:
        emu.terminate()
        emu.wait(timeout=60)
    (base / "ready").write_text("", encoding="utf-8")
    print(f"cached scale {args.memory_scale:,} in {time.perf_counter() - t0:.0f}s",
          file=sys.stderr)  # fmt: skip
    return base


def memory(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The converging sync of a scale-N org (every create and every changed record
    written, by Bulk API) with the default configuration: wall time and peak RSS, and
    the peak of each phase."""
    base = _memory_base(args)
    root = tmp / "memory"
    root.mkdir()
    shutil.copy(base / "rds.duckdb", root / "rds.duckdb")
    shutil.copytree(base / "emulator", root / "emulator")
    (root / "propsync.toml").write_text(
        CONFIG.format(share=1.0) + args.memory_config.replace("\\n", "\n"), encoding="utf-8"
    )
    emu = _start_emulator(root / "emulator", 0)
    try:
        return {"scale": args.memory_scale, "run": _child("propsync", root, [])}
    finally:
        emu.terminate()
        emu.wait(timeout=60)


def contender_propsync_no_refresh(root: Path) -> dict[str, Any]:
    """The no-op run on already refreshed tables: plan + (no) writes only."""
    from propsync.sync import run_sync
    from propsync.workspace import Workspace

    with Workspace.open(root / "propsync.toml") as ws:
        t0 = time.perf_counter()
        result = run_sync(ws, "all", force=True, refresh_inputs=False)
        wall = time.perf_counter() - t0
    return {"wall_s": wall, "api_calls": result.api_calls,
            "written": result.totals()["succeeded"], "status": result.status,
            "phases_s": {k: round(v, 2) for k, v in result.phases.items()}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=9_061)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--max-change-share", type=float, default=0.2)
    parser.add_argument("--loop-budget-s", type=float, default=600.0)
    parser.add_argument("--loop-sample", type=int, default=200)
    parser.add_argument("--noop-scale", type=int, default=1_000_000)
    parser.add_argument("--skip-side-by-side", action="store_true")
    parser.add_argument(
        "--memory-scale", type=int, default=0,
        help="also measure the converging sync of a scale-N org (1000000 for the target)",
    )  # fmt: skip
    parser.add_argument("--cache", type=Path, default=Path("/tmp/propsync-bench-sync-cache"))
    parser.add_argument(
        "--memory-config", default="",
        help="TOML appended to the memory run's propsync.toml (default: none, the defaults)",
    )  # fmt: skip
    parser.add_argument("--contenders", default="propsync,bulk_script,record_loop")
    parser.add_argument("--contender")
    parser.add_argument("--root", type=Path)
    args = parser.parse_args()

    if args.contender:
        runners = {
            "propsync": lambda: contender_propsync(args.root),
            "propsync-no-refresh": lambda: contender_propsync_no_refresh(args.root),
            "bulk_script": lambda: contender_bulk_script(args.root),
            "record_loop": lambda: contender_record_loop(
                args.root, args.loop_budget_s, args.loop_sample
            ),
        }
        out = runners[args.contender]()
        out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
        print(json.dumps(out))
        return

    report: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
    }
    with tempfile.TemporaryDirectory(prefix="propsync-bench-sync-") as tmp_name:
        tmp = Path(tmp_name)
        if not args.skip_side_by_side:
            report["side_by_side"] = side_by_side(args, tmp)
        if args.memory_scale:
            report["memory"] = memory(args, tmp)
            print(f"memory: {report['memory']}", file=sys.stderr)
        if args.noop_scale:
            report["noop"] = noop(args, tmp)
    _print(report, args)
    print(json.dumps(report))


def _print(report: dict[str, Any], args: argparse.Namespace) -> None:
    sbs = report.get("side_by_side")
    if sbs:
        p = sbs["propsync"]
        print(
            f"\nscale {args.scale:,}, {args.latency_ms:g} ms per API call; writes: {sbs['payload']}"
        )
        print(
            "| contender | wall s | API calls | records written | failed | peak RSS MB "
            "| vs propsync |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name in ("propsync", "bulk_script", "record_loop"):
            if name not in sbs:
                continue
            r = sbs[name]
            note = ""
            if r.get("extrapolated_from"):
                note = f" (extrapolated from {r['extrapolated_from']} records)"
            print(
                f"| {name}{note} | {r['wall_s']:.1f} | {r['api_calls']} | {r['written']:,} "
                f"| {r.get('failed', 0)} | {r['peak_rss_mb']:.0f} "
                f"| {r['wall_s'] / p['wall_s']:.2f}x |"
            )
    nop = report.get("noop")
    if nop:
        for key in ("noop", "noop_without_refresh"):
            r = nop[key]
            print(
                f"\nno-op over {nop['scale']:,} properties ({key}): {r['wall_s']:.1f}s, "
                f"{r['api_calls']} API calls, {r['written']} written, "
                f"peak RSS {r['peak_rss_mb']:.0f} MB, phases {r.get('phases_s')}"
            )
    print(f"\nmachine: {report['machine']}")


if __name__ == "__main__":
    main()
