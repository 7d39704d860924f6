"""CSV exchange: Anki's headers, a lossless round trip, and refused files that import nothing."""

from __future__ import annotations

import csv
import io

import pytest

from server.services.flashcards.csv_io import CsvImportError, parse_csv

TRICKY = [
    ("What does `pad_sequences` do?", 'Pads to the same length, "pre" by default', "keras padding"),
    ("Multi-line\n\n```python\nmodel.summary()\n```", "Line one,\nline two; ümlaut ✓", ""),
    ("<script>alert(1)</script>", "**bold**", "xss"),
]


def _cards(client, deck_id):
    return [
        (c["front"], c["back"], " ".join(c["tags"]))
        for c in client.get(f"/api/decks/{deck_id}/cards").get_json()["cards"]
    ]


def test_export_has_anki_headers_and_round_trips(api):
    client = api("alice")
    src = client.post("/api/decks", json={"title": "Source: deck"}).get_json()["id"]
    for front, back, tags in TRICKY:
        assert (
            client.post(
                f"/api/decks/{src}/cards", json={"front": front, "back": back, "tags": tags}
            ).status_code
            == 201
        )
    res = client.get(f"/api/decks/{src}/cards.csv")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    assert "attachment" in res.headers["Content-Disposition"]
    text = res.get_data(as_text=True)
    head = text.splitlines()[:6]
    assert head == [
        "#separator:comma",
        "#html:false",
        "#notetype:Basic",
        "#deck:Adventures::Source deck",
        "#columns:Front,Back,Tags",
        "#tags column:3",
    ]
    rows = list(csv.reader(io.StringIO("\n".join(text.splitlines(keepends=False)[6:]) + "\n")))
    assert len(rows) == 3 and rows[0] == list(TRICKY[0])
    dst = client.post("/api/decks", json={"title": "Copy"}).get_json()["id"]
    res = client.post(f"/api/decks/{dst}/import", data=text.encode(), content_type="text/csv")
    assert res.status_code == 201 and res.get_json() == {"imported": 3}
    assert _cards(client, dst) == _cards(client, src) == [tuple(t) for t in TRICKY]


def test_bad_rows_are_named_and_nothing_is_imported(api):
    client = api("alice")
    deck = client.post("/api/decks", json={"title": "Mine"}).get_json()["id"]
    bad = (
        "front,back,tags\nok,fine,t\n,missing front,\nno back\nfine,ok,t\n"
        + "a,b,c,d\n"
        + '"multi\nline",ok\n'
        + "x, ,\n"
    )
    res = client.post(f"/api/decks/{deck}/import", data=bad.encode(), content_type="text/csv")
    assert res.status_code == 400
    body = res.get_json()
    assert body["error"] == "bad_csv" and body["message"].startswith("Nothing was imported")
    assert [(r["row"], r["line"]) for r in body["rows"]] == [(2, 3), (3, 4), (5, 6), (7, 9)]
    problems = [r["problem"] for r in body["rows"]]
    assert problems[0] == "front is empty."
    assert problems[1].startswith("has 1 column")
    assert "expected at most 3" in problems[2]
    assert problems[3] == "back is empty."
    assert client.get(f"/api/decks/{deck}/cards").get_json()["cards"] == []


def test_parse_accepts_anki_plain_text_exports():
    # Anki's "Notes in Plain Text" export: tab separated, html headers, tags in column 3.
    text = "#separator:tab\n#html:true\n#tags column:3\nFront one\tBack one\ttag1 tag2\nF2\tB2\t\n"
    rows = parse_csv(text.encode("utf-8-sig"))
    assert [(r.front, r.back, r.tags) for r in rows] == [
        ("Front one", "Back one", "tag1 tag2"),
        ("F2", "B2", ""),
    ]


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (b"", "no cards"),
        (b'"unterminated,quote\n', "cannot read CSV"),
        (("q," + "x" * 20_001 + "\n").encode(), "longer than"),
    ],
)
def test_unreadable_files_are_refused(data, problem):
    with pytest.raises(CsvImportError) as err:
        parse_csv(data)
    assert problem in str(err.value)


def test_import_through_the_page(client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    res = client.post("/flashcards/decks", data={"title": "Paged"})
    assert res.status_code == 302
    deck_url = res.headers["Location"]
    deck_id = int(deck_url.rstrip("/").split("/")[-1])
    bad = io.BytesIO(b"q1,a1\nq2,\n")
    res = client.post(
        f"/flashcards/decks/{deck_id}/import",
        data={"file": (bad, "cards.csv")},
        content_type="multipart/form-data",
    )
    assert res.status_code == 400
    assert b"Nothing was imported" in res.data and b"row 2 (line 2): back is empty." in res.data
    good = io.BytesIO(b"q1,a1,week1\nq2,a2\n")
    res = client.post(
        f"/flashcards/decks/{deck_id}/import",
        data={"file": (good, "cards.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert res.status_code == 200 and b"Imported 2 cards." in res.data
    export = client.get(f"/flashcards/decks/{deck_id}/export.csv").get_data(as_text=True)
    assert export.endswith("q1,a1,week1\nq2,a2,\n")
