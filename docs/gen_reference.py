"""Regenerate docs/gates.md and docs/configuration.md from the code's own tables, and,
from the table of settings, the plugin's options (pytest_uetf/option_table.py),
``RunConfig`` and ``CliOptions`` (uetf_core/run_config.py) and the settings' properties
of schema/run_config.v1.json (the last two by docs/gen_run_config.py).

Run: python docs/gen_reference.py   (tests/test_docs.py and tests/test_settings.py
check they are current)
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from uetf_core.gates.catalog import GATES
from uetf_core.settings import Setting, file_keys, literal, options

HERE = Path(__file__).parent


def gates_md() -> str:
    rows = [
        "# Gates",
        "",
        "Declare gates in `[tool.uetf.gates]` or with `--uetf-gate='NAME OP VALUE'`",
        "(repeatable; a command-line gate replaces the same gate from pyproject.toml).",
        "",
        "| gate | measures | unit | a bare number means |",
        "| --- | --- | --- | --- |",
    ]
    for kind in GATES.values():
        unit = kind.unit or ""
        rows.append(
            f"| `{kind.name}` | {kind.summary} | {unit} | `{kind.name} {kind.default_op} N` |"
        )
    rows += [
        "",
        "Operators: `>=`, `<=`, `>`, `<`, `==`. Durations take `ms`, `s`, `m` or `h`",
        "(`max_duration<=5m`). Percentages are 0 to 100.",
        "",
        "```toml",
        "[tool.uetf.gates]",
        "pass_rate = 100                              # default operator: >=",
        'max_failures = "< 3"                         # explicit operator',
        'max_duration = "10m"                         # durations with a unit',
        'min_tests = { threshold = 50, mode = "warn" }  # report, never fail',
        "```",
        "",
        "Verdicts: `passed`, `failed`, `warned` (violated in warn mode), `waived`,",
        "`skipped` (not applicable, with the reason, e.g. no test executed),",
        "`error` (could not be evaluated; fails the run like `failed`) and `deferred`",
        "(a shard's gate over the whole suite, coverage or the change's lines: judged by",
        "`uetf gate --workstream` over every shard; see the README's \"What the verdict's",
        'words mean").',
        "",
    ]
    return "\n".join(rows)


def configuration_md() -> str:
    # Imported here: uetf_core.config reads uetf_core/run_config.py, which main() writes first.
    from uetf_core.config import LIMITS, allowed_range

    rows = [
        "# Configuration",
        "",
        "`[tool.uetf]` in the project's `pyproject.toml`: the nearest one at or above",
        "pytest's rootdir within the git work tree (so a `pytest.ini` in `tests/` still",
        "finds the repository's), else the rootdir's; relative paths in it are read",
        "from its folder. Precedence, highest first:",
        "command-line options, `UETF_LEDGER`, `[tool.uetf]`, defaults. An unknown key",
        "or a wrong type is a usage error (exit 4) naming the key, and so is a number out",
        "of its range: numbers are finite (no `nan`, no `inf`), within the bounds below.",
        "",
        "| key | type | meaning |",
        "| --- | --- | --- |",
    ]
    for key, (kind, meaning) in file_keys().items():
        names = " or ".join(t.__name__ for t in kind) if isinstance(kind, tuple) else kind.__name__
        if key in LIMITS:
            meaning += f"; {allowed_range(key)}"
        rows.append(f"| `{key}` | {names} | {meaning} |")
    rows += [
        "",
        "The pytest options; one given overrides the key beside it. Write them with `=`:",
        "pytest settles its rootdir before plugins load and would take a separate value",
        "for a path.",
        "",
        "| option | key | meaning |",
        "| --- | --- | --- |",
    ]
    for setting in options():
        rows.append(f"| {_spelling(setting)} | {_key(setting)} | {setting.flags['help']} |")
    rows.append("")
    return "\n".join(rows)


def _spelling(setting: Setting) -> str:
    """An option as a table cell: ``--uetf-gate='NAME OP VALUE'`` (repeatable); the choices
    of ``--uetf-dist`` with their bars escaped for the table."""
    flags = setting.flags
    if flags.get("action") == "store_true":
        return f"`{setting.option}`"
    value = flags.get("metavar") or "\\|".join(flags["choices"])  # type: ignore[arg-type]
    value = f"'{value}'" if " " in str(value) else value
    repeat = " (repeatable)" if flags.get("action") == "append" else ""
    return f"`{setting.option}={value}`{repeat}"


def _key(setting: Setting) -> str:
    return f"`{setting.key}`" if setting.key else "-"


OPTION_TABLE = HERE.parent / "pytest_uetf" / "option_table.py"
LINE = 100  # the project's line length (pyproject.toml, [tool.ruff])


def option_table() -> str:
    """pytest_uetf/option_table.py: the table's options as plain values, which pytest
    reads without importing uetf_core (an installed UETF that is off costs nothing)."""
    rows = [
        '"""UETF\'s pytest options, made from ``uetf_core/settings.py`` by',
        "``python docs/gen_reference.py``: edit the settings, not this file",
        "(tests/test_settings.py checks that it is current).",
        "",
        "Plain values in a module of their own: pytest offers the options of an",
        "installed UETF in every run, and one with UETF off imports nothing of",
        "uetf_core.",
        '"""',
        "",
        "# (option, its argparse arguments) in the table's order",
        "OPTIONS = (",
    ]
    for setting in options():
        rows += ["    (", f"        {literal(setting.option)},", "        {"]
        for name, value in setting.flags.items():
            line = f"            {literal(name)}: {literal(value)},"
            if len(line) <= LINE or not isinstance(value, str):
                rows.append(line)
                continue
            # Too long for a line: in parentheses, in pieces if need be, as ruff keeps it.
            whole = len(literal(value)) + 16 <= LINE
            parts = [value] if whole else textwrap.wrap(value, 80, drop_whitespace=False)
            rows.append(f"            {literal(name)}: (")
            rows += [f"                {literal(part)}" for part in parts]
            rows.append("            ),")
        rows += ["        },", "    ),"]
    rows += [")", ""]
    return "\n".join(rows)


def main() -> None:
    import gen_run_config  # beside this file, on the path when it runs as a script

    gen_run_config.write()  # first: uetf_core.config, read below, imports what it writes
    (HERE / "gates.md").write_text(gates_md())
    (HERE / "configuration.md").write_text(configuration_md())
    OPTION_TABLE.write_text(option_table())


if __name__ == "__main__":
    main()
