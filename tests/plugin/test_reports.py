"""pytest's reports of real runs, turned into execution records."""

from __future__ import annotations

from collections import defaultdict

import pytest

from pytest_uetf.reports import build_record, record_of
from uetf_core.records import ExecutionRecord, full_record


def reports_by_test(pytester: pytest.Pytester) -> dict[str, list[pytest.TestReport]]:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def broken():
            yield
            raise RuntimeError("teardown broke")

        def test_pass(): pass
        def test_pass_slowly():
            sum(range(10000))
        def test_fail(): assert False
        def test_skip(): pytest.skip("not here")
        @pytest.mark.xfail(reason="known")
        def test_xfail(): assert False
        @pytest.mark.xfail(reason="fixed?")
        def test_xpass(): pass
        def test_teardown_error(broken): pass
        """
    )
    run = pytester.inline_run("-p", "no:uetf")
    found: dict[str, list[pytest.TestReport]] = defaultdict(list)
    for report in run.getreports("pytest_runtest_logreport"):
        found[report.nodeid.rsplit("::", 1)[1]].append(report)
    return found


def test_a_plainly_passed_test_is_a_row_whose_full_record_is_the_built_one(
    pytester: pytest.Pytester,
) -> None:
    """Three passed phases make a PassedRow; expanded, it equals the record built in full."""
    reports = reports_by_test(pytester)
    for name in ("test_pass", "test_pass_slowly"):
        setup, call, teardown = reports[name]
        row = record_of(setup, call, teardown, 2, "gw3", 0.0123456789)
        assert isinstance(row, tuple)
        assert full_record(row) == build_record(setup, call, teardown, 2, "gw3", 0.0123456789)
        assert full_record(row).cpu == 0.012346  # to the microsecond
        assert full_record(row).duration == setup.duration + call.duration + teardown.duration


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("test_fail", "failed"),
        ("test_skip", "skipped"),
        ("test_xfail", "xfailed"),
        ("test_xpass", "xpassed"),
        ("test_teardown_error", "error"),
    ],
)
def test_any_other_test_gets_its_full_record(
    pytester: pytest.Pytester, name: str, outcome: str
) -> None:
    """Failures, skips, xfail, xpass and teardown errors keep the whole record."""
    setup, call, teardown = reports_by_test(pytester)[name]
    record = record_of(setup, call, teardown, 1, "controller")
    assert isinstance(record, ExecutionRecord)
    assert record.outcome == outcome
    assert full_record(record) is record
