"""The subcommands that show what the ledger recorded: runs, one run, a test's
history, flaky tests, a run followed live."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from uetf_core.cli.common import (
    NoLedgerError,
    ledger_for,
    print_json,
    say,
    seconds,
)
from uetf_core.exitcodes import ExitCode
from uetf_core.judge import find_baseline
from uetf_core.ledger import Ledger
from uetf_core.render import gate_table, impact_sentence, totals_line
from uetf_core.reports import text
from uetf_core.reports.document import failure_rows, patch_lines
from uetf_core.schemas import validate
from uetf_core.summary import build_summary
from uetf_core.terminal import visible_line

if TYPE_CHECKING:
    from uetf_core.documents import NamedHistoryEntry, ProgressDocument, RunRow
    from uetf_core.report_documents import RunSummary


def runs(args: argparse.Namespace) -> int:
    ledger = ledger_for(args)
    listed = ledger.list_runs(args.limit, branch=args.branch, since=args.since)
    if args.json:
        summaries = [build_summary(ledger, run["run_id"]) for run in listed]
        validate("runs", summaries, "uetf runs --json")
        print_json(summaries)
        return int(ExitCode.OK)
    if not listed:
        say(f"no runs in {ledger.location}")
        return int(ExitCode.OK)
    header = f"{'run':<22}  {'state':<9}  {'exit':>4}  {'started (UTC)':<19}  totals"
    say(header)
    for run in listed:
        totals = ledger.totals(run["run_id"]).as_dict()
        started = run["started_at"][:19].replace("T", " ")
        exit_status = "-" if run["exit_status"] is None else str(run["exit_status"])
        partial = " (partial)" if run["partial"] else ""
        say(
            f"{run['run_id']:<22}  {run['state']:<9}  {exit_status:>4}  {started:<19}  "
            f"{totals_line(totals)}{partial}"
        )
    return int(ExitCode.OK)


def show(args: argparse.Namespace) -> int:
    ledger = ledger_for(args)
    run = ledger.find_run(args.run)
    summary = build_summary(ledger, run["run_id"])
    if args.json:
        validate("run_summary", summary, f"run {summary['run_id']} summary")
        print_json(summary)
        return int(ExitCode.OK)
    say(f"run       {summary['run_id']}")
    say(
        f"state     {summary['state']}"
        + (f" ({summary['end_reason']})" if summary["end_reason"] else "")
    )
    say(f"started   {summary['started_at']}")
    duration = summary["duration_seconds"]
    say(f"duration  {'-' if duration is None else f'{duration:.2f} s'}")
    say(f"exit      {summary['exit_status']}")
    say(f"host      {summary['host']} (pid {summary['pid']})")
    say(f"commit    {_commit(summary, run)}")
    say(f"baseline  {_baseline(ledger, summary)}")
    say(f"tests     {totals_line(summary['totals'])}")
    selection = impact_sentence(summary["impact"])
    if selection:
        say(f"selection {selection}")
    if summary["gates"]:
        print()
        for row in gate_table(summary["gates"]):
            say(row)
    stored = ledger.coverage(run["run_id"]) if summary["patch"] else None
    for rows in (
        text.coverage_rows(summary["coverage"]),
        text.patch_rows(patch_lines(summary["patch"], stored)),
        text.failure_rows(failure_rows(ledger, run["run_id"], summary)),
    ):
        if rows:
            print()
            for row in rows:
                say(row)
    return int(ExitCode.OK)


def _commit(summary: RunSummary, run: RunRow) -> str:
    commit = summary["head_commit"] or ""
    if not commit:
        return "- (not a git work tree)"
    # The branch is shown once the ledger's run row carries it.
    branch = run["branch"]
    return commit[:12] + (f" on branch {branch}" if branch else "")


def _baseline(ledger: Ledger, summary: RunSummary) -> str:
    if summary["baseline_run_id"]:
        return str(summary["baseline_run_id"])
    _, why = find_baseline(ledger, summary["run_id"], None, summary["patch"])
    return "- (" + why.removeprefix("no baseline: ") + ")"


def watch(args: argparse.Namespace) -> int:
    """Follow a run from another terminal: a progress bar with the ETA, until it ends."""
    import math

    from uetf_core.errors import ConfigError

    for flag, value in (("--interval", args.interval), ("--timeout", args.timeout)):
        if value is not None and not (math.isfinite(value) and 0 <= value <= 86_400):
            raise ConfigError(f"uetf watch {flag}: give seconds from 0 to 86400, got {value!r}")
    ledger = ledger_for(args)
    try:
        run = ledger.find_run(args.run)
        run_id = run["run_id"]
        tty = sys.stdout.isatty()
        shown = None
        deadline = None if args.timeout is None else time.monotonic() + args.timeout
        while True:
            run = ledger.find_run(run_id)
            snapshot = ledger.latest_progress(run_id)
            line = _progress_line(run_id, run["state"], snapshot)
            if line != shown:
                text = visible_line(line)
                print(("\r" if tty else "") + text, end="" if tty else "\n", flush=True)
                shown = line
            if run["finished_at"] or run["state"] in ("abandoned",):
                break
            if deadline is not None and time.monotonic() > deadline:
                print(("\n" if tty else "") + f"uetf: stopped watching after {args.timeout:g} s")
                return int(ExitCode.OK)
            time.sleep(args.interval)
    finally:
        ledger.close()
    if tty:
        print()
    say(f"uetf: run {run_id} {run['state']}; exit {run['exit_status']}")
    return int(ExitCode.OK)


def _progress_line(run_id: str, state: str, snapshot: ProgressDocument | None) -> str:
    if snapshot is None:
        return f"{run_id} {state}: no progress yet"
    done, total = snapshot["done"], snapshot["total"]
    share = done / total if total else 0.0
    bar = "#" * int(share * 30) + "." * (30 - int(share * 30))
    outcomes = snapshot["outcomes"]
    counts = ", ".join(
        f"{outcomes[k]} {k}" for k in ("passed", "failed", "error", "skipped") if outcomes.get(k)
    )
    eta = snapshot["eta_seconds"]
    left = "" if eta is None else f" · ETA {int(eta // 60)}m{int(eta % 60):02d}s"
    return f"[{bar}] {done}/{total} {share:.0%} · {counts or 'starting'}{left} ({state})"


def flaky(args: argparse.Namespace) -> int:
    """Tests whose outcome flips: on one commit across runs, or passing on a retry."""
    ledger = ledger_for(args)
    try:
        found = ledger.flaky(args.since)
    finally:
        ledger.close()
    if args.json:
        validate("flaky_tests", found, "uetf flaky --json")
        print_json(found)
        return int(ExitCode.OK)
    if not found:
        say(f"no flaky test in the last {args.since} runs")
        return int(ExitCode.OK)
    say(f"flaky tests in the last {args.since} runs (rate = runs with a flip / runs with the test)")
    for test in found:
        last = test["last_failure"]
        when = f"; last failed {last['at'][:19]} in {last['run_id']}" if last else ""
        say(f"  {test['rate']:>6.1%}  {test['flips']}/{test['runs']}  {test['node_id']}{when}")
        if last and last["message"]:
            say(f"          {last['message']}")
    return int(ExitCode.OK)


# At most this many matching tests are listed (and counted) for a broad pattern.
MATCHES_SHOWN = 100


# "Every run": a limit no ledger reaches, to count a test's runs.
ALL_RUNS = 1_000_000_000


def matching_tests(known: set[str], pattern: str) -> list[str]:
    """The node ids ``pattern`` names: the exact id, else every id the glob (with ``*``, ``?``
    or ``[``) matches, else every id that contains it; sorted."""
    import fnmatch

    if pattern in known:
        return [pattern]
    if any(char in pattern for char in "*?["):
        return sorted(node for node in known if fnmatch.fnmatchcase(node, pattern))
    return sorted(node for node in known if pattern in node)


def history(args: argparse.Namespace) -> int:
    """One test across runs: outcome, duration, attempts, the commit it ran on.

    The test is named by its node id, a part of it or a glob; when several tests
    match, they are listed with their run counts (``--json`` gives all their rows).
    """
    ledger = ledger_for(args)
    try:
        matches = matching_tests(ledger.known_tests(), args.test)
        if len(matches) > 1 and not args.json:
            shown = matches[:MATCHES_SHOWN]
            counted = [(node, len(ledger.test_history(node, ALL_RUNS))) for node in shown]
            counted = [(node, runs) for node, runs in counted if runs]  # pruned away: gone
            if len(counted) > 1:
                return _list_matches(args.test, counted, len(matches))
            matches = [node for node, _ in counted]
        found: list[NamedHistoryEntry] = [
            {
                "node_id": node,
                "run_id": row["run_id"],
                "started_at": row["started_at"],
                "commit": row["commit"],
                "branch": row["branch"],
                "outcome": row["outcome"],
                "duration": row["duration"],
                "attempts": row["attempts"],
            }
            for node in matches
            for row in ledger.test_history(node, args.limit)
        ]
    finally:
        ledger.close()
    if not found:
        raise NoLedgerError(
            f"no recorded run of a test matching {args.test!r}; give a part of its node id"
            " or a glob such as 'tests/test_api.py::*'"
        )
    if args.json:
        validate("history", found, "uetf history --json")
        print_json(found)
        return int(ExitCode.OK)
    say(f"{matches[0]}: {len(found)} run{'' if len(found) == 1 else 's'}, newest first")
    for row in found:
        commit = (row["commit"] or "-")[:10]
        retries = f"  ({row['attempts']} attempts)" if row["attempts"] > 1 else ""
        say(
            f"  {row['started_at'][:19]}  {row['run_id']}  {commit:<10}  {row['outcome']:<8}"
            f"  {seconds(row['duration']):>9}{retries}"
        )
    return int(ExitCode.OK)


def _list_matches(pattern: str, counted: list[tuple[str, int]], matched: int) -> int:
    """Several tests match: each with how many runs recorded it, and how to pick one."""
    say(f"{matched:,} tests match {pattern!r}; give one of them (or a narrower pattern):")
    for node, runs in counted:
        say(f"  {runs:>6,} run{'' if runs == 1 else 's'}  {node}")
    if matched > MATCHES_SHOWN:
        say(f"  ... {matched - MATCHES_SHOWN:,} more")
    return int(ExitCode.OK)
