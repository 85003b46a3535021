"""Merging SQLite ledgers: the ledgers CI jobs upload as artifacts, into one.

Runs are identified by their run id, so merging is idempotent: a run already
in the target is skipped, whole. Every table that belongs to a run is copied
with the run's new key; tests, workstreams and cached analyses are shared
rows and are added when missing. A source written by a newer UETF, or a file
that is not a ledger, is refused before anything is written; an older source
is migrated in a temporary copy, never in place.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from uetf_core.errors import LedgerError
from uetf_core.ledger.base import Ledger
from uetf_core.ledger.connection import Connection
from uetf_core.ledger.migrations import SCHEMA_VERSION, index_documents
from uetf_core.ledger.sqlite import SqliteLedger
from uetf_core.ledger.sqlite_file import probe

# Shared rows: (table, how a row that is already there is treated).
_SHARED = (
    ("tests", "INSERT OR IGNORE"),
    ("workstreams", "INSERT OR IGNORE"),
    ("phases", "INSERT OR IGNORE"),
    ("dependencies", "INSERT OR IGNORE"),
    ("analysis_cache", "INSERT OR IGNORE"),
    ("impact_blocks", "INSERT OR IGNORE"),
    ("impact_sets", "INSERT OR IGNORE"),
)


@dataclass(frozen=True)
class MergeResult:
    source: str
    added: int
    present: int


def _columns(db: Connection, schema: str, table: str) -> list[tuple[str, bool]]:
    """(name, is the integer primary key) of each column of ``table``."""
    rows = db.execute(f"PRAGMA {schema}.table_info({table})").fetchall()
    return [
        (row[1], bool(row[5]) and row[2].upper() == "INTEGER" and row[1] == "pk") for row in rows
    ]


def merge_into(target: Ledger, source: Path) -> MergeResult:
    """Copy every run of ``source`` that ``target`` (a file, or a server) does not have."""
    if not source.is_file():
        raise LedgerError(f"{source}: no such ledger file")
    if target.path is not None and source.resolve() == target.path.resolve():
        raise LedgerError(f"{source}: is the target ledger itself")
    version = probe(source)  # refuses what is not a ledger, or is newer, untouched
    with tempfile.TemporaryDirectory(prefix="uetf-merge-") as scratch:
        if version < SCHEMA_VERSION:
            copy = Path(scratch) / "source.db"
            shutil.copyfile(source, copy)
            SqliteLedger(copy).close()  # migrated in the copy
            source = copy
        if not isinstance(target, SqliteLedger):  # a server: no file to attach, rows are sent
            return _send(target, source)
        return _copy(target, source)


def _send(target: Ledger, source: Path) -> MergeResult:
    """The runs of ``source`` into a ledger server, as ``uetf push`` sends a spool."""
    from uetf_core.ledger.copy import copy_runs

    ledger = SqliteLedger(source)
    try:
        result = copy_runs(ledger, target)
    finally:
        ledger.close()
    return MergeResult(str(source), result.added, result.present)


def _copy(target: SqliteLedger, source: Path) -> MergeResult:
    with target.attached(source), target.transaction() as db:
        for table, verb in _SHARED:
            db.execute(f"{verb} INTO main.{table} SELECT * FROM src.{table}")
        db.execute(
            "INSERT INTO main.steps SELECT * FROM src.steps WHERE true"
            " ON CONFLICT (workstream_id, step_id) DO UPDATE SET state = excluded.state"
            " WHERE steps.state = 'running'"
        )
        run_columns = [name for name, is_pk in _columns(db, "main", "runs") if not is_pk]
        present = {row[0] for row in db.execute("SELECT run_id FROM main.runs")}
        mapping: dict[int, int] = {}
        skipped = 0
        for pk, run_id in db.execute("SELECT pk, run_id FROM src.runs ORDER BY pk").fetchall():
            if run_id in present:
                skipped += 1
                continue
            names = ", ".join(run_columns)
            db.execute(
                f"INSERT INTO main.runs ({names}) SELECT {names} FROM src.runs WHERE pk = ?",
                (pk,),
            )
            new = db.execute("SELECT pk FROM main.runs WHERE run_id = ?", (run_id,)).fetchone()
            mapping[pk] = int(new[0])
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name != 'runs'"
            )
            if any(name == "run_pk" for name, _ in _columns(db, "main", row[0]))
        ]
        for table in tables:
            columns = [name for name, is_pk in _columns(db, "main", table) if not is_pk]
            selected = ", ".join("?" if name == "run_pk" else name for name in columns)
            for old, new in mapping.items():
                db.execute(
                    f"INSERT INTO main.{table} ({', '.join(columns)})"
                    f" SELECT {selected} FROM src.{table} WHERE run_pk = ?",
                    (new, old),
                )
        db.execute(
            "INSERT INTO main.documents (kind, format, path, sha256, size_bytes,"
            " run_ids_json, created_at) SELECT kind, format, path, sha256, size_bytes,"
            " run_ids_json, created_at FROM src.documents d WHERE NOT EXISTS"
            " (SELECT 1 FROM main.documents m WHERE m.sha256 = d.sha256 AND m.path = d.path)"
        )
        index_documents(db)
    return MergeResult(str(source), len(mapping), skipped)
