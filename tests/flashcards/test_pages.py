"""The pages: deck list, own cards, settings form, stats; markdown is rendered safely."""

from __future__ import annotations

from datetime import timedelta

import pytest


@pytest.fixture
def member(client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    return client


def _new_deck(client, title="Mine") -> int:
    res = client.post("/flashcards/decks", data={"title": title})
    assert res.status_code == 302
    return int(res.headers["Location"].rstrip("/").split("/")[-1])


def test_guest_sees_practice_links_and_login_walls(client, seed_decks):
    seed_decks()
    page = client.get("/flashcards")
    assert page.status_code == 200
    assert b"Practise" in page.data and b"/flashcards/practice/" in page.data
    for path in ("/flashcards/stats", "/flashcards/settings"):
        res = client.get(path)
        assert res.status_code == 302 and "/login" in res.headers["Location"]


def test_member_deck_list_and_study_page(member, seed_decks):
    seed_decks()
    page = member.get("/flashcards")
    assert page.status_code == 200
    assert b"Mini bank" in page.data and b"Missed in games" in page.data
    assert b'class="count new" title="new">2<' in page.data
    deck_id = int(page.data.split(b'data-deck="')[1].split(b'"')[0])
    study = member.get(f"/flashcards/decks/{deck_id}/study")
    assert study.status_code == 200
    assert f'data-next-url="/api/decks/{deck_id}/next"'.encode() in study.data
    assert b'data-rating="again"' in study.data and b"<kbd>Space</kbd>" in study.data


def test_own_cards_add_edit_delete_and_safe_markdown(member, client, make_user):
    deck_id = _new_deck(member)
    res = member.post(
        f"/flashcards/decks/{deck_id}/cards",
        data={
            "front": "<script>alert(1)</script> **What** is `x`?",
            "back": "[link](javascript:alert(1))",
            "tags": "a, b",
        },
        follow_redirects=True,
    )
    assert b"Card added." in res.data
    assert b"<script>alert(1)</script>" not in res.data
    assert b"&lt;script&gt;" in res.data and b"<strong>What</strong>" in res.data
    assert b'href="javascript:' not in res.data
    card_id = int(res.data.split(b"/flashcards/cards/")[1].split(b"/")[0])
    res = member.post(
        f"/flashcards/cards/{card_id}/edit", data={"front": "F", "back": "", "tags": ""}
    )
    assert res.status_code == 400 and b"back is empty." in res.data
    res = member.post(
        f"/flashcards/cards/{card_id}/edit",
        data={"front": "F2", "back": "B2", "tags": "z"},
        follow_redirects=True,
    )
    assert b"Card saved." in res.data and b"F2" in res.data
    # Someone else gets 404 for the card and the deck.
    member.post("/logout")
    make_user("bob")
    client.post("/login", data={"username": "bob", "password": "correct horse battery"})
    assert client.get(f"/flashcards/cards/{card_id}/edit").status_code == 404
    assert client.get(f"/flashcards/decks/{deck_id}").status_code == 404
    assert client.post(f"/flashcards/cards/{card_id}/delete").status_code == 404
    client.post("/logout")
    client.post("/login", data={"username": "alice", "password": "correct horse battery"})
    res = client.post(f"/flashcards/cards/{card_id}/delete", follow_redirects=True)
    assert b"Card deleted." in res.data and b"No cards yet." in res.data


def test_shared_deck_cards_cannot_be_edited(member, seed_decks, app):
    seed_decks()
    from sqlalchemy import select

    from server.extensions import db
    from server.models.deck import Card

    with app.app_context():
        card = db.session.scalar(select(Card))
    assert member.get(f"/flashcards/cards/{card.id}/edit").status_code == 403
    assert (
        member.post(
            f"/flashcards/decks/{card.deck_id}/cards", data={"front": "a", "back": "b"}
        ).status_code
        == 403
    )
    page = member.get(f"/flashcards/decks/{card.deck_id}")
    assert page.status_code == 200 and b"Add a card" not in page.data


def test_settings_form_bounds(member):
    page = member.get("/flashcards/settings")
    assert b'value="0.90"' in page.data and b'min="0.8"' in page.data and b'max="0.97"' in page.data
    res = member.post(
        "/flashcards/settings", data={"desired_retention": "0.99", "new_cards_per_day": "10"}
    )
    assert res.status_code == 400 and b"between 0.80 and 0.97" in res.data
    res = member.post(
        "/flashcards/settings", data={"desired_retention": "lots", "new_cards_per_day": "10"}
    )
    assert res.status_code == 400
    res = member.post(
        "/flashcards/settings",
        data={"desired_retention": "0.85", "new_cards_per_day": "12"},
        follow_redirects=True,
    )
    assert (
        b"Settings saved." in res.data and b'value="0.85"' in res.data and b'value="12"' in res.data
    )


def test_stats_retention_heatmap_and_forecast(member, clock):
    from tests.flashcards.conftest import T0

    deck_id = _new_deck(member)
    member.post(f"/flashcards/decks/{deck_id}/cards", data={"front": "q", "back": "a"})
    card_id = member.get(f"/api/decks/{deck_id}/next").get_json()["id"]
    token = (
        member.get("/flashcards")
        .data.split(b'name="csrf-token" content="')[1]
        .split(b'"')[0]
        .decode()
    )

    def rate(rating, at):
        clock.set(at)
        res = member.post(
            f"/api/cards/{card_id}/reviews", json={"rating": rating}, headers={"X-CSRFToken": token}
        )
        assert res.status_code == 200, res.get_json()
        return res.get_json()

    rate("easy", T0)  # new -> review: not counted in true retention
    rate("good", T0 + timedelta(days=10))  # a review passed
    last = rate("again", T0 + timedelta(days=40))  # a review failed -> relearning in 10 min
    stats = member.get("/api/flashcards/stats").get_json()
    assert [d["day"] for d in stats["per_day"]] == ["2025-03-03", "2025-03-13", "2025-04-12"]
    assert all(d["count"] == 1 for d in stats["per_day"])
    everything = stats["retention"][-1]
    assert everything == {"period": "All time", "reviews": 2, "passed": 1, "retention": 0.5}
    assert stats["retention"][0]["period"] == "Today" and stats["retention"][0]["reviews"] == 1
    assert len(stats["forecast"]) == 30 and stats["forecast"][0]["day"] == "2025-04-12"
    assert stats["forecast"][0]["learning"] == 1 and last["state"] == "relearning"
    # (the two new cards are the mini bank's, which the deck list brought in)
    assert stats["cards"] == {"new": 2, "learning": 0, "review": 0, "relearning": 1}
    page = member.get("/flashcards/stats")
    assert page.status_code == 200 and b"50.0%" in page.data and b'id="heatmap"' in page.data
    assert b"/vendor/chartjs-chart-matrix/dist/chartjs-chart-matrix.min.js" in page.data


def _limit_notes(page) -> list[str]:
    """The daily-limit notes of a page, as text (tags dropped, spaces collapsed)."""
    import re

    html = page.data.decode()
    notes = re.findall(r'<(?:span|p) class="fc-limit[^"]*" data-new-limit>(.*?)</(?:span|p)>', html)
    return [" ".join(re.sub(r"<[^>]+>", "", n).split()) for n in notes]


def test_the_daily_limit_of_new_cards_is_said_where_it_cuts_the_count(member, clock):
    """23 new cards and a limit of 20: the deck shows 20 new and says why, with the setting."""
    deck_id = _new_deck(member, "Big deck")
    for i in range(23):
        member.post(f"/flashcards/decks/{deck_id}/cards", data={"front": f"q{i}", "back": "a"})
    small = _new_deck(member, "Small deck")
    member.post(f"/flashcards/decks/{small}/cards", data={"front": "one", "back": "a"})
    page = member.get("/flashcards")
    assert b'class="count new" title="new">20<' in page.data
    assert _limit_notes(page) == ["20 new cards today (daily limit 20; 3 more tomorrow)."]
    assert b'<a href="/flashcards/settings">daily limit 20</a>' in page.data
    help_text = " ".join(page.text.split("data-new-limit-help>")[1].split("</p>")[0].split())
    assert "at most 20 a day across all decks" in help_text and "20 left today" in help_text
    study = member.get(f"/flashcards/decks/{deck_id}/study")
    assert _limit_notes(study) == ["20 new cards today (daily limit 20; 3 more tomorrow)."]
    assert _limit_notes(member.get(f"/flashcards/decks/{small}/study")) == []  # no cut, no note

    # One new card started today: 19 more today, still 3 for tomorrow; the small deck is cut too.
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]

    def start(card_id):
        res = member.post(
            f"/api/cards/{card_id}/reviews", json={"rating": "good"}, headers={"X-CSRFToken": token}
        )
        assert res.status_code == 200, res.get_json()

    card_id = member.get(f"/api/decks/{deck_id}/next").get_json()["id"]
    start(card_id)
    member.post(
        "/flashcards/settings", data={"desired_retention": "0.90", "new_cards_per_day": "2"}
    )
    notes = _limit_notes(member.get("/flashcards"))
    assert notes == [  # the test folder's two-card bank, then the big deck
        "1 new card today (daily limit 2, 1 started today; 1 more tomorrow).",
        "1 new card today (daily limit 2, 1 started today; 21 more on later days).",
    ]
    start(card_id + 1)
    notes = _limit_notes(member.get("/flashcards"))
    assert notes == [
        "No new cards today: daily limit 2 reached; 2 more tomorrow.",
        "No new cards today: daily limit 2 reached; 21 more on later days.",
        "No new cards today: daily limit 2 reached; 1 more tomorrow.",
    ]
    member.post(
        "/flashcards/settings", data={"desired_retention": "0.90", "new_cards_per_day": "0"}
    )
    notes = _limit_notes(member.get("/flashcards"))
    assert notes == [
        "New cards are off (daily limit 0); 2 new cards waiting.",
        "New cards are off (daily limit 0); 21 new cards waiting.",
        "New cards are off (daily limit 0); 1 new card waiting.",
    ]
    # The next day the limit starts again.
    clock.advance(days=1)
    member.post(
        "/flashcards/settings", data={"desired_retention": "0.90", "new_cards_per_day": "20"}
    )
    assert _limit_notes(member.get("/flashcards")) == [
        "20 new cards today (daily limit 20; 1 more tomorrow)."
    ]
