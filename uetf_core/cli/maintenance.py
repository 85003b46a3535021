"""The subcommands that keep the ledger: check it, prune it, move runs between
ledgers, export a run's coverage."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from uetf_core.cli.common import (
    NoLedgerError,
    ledger_for,
    locate_ledger,
    say,
    writable,
)
from uetf_core.config import (
    resolve_ledger_location,
)
from uetf_core.errors import (
    LedgerCorruptError,
)
from uetf_core.exitcodes import ExitCode
from uetf_core.ids import host_name
from uetf_core.judge import find_baseline
from uetf_core.ledger import SCHEMA_VERSION, Ledger, open_ledger
from uetf_core.ledger.base import Pruned
from uetf_core.ledger.sqlite import SqliteLedger

if TYPE_CHECKING:
    from uetf_core.ledger.copy import CopyResult


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
    say(f"ledger          {ledger.location}")
    try:
        say(f"schema version  {ledger.schema_version()} (this uetf: {SCHEMA_VERSION})")
        problems = ledger.integrity_problems()
    except LedgerCorruptError as exc:  # too damaged for SQLite to list the damage
        problems = [str(exc).removeprefix("uetf: ")]
    abandoned: list[str] = []
    if not problems and ledger.read_only and writable(path):
        ledger.close()  # whole: stale runs are marked in a connection that may write
        ledger = SqliteLedger(path, check="none")
    if not problems and not ledger.read_only:
        abandoned = ledger.reap_abandoned(host_name(), time.time(), stale_after)
    say(f"integrity       {'ok' if not problems else f'{len(problems)} problem(s)'}")
    for problem in problems[:20]:
        say(f"  {problem}")
    if problems:
        return int(ExitCode.LEDGER_REFUSED)
    live = [
        r
        for r in ledger.list_runs()
        if r["state"] not in ("passed", "failed", "errored", "abandoned")
    ]
    say(
        f"stale runs      {len(abandoned)} marked abandoned now"
        + (f": {', '.join(abandoned)}" if abandoned else "")
    )
    say(f"live runs       {len(live)}")
    say(f"runs            {len(ledger.list_runs())}")
    return int(ExitCode.OK)


def prune(args: argparse.Namespace) -> int:
    """Keep the newest N runs of each branch and every baseline those runs use."""

    ledger = ledger_for(args, check="whole")
    try:
        doomed = set(ledger.prune(args.keep, set(), dry_run=True).runs)
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
        # Rows that runs share (report records, test impact's blocks and sets) go
        # when no kept run uses them; a dry run does not look for them.
        shared = sum(freed.rows.get(t, 0) for t in ("impact_blocks", "impact_sets", "documents"))
        print(
            f"{verb} {len(freed.runs)} runs ({freed.rows.get('executions', 0)} execution"
            f" records{f', {shared} shared rows no kept run uses' if shared else ''});"
            f" kept {kept} older run(s) still used as a baseline"
        )
        if not args.dry_run:
            _after_prune(ledger, freed, args.vacuum)
    finally:
        ledger.close()
    return int(ExitCode.OK)


def _after_prune(ledger: Ledger, freed: Pruned, vacuum: bool) -> None:
    """The space the deleted runs held, and what gives it back on this back end."""
    server = ledger.path is None  # PostgreSQL: the server manages its own files
    if vacuum:
        before, after = ledger.vacuum()
        what = "VACUUM (ANALYZE) done; database" if server else "VACUUM done; ledger file"
        print(f"{what} {before / 1e6:.1f} MB, now {after / 1e6:.1f} MB")
    elif server:
        print(
            f"database {freed.file_bytes / 1e6:.1f} MB; the server's autovacuum makes"
            " the deleted rows' space reusable ('uetf prune --vacuum' does it now)"
        )
    else:
        print(
            f"ledger file {freed.file_bytes / 1e6:.1f} MB, of which"
            f" {freed.reusable_bytes / 1e6:.1f} MB is now free for new records"
            " ('uetf prune --vacuum' shrinks the file)"
        )


def _copy_whole(path: Path, location: str) -> CopyResult:
    """Copy the runs of the SQLite ledger at ``path`` into the ledger at ``location``,
    both checked whole first: damage is never copied on."""
    from uetf_core.ledger.copy import copy_runs

    source = SqliteLedger(path, check="whole")
    try:
        target = open_ledger(location)
        try:
            target.check_whole()
            return copy_runs(source, target)
        finally:
            target.close()
    finally:
        source.close()


def push(args: argparse.Namespace) -> int:
    """Send the runs a spool holds (recorded while the shared ledger was away) to the ledger."""
    spool = Path(args.spool)
    if not spool.is_file():
        raise NoLedgerError(f"no spool file {spool}")
    location, _ = locate_ledger(args.ledger)
    result = _copy_whole(spool, location)
    print(f"pushed {spool}: {result.added} runs sent, {result.present} already there")
    return int(ExitCode.OK)


def migrate(args: argparse.Namespace) -> int:
    """Copy a local SQLite ledger into another ledger (a team's PostgreSQL)."""
    from uetf_core.redact import redact

    path = Path(args.source.removeprefix("sqlite:").removeprefix("//"))
    if not path.is_file():
        raise NoLedgerError(f"no ledger file {path}")
    result = _copy_whole(path, args.target)
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


def coverage_export(args: argparse.Namespace) -> int:
    ledger = ledger_for(args)
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
