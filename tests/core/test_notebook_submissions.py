"""Notebook uploads through the web API: stored, graded in the sandbox, feedback and HTML kept."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from graders.notebook.check import reference_notebook
from graders.spec import load_spec
from server.config import REPO_ROOT
from server.extensions import db
from server.models.submission import Submission

SLUG = "c3w1-tokenizer"


def _upload(member, data: bytes, name: str = "mine.ipynb"):
    return member.client.post(
        f"/api/exercises/{SLUG}/submissions",
        data={"notebook": (io.BytesIO(data), name)},
        headers={"Authorization": f"Bearer {member.token}"},
        content_type="multipart/form-data",
    )


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Submission.id)))


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"this is not json", 400),
        (json.dumps({"hello": "world"}).encode(), 400),
        (b"\xff\xfe\x00 not utf-8", 400),
        (
            json.dumps(
                {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": "nope"}
            ).encode(),
            400,
        ),
        (b"{" + b" " * (3 * 1024 * 1024) + b"}", 413),
    ],
)
def test_bad_uploads_are_refused_and_store_nothing(seeded, api, data, status):
    alice = api("alice")
    res = _upload(alice, data)
    assert res.status_code == status, res.get_json()
    assert res.get_json()["message"]
    assert _count(seeded) == 0


def test_answer_to_a_notebook_exercise_is_refused(seeded, api):
    alice = api("alice")
    res = alice.post(f"/api/exercises/{SLUG}/submissions", json={"answer": "1"})
    assert res.status_code == 400 and res.get_json()["error"] == "wrong_kind"
    res = alice.client.post(
        f"/api/exercises/{SLUG}/submissions",
        data={},
        headers={"Authorization": f"Bearer {alice.token}"},
        content_type="multipart/form-data",
    )
    assert res.status_code == 400 and res.get_json()["error"] == "no_notebook"


@pytest.mark.slow
def test_reference_notebook_scores_full_marks_and_lands_on_the_board(seeded, api):
    spec = load_spec(REPO_ROOT / "exercises" / SLUG / "exercise.yaml")
    alice = api("alice")
    res = _upload(alice, reference_notebook(spec, REPO_ROOT))
    assert res.status_code == 202
    doc = alice.get(f"/api/submissions/{res.get_json()['id']}").get_json()
    assert doc["status"] == "graded", doc
    assert doc["score"] == doc["max_score"] > 0
    assert all(t["status"] == "passed" for t in doc["tests"])
    assert {"score", "max_score", "execution_time", "tests", "output"} <= set(doc)
    assert doc["has_executed_notebook"] and doc["device"] == "cpu"
    html = alice.client.get(f"/submissions/{doc['id']}/notebook")
    assert html.status_code == 401 or html.status_code == 302  # pages use the session, not tokens
    board = alice.get("/api/leaderboard").get_json()
    assert board[0]["username"] == "alice" and board[0]["score"] == doc["max_score"]


@pytest.mark.slow
def test_starter_notebook_scores_zero_with_feedback(seeded, auth, client):
    auth.register("bob")
    starter = (REPO_ROOT / "exercises" / SLUG / "starter.ipynb").read_bytes()
    res = client.post(
        f"/exercises/{SLUG}",
        data={"notebook": (io.BytesIO(starter), "starter.ipynb")},
        content_type="multipart/form-data",
    )
    assert res.status_code == 302
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "graded" in page and "failed" in page
    sub_id = int(res.headers["Location"].rstrip("/").split("/")[-1])
    with client.application.app_context():
        sub = db.session.get(Submission, sub_id)
        assert sub.score == 0 and sub.status == "graded"
        assert all(t["output"] for t in sub.result["tests"] if t["visibility"] == "visible")
        stored = sub.executed_html  # rendered by the worker when it recorded the grade
    assert "build_word_index" in stored and "<script" not in stored
    html = client.get(f"/submissions/{sub_id}/notebook")
    assert html.status_code == 200
    assert "script-src 'none'" in html.headers["Content-Security-Policy"]  # no script runs
    assert stored in html.get_data(as_text=True)  # served as stored, not rendered again
