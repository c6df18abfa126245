"""Migration 005 on both backends: pre-flights, baselines and validations of pilots, and
the validation a sign-off names."""

from __future__ import annotations

import pytest

from propsync.errors import StateError

from .conftest import StateWorkspace


def test_preflight_baseline_and_validation_roundtrip(state_ws: StateWorkspace) -> None:
    with state_ws.open() as ws:
        store = ws.state()
        repo = store.pilot_validations
        assert repo.latest_preflight("p") is None and repo.latest_validation("p") is None
        items = [{"key": "org", "name": "The org answers", "passed": True, "offending": []}]
        first = repo.record_preflight("p", "sel-1", passed=True, forced=False, items=items)
        second = repo.record_preflight("p", "sel-1", passed=False, forced=True, items=items)
        latest = repo.latest_preflight("p")
        assert latest is not None and latest.preflight_id == second.preflight_id
        assert latest.forced and not latest.passed and latest.items == items
        saved = repo.save_baseline(
            first,
            [
                {"id": "a0X2", "snappt_property_id_c": "12", "rds_property_id": 12,
                 "idv_enabled_c": False, "active_property_count_c": 2},
                {"id": "a0X1", "snappt_property_id_c": "11", "rds_property_id": 11,
                 "idv_enabled_c": True, "active_property_count_c": None},
            ],
        )  # fmt: skip
        assert saved == 2
        base = repo.baseline(first.preflight_id)
        assert [b.salesforce_id for b in base] == ["a0X1", "a0X2"]
        assert base[1].rds_property_id == "12" and base[1].field_values["idv_enabled_c"] is False
        assert repo.baseline(second.preflight_id) == []
        with pytest.raises(StateError, match=r"baseline record #0: id"):
            repo.save_baseline(first, [{"snappt_property_id_c": "1"}])

        offending = [{"snappt_property_id_c": "7", "records": 2}]
        failing = [*items, {"key": "dup", "name": "Dups", "passed": False, "offending": offending}]
        bad = repo.record_validation(
            "p", "sel-1", preflight_id=first.preflight_id, items=failing, run_ids=["r1", "r2"]
        )
        assert not bad.passed and bad.failed_items == 1
        good = repo.record_validation(
            "p", "sel-1", preflight_id=first.preflight_id, items=items, run_ids=["r3"],
            report_markdown="/tmp/x.md", report_html="/tmp/x.html",
        )  # fmt: skip
        got = repo.latest_validation("p")
        assert got is not None and got.validation_id == good.validation_id and got.passed
        assert got.run_ids == ["r3"] and got.report_html == "/tmp/x.html"
        again = repo.get_validation(bad.validation_id)
        assert again is not None and again.items[1]["offending"][0]["records"] == 2
        with pytest.raises(StateError, match=r"item #0 .*passed must be true or false"):
            repo.record_validation("p", "s", preflight_id=None, items=[{"name": "x"}], run_ids=[])

        store.signoffs.add("p", who="Ana", validation_id=good.validation_id)
        store.signoffs.add("p", who="Bo")
        signed = store.signoffs.for_pilot("p")
        assert [(s.who, s.validation_id) for s in signed] == [
            ("Ana", good.validation_id),
            ("Bo", None),
        ]
