"""Accounts: pages, API tokens, roles, CSRF and rate limits."""

from __future__ import annotations

from sqlalchemy import func, select

from server.cli import main
from server.extensions import db
from server.models.user import ApiToken, User
from tests.conftest import PASSWORD


def _count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def test_register_login_logout_pages(client, auth, app):
    res = auth.register("alice")
    assert res.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "alice" in page and "Log out" in page
    auth.logout()
    assert "Log in" in client.get("/").get_data(as_text=True)
    res = auth.login("alice", "wrong password!")
    assert res.status_code == 401
    assert auth.login("alice").status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "alice"))
        assert user.password_hash.startswith("$argon2")
        assert user.role == "member"


def test_register_rejects_bad_input_and_stores_nothing(auth, app):
    assert auth.register("a!", PASSWORD).status_code == 400
    assert auth.register("bob", "short").status_code == 400
    assert _count_users(app) == 0
    auth.register("bob")
    res = auth.register("BOB")
    assert res.status_code == 400 and b"taken" in res.data
    assert _count_users(app) == 1


def test_api_register_and_token(client, app):
    res = client.post("/api/auth/register", json={"username": "carol", "password": PASSWORD})
    assert res.status_code == 201
    assert res.get_json()["username"] == "carol"
    dup = client.post("/api/auth/register", json={"username": "carol", "password": PASSWORD})
    assert dup.status_code == 409 and dup.get_json()["error"] == "username_taken"
    bad = client.post("/api/auth/token", json={"username": "carol", "password": "nope-nope"})
    assert bad.status_code == 401 and "message" in bad.get_json()
    token = client.post(
        "/api/auth/token", json={"username": "carol", "password": PASSWORD}
    ).get_json()["token"]
    with app.app_context():
        stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and len(stored) == 1  # only the hash is kept
    me = client.get("/api/exercises/none", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 404  # authenticated, the exercise just does not exist


def test_api_errors_are_json(client):
    res = client.post("/api/auth/register", data="not json", content_type="text/plain")
    assert res.status_code == 400
    assert set(res.get_json()) == {"error", "message"}
    res = client.post("/api/auth/register", json={"username": "x"})
    assert res.status_code == 400 and "password" in res.get_json()["message"]
    res = client.get("/api/exercises/anything")
    assert res.status_code == 401 and res.get_json()["error"] == "unauthorized"
    res = client.get("/api/exercises/anything", headers={"Authorization": "Bearer forged"})
    assert res.status_code == 401 and res.get_json()["error"] == "bad_token"


def test_pages_redirect_anonymous_to_login(client):
    res = client.get("/exercises/c3w1-word-index")
    assert res.status_code == 302 and "/login" in res.headers["Location"]


def test_csrf_guards_every_form(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    res = client.post("/register", data={"username": "dave", "password": PASSWORD})
    assert res.status_code == 400
    assert _count_users(app) == 0
    page = client.get("/register").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    res = client.post(
        "/register", data={"username": "dave", "password": PASSWORD, "csrf_token": token}
    )
    assert res.status_code == 302
    # A cookie-authenticated API write without the header is refused too.
    res = client.post("/api/exercises/x/submissions", json={"answer": "1"})
    assert res.status_code == 400 and res.get_json()["error"] == "csrf"


def test_login_is_rate_limited(make_app):
    app = make_app(AUTH_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [
        client.post("/api/auth/token", json={"username": "x", "password": "yyyyyyyy"}).status_code
        for _ in range(5)
    ]
    assert codes[:3] == [401, 401, 401]
    assert codes[3:] == [429, 429]
    assert client.post("/api/auth/token", json={"username": "x", "password": "y"}).get_json()[
        "error"
    ]


def test_users_add_cli(runner, app):
    res = runner.invoke(
        main,
        args=["users", "add", "erin", "--instructor", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert res.exit_code == 0, res.output
    assert "instructor 'erin'" in res.output
    res = runner.invoke(
        main, args=["users", "add", "erin", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert res.exit_code != 0 and "taken" in res.output
    res = runner.invoke(main, args=["users", "add", "frank", "--password-stdin"], input="short\n")
    assert res.exit_code != 0 and "at least" in res.output
    with app.app_context():
        assert db.session.scalar(select(User.role).where(User.username == "erin")) == "instructor"


def test_first_instructor_created_once(app):
    from server.services import accounts

    with app.app_context():
        first = accounts.ensure_instructor()
        assert first is not None
        username, password = first
        assert accounts.authenticate(username, password).is_instructor
        assert accounts.ensure_instructor() is None


WEAK_PASSWORDS = [
    ("aaaaaaaa", "one character repeated"),
    (" " * 8, "only spaces"),
    ("zoe-member", "username"),  # the username itself
    ("Zoe-Member2024!", "username"),  # ... with digits and symbols around it
    ("password1", "common password"),
    ("qwertyuiop", "common password"),
    ("abcdefgh", "Sequences"),
    ("adventures!", "site's name"),
]


def test_weak_passwords_are_refused_on_the_page(auth, app):
    for password, why in WEAK_PASSWORDS:
        res = auth.register("zoe-member", password)
        page = res.get_data(as_text=True)
        assert res.status_code == 400, password
        assert why in page.replace("&#34;", '"').replace("&#39;", "'"), (password, page)
    assert _count_users(app) == 0
    assert auth.register("zoe-member", "violet kettle jumps").status_code == 302


def test_weak_passwords_are_refused_by_the_api(client):
    for password, why in WEAK_PASSWORDS:
        res = client.post(
            "/api/auth/register", json={"username": "zoe-member", "password": password}
        )
        body = res.get_json()
        assert (res.status_code, body["error"]) == (400, "weak_password"), password
        assert why in body["message"], (password, body["message"])
    res = client.post(
        "/api/auth/register", json={"username": "zoe-member", "password": "violet kettle jumps"}
    )
    assert res.status_code == 201


def test_password_rules_use_the_display_name_and_allow_long_passphrases(app):
    from server.services import accounts

    with app.app_context():
        try:
            accounts.create_user("hal", "Margaret Hamilton", display_name="Margaret Hamilton")
        except accounts.AccountError as exc:
            assert exc.code == "weak_password" and "your name" in exc.message
        else:
            raise AssertionError("a password equal to the display name was accepted")
        long = "seven purple otters " * 6  # 120 characters: NIST wants at least 64 allowed
        assert accounts.create_user("hal", long).username == "hal"
        assert accounts.authenticate("hal", long) is not None


def test_users_add_cli_refuses_weak_passwords(runner, app):
    for password in ("aaaaaaaa", "password1", "gina-user"):
        res = runner.invoke(
            main, args=["users", "add", "gina-user", "--password-stdin"], input=password + "\n"
        )
        assert res.exit_code != 0 and "Password" in res.output, (password, res.output)
    assert _count_users(app) == 0


def test_first_instructor_password_passes_the_rules(app):
    from server.services import accounts

    with app.app_context():
        username, password = accounts.ensure_instructor()
        accounts.check_password(password, username=username, display_name="Instructor")
        accounts.check_password(PASSWORD, username="alice")  # the tests' own password
