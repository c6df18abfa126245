"""Session settings as typed values, rendered as SQL literals by the adapter.

A setting's value never goes into a statement as the text it came in: a size such as
'512MB' is parsed and written back in a canonical form, an integer as an int, a flag
as true/false, a word only if it is one. An unknown setting is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from propsync.errors import EngineError

SettingKind = Literal["size", "int", "bool", "word"]
SettingValue = str | int | bool

# Unit -> bytes, keyed lower-case; the canonical spelling is what a size renders with.
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip
_CANONICAL = {"b": "B", "kb": "KB", "mb": "MB", "gb": "GB", "tb": "TB",
              "kib": "KiB", "mib": "MiB", "gib": "GiB", "tib": "TiB"}  # fmt: skip
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")
_WORD = re.compile(r"[A-Za-z0-9_/+.-]+")


@dataclass(frozen=True)
class Size:
    """A memory size: a number and its unit, as a user wrote it ('512MB', '3.7 GiB')."""

    number: float
    unit: str  # canonical spelling, e.g. "MB", "GiB"

    @classmethod
    def parse(cls, text: str | Size) -> Size:
        if isinstance(text, Size):
            return text
        m = _SIZE.fullmatch(str(text))
        unit = m.group(2).lower() if m else ""
        if not m or unit not in _UNITS:
            raise EngineError(f"not a memory size: {text!r} (write e.g. '512MB' or '4GiB')")
        return cls(float(m.group(1)), _CANONICAL[unit])

    @property
    def bytes(self) -> int:
        return int(self.number * _UNITS[self.unit.lower()])

    def __str__(self) -> str:
        return f"{self.number:g}{self.unit}"


def literal(name: str, kind: SettingKind, value: SettingValue | Size) -> str:
    """The SQL literal of a setting's value, validated for its kind."""
    if kind == "size":
        return f"'{Size.parse(value if isinstance(value, Size) else str(value))}'"
    if kind == "bool":
        if isinstance(value, bool):
            return "true" if value else "false"
        text = str(value).strip().lower()
        if text not in ("true", "false"):
            raise EngineError(f"setting {name}: {value!r} is not true or false")
        return text
    if kind == "int":
        if isinstance(value, bool) or not re.fullmatch(r"\s*\d+\s*", str(value)):
            raise EngineError(f"setting {name}: {value!r} is not a whole number")
        return str(int(str(value)))
    text = str(value)
    if not _WORD.fullmatch(text):
        raise EngineError(f"setting {name}: {value!r} is not a plain word")
    return f"'{text}'"
