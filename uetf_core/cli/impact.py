"""``uetf impact``: what selection would run for the work tree, and why; ``uetf impact stats``:
how selection has done over the ledger's history. Nothing runs; the ledger is only read."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uetf_core.exitcodes import ExitCode
from uetf_core.metrics import SELECTION_RUNS
from uetf_core.schemas import validate

if TYPE_CHECKING:
    from uetf_core.ledger.base import Ledger

    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]


def add_parser(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """The ``impact`` subcommand, on the ``uetf`` parser's subparsers."""
    impact = sub.add_parser(
        "impact",
        parents=[common],
        help="which tests a change would run and why (stats: how selection has done)",
    )
    impact.add_argument(
        "view",
        nargs="?",
        choices=("stats",),
        help="stats: share of tests selected, time saved and recall over the last runs",
    )
    impact.add_argument(
        "--base", metavar="REF", help="select against the merge-base with REF (default: as a run)"
    )
    impact.add_argument(
        "--last",
        type=int,
        default=SELECTION_RUNS,
        metavar="N",
        help=f"stats over the newest N runs that selected ({SELECTION_RUNS})",
    )
    impact.add_argument("--format", choices=("text", "json"), default="text", help="output")
    impact.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from uetf_core.cli.common import ledger_for  # the ledger opened as every command opens it

    ledger = ledger_for(args)
    try:
        if args.view == "stats":
            return _stats(ledger, args)
        return _selection(ledger, args)
    finally:
        ledger.close()


def project_root(start: Path) -> Path:
    """The nearest folder with a pyproject.toml within the git work tree, else the top."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
        if (folder / ".git").exists():
            return folder
    return start


def selection_document(root: Path, ledger: Ledger, base: str | None) -> dict[str, Any]:
    """The ``impact_selection`` document for the work tree under ``root``."""
    from uetf_core.config import read_pyproject
    from uetf_core.impact.planner import plan_selection

    table, _ = read_pyproject(root)
    chosen = base or (table.get("base") if isinstance(table.get("base"), str) else None)
    inputs = table.get("impact_inputs")
    globs = [g for g in inputs if isinstance(g, str)] if isinstance(inputs, list) else []
    plan = plan_selection(ledger, root, base=chosen, input_globs=globs)
    whole = plan.selection.whole_suite
    return {
        "baseline": (
            {"run_id": plan.baseline_run_id, "commit": plan.baseline_commit}
            if plan.baseline_run_id
            else None
        ),
        "changed_files": sorted(plan.change.changed_files),
        "whole_suite": (
            {"reason": whole.reason.name, "text": whole.reason.value, "detail": whole.detail}
            if whole
            else None
        ),
        "selected": [
            {
                "node_id": test.node_id,
                "reason": test.reason.name,
                "text": test.reason.value,
                "detail": test.detail,
            }
            for test in plan.selection.selected
        ],
        "unselected": sorted(plan.selection.deselected),
    }


def _selection(ledger: Ledger, args: argparse.Namespace) -> int:
    from uetf_core.cli.common import print_json, say

    document = selection_document(project_root(Path.cwd()), ledger, args.base)
    if args.format == "json":
        validate("impact_selection", document, "uetf impact --format=json")
        print_json(document)
        return int(ExitCode.OK)
    baseline = document["baseline"]
    if baseline is None:
        whole = document["whole_suite"]
        if whole and whole["detail"]:  # no commit to look for one at: git says why
            say(f"uetf impact: no baseline run to select from ({whole['detail']});")
            say("  the whole suite would run")
            return int(ExitCode.OK)
        say("uetf impact: no baseline run with dependency data; the whole suite would run")
        say("  record one with: pytest --uetf --uetf-cov SOURCE (on a clean work tree)")
        return int(ExitCode.OK)
    changed = document["changed_files"]
    say(
        f"baseline run {baseline['run_id']} at {baseline['commit'][:12]};"
        f" {len(changed)} file(s) changed since"
    )
    for path in changed:
        say(f"  changed: {path}")
    whole = document["whole_suite"]
    total = len(document["selected"]) + len(document["unselected"])
    if whole is not None:
        detail = f" ({whole['detail']})" if whole["detail"] else ""
        say(f"the whole suite would run ({total} tests): {whole['text']}{detail}")
        return int(ExitCode.OK)
    say(f"would run {len(document['selected'])} of {total} tests:")
    for test in document["selected"]:
        detail = f": {test['detail']}" if test["detail"] else ""
        say(f"  {test['node_id']}  ({test['text']}{detail})")
    return int(ExitCode.OK)


def _stats(ledger: Ledger, args: argparse.Namespace) -> int:
    from uetf_core.cli.common import print_json, say
    from uetf_core.impact.stats import impact_stats

    stats = impact_stats(ledger.selection_history(max(1, args.last)))
    document = stats.as_dict()
    if args.format == "json":
        validate("impact_stats", document, "uetf impact stats --format=json")
        print_json(document)
        return int(ExitCode.OK)
    if not stats.runs:
        say("no run has selected yet: run pytest --uetf --uetf-select=shadow (or affected)")
        return int(ExitCode.OK)
    say(
        f"{stats.runs} runs that selected ({stats.shadow_runs} shadow,"
        f" {stats.whole_suite_runs} ran the whole suite)"
    )
    share, saved = stats.share_selected, stats.time_saved
    say(f"  tests selected: {_percent(share)} ({stats.tests_selected} of {stats.tests_total})")
    seconds = f"{stats.seconds_left_out:.2f} s of {stats.seconds_total:.2f} s"
    say(f"  time saved:     {_percent(saved)} ({seconds})")
    interval = document["recall_interval"]
    if stats.recall is None:
        say("  recall:         no failure in shadow runs yet")
    else:
        low, high = interval
        say(
            f"  recall:         {_percent(stats.recall)} ({stats.failures_caught} of"
            f" {stats.failures} failures in shadow runs; 95% interval {low:.1%} to {high:.1%})"
        )
    return int(ExitCode.OK)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"
