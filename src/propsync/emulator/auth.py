"""Authentication: the OAuth 2.0 token endpoint (client credentials, JWT bearer,
username-password) and the SOAP `login` call simple-salesforce uses for
username/password/security-token logins.

JWT bearer assertions are verified (RS256) against every public key or
certificate PEM in `<data_dir>/jwt/`; `iss` must be the client id, `sub` a known
username, `aud` a Salesforce login URL or the instance URL, `exp` in the future.
"""

from __future__ import annotations

import base64
import re
import time
from html import unescape
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from propsync.emulator.org import (
    INTEGRATION_USER,
    INTEGRATION_USERNAME,
    ORG_ID,
    WORKFLOW_USER,
    WORKFLOW_USERNAME,
    Org,
)

_USERS = {INTEGRATION_USERNAME: INTEGRATION_USER, WORKFLOW_USERNAME: WORKFLOW_USER}


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def token(org: Org, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
    """The token endpoint's JSON answer for one grant; raises OAuthError."""
    grant = form.get("grant_type", "")
    if grant == "client_credentials":
        cid, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                pair = base64.b64decode(authorization[6:]).decode()
            except ValueError:
                raise OAuthError("invalid_client", "invalid client credentials") from None
            cid, _, secret = pair.partition(":")
        _check_client(org, cid, secret)
        return _grant(org, INTEGRATION_USER)
    if grant == "password":
        _check_client(org, form.get("client_id"), form.get("client_secret"))
        user = _check_password(org, form.get("username", ""), form.get("password", ""))
        return _grant(org, user)
    if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
        return _grant(org, _check_jwt(org, form.get("assertion", "")))
    raise OAuthError("unsupported_grant_type", "grant type not supported")


def _check_client(org: Org, cid: str | None, secret: str | None) -> None:
    if cid != org.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if secret != org.client_secret:
        raise OAuthError("invalid_client", "invalid client credentials")


def _check_password(org: Org, username: str, password: str) -> str:
    user = _USERS.get(username)
    if user is None or password not in (org.password + org.security_token, org.password):
        raise OAuthError("invalid_grant", "authentication failure")
    return user


def _check_jwt(org: Org, assertion: str) -> str:
    import jwt  # heavy driver: imported on first use

    keys = _public_keys(org.data_dir / "jwt")
    if not keys:
        raise OAuthError("invalid_grant", "invalid assertion (no certificate is configured)")
    audiences = [
        "https://login.salesforce.com",
        "https://test.salesforce.com",
        org.instance_url,
    ]
    last: Exception | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                assertion, key, algorithms=["RS256"], audience=audiences,
                options={"require": ["iss", "sub", "aud", "exp"]},
            )  # fmt: skip
            break
        except jwt.ExpiredSignatureError:
            raise OAuthError("invalid_grant", "expired authorization code") from None
        except jwt.InvalidAudienceError:
            raise OAuthError("invalid_grant", "audience is invalid") from None
        except jwt.PyJWTError as exc:
            last = exc
    else:
        raise OAuthError("invalid_grant", f"invalid assertion ({last})")
    if claims.get("iss") != org.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    user = _USERS.get(str(claims.get("sub")))
    if user is None:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    return user


def _public_keys(folder: Path) -> list[Any]:
    # heavy driver: imported on first use
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    keys: list[Any] = []
    if not folder.is_dir():
        return keys
    for path in sorted(folder.glob("*.pem")):
        data = path.read_bytes()
        if b"CERTIFICATE" in data:
            keys.append(x509.load_pem_x509_certificate(data).public_key())
        elif b"PUBLIC KEY" in data:
            keys.append(load_pem_public_key(data))
    return keys


def _grant(org: Org, user: str) -> dict[str, Any]:
    return {
        "access_token": org.issue_token(user),
        "instance_url": org.instance_url,
        "id": f"{org.instance_url}/id/{ORG_ID}/{user}",
        "token_type": "Bearer",
        "issued_at": str(int(time.time() * 1000)),
        "scope": "api",
    }


_SOAP_USER = re.compile(r"<(?:\w+:)?username>(.*?)</(?:\w+:)?username>", re.S)
_SOAP_PASS = re.compile(r"<(?:\w+:)?password>(.*?)</(?:\w+:)?password>", re.S)


def soap_login(org: Org, body: str, version: str) -> tuple[int, str]:
    """(status, SOAP envelope) for a partner API `login` call."""
    u, p = _SOAP_USER.search(body), _SOAP_PASS.search(body)
    try:
        if u is None or p is None:
            raise OAuthError("INVALID_LOGIN", "Invalid username, password, security token")
        user = _check_password(org, unescape(u.group(1)), unescape(p.group(1)))
    except OAuthError:
        fault = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
            "<faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid "
            "username, password, security token; or user locked out.</faultstring><detail>"
            "<sf:LoginFault><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"
            "<sf:exceptionMessage>Invalid username, password, security token; or user "
            "locked out.</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault>"
            "</soapenv:Body></soapenv:Envelope>"
        )
        return 500, fault
    session = escape(org.issue_token(user))
    server = escape(f"{org.instance_url}/services/Soap/u/{version}/{ORG_ID[:15]}")
    ok = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
        f"<metadataServerUrl>{server}</metadataServerUrl><passwordExpired>false"
        f"</passwordExpired><sandbox>false</sandbox><serverUrl>{server}</serverUrl>"
        f"<sessionId>{session}</sessionId><userId>{user}</userId><userInfo>"
        f"<organizationId>{ORG_ID}</organizationId><userName>{_username(user)}</userName>"
        "</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return 200, ok


def _username(user: str) -> str:
    return next(name for name, uid in _USERS.items() if uid == user)
