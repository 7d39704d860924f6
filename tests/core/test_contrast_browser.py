"""axe-core on every page, logged out, as a member and as an instructor, at desktop and phone size.

Any serious or critical violation fails (colour contrast below 4.5:1 among them), listed page by
page. The site has one colour scheme (no prefers-color-scheme rule), so light is the only one
audited. The pages are walked in one Chromium: one context per role and size, reused from page
to page. The live game is played once (host on a desktop, the player on a phone) so the question,
answer and podium screens are audited too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.axe_support import describe, violations
from tests.browser_support import PHONE, chromium, live_server, screenshot
from tests.conftest import PASSWORD
from tests.hardening.conftest import APP_CONFIG, build_world

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}


def _pages(world) -> dict[str | None, list[str]]:
    ids = world.ids
    return {
        None: [
            "/",
            "/login",
            "/register",
            "/exercises",
            "/leaderboard",
            f"/leaderboard/exercises/{ids['slug']}",
            "/flashcards",
            "/play",
            f"/play?pin={ids['pin']}",
            "/no-such-page",
        ],
        "ann": [
            "/",
            "/exercises",
            f"/exercises/{ids['slug']}",
            f"/submissions/{ids['submission_id']}",
            "/leaderboard",
            "/flashcards",
            f"/flashcards/decks/{ids['deck_id']}",
            f"/flashcards/cards/{ids['card_id']}/edit",
            "/flashcards/stats",
            "/flashcards/settings",
            "/account/tokens",
            "/games",
        ],
        "teach": [
            "/instructor",
            "/instructor/members",
            "/instructor/exercises",
            f"/instructor/exercises/{ids['slug']}",
            f"/instructor/exercises/{ids['slug']}/similarity",
            "/instructor/submissions",
            f"/instructor/submissions/{ids['submission_id']}",
            "/instructor/boards",
            "/instructor/datasets",
            "/instructor/imports",
            "/instructor/games",
            "/instructor/audit",
            "/games",
            "/games/new",
        ],
    }


@pytest.fixture
def walk_app(make_app, tmp_path):
    app = make_app(**APP_CONFIG, TRIVIA_DIR=str(tmp_path / "trivia"))
    world = build_world(app, app.test_client(), tmp_path)
    return app, world


def _log_in(context, base: str, username: str):
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r".*(?<!/login)$"))
    return page


class Audit:
    """Collects every failing element of every page, so one run lists them all."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.pages = 0

    def __call__(self, page, label: str) -> None:
        self.pages += 1
        self.failed += describe(f"{label} {page.url}", violations(page))


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    if "/flashcards/stats" in url:
        page.wait_for_function("() => window.Chart && Chart.getChart('heatmap')")
    else:
        page.wait_for_timeout(100)  # what the deferred scripts fetch has come


def _study(page, base: str, url: str, audit: Audit, label: str) -> None:
    """The review screen with a card's front, then with the answer and the rating buttons."""
    page.goto(f"{base}{url}")
    page.locator("[data-front]").wait_for(state="visible")
    audit(page, f"{label} study front")
    page.click("[data-reveal]")
    page.locator("[data-ratings] [data-interval=good]:not(:empty)").wait_for()
    audit(page, f"{label} study answer")


def test_every_page_passes_axe(walk_app):
    sheets = Path(__file__).resolve().parents[2] / "server" / "static" / "css"
    schemes = [p.name for p in sheets.glob("*.css") if "prefers-color-scheme" in p.read_text()]
    assert not schemes, f"{schemes} add a colour scheme: audit it too (page.emulate_media)"
    app, world = walk_app
    audit = Audit()
    with live_server(app) as base, chromium() as browser:
        signed_in: dict[str, dict] = {}  # each account logs in once; the phone reuses the cookie
        for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            touch = size == "phone"
            for user, urls in _pages(world).items():
                context = browser.new_context(
                    viewport=viewport,
                    has_touch=touch,
                    is_mobile=touch,
                    storage_state=signed_in.get(user),
                )
                if user and user not in signed_in:
                    page = _log_in(context, base, user)
                    signed_in[user] = context.storage_state()
                else:
                    page = context.new_page()
                if user:  # still signed in (the walk must not audit log-in pages instead)
                    page.goto(f"{base}/")
                    assert page.inner_text("nav .who").startswith(user)
                label = f"[{size} {user or 'visitor'}]"
                for url in urls:
                    _open(page, f"{base}{url}")
                    audit(page, label)
                if user is None:
                    page.goto(f"{base}/login")
                    page.fill("input[name=username]", "nobody")
                    page.fill("input[name=password]", "wrong password")
                    page.click("button:has-text('Log in')")
                    page.locator(".flash.error").wait_for()
                    audit(page, f"{label} failed log-in")
                    page.goto(f"{base}/flashcards")
                    page.click("li.row >> text=Practise")
                    page.wait_for_url("**/flashcards/practice/*")
                    _study(page, base, page.url.removeprefix(base), audit, label)
                if user == "ann":
                    _study(page, base, f"/flashcards/decks/{world.deck_id}/study", audit, label)
                    screenshot(page, f"contrast-study-answer-{size}")
                    page.goto(f"{base}/")
                    screenshot(page, f"contrast-home-member-{size}")
                if user is None:
                    page.goto(f"{base}/")
                    screenshot(page, f"contrast-home-visitor-{size}")
                context.close()

        # The live game: host on a desktop, a player on a touch phone.
        host = _log_in(browser.new_context(viewport=DESKTOP), base, "teach")
        host.goto(f"{base}/games/{world.pin}/host")
        phone = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True).new_page()
        phone.goto(f"{base}/play?pin={world.pin}")
        phone.fill("input[name=nickname]", "amy")
        phone.click("form#join-form button")
        phone.wait_for_selector("#v-wait:not([hidden])")
        host.wait_for_function("() => document.querySelectorAll('#lobby-players li').length >= 2")
        audit(host, "[host lobby]")
        audit(phone, "[player lobby]")
        host.click("#c-start")
        host.wait_for_selector("#v-question:not([hidden]) #q-choices li")
        phone.wait_for_selector("#v-question:not([hidden]) #q-choices button")
        audit(host, "[host question]")
        audit(phone, "[player question]")
        phone.click("#q-choices button >> nth=0")
        phone.wait_for_selector("#v-sent:not([hidden])")
        audit(phone, "[player answered]")
        screenshot(phone, "contrast-player-answered-phone")
        screenshot(host, "contrast-host-question-desktop")
        host.click("#c-reveal")
        host.wait_for_selector("#v-reveal:not([hidden])")
        phone.wait_for_selector("#v-result:not([hidden])")
        audit(host, "[host reveal]")
        audit(phone, "[player result]")
        host.once("dialog", lambda dialog: dialog.accept())
        host.click("#c-end")
        host.wait_for_selector("#v-ended:not([hidden])")
        phone.wait_for_selector("#v-ended:not([hidden])")
        audit(host, "[host podium]")
        audit(phone, "[player podium]")
        for url in (
            f"/games/history/{world.ids['game_id']}",
            f"/leaderboard/games/{world.ids['game_id']}",
        ):
            _open(host, f"{base}{url}")
            audit(host, "[instructor after the game]")
    assert audit.pages > 80
    assert not audit.failed, "\n".join(audit.failed)
