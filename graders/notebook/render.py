"""HTML feedback of an executed notebook (nbconvert), with member-made HTML sanitised.

Member outputs are untrusted: nbconvert's sanitiser escapes scripts and event
handlers, and JavaScript and widget outputs are dropped before export. The cells
alone (`full_page=False`, what the site shows inside its own page) then go through
nh3 once more as a whole, so nothing the templates interpolate (an image's data or
size, a cell's tags) can add a tag or an attribute, and images are data: URIs only.
Serve it with a strict Content-Security-Policy all the same.
"""

from __future__ import annotations

import copy
import functools
import re
import threading

import bleach
import nh3
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


# The last pass over the cells: what markdown, pandas, pygments and the basic template emit.
_FINAL_ATTRIBUTES = {
    "*": {"class", "id", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
_IMAGE_MIME = ("image/png", "image/jpeg")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*", re.IGNORECASE)
_SIZE = re.compile(r"\d{1,5}")


def _final_attribute(tag: str, attr: str, value: str) -> str | None:
    """Images only from data: URIs (the page loads nothing a member names); sizes are numbers."""
    if tag == "img" and attr == "src":
        return value if _DATA_IMAGE.fullmatch(value) else None
    if tag == "img" and attr in ("width", "height"):
        return value if _SIZE.fullmatch(value) else None
    if tag == "a" and attr == "href" and value.strip().lower().startswith("data:"):
        return None
    return value


def _clean_cells(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(_TAGS) | {"a"},
        attributes=_FINAL_ATTRIBUTES,
        attribute_filter=_final_attribute,
        url_schemes={"http", "https", "mailto", "data"},
    )


def _safe_output(output: NotebookNode) -> None:
    """Drop what a member's code can fake in an output: scripts, odd image data, file names."""
    data = output.get("data")
    if data:
        for mime in _DROPPED_MIME:
            data.pop(mime, None)
        for mime in _IMAGE_MIME:
            if mime in data and not (isinstance(data[mime], str) and _BASE64.fullmatch(data[mime])):
                data.pop(mime)
        if not data:
            data["text/plain"] = "[output not shown]"
    if "metadata" in output:
        meta = output.metadata
        output.metadata = {
            mime: {
                k: v
                for k, v in meta[mime].items()
                if k in ("width", "height") and type(v) is int and 0 < v < 100_000
            }
            for mime in _IMAGE_MIME
            if isinstance(meta.get(mime), dict)
        }


def render_html(executed_nb: NotebookNode, *, full_page: bool = True) -> str:
    """The notebook as HTML: a whole page (lab template) or just the cells (basic template)."""
    nb = copy.deepcopy(executed_nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            _safe_output(output)
    exporter = _exporter("lab" if full_page else "basic")
    with _EXPORTING:
        body, _ = exporter.from_notebook_node(nb)
    return body if full_page else _clean_cells(body)


# One exporter per template, kept: building one compiles its templates again (about half
# of a render); one render at a time, as an exporter holds per-call state.
_EXPORTING = threading.Lock()


@functools.cache
def _exporter(template: str) -> HTMLExporter:
    return HTMLExporter(
        sanitize_html=True, template_name=template, filters={"clean_html": _clean_html}
    )
