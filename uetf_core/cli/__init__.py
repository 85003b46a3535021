"""The ``uetf`` command: read the ledger, show runs, judge them again, check the ledger.

Every error is one line on stderr and a documented exit code (docs/exit-codes.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from uetf_core import __version__
from uetf_core.cli import commands, impact
from uetf_core.errors import UetfError
from uetf_core.exitcodes import ExitCode
from uetf_core.terminal import visible_line


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text!r}")
    return value


def _date(text: str) -> float:
    import datetime as dt

    from uetf_core.timeutil import parse_iso

    try:
        moment = parse_iso(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 date, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


# One spelling of a report everywhere: pytest's --uetf-report, uetf report, uetf gate.
REPORT_HELP = (
    "a report to write, FORMAT[:PATH] as --uetf-report takes it (repeatable;"
    " --format is the same option)"
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``uetf`` subcommand."""
    parser = argparse.ArgumentParser(
        prog="uetf", description="Read and judge the runs recorded by pytest --uetf."
    )
    parser.add_argument("--version", action="version", version=f"uetf {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--ledger",
        metavar="PATH",
        help="ledger location (default: $UETF_LEDGER, [tool.uetf] ledger, .ledger/uetf.db)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    runs = sub.add_parser("runs", parents=[common], help="list the runs, newest first")
    runs.add_argument("--limit", type=_positive_int, default=20, help="at most N runs (20)")
    runs.add_argument("--json", action="store_true", help="a JSON list of run summaries")
    runs.add_argument("--branch", metavar="B", help="only runs of git branch B")
    runs.add_argument(
        "--since", type=_date, metavar="DATE", help="only runs started on or after DATE (ISO 8601)"
    )
    runs.set_defaults(handler=commands.runs)

    show = sub.add_parser("show", parents=[common], help="one run: totals, gates, failures")
    show.add_argument("run", nargs="?", default="last", help="run id, a prefix of one, or last")
    show.add_argument("--json", action="store_true", help="the run_summary JSON document")
    show.set_defaults(handler=commands.show)

    gate = sub.add_parser(
        "gate", parents=[common], help="evaluate a run's gates again; exit as the run did"
    )
    gate.add_argument("run", nargs="?", default="last", help="run id, a prefix of one, or last")
    gate.add_argument(
        "--workstream",
        metavar="ID",
        help="judge a CI build split over jobs: combine its steps into one run and gate it",
    )
    gate.add_argument(
        "--expect-shards",
        type=_positive_int,
        metavar="N",
        help="with --workstream: fail unless shards 1..N each ran exactly once",
    )
    gate.add_argument(
        "--report",
        "--format",
        dest="report",
        action="append",
        default=[],
        metavar="FORMAT[:PATH]",
        help=REPORT_HELP + "; written after the gates are judged",
    )
    gate.set_defaults(handler=commands.gate)

    watch = sub.add_parser("watch", parents=[common], help="follow a run live: progress and ETA")
    watch.add_argument("run", nargs="?", default="last", help="run id, a prefix of one, or last")
    watch.add_argument("--interval", type=float, default=1.0, help="seconds between reads (1)")
    watch.add_argument("--timeout", type=float, help="stop watching after this many seconds")
    watch.set_defaults(handler=commands.watch)

    costs = sub.add_parser(
        "costs", parents=[common], help="what a run cost: seconds, memory, money"
    )
    costs.add_argument("run", nargs="?", default="last", help="run id, a prefix of one, or last")
    costs.add_argument("--by", choices=("test", "module", "worker"), default="module")
    costs.add_argument(
        "--sort",
        default="wall",
        metavar="{wall,cpu,memory,NAME}",
        help="costliest first by wall or CPU seconds, peak memory, or a custom cost NAME (wall)",
    )
    costs.add_argument(
        "--top",
        "--limit",
        dest="top",
        type=_positive_int,
        default=10,
        metavar="N",
        help="the N costliest rows (10)",
    )
    costs.add_argument("--json", action="store_true", help="the costs JSON document")
    costs.set_defaults(handler=commands.costs)

    flaky = sub.add_parser(
        "flaky", parents=[common], help="tests whose outcome flips, with rates and last failures"
    )
    flaky.add_argument(
        "--since", type=_positive_int, default=30, metavar="N", help="the last N runs (30)"
    )
    flaky.add_argument("--json", action="store_true", help="a JSON list of the flaky tests")
    flaky.set_defaults(handler=commands.flaky)

    history = sub.add_parser(
        "history", parents=[common], help="one test across runs: outcomes, durations, commits"
    )
    history.add_argument(
        "test",
        help="the test's node id, a part of it, or a glob ('*', '?', '[...]');"
        " several matches are listed",
    )
    history.add_argument(
        "--limit", type=_positive_int, default=50, help="at most N runs per test (50)"
    )
    history.add_argument(
        "--json", action="store_true", help="a JSON list of the runs of every matching test"
    )
    history.set_defaults(handler=commands.history)

    prune = sub.add_parser(
        "prune", parents=[common], help="keep the newest N runs per branch, and their baselines"
    )
    prune.add_argument("--keep", type=_positive_int, required=True, metavar="N")
    prune.add_argument("--dry-run", action="store_true", help="say what would go, delete nothing")
    prune.add_argument(
        "--vacuum",
        action="store_true",
        help="then give the space back: VACUUM on SQLite (the file shrinks),"
        " VACUUM (ANALYZE) of the ledger's tables on PostgreSQL",
    )
    prune.set_defaults(handler=commands.prune)

    plan = sub.add_parser(
        "plan", parents=[common], help="split the suite into shards by recorded duration"
    )
    plan.add_argument("--shards", type=_positive_int, required=True, metavar="N")
    plan.add_argument("--json", action="store_true", help="each shard's tests and seconds")
    plan.set_defaults(handler=commands.plan)

    push = sub.add_parser(
        "push", parents=[common], help="send a spool's runs to the (PostgreSQL) ledger"
    )
    push.add_argument("spool", help="the spool file a run wrote while the ledger was away")
    push.set_defaults(handler=commands.push)

    migrate = sub.add_parser("migrate", help="copy a SQLite ledger into another ledger")
    migrate.add_argument("--from", dest="source", required=True, metavar="sqlite:PATH")
    migrate.add_argument("--to", dest="target", required=True, metavar="URL")
    migrate.set_defaults(handler=commands.migrate)

    merge = sub.add_parser(
        "merge", help="merge ledgers (CI job artifacts) into one; merging twice changes nothing"
    )
    merge.add_argument("--into", required=True, metavar="TARGET", help="the ledger to merge into")
    merge.add_argument("ledgers", nargs="+", metavar="LEDGER", help="ledger files to merge")
    merge.set_defaults(handler=commands.merge)

    rep = sub.add_parser(
        "report",
        parents=[common],
        help="write a run's reports (markdown, github, json, html, junit, cobertura)",
    )
    rep.add_argument("run", nargs="?", default="last", help="run id, a prefix of one, or last")
    rep.add_argument(
        "--report",
        "--format",
        dest="report",
        action="append",
        required=True,
        metavar="FORMAT[:PATH]",
        help=REPORT_HELP + "; without PATH to standard output",
    )
    rep.set_defaults(handler=commands.report)

    cov = sub.add_parser("coverage", help="a run's coverage data")
    cov_sub = cov.add_subparsers(dest="coverage_command", metavar="ACTION", required=True)
    export = cov_sub.add_parser(
        "export",
        parents=[common],
        help="write a run's coverage as a coverage.py data file (for coverage html, xml, ...)",
    )
    export.add_argument("run", help="run id, a prefix of one, or last")
    export.add_argument("path", help="the data file to write, e.g. .coverage")
    export.set_defaults(handler=commands.coverage_export)

    doctor = sub.add_parser(
        "doctor", parents=[common], help="schema version, integrity, stale runs"
    )
    doctor.set_defaults(handler=commands.doctor)
    impact.add_parser(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``uetf`` command; returns the exit status."""
    # A terminal or pipe that takes only ASCII or a code page (PYTHONIOENCODING, a
    # Windows console) gets a test name it cannot show escaped, not a traceback.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse's own exit: 0 for --help, 2 for a usage error
        # A usage error is 4 in UETF's table (2 means interrupted, as in pytest's).
        return int(ExitCode.USAGE_ERROR) if exc.code == 2 else int(exc.code or 0)
    try:
        status: int = args.handler(args)
    except UetfError as exc:
        # Error lines can carry a path or a run id prefix the user typed: made inert.
        print(visible_line(_prefixed(str(exc))), file=sys.stderr)
        return int(exc.exit_code)
    except BrokenPipeError:  # `uetf runs | head` closed the pipe: not an error
        return int(ExitCode.OK)
    except OSError as exc:  # a path the user gave cannot be read or written
        message = _prefixed(f"{exc.filename or ''}: {exc.strerror or exc}")
        print(visible_line(message), file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    return status


def _prefixed(message: str) -> str:
    """``uetf: MESSAGE``, the prefix once: an error raised with another's text as its
    message would otherwise print it twice ("uetf: uetf: cannot write ...")."""
    while message.startswith("uetf: "):
        message = message.removeprefix("uetf: ")
    return f"uetf: {message}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
