"""Safe redirects after log-in, server-side sessions, cookie flags and expiring API tokens."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import select, text, update

from server.extensions import db
from server.models.user import ApiToken, User
from tests.conftest import PASSWORD

# Each `next` as it appears in the query string; a browser would leave this site for all.
UNSAFE_NEXT = [
    "/%09/evil.example",  # browsers drop the tab: //evil.example
    "/%0a/x",  # a newline in Location was a 500
    "/%0d%0aSet-Cookie:%20x=1",
    "%5C%5Cevil.example",  # \\evil.example
    "/%5Cevil.example",  # /\evil.example
    "/%5C/evil.example",
    "%2F%2Fevil.example",  # decoded once by the query string: //evil.example
    "%252F%252Fevil.example",  # decoded twice
    "/%252F/evil.example",
    "https://evil.example",
    "https:/evil.example",
    "//evil.example",
    "///evil.example",
    "javascript:alert(1)",
    "/%E2%80%8B/evil.example",  # non-ASCII (a zero-width space) is never needed in a path here
    "http://evil.example/login",
]


def _logged_in(client) -> bool:
    return "Log out" in client.get("/").get_data(as_text=True)


def _user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


# ---- redirects ----------------------------------------------------------------------------


def test_login_next_never_leaves_the_site(client, make_user):
    make_user("alice")
    for raw in UNSAFE_NEXT:
        res = client.post(f"/login?next={raw}", data={"username": "alice", "password": PASSWORD})
        assert res.status_code == 302, (raw, res.status_code)
        assert res.headers["Location"] == "/", (raw, res.headers["Location"])
    assert _logged_in(client)


def test_register_next_never_leaves_the_site(client):
    for i, raw in enumerate(UNSAFE_NEXT):
        res = client.post(
            f"/register?next={raw}", data={"username": f"member{i}", "password": PASSWORD}
        )
        assert res.status_code == 302, (raw, res.status_code)
        assert res.headers["Location"] == "/", (raw, res.headers["Location"])


def test_safe_next_is_kept(client, make_user):
    make_user("alice")
    for raw, location in [
        ("/exercises", "/exercises"),
        ("/leaderboard%3Fweek%3D2", "/leaderboard?week=2"),
        ("/exercises/c3w1%2520word", "/exercises/c3w1%20word"),  # still encoded: kept
        ("http://localhost/flashcards", "/flashcards"),  # this very host: kept, as a path
    ]:
        res = client.post(f"/login?next={raw}", data={"username": "alice", "password": PASSWORD})
        assert (res.status_code, res.headers["Location"]) == (302, location), raw
    # The log-in page a protected page sends to comes back to it.
    client.post("/logout")
    login_url = client.get("/account/tokens").headers["Location"]
    assert "next=" in login_url
    res = client.post(login_url, data={"username": "alice", "password": PASSWORD})
    assert res.headers["Location"] == "/account/tokens"


# ---- sessions -----------------------------------------------------------------------------


def test_logout_kills_copied_session_and_remember_cookies(app, auth, client):
    auth.register("alice")
    session = client.get_cookie("session").value
    remember = client.get_cookie("remember_token").value
    # Before log-out, each copy alone logs a fresh browser in (so the check below means it).
    for name, value in (("session", session), ("remember_token", remember)):
        thief = app.test_client()
        thief.set_cookie(name, value)
        assert _logged_in(thief), name
    auth.logout()
    assert not _logged_in(client)
    for name, value in (("session", session), ("remember_token", remember)):
        thief = app.test_client()
        thief.set_cookie(name, value)
        assert not _logged_in(thief), f"the old {name} cookie still logs in after log-out"
    thief = app.test_client()
    thief.set_cookie("session", session)
    thief.set_cookie("remember_token", remember)
    assert not _logged_in(thief)


def test_a_bare_user_id_cookie_is_refused(app, client, make_user):
    """Cookies from before sessions were recorded name only the user: not enough any more."""
    uid = make_user("alice")
    with client.session_transaction() as sess:
        sess["_user_id"] = str(uid)
        sess["_fresh"] = True
    assert not _logged_in(client)


def test_logout_ends_only_this_browser_and_end_others_ends_the_rest(app, make_user):
    make_user("alice")
    laptop, phone, tablet = (app.test_client() for _ in range(3))
    for browser in (laptop, phone, tablet):
        browser.post("/login", data={"username": "alice", "password": PASSWORD})
        assert _logged_in(browser)
    tablet.post("/logout")
    assert _logged_in(laptop) and _logged_in(phone) and not _logged_in(tablet)
    page = laptop.get("/account/tokens").get_data(as_text=True)
    assert "logged in on 2 browsers" in page
    res = laptop.post("/account/sessions/end-others", follow_redirects=True)
    assert "Logged out of 1 other session." in res.get_data(as_text=True)
    assert "logged in on 1 browser " in res.get_data(as_text=True)
    assert _logged_in(laptop) and not _logged_in(phone)


def test_lapsed_session_is_refused(app, auth, client):
    from server.models.user import UserSession

    auth.register("alice")
    with app.app_context():
        db.session.execute(
            update(UserSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        db.session.commit()
    assert not _logged_in(client)


# ---- cookie attributes --------------------------------------------------------------------


def _set_cookies(res) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in res.headers.getlist("Set-Cookie")}


@pytest.fixture
def no_cookie_env(monkeypatch):
    for name in ("SECURE_COOKIES", "PREFERRED_URL_SCHEME", "REMEMBER_DAYS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_remember_cookie_flags_and_lifetime(make_app, no_cookie_env):
    client = make_app().test_client()
    res = client.post("/register", data={"username": "alice", "password": PASSWORD})
    cookies = _set_cookies(res)
    remember, session = cookies["remember_token"], cookies["session"]
    for cookie in (remember, session):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # plain-HTTP development: a Secure cookie would be lost
    expires = parsedate_to_datetime(remember.split("Expires=")[1].split(";")[0])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        ({"PREFERRED_URL_SCHEME": "https"}, True),
        ({"SECURE_COOKIES": "1"}, True),
        ({"PREFERRED_URL_SCHEME": "https", "SECURE_COOKIES": "0"}, False),
    ],
)
def test_cookies_secure_behind_https(make_app, no_cookie_env, env, secure):
    for name, value in env.items():
        no_cookie_env.setenv(name, value)
    no_cookie_env.setenv("REMEMBER_DAYS", "7")
    client = make_app().test_client()
    cookies = _set_cookies(
        client.post("/register", data={"username": "alice", "password": PASSWORD})
    )
    for name in ("remember_token", "session"):
        assert ("Secure" in cookies[name].split("; ")) is secure, (name, cookies[name])
        assert "SameSite=Lax" in cookies[name] and "HttpOnly" in cookies[name]
    remember = cookies["remember_token"]
    expires = parsedate_to_datetime(remember.split("Expires=")[1].split(";")[0])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=5)


# ---- API tokens ---------------------------------------------------------------------------


def _token(client, username="alice") -> dict:
    res = client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
    assert res.status_code == 200, res.get_json()
    return res.get_json()


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_token_expires_after_configured_days(make_app):
    app = make_app(API_TOKEN_DAYS=7)
    client = app.test_client()
    with app.app_context():
        from server.services import accounts

        accounts.create_user("alice", PASSWORD)
    issued = _token(client)
    expires = datetime.fromisoformat(issued["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=5)
    assert client.get("/api/auth/tokens", headers=_bearer(issued["token"])).status_code == 200
    with app.app_context():
        db.session.execute(
            update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        db.session.commit()
    res = client.get("/api/auth/tokens", headers=_bearer(issued["token"]))
    body = res.get_json()
    assert res.status_code == 401 and body["error"] == "token_expired"
    assert "expired" in body["message"] and "POST /api/auth/token" in body["message"]


def test_default_token_lifetime_is_90_days(client, make_user):
    make_user("alice")
    expires = datetime.fromisoformat(_token(client)["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=5)


def test_delete_current_token(client, make_user):
    make_user("alice")
    first, second = _token(client)["token"], _token(client)["token"]
    assert client.delete("/api/auth/token", headers=_bearer(first)).status_code == 204
    res = client.get("/api/auth/tokens", headers=_bearer(first))
    assert res.status_code == 401 and res.get_json()["error"] == "bad_token"
    assert client.get("/api/auth/tokens", headers=_bearer(second)).status_code == 200
    assert client.delete("/api/auth/token").status_code == 401  # nobody to revoke for


def test_list_tokens_never_shows_secrets(client, make_user):
    make_user("alice")
    make_user("bob")
    _token(client, "bob")
    first = _token(client)
    second = _token(client)
    res = client.get("/api/auth/tokens", headers=_bearer(second["token"]))
    assert res.status_code == 200
    listed = res.get_json()
    assert [t["id"] for t in listed] == [second["id"], first["id"]]  # mine only, newest first
    assert [t["current"] for t in listed] == [True, False]
    for t in listed:
        assert set(t) >= {"id", "created_at", "last_used_at", "expires_at", "current"}
        assert "token" not in t and "token_hash" not in t
        assert first["token"] not in str(t) and second["token"] not in str(t)
    assert listed[0]["last_used_at"] is not None and listed[1]["last_used_at"] is None


def test_revoke_token_by_id(client, make_user):
    make_user("alice")
    make_user("bob")
    mine, other = _token(client), _token(client)
    bobs = _token(client, "bob")
    res = client.delete(f"/api/auth/tokens/{bobs['id']}", headers=_bearer(mine["token"]))
    assert res.status_code == 404 and res.get_json()["error"] == "not_found"
    assert client.get("/api/auth/tokens", headers=_bearer(bobs["token"])).status_code == 200
    res = client.delete(f"/api/auth/tokens/{other['id']}", headers=_bearer(mine["token"]))
    assert res.status_code == 204
    assert client.get("/api/auth/tokens", headers=_bearer(other["token"])).status_code == 401
    assert client.get("/api/auth/tokens", headers=_bearer(mine["token"])).status_code == 200


def _registered_with_csrf(make_app):
    """A browser that registered alice with CSRF on: its client and CSRF token."""
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    page = client.get("/register").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/register", data={"username": "alice", "password": PASSWORD, "csrf_token": csrf})
    return client, csrf


def test_cookie_caller_lists_and_revokes_with_csrf(make_app):
    client, csrf = _registered_with_csrf(make_app)
    issued = _token(client)
    listed = client.get("/api/auth/tokens").get_json()
    assert [(t["id"], t["current"]) for t in listed] == [(issued["id"], False)]
    url = f"/api/auth/tokens/{issued['id']}"
    assert client.delete(url).status_code == 400  # no X-CSRFToken header
    assert client.delete(url, headers={"X-CSRFToken": csrf}).status_code == 204
    # A cookie caller has no "current token" to revoke.
    res = client.delete("/api/auth/token", headers={"X-CSRFToken": csrf})
    assert res.status_code == 400 and res.get_json()["error"] == "no_bearer_token"


def test_tokens_page_lists_and_revokes(app, auth, client, make_user):
    make_user("bob")
    bobs = _token(client, "bob")
    auth.register("alice")
    issued = _token(client)
    assert client.get("/").get_data(as_text=True).count("/account/tokens") == 1  # the nav link
    page = client.get("/account/tokens")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"Token #{issued['id']}" in html and f"Token #{bobs['id']}" not in html
    assert issued["token"] not in html
    assert f'action="/account/tokens/{issued["id"]}/revoke"' in html
    assert client.post(f"/account/tokens/{bobs['id']}/revoke").status_code == 404
    res = client.post(f"/account/tokens/{issued['id']}/revoke")
    assert res.status_code == 302 and res.headers["Location"] == "/account/tokens"
    assert client.get("/api/auth/tokens", headers=_bearer(issued["token"])).status_code == 401
    assert "You have no API tokens" in client.get("/account/tokens").get_data(as_text=True)
    auth.logout()
    res = client.get("/account/tokens")
    assert res.status_code == 302 and "/login" in res.headers["Location"]


def test_tokens_page_forms_need_csrf(make_app):
    client, csrf = _registered_with_csrf(make_app)
    issued = _token(client)
    html = client.get("/account/tokens").get_data(as_text=True)
    assert html.count('name="csrf_token"') >= 3  # log-out, revoke, log out elsewhere
    assert client.post(f"/account/tokens/{issued['id']}/revoke").status_code == 400
    assert client.get("/api/auth/tokens", headers=_bearer(issued["token"])).status_code == 200
    res = client.post(f"/account/tokens/{issued['id']}/revoke", data={"csrf_token": csrf})
    assert res.status_code == 302
    assert client.get("/api/auth/tokens", headers=_bearer(issued["token"])).status_code == 401


def test_openapi_lists_the_token_routes(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert "delete" in paths["/api/auth/token"]
    assert "get" in paths["/api/auth/tokens"]
    assert "delete" in paths["/api/auth/tokens/{token_id}"]


# ---- migration ----------------------------------------------------------------------------


def test_migration_0005_gives_old_tokens_an_expiry():
    """Tokens issued before 0005 expire 90 days after they were made (SQLite, a scratch file)."""
    from flask_migrate import upgrade

    from server import create_app
    from tests.conftest import test_config

    url = f"sqlite:///{tempfile.mkdtemp(prefix='adventures-0005-')}/m.db"
    app = create_app(test_config(url))
    try:
        with app.app_context():
            upgrade(revision="0004")
            created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO users (id, username, display_name, password_hash, role,"
                        " created_at, desired_retention, new_cards_per_day)"
                        " VALUES (1, 'old', 'old', 'x', 'member', :t, 0.9, 20)"
                    ),
                    {"t": created},
                )
                conn.execute(
                    text(
                        "INSERT INTO api_tokens (user_id, token_hash, created_at)"
                        " VALUES (1, :h, :t)"
                    ),
                    {"h": "0" * 64, "t": created},
                )
            upgrade()
            expires = db.session.scalar(select(ApiToken.expires_at))
            assert expires == created + timedelta(days=90)
    finally:
        app.extensions["adventures.bus"].close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
