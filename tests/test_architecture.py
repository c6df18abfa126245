"""The architecture holds: the import contracts of pyproject.toml (layers, the emulator
and the generator beside them, no cycles), small modules, and imports a reader can see.

docs/ARCHITECTURE.md draws the same picture; these tests keep it true."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "propsync"
MAX_LINES = 500
# Imported on first use, so `propsync --help` and modules that do not need them stay
# fast: database and HTTP drivers, Arrow, the emulator's server stack, crypto, and the
# parts of propsync that import them at their top (the generator, the demo built on
# it, the emulator).
HEAVY_DRIVERS = frozenset(
    {
        "adbc_driver_manager",
        "apscheduler",
        "adbc_driver_postgresql",
        "cryptography",
        "databricks",
        "duckdb",
        "jwt",
        "numpy",
        "psutil",
        "psycopg",
        "pyarrow",
        "pyspark",
        "simple_salesforce",
        "sqlglot",
        "starlette",
        "trustme",
        "uvicorn",
        "vl_convert",
        "propsync.demo",
        "propsync.emulator",
        "propsync.emulator.app",
        "propsync.generate",
    }
)


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_import_contracts_hold() -> None:
    # Exit code 0: every contract in [tool.importlinter] is kept (lint-imports prints
    # the broken ones, with the import chain, to stdout).
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


def _imports_inside_functions(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    found += [(inner.lineno, alias.name) for alias in inner.names]
                elif isinstance(inner, ast.ImportFrom):
                    found.append((inner.lineno, "." * inner.level + (inner.module or "")))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_inside_functions_are_heavy_drivers_only(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = [
        f"line {line}: {name}"
        for line, name in _imports_inside_functions(tree)
        if name.split(".")[0] not in HEAVY_DRIVERS and name not in HEAVY_DRIVERS
    ]
    assert not hidden, f"{path.relative_to(ROOT)} imports inside functions: {hidden}"
