"""Salesforce ids for the generator: minting record ids, scalar and vectorised.

The scalar checksum and R2's normalisation are `propsync.sfid`'s (re-exported here as
`suffix`, `to18`, `normalize`). The vectorised checksum (`np_to18`) is a second,
independent implementation, so minting a million ids stays fast; a test holds it to
`propsync.sfid`.
"""

from __future__ import annotations

import numpy as np

from propsync.sfid import WHITESPACE as TRIMMED
from propsync.sfid import checksum as suffix
from propsync.sfid import normalize, to18

__all__ = [
    "BASE62",
    "SUFFIX_ALPHABET",
    "TRIMMED",
    "base62",
    "codes_to_strings",
    "mint",
    "normalize",
    "np_digits",
    "np_mint",
    "np_to18",
    "suffix",
    "to18",
]

SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

_SUFFIX_CODES = np.frombuffer(SUFFIX_ALPHABET.encode(), dtype=np.uint8)


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
