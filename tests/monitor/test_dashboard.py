"""The web dashboard in headless Chromium over a synced scenario: every widget renders
real data (its chart and its figures, equal to the views), a run's drill-down shows its
records with Salesforce's error codes, every widget has a JSON endpoint, and a
non-loopback address is refused without the token. A screenshot of each page is kept
under test-artifacts/."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn

from propsync.config import DashboardConfig
from propsync.errors import ConfigError
from propsync.monitor.dashboard import WIDGETS, create_app, dashboard_token
from propsync.sync import run_sync
from tests.sync.orgs import Org, make_org


@dataclass
class Served:
    org: Org
    url: str
    expected: dict[str, Any]


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.05)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    return server, thread, f"http://{host}:{port}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    org = make_org(tmp_path_factory.mktemp("dashboard"), scale=400, workflow_enabled=False)
    try:
        runs = [run_sync(org.ws, "create"), run_sync(org.ws, "update", force=True)]
        engine = org.ws.engine()
        expected = {
            "missing": engine.dicts("SELECT * FROM properties_missing_from_sf")[0],
            "accuracy": engine.dicts("SELECT * FROM feature_sync_accuracy ORDER BY sort_order"),
            "groups": engine.dicts("SELECT * FROM multi_property_stats"),
            "failed_run": next((r.run_id for r in runs if r.totals()["failed"]), None),
            "runs": [r.run_id for r in org.ws.state().runs.recent(10)],
        }
        server, thread, url = _serve(create_app(org.ws, token=None))
        try:
            yield Served(org, url, expected)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    finally:
        org.close()


def test_every_widget_renders_its_chart_and_figures(
    served: Served, page: Any, screenshot: Callable[..., Path]
) -> None:
    page.goto(served.url + "/")
    for name in WIDGETS:
        card = page.locator(f'[data-widget="{name}"]')
        assert card.count() == 1, name
    for name in WIDGETS:
        svg = page.locator(f'[data-widget="{name}"] svg')
        assert svg.count() >= 1, f"{name} has no chart"
    missing = served.expected["missing"]
    text = page.locator('[data-widget="missing_properties"]').inner_text()
    assert f"{missing['missing_property_count']:,}" in text
    accuracy = page.locator('[data-widget="feature_accuracy"]').inner_text()
    lowest = min(float(r["accuracy_pct"]) for r in served.expected["accuracy"])
    assert f"{lowest:,.2f}" in accuracy
    assert page.locator("table a[href^='/runs/']").count() >= 2  # recent runs, linked
    shot = screenshot(page, "overview")
    assert shot.stat().st_size > 10_000


def test_a_run_drills_down_to_its_records(
    served: Served, page: Any, screenshot: Callable[..., Path]
) -> None:
    run_id = served.expected["failed_run"]
    assert run_id is not None  # the scenario holds records Salesforce refuses
    page.goto(served.url + "/runs")
    page.locator(f"a[href='/runs/{run_id}']").first.click()
    page.wait_for_url(f"**/runs/{run_id}")
    records = page.locator("[data-records] table").inner_text()
    report = requests.get(f"{served.url}/api/runs/{run_id}", timeout=30).json()
    failed = [r for r in report["records"] if r["sync_status"] == "FAILED"]
    assert failed
    for r in failed:
        assert r["error_code"] in records
        assert str(r["snappt_property_id_c"]) in records
    assert "before" in page.locator("[data-records] table tr").first.inner_text()
    screenshot(page, "run")


def test_each_widget_has_a_json_endpoint(served: Served) -> None:
    for name in WIDGETS:
        doc = requests.get(f"{served.url}/api/widgets/{name}", timeout=30).json()
        assert doc["name"] == name and "rows" in doc
    accuracy = requests.get(f"{served.url}/api/widgets/feature_accuracy", timeout=30).json()
    assert [r["mismatches"] for r in accuracy["rows"]] == [
        r["mismatches"] for r in served.expected["accuracy"]
    ]
    groups = requests.get(f"{served.url}/api/widgets/multi_property", timeout=30).json()
    assert sum(r["num_sfdc_ids"] for r in groups["rows"]) == sum(
        r["num_sfdc_ids"] for r in served.expected["groups"]
    )
    assert requests.get(f"{served.url}/api/widgets/nope", timeout=30).status_code == 404


def test_a_non_loopback_address_needs_the_token(
    served: Served, monkeypatch: pytest.MonkeyPatch, page: Any
) -> None:
    cfg = DashboardConfig()
    monkeypatch.delenv(cfg.token_env, raising=False)
    with pytest.raises(ConfigError, match=cfg.token_env):
        dashboard_token(cfg, "0.0.0.0")
    assert dashboard_token(cfg, "127.0.0.1") is None
    monkeypatch.setenv(cfg.token_env, "s3cret-token")
    token = dashboard_token(cfg, "0.0.0.0")
    assert token == "s3cret-token"
    # The same app with the token required, on loopback (nothing listens elsewhere).
    server, thread, url = _serve(create_app(served.org.ws, token=token))
    try:
        assert requests.get(url + "/api/runs", timeout=30).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert requests.get(url + "/api/runs", headers=wrong, timeout=30).status_code == 401
        good = {"Authorization": f"Bearer {token}"}
        assert requests.get(url + "/api/runs", headers=good, timeout=30).status_code == 200
        page.goto(f"{url}/?token={token}")  # once by URL, then by cookie
        assert "token" not in page.url
        assert page.locator('[data-widget="missing_properties"]').count() == 1
    finally:
        server.should_exit = True
        thread.join(timeout=10)
