"""Shared fixtures: an app on a schema built by Alembic, clients, accounts, inline jobs.

The schema is built once per session with `upgrade` (never create_all); each
test then starts from empty tables. With ADVENTURES_TEST_DATABASE_URL set to a
PostgreSQL URL the same tests run there, in a private schema per session.
"""

from __future__ import annotations

import os
import tempfile
import uuid

import pytest

_TMP = tempfile.mkdtemp(prefix="adventures-test-")
os.environ["ADVENTURES_INSTANCE"] = _TMP
os.environ.pop("REDIS_URL", None)  # the Redis tests opt in explicitly
os.environ.pop("DATABASE_URL", None)

from server import create_app  # noqa: E402
from server.extensions import db, huey, huey_gpu  # noqa: E402
from server.services import accounts  # noqa: E402
from tests.sse import Stream  # noqa: E402

PASSWORD = "correct horse battery"


def _postgres_schema_url(base: str) -> tuple[str, str]:
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


@pytest.fixture(scope="session")
def database_url():
    base = os.environ.get("ADVENTURES_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{_TMP}/test.db"
        return
    url, schema = _postgres_schema_url(base)
    from server.config import database_url as normalise

    os.environ["DATABASE_URL"] = url
    yield normalise()
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_config(database_url: str, **extra) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "AUTH_RATE_LIMIT": "10000 per minute",
        "SUBMISSION_RATE_LIMIT": "10000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
        "REDIS_URL": None,
        "SERVER_NAME": None,
        **extra,
    }


@pytest.fixture(scope="session", autouse=True)
def _inline_jobs():
    """Huey runs jobs inline in tests, as huey's own test-suite does."""
    huey.immediate = True
    huey_gpu.immediate = True
    yield


@pytest.fixture(scope="session")
def _schema(database_url):
    from flask_migrate import upgrade

    app = create_app(test_config(database_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _empty_tables() -> None:
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def make_app(database_url, _schema):
    """Build an app with extra config; every app made in a test shares the test's tables."""
    made = []

    def factory(**extra):
        app = create_app(test_config(database_url, **extra))
        made.append(app)
        return app

    yield factory
    if made:
        with made[0].app_context():
            _empty_tables()
    for app in made:
        app.extensions["adventures.bus"].close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    def factory(username: str, *, role: str = "member", password: str = PASSWORD):
        with app.app_context():
            user = accounts.create_user(username, password, role=role)
            return user.id

    return factory


class AuthActions:
    """Log in and out through the real pages (Flask tutorial style)."""

    def __init__(self, client) -> None:
        self.client = client

    def register(self, username: str = "alice", password: str = PASSWORD):
        return self.client.post("/register", data={"username": username, "password": password})

    def login(self, username: str = "alice", password: str = PASSWORD):
        return self.client.post("/login", data={"username": username, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


class ApiClient:
    """A JSON client holding one member's bearer token."""

    def __init__(self, client, token: str | None = None) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers=None):
        out = dict(headers or {})
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        return out

    def get(self, path, **kw):
        return self.client.get(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(
            path, json=json, headers=self._headers(kw.pop("headers", None)), **kw
        )


@pytest.fixture
def api(client, make_user):
    """api(name, role=...) -> an ApiClient logged in as a new account of that name."""

    def factory(username: str = "alice", *, role: str = "member") -> ApiClient:
        make_user(username, role=role)
        res = client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
        assert res.status_code == 200, res.get_json()
        return ApiClient(client, res.get_json()["token"])

    return factory


@pytest.fixture
def seeded(app):
    """The bundled exercises in the database (reference values computed on demand)."""
    from server.services.exercises import seed_exercises

    with app.app_context():
        seed_exercises()
    return app


@pytest.fixture
def sse(monkeypatch):
    """open(client, url) -> tests.sse.Stream; streams send keep-alives often so readers stop."""
    from server.routes import sse as sse_module

    monkeypatch.setattr(sse_module, "KEEPALIVE_S", 0.2)
    readers: list[Stream] = []

    def open_(client, url: str, **kw) -> Stream:
        reader = Stream.client(client, url, **kw)
        assert (reader.status, reader.mimetype) == (200, sse_module.MIMETYPE), reader.body
        readers.append(reader)
        return reader

    yield open_
    for reader in readers:
        reader.close()
