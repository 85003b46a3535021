"""The kinds of a failing test, in the one order every report and ``uetf show`` uses.

Each format groups and sorts failures through :func:`group_failures`, so a kind
the judge learns later shows up (after the known ones) instead of crashing a
format that listed only the kinds it knew. A test checks this tuple against
the schemas' enum.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from uetf_core.report_documents import Failure

# A summary's failures or a report's (which say where they failed).
AnyFailure = TypeVar("AnyFailure", bound="Failure")

# new: fails here and not in the baseline; pre-existing: failed in the baseline too;
# flaky: its outcome flipped on the same code; waived: a waiver excuses it until a date.
FAILURE_KINDS = ("new", "pre-existing", "flaky", "waived")
# Kinds that count against the change; a waived failure is listed apart from them.
UNEXCUSED = ("new", "pre-existing", "flaky")
TITLES = {
    "new": "new failures",
    "pre-existing": "pre-existing failures",
    "flaky": "flaky failures",
    "waived": "waived failures",
}


def kind_rank(kind: str) -> int:
    """The place of ``kind`` in FAILURE_KINDS; an unknown kind sorts after all of them."""
    try:
        return FAILURE_KINDS.index(kind)
    except ValueError:
        return len(FAILURE_KINDS)


def title(kind: str) -> str:
    """The heading of a kind's section: ``waived failures``."""
    return TITLES.get(kind, f"{kind} failures")


def group_failures(
    failures: Iterable[AnyFailure],
) -> dict[str, list[AnyFailure]]:
    """The failures by classification, kinds in FAILURE_KINDS order, each sorted by node id."""
    groups: dict[str, list[AnyFailure]] = {}
    for failure in sorted(failures, key=_order):
        groups.setdefault(failure["classification"], []).append(failure)
    return groups


def _order(failure: Failure) -> tuple[int, str, str]:
    kind = failure["classification"]
    return kind_rank(kind), kind, failure["node_id"]
