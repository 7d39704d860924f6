"""Short-answer exercises through the API and the pages: parse, grade, best score, leaderboard."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models.exercise import Exercise
from server.models.submission import Submission
from server.services.exercises import reference_key, spec_of, variant_of
from server.services.grading import references as reference_values


def _int_exercise(app, *, with_variants: bool = False) -> Exercise:
    """A seeded integer-answer exercise (e.g. a parameter count) whose value we cache by hand."""
    with app.app_context():
        for ex in db.session.scalars(select(Exercise).where(Exercise.kind == "answer")):
            spec = spec_of(ex)
            if (
                spec.answer.compare in ("int", "param_count")
                and bool(spec.answer.variants) == with_variants
            ):
                db.session.expunge(ex)
                return ex
    raise AssertionError("the bundled content has no such exercise")


def _cache(app, exercise: Exercise, username: str | None, value) -> None:
    from server.models.user import User

    with app.app_context():
        ex = db.session.get(Exercise, exercise.id)
        user = (
            db.session.scalar(select(User).where(User.username == username)) if username else None
        )
        key, _ = reference_key(ex, variant_of(ex, user))
        reference_values.store(key, value)


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_catalog_lists_every_named_exercise(seeded, client):
    slugs = {e["slug"] for e in client.get("/api/exercises").get_json()}
    for slug in (
        "c3w1-tokenizer",
        "c3w2-embedding-model",
        "c3w3-rnn-step",
        "c3w4-ngrams",
        "c3w4-generate",
    ):
        assert slug in slugs
    kinds = {e["kind"] for e in client.get("/api/exercises").get_json()}
    assert kinds == {"answer", "notebook"}
    assert sum(1 for e in client.get("/api/exercises").get_json() if e["kind"] == "answer") >= 15


def test_wrong_then_right_answer(seeded, api):
    alice = api("alice")
    ex = _int_exercise(seeded)
    _cache(seeded, ex, "alice", 171533)
    url = f"/api/exercises/{ex.slug}/submissions"
    wrong = alice.post(url, json={"answer": "170,000"})
    assert wrong.status_code == 202
    doc = alice.get(wrong.get_json()["url"]).get_json()
    assert doc["status"] == "graded" and doc["score"] == 0
    assert "171533" not in str(doc) and "171,533" not in str(
        doc
    )  # never revealed before it is right
    assert "Hint" in doc["tests"][0]["output"]
    right = alice.post(url, json={"answer": "171,533"})
    doc = alice.get(right.get_json()["url"]).get_json()
    assert doc["score"] == doc["max_score"] == ex.points
    detail = alice.get(f"/api/exercises/{ex.slug}").get_json()
    assert detail["best_score"] == ex.points and detail["status"] == "solved"
    assert len(detail["attempts"]) == 2
    # A later wrong answer keeps the best score.
    alice.post(url, json={"answer": "1"})
    assert alice.get(f"/api/exercises/{ex.slug}").get_json()["best_score"] == ex.points
    board = alice.get("/api/leaderboard").get_json()
    assert board[0]["username"] == "alice" and board[0]["score"] == ex.points


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"answer": "one hundred"}, 400, "bad_answer"),
        ({"answer": "__import__('os')"}, 400, "bad_answer"),
        ({"answer": "1" * (70 * 1024)}, 413, "too_large"),
        ({"nope": 1}, 400, "bad_json"),
    ],
)
def test_bad_answers_are_refused_and_store_nothing(seeded, api, payload, status, code):
    alice = api("alice")
    ex = _int_exercise(seeded)
    res = alice.post(f"/api/exercises/{ex.slug}/submissions", json=payload)
    assert res.status_code == status
    body = res.get_json()
    assert body["error"] == code and body["message"]
    assert _count(seeded, Submission) == 0


def test_unknown_exercise_and_other_members_data(seeded, api):
    alice, bob = api("alice"), api("bob")
    assert alice.get("/api/exercises/no-such-thing").status_code == 404
    assert (
        alice.post("/api/exercises/no-such-thing/submissions", json={"answer": "1"}).status_code
        == 404
    )
    ex = _int_exercise(seeded)
    _cache(seeded, ex, "alice", 5)
    sub_id = alice.post(f"/api/exercises/{ex.slug}/submissions", json={"answer": "5"}).get_json()[
        "id"
    ]
    assert alice.get(f"/api/submissions/{sub_id}").status_code == 200
    assert bob.get(f"/api/submissions/{sub_id}").status_code == 404
    assert bob.get(f"/api/submissions/{sub_id}/events").status_code == 404


def test_variants_are_stable_per_member_and_differ_across_members(seeded, api):
    ex = _int_exercise(seeded, with_variants=True)
    views = {}
    for name in ("alice", "bob", "carol", "dave", "erin", "frank"):
        member = api(name)
        first = member.get(f"/api/exercises/{ex.slug}").get_json()
        again = member.get(f"/api/exercises/{ex.slug}").get_json()
        assert first["variant"] == again["variant"] and first["prompt"] == again["prompt"]
        views[name] = first["variant"]
    assert len({tuple(sorted(v.items())) for v in views.values()}) > 1


def test_answer_page_flow(seeded, auth, client):
    auth.register("alice")
    ex = _int_exercise(seeded)
    _cache(seeded, ex, "alice", 42)
    page = client.get(f"/exercises/{ex.slug}").get_data(as_text=True)
    assert ex.title in page and 'name="answer"' in page
    res = client.post(f"/exercises/{ex.slug}", data={"answer": "41"})
    assert res.status_code == 302
    page = client.get(f"/exercises/{ex.slug}").get_data(as_text=True)
    assert "Hint" in page and "0 / " in page
    res = client.post(f"/exercises/{ex.slug}", data={"answer": "not a number"})
    assert res.status_code == 400 and "Expected" in res.get_data(as_text=True)
    client.post(f"/exercises/{ex.slug}", data={"answer": "42"})
    assert "Correct!" in client.get(f"/exercises/{ex.slug}").get_data(as_text=True)
    assert "solved" in client.get("/exercises").get_data(as_text=True)


@pytest.mark.slow
def test_uncached_answer_is_graded_by_the_reference_in_a_worker(seeded, api):
    """No cached value: the job computes it with TensorFlow in the reference child process."""
    import sys

    alice = api("alice")
    ex = _int_exercise(seeded)
    with seeded.app_context():
        spec = spec_of(db.session.get(Exercise, ex.id))
    res = alice.post(
        f"/api/exercises/{ex.slug}/submissions", json={"answer": str(spec.answer.course_value)}
    )
    doc = alice.get(res.get_json()["url"]).get_json()
    assert doc["status"] == "graded" and doc["score"] == ex.points
    assert "tensorflow" not in sys.modules  # computed in the child process, not here
