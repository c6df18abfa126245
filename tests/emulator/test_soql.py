"""The SOQL subset: what it accepts answers exactly like Salesforce would (checked
against the same filter computed in Python over the rows the test wrote), and
what it does not accept is refused, never answered differently."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from propsync.emulator.objects import load_objects
from propsync.emulator.soql import SoqlError, parse
from propsync.fields import EXTERNAL_ID, OBJECT
from tests.emulator.conftest import Api, key

OBJECTS = load_objects()
Row = dict[str, Any]

NOW = datetime.now(UTC).replace(microsecond=0)
ROWS: list[Row] = [
    {"Name": "alpha", "City__c": "Austin", "IDV_Enabled__c": True, "Active_Property_Count__c": 1,
     "RDS_Created_At__c": NOW - timedelta(days=40)},
    {"Name": "Beta", "City__c": "austin", "IDV_Enabled__c": False, "Active_Property_Count__c": 3,
     "RDS_Created_At__c": NOW - timedelta(days=2)},
    {"Name": "gamma 100%", "City__c": None, "IDV_Enabled__c": True, "Active_Property_Count__c": 2,
     "RDS_Created_At__c": None},
    {"Name": "Delta", "City__c": "Reno", "IDV_Enabled__c": False, "Active_Property_Count__c": 0,
     "RDS_Created_At__c": NOW},
    {"Name": "epsilon", "City__c": "Boise", "IDV_Enabled__c": True, "Active_Property_Count__c": 5,
     "RDS_Created_At__c": NOW - timedelta(days=400)},
]  # fmt: skip


@pytest.fixture(scope="module")
def tagged(emu: Any) -> tuple[str, list[Row]]:
    """The rows above, written once, tagged with one Short_ID__c."""
    api = Api(emu)
    tag = key("soql")
    rows = []
    for r in ROWS:
        doc = {**r, EXTERNAL_ID: key(), "Short_ID__c": tag}
        if doc["RDS_Created_At__c"] is not None:
            doc["RDS_Created_At__c"] = doc["RDS_Created_At__c"].isoformat()
        rid = api.create(**doc)
        rows.append({**r, "Id": rid})
    return tag, rows


def _names(api: Api, tag: str, where: str, order: str = "") -> list[str]:
    q = f"SELECT Id, Name FROM {OBJECT} WHERE Short_ID__c = '{tag}' AND ({where}) {order}"
    return [r["Name"] for r in api.soql(q)["records"]]


def _expect(rows: list[Row], pred: Callable[[Row], bool]) -> set[str]:
    return {r["Name"] for r in rows if pred(r)}


def _lower(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


CASES: list[tuple[str, Callable[[Row], bool]]] = [
    ("City__c = 'AUSTIN'", lambda r: _lower(r["City__c"]) == "austin"),  # case-insensitive
    ("City__c != 'austin'", lambda r: _lower(r["City__c"]) != "austin"),  # nulls included
    ("City__c = null", lambda r: r["City__c"] is None),
    ("City__c != null", lambda r: r["City__c"] is not None),
    ("IDV_Enabled__c = true", lambda r: r["IDV_Enabled__c"]),
    ("IDV_Enabled__c != true", lambda r: not r["IDV_Enabled__c"]),
    ("Active_Property_Count__c > 1", lambda r: r["Active_Property_Count__c"] > 1),
    ("Active_Property_Count__c <= 1", lambda r: r["Active_Property_Count__c"] <= 1),
    ("Active_Property_Count__c >= 2.5", lambda r: r["Active_Property_Count__c"] >= 2.5),
    ("City__c IN ('Reno', 'boise')", lambda r: _lower(r["City__c"]) in ("reno", "boise")),
    ("City__c NOT IN ('Reno')", lambda r: _lower(r["City__c"]) != "reno"),
    ("City__c IN ('Reno', null)", lambda r: r["City__c"] in ("Reno", None)),
    ("Name LIKE 'a%'", lambda r: r["Name"].lower().startswith("a")),
    ("Name LIKE '%100\\%'", lambda r: r["Name"].endswith("100%")),
    ("Name LIKE '_eta'", lambda r: len(r["Name"]) == 4 and r["Name"][1:] == "eta"),
    ("NOT City__c = 'Reno'", lambda r: _lower(r["City__c"]) != "reno"),
    (
        "(IDV_Enabled__c = true OR City__c = 'Reno') AND Active_Property_Count__c < 5",
        lambda r: (
            (r["IDV_Enabled__c"] or r["City__c"] == "Reno") and r["Active_Property_Count__c"] < 5
        ),
    ),
    (
        "IDV_Enabled__c = false OR (City__c = 'Boise' AND Name = 'EPSILON')",
        lambda r: not r["IDV_Enabled__c"] or r["City__c"] == "Boise",
    ),
    (
        f"RDS_Created_At__c > {(NOW - timedelta(days=10)).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        lambda r: (
            r["RDS_Created_At__c"] is not None and r["RDS_Created_At__c"] > NOW - timedelta(days=10)
        ),
    ),
    (
        "RDS_Created_At__c = LAST_N_DAYS:30",
        lambda r: (
            r["RDS_Created_At__c"] is not None
            and r["RDS_Created_At__c"].date() >= (NOW - timedelta(days=30)).date()
        ),
    ),
    (
        "RDS_Created_At__c = TODAY",
        lambda r: (
            r["RDS_Created_At__c"] is not None and r["RDS_Created_At__c"].date() == NOW.date()
        ),
    ),
    (
        "RDS_Created_At__c < LAST_N_DAYS:30",
        lambda r: (
            r["RDS_Created_At__c"] is not None
            and r["RDS_Created_At__c"].date() < (NOW - timedelta(days=30)).date()
        ),
    ),
]


@pytest.mark.parametrize(("where", "pred"), CASES, ids=[c[0] for c in CASES])
def test_where(api: Api, tagged: tuple[str, list[Row]], where: str, pred: Callable) -> None:
    tag, rows = tagged
    assert set(_names(api, tag, where)) == _expect(rows, pred)


def test_order_by_limit_offset(api: Api, tagged: tuple[str, list[Row]]) -> None:
    tag, rows = tagged
    by_name = sorted((r["Name"] for r in rows), key=str.lower)  # text sorts case-insensitively
    assert _names(api, tag, "Name != null", "ORDER BY Name") == by_name
    assert _names(api, tag, "Name != null", "ORDER BY Name DESC") == by_name[::-1]
    assert _names(api, tag, "Name != null", "ORDER BY Name LIMIT 2 OFFSET 1") == by_name[1:3]
    cities = _names(api, tag, "Name != null", "ORDER BY City__c ASC, Name")
    assert cities[0] == "gamma 100%"  # nulls first by default
    last = _names(api, tag, "Name != null", "ORDER BY City__c ASC NULLS LAST, Name")
    assert last[-1] == "gamma 100%"
    counts = _names(api, tag, "Name != null", "ORDER BY Active_Property_Count__c DESC")
    want = [r["Name"] for r in sorted(rows, key=lambda r: -r["Active_Property_Count__c"])]
    assert counts == want


def test_id_literals_accept_15_and_18_characters(api: Api, tagged: tuple[str, list[Row]]) -> None:
    tag, rows = tagged
    rid = rows[0]["Id"]
    assert _names(api, tag, f"Id = '{rid[:15]}'") == [rows[0]["Name"]]
    assert _names(api, tag, f"Id IN ('{rid}', '{rows[1]['Id']}')", "ORDER BY Name") == sorted(
        [rows[0]["Name"], rows[1]["Name"]], key=str.lower
    )
    r = api.req("GET", "/query", params={"q": f"SELECT Id FROM {OBJECT} WHERE Id = 'short'"})
    assert r.status_code == 400


def test_count(api: Api, tagged: tuple[str, list[Row]]) -> None:
    tag, rows = tagged
    q = f"SELECT COUNT() FROM {OBJECT} WHERE Short_ID__c = '{tag}' AND IDV_Enabled__c = true"
    assert api.soql(q)["totalSize"] == sum(1 for r in rows if r["IDV_Enabled__c"])
    assert api.soql(q + " LIMIT 1")["totalSize"] == 1


@pytest.mark.parametrize(
    "query",
    [
        "SELECT Id FROM product_property__c GROUP BY Name",
        "SELECT COUNT(Id) FROM product_property__c",
        "SELECT Id, Owner.Name FROM product_property__c",
        "SELECT Id FROM product_property__c WHERE Name = 'a' AND City__c = 'b' OR Name = 'c'",
        "SELECT Id FROM product_property__c WHERE Name = 'unterminated",
        "SELECT Id FROM product_property__c LIMIT -1",
        "SELECT Id FROM product_property__c WHERE",
        "SELECT Id FROM product_property__c ORDER BY",
        "SELECT Id FROM product_property__c WHERE Name > null",
        "SELECT Id FROM product_property__c WHERE Name INCLUDES ('a')",
        "SELECT Id FROM product_property__c FOR UPDATE",
        "SELECT FROM product_property__c",
        "SELECT Id product_property__c",
        "SELECT Id FROM product_property__c WHERE RDS_Created_At__c IN (TODAY)",
        "SELECT Id FROM product_property__c WHERE Active_Property_Count__c = '1'",
        "SELECT Id FROM product_property__c WHERE RDS_Created_At__c > 2024-01-01",
        "",
    ],
)
def test_outside_the_subset_is_refused(query: str) -> None:
    with pytest.raises(SoqlError):
        parse(query, OBJECTS)


def test_error_codes_for_unknown_names() -> None:
    with pytest.raises(SoqlError) as e1:
        parse("SELECT Nope__c FROM product_property__c", OBJECTS)
    assert e1.value.code == "INVALID_FIELD"
    with pytest.raises(SoqlError) as e2:
        parse("SELECT Id FROM Nope__c", OBJECTS)
    assert e2.value.code == "INVALID_TYPE"


def test_keywords_and_field_names_are_case_insensitive() -> None:
    q = parse("select id, NAME from PRODUCT_PROPERTY__C where city__c = 'x' order by name", OBJECTS)
    assert [f.name for f in q.fields] == ["Id", "Name"] and q.obj.name == OBJECT


def test_not_uses_two_valued_logic(api: Api, tagged: tuple[str, list[Row]]) -> None:
    tag, rows = tagged
    for where, pred in [
        ("NOT (City__c IN ('Reno'))", lambda r: r["City__c"] != "Reno"),
        ("NOT (Name LIKE 'a%' OR City__c = 'Boise')",
         lambda r: not (r["Name"].startswith("a") or r["City__c"] == "Boise")),
        ("NOT RDS_Created_At__c = TODAY",
         lambda r: r["RDS_Created_At__c"] is None or r["RDS_Created_At__c"].date() != NOW.date()),
        ("NOT (NOT City__c = 'Reno')", lambda r: r["City__c"] == "Reno"),
    ]:  # fmt: skip
        assert set(_names(api, tag, where)) == _expect(rows, pred), where


def test_lookups_by_id_and_external_id_use_an_index(emu: Any) -> None:
    wheres = ("Id = 'a0XDn0000000001MAA'", f"{EXTERNAL_ID} IN ('1', '2')", f"{EXTERNAL_ID} = '3'")
    for where in wheres:
        for all_rows in (False, True):
            q = parse(f"SELECT Id FROM {OBJECT} WHERE {where}", OBJECTS)
            sql, params = q.sql(all_rows=all_rows)
            con = emu.org.store.connection()
            plan = con.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
            assert any("USING" in str(p[-1]) and "INDEX" in str(p[-1]) for p in plan), plan
