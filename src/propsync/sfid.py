"""Salesforce record ids: the 15 -> 18 character checksum and rule R2's normalisation.

This is the canonical implementation; the SQL in `rds_properties_normalized.sql` and
`salesforce_matched_records.sql` mirrors it, and a test proves they agree. It sits at
the bottom of the package and imports nothing of propsync, so the models, the generator
and the emulator (which mints record ids with `checksum`) all share it.
"""

from __future__ import annotations

import re

# Salesforce appends one character per 5-character chunk; the character encodes,
# bit i set when chunk position i is an upper-case ASCII letter, an index into this.
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
# What R2 trims. SQL `trim` strips spaces only, so the SQL side names these same four.
WHITESPACE = " \t\r\n"
_ID15 = re.compile(r"[A-Za-z0-9]{15}")
_ID18 = re.compile(r"[A-Za-z0-9]{18}")


def checksum(id15: str) -> str:
    """The three-character suffix of a 15-character id."""
    if not _ID15.fullmatch(id15):
        raise ValueError(f"not a 15-character Salesforce id: {id15!r}")
    out = []
    for start in (0, 5, 10):
        bits = 0
        for i, ch in enumerate(id15[start : start + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX_ALPHABET[bits])
    return "".join(out)


def to18(id15: str) -> str:
    """The 18-character form of a 15-character id (case-safe; raises ValueError if malformed)."""
    return id15 + checksum(id15)


def normalize(raw: str | None) -> str | None:
    """Rule R2: the canonical 18-character id, or None when empty or invalid.

    Trims spaces, tabs, CR and LF; a 15-character id gets its checksum suffix; an
    18-character id must carry the right suffix (compared case-insensitively) and comes
    back with the canonical upper-case suffix. Anything else is invalid (None).
    """
    if raw is None:
        return None
    value = raw.strip(WHITESPACE)
    if _ID15.fullmatch(value):
        return to18(value)
    if _ID18.fullmatch(value):
        suffix = checksum(value[:15])
        if value[15:].upper() == suffix:
            return value[:15] + suffix
    return None


def is_valid(raw: str | None) -> bool:
    """Whether `normalize(raw)` yields an id (R2's `has_valid_sfdc_id = 1`)."""
    return normalize(raw) is not None
