"""Similarity: graded functions compared after normalising names, comments, docstrings and layout."""

from __future__ import annotations

from server.extensions import db
from server.models.exercise import Exercise
from server.services.instructor import similarity
from tests.instructor.conftest import add_exercise, graded, notebook_with

ORIGINAL = '''def build_word_index(sentences, num_words=100, oov_token="<OOV>"):
    """Fit a tokenizer and return its word index."""
    ### START CODE HERE ###
    tokenizer = Tokenizer(num_words=num_words, oov_token=oov_token)  # the course's way
    tokenizer.fit_on_texts(sentences)
    ### END CODE HERE ###
    return tokenizer.word_index
'''

DISGUISED = """def build_word_index(texts, num_words=100, oov_token='<OOV>'):
    # my own work, honest
    tk = Tokenizer(num_words=num_words,
                   oov_token=oov_token)
    tk.fit_on_texts(texts)
    return tk.word_index
"""

DIFFERENT = """def build_word_index(sentences, num_words=100, oov_token="<OOV>"):
    index = {oov_token: 1}
    for sentence in sentences:
        for word in sentence.lower().split():
            if word not in index:
                index[word] = len(index) + 1
    return index
"""

ENCODE = """def encode(train, test, oov_token="<OOV>"):
    tokenizer = Tokenizer(oov_token=oov_token)
    tokenizer.fit_on_texts(train)
    return tokenizer.texts_to_sequences(test)
"""


def test_graded_functions_are_found_by_their_marker():
    nb = notebook_with({"build_word_index": ORIGINAL, "encode": ENCODE})
    found = similarity.graded_functions(nb)
    assert set(found) == {"build_word_index", "encode"}
    assert found["encode"].startswith("# GRADED FUNCTION: encode")
    assert similarity.graded_functions(b"not json") == {}


def test_normalising_ignores_names_comments_docstrings_and_layout():
    a, b, c = (similarity.normalise(x) for x in (ORIGINAL, DISGUISED, DIFFERENT))
    assert a == b
    assert "v0" in a and "Tokenizer" in a and "fit_on_texts" in a  # library names are kept
    assert "#" not in " ".join(a) and "Fit a tokenizer" not in " ".join(a)
    assert similarity.ratio(a, c) < 0.6
    # a syntax error still yields tokens, so a broken notebook can be compared
    assert similarity.normalise("def f(:\n  return 1") != []


def test_starter_skeleton_is_taken_out():
    skeleton = similarity.normalise(
        'def build_word_index(sentences, num_words=100, oov_token="<OOV>"):\n    return None\n'
    )
    mine = similarity.normalise(ORIGINAL)
    own = similarity.own_code(mine, skeleton)
    assert len(own) < len(mine) and "fit_on_texts" in own


def test_pairs_name_the_near_identical_members(people, teacher):
    app = people
    ex = add_exercise(app, "nb-tok", kind="notebook", points=2)
    graded(
        app, "ann", ex, 2, notebook=notebook_with({"build_word_index": ORIGINAL, "encode": ENCODE})
    )
    graded(
        app,
        "ben",
        ex,
        2,
        notebook=notebook_with(
            {"build_word_index": DISGUISED, "encode": ENCODE.replace("train", "xs")}
        ),
    )
    graded(
        app,
        "cat",
        ex,
        1,
        notebook=notebook_with(
            {
                "build_word_index": DIFFERENT,
                "encode": "def encode(a, b):\n    return [[len(w) for w in s.split()] for s in b]\n",
            }
        ),
    )
    pairs = teacher.get("/api/instructor/exercises/nb-tok/similarity").get_json()
    assert len(pairs) == 1
    pair = pairs[0]
    assert {pair["a"]["username"], pair["b"]["username"]} == {"ann", "ben"}
    assert pair["score"] == 1.0 and pair["functions"] == {"build_word_index": 1.0, "encode": 1.0}
    everyone = teacher.get("/api/instructor/exercises/nb-tok/similarity?threshold=0").get_json()
    assert len(everyone) == 3 and everyone[0]["score"] >= everyone[-1]["score"]
    assert (
        max(p["score"] for p in everyone if "cat" in (p["a"]["username"], p["b"]["username"])) < 0.6
    )
    # only each member's latest notebook counts: ben's new one is cat's, renamed
    graded(
        app,
        "ben",
        ex,
        1,
        notebook=notebook_with({"build_word_index": DIFFERENT.replace("sentence", "line")}),
    )
    pairs = teacher.get("/api/instructor/exercises/nb-tok/similarity").get_json()
    assert [{p["a"]["username"], p["b"]["username"]} for p in pairs] == [{"ben", "cat"}]
    assert pairs[0]["functions"] == {"build_word_index": 1.0}
    add_exercise(app, "ex-answer")
    assert teacher.get("/api/instructor/exercises/ex-answer/similarity").status_code == 400


def test_fingerprint_candidates_in_a_large_group(people, monkeypatch):
    """Above SMALL_GROUP members, only pairs sharing winnowed fingerprints are scored."""
    app = people
    monkeypatch.setattr(similarity, "SMALL_GROUP", 1)
    ex = add_exercise(app, "nb-big", kind="notebook", points=2)
    graded(app, "ann", ex, 2, notebook=notebook_with({"build_word_index": ORIGINAL}))
    graded(app, "ben", ex, 2, notebook=notebook_with({"build_word_index": DISGUISED}))
    graded(app, "cat", ex, 2, notebook=notebook_with({"build_word_index": DIFFERENT}))
    with app.app_context():
        pairs = similarity.pairs(db.session.get(Exercise, ex), threshold=0.0)
    assert [{p["a"]["username"], p["b"]["username"]} for p in pairs] == [{"ann", "ben"}]
