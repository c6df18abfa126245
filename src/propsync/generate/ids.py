"""Salesforce ids for the generator: the 15 -> 18 checksum, scalar and vectorised.

This is deliberately a second, independent implementation (the models own the canonical
one in `propsync.models.sfid`): the ground truth must not share code with what it checks.
"""

from __future__ import annotations

import numpy as np

SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ALNUM = frozenset(BASE62)
# The characters R2 trims (the models trim the same four).
TRIMMED = " \t\r\n"

_SUFFIX_CODES = np.frombuffer(SUFFIX_ALPHABET.encode(), dtype=np.uint8)


# Every character -> '1' if it is an ASCII capital, else '0'; read back as binary numbers.
_CAPITAL_BITS = {c: ord("1") if "A" <= chr(c) <= "Z" else ord("0") for c in range(128)}


def suffix(id15: str) -> str:
    """The checksum suffix of a 15-character id: per 5-char chunk, bit i = char i is A-Z."""
    bits = id15.translate(_CAPITAL_BITS)
    # bit i of a chunk is its i-th character, so the chunk is read right to left
    return "".join(
        SUFFIX_ALPHABET[int(bits[start + 4 : start - 1 if start else None : -1], 2)]
        for start in (0, 5, 10)
    )


def to18(id15: str) -> str:
    """The 18-character form of a well-formed 15-character id."""
    if len(id15) != 15 or not set(id15) <= _ALNUM:
        raise ValueError(f"not a 15-character Salesforce id: {id15!r}")
    return id15 + suffix(id15)


def normalize(raw: str | None) -> str | None:
    """R2: trimmed; 15 chars -> 18; 18 chars need the right suffix (any case); else None."""
    if raw is None:
        return None
    value = raw.strip(TRIMMED)
    if not value or not set(value) <= _ALNUM:
        return None
    if len(value) == 15:
        return value + suffix(value)
    if len(value) == 18:
        expected = suffix(value[:15])
        return value[:15] + expected if value[15:].upper() == expected else None
    return None


def base62(number: int, width: int) -> str:
    """`number` in base 62, left-padded with '0' to `width` characters."""
    digits = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        digits.append(BASE62[rem])
    if number:
        raise ValueError(f"{number} does not fit in {width} base-62 digits")
    return "".join(reversed(digits))


def mint(prefix: str, number: int) -> str:
    """An 18-character record id: a prefix (key prefix + pod) padded by a base-62 counter."""
    return to18(prefix + base62(number, 15 - len(prefix)))


def np_digits(numbers: np.ndarray, width: int, alphabet: str = BASE62) -> np.ndarray:
    """ASCII codes (n, width) of `numbers` in base len(alphabet), most significant first."""
    codes = np.frombuffer(alphabet.encode(), dtype=np.uint8)
    out = np.empty((len(numbers), width), dtype=np.uint8)
    rest = numbers.astype(np.int64).copy()
    for pos in range(width - 1, -1, -1):
        out[:, pos] = codes[rest % len(codes)]
        rest //= len(codes)
    if rest.any():
        raise ValueError(f"a number does not fit in {width} base-{len(codes)} digits")
    return out


def np_to18(codes15: np.ndarray) -> np.ndarray:
    """ASCII codes (n, 18) from codes (n, 15): appends the checksum suffix to each row."""
    upper = ((codes15 >= ord("A")) & (codes15 <= ord("Z"))).astype(np.int64)
    weights = 1 << np.arange(5, dtype=np.int64)
    out = np.empty((len(codes15), 18), dtype=np.uint8)
    out[:, :15] = codes15
    for chunk in range(3):
        bits = upper[:, chunk * 5 : chunk * 5 + 5] @ weights
        out[:, 15 + chunk] = _SUFFIX_CODES[bits]
    return out


def np_mint(prefix: str, numbers: np.ndarray) -> np.ndarray:
    """Vectorised `mint`: ASCII codes (n, 18) of record ids."""
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    codes = np.empty((len(numbers), 15), dtype=np.uint8)
    codes[:, : len(head)] = head
    codes[:, len(head) :] = np_digits(numbers, 15 - len(head))
    return np_to18(codes)


def codes_to_strings(codes: np.ndarray) -> np.ndarray:
    """(n, w) ASCII codes -> numpy array of Python-compatible fixed-width unicode strings."""
    width = codes.shape[1]
    return np.ascontiguousarray(codes).view(f"S{width}").ravel().astype(f"U{width}")
