"""The command-line contract of DESIGN.md on failure: with --json every outcome is one
JSON document on stdout (`status`, `error`, `exit_code`); the exit code says what kind
of failure it was (64 usage, 78 configuration, 2 aborted or failed, 70 internal) and
--debug (tracebacks) never changes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from propsync import api
from propsync.cli import main
from propsync.errors import StateError
from propsync.state.locks import FileLocks
from tests.sync.orgs import Org, make_org

# Every command that takes --json, with arguments that pass click's parsing.
JSON_COMMANDS = [
    ["generate", "--scale", "10", "--to", "duckdb:rds.duckdb"],
    ["extract"],
    ["emulator", "serve"],
    ["models", "build"],
    ["models", "show", "property_expected_values"],
    ["models", "check"],
    ["plan", "all"],
    ["sync", "all"],
    ["runs"],
    ["runs", "show", "no-such-run"],
    ["demo"],
]
# Those that read the configuration first.
CONFIG_COMMANDS = [c for c in JSON_COMMANDS if c[0] not in ("generate", "emulator", "demo")]


def _invoke(args: list[str], debug: bool = False) -> Result:
    return CliRunner().invoke(main, (["--debug"] if debug else []) + args)


def _document(result: Result) -> dict[str, Any]:
    try:
        doc = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"stdout is not one JSON document: {result.stdout!r}") from None
    assert isinstance(doc, dict)
    return doc


def _failed(result: Result, code: int, *words: str) -> dict[str, Any]:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    doc = _document(result)
    assert doc["exit_code"] == code and doc["status"] and doc["error"]
    for word in words:
        assert word in doc["error"]
    return doc


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("command", JSON_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_usage_error_is_64_with_one_json_document(command: list[str], debug: bool) -> None:
    result = _invoke([*command, "--no-such-option", "--json"], debug)
    doc = _failed(result, 64, "--no-such-option")
    assert doc["status"] == "ERROR"


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("command", CONFIG_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_configuration_error_is_78_with_one_json_document(
    command: list[str], debug: bool, tmp_path: Path
) -> None:
    bad = tmp_path / "propsync.toml"
    bad.write_text('[engine]\nthreads = "many"\n', encoding="utf-8")
    result = _invoke(["--config", str(bad), *command, "--json"], debug)
    doc = _failed(result, 78, "engine.threads")
    assert doc["error_type"] == "ConfigError"
    if debug:
        assert "Traceback" in result.stderr
    else:
        assert result.stderr.strip().count("\n") == 0 and "error:" in result.stderr


@pytest.mark.parametrize("debug", [False, True])
def test_an_internal_error_is_70_one_red_line_traceback_only_with_debug(
    debug: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(api, "runs", broken)
    config = tmp_path / "propsync.toml"
    config.write_text("", encoding="utf-8")
    for as_json in (True, False):
        result = _invoke(["--config", str(config), "runs", *(["--json"] * as_json)], debug)
        assert result.exit_code == 70
        if as_json:
            doc = _failed(result, 70, "ZeroDivisionError", "a bug")
            assert doc["status"] == "INTERNAL_ERROR"
        else:
            assert result.stdout == ""
        if debug:
            assert "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr
        else:
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: internal error")


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    o = make_org(tmp_path_factory.mktemp("contract") / "org", scale=300)
    o.ws.close()  # the commands open the workspace themselves
    try:
        yield o
    finally:
        o.close()


def _on(org: Org, *args: str, debug: bool = False) -> Result:
    return _invoke(["--config", str(org.config_path), *args], debug)


@pytest.mark.parametrize("debug", [False, True])
def test_run_failures_print_one_json_document_with_the_run(org: Org, debug: bool) -> None:
    # A lock held by another run: ABORTED, recorded, exit 2.
    with FileLocks(org.root / "locks").hold("sync-create", "someone-else"):
        doc = _failed(_on(org, "sync", "create", "--json", debug=debug), 2, "sync-create")
    assert doc["status"] == "ABORTED" and doc["error_type"] == "LockHeld" and doc["run_id"]
    runs = _document_list(_on(org, "runs", "--json"))
    assert runs[0]["run_id"] == doc["run_id"] and runs[0]["status"] == "ABORTED"

    # An unknown pilot, a missing ids file, an unknown run id: usage errors naming them.
    _failed(_on(org, "sync", "all", "--pilot", "typo", "--json", debug=debug), 64, "'typo'")
    missing = org.root / "no-such-ids.txt"
    _failed(_on(org, "plan", "--ids", str(missing), "--json", debug=debug), 64, str(missing))
    _failed(_on(org, "sync", "all", "--ids", str(missing), "--json", debug=debug), 64, str(missing))
    _failed(_on(org, "runs", "show", "20990101T0000", "--json", debug=debug), 64, "20990101T0000")
    result = _on(org, "sync", "all", "--pilot", "typo", debug=debug)
    assert result.exit_code == 64 and "'typo'" in result.stderr and not result.stdout.strip()


def test_a_guardrail_and_a_failed_run_print_one_json_document(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = org.config_path.read_text(encoding="utf-8")
    org.config_path.write_text(
        text.replace("max_change_share = 0.5", "max_change_share = 0.0001"), encoding="utf-8"
    )
    try:
        for debug in (False, True):
            doc = _failed(_on(org, "sync", "update", "--json", debug=debug), 2, "--force")
            assert doc["status"] == "ABORTED" and doc["error_type"] == "GuardrailTripped"
    finally:
        org.config_path.write_text(text, encoding="utf-8")

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise StateError("the state store could not be written: No space left on device")

    monkeypatch.setattr("propsync.sync.run._record_queues", disk_full)
    for debug in (False, True):
        result = _on(org, "sync", "all", "--json", debug=debug)
        doc = _failed(result, 2, "No space left")
        assert doc["status"] == "FAILED" and doc["run_id"]
        assert (result.stderr.count("Traceback") == 1) is debug
    monkeypatch.undo()
    runs = _document_list(_on(org, "runs", "--json"))
    assert runs[0]["status"] == "FAILED" and runs[0]["run_id"] == doc["run_id"]


def _document_list(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    runs = json.loads(result.stdout)
    assert isinstance(runs, list)
    return runs
