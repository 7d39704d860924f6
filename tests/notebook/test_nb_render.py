"""The executed-notebook page shows markdown and DataFrames as HTML, never as escaped tags.

nbconvert's own sanitiser allows inline tags only, so `# Title` and `frame.head()` came out as
literal `<h1 ...>` and `<style scoped>` text; render_html's allowlist fixes that while member
scripts and event handlers stay escaped or stripped.
"""

from __future__ import annotations

import nbformat
import pandas as pd

from graders.notebook import render_html


def _notebook(*cells) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=list(cells))


def _html_output(html: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("frame.head()")
    cell.outputs = [
        nbformat.v4.new_output(
            "execute_result", data={"text/html": html, "text/plain": "frame"}, execution_count=1
        )
    ]
    return cell


def test_markdown_headings_paragraphs_lists_and_tables_render_as_html():
    markdown = nbformat.v4.new_markdown_cell(
        "# Week 1 news\n\nRead `./data/bbc-text.csv`:\n\n- one row per article\n\n"
        "| column | meaning |\n|---|---|\n| text | the article |"
    )
    html = render_html(_notebook(markdown), full_page=False)
    assert "&lt;h1" not in html and "&lt;p&gt;" not in html and "&lt;table" not in html
    assert '<h1 id="Week-1-news">Week 1 news' in html
    assert "<p>Read <code>./data/bbc-text.csv</code>:</p>" in html
    assert "<li>one row per article</li>" in html and "<th>column</th>" in html


def test_a_dataframe_is_a_table_without_its_style_block():
    frame = pd.DataFrame({"category": ["tech", "sport"], "text": ["a b", "c d"]})
    html = render_html(_notebook(_html_output(frame.head()._repr_html_())), full_page=False)
    assert '<table class="dataframe">' in html and "<thead>" in html and "<th>category</th>" in html
    assert "&lt;" not in html.split('class="dataframe"', 1)[1].split("</table>", 1)[0]
    assert "style" not in html.split("output_html", 1)[1].split("</table>", 1)[0]
    assert ".dataframe tbody tr th" not in html  # the scoped CSS is dropped, not shown as text


def test_member_scripts_and_handlers_are_still_neutralised():
    html = render_html(
        _notebook(
            nbformat.v4.new_markdown_cell("# Hi\n\n<script>alert(1)</script>"),
            _html_output('<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">x</a>'),
        ),
        full_page=False,
    )
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "onerror" not in html and "javascript:" not in html
