"""The ledger: where every run is recorded. One interface, several back ends."""

from __future__ import annotations

from pathlib import Path

from uetf_core.errors import LedgerError
from uetf_core.ledger.base import Batch, Ledger, NewRun
from uetf_core.ledger.migrations import SCHEMA_VERSION
from uetf_core.ledger.sqlite import SqliteLedger

__all__ = ["SCHEMA_VERSION", "Batch", "Ledger", "NewRun", "SqliteLedger", "open_ledger"]


def open_ledger(location: str) -> SqliteLedger:  # a PostgresLedger is one too
    """Open (creating or migrating as needed) the ledger at ``location``.

    ``location`` is a file path, ``sqlite:PATH``, or a ``postgresql://`` URL (with
    the ``postgres`` extra installed); other URL schemes are refused with one line.
    """
    if location.startswith(("postgresql://", "postgres://")):
        from uetf_core.ledger.postgres import PostgresLedger

        return PostgresLedger(location)
    if location.startswith("sqlite:"):
        location = location.removeprefix("sqlite:").removeprefix("//")
    elif "://" in location:
        scheme = location.split("://", 1)[0]
        message = (
            f"ledger URL scheme {scheme!r} is not supported by this release; "
            "use a file path for the SQLite ledger"
        )
        raise LedgerError(message)
    return SqliteLedger(Path(location))


def spool_location(rootdir: Path) -> Path:
    """A new local spool file for a run whose ledger server went away."""
    import os
    import time

    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return rootdir / ".ledger" / "spool" / f"{stamp}-{os.getpid()}.db"
