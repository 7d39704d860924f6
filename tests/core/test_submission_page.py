"""The member's submission page and executed notebook, through the Flask client (issue 12).

Pending rows before the grade, hints said once, one hidden badge, plural-aware summaries, and
the executed notebook inside the site's page with member HTML sanitised and no script allowed.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from graders.notebook.pipeline import _summary
from graders.notebook.result import TestResult as Check
from graders.notebook.scoring import NONE_HINT
from server.routes.exercises import NOTEBOOK_CSP
from server.services.grading import queue
from tests.core.submission_support import (
    PNG,
    PWNED,
    executed_notebook,
    forget_html,
    grade,
    queued_submission,
    spec_checks,
    starter_result,
    stored_html,
)


@pytest.fixture
def member(seeded, auth, make_user):
    user_id = make_user("alice")
    auth.login("alice")
    return user_id


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr class="(t-[a-z]+)">', html)


def test_a_queued_submission_lists_every_check_as_pending(seeded, client, member):
    sub = queued_submission(seeded, member)
    checks = spec_checks(seeded)
    page = client.get(f"/submissions/{sub}").get_data(as_text=True)
    assert _rows(page) == ["t-pending"] * len(checks)
    for check in checks:
        assert check.name.replace("'", "&#39;") in page
    hidden = sum(c.visibility == "hidden" for c in checks)
    assert page.count('<span class="badge">hidden</span>') == hidden > 0
    assert '<table class="checks" id="checks" >' in page or 'id="checks" hidden' not in page
    fragment = client.get(f"/submissions/{sub}/results").get_data(as_text=True)
    assert _rows(fragment) == _rows(page)


def test_a_hint_under_many_checks_is_shown_once_above_them(seeded, client, member):
    sub = queued_submission(seeded, member)
    grade(seeded, sub, starter_result(seeded))
    page = client.get(f"/submissions/{sub}").get_data(as_text=True)
    n = len(spec_checks(seeded))
    assert page.count("Your function returned None") == 1
    assert f"Hint for {n} checks" in page
    shared = page.split('class="grade-notes shared-hint"', 1)[1].split("</div>", 1)[0]
    assert "<code>### START CODE HERE ###</code>" in shared
    assert page.index("shared-hint") < page.index('id="checks"')
    # A hint only one check gives stays under that check.
    assert page.count("Hint: only this check says this.") == 1
    assert _rows(page) == ["t-failed"] * n
    assert NONE_HINT not in page.split('id="checks"', 1)[1]


def test_the_live_fragment_is_the_reloaded_pages_results(seeded, client, member):
    sub = queued_submission(seeded, member)
    grade(seeded, sub, starter_result(seeded), executed_notebook())
    page = client.get(f"/submissions/{sub}").get_data(as_text=True)
    fragment = client.get(f"/submissions/{sub}/results").get_data(as_text=True)
    assert fragment.strip().startswith('<div id="results"') and fragment.strip() in page
    assert "(hidden)" not in fragment and '<span class="badge">hidden</span>' in fragment


@pytest.mark.parametrize(
    ("n_tests", "passed", "score", "max_score", "expected"),
    [
        (1, 1, 1.0, 1.0, "1 of 1 check passed: 1 of 1 point."),
        (1, 0, 0.0, 1.0, "0 of 1 check passed: 0 of 1 point."),
        (2, 1, 1.0, 2.0, "1 of 2 checks passed: 1 of 2 points."),
        (8, 0, 0.5, 10.0, "0 of 8 checks passed: 0.5 of 10 points."),
    ],
)
def test_the_summary_agrees_in_number(n_tests, passed, score, max_score, expected):
    tests = [
        Check(f"c{i}", 0.0, 1.0, "passed" if i < passed else "failed", "") for i in range(n_tests)
    ]
    assert _summary(tests, score, max_score) == expected


def test_one_point_reads_one_point_on_the_page(seeded, client, member):
    sub = queued_submission(seeded, member)
    one = [Check("only check", 1.0, 1.0, "passed", "Passed.")]
    doc = {"score": 1.0, "max_score": 1.0, "status": "graded"}
    grade(seeded, sub, {**doc, "output": _summary(one, 1, 1), "tests": [one[0].to_dict()]})
    page = client.get(f"/submissions/{sub}").get_data(as_text=True)
    assert "1 of 1 check passed: 1 of 1 point." in page
    assert not re.search(r"\b1 (points|checks|attempts)\b", page)


def test_the_executed_notebook_is_a_site_page_with_rendered_cells(seeded, client, member):
    sub = queued_submission(seeded, member)
    grade(seeded, sub, starter_result(seeded), executed_notebook())
    res = client.get(f"/submissions/{sub}/notebook")
    assert res.status_code == 200 and res.mimetype == "text/html"
    html = res.get_data(as_text=True)
    assert 'class="nav"' in html and "css/notebook.css" in html  # inside base.html
    assert '<h1 id="Week-1:-tokenize">Week 1: tokenize' in html
    assert "<p>Expected output:</p>" in html and "&lt;p&gt;" not in html
    assert "hello from the member" in html and "<pre>42</pre>" in html
    assert f'src="data:image/png;base64,{PNG}"' in html
    assert "<script" not in html
    assert stored_html(seeded, sub) in html  # the worker's HTML, served as stored
    csp = res.headers["Content-Security-Policy"]
    assert (
        "script-src 'none'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "img-src 'self' data:" in csp and "frame-ancestors 'none'" in csp
    page = client.get(f"/submissions/{sub}").get_data(as_text=True)
    assert f'href="/submissions/{sub}/notebook"' in page and "_blank" not in page


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes (escaped text is not a tag)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_member_scripts_and_handlers_never_reach_the_notebook_page(seeded, client, member):
    sub = queued_submission(seeded, member)
    grade(seeded, sub, starter_result(seeded), executed_notebook(hostile=True))
    html = client.get(f"/submissions/{sub}/notebook").get_data(as_text=True)
    tags = _Tags(html).tags
    assert not [t for t, _ in tags if t in ("script", "svg", "iframe", "object", "embed")]
    assert not [(t, a) for t, a in tags for name in a if name.startswith("on")]
    assert not [a for t, a in tags for v in a.values() if v and PWNED in v]
    images = [a for t, a in tags if t == "img"]
    assert all((a.get("src") or "data:image/").startswith("data:image/") for a in images)
    assert all((a.get("width") or "1").isdigit() for a in images)
    assert "<b>bold</b>" in html and "&lt;script&gt;window.__pwned" in html  # shown as text


def test_someone_elses_notebook_is_not_found(seeded, client, member, make_user):
    other = make_user("bob")
    sub = queued_submission(seeded, other)
    grade(seeded, sub, starter_result(seeded), executed_notebook())
    assert client.get(f"/submissions/{sub}/notebook").status_code == 404
    assert client.get(f"/submissions/{sub}/results").status_code == 404


@pytest.fixture
def render_guard(monkeypatch):
    """A fresh guard: an earlier test may have queued a render for a row with the same id."""
    monkeypatch.setattr(queue, "_render_queued", {})


def test_a_notebook_graded_before_html_was_stored_is_prepared_then_shown(
    seeded, client, member, render_guard
):
    sub = queued_submission(seeded, member)
    grade(seeded, sub, starter_result(seeded), executed_notebook(hostile=True))
    forget_html(seeded, sub)
    res = client.get(f"/submissions/{sub}/notebook")
    assert res.status_code == 200 and res.headers["Content-Security-Policy"] == NOTEBOOK_CSP
    html = res.get_data(as_text=True)
    assert "Preparing the notebook view…" in html
    assert '<meta http-equiv="refresh" content="3">' in html
    assert 'id="notebook"' not in html and "hello from the member" not in html
    assert "<script" not in html
    # The render job ran inline (an immediate queue); in a deployment, in the worker.
    assert "hello from the member" in stored_html(seeded, sub)
    res = client.get(f"/submissions/{sub}/notebook")
    html = res.get_data(as_text=True)
    assert res.headers["Content-Security-Policy"] == NOTEBOOK_CSP
    assert "Preparing" not in html and 'http-equiv="refresh"' not in html
    assert 'id="notebook"' in html and "hello from the member" in html
    assert "<script" not in html and "&lt;script&gt;window.__pwned" in html


def test_reloads_while_preparing_queue_one_render(
    seeded, client, member, render_guard, monkeypatch
):
    sub = queued_submission(seeded, member)
    grade(seeded, sub, starter_result(seeded), executed_notebook())
    forget_html(seeded, sub)
    queued: list[int] = []
    monkeypatch.setattr(queue.jobs, "render_notebook", queued.append)  # a worker that is busy
    for _ in range(3):
        html = client.get(f"/submissions/{sub}/notebook").get_data(as_text=True)
        assert "Preparing the notebook view…" in html
    assert queued == [sub]
    monkeypatch.setattr(queue, "RENDER_AGAIN_S", 0.0)  # the job was lost: queued again later
    client.get(f"/submissions/{sub}/notebook")
    assert queued == [sub, sub]
