"""DuckDB-dialect SQL turned into Spark SQL, in one place: what the Spark adapter runs.

Callers (the models, the plan, the sources) write the portable DuckDB subset; sqlglot
transpiles it, and the fixes below cover what sqlglot gets wrong for Spark:

- `regexp_matches` becomes `RLIKE`, but RE2 (DuckDB) reads `$` as the end of the text
  while Java (Spark) also lets it match before a final line terminator, so
  `'^[A-Za-z0-9]{15}$'` accepts 'a01Dn00000HHUan\\n' on Spark only. A trailing `$` of a
  literal pattern becomes `\\z` (the end of the text on both).
- DuckDB's `JSON` column type has no Spark equivalent: it becomes `STRING`.
- `?` parameters are numbered into `:p1, :p2, ...` in the order they appear in the text
  (sqlglot may move arguments, e.g. `TRIM(x, ?)` -> `TRIM(? FROM x)`, which would
  reorder positional ones); the adapter passes them by name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.tokens import TokenType

from propsync.errors import EngineError

# An unescaped `$` ending a pattern (not `\$`).
_END_ANCHOR = re.compile(r"(?<!\\)((?:\\\\)*)\$$")


def number_placeholders(
    sql: str, params: Sequence[Any] | None
) -> tuple[str, dict[str, Any] | None]:
    """Replace each `?` (outside strings and comments) by `:pN`, N in text order, and
    return the named parameters."""
    if not params:
        return sql, None
    marks = [
        t for t in sqlglot.tokenize(sql, read="duckdb") if t.token_type == TokenType.PLACEHOLDER
    ]
    marks = [t for t in marks if sql[t.start : t.end + 1] == "?"]
    if len(marks) != len(params):
        raise EngineError(f"{len(params)} parameter(s) given for {len(marks)} '?' in: {sql[:120]}")
    out = sql
    for i, token in reversed(list(enumerate(marks, start=1))):
        out = f"{out[: token.start]}:p{i}{out[token.end + 1 :]}"
    return out, {f"p{i}": value for i, value in enumerate(params, start=1)}


def parse(sql: str) -> exp.Expression:
    """One DuckDB-dialect statement as a sqlglot tree."""
    try:
        trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
    except ParseError as exc:
        raise EngineError(f"cannot read the SQL: {exc} (in: {sql.strip()[:120]})") from None
    if len(trees) != 1:
        raise EngineError(f"expected one statement, got {len(trees)} (in: {sql.strip()[:120]})")
    return cast(exp.Expression, trees[0])


def _fix(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.RegexpLike) and isinstance(node.expression, exp.Literal):
        pattern = node.expression.this
        fixed = _END_ANCHOR.sub(lambda m: m.group(1) + "\\z", pattern)
        if fixed != pattern:
            node.set("expression", exp.Literal.string(fixed))
    elif isinstance(node, exp.DataType) and node.this == exp.DataType.Type.JSON:
        return exp.DataType.build("STRING")
    return node


def to_spark(tree: exp.Expression, *, dialect: str = "spark", pretty: bool = False) -> str:
    """A DuckDB-dialect tree as Spark SQL (or Databricks SQL), with the fixes above."""
    fixed = tree.copy().transform(_fix)
    return fixed.sql(dialect=dialect, pretty=pretty, comments=False)


def transpile(sql: str, *, dialect: str = "spark", pretty: bool = False) -> str:
    """DuckDB-dialect SQL text as Spark SQL (what `models.compile` emits for Spark)."""
    return to_spark(parse(sql), dialect=dialect, pretty=pretty)


def kept_by_delete(tree: exp.Delete) -> exp.Expression:
    """The query of the rows a DELETE keeps (a NULL condition keeps a row): Spark cannot
    DELETE from a Parquet table, so the adapter rewrites it with these."""
    source, where = tree.this.sql("duckdb"), tree.args.get("where")
    cond = where.this.sql("duckdb") if where is not None else "TRUE"
    return parse(f"SELECT * FROM {source} WHERE ({cond}) IS NOT TRUE")


def updated_rows(tree: exp.Update, columns: Sequence[str]) -> exp.Expression:
    """The query of a table's rows after an UPDATE (no FROM) of its `columns`."""
    if tree.args.get("from"):
        raise EngineError("UPDATE ... FROM is not supported on Spark: use set_by_key")
    where = tree.args.get("where")
    sets = {e.this.name: e.expression.sql("duckdb") for e in tree.expressions}
    select = []
    for c in columns:
        if c not in sets:
            select.append(f'"{c}"')
        elif where is None:
            select.append(f'{sets[c]} AS "{c}"')
        else:
            select.append(
                f'CASE WHEN {where.this.sql("duckdb")} THEN {sets[c]} ELSE "{c}" END AS "{c}"'
            )
    return parse(f"SELECT {', '.join(select)} FROM {tree.this.sql('duckdb')}")


def table_name(name: str) -> str:
    """A table name as callers pass it (`t`, `"t"`) without quotes."""
    return exp.to_table(name, dialect="duckdb").name
