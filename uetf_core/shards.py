"""What is wrong with a workstream's shards: one missing, one run twice, a test in two.

Read by ``uetf gate --workstream`` before it combines the steps, and by the
``missing_shards`` gate whenever the combined run is judged again.
"""

from __future__ import annotations

from typing import Any

from uetf_core.ledger.base import Ledger


def shard_problems(
    ledger: Ledger, workstream: dict[str, Any], expect_shards: int | None
) -> list[str]:
    """What is wrong with the shards of each phase: missing, run twice, a test in two."""
    problems: list[str] = []
    by_phase: dict[str, list[dict[str, Any]]] = {}
    for step in workstream["steps"]:
        by_phase.setdefault(step["phase"], []).append(step)
    for phase, steps in sorted(by_phase.items()):
        sharded = [s for s in steps if s["shard"]]
        if not sharded:
            continue
        counts = {int(s["shard"].split("/")[1]) for s in sharded}
        if len(counts) > 1:
            problems.append(f"phase {phase}: shards disagree on their number ({sorted(counts)})")
        total = expect_shards or max(counts)
        seen: dict[int, list[str]] = {}
        for step in sharded:
            seen.setdefault(int(step["shard"].split("/")[0]), []).append(step["run_id"])
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
        for step in sharded:
            for task in ledger.tasks(step["run_id"]):
                other = owner.setdefault(task["node_id"], step["shard"])
                if other != step["shard"]:
                    problems.append(
                        f"phase {phase}: {task['node_id']} ran in shards {other}"
                        f" and {step['shard']}"
                    )
        for step in steps:
            if step["state"] not in ("passed", "failed"):
                problems.append(f"phase {phase}: step run {step['run_id']} ended {step['state']}")
    return problems
