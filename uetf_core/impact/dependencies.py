"""From code objects entered to block dependencies with fingerprints, for the ledger.

A run's recorder gives, per test, the code objects it entered (:class:`EnteredCode`).
At the end of the run, :class:`BlockIndex` reads each project file those name,
once, finds the block each code object belongs to and attaches the block's
fingerprint; :func:`baseline_from_run` puts a run's records together as the
:class:`Baseline` a later selection compares against.

Files are read when the run ends: a file edited while the run was going gets the
new fingerprint, and a later selection may then miss the edit (docs/impact.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from uetf_core.impact.blocks import FileBlocks, blocks_of_file, module_name
from uetf_core.impact.environment import Environment
from uetf_core.impact.recorder import EnteredCode, ScopeDependencies
from uetf_core.impact.selection import Baseline, BlockDependency, TestDependencies, block_node


class BlockIndex:
    """The blocks of the project's files under ``root``, each file parsed once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, FileBlocks | None] = {}

    def file_blocks(self, path: str) -> FileBlocks | None:
        """The blocks of ``path``, or None when it is gone or does not parse."""
        if path not in self._files:
            try:
                self._files[path] = blocks_of_file(self.root, path)
            except (OSError, SyntaxError, ValueError):  # ValueError: null bytes in source
                self._files[path] = None
        return self._files[path]

    def dependencies(self, entered: Iterable[EnteredCode]) -> frozenset[BlockDependency] | None:
        """The blocks ``entered`` belong to; None when a file cannot be read or parsed.

        None means "no dependency data" for the test: selection then always runs it.
        """
        found = set()
        for code in entered:
            blocks = self.file_blocks(code.path)
            if blocks is None:
                return None
            block = blocks.block_of_code(code.first_line, code.qualname)
            found.add(BlockDependency(code.path, block.qualname, block.fingerprint))
        return frozenset(found)

    def import_time(self, paths: Iterable[str]) -> frozenset[BlockDependency]:
        """The import-time blocks (top level, class bodies) of ``paths``, fingerprinted."""
        found = set()
        for path in paths:
            blocks = self.file_blocks(path)
            if blocks is None:
                continue
            for block in blocks.blocks:
                if block.import_time:
                    found.add(BlockDependency(path, block.qualname, block.fingerprint))
        return frozenset(found)

    def imports(self, paths: Iterable[str]) -> dict[str, frozenset[str]]:
        """For each of ``paths``, the ones among ``paths`` its import-time code imports
        (statically); and, under ``path::block``, those a function imports when it is
        called, which only the tests that entered that function rely on."""
        wanted = sorted(set(paths))
        by_name = _module_names(wanted)
        graph: dict[str, frozenset[str]] = {}

        def add(node: str, path: str, names: Iterable[str]) -> None:
            targets: set[str] = set()
            for name in names:
                targets.update(by_name.get(name, ()))
            targets.discard(path)
            if targets:
                graph[node] = frozenset(targets)

        for path in wanted:
            blocks = self.file_blocks(path)
            if blocks is None:
                continue
            add(path, path, blocks.imports)
            for key, names in blocks.deferred_imports:
                add(block_node(path, key), path, names)
        return graph


def _module_names(paths: Iterable[str]) -> dict[str, set[str]]:
    """Every name a file may be imported under -> the files.

    ``src/pkg/mod.py`` may be ``src.pkg.mod``, ``pkg.mod`` or ``mod`` depending on
    sys.path (a src layout, pytest's rootdir-relative test imports); all are kept:
    an edge too many selects more tests, never fewer.
    """
    names: dict[str, set[str]] = {}
    for path in paths:
        parts = module_name(path).split(".")
        for start in range(len(parts)):
            names.setdefault(".".join(parts[start:]), set()).add(path)
    return names


def baseline_from_run(
    run_id: str,
    environment: Environment,
    tests: Mapping[str, ScopeDependencies | None],
    outside: ScopeDependencies,
    index: BlockIndex,
) -> Baseline:
    """A run's recorded scopes as a :class:`Baseline`; a test given None had no data."""
    recorded: dict[str, TestDependencies] = {}
    without: set[str] = set()
    paths = set(outside.paths())
    for node_id, scope in tests.items():
        blocks = index.dependencies(scope.entered) if scope is not None else None
        if blocks is None:
            without.add(node_id)
            continue
        recorded[node_id] = TestDependencies(node_id, blocks)
        paths.update(scope.paths() if scope is not None else ())
    return Baseline(
        run_id,
        environment,
        recorded,
        frozenset(without),
        index.import_time(paths),
        index.imports(paths),
    )
