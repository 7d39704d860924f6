"""Security headers on every response, and pages that work under their Content-Security-Policy
(no inline scripts or handlers: Chromium reports none blocked)."""

from __future__ import annotations

import pytest

from server.routes.hardening import CONTENT_SECURITY_POLICY
from tests.browser_support import chromium, live_server
from tests.conftest import PASSWORD
from tests.hardening.conftest import build_world


def _assert_hardened(res, csp: str = CONTENT_SECURITY_POLICY) -> None:
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["X-Frame-Options"] == "DENY"
    assert res.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert res.headers["Content-Security-Policy"] == csp


def test_pages_api_and_errors_carry_the_headers(client):
    for url in ("/", "/login", "/exercises", "/leaderboard", "/play", "/no-such-page"):
        _assert_hardened(client.get(url))
    _assert_hardened(client.get("/api/exercises"))
    _assert_hardened(client.get("/api/no-such-route"))
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1][:30]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp


def test_the_executed_notebook_keeps_its_stricter_policy(app, make_user, client):
    """Member output is shown under the app's CSP with no script at all, not a looser one."""
    from tests.instructor.conftest import add_exercise, graded, notebook_with

    make_user("ann")
    sub_id = graded(
        app, "ann", add_exercise(app, "nb", kind="notebook"), 1, notebook=notebook_with({})
    )
    client.post("/login", data={"username": "ann", "password": PASSWORD})
    for _ in range(2):  # "Preparing the notebook view…" (no HTML stored yet), then the cells
        res = client.get(f"/submissions/{sub_id}/notebook")
        assert res.status_code == 200
        csp = res.headers["Content-Security-Policy"]
        assert csp == CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'none'")
        assert res.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.browser
def test_pages_run_their_scripts_under_the_policy(make_app, tmp_path):
    """Every kind of page (charts, live boards, the game screens, the flashcard study screen,
    the delete-confirmation on a deck) loads with no CSP violation and no script error."""
    from tests.hardening.conftest import APP_CONFIG

    app = make_app(**APP_CONFIG)
    client = app.test_client()
    world = build_world(app, client, tmp_path)
    answer = world.member.post(
        "/api/exercises/count-params/submissions", json={"answer": "Total params: 5"}
    ).get_json()
    pages_for = {
        "ann": [
            "/",
            "/exercises",
            "/exercises/count-params",
            f"/submissions/{answer['id']}",
            "/leaderboard",
            "/flashcards",
            f"/flashcards/decks/{world.deck_id}",
            f"/flashcards/decks/{world.deck_id}/study",
            "/flashcards/stats",
            "/flashcards/settings",
            "/play",
            f"/play/{world.pin}",
        ],
        "teach": [
            "/instructor",
            "/instructor/exercises/count-params",
            "/instructor/submissions",
            f"/instructor/submissions/{answer['id']}",
            "/instructor/boards",
            "/instructor/datasets",
            "/instructor/imports",
            "/games/new",
            f"/games/{world.pin}/host",
        ],
    }
    problems: list[str] = []
    with live_server(app) as base, chromium() as browser:
        for user, urls in pages_for.items():
            page = browser.new_page()
            page.on(
                "console",
                lambda m, page=page: m.type == "error" and problems.append(f"{page.url}: {m.text}"),
            )
            page.on("pageerror", lambda e, page=page: problems.append(f"{page.url}: {e}"))
            page.on(
                "response",
                lambda r: (
                    r.status >= 400
                    and not r.url.endswith("/favicon.ico")
                    and problems.append(f"{r.url}: HTTP {r.status}")
                ),
            )
            page.goto(f"{base}/login")
            page.fill("input[name=username]", user)
            page.fill("input[name=password]", PASSWORD)
            page.click("button:has-text('Log in')")
            page.wait_for_url(f"{base}/")
            for url in urls:
                page.goto(f"{base}{url}")
                page.wait_for_load_state("load")
                page.wait_for_timeout(250)  # let deferred scripts run and SSE connect
            if user == "ann":  # the confirm() moved from an inline handler into confirm.js
                page.goto(f"{base}/flashcards/decks/{world.deck_id}")
                asked: list[str] = []

                def dismiss(dialog, asked=asked):
                    asked.append(dialog.message)
                    dialog.dismiss()

                page.once("dialog", dismiss)
                page.click("form[data-confirm] button")
                assert asked == ["Delete this card and its review history?"]
                assert page.locator("form[data-confirm]").count() == 1  # kept: dismissed
            page.close()
    csp = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert not csp, "\n".join(csp)
    problems = [p for p in problems if "Failed to load resource" not in p]  # listed by URL
    assert not problems, "\n".join(problems)
