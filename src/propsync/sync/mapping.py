"""Which Salesforce fields the sync writes, what the org's describe says they accept,
and the queue rows it sends.

The queues are the models' views `properties_to_create` (Sync A, R5) and
`properties_to_update` (Sync B, R6); the rows to send are the models' row queries
(`propsync.models.queues.rows_sql`, files under `models/sql/queues/`). What is derived
from the describe lives here: the field rules and the SQL predicting the error a value
would get. Everything the plan counts and the writer sends comes from `queue_sql`, so
the dry run and the run read the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from propsync import fields as sf
from propsync.models import queues as mq
from propsync.models.queues import QUEUES, Queue, col

__all__ = [
    "CREATE_FIELDS",
    "CREATE_VIEW",
    "QUEUES",
    "UPDATE_FIELDS",
    "UPDATE_VIEW",
    "FieldRule",
    "Queue",
    "col",
    "mq",
    "predicted_error_sql",
    "queue_sql",
    "rules_from_describe",
]

CREATE_VIEW = mq.CREATE_VIEW
UPDATE_VIEW = mq.UPDATE_VIEW

# Fields Sync B may change. The external id is the match key, so it never changes;
# sf_property_id__c is not synced at all (R7).
UPDATE_FIELDS: tuple[str, ...] = tuple(f.api_name for f in mq.UPDATE_FIELDS)
CREATE_FIELDS: tuple[str, ...] = tuple(mq.CREATE_COLUMNS)
_CHANGED_COLUMN: dict[str, str] = {f.api_name: f.changed for f in mq.UPDATE_FIELDS}


@dataclass(frozen=True)
class FieldRule:
    """What the object's describe says a field accepts."""

    name: str
    type: str
    length: int | None
    required: bool  # not nillable on create (and cannot be blanked on update)

    @classmethod
    def from_describe(cls, d: dict[str, Any]) -> FieldRule:
        ftype = str(d.get("type", "string"))
        length = d.get("length") if ftype in ("string", "textarea", "id", "reference") else None
        required = (
            not d.get("nillable", True)
            and not d.get("defaultedOnCreate", False)
            and ftype != "boolean"  # a checkbox is never null
        )
        return cls(str(d["name"]), ftype, int(length) if length else None, bool(required))


def rules_from_describe(describe: dict[str, Any] | None) -> dict[str, FieldRule]:
    """Field rules from a describe result; the static field contract when there is none."""
    rules = {
        f.name: FieldRule(f.name, f.type, f.length if f.type == "string" else None, f.required)
        for f in sf.FIELDS
    }
    for d in (describe or {}).get("fields", []):
        rule = FieldRule.from_describe(d)
        rules[rule.name] = rule
    return rules


def _violation(api_name: str, expr: str, rule: FieldRule, *, on_create: bool) -> list[str]:
    """SQL CASE arms naming the Salesforce error a value would get, NULL when fine."""
    arms = []
    if rule.required:
        # Salesforce stores an empty text value as NULL, so '' is missing too.
        blank = f"{expr} IS NULL OR CAST({expr} AS VARCHAR) = ''"
        if on_create or api_name != sf.EXTERNAL_ID:
            arms.append(
                f"CASE WHEN {blank} THEN '{api_name}: REQUIRED_FIELD_MISSING "
                "(required field is empty)' END"
            )
    if rule.length is not None and sf.BY_NAME[api_name].type == "string":
        arms.append(
            f"CASE WHEN length({expr}) > {rule.length} THEN '{api_name}: STRING_TOO_LONG ('"
            f" || CAST(length({expr}) AS VARCHAR) || ' > {rule.length} characters)' END"
        )
    return arms


def predicted_error_sql(queue: Queue, rules: dict[str, FieldRule]) -> str:
    """The SQL expression (over the queue view as `q`) of the errors the describe says
    Salesforce would return for a row, '; '-joined, '' when none. Sync B checks only the
    fields it changes."""
    checks: list[str] = []
    if queue == "create":
        for name in CREATE_FIELDS:
            checks += _violation(name, mq.expected_expr(name), rules[name], on_create=True)
    else:
        for name in UPDATE_FIELDS:
            exp, chg = mq.expected_expr(name), f"q.{_CHANGED_COLUMN[name]}"
            checks += [
                f"CASE WHEN {chg} THEN {arm} END"
                for arm in _violation(name, exp, rules[name], on_create=False)
            ]
    return f"coalesce(concat_ws('; ', {', '.join(checks)}), '')" if checks else "''"


def queue_sql(queue: Queue, rules: dict[str, FieldRule], where: str = "TRUE") -> str:
    """A queue's rows to send (see `propsync.models.queues.rows_sql` for the columns),
    restricted by `where`, with the describe's predicted error per row."""
    return mq.rows_sql(queue, where=where, predicted_error=predicted_error_sql(queue, rules))
