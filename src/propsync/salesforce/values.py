"""How Python values are written to Salesforce, shared by sObject Collections (JSON) and
Bulk API 2.0 (CSV): None leaves a field as it is, `CLEAR` empties it (JSON null, Bulk
CSV `#N/A`), datetimes need a time zone and go out as UTC with milliseconds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from propsync.errors import UsageError

CLEAR_TEXT = "#N/A"


class _Clear:
    """Sentinel: empty this field (Bulk CSV `#N/A`, JSON null)."""

    _instance: _Clear | None = None

    def __new__(cls) -> _Clear:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "CLEAR"


CLEAR = _Clear()


def json_value(value: Any) -> Any:
    """A Python value as Salesforce's JSON expects it."""
    if isinstance(value, datetime):
        return sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def sf_datetime(value: datetime) -> str:
    """An aware datetime as Salesforce writes one: UTC, milliseconds, `Z`."""
    if value.tzinfo is None:
        raise UsageError(f"datetime {value.isoformat()} has no time zone; Salesforce needs one")
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def csv_cell(value: Any, row: int, column: str) -> str:
    """One Bulk API CSV cell (`row` and `column` name the value in errors)."""
    if value is None:
        return ""  # an empty cell leaves the field as it is
    if value is CLEAR:
        return CLEAR_TEXT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | str):
        return str(value)
    raise UsageError(f"row {row}: field {column}: cannot write a {type(value).__name__} value")
