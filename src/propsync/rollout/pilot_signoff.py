"""`propsync pilot signoff`: who approved which validation (`signoffs`, naming the
validation id), refused while the pilot's latest validation has failures; and the gate
the full rollout reads, `latest_signed_validation`.

    validation = latest_signed_validation(ws, "pilot")
    if validation is None and not force:
        raise UsageError("no passing, signed-off pilot")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from propsync.errors import PropsyncError, Terminal, UsageError
from propsync.state import Signoff, Validation
from propsync.workspace import Workspace


class SignoffRefused(PropsyncError, Terminal):
    """The validation to sign has failures, or there is none (exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class SignedValidation:
    """A passing validation and the approvals recorded on it."""

    validation: Validation
    signoffs: list[Signoff]

    def to_json(self) -> dict[str, Any]:
        return {
            "validation": self.validation.to_json(),
            "signoffs": [s.to_json() for s in self.signoffs],
        }


def signoff(
    ws: Workspace,
    name: str,
    *,
    by: str,
    note: str | None = None,
    role: str | None = None,
) -> SignedValidation:
    """Record `by`'s approval of the pilot's latest validation; SignoffRefused while it
    has failures or when the pilot was never validated."""
    if not by or not by.strip():
        raise UsageError("--by is empty: say who signs off")
    state = ws.state()
    if not state.pilots.members(name):
        raise UsageError(f"no pilot set {name!r} (see `propsync pilot select`)")
    latest = state.pilot_validations.latest_validation(name)
    if latest is None:
        raise SignoffRefused(
            f"pilot {name!r} has not been validated: run `propsync pilot validate --name {name}`"
        )
    if not latest.passed:
        failed = [str(i.get("name")) for i in latest.items if not i.get("passed")]
        raise SignoffRefused(
            f"pilot {name!r}: validation {latest.validation_id} has {latest.failed_items}"
            f" failed item(s) ({'; '.join(failed)}); fix them, re-run the pilot and validate"
            " again before signing off"
        )
    state.signoffs.add(
        name, who=by.strip(), role=role, decision="approve", comment=note,
        validation_id=latest.validation_id,
    )  # fmt: skip
    return SignedValidation(latest, _approvals(ws, name, latest.validation_id))


def _approvals(ws: Workspace, name: str, validation_id: str) -> list[Signoff]:
    return [
        s
        for s in ws.state().signoffs.for_pilot(name)
        if s.validation_id == validation_id and s.decision == "APPROVED"
    ]


def latest_signed_validation(ws: Workspace, name: str) -> SignedValidation | None:
    """The pilot's latest validation when it passed and someone approved it (a sign-off
    naming it), else None: the gate of `propsync rollout run`. A newer validation,
    passing or not, replaces the older one, so re-validating after a sign-off needs a
    new sign-off."""
    latest = ws.state().pilot_validations.latest_validation(name)
    if latest is None or not latest.passed:
        return None
    approvals = _approvals(ws, name, latest.validation_id)
    return SignedValidation(latest, approvals) if approvals else None
