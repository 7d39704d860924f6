"""Banks in the database: seeding (computed keys, versions), the bundled banks, Kahoot CSV."""

from __future__ import annotations

import csv
import io

import pytest

from server.services.games import banks

COMPUTED = """
slug: computed
title: Computed keys
questions:
  - id: emb
    kind: numeric
    text: Parameters of Embedding(1000, 16)?
    key_from:
      target: reference.answers:embedding_params
      kwargs: {input_dim: 1000, output_dim: 16}
  - id: tf
    kind: truefalse
    text: Padding is 0.
    answer: true
"""

KAHOOT = """Quiz template,,,,,,
Question - max 120 characters,Answer 1 - max 75 characters,Answer 2 - max 75 characters,Answer 3 - max 75 characters,Answer 4 - max 75 characters,"Time limit (sec) - 5, 10, 20, 30, 60, 90, 120, or 240 secs",Correct answer(s) - choose at least one
What does a Tokenizer make?,Numbers,Images,,,20,1
Which are RNN layers?,LSTM,GRU,Dense,,30,"1,2"
"""


def _quiet(*_):
    return None


def test_computed_keys_are_resolved_once_and_stored(app, tmp_path):
    folder = tmp_path / "banks"
    folder.mkdir()
    (folder / "computed.yaml").write_text(COMPUTED)
    calls = []

    def resolver(target, kwargs):
        calls.append(target)
        return kwargs["input_dim"] * kwargs["output_dim"]

    with app.app_context():
        skipped = banks.seed_quizzes(compute=False, log=_quiet, folder=folder)
        assert skipped.skipped == ["computed"] and banks.quiz_by_slug("computed") is None
        first = banks.seed_quizzes(compute=True, log=_quiet, folder=folder, resolver=resolver)
        assert first.added == ["computed"] and calls == ["reference.answers:embedding_params"]
        quiz = banks.quiz_by_slug("computed")
        assert banks.bank_for(quiz.id).question("emb").value == 16000
        again = banks.seed_quizzes(compute=True, log=_quiet, folder=folder, resolver=resolver)
        assert again.unchanged == ["computed"] and len(calls) == 1  # no TensorFlow for nothing
        # Without compute, an unchanged bank stays as stored.
        assert banks.seed_quizzes(compute=False, log=_quiet, folder=folder).unchanged


def test_a_changed_bank_is_a_new_version_and_old_games_keep_theirs(app, tmp_path, host, client):
    folder = tmp_path / "banks"
    folder.mkdir()
    path = folder / "computed.yaml"
    path.write_text(COMPUTED)
    resolver = lambda target, kwargs: kwargs["input_dim"] * kwargs["output_dim"]  # noqa: E731
    with app.app_context():
        banks.seed_quizzes(log=_quiet, folder=folder, resolver=resolver)
    pin = host.post("/api/games", json={"quiz": "computed", "mode": "host"}).get_json()["pin"]
    path.write_text(COMPUTED.replace("Padding is 0.", "Padding is zero."))
    with app.app_context():
        report = banks.seed_quizzes(log=_quiet, folder=folder, resolver=resolver)
        assert report.updated == ["computed"]
        assert banks.quiz_by_slug("computed").version == 2
    listed = client.get("/api/quizzes").get_json()
    assert [(q["slug"], q["version"]) for q in listed] == [("computed", 2)]
    host.post(f"/api/games/{pin}/start")
    host.post(f"/api/games/{pin}/skip")
    assert client.get(f"/api/games/{pin}/state").get_json()["question"]["text"] == "Padding is 0."
    path.unlink()
    with app.app_context():
        assert banks.seed_quizzes(log=_quiet, folder=folder).retired == ["computed"]
    assert client.get("/api/quizzes").get_json() == []


def test_the_bundled_banks_load(app):
    with app.app_context():
        report = banks.seed_quizzes(compute=False, log=_quiet)
        loaded = {q.slug: q for q in banks.active_quizzes()}
    assert {"c3-week1", "tf-basics"} <= set(loaded)
    assert set(report.added) | set(report.skipped) >= {
        "c3-week1",
        "c3-week2",
        "c3-week3",
        "c3-week4",
    }
    for slug in report.skipped:  # only banks whose keys need TensorFlow wait for `adventures seed`
        with app.app_context():
            from graders.trivia import load_bank

            assert load_bank(banks.TRIVIA_DIR / f"{slug}.yaml").unresolved


def test_kahoot_csv_import_and_export(host, client, quiz):
    res = host.post(
        "/api/quizzes", json={"slug": "from-kahoot", "title": "From Kahoot", "csv": KAHOOT}
    )
    assert res.status_code == 201, res.get_json()
    assert res.get_json()["questions"] == 2 and res.get_json()["source"] == "csv"
    game = host.post("/api/games", json={"quiz": "from-kahoot", "mode": "host"}).get_json()
    host.post(f"/api/games/{game['pin']}/start")
    q = client.get(f"/api/games/{game['pin']}/state").get_json()["question"]
    assert q["text"] == "What does a Tokenizer make?" and q["kind"] == "single"

    out = host.get("/api/quizzes/from-kahoot/kahoot.csv")
    assert out.status_code == 200 and out.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(out.get_data(as_text=True))))
    assert rows[1] == ["What does a Tokenizer make?", "Numbers", "Images", "", "", "20", "1"]
    assert rows[2][-1] == "1,2"
    # The bundled-style bank has type and numeric questions: they are left out and named.
    mini = host.get(f"/api/quizzes/{quiz}/kahoot.csv")
    assert mini.headers["X-Skipped-Questions"] == "params,pad"
    strict = host.get(f"/api/quizzes/{quiz}/kahoot.csv?strict=1")
    assert strict.status_code == 422 and "params" in strict.get_json()["message"]


def test_kahoot_csv_upload_errors(host, quiz):
    bad = KAHOOT.replace('"1,2"', "5")
    res = host.post("/api/quizzes", json={"slug": "bad-one", "title": "Bad one", "csv": bad})
    assert res.status_code == 422 and "row 4" in res.get_json()["message"]
    res = host.post("/api/quizzes", json={"slug": quiz, "title": "Clash", "csv": KAHOOT})
    assert res.status_code == 409 and res.get_json()["error"] == "slug_taken"
    res = host.post(
        "/api/quizzes",
        data={
            "slug": "uploaded",
            "title": "Uploaded",
            "file": (io.BytesIO(KAHOOT.encode()), "k.csv"),
        },
        content_type="multipart/form-data",
    )
    assert res.status_code == 201 and res.get_json()["slug"] == "uploaded"
    # the multipart form is checked like the JSON body: a bad field is a 400 naming it
    res = host.post(
        "/api/quizzes",
        data={"slug": "Not A Slug!", "file": (io.BytesIO(KAHOOT.encode()), "k.csv")},
        content_type="multipart/form-data",
    )
    assert res.status_code == 400 and res.get_json()["error"] == "bad_request", res.get_json()


@pytest.mark.parametrize("who", ["member", None])
def test_import_and_export_need_an_instructor(api, client, quiz, who):
    caller = api(who) if who else client
    res = caller.post("/api/quizzes", json={"slug": "x-y", "title": "xyz", "csv": KAHOOT})
    assert res.status_code == (403 if who else 401)
    assert caller.get(f"/api/quizzes/{quiz}/kahoot.csv").status_code == (403 if who else 401)


def test_every_question_left_out_of_a_kahoot_export_is_named_with_its_reason(app, host, auth):
    """'TensorFlow basics' once lost 5 of 14 questions while the header named only 2."""
    with app.app_context():
        banks.seed_quizzes(compute=False, log=_quiet)
        quizzes = banks.active_quizzes()
        for quiz in quizzes:
            text, skipped = banks.export_csv(quiz)
            rows = list(csv.reader(io.StringIO(text)))[1:]
            fit = banks.kahoot_fit(quiz)
            assert len(rows) + len(skipped) == fit["total"] == quiz.question_count, quiz.slug
            assert fit["kept"] == len(rows)
            assert [m["id"] for m in fit["left_out"]] == skipped
            assert all(m["reason"] for m in fit["left_out"])
        basics = next(q for q in quizzes if q.slug == "tf-basics")
        left_out = banks.kahoot_fit(basics)["left_out"]
    assert left_out, "the bundled basics bank has code and typed questions Kahoot cannot hold"
    auth.login("host")
    page = host.client.get("/games/new").get_data(as_text=True)
    assert f"{len(left_out)} are left out of the CSV" in page or "1 is left out" in page
    assert left_out[0]["reason"].split("'")[0] in page
