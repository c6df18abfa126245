"""Registry of command groups; each group lives in its own module under propsync.cli."""

from __future__ import annotations

import importlib

import click

# module name -> attribute holding a click command or group
GROUPS: list[tuple[str, str]] = [
    ("generate", "generate_cmd"),
    ("extract", "extract_cmd"),
    ("emulator", "emulator_group"),
    ("models", "models_group"),
    ("sync", "plan_cmd"),
    ("sync", "sync_cmd"),
    ("sync", "runs_grp"),
    ("demo", "demo_cmd"),
]


def register(main: click.Group) -> None:
    for module, attr in GROUPS:
        mod = importlib.import_module(f"propsync.cli.{module}")
        main.add_command(getattr(mod, attr))
