#!/usr/bin/env bash
# Regenerates docs/images/terminal.png and docs/images/pr-comment.png from one real run:
# a small project with a change, run on main (the baseline), then on a branch whose new
# test fails and whose new code is half covered.
#  - terminal.png: the end of that run's `pytest --uetf`, captured through a pseudo-terminal
#    80 columns wide in colour, turned into HTML by the converter below, shot in Chromium.
#  - pr-comment.png: the run's markdown report (--uetf-report=markdown:PATH) rendered as
#    GitHub renders a comment (cmark-gfm, GitHub-like styles), shot in Chromium.
# Run from the repository root: bash docs/images/screenshots.sh
# Needs chromium, cmark-gfm and an emoji font; on Debian it installs what is missing:
#   apt-get install chromium cmark-gfm fonts-noto-color-emoji
set -euo pipefail
images="$(pwd)/docs/images"
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v cmark-gfm >/dev/null || missing+=(cmark-gfm)
fc-list | grep -qi "color emoji" || missing+=(fonts-noto-color-emoji)
if ((${#missing[@]})); then
    apt-get install -y "${missing[@]}" >/dev/null
fi
work="$(mktemp -d)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
mkdir "$work/shop"
cd "$work/shop"

# -- the project -------------------------------------------------------------------------
mkdir -p shop tests
: > shop/__init__.py
cat > shop/prices.py <<'PY'
RATE = 2


def price(n):
    return n * RATE


def discount(n):
    if n > 10:
        return n - 1
    return n
PY
cat > tests/test_prices.py <<'PY'
import pytest

from shop.prices import discount, price


def test_price():
    assert price(2) == 4


def test_discount():
    assert discount(1) == 1


@pytest.mark.skip(reason="needs the pricing service")
def test_remote_prices():
    pass
PY
cat > pyproject.toml <<'TOML'
[tool.pytest.ini_options]
pythonpath = ["."]

[tool.uetf]
cov_source = ["shop"]

[tool.uetf.gates]
coverage = 80
patch_coverage = 90
new_failures = 0
TOML
printf '.ledger/\n__pycache__/\n' > .gitignore
git init -q -b main
git add -A
git -c user.email=demo@example.invalid -c user.name=demo commit -q -m "prices"
python -m pytest -q -p no:cacheprovider --uetf >/dev/null || true  # main's run: the baseline

git checkout -q -b bulk-prices
cat >> shop/prices.py <<'PY'


def bulk(n, boxes):
    if boxes >= 10:
        return price(n) * boxes * 0.85
    return price(n) * boxes


def refund(n):
    return -price(n)
PY
cat >> tests/test_prices.py <<'PY'


def test_bulk():
    from shop.prices import bulk

    assert bulk(3, 2) == 12


def test_bulk_discount():
    from shop.prices import bulk

    assert bulk(3, 10) == 54
PY
git -c user.email=demo@example.invalid -c user.name=demo commit -q -am "bulk prices"

# -- the run, through an 80-column pseudo-terminal ---------------------------------------
run=(--tb=short --uetf --uetf-base=main --uetf-report=markdown:comment.md)
python - "$work/terminal.ansi" "${run[@]}" <<'PY'
"""Run pytest on a pseudo-terminal 80 columns wide and keep what the terminal received."""
import fcntl, os, struct, subprocess, sys, termios

master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 80, 0, 0))
env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "PY_COLORS", "CI")}
env |= {"TERM": "xterm-256color", "COLUMNS": "80"}
options = sys.argv[2:]
command = [sys.executable, "-m", "pytest", *options]
process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
os.close(slave)
received = bytearray()
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # every writer closed the terminal
        break
    if not chunk:
        break
    received += chunk
process.wait()
with open(sys.argv[1], "wb") as out:
    out.write(bytes(received).replace(b"\r\n", b"\n"))
PY

# -- terminal.png: ANSI to HTML, a terminal window around it -----------------------------
python - "$work/terminal.ansi" "$work/terminal.html" "pytest ${run[*]}" > "$work/terminal.height" <<'PY'
"""The end of a terminal capture (from its FAILURES rule) as an HTML terminal window.

Only the SGR escapes pytest writes are read: reset, bold, and the 16 foreground colours."""
import html, re, sys

text = open(sys.argv[1], encoding="utf-8").read()
lines = [line.rsplit("\r", 1)[-1] for line in text.rstrip("\n").split("\n")]
plain = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines]
start = next(i for i, line in enumerate(plain) if " FAILURES " in line)
lines = ["$ " + sys.argv[3], "..."] + lines[start:]  # the command, then the run's end
# A dark palette close to GNOME Terminal's Tango.
PALETTE = {30: "#2e3436", 31: "#ef2929", 32: "#8ae234", 33: "#fce94f", 34: "#729fcf",
           35: "#ad7fa8", 36: "#34e2e2", 37: "#d3d7cf"}
PALETTE |= {code + 60: colour for code, colour in PALETTE.items()}  # bright: the same here
out = []
for line in lines:
    bold, colour, parts = False, None, []
    for index, piece in enumerate(re.split(r"\x1b\[([0-9;]*)m", line)):
        if index % 2:
            for code in map(int, (piece or "0").split(";")):
                if code == 0:
                    bold, colour = False, None
                elif code == 1:
                    bold = True
                elif code == 22:
                    bold = False
                elif code in PALETTE:
                    colour = PALETTE[code]
                elif code == 39:
                    colour = None
        elif piece:
            style = (f"color:{colour};" if colour else "") + ("font-weight:bold;" if bold else "")
            parts.append(f'<span style="{style}">{html.escape(piece)}</span>' if style else html.escape(piece))
    out.append("".join(parts))
page = f"""<!doctype html><meta charset="utf-8"><style>
body {{ margin: 0; background: #fff; }}
.window {{ margin: 16px; border-radius: 8px; overflow: hidden; box-shadow: 0 2px 12px #0005; width: max-content; }}
.bar {{ background: #3c3c3c; height: 28px; display: flex; align-items: center; padding: 0 12px; gap: 8px;
  font: 13px 'DejaVu Sans', sans-serif; color: #ccc; }}
.dot {{ width: 12px; height: 12px; border-radius: 50%; }}
.title {{ flex: 1; text-align: center; margin-right: 60px; }}
pre {{ margin: 0; padding: 10px 12px; background: #1e1e1e; color: #d3d7cf; width: 80.5ch;
  font: 15px/20px 'DejaVu Sans Mono', monospace; white-space: pre-wrap; word-break: break-all; }}
</style>
<div class="window"><div class="bar"><span class="dot" style="background:#ff5f56"></span>
<span class="dot" style="background:#ffbd2e"></span><span class="dot" style="background:#27c93f"></span>
<span class="title">shop (bulk-prices) — 80 columns</span></div><pre>{chr(10).join(out)}</pre></div>
"""
open(sys.argv[2], "w", encoding="utf-8").write(page)
# Lines that wrap at 80 columns take two rows: count rows, not lines.
rows = sum(max(1, -(-len(re.sub(r"\x1b\[[0-9;]*m", "", line)) // 80)) for line in lines)
print(rows * 20 + 20 + 28 + 32 + 24)  # lines, padding, title bar, margins, shadow
PY
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=2 \
    --window-size="790,$(cat "$work/terminal.height")" --screenshot="$images/terminal.png" \
    "file://$work/terminal.html" 2>/dev/null

# -- pr-comment.png: the markdown report as GitHub shows a comment ------------------------
{
    cat <<'HTML'
<!doctype html><meta charset="utf-8"><style>
body { margin: 0; background: #fff; font: 14px/1.5 -apple-system, 'Segoe UI', 'Noto Sans',
  'DejaVu Sans', Helvetica, Arial, sans-serif, 'Noto Color Emoji'; color: #1f2328; }
.comment { margin: 16px; border: 1px solid #d1d9e0; border-radius: 6px; width: 860px; }
.head { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px; color: #59636e;
  border-radius: 6px 6px 0 0; }
.head b { color: #1f2328; }
.body { padding: 16px; }
.body > :first-child { margin-top: 0; }
h3 { font-size: 1.25em; font-weight: 600; margin: 24px 0 16px; }
p, table, details, pre { margin: 0 0 16px; }
table { border-collapse: collapse; display: block; width: max-content; max-width: 100%; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
th { font-weight: 600; }
tr:nth-child(2n) { background: #f6f8fa; }
code, pre { font: 12px/1.45 'DejaVu Sans Mono', monospace; }
code { background: #818b981f; padding: .2em .4em; border-radius: 6px; }
pre { background: #f6f8fa; padding: 16px; border-radius: 6px; overflow: auto; }
pre code { background: none; padding: 0; }
summary { cursor: pointer; }
a { color: #0969da; text-decoration: none; }
</style>
<div class="comment"><div class="head"><b>uetf-bot</b> commented on this pull request</div>
<div class="body">
HTML
    cmark-gfm --unsafe -e table -e strikethrough -e autolink comment.md
    echo '</div></div>'
} > "$work/comment.html"
# GitHub shows each <details> collapsed; the picture opens three to show what they hold.
python - "$work/comment.html" <<'PY'
import sys
path = sys.argv[1]
page = open(path, encoding="utf-8").read()
for summary in ("Failures:", "Changed lines not covered", "Since the baseline"):
    page = page.replace(f"<details><summary>{summary}", f"<details open><summary>{summary}")
open(path, "w", encoding="utf-8").write(page)
PY
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=2 \
    --window-size=900,970 --screenshot="$images/pr-comment.png" \
    "file://$work/comment.html" 2>/dev/null
echo "wrote $images/terminal.png and $images/pr-comment.png"
