"""`propsync extract`: parse, call the library, report; errors become exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from propsync.cli import main
from propsync.workspace import init

from .conftest import pg_workspace
from .test_embedded import _make_file


def test_extract_json_and_table(tmp_path: Path) -> None:
    init(tmp_path)
    _make_file(tmp_path / "rds.duckdb")
    config = str(tmp_path / "propsync.toml")
    result = CliRunner().invoke(main, ["--config", config, "extract", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["mode"] == "full"
    assert {t: v["rows_read"] for t, v in doc["tables"].items()} == {
        "companies": 2,
        "properties": 2,
        "property_features": 1,
    }
    human = CliRunner().invoke(main, ["--config", config, "extract", "--full"])
    assert human.exit_code == 0, human.output
    assert "properties" in human.output and "rows read" in human.output


def test_extract_errors_map_to_exit_codes(
    tmp_path: Path, rds_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    init(tmp_path / "embedded")
    missing = CliRunner().invoke(
        main, ["--config", str(tmp_path / "embedded" / "propsync.toml"), "extract"]
    )
    assert missing.exit_code == 2 and "rds.duckdb does not exist" in missing.output

    (tmp_path / "pg").mkdir()
    pg_workspace(tmp_path / "pg", "PROPSYNC_TEST_CLI_DSN").close()
    config = str(tmp_path / "pg" / "propsync.toml")
    unset = CliRunner().invoke(main, ["--config", config, "extract"])
    assert unset.exit_code == 78 and "PROPSYNC_TEST_CLI_DSN" in unset.output

    monkeypatch.setenv("PROPSYNC_TEST_CLI_DSN", rds_dsn)
    first = CliRunner().invoke(main, ["--config", config, "extract", "--json"])
    second = CliRunner().invoke(main, ["--config", config, "extract", "--json"])
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    assert json.loads(first.output)["mode"] == "full"
    assert json.loads(second.output)["mode"] == "incremental"
