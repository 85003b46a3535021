"""Rows shared by runs, deleted by ``prune`` once no run left uses them.

Most of a run's rows carry its ``run_pk`` and go with it. Three kinds are shared
and found another way: the reports' records (``documents``, listed by run id in
``document_runs``), and test impact analysis's block versions and sets of them
(``impact_blocks``, ``impact_sets``: a set is named by ``impact_tests.set_key`` or
``impact_runs.import_time_set``, a block only inside a set's encoded keys). Each
commit that changes code adds block and set rows, so without this a pruned
ledger would keep growing. Node ids (``tests``) stay: one short row per test
ever seen, named from many places, among them each run's JSON task list.
"""

from __future__ import annotations

from uetf_core.ledger.connection import Connection, in_chunks


def delete_orphans(db: Connection, run_ids: list[str]) -> dict[str, int]:
    """Delete the shared rows that only the runs ``run_ids`` (being deleted in the
    same transaction, their per-run rows already gone) used; rows deleted by table."""
    deleted = {"documents": _documents(db, run_ids)}
    deleted["impact_sets"] = _keys_deleted(
        db, "impact_sets", "set_key", _all_keys(db, "impact_sets", "set_key") - _used_sets(db)
    )
    if deleted["impact_sets"]:  # a block is only ever used through a set
        deleted["impact_blocks"] = _keys_deleted(
            db,
            "impact_blocks",
            "block_key",
            _all_keys(db, "impact_blocks", "block_key") - _used_blocks(db),
        )
    return {table: count for table, count in deleted.items() if count}


def _documents(db: Connection, run_ids: list[str]) -> int:
    """Forget the runs in ``document_runs``; a report none of whose runs is left goes."""
    touched: set[int] = set()
    for chunk, marks in in_chunks(run_ids):
        touched.update(
            pk
            for (pk,) in db.query(
                f"SELECT document_pk FROM document_runs WHERE run_id IN ({marks})", chunk
            )
        )
        db.execute(f"DELETE FROM document_runs WHERE run_id IN ({marks})", chunk)
    still_used: set[int] = set()
    for pks, marks in in_chunks(sorted(touched)):
        still_used.update(
            pk
            for (pk,) in db.query(
                f"SELECT DISTINCT document_pk FROM document_runs WHERE document_pk IN ({marks})",
                pks,
            )
        )
    return _keys_deleted(db, "documents", "pk", touched - still_used)


def _all_keys(db: Connection, table: str, column: str) -> set[int]:
    return {key for (key,) in db.query(f"SELECT {column} FROM {table}")}


def _used_sets(db: Connection) -> set[int]:
    return {
        key
        for (key,) in db.query(
            "SELECT set_key FROM impact_tests WHERE set_key IS NOT NULL"
            " UNION SELECT import_time_set FROM impact_runs WHERE import_time_set IS NOT NULL"
        )
    }


def _used_blocks(db: Connection) -> set[int]:
    from uetf_core.impact.encoding import decode_ids

    used: set[int] = set()
    for (data,) in db.query("SELECT block_keys FROM impact_sets"):
        used.update(decode_ids(bytes(data)))
    return used


def _keys_deleted(db: Connection, table: str, column: str, keys: set[int]) -> int:
    count = 0
    for chunk, marks in in_chunks(sorted(keys)):
        count += db.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk).rowcount
    return count
