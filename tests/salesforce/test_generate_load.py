"""`propsync generate` loads the Salesforce starting state into the workspace's org
(the emulator, started for the occasion) through the API, unless told not to."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from click.testing import CliRunner

from propsync.cli import main
from propsync.salesforce.connect import connect
from propsync.workspace import Workspace


def test_generate_loads_the_starting_state_into_the_emulator(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(tmp_path)]).exit_code == 0
    config = tmp_path / "propsync.toml"
    args = ["--config", str(config), "generate", "--scale", "300", "--json"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    table = pq.read_table(tmp_path / "generated" / "salesforce_product_property.parquet")
    deleted = sum(1 for d in table.column("IsDeleted").to_pylist() if d)
    assert doc["org_load"]["inserted"] == table.num_rows
    assert doc["org_load"]["deleted"] == deleted
    with (
        Workspace.open(config) as ws,
        connect(ws.config.salesforce, ws.root, sync=ws.config.sync) as client,
    ):
        rows = list(client.query_all("SELECT Id, IsDeleted FROM product_property__c"))
    assert len(rows) == table.num_rows
    assert sum(1 for r in rows if r["IsDeleted"]) == deleted
    # a second load into the same org is refused with a clear message, exit code 2
    again = runner.invoke(main, args)
    assert again.exit_code == 2
    assert "already holds" in again.output


def test_no_load_org_leaves_the_org_alone(tmp_path):
    runner = CliRunner()
    runner.invoke(main, ["init", str(tmp_path)])
    config = tmp_path / "propsync.toml"
    result = runner.invoke(
        main, ["--config", str(config), "generate", "--scale", "300", "--json", "--no-load-org"]
    )
    assert result.exit_code == 0, result.output
    assert "org_load" not in json.loads(result.output)
    assert not (tmp_path / "emulator" / "org.sqlite").exists()
