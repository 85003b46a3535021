"""The ledger's numbits decoder gives exactly what coverage.py's own gives."""

from __future__ import annotations

from coverage.numbits import numbits_to_nums as coverage_decode
from coverage.numbits import nums_to_numbits
from hypothesis import given
from hypothesis import strategies as st

from uetf_core.ledger.numbits import numbits_to_nums


@given(st.sets(st.integers(min_value=0, max_value=5000)))
def test_decodes_what_coverage_py_encodes(lines: set[int]) -> None:
    packed = nums_to_numbits(lines)
    assert numbits_to_nums(packed) == sorted(lines) == coverage_decode(packed)


@given(st.binary(max_size=300))
def test_any_bytes_decode_as_coverage_py_decodes_them(packed: bytes) -> None:
    # Trailing zero bytes, all-zero blobs and every byte value included.
    assert numbits_to_nums(packed) == coverage_decode(packed)


def test_empty_and_edge_values() -> None:
    assert numbits_to_nums(b"") == []
    assert numbits_to_nums(b"\x00\x00") == []
    assert numbits_to_nums(b"\xff") == list(range(8))
    assert numbits_to_nums(b"\x00\x81") == [8, 15]
