"""SOQL's tokens, literals and limits, for the parser in `soql`.

Limits (a query past one is refused with Salesforce's error shape, never a 500):
- a statement of at most 100,000 characters (Salesforce's documented maximum);
- OFFSET at most 2,000 (Salesforce: NUMBER_OUTSIDE_VALID_RANGE beyond);
- LIMIT at most 2,147,483,647 (Salesforce documents no maximum; its counts are 32-bit);
- date literals whose range stays within 1700-01-01 .. 4000-12-31, the dates
  Salesforce stores;
- the emulator's own: parentheses and NOT nested at most `MAX_NESTING` deep (its
  parser is recursive and SQLite's expression parser has a small stack) and at most
  `MAX_PARAMETERS` values in one query (SQLite's bound-parameter limit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from propsync.emulator.values import format_datetime

MAX_SOQL_CHARS = 100_000
MAX_OFFSET = 2_000
MAX_LIMIT = 2**31 - 1
MAX_NESTING = 20
MAX_PARAMETERS = 30_000
FIRST_DAY = datetime(1700, 1, 1, tzinfo=UTC)
LAST_DAY = datetime(4000, 12, 31, tzinfo=UTC)


class SoqlError(Exception):
    """A query the emulator will not answer; `code` is the Salesforce errorCode."""

    def __init__(self, message: str, code: str = "MALFORMED_QUERY"):
        super().__init__(message)
        self.code = code


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^'\\]|\\.)*')
    | (?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<op>!=|<>|<=|>=|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?::\d+)?(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.X,
)

KEYWORDS = {
    "select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "asc",
    "desc", "nulls", "first", "last", "limit", "offset", "null", "true", "false",
}  # fmt: skip
RANGE = re.compile(r"^(TODAY|YESTERDAY|TOMORROW|LAST_N_DAYS:\d+|NEXT_N_DAYS:\d+)$", re.I)
UNSUPPORTED = {"group", "having", "with", "for", "using", "typeof", "includes", "excludes"}


@dataclass
class Tok:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Tok]:
    if len(text) > MAX_SOQL_CHARS:
        raise SoqlError(
            f"SOQL statements cannot be longer than {MAX_SOQL_CHARS:,} characters "
            f"(this one has {len(text):,})"
        )
    toks: list[Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            snippet = text[pos : pos + 20].strip()
            raise SoqlError(f"unexpected token: '{snippet}'")
        kind = m.lastgroup or ""
        toks.append(Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return toks


def bounded_int(text: str, what: str, most: int) -> int:
    """The non-negative integer `text` (LIMIT, OFFSET), at most `most`."""
    if not text.isdigit():
        raise SoqlError(f"{what} must be a non-negative integer, got '{text}'")
    # Compared as text first: int() refuses strings of more than 4,300 digits.
    value = int(text) if len(text) <= len(str(most)) else most + 1
    if value > most:
        if what == "OFFSET":
            raise SoqlError(
                f"Maximum SOQL offset allowed is {MAX_OFFSET}", "NUMBER_OUTSIDE_VALID_RANGE"
            )
        raise SoqlError(f"{what} must be at most {most:,}, got {text[:20]}")
    return value


@dataclass
class DateRange:
    """A date literal such as TODAY: a half-open interval [start, end)."""

    start: str
    end: str

    @classmethod
    def of(cls, text: str, dates: bool = False) -> DateRange:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        word, _, n = text.upper().partition(":")
        day = timedelta(days=1)
        spans = {
            "TODAY": (today, today + day),
            "YESTERDAY": (today - day, today),
            "TOMORROW": (today + day, today + 2 * day),
        }
        if word in spans:
            a, b = spans[word]
        else:
            # Past the dates Salesforce stores the range means nothing (and would
            # overflow Python's dates): refused, not clipped.
            days = int(n) if len(n) <= 7 else 10**7
            reach = (FIRST_DAY - today).days if word == "LAST_N_DAYS" else (LAST_DAY - today).days
            if days > abs(reach):
                raise SoqlError(
                    f"{text}: the range goes beyond the dates Salesforce stores "
                    f"({FIRST_DAY.date()} to {LAST_DAY.date()})"
                )
            if word == "LAST_N_DAYS":
                a, b = today - days * day, today + day
            else:  # NEXT_N_DAYS
                a, b = today + day, today + (days + 1) * day
        if dates:
            return cls(a.date().isoformat(), b.date().isoformat())
        return cls(format_datetime(a), format_datetime(b))

    def sql(self, col: str, op: str, params: list[Any]) -> str:
        forms = {
            "=": (f"({col} >= ? AND {col} < ?)", [self.start, self.end]),
            "!=": (f"({col} IS NULL OR {col} < ? OR {col} >= ?)", [self.start, self.end]),
            "<": (f"{col} < ?", [self.start]),
            "<=": (f"{col} < ?", [self.end]),
            ">": (f"{col} >= ?", [self.end]),
            ">=": (f"{col} >= ?", [self.start]),
        }
        sql, values = forms[op]
        params.extend(values)
        return sql


def unquote(text: str, keep_wildcard_escapes: bool = False) -> str:
    body = text[1:-1]
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if keep_wildcard_escapes and nxt in "%_":
                out.append("\\" + nxt)
            else:
                out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)
