"""Selection as a pure function: which tests a change can affect, and why."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from uetf_core.impact import (
    Baseline,
    BlockDependency,
    Change,
    Environment,
    Reason,
    TestDependencies,
    WholeSuiteReason,
    blocks_of_source,
    select_tests,
)
from uetf_core.impact.blocks import MODULE, FileBlocks

ENV = Environment("CPython 3.12.1", "d1")

PRICES = textwrap.dedent(
    """\
    from shop import rates

    class Cart:
        currency = "EUR"

        def total(self, items):
            return sum(items)

        def tax(self, items):
            return self.total(items) * rates.RATE


    def discount(x):
        return x * 0.9
    """
)
RATES = "RATE = 0.2\n\ndef rate():\n    return RATE\n"


def blocks(files: dict[str, str]) -> dict[str, FileBlocks]:
    return {path: blocks_of_source(text, path) for path, text in files.items()}


BASE_FILES = {"shop/prices.py": PRICES, "shop/rates.py": RATES}
BASE_BLOCKS = blocks(BASE_FILES)


def dep(path: str, qualname: str, files: dict[str, FileBlocks] = BASE_BLOCKS) -> BlockDependency:
    block = files[path].by_qualname()[qualname]
    return BlockDependency(path, qualname, block.fingerprint)


TESTS = {
    "tests/test_cart.py::test_total": {
        ("shop/prices.py", "Cart.total"),
        ("tests/test_cart.py", "test_total"),
    },
    "tests/test_cart.py::test_tax": {
        ("shop/prices.py", "Cart.tax"),
        ("shop/prices.py", "Cart.total"),
        ("tests/test_cart.py", "test_tax"),
    },
    "tests/test_discount.py::test_discount": {
        ("shop/prices.py", "discount"),
        ("tests/test_discount.py", "test_discount"),
    },
    "tests/test_rates.py::test_rate": {
        ("shop/rates.py", "rate"),
        ("tests/test_rates.py", "test_rate"),
    },
    "tests/unit/test_misc.py::test_nothing": {("tests/unit/test_misc.py", "test_nothing")},
}


def import_time_blocks(files: dict[str, FileBlocks]) -> frozenset[BlockDependency]:
    """The import-time blocks of ``files``, as a run records them."""
    return frozenset(
        BlockDependency(path, b.qualname, b.fingerprint)
        for path, found in files.items()
        for b in found.blocks
        if b.import_time
    )


def baseline(**overrides: object) -> Baseline:
    test_files = {node.split("::")[0] for node in TESTS}
    test_blocks = {
        path: blocks_of_source(
            "".join(
                f"def {node.split('::')[1]}():\n    pass\n"
                for node in TESTS
                if node.startswith(path)
            ),
            path,
        )
        for path in test_files
    }
    every = {**BASE_BLOCKS, **test_blocks}
    tests = {
        node: TestDependencies(node, frozenset(dep(p, q, every) for p, q in pairs))
        for node, pairs in TESTS.items()
    }
    import_time = import_time_blocks(every)
    imports = {
        "shop/prices.py": frozenset({"shop/rates.py"}),
        "tests/test_cart.py": frozenset({"shop/prices.py"}),
        "tests/test_discount.py": frozenset({"shop/prices.py"}),
        "tests/test_rates.py": frozenset({"shop/rates.py"}),
    }
    fields: dict[str, object] = {
        "run_id": "base",
        "environment": ENV,
        "tests": tests,
        "import_time": import_time,
        "imports": imports,
    }
    fields.update(overrides)
    return Baseline(**fields)  # type: ignore[arg-type]


def change(files: dict[str, str] | None = None, **overrides: object) -> Change:
    files = files or {}
    fields: dict[str, object] = {
        "environment": ENV,
        "collected": tuple(TESTS),
        "changed_files": frozenset(files),
        "blocks": blocks({p: t for p, t in files.items() if p.endswith(".py") and t}),
    }
    fields.update(overrides)
    return Change(**fields)  # type: ignore[arg-type]


def selected(result: object) -> dict[str, Reason]:
    return {t.node_id: t.reason for t in result.selected}  # type: ignore[attr-defined]


def test_no_change_selects_nothing() -> None:
    """With nothing changed and nothing new, every test is deselected."""
    result = select_tests(baseline(), change())
    assert result.whole_suite is None
    assert result.selected == ()
    assert set(result.deselected) == set(TESTS)


def test_a_changed_method_selects_the_tests_that_ran_it() -> None:
    """Changing Cart.total selects both cart tests (test_tax ran it through tax)."""
    edited = PRICES.replace("return sum(items)", "return sum(items) + 0")
    result = select_tests(baseline(), change({"shop/prices.py": edited}))
    assert selected(result) == {
        "tests/test_cart.py::test_total": Reason.BLOCK_CHANGED,
        "tests/test_cart.py::test_tax": Reason.BLOCK_CHANGED,
    }
    assert {t.detail for t in result.selected} == {"shop/prices.py::Cart.total"}


def test_comment_only_change_selects_nothing() -> None:
    """A comment or formatting change in a tested file changes no fingerprint."""
    edited = PRICES.replace("return x * 0.9", "return x*0.9  # ten percent off")
    result = select_tests(baseline(), change({"shop/prices.py": edited}))
    assert result.selected == ()


def test_a_removed_function_selects_its_tests() -> None:
    """A block that is gone counts as changed for the tests that entered it."""
    edited = PRICES.replace("def discount(x):\n    return x * 0.9\n", "")
    result = select_tests(baseline(), change({"shop/prices.py": edited}))
    assert selected(result)["tests/test_discount.py::test_discount"] in (
        Reason.BLOCK_CHANGED,
        Reason.IMPORT_TIME_CHANGED,
    )


def test_a_deleted_file_selects_its_tests() -> None:
    """Tests that entered code of a deleted file run."""
    result = select_tests(baseline(), change({"shop/rates.py": ""}))
    assert "tests/test_rates.py::test_rate" in selected(result)


def test_import_time_change_reaches_importers() -> None:
    """A changed module-level constant selects tests that ran code importing it.

    test_tax reads rates.RATE through prices without entering any block of rates.py.
    """
    result = select_tests(baseline(), change({"shop/rates.py": RATES.replace("0.2", "0.3")}))
    reasons = selected(result)
    assert reasons["tests/test_cart.py::test_tax"] is Reason.IMPORT_TIME_CHANGED
    assert reasons["tests/test_rates.py::test_rate"] is Reason.IMPORT_TIME_CHANGED
    assert reasons["tests/test_discount.py::test_discount"] is Reason.IMPORT_TIME_CHANGED
    assert "tests/unit/test_misc.py::test_nothing" not in reasons


def test_class_attribute_change_is_import_time() -> None:
    """A class attribute runs at import: tests of the file and its importers run."""
    edited = PRICES.replace('currency = "EUR"', 'currency = "USD"')
    result = select_tests(baseline(), change({"shop/prices.py": edited}))
    assert set(selected(result)) == {
        "tests/test_cart.py::test_total",
        "tests/test_cart.py::test_tax",
        "tests/test_discount.py::test_discount",
    }


@pytest.mark.parametrize(
    ("overrides", "node_id", "reason"),
    [
        (
            {"collected": (*TESTS, "tests/test_new.py::test_fresh")},
            "tests/test_new.py::test_fresh",
            Reason.NEW,
        ),
        (
            {"recent_failures": frozenset({"tests/test_rates.py::test_rate"})},
            "tests/test_rates.py::test_rate",
            Reason.RECENTLY_FAILED,
        ),
        (
            {"changed_files": frozenset({"tests/test_discount.py"})},
            "tests/test_discount.py::test_discount",
            Reason.TEST_FILE_CHANGED,
        ),
        (
            {"changed_files": frozenset({"tests/unit/conftest.py"})},
            "tests/unit/test_misc.py::test_nothing",
            Reason.CONFTEST_CHANGED,
        ),
    ],
)
def test_always_selected(overrides: dict[str, object], node_id: str, reason: Reason) -> None:
    """New tests, recent failures, tests in changed files or below a changed conftest run."""
    result = select_tests(baseline(), change(**overrides))
    assert selected(result) == {node_id: reason}


def test_tests_without_data_always_run() -> None:
    """A test the baseline ran without dependency data runs, and only it."""
    base = baseline(without_data=frozenset({"tests/unit/test_misc.py::test_nothing"}))
    assert selected(select_tests(base, change())) == {
        "tests/unit/test_misc.py::test_nothing": Reason.NO_DATA
    }


def test_changed_conftest_selects_only_tests_below_it() -> None:
    """tests/unit/conftest.py does not select tests in tests/."""
    result = select_tests(baseline(), change(changed_files=frozenset({"tests/unit/conftest.py"})))
    assert "tests/test_cart.py::test_total" in result.deselected


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("pyproject.toml", WholeSuiteReason.CONFIGURATION_CHANGED),
        ("setup.cfg", WholeSuiteReason.CONFIGURATION_CHANGED),
        ("requirements.txt", WholeSuiteReason.CONFIGURATION_CHANGED),
        ("requirements-dev.txt", WholeSuiteReason.CONFIGURATION_CHANGED),
        ("ci/requirements-test.txt", WholeSuiteReason.CONFIGURATION_CHANGED),
        ("conftest.py", WholeSuiteReason.CONFIGURATION_CHANGED),
        ("data/prices.csv", WholeSuiteReason.INPUT_CHANGED),
        ("shop/templates/page.html", WholeSuiteReason.UNMAPPED_FILE_CHANGED),
    ],
)
def test_whole_suite_for_unmappable_changes(path: str, reason: WholeSuiteReason) -> None:
    """Configuration, declared inputs and unknown files select every test, with the file."""
    result = select_tests(
        baseline(), change(changed_files=frozenset({path}), input_globs=("data/*.csv",))
    )
    assert result.whole_suite is not None
    assert result.whole_suite.reason is reason
    assert result.whole_suite.detail == path
    assert set(result.node_ids) == set(TESTS)
    assert result.deselected == ()


@pytest.mark.parametrize("path", ["README.md", "docs/impact.md", ".github/workflows/ci.yml"])
def test_documentation_changes_select_nothing(path: str) -> None:
    """Documentation and CI files are inert: no test is selected for them."""
    assert select_tests(baseline(), change(changed_files=frozenset({path}))).selected == ()


def test_whole_suite_for_unparsable_python() -> None:
    """A changed Python file that does not parse cannot be mapped to blocks."""
    result = select_tests(
        baseline(),
        change(
            changed_files=frozenset({"shop/prices.py"}), unparsable=frozenset({"shop/prices.py"})
        ),
    )
    assert result.whole_suite is not None
    assert result.whole_suite.reason is WholeSuiteReason.UNPARSABLE


@pytest.mark.parametrize(
    ("base", "now", "reason"),
    [
        (ENV, Environment("CPython 3.13.0", "d1"), WholeSuiteReason.PYTHON_CHANGED),
        (ENV, Environment("CPython 3.12.1", "d2"), WholeSuiteReason.DISTRIBUTIONS_CHANGED),
    ],
)
def test_whole_suite_for_another_environment(
    base: Environment, now: Environment, reason: WholeSuiteReason
) -> None:
    """A different interpreter or set of installed distributions runs everything."""
    result = select_tests(baseline(environment=base), change(environment=now))
    assert result.whole_suite is not None and result.whole_suite.reason is reason


def test_whole_suite_without_baseline_or_data() -> None:
    """No baseline, or one recorded without dependency data, runs everything."""
    none = select_tests(None, change())
    assert none.whole_suite is not None
    assert none.whole_suite.reason is WholeSuiteReason.NO_BASELINE
    assert set(none.node_ids) == set(TESTS)
    empty = select_tests(baseline(has_dependency_data=False), change())
    assert empty.whole_suite is not None
    assert empty.whole_suite.reason is WholeSuiteReason.NO_DEPENDENCY_DATA


def test_first_reason_wins() -> None:
    """A new test in a changed file is reported as new."""
    result = select_tests(
        baseline(),
        change(
            collected=(*TESTS, "tests/test_cart.py::test_added"),
            changed_files=frozenset({"tests/test_cart.py"}),
        ),
    )
    reasons = selected(result)
    assert reasons["tests/test_cart.py::test_added"] is Reason.NEW
    assert reasons["tests/test_cart.py::test_total"] is Reason.TEST_FILE_CHANGED


def test_only_collected_tests_are_selected() -> None:
    """A baseline test no longer collected is neither selected nor deselected."""
    result = select_tests(baseline(), change(collected=("tests/test_rates.py::test_rate",)))
    assert result.selected == ()
    assert result.deselected == ("tests/test_rates.py::test_rate",)


def test_module_block_key_is_stable() -> None:
    """The module block is keyed <module> in every file."""
    assert BASE_BLOCKS["shop/rates.py"].blocks[0].qualname == MODULE


def test_an_import_inside_a_function_reaches_only_the_tests_that_called_it(
    tmp_path: Path,
) -> None:
    """A module imported inside a function is relied on by the tests that entered that
    function, not by every test of the file: its constant changed, the others stay out."""
    from uetf_core.impact.dependencies import BlockIndex

    lazy = PRICES.replace("from shop import rates\n", "").replace(
        "    def tax(self, items):\n", "    def tax(self, items):\n        from shop import rates\n"
    )
    files = {"shop/__init__.py": "", "shop/prices.py": lazy, "shop/rates.py": RATES}
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    graph = BlockIndex(tmp_path).imports(files)
    # `from shop import rates` imports the package and the module.
    assert graph == {"shop/prices.py::Cart.tax": frozenset({"shop/__init__.py", "shop/rates.py"})}
    every = blocks({"shop/prices.py": lazy, "shop/rates.py": RATES})
    tests = {
        node: TestDependencies(
            node, frozenset(dep(p, q, every) for p, q in pairs if p.startswith("shop/"))
        )
        for node, pairs in TESTS.items()
    }
    import_time = import_time_blocks(every)
    base = baseline(tests=tests, import_time=import_time, imports=graph)
    reasons = selected(select_tests(base, change({"shop/rates.py": RATES.replace("0.2", "0.3")})))
    assert reasons["tests/test_cart.py::test_tax"] is Reason.IMPORT_TIME_CHANGED
    assert "tests/test_cart.py::test_total" not in reasons  # prices.py, not Cart.tax
    assert "tests/test_discount.py::test_discount" not in reasons
    assert reasons["tests/test_rates.py::test_rate"] is Reason.IMPORT_TIME_CHANGED
