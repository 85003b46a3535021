"""Parsing gate declarations from ``--uetf-gate`` and ``[tool.uetf.gates]``.

Accepted forms, on the command line: ``NAME OP VALUE`` (``pass_rate>=99.5``,
``max_duration<=5m``). In pyproject.toml: ``NAME = VALUE`` (the gate's default
operator), ``NAME = "OP VALUE"``, or ``NAME = {op = "<=", threshold = 3, mode = "warn"}``.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import TYPE_CHECKING, Any

from uetf_core.errors import GateSpecError
from uetf_core.gate_names import DECLARATION
from uetf_core.gates.catalog import GATES
from uetf_core.lazy_pattern import LazyPattern

if TYPE_CHECKING:
    from typing import NamedTuple
else:  # the same classes, defined at a fraction of the cost: see uetf_core.namedtuples
    from uetf_core.namedtuples import NamedTuple

if TYPE_CHECKING:
    from uetf_core.documents import GateSpecDocument

OPERATORS = (">=", "<=", "==", ">", "<")
MODES = ("fail", "warn")
_FORM = "NAME OP VALUE, e.g. pass_rate>=100 or max_duration<=5m; OP one of >= <= > < =="
_OP_VALUE = LazyPattern(r"^\s*([<>=!]{1,2})?\s*(\S.*?)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
# Gates that count tests or shards: their threshold is a whole number (max_failures <= 1.5
# reads as a limit that no count can sit between).
WHOLE_NUMBERS = frozenset(
    {"max_failures", "min_tests", "new_failures", "test_count_drop", "max_flaky", "missing_shards"}
)


class GateSpec(NamedTuple):
    """One declared gate: which gate, compared how, against what, failing or warning."""

    name: str
    op: str
    threshold: float
    mode: str = "fail"
    path: str | None = None  # the glob of path_coverage

    def as_dict(self) -> GateSpecDocument:
        """The ``gate_spec`` object of ``run_config``."""
        return {
            "name": self.name,
            "op": self.op,
            "threshold": self.threshold,
            "mode": self.mode,
            "unit": GATES[self.name].unit,
            "path": self.path,
        }

    @property
    def label(self) -> str:
        """The gate's name, with its glob when it has one: ``path_coverage[src/**]``."""
        return f"{self.name}[{self.path}]" if self.path else self.name

    def describe(self) -> str:
        """The declaration as a user writes it: ``pass_rate >= 100``."""
        return f"{self.label} {self.op} {format_number(self.threshold)}"


def format_number(value: float) -> str:
    """A threshold or measurement without a useless ``.0``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _known_gate(name: str, where: str) -> None:
    if name in GATES:
        return
    close = difflib.get_close_matches(name, GATES, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    message = f"{where}: unknown gate {name!r}; {hint}known gates: {', '.join(GATES)}"
    raise GateSpecError(message)


def _number(name: str, text: str, where: str) -> float:
    raw = text.strip()
    scale = 1.0
    if GATES[name].is_duration:
        for suffix in ("ms", "h", "m", "s"):
            if raw.endswith(suffix):
                raw, scale = raw[: -len(suffix)].strip(), _DURATION_UNITS[suffix]
                break
    try:
        value = float(raw) * scale
    except ValueError:
        units = " (seconds; suffixes ms, s, m, h allowed)" if GATES[name].is_duration else ""
        message = f"{where}: gate {name!r} needs a number{units}, got {text.strip()!r}"
        raise GateSpecError(message) from None
    if not math.isfinite(value) or value < 0:
        message = f"{where}: gate {name!r} needs a finite number >= 0, got {text.strip()!r}"
        raise GateSpecError(message)
    if name in WHOLE_NUMBERS and not value.is_integer():
        message = (
            f"{where}: gate {name!r} is a count: give a whole number >= 0, got {text.strip()!r}"
        )
        raise GateSpecError(message)
    if GATES[name].unit == "%" and value > 100:
        message = f"{where}: gate {name!r} is a percentage (0 to 100), got {text.strip()!r}"
        raise GateSpecError(message)
    return value


def _operator(name: str, op: str, where: str) -> str:
    if op not in OPERATORS:
        message = f"{where}: gate {name!r} has bad operator {op!r}; use one of >= <= > < =="
        raise GateSpecError(message)
    return op


def _mode(name: str, mode: Any, where: str) -> str:
    if mode not in MODES:
        message = f"{where}: gate {name!r} has mode {mode!r}; use 'fail' or 'warn'"
        raise GateSpecError(message)
    return str(mode)


def parse_gate(text: str, where: str = "--uetf-gate") -> GateSpec:
    """Parse one ``NAME OP VALUE`` declaration; raise ``GateSpecError`` naming the fix."""
    match = re.match(DECLARATION, text)
    if not match:
        raise GateSpecError(f"{where}: cannot read gate {text!r}; expected {_FORM}")
    name, path, op, value = match.groups()
    _known_gate(name, where)
    takes_path = GATES[name].takes_path
    if takes_path != bool(path):
        message = (
            f"{where}: gate {name!r} needs {GATES[name].param}"
            if takes_path
            else f"{where}: gate {name!r} takes no [...]"
        )
        raise GateSpecError(message)
    return GateSpec(name, _operator(name, op, where), _number(name, value, where), path=path)


def _from_toml_value(name: str, value: Any, where: str) -> GateSpec:
    if isinstance(value, bool):
        message = f"{where}: gate {name!r} needs a number, 'OP VALUE' or a table, got {value!r}"
        raise GateSpecError(message)
    if isinstance(value, (int, float)):
        return GateSpec(name, GATES[name].default_op, _number(name, str(value), where))
    if isinstance(value, str):
        match = _OP_VALUE.match(value)
        if not match:
            raise GateSpecError(
                f"{where}: gate {name!r} cannot read {value!r}; expected 'OP VALUE'"
            )
        op, number = match.groups()
        op = _operator(name, op, where) if op else GATES[name].default_op
        return GateSpec(name, op, _number(name, number, where))
    if isinstance(value, dict):
        unknown = set(value) - {"op", "threshold", "mode"}
        if unknown or "threshold" not in value:
            message = (
                f"{where}: gate {name!r} table takes keys threshold (required), op, mode; "
                f"got {', '.join(sorted(value)) or 'none'}"
            )
            raise GateSpecError(message)
        op = _operator(name, str(value.get("op", GATES[name].default_op)), where)
        mode = _mode(name, value.get("mode", "fail"), where)
        return GateSpec(name, op, _number(name, str(value["threshold"]), where), mode)
    message = f"{where}: gate {name!r} needs a number, 'OP VALUE' or a table, got {value!r}"
    raise GateSpecError(message)


def parse_gate_table(table: Any, where: str = "[tool.uetf.gates]") -> list[GateSpec]:
    """Parse the ``[tool.uetf.gates]`` table into gate specs, in declaration order."""
    if not isinstance(table, dict):
        raise GateSpecError(f"{where} must be a table of NAME = VALUE, got {table!r}")
    specs = []
    for name, value in table.items():
        _known_gate(name, where)
        if GATES[name].takes_path:
            specs.extend(_path_table(name, value, f"{where.removesuffix(']')}.{name}]"))
        else:
            specs.append(_from_toml_value(name, value, where))
    return specs


def _path_table(name: str, table: Any, where: str) -> list[GateSpec]:
    """``[tool.uetf.gates.path_coverage]``: one gate per ``"glob" = VALUE``."""
    if not isinstance(table, dict) or not table:
        message = f'{where} must be a table of "glob" = VALUE, e.g. "src/core/**" = 90'
        raise GateSpecError(message)
    specs = []
    for glob, value in table.items():
        spec = _from_toml_value(name, value, f"{where} {glob!r}")
        specs.append(GateSpec(spec.name, spec.op, spec.threshold, spec.mode, path=glob))
    return specs
