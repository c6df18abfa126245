"""The ground truth: every count the plan quotes, counted from the generated rows.

This is plain Python over the rows, written from DESIGN.md's rules R1-R8 alone, so it is
an independent implementation of what the SQL models compute; the models' tests compare
their views to `ground_truth.json`.

Keys of `ground_truth.json` (all counts are over the whole generated data set):

- `scale`, `seed`, `now`, `chunk_size`, `key_type` (int, uuid, text: R9, the same
  scenario keyed on that type, see `propsync.generate.keys`): the inputs; `now` is the
  instant every relative date was computed from (ISO 8601, UTC). `truth_from`: "rows"
  (this module) or "construction" (`propsync.generate.construction`, the bulk of large
  scenarios).
- `properties_total`, `companies`: rows written to `properties` / `companies`.
- `active_properties`: R1, status = 'ACTIVE' and deleted_at IS NULL.
- `inactive_properties`: not ACTIVE by status and not soft-deleted.
- `soft_deleted_properties`: deleted_at set (any status);
  `soft_deleted_with_active_status`: of those, status = 'ACTIVE' (not syncable, R1).
- `properties_to_create`: R5, ACTIVE with no non-deleted record whose
  snappt_property_id__c is exactly the RDS id as text.
  `properties_to_create_with_features`: of those, any expected flag (R4) TRUE.
  `properties_to_create_recent`: of those, created_at >= now - 30 days;
  `properties_to_create_old`: created_at < now - 365 days.
- `properties_missing_from_sf`: create queue members with a valid sfdc_id (the plan's
  widget 5 and Step 5.5 query 5).
- `properties_to_update`: R6 queue, non-deleted records whose snappt_property_id__c is
  exactly an RDS id (any status). `records_matched_to_inactive_properties`: of those,
  the ones whose property is not ACTIVE. `update_records_with_changes`: of those, records
  where any synced field (fields.SYNCED) IS DISTINCT FROM its R4 expected value.
- `sfdc_id_groups`: normalised sfdc_ids with at least one ACTIVE property.
  `multi_property_groups`: of those, with 2+ ACTIVE members.
  `properties_sharing_sfdc_id`: ACTIVE properties in those groups.
  `group_size_histogram`: {"2": groups of 2 ACTIVE members, "3": ..., } (multi only).
- `feature_mismatches`: matched records (as in properties_to_update) where at least one of
  the four feature flags differs from its R4 expected value.
  `feature_mismatches_by_field`: per Salesforce feature field, records where it differs.
  `feature_mismatches_multi_property` / `feature_mismatches_single_property`: split by
  whether the record's expected is_multi_property is TRUE.
- `deleted_sf_records`: records with IsDeleted = TRUE (in the recycle bin; ignored).
  `deleted_records_only_copy`: deleted records whose ACTIVE property has no live record
  (so it is in the create queue).
- `orphans`: live records that name no RDS property, even after the canonicalisation below.
- `sf_duplicates`: R8 Salesforce-side duplicates. The external id is unique, so two live
  records can never carry the same text; a duplicate is a live record whose
  snappt_property_id__c is not exactly an RDS id but names one after trimming whitespace
  and leading zeros (e.g. '00123' beside the record '123'). It is not matched (not in the
  update queue), is reported, never touched.
- `id_mismatches`: matched records whose sf_property_id__c is non-blank and, normalised by
  R2, differs from their property's normalised sfdc_id; a property with no valid sfdc_id
  has no mismatch (RDS does not know its production id yet).
- `invalid_sfdc_ids`: properties whose sfdc_id holds something after trimming that R2
  rejects; `invalid_sfdc_ids_active`: of those, ACTIVE.
- `sfdc_id_15_char`, `sfdc_id_with_whitespace`, `sfdc_id_lowercase_suffix`,
  `sfdc_id_empty_string`, `sfdc_id_null`: properties whose raw sfdc_id is a valid 15-char
  id / a valid id with surrounding whitespace / a valid 18-char id with a non-canonical
  (lower-case) suffix / '' or blank / NULL.
- `case_variant_sfdc_ids`: distinct normalised ids whose 15-char body another one equals
  case-insensitively (different ids after R2; naive case-insensitive code merges them).
- `inactive_only_groups`: normalised ids held only by non-ACTIVE properties, with a live
  record expecting all flags FALSE and count 0.
- `features_null_enabled`: property_features rows with enabled NULL (meaning: off).
- `unsyncable`: [{rds_property_id, reason, field}] for every property in the create queue,
  and every matched record with changes, whose expected values break the field contract
  (REQUIRED_FIELD_MISSING for a NULL Name, STRING_TOO_LONG beyond a field's length in
  characters). `unsyncable_count` is its length.
- `park_kennedy`: {sfdc_id, active_properties, rds_property_ids, expected flags,
  sf_record_ids, records_disagreeing}.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from propsync.fields import FEATURE_FIELDS, SYNCED
from propsync.generate.ids import TRIMMED, normalize

PARK_KENNEDY = "a01Dn00000HHUanIAH"
FEATURES = ("identity_verification", "bank_linking", "payroll_linking", "income_insights")
# property_features.feature -> Salesforce field
FEATURE_TO_FIELD = dict(zip(FEATURES, FEATURE_FIELDS, strict=True))
_FEATURE_INDEX = {name: i for i, name in enumerate(FEATURES)}
_SYNCED_NAMES = tuple(f.name for f in SYNCED)

_COUNTS = (
    "properties_total",
    "active_properties",
    "inactive_properties",
    "soft_deleted_properties",
    "soft_deleted_with_active_status",
    "properties_to_create",
    "properties_to_create_with_features",
    "properties_to_create_recent",
    "properties_to_create_old",
    "properties_missing_from_sf",
    "properties_to_update",
    "records_matched_to_inactive_properties",
    "update_records_with_changes",
    "sfdc_id_groups",
    "multi_property_groups",
    "properties_sharing_sfdc_id",
    "feature_mismatches",
    "feature_mismatches_multi_property",
    "feature_mismatches_single_property",
    "sf_records_total",
    "deleted_sf_records",
    "deleted_records_only_copy",
    "orphans",
    "sf_duplicates",
    "id_mismatches",
    "invalid_sfdc_ids",
    "invalid_sfdc_ids_active",
    "sfdc_id_15_char",
    "sfdc_id_with_whitespace",
    "sfdc_id_lowercase_suffix",
    "sfdc_id_empty_string",
    "sfdc_id_null",
    "case_variant_sfdc_ids",
    "inactive_only_groups",
    "features_null_enabled",
)


def _canonical_external_id(text: str) -> str | None:
    digits = text.strip(TRIMMED)
    if not digits.isdigit():
        return None
    return str(int(digits))


def _expected(group: tuple[list[bool], int] | None, own: list[bool], active: bool):
    """R4 -> (four flags, active_property_count, is_multi_property)."""
    if group is not None:
        flags, size = group
        return list(flags), size, size > 1
    if active:
        return list(own), 1, False
    return [False] * 4, 0, False


def rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as dicts; timestamps become integer microseconds since the epoch (UTC), which
    compare exactly and convert ten times faster than datetime objects."""
    names = table.column_names
    columns = [
        (c.cast(pa.int64()) if pa.types.is_timestamp(c.type) else c).to_pylist()
        for c in table.columns
    ]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


_PROPERTY_COLUMNS = (
    "id", "name", "short_id", "company_id", "city", "state", "status", "sfdc_id",
    "created_at", "deleted_at",
)  # fmt: skip


def needed_columns(
    properties: pa.Table, features: pa.Table, records: pa.Table
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The same tables without the columns `count` never reads (less to ship to a worker)."""
    return properties.select(list(_PROPERTY_COLUMNS)), features, records


def count(
    properties: pa.Table, features: pa.Table, records: pa.Table, now: datetime
) -> dict[str, Any]:
    """Count one self-contained slice of the data (every sfdc_id group and every record of
    its properties inside it). Slices add up with `merge`."""
    props = {int(p["id"]): p for p in rows(properties.select(list(_PROPERTY_COLUMNS)))}
    out: dict[str, Any] = dict.fromkeys(_COUNTS, 0)
    out["properties_total"] = len(props)

    own: dict[int, list[bool]] = {pid: [False] * 4 for pid in props}
    for row in rows(features):
        if row["enabled"] is None:
            out["features_null_enabled"] += 1
        elif row["enabled"] and row["property_id"] in own:
            own[row["property_id"]][_FEATURE_INDEX[row["feature"]]] = True

    active: dict[int, bool] = {}
    norm: dict[int, str | None] = {}
    memo: dict[str | None, str | None] = {}
    members: dict[str, list[int]] = {}
    holders: dict[str, list[int]] = {}
    for pid, p in props.items():
        is_active = p["status"] == "ACTIVE" and p["deleted_at"] is None
        active[pid] = is_active
        out["active_properties"] += is_active
        if p["deleted_at"] is not None:
            out["soft_deleted_properties"] += 1
            out["soft_deleted_with_active_status"] += p["status"] == "ACTIVE"
        elif p["status"] != "ACTIVE":
            out["inactive_properties"] += 1
        raw = p["sfdc_id"]
        n = memo[raw] if raw in memo else memo.setdefault(raw, normalize(raw))
        norm[pid] = n
        if raw is None:
            out["sfdc_id_null"] += 1
        elif not raw.strip(TRIMMED):
            out["sfdc_id_empty_string"] += 1
        elif n is None:
            out["invalid_sfdc_ids"] += 1
            out["invalid_sfdc_ids_active"] += is_active
        else:
            stripped = raw.strip(TRIMMED)
            out["sfdc_id_15_char"] += len(stripped) == 15
            out["sfdc_id_with_whitespace"] += stripped != raw
            out["sfdc_id_lowercase_suffix"] += len(stripped) == 18 and stripped != n
        if n is not None:
            holders.setdefault(n, []).append(pid)
            if is_active:
                members.setdefault(n, []).append(pid)

    groups: dict[str, tuple[list[bool], int]] = {}
    histogram: Counter[str] = Counter()
    for n, ids in members.items():
        flags = [any(own[i][f] for i in ids) for f in range(4)]
        groups[n] = (flags, len(ids))
        if len(ids) > 1:
            out["multi_property_groups"] += 1
            out["properties_sharing_sfdc_id"] += len(ids)
            histogram[str(len(ids))] += 1
    out["sfdc_id_groups"] = len(groups)
    # The 15-char body is the id; the suffix only encodes its letter case.
    lowered = Counter(n[:15].lower() for n in holders)
    out["case_variant_sfdc_ids"] = sum(1 for n in holders if lowered[n[:15].lower()] > 1)

    def expected(pid: int):
        n = norm[pid]
        return _expected(groups.get(n) if n else None, own[pid], active[pid])

    live_by_text: dict[str, Mapping[str, Any]] = {}
    deleted: list[Mapping[str, Any]] = []
    for r in rows(records):
        out["sf_records_total"] += 1
        if r["IsDeleted"]:
            deleted.append(r)
            continue
        text = r["snappt_property_id__c"]
        if text in live_by_text:
            raise ValueError(f"two live records with snappt_property_id__c {text!r}")
        live_by_text[text] = r
    out["deleted_sf_records"] = len(deleted)

    unsyncable: list[dict[str, Any]] = []
    by_field: Counter[str] = Counter()
    pk: dict[str, Any] = {"sfdc_id": PARK_KENNEDY, "rds_property_ids": [], "sf_record_ids": []}
    pk["records_disagreeing"] = 0
    for text, rec in live_by_text.items():
        named = int(text) if text.isdigit() and str(int(text)) == text else None
        if named is None or named not in props:
            canon = _canonical_external_id(text)
            if canon is not None and int(canon) in props and canon in live_by_text:
                out["sf_duplicates"] += 1
            else:
                out["orphans"] += 1
            continue
        pid = named
        p = props[pid]
        out["properties_to_update"] += 1
        out["records_matched_to_inactive_properties"] += not active[pid]
        if norm[pid] is not None and norm[pid] not in groups:
            out["inactive_only_groups"] += 1
        flags, size, multi = expected(pid)
        values = _expected_values(p, flags, size, multi)
        # Python's == on these values is IS NOT DISTINCT FROM: None equals only None, and
        # the count compares by value (1.0 == 1).
        if any(rec[name] != values[name] for name in _SYNCED_NAMES):
            out["update_records_with_changes"] += 1
            unsyncable.extend(_contract_breaches(pid, values))
        differing = [name for name, v in zip(FEATURE_FIELDS, flags, strict=True) if rec[name] != v]
        if differing:
            out["feature_mismatches"] += 1
            by_field.update(differing)
            out[
                "feature_mismatches_multi_property"
                if multi
                else "feature_mismatches_single_property"
            ] += 1
        sf_id = rec["sf_property_id__c"]
        if (
            sf_id is not None
            and sf_id.strip(TRIMMED)
            and norm[pid] is not None
            and (memo[sf_id] if sf_id in memo else normalize(sf_id)) != norm[pid]
        ):
            out["id_mismatches"] += 1
        if sf_id == PARK_KENNEDY:
            pk["sf_record_ids"].append(rec["Id"])
            pk["records_disagreeing"] += bool(differing)

    create_queue = {pid for pid in props if active[pid] and str(pid) not in live_by_text}
    for gone in deleted:
        text = gone["snappt_property_id__c"]
        out["deleted_records_only_copy"] += text.isdigit() and int(text) in create_queue
    recent = _micros(now - timedelta(days=30))
    old = _micros(now - timedelta(days=365))
    for pid in create_queue:
        p = props[pid]
        flags, size, multi = expected(pid)
        out["properties_to_create"] += 1
        out["properties_to_create_with_features"] += any(flags)
        out["properties_to_create_recent"] += p["created_at"] >= recent
        out["properties_to_create_old"] += p["created_at"] < old
        out["properties_missing_from_sf"] += norm[pid] is not None
        unsyncable.extend(_contract_breaches(pid, _expected_values(p, flags, size, multi)))

    if PARK_KENNEDY in groups:
        flags, size = groups[PARK_KENNEDY]
        pk["active_properties"] = size
        pk["rds_property_ids"] = sorted(members[PARK_KENNEDY])
        pk["expected"] = dict(zip(FEATURE_FIELDS, flags, strict=True))
        out["park_kennedy"] = pk
    out["feature_mismatches_by_field"] = {name: by_field[name] for name in FEATURE_FIELDS}
    out["group_size_histogram"] = dict(histogram)
    out["unsyncable"] = sorted(unsyncable, key=lambda u: (u["rds_property_id"], u["field"]))
    return out


def _micros(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def _expected_values(p: Mapping[str, Any], flags: list[bool], size: int, multi: bool):
    """The synced fields a record for property `p` should hold (R4; display fields own)."""
    values: dict[str, Any] = {
        "Name": p["name"],
        "snappt_property_id__c": str(p["id"]),
        "Short_ID__c": p["short_id"],
        "Company_ID__c": None if p["company_id"] is None else str(p["company_id"]),
        "City__c": p["city"],
        "State__c": p["state"],
        "Active_Property_Count__c": size,
        "Is_Multi_Property__c": multi,
        "RDS_Created_At__c": p["created_at"],
    }
    values.update(zip(FEATURE_FIELDS, flags, strict=True))
    return values


def _contract_breaches(pid: int, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for field in SYNCED:
        value = values[field.name]
        if field.required and value is None:
            out.append(
                {"rds_property_id": pid, "reason": "REQUIRED_FIELD_MISSING", "field": field.name}
            )
        elif (
            field.type == "string"
            and value is not None
            and field.length is not None
            and len(value) > field.length
        ):
            out.append({"rds_property_id": pid, "reason": "STRING_TOO_LONG", "field": field.name})
    return out


def merge(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Add up the counts of disjoint, self-contained slices."""
    total: dict[str, Any] = dict.fromkeys(_COUNTS, 0)
    by_field: Counter[str] = Counter()
    histogram: Counter[str] = Counter()
    unsyncable: list[dict[str, Any]] = []
    for part in parts:
        for key in _COUNTS:
            total[key] += part[key]
        by_field.update(part["feature_mismatches_by_field"])
        histogram.update(part["group_size_histogram"])
        unsyncable.extend(part["unsyncable"])
        if "park_kennedy" in part:
            total["park_kennedy"] = part["park_kennedy"]
    total["feature_mismatches_by_field"] = {name: by_field[name] for name in FEATURE_FIELDS}
    total["group_size_histogram"] = {k: histogram[k] for k in sorted(histogram, key=int)}
    total["unsyncable"] = sorted(unsyncable, key=lambda u: (u["rds_property_id"], u["field"]))
    total["unsyncable_count"] = len(unsyncable)
    return total
