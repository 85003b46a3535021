"""Code blocks and their fingerprints: what changes a fingerprint and what does not."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from uetf_core.impact.blocks import MODULE, BlockKind, blocks_of_file, blocks_of_source

SOURCE = textwrap.dedent(
    '''\
    """A module."""
    import os
    from . import sibling
    from .sub import thing as other

    RATE = 0.2


    def deco(f):
        return f


    @deco
    def top(x, y=RATE):
        """Top."""
        squares = [i * i for i in range(x)]
        key = lambda v: -v  # noqa: E731

        def inner(z):
            return z + 1

        class Local:
            def method(self):
                return 2

        return sorted(squares, key=key), inner(x)


    class Shape:
        sides = 0

        @property
        def name(self):
            return "shape"

        class Nested:
            def deep(self):
                return 3


    async def fetch():
        return 1
    '''
)


def fingerprints(source: str) -> dict[str, str]:
    return {b.qualname: b.fingerprint for b in blocks_of_source(source, "pkg/mod.py").blocks}


def test_blocks_are_keyed_by_python_qualified_names() -> None:
    """Every function, method and class body is a block named as co_qualname names it."""
    found = blocks_of_source(SOURCE, "pkg/mod.py")
    assert [b.qualname for b in found.blocks] == [
        MODULE,
        "deco",
        "top",
        "top.<locals>.inner",
        "top.<locals>.Local",
        "top.<locals>.Local.method",
        "Shape",
        "Shape.name",
        "Shape.Nested",
        "Shape.Nested.deep",
        "fetch",
    ]
    kinds = {b.qualname: b.kind for b in found.blocks}
    assert kinds[MODULE] is BlockKind.MODULE
    assert kinds["Shape"] is BlockKind.CLASS
    assert kinds["fetch"] is BlockKind.FUNCTION


def test_import_time_blocks_are_the_top_level_and_class_bodies_outside_functions() -> None:
    """A class body inside a function runs with the function, not at import."""
    found = blocks_of_source(SOURCE, "pkg/mod.py")
    at_import = {b.qualname for b in found.blocks if b.import_time}
    assert at_import == {MODULE, "Shape", "Shape.Nested"}


def test_block_keys_match_the_code_objects_python_compiles() -> None:
    """Each code object's first line and name lead to the block of the same name."""
    found = blocks_of_source(SOURCE, "pkg/mod.py")
    code = compile(SOURCE, "pkg/mod.py", "exec")
    seen = []
    stack = [code]
    while stack:
        current = stack.pop()
        stack.extend(c for c in current.co_consts if hasattr(c, "co_code"))
        name = getattr(current, "co_qualname", current.co_name)
        block = found.block_of_code(current.co_firstlineno, name)
        seen.append((name, block.qualname))
    for name, block in seen:
        if name.rsplit(".", 1)[-1].startswith("<") and name != MODULE:
            # A lambda or a comprehension belongs to the function that holds it.
            assert block == "top", (name, block)
        elif sys.version_info >= (3, 11):
            assert block == name  # co_qualname is the block's key
        else:
            assert block.rsplit(".", 1)[-1] == name  # co_name only before 3.11
    assert len(seen) >= 11
    assert found.block_of_code(1, "<module>").qualname == MODULE


def test_decorated_blocks_start_at_their_first_decorator() -> None:
    """first_line is co_firstlineno: the decorator's line for a decorated function."""
    found = blocks_of_source(SOURCE, "pkg/mod.py").by_qualname()
    namespace: dict[str, object] = {"__name__": "pkg.mod", "__package__": None}
    body = SOURCE.replace("from . import sibling\n", "").replace(
        "from .sub import thing as other\n", ""
    )
    exec(compile(body, "m.py", "exec"), namespace)
    shift = 2  # the two import lines removed above
    top = namespace["top"]
    assert found["top"].first_line == top.__code__.co_firstlineno + shift  # type: ignore[attr-defined]
    assert found["Shape.name"].first_line == found["Shape.name"].last_line - 2


def test_line_map_gives_the_innermost_block() -> None:
    """A line belongs to the innermost block holding it; lines outside any def to the module."""
    found = blocks_of_source(SOURCE, "pkg/mod.py")
    lines = SOURCE.splitlines()
    assert found.block_at(lines.index("        return z + 1") + 1).qualname == "top.<locals>.inner"
    assert found.block_at(lines.index("    sides = 0") + 1).qualname == "Shape"
    assert found.block_at(lines.index("RATE = 0.2") + 1).qualname == MODULE
    assert found.block_at(10_000).qualname == MODULE


@pytest.mark.parametrize(
    ("edit", "changed"),
    [
        # comments, blank lines and formatting change nothing
        (("    return f\n", "    return f  # the same\n"), set()),
        (("RATE = 0.2\n", "RATE = 0.2\n\n\n"), set()),
        (("top(x, y=RATE)", "top(x,   y = RATE)"), set()),
        # a body changes its block only
        (("        return z + 1", "        return z + 2"), {"top.<locals>.inner"}),
        (("            return 2", "            return 4"), {"top.<locals>.Local.method"}),
        (("            return 3", "            return 4"), {"Shape.Nested.deep"}),
        # a docstring is a value code can read
        (('"""Top."""', '"""Top, changed."""'), {"top"}),
        # a header runs in the parent: both change
        (("top(x, y=RATE)", "top(x, y=RATE + 1)"), {MODULE, "top"}),
        (("    def inner(z):", "    def inner(z, w=1):"), {"top", "top.<locals>.inner"}),
        # class attributes are the class body's
        (("    sides = 0", "    sides = 3"), {"Shape"}),
        # the top level
        (("RATE = 0.2", "RATE = 0.3"), {MODULE}),
    ],
)
def test_what_changes_a_fingerprint(edit: tuple[str, str], changed: set[str]) -> None:
    """Exactly the blocks whose own code changed get a new fingerprint."""
    old, new = edit
    assert old in SOURCE
    before = fingerprints(SOURCE)
    after = fingerprints(SOURCE.replace(old, new, 1))
    assert {name for name in before if before[name] != after.get(name)} == changed


def test_moving_a_block_keeps_its_fingerprint() -> None:
    """Lines added above a function move it without changing its fingerprint."""
    before = fingerprints(SOURCE)
    moved = SOURCE.replace("RATE = 0.2\n", "RATE = 0.2\n\n# a comment\n\n\n")
    after = fingerprints(moved)
    assert after == before
    assert (
        blocks_of_source(moved, "m.py").by_qualname()["top"].first_line
        == blocks_of_source(SOURCE, "m.py").by_qualname()["top"].first_line + 4
    )


def test_a_second_definition_of_a_name_gets_its_own_key() -> None:
    """Two defs of one name (a property setter, a conditional def) are two blocks."""
    source = textwrap.dedent(
        """\
        class C:
            @property
            def x(self):
                return 1

            @x.setter
            def x(self, value):
                pass
        """
    )
    found = blocks_of_source(source, "c.py")
    assert [b.qualname for b in found.blocks] == [MODULE, "C", "C.x", "C.x#2"]
    assert found.block_of_code(6, "C.x").qualname == "C.x#2"
    assert found.block_of_code(2, "C.x").qualname == "C.x"


def test_imports_are_absolute_with_relative_ones_resolved() -> None:
    """Relative imports resolve against the file's package."""
    found = blocks_of_source(SOURCE, "pkg/mod.py")
    assert found.imports == ("os", "pkg", "pkg.sibling", "pkg.sub", "pkg.sub.thing")
    package = blocks_of_source("from . import a\nfrom .. import b\n", "pkg/sub/__init__.py")
    assert package.imports == ("pkg.sub", "pkg.sub.a", "pkg", "pkg.b")
    # Above the top-level package (Python refuses it at run time): nothing.
    assert blocks_of_source("from ... import c\n", "pkg/m.py").imports == ()


def test_names_in_statements_count() -> None:
    """A global or nonlocal statement's names are part of the block's code."""
    before = blocks_of_source("def f():\n    global a\n    a = 1\n", "g.py")
    after = blocks_of_source("def f():\n    global b\n    a = 1\n", "g.py")
    assert before.blocks[1].fingerprint != after.blocks[1].fingerprint


def test_invalid_source_raises_syntax_error() -> None:
    """A file that does not parse raises SyntaxError for the caller to decide."""
    with pytest.raises(SyntaxError):
        blocks_of_source("def f(:\n", "bad.py")


def test_empty_file_has_a_module_block(tmp_path: Path) -> None:
    """An empty file still has its top level."""
    (tmp_path / "empty.py").write_text("")
    found = blocks_of_file(tmp_path, "empty.py")
    assert [b.qualname for b in found.blocks] == [MODULE]
    assert found.block_at(1).qualname == MODULE


def test_a_large_standard_library_module_is_fast() -> None:
    """The largest pure-Python module of the standard library takes well under a second."""
    import _pydecimal

    source = Path(_pydecimal.__file__).read_bytes()
    start = time.process_time()
    found = blocks_of_source(source, "_pydecimal.py")
    elapsed = time.process_time() - start
    assert len(found.blocks) > 200
    assert elapsed < 2.0, elapsed


def test_a_functions_imports_are_its_own_not_the_files() -> None:
    """An import inside a function runs when the function is called: it is kept apart
    from the file's import-time imports (top level and class bodies), under the block."""
    source = (
        "import os\n\n\ndef f():\n    import json\n    from . import sib\n    return 1\n\n\n"
        "class C:\n    import re\n\n    def m(self):\n        import csv\n"
    )
    found = blocks_of_source(source, "pkg/mod.py")
    assert found.imports == ("os", "re")
    assert dict(found.deferred_imports) == {"f": ("json", "pkg", "pkg.sib"), "C.m": ("csv",)}
