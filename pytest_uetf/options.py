"""Reading pytest's own options for what UETF needs to know about the session.

What the project's ini file selects (``addopts``, ``testpaths``) defines its
suite: a run of it is whole. Only what the command line (or ``PYTEST_ADDOPTS``)
adds on top narrows it, and makes the run partial.
"""

from __future__ import annotations

import hashlib
import json
from argparse import Namespace
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from typing import NamedTuple
else:  # defined at a fraction of a dataclass's cost: see uetf_core.namedtuples
    from uetf_core.namedtuples import NamedTuple

# pytest's options that select part of the collected tests, by their ``dest``,
# with how a narrowing reads in a partial run's reason.
_NARROWING: tuple[tuple[str, str], ...] = (
    ("keyword", "-k {}"),
    ("markexpr", "-m {}"),
    ("lf", "--lf"),
    ("stepwise", "--sw"),
    ("deselect", "--deselect"),
)

# pytest's options that run no test at all: such a run is partial, never a baseline.
# Kept apart from the narrowing options: they take no part in the suite's key.
_NO_TESTS: tuple[tuple[str, str], ...] = (
    ("collectonly", "--collect-only: no test ran"),
    ("setuponly", "--setup-only: no test ran"),
    ("setupplan", "--setup-plan: no test ran"),
)


# The narrowing options whose effect a serial session sees whole: what -k, -m,
# --deselect and --sw take away pytest reports as deselected (--sw with no earlier
# failure runs everything, "not skipping"); --lf narrows only when pytest has
# failures to rerun (otherwise it runs everything, "not deselecting items").
_DESELECTING = frozenset({"keyword", "markexpr", "deselect", "lf", "stepwise"})


class Selection(NamedTuple):
    """How this session selects its tests: why it is partial, and which suite it runs."""

    partial: str | None  # None: the whole suite as the project defines it
    suite_key: str  # a digest of that definition; a baseline must have the same
    # Partial by -k, -m, --deselect, --sw or --lf alone, over an ini file that narrows by
    # none of them: if they take no test away, the run is whole after all.
    undone_if_nothing_deselected: bool = False


def read_selection(config: pytest.Config, parser: pytest.Parser, args: Sequence[str]) -> Selection:
    """The selection of a session, from the arguments pytest parsed (ini ``addopts`` first).

    Called from ``pytest_load_initial_conftests``, where pytest hands over the
    parser and the whole argument list: the ini file's ``addopts``, then
    ``PYTEST_ADDOPTS``, then the command line.
    """
    ini_args = list(config.getini("addopts")) if _addopts_used(args, config) else []
    given = list(args[len(ini_args) :])
    if ini_args:
        ini, cli = _parsed(parser, ini_args), _parsed(parser, given)
    else:
        # Nothing from the ini file: its narrowing options are all unset, and what
        # pytest parsed is the command line's alone. A parse of pytest's whole option
        # set costs a few million instructions, at every start.
        ini, cli = None, config.known_args_namespace
    reasons = []
    narrowing = set()
    for dest, text in _NARROWING:
        value = getattr(cli, dest, None)
        if value and value != getattr(ini, dest, None):
            reasons.append(text.format(" ".join(value) if isinstance(value, list) else value))
            narrowing.add(dest)
    undone = bool(narrowing) and narrowing <= _DESELECTING
    undone = undone and not any(getattr(ini, dest, None) for dest, _ in _NARROWING)
    known = config.known_args_namespace  # the ini file's addopts and the command line
    reasons.extend(text for dest, text in _NO_TESTS if getattr(known, dest, False))
    positional = [str(arg) for arg in getattr(cli, "file_or_dir", None) or []]
    if not positional and _below_rootdir(config):
        # pytest collects from the directory it was started in (testpaths apply only at
        # the rootdir): that directory's tests are the suite, as if named.
        positional = [str(config.invocation_params.dir)]
    if any("::" in arg for arg in positional):
        reasons.append("node ids")
    undone = undone and len(reasons) == len(narrowing)  # nothing but those options
    # The folders collected define the suite, however they were named: `pytest` with
    # testpaths = ["tests"], `pytest tests`, `pytest ./tests` and `cd tests; pytest`
    # run one suite, and find each other's runs as baselines.
    paths = [arg for arg in positional if "::" not in arg]
    if not positional:
        paths = list(config.getini("testpaths") or []) or ["."]
    definition = {
        "ini": {dest: getattr(ini, dest, None) or None for dest, _ in _NARROWING},
        "paths": sorted({_relative(arg, config) for arg in paths}),
    }
    key = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:16]
    return Selection(", ".join(reasons) or None, key, undone)


def _below_rootdir(config: pytest.Config) -> bool:
    return config.invocation_params.dir.resolve() != config.rootpath.resolve()


def _addopts_used(args: Sequence[str], config: pytest.Config) -> bool:
    """Whether pytest put the ini file's ``addopts`` in front of ``args``."""
    ini_args = list(config.getini("addopts"))
    return bool(ini_args) and list(args[: len(ini_args)]) == ini_args


def _parsed(parser: pytest.Parser, args: list[str]) -> Namespace | None:
    """``args`` parsed alone; options pytest does not know yet are passed over."""
    try:
        return parser.parse_known_args(args)
    except (pytest.UsageError, SystemExit):  # a malformed option: pytest reports it itself
        return None


def _relative(arg: str, config: pytest.Config) -> str:
    """A path argument relative to the rootdir, so the same suite has one key anywhere."""
    path = Path(config.invocation_params.dir, arg).resolve()
    try:
        return path.relative_to(config.rootpath.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
