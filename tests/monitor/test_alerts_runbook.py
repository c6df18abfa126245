"""docs/RUNBOOK.md has the section every alert and every health widget links to, and the
propsync commands it tells people to run exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from propsync.cli import main
from propsync.config import Config
from propsync.monitor.alerts import links
from propsync.monitor.rules import RULES, anchor

RUNBOOK = (Path(__file__).resolve().parents[2] / "docs" / "RUNBOOK.md").read_text("utf-8")
ANCHORS = {anchor(m) for m in re.findall(r"^#{2,3} (.+)$", RUNBOOK, flags=re.MULTILINE)}
WIDGET_SECTIONS = {
    "queues": "Queue sizes",
    "feature_accuracy": "Feature accuracy",
    "multi_property": "Multi-property groups",
    "sync_success": "Sync success",
    "missing_properties": "Missing properties",
}
# In DESIGN.md's command contract, built by other issues (rollout, serve).
DESIGNED = {"rollback", "serve"}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_alert_links_to_its_section(rule: str) -> None:
    spec = RULES[rule]
    assert anchor(spec.runbook_section) in ANCHORS
    assert spec.widget in WIDGET_SECTIONS
    dashboard, runbook = links(Config(), spec.widget, spec.runbook_section)
    assert dashboard == f"http://127.0.0.1:8765/#{spec.widget}"
    assert runbook == f"docs/RUNBOOK.md#{anchor(spec.runbook_section)}"


def test_every_widget_has_its_section() -> None:
    assert {anchor(s) for s in WIDGET_SECTIONS.values()} <= ANCHORS
    assert {"daily-health-check", "alerts", "emergency-rollback", "weekly-review"} <= ANCHORS


def test_the_commands_it_names_exist() -> None:
    named = set(re.findall(r"(?:^|`)propsync ([a-z]+)", RUNBOOK, flags=re.MULTILINE))
    assert {"health", "alerts", "runs", "sync", "plan", "models"} <= named
    assert named - set(main.commands) <= DESIGNED, named - set(main.commands)
    for sub in set(re.findall(r"propsync models ([a-z]+)", RUNBOOK)):
        assert sub in main.commands["models"].commands  # type: ignore[attr-defined]
    for sub in set(re.findall(r"propsync alerts ([a-z]+)", RUNBOOK)):
        assert sub in main.commands["alerts"].commands  # type: ignore[attr-defined]


def test_internal_links_resolve() -> None:
    for target in re.findall(r"\]\(#([a-z0-9\-]+)\)", RUNBOOK):
        assert target in ANCHORS, target
