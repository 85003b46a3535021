"""Cost of recording per-test dependencies on top of a coverage.py run.

Run: python benchmarks/impact_overhead.py [--tests 3000] [--modules 30] [--rounds 5]
                                          [--instructions [--repeat 1]] [--modes ...]

Generates the suite benchmarks/overhead.py uses (quick tests, each calling code
in a measured package) and runs it under ``coverage run --source=pkg -m pytest``
(coverage.py's sys.monitoring core on 3.12+, its C tracer before) with a small
plugin that wraps every test the way UETF's plugin does: ``begin_test`` before,
``end_test`` after, the result appended to a list. The commands:

- ``coverage run``: no plugin;
- ``+ hooks only``: the plugin with a recorder that does nothing, so the plugin's
  own hook calls are counted apart from recording;
- ``+ recorder``: the recorder UETF picks on this Python;
- on 3.12+, ``+ recorder (restart_events)``: one tool id re-armed with
  ``sys.monitoring.restart_events()``, the fallback when only one id is free;
- before 3.12, ``+ recorder (Python profile function)``: the chained fallback.

The figure that matters is the recorder's cost: ``+ recorder`` against ``+ hooks
only``, as a share of the ``coverage run`` count. With --instructions each command
runs under valgrind's cachegrind (see benchmarks/overhead.py) and the figures are
instructions; without, wall and CPU medians over --rounds alternating rounds.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from overhead import generate_suite, measure, measure_instructions

PLUGIN = """\
import os
import pytest


class NullRecorder:
    mechanism = "none"

    def start(self):
        pass

    def begin_test(self):
        pass

    def end_test(self):
        return None

    def stop(self):
        pass


def make_recorder(root):
    mode = MODE
    if mode == "hooks":
        return NullRecorder()
    from uetf_core.impact import ProjectFiles, new_recorder

    project = ProjectFiles(root)
    if mode == "restart":
        from uetf_core.impact.sysmon import SysmonRecorder

        return SysmonRecorder(project, (4,))
    if mode == "python":
        from uetf_core.impact.profiler import ProfileRecorder

        return ProfileRecorder(project)
    return new_recorder(project)


class Recording:
    def __init__(self, root):
        self.recorder = make_recorder(root)
        self.recorder.start()
        self.records = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item):
        self.recorder.begin_test()
        yield
        self.records.append((item.nodeid, self.recorder.end_test()))

    def pytest_sessionfinish(self):
        self.recorder.stop()
        expected = os.environ.get("UETF_IMPACT_BENCH_CHECK")
        if expected and self.records and self.records[-1][1] is not None:
            entered = self.records[-1][1].entered
            assert len(entered) == int(expected), (self.records[-1], expected)


def pytest_configure(config):
    config.pluginmanager.register(Recording(str(config.rootpath)), "uetf-impact-bench")
"""


def commands(modes: list[str]) -> dict[str, list[str]]:
    """The commands by label; every one is ``coverage run`` of the same pytest invocation."""
    base = [
        sys.executable,
        "-m",
        "coverage",
        "run",
        "--source=pkg",
        "--data-file={scratch}",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:uetf",
        "-p",
        "no:cov",
    ]
    labels = {
        "hooks": "+ hooks only",
        "default": "+ recorder",
        "restart": "+ recorder (restart_events)",
        "python": "+ recorder (Python profile function)",
    }
    found = {"coverage run": base}
    for mode in modes:
        # One plugin module per mode: the command line alone tells them apart, so
        # valgrind counts the Python process itself (no env(1) in front of it).
        found[labels[mode]] = [*base, "-p", f"impact_bench_{mode}"]
    return found


def default_modes() -> list[str]:
    return ["hooks", "default", "restart" if sys.version_info >= (3, 12) else "python"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=3000)
    parser.add_argument("--modules", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--instructions", action="store_true", help="count under valgrind")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--modes", nargs="*", choices=["hooks", "default", "restart", "python"])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="uetf-impact-bench-"))
    root = work / "suite"
    root.mkdir()
    plugins = work / "plugins"
    plugins.mkdir()
    for mode in ("hooks", "default", "restart", "python"):
        (plugins / f"impact_bench_{mode}.py").write_text(f"MODE = {mode!r}\n{PLUGIN}")
    repository = Path(__file__).resolve().parents[1]
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(plugins), str(repository), os.environ.get("PYTHONPATH", "")]
    )
    # Each test enters its test function and one function of pkg: a wrong
    # recorder fails the run instead of being measured.
    os.environ["UETF_IMPACT_BENCH_CHECK"] = "2"
    try:
        generate_suite(root, args.tests, args.modules)
        cmds = commands(args.modes or default_modes())
        print(
            f"impact recording overhead: {args.tests} tests in {args.modules} modules under "
            f"coverage run, Python {platform.python_version()}"
        )
        if args.instructions:
            if shutil.which("valgrind") is None:
                raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
            counts = measure_instructions(cmds, root, args.repeat)
            figures = {label: float(statistics.median(v)) for label, v in counts.items()}
            unit = "instructions"
        else:
            times = measure(cmds, root, args.rounds)
            figures = {label: statistics.median(c for _, c in v) for label, v in times.items()}
            unit = "cpu s"
        report(figures, unit, args.tests)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def report(figures: dict[str, float], unit: str, tests: int) -> None:
    """Each command's figure, its ratio to coverage run and the recorder's own share."""
    base = figures["coverage run"]
    hooks = figures.get("+ hooks only", base)
    per = "instr/test" if unit == "instructions" else "us/test"
    print(f"{'command':<40}{unit:>16}{'vs coverage':>13}{'recording':>11}{per:>12}")
    for label, value in figures.items():
        own = (value - hooks) / base if label.startswith("+ recorder") else 0.0
        per_test = (value - hooks) / tests if label.startswith("+ recorder") else 0.0
        if unit != "instructions":
            per_test *= 1e6  # microseconds
        shown = f"{value:,.0f}" if unit == "instructions" else f"{value:.3f}"
        print(f"{label:<40}{shown:>16}{value / base:>13.3f}{own:>11.2%}{per_test:>12,.0f}")


if __name__ == "__main__":
    raise SystemExit(main())
