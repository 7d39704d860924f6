"""The worker renders a graded notebook's HTML once and stores it; the page only serves it.

The sandbox run is replaced by a result carrying a real executed notebook (member HTML and a
script in its outputs); the job, the rendering, the storing and the page are the real ones.
"""

from __future__ import annotations

import logging

import nbformat
import pytest

from graders.notebook import GradeResult
from server import jobs
from server.services.grading import health as grader_health
from server.services.grading import queue, rendering
from tests.core.submission_support import PWNED, executed_notebook, stored_html
from tests.core.test_grader_health import _sub, _upload


class Grader:
    """Stands in for graders.notebook.grade_notebook: full marks and `notebook` as executed."""

    def __init__(self) -> None:
        self.notebook = executed_notebook(hostile=True)
        self.raises = False

    def __call__(self, spec, folder, data, **_kw) -> GradeResult:
        if self.raises:
            raise RuntimeError("the comparison blew up")
        return GradeResult(
            score=10.0,
            max_score=10.0,
            execution_time=0.1,
            output="all passed",
            executed_notebook=nbformat.reads(self.notebook.decode(), as_version=4),
        )


@pytest.fixture
def grader(monkeypatch):
    fake = Grader()
    monkeypatch.setattr(jobs, "grade_notebook_file", fake)
    monkeypatch.setattr(jobs, "reference_keys", lambda *a, **k: {})
    monkeypatch.setattr(grader_health, "_monitor", None)
    monkeypatch.setattr(queue, "_render_queued", {})  # ids repeat across tests
    return fake


@pytest.fixture
def alice(seeded, api, auth):
    member = api("alice")
    auth.login("alice")  # the notebook page uses the session
    return member


def _page(member, sub_id: int) -> str:
    res = member.client.get(f"/submissions/{sub_id}/notebook")
    assert res.status_code == 200
    assert "script-src 'none'" in res.headers["Content-Security-Policy"]
    return res.get_data(as_text=True)


def test_the_worker_stores_the_html_and_the_page_serves_it_as_stored(
    seeded, grader, alice, monkeypatch
):
    sub_id = _upload(alice)  # graded inline by the real job
    sub = _sub(seeded, sub_id)
    assert (sub.status, sub.score) == ("graded", 10.0)
    html = sub.executed_html
    assert "hello from the member" in html and "<pre>42</pre>" in html
    assert "<script" not in html and "&lt;script&gt;" + PWNED in html
    assert "onerror" not in html and "<svg" not in html

    def no_render(nb):
        raise AssertionError("the web process rendered a notebook")

    monkeypatch.setattr(rendering, "cells_html", no_render)
    page = _page(alice, sub_id)
    assert html in page and "Preparing" not in page and "<script" not in page


def test_a_render_failure_still_records_the_grade_and_the_page_renders_it_later(
    seeded, grader, alice, monkeypatch, caplog
):
    def broken(nb):
        raise RuntimeError("no renderer today")

    monkeypatch.setattr(rendering, "cells_html", broken)
    with caplog.at_level(logging.WARNING, logger="adventures.worker"):
        sub_id = _upload(alice)
    sub = _sub(seeded, sub_id)
    assert (sub.status, sub.score, sub.error) == ("graded", 10.0, None)
    assert sub.executed_notebook is not None and sub.executed_html is None
    assert "could not render the executed notebook: RuntimeError: no renderer today" in caplog.text

    monkeypatch.undo()  # the renderer is back; the page queues the render (inline here)
    monkeypatch.setattr(queue, "_render_queued", {})
    assert "Preparing the notebook view…" in _page(alice, sub_id)
    page = _page(alice, sub_id)
    assert "hello from the member" in page and "Preparing" not in page


def test_a_notebook_that_cannot_be_rendered_twice_says_so_instead_of_reloading(
    seeded, grader, alice, monkeypatch
):
    def broken(nb):
        raise RuntimeError("no <renderer> today")

    monkeypatch.setattr(rendering, "cells_html", broken)
    sub_id = _upload(alice)  # the grade's render fails: the page asks the worker again
    monkeypatch.setattr(queue, "_render_queued", {})
    first = _page(alice, sub_id)
    assert "Preparing the notebook view…" in first and 'http-equiv="refresh"' in first
    page = _page(alice, sub_id)  # that job failed too: an explanation, and no more reloads
    assert "could not be shown as a page (RuntimeError: no &lt;renderer&gt; today)" in page
    assert 'http-equiv="refresh"' not in page and "Preparing" not in page
    assert _sub(seeded, sub_id).score == 10.0


def test_a_regrade_replaces_the_html_and_a_failed_one_keeps_it_with_its_notebook(
    seeded, grader, alice, api
):
    teacher = api("teach", role="instructor")
    sub_id = _upload(alice)
    assert "hello from the member" in stored_html(seeded, sub_id)

    v4 = nbformat.v4
    cell = v4.new_code_cell("print('again')", execution_count=1)
    cell.outputs = [v4.new_output("stream", name="stdout", text="the regraded output\n")]
    grader.notebook = nbformat.writes(v4.new_notebook(cells=[cell])).encode()
    teacher.post(f"/api/instructor/submissions/{sub_id}/regrade")
    html = stored_html(seeded, sub_id)
    assert "the regraded output" in html and "hello from the member" not in html
    assert "the regraded output" in _page(alice, sub_id)

    grader.raises = True  # an error with no executed notebook: the last one and its HTML stay
    teacher.post(f"/api/instructor/submissions/{sub_id}/regrade")
    sub = _sub(seeded, sub_id)
    assert sub.status == "error" and b"the regraded output" in sub.executed_notebook
    assert sub.executed_html == html


def test_the_worker_warms_the_renderer_its_jobs_use(caplog):
    """Started with the worker, so the first graded notebook skips compiling the templates."""
    from graders.notebook import render
    from server import worker

    render._exporter.cache_clear()
    worker._warm_renderer()
    assert render._exporter.cache_info().currsize == 1  # the basic template's, kept
    assert "warm-up failed" not in caplog.text
