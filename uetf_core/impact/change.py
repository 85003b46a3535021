"""The :class:`Change` of a work tree: its changed files read into blocks.

Git tells which files changed (the patch UETF detects already lists them); this
reads the changed Python files that still exist, once each, and sorts out the
ones that do not parse, which send selection to the whole suite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from uetf_core.impact.blocks import FileBlocks, blocks_of_file
from uetf_core.impact.environment import Environment, current_environment
from uetf_core.impact.selection import Change


def change_of_work_tree(
    root: Path,
    changed_files: Iterable[str],
    collected: Sequence[str],
    *,
    recent_failures: Iterable[str] = (),
    input_globs: Sequence[str] = (),
    environment: Environment | None = None,
    inert_edits: Iterable[str] = (),
) -> Change:
    """The change under ``root``: ``changed_files`` relative to it, with ``/``."""
    changed = frozenset(changed_files)
    blocks: dict[str, FileBlocks] = {}
    unparsable = set()
    for path in sorted(changed):
        if not path.endswith(".py") or not (root / path).is_file():
            continue
        try:
            blocks[path] = blocks_of_file(root, path)
        except (SyntaxError, ValueError, UnicodeDecodeError):
            unparsable.add(path)
    return Change(
        environment or current_environment(),
        tuple(collected),
        changed,
        blocks,
        frozenset(unparsable),
        frozenset(recent_failures),
        tuple(input_globs),
        frozenset(inert_edits),
    )
