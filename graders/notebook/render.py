"""HTML feedback of an executed notebook (nbconvert), with member-made HTML sanitised.

Member outputs are untrusted: nbconvert's sanitiser escapes scripts and event
handlers, and JavaScript and widget outputs are dropped before export. Serve
the page from a sandboxed iframe or with a strict Content-Security-Policy all
the same.
"""

from __future__ import annotations

import copy

from nbconvert import HTMLExporter
from nbformat import NotebookNode

_DROPPED_MIME = (
    "application/javascript",
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
)


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
    exporter = HTMLExporter(sanitize_html=True, template_name="lab" if full_page else "basic")
    body, _ = exporter.from_notebook_node(nb)
    return body
