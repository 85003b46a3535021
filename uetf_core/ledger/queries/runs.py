"""The runs themselves: finding and listing them, their baselines, and their ends
(abandoned runs reaped, old runs pruned)."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from uetf_core.errors import RunNotFoundError
from uetf_core.ledger.base import CodeUnderTest, Pruned
from uetf_core.ledger.connection import Row, in_chunks
from uetf_core.ledger.core import LedgerCore
from uetf_core.timeutil import iso

if TYPE_CHECKING:
    from uetf_core.documents import RunConfigDocument, RunRow

LIVE_STATES = ("pending", "initializing", "collecting", "running", "gating")


class RunQueries(LedgerCore):
    """Runs: found, listed, reaped and pruned."""

    def partial_reason(self, run_id: str) -> str | None:
        rows = self.db.query("SELECT partial_reason FROM runs WHERE run_id = ?", (run_id,))
        return rows[0][0] if rows else None

    def find_baseline(
        self,
        commit: str,
        exclude: str | None = None,
        suite_key: str | None = None,
        python: str | None = None,
    ) -> str | None:
        """The newest completed, whole-suite run that tested ``commit`` as committed.

        A run of a work tree with uncommitted changes tested other code than its
        commit's, and is never a baseline. With ``suite_key`` or ``python``, only a
        run of the same suite on the same Python qualifies (or an older run that
        recorded none: UETF recorded neither before)."""
        same = ""
        params: list[object] = [commit, exclude or ""]
        for column, value in (("suite_key", suite_key), ("python", python)):
            if value is not None:
                same += f" AND ({column} = ? OR {column} IS NULL)"
                params.append(value)
        rows = self.db.query(
            "SELECT run_id FROM runs WHERE head_commit = ? AND state IN ('passed', 'failed')"
            " AND partial = 0 AND coalesce(tree_state, '') = '' AND run_id != ?"
            + same
            + " ORDER BY started_at DESC, pk DESC LIMIT 1",
            params,
        )
        return str(rows[0][0]) if rows else None

    def code_under_test(self, run_id: str) -> CodeUnderTest:
        """What ``run_id`` recorded of the code, suite and interpreter it tested."""
        rows = self.db.query(
            "SELECT head_commit, tree_state, suite_key, python, merge_base FROM runs"
            " WHERE run_id = ?",
            (run_id,),
        )
        return CodeUnderTest(*rows[0]) if rows else CodeUnderTest(None, None, None, None, None)

    def reap_abandoned(self, host: str, now: float, stale_after: float) -> list[str]:
        """Mark abandoned every live run whose process is gone or has been silent too long."""
        live = self.db.query(
            "SELECT pk, run_id, state, pid, host, heartbeat_at FROM runs WHERE state IN"
            f" ({', '.join('?' * len(LIVE_STATES))})",
            LIVE_STATES,
        )
        dead = []
        for row in live:
            silent = now - row["heartbeat_at"]
            if row["host"] == host and not _pid_alive(row["pid"]):
                reason = f"process {row['pid']} on {host} is gone"
            elif silent > stale_after:
                reason = f"no heartbeat for {silent:.0f} s (stale_after = {stale_after:g} s)"
            else:
                continue
            dead.append((row, reason))
        if not dead:
            return []
        with self.db.transaction() as db:
            for row, reason in dead:
                seq = db.execute(
                    "SELECT coalesce(max(seq), -1) + 1 FROM events WHERE run_pk = ?", (row["pk"],)
                ).fetchone()[0]
                db.execute(
                    "UPDATE runs SET state = 'abandoned', end_reason = ?"
                    " WHERE pk = ? AND state = ?",
                    (reason, row["pk"], row["state"]),
                )
                db.execute(
                    "INSERT INTO events (run_pk, seq, at, kind, subject, from_state, to_state,"
                    " data_json) VALUES (?, ?, ?, 'run_state', ?, ?, 'abandoned', ?)",
                    (
                        row["pk"],
                        seq,
                        now,
                        row["run_id"],
                        row["state"],
                        json.dumps({"reason": reason}, allow_nan=False),
                    ),
                )
        return [row["run_id"] for row, _ in dead]

    _RUN_COLUMNS = (
        "run_id, state, started_at, finished_at, heartbeat_at, pid, host, rootdir,"
        " uetf_version, exit_status, end_reason, partial, verdict, head_commit, branch_name"
    )

    @staticmethod
    def _run_row(row: Row) -> RunRow:
        return {
            "run_id": row["run_id"],
            "state": row["state"],
            "started_at": iso(row["started_at"]),
            "finished_at": iso(row["finished_at"]) if row["finished_at"] is not None else None,
            "heartbeat_at": iso(row["heartbeat_at"]),
            "pid": row["pid"],
            "host": row["host"],
            "rootdir": row["rootdir"],
            "uetf_version": row["uetf_version"],
            "exit_status": row["exit_status"],
            "end_reason": row["end_reason"],
            "partial": bool(row["partial"]),
            "verdict": row["verdict"],
            "head_commit": row["head_commit"],
            "branch": row["branch_name"],
        }

    def list_runs(
        self, limit: int | None = None, branch: str | None = None, since: float | None = None
    ) -> list[RunRow]:
        """Runs newest first; only ``branch``'s, only those started at or after ``since``."""
        sql = f"SELECT {self._RUN_COLUMNS} FROM runs WHERE 1 = 1"
        params: list[object] = []
        if branch is not None:
            sql += " AND branch_name = ?"
            params.append(branch)
        if since is not None:
            sql += " AND started_at >= ?"
            params.append(since)
        sql += " ORDER BY started_at DESC, pk DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._run_row(row) for row in self.db.query(sql, params)]

    def find_run(self, ref: str) -> RunRow:
        """The run named by ``ref``: ``last``, a run id, or a unique prefix of one."""
        if ref in ("last", "latest"):
            rows = self.db.query(
                # The run with the newest activity: a workstream's verdict run starts
                # with its first step but ends after its last one.
                f"SELECT {self._RUN_COLUMNS} FROM runs"
                " ORDER BY coalesce(finished_at, started_at) DESC, pk DESC LIMIT 1"
            )
            if not rows:
                raise RunNotFoundError(f"ledger {self.location} has no runs yet; run pytest --uetf")
            return self._run_row(rows[0])
        escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.db.query(
            f"SELECT {self._RUN_COLUMNS} FROM runs WHERE run_id LIKE ? ESCAPE '\\' LIMIT 2",
            (escaped + "%",),
        )
        if len(rows) == 1:
            return self._run_row(rows[0])
        exact = [row for row in rows if row["run_id"] == ref]
        if exact:
            return self._run_row(exact[0])
        if rows:
            raise RunNotFoundError(f"run reference {ref!r} is ambiguous; give more of the run id")
        raise RunNotFoundError(f"no run {ref!r} in ledger {self.location}; see 'uetf runs'")

    def run_config(self, run_id: str) -> RunConfigDocument | None:
        rows = self.db.query("SELECT config_json FROM runs WHERE run_id = ?", (run_id,))
        if not rows or rows[0][0] is None:
            return None
        config: RunConfigDocument = json.loads(rows[0][0])
        return config

    def prune(self, keep: int, protect: set[str], dry_run: bool = False) -> Pruned:
        """Delete all but the newest ``keep`` finished runs of each branch, never ``protect``.

        Runs still going are never deleted. Returns what was (or would be) freed.
        """
        self._own_runs.clear()
        rows = self.db.query(
            "SELECT pk, run_id, branch_name, state FROM runs ORDER BY started_at DESC, pk DESC"
        )
        seen: dict[str | None, int] = {}
        doomed: list[tuple[int, str]] = []
        for row in rows:
            branch = row["branch_name"]
            seen[branch] = seen.get(branch, 0) + 1
            finished = row["state"] in ("passed", "failed", "errored", "abandoned")
            if seen[branch] > keep and finished and row["run_id"] not in protect:
                doomed.append((row["pk"], row["run_id"]))
        size_before = self.db.size()[0]
        tables = self.db.run_tables()
        deleted: dict[str, int] = {}
        pks = [pk for pk, _ in doomed]
        if pks and not dry_run:
            # Only prune deletes shared rows: a run does not import it.
            from uetf_core.ledger.orphans import delete_orphans

            with self.db.transaction() as db:
                for runs, marks in in_chunks(doomed):
                    chunk = [pk for pk, _ in runs]
                    for table in tables:
                        cursor = db.execute(f"DELETE FROM {table} WHERE run_pk IN ({marks})", chunk)
                        deleted[table] = deleted.get(table, 0) + cursor.rowcount
                    ids = [run_id for _, run_id in runs]
                    db.execute(f"DELETE FROM steps WHERE run_id IN ({marks})", ids)
                    db.execute(f"DELETE FROM runs WHERE pk IN ({marks})", chunk)
                deleted.update(delete_orphans(db, [run_id for _, run_id in doomed]))
        elif pks:
            for some, marks in in_chunks(pks):
                deleted["executions"] = (
                    deleted.get("executions", 0)
                    + self.db.query(
                        f"SELECT count(*) FROM executions WHERE run_pk IN ({marks})", some
                    )[0][0]
                )
        return Pruned([run_id for _, run_id in doomed], deleted, size_before, self.db.size()[1])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    except OSError:
        return False
    return True
