"""Copying runs between ledgers (uetf push, uetf migrate), onto both back ends."""

from __future__ import annotations

from pathlib import Path

from conftest import record_run
from uetf_core.ledger import open_ledger
from uetf_core.ledger.copy import copy_runs


def test_copy_is_whole_idempotent_and_completes_partial_runs(
    tmp_path: Path, ledger_location: str
) -> None:
    source_root = tmp_path / "source"
    source_root.mkdir()
    first = record_run(source_root, ["t.py::a", "t.py::b"], ["t.py::c"])
    first.ledger.add_document(
        {
            "kind": "markdown",
            "format": "markdown",
            "path": "/r.md",
            "sha256": "0" * 64,
            "size_bytes": 1,
            "run_ids": [first.run_id],
            "created_at": "2026-11-26T00:00:00+00:00",
        }
    )
    first.ledger.close()
    source = open_ledger(str(source_root / ".ledger" / "uetf.db"))
    target = open_ledger(ledger_location)
    try:
        assert (copy_runs(source, target).added, copy_runs(source, target).present) == (1, 1)
        assert target.totals(first.run_id).as_dict() == source.totals(first.run_id).as_dict()
        assert len(target.error_captures(first.run_id)) == 1
        assert len(target.documents(first.run_id)) == 1
        # A run the target holds only in part (its server went away) is replaced.
        target.set_run_state(first.run_id, "running")
        with target.transaction() as db:
            db.execute(
                "DELETE FROM executions WHERE run_pk = (SELECT pk FROM runs WHERE run_id = ?)",
                (first.run_id,),
            )
        assert target.totals(first.run_id).passed == 0
        result = copy_runs(source, target)
        assert (result.added, result.present) == (1, 0)
        assert target.find_run(first.run_id)["state"] == "failed"
        assert target.totals(first.run_id).passed == 2
    finally:
        source.close()
        target.close()
