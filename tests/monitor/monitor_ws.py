"""A real workspace for the health and alert tests: a propsync.toml in a temporary folder,
its DuckDB engine filled with hand-made rows (tests/scenario.py) and the real state
tables, so the monitoring views and the state store answer as in production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from propsync.sfid import to18
from propsync.state import AuditRecord
from propsync.workspace import Workspace
from tests.scenario import SyncScenario

NOW = datetime.now(UTC)
BASE_PROPERTIES = 20


def sfdc(n: int) -> str:
    """A valid 18-character Salesforce id, distinct per n."""
    return to18(f"a01Dn00000HH{n:03d}")


@dataclass
class MonitorWorkspace:
    """`config` is written to propsync.toml by `open()`; `rows(ws)` gives the scenario
    of an open workspace (20 ACTIVE properties, each with a record in sync)."""

    root: Path
    config: str = ""
    props: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def config_path(self) -> Path:
        return self.root / "propsync.toml"

    def write(self) -> None:
        self.config_path.write_text('[engine]\npath = "propsync.duckdb"\n' + self.config)

    @contextmanager
    def open(self) -> Iterator[Workspace]:
        self.write()
        with Workspace.open(self.config_path) as ws:
            yield ws

    def build(self, ws: Workspace, *, in_sync: bool = True) -> SyncScenario:
        """Load the properties and records into the engine and build every view;
        `in_sync` then makes every matched record hold its expected values."""
        scenario = SyncScenario(ws.engine(), store=ws.state())  # type: ignore[arg-type]
        for p in self.props:
            scenario.prop(p["id"], sfdc_id=p.get("sfdc_id"), features=p.get("features", ()))
        for r in self.records:
            scenario.record(r["id"], **r.get("values", {}))
        scenario.build()
        if in_sync:
            scenario.sync_to_expected()
        return scenario

    def baseline(self) -> MonitorWorkspace:
        """20 ACTIVE properties with valid sfdc_ids (two share one), each with a record."""
        for n in range(1, BASE_PROPERTIES + 1):
            sid = sfdc(1 if n == 2 else n)
            self.props.append({"id": n, "sfdc_id": sid, "features": ("identity_verification",)})
            self.records.append({"id": n})
        return self

    def missing(self, count: int, *, valid_sfdc_id: bool = True, start: int = 100) -> None:
        """ACTIVE properties with no Salesforce record (in the create queue; counted as
        missing when their sfdc_id is valid)."""
        for n in range(start, start + count):
            self.props.append({"id": n, "sfdc_id": sfdc(n) if valid_sfdc_id else None})

    def create_records_for_all(self) -> None:
        have = {r["id"] for r in self.records}
        self.records.extend({"id": p["id"]} for p in self.props if p["id"] not in have)


def succeeded_run(ws: Workspace, sync: str = "create") -> str:
    runs = ws.state().runs
    run_id = runs.start(sync)
    runs.finish(run_id, "SUCCEEDED", counts={"attempted": 0}, api_calls=1)
    return run_id


def outcomes(ws: Workspace, *, ok: int, failed: int, at: datetime | None = None) -> None:
    """Audit rows of one run: `ok` SUCCESS and `failed` FAILED record outcomes."""
    when = at or datetime.now(UTC) - timedelta(minutes=10)
    run_id = succeeded_run(ws, "update")
    rows = [
        AuditRecord(
            run_id,
            "UPDATE",
            "FAILED" if i < failed else "SUCCESS",
            rds_property_id=i,
            error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION" if i < failed else None,
            sync_timestamp=when,
        )
        for i in range(ok + failed)
    ]
    ws.state().audit.append(rows)


def measure(ws: Workspace, update_sizes: list[int], *, create: int = 0) -> None:
    """One queue measurement per hour, the last one now (oldest first)."""
    now = datetime.now(UTC)
    n = len(update_sizes)
    for i, size in enumerate(update_sizes):
        ws.state().queue_sizes.record(create, size, at=now - timedelta(hours=n - 1 - i))
