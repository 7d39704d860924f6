"""Instructor-area fixtures: exercises made in the test (no bundled content needed) and graded attempts."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from graders.spec import ExerciseSpec
from server.extensions import db
from server.models.base import utcnow
from server.models.exercise import Exercise
from server.models.submission import Submission
from server.models.user import User
from server.services.grading.results import record_result
from tests.conftest import PASSWORD, ApiClient


def exercise_spec(slug: str, kind: str, points: float) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "slug": slug,
        "title": f"Exercise {slug}",
        "kind": kind,
        "week": 1,
        "points": points,
        "prompt": "Do it.",
    }
    if kind == "answer":
        spec["answer"] = {
            "reference": f"reference.answers:value_of_{slug.replace('-', '_')}",
            "compare": "int",
            "format": "an integer, e.g. 171533",
            "hint": "Count the parameters layer by layer.",
        }
    else:
        spec["notebook"] = {
            "reference": "reference.fake_notebook",
            "checks": [
                {"name": "word index", "function": "build_word_index", "points": points / 2},
                {"name": "encode", "function": "encode", "points": points / 2},
            ],
        }
    return ExerciseSpec.model_validate(spec).model_dump(mode="json")


def add_exercise(
    app, slug: str, *, kind: str = "answer", points: float = 2.0, position: int = 0
) -> int:
    with app.app_context():
        row = Exercise(
            slug=slug,
            title=f"Exercise {slug}",
            kind=kind,
            week=1,
            position=position,
            points=points,
            spec=exercise_spec(slug, kind, points),
            content_hash="test",
            version=1,
            active=True,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def result_doc(score: float, max_score: float, checks: dict[str, bool] | None = None) -> dict:
    checks = checks or {"only check": score >= max_score}
    share = max_score / len(checks)
    return {
        "score": score,
        "max_score": max_score,
        "output": "graded in a test",
        "tests": [
            {
                "name": name,
                "score": share if ok else 0.0,
                "max_score": share,
                "status": "passed" if ok else "failed",
                "output": "" if ok else "expected something else",
                "visibility": "visible",
            }
            for name, ok in checks.items()
        ],
    }


def graded(
    app,
    username: str,
    exercise_id: int,
    score: float,
    *,
    minutes_ago: float = 0,
    doc: dict | None = None,
    notebook: bytes | None = None,
) -> int:
    """A submission stored then recorded the way a worker records it; returns its id."""
    with app.app_context():
        exercise = db.session.get(Exercise, exercise_id)
        sub = Submission(
            user_id=user_id(app, username),
            exercise_id=exercise_id,
            exercise_version=exercise.version,
            kind=exercise.kind,
            answer="1" if exercise.kind == "answer" else None,
            notebook=notebook,
            filename="nb.ipynb" if notebook else None,
            variant={},
            status="queued",
            max_score=exercise.points,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        db.session.add(sub)
        db.session.commit()
        record_result(
            sub.id,
            doc or result_doc(score, exercise.points),
            executed_notebook=notebook,
        )
        return sub.id


def notebook_with(functions: dict[str, str]) -> bytes:
    """An .ipynb whose code cells are the given graded functions."""
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Week 1"]},
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": ["from tensorflow.keras.preprocessing.text import Tokenizer\n"],
        },
    ]
    for name, body in functions.items():
        cells.append(
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": f"# GRADED FUNCTION: {name}\n{body}",
            }
        )
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb).encode()


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2 hash of PASSWORD for every account made here (hashing costs ~0.8 s a time)."""
    from server.services.accounts import _hasher

    return _hasher.hash(PASSWORD)


@pytest.fixture
def quick_user(app, password_hash):
    """quick_user(name, role=) -> id: an account with the shared password hash."""

    def factory(username: str, *, role: str = "member") -> int:
        with app.app_context():
            user = User(
                username=username, display_name=username, password_hash=password_hash, role=role
            )
            db.session.add(user)
            db.session.commit()
            return user.id

    return factory


@pytest.fixture
def people(app, quick_user):
    """An instructor and three members."""
    quick_user("teach", role="instructor")
    for name in ("ann", "ben", "cat"):
        quick_user(name)
    return app


@pytest.fixture
def api(client, quick_user, app):
    """api(name, role=) -> an ApiClient with a bearer token for a new account (no password check)."""
    from server.services import accounts

    def factory(username: str = "alice", *, role: str = "member") -> ApiClient:
        uid = quick_user(username, role=role)
        with app.app_context():
            token = accounts.issue_token(db.session.get(User, uid))
        return ApiClient(client, token)

    return factory


@pytest.fixture
def teacher(api):
    return api("teach2", role="instructor")


@pytest.fixture
def login(client, auth):
    def as_(username: str):
        res = auth.login(username)
        assert res.status_code in (302, 303), res.get_data(as_text=True)[:300]
        return client

    return as_
