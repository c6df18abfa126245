"""The queue row queries (`models/sql/queues/*.rows.sql`) keep the column contract of
`propsync.models.queues`, run as written, and take a restriction and a predicted error."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from propsync.models import queues as mq
from propsync.models.runner import view_names


def _columns(sql: str) -> list[str]:
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert isinstance(tree, exp.Select)
    return [e.alias_or_name for e in tree.expressions]


def test_row_queries_carry_the_contract_columns() -> None:
    create = _columns(mq.rows_sql("create"))
    assert [c for c in create if c.startswith("exp__")] == [
        mq.col(n, "exp") for n in mq.CREATE_COLUMNS
    ]
    update = _columns(mq.rows_sql("update"))
    for f in mq.UPDATE_FIELDS:
        assert {mq.col(f.api_name, k) for k in ("exp", "cur", "chg")} <= set(update)
    for cols in (create, update):
        assert cols[:3] == ["seq", "key", "rds_property_id"] and cols[-1] == "predicted_error"


def test_marks_are_filled_in_and_rows_files_are_not_models() -> None:
    sql = mq.rows_sql("update", where="q.id = 'x'", predicted_error="'boom'")
    assert "q.id = 'x'" in sql and "'boom' AS predicted_error" in sql
    assert mq.RESTRICTION_MARK not in sql and mq.PREDICTED_ERROR_MARK not in sql
    assert not any(".rows" in v for v in view_names())
    assert {mq.CREATE_VIEW, mq.UPDATE_VIEW} <= set(view_names())
