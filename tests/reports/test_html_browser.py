"""The HTML report as a person uses it: a real run's page in headless Chromium, searched,
filtered and sorted through clicks and keys, and the page text in the file itself."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import git, run_pytest
from uetf_core.reports.html_lists import SCRIPT, csp_hash

CORE = """\
def add(a, b):
    return a + b


def unused(x):
    if x:
        return 1
    return 0
"""
CHANGED = (
    CORE
    + """

# A comment and a blank line: changed, yet nothing to run.

def double(x):
    return x * 2


def never(x):
    return -x


def explode():
    raise ValueError("boom")
"""
)
OTHER = """\
def helper():
    return 1
"""
TESTS = """\
import pytest

from app.core import add, double, explode
from app.other import helper


def test_add():
    assert add(1, 2) == 3


def test_double():
    assert double(2) == 4


def test_helper():
    assert helper() == 1


def test_broken():
    assert add(1, 1) == 3


def test_explodes():
    explode()


@pytest.mark.skip(reason="not today")
def test_skipped():
    pass


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "<b>bold</b>"])
def test_hostile(name):
    assert name
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML report of a change with passed, failed and skipped tests and coverage."""
    root = tmp_path_factory.mktemp("html") / "project"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "core.py").write_text(CORE)
    (root / "app" / "other.py").write_text(OTHER)
    (root / "test_app.py").write_text("def test_nothing():\n    pass\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.invalid")
    git(root, "config", "user.name", "UETF tests")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    git(root, "checkout", "-q", "-b", "feature")
    (root / "app" / "core.py").write_text(CHANGED)
    (root / "test_app.py").write_text(TESTS)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "change")
    out = root.parent / "report.html"
    done = run_pytest(
        root, "--uetf", "--uetf-cov=app", "--uetf-base=main", f"--uetf-report=html:{out}"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    return out


def test_page_allows_only_its_own_script_and_style(page: Path) -> None:
    """The CSP names the one inline script by hash, and hostile test ids are text."""
    text = page.read_text("utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text)
    assert csp is not None
    assert "default-src 'none'" in csp.group(1)
    assert f"script-src {csp_hash(SCRIPT)};" in csp.group(1)
    assert "unsafe-inline" not in csp.group(1)
    assert text.count("<script") == 1 and f"<script>{SCRIPT}</script>" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<b>bold" not in text


def test_every_test_listed_without_javascript(page: Path) -> None:
    """All tests are rows of the list in the file itself, and the controls start hidden."""
    text = page.read_text("utf-8")
    rows = re.findall(r'<tr data-outcome="(\w+)">', text)
    assert sorted(rows) == ["failed"] * 2 + ["passed"] * 5 + ["skipped"]
    assert '<div class="controls js-only" hidden>' in text
    assert "not today" in text  # the skip reason beside its test


def test_source_views_mark_changed_lines_and_link_failures(page: Path) -> None:
    """Every file below 100 % or changed has a whole-file view; not-executable changes are
    marked as such, and the failure links to its line."""
    text = page.read_text("utf-8")
    links = dict(re.findall(r'<a href="#(src-\d+)"><code>([^<]*)</code></a>', text))
    assert set(links.values()) == {"app/core.py"}  # other.py ran whole and did not change
    anchor = next(a for a, p in links.items() if p == "app/core.py")
    assert f'<div class="noexec" id="{anchor}-L11">' in text  # the comment of the change
    assert f'<div class="miss" id="{anchor}-L18">' in text  # never() not run
    assert f'<div class="hit" id="{anchor}-L14">' in text  # double() ran
    assert f'<a href="#{anchor}-L22"><code>app/core.py:22</code></a>' in text  # explode()
    assert '<p class="legend">' in text
    assert "2 file(s) at 100 %: no source view needed." in text


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Debian's chromedriver through Selenium."""
    if (CHROMIUM is None or DRIVER is None) and not os.environ.get("UETF_REQUIRE_CHROMIUM"):
        pytest.skip("Chromium or chromedriver is not installed (CI installs and requires them)")
    assert CHROMIUM is not None and DRIVER is not None, (
        "UETF_REQUIRE_CHROMIUM is set but chromium or chromium-driver is not installed"
    )
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600"):
        options.add_argument(flag)
    # Any request that would leave the page fails.
    options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(DRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def visible_tests(driver: Any) -> list[str]:
    rows = driver.find_elements("css selector", "#tests tbody tr")
    return [r.find_element("css selector", "code").text for r in rows if r.is_displayed()]


def test_search_filter_and_sort_in_the_browser(page: Path, browser: Any) -> None:
    """Typing searches the list, an outcome button filters it, a column header sorts the
    coverage table, and the console shows no CSP violation."""
    browser.get(page.as_uri())
    assert len(visible_tests(browser)) == 8
    assert browser.find_element("id", "test-count").text == "8 of 8 shown"

    browser.find_element("id", "test-search").send_keys("HOSTILE")
    shown = visible_tests(browser)
    assert len(shown) == 2 and all("test_hostile[" in t for t in shown)
    assert any("<script>alert(1)</script>" in t for t in shown)  # shown as text
    browser.find_element("id", "test-search").clear()
    browser.find_element("id", "test-search").send_keys(" ")  # any input event
    browser.find_element("id", "test-search").clear()

    browser.find_element("css selector", 'button[data-outcome="failed"]').click()
    assert visible_tests(browser) == ["test_app.py::test_broken", "test_app.py::test_explodes"]
    browser.find_element("css selector", 'button[data-outcome="skipped"]').click()
    assert visible_tests(browser) == ["test_app.py::test_skipped"]
    browser.find_element("css selector", 'button[data-outcome=""]').click()
    assert len(visible_tests(browser)) == 8

    def files() -> list[str]:
        cells = browser.find_elements("css selector", "#coverage-files tbody td:first-child")
        return [c.text for c in cells]

    missing = browser.find_element("css selector", "#coverage-files th:nth-child(3)")
    missing.click()
    assert files()[-1] == "app/core.py"  # ascending: the one file with lines not run last
    missing.click()
    assert files()[0] == "app/core.py"
    assert missing.get_attribute("aria-sort") == "descending"

    console = [entry["message"] for entry in browser.get_log("browser")]
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
