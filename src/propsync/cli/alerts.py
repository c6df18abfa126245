"""`propsync alerts check` and `propsync alerts test`.

Exit codes of `check`: 0 no rule fires, 1 a rule fires or a delivery failed, 2 a rule
could not be evaluated. `test`: 0 delivered, 1 not delivered.
"""

from __future__ import annotations

from dataclasses import asdict

import click
from rich.table import Table

from propsync import api
from propsync.cli.common import Context, emit_json, error_handler, pass_ctx, stdout_console
from propsync.cli.health import json_errors

CHANNELS = click.Choice(["slack", "email", "pagerduty"])


@click.group("alerts")
def alerts_group() -> None:
    """Alert rules ([alerts.rules]) and their channels: check, test."""


@alerts_group.command("check")
@click.option("--send", is_flag=True, help="Open/resolve incidents and send their messages.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_ctx
@error_handler
def check_cmd(ctx: Context, send: bool, as_json: bool) -> None:
    """Evaluate the alert rules; with --send notify each channel once per incident."""
    with json_errors(as_json):
        result = api.check_alerts(ctx.config_path, send=send)
    if as_json:
        emit_json(result.to_json())
        raise SystemExit(result.exit_code)
    console = stdout_console()
    rules = Table(title="alert rules")
    for name in ("rule", "severity", "state", "measured", "threshold", "channels", "summary"):
        rules.add_column(name, justify="right" if name in ("measured", "threshold") else "left")
    for r in result.rules:
        state = (
            "[red]ERROR[/red]"
            if r.error
            else "[red]FIRING[/red]"
            if r.firing
            else "off"
            if not r.enabled
            else "[green]ok[/green]"
        )
        rules.add_row(
            r.rule,
            r.severity,
            state,
            _fmt(r.measured),
            f"{_fmt(r.threshold)} {r.unit}",
            ", ".join(r.channels),
            r.summary,
        )
    console.print(rules)
    if result.notices:
        title = "messages sent" if result.sent else "messages --send would send"
        notices = Table(title=title)
        for name in ("rule", "message", "channel", "delivery", "incident"):
            notices.add_column(name)
        for n in result.notices:
            delivery = (
                "-"
                if n.ok is None
                else f"[green]ok[/green] ({n.attempts} tries)"
                if n.ok
                else f"[red]failed[/red] after {n.attempts}: {n.error}"
            )
            notices.add_row(n.rule, n.kind, n.channel, delivery, n.incident_id or "(new)")
        console.print(notices)
    else:
        console.print("nothing to send" + ("" if result.sent else " (dry run: add --send)"))
    if result.skipped_channels:
        console.print(
            f"[yellow]channels off: {', '.join(result.skipped_channels)}"
            " (e-mail needs [alerts.channels.email] to)[/yellow]"
        )
    raise SystemExit(result.exit_code)


@alerts_group.command("test")
@click.argument("channel", type=CHANNELS)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@pass_ctx
@error_handler
def test_cmd(ctx: Context, channel: str, as_json: bool) -> None:
    """Send a test message through one channel and report its delivery."""
    with json_errors(as_json):
        delivery = api.send_test_alert(ctx.config_path, channel)
    code = 0 if delivery.ok else 1
    if as_json:
        emit_json({**asdict(delivery), "exit_code": code})
    elif delivery.ok:
        click.echo(
            f"{channel}: test message delivered ({delivery.attempts} tries,"
            f" {delivery.elapsed_s:.2f}s)"
        )
    else:
        click.secho(
            f"{channel}: not delivered after {delivery.attempts} tries: {delivery.error}",
            fg="red",
        )
    raise SystemExit(code)


def _fmt(value: float | int | str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return value
