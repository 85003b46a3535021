"""The change under test: its base, merge-base, diff and added lines, from git or a diff file.

git always runs as a program without a shell, with refs checked first
(``config.validate_ref``), so a ref can never be read as an option. Problems a
user can fix (a shallow clone without the base, no git) come back as one line
in ``PatchEntry.problem``; the gates that need the patch then report ``error``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uetf_core.config import validate_ref
from uetf_core.errors import ConfigError
from uetf_core.timeutil import iso

if TYPE_CHECKING:  # diffparse is imported when a diff is read, not at every pytest start
    from uetf_core.diffparse import FileChange

FALLBACK_BASES = ("origin/HEAD", "origin/main", "main", "master")
ToolSink = Callable[[dict[str, Any]], None]


class PatchEntry:
    """A patch ledger entry: what changed between the merge-base and the work tree.

    A plain class: every ``pytest --uetf`` imports this module, and a dataclass
    compiles its generated methods at import.
    """

    __slots__ = (
        "base_missing",
        "base_ref",
        "diff_hash",
        "files",
        "head",
        "merge_base",
        "problem",
        "state",
    )

    def __init__(
        self,
        base_ref: str,
        merge_base: str | None = None,
        head: str | None = None,
        diff_hash: str | None = None,
        files: list[FileChange] | None = None,
        problem: str | None = None,
        state: str = "detected",
        base_missing: bool = False,  # the base ref is nowhere: not here, no remote to fetch
    ) -> None:
        self.base_ref = base_ref
        self.merge_base = merge_base
        self.head = head
        self.diff_hash = diff_hash
        self.files: list[FileChange] = [] if files is None else files
        self.problem = problem
        self.state = state
        self.base_missing = base_missing

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PatchEntry):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass's

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"PatchEntry({fields})"

    def as_dict(self, run_id: str) -> dict[str, Any]:
        """The ``patch_ledger_entry`` document."""
        return {
            "run_id": run_id,
            "state": self.state,
            "base_ref": self.base_ref,
            "merge_base": self.merge_base,
            "head": self.head,
            "diff_hash": self.diff_hash,
            "files": [change.as_dict() for change in self.files],
            "problem": self.problem,
        }


def base_from_ci(env: Mapping[str, str]) -> str | None:
    """The base branch a CI service names for a pull or merge request, as a remote ref."""
    if env.get("GITHUB_BASE_REF"):
        return f"origin/{env['GITHUB_BASE_REF']}"
    if env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA"):
        return env["CI_MERGE_REQUEST_DIFF_BASE_SHA"]
    for name in (
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",  # GitLab
        "BUILDKITE_PULL_REQUEST_BASE_BRANCH",  # Buildkite
        "SYSTEM_PULLREQUEST_TARGETBRANCH",  # Azure Pipelines
        "CHANGE_TARGET",  # Jenkins multibranch
    ):
        value = env.get(name, "").removeprefix("refs/heads/")
        if value and value != "false":
            return f"origin/{value}"
    return None


class Git:
    """git in one work tree, each call recorded as a tool result."""

    def __init__(self, cwd: Path, sink: ToolSink | None = None) -> None:
        self.cwd = cwd
        self.sink = sink

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = ["git", "-c", "core.quotePath=false", *args]
        start = time.monotonic()
        try:
            done = subprocess.run(
                argv,
                cwd=self.cwd,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                errors="replace",
            )
        except FileNotFoundError:
            done = subprocess.CompletedProcess(argv, 127, "", GIT_MISSING)
        except (OSError, subprocess.TimeoutExpired) as exc:
            done = subprocess.CompletedProcess(argv, 127, "", str(exc))
        if self.sink is not None:
            self.sink(
                {
                    "tool": "git",
                    "argv": argv,
                    "exit_code": done.returncode,
                    "duration_seconds": round(time.monotonic() - start, 6),
                    "ok": done.returncode == 0,
                    "stderr_excerpt": done.stderr[-4096:],
                    "at": iso(time.time()),
                }
            )
        return done

    def resolves(self, ref: str) -> str | None:
        done = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        return done.stdout.strip() or None if done.returncode == 0 else None


# Files a test run itself leaves in a work tree: they say nothing of the code.
# (coverage.py's own reports too, where it writes them unless told otherwise.)
_VOLATILE_PARTS = frozenset(
    {"__pycache__", ".pytest_cache", ".hypothesis", ".ledger", ".uetf", "htmlcov"}
)
_VOLATILE_SUFFIXES = (".pyc", ".pyo")
_VOLATILE_NAMES = frozenset({"coverage.xml", "coverage.json", "coverage.lcov"})


def _volatile(name: str) -> bool:
    parts = name.split("/")
    return (
        any(part in _VOLATILE_PARTS for part in parts)
        or name.endswith(_VOLATILE_SUFFIXES)
        or parts[-1].startswith(".coverage")
        or (len(parts) == 1 and name in _VOLATILE_NAMES)
    )


def work_tree_state(cwd: Path) -> str | None:
    """A digest of the work tree's uncommitted changes: ``""`` when clean, ``None`` outside git.

    Two runs of one commit test the same code only when this is equal too: an
    edit not yet committed changes what the tests run, so a test it breaks has
    not flipped on the same code. Caches, coverage data and the ledger's own
    folder are left out; an untracked file counts by its name and content.
    """
    return commit_and_tree_state(cwd)[2]


def commit_and_tree_state(
    cwd: Path, outputs: Collection[Path] = ()
) -> tuple[str | None, str | None, str | None]:
    """HEAD's commit and branch name, and ``work_tree_state``, from one git call.

    A run records the three at its start; one git process fewer there is work a
    short suite notices. ``(None, None, None)`` outside a git work tree.
    ``outputs``: files the run itself writes (its reports, pytest's JUnit XML),
    left out of the digest: the last run's copy differs from run to run.
    """
    git = Git(cwd)
    status = git.run(
        "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all", "--no-renames"
    )
    if status.returncode != 0:
        return None, None, None
    head = branch = None
    changed: list[str] = []
    untracked: list[str] = []
    fields = iter(status.stdout.split("\0"))
    for entry in fields:
        kind = entry[:2]
        if kind == "# ":
            key, _, value = entry[2:].partition(" ")
            if key == "branch.oid" and value != "(initial)":
                head = value
            elif key == "branch.head" and value != "(detached)":
                branch = value
        elif kind == "1 ":  # an ordinary change: eight fields, then the path
            changed.append(entry.split(" ", 8)[8])
        elif kind == "2 ":  # a rename (not asked for): nine fields, the path, the old path
            changed.append(entry.split(" ", 9)[9])
            next(fields, None)
        elif kind == "u ":  # unmerged: ten fields, then the path
            changed.append(entry.split(" ", 10)[10])
        elif kind == "? ":
            untracked.append(entry[2:])
    # Without a commit there is no HEAD to name a branch of.
    return head, branch if head else None, _tree_digest(git, cwd, changed, untracked, outputs)


def _tree_digest(
    git: Git, cwd: Path, changed: list[str], untracked: list[str], outputs: Collection[Path] = ()
) -> str:
    """The digest of ``changed`` tracked and ``untracked`` files (paths from the top)."""
    changed = [name for name in changed if not _volatile(name)]
    untracked = sorted(name for name in untracked if not _volatile(name))
    if not changed and not untracked:
        return ""
    # Porcelain paths are from the top of the work tree; so are git's from there.
    top = Path(git.run("rev-parse", "--show-toplevel").stdout.strip() or cwd)
    if outputs:
        written = {path.resolve() for path in outputs}
        changed = [name for name in changed if (top / name).resolve() not in written]
        untracked = [name for name in untracked if (top / name).resolve() not in written]
        if not changed and not untracked:
            return ""
    digest = hashlib.sha256()
    if changed:
        diff = Git(top).run(
            "diff", "HEAD", "--no-color", "--no-ext-diff", "--binary", "--", *changed
        )
        digest.update(diff.stdout.encode("utf-8", "replace"))
    if untracked:
        for name in untracked:
            digest.update(f"\0untracked:{name}\0".encode())
            try:
                digest.update(hashlib.sha256((top / name).read_bytes()).digest())
            except OSError:
                digest.update(b"unreadable")
    return digest.hexdigest()[:16]


_DUBIOUS = "dubious ownership in repository at '"
# What Git.run says when git cannot be started at all.
GIT_MISSING = "git: not found on PATH"


def git_refusal(stderr: str) -> str | None:
    """What to do when git refuses a repository another user owns (its safe.directory
    check, common in CI containers whose checkout belongs to the host's user)."""
    start = stderr.find(_DUBIOUS)
    if start < 0:
        return None
    where = stderr[start + len(_DUBIOUS) :].split("'", 1)[0]
    return (
        f"git refuses the repository at {where}: another user owns it; if you trust it,"
        f" run git config --global --add safe.directory {where}"
    )


def _fallback_base(git: Git) -> str | None:
    """The base a change is compared with when none is named (``fallback_base``)."""
    head = git.resolves("HEAD")
    branch = git.run("rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    return fallback_base(git, head, branch)[0]


def fallback_base(git: Git, head: str | None, branch: str | None) -> tuple[str | None, str | None]:
    """The first of origin/HEAD, origin/main, main, master that is not HEAD itself, and
    its commit, from one git process.

    On a feature branch cloned alone, origin/HEAD can point at the branch under
    test; comparing it with itself would hide the change. On the base branch
    itself (``branch`` main or master) its own ref is the base, and the change is
    rightly empty.
    """
    names = {ref: _full_ref(ref) for ref in FALLBACK_BASES}
    listed = git.run("for-each-ref", "--format=%(refname) %(objectname)", *names.values())
    commits = dict(line.split(" ", 1) for line in listed.stdout.splitlines() if " " in line)
    for ref, full in names.items():
        commit = commits.get(full)
        if commit is None:
            continue
        if commit != head or ref.removeprefix("origin/") == branch in ("main", "master"):
            return ref, commit
    return None, None


def _full_ref(ref: str) -> str:
    """``origin/main`` as ``refs/remotes/origin/main``, ``main`` as ``refs/heads/main``."""
    return f"refs/remotes/{ref}" if ref.startswith("origin/") else f"refs/heads/{ref}"


def detect_patch(
    cwd: Path,
    base: str | None,
    env: Mapping[str, str] | None = None,
    sink: ToolSink | None = None,
) -> PatchEntry:
    """The change of the work tree against the merge-base with the base ref."""
    from uetf_core.diffparse import FileChange, parse_unified_diff

    env = os.environ if env is None else env
    git = Git(cwd, sink)
    inside = git.run("rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0:
        where = "git is not installed (not on PATH)" if inside.stderr == GIT_MISSING else None
        return PatchEntry(
            base or "?",
            problem=git_refusal(inside.stderr)
            or f"{where or f'{cwd} is not a git work tree'}; patch gates need "
            "git, or a diff given with --uetf-diff-file",
        )
    chosen = base or base_from_ci(env)
    if chosen is None:
        chosen = _fallback_base(git)
        if chosen is None:
            shallow = git.run("rev-parse", "--is-shallow-repository").stdout.strip() == "true"
            return PatchEntry(
                "?",
                problem="no base to compare with: none of origin/HEAD, origin/main, main, master "
                "exists apart from the branch under test; pass --uetf-base REF or set "
                "[tool.uetf] base"
                + ("; this clone is shallow: git fetch origin main --unshallow" if shallow else ""),
            )
    try:
        validate_ref(chosen, "base ref")
    except ConfigError as exc:
        return PatchEntry(chosen, problem=str(exc).removeprefix("uetf: "))
    head = git.resolves("HEAD")
    shallow = git.run("rev-parse", "--is-shallow-repository").stdout.strip() == "true"
    if git.resolves(chosen) is None:
        problem, fetchable = _missing_base(git, chosen, shallow)
        return PatchEntry(chosen, head=head, problem=problem, base_missing=not fetchable)
    merged = git.run("merge-base", chosen, "HEAD")
    merge_base = merged.stdout.strip()
    if merged.returncode != 0 or not merge_base:
        hint = "git fetch --unshallow" if shallow else f"git fetch origin {chosen}"
        return PatchEntry(
            chosen,
            head=head,
            problem=f"no merge-base between HEAD and {chosen!r}"
            + (" because the clone is shallow" if shallow else "")
            + f"; fetch more history: {hint} (or fetch-depth: 0)",
        )
    diff = git.run("diff", "--no-color", "--no-ext-diff", "-M", "--unified=0", merge_base, "--")
    if diff.returncode != 0:
        return PatchEntry(
            chosen, merge_base, head, problem=f"git diff failed: {diff.stderr[-300:]}"
        )
    files = parse_unified_diff(diff.stdout)
    top = Path(git.run("rev-parse", "--show-toplevel").stdout.strip() or cwd)
    # From the top, as git diff names files, whatever folder the rootdir is.
    untracked = git.run(
        "ls-files", "--others", "--exclude-standard", "-z", "--full-name", "--", ":/"
    ).stdout
    extra = []
    for name in filter(None, untracked.split("\0")):
        lines = _count_lines(top / name)
        if lines:
            extra.append(FileChange(name, None, "added", [(1, lines)]))
    digest = hashlib.sha256(diff.stdout.encode("utf-8", "replace"))
    for change in extra:
        digest.update(f"\0untracked:{change.path}:{change.added}".encode())
    # git names files from the top of the work tree; coverage from the rootdir.
    changes = [_relative_to(change, top, cwd) for change in files + extra]
    return PatchEntry(chosen, merge_base, head, digest.hexdigest(), changes)


def _missing_base(git: Git, ref: str, shallow: bool) -> tuple[str, bool]:
    """Why ``ref`` does not resolve and the fix, and whether a remote may have it: then
    it is to be fetched (a CI's shallow clone), else it does not exist."""
    remotes = git.run("remote").stdout.split()
    remote, _, branch = ref.partition("/")
    if remote not in remotes:
        remote, branch = (remotes[0], ref) if remotes else ("", ref)
    if not remote:
        return (
            f"base {ref!r} does not exist in this repository (no branch, tag or commit of "
            "that name, and no remote to fetch it from); name an existing ref "
            "(git branch --all lists them)"
        ), False
    hint = f"git fetch {remote} {branch}" + (" --unshallow" if shallow else "")
    return (
        f"base {ref!r} is not in this clone: no branch, tag or commit of that name; if it is "
        f"a branch of {remote!r}, fetch it first: {hint} "
        "(on GitHub Actions: actions/checkout with fetch-depth: 0)"
    ), True


def _relative_to(change: FileChange, top: Path, root: Path) -> FileChange:
    if top.resolve() == root.resolve():
        return change
    change.path = os.path.relpath(top / change.path, root)
    if change.old_path:
        change.old_path = os.path.relpath(top / change.old_path, root)
    return change


def patch_from_diff_file(path: Path, root: Path) -> PatchEntry:
    """The change described by a unified diff file (``--uetf-diff-file``).

    Its paths are read from the top of the git work tree when there is one
    (as git writes them), else from ``root``.
    """
    from uetf_core.diffparse import parse_unified_diff

    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"--uetf-diff-file {path}: cannot read it ({exc.strerror})") from None
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
    top_text = Git(root).run("rev-parse", "--show-toplevel").stdout.strip()
    top = Path(top_text) if top_text else root
    changes = [_relative_to(change, top, root) for change in parse_unified_diff(text)]
    return PatchEntry(f"diff-file:{path}", diff_hash=digest, files=changes)


def _count_lines(path: Path) -> int:
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    if b"\0" in data[:8192]:
        return 0  # binary
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
