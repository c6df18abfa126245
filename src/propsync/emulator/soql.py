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
org's time zone (UTC). Case-insensitive means for every letter (`'CAFÉ LOFTS'` equals
`'Café Lofts'`): text is compared through `sf_fold`, see `store`. Limits (statement
length, OFFSET, nesting, ...) are in `soql_lex`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from propsync.emulator.ids import canonical
from propsync.emulator.objects import FieldDef, ObjectDef
from propsync.emulator.soql_lex import (
    KEYWORDS,
    MAX_LIMIT,
    MAX_NESTING,
    MAX_OFFSET,
    MAX_PARAMETERS,
    RANGE,
    UNSUPPORTED,
    DateRange,
    SoqlError,
    Tok,
    bounded_int,
    tokenize,
    unquote,
)
from propsync.emulator.store import column, compared, quote
from propsync.emulator.values import parse_date, parse_datetime

__all__ = ["Query", "SoqlError", "parse"]
# AND/OR chains are grouped this many terms at a time, so a long chain nests SQLite's
# expression tree log-deep, not one level per term (its limit is 1,000 levels).
_GROUP = 64


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
        self.depth = 0  # parentheses and NOTs around the current condition

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
                if t.kind != "word" or t.text.lower() in KEYWORDS:
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
            q.limit = bounded_int(self.take().text, "LIMIT", MAX_LIMIT)
        if self.at_word("offset"):
            self.take()
            q.offset = bounded_int(self.take().text, "OFFSET", MAX_OFFSET)
        t2 = self.peek()
        if t2 is not None:
            if t2.kind == "word" and t2.text.lower() in UNSUPPORTED:
                raise SoqlError(f"{t2.text.upper()} is not supported by the emulator")
            raise SoqlError(f"unexpected token: '{t2.text}'")
        if len(self.params) > MAX_PARAMETERS:
            raise SoqlError(
                f"the emulator compares at most {MAX_PARAMETERS:,} values in one query",
                "QUERY_TOO_COMPLICATED",
            )
        q.params = self.params
        return q

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
        glue = f" {joiner.upper()} "
        while len(parts) > _GROUP:
            parts = [
                "(" + glue.join(parts[i : i + _GROUP]) + ")" for i in range(0, len(parts), _GROUP)
            ]
        return "(" + glue.join(parts) + ")"

    def unary(self) -> str:
        t = self.peek()
        nested = self.at_word("not") or (t is not None and t.text == "(")
        if nested:
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise SoqlError(
                    f"conditions nested more than {MAX_NESTING} deep (parentheses and NOT) "
                    "are beyond the emulator's limit"
                )
        try:
            if self.at_word("not"):
                self.take()
                self.negated += 1
                inner = self.unary()
                self.negated -= 1
                return f"(NOT {inner})"
            if nested:
                self.take()
                inner = self.cond()
                self.expect_punct(")")
                return inner
            return self.comparison()
        finally:
            if nested:
                self.depth -= 1

    def comparison(self) -> str:
        tok = self.take()
        if tok.kind != "word" or tok.text.lower() in KEYWORDS:
            raise SoqlError(f"unexpected token: '{tok.text}'")
        f = self.field(tok)
        col = quote(f.name)  # for null tests
        expr = column(f)  # for comparisons (sf_fold(...) on case-insensitive text)
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
            if any(isinstance(v, DateRange) for v in values):
                raise SoqlError("date literals like TODAY are not allowed in IN lists")
            nonnull = [compared(f, v) for v in values if v is not None]
            # One parameter for the whole list: a long IN list stays within SQLite's
            # limit on bound parameters, and the index is still used.
            self.params.append(json.dumps(nonnull))
            listed = "(SELECT value FROM json_each(?))"
            has_null = len(nonnull) < len(values)
            if negate:
                cond = f"({col} IS NULL OR {expr} NOT IN {listed})"
                return f"({cond} AND {col} IS NOT NULL)" if has_null else cond
            cond = self.two_valued(f"{expr} IN {listed}")
            return f"({cond} OR {col} IS NULL)" if has_null else cond
        if self.at_word("like"):
            self.take()
            t = self.take()
            if t.kind != "str" or not f.is_text:
                raise SoqlError(f"LIKE needs a string field and a quoted pattern, got '{t.text}'")
            self.params.append(compared(f, unquote(t.text, keep_wildcard_escapes=True)))
            return self.two_valued(f"{expr} LIKE ? ESCAPE '\\'")
        op_tok = self.take()
        if op_tok.kind != "op":
            raise SoqlError(f"unexpected token: '{op_tok.text}'")
        op = "!=" if op_tok.text == "<>" else op_tok.text
        value = self.value(f)
        if isinstance(value, DateRange):
            return self.two_valued(value.sql(expr, op, self.params))
        if value is None:
            if op == "=":
                return f"{col} IS NULL"
            if op == "!=":
                return f"{col} IS NOT NULL"
            raise SoqlError(f"null can only be compared with = or !=, not {op}")
        self.params.append(compared(f, value))
        if op == "!=":
            return f"({col} IS NULL OR {expr} != ?)"
        return self.two_valued(f"{expr} {op} ?")

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
            cid = canonical(unquote(text))
            if cid is None:
                raise SoqlError(
                    f"invalid ID field: {unquote(text)}", "INVALID_QUERY_FILTER_OPERATOR"
                )
            return cid
        if f.is_text:
            if kind != "str":
                raise bad
            # Empty text is null in Salesforce: `Name = ''` is `Name = null`.
            return unquote(text) or None
        if f.type == "boolean":
            if kind == "word" and text.lower() in ("true", "false"):
                return int(text.lower() == "true")
            raise bad
        if f.type in ("double", "currency", "percent", "int"):
            number = float(text) if kind == "num" else math.nan
            if not math.isfinite(number):
                raise bad
            return number
        if f.type == "datetime":
            if kind == "dt" and (stamp := parse_datetime(text)) is not None:
                return stamp
            if kind == "word" and RANGE.match(text):
                return DateRange.of(text)
            raise bad
        if f.type == "date":
            if kind == "date" and (day := parse_date(text)) is not None:
                return day
            if kind == "word" and RANGE.match(text):
                return DateRange.of(text, dates=True)
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
            out.append(f"{column(f)} {direction} {nulls}")
            if self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.take()
                continue
            return ", ".join(out)


def parse(text: str, objects: dict[str, ObjectDef]) -> Query:
    """Parse and compile `text`; raises SoqlError for anything outside the subset."""
    if not text or not text.strip():
        raise SoqlError("empty query")
    return _Parser(text, objects).parse()
