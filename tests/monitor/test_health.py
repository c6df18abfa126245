"""`propsync health` on a real workspace: each widget's colour from hand-made rows, the
overall status the worst of them, exit codes 0 / 1 / 2, and --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from propsync import api
from propsync.cli import main
from propsync.errors import ConfigError, UsageError
from propsync.monitor.health import HealthReport
from propsync.workspace import Workspace

from .monitor_ws import MonitorWorkspace, measure, outcomes, succeeded_run


@pytest.fixture
def mws(tmp_path: Path) -> MonitorWorkspace:
    return MonitorWorkspace(tmp_path).baseline()


def readings(report: HealthReport) -> dict[str, tuple[str, object]]:
    return {r.name: (r.status, r.value) for w in report.widgets for r in w.readings}


def test_all_green(mws: MonitorWorkspace) -> None:
    with mws.open() as ws:
        mws.build(ws)
        succeeded_run(ws)
        outcomes(ws, ok=30, failed=0)
        measure(ws, [20, 20, 21, 20])
        report = api.health(ws)
    got = readings(report)
    assert report.status == "green" and report.exit_code == 0, got
    assert [w.key for w in report.widgets] == [
        "queues",
        "feature_accuracy",
        "multi_property",
        "sync_success",
        "missing_properties",
    ]
    assert got["create queue"] == ("green", 0)
    assert got["update queue trend"] == ("green", 0.0)  # latest 20 = median 20
    assert got["IDV"] == ("green", 100.0)
    assert got["record success (7 days)"] == ("green", 100.0)
    assert got["missing from Salesforce"] == ("green", 0)
    groups = report.widget("multi_property")
    assert groups.status == "green"
    # properties 1 and 2 share an sfdc_id: one group of two, 18 of one
    assert {r["num_rds_properties"]: r["num_sfdc_ids"] for r in groups.rows} == {1: 18, 2: 1}
    assert "1 sfdc_ids shared by several" in groups.readings[0].note
    assert report.widget("queues").rows[0]["avg_update_queue"] == 20.0
    doc = report.to_json()
    json.dumps(doc, default=str)
    assert doc["widgets"][1]["runbook_anchor"] == "feature-accuracy"


def test_yellow_is_the_worst_of_its_widgets(mws: MonitorWorkspace) -> None:
    mws.config = "[health]\ncreate_queue_under = 2\n[alerts.rules]\n" + (
        "high_create_queue = {threshold = 5}\n"
    )
    mws.missing(3, valid_sfdc_id=False)  # in the create queue, not "missing" (no sfdc_id)
    with mws.open() as ws:
        mws.build(ws)
        outcomes(ws, ok=99, failed=1)  # 99%: under 100, not under 95
        measure(ws, [100, 100, 100, 100, 140])  # +40% from the median
        report = api.health(ws)
    got = readings(report)
    assert got["create queue"] == ("yellow", 3)
    assert got["update queue trend"] == ("yellow", 40.0)
    assert got["record success (7 days)"] == ("yellow", 99.0)
    assert got["missing from Salesforce"] == ("green", 0)
    assert report.status == "yellow" and report.exit_code == 1


def test_red_where_the_alerts_fire(mws: MonitorWorkspace) -> None:
    # 4 of 20 records carry IDV off although RDS has it on: 80% < 95
    for record in mws.records[:4]:
        record["values"] = {"idv_enabled_c": False}
    mws.missing(101)  # over the plan's 100
    with mws.open() as ws:
        scenario = mws.build(ws, in_sync=False)
        for n in range(5, 21):  # the other 16 hold their expected values
            scenario.engine.execute(
                "UPDATE salesforce_product_property SET idv_enabled_c = TRUE"
                " WHERE snappt_property_id_c = ?",
                [str(n)],
            )
        scenario.rebuild()
        outcomes(ws, ok=90, failed=10)
        measure(ws, [20, 20, 5])  # -75%
        report = api.health(ws)
    got = readings(report)
    assert got["IDV"] == ("red", 80.0)
    assert got["Bank Linking"] == ("green", 100.0)
    assert got["record success (7 days)"] == ("red", 90.0)
    assert got["missing from Salesforce"] == ("red", 101)
    assert got["create queue"] == ("yellow", 101)  # over 50, not over 200
    assert got["update queue trend"] == ("red", -75.0)
    assert report.status == "red" and report.exit_code == 2
    missing = report.widget("missing_properties")
    assert "CRITICAL" in missing.rows[0]["status"]  # the plan's own CASE agrees


def test_nothing_measured_is_yellow_not_green(mws: MonitorWorkspace) -> None:
    with mws.open() as ws:
        mws.build(ws)
        report = api.health(ws)
    got = readings(report)
    assert got["update queue trend"] == ("yellow", None)
    assert got["record success (7 days)"] == ("green", None)  # a quiet week
    assert report.exit_code == 1


def test_cli_exit_codes_and_json(mws: MonitorWorkspace) -> None:
    mws.missing(60)  # yellow: over 50
    with mws.open() as ws:
        mws.build(ws)
        measure(ws, [20])
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(mws.config_path), "health", "--json"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output)
    assert doc["status"] == "yellow" and doc["exit_code"] == 1
    [missing] = [w for w in doc["widgets"] if w["key"] == "missing_properties"]
    assert missing["readings"][0]["value"] == 60
    human = runner.invoke(main, ["--config", str(mws.config_path), "health"])
    assert human.exit_code == 1
    assert "YELLOW" in human.output and "docs/RUNBOOK.md#missing-properties" in human.output


def test_views_not_built_is_a_usage_error(tmp_path: Path) -> None:
    mws = MonitorWorkspace(tmp_path)
    with mws.open() as ws, pytest.raises(UsageError, match="propsync models build"):
        api.health(ws)
    result = CliRunner().invoke(main, ["--config", str(mws.config_path), "health", "--json"])
    assert result.exit_code == 64
    assert json.loads(result.output)["exit_code"] == 64


def test_a_stricter_alert_leaves_no_yellow_band(mws: MonitorWorkspace) -> None:
    mws.config = "[alerts.rules]\nhigh_create_queue = {threshold = 2}\n"
    mws.missing(3, valid_sfdc_id=False)
    with mws.open() as ws:
        mws.build(ws)
        measure(ws, [20])
        report = api.health(ws)
    assert readings(report)["create queue"] == ("red", 3)  # under 50, but over the alert's 2
    assert report.widget("queues").readings[0].thresholds == "green <= 2, red > 2"


def test_unknown_health_settings_are_refused(tmp_path: Path) -> None:
    mws = MonitorWorkspace(tmp_path, "[health]\nbogus = 1\n")
    mws.write()
    with pytest.raises(ConfigError, match=r"health\.bogus: unknown setting"):
        Workspace.open(mws.config_path)
    mws.config = "[health]\nupdate_queue_red_pct = 5\n"
    mws.write()
    with pytest.raises(ConfigError, match="update_queue_red_pct must be at least"):
        Workspace.open(mws.config_path)
