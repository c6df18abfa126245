"""No access token, password, security token, client secret or private key appears in
any log record or error message, with every logger at DEBUG, for a whole session:
logins of each kind, queries, writes, a session refresh, failed logins."""

from __future__ import annotations

import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from propsync.errors import PropsyncError
from propsync.salesforce.bulk2 import CLEAR
from propsync.salesforce.client import SalesforceClient
from propsync.salesforce.connect import connect
from propsync.workspace import Workspace
from tests.salesforce.conftest import records


def _connect(ws: Workspace) -> SalesforceClient:
    return connect(ws.config.salesforce, ws.root, sync=ws.config.sync)


def _ws(root, body: str) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    (root / "propsync.toml").write_text(body, encoding="utf-8")
    return Workspace.open(root / "propsync.toml")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_no_secret_reaches_a_log_or_an_error(sf_emulator, tmp_path, monkeypatch, caplog, ids):
    caplog.set_level(logging.DEBUG)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (sf_emulator.data_dir / "jwt").mkdir(exist_ok=True)
    (sf_emulator.data_dir / "jwt" / "redaction.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (tmp_path / "key.pem").write_bytes(private_pem)
    monkeypatch.setenv("PROPSYNC_SF_CLIENT_ID", sf_emulator.client_id)
    monkeypatch.setenv("PROPSYNC_SF_CLIENT_SECRET", sf_emulator.client_secret)
    monkeypatch.setenv("PROPSYNC_SF_USERNAME", sf_emulator.username)
    monkeypatch.setenv("PROPSYNC_SF_PASSWORD", sf_emulator.password)
    monkeypatch.setenv("PROPSYNC_SF_SECURITY_TOKEN", sf_emulator.security_token)
    monkeypatch.setenv("PROPSYNC_SF_PRIVATE_KEY_FILE", str(tmp_path / "key.pem"))
    org = (
        f'kind = "org"\ninstance_url = "{sf_emulator.instance_url}"\n'
        f'login_url = "{sf_emulator.instance_url}"\nca_file = "{sf_emulator.ca_file}"\n'
    )
    secrets = {sf_emulator.client_secret, sf_emulator.password, sf_emulator.security_token,
               sf_emulator.access_token, private_pem.decode().splitlines()[1]}  # fmt: skip
    errors: list[str] = []

    # The embedded default: connection.json, client credentials; then real work.
    ws = _ws(tmp_path / "emu", f'[salesforce.emulator]\ndata = "{sf_emulator.data_dir}"\n')
    with _connect(ws) as client:
        secrets.add(client._token)
        keys = ids(30)
        client.collections("upsert", records(keys))
        client.bulk_ingest("upsert", records(keys, City__c=CLEAR), columns=[
            "snappt_property_id__c", "Name", "City__c"])  # fmt: skip
        list(client.query_all("SELECT Id FROM product_property__c"))
        sf_emulator.set_knobs(expire_sessions_now=True)
        client.limits()  # 401, refresh, retry
        secrets.add(client._token)
        # a verbose library logging a header, and a request body, must be redacted too
        logging.getLogger("urllib3.connectionpool").debug(
            "send: Authorization: Bearer %s", client._token
        )
        logging.getLogger("propsync.salesforce.client").debug(
            "body: client_secret=%s&password=%s", sf_emulator.client_secret, sf_emulator.password
        )
    for auth in ("jwt", "password", "client_credentials"):
        with _connect(_ws(tmp_path / auth, f'[salesforce]\nauth = "{auth}"\n{org}')) as client:
            secrets.add(client._token)
            client.describe()
    # failed logins: the error text must not echo what was sent
    monkeypatch.setenv("PROPSYNC_SF_CLIENT_SECRET", "wrong-" + sf_emulator.client_secret)
    monkeypatch.setenv("PROPSYNC_SF_PASSWORD", "wrong-" + sf_emulator.password)
    secrets |= {"wrong-" + sf_emulator.client_secret, "wrong-" + sf_emulator.password}
    for auth in ("client_credentials", "password"):
        with pytest.raises(PropsyncError) as info:
            _connect(_ws(tmp_path / f"bad-{auth}", f'[salesforce]\nauth = "{auth}"\n{org}'))
        errors.append(str(info.value))
        logging.getLogger("propsync").error("login failed", exc_info=info.value)

    text = caplog.text + "\n".join(errors)
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # debug logging was on
    assert "[REDACTED]" in text
    leaked = [s for s in secrets if s and s in text]
    assert leaked == []
