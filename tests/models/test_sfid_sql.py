"""R2 in SQL (`rds_properties_normalized`, `salesforce_matched_records`) against
propsync.sfid on thousands of random ids (the Python against a reference:
tests/test_sfid.py)."""

from __future__ import annotations

import random

from propsync import models, sfid
from tests.test_sfid import ALNUM, reference_suffix


def _random_raw(rng: random.Random) -> str | None:
    id15 = "".join(rng.choice(ALNUM) for _ in range(15))
    full = id15 + reference_suffix(id15)
    kind = rng.randrange(9)
    if kind == 0:
        return id15
    if kind == 1:
        return full
    if kind == 2:
        return full[:15] + full[15:].lower()
    if kind == 3:
        return rng.choice([" ", "\t", "\r\n"]) + rng.choice([id15, full]) + " "
    if kind == 4:
        return id15 + "".join(rng.choice(ALNUM) for _ in range(3))  # usually wrong
    if kind == 5:
        return rng.choice([None, "", "  ", "\t"])
    if kind == 6:
        return id15[: rng.randrange(1, 15)]
    if kind == 7:
        return id15[:14] + rng.choice("-_.é ")
    return full.swapcase()  # a different id; its suffix is wrong for it (usually)


def test_sql_agrees_with_python_on_random_ids(scenario) -> None:
    rng = random.Random(20261126)
    raws = [_random_raw(rng) for _ in range(4000)]
    for pid, raw in enumerate(raws, start=1):
        scenario.prop(pid, sfdc_id=raw)
        # The Salesforce side normalises sf_property_id__c with its own copy of the SQL.
        scenario.record(pid, sf_property_id=raw)
    scenario.build()
    rows = scenario.engine.rows(
        "SELECT e.rds_property_id, e.sfdc_id, e.has_valid_sfdc_id, m.sf_property_id_normalized"
        " FROM rds_properties_enriched e JOIN salesforce_matched_records m"
        " ON m.rds_property_id = e.rds_property_id ORDER BY CAST(e.rds_property_id AS BIGINT)"
    )
    assert len(rows) == len(raws)
    valid = 0
    for (pid, sql_id, flag, sf_side), raw in zip(rows, raws, strict=True):
        expected = sfid.normalize(raw)
        assert sql_id == expected, (pid, raw)
        assert sf_side == expected, (pid, raw)
        assert flag == (1 if expected else 0)
        valid += expected is not None
    # The random mix must exercise both outcomes in bulk.
    assert 1000 < valid < 3500
    assert models.show(scenario.engine, "sync_exceptions", None)  # invalid ones reported
