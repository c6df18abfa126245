"""A generated scenario in a running emulator (tests/sync/orgs.py) with a pilot selected,
and a hand on the org as a user other than the integration user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from propsync.emulator import Emulator
from propsync.rollout.pilot_select import select
from tests.sync.orgs import Org, make_org

SCALE = 1200
PILOT = "p1"


class OrgUser:
    """Raw REST calls to the emulated org as one of its users (the workflow user is
    "someone else": not the integration user propsync writes as)."""

    def __init__(self, emu: Emulator, user_id: str) -> None:
        self.s = emu.session()
        self.base = f"{emu.instance_url}/services/data/v62.0/sobjects/product_property__c"
        self.headers = {"Authorization": f"Bearer {emu.org.issue_token(user_id)}"}

    def update(self, record_id: str, **fields: Any) -> None:
        r = self.s.patch(f"{self.base}/{record_id}", json=fields, headers=self.headers, timeout=30)
        assert r.status_code == 204, r.text

    def create(self, **fields: Any) -> str:
        r = self.s.post(f"{self.base}/", json=fields, headers=self.headers, timeout=30)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def delete(self, record_id: str) -> None:
        r = self.s.delete(f"{self.base}/{record_id}", headers=self.headers, timeout=30)
        assert r.status_code == 204, r.text


def with_rollout(org: Org, **settings: str) -> None:
    """Add a [rollout] section to the org's propsync.toml and reopen its workspace."""
    lines = ["", "[rollout]", *[f'{k} = "{v}"' for k, v in settings.items()], ""]
    with org.config_path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    org.reopen()


@pytest.fixture
def pilot_org(tmp_path: Path) -> Iterator[Callable[..., Org]]:
    """make(scale=, seed=, sync=, rollout=, **knobs) -> an Org with the pilot PILOT
    selected (seed 3); closed after the test."""
    made: list[Org] = []

    def make(*, rollout: dict[str, str] | None = None, select_pilot: bool = True, **kw: Any) -> Org:
        kw.setdefault("scale", SCALE)
        org = make_org(tmp_path / f"org{len(made)}", **kw)
        made.append(org)
        if rollout:
            with_rollout(org, **rollout)
        if select_pilot:
            select(org.ws, PILOT, seed=3)
        return org

    try:
        yield make
    finally:
        for org in made:
            org.close()
