"""The checks of Step 4.4's validation checklist. Each takes the `Evidence` gathered
once (the pilot's members, runs, audit rows, baseline, the views after a refresh, and
the records read back from Salesforce) and returns an `Item` whose offending rows make it
fail: zero rows = pass.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from propsync.fields import BY_NAME, ENGINE_TABLE, FEATURE_FIELDS
from propsync.models.queues import UPDATE_FIELDS
from propsync.rollout.report import Item
from propsync.state import AuditEntry, BaselineRecord, PilotMember, Preflight, RunRecord

PARK_KENNEDY = "a01Dn00000HHUanIAH"  # the plan's test case (Step 4.3, test case 1)
_FIELD = {f.api_name: f for f in UPDATE_FIELDS}
FEATURE_COLUMNS = {_FIELD[name].current: _FIELD[name] for name in FEATURE_FIELDS}


@dataclass
class Evidence:
    """Everything the checks read, gathered once by `pilot_validate.gather`."""

    name: str
    members: list[PilotMember]
    preflight: Preflight | None
    runs: list[RunRecord]
    audit: list[AuditEntry]
    baseline: list[BaselineRecord]
    update_rows: dict[str, dict[str, Any]]  # properties_to_update by snappt_property_id_c
    live: dict[str, list[dict[str, Any]]]  # live records per external id (read from the org)
    read_back: dict[str, dict[str, Any]]  # records the audit says were written, by Id
    outside: list[dict[str, Any]]  # records changed by the integration user, not the pilot's
    integration_user: str | None
    duplicates: list[dict[str, Any]]  # live records sharing a normalised external id
    duplicates_before: int  # such groups the pilot did not make (R8, sync_exceptions)
    now: dt.datetime
    workflow_window: dt.timedelta
    max_duration: dt.timedelta
    notes: dict[str, str] = field(default_factory=dict)

    def keys(self, queue: str) -> list[str]:
        return sorted({m.key for m in self.members if m.queue == queue and m.key is not None})

    @property
    def all_keys(self) -> list[str]:
        return sorted({m.key for m in self.members if m.key is not None})

    def reason_of(self, key: str) -> str | None:
        return next((m.pilot_reason for m in self.members if m.key == key), None)


def _changed_fields(row: dict[str, Any], fields: list[Any]) -> list[dict[str, Any]]:
    return [
        {"field": f.api_name, "expected": row[f.expected], "salesforce": row[f.current]}
        for f in fields
        if row.get(f.changed)
    ]


# --- Sync A ---------------------------------------------------------------------------


def created_once(ev: Evidence) -> Item:
    creates = Counter(
        a.snappt_property_id_c
        for a in ev.audit
        if a.sync_operation == "CREATE" and a.sync_status == "SUCCESS" and a.created
    )
    bad = []
    for key in ev.keys("create"):
        live = len(ev.live.get(key, []))
        if creates[key] != 1 or live != 1:
            bad.append({"snappt_property_id_c": key, "audited_creates": creates[key],
                        "live_records": live, "stratum": ev.reason_of(key)})  # fmt: skip
    n = len(ev.keys("create"))
    return Item("All create-set properties created, once each", not bad,
                measured=f"{n - len(bad)} of {n}", threshold=f"{n} of {n}", offending=bad,
                key="created_once")  # fmt: skip


def no_duplicates(ev: Evidence) -> Item:
    before = (f" {ev.duplicates_before} pilot propert(ies) had Salesforce-side duplicates"
              " before the pilot (R8: reported in sync_exceptions, never touched)."
              if ev.duplicates_before else "")  # fmt: skip
    return Item("No duplicate records created", not ev.duplicates, measured=len(ev.duplicates),
                threshold="0 records", offending=ev.duplicates, key="no_duplicates",
                detail="Live records whose external ids name the same pilot property (after"
                " trimming whitespace and leading zeros), one of them created since the"
                " pilot began." + before)  # fmt: skip


def only_create_set_created(ev: Evidence) -> Item:
    create_keys = set(ev.keys("create"))
    bad = [
        {"run_id": a.run_id, "operation": a.sync_operation, "key": a.snappt_property_id_c,
         "salesforce_id": a.salesforce_id}
        for a in ev.audit
        if a.created and (a.sync_operation != "CREATE" or a.snappt_property_id_c not in create_keys)
    ]  # fmt: skip
    return Item("No records inadvertently created", not bad, measured=len(bad),
                threshold="0 records", offending=bad, key="no_stray_creates")  # fmt: skip


def field_values(ev: Evidence) -> Item:
    bad = []
    for key in ev.all_keys:
        row = ev.update_rows.get(key)
        if row is None:
            bad.append({"snappt_property_id_c": key, "field": None, "expected": None,
                        "salesforce": "no matched live record"})  # fmt: skip
            continue
        for diff in _changed_fields(row, list(UPDATE_FIELDS)):
            bad.append({"snappt_property_id_c": key, **diff})
    n = len(ev.all_keys)
    keys_bad = len({b["snappt_property_id_c"] for b in bad})
    return Item("All field values match the source (every pilot record)", not bad,
                measured=f"{n - keys_bad} of {n} records", threshold=f"{n} of {n}",
                offending=bad, key="field_values")  # fmt: skip


def feature_flags(ev: Evidence) -> Item:
    bad = []
    for key in ev.all_keys:
        row = ev.update_rows.get(key)
        if row is not None:
            for diff in _changed_fields(row, list(FEATURE_COLUMNS.values())):
                bad.append({"snappt_property_id_c": key, **diff})
    checked = sum(1 for k in ev.all_keys if k in ev.update_rows) * len(FEATURE_COLUMNS)
    return Item("Feature flags match RDS (100%)", not bad,
                measured=f"{checked - len(bad)} of {checked} flags", threshold="100%",
                offending=bad, key="feature_flags")  # fmt: skip


def workflow_filled(ev: Evidence) -> Item:
    """A filled record's fill time is bounded by its LastModifiedDate (the workflow's
    write, unless someone changed the record after it)."""
    window = ev.workflow_window
    bad, delays = [], []
    for key in ev.keys("create"):
        for rec in ev.live.get(key, []):
            created = _when(rec.get("CreatedDate"))
            if rec.get("sf_property_id__c"):
                filled = _when(rec.get("LastModifiedDate")) or created
                delay = (filled - created) if filled and created else dt.timedelta(0)
                delays.append(delay)
                if delay > window:
                    bad.append({"snappt_property_id_c": key, "Id": rec["Id"],
                                "filled_after_s": round(delay.total_seconds(), 1),
                                "reason": "filled after the window"})  # fmt: skip
            else:
                age = ev.now - created if created else None
                left = window - age if age is not None else None
                reason = ("not filled yet; "
                          f"{max(left.total_seconds(), 0):.0f} s of the window left"
                          if left is not None and left.total_seconds() > 0
                          else "not filled within the window")  # fmt: skip
                bad.append({"snappt_property_id_c": key, "Id": rec["Id"],
                            "filled_after_s": None, "reason": reason})  # fmt: skip
    slowest = max(delays, default=None)
    measured = f"slowest <= {slowest.total_seconds():.1f} s" if slowest else "none filled"
    return Item("Salesforce workflow filled sf_property_id__c", not bad, measured=measured,
                threshold=f"within {window}", offending=bad, key="workflow")  # fmt: skip


# --- Sync B ---------------------------------------------------------------------------


def multi_property(ev: Evidence) -> Item:
    bad, checked = [], 0
    fields = [_FIELD["Active_Property_Count__c"], _FIELD["Is_Multi_Property__c"]]
    for key in ev.all_keys:
        row = ev.update_rows.get(key)
        if row is None or not (row.get("is_multi_property") or row.get("is_multi_property_c")):
            continue
        checked += 1
        for diff in _changed_fields(row, fields):
            bad.append({"snappt_property_id_c": key, "sfdc_id": row.get("sfdc_id"), **diff})
    return Item("Multi-property cases aggregated correctly", not bad,
                measured=f"{checked} multi-property record(s) checked",
                threshold="count and flag as expected", offending=bad,
                key="multi_property")  # fmt: skip


def park_kennedy(ev: Evidence) -> Item:
    rows = [(k, r) for k, r in ev.update_rows.items() if k in set(ev.all_keys)
            and PARK_KENNEDY in (r.get("sfdc_id"), r.get("sf_property_id_c"))]  # fmt: skip
    if not rows:
        return Item("Park Kennedy case correct (if in pilot)", True, measured="not in the pilot",
                    threshold="as expected", key="park_kennedy")  # fmt: skip
    bad = []
    names = ["Active_Property_Count__c", "IDV_Enabled__c", "Bank_Linking_Enabled__c",
             "Is_Multi_Property__c"]  # fmt: skip
    for key, row in rows:
        for diff in _changed_fields(row, [_FIELD[n] for n in names]):
            bad.append({"snappt_property_id_c": key, "Id": row["id"], **diff})
    first = rows[0][1]
    measured = (f"{len(rows)} record(s): count {first['active_property_count_c']},"
                f" IDV {first['idv_enabled_c']}, bank {first['bank_linking_enabled_c']},"
                f" multi {first['is_multi_property_c']}")  # fmt: skip
    return Item("Park Kennedy case correct (if in pilot)", not bad, measured=measured,
                threshold="the group's active count and flags", offending=bad,
                key="park_kennedy")  # fmt: skip


def mismatches_resolved(ev: Evidence) -> Item:
    if ev.preflight is None or not ev.baseline:
        return Item("Feature mismatches resolved (FALSE -> TRUE)", False,
                    measured="no baseline", threshold="every flag flipped",
                    offending=[{"reason": "no baseline captured: run `propsync pilot run`"}],
                    key="mismatches")  # fmt: skip
    bad, flips = [], 0
    for base in ev.baseline:
        key = base.snappt_property_id_c or ""
        row = ev.update_rows.get(key)
        for column, f in FEATURE_COLUMNS.items():
            expected = row.get(f.expected) if row is not None else None
            if base.field_values.get(column) is False and expected is True:
                flips += 1
                now_value = row.get(f.current) if row is not None else None
                if now_value is not True:
                    bad.append({"snappt_property_id_c": key, "field": f.api_name,
                                "baseline": False, "expected": True, "salesforce": now_value,
                                "stratum": ev.reason_of(key)})  # fmt: skip
    return Item("Feature mismatches resolved (FALSE -> TRUE)", not bad,
                measured=f"{flips - len(bad)} of {flips} flag(s) resolved",
                threshold=f"{flips} of {flips}", offending=bad, key="mismatches")  # fmt: skip


# --- overall --------------------------------------------------------------------------


def syncs_ran(ev: Evidence) -> Item:
    kinds = {r.sync for r in ev.runs}
    missing = [{"sync": s, "reason": "no run of the pilot since its pre-flight"}
               for s in ("create", "update") if s not in kinds]  # fmt: skip
    return Item("Sync A and Sync B ran on the pilot", not missing,
                measured=", ".join(f"{r.sync} {r.status}" for r in ev.runs) or "no runs",
                threshold="both", offending=missing, key="syncs_ran")  # fmt: skip


def no_outside_impact(ev: Evidence) -> Item:
    if ev.integration_user is None:
        return Item("No impact on other records", False, measured="integration user unknown",
                    threshold="0 records", key="no_outside_impact",
                    offending=[{"reason": "set [sync] integration_user_id"}])  # fmt: skip
    return Item("No impact on other records (only pilot records changed)", not ev.outside,
                measured=len(ev.outside), threshold="0 records", offending=ev.outside,
                detail=f"Records outside the pilot last modified by the integration user"
                f" ({ev.integration_user}) since the pilot began.",
                key="no_outside_impact")  # fmt: skip


def error_rate(ev: Evidence) -> Item:
    failed = [{"run_id": a.run_id, "operation": a.sync_operation, "key": a.snappt_property_id_c,
               "error_code": a.error_code, "error_message": a.error_message}
              for a in ev.audit if a.sync_status == "FAILED"]  # fmt: skip
    broken = [{"run_id": r.run_id, "operation": r.sync, "key": None, "error_code": r.status,
               "error_message": r.error} for r in ev.runs
              if r.status not in ("SUCCEEDED", "PARTIAL")]  # fmt: skip
    total = len(ev.audit)
    rate = 100.0 * len(failed) / total if total else 0.0
    return Item("Error rate 0%", not failed and not broken, measured=f"{rate:.1f}%"
                f" ({len(failed)} of {total} records)", threshold="0%",
                offending=failed + broken, key="error_rate")  # fmt: skip


def duration(ev: Evidence) -> Item:
    limit = ev.max_duration.total_seconds()
    slow = [{"run_id": r.run_id, "sync": r.sync, "duration_s": r.duration_s}
            for r in ev.runs if r.duration_s is None or r.duration_s > limit]  # fmt: skip
    longest = max((r.duration_s or 0.0 for r in ev.runs), default=0.0)
    return Item("Syncs completed in reasonable time", not slow and bool(ev.runs),
                measured=f"longest {longest:.1f} s", threshold=f"< {limit:.0f} s each",
                offending=slow, key="duration")  # fmt: skip


def read_back(ev: Evidence) -> Item:
    bad, checked = [], 0
    for a in ev.audit:
        if a.sync_status != "SUCCESS" or not a.salesforce_id:
            continue
        checked += 1
        record = ev.read_back.get(a.salesforce_id)
        if record is None:
            bad.append({"Id": a.salesforce_id, "field": None, "written": None,
                        "salesforce": "not found (deleted?)", "run_id": a.run_id})  # fmt: skip
            continue
        for name, written in (a.after_values or {}).items():
            if not same_value(name, written, record.get(name)):
                bad.append({"Id": a.salesforce_id, "field": name, "written": written,
                            "salesforce": record.get(name), "run_id": a.run_id})  # fmt: skip
    return Item("Read-back: every written record holds what the audit log says", not bad,
                measured=f"{checked} record(s) read back", threshold="all equal",
                offending=bad, key="read_back",
                detail="Each record the audit log records as written is read from Salesforce"
                " by Id and compared field by field with its after image.")  # fmt: skip


CHECKS = {
    "Sync A (create)": (created_once, no_duplicates, field_values, feature_flags,
                        workflow_filled),
    "Sync B (update)": (only_create_set_created, multi_property, park_kennedy,
                        mismatches_resolved),
    "Overall": (syncs_ran, no_outside_impact, error_rate, duration, read_back),
}  # fmt: skip


# --- values -------------------------------------------------------------------------

_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")


def _when(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, str) and _TS.match(value):
        text = value.replace("Z", "+00:00")
        if re.search(r"[+-]\d{4}$", text):
            text = text[:-2] + ":" + text[-2:]
        return dt.datetime.fromisoformat(text)
    return None


def same_value(name: str, written: Any, now: Any) -> bool:
    """A written value and what Salesforce holds, compared as Salesforce types them
    (a datetime by instant, a number by value, an empty text as NULL)."""
    kind = BY_NAME[name].type if name in BY_NAME else "string"
    if kind == "datetime":
        return _when(written) == _when(now)
    if kind == "double":
        if written is None or now is None:
            return written is None and now is None
        return float(written) == float(now)
    if kind == "string":
        return (written or None) == (now or None)
    return bool(written) == bool(now) if kind == "boolean" else written == now


def engine_duplicates(
    engine: Any, keys: list[str], since: dt.datetime | None
) -> tuple[list[dict[str, Any]], int]:
    """Live records whose external id, trimmed of whitespace and leading zeros, names
    a pilot property more than once, where one of them was created at or after `since`
    (the pilot's start); and how many such groups existed before (Salesforce-side
    duplicates of R8, reported by sync_exceptions, not made by the pilot)."""
    if not keys:
        return [], 0
    marks = ", ".join("?" for _ in keys)
    groups = engine.dicts(
        f"""
        WITH live AS (
          SELECT id, snappt_property_id_c, created_date,
            ltrim(trim(snappt_property_id_c), '0') AS canonical
          FROM {ENGINE_TABLE} WHERE COALESCE(is_deleted, FALSE) = FALSE
        )
        SELECT canonical AS property, count(*) AS live_records,
          string_agg(id || '=' || snappt_property_id_c, ', ' ORDER BY id) AS records,
          max(created_date) AS newest_created
        FROM live WHERE canonical IN ({marks})
        GROUP BY canonical HAVING count(*) > 1 ORDER BY canonical
        """,
        keys,
    )
    made = [g for g in groups if since is None or (g["newest_created"] or since) >= since]
    return made, len(groups) - len(made)
