"""Gathering what a run's gates are judged on, from the ledger alone.

The run itself and ``uetf gate`` both call :func:`gate_context`, so a verdict
recomputed later from the ledger is the verdict the run reached.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from uetf_core.costs import amounts
from uetf_core.errors import RunNotFoundError
from uetf_core.gates.evaluate import GateResult, Verdict, evaluate_gates
from uetf_core.gates.spec import GateSpec
from uetf_core.ledger.base import Ledger
from uetf_core.metrics import (
    SELECTION_RUNS,
    Baseline,
    CoverageFigures,
    GateContext,
    PatchFigures,
    RecallFigures,
)
from uetf_core.timeutil import parse_iso
from uetf_core.waivers import Waiver, expired_note, for_gate, from_config, waived_tests

if TYPE_CHECKING:
    from uetf_core.documents import PatchEntry, RunConfigDocument, StoredCoverage
    from uetf_core.report_documents import Failure, PatchSummary


def coverage_figures(stored: StoredCoverage | None) -> CoverageFigures | None:
    if stored is None:
        return None
    files = {
        f["path"]: (frozenset(f["statements"]), frozenset(f["executed"])) for f in stored["files"]
    }
    return CoverageFigures(stored["percent"], files, tuple(stored.get("problems") or ()))


def patch_figures(stored: PatchEntry | None) -> PatchFigures | None:
    if stored is None:
        return None
    files = {
        f["path"]: tuple((int(a), int(b)) for a, b in f["added_lines"]) for f in stored["files"]
    }
    return PatchFigures(files, stored.get("problem"))


def find_baseline(
    ledger: Ledger, run_id: str, explicit: str | None, patch: PatchEntry | PatchSummary | None
) -> tuple[Baseline | None, str]:
    """The baseline run and, when there is none, why.

    The newest completed whole-suite run at the merge-base of the run's change that
    tested that commit clean, of the same suite, on the same Python. The merge-base
    is the patch's, else the one the run recorded: every run looks for its baseline,
    whatever gates it declares."""
    code = ledger.code_under_test(run_id)
    merge_base = (patch.get("merge_base") if patch is not None else None) or code.merge_base
    if explicit:
        try:
            base_id = ledger.find_run(explicit)["run_id"]
        except RunNotFoundError:  # checked when the run started; gone since (pruned)
            return None, f"the baseline run {explicit!r} is not in the ledger"
    elif not merge_base:
        problem = patch.get("problem") if patch is not None else None
        return None, f"no baseline: {problem or 'the merge-base with the base branch is unknown'}"
    else:
        found = ledger.find_baseline(
            merge_base, exclude=run_id, suite_key=code.suite_key, python=code.python
        )
        if found is None:
            short = merge_base[:12]
            head = (patch.get("head") if patch is not None else None) or code.head
            on = f" on {code.python}" if code.python else ""
            if head == merge_base:  # this run tests the base itself
                return None, (
                    f"no earlier whole-suite run of {short}{on} in the ledger: this run "
                    "becomes the baseline of the changes made on it"
                )
            return None, (
                f"no completed whole-suite run at the merge-base {short}{on} in the ledger; "
                "run pytest --uetf on the base branch first"
            )
        base_id = found
    return (
        Baseline(base_id, ledger.coverage_percent(base_id), ledger.outcomes(base_id)),
        "",
    )


_BAD = ("failed", "error")


def failure_kind(
    node_id: str,
    outcome: str,
    baseline_outcome: str | None,
    flaky: Collection[str],
    waived: Collection[str],
) -> str | None:
    """What a troubled test of a run is: ``waived``, ``flaky``, ``pre-existing`` or ``new``.

    The one place that decides it: the ``new_failures`` gate counts the ``new``
    ones, and every report and the terminal show these kinds. ``None``: the
    test neither failed nor flipped.
    """
    failing = outcome in _BAD
    if node_id in waived and failing:
        return "waived"
    if node_id in flaky:
        return "flaky"
    if not failing:
        return None
    return "pre-existing" if baseline_outcome in _BAD else "new"


def classify_failures(ledger: Ledger, run_id: str, baseline: Baseline | None) -> list[Failure]:
    """Each failing test of the run, as new, pre-existing or flaky, with its first error line.

    flaky: it passed on a retry in this run, or it fails now and its outcome
    flipped in the ledger's recent history (on one commit, or between attempts);
    pre-existing: it failed or errored in the baseline too; new: anything else,
    including when there is no baseline.
    """
    errors = {e["node_id"]: e for e in ledger.error_captures(run_id)}
    failures: list[Failure] = []
    flaky = flaky_in_run(ledger, run_id)
    waived = test_waivers(ledger, run_id, ledger.run_config(run_id) or {})[0]
    for node_id, (outcome, _) in sorted(ledger.troubled(run_id).items()):
        before = baseline.outcomes.get(node_id) if baseline else None
        kind = failure_kind(node_id, outcome, before, flaky, waived)
        if kind is None:
            continue
        error = errors.get(node_id)
        failures.append(
            {
                "node_id": node_id,
                "outcome": outcome,
                "classification": kind,
                "baseline_outcome": before,
                "message": (
                    f"{error['exc_type']}: {error['message']}".splitlines()[0][:500]
                    if error
                    else None
                ),
            }
        )
    # Collection errors have no task and no outcome row; a reviewer still needs them.
    for error in errors.values():
        if error["phase"] == "collect":
            failures.append(
                {
                    "node_id": error["node_id"],
                    "outcome": "error",
                    "classification": "new",
                    "baseline_outcome": None,
                    "message": f"{error['exc_type']}: {error['message']}".splitlines()[0][:500],
                }
            )
    return failures


# What only some gates read, and is read from the ledger only for them.
_OUTCOME_GATES = frozenset({"new_failures", "test_count_drop"})
_COST_GATES = frozenset({"max_cost", "cost_increase"})
_RECALL_GATES = frozenset({"impact_recall"})


def gate_context(
    ledger: Ledger,
    run_id: str,
    config: RunConfigDocument | None,
    now: float | None = None,
    wanted: Collection[str] | None = None,
) -> GateContext:
    """Everything the gates of ``run_id`` need, read from the ledger.

    ``wanted``: the names of the gates to be judged; figures no such gate reads
    (every test's outcome, the costs) are left out. ``None``: everything.
    """
    config = config or {}
    names = set(_OUTCOME_GATES | _COST_GATES | _RECALL_GATES) if wanted is None else set(wanted)
    patch = ledger.patch(run_id)
    baseline, missing = find_baseline(ledger, run_id, config.get("baseline"), patch)
    metrics = ledger.metrics(run_id, now=now)
    waived = test_waivers(ledger, run_id, config, now)[0]
    flaky = frozenset(flaky_in_run(ledger, run_id))
    new: tuple[str, ...] | None = None
    if baseline is not None:
        new = tuple(
            sorted(
                node_id
                for node_id, (final, _) in ledger.troubled(run_id).items()
                if failure_kind(node_id, final, baseline.outcomes.get(node_id), flaky, waived)
                == "new"
            )
        )
    if waived:
        # A waived failure counts for none of the gates: as if the test had not run.
        finals = {n: final for n, (final, _) in ledger.troubled(run_id).items() if n in waived}
        failed = sum(1 for final in finals.values() if final == "failed")
        errors = sum(1 for final in finals.values() if final == "error")
        totals = metrics.totals._replace(
            failed=metrics.totals.failed - failed,
            errors=metrics.totals.errors - errors,
        )
        metrics = metrics._replace(totals=totals)
    return GateContext(
        metrics=metrics,
        coverage=coverage_figures(ledger.coverage(run_id)),
        patch=patch_figures(patch),
        baseline=baseline,
        baseline_missing=missing or "no baseline",
        partial=ledger.partial_reason(run_id),
        # Every test's outcome matters only when there is a baseline to compare with.
        outcomes=(
            ledger.outcomes(run_id) if baseline is not None and names & _OUTCOME_GATES else {}
        ),
        min_patch_lines=int(config.get("min_patch_lines", 1)),
        shard_problems=_shard_problems(ledger, config),
        # The combined run of a workstream judges everything; its steps defer.
        shard=None if config.get("merged_steps") else config.get("shard"),
        new_failures=new,
        flaky=flaky,
        waived=frozenset(waived),
        costs=(
            amounts(ledger.cost_totals(run_id), config.get("prices", {}))
            if names & _COST_GATES
            else {}
        ),
        baseline_costs=(
            amounts(ledger.cost_totals(baseline.run_id), config.get("prices", {}))
            if baseline is not None and names & _COST_GATES
            else None
        ),
        recall=selection_recall(ledger, run_id) if names & _RECALL_GATES else None,
    )


def selection_recall(ledger: Ledger, run_id: str) -> RecallFigures:
    """Selection's record in the shadow runs among the newest that selected, up to ``run_id``.

    The figures ``uetf impact stats`` prints, over its default window; read only
    for a gate that asks, since test impact analysis is costly to import.
    """
    from uetf_core.impact.stats import impact_stats

    stats = impact_stats(ledger.selection_history(SELECTION_RUNS, until_run_id=run_id))
    return RecallFigures(stats.runs, stats.shadow_runs, stats.failures, stats.failures_caught)


def _today(ledger: Ledger, run_id: str, now: float | None) -> dt.date:
    """The date a run is judged on: its end (so judging it again later agrees), else now."""
    if now is None:
        finished = ledger.find_run(run_id)["finished_at"]
        now = parse_iso(finished).timestamp() if finished else time.time()
    return dt.datetime.fromtimestamp(now, dt.timezone.utc).date()


def test_waivers(
    ledger: Ledger, run_id: str, config: RunConfigDocument, now: float | None = None
) -> tuple[dict[str, Waiver], list[str]]:
    """The run's failing tests an active waiver covers, and notes on expired ones."""
    waivers = from_config(config)
    if not any(w.test for w in waivers):
        return {}, []
    failing = [
        n for n, (final, _) in ledger.troubled(run_id).items() if final in ("failed", "error")
    ]
    return waived_tests(waivers, failing, _today(ledger, run_id, now))


def judge_gates(
    ledger: Ledger,
    run_id: str,
    specs: Sequence[GateSpec],
    config: RunConfigDocument,
    now: float | None = None,
) -> tuple[list[GateResult], list[str]]:
    """The gates evaluated, with waivers applied; notes say which waivers expired."""
    context = gate_context(ledger, run_id, config, now=now, wanted={s.name for s in specs})
    results = evaluate_gates(specs, context, config.get("gate_mode", "fail"))
    notes = test_waivers(ledger, run_id, config, now)[1]
    waivers = from_config(config)
    if not waivers:
        return results, notes
    today = _today(ledger, run_id, now)
    judged = []
    for result in results:
        waiver = for_gate(waivers, result.spec.name, result.spec.path)
        if waiver is None or result.verdict not in (Verdict.FAILED, Verdict.ERROR):
            judged.append(result)
        elif waiver.active(today):
            judged.append(result._replace(verdict=Verdict.WAIVED, reason=waiver.describe()))
        else:
            notes.append(expired_note(waiver))
            reason = f"waiver by {waiver.owner} expired {waiver.expires.isoformat()}"
            judged.append(result._replace(reason=result.reason or reason))
    return judged, notes


# Runs of history a failure is compared with to call it flaky.
FLAKY_WINDOW = 30


def flaky_in_run(ledger: Ledger, run_id: str) -> set[str]:
    """Tests of the run that passed on a retry, or failed now and flipped recently."""
    troubled = ledger.troubled(run_id)
    retried = {n for n, (final, seen) in troubled.items() if "passed" in seen and len(seen) > 1}
    failing = {n for n, (final, _) in troubled.items() if final in ("failed", "error")}
    if not failing:
        return retried
    return retried | (failing & ledger.flaky_tests(FLAKY_WINDOW, until_run_id=run_id))


def _shard_problems(ledger: Ledger, config: RunConfigDocument) -> tuple[str, ...] | None:
    """For the verdict run of a workstream, its shards' problems; ``None`` for any other run."""
    workstream_id = config.get("workstream")
    if not config.get("merged_steps") or not workstream_id:
        return None
    from uetf_core.shards import shard_problems  # only a workstream's verdict run needs it

    workstream = ledger.workstream(workstream_id)
    return tuple(shard_problems(ledger, workstream, config.get("expect_shards")))
