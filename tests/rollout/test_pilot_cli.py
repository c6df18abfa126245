"""`propsync pilot select|show|run|validate|signoff` through the command line: JSON
documents, the CSV export, and the exit codes (2 refused, 1 failed validation)."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from propsync.cli import main
from tests.sync.orgs import make_org


def test_pilot_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PROPSYNC_SLACK_WEBHOOK_URL", "PROPSYNC_PAGERDUTY_ROUTING_KEY"):
        monkeypatch.delenv(name, raising=False)
    org = make_org(tmp_path / "org", scale=600)
    org.ws.close()  # the commands open the workspace themselves

    def run(*args: str) -> tuple[int, Any, str]:
        result = CliRunner().invoke(main, ["--config", str(org.config_path), "-q", *args])
        out = result.stdout
        return result.exit_code, json.loads(out) if "--json" in args else out, result.stderr

    try:
        code, doc, _ = run("pilot", "select", "--name", "c1", "--seed", "2", "--json")
        assert code == 0 and doc["name"] == "c1"
        creates = len(doc["rows"]["create"])
        assert creates and doc["size"] == creates + len(doc["rows"]["update"])
        assert sum(s["selected"] for s in doc["strata"]) == doc["size"]
        code, text, _ = run("pilot", "show", "--name", "c1", "--csv", str(tmp_path / "out"))
        assert code == 0 and "create set" in text
        with (tmp_path / "out" / "pilot-c1-update.csv").open() as fh:
            exported = list(csv.DictReader(fh))
        assert len(exported) == len(doc["rows"]["update"])
        assert list(exported[0])[:2] == ["snappt_property_id_c", "sfdc_id"]

        code, _, err = run("pilot", "signoff", "--name", "c1", "--by", "ana")
        assert code == 2 and "has not been validated" in err
        code, text, _ = run("pilot", "run", "--name", "c1")
        assert code == 2 and "refused" in text and "Error monitoring active" in text
        code, doc, _ = run("pilot", "run", "--name", "c1", "--no-monitoring", "--json")
        assert code == 0 and doc["create"]["totals"]["created"] == creates
        deadline = time.time() + 15
        while True:
            code, doc, _ = run("pilot", "validate", "--name", "c1", "--json")
            if code == 0 or time.time() > deadline:
                break
            time.sleep(0.5)
        assert code == 0 and doc["passed"], [i for i in doc["items"] if not i["passed"]]
        assert Path(doc["report_html"]).exists() and Path(doc["report_markdown"]).exists()
        code, doc, _ = run("pilot", "signoff", "--name", "c1", "--by", "demo", "--json")
        assert code == 0 and [s["who"] for s in doc["signoffs"]] == ["demo"]
        code, _, err = run("pilot", "show", "--name", "nope")
        assert code == 64 and "no pilot set 'nope'" in err
    finally:
        org.close()
