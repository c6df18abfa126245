"""R2 in Python (propsync.models.sfid) against an independent checksum, and SQL against
Python on thousands of random ids."""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propsync import models
from propsync.models import sfid

ALNUM = string.ascii_letters + string.digits


def reference_suffix(id15: str) -> str:
    """Independent checksum: read each chunk right to left as a binary number built from a
    per-character 0/1 map, then look the value up in a table built from ranges."""
    table = [chr(c) for c in range(ord("A"), ord("Z") + 1)] + [str(d) for d in range(6)]
    flags = "".join("1" if c in string.ascii_uppercase else "0" for c in id15)
    return "".join(table[int(flags[i : i + 5][::-1], 2)] for i in range(0, 15, 5))


def reference_normalize(raw: str | None) -> str | None:
    if raw is None:
        return None
    value = raw.strip(" \t\r\n")
    if len(value) not in (15, 18) or any(c not in ALNUM for c in value):
        return None
    canonical = value[:15] + reference_suffix(value[:15])
    return canonical if len(value) == 15 or value.upper()[15:] == canonical[15:] else None


ids15 = st.text(alphabet=ALNUM, min_size=15, max_size=15)


def test_known_salesforce_id() -> None:
    # The plan's Park Kennedy id: a real 18-char id whose 15-char form is its first 15.
    assert sfid.to18("a01Dn00000HHUan") == "a01Dn00000HHUanIAH"
    assert sfid.normalize("a01Dn00000HHUaniah") == "a01Dn00000HHUanIAH"


@given(ids15)
def test_checksum_matches_reference(id15: str) -> None:
    assert sfid.checksum(id15) == reference_suffix(id15)


@given(ids15, st.sampled_from(["", " ", "\t", "\n ", "\r\n"]), st.sampled_from(["", " ", "\t"]))
def test_normalize_15_and_18_forms_agree(id15: str, left: str, right: str) -> None:
    full = sfid.to18(id15)
    assert sfid.normalize(left + id15 + right) == full
    assert sfid.normalize(left + full + right) == full
    assert sfid.normalize(full[:15] + full[15:].lower()) == full  # lower-case suffix: valid


@given(ids15, st.text(alphabet=ALNUM, min_size=3, max_size=3))
def test_wrong_suffix_is_invalid(id15: str, suffix: str) -> None:
    raw = id15 + suffix
    if suffix.upper() == reference_suffix(id15):
        assert sfid.normalize(raw) == id15 + reference_suffix(id15)
    else:
        assert sfid.normalize(raw) is None


@given(st.one_of(st.none(), st.text(max_size=20), st.text(alphabet=ALNUM + " \t", max_size=20)))
@settings(max_examples=500)
def test_normalize_matches_reference_on_any_text(raw: str | None) -> None:
    assert sfid.normalize(raw) == reference_normalize(raw)
    assert sfid.is_valid(raw) == (reference_normalize(raw) is not None)


@pytest.mark.parametrize(
    "raw", [None, "", "   ", "\t", "a01Dn00000HHUa", "a01Dn00000HHUan-", "é" * 15]
)
def test_invalid_or_empty(raw: str | None) -> None:
    assert sfid.normalize(raw) is None


def test_case_variants_are_different_ids() -> None:
    a, b = "a01Dn00000HHUan", "a01Dn00000HHUAN"
    assert sfid.to18(a) != sfid.to18(b)
    assert sfid.to18(a).lower() != sfid.to18(b).lower()  # suffix tells them apart


def test_to18_rejects_malformed() -> None:
    with pytest.raises(ValueError, match="15-character"):
        sfid.to18("short")


def _random_raw(rng: random.Random) -> str | None:
    id15 = "".join(rng.choice(ALNUM) for _ in range(15))
    full = id15 + reference_suffix(id15)
    kind = rng.randrange(9)
    if kind == 0:
        return id15
    if kind == 1:
        return full
    if kind == 2:
        return full[:15] + full[15:].lower()
    if kind == 3:
        return rng.choice([" ", "\t", "\r\n"]) + rng.choice([id15, full]) + " "
    if kind == 4:
        return id15 + "".join(rng.choice(ALNUM) for _ in range(3))  # usually wrong
    if kind == 5:
        return rng.choice([None, "", "  ", "\t"])
    if kind == 6:
        return id15[: rng.randrange(1, 15)]
    if kind == 7:
        return id15[:14] + rng.choice("-_.é ")
    return full.swapcase()  # a different id; its suffix is wrong for it (usually)


def test_sql_agrees_with_python_on_random_ids(scenario) -> None:
    rng = random.Random(20261126)
    raws = [_random_raw(rng) for _ in range(4000)]
    for pid, raw in enumerate(raws, start=1):
        scenario.prop(pid, sfdc_id=raw)
        # The Salesforce side normalises sf_property_id__c with its own copy of the SQL.
        scenario.record(pid, sf_property_id=raw)
    scenario.build()
    rows = scenario.engine.rows(
        "SELECT e.rds_property_id, e.sfdc_id, e.has_valid_sfdc_id, m.sf_property_id_normalized"
        " FROM rds_properties_enriched e JOIN salesforce_matched_records m"
        " ON m.rds_property_id = e.rds_property_id ORDER BY e.rds_property_id"
    )
    assert len(rows) == len(raws)
    valid = 0
    for (pid, sql_id, flag, sf_side), raw in zip(rows, raws, strict=True):
        expected = sfid.normalize(raw)
        assert sql_id == expected, (pid, raw)
        assert sf_side == expected, (pid, raw)
        assert flag == (1 if expected else 0)
        valid += expected is not None
    # The random mix must exercise both outcomes in bulk.
    assert 1000 < valid < 3500
    assert models.show(scenario.engine, "sync_exceptions", None)  # invalid ones reported
