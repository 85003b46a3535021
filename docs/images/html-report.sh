#!/usr/bin/env bash
# Regenerates docs/images/html-report.png: a small project with a change, run once on
# main (the baseline) and once on a branch, its HTML report shot in headless Chromium.
# Run from the repository root: bash docs/images/html-report.sh
set -euo pipefail
out="$(pwd)/docs/images/html-report.png"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir app
: > app/__init__.py
cat > app/core.py <<'PY'
def add(a, b):
    return a + b


def unused(x):
    if x:
        return 1
    return 0
PY
printf 'def helper():\n    return 1\n' > app/other.py
cat > test_app.py <<'PY'
from app.core import add
from app.other import helper


def test_add():
    assert add(1, 2) == 3


def test_helper():
    assert helper() == 1
PY
git init -q -b main && git add -A
git -c user.email=demo@example.invalid -c user.name=demo commit -q -m initial
pytest -q -p no:cacheprovider --uetf --uetf-cov=app >/dev/null || true
git checkout -q -b feature
cat >> app/core.py <<'PY'


# Scale a value: a comment is a change with nothing to run.
def double(x):
    return x * 2


def explode():
    raise ValueError("boom")
PY
cat >> test_app.py <<'PY'


import pytest

from app.core import double, explode


@pytest.mark.parametrize("x", [1, 2, 3])
def test_double(x):
    assert double(x) == 2 * x


def test_explodes():
    explode()


@pytest.mark.skip(reason="needs a network")
def test_download():
    pass
PY
git add -A && git -c user.email=demo@example.invalid -c user.name=demo commit -q -m change
pytest -q -p no:cacheprovider --uetf --uetf-cov=app --uetf-base=main \
    --uetf-gate=patch_coverage\>=90 --uetf-gate=new_failures\<=0 \
    --uetf-report=html:report.html >/dev/null || true
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1100,1900 --screenshot="$out" "file://$work/report.html" 2>/dev/null
echo "wrote $out"
