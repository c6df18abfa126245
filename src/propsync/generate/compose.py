"""How many properties of each kind the bulk holds, so the totals hit the plan's numbers.

At the default scale (9,061) the scenario has exactly the plan's figures: 1,081 to
create (507 with features), 7,980 records to update, 2,410 properties sharing an
sfdc_id, 799 feature mismatches. Other scales get the same figures scaled by
scale / 9,061 (rounded). The edge-case block contributes its own share (counted, not
assumed); the bulk is sized to fill the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from propsync.errors import UsageError
from propsync.generate.bulk import ChunkSpec

PLAN_SCALE = 9_061
PLAN = {
    "properties_to_create": 1_081,
    "properties_to_create_with_features": 507,
    "properties_sharing_sfdc_id": 2_410,
    "feature_mismatches": 799,
}
# Share of shared-id properties in groups of 3, 4 and 5 ACTIVE members (rest: pairs).
_GROUP_SHARES = {3: 0.22, 4: 0.10, 5: 0.08}


@dataclass(frozen=True)
class Targets:
    create: int
    create_with_features: int
    update: int
    sharing: int
    mismatches: int


def targets(scale: int) -> Targets:
    """The plan's numbers at `scale` (exact at 9,061)."""
    f = scale / PLAN_SCALE
    create = round(PLAN["properties_to_create"] * f)
    return Targets(
        create=create,
        create_with_features=round(PLAN["properties_to_create_with_features"] * f),
        update=scale - create,
        sharing=round(PLAN["properties_sharing_sfdc_id"] * f),
        mismatches=round(PLAN["feature_mismatches"] * f),
    )


def _split(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


def chunk_specs(scale: int, special: Mapping[str, Any], chunk_size: int) -> list[ChunkSpec]:
    """The bulk's chunks, given what the edge-case block already contributes."""
    t = targets(scale)
    create = t.create - special["properties_to_create"]
    with_features = t.create_with_features - special["properties_to_create_with_features"]
    update = t.update - special["properties_to_update"]
    sharing = t.sharing - special["properties_sharing_sfdc_id"]
    mismatches = t.mismatches - special["feature_mismatches"]

    sizes = {s: max(1, round(share * sharing / s)) for s, share in _GROUP_SHARES.items()}
    rest = sharing - sum(s * g for s, g in sizes.items())
    if rest % 2:
        sizes[3] -= 1
        rest += 3
    sizes[2] = rest // 2

    # Groups with one member still to create: pairs first, a few triples.
    in_create = round(0.1 * create)
    cf = round(in_create * with_features / create) if create else 0
    create3 = min(sizes[3] // 3, in_create // 4)
    create2 = in_create - create3
    cf3 = min(create3, cf)
    cf2, cn3 = cf - cf3, create3 - cf3
    cn2 = create2 - cf2
    # Groups where one member has the features and the others' records miss them.
    from_groups = round(0.5 * mismatches)
    h4 = min(sizes[4] // 3, from_groups // 10)
    h3 = min((sizes[3] - create3) // 3, (from_groups - 3 * h4) // 5)
    h2 = from_groups - 3 * h4 - 2 * h3
    group_plan = {
        ("CF", 2): cf2,
        ("CN", 2): cn2,
        ("CF", 3): cf3,
        ("CN", 3): cn3,
        ("H", 2): h2,
        ("H", 3): h3,
        ("H", 4): h4,
        ("U", 2): sizes[2] - create2 - h2,
        ("U", 3): sizes[3] - create3 - h3,
        ("U", 4): sizes[4] - h4,
        ("U", 5): sizes[5],
    }
    singles_matched = update - (sharing - in_create)
    stale = mismatches - from_groups
    counts = {
        "synced": singles_matched - stale,
        "stale": stale,
        "create_feat": with_features - cf,
        "create_plain": create - in_create - (with_features - cf),
        "inactive": round(0.05 * scale),
    }
    negative = [k for k, v in {**counts, **{str(k): v for k, v in group_plan.items()}}.items()
                if v < 0]  # fmt: skip
    if negative or sizes[2] < 1:
        raise UsageError(
            f"scale {scale} is too small for the scenario's edge cases "
            f"(no room for {', '.join(negative) or 'pairs'}); use --scale 250 or more"
        )
    n_chunks = max(1, -(-scale // chunk_size))
    specs = []
    for i in range(n_chunks):
        specs.append(
            ChunkSpec(
                index=i,
                synced=_split(counts["synced"], n_chunks, i),
                stale=_split(counts["stale"], n_chunks, i),
                create_feat=_split(counts["create_feat"], n_chunks, i),
                create_plain=_split(counts["create_plain"], n_chunks, i),
                inactive=_split(counts["inactive"], n_chunks, i),
                groups=tuple(
                    (kind, size, _split(g, n_chunks, i))
                    for (kind, size), g in group_plan.items()
                    if _split(g, n_chunks, i)
                ),
            )
        )
    return specs
