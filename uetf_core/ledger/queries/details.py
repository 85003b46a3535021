"""What a run recorded besides its tests' results: events, workers, gates,
validations, tool results, progress, routing, schedule, and the reports written."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from uetf_core.ledger.core import LedgerCore
from uetf_core.timeutil import iso

if TYPE_CHECKING:
    from uetf_core.documents import (
        DocumentMetadata,
        EventDocument,
        GateDocument,
        ProgressDocument,
        RoutingDocument,
        ScheduleDocument,
        ToolResultDocument,
        ValidationDocument,
        WorkerDocument,
    )


class RunDetails(LedgerCore):
    """The records of a run, as their schema documents."""

    def tool_results(self, run_id: str) -> list[ToolResultDocument]:
        pk = self._run_pk(run_id)
        rows = self.db.query("SELECT * FROM tool_results WHERE run_pk = ? ORDER BY rowid", (pk,))
        return [
            {
                "run_id": run_id,
                "tool": row["tool"],
                "argv": json.loads(row["argv_json"]),
                "exit_code": row["exit_code"],
                "duration_seconds": row["duration_seconds"],
                "ok": bool(row["ok"]),
                "stderr_excerpt": row["stderr_excerpt"],
                "at": iso(row["at"]),
            }
            for row in rows
        ]

    def validated_before(self, digest: str) -> bool:
        """Whether a document with this digest (schema and content) was found valid."""
        rows = self.db.query(
            "SELECT 1 FROM validations WHERE digest = ? AND valid = 1 LIMIT 1", (digest,)
        )
        return bool(rows)

    def validations(self, run_id: str) -> list[ValidationDocument]:
        pk = self._run_pk(run_id)
        rows = self.db.query(
            "SELECT subject, schema_name, valid, errors_json, at FROM validations"
            " WHERE run_pk = ? ORDER BY rowid",
            (pk,),
        )
        return [
            {
                "subject": row["subject"],
                "schema": row["schema_name"],
                "valid": bool(row["valid"]),
                "errors": json.loads(row["errors_json"]),
                "at": iso(row["at"]),
            }
            for row in rows
        ]

    def events(self, run_id: str) -> list[EventDocument]:
        pk = self._run_pk(run_id)
        rows = self.db.query(
            "SELECT seq, at, kind, subject, from_state, to_state, data_json FROM events"
            " WHERE run_pk = ? ORDER BY seq",
            (pk,),
        )
        return [
            {
                "run_id": run_id,
                "seq": row["seq"],
                "at": iso(row["at"]),
                "kind": row["kind"],
                "subject": row["subject"],
                "from_state": row["from_state"],
                "to_state": row["to_state"],
                "data": json.loads(row["data_json"]) if row["data_json"] else {},
            }
            for row in rows
        ]

    def workers(self, run_id: str) -> list[WorkerDocument]:
        pk = self._run_pk(run_id)
        rows = self.db.query(
            "SELECT worker_id, state, tests_run, started_at, stopped_at, reason FROM workers"
            " WHERE run_pk = ? ORDER BY worker_id",
            (pk,),
        )
        return [
            {
                "run_id": run_id,
                "worker_id": row["worker_id"],
                "state": row["state"],
                "tests_run": row["tests_run"],
                "started_at": iso(row["started_at"]),
                "stopped_at": iso(row["stopped_at"]) if row["stopped_at"] is not None else None,
                "reason": row["reason"],
            }
            for row in rows
        ]

    def gates(self, run_id: str) -> list[GateDocument]:
        pk = self._run_pk(run_id)
        rows = self.db.query(
            "SELECT name, op, threshold, value, verdict, reason, mode, unit, path FROM gates"
            " WHERE run_pk = ? ORDER BY seq",
            (pk,),
        )
        return [
            {
                "name": row["name"],
                "op": row["op"],
                "threshold": row["threshold"],
                "value": row["value"],
                "verdict": row["verdict"],
                "reason": row["reason"],
                "mode": row["mode"],
                "unit": row["unit"],
                "path": row["path"],
            }
            for row in rows
        ]

    def latest_progress(self, run_id: str) -> ProgressDocument | None:
        rows = self.db.query(
            "SELECT at, done, total, elapsed_seconds, eta_seconds, outcomes_json FROM progress"
            " WHERE run_pk = ? ORDER BY at DESC LIMIT 1",
            (self._run_pk(run_id),),
        )
        if not rows:
            return None
        row = rows[0]
        return {
            "run_id": run_id,
            "at": iso(row["at"]),
            "done": row["done"],
            "total": row["total"],
            "elapsed_seconds": row["elapsed_seconds"],
            "eta_seconds": row["eta_seconds"],
            "outcomes": json.loads(row["outcomes_json"]),
        }

    def routing_decisions(self, run_id: str) -> list[RoutingDocument]:
        pk = self._run_pk(run_id)
        rows = self.db.query(
            "SELECT t.node_id, r.target, r.strategy, r.estimate_seconds, r.fallback,"
            " r.fallback_reason, r.at FROM routing_decisions r JOIN tests t USING (test_key)"
            " WHERE r.run_pk = ? ORDER BY r.rowid",
            (pk,),
        )
        return [
            {
                "run_id": run_id,
                "node_id": row[0],
                "target": row[1],
                "strategy": row[2],
                "estimate_seconds": row[3],
                "fallback": bool(row[4]),
                "fallback_reason": row[5],
                "at": iso(row[6]),
            }
            for row in rows
        ]

    def schedule_entries(self, run_id: str) -> list[ScheduleDocument]:
        pk = self._run_pk(run_id)
        rows = self.db.query(
            "SELECT t.node_id, s.position, s.priority, s.constraint_text, s.reason"
            " FROM schedule_entries s JOIN tests t USING (test_key)"
            " WHERE s.run_pk = ? ORDER BY s.position",
            (pk,),
        )
        return [
            {
                "run_id": run_id,
                "node_id": row[0],
                "position": row[1],
                "priority": row[2],
                "constraint": row[3],
                "reason": row[4],
            }
            for row in rows
        ]

    def documents(self, run_id: str) -> list[DocumentMetadata]:
        """The reports written of ``run_id``, oldest first, as ``doc_metadata`` documents."""
        rows = self.db.query(
            "SELECT d.kind, d.format, d.path, d.sha256, d.size_bytes, d.run_ids_json,"
            " d.created_at FROM document_runs x JOIN documents d ON d.pk = x.document_pk"
            " WHERE x.run_id = ? ORDER BY d.pk",
            (run_id,),
        )
        return [
            {
                "kind": row["kind"],
                "format": row["format"],
                "path": row["path"],
                "sha256": row["sha256"],
                "size_bytes": row["size_bytes"],
                "run_ids": json.loads(row["run_ids_json"]),
                "created_at": iso(row["created_at"]),
            }
            for row in rows
        ]
