"""The course data stand-ins: same formats as the originals, same bytes on every run.

Fast tests use the small sizes; the TFDS folder (which needs TensorFlow) is one slow test that
reads it back with the registered builder in a fresh process with the network refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.course import standins

ROOT = Path(__file__).resolve().parents[2]
FAST = [n for n in standins.NAMES if n != "imdb_reviews"]
STOPWORDS = {"a", "and", "the", "of", "to", "in", "is", "it", "that", "for"}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict[str, Path]:
    return standins.write_all(tmp_path_factory.mktemp("small"), small=True, only=FAST)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _words(text: str) -> list[str]:
    """Roughly TextVectorization's default standardisation: lower-case, no punctuation."""
    return re.sub(r"[^\w\s]", " ", text.lower()).split()


def test_a_second_run_in_a_fresh_process_writes_the_same_bytes(small, tmp_path):
    first = next(iter(small.values())).parent
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    cmd = [sys.executable, "-m", "tests.course.standins", str(tmp_path), "--small", "--only"]
    run = subprocess.run(cmd + FAST, cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "glove.6B.100d.txt" in run.stdout and "total" in run.stdout
    assert _digest(tmp_path) == _digest(first)
    assert len(_digest(first)) == len(FAST) + 1  # the files and MANIFEST.json


def test_vocabulary_is_unique_and_every_smaller_one_is_a_prefix():
    small = standins.vocabulary(standins.SMALL.vocab)
    assert len(set(small)) == len(small)
    assert standins.vocabulary(100) == small[:100]
    assert small[0] == "the" and "dog" in small
    assert all(re.fullmatch(r"[a-z]+", w) for w in small)


def test_bbc_text_has_the_course_layout_and_visible_stopwords(small):
    path = small["bbc-text.csv"]
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["category", "text"]
    body = rows[1:]
    assert len(body) == standins.SMALL.bbc and all(len(r) == 2 for r in body)
    assert [r[0] for r in body[:5]] == ["tech", "business", "sport", "sport", "entertainment"]
    assert {r[0] for r in body} == {"tech", "business", "sport", "entertainment", "politics"}
    assert len(body[0][1].split()) == 737
    lengths = [len(r[1].split()) for r in body]
    assert 200 < sum(lengths) / len(lengths) < 600
    # np.loadtxt(delimiter=',') in the W2 assignment needs text without commas or quotes
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype="str", comments=None)
    assert data.shape == (standins.SMALL.bbc, 2)
    text = body[0][1]
    assert text == text.lower() and '"' not in text
    kept = [w for w in text.split() if w not in STOPWORDS]
    assert {"the", "a", "and"} <= set(text.split())
    assert 0.15 < 1 - len(kept) / len(text.split()) < 0.6


_ROW = re.compile(
    r'"(0|4)","(\d{10})","(\w{3} \w{3} \d\d \d\d:\d\d:\d\d) PDT 2009","NO_QUERY","([^"]+)","([^"]+)"'
)


@pytest.mark.parametrize("name", ["training_cleaned.csv", "training_cleaned_160k.csv"])
def test_sentiment140_has_six_quoted_columns_and_no_header(small, name):
    path = small[name]
    lines = path.read_text().splitlines()
    matches = [_ROW.fullmatch(line) for line in lines]
    assert all(matches), next(line for line, m in zip(lines, matches, strict=True) if not m)
    for m in matches[:50]:
        dt.datetime.strptime(m.group(3) + " 2009", "%a %b %d %H:%M:%S %Y")
    df = pd.read_csv(path, header=None)
    assert df.shape == (len(lines), 6)
    assert set(df[0]) == {0, 4} and set(df[3]) == {"NO_QUERY"}
    assert (df[0] == 0).sum() == (df[0] == 4).sum()
    with path.open(newline="") as f:
        assert all(len(row) == 6 for row in csv.reader(f))
    words = {w for t in df[5] for w in _words(t)}
    assert {"dog", "the", "i"} <= words
    first_positive = int(np.argmax(df[0].to_numpy() == 4))
    if name == "training_cleaned.csv":  # the original's order: negatives, then positives
        assert first_positive == len(lines) // 2
    else:
        assert first_positive < 20


def test_glove_has_a_word_and_100_floats_per_line_and_every_word_the_others_use(small):
    vectors: dict[str, np.ndarray] = {}
    with small["glove.6B.100d.txt"].open() as f:
        for line in f:
            values = line.split()
            assert len(values) == 101 and line.endswith("\n") and "  " not in line
            assert all(len(v.rpartition(".")[2]) <= 6 for v in values[1:])
            vectors[values[0]] = np.asarray(values[1:], dtype="float32")
    assert len(vectors) == standins.SMALL.vocab + 3
    assert list(vectors)[:3] == ["the", ",", "."]
    assert vectors["dog"].shape == (100,)
    used: set[str] = set()
    for name in ["bbc-text.csv", "sonnets.txt", "irish-lyrics-eof.txt"]:
        used |= set(_words(small[name].read_text().replace("category,text", "")))
    used |= {
        w for t in pd.read_csv(small["training_cleaned.csv"], header=None)[5] for w in _words(t)
    }
    used |= {
        w
        for item in json.loads(small["sarcasm.json"].read_text())
        for w in _words(item["headline"])
    }
    used |= {
        w for t in standins.imdb_texts("train", 50, standins.SMALL.vocab)[0] for w in _words(t)
    }
    used -= {"br"}  # the reviews' <br /> markup
    assert used - set(vectors) == set()


def test_floats_are_written_like_glove():
    mat, mask = standins._floats(np.array([0.418, -0.044457, 1.234567, 0.0, -2.5, 0.24968]))
    text = mat[mask].tobytes().decode()
    assert text == " 0.418 -0.044457 1.2346 0.0 -2.5 0.24968"


def test_sonnets_match_the_course_file_shape(small):
    data = small["sonnets.txt"].read_text()
    corpus = data.lower().split("\n")
    assert len(corpus) == 2159 and all(line.strip() for line in corpus)
    tokens = [_words(line) for line in corpus]
    assert len({w for t in tokens for w in t}) == 3187
    assert sum(len(t) - 1 for t in tokens) == 15355
    assert max(len(t) for t in tokens) == 11


def test_sarcasm_is_a_json_list_of_headlines(small):
    items = json.loads(small["sarcasm.json"].read_text())
    assert isinstance(items, list) and len(items) == standins.SMALL.sarcasm
    assert all(list(i) == ["article_link", "headline", "is_sarcastic"] for i in items)
    assert {i["is_sarcastic"] for i in items} == {0, 1}
    assert all(i["article_link"].startswith("https://") and i["headline"] for i in items)


def test_irish_lyrics_have_the_words_the_lesson_looks_up(small):
    words = set(_words(small["irish-lyrics-eof.txt"].read_text()))
    assert {"in", "the", "town", "of", "athy", "one", "jeremy", "lanigan"} <= words


def test_subword_vocabulary_starts_with_the_reserved_tokens(small):
    tokens = small["imdb_vocab_subwords.txt"].read_text().splitlines()
    assert tokens[:2] == ["[PAD]", "[UNK]"] and len(tokens) == len(set(tokens))
    assert "##s" in tokens and "a" in tokens


def test_manifest_names_each_file_with_the_course_urls(small):
    manifest = json.loads((small["sonnets.txt"].parent / "MANIFEST.json").read_text())
    assert set(manifest) == set(FAST)
    for name, entry in manifest.items():
        assert entry["path"] == name
        for url in entry["urls"]:
            assert url.startswith("https://storage.googleapis.com/") and url.endswith("/" + name)
    assert manifest["training_cleaned_160k.csv"]["reads"] == ["./data/training_cleaned.csv"]
    assert set(standins.MANIFEST) == set(standins.NAMES)


_READ_BACK = """
import json, socket, sys
def refuse(*a, **k):
    raise OSError("network refused by the test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
import tensorflow_datasets as tfds
d = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from graders.notebook import kernel_shim
def subwords(first_text):
    # the retired subwords8k config, read as the kernel shim reads it for the older lessons
    builder = kernel_shim._retired_config_builder(tfds, d, "imdb_reviews/subwords8k", {})
    encoder = builder.info.features["text"].encoder
    ids, label = next(iter(builder.as_dataset(split="train", as_supervised=True)))
    return {
        "encoder": type(encoder).__name__, "vocab": encoder.vocab_size,
        "splits": {k: v.num_examples for k, v in builder.info.splits.items()},
        "same_first": encoder.decode(ids.numpy().tolist()) == first_text,
    }
ds = tfds.load("imdb_reviews", data_dir=d, as_supervised=True, download=False)
imdb, info = tfds.load("imdb_reviews", with_info=True, as_supervised=True, data_dir=d)
text, label = next(iter(imdb["train"]))
print("RESULT", json.dumps({
    "splits": {k: int(v.cardinality()) for k, v in ds.items()},
    "info": {k: v.num_examples for k, v in info.splits.items()},
    "labels": info.features["label"].names,
    "text": info.features["text"].__class__.__name__,
    "version": str(info.version), "config": info.config_name,
    "registered": str(tfds.builder_cls("imdb_reviews").BUILDER_CONFIGS[0].version),
    "first": [text.dtype.name, label.dtype.name, int(label)],
    "unsup": sorted({int(x["label"]) for x in tfds.load("imdb_reviews", split="unsupervised",
                     data_dir=d, download=False)}),
    "subwords": subwords(text.numpy().decode()),
}))
"""


@pytest.mark.slow
def test_imdb_tfds_folder_loads_offline_with_the_registered_builder(tmp_path):
    sizes = (40, 30, 20)
    first = standins.imdb_tfds(tmp_path / "a", sizes, standins.SMALL.vocab)
    again = standins.imdb_tfds(tmp_path / "b", sizes, standins.SMALL.vocab)
    assert first.name == "imdb_reviews" and (first / "plain_text" / "1.0.0").is_dir()
    assert _digest(first) == _digest(again)
    run = subprocess.run(
        [sys.executable, "-c", _READ_BACK, str(first.parent), str(ROOT)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.split("RESULT ", 1)[1])
    assert result["splits"] == {"train": 40, "test": 30, "unsupervised": 20}
    assert result["info"] == result["splits"]
    assert result["labels"] == ["neg", "pos"] and result["text"] == "Text"
    assert result["version"] == result["registered"] and result["config"] == "plain_text"
    assert result["first"][:2] == ["string", "int64"] and result["first"][2] in (0, 1)
    assert result["unsup"] == [-1]
    assert (first / "subwords8k" / "1.0.0" / "text.text.subwords").is_file()
    subwords = result["subwords"]
    assert subwords["encoder"] == "SubwordTextEncoder" and subwords["vocab"] > 256
    assert subwords["splits"] == result["splits"] and subwords["same_first"] is True
