"""Where a pytest run's instructions go, phase by phase, with and without UETF.

Run: python benchmarks/phases.py [--shape issue|own|one] [--tests 1000]
                                 [--command LABEL ...] [--keep]

Generates a suite as targets.py does, then runs each command once normally
(warm bytecode, page cache and ledger) and once under valgrind's callgrind,
with a small pytest plugin of this script's that calls ``os.getppid()`` at the
start and end of pytest's main hooks; callgrind dumps its counters at each of
those calls, so every segment of the run gets its own count, attributed to the
innermost hook it ran in (``pytest_terminal_summary`` runs inside
``pytest_sessionfinish``, for example, and is counted apart from it). The
table shows each command's instructions per phase and their difference to the
first command's: the fixed cost of a run (start-up, configure, session start,
finish) and the cost over its tests (the test loop), in millions, and per
test. callgrind counts what cachegrind counts (overhead.py, targets.py): the
instructions of the pytest process, one hash seed, UETF's intervals an hour.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import _prepare
from targets import BASE, SHAPES, generate_one_test

# The marker plugin: a getppid() call (callgrind dumps before it) at each boundary,
# and the label of the segment each dump ends, written at exit.
PLUGIN = """
import atexit, os
import pytest

_labels = []
_stack = ["interpreter, pytest's import, plugins before this one"]


def _mark(kind, name=""):
    _labels.append(_stack[-1])
    os.getppid()
    if kind == "enter":
        _stack.append(name)
    elif kind == "exit":
        _stack.pop()
    else:
        _stack[-1] = name


_mark("switch", "plugins, ini, options (to load_initial_conftests)")


def _wrapper(name):
    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def hook(*args, **kwargs):
        _mark("enter", name)
        yield
        _mark("exit")
    return hook


for _name in (
    "pytest_load_initial_conftests", "pytest_sessionstart",
    "pytest_collection", "pytest_runtestloop", "pytest_sessionfinish",
    "pytest_terminal_summary", "pytest_unconfigure",
):
    globals()[_name] = _wrapper(_name)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    _mark("switch", "pytest's main (to pytest_configure)")


# pytest_configure is historic, which takes no wrapper: its segment runs on
# to the session's start (pytest creates the Session in between).
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    _mark("switch", "pytest_configure")


# --wrap: segments of their own for named functions ("module:function",
# "module:Class.method") and module imports ("module", its nested imports
# included), set up as each module is first imported, so nothing is imported
# earlier than the run itself imports it.
import sys

_WANTED = [w for w in os.environ.get("UETF_PHASE_WRAP", "").split(",") if w]


def _wrapped(function, label):
    def inner(*args, **kwargs):
        _mark("enter", label)
        try:
            return function(*args, **kwargs)
        finally:
            _mark("exit")
    return inner


def _patch(module):
    for want in _WANTED:
        name, _, attr = want.partition(":")
        if name != module.__name__ or not attr:
            continue
        owner_name, _, method = attr.rpartition(".")
        owner = getattr(module, owner_name) if owner_name else module
        function = getattr(owner, method, None)
        if callable(function):
            setattr(owner, method, _wrapped(function, want))


class _Finder:
    def find_spec(self, fullname, path, target=None):
        if not any(w.partition(":")[0] == fullname for w in _WANTED):
            return None
        import importlib.util
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module
        timed = fullname in _WANTED

        def exec_and_patch(module):
            if timed:
                _mark("enter", "import " + fullname)
            try:
                exec_module(module)
            finally:
                if timed:
                    _mark("exit")
            _patch(module)

        spec.loader.exec_module = exec_and_patch
        return spec


sys.meta_path.insert(0, _Finder())
for _name in list(sys.modules):
    if any(w.partition(":")[0] == _name for w in _WANTED):
        _patch(sys.modules[_name])


@atexit.register
def _end():
    _mark("switch", "")
    with open(os.environ["UETF_PHASE_LABELS"], "w") as f:
        f.write("\\n".join(_labels) + "\\n")
"""

COMMANDS = {
    "pytest -p no:uetf": ["-p", "no:uetf"],
    "pytest (UETF off)": [],
    "pytest --uetf": ["--uetf"],
    "pytest --uetf --uetf-cov": ["-p", "no:cov", "--uetf", "--uetf-cov=pkg"],
    "pytest --cov --cov-report=": ["-p", "no:uetf", "--cov=pkg", "--cov-report="],
}


def phases_once(argv: list[str], root: Path, plugin_dir: Path, wrap: list[str]) -> dict[str, int]:
    """Instructions per phase of one run of ``argv`` under callgrind, after one ordinary run."""
    argv, env = _prepare(argv, root)
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_dir), env.get("PYTHONPATH")]))
    out = Path(tempfile.mkdtemp(dir=root.parent))
    env["UETF_PHASE_LABELS"] = str(out / "labels.txt")
    env["UETF_PHASE_WRAP"] = ",".join(wrap)
    subprocess.run(argv, cwd=root, env=env, capture_output=True, check=False)
    tool = [
        "valgrind",
        "--tool=callgrind",
        "--dump-before=getppid",
        "--dump-instr=no",
        "--compress-strings=no",
        f"--callgrind-out-file={out}/cg.%p",
        f"--log-file={out}/vg.%p.log",
    ]
    with subprocess.Popen(
        [*tool, *argv], cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as process:
        process.wait()
    parts: dict[int, int] = {}
    for dump in out.glob(f"cg.{process.pid}*"):
        text = dump.read_text(errors="replace")
        part = re.search(r"^part: (\d+)", text, re.M)
        total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        parts[int(part.group(1)) if part else 0] = int(total.group(1)) if total else 0
    labels = (out / "labels.txt").read_text().splitlines()
    found: dict[str, int] = collections.Counter()
    for i, key in enumerate(sorted(parts)):
        found[labels[i] if i < len(labels) else "exit"] += parts[key]
    shutil.rmtree(out, ignore_errors=True)
    return dict(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=[*SHAPES, "one"], default="issue")
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument(
        "--command",
        nargs="+",
        choices=list(COMMANDS),
        default=["pytest -p no:uetf", "pytest --uetf"],
        help="the first is the one the others are compared with",
    )
    parser.add_argument(
        "--wrap",
        nargs="+",
        default=[],
        metavar="MODULE[:FUNCTION]",
        help="count apart a function (module:function, module:Class.method) or a module's"
        " import (module), e.g. uetf_core.config pytest_uetf.session:UetfSession.close",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated suite")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("phases.py counts instructions with valgrind (apt-get install valgrind)")
    work = Path(tempfile.mkdtemp(prefix="uetf-phases-"))
    root = work / "suite"
    root.mkdir()
    plugin_dir = work / "plugin"
    plugin_dir.mkdir()
    (plugin_dir / "uetf_phase_marks.py").write_text(PLUGIN)
    try:
        if args.shape == "one":
            generate_one_test(root)
            tests = 1
        else:
            SHAPES[args.shape](root, args.tests)
            tests = args.tests
        counts = {
            label: phases_once(
                [*BASE, "-p", "uetf_phase_marks", *COMMANDS[label]], root, plugin_dir, args.wrap
            )
            for label in args.command
        }
        first = counts[args.command[0]]
        names = list(dict.fromkeys(name for c in counts.values() for name in c))
        print(
            f"instructions per phase (millions), {args.shape} suite, {tests} tests, "
            f"Python {sys.version.split()[0]}; difference to {args.command[0]!r}"
        )
        head = "".join(f"{label[:26]:>28}" for label in args.command)
        print(f"{'phase':<52}{head}")
        for name in [*names, "total"]:
            cells = []
            for label in args.command:
                c = counts[label]
                value = sum(c.values()) if name == "total" else c.get(name, 0)
                base = sum(first.values()) if name == "total" else first.get(name, 0)
                cells.append(
                    f"{value / 1e6:>14,.1f}"
                    + (f"{(value - base) / 1e6:>+14,.1f}" if c is not first else f"{'':>14}")
                )
            print(f"{name[:51]:<52}{''.join(cells)}")
        if tests > 1:
            loop = "pytest_runtestloop"
            for label in args.command[1:]:
                extra = counts[label].get(loop, 0) - first.get(loop, 0)
                print(f"{label}: the test loop {extra / tests:,.0f} instructions a test more")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
