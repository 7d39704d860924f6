"""Start-up and log-in speed: argon2 at OWASP's minimum, off gevent's loop; the warm-up."""

from __future__ import annotations

import json
import textwrap

import gevent
import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy import select

from server import warmup
from server.extensions import db
from server.models.user import User
from server.services import accounts
from tests.conftest import PASSWORD
from tests.core.process_support import MIGRATE, run_python


class SpyPool:
    """The hub's real thread pool, noting what each apply() ran (its own attributes are
    read-only, so gevent.get_hub is replaced by one whose threadpool is this)."""

    def __init__(self) -> None:
        self.real = gevent.get_hub().threadpool
        self.applied: list = []
        self.threadpool = self

    def apply(self, fn, args=(), kwds=None):
        self.applied.append(fn)
        return self.real.apply(fn, args, kwds)


@pytest.fixture
def spy_pool(monkeypatch) -> SpyPool:
    spy = SpyPool()
    monkeypatch.setattr(gevent, "get_hub", lambda: spy)
    return spy


# OWASP Password Storage Cheat Sheet, argon2id with p=1: (memory KiB, iterations), equivalent.
OWASP_ARGON2ID = ((47_104, 1), (19_456, 2), (12_288, 3), (9_216, 4), (7_168, 5))


def test_password_hashes_meet_owasp_minimum():
    params = extract_parameters(accounts.hash_password(PASSWORD))
    assert params.type is Type.ID
    assert params.parallelism >= 1
    assert any(
        params.memory_cost >= memory and params.time_cost >= iterations
        for memory, iterations in OWASP_ARGON2ID
    ), params
    assert params.salt_len >= 16 and params.hash_len >= 32


def test_old_parameters_still_log_in_and_are_rehashed(app, make_user):
    make_user("alice")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "alice"))
        user.password_hash = PasswordHasher(time_cost=3, memory_cost=65_536).hash(PASSWORD)
        db.session.commit()
        assert accounts.authenticate("alice", PASSWORD) is not None
        stored = db.session.scalar(select(User.password_hash).where(User.username == "alice"))
    params = extract_parameters(stored)
    assert (params.memory_cost, params.time_cost, params.parallelism) == (
        accounts.ARGON2_MEMORY_KIB,
        accounts.ARGON2_TIME_COST,
        accounts.ARGON2_PARALLELISM,
    )


def test_hashing_is_a_plain_call_outside_gevent(spy_pool):
    assert not accounts._under_gevent()  # the tests do not monkey-patch
    assert accounts._password_matches(accounts.hash_password(PASSWORD), PASSWORD)
    assert spy_pool.applied == []


def test_hashing_runs_in_gevents_threadpool_and_the_loop_goes_on(monkeypatch, spy_pool):
    """Under gevent a hash or check runs in the hub's thread pool: other greenlets run meanwhile
    (argon2-cffi releases the GIL), and a wrong password is still just False."""
    monkeypatch.setattr(accounts, "_under_gevent", lambda: True)
    ticks = 0

    def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            gevent.sleep(0.001)

    other = gevent.spawn(ticker)
    try:
        gevent.sleep(0)
        ticks = 0
        stored = accounts.hash_password(PASSWORD)
        assert ticks > 0  # the other greenlet ran while this one hashed
        assert accounts._password_matches(stored, PASSWORD)
        assert not accounts._password_matches(stored, "not the password")
        assert not accounts._password_matches("not a hash", PASSWORD)
    finally:
        other.kill()
    hasher = accounts._hasher
    assert spy_pool.applied == [hasher.hash, hasher.verify, hasher.verify, hasher.verify]


def test_login_and_registration_under_gevent_use_the_threadpool(monkeypatch, spy_pool, auth):
    monkeypatch.setattr(accounts, "_under_gevent", lambda: True)
    assert auth.register("alice").status_code == 302
    auth.logout()
    assert auth.login("alice").status_code == 302
    assert auth.login("alice", "wrong password!").status_code == 401
    assert auth.login("nobody", PASSWORD).status_code == 401  # the timing equaliser too
    hasher = accounts._hasher
    assert spy_pool.applied == [hasher.hash, hasher.verify, hasher.verify, hasher.hash]


def test_a_failing_warm_up_step_does_not_stop_the_start(app, monkeypatch, caplog):
    def broken():
        raise RuntimeError("no password checker today")

    monkeypatch.setattr(warmup, "_passwords", broken)
    took = warmup.warm(app)
    assert set(took) == {"templates", "guest pages", "password checks"}
    assert "no password checker today" in caplog.text
    assert len(app.jinja_env.cache) >= len(app.jinja_env.list_templates(extensions=("html",)))


def test_wsgi_warm_up_never_imports_tensorflow(tmp_path):
    """The web process as gunicorn loads it (server.wsgi: create_app + warm-up) on a migrated
    database: every step ran, templates compiled, no connection left open, no TensorFlow and
    no nbconvert."""
    script = MIGRATE + textwrap.dedent(
        """
        import json, sys
        from server import warmup
        took = {}
        real = warmup.warm
        warmup.warm = lambda app: took.update(real(app)) or took
        import server.wsgi as wsgi
        with wsgi.app.app_context():
            open_connections = sum(e.pool.checkedout() for e in db.engines.values())
        print(json.dumps({
            "tensorflow": sorted(m for m in sys.modules if m.split(".")[0] == "tensorflow"),
            "keras": "keras" in sys.modules,
            "nbconvert": "nbconvert" in sys.modules,
            "took": took,
            "compiled": len(wsgi.app.jinja_env.cache),
            "open_connections": open_connections,
        }))
        """
    )
    done = run_python(script, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["tensorflow"] == [] and not out["keras"] and not out["nbconvert"]
    assert set(out["took"]) == {"templates", "guest pages", "password checks"}
    assert "warm-up step" not in done.stderr, done.stderr[-3000:]  # no step failed
    assert out["compiled"] >= 30
    assert out["open_connections"] == 0
