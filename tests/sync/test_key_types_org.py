"""R9 done: a PostgreSQL source keyed on bigint, one on uuid and one on text give the same
plan (same counts, the same records predicted to fail and, after a run, held back) and,
after `sync all`, the same org state. The real PostgreSQL server, the emulator, the real
client and state store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from propsync.emulator import Emulator
from propsync.generate import generate
from propsync.generate.keys import KeyMap
from propsync.salesforce.connect import connect
from propsync.salesforce.load import load_starting_state
from propsync.sync import plan, run_sync
from propsync.workspace import Workspace

KEY_TYPES = ("int", "uuid", "text")
SYNCED = (
    "Name",
    "Short_ID__c",
    "City__c",
    "IDV_Enabled__c",
    "Bank_Linking_Enabled__c",
    "Payroll_Enabled__c",
    "Income_Insights_Enabled__c",
    "Active_Property_Count__c",
    "Is_Multi_Property__c",
    "RDS_Created_At__c",
)


def _run(root: Path, dsn: str, key_type: str) -> dict[str, Any]:
    root.mkdir(parents=True)
    (root / "propsync.toml").write_text(
        '[source]\nkind = "postgresql"\ndsn_env = "PROPSYNC_TEST_KEYS_DSN"\n\n'
        "[sync]\nbackoff_base_s = 0.01\nmax_change_share = 0.9\n\n"
        "[salesforce.emulator]\nworkflow_delay_s = 0.2\n",
        encoding="utf-8",
    )
    truth = generate(400, 7, rds_target=dsn, out_dir=root / "generated", key_type=key_type)
    keys = KeyMap(key_type)
    # Every RDS id and every external id of the starting state, back to the integer form.
    with psycopg.connect(dsn) as con:
        ids = [str(r[0]) for r in con.execute("SELECT id FROM properties").fetchall()]
    inverse: dict[str, str] = {}
    if key_type != "int":
        for n in range(1, 200_000):
            k = keys.property_key(n)
            if k in ids:
                inverse[k] = str(n)
                if len(inverse) == len(ids):
                    break
    emu = Emulator.start(root / "emulator", workflow_delay_s=0.2, seed=7)
    ws = Workspace.open(root / "propsync.toml")
    try:
        with connect(ws.config.salesforce, ws.root, sync=ws.config.sync) as sf:
            load_starting_state(sf, truth.salesforce_parquet)
        first = plan(ws, "all").to_json()
        result = run_sync(ws, "all")
        second = plan(ws, "all").to_json()
        with connect(ws.config.salesforce, ws.root, sync=ws.config.sync) as sf:
            rows = list(
                sf.query_all(
                    f"SELECT snappt_property_id__c, {', '.join(SYNCED)} FROM product_property__c",
                    include_deleted=False,
                )
            )
    finally:
        ws.close()
        emu.stop()

    def back(key: Any) -> str:
        """The integer scenario's key of a key (so plans of different key types compare)."""
        return inverse.get(str(key), str(key))

    def invalid(doc: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
        return sorted(
            (q, back(r["rds_property_id"]), r["reason"].split(" ")[1], r["held_back"])
            for q, p in doc["queues"].items()
            for r in p["invalid"]
        )

    counts = ("records_to_write", "records_to_send", "predicted_failures", "held_back")
    return {
        "first": {c: first[c] for c in counts},
        "first_invalid": invalid(first),
        "run": {k: v for k, v in result.totals().items() if k != "seconds"},
        "second": {c: second[c] for c in counts},
        "second_invalid": invalid(second),
        "org": sorted((r["snappt_property_id__c"], *(str(r[f]) for f in SYNCED)) for r in rows),
    }


@pytest.mark.slow
def test_bigint_uuid_and_text_sources_give_the_same_plan_and_org(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROPSYNC_TEST_KEYS_DSN", pg_dsn)
    seen = {kt: _run(tmp_path / kt, pg_dsn, kt) for kt in KEY_TYPES}
    base = seen["int"]
    assert base["first"]["records_to_send"]["create"] > 0
    assert base["second"]["held_back"]["total"] == base["first"]["predicted_failures"]["total"]
    assert base["second"]["records_to_write"]["total"] == 0
    for key_type in ("uuid", "text"):
        for part in base:
            if part != "org":
                assert seen[key_type][part] == base[part], (key_type, part)
        # The org: the integer run's records, their external ids in this key type's form.
        keys = KeyMap(key_type)
        expected = sorted((keys.external_id(k), *rest) for k, *rest in base["org"])
        assert seen[key_type]["org"] == expected, key_type
