"""`propsync models ...` on a real workspace (a DuckDB file) through click."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from propsync.cli import main
from propsync.engines.duckdb import DuckDBEngine
from propsync.workspace import init
from tests.scenario import Scenario


def _workspace(tmp_path: Path, *, state: bool = False) -> Path:
    # The state tables are the workspace's own: `models build` migrates them.
    config = init(tmp_path)
    with DuckDBEngine(tmp_path / "propsync.duckdb") as engine:
        s = Scenario(engine)
        s.prop(1, sfdc_id="a01Dn00000HHUan", features=("identity_verification",))
        s.prop(2)
        s.record(1)
        s.load(state=state)
    return config


def run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config), "models", *args])
    return result.exit_code, result.output


def test_build_show_check(tmp_path: Path) -> None:
    config = _workspace(tmp_path)
    code, out = run(config, "build", "--json")
    assert code == 0, out
    assert "properties_to_create" in json.loads(out)["built"]
    code, out = run(config, "show", "properties_to_create", "--json")
    assert code == 0, out
    assert [r["rds_property_id"] for r in json.loads(out)["rows"]] == ["2"]
    code, out = run(config, "show", "properties_to_update", "--limit", "1")
    assert code == 0 and "properties_to_update (1 rows)" in out
    code, out = run(config, "check", "--json")
    assert code == 0, out
    assert json.loads(out)["passed"] is True


def test_build_migrates_the_state_so_the_monitoring_views_build(tmp_path: Path) -> None:
    config = _workspace(tmp_path)
    code, out = run(config, "build", "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["skipped"] == {}
    assert {"sync_health_7d", "sync_queue_sizes_24h", "sync_monitoring_dashboard"} <= set(
        doc["built"]
    )


def test_build_reports_views_it_cannot_build(tmp_path: Path) -> None:
    config = init(tmp_path)
    with DuckDBEngine(tmp_path / "propsync.duckdb") as engine:
        s = Scenario(engine)
        s.prop(1)
        s.load(state=False)
        engine.execute("DROP TABLE salesforce_product_property")
    code, out = run(config, "build", "--json")
    assert code == 0, out
    skipped = json.loads(out)["skipped"]
    assert skipped["properties_to_update"] == ["salesforce_product_property"]


def test_show_unknown_view_is_a_usage_error(tmp_path: Path) -> None:
    config = _workspace(tmp_path)
    code, out = run(config, "show", "no_such_view")
    assert code == 64 and "unknown view" in out


def test_compile_to_files(tmp_path: Path) -> None:
    code, out = run(
        tmp_path / "unused.toml",
        "compile",
        "--dialect",
        "databricks",
        "--out",
        str(tmp_path / "sql"),
    )
    assert code == 0, out
    files = sorted(p.name for p in (tmp_path / "sql").iterdir())
    assert files[0].startswith("01_") and any("properties_to_update" in f for f in files)
