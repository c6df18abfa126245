"""`connect(config, root)`: the client for the org a `[salesforce]` section names.

    client = connect(cfg.salesforce, workspace_root, sync=cfg.sync)

Relative paths in the section (`ca_file`, `emulator.data`) are read from `root`. For
`kind = "emulator"` it reuses the local org that `<root>/<emulator.data>/connection.json`
names, or starts one in this process (stopped by `client.close()`).
TLS verification is always on: the emulator's CA file, or the config's `ca_file`
(a corporate proxy's CA), or the system store.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from requests import PreparedRequest
from requests.adapters import HTTPAdapter

from propsync.config import SalesforceConfig, SyncConfig
from propsync.errors import ConfigError, TransientSalesforceError, UsageError
from propsync.salesforce import auth
from propsync.salesforce.client import SalesforceClient
from propsync.salesforce.errors import redact, register_secret

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT_S = SalesforceConfig().connect_timeout_s
DEFAULT_TIMEOUT_S = SalesforceConfig().timeout_s

# Loggers that see requests, responses or logins. Their records are redacted.
REDACTED_LOGGERS = (
    "propsync",
    "propsync.salesforce",
    "propsync.salesforce.client",
    "propsync.salesforce.bulk2",
    "propsync.salesforce.bulk2_jobs",
    "propsync.salesforce.auth",
    "propsync.salesforce.connect",
    "propsync.salesforce.extract",
    "propsync.salesforce.load",
    "simple_salesforce",
    "simple_salesforce.api",
    "simple_salesforce.login",
    "simple_salesforce.bulk2",
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.util.retry",
    "requests",
)


class RedactingFilter(logging.Filter):
    """Rewrites a log record so no token, password, client secret or key survives."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # The formatter would print the exception text; pre-render it redacted.
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        return True


_FILTER = RedactingFilter()


def install_redaction() -> None:
    """Put the redacting filter on every logger that can see credentials, and on the
    root logger's handlers (records of child loggers reach those without passing the
    parents' logger filters). Safe to call more than once."""
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


class TimeoutAdapter(HTTPAdapter):
    """Gives every request sent through it a (connect, read) timeout unless the call
    names its own. simple-salesforce's logins (`token_login`, `soap_login`) post with
    no timeout at all, so without this a login to an address that accepts the TCP
    connection and never answers waits for ever."""

    def __init__(self, timeouts: tuple[float, float]) -> None:
        super().__init__()
        self.timeouts = timeouts

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return super().send(
            request,
            stream=stream,
            timeout=self.timeouts if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def make_session(
    ca_file: str | Path | None = None,
    *,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> requests.Session:
    """A requests session that verifies TLS against `ca_file` (or the system store) and
    gives every request without its own timeout `(connect_timeout_s, timeout_s)`.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's own CA file
    (psf/requests#3829), which would make the emulator's CA, or a proxy's, unusable on
    machines that set them. Here an explicit CA file wins, and proxies from the
    environment (HTTPS_PROXY) still apply, which `trust_env = False` would drop."""

    class _Session(requests.Session):
        def merge_environment_settings(
            self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
        ) -> Any:
            settings: Any = super().merge_environment_settings(url, proxies, stream, verify, cert)
            if verify is None and isinstance(self.verify, str):
                settings["verify"] = self.verify
            return settings

    session = _Session()
    session.verify = str(ca_file) if ca_file else True
    adapter = TimeoutAdapter((connect_timeout_s, timeout_s))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def connect(
    config: SalesforceConfig, root: Path, *, sync: SyncConfig | None = None, **overrides: Any
) -> SalesforceClient:
    """The client for the org `config` names; relative paths in it are under `root`.
    `sync` (the `[sync]` section, defaults when None) gives the retry policy
    (`max_request_attempts`, `backoff_base_s`) and the Bulk job deadline
    (`bulk_job_timeout_s`); every HTTP call, logins included, has the section's
    `connect_timeout_s` and `timeout_s`. `overrides` go to SalesforceClient
    (e.g. `backoff_base_s`, `poll_interval_s`, `max_request_attempts`)."""
    install_redaction()
    cfg = config
    retry = sync if sync is not None else SyncConfig()
    settings: dict[str, Any] = {
        "api_version": cfg.api_version,
        "object_name": cfg.object_name,
        "timeout_s": cfg.timeout_s,
        "connect_timeout_s": cfg.connect_timeout_s,
        "bulk_job_timeout_s": retry.bulk_job_timeout_s,
        "max_request_attempts": retry.max_request_attempts,
        "backoff_base_s": retry.backoff_base_s,
        "bulk_query_threshold": cfg.bulk_query_threshold,
    }
    if cfg.kind == "emulator":
        settings["poll_interval_s"] = 0.05
        settings.update(overrides)
        return _connect_emulator(cfg, root, settings)
    settings["poll_interval_s"] = 1.0
    settings.update(overrides)
    ca = str(_under(root, cfg.ca_file)) if cfg.ca_file else None
    session = make_session(ca, **_timeouts(cfg))
    login, token, instance_url = auth.from_config(cfg, session)
    return SalesforceClient(
        instance_url=instance_url, access_token=token, login=login, session=session, **settings
    )


def emulator_data_dir(config: SalesforceConfig, root: Path) -> Path:
    """The local org's data folder (`[salesforce.emulator] data`, relative to `root`)."""
    return _under(root, config.emulator.data)


def reset_emulator_org(config: SalesforceConfig, root: Path) -> None:
    """Empty the local org's data folder so the next start is a fresh org (UsageError
    while a live emulator serves it)."""
    from propsync.emulator import EmulatorBusy, reset_data  # the local org's server stack

    try:
        reset_data(emulator_data_dir(config, root))
    except EmulatorBusy as exc:
        raise UsageError(str(exc)) from None


def _timeouts(config: SalesforceConfig) -> dict[str, float]:
    return {"connect_timeout_s": config.connect_timeout_s, "timeout_s": config.timeout_s}


def _under(root: Path, relative: str) -> Path:
    p = Path(relative)
    return p if p.is_absolute() else root / p


def _read_connection(path: Path) -> dict[str, Any] | None:
    try:
        info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable emulator connection file: {exc}") from None
    for key in ("instance_url", "ca_file", "client_id", "client_secret"):
        if not info.get(key):
            raise ConfigError(f"{path}: emulator connection file lacks {key}")
    register_secret(info["client_secret"])
    if info.get("admin_token"):
        register_secret(info["admin_token"])
    return info


def _connect_emulator(
    config: SalesforceConfig, root: Path, settings: dict[str, Any]
) -> SalesforceClient:
    ecfg = config.emulator
    data_dir = emulator_data_dir(config, root)
    info = _read_connection(data_dir / "connection.json")
    if info is not None:
        session = make_session(info["ca_file"], **_timeouts(config))
        login = auth.client_credentials(
            session, info["instance_url"], info["client_id"], info["client_secret"]
        )
        try:
            token, instance_url = login()
        except TransientSalesforceError as exc:
            log.info(
                "emulator at %s is not answering (%s); starting one", info["instance_url"], exc
            )
            session.close()
        else:
            client = SalesforceClient(
                instance_url=instance_url, access_token=token, login=login, session=session,
                **settings,
            )  # fmt: skip
            client.emulator_admin_token = info.get("admin_token")
            return client
    from propsync.emulator import Emulator  # the local org's server stack

    emu = Emulator.start(
        data_dir,
        port=ecfg.port,
        latency_ms=ecfg.latency_ms,
        workflow_delay_s=ecfg.workflow_delay_s,
        workflow_enabled=ecfg.workflow_enabled,
        daily_api_limit=ecfg.daily_api_limit,
    )
    register_secret(emu.client_secret)
    register_secret(emu.admin_token)
    try:
        session = make_session(emu.ca_file, **_timeouts(config))
        login = auth.client_credentials(session, emu.instance_url, emu.client_id, emu.client_secret)
        token, instance_url = login()
    except BaseException:
        emu.stop()
        raise
    log.info("started the emulator at %s", emu.instance_url)
    client = SalesforceClient(
        instance_url=instance_url,
        access_token=token,
        login=login,
        session=session,
        on_close=emu.stop,
        **settings,
    )
    client.emulator_admin_token = emu.admin_token
    return client
