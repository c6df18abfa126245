"""Benchmark: Bulk API 2.0 ingest (100k, 1M records) and extraction (100k records)
through propsync's client against the emulator.

    .venv/bin/python bench/emulator.py [--sizes 100000,1000000] [--extract 100000]

The emulator runs in its own process, and each measured step runs in a fresh child
process, so the peak RSS reported is the client's alone. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()


def _records(n: int, offset: int = 0) -> Any:
    """n synthetic product_property__c rows as an Arrow table of API names."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = pa.array(range(offset + 1, offset + n + 1), pa.int64())
    text = pc.cast(ids, pa.string())
    flags = pc.equal(pc.bit_wise_and(ids, pa.scalar(3, pa.int64())), pa.scalar(0, pa.int64()))
    base = datetime(2020, 1, 1, tzinfo=UTC)
    created = pa.array(
        [base + timedelta(minutes=i) for i in range(n)], pa.timestamp("us", tz="UTC")
    )
    return pa.table(
        {
            "Name": pc.binary_join_element_wise("Bench Property ", text, ""),
            "snappt_property_id__c": text,
            "Short_ID__c": pc.binary_join_element_wise("S", text, ""),
            "Company_ID__c": pc.cast(pc.divide(ids, pa.scalar(50, pa.int64())), pa.string()),
            "City__c": pa.array(["Austin"] * n),
            "State__c": pa.array(["TX"] * n),
            "IDV_Enabled__c": flags,
            "Bank_Linking_Enabled__c": pc.invert(flags),
            "Payroll_Enabled__c": pa.array([False] * n),
            "Income_Insights_Enabled__c": pa.array([True] * n),
            "Active_Property_Count__c": pa.array([1.0] * n),
            "Is_Multi_Property__c": pa.array([False] * n),
            "RDS_Created_At__c": created,
        }
    )


def _client(data: Path, **kw: Any) -> Any:
    """A client for the emulator named by data/connection.json."""
    from propsync.salesforce import auth
    from propsync.salesforce.client import SalesforceClient
    from propsync.salesforce.connect import install_redaction, make_session

    install_redaction()
    info = json.loads((data / "connection.json").read_text())
    session = make_session(info["ca_file"])
    login = auth.client_credentials(
        session, info["instance_url"], info["client_id"], info["client_secret"]
    )
    token, url = login()
    return SalesforceClient(
        instance_url=url, access_token=token, login=login, session=session,
        poll_interval_s=0.05, **kw,
    )  # fmt: skip


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step(kind: str, data: Path, n: int, offset: int) -> dict[str, Any]:
    """One measured step, run in a child process; returns its figures."""
    client = _client(data)
    if kind == "ingest":
        table = _records(n, offset)
        t0, c0 = time.perf_counter(), client.calls
        result = client.bulk_ingest("insert", table, columns=table.column_names)
        seconds = time.perf_counter() - t0
        ok = result.succeeded
        assert ok == n, f"{n - ok} records failed: {result.failed[:3]}"
        out = {"records": n, "jobs": len(result.jobs), "calls": client.calls - c0}
    else:
        from propsync.engines.duckdb import DuckDBEngine
        from propsync.salesforce.extract import extract_product_property

        engine = DuckDBEngine(":memory:")
        t0, c0 = time.perf_counter(), client.calls
        stats = extract_product_property(client, engine, bulk_threshold=offset)
        seconds = time.perf_counter() - t0
        rows = engine.scalar("SELECT count(*) FROM salesforce_product_property")
        assert rows == stats.rows and rows >= n, (rows, stats)
        out = {"records": rows, "method": stats.method, "calls": client.calls - c0}
    client.close()
    out.update(seconds=round(seconds, 2), peak_rss_mb=round(_peak_rss_mb(), 1))
    return out


def _child(kind: str, data: Path, n: int, offset: int) -> dict[str, Any]:
    cmd = [sys.executable, str(HERE), "--step", kind, "--data", str(data), "-n", str(n),
           "--offset", str(offset)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"step {kind} {n} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _start_emulator(data: Path) -> subprocess.Popen[bytes]:
    code = (
        "import sys, time; from pathlib import Path;"
        "from propsync.emulator import Emulator;"
        "e = Emulator.start(Path(sys.argv[1]), workflow_enabled=False);"
        "print('ready', flush=True);"
        "time.sleep(10**6)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(data)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if b"ready" not in line:
        proc.kill()
        raise SystemExit("the emulator did not start")
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--extract", type=int, default=100_000)
    parser.add_argument("--step", choices=["ingest", "extract-bulk", "extract-rest"])
    parser.add_argument("--data", type=Path)
    parser.add_argument("-n", type=int, default=0)
    parser.add_argument("--offset", type=int, default=0)
    args = parser.parse_args()
    if args.step:
        kind = "ingest" if args.step == "ingest" else "extract"
        offset = args.offset
        if args.step == "extract-rest":
            offset = 10**9  # threshold above the count: REST queryAll paging
        elif args.step == "extract-bulk":
            offset = 0  # threshold 0: always a Bulk API 2.0 query job
        print(json.dumps(step(kind, args.data, args.n, offset)))
        return

    rows: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="propsync-bench-") as tmp:
        sizes = [int(s) for s in args.sizes.split(",") if s]
        for size in sizes:
            data = Path(tmp) / f"ingest-{size}"
            emu = _start_emulator(data)
            try:
                rows.append(
                    (f"Bulk API 2.0 insert, {size:,} records", _child("ingest", data, size, 0))
                )
                if size == args.extract:
                    for how in ("extract-bulk", "extract-rest"):
                        label = f"extract {size:,} records ({how.split('-')[1]})"
                        rows.append((label, _child(how, data, size, 0)))
            finally:
                emu.terminate()
                emu.wait(timeout=30)
        if args.extract and args.extract not in sizes:
            data = Path(tmp) / "extract"
            emu = _start_emulator(data)
            try:
                _child("ingest", data, args.extract, 0)
                for how in ("extract-bulk", "extract-rest"):
                    label = f"extract {args.extract:,} records ({how.split('-')[1]})"
                    rows.append((label, _child(how, data, args.extract, 0)))
            finally:
                emu.terminate()
                emu.wait(timeout=30)

    print("| step | records | wall s | records/s | API calls | client peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, r in rows:
        rate = r["records"] / r["seconds"] if r["seconds"] else 0
        print(
            f"| {label} | {r['records']:,} | {r['seconds']:.2f} | {rate:,.0f} | {r['calls']} "
            f"| {r['peak_rss_mb']:.0f} |"
        )
    print(f"\nmachine: {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
