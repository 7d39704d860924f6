"""A member uploads a notebook and watches it go queued -> running -> graded (Chromium).

Here the queue is not inline: a real Huey consumer runs beside the live
server, so the page's Server-Sent Events carry the whole life of the job.
"""

from __future__ import annotations

import pytest

from graders.notebook.check import reference_notebook
from graders.spec import load_spec
from server.config import REPO_ROOT
from tests.browser_support import PHONE, chromium, live_server, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SLUG = "c3w1-tokenizer"


@pytest.fixture
def real_queue(make_app, monkeypatch):
    """A real Huey consumer thread whose jobs use the test's app (set before it starts)."""
    import server.jobs
    from server.extensions import huey

    app = make_app(WTF_CSRF_ENABLED=True)
    monkeypatch.setattr(server.jobs, "_app", app)
    monkeypatch.setattr(huey, "immediate", False)
    huey.flush()
    # No periodic tasks: only the submission's own job runs in this consumer.
    consumer = huey.create_consumer(
        workers=1, worker_type="thread", initial_delay=0.05, max_delay=0.2, periodic=False
    )
    consumer.start()
    yield app
    consumer.stop(graceful=True)
    huey.flush()


def test_upload_and_watch_it_graded(real_queue, tmp_path):
    from server.services.exercises import seed_exercises

    app = real_queue
    with app.app_context():
        seed_exercises()
    spec = load_spec(REPO_ROOT / "exercises" / SLUG / "exercise.yaml")
    solution = tmp_path / "my-tokenizer.ipynb"
    solution.write_bytes(reference_notebook(spec, REPO_ROOT))

    with live_server(app) as base, chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        page.goto(f"{base}/register")
        page.fill("input[name=username]", "nbuser")
        page.fill("input[name=password]", "correct horse battery")
        page.click("text=Create account")
        page.goto(f"{base}/exercises/{SLUG}")
        assert page.is_visible("text=Download the starter notebook")
        page.set_input_files("input[name=notebook]", str(solution))
        page.click("text=Submit for grading")
        page.wait_for_url("**/submissions/*")
        first = page.inner_text("#status")
        assert first in ("queued", "running", "graded")
        page.wait_for_function(
            "() => document.getElementById('status').textContent === 'graded'", timeout=120_000
        )
        screenshot(page, "core-notebook-graded-phone")
        text = page.inner_text("#submission")
        assert "passed" in text and "failed" not in text
        score = page.inner_text("#score")
        assert score.split("/")[0].strip() == score.split("/")[1].strip()
        assert page.is_visible("#notebook-link")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1
        # The summary and notes are drawn live as the reloaded page draws them (no raw backticks).
        notes = page.inner_text("#grade-notes")
        assert "checks passed" in notes and "`" not in notes, notes
        live_checks = page.inner_text("#checks")
        page.reload()
        assert page.inner_text("#grade-notes") == notes
        assert page.inner_text("#checks") == live_checks
        assert page.is_hidden("#waiting")
        # The executed notebook shows markdown as HTML, not as escaped tags.
        page.goto(base + page.get_attribute("#notebook-link a", "href"))
        assert "<h1" not in page.inner_text("body") and "<p>" not in page.inner_text("body")
