"""Knobs: latency and injected faults, set for the whole server (`Emulator.start`,
`Emulator.set_knobs`, `POST /_emulator/knobs`) or for one request (header
`X-Emulator-Knobs: {"lock_error_rate": 0.05}`), so tests can provoke every
failure a sync must survive. Both ways need the server's admin token: the endpoint
and the header are honoured only beside `X-Emulator-Admin-Token: <token>`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import threading
from dataclasses import dataclass
from typing import Any

KNOBS_HEADER = "X-Emulator-Knobs"
ADMIN_HEADER = "X-Emulator-Admin-Token"


@dataclass
class Knobs:
    latency_ms: float = 0.0  # added to every API call
    lock_error_rate: float = 0.0  # per record: UNABLE_TO_LOCK_ROW
    wrapped_lock_error_rate: float = 0.0  # per record: CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY
    http_503_rate: float = 0.0  # per request: 503 SERVER_UNAVAILABLE
    expire_sessions_now: bool = False  # one shot: every token issued so far is invalid
    daily_api_limit: int = 1_000_000  # DailyApiRequests Max; 403 once spent
    fail_next_job: bool = False  # one shot: the next Bulk job processed ends Failed
    inprogress_polls: int = 0  # job info reports InProgress for this many more polls
    shuffle_results: bool = False  # Bulk ingest results in random order
    seed: int | None = None  # seeds the fault dice, for deterministic tests
    workflow_enabled: bool = True  # the Salesforce-side workflow filling sf_property_id__c
    workflow_delay_s: float = 2.0  # seconds from create to the workflow's update
    token_ttl_s: float = 7200.0  # lifetime of an issued access token
    set_audit_fields: bool = True  # org permission: insert may set CreatedDate etc.
    query_batch_size: int = 2000  # REST query page size (Sforce-Query-Options may lower it)
    bulk_chunk_size: int = 10_000  # records per transaction in Bulk ingest processing

    @classmethod
    def names(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    def updated(self, **changes: Any) -> Knobs:
        """A copy with `changes` applied; ValueError on an unknown knob or wrong type."""
        check(changes)
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# What each knob accepts: a rate (a probability, 0 to 1), a duration (finite, >= 0), a
# count (an integer >= 0), a size (an integer >= 1), a flag (true or false), the seed.
_RATES = ("lock_error_rate", "wrapped_lock_error_rate", "http_503_rate")
_DURATIONS = ("latency_ms", "workflow_delay_s", "token_ttl_s")
_COUNTS = ("daily_api_limit", "inprogress_polls")
_SIZES = ("query_batch_size", "bulk_chunk_size")


def check(changes: dict[str, Any]) -> None:
    """ValueError naming the knob and what it takes, for an unknown knob or a value out
    of its range (rates 0..1, durations >= 0, counts integers >= 0, sizes >= 1)."""
    unknown = set(changes) - Knobs.names()
    if unknown:
        raise ValueError(
            f"unknown emulator knob(s): {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(Knobs.names()))})"
        )
    defaults = Knobs()
    for name, value in changes.items():
        kind = type(getattr(defaults, name))
        if name == "seed":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError("knob seed must be an integer or null")
        elif kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"knob {name} must be true or false, got {value!r}")
        elif name in _COUNTS or name in _SIZES:
            least = 1 if name in _SIZES else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"knob {name} must be an integer >= {least}, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"knob {name} must be a number, got {value!r}")
        elif not math.isfinite(value):
            raise ValueError(f"knob {name} must be a finite number, got {value!r}")
        elif name in _RATES and not 0 <= value <= 1:
            raise ValueError(f"knob {name} is a rate: it must be within 0 and 1, got {value!r}")
        elif name in _DURATIONS and value < 0:
            raise ValueError(f"knob {name} must not be negative, got {value!r}")


def parse_header(text: str) -> dict[str, Any]:
    """The per-request knob overrides of an `X-Emulator-Knobs` header (a JSON object)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"X-Emulator-Knobs is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ValueError("X-Emulator-Knobs must be a JSON object")
    check(doc)
    return doc


class KnobBox:
    """The server-wide knobs and the shared dice, safe to use from many threads."""

    def __init__(self, knobs: Knobs) -> None:
        self._lock = threading.Lock()
        self.knobs = knobs
        self.rng = random.Random(knobs.seed)

    def set(self, **changes: Any) -> Knobs:
        with self._lock:
            self.knobs = self.knobs.updated(**changes)
            if "seed" in changes:
                self.rng = random.Random(changes["seed"])
            return self.knobs

    def take_one_shot(self, name: str) -> bool:
        """Read a one-shot knob and reset it (so it fires exactly once)."""
        with self._lock:
            value = bool(getattr(self.knobs, name))
            if value:
                self.knobs = dataclasses.replace(self.knobs, **{name: False})
            return value

    def roll(self, rng: random.Random, probability: float) -> bool:
        if probability <= 0:
            return False
        with self._lock:
            return rng.random() < probability
