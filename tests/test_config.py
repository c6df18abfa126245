from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from propsync import config
from propsync.cli import main
from propsync.errors import ConfigError
from propsync.workspace import Workspace, init


def test_init_writes_a_config_that_loads(tmp_path: Path) -> None:
    path = init(tmp_path)
    ws = Workspace.open(path)
    assert ws.config.source.kind == "duckdb"
    assert ws.config.sync.bulk_threshold == 2000
    assert ws.root == tmp_path.resolve()


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "propsync.toml"
    path.write_text('[engine]\nkind = "duckdb"\nthreds = 4\n')
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert f"{path}:3: engine.threds: unknown setting" in str(info.value)


def test_bad_value_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "propsync.toml"
    path.write_text("[sync]\nmax_change_share = 3\n")
    with pytest.raises(ConfigError, match=r"propsync.toml:2: sync.max_change_share"):
        config.load(path)


def test_postgres_source_unknown_key(tmp_path: Path) -> None:
    path = tmp_path / "propsync.toml"
    path.write_text('[source]\nkind = "postgresql"\ndsn = "postgresql://u:pw@h/db"\n')
    with pytest.raises(ConfigError, match=r"propsync.toml:3: source.dsn: unknown setting"):
        config.load(path)


def test_secret_comes_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_SECRET", "s3cret")
    assert config.secret("X_SECRET", what="test") == "s3cret"
    monkeypatch.delenv("X_SECRET")
    with pytest.raises(ConfigError, match="X_SECRET is not set"):
        config.secret("X_SECRET", what="test")


def test_cli_init_and_config_error_exit_code(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(main, ["init", str(tmp_path)])
    assert again.exit_code == 64
    assert "already exists" in again.output
