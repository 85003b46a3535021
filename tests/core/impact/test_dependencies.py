"""Project files, the block index, a run's records as a baseline, the environment."""

from __future__ import annotations

import sysconfig
from pathlib import Path

from uetf_core.impact import (
    BlockIndex,
    EnteredCode,
    ProjectFiles,
    ScopeDependencies,
    baseline_from_run,
    current_environment,
)
from uetf_core.impact.environment import Environment, distributions_digest


def test_project_files_are_python_files_under_the_root(tmp_path: Path) -> None:
    """Files under the root are the project's, by relative path; others are not."""
    project = ProjectFiles(tmp_path)
    assert project.relative(str(tmp_path / "pkg" / "mod.py")) == "pkg/mod.py"
    assert project.relative(str(tmp_path.parent / "elsewhere.py")) is None
    assert project.relative("<string>") is None
    assert project.relative(str(tmp_path / "template.html")) is None
    # Asked twice, answered from the cache alike.
    assert project.relative(str(tmp_path / "pkg" / "mod.py")) == "pkg/mod.py"


def test_installed_code_is_never_the_projects(tmp_path: Path) -> None:
    """site-packages is outside the project even when the root holds it (a venv inside)."""
    purelib = Path(sysconfig.get_path("purelib"))
    outer = ProjectFiles(purelib.parent)
    assert outer.relative(str(purelib / "somepkg" / "mod.py")) is None
    assert outer.relative(str(purelib.parent / "own.py")) == "own.py"


def test_symlinked_paths_resolve_to_the_same_file(tmp_path: Path) -> None:
    """A file reached through a symlinked root is the same project file."""
    real = tmp_path / "real"
    (real / "pkg").mkdir(parents=True)
    (real / "pkg" / "m.py").write_text("")
    link = tmp_path / "link"
    link.symlink_to(real)
    assert ProjectFiles(real).relative(str(link / "pkg" / "m.py")) == "pkg/m.py"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_entered_code_maps_to_blocks_with_fingerprints(tmp_path: Path) -> None:
    """A function, a lambda inside it, and a method map to their blocks."""
    write(
        tmp_path,
        {
            "m.py": "def f():\n    g = lambda: 1\n    return g()\n\n"
            "class C:\n    def m(self):\n        return 2\n"
        },
    )
    index = BlockIndex(tmp_path)
    found = index.dependencies(
        [
            EnteredCode("m.py", 1, "f"),
            EnteredCode("m.py", 2, "f.<locals>.<lambda>"),
            EnteredCode("m.py", 6, "C.m"),
        ]
    )
    assert found is not None
    assert {(d.path, d.qualname) for d in found} == {("m.py", "f"), ("m.py", "C.m")}
    assert all(len(d.fingerprint) == 16 for d in found)


def test_unreadable_or_unparsable_files_give_no_data(tmp_path: Path) -> None:
    """A test that entered a file which cannot be parsed (or is gone) has no data."""
    write(tmp_path, {"ok.py": "def f():\n    pass\n", "bad.py": "def f(:\n"})
    index = BlockIndex(tmp_path)
    assert index.dependencies([EnteredCode("bad.py", 1, "f")]) is None
    assert index.dependencies([EnteredCode("gone.py", 1, "f")]) is None
    assert index.dependencies([EnteredCode("ok.py", 1, "f")])


def test_a_run_becomes_a_baseline(tmp_path: Path) -> None:
    """Tests with data, tests without, import-time blocks and the import graph."""
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n\nclass K:\n    x = 1\n\ndef f():\n    return b.g()\n",
            "pkg/b.py": "def g():\n    return 1\n",
            "tests/test_a.py": "from pkg import a\n\ndef test_f():\n    assert a.f() == 1\n",
            "broken.py": "def (\n",
        },
    )
    env = Environment("CPython 3.12.1", "x")
    scopes = {
        "tests/test_a.py::test_f": ScopeDependencies(
            frozenset(
                {
                    EnteredCode("tests/test_a.py", 3, "test_f"),
                    EnteredCode("pkg/a.py", 6, "f"),
                    EnteredCode("pkg/b.py", 1, "g"),
                }
            )
        ),
        "tests/test_a.py::test_broken": ScopeDependencies(
            frozenset({EnteredCode("broken.py", 1, "f")})
        ),
        "tests/test_a.py::test_unrecorded": None,
    }
    outside = ScopeDependencies(
        frozenset(
            {
                EnteredCode("pkg/__init__.py", 1, "<module>"),
                EnteredCode("pkg/a.py", 1, "<module>"),
                EnteredCode("pkg/a.py", 3, "K"),
                EnteredCode("pkg/b.py", 1, "<module>"),
                EnteredCode("tests/test_a.py", 1, "<module>"),
                EnteredCode("broken.py", 1, "<module>"),  # imported, then broken on disk
            }
        )
    )
    base = baseline_from_run("r1", env, scopes, outside, BlockIndex(tmp_path))
    assert set(base.tests) == {"tests/test_a.py::test_f"}
    assert base.without_data == {"tests/test_a.py::test_broken", "tests/test_a.py::test_unrecorded"}
    assert {(d.path, d.qualname) for d in base.import_time} == {
        ("pkg/__init__.py", "<module>"),
        ("pkg/a.py", "<module>"),
        ("pkg/a.py", "K"),
        ("pkg/b.py", "<module>"),
        ("tests/test_a.py", "<module>"),
    }
    assert base.imports["pkg/a.py"] == {"pkg/__init__.py", "pkg/b.py"}
    assert base.imports["tests/test_a.py"] == {"pkg/__init__.py", "pkg/a.py"}


def test_environment_digest_ignores_order() -> None:
    """The distributions digest depends on the set of pins, not their order."""
    assert distributions_digest(["a==1", "b==2"]) == distributions_digest(["b==2", "a==1", "a==1"])
    assert distributions_digest(["a==1"]) != distributions_digest(["a==2"])
    here = current_environment()
    assert here.python.split()[1].count(".") == 2
    assert here == current_environment()
