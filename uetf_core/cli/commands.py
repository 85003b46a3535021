"""The ``uetf`` subcommands, each a function of the parsed arguments to an exit status."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from uetf_core.config import (
    DEFAULT_LEDGER,
    LEDGER_ENV,
    check_number,
    read_pyproject,
    resolve_ledger_location,
)
from uetf_core.errors import (
    LedgerCorruptError,
    LedgerFullError,
    LedgerLockedError,
    LedgerReadOnlyError,
    UetfError,
)
from uetf_core.exitcodes import ExitCode
from uetf_core.gates.evaluate import Verdict, overall_verdict
from uetf_core.gates.spec import GateSpec
from uetf_core.ids import host_name
from uetf_core.judge import find_baseline, judge_gates
from uetf_core.ledger import SCHEMA_VERSION, Ledger, open_ledger
from uetf_core.ledger.sqlite import SqliteLedger
from uetf_core.render import gate_table, totals_line
from uetf_core.reports import text
from uetf_core.reports.document import failure_rows, patch_lines
from uetf_core.schemas import validate
from uetf_core.summary import build_summary
from uetf_core.terminal import inert_document, visible_line
from uetf_core.verdict import final_exit_status


class NoLedgerError(UetfError):
    """The command reads a ledger and there is none where it looked."""

    slug = "no-ledger"
    exit_code = ExitCode.USAGE_ERROR


def _project_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / DEFAULT_LEDGER).is_file():
            return folder
    return None


def locate_ledger(explicit: str | None, cwd: Path | None = None) -> tuple[str, float]:
    """Where the ledger is, with the project's ``stale_after``; same defaults as the plugin."""
    cwd = cwd or Path.cwd()
    root = _project_root(cwd) or cwd
    table, _ = read_pyproject(root)
    where = f"{root / 'pyproject.toml'} [tool.uetf]"
    stale_after = check_number("stale_after", table.get("stale_after", 3600.0), where)
    raw = explicit or os.environ.get(LEDGER_ENV) or table.get("ledger") or DEFAULT_LEDGER
    base = cwd if (explicit or os.environ.get(LEDGER_ENV)) else root
    return resolve_ledger_location(str(raw), base), stale_after


def _open(args: argparse.Namespace, check: str = "run") -> Ledger:
    """The ledger a command works on, checked for damage as the command needs.

    ``check`` is "run" for a command that only reads: a ledger this user cannot
    write (read-only media, say) is then opened read-only, its stale runs left for
    a writer to mark. "whole" is for a command that deletes: every page is checked
    before anything is written.
    """
    location, stale_after = locate_ledger(args.ledger)
    if "://" in location:
        ledger = open_ledger(location)
        if check == "whole":
            ledger.check_whole()
    else:
        path = Path(location.removeprefix("sqlite:").removeprefix("//"))
        if not path.exists():
            message = f"no ledger at {location}; run 'pytest --uetf' first or pass --ledger PATH"
            raise NoLedgerError(message)
        if check == "run" and not _writable(path):
            return _read_only(path)
        try:
            ledger = SqliteLedger(path, check=check)
        except LedgerFullError:
            if check != "run":
                raise
            return _read_only(path)  # a full disk: reading needs no room
    if check == "whole":
        ledger.reap_abandoned(host_name(), time.time(), stale_after)
        return ledger
    # Marking stale runs is a courtesy of a reading command: a lock held by a run,
    # or media that turned read-only, must not stop it from showing the ledger.
    with contextlib.suppress(LedgerLockedError, LedgerReadOnlyError):
        ledger.reap_abandoned(host_name(), time.time(), stale_after)
    return ledger


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _read_only(path: Path) -> SqliteLedger:
    """A ledger this user cannot write, opened to read; it must already be current."""
    ledger = SqliteLedger(path, read_only=True, check="none")
    if ledger.version != SCHEMA_VERSION:
        ledger.close()
        message = (
            f"{path}: the ledger has schema version {ledger.version} and needs upgrading to "
            f"{SCHEMA_VERSION}, which cannot be done where it is not writable: run a uetf "
            "command once where the file and its folder are writable"
        )
        raise LedgerReadOnlyError(message)
    return ledger


def _print_json(document: Any) -> None:
    """A JSON document on standard output: strict JSON (no NaN), inert in a CI log."""
    text = json.dumps(document, indent=2, sort_keys=False, allow_nan=False)
    for line in inert_document("json", text):
        print(line)


def _say(line: str = "") -> None:
    """One line for the terminal: recorded data in it shown escaped, never obeyed."""
    print(visible_line(line))


def runs(args: argparse.Namespace) -> int:
    ledger = _open(args)
    listed = ledger.list_runs(args.limit, branch=args.branch, since=args.since)
    if args.json:
        summaries = [build_summary(ledger, run["run_id"]) for run in listed]
        validate("runs", summaries, "uetf runs --json")
        _print_json(summaries)
        return int(ExitCode.OK)
    if not listed:
        _say(f"no runs in {ledger.location}")
        return int(ExitCode.OK)
    header = f"{'run':<22}  {'state':<9}  {'exit':>4}  {'started (UTC)':<19}  totals"
    _say(header)
    for run in listed:
        totals = ledger.totals(run["run_id"]).as_dict()
        started = run["started_at"][:19].replace("T", " ")
        exit_status = "-" if run["exit_status"] is None else str(run["exit_status"])
        partial = " (partial)" if run["partial"] else ""
        _say(
            f"{run['run_id']:<22}  {run['state']:<9}  {exit_status:>4}  {started:<19}  "
            f"{totals_line(totals)}{partial}"
        )
    return int(ExitCode.OK)


def show(args: argparse.Namespace) -> int:
    ledger = _open(args)
    run = ledger.find_run(args.run)
    summary = build_summary(ledger, run["run_id"])
    if args.json:
        validate("run_summary", summary, f"run {summary['run_id']} summary")
        _print_json(summary)
        return int(ExitCode.OK)
    _say(f"run       {summary['run_id']}")
    _say(
        f"state     {summary['state']}"
        + (f" ({summary['end_reason']})" if summary["end_reason"] else "")
    )
    _say(f"started   {summary['started_at']}")
    duration = summary["duration_seconds"]
    _say(f"duration  {'-' if duration is None else f'{duration:.2f} s'}")
    _say(f"exit      {summary['exit_status']}")
    _say(f"host      {summary['host']} (pid {summary['pid']})")
    _say(f"commit    {_commit(summary, run)}")
    _say(f"baseline  {_baseline(ledger, summary)}")
    _say(f"tests     {totals_line(summary['totals'])}")
    if summary["gates"]:
        print()
        for row in gate_table(summary["gates"]):
            _say(row)
    stored = ledger.coverage(run["run_id"]) if summary["patch"] else None
    for rows in (
        text.coverage_rows(summary["coverage"]),
        text.patch_rows(patch_lines(summary["patch"], stored)),
        text.failure_rows(failure_rows(ledger, run["run_id"], summary)),
    ):
        if rows:
            print()
            for row in rows:
                _say(row)
    return int(ExitCode.OK)


def _commit(summary: dict[str, Any], run: dict[str, Any]) -> str:
    commit = str(summary.get("head_commit") or "")
    if not commit:
        return "- (not a git work tree)"
    # The branch is shown once the ledger's run row carries it.
    branch = summary.get("branch") or run.get("branch")
    return commit[:12] + (f" on branch {branch}" if branch else "")


def _baseline(ledger: Ledger, summary: dict[str, Any]) -> str:
    if summary["baseline_run_id"]:
        return str(summary["baseline_run_id"])
    _, why = find_baseline(ledger, summary["run_id"], None, summary["patch"])
    return "- (" + why.removeprefix("no baseline: ") + ")"


def _specs(config: dict[str, Any] | None) -> list[GateSpec]:
    if not config:
        return []
    return [
        GateSpec(g["name"], g["op"], g["threshold"], g["mode"], g.get("path"))
        for g in config["gates"]
    ]


def gate(args: argparse.Namespace) -> int:
    if args.workstream:
        return _gate_workstream(args)
    if args.report:  # a bad report spelling is refused before any work
        from uetf_core.reports import parse_report_spec

        for spec in args.report:
            parse_report_spec(spec)
    ledger = _open(args)
    run = ledger.find_run(args.run)
    run_id = run["run_id"]
    config = ledger.run_config(run_id)
    results, notes = judge_gates(ledger, run_id, _specs(config), config or {})
    for note in notes:
        _say(f"uetf: {note}")
    documents = [result.as_dict() for result in results]
    for row in gate_table(documents) if documents else ["no gates declared"]:
        _say(row)
    _gate_reports(ledger, run_id, args.report)
    if run["state"] in ("errored", "abandoned") or run["exit_status"] is None:
        _say(f"uetf: run {run_id} {run['state']}: it has no verdict to repeat")
        return int(
            run["exit_status"] if run["exit_status"] is not None else ExitCode.INTERNAL_ERROR
        )
    verdict = overall_verdict(results)
    # The stored exit status already folds in the gates; recover the tests' own.
    test_status = 0 if run["exit_status"] == ExitCode.GATES_FAILED else run["exit_status"]
    status = final_exit_status(test_status, verdict)
    word = "held" if verdict in (Verdict.PASSED, Verdict.WARNED) else verdict.value
    _say(f"uetf: run {run_id}: gates {word}; exit {status}")
    return status


def _gate_workstream(args: argparse.Namespace) -> int:
    """Combine a workstream's steps into one run, gate it, and write its reports."""
    from uetf_core.workstream import gate_workstream

    ledger = _open(args)
    try:
        run_id, results, problems, status = gate_workstream(
            ledger, args.workstream, args.expect_shards
        )
        for problem in problems:
            _say(f"uetf: {problem}")
        for row in gate_table([result.as_dict() for result in results]):
            _say(row)
        _say(f"tests     {totals_line(ledger.totals(run_id).as_dict())}")
        _gate_reports(ledger, run_id, args.report)
    finally:
        ledger.close()
    _say(f"uetf: workstream {args.workstream}: verdict run {run_id}; exit {status}")
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
        _say(f"uetf: wrote {document['kind']} report {document['path']}")


def plan(args: argparse.Namespace) -> int:
    """The shards of the suite last recorded, balanced by recorded duration."""
    from uetf_core.planning import Plan, check_shard_count, shard_plan

    check_shard_count(args.shards, "uetf plan --shards")
    ledger = _open(args)
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
        _print_json(shards)
        return int(ExitCode.OK)
    total = sum(s["seconds"] for s in shards)
    _say(f"{len(tests)} tests, {total:.1f} s expected in all; {args.shards} shards:")
    for entry in shards:
        _say(
            f"  shard {entry['shard']:>7}  {len(entry['tests']):>6} tests"
            f"  {entry['seconds']:>9.1f} s"
        )
    longest = max(s["seconds"] for s in shards)
    if total:
        _say(
            f"longest shard {longest:.1f} s = {longest / (total / args.shards):.3f} x an even split"
        )
    return int(ExitCode.OK)


def watch(args: argparse.Namespace) -> int:
    """Follow a run from another terminal: a progress bar with the ETA, until it ends."""
    import math

    from uetf_core.errors import ConfigError

    for flag, value in (("--interval", args.interval), ("--timeout", args.timeout)):
        if value is not None and not (math.isfinite(value) and 0 <= value <= 86_400):
            raise ConfigError(f"uetf watch {flag}: give seconds from 0 to 86400, got {value!r}")
    ledger = _open(args)
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
    _say(f"uetf: run {run_id} {run['state']}; exit {run['exit_status']}")
    return int(ExitCode.OK)


def _progress_line(run_id: str, state: str, snapshot: dict[str, Any] | None) -> str:
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


# The sort keys of ``uetf costs`` besides a custom cost's name, and what each sorts by.
COST_SORTS = {"wall": "wall_seconds", "cpu": "cpu_seconds", "memory": "peak_rss_mb"}


def _seconds(value: float | None) -> str:
    """Seconds for a person: ``850 ms``, ``1.14 s``, ``2.5 min``."""
    if value is None:
        return "-"
    if value < 1:
        if value == 0 or value >= 0.0095:
            return f"{value * 1000:.0f} ms"
        return f"{value * 1000:.1f} ms"
    if value < 60:
        return f"{value:.2f} s"
    return f"{value / 60:,.1f} min"


def _amount(value: float, unit: str) -> str:
    """An amount in its unit, for a person: seconds scaled, MB to one decimal, counts grouped."""
    if unit == "s":
        return _seconds(value)
    if unit == "MB":
        return f"{value:,.1f} MB"
    number = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"
    return number if not unit else f"{number} {unit}"


def _cost_of(group: dict[str, Any], sort: str) -> float:
    """The figure ``sort`` orders groups by; a group without it sorts last."""
    field = COST_SORTS.get(sort, sort)
    value = group.get(field)
    if field not in ("wall_seconds", "cpu_seconds"):
        value = group["custom"].get(field, {}).get("amount")
    return -1.0 if value is None else float(value)


def costs(args: argparse.Namespace) -> int:
    """What a run cost: totals, then the costliest tests, modules or workers."""
    from uetf_core.costs import amounts
    from uetf_core.errors import ConfigError

    ledger = _open(args)
    try:
        run = ledger.find_run(args.run)
        config = ledger.run_config(run["run_id"]) or {}
        totals = ledger.cost_totals(run["run_id"])
        money = amounts(totals, config.get("prices", {}))
        groups = ledger.costs_by(run["run_id"], args.by)
    finally:
        ledger.close()
    custom = sorted({name for group in groups for name in group["custom"]})
    if args.sort not in COST_SORTS and args.sort not in custom:
        known = ", ".join([*COST_SORTS, *custom])
        raise ConfigError(f"uetf costs --sort: no cost {args.sort!r} in this run; sort by {known}")
    groups.sort(key=lambda group: (-_cost_of(group, args.sort), str(group[args.by])))
    shown, more = groups[: args.top], max(0, len(groups) - args.top)
    units = {name: unit for name, (_, unit) in totals.items()}
    if args.json:
        document = {
            "run_id": run["run_id"],
            "totals": {n: {"amount": a, "unit": units.get(n, n)} for n, a in money.items()},
            "by": args.by,
            "sort": args.sort,
            "top": args.top,
            "more": more,
            "groups": shown,
        }
        validate("costs", document, "uetf costs --json")
        _print_json(document)
        return int(ExitCode.OK)
    _say(f"run {run['run_id']}")
    for name, amount in money.items():
        _say(f"  {name:<28} {_amount(amount, units.get(name, name)):>14}")
    print()
    _say(f"{args.by:<56} {'tests':>7} {'wall':>10} {'cpu':>10}  custom")
    for group in shown:
        extra = ", ".join(
            f"{name}={_amount(value['amount'], '' if value['unit'] == name else value['unit'])}"
            for name, value in sorted(group["custom"].items())
        )
        label = str(group[args.by])
        label = label if len(label) <= 56 else "…" + label[-55:]
        _say(
            f"{label:<56} {group['tests']:>7,} {_seconds(group['wall_seconds']):>10}"
            f" {_seconds(group['cpu_seconds']):>10}  {extra}"
        )
    if more:
        _say(f"... {more:,} more (--top N shows more)")
    return int(ExitCode.OK)


def flaky(args: argparse.Namespace) -> int:
    """Tests whose outcome flips: on one commit across runs, or passing on a retry."""
    ledger = _open(args)
    try:
        found = ledger.flaky(args.since)
    finally:
        ledger.close()
    if args.json:
        validate("flaky_tests", found, "uetf flaky --json")
        _print_json(found)
        return int(ExitCode.OK)
    if not found:
        _say(f"no flaky test in the last {args.since} runs")
        return int(ExitCode.OK)
    _say(
        f"flaky tests in the last {args.since} runs (rate = runs with a flip / runs with the test)"
    )
    for test in found:
        last = test["last_failure"]
        when = f"; last failed {last['at'][:19]} in {last['run_id']}" if last else ""
        _say(f"  {test['rate']:>6.1%}  {test['flips']}/{test['runs']}  {test['node_id']}{when}")
        if last and last["message"]:
            _say(f"          {last['message']}")
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
    ledger = _open(args)
    try:
        matches = matching_tests(ledger.known_tests(), args.test)
        if len(matches) > 1 and not args.json:
            shown = matches[:MATCHES_SHOWN]
            counted = [(node, len(ledger.test_history(node, ALL_RUNS))) for node in shown]
            counted = [(node, runs) for node, runs in counted if runs]  # pruned away: gone
            if len(counted) > 1:
                return _list_matches(args.test, counted, len(matches))
            matches = [node for node, _ in counted]
        found = [
            {"node_id": node, **row}
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
        _print_json(found)
        return int(ExitCode.OK)
    _say(f"{matches[0]}: {len(found)} run{'' if len(found) == 1 else 's'}, newest first")
    for row in found:
        commit = (row["commit"] or "-")[:10]
        retries = f"  ({row['attempts']} attempts)" if row["attempts"] > 1 else ""
        _say(
            f"  {row['started_at'][:19]}  {row['run_id']}  {commit:<10}  {row['outcome']:<8}"
            f"  {_seconds(row['duration']):>9}{retries}"
        )
    return int(ExitCode.OK)


def _list_matches(pattern: str, counted: list[tuple[str, int]], matched: int) -> int:
    """Several tests match: each with how many runs recorded it, and how to pick one."""
    _say(f"{matched:,} tests match {pattern!r}; give one of them (or a narrower pattern):")
    for node, runs in counted:
        _say(f"  {runs:>6,} run{'' if runs == 1 else 's'}  {node}")
    if matched > MATCHES_SHOWN:
        _say(f"  ... {matched - MATCHES_SHOWN:,} more")
    return int(ExitCode.OK)


def prune(args: argparse.Namespace) -> int:
    """Keep the newest N runs of each branch and every baseline those runs use."""
    from uetf_core.judge import find_baseline

    ledger = _open(args, check="whole")
    try:
        doomed = set(ledger.prune(args.keep, set(), dry_run=True)["runs"])
        protect: set[str] = set()
        for run in ledger.list_runs():
            if run["run_id"] in doomed:
                continue
            config = ledger.run_config(run["run_id"]) or {}
            baseline, _ = find_baseline(
                ledger, run["run_id"], config.get("baseline"), ledger.patch(run["run_id"])
            )
            if baseline is not None:
                protect.add(baseline.run_id)
        freed = ledger.prune(args.keep, protect, dry_run=args.dry_run)
        verb = "would delete" if args.dry_run else "deleted"
        kept = len(protect & doomed)
        print(
            f"{verb} {len(freed['runs'])} runs ({freed['rows'].get('executions', 0)} execution"
            f" records); kept {kept} older run(s) still used as a baseline"
        )
        if not args.dry_run:
            _after_prune(ledger, freed, args.vacuum)
    finally:
        ledger.close()
    return int(ExitCode.OK)


def _after_prune(ledger: Ledger, freed: dict[str, Any], vacuum: bool) -> None:
    """The space the deleted runs held, and what gives it back on this back end."""
    server = ledger.path is None  # PostgreSQL: the server manages its own files
    if vacuum:
        before, after = ledger.vacuum()
        what = "VACUUM (ANALYZE) done; database" if server else "VACUUM done; ledger file"
        print(f"{what} {before / 1e6:.1f} MB, now {after / 1e6:.1f} MB")
    elif server:
        print(
            f"database {freed['file_bytes'] / 1e6:.1f} MB; the server's autovacuum makes"
            " the deleted rows' space reusable ('uetf prune --vacuum' does it now)"
        )
    else:
        print(
            f"ledger file {freed['file_bytes'] / 1e6:.1f} MB, of which"
            f" {freed['reusable_bytes'] / 1e6:.1f} MB is now free for new records"
            " ('uetf prune --vacuum' shrinks the file)"
        )


def push(args: argparse.Namespace) -> int:
    """Send the runs a spool holds (recorded while the shared ledger was away) to the ledger."""
    from uetf_core.ledger.copy import copy_runs

    spool = Path(args.spool)
    if not spool.is_file():
        raise NoLedgerError(f"no spool file {spool}")
    location, _ = locate_ledger(args.ledger)
    source = SqliteLedger(spool, check="whole")  # damage is never copied on
    try:
        target = open_ledger(location)
        try:
            target.check_whole()
            result = copy_runs(source, target)
        finally:
            target.close()
    finally:
        source.close()
    print(f"pushed {spool}: {result.added} runs sent, {result.present} already there")
    return int(ExitCode.OK)


def migrate(args: argparse.Namespace) -> int:
    """Copy a local SQLite ledger into another ledger (a team's PostgreSQL)."""
    from uetf_core.ledger.copy import copy_runs
    from uetf_core.redact import redact

    path = Path(args.source.removeprefix("sqlite:").removeprefix("//"))
    if not path.is_file():
        raise NoLedgerError(f"no ledger file {path}")
    source = SqliteLedger(path, check="whole")  # damage is never copied on
    try:
        target = open_ledger(args.target)
        try:
            target.check_whole()
            result = copy_runs(source, target)
        finally:
            target.close()
    finally:
        source.close()
    print(
        f"migrated {path} to {redact(args.target)}: {result.added} runs copied,"
        f" {result.present} already there"
    )
    return int(ExitCode.OK)


def merge(args: argparse.Namespace) -> int:
    """Merge ledgers (the artifacts of CI jobs) into one; idempotent."""
    from uetf_core.ledger.merge import merge_into
    from uetf_core.ledger.sqlite_file import probe

    for source in args.ledgers:  # every file checked whole before anything is written
        if Path(source).is_file():
            probe(Path(source), "whole")
    # The target as given: a URL is a server (or an error), never made a path.
    target = open_ledger(resolve_ledger_location(args.into, Path.cwd()))
    try:
        target.check_whole()
        for source in args.ledgers:
            result = merge_into(target, Path(source))
            print(f"merged {source}: {result.added} runs added, {result.present} already present")
    finally:
        target.close()
    return int(ExitCode.OK)


def report(args: argparse.Namespace) -> int:
    """Write reports of a recorded run: the same documents the run itself wrote."""
    from uetf_core.reports import parse_report_spec, print_lines, write_reports

    specs = [parse_report_spec(text) for text in args.report]
    ledger = _open(args)
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


def coverage_export(args: argparse.Namespace) -> int:
    ledger = _open(args)
    run = ledger.find_run(args.run)
    stored = ledger.coverage(run["run_id"])
    if stored is None:
        message = f"run {run['run_id']} measured no coverage; run pytest --uetf --uetf-cov SOURCE"
        raise NoLedgerError(message)
    from uetf_core.measure import export

    target = Path(args.path)
    if not target.parent.is_dir():
        raise NoLedgerError(f"cannot write {target}: folder {target.parent} does not exist")
    if target.exists() or target.is_symlink():
        # Only a coverage data file (SQLite) is replaced, whole, as coverage.py does: never a
        # device, a folder, a link or a file of the user's that happens to have the name.
        if target.is_symlink() or not target.is_file() or not _is_sqlite(target):
            raise NoLedgerError(
                f"cannot write {target}: it exists and is not a coverage data file;"
                " give a new path, or remove it first"
            )
        target.unlink()
    import coverage

    try:
        export({f["path"]: f for f in stored["files"]}, run["rootdir"], str(target))
    except coverage.CoverageException as exc:
        raise NoLedgerError(f"cannot write {target}: {exc}") from None
    print(f"wrote {target}: {len(stored['files'])} files, {stored['percent']:.2f}% covered")
    return int(ExitCode.OK)


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def doctor(args: argparse.Namespace) -> int:
    location, stale_after = locate_ledger(args.ledger)
    path = Path(location.removeprefix("sqlite:").removeprefix("//"))
    if "://" in location:
        ledger = open_ledger(location)
    elif not path.exists():
        raise NoLedgerError(
            f"no ledger at {location}; run 'pytest --uetf' first or pass --ledger PATH"
        )
    else:  # read-only, unchecked: a damaged ledger is described, and left as it is
        ledger = SqliteLedger(path, read_only=True, check="none")
    _say(f"ledger          {ledger.location}")
    try:
        _say(f"schema version  {ledger.schema_version()} (this uetf: {SCHEMA_VERSION})")
        problems = ledger.integrity_problems()
    except LedgerCorruptError as exc:  # too damaged for SQLite to list the damage
        problems = [str(exc).removeprefix("uetf: ")]
    abandoned: list[str] = []
    if not problems and ledger.read_only and _writable(path):
        ledger.close()  # whole: stale runs are marked in a connection that may write
        ledger = SqliteLedger(path, check="none")
    if not problems and not ledger.read_only:
        abandoned = ledger.reap_abandoned(host_name(), time.time(), stale_after)
    _say(f"integrity       {'ok' if not problems else f'{len(problems)} problem(s)'}")
    for problem in problems[:20]:
        _say(f"  {problem}")
    if problems:
        return int(ExitCode.LEDGER_REFUSED)
    live = [
        r
        for r in ledger.list_runs()
        if r["state"] not in ("passed", "failed", "errored", "abandoned")
    ]
    _say(
        f"stale runs      {len(abandoned)} marked abandoned now"
        + (f": {', '.join(abandoned)}" if abandoned else "")
    )
    _say(f"live runs       {len(live)}")
    _say(f"runs            {len(ledger.list_runs())}")
    return int(ExitCode.OK)
