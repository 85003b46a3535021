"""Coverage of a selected run made whole: the carried tests' lines, taken from the baseline.

A run that runs part of the suite measures the lines of the tests it ran. The
tests it carried ran, in the baseline, on code that is unchanged since, so their
lines there are still lines they execute:

- an unchanged file: its executed lines are the union of this run's and the
  baseline's;
- a changed file: each baseline line whose innermost block has the same text
  now (moved or not) is moved with its block and added; lines of edited blocks
  are this run's alone (the tests that reach them ran, being selected).

The totals are then counted again. The union is an over-approximation only where
a selected test stopped reaching a line of an unchanged file that the baseline's
tests reached; branch arcs are this run's alone (docs/impact.md).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from uetf_core.impact.blocks import FileBlocks, blocks_of_source

# The source of a file at the baseline's commit (None: absent), and now.
SourceAt = Callable[[str], "bytes | None"]


def carried_coverage(
    current: dict[str, Any],
    baseline: Mapping[str, Any] | None,
    changed: Collection[str],
    old_source: SourceAt | None = None,
    new_source: SourceAt | None = None,
) -> dict[str, Any]:
    """``current`` with the baseline's executed lines that still hold added."""
    if baseline is None or bool(baseline.get("branch")) != bool(current.get("branch")):
        return current
    before = {f["path"]: f for f in baseline["files"]}
    files = []
    gained = False
    for entry in current["files"]:
        old = before.get(entry["path"])
        path = entry["path"]
        if old is None:
            files.append(entry)
            continue
        if path in changed or old["statements"] != entry["statements"]:
            lines = _moved_lines(path, old["executed"], old_source, new_source)
        else:
            lines = set(old["executed"])
        statements = set(entry["statements"])
        executed = sorted((set(entry["executed"]) | lines) & statements)
        gained = gained or len(executed) > len(entry["executed"])
        files.append({**entry, "executed": executed})
    if not gained:  # nothing to add: coverage.py's own totals stand, rounding included
        return current
    n_statements = sum(len(f["statements"]) for f in files)
    n_missing = sum(len(set(f["statements"]) - set(f["executed"])) for f in files)
    n_branches = current["n_branches"]
    missing_branches = sum(f["n_missing_branches"] for f in files)
    total = n_statements + n_branches
    covered = n_statements - n_missing + n_branches - missing_branches
    percent = round(100.0 * covered / total, 2) if total else current["percent"]
    return {**current, "files": files, "n_missing": n_missing, "percent": percent}


def _moved_lines(
    path: str,
    executed: Collection[int],
    old_source: SourceAt | None,
    new_source: SourceAt | None,
) -> set[int]:
    """The baseline's executed lines of a changed file that lie in a block whose text is
    the same now, at the line they moved to."""
    if old_source is None or new_source is None:
        return set()
    before, after = old_source(path), new_source(path)
    if before is None or after is None:
        return set()
    try:
        old_blocks, new_blocks = blocks_of_source(before, path), blocks_of_source(after, path)
    except (SyntaxError, ValueError):
        return set()
    old_text, new_text = before.splitlines(), after.splitlines()
    offsets = _same_blocks(old_blocks, new_blocks, old_text, new_text)
    moved = set()
    for line in executed:
        offset = offsets.get(old_blocks.block_at(line).qualname)
        if offset is not None:
            moved.add(line + offset)
    return moved


def _same_blocks(
    old: FileBlocks, new: FileBlocks, old_text: list[bytes], new_text: list[bytes]
) -> dict[str, int]:
    """Qualname -> line offset, for the blocks whose every line reads the same now."""
    now = new.by_qualname()
    offsets = {}
    for block in old.blocks:
        match = now.get(block.qualname)
        if match is None or match.fingerprint != block.fingerprint:
            continue
        if (
            old_text[block.first_line - 1 : block.last_line]
            == new_text[match.first_line - 1 : match.last_line]
        ):
            offsets[block.qualname] = match.first_line - block.first_line
    return offsets
