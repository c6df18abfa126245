"""The generator's own checksum (scalar and vectorised) against the models' canonical one."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from propsync import sfid
from propsync.generate import ids

ALNUM = st.text(alphabet=ids.BASE62, min_size=15, max_size=15)


@given(ALNUM)
def test_suffix_matches_the_models(id15: str) -> None:
    assert ids.suffix(id15) == sfid.checksum(id15)
    assert ids.to18(id15) == sfid.to18(id15)


@given(st.one_of(st.none(), st.text(max_size=22), ALNUM, ALNUM.map(ids.to18)), st.sampled_from(
    ["", " ", "\t", " \r\n"]))  # fmt: skip
def test_normalize_matches_the_models(raw: str | None, pad: str) -> None:
    padded = None if raw is None else pad + raw + pad
    assert ids.normalize(padded) == sfid.normalize(padded)


@given(st.lists(st.integers(min_value=0, max_value=62**10 - 1), min_size=1, max_size=50))
def test_vectorised_mint_matches_the_scalar_one(numbers: list[int]) -> None:
    minted = ids.codes_to_strings(ids.np_mint("a0BDn", np.array(numbers, dtype=np.int64)))
    assert list(minted) == [ids.mint("a0BDn", n) for n in numbers]
    assert all(sfid.normalize(m) == m for m in minted)


def test_known_ids() -> None:
    assert ids.to18("a01Dn00000HHUan") == "a01Dn00000HHUanIAH"
    assert ids.normalize(" a01Dn00000HHUaniah ") == "a01Dn00000HHUanIAH"
    assert ids.normalize("a01Dn00000HHUanIAB") is None
    assert ids.normalize("a01Dn00000ABC") is None
    assert ids.normalize("   ") is None
