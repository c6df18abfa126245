"""Audits as SQL: each check is a query under `models/checks/` returning the offending rows.

Zero rows means pass. Pilot and rollout gates, the health check and the tests reuse them.
The first comment line of each file says what the check guarantees.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from propsync.errors import UsageError, ValidationFailed
from propsync.models.runner import _read_dir

if TYPE_CHECKING:
    from propsync.engines import Engine


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    sql: str


@dataclass
class CheckResult:
    """One check's outcome: how many rows offend, and the first few of them."""

    name: str
    description: str
    offending: int
    sample: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.offending == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "passed": self.passed,
            "offending": self.offending,
            "sample": self.sample,
        }


@functools.cache
def all_checks() -> dict[str, Check]:
    """Every check, keyed by name (the file name without `.sql`)."""
    out = {}
    for name, text in _read_dir("checks").items():
        first = text.lstrip().splitlines()[0]
        description = first.removeprefix("--").strip() if first.startswith("--") else name
        out[name] = Check(name, description, text.strip().rstrip(";"))
    return out


def run_check(engine: Engine, name: str, *, sample: int = 20) -> CheckResult:
    """Run one check by name; the models must be built."""
    checks = all_checks()
    if name not in checks:
        raise UsageError(f"unknown check {name!r}; known checks: {', '.join(checks)}")
    check = checks[name]
    offending = int(engine.scalar(f"SELECT COUNT(*) FROM ({check.sql}) AS offending"))
    rows = (
        engine.dicts(f"SELECT * FROM ({check.sql}) AS offending LIMIT {int(sample)}")
        if offending
        else []
    )
    return CheckResult(check.name, check.description, offending, rows)


def run_checks(engine: Engine, *, sample: int = 20) -> list[CheckResult]:
    """Run every check; the models must be built."""
    return [run_check(engine, name, sample=sample) for name in all_checks()]


def require_all(engine: Engine) -> list[CheckResult]:
    """Run every check and raise ValidationFailed naming those that found rows."""
    results = run_checks(engine)
    failed = [r for r in results if not r.passed]
    if failed:
        names = ", ".join(f"{r.name} ({r.offending} rows)" for r in failed)
        raise ValidationFailed(f"model checks failed: {names}")
    return results
