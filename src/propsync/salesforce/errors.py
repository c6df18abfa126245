"""The one table that decides what a Salesforce failure means: retry it, refresh the
session, stop the run, or record it and move on.

Request-level failures (HTTP status + errorCode) become `propsync.errors` exceptions
through `request_error`; record-level failures (a row of a collection or a Bulk API
result) stay data, `SFErrorItem`, and `is_transient_record_error` tells the sync
whether resubmitting the record can help.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from propsync.errors import (
    QuotaExhausted,
    SalesforceError,
    SessionExpired,
    TerminalSalesforceError,
    TransientSalesforceError,
)


@dataclass(frozen=True, slots=True)
class SFErrorItem:
    """One error Salesforce reported for one record."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    @property
    def transient(self) -> bool:
        return is_transient_record_error(self.code, self.message)


@dataclass(slots=True)
class RecordResult:
    """The outcome of one record of a write. `key` is the value that identifies the
    input row (its external id, or its Id for updates and deletes)."""

    key: str
    success: bool
    created: bool | None = None
    id: str | None = None
    errors: list[SFErrorItem] = field(default_factory=list)

    @property
    def transient(self) -> bool:
        """True when every error is one that a resubmission may clear (row locks)."""
        return not self.success and bool(self.errors) and all(e.transient for e in self.errors)


# Record errors that say "try again later", not "this record is wrong".
TRANSIENT_RECORD_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "SERVER_UNAVAILABLE",
        "REQUEST_RUNNING_TOO_LONG",
        "UNKNOWN_EXCEPTION",
        # Not a Salesforce code: a Bulk API job failed or was aborted before it
        # processed these rows (unprocessedrecords), so nothing was written.
        "NOT_PROCESSED",
    }
)
# A trigger or workflow that hit a row lock reports the lock wrapped in this code.
WRAPPING_CODES = frozenset({"CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"})

# Codes that fail every time for the same input; listed so the table is explicit.
TERMINAL_RECORD_CODES = frozenset(
    {
        "REQUIRED_FIELD_MISSING",
        "STRING_TOO_LONG",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "INVALID_FIELD",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "DUPLICATE_VALUE",
        "DUPLICATE_EXTERNAL_ID",
        "MALFORMED_ID",
        "INVALID_ID_FIELD",
        "ENTITY_IS_DELETED",
        "INVALID_CROSS_REFERENCE_KEY",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "FIELD_INTEGRITY_EXCEPTION",
        "NUMBER_OUTSIDE_VALID_RANGE",
        "NOT_FOUND",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "NO_RESULT",
    }
)

# Request-level codes (HTTP error bodies).
_SESSION_CODES = frozenset({"INVALID_SESSION_ID", "INVALID_AUTH_HEADER"})
_QUOTA_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "TOTAL_REQUEST_LIMIT_EXCEEDED"})
_TRANSIENT_REQUEST_CODES = frozenset(
    {"SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "UNKNOWN_EXCEPTION"}
)
_TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def is_transient_record_error(code: str, message: str = "") -> bool:
    """Whether resubmitting a record that failed with this error may succeed."""
    if code in TRANSIENT_RECORD_CODES:
        return True
    return code in WRAPPING_CODES and "UNABLE_TO_LOCK_ROW" in message


def request_error(
    status: int, code: str | None, message: str, *, what: str = ""
) -> SalesforceError:
    """Map one failed HTTP call to the exception class that decides what happens next."""
    text = redact(f"{what}: {message}" if what else message)
    if code in _SESSION_CODES or status == 401:
        return SessionExpired(text, code=code or "INVALID_SESSION_ID", status=status)
    if code in _QUOTA_CODES:
        return QuotaExhausted(text, code=code, status=status)
    if code in _TRANSIENT_REQUEST_CODES or status in _TRANSIENT_STATUSES:
        return TransientSalesforceError(text, code=code, status=status)
    if code in WRAPPING_CODES and "UNABLE_TO_LOCK_ROW" in message:
        return TransientSalesforceError(text, code=code, status=status)
    return TerminalSalesforceError(text, code=code, status=status)


def parse_error_body(body: Any) -> tuple[str | None, str]:
    """(errorCode, message) from a Salesforce error body: a list of {errorCode,
    message}, one such dict, or an OAuth {error, error_description}."""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        first = body[0]
        return first.get("errorCode"), str(first.get("message", ""))
    if isinstance(body, dict):
        if "errorCode" in body:
            return body.get("errorCode"), str(body.get("message", ""))
        if "error" in body:
            return str(body["error"]), str(body.get("error_description", ""))
    return None, str(body)[:500]


def error_items(errors: list[dict[str, Any]] | None) -> list[SFErrorItem]:
    """SFErrorItems from the `errors` list of a REST / collections record result."""
    items = []
    for err in errors or []:
        code = str(err.get("statusCode") or err.get("errorCode") or "UNKNOWN_EXCEPTION")
        items.append(SFErrorItem(code, str(err.get("message", "")), tuple(err.get("fields") or ())))
    return items


_ERROR_SPLIT = re.compile(r"(?<=--);\s*(?=[A-Z][A-Z0-9_]+:)")


def parse_bulk_errors(text: str) -> list[SFErrorItem]:
    """All errors of a Bulk API `sf__Error` cell (several are joined by `; `)."""
    return [parse_bulk_error(part) for part in _ERROR_SPLIT.split(text) if part.strip()] or [
        SFErrorItem("UNKNOWN_EXCEPTION", "no error text")
    ]


_CODE_PREFIX = re.compile(r"^([A-Z][A-Z0-9_]+):(.*)$", re.DOTALL)


def parse_bulk_error(text: str) -> SFErrorItem:
    """Parse a Bulk API `sf__Error` cell: `CODE:message:Field1,Field2 --`."""
    text = text.strip()
    if text.endswith("--"):
        text = text[:-2].rstrip()
    match = _CODE_PREFIX.match(text)
    if not match:
        return SFErrorItem("UNKNOWN_EXCEPTION", text)
    code, rest = match.group(1), match.group(2)
    fields: tuple[str, ...] = ()
    head, sep, tail = rest.rpartition(":")
    if sep and tail and re.fullmatch(r"[A-Za-z0-9_]+(,[A-Za-z0-9_]+)*", tail.strip()):
        fields = tuple(f.strip() for f in tail.split(","))
        rest = head
    return SFErrorItem(code, rest.strip(), fields)


# --- secrets never leave in messages or logs -------------------------------------------

_PATTERNS = (
    (re.compile(r"(Bearer\s+)[^\s'\",;]+", re.IGNORECASE), r"\1[REDACTED]"),
    (re.compile(r"(Basic\s+)[A-Za-z0-9+/=]{8,}", re.IGNORECASE), r"\1[REDACTED]"),
    (
        re.compile(
            r"""(["']?(?:access_token|refresh_token|client_secret|password|sessionId|sid|"""
            r"""assertion|security_token|session_id|privatekey)["']?\s*[:=]\s*["']?)"""
            r"""[^\s'"&,;}<]+""",
            re.IGNORECASE,
        ),
        r"\1[REDACTED]",
    ),
    (re.compile(r"(<(?:sf:)?sessionId>)[^<]+", re.IGNORECASE), r"\1[REDACTED]"),
    (re.compile(r"(<(?:urn:|n1:)?password>)[^<]+", re.IGNORECASE), r"\1[REDACTED]"),
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
        "[REDACTED PRIVATE KEY]",
    ),
    # Salesforce session ids look like "00D...!AQ...": org id, '!', opaque token.
    (re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]+"), "[REDACTED]"),
)
_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is replaced wherever it appears verbatim."""
    if value and len(value) >= 6:
        _known_secrets.add(value)


def redact(text: str) -> str:
    """Replace tokens, passwords, client secrets and keys in `text`."""
    for secret in sorted(_known_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "[REDACTED]")
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text
