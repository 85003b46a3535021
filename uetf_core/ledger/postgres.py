"""The PostgreSQL ledger: one ledger that many CI machines write to and read from at once.

The same ledger class as SQLite's over another connection (``postgres_db``):
the queries are written in SQL both engines run, and what the engines spell
differently is said once by each connection. The schema comes from the same
numbered migrations (``postgres_schema``).
"""

from __future__ import annotations

from uetf_core.ledger.postgres_db import RETRIES, PostgresDb
from uetf_core.ledger.postgres_schema import MIGRATION_LOCK, migration_ddl
from uetf_core.ledger.sql import SqlLedger

__all__ = ["RETRIES", "PostgresLedger", "migration_ddl"]

_MIGRATION_LOCK = MIGRATION_LOCK  # the name the tests of concurrent migrations use


class PostgresLedger(SqlLedger):
    """A ledger in a PostgreSQL database, reached by a ``postgresql://`` URL."""

    # A server can be lost mid-run: the recorder keeps its writes to replay them
    # into a local spool (uetf_core.run.RunRecorder).
    may_go_away = True
    db: PostgresDb

    def __init__(self, url: str) -> None:
        super().__init__(PostgresDb(url), url, None)
        self.url = url
