"""R2 in Python (propsync.sfid) against an independent checksum (the SQL against Python:
tests/models/test_sfid_sql.py)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from propsync import sfid

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
