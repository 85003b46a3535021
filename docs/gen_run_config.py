"""Write ``RunConfig`` and ``CliOptions`` (uetf_core/run_config.py) and the settings'
properties of schema/run_config.v1.json from the table of settings.

Called by docs/gen_reference.py; tests/test_settings.py checks both files are current.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from uetf_core.settings import REQUIRED, SETTINGS, Setting, file_keys, literal, options, stored

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "uetf_core" / "run_config.py"
SCHEMA = ROOT / "schema" / "run_config.v1.json"

# How each way of storing a value (uetf_core.settings.TO_JSON) is written in as_dict.
TO_JSON = {
    "as is": "self.{}",
    "list": "list(self.{})",
    "dict": "dict(self.{})",
    "redacted": "redact(self.{})",
    "each as_dict": "[item.as_dict() for item in self.{}]",
    "str": "str(self.{})",
}

# The names a field's type or default may use, and where each comes from; the module
# imports those it uses. At run time it needs only defaults and as_dict's helpers: the
# annotations stay strings (uetf_core.namedtuples never evaluates them).
AT_RUN_TIME = (
    ("uetf_core.metrics", "NOTHING"),
    ("uetf_core.redact", "redact"),
)
FOR_THE_TYPE_CHECKER = (
    ("collections.abc", "Mapping"),
    ("collections.abc", "Sequence"),
    ("pathlib", "Path"),
    ("typing", "Any"),
    ("typing", "NamedTuple"),
    ("uetf_core.documents", "RunConfigDocument"),
    ("uetf_core.gates.spec", "GateSpec"),
    ("uetf_core.waivers", "Waiver"),
)

HEADER = '''"""The configuration of a run, ``RunConfig``, with its stored ``run_config`` document,
what the command line said, ``CliOptions``, and what resolving them needs of the table
of settings: made from ``uetf_core/settings.py`` by ``python docs/gen_reference.py``.
Edit the settings, not this file (tests/test_settings.py checks that it is current).

Plain values, so that a run reads the table without importing it (each module
imported costs every start). ``uetf_core.config`` resolves a ``RunConfig`` from
``[tool.uetf]``, the environment and the options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
'''


def run_config_module() -> str:
    """The source of uetf_core/run_config.py."""
    keys = [key for key in stored() if key.field is not None]
    # Fields without a default come first, as a named tuple needs; the recorded
    # facts among them first.
    first = [k for k in keys if k.initial is REQUIRED and k.after is not None]
    first += [k for k in keys if k.initial is REQUIRED and k.after is None]
    fields = first + [k for k in keys if k.initial is not REQUIRED]
    body = [
        "",
        "",
        "class CliOptions(NamedTuple):",
        '    """What the command line (plugin options or CLI flags) said, ``None`` when silent."""',
        "",
    ]
    body += [f"    {s.cli}: {_cli_type(s)}" for s in options() if s.cli is not None]
    body += [
        "",
        "",
        "class RunConfig(NamedTuple):",
        '    """The resolved configuration of one run."""',
        "",
    ]
    for key in fields:
        default = "" if key.initial is REQUIRED else f" = {key.initial}"
        body.append(f"    {key.field}: {key.annotation}{default}")
    body += [
        "",
        "    def as_dict(self) -> RunConfigDocument:",
        '        """The ``run_config`` document."""',
        "        return {",
    ]
    for key in keys:
        body.append(f'            "{key.name}": {TO_JSON[key.to_json].format(key.field)},')
    body += ["        }", ""]
    body += _plain_values()
    text = "\n".join(body)
    return HEADER + _imports(text) + text


def _plain_values() -> list[str]:
    """What resolving a configuration reads of the table, as literals."""
    numbers = [s for s in SETTINGS if s.limits is not None]
    rows = [
        "",
        "# Each [tool.uetf] key's TOML types.",
        "KEYS: dict[str, type | tuple[type, ...]] = {",
    ]
    rows += [f"    {literal(key)}: {literal(kinds)}," for key, (kinds, _) in file_keys().items()]
    rows += [
        "}",
        "# Each number's range: (lowest, whether the lowest itself is allowed, highest).",
        "LIMITS: dict[str, tuple[float, bool, float]] = {",
    ]
    rows += [f"    {literal(s.name)}: {literal(s.limits)}," for s in numbers]
    rows += [
        "}",
        "# Each number's [tool.uetf] key, RunConfig field, and CliOptions field and option",
        "# if the command line gives it: resolved alike (uetf_core.config).",
        "NUMBERS: tuple[tuple[str, str, str | None, str | None], ...] = (",
    ]
    rows += [
        f"    {literal((s.key, s.field, s.cli, s.option if s.cli else None))}," for s in numbers
    ]
    rows += [
        ")",
        "# Each CliOptions field and where pytest keeps its option's value.",
        "OPTION_DESTS: dict[str, str] = {",
    ]
    rows += [f"    {literal(s.cli)}: {literal(s.dest)}," for s in options() if s.cli is not None]
    rows += ["}", ""]
    return rows


def _cli_type(setting: Setting) -> str:
    """A CliOptions field's type and default: a repeatable option gives a sequence."""
    if setting.flags.get("action") == "append":
        return "Sequence[str] = ()"
    kind = setting.flags.get("type", str)
    return f"{kind.__name__ if isinstance(kind, type) else kind} | None = None"


def _imports(body: str) -> str:
    """The import lines of the names ``body`` uses, as ruff sorts them."""

    def lines(pairs: tuple[tuple[str, str], ...], indent: str) -> list[str]:
        used: dict[str, list[str]] = {}
        for module, name in pairs:
            if re.search(rf"\b{name}\b", body):
                used.setdefault(module, []).append(name)
        groups = [
            [m for m in sorted(used) if not m.startswith("uetf_core")],
            [m for m in sorted(used) if m.startswith("uetf_core")],
        ]
        out: list[str] = []
        for group in filter(None, groups):
            if out:
                out.append("")
            out += [f"{indent}from {m} import {', '.join(sorted(used[m]))}" for m in group]
        return out

    at_run_time = lines(AT_RUN_TIME, "")
    checked = lines(FOR_THE_TYPE_CHECKER, "    ")
    text = "\n" + "\n".join(at_run_time) + "\n" if at_run_time else ""
    text += "\nif TYPE_CHECKING:\n" + "\n".join(checked) + "\n"
    if "NamedTuple" in body:
        text += (
            "else:  # the same classes, defined at a fraction of the cost:"
            " see uetf_core.namedtuples\n"
            "    from uetf_core.namedtuples import NamedTuple\n"
        )
    return text


COMMENT = (
    "The settings' properties and 'required' are written from uetf_core/settings.py by"
    " docs/gen_reference.py: edit the table, not them. The rest is written by hand."
)


def run_config_schema(current: dict[str, Any]) -> dict[str, Any]:
    """schema/run_config.v1.json with its settings' properties and ``required`` made from
    the table, and the rest (its header, the recorded facts, ``$defs``) as ``current``
    has them."""
    written_by_hand = current["properties"]
    schema: dict[str, Any] = {}
    for name, value in current.items():
        if name == "$comment":
            continue
        schema[name] = value
        if name == "$id":
            schema["$comment"] = COMMENT
    schema["properties"] = {
        key.name: written_by_hand[key.name] if key.schema is None else _property(key)
        for key in stored()
    }
    schema["required"] = [key.name for key in stored() if key.required]
    return schema


def schema_text() -> str:
    """The text of schema/run_config.v1.json, made from the table and the file as it is."""
    current = json.loads(SCHEMA.read_text("utf-8"))
    return json.dumps(run_config_schema(current), indent=2) + "\n"


def _property(setting: Setting) -> dict[str, Any]:
    """A setting's property: the table's ``schema``, with the type and range of a number
    from its limits and the allowed values from its option's choices."""
    prop: dict[str, Any] = {}
    if setting.limits is not None:
        low, low_allowed, high = setting.limits
        whole = setting.kinds is int
        above = "at least" if low_allowed else "greater than"
        prop = {
            "type": "integer" if whole else "number",
            "minimum" if low_allowed else "exclusiveMinimum": low,
            "maximum": high,
            "description": f"finite; {above} {low:,.0f} and at most {high:,.0f}"
            + ("; a whole number" if whole else ""),
        }
    prop.update(setting.schema or {})
    choices = setting.flags.get("choices")
    if isinstance(choices, tuple):
        types = prop.get("type")
        nullable = isinstance(types, list) and "null" in types
        prop["enum"] = [*choices, None] if nullable else list(choices)
    return prop


def write() -> None:
    """Write both files."""
    MODULE.write_text(run_config_module())
    SCHEMA.write_text(schema_text())
