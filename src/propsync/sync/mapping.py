"""Which queue column feeds which Salesforce field, and the SQL that turns a queue view
into rows to write.

The queues are the models' views `properties_to_create` (Sync A, R5) and
`properties_to_update` (Sync B, R6). Everything the plan counts and the writer sends
comes from the SQL built here, so the dry run and the run read the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from propsync.models import queues as mq
from propsync.salesforce import fields as sf

Queue = Literal["create", "update"]
QUEUES: tuple[Queue, ...] = ("create", "update")

CREATE_VIEW = mq.CREATE_VIEW
UPDATE_VIEW = mq.UPDATE_VIEW

# Salesforce API name -> queue columns, from the models' own contract
# (propsync.models.queues), so the sync reads exactly what the views define.
EXPECTED_COLUMN: dict[str, str] = dict(mq.CREATE_COLUMNS)
CHANGED_COLUMN: dict[str, str] = {f.api_name: f.changed for f in mq.UPDATE_FIELDS}
CURRENT_COLUMN: dict[str, str] = {f.api_name: f.current for f in mq.UPDATE_FIELDS}

# Fields Sync B may change. The external id is the match key, so it never changes;
# sf_property_id__c is not synced at all (R7).
UPDATE_FIELDS: tuple[str, ...] = tuple(f.api_name for f in mq.UPDATE_FIELDS)
CREATE_FIELDS: tuple[str, ...] = tuple(mq.CREATE_COLUMNS)


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


def col(api_name: str, kind: str) -> str:
    """Name of a derived column in the queue SQL: exp__Name, cur__Name, chg__Name."""
    return f"{kind}__{api_name}"


def _expected_expr(api_name: str, alias: str = "q") -> str:
    source = f"{alias}.{EXPECTED_COLUMN[api_name]}"
    field = sf.BY_NAME[api_name]
    if field.type == "string":
        return f"CAST({source} AS VARCHAR)"
    if field.engine_type == "INTEGER":
        return f"CAST({source} AS BIGINT)"
    return source


def _current_expr(api_name: str, alias: str = "q") -> str:
    return f"{alias}.{CURRENT_COLUMN[api_name]}"


def _changed_expr(api_name: str, alias: str = "q") -> str:
    # The view's own per-field flag, so the plan and has_changes_since_last_sync agree.
    return f"{alias}.{CHANGED_COLUMN[api_name]}"


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


def create_sql(rules: dict[str, FieldRule], where: str = "TRUE") -> str:
    """Sync A rows: seq, key (external id), rds_property_id, exp__<field> per synced
    field, predicted_error ('' when the describe predicts success). `seq` numbers the
    rows so that records of one Salesforce parent land in the same batch (less lock
    contention)."""
    exps = [f"{_expected_expr(name)} AS {col(name, 'exp')}" for name in CREATE_FIELDS]
    checks: list[str] = []
    for name in CREATE_FIELDS:
        checks += _violation(name, _expected_expr(name), rules[name], on_create=True)
    predicted = f"coalesce(concat_ws('; ', {', '.join(checks)}), '')" if checks else "''"
    return f"""
SELECT
  row_number() OVER (ORDER BY q.sfdc_id NULLS LAST, q.rds_property_id) AS seq,
  CAST(q.rds_property_id AS VARCHAR) AS key,
  CAST(q.rds_property_id AS VARCHAR) AS rds_property_id,
  CAST(NULL AS VARCHAR) AS salesforce_id,
  {", ".join(exps)},
  {predicted} AS predicted_error
FROM {CREATE_VIEW} AS q
WHERE {where}
"""


def update_sql(rules: dict[str, FieldRule], where: str = "TRUE") -> str:
    """Sync B rows with a change: seq (ordered by parent, then Id), key (Salesforce Id),
    rds_property_id, salesforce_id,
    and per field exp__/cur__/chg__ (expected, current, changed), predicted_error for the
    changed fields only, last_modified_by_id / last_modified_date (for drift)."""
    parts: list[str] = []
    checks: list[str] = []
    for name in UPDATE_FIELDS:
        exp, cur, chg = _expected_expr(name), _current_expr(name), _changed_expr(name)
        parts += [
            f"{exp} AS {col(name, 'exp')}",
            f"{cur} AS {col(name, 'cur')}",
            f"{chg} AS {col(name, 'chg')}",
        ]
        checks += [
            f"CASE WHEN {chg} THEN {arm} END"
            for arm in _violation(name, exp, rules[name], on_create=False)
        ]
    predicted = f"coalesce(concat_ws('; ', {', '.join(checks)}), '')" if checks else "''"
    return f"""
SELECT
  row_number() OVER (ORDER BY q.sf_property_id_c NULLS LAST, q.id) AS seq,
  q.id AS key,
  CAST(q.snappt_property_id_c AS VARCHAR) AS rds_property_id,
  q.id AS salesforce_id,
  q.sf_property_id_c AS sf_property_id_c,
  q.last_modified_by_id AS last_modified_by_id,
  q.last_modified_date AS last_modified_date,
  {", ".join(parts)},
  {predicted} AS predicted_error
FROM {UPDATE_VIEW} AS q
WHERE q.{mq.HAS_CHANGES_COLUMN} AND ({where})
"""
