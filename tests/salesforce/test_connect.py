"""`connect(config, root)` and every login the emulator supports, over HTTPS with the real
simple-salesforce: the emulator found through connection.json or started in-process,
client credentials, JWT bearer, username/password (SOAP and OAuth), and a session id."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from propsync.errors import ConfigError, TerminalSalesforceError
from propsync.salesforce.client import SalesforceClient
from propsync.salesforce.connect import connect
from propsync.workspace import Workspace


def _connect(ws: Workspace) -> SalesforceClient:
    return connect(ws.config.salesforce, ws.root, sync=ws.config.sync)


def _workspace(root: Path, salesforce: str) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    (root / "propsync.toml").write_text(f"[salesforce]\n{salesforce}\n", encoding="utf-8")
    return Workspace.open(root / "propsync.toml")


def _org_config(emu, auth: str, **extra: str) -> str:
    lines = [
        'kind = "org"',
        f'auth = "{auth}"',
        f'instance_url = "{emu.instance_url}"',
        f'login_url = "{emu.instance_url}"',
        f'ca_file = "{emu.ca_file}"',
        *(f'{k} = "{v}"' for k, v in extra.items()),
    ]
    return "\n".join(lines)


def _works(client) -> None:
    assert client.describe()["name"] == "product_property__c"
    assert list(client.query_all("SELECT Id FROM product_property__c LIMIT 1")) is not None


def _refuses_connections(url: str) -> bool:
    parsed = urlparse(url)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((parsed.hostname, parsed.port)) != 0


def test_connect_reuses_the_emulator_named_by_connection_json(sf_emulator, tmp_path):
    info = json.loads((sf_emulator.data_dir / "connection.json").read_text())
    assert info["instance_url"] == sf_emulator.instance_url
    ws = _workspace(tmp_path, f'[salesforce.emulator]\ndata = "{sf_emulator.data_dir}"')
    with _connect(ws) as client:
        assert client.instance_url == sf_emulator.instance_url
        _works(client)
    # closing the client must not stop an emulator it did not start
    assert not _refuses_connections(sf_emulator.instance_url)


def test_connect_starts_an_emulator_and_stops_it_on_close(tmp_path):
    ws = _workspace(tmp_path, 'kind = "emulator"\n[salesforce.emulator]\nworkflow_enabled = false')
    client = _connect(ws)
    try:
        url = client.instance_url
        assert (tmp_path / "emulator" / "connection.json").exists()
        _works(client)
    finally:
        client.close()
    assert _refuses_connections(url)
    # a stale connection.json (server gone) leads to a fresh start, not an error
    stale = {
        "instance_url": url,
        "ca_file": str(tmp_path / "emulator" / "tls" / "ca.pem"),
        "client_id": "x",
        "client_secret": "y-stale-secret",
    }
    (tmp_path / "emulator" / "connection.json").write_text(json.dumps(stale))
    with _connect(ws) as again:
        _works(again)


def test_client_credentials(sf_emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("PROPSYNC_SF_CLIENT_ID", sf_emulator.client_id)
    monkeypatch.setenv("PROPSYNC_SF_CLIENT_SECRET", sf_emulator.client_secret)
    with _connect(_workspace(tmp_path, _org_config(sf_emulator, "client_credentials"))) as c:
        _works(c)
    monkeypatch.setenv("PROPSYNC_SF_CLIENT_SECRET", "wrong-secret-value")
    with pytest.raises(TerminalSalesforceError, match="invalid_client"):
        _connect(_workspace(tmp_path, _org_config(sf_emulator, "client_credentials")))


@pytest.mark.filterwarnings("ignore::UserWarning")  # simple-salesforce: unknown JWT user
def test_jwt_bearer(sf_emulator, tmp_path, monkeypatch):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwt_dir = sf_emulator.data_dir / "jwt"
    jwt_dir.mkdir(exist_ok=True)
    (jwt_dir / "propsync-test.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    key_file = tmp_path / "server.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    monkeypatch.setenv("PROPSYNC_SF_CLIENT_ID", sf_emulator.client_id)
    monkeypatch.setenv("PROPSYNC_SF_USERNAME", sf_emulator.username)
    monkeypatch.setenv("PROPSYNC_SF_PRIVATE_KEY_FILE", str(key_file))
    with _connect(_workspace(tmp_path / "ws", _org_config(sf_emulator, "jwt"))) as c:
        _works(c)
        c.refresh_session()  # a new assertion, a new token
        _works(c)
    monkeypatch.setenv("PROPSYNC_SF_USERNAME", "nobody@example.com")
    with pytest.raises(TerminalSalesforceError, match="invalid_grant"):
        _connect(_workspace(tmp_path / "ws", _org_config(sf_emulator, "jwt")))


def test_username_password_security_token_soap(sf_emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("PROPSYNC_SF_USERNAME", sf_emulator.username)
    monkeypatch.setenv("PROPSYNC_SF_PASSWORD", sf_emulator.password)
    monkeypatch.setenv("PROPSYNC_SF_SECURITY_TOKEN", sf_emulator.security_token)
    monkeypatch.delenv("PROPSYNC_SF_CLIENT_ID", raising=False)
    with _connect(_workspace(tmp_path, _org_config(sf_emulator, "password"))) as c:
        _works(c)
    monkeypatch.setenv("PROPSYNC_SF_PASSWORD", "not-the-password")
    with pytest.raises(TerminalSalesforceError, match="INVALID_LOGIN"):
        _connect(_workspace(tmp_path, _org_config(sf_emulator, "password")))


def test_username_password_oauth_grant(sf_emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("PROPSYNC_SF_USERNAME", sf_emulator.username)
    monkeypatch.setenv("PROPSYNC_SF_PASSWORD", sf_emulator.password)
    monkeypatch.setenv("PROPSYNC_SF_SECURITY_TOKEN", sf_emulator.security_token)
    monkeypatch.setenv("PROPSYNC_SF_CLIENT_ID", sf_emulator.client_id)
    monkeypatch.setenv("PROPSYNC_SF_CLIENT_SECRET", sf_emulator.client_secret)
    with _connect(_workspace(tmp_path, _org_config(sf_emulator, "password"))) as c:
        _works(c)


def test_session_id_cannot_be_refreshed(sf_emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("PROPSYNC_SF_SESSION_ID", sf_emulator.access_token)
    with _connect(_workspace(tmp_path, _org_config(sf_emulator, "session"))) as c:
        _works(c)
        sf_emulator.set_knobs(expire_sessions_now=True)
        with pytest.raises(TerminalSalesforceError, match="cannot refresh"):
            c.limits()


def test_missing_secrets_name_the_variable(sf_emulator, tmp_path, monkeypatch):
    monkeypatch.delenv("PROPSYNC_SF_CLIENT_ID", raising=False)
    with pytest.raises(ConfigError, match="PROPSYNC_SF_CLIENT_ID"):
        _connect(_workspace(tmp_path, _org_config(sf_emulator, "client_credentials")))
