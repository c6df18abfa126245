"""`propsync emulator serve`: the local Salesforce org over HTTPS."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from propsync.cli import Context, emit_json, error_handler, pass_ctx
from propsync.errors import UsageError


@click.group("emulator")
def emulator_group() -> None:
    """The local Salesforce org emulator (REST, sObject Collections, Bulk API 2.0)."""


@emulator_group.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="TCP port on 127.0.0.1 (0 picks a free one).")  # fmt: skip
@click.option("--data", "data_dir", type=click.Path(path_type=Path, file_okay=False),
              default=None,
              help="Folder for the org's SQLite file, CA and connection.json.")  # fmt: skip
@click.option("--latency-ms", type=float, default=None, help="Added to every API call.")
@click.option("--workflow-delay-s", type=float, default=None,
              help="Seconds until the workflow fills sf_property_id__c.")  # fmt: skip
@click.option("--no-workflow", is_flag=True, help="Switch the Salesforce-side workflow off.")
@click.option("--daily-api-limit", type=int, default=None, help="DailyApiRequests quota.")
@click.option("--knobs", "knobs_json", default=None,
              help='More knobs as JSON, e.g. \'{"lock_error_rate": 0.05}\'.')  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the connection as one JSON document.")
@pass_ctx
@error_handler
def serve_cmd(
    ctx: Context,
    port: int | None,
    data_dir: Path | None,
    latency_ms: float | None,
    workflow_delay_s: float | None,
    no_workflow: bool,
    daily_api_limit: int | None,
    knobs_json: str | None,
    as_json: bool,
) -> None:
    """Serve the emulated org until Ctrl-C or SIGTERM; print its instance URL, an
    access token and the CA file to trust. Options not given come from the
    workspace's [salesforce.emulator] section when there is a propsync.toml, else
    port 0 (a free one), folder ./emulator, no latency, a 2 s workflow delay."""
    from propsync.config import CONFIG_NAME, EmulatorConfig
    from propsync.emulator import Emulator

    cfg, root = EmulatorConfig(), Path.cwd()
    if ctx.config_path is not None or (Path.cwd() / CONFIG_NAME).exists():
        ws = ctx.workspace()
        cfg, root = ws.config.salesforce.emulator, ws.root
    data_dir = data_dir if data_dir is not None else root / cfg.data
    port = cfg.port if port is None else port

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
            data_dir, port=port,
            latency_ms=cfg.latency_ms if latency_ms is None else latency_ms,
            workflow_delay_s=cfg.workflow_delay_s if workflow_delay_s is None else workflow_delay_s,
            workflow_enabled=cfg.workflow_enabled and not no_workflow,
            daily_api_limit=cfg.daily_api_limit if daily_api_limit is None else daily_api_limit,
            foreground=True, **extra,
        )  # fmt: skip
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except OSError as exc:
        raise UsageError(f"cannot serve on port {port}: {exc}") from exc
    try:
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
        sys.stdout.flush()
        emu.serve_forever()
    finally:
        emu.stop()
