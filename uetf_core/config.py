"""The run configuration: ``[tool.uetf]`` in pyproject.toml, the environment, options.

Precedence, highest first: command-line options, environment (``UETF_LEDGER``),
``[tool.uetf]``, defaults. The result is validated against ``run_config.v1.json``
once, at configuration time. ``RunConfig``, ``CliOptions``, each key's types and each
number's range are generated from the table of settings into ``uetf_core/run_config.py``;
the first two are imported from here as before.
"""

from __future__ import annotations

import difflib
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uetf_core.costs import check_prices
from uetf_core.errors import ConfigError
from uetf_core.gates.spec import MODES, parse_gate, parse_gate_table
from uetf_core.lazy_pattern import LazyPattern
from uetf_core.redact import redact
from uetf_core.run_config import KEYS, NUMBERS
from uetf_core.run_config import LIMITS as LIMITS
from uetf_core.run_config import CliOptions as CliOptions
from uetf_core.run_config import RunConfig as RunConfig
from uetf_core.waivers import DEFAULT_PATH as DEFAULT_WAIVERS
from uetf_core.waivers import load_waivers

# Test impact analysis (docs/impact.md): off by default, since recording costs
# a coverage run time (a few per cent on 3.12+, about a third before).
SELECT_MODES = ("off", "record", "shadow", "affected")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

DEFAULT_LEDGER = ".ledger/uetf.db"
LEDGER_ENV = "UETF_LEDGER"


# Each [tool.uetf] key's types (KEYS) and each number's range (LIMITS) come from the
# table of settings (``uetf_core.settings``), as the generated ``run_config`` holds them.
# Numbers are always finite: a NaN interval never elapses (flush_interval = nan stopped
# every write), an infinite one never comes, and a wait of 1e300 s overflows the timer;
# the batch must fit in memory.
def allowed_range(key: str) -> str:
    """The values ``key`` allows, in words: ``a finite number > 0 and <= 3600``."""
    low, low_allowed, high = LIMITS[key]
    kind = "a whole number" if KEYS[key] is int else "a finite number"
    return f"{kind} {'>=' if low_allowed else '>'} {low:,.0f} and <= {high:,.0f}"


def check_number(key: str, value: float, where: str) -> float:
    """``value`` as a float; a value out of range, not finite or not whole where a whole
    number is needed is refused with one line naming its source and the range.

    ``where`` is the source: an option (``--uetf-stall-timeout``), named alone, or a
    file's table (``pyproject.toml [tool.uetf]``), named with the key.
    """
    low, low_allowed, high = LIMITS[key]
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float: out of range
        number = math.inf
    above = number >= low if low_allowed else number > low
    whole = KEYS[key] is not int or number.is_integer()
    if not (math.isfinite(number) and above and number <= high and whole):
        source = where if where.startswith("--") else f"{where}: key {key!r}"
        raise ConfigError(f"{source} must be {allowed_range(key)}, got {value!r}")
    return number


def _numbers(table: Mapping[str, Any], cli: CliOptions, where: str) -> dict[str, Any]:
    """Every number of the table, read alike: from its option if one is given, else from
    its key, else RunConfig's default; checked against its range, and a whole number's
    an ``int``. By RunConfig field."""
    numbers: dict[str, Any] = {}
    for key, field, cli_field, option in NUMBERS:
        given = getattr(cli, cli_field) if cli_field is not None else None
        if given is not None:
            value = check_number(key, given, option or key)
        else:
            value = check_number(key, table.get(key, RunConfig._field_defaults[field]), where)
        numbers[field] = int(value) if KEYS[key] is int else value
    return numbers


def _source(option: str, given: object, where: str, key: str) -> str:
    """Where a value came from, as the user wrote it: the option, or the table's key."""
    return option if given is not None else f"{where}: key {key!r}"


def read_pyproject(rootdir: Path) -> tuple[dict[str, Any], Path | None]:
    """The ``[tool.uetf]`` table of ``rootdir/pyproject.toml`` and the file's path."""
    path = rootdir / "pyproject.toml"
    if not path.is_file():
        return {}, None
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it as TOML: {exc}") from None
    table = data.get("tool", {}).get("uetf", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.uetf] must be a table")
    return table, path


def _check_keys(table: Mapping[str, Any], where: str) -> None:
    for key, value in table.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            message = f"{where}: unknown key {key!r}; {hint}known keys: {', '.join(KEYS)}"
            raise ConfigError(message)
        expected = KEYS[key]
        # bool is an int in Python; a number key given true/false is still wrong.
        wrong_bool = isinstance(value, bool) and expected is not bool
        if wrong_bool or not isinstance(value, expected):
            names = (
                " or ".join(t.__name__ for t in expected)
                if isinstance(expected, tuple)
                else expected.__name__
            )
            raise ConfigError(f"{where}: key {key!r} must be {names}, got {value!r}")


def resolve_ledger_location(raw: str, rootdir: Path) -> str:
    """A ledger path made absolute against ``rootdir``; a server's location as its URL;
    a URL of no server UETF knows is refused (never made a file name)."""
    from uetf_core.ledger.location import as_url, is_postgres, sqlite_path

    if is_postgres(raw):
        return as_url(raw)
    path = Path(sqlite_path(raw)).expanduser()
    return str(path if path.is_absolute() else rootdir / path)


def resolve_config(
    rootdir: Path,
    table: Mapping[str, Any],
    cli: CliOptions,
    env: Mapping[str, str] | None = None,
    pyproject: Path | None = None,
) -> RunConfig:
    """Merge defaults, ``[tool.uetf]``, the environment and the command line."""
    env = os.environ if env is None else env
    where = f"{pyproject or 'pyproject.toml'} [tool.uetf]"
    _check_keys(table, where)

    ledger_raw = cli.ledger or env.get(LEDGER_ENV) or table.get("ledger") or DEFAULT_LEDGER
    if not ledger_raw.strip():
        raise ConfigError(f"{where}: the ledger location is empty; give a path or URL")

    gate_mode = cli.gate_mode or table.get("gate_mode", "fail")
    if gate_mode not in MODES:
        source = _source("--uetf-gate-mode", cli.gate_mode, where, "gate_mode")
        raise ConfigError(f"{source}: gate mode {gate_mode!r} is not 'fail' or 'warn'")

    gates = parse_gate_table(table.get("gates", {}), f"{where.removesuffix(']')}.gates]")
    from_cli = [parse_gate(text) for text in cli.gates]
    # A gate given on the command line replaces the same gate from pyproject.toml.
    overridden = {spec.name for spec in from_cli}
    merged = tuple(spec for spec in gates if spec.name not in overridden) + tuple(from_cli)

    cov_sources = tuple(cli.cov_sources) or tuple(table.get("cov_source", ()))
    for source in cov_sources:
        if not isinstance(source, str) or not source.strip():
            raise ConfigError(
                f"{where}: cov_source entries must be non-empty strings, got {source!r}"
            )
    base = cli.base or table.get("base")
    if base is not None:
        validate_ref(base, "--uetf-base" if cli.base else f"{where} base")

    reports = tuple(cli.reports) or tuple(table.get("reports", ()))
    if reports:
        from uetf_core.reports import parse_report_spec  # a bad format is a usage error now

        for report in reports:
            if not isinstance(report, str):
                raise ConfigError(f"{where}: reports entries must be strings like 'html:r.html'")
            parse_report_spec(report)

    dist = cli.dist or table.get("dist")
    order = cli.order or table.get("order")
    if dist is not None or order is not None or cli.shard is not None:
        # Planning is imported only by the runs that plan.
        from uetf_core.planning import ORDERS, STRATEGIES, parse_shard

        if dist is not None and dist not in STRATEGIES:
            source = _source("--uetf-dist", cli.dist, where, "dist")
            raise ConfigError(f"{source}: dist {dist!r} is not one of {', '.join(STRATEGIES)}")
        if order is not None and order not in ORDERS:
            source = _source("--uetf-order", cli.order, where, "order")
            raise ConfigError(f"{source}: order {order!r} is not one of {', '.join(ORDERS)}")
        if cli.shard is not None:
            parse_shard(cli.shard)
    select = cli.select or table.get("select") or "off"
    if select not in SELECT_MODES:
        source = _source("--uetf-select", cli.select, where, "select")
        raise ConfigError(f"{source}: select {select!r} is not one of {', '.join(SELECT_MODES)}")
    impact_inputs = table.get("impact_inputs", [])
    if not all(isinstance(glob, str) for glob in impact_inputs):
        raise ConfigError(f"{where}: impact_inputs entries must be strings like 'data/*.json'")
    workstream = cli.workstream or (ci_build_id(env) if cli.shard or cli.phase else None)
    if cli.shard and not workstream:
        raise ConfigError(
            "--uetf-shard needs the CI build it belongs to: give --uetf-workstream ID "
            "(on GitHub Actions, GitLab CI, Buildkite, Azure Pipelines and Jenkins it is found)"
        )

    numbers = _numbers(table, cli, where)  # typed by the table: float, or int if whole

    sources: dict[str, str | list[str] | None] = {
        "pyproject": str(pyproject) if pyproject else None,
        "cli": [*cli.gates] + ([f"ledger={redact(cli.ledger)}"] if cli.ledger else []),
        "env": [LEDGER_ENV] if env.get(LEDGER_ENV) and not cli.ledger else [],
    }
    return RunConfig(
        rootdir=rootdir,
        ledger=resolve_ledger_location(ledger_raw, rootdir),
        enabled=bool(table.get("enabled", False)),
        gate_mode=gate_mode,
        gates=merged,
        sources=sources,
        cov_sources=cov_sources,
        base=base,
        diff_file=cli.diff_file,
        baseline=cli.baseline,
        reports=reports,
        dist=dist,
        order=order,
        select=select,
        impact_inputs=tuple(impact_inputs),
        shard=cli.shard,
        workstream=workstream,
        phase=cli.phase or "test",
        depends_on=tuple(cli.depends_on),
        waivers=load_waivers(rootdir / table.get("waivers", DEFAULT_WAIVERS)),
        prices=check_prices(table.get("costs", {}), where),
        progress_file=cli.progress,
        **numbers,
    )


# The id of the CI build a job belongs to: every job of one build shares it.
CI_BUILD_VARIABLES = (
    ("GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT"),  # GitHub Actions: a re-run is a new build
    ("CI_PIPELINE_ID", None),  # GitLab CI
    ("BUILDKITE_BUILD_ID", None),
    ("BUILD_BUILDID", None),  # Azure Pipelines
    ("BUILD_TAG", None),  # Jenkins
)


def ci_build_id(env: Mapping[str, str]) -> str | None:
    """The CI's id of the current build, or ``None`` off CI."""
    for name, attempt in CI_BUILD_VARIABLES:
        if env.get(name):
            suffix = f"-{env[attempt]}" if attempt and env.get(attempt) else ""
            return f"{env[name]}{suffix}"
    return None


_REF = LazyPattern(r"^[A-Za-z0-9_][A-Za-z0-9_./@{}~^-]*$")


def validate_ref(ref: str, where: str) -> str:
    """Refuse a git ref that could be read as an option or holds odd characters."""
    if ref.startswith("-") or not _REF.match(ref) or ".." in ref:
        message = (
            f"{where}: {ref!r} is not a usable git ref; use a branch, tag or commit "
            "such as origin/main (no leading '-', spaces or '..')"
        )
        raise ConfigError(message)
    return ref
