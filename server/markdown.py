"""Markdown and code for templates: rendered on the server, sanitised, highlighted.

Prompts, questions and flashcards are written in markdown by instructors and
members; raw HTML is off and the output goes through nh3, so a card cannot
carry a script.
"""

from __future__ import annotations

import nh3
from flask import Flask
from markdown_it import MarkdownIt
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer, get_lexer_by_name
from pygments.util import ClassNotFound

_FORMATTER = HtmlFormatter(nowrap=False, cssclass="hl")


def _highlight(code: str, lang: str, _attrs) -> str:
    try:
        lexer = get_lexer_by_name(lang) if lang else PythonLexer()
    except ClassNotFound:
        lexer = PythonLexer()
    return highlight(code, lexer, _FORMATTER)


_md = MarkdownIt("commonmark", {"html": False, "highlight": _highlight}).enable("table")
_ALLOWED_ATTRS = {"*": {"class"}, "a": {"href", "title"}, "span": {"class"}, "code": {"class"}}


def render_markdown(text: str | None) -> Markup:
    if not text:
        return Markup("")
    html = _md.render(text)
    return Markup(nh3.clean(html, attributes=_ALLOWED_ATTRS, link_rel="noopener noreferrer"))


def render_code(code: str | None, lang: str = "python") -> Markup:
    if not code:
        return Markup("")
    return Markup(nh3.clean(_highlight(code, lang, None), attributes=_ALLOWED_ATTRS))


def highlight_css() -> str:
    """The colours for our code blocks and for nbconvert's (the executed-notebook page)."""
    return _FORMATTER.get_style_defs([".hl", ".notebook .highlight"])


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`{{ n|plural("check") }}`: "1 check", "2 checks" ("1 points" was on a page)."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def register(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["code"] = render_code
    app.jinja_env.filters["plural"] = plural
