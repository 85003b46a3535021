"""A run's coverage and change under test, and the cache of static analyses."""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from uetf_core.ledger.connection import in_chunks
from uetf_core.ledger.core import LedgerCore

if TYPE_CHECKING:
    from uetf_core.documents import CoverageFile, PatchEntry, StoredCoverage


class CoverageQueries(LedgerCore):
    """Coverage, patches and cached analyses."""

    def coverage_percent(self, run_id: str) -> float | None:
        rows = self.db.query(
            "SELECT c.percent FROM coverage_totals c JOIN runs r ON r.pk = c.run_pk"
            " WHERE r.run_id = ?",
            (run_id,),
        )
        return float(rows[0][0]) if rows else None

    def static_analyses(self, keys: Collection[str]) -> dict[str, dict[str, Any]]:
        """Cached static analyses of source files, by key (see ``uetf_core.measure``)."""
        from uetf_core.ledger.numbits import numbits_to_nums  # runs that measure coverage

        found: dict[str, dict[str, Any]] = {}
        wanted = list(keys)
        for chunk, marks in in_chunks(wanted):
            for row in self.db.query(
                f"SELECT key, statements, excluded, multiline_json FROM analysis_cache"
                f" WHERE key IN ({marks})",
                chunk,
            ):
                # The rest of the parse is JSON: a multi-line map alone (line
                # coverage), or an object holding it and the arc parts (branch).
                rest = json.loads(row[3])
                found[row[0]] = {
                    "statements": numbits_to_nums(row[1]),
                    "excluded": numbits_to_nums(row[2]),
                    **(rest if isinstance(rest, dict) else {"multiline": rest}),
                }
        if found:
            with self.db.transaction() as db:
                db.executemany(
                    "UPDATE analysis_cache SET used_at = ? WHERE key = ?",
                    [(time.time(), key) for key in found],
                )
        return found

    def coverage(self, run_id: str) -> StoredCoverage | None:
        """A run's stored coverage, or ``None`` when it measured none."""
        pk = self._run_pk(run_id)
        totals = self.db.query("SELECT * FROM coverage_totals WHERE run_pk = ?", (pk,))
        if not totals:
            return None
        # Imported here, by runs that measured: building its table costs every import.
        from uetf_core.ledger.numbits import numbits_to_nums

        t = totals[0]
        files: list[CoverageFile] = [
            {
                "path": row["path"],
                "statements": numbits_to_nums(row["statements"]),
                "executed": numbits_to_nums(row["executed"]),
                "n_branches": row["n_branches"],
                "n_partial_branches": row["n_partial_branches"],
                "n_missing_branches": row["n_missing_branches"],
                "arcs": json.loads(row["arcs_json"]) if row["arcs_json"] else [],
            }
            for row in self.db.query(
                "SELECT * FROM coverage_files WHERE run_pk = ? ORDER BY path", (pk,)
            )
        ]
        return {
            "percent": t["percent"],
            "n_statements": t["n_statements"],
            "n_missing": t["n_missing"],
            "n_branches": t["n_branches"],
            "n_partial_branches": t["n_partial_branches"],
            "core": t["core"],
            "branch": bool(t["branch"]),
            "problems": json.loads(t["problems_json"]) if t["problems_json"] else [],
            "files": files,
        }

    def patch(self, run_id: str) -> PatchEntry | None:
        pk = self._run_pk(run_id)
        rows = self.db.query("SELECT * FROM patches WHERE run_pk = ?", (pk,))
        if not rows:
            return None
        row = rows[0]
        return {
            "run_id": run_id,
            "state": row["state"],
            "base_ref": row["base_ref"],
            "merge_base": row["merge_base"],
            "head": row["head"],
            "diff_hash": row["diff_hash"],
            "files": json.loads(row["files_json"]),
            "problem": row["problem"],
        }
