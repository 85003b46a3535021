"""Exit codes shared by ``pytest --uetf`` and the ``uetf`` command.

0 to 5 are pytest's own and keep their meaning; UETF adds 6 and 7 so a CI
script can tell a gate violation and a refused ledger from failing tests.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Documented process exit codes (see docs/exit-codes.md)."""

    OK = 0  # every test passed and every gate held (or only warned)
    TESTS_FAILED = 1  # a test failed (pytest's own code)
    INTERRUPTED = 2  # Ctrl-C or pytest.exit (pytest's own code)
    INTERNAL_ERROR = 3  # a bug, ours or pytest's (pytest's own code)
    USAGE_ERROR = 4  # bad option, config key or gate declaration; unknown run
    NO_TESTS = 5  # nothing was collected (pytest's own code)
    GATES_FAILED = 6  # the tests passed but a gate was violated
    LEDGER_REFUSED = 7  # the ledger is corrupt, not a ledger, or newer than this UETF
