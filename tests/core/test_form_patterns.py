"""Every `pattern=` in the templates compiles as Chromium compiles it (the `v` flag since 2023):
an invalid one is ignored by the browser, so the form is not checked at all ('[a-z0-9-]' was)."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path

NODE = "node"  # make installs the front-end libraries with it, so it is always there
TEMPLATES = Path(__file__).resolve().parents[2] / "server" / "templates"
PATTERN = re.compile(r'\bpattern="([^"]*)"')
CHECK = """
const bad = [];
for (const p of JSON.parse(process.argv[1])) {
  try { new RegExp(`^(?:${p})$`, "v"); } catch (e) { bad.push(`${p}: ${e.message}`); }
}
console.log(JSON.stringify(bad));
"""


def _patterns() -> list[str]:
    found = set()
    for path in TEMPLATES.rglob("*.html"):
        found.update(html.unescape(p) for p in PATTERN.findall(path.read_text(encoding="utf-8")))
    return sorted(found)


def test_form_patterns_compile_with_the_v_flag():
    patterns = _patterns()
    assert len(patterns) >= 4
    out = subprocess.run(
        [NODE, "-e", CHECK, json.dumps(patterns)], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []


def test_the_check_finds_a_pattern_chromium_would_ignore():
    out = subprocess.run(
        [NODE, "-e", CHECK, json.dumps(["[a-z0-9][a-z0-9-]{1,63}"])],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(json.loads(out.stdout)) == 1
