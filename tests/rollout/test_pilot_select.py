"""`pilot select` (Step 4.1): each stratum's rule on hand-built rows, priority, filling a
short stratum, the seed, the saved set and its CSV export; then the whole selection
on a generated scenario against an independent Python reading of the plan."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from propsync import sources
from propsync.errors import UsageError
from propsync.generate import generate, load_salesforce_state_into_engine
from propsync.rollout import pilot_select
from propsync.rollout.pilot_select import EXPORT_COLUMNS, STRATA, select
from propsync.sfid import to18
from propsync.sync.refresh import build_models
from propsync.workspace import Workspace
from tests.rollout.strata import create_rules, expected_selection
from tests.scenario import SyncScenario

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    (tmp_path / "propsync.toml").write_text('[engine]\npath = "propsync.duckdb"\n')
    w = Workspace.open(tmp_path / "propsync.toml")
    try:
        yield w
    finally:
        w.close()


def _scenario(ws: Workspace) -> SyncScenario:
    return SyncScenario(ws.engine(), store=ws.state())  # type: ignore[arg-type]


def _sfdc(n: int) -> str:
    return to18(f"a01Dn0000{n:06d}")


def _by_reason(rows: list[dict]) -> Counter[str]:
    return Counter(r["pilot_reason"] for r in rows)


def test_create_strata_rules_priority_and_fill(ws: Workspace) -> None:
    s = _scenario(ws)
    pid = 0

    def add(n: int, **kw: object) -> list[int]:
        nonlocal pid
        out = []
        for _ in range(n):
            pid += 1
            out.append(s.prop(pid, **kw))  # type: ignore[arg-type]
        return out

    mid = NOW - dt.timedelta(days=200)  # neither recent nor old
    featured = add(14, features=("bank_linking",), created_at=mid)
    plain = add(12, created_at=mid)
    recent = add(3, created_at=NOW - dt.timedelta(days=5))  # 3 < 10: the stratum is short
    old = add(11, created_at=NOW - dt.timedelta(days=800))
    companies = [add(2, company_id=100 + c, created_at=mid) for c in range(12)]
    s.build()
    chosen = pilot_select.select_rows(ws, "create", 7, NOW)
    ids = [r["rds_property_id"] for r in chosen]
    assert len(ids) == len(set(ids)) == 50
    by = {r["rds_property_id"]: r for r in chosen}
    got = {k: (r["pilot_reason"], r["filled"]) for k, r in by.items()}
    view = ws.engine().dicts("SELECT * FROM properties_to_create")
    assert got == expected_selection("create", view, 7, NOW)
    reasons = _by_reason(chosen)
    assert reasons == {r: 10 for r, _ in STRATA["create"].values()}
    # Each row meets its stratum's rule unless it says filled.
    rules = {name: rule for name, _, rule in create_rules(NOW)}
    rows = {v["rds_property_id"]: v for v in view}
    for r in chosen:
        if r["pilot_reason"] in rules and not r["filled"]:
            assert rules[r["pilot_reason"]](rows[r["rds_property_id"]]), r
    assert {k for k, r in by.items() if r["pilot_reason"] == "Has Features"} <= {
        str(i) for i in featured
    }
    # Only 3 recent properties: the stratum takes those the earlier strata left (an
    # earlier stratum wins) and is filled up to 10 from the rest of the queue.
    earlier = {k for k, r in by.items() if r["priority"] < 3}
    recent_taken = [r for r in chosen if r["pilot_reason"] == "Recently Created"]
    assert {r["rds_property_id"] for r in recent_taken if not r["filled"]} == {
        str(i) for i in recent
    } - earlier
    assert (
        sum(r["filled"] for r in recent_taken) == 10 - len({str(i) for i in recent} - earlier) >= 7
    )
    earlier = {k for k, r in by.items() if r["priority"] < 4}
    old_taken = {
        r["rds_property_id"]
        for r in chosen
        if r["pilot_reason"] == "Old Properties" and not r["filled"]
    }
    assert old_taken <= {str(i) for i in old} and len(old_taken) == min(
        10, len({str(i) for i in old} - earlier)
    )
    # 24 properties of 12 more companies: the last stratum never runs short.
    assert not any(r["filled"] for r in chosen if r["pilot_reason"] == "Diverse Companies")
    # Diverse companies: ten companies, one property each.
    diverse = [r for r in chosen if r["pilot_reason"] == "Diverse Companies"]
    assert len({r["company_id"] for r in diverse}) == len(diverse) == 10
    assert {str(i) for i in plain} & {
        k for k, r in by.items() if r["pilot_reason"] == "No Features"
    }
    assert len(companies) == 12


def test_update_strata_on_hand_built_records(ws: Workspace) -> None:
    s = _scenario(ws)
    pid = 0

    def prop(**kw: object) -> int:
        nonlocal pid
        pid += 1
        return s.prop(pid, **kw)  # type: ignore[arg-type]

    single_idv = [prop(features=("identity_verification",)) for _ in range(12)]
    for p in single_idv:
        s.record(p, idv_enabled_c=True, active_property_count_c=1, is_multi_property_c=False)
    pairs = []
    for g in range(9):
        members = [prop(sfdc_id=_sfdc(g)) for _ in range(2)]
        pairs += members
        for p in members:
            s.record(p, active_property_count_c=2, is_multi_property_c=True)
    triple = [prop(sfdc_id=_sfdc(50)) for _ in range(3)]  # 3 < 5: short
    for p in triple:
        s.record(p, active_property_count_c=3, is_multi_property_c=True)
    mismatch = [prop(features=("bank_linking",)) for _ in range(11)]
    for p in mismatch:  # Salesforce still says FALSE: the FALSE -> TRUE cases
        s.record(p, active_property_count_c=1, is_multi_property_c=False)
    plain = [prop() for _ in range(12)]
    for p in plain:
        s.record(p, active_property_count_c=1, is_multi_property_c=False)
    s.build()
    chosen = pilot_select.select_rows(ws, "update", 3, NOW)
    view = ws.engine().dicts("SELECT * FROM properties_to_update")
    got = {r["rds_property_id"]: (r["pilot_reason"], r["filled"]) for r in chosen}
    assert got == expected_selection("update", view, 3, NOW)
    assert len(chosen) == 50 and _by_reason(chosen) == {r: t for r, t in STRATA["update"].values()}
    by_reason: dict[str, set[str]] = {}
    for r in chosen:
        if not r["filled"]:
            by_reason.setdefault(r["pilot_reason"], set()).add(r["rds_property_id"])
    assert by_reason["Single Property"] <= {str(i) for i in single_idv}
    assert (
        by_reason["Multi-Property (2)"] <= {str(i) for i in pairs}
        and len(by_reason["Multi-Property (2)"]) == 15
    )
    assert by_reason["Multi-Property (3+)"] == {str(i) for i in triple}  # all 3, then 2 filled
    assert sum(r["filled"] for r in chosen if r["pilot_reason"] == "Multi-Property (3+)") == 2
    # Features on and changes pending: the mismatches, and the 2 single-IDV records
    # stratum 1 left (their other fields differ too).
    fm = by_reason["Feature Mismatch"]
    assert fm <= {str(i) for i in mismatch} | {str(i) for i in single_idv} and len(fm) == 10
    assert by_reason["No Features"] <= {str(i) for i in plain} | {str(i) for i in pairs} | {
        str(i) for i in triple
    }
    assert all(r["salesforce_id"] for r in chosen)


def test_select_is_seeded_saved_and_exported(ws: Workspace) -> None:
    s = _scenario(ws)
    for p in range(1, 121):
        s.prop(p, features=("payroll_linking",) if p % 4 == 0 else (), company_id=p % 15)
    for p in range(121, 181):
        s.prop(p, features=("income_insights",) if p % 3 == 0 else ())
        s.record(p, active_property_count_c=1, is_multi_property_c=False)
    s.build()
    one = select(ws, "p1", seed=11, now=NOW, refresh_inputs=False)
    again = pilot_select.select_rows(ws, "create", 11, NOW)
    other = pilot_select.select_rows(ws, "create", 12, NOW)
    assert [r["rds_property_id"] for r in again] == [
        r["rds_property_id"] for r in one.rows["create"]
    ]
    assert {r["rds_property_id"] for r in other} != {r["rds_property_id"] for r in again}
    members = ws.state().pilots.members("p1")
    assert len(members) == one.size == len(one.rows["create"]) + len(one.rows["update"])
    assert {m.queue for m in members} == {"create", "update"}
    update_member = next(m for m in members if m.queue == "update")
    assert update_member.snappt_property_id_c == str(update_member.rds_property_id)
    with one.exports["create"].open() as fh:
        exported = list(csv.DictReader(fh))
    assert list(exported[0]) == [*EXPORT_COLUMNS["create"], "filled"]
    assert [r["rds_property_id"] for r in exported] == [
        r["rds_property_id"] for r in one.rows["create"]
    ]
    shown = pilot_select.saved_set(ws, "p1")
    assert {q: len(r) for q, r in shown.rows.items()} == {q: len(r) for q, r in one.rows.items()}
    assert json.dumps(shown.to_json())  # JSON-ready
    update_short = [st for st in one.strata if st.queue == "update" and st.filled]
    assert update_short  # no multi-property records at all: those strata are filled
    with pytest.raises(UsageError, match=r"no pilot set 'p2' \(saved: p1\)"):
        pilot_select.saved_set(ws, "p2")
    with pytest.raises(UsageError, match="pilot name"):
        select(ws, "bad name", refresh_inputs=False)


@pytest.fixture(scope="module")
def generated_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, dict]]:
    root = tmp_path_factory.mktemp("generated")
    (root / "propsync.toml").write_text('[source]\nkind = "duckdb"\npath = "rds.duckdb"\n')
    truth = generate(
        2000, 5, rds_target=f"duckdb:{root / 'rds.duckdb'}", out_dir=root / "gen", now=NOW
    )
    w = Workspace.open(root / "propsync.toml")
    sources.extract(w.config.source, w.engine(), root=w.root)
    load_salesforce_state_into_engine(w.engine(), truth.salesforce_parquet)
    build_models(w)
    try:
        yield w, truth.counts
    finally:
        w.close()


@pytest.mark.parametrize("queue", ["create", "update"])
def test_strata_on_the_generated_scenario(generated_ws: tuple[Workspace, dict], queue: str) -> None:
    w, truth = generated_ws
    unsyncable = {int(u["rds_property_id"]) for u in truth["unsyncable"]}
    view = w.engine().dicts(f"SELECT * FROM properties_to_{queue}")
    assert view
    candidates = [r for r in view if r["rds_property_id"] not in unsyncable]
    chosen = pilot_select.select_rows(w, queue, 42, NOW)  # type: ignore[arg-type]
    got = {r["rds_property_id"]: (r["pilot_reason"], r["filled"]) for r in chosen}
    assert got == expected_selection(queue, candidates, 42, NOW)
    assert not set(got) & unsyncable
    assert len(got) == min(50, len(candidates))
