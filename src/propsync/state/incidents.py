"""`alert_incidents`: the incidents of the alert rules, as append-only events.

An incident is opened once when its rule starts firing ('OPENED'), told to each channel
('NOTIFIED', or 'FAILED' when a delivery gave up), told again after the repeat interval
('RENOTIFIED'), and resolved once ('RESOLVED'), after which each channel that was told
gets the resolve message ('RESOLVE_NOTIFIED'). Reads rebuild an `Incident` from its events.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from propsync.errors import StateError
from propsync.state.backend import Backend
from propsync.state.records import from_row, now

INCIDENT_EVENTS = ("OPENED", "NOTIFIED", "RENOTIFIED", "FAILED", "RESOLVED", "RESOLVE_NOTIFIED")
DELIVERY_EVENTS = {"NOTIFIED": "trigger", "RENOTIFIED": "repeat", "RESOLVE_NOTIFIED": "resolve"}
MESSAGES = ("trigger", "repeat", "resolve")
INCIDENT_COLUMNS = (
    "event_time",
    "incident_id",
    "rule",
    "event",
    "channel",
    "message",
    "severity",
    "measured",
    "threshold",
    "summary",
    "attempts",
    "error",
)


@dataclass(frozen=True)
class IncidentEvent:
    """One row of `alert_incidents`. `channel` and `message` (trigger | repeat |
    resolve) are set on delivery events (NOTIFIED, RENOTIFIED, FAILED, RESOLVE_NOTIFIED)."""

    event_id: int | None
    event_time: datetime
    incident_id: str
    rule: str
    event: str
    channel: str | None
    message: str | None
    severity: str
    measured: float | None
    threshold: float | None
    summary: str | None
    attempts: int | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Incident:
    """An incident as its events tell it, oldest event first."""

    incident_id: str
    rule: str
    severity: str
    opened_at: datetime
    measured: float | None  # when opened
    threshold: float | None
    summary: str | None
    resolved_at: datetime | None
    events: tuple[IncidentEvent, ...]

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def dedup_key(self) -> str:
        """The key every message of this incident carries (PagerDuty's dedup_key)."""
        return f"propsync/{self.rule}/{self.incident_id}"

    def last_delivered(self, channel: str, messages: Sequence[str] = MESSAGES) -> datetime | None:
        """When `channel` last got one of `messages` delivered (None: never)."""
        times = [
            e.event_time
            for e in self.events
            if e.channel == channel and DELIVERY_EVENTS.get(e.event) in messages
        ]
        return max(times) if times else None

    def told(self) -> list[str]:
        """Channels that got the trigger or a repeat, in the order they first did."""
        seen: list[str] = []
        for e in self.events:
            if e.event in ("NOTIFIED", "RENOTIFIED") and e.channel and e.channel not in seen:
                seen.append(e.channel)
        return seen

    def failures(self, channel: str) -> int:
        """Deliveries to `channel` that gave up since its last successful one."""
        count = 0
        for e in self.events:
            if e.channel != channel:
                continue
            count = count + 1 if e.event == "FAILED" else 0
        return count

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["dedup_key"] = self.dedup_key
        doc["is_open"] = self.is_open
        return doc


def new_incident_id(at: datetime) -> str:
    """An id that sorts by opening time: `20261201T093000Z-a1b2c3` (the dedup key adds
    the rule)."""
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


class Incidents:
    """Open, notify, resolve and read `alert_incidents`."""

    def __init__(self, backend: Backend) -> None:
        self._db = backend

    def open(
        self,
        rule: str,
        *,
        severity: str,
        measured: float | None,
        threshold: float | None,
        summary: str,
        at: datetime | None = None,
    ) -> Incident:
        """Open an incident of `rule` ('OPENED'); return it."""
        at = _aware(at or now(), rule)
        incident_id = new_incident_id(at)
        opened = IncidentEvent(
            None,
            at,
            incident_id,
            rule,
            "OPENED",
            None,
            None,
            severity,
            _num(measured),
            _num(threshold),
            summary,
            None,
            None,
        )
        self._append([opened])
        return _incident([opened])

    def record(
        self,
        incident: Incident,
        event: str,
        *,
        channel: str | None = None,
        message: str | None = None,
        measured: float | None = None,
        summary: str | None = None,
        attempts: int | None = None,
        error: str | None = None,
        at: datetime | None = None,
    ) -> IncidentEvent:
        """Append one event to an incident: a delivery (NOTIFIED, RENOTIFIED, FAILED,
        RESOLVE_NOTIFIED: `channel` required; FAILED also names its `message`) or
        RESOLVED (at most once)."""
        where = f"incident {incident.incident_id}"
        if event not in INCIDENT_EVENTS or event == "OPENED":
            raise StateError(f"{where}: event {event!r} (open incidents with `open`)")
        if event == "RESOLVED":
            if not incident.is_open:
                raise StateError(f"{where}: already resolved at {incident.resolved_at}")
            channel = message = None
        else:
            if not channel:
                raise StateError(f"{where}: {event} needs the channel")
            message = DELIVERY_EVENTS.get(event, message)
            if message not in MESSAGES:
                raise StateError(f"{where}: {event} on {channel}: message {message!r}")
        row = IncidentEvent(
            None,
            _aware(at or now(), where),
            incident.incident_id,
            incident.rule,
            event,
            channel,
            message,
            incident.severity,
            _num(measured),
            incident.threshold,
            summary,
            attempts,
            error[:1000] if error else None,
        )
        self._append([row])
        return row

    def _append(self, events: list[IncidentEvent]) -> None:
        rows = [tuple(getattr(e, c) for c in INCIDENT_COLUMNS) for e in events]
        self._db.insert("alert_incidents", INCIDENT_COLUMNS, rows)

    def _read(self, where: str, params: Sequence[Any]) -> list[Incident]:
        rows = self._db.dicts(
            f"SELECT * FROM alert_incidents WHERE incident_id IN ({where}) ORDER BY event_id",
            params,
        )
        grouped: dict[str, list[IncidentEvent]] = {}
        for row in rows:
            event = from_row(IncidentEvent, row)
            grouped.setdefault(event.incident_id, []).append(event)
        return [_incident(events) for events in grouped.values()]

    def active(self, *, resolved_since: datetime | None = None) -> list[Incident]:
        """Open incidents, and those resolved at or after `resolved_since` (their resolve
        messages may still be owed), oldest first."""
        if resolved_since is None:
            return [i for i in self.active(resolved_since=now()) if i.is_open]
        return self._read(
            "SELECT incident_id FROM alert_incidents GROUP BY incident_id"
            " HAVING max(CASE WHEN event = 'RESOLVED' THEN event_time END) IS NULL"
            " OR max(CASE WHEN event = 'RESOLVED' THEN event_time END) >= ?",
            [resolved_since],
        )

    def get(self, incident_id: str) -> Incident | None:
        found = self._read("?", [incident_id])
        return found[0] if found else None

    def recent(self, limit: int = 50, *, rule: str | None = None) -> list[Incident]:
        """The most recently opened incidents (open or resolved), newest first."""
        where, params = ("AND rule = ?", [rule]) if rule else ("", [])
        found = self._read(
            "SELECT incident_id FROM (SELECT incident_id, event_id FROM alert_incidents"
            f" WHERE event = 'OPENED' {where} ORDER BY event_id DESC LIMIT ?) AS latest",
            [*params, int(limit)],
        )
        return sorted(found, key=lambda i: i.events[0].event_id or 0, reverse=True)


def _incident(events: list[IncidentEvent]) -> Incident:
    first = events[0]
    if first.event != "OPENED":
        raise StateError(f"incident {first.incident_id}: first event is {first.event}")
    resolved = next((e.event_time for e in events if e.event == "RESOLVED"), None)
    return Incident(
        first.incident_id,
        first.rule,
        first.severity,
        first.event_time,
        first.measured,
        first.threshold,
        first.summary,
        resolved,
        tuple(events),
    )


def _num(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def _aware(at: datetime, where: str) -> datetime:
    if at.tzinfo is None:
        raise StateError(f"{where}: a time must carry a time zone")
    return at
