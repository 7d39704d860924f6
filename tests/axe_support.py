"""axe-core audits of a Playwright page (axe from node_modules, installed by `make` from package.json).

The pages' Content-Security-Policy allows no inline script, so axe is not added as a script
tag: page.evaluate runs its source through the DevTools protocol, which the policy does not
govern, and the page itself is left as the member sees it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

AXE_JS = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"

# What fails a page: every rule axe runs for WCAG 2.x A/AA and best practice, at these impacts.
FAILING_IMPACTS = ("serious", "critical")

# Rules left out of the audit, each with its reason (empty: none are).
DISABLED_RULES: dict[str, str] = {}

_RUN = """async ([rules]) => {
  const result = await axe.run(document, {
    resultTypes: ["violations"],
    rules: Object.fromEntries(rules.map((id) => [id, { enabled: false }])),
  });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary || "" })),
  }));
}"""


@cache
def axe_source() -> str:
    if not AXE_JS.exists():
        raise RuntimeError(f"{AXE_JS} is missing: run `make install` (npm install) first.")
    return AXE_JS.read_text(encoding="utf-8")


def violations(page, *, impacts=FAILING_IMPACTS) -> list[dict]:
    """axe's violations on the page as it is now, at the given impacts."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(f"{axe_source()}\n;undefined")
    found = page.evaluate(_RUN, [list(DISABLED_RULES)])
    return [v for v in found if v["impact"] in impacts]


def describe(where: str, found: list[dict]) -> list[str]:
    """One line per failing element: the page, the rule, the element and axe's reason."""
    lines = []
    for v in found:
        for node in v["nodes"]:
            summary = " ".join(node["summary"].split())
            lines.append(f"{where}: {v['id']} ({v['impact']}) {node['target']}: {summary}")
    return lines
