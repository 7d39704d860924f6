"""API shapes and who may do what: 401 without a token, 403 on shared decks, 404 for others'."""

from __future__ import annotations

from tests.flashcards.conftest import T0


def test_decks_shape(api, seed_decks):
    seed_decks()
    client = api("alice")
    decks = client.get("/api/decks").get_json()
    kinds = [d["kind"] for d in decks]
    assert kinds == ["bank", "facts", "missed"]  # shared first, then the member's
    for deck in decks:
        assert isinstance(deck["id"], int) and deck["title"]
        assert set(deck["due"]) == {"new", "learning", "review"}
        assert all(isinstance(v, int) for v in deck["due"].values())
    bank = decks[0]
    assert bank["title"] == "Mini bank" and bank["cards"] == 2
    assert bank["due"] == {"new": 2, "learning": 0, "review": 0}


def test_next_and_review_shapes(api, seed_decks):
    seed_decks()
    client = api("alice")
    bank = client.get("/api/decks").get_json()[0]
    res = client.get(f"/api/decks/{bank['id']}/next")
    assert res.status_code == 200
    card = res.get_json()
    assert card["deck_id"] == bank["id"] and card["state"] == "new" and card["due"] is None
    assert card["front"].startswith("Why do we tokenize text?")
    assert "Models need numbers" in card["back"] and "Tokenizer turns words" in card["back"]
    assert "<p>" in card["front_html"] and card["counts"] == {"new": 2, "learning": 0, "review": 0}
    res = client.post(f"/api/cards/{card['id']}/reviews", json={"rating": "good"})
    assert res.status_code == 200
    body = res.get_json()
    assert body["card_id"] == card["id"] and body["rating"] == "good"
    assert body["state"] == "learning" and body["due"] == "2025-03-03T09:10:00Z"
    assert body["reps"] == 1 and body["lapses"] == 0
    assert body["reviewed_at"] == T0.isoformat().replace("+00:00", "Z")
    # The second card shows its code block, highlighted.
    card2 = client.get(f"/api/decks/{bank['id']}/next").get_json()
    assert card2["id"] != card["id"]
    assert "```python" in card2["front"] and 'class="hl"' in card2["front_html"]
    assert "\\<OOV\\>" not in card2["front"]  # code stays verbatim


def test_nothing_due_is_204(own_deck):
    client, deck_id, _ = own_deck(0)
    res = client.get(f"/api/decks/{deck_id}/next")
    assert res.status_code == 204 and res.data == b""


def test_anonymous_gets_401(client, own_deck):
    _, deck_id, (card_id, *_) = own_deck(1)
    for method, path, body in [
        ("get", "/api/decks", None),
        ("get", f"/api/decks/{deck_id}/next", None),
        ("post", f"/api/cards/{card_id}/reviews", {"rating": "good"}),
        ("post", "/api/decks", {"title": "x"}),
        ("get", "/api/flashcards/stats", None),
    ]:
        res = getattr(client, method)(path, json=body) if body else getattr(client, method)(path)
        assert res.status_code == 401, path
        assert res.get_json()["error"] == "unauthorized"
    res = client.get("/api/decks", headers={"Authorization": "Bearer nope"})
    assert res.status_code == 401


def test_another_members_deck_and_card_are_404(api, own_deck):
    alice, deck_id, (card_id, *_) = own_deck(1)
    bob = api("bob")
    assert bob.get(f"/api/decks/{deck_id}/next").status_code == 404
    assert bob.get(f"/api/decks/{deck_id}/cards").status_code == 404
    assert bob.get(f"/api/decks/{deck_id}/cards.csv").status_code == 404
    res = bob.post(f"/api/cards/{card_id}/reviews", json={"rating": "good"})
    assert res.status_code == 404 and res.get_json()["error"] == "not_found"
    assert (
        bob.post(f"/api/decks/{deck_id}/cards", json={"front": "a", "back": "b"}).status_code == 404
    )
    assert all(d["id"] != deck_id for d in bob.get("/api/decks").get_json())
    # Unknown and absurd ids are 404 too, not 500.
    assert bob.get("/api/decks/999999/next").status_code == 404
    assert bob.post("/api/cards/99999999999/reviews", json={"rating": "good"}).status_code == 404
    # Alice's own card is untouched by Bob's attempts.
    assert alice.get(f"/api/decks/{deck_id}/next").get_json()["reps"] == 0


def test_shared_decks_are_read_only_403(api, seed_decks):
    seed_decks()
    client = api("alice")
    bank = client.get("/api/decks").get_json()[0]
    res = client.post(f"/api/decks/{bank['id']}/cards", json={"front": "a", "back": "b"})
    assert res.status_code == 403 and res.get_json()["error"] == "forbidden"
    res = client.post(f"/api/decks/{bank['id']}/import", data=b"a,b\n")
    assert res.status_code == 403


def test_bad_rating_is_400(own_deck):
    client, _, (card_id, *_) = own_deck(1)
    res = client.post(f"/api/cards/{card_id}/reviews", json={"rating": "perfect"})
    assert res.status_code == 400 and "rating" in res.get_json()["message"]
    res = client.post(f"/api/cards/{card_id}/reviews", data="x", content_type="text/plain")
    assert res.status_code == 400


def test_guest_gets_shared_cards_but_not_personal_ones(client, seed_decks, own_deck):
    seed_decks()
    _, own_id, _ = own_deck(1)
    listing = client.get("/flashcards")
    assert listing.status_code == 200 and b"Mini bank" in listing.data
    from server.extensions import db
    from server.models.deck import Deck

    with client.application.app_context():
        bank_id = db.session.query(Deck).filter_by(key="bank:mini").one().id
    res = client.get(f"/api/decks/{bank_id}/cards")
    assert res.status_code == 200
    body = res.get_json()
    assert body["deck"]["title"] == "Mini bank" and len(body["cards"]) == 2
    assert {"id", "front_html", "back_html", "tags"} <= set(body["cards"][0])
    assert client.get(f"/api/decks/{own_id}/cards").status_code == 404
    assert client.get(f"/flashcards/practice/{bank_id}").status_code == 200
    assert client.get(f"/flashcards/practice/{own_id}").status_code == 404


def test_cookie_writes_need_the_csrf_header(make_app, make_user, clock, trivia_dir):
    app = make_app(FLASHCARDS_CLOCK=clock, TRIVIA_DIR=str(trivia_dir), WTF_CSRF_ENABLED=True)
    make_user("dave")
    client = app.test_client()
    page = client.get("/login")
    import re

    token = re.search(rb'name="csrf-token" content="([^"]+)"', page.data).group(1).decode()
    client.post(
        "/login",
        data={"username": "dave", "password": "correct horse battery", "csrf_token": token},
    )
    res = client.post("/api/decks", json={"title": "Mine"})
    assert res.status_code == 400 and res.get_json()["error"] == "csrf"
    res = client.post("/api/decks", json={"title": "Mine"}, headers={"X-CSRFToken": token})
    assert res.status_code == 201


def test_openapi_documents_the_routes(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert "/api/decks" in paths and "/api/decks/{deck_id}/next" in paths
    review = paths["/api/cards/{card_id}/reviews"]["post"]
    assert "rating" in review["requestBody"]["content"]["application/json"]["schema"]["properties"]
