"""`propsync emulator serve`: the local Salesforce org over HTTPS."""

from __future__ import annotations

import json
from pathlib import Path

import click

from propsync.cli import emit_json, error_handler
from propsync.errors import UsageError


@click.group("emulator")
def emulator_group() -> None:
    """The local Salesforce org emulator (REST, sObject Collections, Bulk API 2.0)."""


@emulator_group.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="TCP port on 127.0.0.1 (0 picks a free one).")  # fmt: skip
@click.option("--data", "data_dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path("emulator"), show_default=True,
              help="Folder for the org's SQLite file, CA and connection.json.")  # fmt: skip
@click.option("--latency-ms", type=float, default=0.0, help="Added to every API call.")
@click.option("--workflow-delay-s", type=float, default=2.0, show_default=True,
              help="Seconds until the workflow fills sf_property_id__c.")  # fmt: skip
@click.option("--no-workflow", is_flag=True, help="Switch the Salesforce-side workflow off.")
@click.option("--daily-api-limit", type=int, default=1_000_000, show_default=True,
              help="DailyApiRequests quota.")  # fmt: skip
@click.option("--knobs", "knobs_json", default=None,
              help='More knobs as JSON, e.g. \'{"lock_error_rate": 0.05}\'.')  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the connection as one JSON document.")
@error_handler
def serve_cmd(
    port: int,
    data_dir: Path,
    latency_ms: float,
    workflow_delay_s: float,
    no_workflow: bool,
    daily_api_limit: int,
    knobs_json: str | None,
    as_json: bool,
) -> None:
    """Serve the emulated org until Ctrl-C or SIGTERM; print its instance URL, an
    access token and the CA file to trust."""
    from propsync.salesforce.emulator import Emulator

    extra = {}
    if knobs_json:
        try:
            extra = json.loads(knobs_json)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--knobs is not JSON: {exc}") from exc
        if not isinstance(extra, dict):
            raise UsageError("--knobs must be a JSON object")
    try:
        emu = Emulator.start(
            data_dir, port=port, latency_ms=latency_ms, workflow_delay_s=workflow_delay_s,
            workflow_enabled=not no_workflow, daily_api_limit=daily_api_limit,
            foreground=True, **extra,
        )  # fmt: skip
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except OSError as exc:
        raise UsageError(f"cannot serve on port {port}: {exc}") from exc
    doc = {
        "instance_url": emu.instance_url,
        "access_token": emu.access_token,
        "ca_file": emu.ca_file,
        "connection_file": str(data_dir / "connection.json"),
    }
    if as_json:
        emit_json(doc)
    else:
        click.echo(f"instance URL  {doc['instance_url']}")
        click.echo(f"access token  {doc['access_token']}")
        click.echo(f"CA file       {doc['ca_file']}")
        click.echo(f"connection    {doc['connection_file']}")
        click.echo("serving; Ctrl-C to stop", err=True)
    emu.serve_forever()
