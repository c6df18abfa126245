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


@pytest.mark.parametrize(
    ("section", "line", "key"),
    [
        ("engine", "threads = true", "engine.threads"),
        ("engine", 'threads = "4"', "engine.threads"),
        ("engine", "threads = 2.5", "engine.threads"),
        ("engine", "threads = 0", "engine.threads"),
        ("engine", 'memory_limit = "lots"', "engine.memory_limit"),
        (
            "engine",
            "memory_limit = \"1GB'; COPY (SELECT 1) TO '/tmp/x'; --\"",
            "engine.memory_limit",
        ),
        ("engine", 'memory_limit = "0MB"', "engine.memory_limit"),
        ("sync", "max_change_share = 1.5", "sync.max_change_share"),
        ("sync", "max_change_share = -0.1", "sync.max_change_share"),
        ("sync", "max_change_share = true", "sync.max_change_share"),
        ("sync", 'bulk_threshold = "2000"', "sync.bulk_threshold"),
        ("sync", "collection_size = 201", "sync.collection_size"),
        ("sync", 'integration_user_id = "x\' OR 1=1"', "sync.integration_user_id"),
        ("salesforce", 'object = "product_property__c WHERE 1=1"', "salesforce.object"),
        ("salesforce", 'api_version = "62.0/../x"', "salesforce.api_version"),
        ("salesforce", 'client_secret_env = "A B"', "salesforce.client_secret_env"),
        ("salesforce", 'external_id = "Name"', "salesforce"),
        ("state", 'dsn_env = "$(id)"', "state.dsn_env"),
        ("salesforce.emulator", 'port = "443"', "salesforce.emulator.port"),
        ("alerts", "delivery_attempts = true", "alerts.delivery_attempts"),
    ],
)
def test_values_are_strict_and_names_are_names(
    tmp_path: Path, section: str, line: str, key: str
) -> None:
    path = tmp_path / "propsync.toml"
    path.write_text(f"[{section}]\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert f"propsync.toml:2: {key}" in str(info.value) or (
        key == "salesforce" and "external id is fixed" in str(info.value)
    ), str(info.value)


def test_a_schema_must_be_an_identifier(tmp_path: Path) -> None:
    path = tmp_path / "propsync.toml"
    path.write_text('[source]\nkind = "postgresql"\nschema = "public; DROP TABLE x"\n')
    with pytest.raises(ConfigError, match=r"propsync.toml:3: source.schema"):
        config.load(path)


def test_sizes_are_canonical_and_the_contract_external_id_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "propsync.toml"
    path.write_text(
        '[engine]\nmemory_limit = " 1.5 gib"\nthreads = 3\n'
        '[salesforce]\nexternal_id = "snappt_property_id__c"\n'
        '[sync]\nmax_change_share = 1\nintegration_user_id = "005000000000001"\n',
        encoding="utf-8",
    )
    cfg = config.load(path)
    assert cfg.engine.memory_limit == "1.5GiB" and cfg.engine.threads == 3
    assert cfg.sync.max_change_share == 1.0
    assert not hasattr(cfg.salesforce, "external_id")
    assert "external_id" not in config.TEMPLATE
