"""`propsync plan`, `propsync sync`, `propsync runs`: JSON documents and exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from propsync.cli import main
from tests.sync.orgs import Org, make_org


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    o = make_org(tmp_path / "org", scale=300)
    o.ws.close()  # the commands open the workspace themselves
    try:
        yield o
    finally:
        o.close()


def _run(org: Org, *args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(main, ["--config", str(org.config_path), *args])
    try:
        doc = json.loads(result.stdout) if "--json" in args else result.stdout
    except json.JSONDecodeError:
        raise AssertionError(result.output) from None
    return result.exit_code, doc


def test_plan_dry_run_sync_and_runs(org: Org) -> None:
    unsyncable = {str(u["rds_property_id"]): u["reason"] for u in org.truth["unsyncable"]}
    code, doc = _run(org, "plan", "--json")
    assert code == 0
    writes = doc["records_to_write"]
    assert writes["total"] == writes["create"] + writes["update"]
    assert writes["create"] == org.truth["properties_to_create"] - len(unsyncable)
    assert writes["update"] == org.truth["update_records_with_changes"]

    code, dry = _run(org, "sync", "all", "--dry-run", "--json")
    assert code == 0 and dry["dry_run"] and dry["totals"]["sent"] == 0
    assert dry["plan"]["records_to_write"] == writes

    code, run = _run(org, "sync", "all", "--json")
    assert code == 1  # completed, with the unsyncable records failed
    assert run["status"] == "PARTIAL" and run["totals"]["failed"] == len(unsyncable)

    code, again = _run(org, "sync", "all", "--json")
    assert code == 0 and again["totals"]["sent"] == 0

    code, runs = _run(org, "runs", "--json")
    assert [r["run_id"] for r in runs[:3]] == [again["run_id"], run["run_id"], dry["run_id"]]
    assert [r["status"] for r in runs[:3]] == ["SUCCEEDED", "PARTIAL", "SUCCEEDED"]

    code, shown = _run(org, "runs", "show", run["run_id"], "--json")
    assert code == 0
    assert shown["error_codes"] == {
        code: list(unsyncable.values()).count(code) for code in set(unsyncable.values())
    }
    code, text = _run(org, "runs", "show", run["run_id"])
    assert code == 0 and "STRING_TOO_LONG" in text


def test_bad_ids_file_is_a_usage_error(org: Org, tmp_path: Path) -> None:
    bad = tmp_path / "ids.txt"
    bad.write_text("# no ids here\n\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["--config", str(org.config_path), "sync", "update", "--ids", str(bad)]
    )
    assert result.exit_code == 64
    assert "ids.txt: no ids in the file" in result.output
