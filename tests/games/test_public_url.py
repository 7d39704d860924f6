"""The lobby shows an address phones can reach: PUBLIC_URL (a proxy, or the LAN address that
`adventures run --host 0.0.0.0` finds) in the join link and QR code, and a warning when the
link names this computer's loopback."""

from __future__ import annotations

from server.cli import _lan_url
from tests.conftest import PASSWORD, ApiClient


def _host(app, quiz_folder, auth_client):
    from server.services import accounts
    from server.services.games import banks

    with app.app_context():
        accounts.create_user("boss", PASSWORD, role="instructor")
        banks.seed_quizzes(compute=False, log=lambda *_: None, folder=quiz_folder)
    token = auth_client.post("/api/auth/token", json={"username": "boss", "password": PASSWORD})
    return ApiClient(auth_client, token.get_json()["token"])


def test_the_join_link_uses_the_public_url(make_app, quiz, bank_dir):
    app = make_app(GAME_TIMERS=False, PUBLIC_URL="https://trivia.example.org")
    client = app.test_client()
    host = _host(app, bank_dir, client)
    game = host.post("/api/games", json={"quiz": quiz, "mode": "host"}).get_json()
    assert game["join_url"] == f"https://trivia.example.org/play/{game['pin']}"
    client.post("/login", data={"username": "boss", "password": PASSWORD})
    page = client.get(f"/games/{game['pin']}/host").get_data(as_text=True)
    assert "https://trivia.example.org/play" in page and "loopback-warning" not in page


def test_a_loopback_join_link_is_flagged_on_the_big_screen(make_app, quiz, bank_dir):
    app = make_app(GAME_TIMERS=False)
    client = app.test_client()  # the test client's requests come to http://localhost/
    host = _host(app, bank_dir, client)
    pin = host.post("/api/games", json={"quiz": quiz, "mode": "host"}).get_json()["pin"]
    client.post("/login", data={"username": "boss", "password": PASSWORD})
    page = client.get(f"/games/{pin}/host").get_data(as_text=True)
    assert 'id="loopback-warning"' in page and "--host 0.0.0.0" in page


def test_run_on_all_interfaces_finds_a_lan_address():
    assert _lan_url("127.0.0.1", 5000) is None  # loopback only: no LAN link to offer
    url = _lan_url("0.0.0.0", 5057)
    assert url is None or (url.startswith("http://") and url.endswith(":5057"))
    assert url is None or not url.startswith("http://127.")
