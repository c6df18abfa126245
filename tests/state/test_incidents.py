"""alert_incidents on both backends: open, deliver, resolve, read back; append-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from propsync.errors import StateError

from .conftest import StateWorkspace

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_an_incident_is_its_events(state_ws: StateWorkspace) -> None:
    with state_ws.open() as ws:
        store = ws.state()
        assert store.incidents.active() == []
        inc = store.incidents.open(
            "high_create_queue", severity="P2", measured=250, threshold=200,
            summary="250 waiting", at=T0,
        )  # fmt: skip
        assert inc.is_open and inc.dedup_key == f"propsync/high_create_queue/{inc.incident_id}"
        assert inc.incident_id.startswith("20261201T090000Z-")
        store.incidents.record(inc, "NOTIFIED", channel="slack", attempts=1, at=T0)
        store.incidents.record(
            inc, "FAILED", channel="pagerduty", message="trigger", attempts=3,
            error="events API answered 500", at=T0,
        )  # fmt: skip
        store.incidents.record(inc, "RENOTIFIED", channel="slack", at=T0 + timedelta(hours=4))
        [back] = store.incidents.active()
        assert [e.event for e in back.events] == ["OPENED", "NOTIFIED", "FAILED", "RENOTIFIED"]
        assert back.told() == ["slack"]
        assert back.last_delivered("slack") == T0 + timedelta(hours=4)
        assert back.last_delivered("slack", ("trigger",)) == T0
        assert back.last_delivered("pagerduty") is None
        assert back.failures("pagerduty") == 1 and back.failures("slack") == 0
        assert (back.measured, back.threshold, back.severity) == (250.0, 200.0, "P2")
        assert back.events[2].error == "events API answered 500"
        assert back.events[2].message == "trigger"

        resolved_at = T0 + timedelta(hours=5)
        store.incidents.record(back, "RESOLVED", measured=10, summary="cleared", at=resolved_at)
        with pytest.raises(StateError, match="already resolved"):
            store.incidents.record(store.incidents.get(inc.incident_id), "RESOLVED", at=T0)  # type: ignore[arg-type]
        assert store.incidents.active(resolved_since=resolved_at + timedelta(seconds=1)) == []
        [owed] = store.incidents.active(resolved_since=resolved_at)
        assert owed.resolved_at == resolved_at and not owed.is_open
        store.incidents.record(owed, "RESOLVE_NOTIFIED", channel="slack", at=resolved_at)
        again = store.incidents.open(
            "high_create_queue", severity="P2", measured=300, threshold=200, summary="again"
        )
        assert [i.incident_id for i in store.incidents.recent()] == [
            again.incident_id,
            inc.incident_id,
        ]
        assert store.incidents.recent(rule="sync_down") == []
        assert store.incidents.get("nope") is None
    with state_ws.open() as ws:  # a fresh workspace reads the same state
        assert [i.incident_id for i in ws.state().incidents.active()] == [again.incident_id]


def test_bad_events_are_refused(state_ws: StateWorkspace) -> None:
    with state_ws.open() as ws:
        incidents = ws.state().incidents
        inc = incidents.open("sync_down", severity="P0", measured=None, threshold=2, summary="x")
        with pytest.raises(StateError, match="needs the channel"):
            incidents.record(inc, "NOTIFIED")
        with pytest.raises(StateError, match="OPENED"):
            incidents.record(inc, "OPENED", channel="slack")
        with pytest.raises(StateError, match="message"):
            incidents.record(inc, "FAILED", channel="slack")
        with pytest.raises(StateError, match="time zone"):
            incidents.record(inc, "NOTIFIED", channel="slack", at=datetime(2026, 1, 1))


def test_postgres_incidents_are_append_only(pg_dsn: str, state_ws: StateWorkspace) -> None:
    if state_ws.backend != "postgresql":
        return  # DuckDB has no triggers; the store's SQL never updates (test_store)
    with state_ws.open() as ws:
        ws.state().incidents.open(
            "sync_down", severity="P0", measured=None, threshold=2, summary="x"
        )
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        for sql in ("UPDATE alert_incidents SET event = 'RESOLVED'", "DELETE FROM alert_incidents"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                con.execute(sql)
