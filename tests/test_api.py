"""The library surface does what the CLI does, in one call each."""

from __future__ import annotations

from pathlib import Path

from propsync import api


def test_generate_extract_build_metrics_through_the_api(tmp_path: Path) -> None:
    config = api.init(tmp_path)
    truth = api.generate(tmp_path, scale=400, seed=3).truth
    stats = api.extract(config).stats
    assert stats.tables["properties"].rows_total > 0
    ws = api.open_workspace(tmp_path)
    try:
        from propsync.generate import load_salesforce_state_into_engine

        load_salesforce_state_into_engine(ws.engine(), truth.salesforce_parquet)
        views = api.build_models(ws).built
        assert "properties_to_create" in views and "properties_to_update" in views
        snap = api.metrics(ws)
    finally:
        ws.close()
    assert snap["properties_missing_from_sf"] == truth["properties_to_create"]
    assert snap["active_properties"] == truth["active_properties"]


def test_demo_through_the_api_converges(tmp_path: Path) -> None:
    report = api.demo(tmp_path / "demo", scale=300)
    assert report.ok
    assert report.second_plan["records_to_write"]["total"] == 0
    assert report.queues_before["properties_to_create"] == report.truth["properties_to_create"]
    runs = api.runs(report.workspace)
    assert {r.sync for r in runs} >= {"create", "update"}
