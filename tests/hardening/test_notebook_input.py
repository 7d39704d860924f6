"""Notebook uploads that used to end in a RecursionError or a UnicodeEncodeError are refused at
upload with a 400 that says why: metadata nested hundreds of levels deep, lone surrogates."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from graders.notebook.read import MAX_DEPTH, NotebookError, json_too_deep, read_notebook
from server.extensions import db
from server.models.submission import Submission
from tests.instructor.conftest import add_exercise


def _notebook(metadata: dict | None = None, source: str = "x = 1") -> dict:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": metadata or {},
        "cells": [
            {
                "cell_type": "code",
                "id": "c1",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": source,
            }
        ],
    }


def _nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


def _deep_metadata(levels: int) -> bytes:
    """A notebook whose metadata nests `levels` deep (written as text: json.dumps would recurse)."""
    text = json.dumps(_notebook({"deep": "PLACEHOLDER"}))
    return text.replace('"PLACEHOLDER"', '{"a":' * levels + "{}" + "}" * levels).encode()


def _refusal(data: bytes) -> NotebookError:
    with pytest.raises(NotebookError) as caught:
        read_notebook(data)
    return caught.value


@pytest.mark.parametrize("levels", [MAX_DEPTH, 500, 900, 5000])
def test_deep_metadata_is_refused_before_parsing(levels):
    exc = _refusal(_deep_metadata(levels))
    assert (exc.status, exc.code) == (400, "too_deep")
    assert f"more than {MAX_DEPTH} levels" in exc.message


def test_metadata_as_deep_as_real_notebooks_reads():
    nb = read_notebook(json.dumps(_notebook({"widgets": _nested(20)})).encode())
    assert nb.cells[0].source == "x = 1"
    brackets_in_text = _notebook(source="print('[' * 500 + '{' * 500)")
    assert read_notebook(json.dumps(brackets_in_text).encode()).cells[0].source.startswith("print")


@pytest.mark.parametrize(
    ("escaped", "where"),
    [
        ("\"x = '\\ud800'\"", "cells[0].source"),
        ('["a = 1\\n", "b = \'\\udfff\'"]', "cells[0].source[1]"),
    ],
)
def test_lone_surrogates_are_refused_with_where(escaped, where):
    text = json.dumps(_notebook(source="PLACEHOLDER")).replace('"PLACEHOLDER"', escaped)
    exc = _refusal(text.encode())
    assert (exc.status, exc.code) == (400, "bad_text")
    assert where in exc.message and "surrogate" in exc.message


def test_surrogate_pairs_and_nul_escapes_are_text():
    text = json.dumps(_notebook(source="PLACEHOLDER")).replace(
        '"PLACEHOLDER"', "\"s = '\\ud83d\\ude00 \\u0000'\""
    )
    assert "\U0001f600" in read_notebook(text.encode()).cells[0].source


def test_json_too_deep_counts_only_structure():
    assert json_too_deep("[" * 65 + "]" * 65, 64)
    assert not json_too_deep("[" * 64 + "]" * 64, 64)
    assert not json_too_deep(json.dumps({"s": "[" * 1000, "t": '\\"{' * 100}), 64)
    assert json_too_deep('{"s": "\\"", "x": ' + "[" * 70 + "]" * 70 + "}", 64)


def _upload(member, data: bytes, slug: str = "nb-ex"):
    return member.client.post(
        f"/api/exercises/{slug}/submissions",
        data={"notebook": (io.BytesIO(data), "mine.ipynb")},
        headers={"Authorization": f"Bearer {member.token}"},
        content_type="multipart/form-data",
    )


def test_uploads_are_refused_and_store_nothing(app, api):
    add_exercise(app, "nb-ex", kind="notebook")
    member = api("ann")
    deep = _deep_metadata(700)
    text = json.dumps(_notebook(source="PLACEHOLDER")).replace('"PLACEHOLDER"', '"\\ud800"')
    for data, code in ((deep, "levels deep"), (text.encode(), "surrogate")):
        res = _upload(member, data)
        assert res.status_code == 400, res.get_json()
        assert res.get_json()["error"] == "bad_notebook" and code in res.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 0
