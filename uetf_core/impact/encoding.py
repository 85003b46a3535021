"""Compact encoding of a test's block ids for the ledger (docs/impact.md, storage).

A set of interned block ids is stored sorted, as the differences between
consecutive ids in unsigned LEB128 varints: ids of one file are interned together,
so differences are small and most take one byte. The digest names a set so that
tests and runs sharing one store it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def encode_ids(ids: Iterable[int]) -> bytes:
    """Sorted, de-duplicated, delta-encoded varints; raises ValueError on a negative id."""
    out = bytearray()
    previous = 0
    for value in sorted(set(ids)):
        if value < 0:
            raise ValueError(f"block ids are not negative: {value}")
        delta = value - previous
        previous = value
        while True:
            byte = delta & 0x7F
            delta >>= 7
            if delta:
                out.append(byte | 0x80)
            else:
                out.append(byte)
                break
    return bytes(out)


def decode_ids(data: bytes) -> tuple[int, ...]:
    """The ids :func:`encode_ids` encoded, ascending; raises ValueError on truncated data."""
    ids = []
    value = shift = 0
    previous = 0
    pending = False
    for byte in data:
        value |= (byte & 0x7F) << shift
        pending = bool(byte & 0x80)
        if pending:
            shift += 7
            continue
        previous += value
        ids.append(previous)
        value = shift = 0
    if pending:
        raise ValueError("truncated block id set")
    return tuple(ids)


def set_digest(encoded: bytes) -> bytes:
    """A 16-byte name for an encoded set."""
    return hashlib.blake2b(encoded, digest_size=16).digest()


def block_key(path: str, qualname: str, fingerprint: str) -> int:
    """A block version's 63-bit key in the ledger: the same in every run and ledger.

    Content-addressed (as :func:`uetf_core.ids.test_key` is for a node id), so runs
    copied between ledgers keep their references without renumbering.
    """
    text = f"{path}\0{qualname}\0{fingerprint}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") >> 1


def set_key(encoded: bytes) -> int:
    """An encoded set's 63-bit key in the ledger."""
    return int.from_bytes(hashlib.blake2b(encoded, digest_size=8).digest(), "big") >> 1
