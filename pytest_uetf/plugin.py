"""The pytest entry point: options, configuration, and which role this process plays.

Nothing here runs per test. When ``--uetf`` (or ``[tool.uetf] enabled``) is on,
the controller gets a :class:`~pytest_uetf.controller.UetfController`,
registered and kept in ``config.stash``; an xdist worker gets a
:class:`~pytest_uetf.worker.UetfWorker` instead, and never opens the ledger.
Whether UETF is on is decided without importing ``uetf_core``: a project that
has UETF installed for CI pays next to nothing for it in every other run.
"""

from __future__ import annotations

import os
import sys
from argparse import Namespace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# uetf_core is imported inside the hooks, after coverage has started: so that a
# project measuring its own uetf_core (this one) sees all of its lines.
if TYPE_CHECKING:
    import coverage

    from pytest_uetf.controller import UetfController
    from pytest_uetf.costs import CostRecorder
    from pytest_uetf.options import Selection
    from uetf_core.config import RunConfig
    from uetf_core.measure import Measurement

controller_key: pytest.StashKey[UetfController] = pytest.StashKey()
measurement_key: pytest.StashKey[Measurement] = pytest.StashKey()
_table_key: pytest.StashKey[dict[str, Any]] = pytest.StashKey()
# [tool.uetf] and its file, when the light read found a table: parsing TOML again costs
# a million instructions and more at every start.
_pyproject_key: pytest.StashKey[tuple[dict[str, Any], Path]] = pytest.StashKey()
selection_key: pytest.StashKey[Selection] = pytest.StashKey()
# The run's configuration, resolved once, at the first hook that can.
_run_config_key: pytest.StashKey[RunConfig | None] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    # Made from the core's table of settings (uetf_core/settings.py), as plain values:
    # offering them imports nothing of uetf_core.
    from pytest_uetf.option_table import OPTIONS

    group = parser.getgroup("uetf", "UETF: record, gate and judge the run")
    for option, arguments in OPTIONS:
        group.addoption(option, **arguments)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    _import_compiled(pluginmanager)
    from pytest_uetf import hooks

    pluginmanager.add_hookspecs(hooks)


def _import_compiled(pluginmanager: pytest.PytestPluginManager) -> None:
    """Import the rest of UETF as compiled, not through pytest's assertion rewriting.

    pytest rewrites the asserts of every package of a plugin's distribution, so
    also uetf_core and pytest_uetf, which hold no test asserts: each of their
    modules is then read and hashed on every run, and parsed and compiled again
    on every run where bytecode is not written (PYTHONDONTWRITEBYTECODE, usual in
    CI images): a tenth of a second of every pytest start. Which packages are
    rewritten is a private set of pytest's; where it is absent, nothing changes.
    """
    marked = getattr(getattr(pluginmanager, "rewrite_hook", None), "_must_rewrite", None)
    if isinstance(marked, set):
        marked.difference_update(("uetf_core", "pytest_uetf"))


def _uetf_table(config: pytest.Config) -> dict[str, Any]:
    """A light read of ``[tool.uetf]`` (stdlib only), once per session; ``{}`` when absent
    or unreadable (the full resolution reports a broken file properly)."""
    table = config.stash.get(_table_key, None)
    if table is None:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
        pyproject = project_root(config.rootpath) / "pyproject.toml"
        try:
            found = tomllib.loads(pyproject.read_text("utf-8")).get("tool", {}).get("uetf", {})
        except (OSError, ValueError, AttributeError):
            found = None
        if isinstance(found, dict):  # read as the full resolution would: it reuses it
            config.stash[_pyproject_key] = (found, pyproject)
        table = config.stash[_table_key] = found if isinstance(found, dict) else {}
    return table


def _enabled(config: pytest.Config, options: Namespace) -> bool:
    """Whether UETF records this session: decided without importing uetf_core, so a project
    that has UETF installed for CI pays next to nothing for it in every other run."""
    return bool(getattr(options, "uetf", False)) or _uetf_table(config).get("enabled") is True


# Options that mean nothing without --uetf, by their dest: given alone, they are ignored.
_NEEDS_UETF = (
    "uetf_ledger",
    "uetf_gate",
    "uetf_cov",
    "uetf_base",
    "uetf_diff_file",
    "uetf_baseline",
    "uetf_report",
    "uetf_progress",
    "uetf_stall_timeout",
    "uetf_dist",
    "uetf_order",
    "uetf_shard",
    "uetf_workstream",
    "uetf_phase",
    "uetf_depends_on",
    "uetf_gate_mode",
    "uetf_select",
)


def _warn_ignored_options(config: pytest.Config) -> None:
    """Say once that UETF options were given to a session that does not record."""
    given = [
        "--" + dest.replace("_", "-") for dest in _NEEDS_UETF if getattr(config.option, dest, None)
    ]
    if given:
        config.issue_config_time_warning(
            pytest.PytestConfigWarning(
                f"uetf: {', '.join(given)} ignored: UETF is off for this run; add --uetf "
                "(or [tool.uetf] enabled = true in pyproject.toml)"
            ),
            stacklevel=2,
        )


def _early_coverage(config: pytest.Config, options: Namespace) -> coverage.Coverage | None:
    """Start coverage.py if this run will measure, before any of uetf_core is imported.

    Only a light look at the options and [tool.uetf] happens first; the full,
    validated configuration is resolved right after.
    """
    table = _uetf_table(config)
    if not _enabled(config, options):
        return None
    sources = list(options.uetf_cov) or list(table.get("cov_source") or [])
    if not sources and not _declares_coverage_gate(table, options.uetf_gate):
        return None
    # pytest-cov's --cov often sits in a project's addopts; its own --no-cov turns it
    # off for one run, and then only UETF measures.
    if getattr(options, "cov_source", None) and not getattr(options, "no_cov", False):
        ours = "--uetf-cov" if options.uetf_cov else "[tool.uetf] cov_source"
        raise pytest.UsageError(
            f"uetf: pytest-cov (--cov) and UETF ({ours}) would both measure coverage; add "
            "--no-cov to turn pytest-cov off for this run (UETF measures with the same "
            f"coverage configuration), or drop --cov, or {ours}"
        )
    import coverage

    # sys.monitoring costs a fraction of the default tracer; chosen for this
    # measurement only (COVERAGE_CORE would reach the tests' subprocesses too),
    # unless the user chose a core. coverage.py before 7.9 has only the variable.
    sysmon = sys.version_info >= (3, 12) and "COVERAGE_CORE" not in os.environ
    as_option = sysmon and coverage.version_info >= (7, 9)
    try:
        cov = coverage.Coverage(
            data_file=None,
            source=[str(s) for s in sources] or None,
            config_file=True,
            messages=False,
        )
        # Before Python 3.14 sys.monitoring cannot measure branches: coverage.py would
        # warn and fall back; branch coverage keeps the default tracer from the start.
        if cov.config.branch and sys.version_info < (3, 14):
            sysmon = as_option = False
        if sysmon and not as_option:
            os.environ["COVERAGE_CORE"] = "sysmon"  # read when coverage starts
        if as_option and not cov.config.core:
            cov.set_option("run:core", "sysmon")
        if not _measures_uetf([*(cov.config.source or ()), *cov.config.source_pkgs]):
            # Imported before measuring starts when UETF's own code is not what is
            # measured: under coverage.py's tracer every line an import runs is traced.
            import pytest_uetf.controller  # noqa: F401
            import uetf_core.measure  # noqa: F401
        cov.start()
    except coverage.CoverageException as exc:
        raise pytest.UsageError(f"uetf: the coverage configuration is unusable: {exc}") from None
    # coverage.py's warnings that a source was never imported, or that nothing
    # was measured, stay on: uetf_core.measure turns them into the coverage
    # gates' error, naming where the source was declared (kept on the object,
    # as uetf_core cannot be imported yet to take it).
    cov.uetf_source_origin = (  # type: ignore[attr-defined]
        "--uetf-cov" if options.uetf_cov else "[tool.uetf] cov_source" if sources else None
    )
    return cov


def _measures_uetf(sources: list[str]) -> bool:
    """Whether coverage may measure UETF's own code: no source at all (coverage.py
    then measures every file outside the interpreter's), or a source naming
    uetf_core or pytest_uetf, a module in them, a folder holding them or inside them."""
    if not sources:
        return True
    home = Path(__file__).resolve().parent.parent
    packages = ("uetf_core", "pytest_uetf")
    for source in sources:
        if source.split(".")[0] in packages:
            return True
        folder = Path(source).resolve()
        if home.is_relative_to(folder) or any(
            folder.is_relative_to(home / package) for package in packages
        ):
            return True
    return False


def _declares_coverage_gate(table: dict[str, Any], texts: list[str]) -> bool:
    """Whether ``[tool.uetf.gates]`` or a ``--uetf-gate`` declares a coverage gate.

    Read with the core's own pattern from a module of the standard library
    alone: this runs before coverage starts, so a project measuring uetf_core
    (this one) still sees the lines of everything else imported after it.
    """
    from uetf_core.gate_names import COVERAGE_GATES, gate_name

    gates = table.get("gates")
    # A table's keys are its gates' names, whatever form each value takes.
    declared = [*(gates if isinstance(gates, dict) else ()), *map(gate_name, texts)]
    return any(name in COVERAGE_GATES for name in declared)


def project_root(rootdir: Path) -> Path:
    """The folder of the project's pyproject.toml: the nearest at or above pytest's rootdir,
    within the git work tree. A ``pytest.ini`` in ``tests/`` makes that the rootdir, but
    the project's ``[tool.uetf]``, its ledger and its change are the repository's.
    Outside git, the rootdir: no folder above it is known to be the project's."""
    found = None
    for folder in (rootdir, *rootdir.parents):
        if found is None and (folder / "pyproject.toml").is_file():
            found = folder
        if (folder / ".git").exists():
            return found or rootdir
    return rootdir


def _run_config(config: pytest.Config, options: Namespace) -> RunConfig | None:
    """The run's configuration, or ``None`` when UETF is off for this session; resolved
    (and validated) once per session, then kept."""
    if _run_config_key not in config.stash:
        config.stash[_run_config_key] = _resolve_run_config(config, options)
    return config.stash[_run_config_key]


def _resolve_run_config(config: pytest.Config, options: Namespace) -> RunConfig | None:
    from uetf_core.config import CliOptions, read_pyproject, resolve_config
    from uetf_core.errors import ConfigError

    try:
        root = project_root(config.rootpath)
        read = config.stash.get(_pyproject_key, None)
        table, pyproject = read if read is not None else read_pyproject(root)
        if not (options.uetf or table.get("enabled") is True):
            return None
        said = _command_line(options)  # every CliOptions field: tests/test_settings.py
        cli = CliOptions._make(said[name] for name in CliOptions._fields)
        return resolve_config(root, table, cli, os.environ, pyproject)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


def _command_line(options: Namespace) -> dict[str, object]:
    """What the options said, by ``CliOptions`` field; a repeatable option as a tuple."""
    from uetf_core.run_config import OPTION_DESTS  # the table's, as plain values

    said = {field: getattr(options, dest) for field, dest in OPTION_DESTS.items()}
    return {name: tuple(v) if isinstance(v, list) else v for name, v in said.items()}


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    # Start coverage before conftests and test modules are imported, so the
    # import-time lines of the code under test count (as pytest-cov does).
    options = early_config.known_args_namespace
    if not _enabled(early_config, options):
        return
    cov = _early_coverage(early_config, options)
    run_config = _run_config(early_config, options)
    if run_config is None:
        return
    from pytest_uetf.options import read_selection

    # Only here does pytest tell which arguments came from the ini file.
    early_config.stash[selection_key] = read_selection(early_config, parser, args)
    if cov is None:
        return
    from uetf_core.measure import Measurement

    early_config.stash[measurement_key] = Measurement(cov, str(run_config.rootdir))


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    measurement = config.stash.get(measurement_key, None)
    # Prevent opening the ledger on worker nodes (xdist): the controller records.
    if hasattr(config, "workerinput"):
        _configure_worker(config, config.workerinput, measurement)
        return
    if not _enabled(config, config.option):
        _warn_ignored_options(config)
        return
    run_config = _run_config(config, config.option)
    if run_config is None:
        return
    from pytest_uetf.controller import UetfController

    controller = UetfController(
        config, run_config, measurement, config.stash.get(selection_key, None)
    )
    config.stash[controller_key] = controller
    config.pluginmanager.register(controller, "uetf-controller")
    mode = run_config.select
    if mode != "off":  # test impact analysis, only when asked: recording has a cost
        from pytest_uetf.impact import register

        register(config, controller, None if mode == "record" else mode, record=True)


def _configure_worker(
    config: pytest.Config, workerinput: dict[str, Any], measurement: Measurement | None
) -> None:
    """An xdist worker of a recorded run measures and hands over; it follows the plan."""
    if measurement is not None or workerinput.get("uetf"):
        from pytest_uetf.worker import UetfWorker

        config.pluginmanager.register(UetfWorker(config, measurement), "uetf-worker")
    if "uetf_impact" in workerinput:
        from pytest_uetf.impact import register

        register(config, None, None, record=True)
    wire = workerinput.get("uetf_plan")
    if wire is not None:
        from pytest_uetf.ordering import PlannedItems
        from uetf_core.planning import Plan

        config.pluginmanager.register(PlannedItems(Plan.from_wire(wire)), "uetf-plan")


def pytest_unconfigure(config: pytest.Config) -> None:
    controller = config.stash.get(controller_key, None)
    if controller is not None:
        del config.stash[controller_key]
        controller.close()
        config.pluginmanager.unregister(controller)


@pytest.fixture
def uetf_cost(request: pytest.FixtureRequest) -> CostRecorder:
    """Declare what a test costs: ``uetf_cost.add("openai_tokens", 1234)``, ``add("usd", 0.02)``.

    Recorded with the test by ``pytest --uetf``; see ``uetf costs`` and the ``max_cost`` gate.
    """
    from pytest_uetf.costs import CostRecorder

    return CostRecorder(request.node)
