"""Every setting of a run, spelled once: its ``[tool.uetf]`` key, its pytest option and
the name it has in ``RunConfig`` and the stored ``run_config`` document.

From this table come the keys and ranges ``uetf_core.config`` checks, the
command line's ``CliOptions`` fields, and, written by ``docs/gen_reference.py``,
docs/configuration.md and the plugin's options (``pytest_uetf/option_table.py``:
plain values, so that pytest offers the options of a UETF that is off without
importing uetf_core). ``tests/test_settings.py`` holds ``RunConfig``, its
document, ``schema/run_config.v1.json`` and the generated options to it.
"""

from __future__ import annotations

# A number's range: (lowest, whether the lowest itself is allowed, highest).
Limits = tuple[float, bool, float]


class Setting:
    """One setting: where the user gives it and what it is called inside UETF."""

    __slots__ = ("cli", "field", "flags", "key", "kinds", "limits", "meaning", "name", "option")

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
        **flags: object,
    ) -> None:
        self.name = name  # the key of the stored run_config document
        self.meaning = meaning  # what the [tool.uetf] key means, for the docs
        self.key = key  # the [tool.uetf] key, if the file can set it
        self.kinds = kinds  # the TOML value types the key takes
        self.limits = limits  # a number's range, in both the key and the option
        self.option = option  # the pytest option, if the command line can set it
        self.cli = cli  # the option's CliOptions field
        self.field = field or name  # the RunConfig attribute
        self.flags = flags  # the option's argparse arguments: help, metavar, action...

    @property
    def dest(self) -> str:
        """Where pytest keeps the option's value: ``--uetf-gate-mode`` in ``uetf_gate_mode``."""
        return (self.option or "").removeprefix("--").replace("-", "_")


NUMBER = (int, float)

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "enabled",
        "record and gate every pytest run, as if --uetf were given",
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
        key="batch_size",
        kinds=int,
        limits=(1, True, 1_000_000),
    ),
    Setting(
        "flush_interval",
        "seconds between batch writes (default 1.0)",
        key="flush_interval",
        kinds=NUMBER,
        limits=(0, False, 3600),
    ),
    Setting(
        "stale_after",
        "seconds of silence before another host's run is abandoned",
        key="stale_after",
        kinds=NUMBER,
        limits=(0, False, 31_536_000),
    ),
    Setting(
        "cov_source",
        "what coverage measures: packages or paths, as coverage.py's --source",
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
        option="--uetf-diff-file",
        cli="diff_file",
        metavar="PATH",
        default=None,
        help="take the change under test from this unified diff instead of git",
    ),
    Setting(
        "baseline",
        "the recorded run to compare with",
        option="--uetf-baseline",
        cli="baseline",
        metavar="RUN",
        default=None,
        help="compare with this recorded run instead of the newest run at the merge-base",
    ),
    Setting(
        "min_patch_lines",
        "below this many changed executable lines patch_coverage is skipped",
        key="min_patch_lines",
        kinds=int,
        limits=(0, True, 1_000_000),
    ),
    Setting(
        "reports",
        "reports written at the end of every run: FORMAT[:PATH], see docs/reports.md",
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
        key="impact_inputs",
        kinds=list,
    ),
    Setting(
        "shard",
        "the shard of the suite this run is",
        option="--uetf-shard",
        cli="shard",
        metavar="K/N",
        default=None,
        help="run the K-th of N shards, balanced by recorded duration (one CI job each)",
    ),
    Setting(
        "workstream",
        "the CI build this run is a step of",
        option="--uetf-workstream",
        cli="workstream",
        metavar="ID",
        default=None,
        help="the CI build this run is a step of (default: the CI's build id)",
    ),
    Setting(
        "phase",
        "the workstream phase of this run",
        option="--uetf-phase",
        cli="phase",
        metavar="NAME",
        default=None,
        help="the workstream phase of this run, e.g. unit or integration (default: test)",
    ),
    Setting(
        "depends_on",
        "the phases this phase depends on",
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
        key="waivers",
    ),
    Setting(
        "prices",
        "prices per unit of each cost, e.g. cpu_seconds = 0.00005; currency = 'usd'",
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
        key="progress_interval",
        kinds=NUMBER,
        limits=(0, False, 3600),
    ),
)

# What a run's stored configuration records besides its settings: where the run
# ran, where each setting came from, and, for a workstream's verdict run, the
# shards expected and the step runs combined.
RECORDED = ("rootdir", "sources", "expect_shards", "merged_steps")


def file_keys() -> dict[str, tuple[type | tuple[type, ...], str]]:
    """``[tool.uetf]``'s keys: each one's TOML types and meaning, in the table's order."""
    return {s.key: (s.kinds, s.meaning) for s in SETTINGS if s.key is not None}


def number_limits() -> dict[str, Limits]:
    """The range of each number a ``[tool.uetf]`` key or an option gives."""
    return {s.name: s.limits for s in SETTINGS if s.limits is not None}


def options() -> tuple[Setting, ...]:
    """The settings the command line gives, as pytest options."""
    return tuple(s for s in SETTINGS if s.option is not None)
