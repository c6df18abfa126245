"""The SOQL subset the emulator answers, parsed by recursive descent and compiled to
SQLite. Anything outside the subset raises `SoqlError` (MALFORMED_QUERY), never a
silently different result.

    query     := SELECT fields FROM object [WHERE cond] [ORDER BY order (, order)*]
                 [LIMIT n] [OFFSET n]
    fields    := COUNT() | field (, field)*
    cond      := unary (AND unary)* | unary (OR unary)*   -- mixing needs parentheses
    unary     := NOT unary | ( cond ) | field op value | field [NOT] IN ( value, ... )
                 | field LIKE 'pattern'
    op        := = != <> < <= > >=
    value     := 'string' | number | true | false | null | 2024-01-31 | 2024-01-31T10:00:00Z
                 | TODAY | YESTERDAY | TOMORROW | LAST_N_DAYS:n | NEXT_N_DAYS:n
    order     := field [ASC | DESC] [NULLS FIRST | NULLS LAST]

Semantics follow Salesforce: logic is two-valued (a comparison with a null field
is false, so `NOT City__c = 'X'` matches nulls), text compares case-insensitively
(ids exactly, 15-char ids widened to 18), `!= value` also matches null, booleans
are never null, nulls sort first unless NULLS LAST, date literals are ranges in the
org's time zone (UTC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from propsync.emulator.ids import canonical
from propsync.emulator.objects import FieldDef, ObjectDef
from propsync.emulator.store import quote
from propsync.emulator.values import format_datetime, parse_date, parse_datetime


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

_KEYWORDS = {
    "select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "asc",
    "desc", "nulls", "first", "last", "limit", "offset", "null", "true", "false",
}  # fmt: skip
_RANGE = re.compile(r"^(TODAY|YESTERDAY|TOMORROW|LAST_N_DAYS:\d+|NEXT_N_DAYS:\d+)$", re.I)
_UNSUPPORTED = {"group", "having", "with", "for", "using", "typeof", "includes", "excludes"}


@dataclass
class Tok:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Tok]:
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


@dataclass
class Query:
    obj: ObjectDef
    fields: list[FieldDef]
    count_only: bool
    where_sql: str = "1"
    params: list[Any] = field(default_factory=list)
    order_sql: str = ""
    limit: int | None = None
    offset: int = 0

    def sql(self, *, all_rows: bool, count: bool = False) -> tuple[str, list[Any]]:
        """The SQLite statement (and parameters) returning the selected rows."""
        where = self.where_sql if all_rows else f'"IsDeleted" = 0 AND ({self.where_sql})'
        cols = "count(*)" if count else ", ".join(quote(f.name) for f in self.fields)
        if count:
            sql = f"SELECT {cols} FROM (SELECT 1 FROM {quote(self.obj.table)} WHERE {where}"
        else:
            sql = f"SELECT {cols} FROM {quote(self.obj.table)} WHERE {where}"
        if not count:
            sql += f" ORDER BY {self.order_sql + ', ' if self.order_sql else ''}rowid"
        if self.limit is not None or self.offset:
            sql += f" LIMIT {self.limit if self.limit is not None else -1} OFFSET {self.offset}"
        if count:
            sql += ")"
        return sql, list(self.params)


class _Parser:
    def __init__(self, text: str, objects: dict[str, ObjectDef]) -> None:
        self.toks = tokenize(text)
        self.i = 0
        self.objects = objects
        self.obj: ObjectDef | None = None
        self.params: list[Any] = []
        self.negated = 0  # depth of NOT around the current comparison

    def two_valued(self, sql: str) -> str:
        """`sql` made false (not NULL) on a null field. Only needed under NOT: elsewhere
        in a WHERE clause NULL and false select the same rows, and the bare form
        lets SQLite use an index."""
        return f"coalesce({sql}, 0)" if self.negated else sql

    # token helpers -----------------------------------------------------------------
    def peek(self, offset: int = 0) -> Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def at_word(self, *words: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "word" and t.text.lower() in words

    def take(self) -> Tok:
        t = self.peek()
        if t is None:
            raise SoqlError("unexpected end of query")
        self.i += 1
        return t

    def expect_word(self, word: str) -> None:
        t = self.take()
        if t.kind != "word" or t.text.lower() != word:
            raise SoqlError(f"unexpected token: '{t.text}' (expected {word.upper()})")

    def expect_punct(self, p: str) -> None:
        t = self.take()
        if t.text != p:
            raise SoqlError(f"unexpected token: '{t.text}' (expected '{p}')")

    # grammar -----------------------------------------------------------------------
    def parse(self) -> Query:
        self.expect_word("select")
        count_only = False
        names: list[Tok] = []
        if self.at_word("count") and self.peek(1) is not None and self.peek(1).text == "(":  # type: ignore[union-attr]
            self.take()
            self.expect_punct("(")
            self.expect_punct(")")
            count_only = True
        else:
            while True:
                t = self.take()
                if t.kind != "word" or t.text.lower() in _KEYWORDS:
                    raise SoqlError(f"unexpected token: '{t.text}'")
                if self.peek() is not None and self.peek().text == "(":  # type: ignore[union-attr]
                    raise SoqlError(f"function {t.text}() is not supported by the emulator")
                names.append(t)
                if self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                    self.take()
                    continue
                break
        self.expect_word("from")
        t = self.take()
        obj = self.objects.get(t.text.lower())
        if obj is None:
            raise SoqlError(
                f"sObject type '{t.text}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                "INVALID_TYPE",
            )
        self.obj = obj
        fields = [self.field(n) for n in names]
        q = Query(obj=obj, fields=fields, count_only=count_only)
        if self.at_word("where"):
            self.take()
            q.where_sql = self.cond()
        if self.at_word("order"):
            self.take()
            self.expect_word("by")
            q.order_sql = self.order_list()
        if self.at_word("limit"):
            self.take()
            q.limit = self.integer("LIMIT")
        if self.at_word("offset"):
            self.take()
            q.offset = self.integer("OFFSET")
        t2 = self.peek()
        if t2 is not None:
            if t2.kind == "word" and t2.text.lower() in _UNSUPPORTED:
                raise SoqlError(f"{t2.text.upper()} is not supported by the emulator")
            raise SoqlError(f"unexpected token: '{t2.text}'")
        q.params = self.params
        return q

    def integer(self, what: str) -> int:
        t = self.take()
        if t.kind != "num" or not t.text.isdigit():
            raise SoqlError(f"{what} must be a non-negative integer, got '{t.text}'")
        return int(t.text)

    def field(self, tok: Tok) -> FieldDef:
        assert self.obj is not None
        if "." in tok.text:
            raise SoqlError(f"relationship queries ({tok.text}) are not supported by the emulator")
        f = self.obj.field(tok.text)
        if f is None:
            raise SoqlError(
                f"No such column '{tok.text}' on entity '{self.obj.name}'. If you are "
                "attempting to use a custom field, be sure to append the '__c' after the "
                "custom field name. Please reference your WSDL or the describe call for the "
                "appropriate names.",
                "INVALID_FIELD",
            )
        return f

    def cond(self) -> str:
        parts = [self.unary()]
        joiner: str | None = None
        while self.at_word("and", "or"):
            word = self.take().text.lower()
            if joiner is not None and word != joiner:
                raise SoqlError(
                    "unexpected token: '" + word.upper() + "' (mixing AND and OR needs parentheses)"
                )
            joiner = word
            parts.append(self.unary())
        if joiner is None:
            return parts[0]
        return "(" + f" {joiner.upper()} ".join(parts) + ")"

    def unary(self) -> str:
        if self.at_word("not"):
            self.take()
            self.negated += 1
            inner = self.unary()
            self.negated -= 1
            return f"(NOT {inner})"
        t = self.peek()
        if t is not None and t.text == "(":
            self.take()
            inner = self.cond()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> str:
        tok = self.take()
        if tok.kind != "word" or tok.text.lower() in _KEYWORDS:
            raise SoqlError(f"unexpected token: '{tok.text}'")
        f = self.field(tok)
        col = quote(f.name)
        negate = False
        if self.at_word("not"):
            self.take()
            negate = True
            if not self.at_word("in"):
                raise SoqlError("unexpected token: 'NOT'")
        if self.at_word("in"):
            self.take()
            self.expect_punct("(")
            values = []
            while True:
                values.append(self.value(f))
                nxt = self.take()
                if nxt.text == ")":
                    break
                if nxt.text != ",":
                    raise SoqlError(f"unexpected token: '{nxt.text}'")
            if any(isinstance(v, _Range) for v in values):
                raise SoqlError("date literals like TODAY are not allowed in IN lists")
            nonnull = [v for v in values if v is not None]
            marks = ", ".join("?" for _ in nonnull)
            self.params.extend(nonnull)
            has_null = len(nonnull) < len(values)
            if negate:
                expr = f"({col} IS NULL OR {col} NOT IN ({marks}))" if nonnull else "1"
                return f"({expr} AND {col} IS NOT NULL)" if has_null else expr
            expr = self.two_valued(f"{col} IN ({marks})") if nonnull else "0"
            return f"({expr} OR {col} IS NULL)" if has_null else expr
        if self.at_word("like"):
            self.take()
            t = self.take()
            if t.kind != "str" or not f.is_text:
                raise SoqlError(f"LIKE needs a string field and a quoted pattern, got '{t.text}'")
            self.params.append(_unquote(t.text, keep_wildcard_escapes=True))
            return self.two_valued(f"{col} LIKE ? ESCAPE '\\'")
        op_tok = self.take()
        if op_tok.kind != "op":
            raise SoqlError(f"unexpected token: '{op_tok.text}'")
        op = "!=" if op_tok.text == "<>" else op_tok.text
        value = self.value(f)
        if isinstance(value, _Range):
            return self.two_valued(value.sql(col, op, self.params))
        if value is None:
            if op == "=":
                return f"{col} IS NULL"
            if op == "!=":
                return f"{col} IS NOT NULL"
            raise SoqlError(f"null can only be compared with = or !=, not {op}")
        self.params.append(value)
        if op == "!=":
            return f"({col} IS NULL OR {col} != ?)"
        return self.two_valued(f"{col} {op} ?")

    def value(self, f: FieldDef) -> Any:
        t = self.take()
        kind, text = t.kind, t.text
        bad = SoqlError(
            f"value of filter criterion for field '{f.name}' must be of type {f.type} "
            f"and should not be enclosed in quotes"
            if kind == "str" and not f.is_text
            else f"invalid value '{text}' for field '{f.name}' of type {f.type}",
            "INVALID_QUERY_FILTER_OPERATOR",
        )
        if kind == "word" and text.lower() == "null":
            return None
        if f.type in ("id", "reference"):
            if kind != "str":
                raise bad
            cid = canonical(_unquote(text))
            if cid is None:
                raise SoqlError(
                    f"invalid ID field: {_unquote(text)}", "INVALID_QUERY_FILTER_OPERATOR"
                )
            return cid
        if f.is_text:
            if kind != "str":
                raise bad
            return _unquote(text)
        if f.type == "boolean":
            if kind == "word" and text.lower() in ("true", "false"):
                return int(text.lower() == "true")
            raise bad
        if f.type in ("double", "currency", "percent", "int"):
            if kind != "num":
                raise bad
            return float(text)
        if f.type == "datetime":
            if kind == "dt":
                return parse_datetime(text)
            if kind == "word" and _RANGE.match(text):
                return _Range.of(text)
            raise bad
        if f.type == "date":
            if kind == "date":
                return parse_date(text)
            if kind == "word" and _RANGE.match(text):
                return _Range.of(text, dates=True)
            raise bad
        raise bad

    def order_list(self) -> str:
        out = []
        while True:
            f = self.field(self.take())
            direction = "ASC"
            if self.at_word("asc", "desc"):
                direction = self.take().text.upper()
            nulls = "NULLS FIRST"
            if self.at_word("nulls"):
                self.take()
                if not self.at_word("first", "last"):
                    raise SoqlError("expected FIRST or LAST after NULLS")
                nulls = "NULLS " + self.take().text.upper()
            out.append(f"{quote(f.name)} {direction} {nulls}")
            if self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.take()
                continue
            return ", ".join(out)


@dataclass
class _Range:
    """A date literal such as TODAY: a half-open interval [start, end)."""

    start: str
    end: str

    @classmethod
    def of(cls, text: str, dates: bool = False) -> _Range:
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
        elif word == "LAST_N_DAYS":
            a, b = today - int(n) * day, today + day
        else:  # NEXT_N_DAYS
            a, b = today + day, today + (int(n) + 1) * day
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


def _unquote(text: str, keep_wildcard_escapes: bool = False) -> str:
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


def parse(text: str, objects: dict[str, ObjectDef]) -> Query:
    """Parse and compile `text`; raises SoqlError for anything outside the subset."""
    if not text or not text.strip():
        raise SoqlError("empty query")
    return _Parser(text, objects).parse()
