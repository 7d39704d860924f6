"""The dashboard's data: submissions browser, overrides and their audit entries, statistics,
members and roles, the gradebook CSV and result documents."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from server.extensions import db
from server.models.instructor import AuditLog
from server.models.user import User
from tests.instructor.conftest import add_exercise, graded, notebook_with, result_doc, user_id
from tests.instructor.test_standings import add_game


def test_submissions_browser_filters(people, teacher):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    b = add_exercise(app, "ex-b", points=2)
    s1 = graded(app, "ann", a, 2)
    s2 = graded(app, "ann", b, 0)
    s3 = graded(app, "ben", a, 1)
    res = teacher.get("/api/instructor/submissions")
    assert res.status_code == 200 and res.headers["X-Total-Count"] == "3"
    assert [r["id"] for r in res.get_json()] == [s3, s2, s1]  # newest first
    row = res.get_json()[0]
    assert row["member"]["username"] == "ben" and row["exercise"] == "ex-a" and row["score"] == 1
    assert [
        r["id"] for r in teacher.get("/api/instructor/submissions?exercise=ex-a").get_json()
    ] == [s3, s1]
    assert [r["id"] for r in teacher.get("/api/instructor/submissions?member=ANN").get_json()] == [
        s2,
        s1,
    ]
    by_id = teacher.get(f"/api/instructor/submissions?member={user_id(app, 'ben')}").get_json()
    assert [r["id"] for r in by_id] == [s3]
    both = teacher.get(
        "/api/instructor/submissions?exercise=ex-a&member=ann&status=graded"
    ).get_json()
    assert [r["id"] for r in both] == [s1]
    assert teacher.get("/api/instructor/submissions?status=queued").get_json() == []
    assert teacher.get("/api/instructor/submissions?status=lost").status_code == 400
    assert teacher.get("/api/instructor/submissions?member=nobody").status_code == 404
    assert teacher.get("/api/instructor/submissions?exercise=nope").status_code == 404
    page = teacher.get("/api/instructor/submissions?limit=1&offset=1").get_json()
    assert [r["id"] for r in page] == [s2]


def test_override_moves_best_score_and_is_audited(people, teacher, client):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    sub = graded(app, "ann", a, 2, minutes_ago=5)
    graded(app, "ben", a, 1, minutes_ago=9)
    url = f"/api/instructor/submissions/{sub}/override"
    assert teacher.post(url, json={"score": 1}).status_code == 400  # a comment is required
    assert teacher.post(url, json={"score": 5, "comment": "too much"}).status_code == 400
    res = teacher.post(url, json={"score": 0.5, "comment": "copied from ben"})
    assert res.status_code == 200, res.get_json()
    doc = res.get_json()
    assert doc["score"] == 0.5 and doc["override"]["comment"] == "copied from ben"
    assert doc["override"]["previous_score"] == 2
    assert doc["history"][0]["reason"] == "override" and doc["history"][0]["score"] == 2
    assert (
        doc["audit"][0]["action"] == "override" and doc["audit"][0]["comment"] == "copied from ben"
    )
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "override"))
        assert entry.detail == {
            "from": 2.0,
            "to": 0.5,
            "member_id": user_id(app, "ann"),
            "exercise": "ex-a",
        }
        assert entry.actor_id == user_id(app, "teach2")
    rows = client.get("/api/leaderboard").get_json()
    assert [(r["username"], r["score"]) for r in rows] == [("ben", 1.0), ("ann", 0.5)]
    # the member sees the overridden score on their own submission
    assert teacher.get(f"/api/submissions/{sub}").get_json()["score"] == 0.5
    # setting it back puts ann first again
    teacher.post(url, json={"score": 2, "comment": "my mistake"})
    assert client.get("/api/leaderboard").get_json()[0]["username"] == "ann"
    assert [a["action"] for a in teacher.get("/api/instructor/audit").get_json()][:2] == [
        "override",
        "override",
    ]


def test_statistics(people, teacher):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    add_exercise(app, "ex-untried", points=1)

    def checks(wi: bool, enc: bool) -> dict:
        score = 2 if wi and enc else 1 if wi or enc else 0
        return result_doc(score, 2, {"word index": wi, "encode": enc})

    graded(app, "ann", a, 0, doc=checks(False, False))
    graded(app, "ann", a, 2, doc=checks(True, True))
    graded(app, "ben", a, 1, doc=checks(True, False))
    graded(app, "cat", a, 1, doc=checks(True, False))
    rows = {r["slug"]: r for r in teacher.get("/api/instructor/exercises").get_json()}
    assert rows["ex-untried"]["attempts"] == 0 and rows["ex-untried"]["pass_rate"] is None
    s = rows["ex-a"]
    assert (s["attempts"], s["members"], s["graded"], s["solved_by"]) == (4, 3, 4, 1)
    assert s["pass_rate"] == 0.25 and s["mean_score"] == 1.0
    detail = teacher.get("/api/instructor/exercises/ex-a").get_json()
    assert [(c["name"], c["passed"], c["attempts"]) for c in detail["checks"]] == [
        ("word index", 3, 4),
        ("encode", 1, 4),
    ]
    hist = detail["histogram"]
    assert len(hist["counts"]) == 10 and hist["members"] == 3
    assert hist["counts"][5] == 2 and hist["counts"][9] == 1  # two on 1 of 2, one on full marks


def test_members_and_roles(people, teacher, login):
    app = people
    ben = user_id(app, "ben")
    members = {m["username"]: m for m in teacher.get("/api/instructor/members").get_json()}
    assert members["ben"]["role"] == "member" and members["teach"]["role"] == "instructor"
    res = teacher.post(f"/api/instructor/members/{ben}/role", json={"role": "instructor"})
    assert res.status_code == 200 and res.get_json()["role"] == "instructor"
    assert (
        teacher.post(f"/api/instructor/members/{ben}/role", json={"role": "king"}).status_code
        == 400
    )
    res = teacher.post(f"/api/instructor/members/{ben}/role", json={"role": "member"})
    assert res.get_json()["role"] == "member"
    log = teacher.get("/api/instructor/audit").get_json()
    assert [(e["action"], e["detail"]["to"]) for e in log[:2]] == [
        ("role", "member"),
        ("role", "instructor"),
    ]
    # the last instructor cannot demote themself out
    with app.app_context():
        for user in db.session.scalars(select(User).where(User.role == "instructor")):
            if user.username != "teach2":
                user.role = "member"
        db.session.commit()
    res = teacher.post(
        f"/api/instructor/members/{user_id(app, 'teach2')}/role", json={"role": "member"}
    )
    assert res.status_code == 409 and res.get_json()["error"] == "last_instructor"
    # the page form promotes too
    client = login("teach2")
    client.post(f"/instructor/members/{ben}/role", data={"role": "instructor"})
    with app.app_context():
        assert db.session.get(User, ben).role == "instructor"


def test_gradebook_csv(people, teacher):
    app = people
    a = add_exercise(app, "ex-a", points=2, position=1)
    b = add_exercise(app, "ex-b", points=3, position=2)
    with app.app_context():
        db.session.get(User, user_id(app, "cat")).display_name = "=HYPERLINK(1)"
        db.session.commit()
    graded(app, "ann", a, 2)
    graded(app, "ann", b, 1.5)
    graded(app, "ben", b, 3)
    add_game(app, "teach", {"Ben": ("ben", 500)})
    res = teacher.get("/api/instructor/gradebook.csv")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    assert "attachment" in res.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True))))
    assert rows[0] == [
        "username",
        "display_name",
        "ex-a",
        "ex-b",
        "exercise_total",
        "trivia",
        "overall",
        "rank",
    ]
    assert rows[1][2:5] == ["2", "3", "5"]  # the max points row
    body = {r[0]: r for r in rows[2:]}
    assert set(body) == {"ann", "ben", "cat"}  # members only, every member
    assert body["ann"][2:] == ["2", "1.5", "3.5", "0", "3.5", "2"]
    assert body["ben"][2:] == ["", "3", "3", "500", "8", "1"]
    assert body["cat"][1] == "'=HYPERLINK(1)" and body["cat"][2:4] == ["", ""]


def test_result_document_and_notebook_downloads(people, teacher):
    app = people
    ex = add_exercise(app, "nb", kind="notebook", points=2)
    nb = notebook_with({"f": "def f():\n    return 1\n"})
    sub = graded(app, "ann", ex, 1, notebook=nb)
    res = teacher.get(f"/api/instructor/submissions/{sub}/result.json")
    assert res.status_code == 200 and f"nb-ann-{sub}.json" in res.headers["Content-Disposition"]
    doc = json.loads(res.get_data())
    assert doc["score"] == 1 and doc["max_score"] == 2 and doc["tests"][0]["name"] == "only check"
    res = teacher.get(f"/api/instructor/submissions/{sub}/notebook.ipynb")
    assert res.status_code == 200 and res.get_data() == nb
    assert (
        teacher.get(f"/api/instructor/submissions/{sub}/notebook.ipynb?which=submitted").get_data()
        == nb
    )
    assert teacher.get("/api/instructor/submissions/999/result.json").status_code == 404


def test_pages_render_with_data(people, login):
    app = people
    a = add_exercise(app, "ex-a", points=2)
    nb = add_exercise(app, "nb-x", kind="notebook", points=2)
    sub = graded(app, "ann", a, 2)
    graded(
        app,
        "ben",
        nb,
        1,
        notebook=notebook_with({"f": "def f(x):\n    y = x + 1\n    return y * 2\n"}),
    )
    graded(
        app,
        "cat",
        nb,
        1,
        notebook=notebook_with({"f": "def f(a):\n    b = a + 1\n    return b * 2\n"}),
    )
    game = add_game(app, "teach", {"Ben": ("ben", 500)})
    client = login("teach")
    for url, expect in (
        ("/instructor", "Latest submissions"),
        ("/instructor/submissions?exercise=ex-a", "Exercise ex-a"),
        (f"/instructor/submissions/{sub}", "Override the score"),
        ("/instructor/exercises", "Exercise nb-x"),
        ("/instructor/exercises/ex-a", "Pass rate per check"),
        ("/instructor/exercises/nb-x/similarity", "100%"),
        ("/instructor/members", "Promote"),
        ("/instructor/boards", "New meetup event"),
        ("/games", f"/games/history/{game}"),  # the one game history (/instructor/games leads here)
        ("/instructor/audit", "Audit log"),
    ):
        res = client.get(url)
        assert res.status_code == 200, url
        assert expect in res.get_data(as_text=True), url
    res = client.post(
        f"/instructor/submissions/{sub}/override", data={"score": "1", "comment": "late"}
    )
    assert res.status_code == 302
    assert "late" in client.get(f"/instructor/submissions/{sub}").get_data(as_text=True)
    res = client.post("/instructor/weights", data={"exercises": "1", "trivia": "0.5"})
    assert res.status_code == 302
    assert "0.5 × trivia" in client.get("/leaderboard").get_data(as_text=True)


def test_cached_statistics_follow_every_change(people, teacher, monkeypatch):
    """The statistics are counted again only for the exercises a change touched; they must
    always equal a count from scratch."""
    import random

    from server.services.instructor import stats as instructor_stats

    recounted = []
    real = instructor_stats._counts
    monkeypatch.setattr(instructor_stats, "_counts", lambda ids: recounted.append(ids) or real(ids))
    app = people
    rng = random.Random(3)
    exercises = [add_exercise(app, f"ex-{i}", points=2) for i in range(3)]
    subs = []
    for step in range(12):
        if subs and step % 4 == 3:
            sub = rng.choice(subs)
            res = teacher.post(
                f"/api/instructor/submissions/{sub}/override", json={"score": 0, "comment": "x"}
            )
            assert res.status_code == 200
        else:
            subs.append(
                graded(
                    app,
                    rng.choice(["ann", "ben", "cat"]),
                    rng.choice(exercises),
                    rng.choice([0, 1, 2]),
                )
            )
        cached = teacher.get("/api/instructor/exercises").get_json()
        with app.app_context():
            assert cached == instructor_stats._listing(real(None)), step
    assert recounted[0] is None  # one full count, then only the exercises that changed
    assert all(ids is not None and len(ids) == 1 for ids in recounted[1:])
