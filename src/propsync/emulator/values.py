"""Field values: coercion of what a client sends (JSON or CSV) into what the store
keeps, and formatting of stored values back out (JSON, CSV).

Stored forms: text as str, boolean as 0/1, double as float, datetime as
`YYYY-MM-DDTHH:MM:SS.fff+0000` in UTC (so text order is time order), date as
`YYYY-MM-DD`.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from propsync.emulator.ids import canonical
from propsync.emulator.objects import FieldDef


class RecordError(Exception):
    """One record's failure, with Salesforce's status code and the fields involved."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or []

    def as_json(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}

    def as_csv(self) -> str:
        return f"{self.code}:{self.message}:{','.join(self.fields)} --"


class _Skip:
    """An empty CSV cell: leave the field as it is."""

    def __repr__(self) -> str:
        return "SKIP"


SKIP: Any = _Skip()
_ZERO = timedelta(0)


def now_stamp() -> str:
    return format_datetime(datetime.now(UTC))


def format_datetime(dt: datetime) -> str:
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> str | None:
    """Stored form of an ISO 8601 date-time (or a bare date, meaning midnight UTC)."""
    t = text.strip()
    if not t or not t[:4].isdigit():
        return None
    if len(t) == 10:
        try:
            d = date.fromisoformat(t)
        except ValueError:
            return None
        return f"{d.isoformat()}T00:00:00.000+0000"
    # Salesforce writes +0000 without a colon; fromisoformat wants +00:00.
    if len(t) > 5 and t[-5] in "+-" and t[-4:].isdigit():
        t = t[:-2] + ":" + t[-2:]
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    elif dt.utcoffset() == _ZERO and t[10] == "T":
        # Already UTC: keep the text (strftime is the slow part of a bulk load).
        return f"{t[:19]}.{dt.microsecond // 1000:03d}+0000"
    try:
        return format_datetime(dt)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is past year 9999 in UTC
        return None


def parse_date(text: str) -> str | None:
    try:
        return date.fromisoformat(text.strip()[:10]).isoformat()
    except ValueError:
        return None


def _type_error(f: FieldDef, value: Any) -> RecordError:
    return RecordError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{f.label}: value not of required type: {value}",
        [f.name],
    )


def _check_text(f: FieldDef, text: str) -> str:
    if f.length and len(text) > f.length:
        raise RecordError(
            "STRING_TOO_LONG",
            f"{f.label}: data value too large: {text} (max length={f.length})",
            [f.name],
        )
    return text


def coerce_json(f: FieldDef, value: Any) -> Any:
    """Stored form of a JSON value for field `f`; raises RecordError. Empty text is
    null, as Salesforce stores it (so a required field given "" is missing)."""
    if value is None or (value == "" and f.is_text and f.type != "id"):
        return None
    t = f.type
    if t in ("id", "reference"):
        if not isinstance(value, str) or canonical(value) is None:
            raise RecordError(
                "MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name]
            )
        return canonical(value)
    if f.is_text:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise _type_error(f, value)
        return _check_text(f, value if isinstance(value, str) else str(value))
    if t == "boolean":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return int(value.lower() == "true")
        raise _type_error(f, value)
    if t in ("double", "currency", "percent", "int"):
        if isinstance(value, bool):
            raise _type_error(f, value)
        if isinstance(value, (int, float)):
            out = float(value)
        elif isinstance(value, str):
            try:
                out = float(value)
            except ValueError:
                raise _type_error(f, value) from None
        else:
            raise _type_error(f, value)
        if not math.isfinite(out):
            raise _type_error(f, value)
        return out
    if t == "datetime":
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise _type_error(f, value)
        return parsed
    if t == "date":
        parsed = parse_date(value) if isinstance(value, str) else None
        if parsed is None:
            raise _type_error(f, value)
        return parsed
    raise _type_error(f, value)


_TRUE = {"true": 1, "1": 1, "yes": 1, "false": 0, "0": 0, "no": 0}


def coerce_csv(f: FieldDef, cell: str) -> Any:
    """Stored form of a CSV cell: SKIP for an empty cell, None for `#N/A`."""
    if cell == "":
        return SKIP
    if cell == "#N/A":
        return None
    t = f.type
    if t == "string":
        return _check_text(f, cell)
    if t == "boolean":
        b = _TRUE.get(cell.lower())
        if b is None:
            raise _type_error(f, cell)
        return b
    return coerce_json(f, cell)


def to_json(f: FieldDef, value: Any) -> Any:
    if value is None:
        return None
    if f.type == "boolean":
        return bool(value)
    return value


def to_csv(f: FieldDef, value: Any) -> str:
    """Bulk API 2.0 query result form: empty for null, true/false, ...Z date-times."""
    if value is None:
        return ""
    t = f.type
    if t == "boolean":
        return "true" if value else "false"
    if t == "datetime":
        return str(value)[:23] + "Z"
    if isinstance(value, float):
        return repr(value)
    return str(value)
