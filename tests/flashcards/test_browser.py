"""A member and a guest review cards in Chromium, at phone width, with keys and buttons."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models.deck import Review
from server.models.user import User
from tests.axe_support import describe, violations
from tests.browser_support import PHONE, chromium, live_server, screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_app(make_app):
    """The real trivia banks, real time, CSRF on, and alice with a deck of three own cards."""
    from server.services import accounts
    from server.services.flashcards import cards, seed

    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        seed.seed_decks()
        alice = accounts.create_user("alice", PASSWORD)
        deck = cards.create_deck(alice, "Keras facts")
        for front, back in [
            ("Which layer turns word indices into dense vectors?", "`Embedding`"),
            ("What does `return_sequences=True` give?", "The output at **every** time step."),
            ("Default padding of `pad_sequences`?", "`'pre'`"),
        ]:
            cards.add_card(alice, deck.id, front, back)
    return app


def _login(page, base):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"{base}/")


def _reviews(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Review))


def test_member_reviews_cards_on_a_phone(browser_app):
    app = browser_app
    with live_server(app) as base, chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        _login(page, base)
        page.goto(f"{base}/flashcards")
        screenshot(page, "flashcards-decks-phone")
        assert page.locator("[data-new-limit]").count() >= 1  # the course decks exceed 20 new
        assert describe("decks", violations(page)) == []
        page.click("li.row:has-text('Course 3, week 1') >> text=Study")
        front = page.locator("[data-front]")
        front.wait_for(state="visible")
        first = front.inner_text()
        assert page.locator("[data-answer]").is_hidden()
        screenshot(page, "flashcards-front-phone")

        page.keyboard.press("Space")
        page.locator("[data-back]").wait_for(state="visible")
        ratings = page.locator("[data-ratings]")
        box = ratings.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        for name in ("again", "hard", "good", "easy"):
            button = page.locator(f"[data-rating={name}]").bounding_box()
            assert button["width"] >= 60 and button["height"] >= 44  # thumb-sized
        assert page.locator("[data-interval=good]").inner_text()  # e.g. "10m"
        screenshot(page, "flashcards-back-phone")

        page.keyboard.press("3")
        page.wait_for_function(
            "t => document.querySelector('[data-front]').innerText !== t", arg=first
        )
        assert "1 reviewed" in page.inner_text("[data-progress-text]")
        assert _reviews(app) == 1
        page.click("[data-reveal]")
        page.click("[data-rating=easy]")
        page.wait_for_function(
            "() => document.querySelector('[data-progress-text]').innerText.startsWith('2 reviewed')"
        )
        assert _reviews(app) == 2

        # The own deck: rate all three with Space then 4 and reach the end of the session.
        page.goto(f"{base}/flashcards")
        page.click("li.row:has-text('Keras facts') >> text=Study")
        page.locator("[data-front]").wait_for(state="visible")
        for i in range(3):
            page.wait_for_function(
                f"() => document.querySelector('[data-progress-text]').innerText.startsWith('{i} reviewed')"
            )
            page.keyboard.press("Space")
            page.locator("[data-back]").wait_for(state="visible")
            page.keyboard.press("4")
        page.locator("[data-done]").wait_for(state="visible")
        assert "You reviewed 3 cards" in page.inner_text("[data-done]")
        assert page.get_attribute(".fc-progress", "aria-valuenow") == "100"
        screenshot(page, "flashcards-done-phone")
        assert _reviews(app) == 5
        page.click("text=Back to decks")
        page.click("text=Keras facts")
        page.click("summary:has-text('Which layer')")
        screenshot(page, "flashcards-deck-phone")

        page.goto(f"{base}/flashcards/stats")
        page.wait_for_function(
            "() => window.Chart && Chart.getChart('heatmap') && Chart.getChart('forecast')"
        )
        screenshot(page, "flashcards-stats-phone")

        desk = browser.new_page(viewport={"width": 1280, "height": 800})
        _login(desk, base)
        desk.goto(f"{base}/flashcards")
        desk.click("li.row:has-text('Course 3, week 2') >> text=Study")
        desk.locator("[data-front]").wait_for(state="visible")
        desk.keyboard.press("Space")
        desk.locator("[data-back]").wait_for(state="visible")
        screenshot(desk, "flashcards-back-desktop")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "alice"))
        ratings = db.session.scalars(
            select(Review.rating).where(Review.user_id == user.id).order_by(Review.id)
        )
        assert list(ratings) == [3, 4, 4, 4, 4]


def test_guest_practises_in_the_browser_only(browser_app):
    app = browser_app
    with live_server(app) as base, chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        page.goto(f"{base}/flashcards")
        page.click("li.row:has-text('Course 3, week 1') >> text=Practise")
        page.locator("[data-front]").wait_for(state="visible")
        new_before = int(page.inner_text("[data-count=new]"))
        assert new_before == 20  # the guest's daily limit
        # ... and the page says so, with how many new cards wait for tomorrow.
        total = page.evaluate(
            "async () => (await (await fetch(document.getElementById('study').dataset.cardsUrl))"
            ".json()).cards.length"
        )
        assert total > 20
        note = page.locator("[data-new-limit]")
        assert note.is_visible()
        assert note.inner_text() == (
            f"20 new cards today (daily limit 20 for guests; {total - 20} more tomorrow)."
        )
        assert describe("guest study", violations(page)) == []  # the note's colours too
        assert "kept in this browser" in page.inner_text(".fc-guest-note")
        page.keyboard.press("Space")
        page.keyboard.press("4")
        page.wait_for_function(
            "() => document.querySelector('[data-progress-text]').innerText.startsWith('1 reviewed')"
        )
        page.click("[data-reveal]")
        page.click("[data-rating=again]")
        page.wait_for_function(
            "() => document.querySelector('[data-progress-text]').innerText.startsWith('2 reviewed')"
        )
        screenshot(page, "flashcards-guest-phone")
        stored = page.evaluate(
            "() => Object.entries(localStorage).filter(([k]) => k.startsWith('adventures:flashcards:'))"
        )
        assert len(stored) == 1
        state = json.loads(stored[0][1])
        assert state["newToday"] == 2 and len(state["cards"]) == 2
        assert sorted(c["state"] for c in state["cards"].values()) == [1, 2]  # learning, review

        # The guest's desired retention is theirs too: kept in the browser, used by FSRS.
        def easy_label() -> str:
            page.locator("[data-front]").wait_for(state="visible")
            return page.inner_text("[data-interval=easy]")

        at_90 = easy_label()
        page.select_option("#guest-retention", "0.80")
        page.reload()
        assert page.input_value("#guest-retention") == "0.80"
        at_80 = easy_label()
        page.select_option("#guest-retention", "0.97")
        page.reload()
        at_97 = easy_label()
        assert len({at_80, at_90, at_97}) == 3, (
            at_80,
            at_90,
            at_97,
        )  # new card, Easy: by retention
        page.reload()
        page.locator("[data-front]").wait_for(state="visible")
        counts = {
            n: int(page.inner_text(f"[data-count={n}]")) for n in ("new", "learning", "review")
        }
        assert counts == {"new": 18, "learning": 1, "review": 0}
        assert page.inner_text("[data-new-limit]") == (
            f"18 new cards today (daily limit 20 for guests, 2 started today; {total - 20} more tomorrow)."
        )
    assert _reviews(app) == 0  # nothing went to the server


def _hiding_media(page) -> list[str]:
    """The media queries of the study page's stylesheet rules that hide its <kbd> hints."""
    return page.evaluate(
        """() => [...document.styleSheets].flatMap((sheet) => [...sheet.cssRules])
          .filter((rule) => rule instanceof CSSMediaRule)
          .filter((rule) => [...rule.cssRules].some(
            (inner) => inner.selectorText && inner.selectorText.includes("kbd")
              && inner.style.display === "none"))
          .map((rule) => rule.media.mediaText)"""
    )


def _matches(media: str, device: dict[str, str]) -> bool:
    """Whether a media query list of plain (feature: value) tests matches a device."""
    for query in media.split(","):
        tests = [t.strip(" ()") for t in query.split(" and ")]
        if all(device.get(t.split(":")[0].strip()) == t.split(":")[1].strip() for t in tests):
            return True
    return False


def test_touch_screens_get_no_key_hints_keyboards_do(browser_app):
    app = browser_app
    with live_server(app) as base, chromium() as browser:
        touch = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True).new_page()
        desk = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        for page in (touch, desk):
            _login(page, base)
            page.goto(f"{base}/flashcards")
            page.click("li.row:has-text('Keras facts') >> text=Study")
            page.locator("[data-front]").wait_for(state="visible")
        assert touch.evaluate("matchMedia('(hover: none)').matches")
        assert touch.locator("kbd:visible").count() == 0
        assert "Space" not in touch.inner_text("[data-bar]")
        assert desk.locator("[data-reveal] kbd").is_visible()
        assert desk.inner_text("[data-reveal] kbd") == "Space"
        screenshot(touch, "flashcards-front-touch-phone")
        screenshot(desk, "flashcards-front-desktop")

        touch.click("[data-reveal]")
        desk.keyboard.press("Space")
        for page in (touch, desk):
            page.locator("[data-ratings]").wait_for(state="visible")
        assert touch.locator("kbd:visible").count() == 0
        assert [k.inner_text() for k in desk.locator("[data-ratings] kbd").all()] == list("1234")
        assert desk.locator("[data-ratings] kbd:visible").count() == 4
        screenshot(touch, "flashcards-back-touch-phone")

        # A touch phone that also claims to hover (some Android phones do) is still a touch
        # screen: the rule keys on a coarse pointer as well, as the game screens' does.
        media = _hiding_media(desk)
        assert media, "no rule hides the key hints"
        assert any(_matches(m, {"hover": "none", "pointer": "coarse"}) for m in media)
        assert any(_matches(m, {"hover": "hover", "pointer": "coarse"}) for m in media)
        assert not any(_matches(m, {"hover": "hover", "pointer": "fine"}) for m in media)
