"""The alert rules on a real workspace, delivered to real receivers on 127.0.0.1 (an
HTTP server for the Slack webhook and the PagerDuty events API, aiosmtpd for e-mail):
each rule fires once and resolves once, a failing channel is retried at the next check
without holding up or repeating the others, an open incident is re-notified after the
repeat interval, and de-duplication holds across workspaces and processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from propsync import api, models
from propsync.cli import main
from propsync.errors import LockHeld
from propsync.monitor.rules import RULE_NAMES
from propsync.workspace import Workspace

from .conftest import HttpReceiver, SmtpServer
from .monitor_ws import MonitorWorkspace, outcomes, succeeded_run

ROUTES = {
    "high_create_queue": ["slack"],
    "sync_failure_spike": ["pagerduty", "slack"],
    "feature_mismatch_high": ["slack"],
    "properties_missing": ["email", "slack"],
    "sync_down": ["pagerduty"],
}
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Receivers:
    slack: HttpReceiver
    pagerduty: HttpReceiver
    smtp: SmtpServer

    def counts(self) -> dict[str, int]:
        return {
            "slack": len(self.slack.requests),
            "pagerduty": len(self.pagerduty.requests),
            "email": len(self.smtp.mailbox.messages),
        }


@pytest.fixture
def receivers(http_receiver: Any, smtp_server: Any, monkeypatch: pytest.MonkeyPatch) -> Receivers:
    got = Receivers(http_receiver([200]), http_receiver([202]), smtp_server())
    monkeypatch.setenv("TEST_SLACK_URL", got.slack.url)
    monkeypatch.setenv("TEST_PD_KEY", "R0UTINGKEY0123456789012345678901")
    return got


def alert_config(receivers: Receivers, *, enabled: list[str], routes: dict[str, list[str]]) -> str:
    rules = []
    thresholds = {
        "high_create_queue": "threshold = 2",
        "sync_failure_spike": 'threshold_pct = 5, window = "1h"',
        "feature_mismatch_high": "threshold_pct = 95",
        "properties_missing": "threshold = 2",
        "sync_down": 'window = "2h"',
    }
    for name in RULE_NAMES:
        channels = json.dumps(routes.get(name, ROUTES[name]))
        on = "true" if name in enabled else "false"
        rules.append(f"{name} = {{ {thresholds[name]}, channels = {channels}, enabled = {on} }}")
    return f"""
[alerts]
repeat_interval = "4h"
delivery_attempts = 2
retry_backoff_s = 0
dashboard_url = "http://dash.example.internal/"
runbook_url = "https://example.com/propsync/docs/RUNBOOK.md"

[alerts.channels.slack]
webhook_url_env = "TEST_SLACK_URL"
timeout = 5

[alerts.channels.email]
smtp_host = "127.0.0.1"
smtp_port = {receivers.smtp.port}
from = "propsync@example.com"
to = ["oncall@example.com"]
timeout = 5

[alerts.channels.pagerduty]
routing_key_env = "TEST_PD_KEY"
events_url = "{receivers.pagerduty.url}"
timeout = 5

[alerts.rules]
{chr(10).join(rules)}
"""


# How to make each rule's condition true, then false, on the baseline scenario
# (20 properties in sync, one successful run, no audit rows).
def _fire_create_queue(mws: MonitorWorkspace, ws: Workspace) -> None:
    mws.missing(3, valid_sfdc_id=False)
    mws.build(ws)


def _clear_create_queue(mws: MonitorWorkspace, ws: Workspace) -> None:
    mws.create_records_for_all()
    mws.build(ws)


def _fire_spike(mws: MonitorWorkspace, ws: Workspace) -> None:
    outcomes(ws, ok=9, failed=1)  # 10% of the last hour


def _clear_spike(mws: MonitorWorkspace, ws: Workspace) -> None:
    outcomes(ws, ok=100, failed=0)  # 1 of 110: 0.91%


def _fire_mismatch(mws: MonitorWorkspace, ws: Workspace) -> None:
    ws.engine().execute(
        "UPDATE salesforce_product_property SET idv_enabled_c = FALSE"
        " WHERE snappt_property_id_c IN ('1', '3')"
    )  # RDS has IDV on for all 20: 18 of 20 agree, 90%
    models.build(ws.engine())


def _clear_mismatch(mws: MonitorWorkspace, ws: Workspace) -> None:
    mws.build(ws)  # every record back to its expected values


def _fire_missing(mws: MonitorWorkspace, ws: Workspace) -> None:
    mws.missing(3)
    mws.build(ws)


def _fire_down(mws: MonitorWorkspace, ws: Workspace) -> None:
    pass  # the baseline has no run: no sync ever succeeded


def _clear_down(mws: MonitorWorkspace, ws: Workspace) -> None:
    succeeded_run(ws, "all")


Step = Callable[[MonitorWorkspace, Workspace], None]
CASES: dict[str, tuple[Step, Step]] = {
    "high_create_queue": (_fire_create_queue, _clear_create_queue),
    "sync_failure_spike": (_fire_spike, _clear_spike),
    "feature_mismatch_high": (_fire_mismatch, _clear_mismatch),
    "properties_missing": (_fire_missing, _clear_create_queue),
    "sync_down": (_fire_down, _clear_down),
}


def _baseline(tmp_path: Path, receivers: Receivers, **kwargs: Any) -> MonitorWorkspace:
    mws = MonitorWorkspace(tmp_path).baseline()
    mws.config = alert_config(receivers, **kwargs)
    return mws


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_each_rule_fires_once_and_resolves_once(
    rule: str, tmp_path: Path, receivers: Receivers
) -> None:
    fire, clear = CASES[rule]
    channels = ROUTES[rule]
    mws = _baseline(tmp_path, receivers, enabled=[rule], routes={})
    with mws.open() as ws:
        mws.build(ws)
        if rule != "sync_down":  # whose condition is the baseline's: no run succeeded yet
            succeeded_run(ws)
            quiet = api.check_alerts(ws, send=True)
            assert quiet.firing == [] and quiet.notices == () and quiet.exit_code == 0
        fire(mws, ws)

        dry = api.check_alerts(ws)  # evaluates, plans, writes and sends nothing
        assert dry.firing == [rule] and dry.opened == (rule,)
        assert [(n.channel, n.kind, n.ok) for n in dry.notices] == [
            (c, "trigger", None) for c in channels
        ]
        assert ws.state().incidents.active() == [] and sum(receivers.counts().values()) == 0

        first = api.check_alerts(ws, send=True)
        assert first.opened == (rule,) and first.exit_code == 1
        assert [(n.channel, n.kind, n.ok) for n in first.notices] == [
            (c, "trigger", True) for c in channels
        ]
        [incident] = first.incidents
        again = api.check_alerts(ws, send=True)  # still firing, within the repeat interval
        assert again.notices == () and again.opened == () and again.firing == [rule]
        assert receivers.counts() == {
            c: int(c in channels) for c in ("slack", "pagerduty", "email")
        }

        clear(mws, ws)
        done = api.check_alerts(ws, send=True)
        assert done.resolved == (rule,) and done.firing == [] and done.incidents == ()
        assert [(n.channel, n.kind, n.ok) for n in done.notices] == [
            (c, "resolve", True) for c in channels
        ]
        after = api.check_alerts(ws, send=True)
        assert after.notices == () and after.resolved == ()
        events = [
            (e.event, e.channel) for e in ws.state().incidents.get(incident.incident_id).events
        ]  # type: ignore[union-attr]
    assert events == [
        ("OPENED", None),
        *(("NOTIFIED", c) for c in channels),
        ("RESOLVED", None),
        *(("RESOLVE_NOTIFIED", c) for c in channels),
    ]
    assert receivers.counts() == {
        c: 2 * int(c in channels) for c in ("slack", "pagerduty", "email")
    }
    _check_payloads(receivers, rule, incident.dedup_key)


def _check_payloads(receivers: Receivers, rule: str, dedup_key: str) -> None:
    """What each receiver got, against the channels' documented shapes."""
    if receivers.pagerduty.requests:
        trigger, resolve = (r.body for r in receivers.pagerduty.requests)
        assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == dedup_key
        assert resolve == {
            "routing_key": "R0UTINGKEY0123456789012345678901",
            "dedup_key": dedup_key,
            "event_action": "resolve",
        }
        payload = trigger["payload"]
        assert payload["severity"] in ("critical", "error")  # P0 / P1
        assert payload["custom_details"]["rule"] == rule
        assert payload["custom_details"]["threshold"] is not None
        hrefs = [link["href"] for link in trigger["links"]]
        assert hrefs[0].startswith("http://dash.example.internal/#")
        assert hrefs[1].startswith("https://example.com/propsync/docs/RUNBOOK.md#")
    if receivers.slack.requests:
        fired, cleared = (r.body for r in receivers.slack.requests)
        assert "FIRING" in fired["text"] and "RESOLVED" in cleared["text"]
        context = fired["blocks"][-1]["elements"][0]["text"]
        assert "RUNBOOK.md#" in context and dedup_key in context
        facts = {f["text"].split("\n")[0]: f["text"] for f in fired["blocks"][1]["fields"]}
        assert set(facts) == {"*Severity*", "*Measured*", "*Threshold*", "*Since*"}
    if receivers.smtp.mailbox.messages:
        fired_mail, cleared_mail = receivers.smtp.mailbox.messages
        assert " ".join(str(fired_mail["X-Propsync-Incident"]).split()) == dedup_key
        assert "FIRING" in fired_mail["Subject"] and "RESOLVED" in cleared_mail["Subject"]
        assert fired_mail["References"] == cleared_mail["References"]  # one thread
        body = fired_mail.get_payload()
        assert "Measured:" in body and "Threshold:" in body and "Runbook:" in body


def test_a_failing_channel_is_retried_and_blocks_no_other(
    tmp_path: Path, receivers: Receivers
) -> None:
    receivers.slack.statuses = [500, 500, 200]  # both tries of the first check fail
    mws = _baseline(
        tmp_path,
        receivers,
        enabled=["high_create_queue"],
        routes={"high_create_queue": ["slack", "pagerduty"]},
    )
    mws.missing(3, valid_sfdc_id=False)
    with mws.open() as ws:
        mws.build(ws)
        first = api.check_alerts(ws, send=True)
        slack, pd = first.notices
        assert (slack.channel, slack.ok, slack.attempts) == ("slack", False, 2)
        assert "500" in (slack.error or "")
        assert (pd.channel, pd.ok) == ("pagerduty", True)  # not held up by Slack
        assert first.exit_code == 1
        second = api.check_alerts(ws, send=True)
        assert [(n.channel, n.kind, n.ok) for n in second.notices] == [("slack", "trigger", True)]
        third = api.check_alerts(ws, send=True)
        assert third.notices == ()
        [incident] = ws.state().incidents.active()
    assert [(e.event, e.channel, e.attempts) for e in incident.events] == [
        ("OPENED", None, None),
        ("FAILED", "slack", 2),
        ("NOTIFIED", "pagerduty", 1),
        ("NOTIFIED", "slack", 1),
    ]
    assert len(receivers.slack.requests) == 3 and len(receivers.pagerduty.requests) == 1


def test_open_incidents_are_renotified_after_the_repeat_interval(
    tmp_path: Path, receivers: Receivers
) -> None:
    mws = _baseline(
        tmp_path,
        receivers,
        enabled=["high_create_queue"],
        routes={"high_create_queue": ["slack", "pagerduty"]},
    )
    mws.missing(3, valid_sfdc_id=False)
    t0 = datetime.now(UTC)
    with mws.open() as ws:
        mws.build(ws)
        sent = {}
        for hours in (0, 1, 3.9, 4, 5, 8, 8.5):
            check = api.check_alerts(ws, send=True, now=t0 + timedelta(hours=hours))
            sent[hours] = [(n.kind, n.channel) for n in check.notices]
        [incident] = ws.state().incidents.active()
    assert sent == {
        0: [("trigger", "slack"), ("trigger", "pagerduty")],
        1: [],
        3.9: [],
        4: [("repeat", "slack"), ("repeat", "pagerduty")],
        5: [],
        8: [("repeat", "slack"), ("repeat", "pagerduty")],
        8.5: [],
    }
    repeat = receivers.slack.requests[1].body["text"]
    assert "Still firing after 4h" in repeat
    pd_keys = {r.body["dedup_key"] for r in receivers.pagerduty.requests}
    assert pd_keys == {incident.dedup_key}  # PagerDuty folds the repeats into one incident
    assert [e.event for e in incident.events].count("RENOTIFIED") == 4


def test_dedup_holds_across_workspaces_and_processes(tmp_path: Path, receivers: Receivers) -> None:
    mws = _baseline(tmp_path, receivers, enabled=["properties_missing"], routes={})
    mws.missing(3)
    with mws.open() as ws:
        mws.build(ws)
        first = api.check_alerts(ws, send=True)
        assert [n.channel for n in first.notices] == ["email", "slack"]
    with mws.open() as ws:  # a fresh Workspace: the state says who was told
        assert api.check_alerts(ws, send=True).notices == ()
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    argv = [
        sys.executable,
        "-m",
        "propsync",
        "--config",
        str(mws.config_path),
        "alerts",
        "check",
        "--send",
        "--json",
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1, proc.stderr  # firing, nothing failed
    doc = json.loads(proc.stdout)
    assert doc["firing"] == ["properties_missing"] and doc["notices"] == []
    assert doc["incidents"][0]["incident_id"] == first.incidents[0].incident_id
    assert receivers.counts() == {"slack": 1, "pagerduty": 0, "email": 1}


def test_every_rule_at_once_routed_by_severity(tmp_path: Path, receivers: Receivers) -> None:
    mws = _baseline(tmp_path, receivers, enabled=list(RULE_NAMES), routes={})
    mws.missing(3)  # create queue 3 > 2 and missing 3 > 2
    with mws.open() as ws:
        mws.build(ws)
        _fire_mismatch(mws, ws)
        _fire_spike(mws, ws)  # its run is an update run that SUCCEEDED: sync_down is quiet
        fired = api.check_alerts(ws, send=True)
        assert set(fired.firing) == set(RULE_NAMES) - {"sync_down"}
        late = datetime.now(UTC) + timedelta(hours=3)  # no success in 2 h; the spike ages out
        later = api.check_alerts(ws, send=True, now=late)
    assert later.opened == ("sync_down",) and later.resolved == ("sync_failure_spike",)
    by_rule = {r.rule: r for r in fired.rules}
    assert by_rule["sync_failure_spike"].measured == 10.0
    assert by_rule["feature_mismatch_high"].measured == 90.0
    assert by_rule["feature_mismatch_high"].detail["feature"] == "IDV"
    assert by_rule["properties_missing"].measured == 3
    assert by_rule["high_create_queue"].measured == 3
    pd = [
        (r.body["event_action"], r.body.get("payload", {}).get("severity"))
        for r in receivers.pagerduty.requests
    ]
    assert pd == [("trigger", "error"), ("resolve", None), ("trigger", "critical")]
    assert len(receivers.smtp.mailbox.messages) == 1  # properties_missing only
    assert len(receivers.slack.requests) == 5  # four triggers and the spike's resolve


def test_email_without_recipients_is_off(tmp_path: Path, receivers: Receivers) -> None:
    mws = _baseline(tmp_path, receivers, enabled=["properties_missing"], routes={})
    mws.config = mws.config.replace('to = ["oncall@example.com"]', "to = []")
    mws.missing(3)
    with mws.open() as ws:
        mws.build(ws)
        check = api.check_alerts(ws, send=True)
    assert [n.channel for n in check.notices] == ["slack"]
    assert check.skipped_channels == ("email",)


def test_a_rule_that_cannot_be_evaluated_leaves_its_incident(
    tmp_path: Path, receivers: Receivers
) -> None:
    mws = _baseline(tmp_path, receivers, enabled=["high_create_queue"], routes={})
    mws.missing(3, valid_sfdc_id=False)
    with mws.open() as ws:
        mws.build(ws)
        api.check_alerts(ws, send=True)
        ws.engine().execute("DROP VIEW properties_missing_from_sf")
        ws.engine().execute("DROP VIEW sync_monitoring_dashboard")
        ws.engine().execute("DROP VIEW properties_to_create")
        broken = api.check_alerts(ws, send=True)
        [rule] = [r for r in broken.rules if r.rule == "high_create_queue"]
        assert rule.error and "propsync models build" in rule.error
        assert broken.exit_code == 2 and broken.resolved == () and len(broken.incidents) == 1


def test_cli_check_and_test(tmp_path: Path, receivers: Receivers) -> None:
    mws = _baseline(tmp_path, receivers, enabled=["high_create_queue"], routes={})
    mws.missing(3, valid_sfdc_id=False)
    with mws.open() as ws:
        mws.build(ws)
    runner = CliRunner()
    base = ["--config", str(mws.config_path)]
    dry = runner.invoke(main, [*base, "alerts", "check"])
    assert dry.exit_code == 1, dry.output
    assert "FIRING" in dry.output and "would send" in dry.output
    assert receivers.counts()["slack"] == 0
    sent = runner.invoke(main, [*base, "alerts", "check", "--send"])
    assert sent.exit_code == 1 and "messages sent" in sent.output
    for channel in ("slack", "pagerduty", "email"):
        result = runner.invoke(main, [*base, "alerts", "test", channel, "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["ok"] is True
    assert [r.body["event_action"] for r in receivers.pagerduty.requests] == ["trigger", "resolve"]
    test_mail = receivers.smtp.mailbox.messages[-1]
    assert "TEST" in test_mail["Subject"]
    receivers.slack.statuses = [404]
    failed = runner.invoke(main, [*base, "alerts", "test", "slack"])
    assert failed.exit_code == 1 and "not delivered" in failed.output
    unknown = runner.invoke(main, [*base, "alerts", "test", "sms"])
    assert unknown.exit_code == 64


def test_a_second_sending_check_waits_for_no_one(tmp_path: Path, receivers: Receivers) -> None:
    mws = _baseline(tmp_path, receivers, enabled=["high_create_queue"], routes={})
    mws.missing(3, valid_sfdc_id=False)
    with mws.open() as ws:
        mws.build(ws)
        with ws.state().lock("alerts", "another-check"):
            with pytest.raises(LockHeld, match="another-check"):
                api.check_alerts(ws, send=True)
            assert api.check_alerts(ws).opened == ("high_create_queue",)  # a dry check reads
        assert api.check_alerts(ws, send=True).opened == ("high_create_queue",)
    assert len(receivers.slack.requests) == 1


def test_shared_postgresql_state(
    tmp_path: Path, receivers: Receivers, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_STATE_DSN", pg_dsn)
    mws = _baseline(tmp_path, receivers, enabled=["properties_missing", "sync_down"], routes={})
    mws.config += '\n[state]\nkind = "postgresql"\ndsn_env = "TEST_STATE_DSN"\n'
    mws.missing(3)
    with mws.open() as ws:
        ws.state().mirror_to(ws.engine())  # the views read the state tables in the engine
        mws.build(ws)
        first = api.check_alerts(ws, send=True)
        assert set(first.opened) == {"properties_missing", "sync_down"}
        # red at the alert's threshold (2), as the alert: health and alerts agree
        assert api.health(ws).widget("missing_properties").status == "red"
    with mws.open() as ws:
        assert api.check_alerts(ws, send=True).notices == ()
        succeeded_run(ws, "update")
        cleared = api.check_alerts(ws, send=True)
        assert cleared.resolved == ("sync_down",)
        assert [i.rule for i in api.incidents(ws)] == ["sync_down", "properties_missing"]
        assert [i.rule for i in api.incidents(ws, open_only=True)] == ["properties_missing"]
    assert receivers.counts() == {"slack": 1, "pagerduty": 2, "email": 1}
