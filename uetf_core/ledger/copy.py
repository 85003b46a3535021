"""Copying runs between ledgers of any kind: ``uetf push`` (a spool to the shared ledger)
and ``uetf migrate`` (a team's SQLite ledger into PostgreSQL).

Runs are matched by run id, so copying again adds nothing. Each run is copied
whole, in one transaction on the target, with every row that belongs to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from uetf_core.ledger.base import Ledger
from uetf_core.ledger.migrations import index_documents

# Rows shared between runs: copied when missing.
_SHARED = (
    "tests",
    "workstreams",
    "phases",
    "steps",
    "dependencies",
    "analysis_cache",
    "impact_blocks",
    "impact_sets",
)


FINAL = ("passed", "failed", "errored", "abandoned")


def _delete_run(target: Ledger, run_id: str) -> None:
    with target.transaction() as db:
        pk = db.execute("SELECT pk FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0]
        for table in db.run_tables():
            db.execute(f"DELETE FROM {table} WHERE run_pk = ?", (pk,))
        db.execute("DELETE FROM runs WHERE pk = ?", (pk,))


@dataclass(frozen=True)
class CopyResult:
    added: int
    present: int


def copy_runs(source: Ledger, target: Ledger) -> CopyResult:
    """Copy every run of ``source`` (a SQLite ledger) that ``target`` does not have."""
    present = {run["run_id"]: run["state"] for run in target.list_runs()}
    reader = source.db
    run_tables = reader.run_tables()
    added = skipped = 0
    for table in _SHARED:
        columns = reader.columns(table)
        rows = reader.query(f"SELECT {', '.join(columns)} FROM {table}")
        if rows:
            with target.transaction() as db:
                db.executemany(db.insert_ignore(table, columns), [tuple(row) for row in rows])
    run_columns = reader.columns("runs")
    for run in reader.query(f"SELECT pk, {', '.join(run_columns)} FROM runs ORDER BY pk"):
        if run["run_id"] in present:
            # A run the target holds only in part (its server went away mid-run, the
            # spool holds all of it) is replaced; a finished one is left alone.
            if present[run["run_id"]] in FINAL or run["state"] not in FINAL:
                skipped += 1
                continue
            _delete_run(target, run["run_id"])
        with target.transaction() as db:
            marks = ", ".join("?" * len(run_columns))
            db.execute(
                f"INSERT INTO runs ({', '.join(run_columns)}) VALUES ({marks})",
                tuple(run[column] for column in run_columns),
            )
            new_pk = db.execute(
                "SELECT pk FROM runs WHERE run_id = ?", (run["run_id"],)
            ).fetchone()[0]
            for table in run_tables:
                columns = reader.columns(table)
                rows = reader.query(
                    f"SELECT {', '.join(columns)} FROM {table} WHERE run_pk = ?", (run["pk"],)
                )
                if not rows:
                    continue
                at = columns.index("run_pk")
                db.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)})"
                    f" VALUES ({', '.join('?' * len(columns))})",
                    [(*values[:at], new_pk, *values[at + 1 :]) for values in map(tuple, rows)],
                )
        added += 1
    documents = reader.query(
        "SELECT kind, format, path, sha256, size_bytes, run_ids_json, created_at FROM documents"
    )
    for document in documents:
        known = target.db.query(
            "SELECT 1 FROM documents WHERE sha256 = ? AND path = ?",
            (document["sha256"], document["path"]),
        )
        if not known:
            with target.transaction() as db:
                db.execute(
                    "INSERT INTO documents (kind, format, path, sha256, size_bytes, run_ids_json,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    tuple(document),
                )
                index_documents(db)
    return CopyResult(added, skipped)
