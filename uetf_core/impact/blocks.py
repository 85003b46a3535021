"""Code blocks of a Python source file and a fingerprint of each block's own code.

A block is what the interpreter runs as one code object and the source names: the
module's top level, each function or method, each class body. Lambdas,
comprehensions and generator expressions belong to the block that contains them.
A nested function is a block of its own, keyed by the qualified name Python gives
it (``outer.<locals>.inner``, ``Class.method``), so a block key read from source
matches ``co_qualname`` of the code object a test entered.

The fingerprint hashes the block's abstract syntax tree, not its text:

- comments, blank lines, formatting, and moving a block to other lines do not
  change it (the tree carries no positions here);
- docstrings do: ``__doc__`` is a value code can read, and a test may (doctest);
- a nested block appears in its parent as its *header* only (name, decorators,
  arguments with defaults and annotations, return annotation, bases, keywords,
  type parameters): those run in the parent when the ``def`` or ``class``
  statement runs. The same header is part of the nested block's own fingerprint,
  as its arguments shape its body's behaviour. So a changed decorator changes
  both blocks, and a changed body only the nested block.
"""

from __future__ import annotations

import ast
import bisect
import enum
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

MODULE = "<module>"

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_Node = ast.Module | _Def
# Fields of a def/class that run in the enclosing block, when the statement runs.
_HEADER_FIELDS = frozenset(
    ("name", "args", "decorator_list", "returns", "bases", "keywords", "type_params")
)


class BlockKind(enum.Enum):
    """What kind of code object a block is."""

    MODULE = "module"  # a file's top level, run when it is imported
    FUNCTION = "function"  # a function, method, async function or generator
    CLASS = "class"  # a class body, run when the class statement runs


@dataclass(frozen=True)
class Block:
    """One block: its key within the file, its lines, its fingerprint.

    ``first_line`` is the first decorator's line when decorated, as
    ``co_firstlineno`` is. ``import_time`` is true for code that runs when its
    module is imported (the top level, and class bodies not inside a function):
    a test uses it without entering it while the test runs.
    """

    qualname: str
    kind: BlockKind
    first_line: int
    last_line: int
    fingerprint: str
    import_time: bool


@dataclass(frozen=True)
class FileBlocks:
    """The blocks of one file, in source order (the module block first)."""

    path: str
    blocks: tuple[Block, ...]
    imports: tuple[str, ...]  # absolute module names its import-time code imports
    # A function's own imports run when it is called: block key -> module names.
    deferred_imports: tuple[tuple[str, tuple[str, ...]], ...]
    _owner: tuple[int, ...] = field(repr=False, compare=False)  # block index by line - 1
    _order: tuple[int, ...] = field(repr=False, compare=False)  # block indexes by first line
    _starts: tuple[int, ...] = field(repr=False, compare=False)  # their first lines

    def by_qualname(self) -> Mapping[str, Block]:
        return {block.qualname: block for block in self.blocks}

    def block_at(self, line: int) -> Block:
        """The innermost block holding ``line`` (lines past the end: the module)."""
        if 1 <= line <= len(self._owner):
            return self.blocks[self._owner[line - 1]]
        return self.blocks[0]

    def block_of_code(self, first_line: int, qualname: str) -> Block:
        """The block a code object (``co_firstlineno``, ``co_qualname``) belongs to.

        A function or class body starts on its own first line under its own name;
        anything else (a lambda, a comprehension) is charged to the innermost
        block holding its first line. Before 3.11 code objects carry ``co_name``
        only; the last part of the key is compared then.
        """
        index = bisect.bisect_left(self._starts, first_line)
        while index < len(self._starts) and self._starts[index] == first_line:
            block = self.blocks[self._order[index]]
            if _same_name(block.qualname, qualname):
                return block
            index += 1
        return self.block_at(first_line)


def _same_name(key: str, qualname: str) -> bool:
    """A block key (``f#2`` for a second ``f``) against a code object's name."""
    base = key.split("#", 1)[0]
    return base == qualname or base.rsplit(".", 1)[-1] == qualname


def module_name(path: str) -> str:
    """``pkg/sub/mod.py`` -> ``pkg.sub.mod``; a package's ``__init__.py`` -> the package."""
    parts = path[:-3].split("/") if path.endswith(".py") else path.split("/")
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def blocks_of_file(root: Path, path: str) -> FileBlocks:
    """Read ``root/path`` (``path`` relative, with ``/``) and return its blocks."""
    source = (root / path).read_bytes()
    return blocks_of_source(source, path)


def blocks_of_source(source: str | bytes, path: str) -> FileBlocks:
    """The blocks of ``source``, the file ``path``; raises SyntaxError on invalid code."""
    tree = ast.parse(source, filename=path)
    lines = _line_count(source)
    found: list[tuple[str, BlockKind, int, int, str, bool]] = []
    spans: list[tuple[int, int]] = []
    names: dict[str, int] = {}
    imports: list[str] = []
    deferred: list[tuple[str, tuple[str, ...]]] = []
    package = module_name(path)
    if not path.endswith("__init__.py"):
        package = package.rpartition(".")[0]

    def add(node: _Node, qualname: str, kind: BlockKind, at_import: bool) -> None:
        count = names.get(qualname, 0) + 1
        names[qualname] = count
        key = qualname if count == 1 else f"{qualname}#{count}"
        if isinstance(node, ast.Module):
            first, last = 1, max(lines, 1)
        else:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            last = node.end_lineno or node.lineno
        walk = _BlockWalk(node, package)
        found.append((key, kind, first, last, walk.fingerprint, at_import))
        spans.append((first, last))
        if at_import:
            imports.extend(walk.imports)
        elif walk.imports:
            deferred.append((key, tuple(dict.fromkeys(walk.imports))))
        for child, prefix, child_import in _children(walk.nested, qualname, kind, at_import):
            child_kind = BlockKind.CLASS if isinstance(child, ast.ClassDef) else BlockKind.FUNCTION
            add(child, prefix + child.name, child_kind, child_import)

    add(tree, MODULE, BlockKind.MODULE, True)
    owner = [0] * max(lines, 1)
    for index, (first, last) in enumerate(spans[1:], start=1):  # outer blocks come first
        owner[first - 1 : last] = [index] * (last - first + 1)
    blocks = tuple(Block(*row) for row in found)
    order = sorted(range(len(blocks)), key=lambda i: blocks[i].first_line)
    return FileBlocks(
        path,
        blocks,
        tuple(dict.fromkeys(imports)),
        tuple(deferred),
        tuple(owner),
        tuple(order),
        tuple(blocks[i].first_line for i in order),
    )


def _children(
    nested: list[_Def], qualname: str, kind: BlockKind, at_import: bool
) -> Iterator[tuple[_Def, str, bool]]:
    """The blocks directly inside a block, with their qualified-name prefix."""
    if kind is BlockKind.MODULE:
        prefix = ""
    elif kind is BlockKind.CLASS:
        prefix = f"{qualname}."
    else:
        prefix = f"{qualname}.<locals>."
    for child in nested:
        # A class body inside a function runs when the function does, not at import.
        child_import = at_import and isinstance(child, ast.ClassDef)
        yield child, prefix, child_import


class _BlockWalk:
    """One pass over a block's own code: its fingerprint, its imports, its nested blocks.

    Positions are left out; a nested def or class appears as its header only, and is
    listed in ``nested`` to be walked as a block of its own. Each node of the file
    is thus visited once (headers twice), which keeps a large file fast.
    """

    def __init__(self, block: ast.AST, package: str) -> None:
        self.root = block
        self.package = package
        self.imports: list[str] = []
        self.nested: list[_Def] = []
        out: list[str] = []
        self._visit(block, out)
        self.fingerprint = hashlib.blake2b("\x1f".join(out).encode(), digest_size=8).hexdigest()

    def _visit(self, node: ast.AST, out: list[str]) -> None:
        out.append(type(node).__name__)
        header_only = node is not self.root and isinstance(node, _DEFS)
        if header_only:
            self.nested.append(node)  # type: ignore[arg-type]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            self.imports.extend(_imported(node, self.package))
        for name in node._fields:
            if header_only and name not in _HEADER_FIELDS:
                continue
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                self._visit(value, out)
            elif isinstance(value, list):
                out.append("[")
                for item in value:
                    if isinstance(item, ast.AST):
                        self._visit(item, out)
                    else:
                        out.append(repr(item))
                out.append("]")
            else:
                out.append(repr(value))


def _imported(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    """Absolute names ``node`` imports; ``from a import b`` gives ``a`` and ``a.b``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        parts = package.split(".") if package else []
        keep = len(parts) - (node.level - 1)
        if keep < 0:  # above the top-level package: Python refuses it too
            return []
        base = ".".join(parts[:keep] + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    found = [base] if base else []
    found.extend(f"{base}.{a.name}" if base else a.name for a in node.names if a.name != "*")
    return found


def _line_count(source: str | bytes) -> int:
    if isinstance(source, bytes):
        return source.count(b"\n") + (0 if source.endswith(b"\n") or not source else 1)
    return source.count("\n") + (0 if source.endswith("\n") or not source else 1)
