"""The embedded ledger: one SQLite file, safe for several processes at once.

The file's checks and errors are in ``sqlite_file``, its connection in
``sqlite_db``; the writes and queries are ``SqlLedger``'s, shared with PostgreSQL.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from uetf_core.ledger.sql import SqlLedger
from uetf_core.ledger.sqlite_db import SqliteDb
from uetf_core.ledger.sqlite_file import APPLICATION_ID

__all__ = ["APPLICATION_ID", "SqliteLedger"]


class SqliteLedger(SqlLedger):
    """A ledger in one SQLite file."""

    db: SqliteDb

    def __init__(self, path: Path, *, read_only: bool = False, check: str = "run") -> None:
        """Open the ledger at ``path``, creating or migrating it unless ``read_only``.

        ``check`` is how much of an existing file is checked for damage before
        anything is written (see :func:`sqlite_file.probe`); ``read_only`` opens a
        connection that cannot write, for commands that only read (read-only media too).
        """
        super().__init__(SqliteDb(path, read_only=read_only, check=check), str(path), path)
        self.read_only = read_only

    @property
    def version(self) -> int:
        """The schema version the file had when opened (after any migration)."""
        return self.db.version

    def attached(self, source: Path) -> contextlib.AbstractContextManager[None]:
        """Another ledger file readable as schema ``src`` while the ``with`` lasts."""
        return self.db.attached(source, "src")
