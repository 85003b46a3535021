"""Identifiers: run ids people can read and sort, test keys the ledger can index."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence


def new_run_id(now: float | None = None) -> str:
    """A run id such as ``20261125T031600-a1b2c3``: UTC start time, then 6 random hex digits."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{os.urandom(3).hex()}"


def host_name() -> str:
    """This machine's name, as ``socket.gethostname()`` gives it.

    ``os.uname`` answers without importing ``socket`` (a cost at every pytest
    start); Windows has no ``os.uname``.
    """
    try:
        return os.uname().nodename
    except AttributeError:  # pragma: no cover - Windows
        import socket

        return socket.gethostname()


def test_key(node_id: str) -> int:
    """A stable signed 63-bit integer for a node id, the same in every run and ledger.

    The ledger stores this instead of the id text in each record, which keeps
    a record small; a collision needs about three billion distinct tests.
    """
    digest = hashlib.blake2b(node_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def collection_digest(node_ids: Sequence[str]) -> str:
    """A digest of the collected node ids, in order: equal digests, the same collection.

    A run collected exactly as the newest one takes that run's test keys instead
    of hashing every node id again (a blake2b per test; this digest is one
    SHA-256 over the joined ids).
    """
    text = "\0".join(node_ids).encode("utf-8", "surrogatepass")
    return hashlib.sha256(text, usedforsecurity=False).hexdigest()
