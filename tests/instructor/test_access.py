"""Access: every /instructor page and /api/instructor route refuses members (403) and anonymous
visitors (401 on the API, log-in redirect on pages). The routes are read from the url map, so a
route added later without a guard fails here."""

from __future__ import annotations

import re

import pytest

from server.extensions import db
from server.models.exercise import Exercise
from server.services.exercises import reference_key
from server.services.grading import references as reference_values
from tests.conftest import PASSWORD
from tests.instructor.conftest import add_exercise, graded

_ARG = re.compile(r"<(?:(\w+):)?(\w+)>")


def guarded_routes(app) -> list[tuple[str, str]]:
    """(method, url) for every instructor route, arguments filled with plausible values."""
    out = []
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/instructor") or rule.rule.startswith("/api/instructor")):
            continue
        url = _ARG.sub(lambda m: "1" if m.group(1) == "int" else "ex-a", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, url))
    return out


def _call(client, method: str, url: str, headers=None):
    kwargs = {"headers": headers or {}}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return client.open(url, method=method, **kwargs)


@pytest.fixture
def world(people):
    app = people
    a = add_exercise(app, "ex-a")
    graded(app, "ann", a, 1)
    with app.app_context():  # so the walk's regrade grades inline without a reference process
        key, _ = reference_key(db.session.get(Exercise, a), {})
        reference_values.store(key, 1)
    return app


def test_the_map_holds_the_routes_the_contract_names(world):
    routes = guarded_routes(world)
    assert len(routes) >= 30
    for needed in (
        ("GET", "/api/instructor/submissions"),
        ("GET", "/api/instructor/gradebook.csv"),
        ("GET", "/instructor"),
        ("POST", "/api/instructor/submissions/1/override"),
        ("POST", "/api/instructor/exercises/ex-a/regrade"),
    ):
        assert needed in routes


def test_anonymous_visitors_are_refused_everywhere(world):
    client = world.test_client()
    for method, url in guarded_routes(world):
        res = _call(client, method, url)
        if url.startswith("/api/"):
            assert res.status_code == 401, (method, url, res.status_code)
            assert res.get_json()["error"] == "unauthorized"
        else:
            assert res.status_code == 302, (method, url, res.status_code)
            assert "/login" in res.headers["Location"], (method, url)


def test_members_are_refused_everywhere(world, api):
    member = api("moe")
    for method, url in guarded_routes(world):
        if url.startswith("/api/"):
            res = _call(member.client, method, url, {"Authorization": f"Bearer {member.token}"})
            assert res.status_code == 403, (method, url, res.status_code)
            assert res.get_json()["error"] == "forbidden"
    pages = world.test_client()
    res = pages.post("/login", data={"username": "ann", "password": PASSWORD})
    assert res.status_code == 302
    home = pages.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', home).group(1)
    for method, url in guarded_routes(world):
        # the session cookie, on pages and API alike (API writes carry the page's CSRF token)
        res = _call(pages, method, url, {"X-CSRFToken": token})
        assert res.status_code == 403, (method, url, res.status_code)


def test_instructors_get_through(world, teacher):
    """The same walk as an instructor meets no 401/403 and no 5xx (4xx for dummy ids is fine)."""
    for method, url in guarded_routes(world):
        res = _call(teacher.client, method, url, {"Authorization": f"Bearer {teacher.token}"})
        assert res.status_code not in (401, 403), (method, url, res.status_code)
        assert res.status_code < 500, (method, url, res.status_code, res.get_data(as_text=True))


def test_members_cannot_see_each_others_submissions(world, api):
    ben = api("ben2")
    res = ben.get("/api/submissions/1")
    assert res.status_code == 404
    pages = world.test_client()
    pages.post("/login", data={"username": "ben", "password": PASSWORD})
    assert pages.get("/submissions/1").status_code == 404
    assert pages.get("/submissions/1/notebook").status_code == 404


def test_the_public_boards_stay_public(world):
    client = world.test_client()
    for url in (
        "/leaderboard",
        "/leaderboard?projector=1",
        "/api/leaderboard",
        "/api/leaderboard/exercises/ex-a",
        "/leaderboard/exercises/ex-a",
    ):
        assert client.get(url).status_code == 200, url
