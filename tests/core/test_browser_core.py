"""A member registers, answers wrong then right, and sees the leaderboard change (Chromium)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models.exercise import Exercise
from server.services.exercises import reference_key, spec_of, variant_of
from server.services.grading import references as reference_values
from tests.browser_support import PHONE, chromium, live_server, screenshot

pytestmark = pytest.mark.browser


def test_register_answer_and_leaderboard(make_app):
    from server.services.exercises import seed_exercises

    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        seed_exercises()
        ex = next(
            e
            for e in db.session.scalars(select(Exercise).where(Exercise.kind == "answer"))
            if spec_of(e).answer.compare in ("int", "param_count")
            and not spec_of(e).answer.variants
        )
        key, _ = reference_key(ex, variant_of(ex, None))
        reference_values.store(key, 171533)
        slug, title = ex.slug, ex.title

    with live_server(app) as base, chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        page.goto(f"{base}/leaderboard")
        assert "Nobody has scored yet" in page.content()
        board = browser.new_page()
        board.goto(f"{base}/leaderboard")

        page.goto(f"{base}/register")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "correct horse battery")
        page.click("text=Create account")
        page.wait_for_url(f"{base}/")
        screenshot(page, "core-home-phone")

        page.goto(f"{base}/exercises")
        screenshot(page, "core-exercises-phone")
        page.click(f"text={title}")
        page.fill("textarea[name=answer]", "170000")
        page.click("text=Check my answer")
        page.wait_for_selector(".attempt.failed")
        assert "Hint" in page.inner_text("#result")
        screenshot(page, "core-exercise-wrong-phone")
        page.fill("textarea[name=answer]", "171,533")
        page.click("text=Check my answer")
        page.wait_for_selector(".attempt.passed")
        assert "Correct!" in page.inner_text("#result")
        screenshot(page, "core-exercise-right-phone")

        # The open leaderboard updates live over SSE, without a reload.
        board.wait_for_selector("tr[data-key] >> text=alice", timeout=10_000)
        screenshot(board, "core-leaderboard-desktop")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "the exercise page scrolls sideways on a phone"
        assert slug
