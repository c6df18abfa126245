"""What every config section is built on: the strict base model and the checked value
types (memory sizes, SQL and API names, environment variable names, Salesforce ids)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from propsync import sfid

# Memory sizes as the engine takes them: unit (lower case) -> canonical spelling.
_SIZE_UNITS = {"b": "B", "kb": "KB", "mb": "MB", "gb": "GB", "tb": "TB",
               "kib": "KiB", "mib": "MiB", "gib": "GiB", "tib": "TiB"}  # fmt: skip
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*")


def _memory_size(value: str) -> str:
    m = _SIZE.fullmatch(value)
    if not m or m.group(2).lower() not in _SIZE_UNITS or float(m.group(1)) <= 0:
        raise ValueError(f"not a memory size: {value!r} (write e.g. '512MB' or '4GiB')")
    return f"{float(m.group(1)):g}{_SIZE_UNITS[m.group(2).lower()]}"


def _pattern(regex: str, what: str) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


MemorySize = Annotated[str, AfterValidator(_memory_size)]
# A SQL identifier (a schema name): letters, digits and underscores.
SqlName = Annotated[str, _pattern(r"[A-Za-z_][A-Za-z0-9_]{0,62}", "a plain SQL identifier")]
# A Salesforce API name (object or field): letters, digits, single underscores.
ApiName = Annotated[
    str, _pattern(r"[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?:__c)?", "a Salesforce API name")
]
EnvName = Annotated[str, _pattern(r"[A-Za-z_][A-Za-z0-9_]*", "an environment variable name")]
ApiVersion = Annotated[str, _pattern(r"v?\d{2,3}\.0", "a Salesforce API version like 62.0")]


def _salesforce_id(value: str) -> str:
    if not sfid.is_valid(value):
        raise ValueError(f"{value!r} is not a Salesforce id (15 or 18 characters)")
    return value


SalesforceId = Annotated[str, AfterValidator(_salesforce_id)]


class _Section(BaseModel):
    # strict: TOML gives typed values, and a bool or a string is never taken for a number.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


Section = _Section
