"""A real 3-question game in Chromium: the host's big screen and three players' phones."""

from __future__ import annotations

import re

import pytest

from tests.browser_support import PHONE, chromium, live_server, screenshot
from tests.conftest import PASSWORD
from tests.games.conftest import log_in_quizmaster, quizmaster_app, submit_join

pytestmark = pytest.mark.browser

BANK = """
slug: three-questions
title: Three questions
questions:
  - id: q1
    kind: single
    time_limit: 60
    text: Which layer turns word indexes into **dense vectors**?
    choices:
      - {id: a, text: Embedding, correct: true}
      - {id: b, text: Dense}
      - {id: c, text: Flatten}
      - {id: d, text: Dropout}
    explanation: An Embedding layer learns a vector per word index.
  - id: q2
    kind: truefalse
    time_limit: 60
    text: pad_sequences pads at the front by default.
    answer: true
    explanation: padding='pre' is the default.
  - id: q3
    kind: multi
    time_limit: 60
    text: Which of these are recurrent layers?
    choices:
      - {id: a, text: LSTM, correct: true}
      - {id: b, text: GRU, correct: true}
      - {id: c, text: Conv1D}
    explanation: LSTM and GRU keep a state across time steps.
"""


@pytest.fixture
def browser_app(make_app, tmp_path):
    return quizmaster_app(make_app, tmp_path / "trivia", "three-questions", BANK)


def _host(browser, base: str, viewport: dict):
    """The quizmaster, logged in, on a big screen."""
    return log_in_quizmaster(browser, base, viewport)


def _join(browser, base: str, pin: str, nickname: str):
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, has_touch=True)
    page = context.new_page()
    page.goto(f"{base}/play")
    submit_join(page, pin, nickname)
    return page


def _question(page, text: str):
    page.wait_for_selector("#v-question:not([hidden])")
    page.wait_for_function(
        "t => document.querySelector('#q-text').textContent.includes(t)", arg=text
    )


def test_a_three_question_game_in_the_browser(browser_app):
    with live_server(browser_app) as base, chromium() as browser:
        host = _host(browser, base, {"width": 1366, "height": 900})
        host.goto(f"{base}/games/new")
        host.check("input[value=three-questions]")
        host.click("button:has-text('Create game')")
        host.wait_for_url(re.compile(r".*/games/\d{6}/host$"))
        pin = host.url.split("/")[-2]
        assert host.locator(".qr svg").count() == 1

        ann = _join(browser, base, pin, "Ann")
        bob = _join(browser, base, pin, "Bob <b>")
        cy = _join(browser, base, pin, "Cy")
        host.wait_for_function("() => document.querySelectorAll('#lobby-players li').length === 3")
        assert host.locator("#lobby-players").inner_text().count("Bob <b>") == 1  # text, not markup
        screenshot(host, "games-host-lobby")
        screenshot(ann, "games-player-lobby-phone")

        # Question 1: Ann taps, Bob uses the keyboard, Cy taps a wrong answer.
        host.click("#c-start")
        for page in (ann, bob, cy):
            _question(page, "dense vectors")
        assert ann.locator("#q-choices button").first.inner_text().count("Embedding") == 1
        screenshot(ann, "games-player-question-phone")
        screenshot(host, "games-host-question")
        ann.click("#q-choices button:has-text('Embedding')")
        ann.wait_for_selector("#v-sent:not([hidden])")
        bob.keyboard.press("1")
        # Cy's phone reloads mid-question: the token in localStorage brings her back to it.
        cy.reload()
        _question(cy, "dense vectors")
        cy.click("#q-choices button:has-text('Flatten')")
        # Everybody answered: the reveal comes by itself.
        host.wait_for_selector("#v-reveal:not([hidden])")
        assert "Embedding" in host.locator("#r-answer").inner_text()
        host.wait_for_function("() => document.querySelectorAll('#r-bars .bar-row').length === 4")
        screenshot(host, "games-host-reveal")
        ann.wait_for_selector("#v-result:not([hidden])")
        assert "Correct" in ann.locator("#res-title").inner_text()
        cy.wait_for_selector("#v-result:not([hidden])")
        assert "Not this time" in cy.locator("#res-title").inner_text()
        assert "Embedding" in cy.locator("#res-answer").inner_text()
        screenshot(ann, "games-player-result-phone")
        assert "aria-live" in ann.locator("#announce").evaluate("e => e.outerHTML")

        host.click("#c-next")  # leaderboard
        host.wait_for_selector("#v-standings:not([hidden])")
        screenshot(host, "games-host-standings")
        ann.wait_for_selector("#v-standings:not([hidden])")

        # Question 2 (true/false) and 3 (multi-select).
        host.click("#c-next")
        for page in (ann, bob, cy):
            _question(page, "pads at the front")
        for page in (ann, bob, cy):
            page.click("#q-choices button:has-text('True')")
        host.wait_for_selector("#v-reveal:not([hidden])")
        host.click("#c-next")
        host.wait_for_selector("#v-standings:not([hidden])")
        host.click("#c-next")
        for page in (ann, bob, cy):
            _question(page, "recurrent layers")
        screenshot(bob, "games-player-multi-phone")
        for page, picks in ((ann, ["LSTM", "GRU"]), (bob, ["LSTM"]), (cy, ["Conv1D"])):
            for text in picks:
                page.click(f"#q-choices button:has-text('{text}')")
            page.click("#q-submit")
        host.wait_for_selector("#v-reveal:not([hidden])")
        bob.wait_for_selector("#v-result:not([hidden])")
        assert "Partly right" in bob.locator("#res-title").inner_text()

        host.click("#c-next")
        host.wait_for_selector("#v-standings:not([hidden])")
        assert host.locator("#c-next").inner_text().startswith("Podium")
        host.click("#c-next")
        host.wait_for_selector("#v-ended:not([hidden])")
        podium = host.locator("#e-podium").inner_text()
        assert podium.index("Ann") < podium.index("Bob <b>")
        screenshot(host, "games-host-podium")
        ann.wait_for_selector("#v-ended:not([hidden])")
        assert "1st" in ann.locator("#end-me").inner_text()
        screenshot(ann, "games-player-ended-phone")
        for page in (ann, bob, cy):
            page.context.close()
        host.context.close()


def test_a_self_paced_game_on_a_phone(browser_app):
    """One player moves through questions at their own pace; the host's screen shows progress."""
    from tests.conftest import ApiClient

    client = browser_app.test_client()
    token = client.post("/api/auth/token", json={"username": "quizmaster", "password": PASSWORD})
    host_api = ApiClient(client, token.get_json()["token"])
    game = host_api.post(
        "/api/games", json={"quiz": "three-questions", "mode": "self", "window_s": 600}
    ).get_json()
    pin = game["pin"]
    with live_server(browser_app) as base, chromium() as browser:
        host = _host(browser, base, {"width": 1280, "height": 800})
        host.goto(f"{base}/games/{pin}/host")
        phone = _join(browser, base, pin, "Dana")
        host.wait_for_function("() => document.querySelectorAll('#lobby-players li').length === 1")
        host.click("#c-start")
        host.wait_for_selector("#v-running:not([hidden])")
        phone.wait_for_selector("#v-ready:not([hidden])")
        phone.click("#b-begin")
        _question(phone, "dense vectors")
        phone.keyboard.press("1")  # keyboard-operable: the first choice
        phone.wait_for_selector("#v-result:not([hidden])")
        assert "Correct" in phone.locator("#res-title").inner_text()
        screenshot(phone, "games-self-result-phone")
        phone.click("#b-next")
        _question(phone, "pads at the front")
        phone.click("#q-choices button:has-text('False')")
        phone.wait_for_selector("#v-result:not([hidden])")
        assert "Not this time" in phone.locator("#res-title").inner_text()
        host.wait_for_function(
            "() => document.querySelector('#p-rows') && document.querySelector('#p-rows').textContent.includes('2 / 3')"
        )
        screenshot(host, "games-self-host-progress")
        host.once("dialog", lambda dialog: dialog.accept())
        host.click("#c-end")
        host.wait_for_selector("#v-ended:not([hidden])")
        phone.wait_for_selector("#v-ended:not([hidden])")
        assert "1st" in phone.locator("#end-me").inner_text()

        narrow = browser.new_context(viewport=PHONE).new_page()  # the other pages at 360 px
        narrow.goto(f"{base}/play?pin={pin}")
        screenshot(narrow, "games-join-phone")
        narrow.goto(f"{base}/login")
        narrow.fill("input[name=username]", "quizmaster")
        narrow.fill("input[name=password]", PASSWORD)
        narrow.click("button:has-text('Log in')")
        narrow.goto(f"{base}/games/new")
        screenshot(narrow, "games-new-phone")
        narrow.goto(f"{base}/games/history/{game['game_id']}")
        screenshot(narrow, "games-report-phone")
        assert "Dana" in narrow.content()
        host.context.close()
