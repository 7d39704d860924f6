"""The submission page fills its pending checks in live, and the executed notebook renders as
Jupyter would inside the site's page, with no console errors and no member script (Chromium).

The grade is recorded by the test itself (tests/core/submission_support.py), as a worker does,
so no sandbox runs: what is under test is what the page draws.
"""

from __future__ import annotations

import pytest

from tests.browser_support import PHONE, chromium, live_server, screenshot
from tests.conftest import PASSWORD
from tests.core.submission_support import (
    executed_notebook,
    grade,
    queued_submission,
    spec_checks,
    starter_result,
)

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 900}


def _page(browser, base: str, viewport: dict):
    """A logged-in page that collects console errors and uncaught exceptions."""
    page = browser.new_page(viewport=viewport)
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_load_state()
    return page


def _no_page_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, width


def test_pending_checks_fill_in_live_as_a_reload_draws_them(seeded, make_user):
    user = make_user("alice")
    sub = queued_submission(seeded, user)
    checks = spec_checks(seeded)
    hidden = sum(c.visibility == "hidden" for c in checks)
    with live_server(seeded) as base, chromium() as browser:
        page = _page(browser, base, PHONE)
        page.goto(f"{base}/submissions/{sub}")
        assert page.locator("#checks tr.t-pending").count() == len(checks)
        assert page.locator("#checks tr.t-pending span.badge:text-is('hidden')").count() == hidden
        assert page.is_visible("#waiting")
        _no_page_overflow(page)
        screenshot(page, "submission-pending-phone")

        grade(seeded, sub, starter_result(seeded), executed_notebook())
        page.wait_for_function(
            "() => document.getElementById('status').textContent === 'graded'",
            timeout=20_000,
        )
        assert page.inner_text("#status") == "graded"
        assert page.locator("#checks tr.t-pending").count() == 0
        assert page.locator("#checks tr.t-failed").count() == len(checks)
        # Hidden checks: the same badge live as after a reload, never "(hidden)" text.
        assert page.locator("#checks span.badge:text-is('hidden')").count() == hidden
        assert "(hidden)" not in page.inner_text("#checks")
        # The starter's hint under every check is said once, above the table.
        assert page.locator("text=Your function returned None").count() == 1
        assert (
            page.locator(".shared-hint").inner_text().startswith(f"Hint for {len(checks)} checks")
        )
        assert page.is_hidden("#waiting") and page.is_visible("#notebook-link")
        _no_page_overflow(page)
        screenshot(page, "submission-graded-live-phone")
        live = page.inner_html("#results")
        page.reload()
        assert page.inner_html("#results") == live
        page.set_viewport_size(DESKTOP)
        screenshot(page, "submission-graded-desktop")
        assert page.errors == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_executed_notebook_renders_in_the_site_without_console_errors(seeded, make_user, viewport):
    user = make_user("alice")
    sub = queued_submission(seeded, user)
    grade(seeded, sub, starter_result(seeded), executed_notebook(hostile=True))
    with live_server(seeded) as base, chromium() as browser:
        page = _page(browser, base, viewport)
        page.goto(f"{base}/submissions/{sub}")
        page.click("#notebook-link a")
        page.wait_for_url(f"**/submissions/{sub}/notebook")
        assert page.is_visible("header.top nav")  # the site's frame
        assert page.inner_text("#notebook h1") == "Week 1: tokenize"
        assert page.locator("#notebook p", has_text="Expected output:").count() == 1
        body = page.inner_text("#notebook")
        assert "<h1" not in body and "<p>" not in body
        assert "hello from the member" in body and "42" in body
        figure = page.locator("#notebook .output_png img").first
        assert figure.evaluate("img => img.complete && img.naturalWidth") == 240
        # Member script in markdown and outputs is text at most, and never runs.
        assert page.evaluate("window.__pwned") is None
        assert page.locator("#notebook script, #notebook svg").count() == 0
        # Long code scrolls in its own box; the page itself does not.
        wide = page.locator("#notebook .input_area pre", has_text="a" * 100)
        assert wide.evaluate("pre => pre.scrollWidth > pre.clientWidth")
        _no_page_overflow(page)
        screenshot(page, f"notebook-{'phone' if viewport == PHONE else 'desktop'}")
        assert page.errors == []
