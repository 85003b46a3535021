"""A recording run's instructions at several commits of UETF, counted alike.

Run: python benchmarks/commits.py [--shape issue] [--tests 1000] COMMIT [COMMIT ...]

Each commit's sources are taken with ``git archive`` into a folder of their own
and put first on ``PYTHONPATH``; a fresh suite of the chosen shape is generated at
one fixed path for each commit in turn, run once (bytecode, page cache, the
ledger), then counted under cachegrind (``pytest --uetf``, one hash seed), and
``pytest -p no:uetf`` is counted once at the same path, with the first commit's
sources on ``PYTHONPATH`` too, to give the ratio.

Counts of one commit made by two invocations of ``targets.py`` differ by more
than a commit usually changes (each invocation's suite sits at a path of its
own, and its ledger holds other run ids and times): to find which commit added
a cost, compare commits within one invocation of this script.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import instructions_once, run_once
from targets import BASE, SHAPES

REPOSITORY = Path(__file__).resolve().parent.parent


def sources(commit: str, into: Path) -> Path:
    """The commit's files, unpacked under ``into``."""
    folder = into / commit
    folder.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPOSITORY), "archive", commit], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def count(
    argv: list[str], root: Path, make: Callable[[Path, int], None], tests: int, tree: Path
) -> int:
    """One warm run, then the count, on a suite made afresh at ``root``."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    make(root, tests)
    os.environ["PYTHONPATH"] = str(tree)
    run_once(argv, root)
    return instructions_once(argv, root)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commits", nargs="+")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="issue")
    parser.add_argument("--tests", type=int, default=1000)
    args = parser.parse_args()
    make = SHAPES[args.shape]
    with tempfile.TemporaryDirectory(prefix="uetf-commits-") as scratch:
        work = Path(scratch)
        root = work / "suite"
        trees = [sources(commit, work / "trees") for commit in args.commits]
        # With the same PYTHONPATH: each import looks in its folder first, at a cost.
        plain = count([*BASE, "-p", "no:uetf"], root, make, args.tests, trees[0])
        print(f"{args.shape}, {args.tests} tests; pytest -p no:uetf: {plain / 1e6:,.1f} M")
        for commit, tree in zip(args.commits, trees, strict=True):
            counted = count([*BASE, "--uetf"], root, make, args.tests, tree)
            extra = (counted - plain) / 1e6
            print(f"{commit:<12} {counted / 1e6:>10,.1f} M  +{extra:,.1f}  {counted / plain:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
