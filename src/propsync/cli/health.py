"""`propsync health`: the five widgets against their thresholds.

Exit codes: 0 every widget green, 1 the worst is yellow, 2 the worst is red (or the
check could not run).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import click
from rich.table import Table

from propsync import api
from propsync.cli.common import Context, emit_json, error_handler, pass_ctx, stdout_console
from propsync.errors import PropsyncError

COLOURS = {"green": "green", "yellow": "yellow", "red": "red"}


@contextlib.contextmanager
def json_errors(as_json: bool) -> Iterator[None]:
    """With --json a failure is still one JSON document on stdout (`error`,
    `exit_code`); without, the error handler prints its red line."""
    try:
        yield
    except PropsyncError as exc:
        if not as_json:
            raise
        emit_json({"error": str(exc), "exit_code": exc.exit_code})
        sys.exit(exc.exit_code)


def badge(status: str) -> str:
    colour = COLOURS.get(status, "red")
    return f"[{colour}]{status.upper()}[/{colour}]"


def value(reading: dict[str, Any]) -> str:
    v = reading["value"]
    if v is None:
        return "-"
    text = f"{v:,.2f}".rstrip("0").rstrip(".") if isinstance(v, float) else f"{v:,}"
    unit = reading["unit"]
    return f"{text}{unit}" if unit.startswith("%") else f"{text} {unit}"


@click.command("health")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_ctx
@error_handler
def health_cmd(ctx: Context, as_json: bool) -> None:
    """The daily health check: the five dashboard widgets, each green, yellow or red."""
    with json_errors(as_json):
        report = api.health(ctx.config_path)
    if as_json:
        emit_json(report.to_json())
        raise SystemExit(report.exit_code)
    doc = report.to_json()
    table = Table(title=f"propsync health: {doc['status'].upper()}")
    for name in ("widget", "status", "reading", "measured", "thresholds", "note"):
        table.add_column(name, justify="right" if name == "measured" else "left")
    for widget in doc["widgets"]:
        for i, reading in enumerate(widget["readings"]):
            table.add_row(
                widget["title"] if i == 0 else "",
                badge(reading["status"]),
                reading["name"],
                value(reading),
                reading["thresholds"],
                reading["note"],
            )
    console = stdout_console()
    console.print(table)
    sections = [w for w in doc["widgets"] if w["status"] != "green"]
    for widget in sections:
        console.print(
            f"{badge(widget['status'])} {widget['title']}: see docs/RUNBOOK.md#"
            f"{widget['runbook_anchor']}"
        )
    raise SystemExit(report.exit_code)
