"""HTML feedback of an executed notebook (nbconvert), with member-made HTML sanitised.

Member outputs are untrusted: nbconvert's sanitiser escapes scripts and event
handlers, and JavaScript and widget outputs are dropped before export. Serve
the page from a sandboxed iframe or with a strict Content-Security-Policy all
the same.
"""

from __future__ import annotations

import copy
import re

import bleach
from nbconvert import HTMLExporter
from nbformat import NotebookNode

_DROPPED_MIME = (
    "application/javascript",
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
)

# nbconvert's own clean_html allows bleach's inline tags only, so with sanitize_html a markdown
# cell's <h1>/<p> and a DataFrame's <thead>/<th> came out as escaped text. The same sanitiser
# (scripts, handlers and unknown tags still escaped), with the tags markdown and pandas emit.
_TAGS = frozenset(
    {*bleach.ALLOWED_TAGS, "div", "span", "p", "br", "hr", "pre", "code", "kbd", "sub", "sup"}
    | {"del", "s", "u", "h1", "h2", "h3", "h4", "h5", "h6", "dl", "dt", "dd", "img", "details"}
    | {"summary", "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td"}
)
_ATTRIBUTES = {
    **bleach.ALLOWED_ATTRIBUTES,
    "*": ["class", "id", "title"],
    "img": ["src", "alt", "width", "height"],
    "th": ["colspan", "rowspan"],
    "td": ["colspan", "rowspan"],
}
# A DataFrame's scoped <style> would be escaped into visible CSS text: drop it, body and all.
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>.*?</style\s*>", re.IGNORECASE | re.DOTALL)


def _clean_html(element) -> str:
    """nbconvert's clean_html filter with a fuller allowlist (why: see _TAGS)."""
    text = element.decode() if isinstance(element, bytes) else str(element)
    return bleach.clean(_STYLE_BLOCK.sub("", text), tags=_TAGS, attributes=_ATTRIBUTES)


def render_html(executed_nb: NotebookNode, *, full_page: bool = True) -> str:
    """The notebook as HTML: a whole page (lab template) or just the cells (basic template)."""
    nb = copy.deepcopy(executed_nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data:
                for mime in _DROPPED_MIME:
                    data.pop(mime, None)
                if not data:
                    data["text/plain"] = "[output not shown]"
    exporter = HTMLExporter(
        sanitize_html=True,
        template_name="lab" if full_page else "basic",
        filters={"clean_html": _clean_html},
    )
    body, _ = exporter.from_notebook_node(nb)
    return body
