"""A generated scenario in a workspace, its Salesforce starting state loaded into a
running emulator through the real client: what the end-to-end sync tests run on."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propsync.emulator import Emulator
from propsync.generate import GroundTruth, generate
from propsync.salesforce.connect import connect
from propsync.salesforce.load import load_starting_state
from propsync.workspace import Workspace


@dataclass
class Org:
    root: Path
    ws: Workspace
    emu: Emulator
    truth: GroundTruth

    @property
    def config_path(self) -> Path:
        return self.root / "propsync.toml"

    def reopen(self) -> Workspace:
        """A fresh Workspace (after a subprocess used the DuckDB file)."""
        self.ws.close()
        self.ws = Workspace.open(self.config_path)
        return self.ws

    def live_records_per_external_id(self) -> Counter[str]:
        """Non-deleted product_property__c records per snappt_property_id__c, read from
        the org through the client (not from the engine)."""
        with connect(self.ws.config.salesforce, self.ws.root, sync=self.ws.config.sync) as sf:
            rows = sf.query_all(
                "SELECT Id, snappt_property_id__c FROM product_property__c",
                include_deleted=False,
            )
            return Counter(str(r["snappt_property_id__c"]) for r in rows)

    def close(self) -> None:
        self.ws.close()
        self.emu.stop()


def make_org(
    root: Path,
    *,
    scale: int = 400,
    seed: int = 7,
    sync: dict[str, Any] | None = None,
    prepare: Callable[[Path, GroundTruth], Path | None] | None = None,
    **knobs: Any,
) -> Org:
    """Generate a scenario under `root`, start an emulator there and load the org's
    starting state. `sync` overrides [sync] settings; `knobs` go to the emulator.
    `prepare(root, truth)` may change the generated files first and returns the starting
    state to load (None: the org starts empty)."""
    root.mkdir(parents=True, exist_ok=True)
    settings = {"backoff_base_s": 0.01, "max_change_share": 0.5, **(sync or {})}
    lines = ['[source]\nkind = "duckdb"\npath = "rds.duckdb"\n', "[sync]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    lines += ["", "[salesforce.emulator]", "workflow_delay_s = 0.2", ""]
    (root / "propsync.toml").write_text("\n".join(lines), encoding="utf-8")
    truth = generate(
        scale, seed, rds_target=f"duckdb:{root / 'rds.duckdb'}", out_dir=root / "generated"
    )
    starting: Path | None = truth.salesforce_parquet
    if prepare is not None:
        starting = prepare(root, truth)
    emu = Emulator.start(root / "emulator", workflow_delay_s=0.2, seed=seed, **knobs)
    ws = Workspace.open(root / "propsync.toml")
    try:
        if starting is not None:
            with connect(ws.config.salesforce, ws.root, sync=ws.config.sync) as sf:
                load_starting_state(sf, starting)
    except BaseException:
        ws.close()
        emu.stop()
        raise
    return Org(root, ws, emu, truth)
