"""Record ids: minting ids with an object's key prefix, and checking ids sent to the API.

An id is a 3-character key prefix (the object), a 2-character pod and a base-62
counter, 15 characters, plus the 3-character checksum suffix of
`propsync.models.sfid` (the project's one implementation of the checksum).
"""

from __future__ import annotations

import re

from propsync.models.sfid import checksum

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID15 = re.compile(r"[a-zA-Z0-9]{15}")
_ID18 = re.compile(r"[a-zA-Z0-9]{18}")
POD = "Dn"


def canonical(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id as the API accepts it, or
    None if malformed. The suffix of an 18-character id is compared
    case-insensitively and must match; nothing is trimmed."""
    if _ID15.fullmatch(value):
        return value + checksum(value)
    if _ID18.fullmatch(value):
        suffix = checksum(value[:15])
        if value[15:].upper() == suffix:
            return value[:15] + suffix
    return None


def mint(key_prefix: str, number: int) -> str:
    """The 18-character id number `number` of the object with `key_prefix`."""
    digits = []
    n = number
    for _ in range(10):
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    if n:
        raise ValueError(f"id counter overflow for key prefix {key_prefix}")
    id15 = key_prefix + POD + "".join(reversed(digits))
    return id15 + checksum(id15)
