"""What a run cost: wall and CPU seconds, custom costs, peak memory, coverage's share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from uetf_core.ledger.core import LedgerCore

if TYPE_CHECKING:
    from uetf_core.documents import CostGroup


class CostQueries(LedgerCore):
    """A run's costs, totalled and grouped."""

    def cost_totals(self, run_id: str) -> dict[str, tuple[float, str]]:
        """The run's costs by name: wall and CPU seconds of its tests, custom costs, peak memory."""
        pk = self._run_pk(run_id)
        wall, cpu = self.db.query(
            "SELECT sum(duration), sum(cpu_seconds) FROM executions WHERE run_pk = ?", (pk,)
        )[0]
        totals: dict[str, tuple[float, str]] = {"wall_seconds": (round(wall or 0.0, 6), "s")}
        if cpu is not None:
            totals["cpu_seconds"] = (round(cpu, 6), "s")
        for name, unit, total, peak in self.db.query(
            "SELECT name, unit, sum(amount), max(amount) FROM costs WHERE run_pk = ?"
            " GROUP BY name, unit",
            (pk,),
        ):
            # Peak memory is a maximum over processes, every other cost a sum.
            totals[name] = (round(peak if name == "peak_rss_mb" else total, 6), unit)
        if "coverage_analysis_seconds" in totals:
            estimate = self._tracing_estimate(pk)
            if estimate is not None:
                totals["coverage_tracing_seconds"] = (estimate, "s")
        return totals

    def _tracing_estimate(self, pk: int) -> float | None:
        """What tracing added to the tests: their time now against the newest run without it.

        Compared over the tests both runs ran; ``None`` without such a run.
        """
        other = self.db.query(
            "SELECT r.pk FROM runs r WHERE r.pk != ? AND r.state IN ('passed', 'failed')"
            " AND NOT EXISTS (SELECT 1 FROM coverage_totals c WHERE c.run_pk = r.pk)"
            " ORDER BY r.started_at DESC LIMIT 1",
            (pk,),
        )
        if not other:
            return None
        row = self.db.query(
            "SELECT sum(a.duration) - sum(b.duration), count(*) FROM executions a"
            " JOIN executions b ON b.test_key = a.test_key AND b.run_pk = ? AND b.attempt = 1"
            " WHERE a.run_pk = ? AND a.attempt = 1",
            (other[0][0], pk),
        )[0]
        return round(row[0], 6) if row[1] else None

    def costs_by(self, run_id: str, by: str) -> list[CostGroup]:
        """Per test, module or worker: tests, wall and CPU seconds, and each custom cost."""
        pk = self._run_pk(run_id)
        key = {
            "test": "t.node_id",
            "module": f"substr(t.node_id, 1, {self.db.FIND}(t.node_id || '::', '::') - 1)",
            "worker": "e.worker",
        }[by]
        groups: dict[str, CostGroup] = {}
        for group, count, wall, cpu in self.db.query(
            f"SELECT {key}, count(*), sum(e.duration), sum(e.cpu_seconds) FROM executions e"
            f" JOIN tests t USING (test_key) WHERE e.run_pk = ? GROUP BY 1",
            (pk,),
        ):
            cpu_seconds = None if cpu is None else round(cpu, 6)
            groups[group] = cost_group(by, group, count, round(wall or 0, 6), cpu_seconds)
        if by != "worker":
            custom_key = key.replace("t.node_id", "c.subject")
            for group, name, unit, total in self.db.query(
                f"SELECT {custom_key}, c.name, c.unit, sum(c.amount) FROM costs c"
                " WHERE c.run_pk = ? AND c.scope = 'test' GROUP BY 1, 2, 3",
                (pk,),
            ):
                entry = groups.setdefault(group, cost_group(by, group))
                entry["custom"][name] = {"amount": round(total, 6), "unit": unit}
        else:
            for subject, name, unit, amount in self.db.query(
                "SELECT subject, name, unit, amount FROM costs"
                " WHERE run_pk = ? AND scope = 'worker'",
                (pk,),
            ):
                entry = groups.setdefault(subject, cost_group(by, subject))
                entry["custom"][name] = {"amount": amount, "unit": unit}
        ordered = sorted(
            groups.items(),
            key=lambda item: (-(item[1]["cpu_seconds"] or item[1]["wall_seconds"]), item[0]),
        )
        return [group for _, group in ordered]


def cost_group(
    by: str, label: str, tests: int = 0, wall: float = 0.0, cpu: float | None = None
) -> CostGroup:
    """An empty-handed group of costs, named by its test, module or worker."""
    # The label first, as ``uetf costs --json`` has always printed it.
    if by == "test":
        return {
            "test": label,
            "tests": tests,
            "wall_seconds": wall,
            "cpu_seconds": cpu,
            "custom": {},
        }
    if by == "module":
        return {
            "module": label,
            "tests": tests,
            "wall_seconds": wall,
            "cpu_seconds": cpu,
            "custom": {},
        }
    return {"worker": label, "tests": tests, "wall_seconds": wall, "cpu_seconds": cpu, "custom": {}}


def group_label(group: CostGroup) -> str:
    """The test, module or worker a group of costs is of."""
    return group.get("test") or group.get("module") or group.get("worker") or ""
