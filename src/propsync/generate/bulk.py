"""The bulk of the scenario, one chunk at a time, vectorised with numpy and pyarrow.

A chunk is self-contained: every sfdc_id group and every Salesforce record of its
properties lies inside it, so chunks can be written and counted one after another in
bounded memory. What a chunk holds is fixed by its `ChunkSpec` (how many properties of
each kind); the random parts (names, dates, which flags) come from a generator seeded
by (seed, chunk index), so the output is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from propsync.fields import FEATURE_FIELDS
from propsync.generate import schema
from propsync.generate.ids import codes_to_strings, np_digits, np_mint, np_to18
from propsync.generate.special import LEGACY_SYNC_USER
from propsync.generate.truth import FEATURES

# Group kinds: U all members agree (no flag mismatch, but the old records miss the
# count); H one member has the features, the others' records miss them (size-1
# mismatches); CF / CN all agree, with / without features, and the last member has no
# record yet (it is in the create queue).
GROUP_KINDS = ("U", "H", "CF", "CN")
STATUSES = np.array(["ACTIVE", "INACTIVE", "CHURNED"])
BULK_RECORD_PREFIX = "a0BDn"
# Bulk sfdc_ids: 'a01Dn0001' + 6 base-36 digits (upper case), so no two bulk ids differ
# only in letter case and none equals an edge-case id ('a01Dn00000...').
_SFDC_PREFIX = np.frombuffer(b"a01Dn0001", dtype=np.uint8)
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_FEATURE_P = np.array([0.35, 0.30, 0.15, 0.10])
_DAY = 86_400

_ADJECTIVES = np.array(
    ["Maple", "Cedar", "Harbor", "Summit", "River", "Oak", "Willow", "Granite", "Sunset",
     "Lakeview", "Château", "Café", "Niño", "Alder", "Aspen", "Birch", "Cypress", "Elm"]
)  # fmt: skip
_NOUNS = np.array(
    ["Apartments", "Lofts", "Commons", "Residences", "Flats", "Terrace", "Gardens",
     "Place", "Village", "Heights", "Court", "Crossing", "Pointe", "Station", "Square"]
)  # fmt: skip
_STREETS = np.array(
    ["Main St", "Oak Ave", "Pine Rd", "Elm St", "Lake Dr", "Hill Blvd", "Park Ln", "2nd Ave"]
)
_CITIES = np.array(
    [("Austin", "TX"), ("Denver", "CO"), ("Seattle", "WA"), ("Atlanta", "GA"),
     ("Phoenix", "AZ"), ("San José", "CA"), ("Boston", "MA"), ("Miami", "FL"),
     ("Montréal", "QC"), ("Chicago", "IL"), ("Portland", "OR"), ("Coeur d'Alene", "ID")]
)  # fmt: skip


@dataclass(frozen=True)
class ChunkSpec:
    """How many properties of each kind one chunk holds."""

    index: int
    synced: int  # ACTIVE, one record that agrees with it
    stale: int  # ACTIVE, one record with one feature flag wrong
    create_feat: int  # ACTIVE, no record, features on
    create_plain: int  # ACTIVE, no record, no features
    inactive: int  # not ACTIVE or soft-deleted, no record
    groups: tuple[tuple[str, int, int], ...]  # (kind, size, how many groups)

    def property_count(self) -> int:
        n = self.synced + self.stale + self.create_feat + self.create_plain + self.inactive
        for kind, size, count in self.groups:
            n += size * count + (_extra_members(count) if kind == "U" else 0)
        return n


def _extra_members(groups: int) -> int:
    # every 4th agreeing group also has an INACTIVE member with every feature on
    return (groups + 3) // 4


class _Parts:
    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {
            k: [] for k in ("own", "rec", "has_rec", "count", "gkey", "status", "deleted")
        }

    def add(self, own, *, rec=None, has_rec=None, count=None, gkey, status=None, deleted=None):
        n = len(own)
        self.cols["own"].append(own)
        self.cols["rec"].append(own.copy() if rec is None else rec)
        self.cols["has_rec"].append(np.zeros(n, bool) if has_rec is None else has_rec)
        self.cols["count"].append(np.ones(n) if count is None else count)
        self.cols["gkey"].append(gkey)
        self.cols["status"].append(np.zeros(n, np.int8) if status is None else status)
        self.cols["deleted"].append(np.zeros(n, bool) if deleted is None else deleted)

    def concat(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.cols.items()}


def build_chunk(
    spec: ChunkSpec, *, first_id: int, seed: int, now: datetime, companies: int
) -> tuple[pa.Table, pa.Table, pa.Table, dict[str, np.ndarray]]:
    """(properties, property_features, salesforce records, facts) of one chunk. `facts`
    are the per-property arrays the rows were made from (for `construction.count`)."""
    rng = np.random.default_rng([seed, spec.index, 7919])
    next_key = [spec.index * (1 << 24) + 1]

    def keys(n: int) -> np.ndarray:
        out = np.arange(next_key[0], next_key[0] + n, dtype=np.int64)
        next_key[0] += n
        return out

    def flags(n: int, *, nonzero: bool = False) -> np.ndarray:
        f = rng.random((n, 4)) < _FEATURE_P
        if nonzero:
            empty = ~f.any(axis=1)
            f[np.flatnonzero(empty), rng.integers(0, 4, empty.sum())] = True
        return f

    def some_keys(n: int) -> np.ndarray:
        return np.where(rng.random(n) < 0.5, keys(n), -1)

    parts = _Parts()
    n = spec.synced
    parts.add(flags(n), has_rec=np.ones(n, bool), gkey=keys(n))
    n = spec.stale
    own = flags(n)
    force = (rng.random(n) < 0.85) & ~own.any(axis=1)
    own[np.flatnonzero(force), rng.integers(0, 4, force.sum())] = True
    rec = own.copy()
    has = own.any(axis=1)
    # a flag on in RDS that the old record never got (the plan's FALSE -> TRUE case) ...
    cleared = np.argmax(rng.random((n, 4)) * own, axis=1)
    rec[np.flatnonzero(has), cleared[has]] = False
    # ... or, for a property without features, a flag left on in Salesforce
    rec[np.flatnonzero(~has), rng.integers(0, 4, (~has).sum())] = True
    parts.add(own, rec=rec, has_rec=np.ones(n, bool), gkey=keys(n))
    parts.add(flags(spec.create_feat, nonzero=True), gkey=some_keys(spec.create_feat))
    parts.add(np.zeros((spec.create_plain, 4), bool), gkey=some_keys(spec.create_plain))
    n = spec.inactive
    status = rng.choice(np.array([0, 1, 2], np.int8), n, p=[0.15, 0.6, 0.25])
    deleted = (status == 0) | ((status == 1) & (rng.random(n) < 0.3))
    parts.add(flags(n), gkey=some_keys(n), status=status, deleted=deleted)
    for kind, size, count in spec.groups:
        _add_groups(parts, rng, kind, size, count, keys(count), flags)

    cols = parts.concat()
    total = len(cols["gkey"])
    if total != spec.property_count():
        raise AssertionError(f"chunk {spec.index}: built {total} != {spec.property_count()}")
    order = rng.permutation(total)
    cols = {k: v[order] for k, v in cols.items()}
    ids = np.arange(first_id, first_id + total, dtype=np.int64)
    props, created = _properties(cols, ids, rng, now, companies)
    feats = _features(cols["own"], ids, created, rng, now)
    recs, binned = _records(cols, ids, props, created, rng, now, spec.index)
    cols["created"] = created
    cols["binned_records"] = np.array([binned])
    return props, feats, recs, cols


def _add_groups(parts, rng, kind, size, count, gkeys, flags) -> None:
    member = np.tile(np.arange(size), count)
    gkey = np.repeat(gkeys, size)
    n = size * count
    if kind == "U":
        own = np.repeat(flags(count), size, axis=0)
        parts.add(own, has_rec=np.ones(n, bool), gkey=gkey, count=_count_or_null(rng, n))
        extra = gkeys[::4]
        parts.add(np.ones((len(extra), 4), bool), gkey=extra, status=np.ones(len(extra), np.int8))
        return
    if kind == "H":
        own = np.repeat(flags(count, nonzero=True), size, axis=0) & (member == 0)[:, None]
        parts.add(own, has_rec=np.ones(n, bool), gkey=gkey, count=_count_or_null(rng, n))
        return
    with_features = kind == "CF"
    own = np.repeat(flags(count, nonzero=True), size, axis=0) & with_features
    has_rec = member < size - 1
    parts.add(own, has_rec=has_rec, gkey=gkey, count=_count_or_null(rng, n))


def _count_or_null(rng, n: int) -> np.ndarray:
    # The old sync left Active_Property_Count__c empty or at 1 on multi-property records.
    return np.where(rng.random(n) < 0.5, np.nan, 1.0)


def _sfdc_forms(gkey: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(canonical 18-char ids, the raw form RDS stores, the form) for keys >= 0. Forms:
    0 canonical, 1 the 15-char id, 2 padded with whitespace, 3 lower-cased suffix (4 when
    the suffix has no letter, so it stays canonical)."""
    codes15 = np.empty((len(gkey), 15), dtype=np.uint8)
    codes15[:, :9] = _SFDC_PREFIX
    codes15[:, 9:] = np_digits(np.maximum(gkey, 0), 6, _BASE36)
    codes18 = np_to18(codes15)
    canonical = codes_to_strings(codes18)
    raw = canonical.astype("U21")
    fmt = rng.choice(4, len(gkey), p=[0.85, 0.10, 0.025, 0.025])
    raw[fmt == 1] = codes_to_strings(codes18[fmt == 1, :15])
    lowered = codes18[fmt == 3].copy()
    letters = (lowered[:, 15:] >= ord("A")) & (lowered[:, 15:] <= ord("Z"))
    lowered[:, 15:] += letters.astype(np.uint8) * 32
    raw[fmt == 3] = codes_to_strings(lowered)
    fmt[np.flatnonzero(fmt == 3)[~letters.any(axis=1)]] = 4
    padded = canonical[fmt == 2]
    raw[fmt == 2] = np.char.add(np.char.add(" ", padded), " \t")
    return canonical, raw, fmt


def _ts(seconds: np.ndarray) -> pa.Array:
    """Whole seconds since the epoch -> a UTC timestamp array."""
    return pa.array(seconds.astype("datetime64[s]").astype("datetime64[us]"), type=schema.TS)


def _nullify(values: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def _str(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(values, type=pa.string(), mask=mask)


def _properties(cols, ids, rng, now: datetime, companies: int):
    n = len(ids)
    now_s = int(now.timestamp())
    queue = (cols["status"] == 0) & ~cols["deleted"] & ~cols["has_rec"]
    # The create queue spans the pilot strata: < 30 days old and > 1 year old.
    queue_age = np.select(
        [rng.random(n) < 0.2, rng.random(n) < 0.6],
        [rng.integers(_DAY, 29 * _DAY, n), rng.integers(366 * _DAY, 2500 * _DAY, n)],
        rng.integers(31 * _DAY, 364 * _DAY, n),
    )
    age = np.where(queue, queue_age, rng.integers(30 * _DAY, 2500 * _DAY, n))
    created = now_s - age
    updated = np.minimum(created + rng.integers(0, 10 * _DAY, n), now_s - 3600)
    id_text = pc.cast(pa.array(ids), pa.string())
    name = pc.binary_join_element_wise(
        _str(_ADJECTIVES[rng.integers(0, len(_ADJECTIVES), n)]),
        _str(_NOUNS[rng.integers(0, len(_NOUNS), n)]),
        id_text,
        " ",
    )
    city = rng.integers(0, len(_CITIES), n)
    no_place = rng.random(n) < 0.01
    gkey = cols["gkey"]
    canonical, raw, fmt = _sfdc_forms(gkey, rng)
    cols["sfdc_canonical"] = canonical
    cols["sfdc_form"] = np.where(gkey < 0, -1, fmt)
    deleted_at = now_s - rng.integers(_DAY, 100 * _DAY, n)
    table = pa.table(
        {
            "id": pa.array(ids),
            "name": name,
            "short_id": pc.binary_join_element_wise(pa.array(["P"] * n), id_text, ""),
            "company_id": pa.array(
                rng.integers(4, companies + 4, n), pa.int64(), mask=rng.random(n) < 0.01
            ),
            "address": _nullify(
                pc.binary_join_element_wise(
                    pc.cast(pa.array(rng.integers(1, 9999, n)), pa.string()),
                    _str(_STREETS[rng.integers(0, len(_STREETS), n)]),
                    " ",
                ),
                rng.random(n) < 0.01,
            ),
            "city": _str(_CITIES[city, 0], no_place),
            "state": _str(_CITIES[city, 1], no_place),
            "zip": _nullify(
                pc.utf8_lpad(pc.cast(pa.array(rng.integers(501, 99950, n)), pa.string()), 5, "0"),
                rng.random(n) < 0.01,
            ),
            "status": _str(STATUSES[cols["status"]]),
            "sfdc_id": _str(raw, gkey < 0),
            "created_at": _ts(created),
            "updated_at": pa.array(
                updated.astype("datetime64[s]").astype("datetime64[us]"),
                type=schema.TS,
                mask=rng.random(n) < 0.01,
            ),
            "deleted_at": pa.array(
                deleted_at.astype("datetime64[s]").astype("datetime64[us]"),
                type=schema.TS,
                mask=~cols["deleted"],
            ),
        },
        schema=schema.PROPERTIES,
    )
    return table, created


def _features(own, ids, created, rng, now: datetime) -> pa.Table:
    now_s = int(now.timestamp())
    pieces = []
    for f, feature in enumerate(FEATURES):
        # A row for every flag that is on, and for some that were switched off.
        mask = own[:, f] | (rng.random(len(ids)) < 0.1)
        k = int(mask.sum())
        changed = np.minimum(created[mask] + rng.integers(0, 200 * _DAY, k), now_s - 60)
        pieces.append(
            pa.table(
                {
                    "property_id": pa.array(ids[mask]),
                    "feature": pa.array([feature] * k, pa.string()),
                    "enabled": pa.array(own[mask, f]),
                    "updated_at": _ts(changed),
                },
                schema=schema.PROPERTY_FEATURES,
            )
        )
    return pa.concat_tables(pieces)


def _records(
    cols, ids, props: pa.Table, created, rng, now: datetime, index: int
) -> tuple[pa.Table, int]:
    now_s = int(now.timestamp())
    live = np.flatnonzero(cols["has_rec"])
    # ~2% of live records also have an older copy in the recycle bin
    binned = live[rng.random(len(live)) < 0.02]
    rows = np.concatenate([live, binned])
    is_deleted = np.concatenate([np.zeros(len(live), bool), np.ones(len(binned), bool)])
    k = len(rows)
    numbers = index * (1 << 32) + 1 + np.arange(k, dtype=np.int64)
    rec_flags = cols["rec"][rows]
    rec_flags[is_deleted] = rng.random((len(binned), 4)) < 0.5
    count = cols["count"][rows]
    born = created[rows]
    made = born + ((now_s - 3600 - born) * rng.random(k) * 0.2).astype(np.int64)
    touched = made + ((now_s - 3600 - made) * rng.random(k) * 0.5).astype(np.int64)
    take = pa.array(rows)
    company = props.column("company_id").take(take)
    data = {
        "Id": _str(codes_to_strings(np_mint(BULK_RECORD_PREFIX, numbers))),
        "Name": props.column("name").take(take),
        "snappt_property_id__c": pc.cast(pa.array(ids[rows]), pa.string()),
        "Short_ID__c": props.column("short_id").take(take),
        "Company_ID__c": pc.cast(company, pa.string()),
        "City__c": props.column("city").take(take),
        "State__c": props.column("state").take(take),
    }
    for f, name in enumerate(FEATURE_FIELDS):
        data[name] = pa.array(rec_flags[:, f])
    data.update(
        {
            "Active_Property_Count__c": pa.array(count, pa.float64(), mask=np.isnan(count)),
            "Is_Multi_Property__c": pa.array(np.zeros(k, bool)),
            "RDS_Created_At__c": props.column("created_at").take(take),
            "sf_property_id__c": _str(cols["sfdc_canonical"][rows], cols["gkey"][rows] < 0),
            "IsDeleted": pa.array(is_deleted),
            "CreatedDate": _ts(made),
            "LastModifiedDate": _ts(touched),
            "LastModifiedById": pa.array([LEGACY_SYNC_USER] * k, pa.string()),
        }
    )
    return pa.table(data, schema=schema.SALESFORCE), len(binned)
