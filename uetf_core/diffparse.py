"""Reading a unified diff into changed files and their added or modified line ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass
class FileChange:
    """One file of a diff: where it is now, where it was, and the lines it gained."""

    path: str
    old_path: str | None = None
    status: str = "modified"  # added, modified or renamed
    added: list[tuple[int, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The ``files`` entry of ``patch_ledger_entry``."""
        return {
            "path": self.path,
            "old_path": self.old_path,
            "status": self.status,
            "added_lines": [list(r) for r in self.added],
        }


def _strip_prefix(raw: str, prefix: str) -> str:
    raw = raw.rstrip("\n").split("\t", 1)[0]
    if raw.startswith('"') and raw.endswith('"'):
        raw = raw[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        raw = raw.encode("latin-1", "replace").decode("utf-8", "replace")
    return raw[len(prefix) :] if raw.startswith(prefix) else raw


def parse_unified_diff(text: str) -> list[FileChange]:
    """The changed files of ``text`` with added line ranges.

    Deleted and binary files are left out: they have no lines to cover.
    """
    changes: list[FileChange] = []
    current: FileChange | None = None
    skip = False
    for line in text.splitlines():
        if line.startswith("diff --git "):
            current, skip = None, False
            continue
        if line.startswith("Binary files ") or line.startswith("deleted file mode"):
            skip = True
            continue
        if line.startswith("rename from "):
            pending_old = line[len("rename from ") :]
            changes.append(FileChange(path="", old_path=pending_old, status="renamed"))
            current = changes[-1]
            continue
        if line.startswith("rename to ") and current is not None and current.status == "renamed":
            current.path = line[len("rename to ") :]
            continue
        if line.startswith("--- "):
            old = line[4:]
            if current is None or current.status != "renamed":
                current = FileChange(
                    path="", status="added" if old.startswith("/dev/null") else "modified"
                )
            continue
        if line.startswith("+++ "):
            new = line[4:]
            if new.startswith("/dev/null"):
                skip, current = True, None
                continue
            if current is None:
                current = FileChange(path="")
            current.path = _strip_prefix(new, "b/")
            if not skip and current not in changes:
                changes.append(current)
            continue
        match = _HUNK.match(line)
        if match and current is not None and not skip:
            start = int(match.group(1))
            count = 1 if match.group(2) is None else int(match.group(2))
            if count:
                current.added.append((start, start + count - 1))
    return [c for c in changes if c.path and (c.added or c.status == "renamed")]
