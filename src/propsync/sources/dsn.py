"""DSN handling that never lets a password reach a log or an error message."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(dsn: str) -> str:
    """The DSN with its password replaced by `***` (URL or key=value form)."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        if parts.password is not None:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
            dsn = parts._replace(netloc=netloc).geturl()
        return _KV_PASSWORD.sub(r"\1***", dsn)  # ?password=... in the query string
    return _KV_PASSWORD.sub(r"\1***", dsn)


def passwords(dsn: str) -> list[str]:
    """Every spelling of the DSN's password (raw and URL-decoded), for scrubbing messages."""
    found: list[str] = []
    if "://" in dsn:
        pw = urlsplit(dsn).password
        if pw:
            found += [pw, unquote(pw)]
    for match in _KV_PASSWORD.finditer(dsn):
        value = match.group(2).strip("'")
        found += [value, unquote(value)]
    return [p for p in dict.fromkeys(found) if p]


def scrub(message: str, dsn: str) -> str:
    """A driver's error message with the DSN's password removed wherever it appears."""
    for pw in passwords(dsn):
        message = message.replace(pw, "***")
    return message


def describe(dsn: str) -> str:
    """host:port/database of a URL DSN (for stats and messages), else the redacted DSN."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        return f"postgresql://{host}{port}{parts.path or '/'}"
    return redact(dsn)
