"""No secret anywhere after real runs at --debug: the commands run as subprocesses (as
cron runs them) with each login kind against an emulator org, a PostgreSQL source and
state store reached by a DSN with a password; then every file of the workspace and
of the emulator's data folder, and everything the commands printed, is searched for
every secret (the client secret, the password, the security token, the JWT private
key, the DSN's password and every access token the org issued)."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from propsync.emulator import Emulator
from tests.conftest import PG_ADMIN_DSN

# The emulator's own credential store: the org must know its credentials and the
# sessions it issued (connection.json, 0600, is how `kind = "emulator"` finds them).
# These files are searched for what the org must never see (the DSN's password, the
# private key), the rest of its folder for everything.
ORG_CREDENTIAL_FILES = {"connection.json", "org.sqlite", "org.sqlite-wal", "org.sqlite-shm"}

LOGINS = {
    "client_credentials": {"auth": "client_credentials", "env": ("id", "secret")},
    "jwt": {"auth": "jwt", "env": ("id", "username", "key")},
    "password_soap": {"auth": "password", "env": ("username", "password", "token")},
    "password_oauth": {
        "auth": "password",
        "env": ("id", "secret", "username", "password", "token"),
    },
}


def _role(db_dsn: str) -> tuple[str, str, str]:
    """A login role with a password owning the test database: (name, password, DSN)."""
    import psycopg

    name = f"propsync_secret_{secrets.token_hex(4)}"
    password = f"pg-{secrets.token_hex(12)}"
    db = db_dsn.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as con:
        con.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        con.execute(f'ALTER DATABASE "{db}" OWNER TO {name}')
    with psycopg.connect(db_dsn, autocommit=True) as con:
        con.execute(f"ALTER SCHEMA public OWNER TO {name}")
    return name, password, f"postgresql://{name}:{quote(password)}@127.0.0.1:5432/{db}"


def _drop_role(name: str, db_dsn: str) -> None:
    import psycopg

    with psycopg.connect(db_dsn, autocommit=True) as con:
        con.execute(f"REASSIGN OWNED BY {name} TO postgres")
        con.execute(f"DROP OWNED BY {name}")
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as con:
        con.execute(f"DROP ROLE IF EXISTS {name}")


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_no_secret_in_any_file_or_output_after_debug_runs_of_each_login(
    tmp_path: Path, pg_dsn: str
) -> None:
    org_dir, ws, keys = tmp_path / "org-data", tmp_path / "ws", tmp_path / "keys"
    ws.mkdir()
    keys.mkdir()
    role, pg_password, dsn = _role(pg_dsn)
    emu = Emulator.start(org_dir, workflow_enabled=False)
    outputs: list[str] = []
    try:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        (org_dir / "jwt").mkdir(exist_ok=True)
        (org_dir / "jwt" / "secrets-test.pem").write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        key_file = keys / "server.key"
        key_file.write_bytes(private_pem)
        values = {
            "id": ("PROPSYNC_SF_CLIENT_ID", emu.client_id),
            "secret": ("PROPSYNC_SF_CLIENT_SECRET", emu.client_secret),
            "username": ("PROPSYNC_SF_USERNAME", emu.username),
            "password": ("PROPSYNC_SF_PASSWORD", emu.password),
            "token": ("PROPSYNC_SF_SECURITY_TOKEN", emu.security_token),
            "key": ("PROPSYNC_SF_PRIVATE_KEY_FILE", str(key_file)),
        }
        cli = str(Path(sys.executable).parent / "propsync")
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("PROPSYNC_")} | {
            "PROPSYNC_RDS_DSN": dsn,
            "PROPSYNC_STATE_DSN": dsn,
            "PYTHONUNBUFFERED": "1",
        }

        def run(env: dict[str, str], *args: str, ok: tuple[int, ...] = (0, 1)) -> str:
            done = subprocess.run(
                [cli, "--debug", "--config", str(ws / "propsync.toml"), *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            outputs.extend([done.stdout, done.stderr])
            assert done.returncode in ok, (args, done.returncode, done.stderr[-3000:])
            return done.stdout

        first = True
        for name, login in LOGINS.items():
            (ws / "propsync.toml").write_text(
                "\n".join([
                    '[source]\nkind = "postgresql"\ndsn_env = "PROPSYNC_RDS_DSN"',
                    '[state]\nkind = "postgresql"\ndsn_env = "PROPSYNC_STATE_DSN"',
                    f'[salesforce]\nkind = "org"\nauth = "{login["auth"]}"',
                    f'instance_url = "{emu.instance_url}"\nlogin_url = "{emu.instance_url}"',
                    f'ca_file = "{emu.ca_file}"',
                    "[sync]\nmax_change_share = 1.0\ncollection_size = 50",
                    "",
                ]),
                encoding="utf-8",
            )  # fmt: skip
            env = base_env | dict(values[v] for v in login["env"])  # type: ignore[attr-defined]
            if first:
                run(env, "generate", "--scale", "250", "--seed", "7", "--load-org")
                first = False
            plan = json.loads(run(env, "plan", "all", "--json"))
            assert "records_to_write" in plan, name
            result = json.loads(run(env, "sync", "all", "--full-refresh", "--json"))
            assert result["status"] in ("SUCCEEDED", "PARTIAL"), (name, result)
            runs = json.loads(run(env, "runs", "--json"))
            run(env, "runs", "show", runs[0]["run_id"], "--json")
            # A failed login (wrong secret / password) must not echo what was sent.
            wrong = dict(env)
            for var in ("PROPSYNC_SF_CLIENT_SECRET", "PROPSYNC_SF_PASSWORD"):
                if var in wrong:
                    wrong[var] = "wrong-" + wrong[var]
            if name != "jwt":
                run(wrong, "sync", "all", "--json", ok=(2,))
        assert any("DEBUG" in text for text in outputs)  # --debug logging was on

        with sqlite3.connect(org_dir / "org.sqlite") as con:
            tokens = {r[0] for r in con.execute("SELECT token FROM tokens")}
        assert tokens
        org_secrets = {emu.client_secret, emu.password, emu.security_token, *tokens}
        org_secrets |= {"wrong-" + emu.client_secret, "wrong-" + emu.password}
        never_in_org = {pg_password, quote(pg_password), private_pem.decode().splitlines()[1]}
        everything = org_secrets | never_in_org

        leaks: list[str] = []
        for path in _files(ws) + _files(org_dir):
            data = path.read_bytes()
            own_store = path.parent == org_dir and path.name in ORG_CREDENTIAL_FILES
            for secret in never_in_org if own_store else everything:
                if secret.encode() in data:
                    leaks.append(f"{path}: {secret[:6]}...")
        for text in outputs:
            leaks += [f"output: {s[:6]}..." for s in everything if s in text]
        assert leaks == []
        # The search finds a secret where one is stored by design: it can fail.
        assert emu.client_secret.encode() in (org_dir / "connection.json").read_bytes()
        # The workspace really held run output: the search covered something.
        assert _files(ws) and any(p.suffix == ".duckdb" for p in _files(ws))
    finally:
        emu.stop()
        _drop_role(role, pg_dsn)
