"""Block id sets round-trip through their compact encoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from uetf_core.impact import decode_ids, encode_ids, set_digest


@given(st.sets(st.integers(min_value=0, max_value=2**40)))
def test_round_trip(ids: set[int]) -> None:
    """Any set of non-negative ids decodes to itself, ascending."""
    assert decode_ids(encode_ids(ids)) == tuple(sorted(ids))


def test_close_ids_take_a_byte_each() -> None:
    """Forty ids of one file, interned together, take forty bytes."""
    ids = range(1000, 1040)
    encoded = encode_ids(ids)
    assert len(encoded) == 41  # the first id (1000) takes two bytes
    assert encode_ids(reversed(ids)) == encoded  # order and duplicates do not matter
    assert encode_ids([*ids, 1000]) == encoded


def test_digest_names_the_set() -> None:
    """Equal sets share a digest; different sets do not."""
    assert set_digest(encode_ids([3, 1])) == set_digest(encode_ids([1, 3]))
    assert set_digest(encode_ids([1, 3])) != set_digest(encode_ids([1, 4]))
    assert len(set_digest(b"")) == 16


@pytest.mark.parametrize(("data", "problem"), [(b"\x80", "truncated"), (b"\x01\xff", "truncated")])
def test_truncated_data_is_refused(data: bytes, problem: str) -> None:
    """A set cut short raises ValueError rather than returning wrong ids."""
    with pytest.raises(ValueError, match=problem):
        decode_ids(data)


def test_negative_ids_are_refused() -> None:
    """Ids are row ids: a negative one is a bug, refused."""
    with pytest.raises(ValueError, match="not negative"):
        encode_ids([-1])
