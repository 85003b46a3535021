"""What is wrong with a workstream's shards: one missing, one run twice, a test in two.

Read by ``uetf gate --workstream`` before it combines the steps, and by the
``missing_shards`` gate whenever the combined run is judged again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uetf_core.ledger.base import Ledger

if TYPE_CHECKING:
    from uetf_core.documents import StepDocument, WorkstreamDocument


def shard_problems(
    ledger: Ledger, workstream: WorkstreamDocument, expect_shards: int | None
) -> list[str]:
    """What is wrong with the shards of each phase: missing, run twice, a test in two."""
    problems: list[str] = []
    by_phase: dict[str, list[StepDocument]] = {}
    for step in workstream["steps"]:
        by_phase.setdefault(step["phase"], []).append(step)
    for phase, steps in sorted(by_phase.items()):
        # (shard "K/N", its run id) of each sharded step of the phase
        sharded = [(s["shard"], s["run_id"] or "-") for s in steps if s["shard"]]
        if not sharded:
            continue
        counts = {int(shard.split("/")[1]) for shard, _ in sharded}
        if len(counts) > 1:
            problems.append(f"phase {phase}: shards disagree on their number ({sorted(counts)})")
        total = expect_shards or max(counts)
        seen: dict[int, list[str]] = {}
        for shard, run_id in sharded:
            seen.setdefault(int(shard.split("/")[0]), []).append(run_id)
        for index in range(1, total + 1):
            runs = seen.get(index, [])
            if not runs:
                problems.append(f"phase {phase}: shard {index}/{total} is missing")
            elif len(runs) > 1:
                problems.append(
                    f"phase {phase}: shard {index}/{total} ran {len(runs)} times"
                    f" ({', '.join(runs)})"
                )
        owner: dict[str, str] = {}
        for shard, run_id in sharded:
            for task in ledger.tasks(run_id):
                other = owner.setdefault(task["node_id"], shard)
                if other != shard:
                    problems.append(
                        f"phase {phase}: {task['node_id']} ran in shards {other} and {shard}"
                    )
        for step in steps:
            if step["state"] not in ("passed", "failed"):
                problems.append(f"phase {phase}: step run {step['run_id']} ended {step['state']}")
    return problems
