"""Every setting of a run, spelled once: its ``[tool.uetf]`` key, its pytest option,
its field of ``RunConfig`` and how the stored ``run_config`` document holds it.

From this table ``docs/gen_reference.py`` writes ``uetf_core/run_config.py``
(``RunConfig`` with its ``as_dict``, ``CliOptions``, and the keys' types, the numbers'
ranges and the options' destinations ``uetf_core.config`` and the plugin read), the
settings' properties of ``schema/run_config.v1.json``, docs/configuration.md and the
plugin's options (``pytest_uetf/option_table.py``). ``tests/test_settings.py`` checks
that the generated files are current.

A run never imports this module: it reads the generated plain values, which cost
less to import than the table (and pytest offers the options of a UETF that is off
without importing uetf_core). The generator and the tests read the table.
"""

from __future__ import annotations

import json

# A number's range: (lowest, whether the lowest itself is allowed, highest).
Limits = tuple[float, bool, float]

# A RunConfig field that has no default: every RunConfig is made with it.
REQUIRED = None

# How a field's value becomes its JSON in the stored document (the expression each
# names is in docs/gen_reference.py): as it is, a list or a dict of it, the ledger
# location without its password, each item's own ``as_dict()``, or its text.
TO_JSON = ("as is", "list", "dict", "redacted", "each as_dict", "str")

NULLABLE_STRING: dict[str, object] = {"type": ["string", "null"]}


class Setting:
    """One setting: where the user gives it, what it is called inside UETF and how it
    is stored; or, in ``RECORDED``, a fact the stored document holds besides."""

    # One class for both, with its defaults in its signature: each class and each
    # call through ``super()`` is paid at every start.
    __slots__ = (
        "after",
        "annotation",
        "cli",
        "field",
        "flags",
        "initial",
        "key",
        "kinds",
        "limits",
        "meaning",
        "name",
        "option",
        "required",
        "schema",
        "to_json",
    )

    def __init__(
        self,
        name: str,
        meaning: str,
        *,
        key: str | None = None,
        kinds: type | tuple[type, ...] = str,
        limits: Limits | None = None,
        option: str | None = None,
        cli: str | None = None,
        field: str | None = None,
        annotation: str | None = "str | None",
        initial: str | None = "None",
        to_json: str = "as is",
        schema: dict[str, object] | None = NULLABLE_STRING,
        required: bool = False,
        after: str | None = None,
        **flags: object,
    ) -> None:
        self.name = name  # the key of the stored run_config document
        self.meaning = meaning  # what the [tool.uetf] key means, for the docs
        self.key = key  # the [tool.uetf] key, if the file can set it
        self.kinds = kinds  # the TOML value types the key takes
        self.limits = limits  # a number's range, in the key, the option and the schema
        self.option = option  # the pytest option, if the command line can set it
        self.cli = cli  # the option's CliOptions field
        # The RunConfig attribute; None (no annotation) where the document alone has it.
        self.field = (field or name) if annotation is not None else None
        self.annotation = annotation  # the field's type, as source
        self.initial = initial  # the field's default, as source; REQUIRED: none
        self.to_json = to_json  # one of TO_JSON
        # The schema's property, but for what the table says elsewhere: a number's
        # type and range come from ``limits``, the allowed values from ``choices``.
        # None: written by hand in the schema (a recorded fact's).
        self.schema = schema
        # Whether the schema requires the key: only for keys every UETF has stored (a
        # run recorded before a setting existed lacks its key).
        self.required = required
        self.after = after  # a recorded fact's place: the document key it follows
        self.flags = flags  # the option's argparse arguments: help, metavar, action...

    @property
    def dest(self) -> str:
        """Where pytest keeps the option's value: ``--uetf-gate-mode`` in ``uetf_gate_mode``."""
        return (self.option or "").removeprefix("--").replace("-", "_")


NUMBER = (int, float)

# A waiver in force, as the stored document holds it (uetf_core.waivers.Waiver.as_dict).
WAIVER: dict[str, object] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["gate", "test", "owner", "reason", "link", "expires"],
    "properties": {
        "gate": NULLABLE_STRING,
        "test": NULLABLE_STRING,
        "owner": {"type": "string", "minLength": 1},
        "reason": {"type": "string", "minLength": 1},
        "link": NULLABLE_STRING,
        "expires": {"type": "string", "format": "date"},
    },
}

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "enabled",
        "record and gate every pytest run, as if --uetf were given",
        annotation="bool",
        initial="False",
        schema={"type": "boolean"},
        required=True,
        key="enabled",
        kinds=bool,
        option="--uetf",
        action="store_true",
        default=False,
        help="record this run in the ledger, evaluate the gates, exit with the verdict",
    ),
    Setting(
        "ledger",
        "ledger path (relative to the rootdir) or URL",
        annotation="str",
        initial=REQUIRED,
        to_json="redacted",  # the config is stored and shown: no password
        schema={"type": "string", "minLength": 1},
        required=True,
        key="ledger",
        option="--uetf-ledger",
        cli="ledger",
        metavar="PATH",
        default=None,
        help="ledger location (default: $UETF_LEDGER, [tool.uetf] ledger, .ledger/uetf.db)",
    ),
    Setting(
        "gate_mode",
        "'fail' (a violated gate fails the run) or 'warn'",
        annotation="str",
        initial='"fail"',
        schema={},
        required=True,
        key="gate_mode",
        option="--uetf-gate-mode",
        cli="gate_mode",
        choices=("fail", "warn"),
        default=None,
        help="'fail': a violated gate fails the run (default); 'warn': report only",
    ),
    Setting(
        "gates",
        "table of gate declarations, see docs/gates.md",
        annotation="tuple[GateSpec, ...]",
        initial="()",
        to_json="each as_dict",
        schema={"type": "array", "items": {"$ref": "#/$defs/gate_spec"}},
        required=True,
        key="gates",
        kinds=dict,
        option="--uetf-gate",
        cli="gates",
        metavar="NAME OP VALUE",
        action="append",
        default=[],
        help="declare a gate, e.g. 'pass_rate>=100' or 'max_duration<=5m'; repeatable; "
        "replaces the same gate from [tool.uetf.gates]",
    ),
    Setting(
        "batch_size",
        "execution records written per transaction (default 500)",
        annotation="int",
        initial="500",
        schema={},
        required=True,
        key="batch_size",
        kinds=int,
        limits=(1, True, 1_000_000),
    ),
    Setting(
        "flush_interval",
        "seconds between batch writes (default 1.0)",
        annotation="float",
        initial="1.0",
        schema={},
        required=True,
        key="flush_interval",
        kinds=NUMBER,
        limits=(0, False, 3600),
    ),
    Setting(
        "stale_after",
        "seconds of silence before another host's run is abandoned",
        annotation="float",
        initial="3600.0",
        schema={},
        required=True,
        key="stale_after",
        kinds=NUMBER,
        limits=(0, False, 31_536_000),
    ),
    Setting(
        "cov_source",
        "what coverage measures: packages or paths, as coverage.py's --source",
        annotation="tuple[str, ...]",
        initial="()",
        to_json="list",
        schema={"type": "array", "items": {"type": "string", "minLength": 1}},
        required=True,
        key="cov_source",
        kinds=list,
        option="--uetf-cov",
        cli="cov_sources",
        field="cov_sources",
        metavar="SOURCE",
        action="append",
        default=[],
        help="measure coverage of SOURCE (a package or path, as coverage.py's --source); "
        "repeatable; the project's coverage configuration applies",
    ),
    Setting(
        "base",
        "the base ref a change is judged against (default: from CI, then origin/HEAD)",
        required=True,
        key="base",
        option="--uetf-base",
        cli="base",
        metavar="REF",
        default=None,
        help="judge the change against REF (default: the CI's base branch, then origin/HEAD, "
        "origin/main, main, master)",
    ),
    Setting(
        "diff_file",
        "the change under test as a unified diff instead of git's",
        required=True,
        option="--uetf-diff-file",
        cli="diff_file",
        metavar="PATH",
        default=None,
        help="take the change under test from this unified diff instead of git",
    ),
    Setting(
        "baseline",
        "the recorded run to compare with",
        required=True,
        option="--uetf-baseline",
        cli="baseline",
        metavar="RUN",
        default=None,
        help="compare with this recorded run instead of the newest run at the merge-base",
    ),
    Setting(
        "min_patch_lines",
        "below this many changed executable lines patch_coverage is skipped",
        annotation="int",
        initial="1",
        schema={},
        required=True,
        key="min_patch_lines",
        kinds=int,
        limits=(0, True, 1_000_000),
    ),
    Setting(
        "reports",
        "reports written at the end of every run: FORMAT[:PATH], see docs/reports.md",
        annotation="tuple[str, ...]",
        initial="()",
        to_json="list",
        schema={
            "type": "array",
            "items": {
                "type": "string",
                "pattern": "^(markdown|github|json|html|junit|cobertura)(:.+)?$",
            },
            "description": "reports written at the end of the run, FORMAT[:PATH]; absent in runs"
            " recorded before reports existed",
        },
        key="reports",
        kinds=list,
        option="--uetf-report",
        cli="reports",
        action="append",
        default=[],
        metavar="FORMAT[:PATH]",
        help="write a report at the end: markdown, github, json, html, junit or cobertura; "
        "repeatable; without PATH under .ledger/reports/ (github: $GITHUB_STEP_SUMMARY)",
    ),
    Setting(
        "dist",
        "route tests to xdist workers: 'duration', 'module' or 'hash'",
        key="dist",
        option="--uetf-dist",
        cli="dist",
        choices=("duration", "module", "hash"),
        default=None,
        help="with xdist's -n: route tests to workers by recorded duration (longest first), "
        "by module, or by a stable hash of the node id",
    ),
    Setting(
        "order",
        "run order: 'failed-first', 'new-first' or 'longest-first'",
        key="order",
        option="--uetf-order",
        cli="order",
        choices=("failed-first", "new-first", "longest-first"),
        default=None,
        help="run tests that failed last time, tests never recorded, or the longest first",
    ),
    Setting(
        "select",
        "test impact analysis: 'off', 'record' (record each test's code in coverage runs),"
        " 'shadow' (record, run all, note what selection would skip) or 'affected'"
        " (run only what the change can affect, carry the rest from the baseline)",
        annotation="str",
        initial='"off"',
        schema={"type": "string"},
        key="select",
        option="--uetf-select",
        cli="select",
        choices=("off", "record", "shadow", "affected"),
        default=None,
        help="test impact analysis: record each test's code (record), also note what selection "
        "would skip (shadow), or run only the tests the change can affect, carrying the others' "
        "results from the baseline (affected); default off",
    ),
    Setting(
        "impact_inputs",
        "globs of files the tests read that are not Python (data, templates, doctest"
        " documents): a change to one makes test selection run the whole suite",
        annotation="tuple[str, ...]",
        initial="()",
        to_json="list",
        schema={"type": "array", "items": {"type": "string"}},
        key="impact_inputs",
        kinds=list,
    ),
    Setting(
        "shard",
        "the shard of the suite this run is",
        schema={"type": ["string", "null"], "pattern": "^[0-9]+/[0-9]+$"},
        option="--uetf-shard",
        cli="shard",
        metavar="K/N",
        default=None,
        help="run the K-th of N shards, balanced by recorded duration (one CI job each)",
    ),
    Setting(
        "workstream",
        "the CI build this run is a step of",
        schema={"type": ["string", "null"], "minLength": 1},
        option="--uetf-workstream",
        cli="workstream",
        metavar="ID",
        default=None,
        help="the CI build this run is a step of (default: the CI's build id)",
    ),
    Setting(
        "phase",
        "the workstream phase of this run",
        annotation="str",
        initial='"test"',
        schema={"type": "string", "minLength": 1},
        option="--uetf-phase",
        cli="phase",
        metavar="NAME",
        default=None,
        help="the workstream phase of this run, e.g. unit or integration (default: test)",
    ),
    Setting(
        "depends_on",
        "the phases this phase depends on",
        annotation="tuple[str, ...]",
        initial="()",
        to_json="list",
        schema={"type": "array", "items": {"type": "string", "minLength": 1}},
        option="--uetf-depends-on",
        cli="depends_on",
        metavar="PHASE",
        action="append",
        default=[],
        help="a phase this phase depends on (repeatable)",
    ),
    Setting(
        "waivers",
        "the waivers file, relative to the rootdir (default .uetf/waivers.toml)",
        annotation="tuple[Waiver, ...]",
        initial="()",
        to_json="each as_dict",
        schema={
            "type": "array",
            "items": WAIVER,
            "description": "the waivers in force when the run was configured (.uetf/waivers.toml)",
        },
        key="waivers",
    ),
    Setting(
        "prices",
        "prices per unit of each cost, e.g. cpu_seconds = 0.00005; currency = 'usd'",
        annotation="Mapping[str, float | str]",
        initial="NOTHING",
        to_json="dict",
        schema={
            "type": "object",
            "additionalProperties": {"type": ["number", "string"]},
            "description": "[tool.uetf.costs]: price per unit by cost name, and the currency",
        },
        key="costs",
        kinds=dict,
    ),
    Setting(
        "progress_file",
        "a JSON progress file kept up to date",
        option="--uetf-progress",
        cli="progress",
        metavar="PATH",
        default=None,
        help="keep a JSON progress file up to date (done/total, outcomes, ETA) for a dashboard",
    ),
    Setting(
        "stall_timeout",
        "seconds without a finished test before a stall is reported",
        annotation="float",
        initial="600.0",
        schema={},
        key="stall_timeout",
        kinds=NUMBER,
        limits=(0, False, 604_800),
        option="--uetf-stall-timeout",
        cli="stall_timeout",
        metavar="SECONDS",
        type=float,
        default=None,
        help="report a stall when no test finishes for this long (default 600)",
    ),
    Setting(
        "progress_interval",
        "seconds between progress snapshots (default 5)",
        annotation="float",
        initial="5.0",
        schema={},
        key="progress_interval",
        kinds=NUMBER,
        limits=(0, False, 3600),
    ),
)

# What a run's stored configuration records besides its settings: where the run
# ran, where each setting came from, and, for a workstream's verdict run (which adds
# them to its first step's document), the shards expected and the step runs combined.
# Their properties in schema/run_config.v1.json are written there by hand.
RECORDED: tuple[Setting, ...] = (
    Setting(
        "rootdir",
        "the folder the run ran in",
        annotation="Path",
        initial=REQUIRED,
        to_json="str",
        schema=None,
        required=True,
        after="stale_after",
    ),
    Setting(
        "sources",
        "where the settings came from: the pyproject.toml, the options, the environment",
        annotation="Mapping[str, str | list[str] | None]",
        initial="NOTHING",
        to_json="dict",
        schema=None,
        required=True,
        after="rootdir",
    ),
    Setting(
        "expect_shards",
        "a workstream's verdict run: the shards expected",
        annotation=None,
        schema=None,
        after="depends_on",
    ),
    Setting(
        "merged_steps",
        "a workstream's verdict run: the step runs combined",
        annotation=None,
        schema=None,
        after="expect_shards",
    ),
)


def stored() -> tuple[Setting, ...]:
    """The stored document's keys in its order: the settings in the table's, each
    recorded fact after the key it names."""
    keys = list(SETTINGS)
    for fact in RECORDED:
        at = next(i for i, k in enumerate(keys) if k.name == fact.after)
        keys.insert(at + 1, fact)
    return tuple(keys)


def file_keys() -> dict[str, tuple[type | tuple[type, ...], str]]:
    """``[tool.uetf]``'s keys: each one's TOML types and meaning, in the table's order."""
    return {s.key: (s.kinds, s.meaning) for s in SETTINGS if s.key is not None}


def number_limits() -> dict[str, Limits]:
    """The range of each number a ``[tool.uetf]`` key or an option gives."""
    return {s.name: s.limits for s in SETTINGS if s.limits is not None}


def options() -> tuple[Setting, ...]:
    """The settings the command line gives, as pytest options."""
    return tuple(s for s in SETTINGS if s.option is not None)


def literal(value: object) -> str:
    """One of the table's plain values as Python source, as ruff formats it (double
    quotes, a type by its name): what the generators write into the modules they make."""
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(map(literal, value)) + ")"
    return repr(value)
