"""An independent reading of the plan's Step 4.1 in Python, for the selection tests:
each stratum's rule, and the selection the SQL must make (same seeded order: md5 of
seed and key), computed from the queue views' rows."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

Row = dict[str, Any]

FEATURES = ("idv_enabled", "bank_linking_enabled", "payroll_enabled", "income_insights_enabled")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def create_rules(now: dt.datetime) -> list[tuple[str, int, Callable[[Row], bool]]]:
    return [
        ("Has Features", 10, lambda r: any(r[f] for f in FEATURES)),
        ("No Features", 10, lambda r: not any(r[f] for f in FEATURES)),
        ("Recently Created", 10, lambda r: r["created_at"] >= now - dt.timedelta(days=30)),
        ("Old Properties", 10, lambda r: r["created_at"] < _year_before(now)),
    ]


def _year_before(now: dt.datetime) -> dt.datetime:
    return now.replace(year=now.year - 1)


UPDATE_RULES: list[tuple[str, int, Callable[[Row], bool]]] = [
    ("Single Property", 10, lambda r: r["is_multi_property"] is False and r["idv_enabled"]),
    ("Multi-Property (2)", 15, lambda r: r["active_property_count"] == 2),
    ("Multi-Property (3+)", 5, lambda r: r["active_property_count"] >= 3),
    (
        "Feature Mismatch",
        10,
        lambda r: r["has_any_features_enabled"] and r["has_changes_since_last_sync"],
    ),
    ("No Features", 10, lambda r: r["has_any_features_enabled"] is False),
]


def expected_selection(
    queue: str, rows: list[Row], seed: int, now: dt.datetime
) -> dict[int, tuple[str, bool]]:
    """rds_property_id -> (pilot_reason, filled), as Step 4.1 picks them."""
    key = "rds_property_id" if queue == "create" else "snappt_property_id_c"
    order = sorted(rows, key=lambda r: _md5(f"{seed}:{r[key]}"))
    taken: dict[int, tuple[str, bool]] = {}
    targets: list[tuple[str, int]] = []
    rules = create_rules(now) if queue == "create" else UPDATE_RULES
    for reason, target, rule in rules:
        picks = [r for r in order if r["rds_property_id"] not in taken and rule(r)][:target]
        taken.update({r["rds_property_id"]: (reason, False) for r in picks})
        targets.append((reason, target - len(picks)))
    if queue == "create":
        free = [r for r in order if r["rds_property_id"] not in taken]
        companies = sorted(
            {r["company_id"] for r in free if r["company_id"] is not None},
            key=lambda c: _md5(f"{seed}:company:{c}"),
        )[:10]
        nth: dict[Any, int] = {}
        ranked = []
        for r in free:
            if r["company_id"] in companies:
                nth[r["company_id"]] = nth.get(r["company_id"], 0) + 1
                ranked.append((nth[r["company_id"]], _md5(f"{seed}:{r[key]}"), r))
        picks = [r for _, _, r in sorted(ranked, key=lambda t: (t[0], t[1]))][:10]
        taken.update({r["rds_property_id"]: ("Diverse Companies", False) for r in picks})
        targets.append(("Diverse Companies", 10 - len(picks)))
    rest = [r for r in order if r["rds_property_id"] not in taken]
    for reason, missing in targets:
        for r in rest[:missing]:
            taken[r["rds_property_id"]] = (reason, True)
        rest = rest[missing:]
    return taken
