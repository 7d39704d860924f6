"""An instructor walks the dashboard in Chromium: browse, override, statistics, regrade with its
progress bar, members, weights, and a live leaderboard that moves while it is open."""

from __future__ import annotations

import pytest

from server.extensions import db
from server.models.exercise import Exercise
from server.services.exercises import reference_key
from server.services.grading import references as reference_values
from tests.browser_support import PHONE, chromium, live_server, screenshot
from tests.conftest import PASSWORD
from tests.instructor.conftest import add_exercise, graded, notebook_with, result_doc
from tests.instructor.test_similarity import DIFFERENT, DISGUISED, ORIGINAL
from tests.instructor.test_standings import add_game

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 900}


def _seed(app) -> dict:
    ex = add_exercise(app, "c3-params", points=2, position=1)
    nb = add_exercise(app, "c3-tokenizer-nb", kind="notebook", points=4, position=2)
    with app.app_context():
        key, _ = reference_key(db.session.get(Exercise, ex), {})
        reference_values.store(key, 2)  # the regrade grades the stored answers ("1") against it
    ids = {
        "ann": graded(app, "ann", ex, 2, minutes_ago=50),
        "ben": graded(app, "ben", ex, 1, minutes_ago=40),
    }
    checks = {"word index": True, "encode": False}
    for name, code in (("ann", ORIGINAL), ("ben", DISGUISED), ("cat", DIFFERENT)):
        graded(
            app,
            name,
            nb,
            2,
            minutes_ago=30,
            doc=result_doc(2, 4, checks),
            notebook=notebook_with({"build_word_index": code}),
        )
    add_game(app, "teach", {"Annie": ("ann", 700), "Guest": (None, 400)})
    return ids


def test_instructor_walks_the_dashboard(make_app, people):
    app = make_app(WTF_CSRF_ENABLED=True)
    ids = _seed(app)
    with live_server(app) as base, chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "teach")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Log in')")
        page.goto(f"{base}/instructor")
        assert "Instructor dashboard" in page.inner_text("h1")
        screenshot(page, "instructor-home-desktop")

        # the submissions browser, filtered, then one submission and an override
        page.click(".subnav >> text=Submissions")
        page.select_option("select[name=exercise]", "c3-params")
        page.click("button:has-text('Filter')")
        assert "2 submissions" in page.inner_text("#count")
        screenshot(page, "instructor-submissions-desktop")
        page.click(f"table.subs >> text={ids['ben']}")
        page.fill("input[name=score]", "2")
        page.fill("textarea[name=comment]", "Accepted the rounding")
        page.click("button:has-text('Set score')")
        page.wait_for_selector("text=overridden")
        assert "Accepted the rounding" in page.content()
        screenshot(page, "instructor-submission-desktop")

        # statistics with the chart, then a regrade of the exercise with its progress bar
        page.click(".subnav >> text=Exercises")
        page.click("text=Exercise c3-params")
        page.wait_for_function("() => window.Chart !== undefined")
        assert page.eval_on_selector("#histogram", "c => c.width > 0 && c.height > 0")
        page.click("button:has-text('Regrade 2 submission(s)')")
        page.wait_for_selector("#regrade-text:has-text('Done: 2 of 2 regraded')", timeout=10_000)
        assert page.eval_on_selector("#regrade-bar", "b => b.value === b.max")
        screenshot(page, "instructor-exercise-regraded-desktop")

        # similar notebooks
        page.goto(f"{base}/instructor/exercises/c3-tokenizer-nb/similarity")
        rows = page.locator("table.pairs tbody tr")
        assert rows.count() == 1 and "100%" in rows.first.inner_text()
        screenshot(page, "instructor-similarity-desktop")

        # members: promote ben
        page.click(".subnav >> text=Members")
        page.click("button[aria-label='Promote ben to instructor']")
        page.wait_for_selector("text=ben is now instructor")

        # a live board on a phone, moved by a grading and by the weights
        phone = browser.new_page(viewport=PHONE)
        phone.goto(f"{base}/leaderboard")
        phone.wait_for_selector("#live.on")
        first = phone.locator("#board tbody tr").first.inner_text()
        assert "ann" in first
        graded(app, "cat", add_exercise(app, "late-one", points=10), 10)
        phone.wait_for_selector("#board tbody tr:first-child .move.up", timeout=2_000)
        assert "cat" in phone.locator("#board tbody tr").first.inner_text()
        screenshot(phone, "leaderboard-live-phone")

        page.click(".subnav >> text=Boards & events")
        page.fill("input[name=trivia]", "1")
        page.click("button:has-text('Save weights')")
        page.wait_for_selector("text=Weights saved")
        screenshot(page, "instructor-boards-desktop")
        phone.wait_for_function(
            "() => document.querySelector('#board tbody tr:first-child').innerText.includes('ann')",
            timeout=2_000,
        )  # 700 trivia points now count in full

        projector = browser.new_page(viewport={"width": 1920, "height": 1080})
        projector.goto(f"{base}/leaderboard?projector=1")
        projector.wait_for_selector("#live.on")
        assert "@" not in projector.inner_text("#board")
        screenshot(projector, "leaderboard-projector")

        # the same pages at phone width
        for path, name in (
            ("/instructor", "instructor-home-phone"),
            ("/instructor/submissions", "instructor-submissions-phone"),
            (f"/instructor/submissions/{ids['ann']}", "instructor-submission-phone"),
            ("/instructor/exercises", "instructor-exercises-phone"),
            ("/instructor/exercises/c3-params", "instructor-exercise-phone"),
            ("/instructor/members", "instructor-members-phone"),
            ("/instructor/boards", "instructor-boards-phone"),
            ("/instructor/games", "instructor-games-phone"),
            ("/instructor/audit", "instructor-audit-phone"),
        ):
            small = browser.new_page(viewport=PHONE)
            small.context.add_cookies(page.context.cookies())
            small.goto(f"{base}{path}")
            overflow = small.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (path, overflow)  # nothing wider than the phone
            screenshot(small, name)
            small.close()
