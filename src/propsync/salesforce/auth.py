"""Logins: each returns a function that fetches a fresh `(access_token, instance_url)`.

simple-salesforce does the OAuth and SOAP exchanges (`token_login`, `SalesforceLogin`);
we only choose the token URL, because simple-salesforce builds it as
`https://{domain}.salesforce.com`, which cannot name a My Domain URL given in full, a
sandbox behind a proxy, or the local emulator. Secrets come only from the environment
variables the config names, and are registered for redaction before first use.
Every login posts through the session it is given; `connect.make_session` gives that
session the config's connect and read timeouts (simple-salesforce sets none).
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import requests

from propsync.config import SalesforceConfig, secret
from propsync.errors import ConfigError, TerminalSalesforceError, TransientSalesforceError
from propsync.salesforce.errors import redact, register_secret

Login = Callable[[], tuple[str, str]]
"""Fetch a new session: returns (access_token, instance_url like https://host[:port])."""

log = logging.getLogger(__name__)


def _secret(env: str, what: str) -> str:
    value = secret(env, what=what)
    register_secret(value)
    return value


def _token_url(base: str) -> str:
    return base.rstrip("/") + "/services/oauth2/token"


def _token_login(
    session: requests.Session,
    token_url: str,
    data: dict[str, str],
    consumer_key: str,
    headers: dict[str, str] | None = None,
) -> tuple[str, str]:
    # heavy driver: imported on first use
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed
    from simple_salesforce.login import token_login

    try:
        token, instance = token_login(
            token_url, data, "login", consumer_key, headers, None, session
        )
    except SalesforceAuthenticationFailed as exc:
        raise TerminalSalesforceError(
            redact(f"login to {token_url} failed: {exc}"), code=str(exc.code), status=exc.status
        ) from None
    except requests.RequestException as exc:
        raise _network_error(token_url, exc) from None
    register_secret(token)
    if not instance:
        raise TerminalSalesforceError(f"login to {token_url}: the response named no instance_url")
    return str(token), f"https://{instance}" if "://" not in instance else str(instance)


def _network_error(url: str, exc: requests.RequestException) -> TransientSalesforceError:
    """A login that got no answer: which URL, and whether the connection or the answer
    timed out (the session's connect_timeout_s / timeout_s)."""
    if isinstance(exc, requests.ConnectTimeout):
        why = "no connection within the connect timeout"
    elif isinstance(exc, requests.Timeout):
        why = "no answer within the read timeout"
    else:
        why = type(exc).__name__
    return TransientSalesforceError(redact(f"login to {url} failed: {why}: {exc}"))


def client_credentials(
    session: requests.Session, base_url: str, client_id: str, client_secret: str
) -> Login:
    """OAuth 2.0 client-credentials grant (a connected app's run-as user)."""
    register_secret(client_secret)
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    register_secret(basic)

    def login() -> tuple[str, str]:
        log.debug("client-credentials login at %s", base_url)
        return _token_login(
            session,
            _token_url(base_url),
            {"grant_type": "client_credentials"},
            client_id,
            {"Authorization": f"Basic {basic}"},
        )

    return login


def jwt_bearer(
    session: requests.Session,
    base_url: str,
    audience: str,
    client_id: str,
    username: str,
    key: Path,
) -> Login:
    """OAuth 2.0 JWT bearer grant: an assertion signed with the connected app's key."""

    def login() -> tuple[str, str]:
        import jwt  # heavy driver: imported on first use

        try:
            private_key = key.read_bytes()
        except OSError as exc:
            raise ConfigError(f"JWT private key file {key}: {exc.strerror}") from None
        now = datetime.now(UTC)
        claims = {
            "iss": client_id,
            "sub": username,
            "aud": audience,
            "exp": int((now + timedelta(minutes=3)).timestamp()),
        }
        try:
            assertion = jwt.encode(claims, private_key, algorithm="RS256")
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"JWT private key file {key} is not an RSA key: {exc}") from None
        register_secret(assertion)
        log.debug("jwt-bearer login at %s as %s", base_url, username)
        return _token_login(
            session,
            _token_url(base_url),
            {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
            client_id,
        )

    return login


def password(
    session: requests.Session,
    base_url: str,
    api_version: str,
    username: str,
    password_: str,
    security_token: str | None,
    client_id: str | None,
    client_secret: str | None,
) -> Login:
    """Username + password: the OAuth password grant when a connected app is named,
    else the SOAP login with the security token."""
    for value in (password_, security_token, client_secret):
        register_secret(value)
    if security_token:
        register_secret(password_ + security_token)

    def login() -> tuple[str, str]:
        if client_id and client_secret:
            return _token_login(
                session,
                _token_url(base_url),
                {
                    "grant_type": "password",
                    "client_id": client_id,
                    "client_secret": client_secret,
                    "username": username,
                    "password": password_ + (security_token or ""),
                },
                client_id,
            )
        # heavy driver: imported on first use
        from simple_salesforce.exceptions import SalesforceAuthenticationFailed
        from simple_salesforce.login import soap_login

        # simple-salesforce's own SOAP exchange, with the URL chosen here: its
        # SalesforceLogin would insist on https://<domain>.salesforce.com.
        body = _SOAP_LOGIN.format(
            username=escape(username), password=escape(password_ + (security_token or ""))
        )
        soap_url = f"{base_url}/services/Soap/u/{api_version}"
        try:
            token, instance = soap_login(
                soap_url,
                body,
                {"content-type": "text/xml", "charset": "UTF-8", "SOAPAction": "login"},
                None,
                session,
            )
        except SalesforceAuthenticationFailed as exc:
            raise TerminalSalesforceError(
                redact(f"login as {username} failed: {exc}"), code=str(exc.code)
            ) from None
        except requests.RequestException as exc:
            raise _network_error(soap_url, exc) from None
        register_secret(token)
        return token, f"https://{instance}"

    return login


_SOAP_LOGIN = """<?xml version="1.0" encoding="utf-8" ?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:urn="urn:partner.soap.sforce.com">
  <soapenv:Header>
    <urn:CallOptions><urn:client>propsync</urn:client></urn:CallOptions>
  </soapenv:Header>
  <soapenv:Body>
    <urn:login>
      <urn:username>{username}</urn:username>
      <urn:password>{password}</urn:password>
    </urn:login>
  </soapenv:Body>
</soapenv:Envelope>"""


def from_config(cfg: SalesforceConfig, session: requests.Session) -> tuple[Login | None, str, str]:
    """The login for a real org (`kind = "org"`), and a first (token, instance_url).

    `auth = "session"` has no login: the session id from the environment is used as is
    and cannot be refreshed."""
    base = (cfg.instance_url or cfg.login_url).rstrip("/")
    login: Login
    if cfg.auth == "session":
        if not cfg.instance_url:
            raise ConfigError("salesforce.auth = 'session' needs salesforce.instance_url")
        token = _secret(cfg.session_id_env, "salesforce session id")
        return None, token, cfg.instance_url.rstrip("/")
    if cfg.auth == "client_credentials":
        if not cfg.instance_url:
            raise ConfigError(
                "salesforce.auth = 'client_credentials' needs salesforce.instance_url "
                "(your My Domain URL): Salesforce refuses this grant at login.salesforce.com"
            )
        login = client_credentials(
            session,
            base,
            _secret(cfg.client_id_env, "salesforce consumer key"),
            _secret(cfg.client_secret_env, "salesforce consumer secret"),
        )
    elif cfg.auth == "jwt":
        login = jwt_bearer(
            session,
            base,
            cfg.login_url.rstrip("/"),
            _secret(cfg.client_id_env, "salesforce consumer key"),
            secret(cfg.username_env, what="salesforce username"),
            Path(secret(cfg.private_key_file_env, what="JWT private key file")),
        )
    elif cfg.auth == "password":
        login = password(
            session,
            base,
            cfg.api_version,
            secret(cfg.username_env, what="salesforce username"),
            _secret(cfg.password_env, "salesforce password"),
            os.environ.get(cfg.security_token_env) or None,
            os.environ.get(cfg.client_id_env) or None,
            os.environ.get(cfg.client_secret_env) or None,
        )
    else:
        raise ConfigError(
            f"salesforce.auth = {cfg.auth!r} is for kind = 'emulator'; "
            "choose client_credentials, jwt, password or session for a real org"
        )
    token, instance_url = login()
    return login, token, instance_url
