"""UETF's pytest options, made from ``uetf_core/settings.py`` by
``python docs/gen_reference.py``: edit the settings, not this file
(tests/test_settings.py checks that it is current).

Plain values in a module of their own: pytest offers the options of an
installed UETF in every run, and one with UETF off imports nothing of
uetf_core.
"""

# (option, its argparse arguments) in the table's order
OPTIONS = (
    (
        "--uetf",
        {
            "action": "store_true",
            "default": False,
            "help": "record this run in the ledger, evaluate the gates, exit with the verdict",
        },
    ),
    (
        "--uetf-ledger",
        {
            "metavar": "PATH",
            "default": None,
            "help": "ledger location (default: $UETF_LEDGER, [tool.uetf] ledger, .ledger/uetf.db)",
        },
    ),
    (
        "--uetf-gate-mode",
        {
            "choices": ("fail", "warn"),
            "default": None,
            "help": "'fail': a violated gate fails the run (default); 'warn': report only",
        },
    ),
    (
        "--uetf-gate",
        {
            "metavar": "NAME OP VALUE",
            "action": "append",
            "default": [],
            "help": (
                "declare a gate, e.g. 'pass_rate>=100' or 'max_duration<=5m'; repeatable; "
                "replaces the same gate from [tool.uetf.gates]"
            ),
        },
    ),
    (
        "--uetf-cov",
        {
            "metavar": "SOURCE",
            "action": "append",
            "default": [],
            "help": (
                "measure coverage of SOURCE (a package or path, as coverage.py's --source); "
                "repeatable; the project's coverage configuration applies"
            ),
        },
    ),
    (
        "--uetf-base",
        {
            "metavar": "REF",
            "default": None,
            "help": (
                "judge the change against REF (default: the CI's base branch, then origin/HEAD, "
                "origin/main, main, master)"
            ),
        },
    ),
    (
        "--uetf-diff-file",
        {
            "metavar": "PATH",
            "default": None,
            "help": "take the change under test from this unified diff instead of git",
        },
    ),
    (
        "--uetf-baseline",
        {
            "metavar": "RUN",
            "default": None,
            "help": "compare with this recorded run instead of the newest run at the merge-base",
        },
    ),
    (
        "--uetf-report",
        {
            "action": "append",
            "default": [],
            "metavar": "FORMAT[:PATH]",
            "help": (
                "write a report at the end: markdown, github, json, html, junit or cobertura; "
                "repeatable; without PATH under .ledger/reports/ (github: $GITHUB_STEP_SUMMARY)"
            ),
        },
    ),
    (
        "--uetf-dist",
        {
            "choices": ("duration", "module", "hash"),
            "default": None,
            "help": (
                "with xdist's -n: route tests to workers by recorded duration (longest first), by"
                " module, or by a stable hash of the node id"
            ),
        },
    ),
    (
        "--uetf-order",
        {
            "choices": ("failed-first", "new-first", "longest-first"),
            "default": None,
            "help": "run tests that failed last time, tests never recorded, or the longest first",
        },
    ),
    (
        "--uetf-select",
        {
            "choices": ("off", "record", "shadow", "affected"),
            "default": None,
            "help": (
                "test impact analysis: record each test's code (record), also note what selection"
                " would skip (shadow), or run only the tests the change can affect, carrying the "
                "others' results from the baseline (affected); default off"
            ),
        },
    ),
    (
        "--uetf-shard",
        {
            "metavar": "K/N",
            "default": None,
            "help": "run the K-th of N shards, balanced by recorded duration (one CI job each)",
        },
    ),
    (
        "--uetf-workstream",
        {
            "metavar": "ID",
            "default": None,
            "help": "the CI build this run is a step of (default: the CI's build id)",
        },
    ),
    (
        "--uetf-phase",
        {
            "metavar": "NAME",
            "default": None,
            "help": "the workstream phase of this run, e.g. unit or integration (default: test)",
        },
    ),
    (
        "--uetf-depends-on",
        {
            "metavar": "PHASE",
            "action": "append",
            "default": [],
            "help": "a phase this phase depends on (repeatable)",
        },
    ),
    (
        "--uetf-progress",
        {
            "metavar": "PATH",
            "default": None,
            "help": (
                "keep a JSON progress file up to date (done/total, outcomes, ETA) for a dashboard"
            ),
        },
    ),
    (
        "--uetf-stall-timeout",
        {
            "metavar": "SECONDS",
            "type": float,
            "default": None,
            "help": "report a stall when no test finishes for this long (default 600)",
        },
    ),
)
