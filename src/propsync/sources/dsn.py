"""DSN handling that never lets a password reach a log or an error message."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

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


_KV_KEY = re.compile(r"(?:^|\s)(connect_timeout|options)\s*=", re.IGNORECASE)


def with_timeouts(
    dsn: str, *, connect_timeout_s: int | None, statement_timeout_s: float | None = None
) -> str:
    """The DSN with libpq's `connect_timeout` (seconds) added when it names none, and
    PostgreSQL's `statement_timeout` set through `options` when asked and the DSN sets
    no `options` of its own. A URL DSN gets query parameters, a key=value DSN more
    pairs; ADBC's PostgreSQL driver and psycopg both read them from the DSN."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        query = parse_qsl(parts.query, keep_blank_values=True)
        named = {k.lower() for k, _ in query}
        added: list[tuple[str, str]] = []
        if connect_timeout_s and "connect_timeout" not in named:
            added.append(("connect_timeout", str(int(connect_timeout_s))))
        if statement_timeout_s and "options" not in named:
            added.append(("options", f"-c statement_timeout={_ms(statement_timeout_s)}"))
        if not added:
            return dsn
        # Appended to the text as it is (urlunsplit would drop an empty host: `///db`).
        base, hash_, fragment = dsn.partition("#")
        glue = "&" if parts.query else ("" if base.endswith("?") else "?")
        return f"{base}{glue}{urlencode(added, quote_via=quote)}{hash_}{fragment}"
    named = {m.group(1).lower() for m in _KV_KEY.finditer(dsn)}
    pairs: list[str] = []
    if connect_timeout_s and "connect_timeout" not in named:
        pairs.append(f"connect_timeout={int(connect_timeout_s)}")
    if statement_timeout_s and "options" not in named:
        pairs.append(f"options='-c statement_timeout={_ms(statement_timeout_s)}'")
    return " ".join([dsn.strip(), *pairs]) if pairs else dsn


def _ms(seconds: float) -> int:
    return max(int(seconds * 1000), 1)
