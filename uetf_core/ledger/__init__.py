"""The ledger: where every run is recorded. One interface, several back ends.

Layers, from the engine up: a connection per back end (``sqlite_db``,
``postgres_db``: transactions and the dialect), the write path (``writes``), the
queries by concept (``queries``), put together as one ledger class (``sql``)
that both back ends are; ``Ledger`` (``base``) is what the rest of UETF sees.
"""

from __future__ import annotations

from pathlib import Path

from uetf_core.ledger.base import Batch, Ledger, NewRun
from uetf_core.ledger.migrations import SCHEMA_VERSION
from uetf_core.ledger.sqlite import SqliteLedger

__all__ = ["SCHEMA_VERSION", "Batch", "Ledger", "NewRun", "SqliteLedger", "open_ledger"]


def open_ledger(location: str) -> Ledger:
    """Open (creating or migrating as needed) the ledger at ``location``.

    ``location`` is a file path, ``sqlite:PATH``, or a ``postgresql://`` URL or
    libpq ``keyword=value`` string (with the ``postgres`` extra installed); other
    URL schemes, and URL-shaped strings, are refused with one line (never a file).
    """
    from uetf_core.ledger.location import is_postgres, sqlite_path

    if is_postgres(location):
        from uetf_core.ledger.postgres import PostgresLedger

        return PostgresLedger(location)
    return SqliteLedger(Path(sqlite_path(location)))


def spool_location(rootdir: Path) -> Path:
    """A new local spool file for a run whose ledger server went away."""
    import os
    import time

    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return rootdir / ".ledger" / "spool" / f"{stamp}-{os.getpid()}.db"
