"""Time to judge patch coverage of a 300-line change over 10 files, against diff-cover.

Run: python benchmarks/patch_eval.py [--rounds 5]

Builds a git repository with 10 modules on main, changes 30 lines in each on a
branch, and measures coverage once (coverage run). Then, with that data in
hand, times UETF's patch evaluation (git diff against the merge-base, then the
patch_coverage figure from per-file coverage) and diff-cover on the same diff
and data (its XML step, coverage xml, included, as diff-cover needs it).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from uetf_core.gates.catalog import GATES
from uetf_core.metrics import CoverageFigures, GateContext, PatchFigures, RunMetrics, Totals
from uetf_core.patch import detect_patch


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def build(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "bench@uetf.invalid")
    git(root, "config", "user.name", "bench")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    for m in range(10):
        code = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(30))
        (root / "pkg" / f"mod{m}.py").write_text(code)
    (root / "test_pkg.py").write_text(
        "import pkg.mod0, pkg.mod1\n\ndef test_some():\n    assert pkg.mod0.f1(1) in (0, 2)\n"
    )
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-qb", "feature")
    for m in range(10):  # 30 changed lines per module: 300 in all
        code = "".join(f"def f{i}(x):\n    return x - {i}\n\n\n" for i in range(30))
        (root / "pkg" / f"mod{m}.py").write_text(code)
    git(root, "commit", "-qam", "change")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "coverage",
            "run",
            "--source=pkg",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:uetf",
            "-p",
            "no:cacheprovider",
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )


def coverage_figures(root: Path) -> CoverageFigures:
    import coverage

    cov = coverage.Coverage(data_file=str(root / ".coverage"))
    cov.load()
    files = {}
    for name in cov.get_data().measured_files():
        _, statements, _, missing, _ = cov.analysis2(name)
        relative = str(Path(name).relative_to(root))
        files[relative] = (frozenset(statements), frozenset(set(statements) - set(missing)))
    return CoverageFigures(0.0, files)


def uetf_once(root: Path, figures: CoverageFigures) -> tuple[float, float]:
    start = time.perf_counter()
    entry = detect_patch(root, "main", env={})
    patch = PatchFigures({c.path: tuple(c.added) for c in entry.files})
    context = GateContext(RunMetrics(Totals(), 0.0, None), coverage=figures, patch=patch)
    value = GATES["patch_coverage"].measure(context, None)
    return time.perf_counter() - start, float(value)  # type: ignore[arg-type]


def diff_cover_once(root: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "coverage", "xml", "-o", "cov.xml"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, "-m", "diff_cover.diff_cover_tool", "cov.xml", "--compare-branch", "main"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root)
        figures = coverage_figures(root)
        uetf = [uetf_once(root, figures) for _ in range(args.rounds)]
        peer = [diff_cover_once(root) for _ in range(args.rounds)]
    ours = statistics.median(t for t, _ in uetf)
    theirs = statistics.median(peer)
    print("Patch evaluation: 300 changed lines over 10 files, coverage data present")
    print(f"  uetf (git diff + patch_coverage)   {ours * 1000:8.1f} ms  -> {uetf[0][1]:.2f}%")
    print(f"  diff-cover (coverage xml + diff)   {theirs * 1000:8.1f} ms")
    print(f"  ratio                              {ours / theirs:8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
