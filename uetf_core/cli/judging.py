"""The subcommands that judge and report a recorded run: gates again, reports,
the shard plan."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from uetf_core.cli.common import (
    NoLedgerError,
    ledger_for,
    print_json,
    say,
)
from uetf_core.exitcodes import ExitCode
from uetf_core.gates.evaluate import Verdict, overall_verdict
from uetf_core.gates.spec import GateSpec
from uetf_core.judge import judge_gates
from uetf_core.ledger import Ledger
from uetf_core.render import gate_table, totals_line
from uetf_core.terminal import visible_line
from uetf_core.verdict import final_exit_status

if TYPE_CHECKING:
    from uetf_core.documents import RunConfigDocument


def _specs(config: RunConfigDocument | None) -> list[GateSpec]:
    if not config:
        return []
    return [
        GateSpec(g["name"], g["op"], g["threshold"], g["mode"], g.get("path"))
        for g in config.get("gates", [])
    ]


def gate(args: argparse.Namespace) -> int:
    if args.workstream:
        return _gate_workstream(args)
    if args.report:  # a bad report spelling is refused before any work
        from uetf_core.reports import parse_report_spec

        for spec in args.report:
            parse_report_spec(spec)
    ledger = ledger_for(args)
    run = ledger.find_run(args.run)
    run_id = run["run_id"]
    config = ledger.run_config(run_id)
    results, notes = judge_gates(ledger, run_id, _specs(config), config or {})
    for note in notes:
        say(f"uetf: {note}")
    documents = [result.as_dict() for result in results]
    for row in gate_table(documents) if documents else ["no gates declared"]:
        say(row)
    _gate_reports(ledger, run_id, args.report)
    if run["state"] in ("errored", "abandoned") or run["exit_status"] is None:
        say(f"uetf: run {run_id} {run['state']}: it has no verdict to repeat")
        return int(
            run["exit_status"] if run["exit_status"] is not None else ExitCode.INTERNAL_ERROR
        )
    verdict = overall_verdict(results)
    # The stored exit status already folds in the gates; recover the tests' own.
    test_status = 0 if run["exit_status"] == ExitCode.GATES_FAILED else run["exit_status"]
    status = final_exit_status(test_status, verdict)
    word = "held" if verdict in (Verdict.PASSED, Verdict.WARNED) else verdict.value
    say(f"uetf: run {run_id}: gates {word}; exit {status}")
    return status


def _gate_workstream(args: argparse.Namespace) -> int:
    """Combine a workstream's steps into one run, gate it, and write its reports."""
    from uetf_core.workstream import gate_workstream

    ledger = ledger_for(args)
    try:
        run_id, results, problems, status = gate_workstream(
            ledger, args.workstream, args.expect_shards
        )
        for problem in problems:
            say(f"uetf: {problem}")
        for row in gate_table([result.as_dict() for result in results]):
            say(row)
        say(f"tests     {totals_line(ledger.totals(run_id).as_dict())}")
        _gate_reports(ledger, run_id, args.report)
    finally:
        ledger.close()
    say(f"uetf: workstream {args.workstream}: verdict run {run_id}; exit {status}")
    return status


def _gate_reports(ledger: Ledger, run_id: str, texts: list[str]) -> None:
    """Write the reports ``uetf gate --report`` asked for, of the run it judged."""
    if not texts:
        return
    from uetf_core.reports import parse_report_spec, write_reports

    root = Path(ledger.find_run(run_id)["rootdir"])
    specs = [parse_report_spec(text) for text in texts]
    written = write_reports(ledger, run_id, specs, root / ".ledger" / "reports")
    for line in written.stdout:
        print(line)  # workflow commands and inert report lines
    for document in written.files:
        say(f"uetf: wrote {document['kind']} report {document['path']}")


def report(args: argparse.Namespace) -> int:
    """Write reports of a recorded run: the same documents the run itself wrote."""
    from uetf_core.reports import parse_report_spec, print_lines, write_reports

    specs = [parse_report_spec(text) for text in args.report]
    ledger = ledger_for(args)
    try:
        run = ledger.find_run(args.run)
        root = Path(run["rootdir"])
        written = write_reports(
            ledger, run["run_id"], specs, root / ".ledger" / "reports", default_stdout=True
        )
    finally:
        ledger.close()
    print_lines(written.stdout)
    for note in written.notes:
        print(visible_line(f"uetf: {note}"), file=sys.stderr)
    for document in written.files:
        wrote = f"uetf: wrote {document['kind']} report {document['path']}"
        print(visible_line(wrote), file=sys.stderr)
    return int(ExitCode.OK)


def plan(args: argparse.Namespace) -> int:
    """The shards of the suite last recorded, balanced by recorded duration."""
    from uetf_core.planning import Plan, check_shard_count, shard_plan

    check_shard_count(args.shards, "uetf plan --shards")
    ledger = ledger_for(args)
    try:
        runs = [r for r in ledger.list_runs(50) if r["finished_at"] and not r["partial"]]
        if runs:
            tests = [t["node_id"] for t in ledger.tasks(runs[0]["run_id"])]
        else:  # only sharded runs so far: every test they ran
            tests = sorted(ledger.recent_durations(50))
        history = Plan.from_history(ledger.recent_durations(20), (), ())
    finally:
        ledger.close()
    if not tests:
        raise NoLedgerError("the ledger has no recorded tests to plan; run pytest --uetf first")
    shards = shard_plan(tests, history, args.shards)
    if args.json:
        print_json(shards)
        return int(ExitCode.OK)
    total = sum(s["seconds"] for s in shards)
    say(f"{len(tests)} tests, {total:.1f} s expected in all; {args.shards} shards:")
    for entry in shards:
        say(
            f"  shard {entry['shard']:>7}  {len(entry['tests']):>6} tests"
            f"  {entry['seconds']:>9.1f} s"
        )
    longest = max(s["seconds"] for s in shards)
    if total:
        say(
            f"longest shard {longest:.1f} s = {longest / (total / args.shards):.3f} x an even split"
        )
    return int(ExitCode.OK)
