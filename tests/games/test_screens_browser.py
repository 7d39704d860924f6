"""The host's big screen, the phones and the report as people see them, at three sizes.

Screenshots (1920x1080, 1280x800, 360x740) of the host's question, the phone's question, the
phone's "Answer sent" and the report go to the test's tmp dir and to /tmp/ui-shots/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from server.services.games.banks import TRIVIA_DIR
from tests.browser_support import PHONE, chromium, live_server
from tests.conftest import PASSWORD
from tests.games.conftest import log_in_quizmaster, quizmaster_app, submit_join

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/ui-shots")
SIZES = {
    "1920": {"width": 1920, "height": 1080},
    "1280": {"width": 1280, "height": 800},
    "360": PHONE,
}
CODE = (
    "import tensorflow as tf\n"
    "model = tf.keras.Sequential([tf.keras.layers.Embedding(10000, 16, input_length=120),"
    " tf.keras.layers.GlobalAveragePooling1D(), tf.keras.layers.Dense(1, activation='sigmoid')])\n"
)


def _bank() -> str:
    """tf-basics' first question (choices in backticks) with a code block, and the explanation
    of its fifth (`model.compile(...)`), which once ran off a 360 px phone."""
    basics = yaml.safe_load((TRIVIA_DIR / "tf-basics.yaml").read_text())
    first = dict(basics["questions"][0], time_limit=240, code=CODE)
    fifth = basics["questions"][4]
    assert fifth["id"] == "compile"
    first["explanation"] = fifth["explanation"]
    return yaml.safe_dump({"slug": "screens", "title": "Screens", "questions": [first]})


@pytest.fixture
def screens_app(make_app, tmp_path):
    return quizmaster_app(make_app, tmp_path / "trivia", "screens", _bank())


@pytest.fixture
def shoot(tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shutil.copy(path, SHOTS / path.name)

    return take


def _logged_in(browser, base: str, viewport: dict):
    return log_in_quizmaster(browser, base, viewport)


def _phone(browser, base: str, pin: str, size: str, nickname: str, check):
    touch = size == "360"  # the phone is a touch screen; the two desktops have keyboards
    context = browser.new_context(
        viewport=SIZES[size], device_scale_factor=1, has_touch=touch, is_mobile=touch
    )
    page = context.new_page()
    page.goto(f"{base}/play")
    check(_count(page, "header.top, nav.nav") == 0, f"join {size}: the site menu")
    submit_join(page, pin, nickname)
    return page


def _overflow(page) -> int:
    """How far the page is wider than the screen. A mobile browser widens innerWidth to fit
    wide content (it zooms out), so the viewport's own width is the measure too."""
    return page.evaluate(
        "w => document.scrollingElement.scrollWidth - Math.min(window.innerWidth, w)",
        page.viewport_size["width"],
    )


def _text(page, selector: str) -> str:
    """The visible text of an element, '' if there is none (no waiting)."""
    return page.evaluate(
        "s => { const e = document.querySelector(s); return e ? e.innerText : ''; }", selector
    )


def _count(page, selector: str) -> int:
    return page.evaluate("s => document.querySelectorAll(s).length", selector)


class Checks:
    """Every failed check is listed at the end: one run of the night shows everything wrong."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, ok: bool, what: str) -> None:
        if not ok:
            self.failed.append(what)


COLUMNS = """() => [...document.querySelectorAll('table.report')].map((t) => ({
  head: [...t.tHead.rows[0].cells].map((c) => Math.round(c.getBoundingClientRect().left)),
  rows: [...t.tBodies[0].rows].map((r) => [...r.cells].map((c) => Math.round(c.getBoundingClientRect().left))),
}))"""

SIZES_JS = """() => ({
  question: parseFloat(getComputedStyle(document.querySelector('#q-text')).fontSize),
  code: parseFloat(getComputedStyle(document.querySelector('#q-code pre')).fontSize),
})"""

PRE_JS = """() => { const p = document.querySelector('#q-code pre');
  return {overflow: getComputedStyle(p).overflowX, inner: p.scrollWidth, outer: p.clientWidth,
          right: p.getBoundingClientRect().right}; }"""


def test_host_phones_and_report_at_three_sizes(screens_app, shoot):
    check = Checks()
    client = screens_app.test_client()
    token = client.post("/api/auth/token", json={"username": "quizmaster", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    created = client.post("/api/games", json={"quiz": "screens"}, headers=headers).get_json()
    pin, game_id = created["pin"], created["game_id"]
    with live_server(screens_app) as base, chromium() as browser:
        hosts = {size: _logged_in(browser, base, view) for size, view in SIZES.items()}
        for page in hosts.values():
            page.goto(f"{base}/games/{pin}/host")
        phones = {size: _phone(browser, base, pin, size, f"P{size}", check) for size in SIZES}
        # One more player who never answers, so the question stays open for the screenshots.
        client.post(f"/api/games/{pin}/join", json={"nickname": "Zed"})
        hosts["1920"].wait_for_function(
            "() => document.querySelectorAll('#lobby-players li').length === 4"
        )
        hosts["1920"].click("#c-start")

        # ---- the host's question screen ----
        for size, page in hosts.items():
            page.wait_for_selector("#v-question:not([hidden]) #q-choices li")
            shoot(page, f"host-question-{size}")
            check("`" not in _text(page, "#v-question"), f"host {size}: literal backticks")
            check(_count(page, "#q-choices li code") == 4, f"host {size}: choices without <code>")
        big = hosts["1920"]
        sizes = big.evaluate(SIZES_JS)
        check(sizes["code"] >= 0.6 * sizes["question"], f"host 1920: code too small {sizes}")
        pre = big.evaluate(PRE_JS)
        check(pre["right"] <= 1920 and pre["inner"] <= pre["outer"] + 1, f"host code cut {pre}")

        # ---- the phone's question screen ----
        for size, page in phones.items():
            page.wait_for_selector("#v-question:not([hidden]) #q-choices button")
            page.wait_for_timeout(300)  # anything that would take the focus has done so
            shoot(page, f"phone-question-{size}")
            check(_count(page, "header.top, nav.nav") == 0, f"phone {size}: the site menu")
            focused = page.evaluate(
                "() => !!(document.activeElement && document.activeElement.closest('.choice'))"
            )
            check(not focused, f"phone {size}: a choice has the focus (looks picked)")
            check("`" not in _text(page, "#v-question"), f"phone {size}: literal backticks")
            check(_count(page, "#q-choices button code") == 4, f"phone {size}: no <code>")
        touch = phones["360"]
        check(_overflow(touch) <= 0, "phone 360: the question screen is wider than the phone")
        assert touch.evaluate("matchMedia('(hover: none) and (pointer: coarse)').matches")
        check("press" not in _text(touch, "#q-help"), "touch phone: 'press 1-4' hint")
        keys = touch.locator("#q-choices .key:visible, .kbd-hint:visible").count()
        check(keys == 0, "touch phone: key numbers on the choices")
        pre = touch.evaluate(PRE_JS)
        check(pre["overflow"] == "auto" and pre["inner"] > pre["outer"], f"phone code box {pre}")
        desk = phones["1280"]  # a keyboard: the hints stay
        assert "press 1–4" in _text(desk, "#q-help")
        assert desk.locator("#q-choices .key:visible").count() == 4

        # ---- "Answer sent" says which ----
        touch.tap("#q-choices button:has-text('import tensorflow as tf')")
        desk.click("#q-choices button:has-text('import tf from ai')")
        phones["1920"].keyboard.press("3")
        picked = {"360": "import tensorflow as tf", "1280": "import tf from ai"}
        picked["1920"] = "export tensorflow as tf"
        for size, page in phones.items():
            page.wait_for_selector("#v-sent:not([hidden])")
            sent = _text(page, "#v-sent")
            check(picked[size] in sent, f"phone {size}: 'Answer sent' without the answer: {sent!r}")
            check("`" not in sent, f"phone {size}: backticks on 'Answer sent'")
            shoot(page, f"phone-sent-{size}")
        check(_overflow(touch) <= 0, "phone 360: 'Answer sent' wider than the phone")

        # ---- the reveal, and the explanation on the phone ----
        big.click("#c-reveal")
        big.wait_for_selector("#v-reveal:not([hidden]) #r-bars .bar-row")
        check("`" not in _text(big, "#v-reveal"), "host reveal: literal backticks")
        check(_count(big, "#r-answer code") == 1, "host reveal: the answer without <code>")
        check(_count(big, "#r-bars .bar-label code") == 4, "host reveal: bars without <code>")
        shoot(big, "host-reveal-1920")
        touch.wait_for_selector("#v-result:not([hidden]) #res-explain code")
        check("`" not in _text(touch, "#v-result"), "phone result: literal backticks")
        # tf-basics Q5's long `model.compile(...)` explanation stays inside the phone
        check(_overflow(touch) <= 0, "phone 360: the explanation is wider than the phone")
        shoot(touch, "phone-result-360")
        wrong = phones["1280"]
        wrong.wait_for_selector("#v-result:not([hidden])")
        check("import tf from ai" in _text(wrong, "#v-result"), "result: my wrong answer unsaid")

        big.once("dialog", lambda dialog: dialog.accept())
        big.click("#c-end")
        big.wait_for_selector("#v-ended:not([hidden])")

        # ---- the report ----
        for size, page in hosts.items():
            page.goto(f"{base}/games/history/{game_id}")
            shoot(page, f"report-{size}")
            check("`" not in _text(page, "main"), f"report {size}: literal backticks")
            check(_count(page, "table.report td code") >= 1, f"report {size}: no <code>")
            if size == "360":
                check(_overflow(page) <= 0, "report 360: wider than the phone")
                continue
            for table in page.evaluate(COLUMNS):
                full = [r for r in table["rows"] if len(r) == len(table["head"])]
                assert full, table
                lined_up = all(
                    abs(x - h) <= 1 for row in full for x, h in zip(row, table["head"], strict=True)
                )
                check(lined_up, f"report {size}: cells not under their headers {table}")
            wide = page.evaluate(
                "() => [...document.querySelectorAll('.table-scroll')]"
                ".some((d) => d.scrollWidth > d.clientWidth + 1)"
            )
            check(not wide, f"report {size}: a table needs scrolling on a desktop")

        # ---- one history page, fine on a phone ----
        phone_host = hosts["360"]
        phone_host.goto(f"{base}/instructor/games")
        check(phone_host.url == f"{base}/games", "/instructor/games is not the one history")
        check(_overflow(phone_host) <= 0, "history 360: wider than the phone")
        shoot(phone_host, "history-360")
        for page in (*hosts.values(), *phones.values()):
            page.context.close()
    assert not check.failed, "\n".join(check.failed)


@pytest.fixture
def basics_app(make_app):
    app = make_app(GAME_COALESCE_S=0)
    from server.services import accounts
    from server.services.games import banks

    with app.app_context():
        banks.seed_quizzes(compute=False, log=lambda *_: None)  # the bundled banks
        accounts.create_user("quizmaster", PASSWORD, role="instructor")
    return app


def test_tf_basics_self_paced_on_a_touch_phone(basics_app, shoot):
    """The bundled warm-up, self-paced, on a 360 px touch phone: every question and result
    (Q5's long `model.compile(...)` explanation among them) fits the screen."""
    check = Checks()
    client = basics_app.test_client()
    token = client.post("/api/auth/token", json={"username": "quizmaster", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    game = client.post(
        "/api/games", json={"quiz": "tf-basics", "mode": "self"}, headers=headers
    ).get_json()
    with live_server(basics_app) as base, chromium() as browser:
        phone = _phone(browser, base, game["pin"], "360", "Dana", check)
        client.post(f"/api/games/{game['pin']}/start", headers=headers)
        phone.wait_for_selector("#v-ready:not([hidden])")
        phone.tap("#b-begin")
        for n in range(1, 7):
            phone.wait_for_selector("#v-question:not([hidden])")
            phone.wait_for_function(
                "n => document.querySelector('#q-num').textContent.startsWith(`Question ${n} `)",
                arg=n,
            )
            check("`" not in _text(phone, "#v-question"), f"Q{n}: literal backticks")
            check(_overflow(phone) <= 0, f"Q{n}: the question is wider than the phone")
            if _count(phone, "#q-choices button"):
                phone.tap("#q-choices button >> nth=0")
            else:
                phone.fill("#q-input", "compile")
                phone.tap("#q-submit")
            phone.wait_for_selector("#v-result:not([hidden])")
            check("`" not in _text(phone, "#v-result"), f"Q{n} result: literal backticks")
            check(_overflow(phone) <= 0, f"Q{n} result: wider than the phone")
            if n == 5:
                shoot(phone, "self-tf-basics-q5-result-360")
            phone.tap("#b-next")
        phone.context.close()
    assert not check.failed, "\n".join(check.failed)
