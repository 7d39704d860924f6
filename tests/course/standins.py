"""Deterministic stand-ins for the Course 3 data files.

The course's data (BBC news, Sentiment140, the sonnets, GloVe, the sarcasm headlines, the IMDB
reviews in TFDS form) is in neither course repository and cannot be downloaded here, so tests and
instructors need files with the same formats and, where grading time depends on it, the same
sizes. The text is made of generated words, so nothing of the originals is reproduced.

Every file is written from fixed seeds with numpy's legacy ``RandomState`` (whose streams numpy
keeps stable across versions) and integer formatting, so the same call writes the same bytes on
every run; the tests compare hashes of two runs.
The two big files (Sentiment140 and GloVe) are rendered chunk by chunk with vectorised byte
matrices and never held in memory whole.

Command line::

    python -m tests.course.standins OUT_DIR [--small] [--only NAME ...]

writes the files, ``MANIFEST.json`` (file -> course URLs and the paths notebooks read) and prints
sizes and times.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np

# --------------------------------------------------------------------------------------------
# Where the course fetches each file, and where its notebooks read it. Used by the lead to add
# the stand-ins to the dataset store in one loop (`adventures data add FILE --url URL ...`).
# --------------------------------------------------------------------------------------------

_LD = "https://storage.googleapis.com/learning-datasets/"
_TF1 = "https://storage.googleapis.com/tensorflow-1-public/course3/"

MANIFEST: dict[str, dict] = {
    "bbc-text.csv": {
        "urls": [_LD + "bbc-text.csv"],
        "reads": ["./data/bbc-text.csv", "data/bbc-text.csv", "/tmp/bbc-text.csv"],
    },
    "training_cleaned.csv": {
        "urls": [_LD + "training_cleaned.csv"],
        "reads": ["/tmp/training_cleaned.csv"],
        "note": "1,600,000 rows like the file at the URL (old lesson notebooks)",
    },
    "training_cleaned_160k.csv": {
        "urls": [],
        "reads": ["./data/training_cleaned.csv"],
        "note": "the 160,000-row variant the DLAI C3W3 assignment ships in ./data; map it there",
    },
    "glove.6B.100d.txt": {
        "urls": [_LD + "glove.6B.100d.txt"],
        "reads": ["./data/glove.6B.100d.txt", "/tmp/glove.6B.100d.txt"],
    },
    "sonnets.txt": {
        "urls": [_LD + "sonnets.txt"],
        "reads": ["./data/sonnets.txt", "/tmp/sonnets.txt"],
    },
    "sarcasm.json": {
        "urls": [_TF1 + "sarcasm.json", _LD + "sarcasm.json"],
        "reads": ["./sarcasm.json", "/tmp/sarcasm.json"],
    },
    "irish-lyrics-eof.txt": {
        "urls": [_TF1 + "irish-lyrics-eof.txt", _LD + "irish-lyrics-eof.txt"],
        "reads": ["./irish-lyrics-eof.txt", "/tmp/irish-lyrics-eof.txt"],
    },
    "imdb_vocab_subwords.txt": {
        "urls": [_TF1 + "imdb_vocab_subwords.txt"],
        "reads": ["./imdb_vocab_subwords.txt"],
    },
    "imdb_reviews": {
        "urls": [],
        "reads": ["./data/", "../data/"],
        "tfds": True,
        "note": "a TFDS data_dir entry: the folder imdb_reviews/plain_text/1.0.0; its parent is "
        "the data_dir the labs pass (data_dir='./data/')",
    },
}


@dataclass(frozen=True)
class Sizes:
    """How much of each file to write; FULL matches the originals where size matters."""

    vocab: int  # words in the shared vocabulary; GloVe has these plus a few punctuation tokens
    bbc: int
    s140: int
    s140_dlai: int
    sarcasm: int
    imdb: tuple[int, int, int]  # train, test, unsupervised


FULL = Sizes(
    vocab=399_997,
    bbc=2225,
    s140=1_600_000,
    s140_dlai=160_000,
    sarcasm=26_709,
    imdb=(25_000, 25_000, 50_000),
)
SMALL = Sizes(vocab=5_997, bbc=200, s140=2000, s140_dlai=1000, sarcasm=500, imdb=(200, 200, 200))

# --------------------------------------------------------------------------------------------
# Vocabulary: a few hundred common English words (frequency-ordered, stopwords first) followed
# by generated pseudo-words. Every text stand-in draws its words from this one list, and the
# GloVe stand-in has a vector for each, so embedding look-ups hit as they do on the originals.
# --------------------------------------------------------------------------------------------

_FUNCTION = """
the of and to a in is that for it was on with he as you at by be this have from or had not but
are his they she which we an her were there all their been has one would will if more when who
so no what about up out them can its my into him than only other some could then these two may
like any our do over after me most did many before through where just much your those very how
even because back well now down should us while both here such each own same off again against
above below between during under until once further few nor too why whom myself itself am
being having doing does i yourself himself herself ourselves themselves theirs ours hers yours
""".split()

_CONTENT = """
new time year people day way man world life work part child woman place week company system
program question number night point home water room mother area money story fact month lot
right study book eye job word business issue side kind head house service friend father power
hour game line end member law car city community name president team minute idea kid body
school face level office door health person art war history party result change morning reason
research girl guy moment air teacher force education foot boy age policy music market sense
nation plan college interest death experience effect class control care field role effort rate
heart show leader light voice wife police mind price report decision son view town road arm
value building action model season society tax director position player record paper space
ground form event official matter center couple site project activity star table need court
oil situation cost industry figure street image phone data picture practice piece land product
doctor wall patient worker news test movie film love support technology dog cat
""".split()

_TOPICS = {
    "tech": """tech computer software internet mobile digital online network website video users
    broadband devices gadget microsoft apple google chip screen data download games console
    virus security spam wireless camera laptop search""".split(),
    "business": """market shares stock bank economy growth prices dollar euro trade deal
    investment investors chief executive quarter profits sales firms rise fall jobs
    economic firm bid deficit rates inflation analysts""".split(),
    "sport": """sport match win won cup league club coach players champion final goal goals
    injury england wales ireland france olympic race title squad rugby football cricket tennis
    victory defeat striker""".split(),
    "entertainment": """entertainment album band singer actor actress award awards box office chart festival
    stage comedy drama series television tv radio channel oscar hollywood hit star singles
    director films concert""".split(),
    "politics": """politics minister election labour tory prime parliament vote voters campaign blair
    howard democrats tories bill lords mps secretary spokesman conservative leader reform
    immigration commons chancellor""".split(),
}

_POSITIVE = """good great happy love awesome nice best fun glad thanks thank excellent wonderful
amazing beautiful perfect enjoy enjoyed lovely brilliant cool yay haha lol excited favorite
fantastic superb sweet hope smile laugh""".split()

_NEGATIVE = """bad sad hate sick tired sorry miss missed worst awful terrible boring poor wrong
hurt pain cry crying upset angry annoying ugh fail failed lost broken lonely bored horrible
waste disappointing stupid worse""".split()

_EXTRA = """
today tonight tomorrow weekend twitter sleep coffee lunch dinner work tired class exam summer
rain sun friday monday night bed phone watching going getting feeling want know think
plot acting characters ending scene scenes script actors cast watch seen story minutes
thou thee thy thine doth hath art shall beauty youth age eyes fair sweet rose verse praise
truth self mine still time summer winter spring muse
green hills maid lass dublin galway sea boat wild rover whiskey river county mother fiddle
athy jeremy lanigan ball dance song sing sang wind shore
area nation local finds announces reveals americans report study
""".split()

_SYLLABLE_ONSETS = "b c d f g h j k l m n p r s t v w z br cr dr fl gr pl pr st tr sh ch th".split()
_SYLLABLE_VOWELS = "a e i o u a e i o ai ea ou".split()
_SYLLABLE_CODAS = ["", "", "", "n", "r", "l", "s", "t", "m", "nd", "rt", "st", "ng"]

# GloVe has punctuation tokens near the top; they are in the embedding file only.
_GLOVE_PUNCT = [",", ".", '"']


def _common_words() -> list[str]:
    words: list[str] = []
    for group in (
        _FUNCTION,
        _CONTENT,
        *(_TOPICS[k] for k in sorted(_TOPICS)),
        _POSITIVE,
        _NEGATIVE,
        _EXTRA,
    ):
        words.extend(group)
    return list(dict.fromkeys(words))


@functools.lru_cache(maxsize=1)
def _full_vocabulary() -> tuple[str, ...]:
    """Built in fixed batches, so every smaller vocabulary is a prefix of the full one."""
    common = _common_words()
    rs = np.random.RandomState(1001)
    sylls = [o + v + c for o in _SYLLABLE_ONSETS for v in _SYLLABLE_VOWELS for c in _SYLLABLE_CODAS]
    sylls = list(dict.fromkeys(sylls))
    seen = set(common)
    words = list(common)
    while len(words) < FULL.vocab:
        # short words first (as in real corpora), three syllables once 60,000 words exist
        n_syll = 2 if len(words) < 60_000 else 3
        for row in rs.randint(0, len(sylls), size=(50_000, n_syll)).tolist():
            w = "".join(sylls[i] for i in row)
            if w not in seen:
                seen.add(w)
                words.append(w)
    return tuple(words[: FULL.vocab])


def vocabulary(size: int) -> tuple[str, ...]:
    """The shared word list, frequency-ordered: common words, then unique pseudo-words."""
    if size > FULL.vocab:
        raise ValueError(f"at most {FULL.vocab} words")
    return _full_vocabulary()[:size]


def _rank_of(words: Iterable[str], vocab: tuple[str, ...]) -> np.ndarray:
    index = {w: i for i, w in enumerate(vocab[:5000])}
    return np.array([index[w] for w in words], dtype=np.int64)


class _Zipf:
    """Samples ranks [0, n) with Zipf-Mandelbrot weights; searchsorted keeps it stream-stable."""

    def __init__(self, n: int, s: float = 1.05, q: float = 2.7):
        p = 1.0 / (np.arange(n, dtype=np.float64) + q) ** s
        self.cdf = np.cumsum(p)
        self.cdf /= self.cdf[-1]
        self.n = n

    def sample(self, rs: np.random.RandomState, size) -> np.ndarray:
        idx = np.searchsorted(self.cdf, rs.random_sample(size), side="right")
        return np.minimum(idx, self.n - 1)


# --------------------------------------------------------------------------------------------
# Vectorised rendering: each column is a (rows, width) byte matrix plus a mask of the bytes a
# row keeps; concatenating the columns and applying the mask yields the rows' bytes in order.
# --------------------------------------------------------------------------------------------


@dataclass
class _Table:
    mat: np.ndarray  # (n, width) uint8
    mask: np.ndarray  # (n, width) bool

    @classmethod
    def of(cls, items: list[bytes]) -> _Table:
        lens = np.fromiter((len(b) for b in items), dtype=np.int64, count=len(items))
        width = max(1, int(lens.max()) if len(items) else 1)
        mat = np.zeros((len(items), width), dtype=np.uint8)
        flat = np.frombuffer(b"".join(items), dtype=np.uint8)
        rows = np.repeat(np.arange(len(items)), lens)
        starts = np.cumsum(lens) - lens
        cols = np.arange(flat.size) - np.repeat(starts, lens)
        mat[rows, cols] = flat
        return cls(mat, np.arange(width)[None, :] < lens[:, None])


def _const(text: bytes, n: int) -> tuple[np.ndarray, None]:
    return np.broadcast_to(np.frombuffer(text, dtype=np.uint8), (n, len(text))), None


def _render(columns: list[tuple[np.ndarray, np.ndarray | None]]) -> bytes:
    mats = [m for m, _ in columns]
    masks = [np.ones(m.shape, dtype=bool) if k is None else k for m, k in columns]
    return np.concatenate(mats, axis=1)[np.concatenate(masks, axis=1)].tobytes()


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers[None, :]) % 10 + 48).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# bbc-text.csv
# --------------------------------------------------------------------------------------------

_BBC_COUNTS = {"sport": 511, "business": 510, "politics": 417, "tech": 401, "entertainment": 386}
# The first rows' categories follow the course file's (its notebooks print them).
_BBC_FIRST = ["tech", "business", "sport", "sport", "entertainment", "politics", "politics"]
_BBC_FIRST += ["sport", "sport", "entertainment"]


def _bbc_categories(rows: int, rs: np.random.RandomState) -> list[str]:
    """The course file's class balance, its first ten categories, the rest shuffled."""
    total = sum(_BBC_COUNTS.values())
    pool: list[str] = []
    for cat, count in _BBC_COUNTS.items():
        pool += [cat] * round(count * rows / total)
    while len(pool) < rows:
        pool.append(list(_BBC_COUNTS)[len(pool) % 5])
    pool = pool[:rows]
    head = _BBC_FIRST[:rows]
    for cat in head:
        pool.remove(cat if cat in pool else pool[-1])
    return head + [pool[i] for i in rs.permutation(len(pool))]


def bbc_text(path: Path, rows: int = FULL.bbc, vocab_size: int = FULL.vocab) -> Path:
    """`category,text` with a header; lower-case articles with no commas or quotes.

    The course reads it with csv.reader and with np.loadtxt(delimiter=','), so the text has
    neither commas nor quotes, as in the original. Each category has its own topic words, so a
    classifier has something to learn.
    """
    vocab = vocabulary(vocab_size)
    rs = np.random.RandomState(2225)
    cats = _bbc_categories(rows, rs)
    general = _Zipf(min(vocab_size, 38_000), s=1.08)
    n_common = len(_common_words())
    topic_len = min(3000, (vocab_size - n_common) // 5)
    topic_zipf = _Zipf(topic_len, s=1.0)
    lengths = np.clip(rs.lognormal(np.log(330), 0.5, size=rows), 90, 4400).astype(np.int64)
    if rows:
        lengths[0] = 737  # the course prints the first article's length
    out = ["category,text\n"]
    for cat, n in zip(cats, lengths.tolist(), strict=True):
        ids = general.sample(rs, n)
        topical = rs.random_sample(n) < 0.22
        own = _rank_of(_TOPICS[cat], vocab)
        picks = topic_zipf.sample(rs, int(topical.sum()))
        # the category's own words first, then its slice of pseudo-words
        start = n_common + topic_len * sorted(_TOPICS).index(cat)
        ids[topical] = np.where(
            picks < len(own), own[np.minimum(picks, len(own) - 1)], start + picks
        )
        words = [vocab[i] for i in ids.tolist()]
        for j in rs.randint(12, 30, size=n // 12 + 1).cumsum().tolist():
            if j < n - 1:
                words[j] += "."
        out.append(f"{cat},{' '.join(words)}.\n")
    path.write_text("".join(out), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Sentiment140 training_cleaned.csv
# --------------------------------------------------------------------------------------------

_DAYS = np.frombuffer(b"MonTueWedThuFriSatSun", dtype=np.uint8).reshape(7, 3)
_MONTHS = np.frombuffer(b"JanFebMarAprMayJunJulAugSepOctNovDec", dtype=np.uint8).reshape(12, 3)
_START = int(np.datetime64("2009-04-06T22:19:45", "s").astype(np.int64))
_END = int(np.datetime64("2009-06-25T10:28:31", "s").astype(np.int64))


def _dates(seconds: np.ndarray) -> np.ndarray:
    """'Mon Apr 06 22:19:45 PDT 2009' as a (n, 28) byte matrix."""
    n = seconds.size
    days = seconds // 86400
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    day_dt = days.astype("datetime64[D]")
    month_dt = day_dt.astype("datetime64[M]")
    month = month_dt.astype(np.int64) % 12
    mday = (day_dt - month_dt.astype("datetime64[D]")).astype(np.int64) + 1
    sod = seconds % 86400
    hms = sod // 3600 * 10000 + sod // 60 % 60 * 100 + sod % 60
    hms_d = _digits(hms, 6)
    colon = np.full((n, 1), ord(":"), dtype=np.uint8)
    sp = np.full((n, 1), ord(" "), dtype=np.uint8)
    parts = [_DAYS[weekday], sp, _MONTHS[month], sp, _digits(mday, 2), sp]
    parts += [hms_d[:, 0:2], colon, hms_d[:, 2:4], colon, hms_d[:, 4:6]]
    parts.append(np.broadcast_to(np.frombuffer(b" PDT 2009", dtype=np.uint8), (n, 9)))
    return np.concatenate(parts, axis=1)


def _users(count: int, vocab: tuple[str, ...], rs: np.random.RandomState) -> _Table:
    names = []
    a = rs.randint(len(_common_words()), len(vocab), size=count).tolist()
    style = rs.randint(0, 6, size=count).tolist()
    num = rs.randint(1, 999, size=count).tolist()
    for w, s, k in zip(a, style, num, strict=True):
        base = vocab[w]
        name = [base, base.capitalize(), f"{base}{k}", f"_{base}_", f"{base}_{k}", base.upper()][s]
        names.append(name[:15].encode())
    return _Table.of(names)


_TWEET_END = [b"", b"", b"", b"!", b"!!", b"...", b"?", b" :)", b" :(", b" lol", b" haha"]


def sentiment140(
    path: Path,
    rows: int = FULL.s140,
    vocab_size: int = FULL.vocab,
    *,
    shuffled: bool = False,
    seed: int = 140,
    chunk: int = 50_000,
) -> Path:
    """Six quoted columns, no header: label ("0"/"4"), id, date, "NO_QUERY", user, text.

    Like the original, the full file has all negative tweets first, then all positive ones, each
    in date order; `shuffled` mixes them (the 160k variant the DLAI assignment ships).
    """
    vocab = vocabulary(vocab_size)
    rs = np.random.RandomState(seed)
    words = _Table.of([w.encode() for w in vocab])
    seps = _Table.of([b" ", b", "])
    ends = _Table.of(_TWEET_END)
    users = _users(max(1, rows // 7), vocab, rs)
    zipf = _Zipf(vocab_size, s=1.15)
    pos_ids = _rank_of(_POSITIVE, vocab)
    neg_ids = _rank_of(_NEGATIVE, vocab)
    dog = vocab.index("dog")

    labels = np.zeros(rows, dtype=np.int64)
    labels[rows // 2 :] = 4
    if shuffled:
        labels = labels[rs.permutation(rows)]
        order = np.sort(rs.randint(_START, _END, size=rows))
    else:
        half = rows // 2
        order = np.concatenate(
            [
                np.sort(rs.randint(_START, _END, size=half)),
                np.sort(rs.randint(_START, _END, size=rows - half)),
            ]
        )
    tweet_ids = 1467810369 + np.cumsum(rs.randint(1, 600, size=rows))

    kmax = 30
    with path.open("wb", buffering=1 << 22) as f:
        for lo in range(0, rows, chunk):
            hi = min(rows, lo + chunk)
            n = hi - lo
            lab = labels[lo:hi]
            k = np.clip(rs.lognormal(np.log(12), 0.55, size=n), 1, kmax).astype(np.int64)
            live = np.arange(kmax)[None, :] < k[:, None]
            last = np.arange(kmax)[None, :] == (k - 1)[:, None]
            # words only for the slots a tweet uses: sentiment words for its label, "dog" now
            # and then, the rest from the Zipf draw
            total = int(k.sum())
            flat = zipf.sample(rs, total)
            positive = np.repeat(lab == 4, k)
            senti = rs.random_sample(total) < 0.07
            pick = np.where(
                positive,
                pos_ids[rs.randint(0, len(pos_ids), size=total)],
                neg_ids[rs.randint(0, len(neg_ids), size=total)],
            )
            flat = np.where(senti, pick, flat)
            flat[rs.random_sample(total) < 0.0008] = dog
            ids = np.zeros((n, kmax), dtype=np.int64)
            ids[live] = flat
            sep = (rs.random_sample((n, kmax)) < 0.06).astype(np.int64)
            end = rs.randint(0, len(_TWEET_END), size=n)

            wm = words.mat[ids]
            wk = words.mask[ids] & live[:, :, None]
            sm = seps.mat[sep]
            sk = seps.mask[sep] & (live & ~last)[:, :, None]
            text = np.concatenate([wm, sm], axis=2).reshape(n, -1)
            text_k = np.concatenate([wk, sk], axis=2).reshape(n, -1)
            cap = rs.random_sample(n) < 0.4  # some tweets start with a capital
            first = text[:, 0]
            text = text.copy()
            text[:, 0] = np.where(cap & (first >= 97) & (first <= 122), first - 32, first)

            u = rs.randint(0, users.mat.shape[0], size=n)
            cols = [
                _const(b'"', n),
                (np.where(lab == 4, ord("4"), ord("0")).astype(np.uint8)[:, None], None),
                _const(b'","', n),
                (_digits(tweet_ids[lo:hi], 10), None),
                _const(b'","', n),
                (_dates(order[lo:hi]), None),
                _const(b'","NO_QUERY","', n),
                (users.mat[u], users.mask[u]),
                _const(b'","', n),
                (text, text_k),
                (ends.mat[end], ends.mask[end]),
                _const(b'"\n', n),
            ]
            f.write(_render(cols))
    return path


# --------------------------------------------------------------------------------------------
# GloVe
# --------------------------------------------------------------------------------------------


def _floats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """' -0.12345' per value, about five significant digits, trailing zeros dropped."""
    q = np.rint(values * 1e6).astype(np.int64)
    a = np.abs(q)
    keep = np.where(a >= 1_000_000, 100, np.where(a >= 100_000, 10, 1))  # 4, 5 or 6 decimals
    a = np.minimum((a + keep // 2) // keep * keep, 9_999_999)
    frac = a % 1_000_000
    tz = np.zeros(a.shape, dtype=np.int64)
    for p in range(1, 7):
        tz += frac % (10**p) == 0
    ndec = np.maximum(1, 6 - tz)
    shape = a.shape + (10,)
    mat = np.empty(shape, dtype=np.uint8)
    mat[..., 0] = ord(" ")
    mat[..., 1] = ord("-")
    mat[..., 2] = a // 1_000_000 + 48
    mat[..., 3] = ord(".")
    for p in range(6):
        mat[..., 4 + p] = frac // 10 ** (5 - p) % 10 + 48
    mask = np.ones(shape, dtype=bool)
    mask[..., 1] = (q < 0) & (a > 0)
    mask[..., 4:] = np.arange(6) < ndec[..., None]
    return mat, mask


def glove_words(vocab_size: int) -> list[str]:
    """GloVe's word order: the shared vocabulary with punctuation tokens near the top."""
    vocab = list(vocabulary(vocab_size))
    return vocab[:1] + _GLOVE_PUNCT + vocab[1:]


def glove(path: Path, vocab_size: int = FULL.vocab, dim: int = 100, chunk: int = 10_000) -> Path:
    """A word and `dim` floats per line, space-separated, like glove.6B.100d.txt."""
    words = glove_words(vocab_size)
    table = _Table.of([w.encode() for w in words])
    rs = np.random.RandomState(6)
    sentiment = np.zeros(len(words))
    index = {w: i for i, w in enumerate(words[:5000])}
    sentiment[[index[w] for w in _POSITIVE]] = 1.0
    sentiment[[index[w] for w in _NEGATIVE]] = -1.0
    with path.open("wb", buffering=1 << 22) as f:
        for lo in range(0, len(words), chunk):
            hi = min(len(words), lo + chunk)
            n = hi - lo
            v = rs.standard_normal((n, dim)) * 0.4
            v[:, :4] += 0.6 * sentiment[lo:hi, None]
            v = np.clip(v, -9.9, 9.9)
            fm, fk = _floats(v)
            cols = [
                (table.mat[lo:hi], table.mask[lo:hi]),
                (fm.reshape(n, -1), fk.reshape(n, -1)),
                _const(b"\n", n),
            ]
            f.write(_render(cols))
    return path


# --------------------------------------------------------------------------------------------
# Verse: sonnets.txt and irish-lyrics-eof.txt
# --------------------------------------------------------------------------------------------


def _verse(
    lines: int,
    tokens: int,
    vocab_words: list[str],
    rs: np.random.RandomState,
    min_len: int,
    max_len: int,
    ends: list[str],
    end_p: list[float],
) -> list[str]:
    """Lines whose words cover `vocab_words` exactly, with `tokens` words in all."""
    lens = rs.randint(min_len, max_len + 1, size=lines)
    lens[rs.randint(0, lines)] = max_len
    while lens.sum() != tokens:
        i = rs.randint(0, lines)
        if lens.sum() < tokens and lens[i] < max_len:
            lens[i] += 1
        elif lens.sum() > tokens and lens[i] > min_len:
            lens[i] -= 1
    ids = _Zipf(len(vocab_words), s=1.0).sample(rs, tokens)
    slots = rs.permutation(tokens)[: len(vocab_words)]
    ids[slots] = np.arange(len(vocab_words))  # every word appears at least once
    punct = rs.choice(len(ends), size=lines, p=end_p)
    out, pos = [], 0
    for n, p in zip(lens.tolist(), punct.tolist(), strict=True):
        words = [vocab_words[i] for i in ids[pos : pos + n].tolist()]
        pos += n
        words[0] = words[0].capitalize()
        out.append(" ".join(words) + ends[p])
    return out


def sonnets(path: Path) -> Path:
    """154 sonnets, 2,159 lines with no blank ones, as the course's file.

    Sized like the original for the assignment's printed expectations: split on newlines it is
    2,159 lines, 3,187 distinct words, 15,355 n-grams, 11 words at most per line.
    """
    vocab = vocabulary(max(SMALL.vocab, 4000))
    rs = np.random.RandomState(154)
    words = list(vocab[:3187])
    ends = [",", ".", ";", ":", "?", "!", ""]
    end_p = [0.5, 0.2, 0.1, 0.08, 0.05, 0.03, 0.04]
    lines = _verse(2159, 15355 + 2159, words, rs, 5, 11, ends, end_p)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def irish_lyrics(path: Path) -> Path:
    """Song lines (1,692), the words the lesson looks up ('athy', 'lanigan', ...) included."""
    vocab = vocabulary(max(SMALL.vocab, 4000))
    rs = np.random.RandomState(1692)
    words = list(dict.fromkeys([*vocab[:2690], "town", "athy", "jeremy", "lanigan"]))
    lines = _verse(1692, 1692 * 8, words, rs, 3, 13, ["", ",", "."], [0.7, 0.2, 0.1])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# sarcasm.json
# --------------------------------------------------------------------------------------------


def sarcasm(path: Path, items: int = FULL.sarcasm, vocab_size: int = FULL.vocab) -> Path:
    """A JSON list of {article_link, headline, is_sarcastic}, read with json.load."""
    vocab = vocabulary(vocab_size)
    rs = np.random.RandomState(26709)
    sarcastic = np.zeros(items, dtype=np.int64)
    sarcastic[: round(items * 11724 / 26709)] = 1
    sarcastic = sarcastic[rs.permutation(items)]
    zipf = _Zipf(min(vocab_size, 40_000), s=1.0)
    flavour = _rank_of(["area", "man", "nation", "local", "finds", "announces", "reveals"], vocab)
    lens = np.clip(rs.normal(10, 3.5, size=items), 2, 38).astype(np.int64)
    rows = []
    for n, s in zip(lens.tolist(), sarcastic.tolist(), strict=True):
        ids = zipf.sample(rs, n)
        if s:
            ids[rs.random_sample(n) < 0.15] = flavour[rs.randint(0, len(flavour))]
        words = [vocab[i] for i in ids.tolist()]
        slug = "-".join(words[:6])
        if s:
            link = f"https://satire.example.com/{slug}-{rs.randint(10**9, 2**31 - 1)}"
        else:
            link = f"https://news.example.com/entry/{slug}_us_{rs.randint(0, 2**31 - 1):08x}"
        rows.append(
            json.dumps({"article_link": link, "headline": " ".join(words), "is_sarcastic": s})
        )
    path.write_text("[" + ",\n".join(rows) + "]", encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# IMDB reviews: texts, a WordPiece vocabulary file and a TFDS data_dir
# --------------------------------------------------------------------------------------------

_IMDB_SEEDS = {"train": 25, "test": 52, "unsupervised": 50}


def imdb_texts(split: str, count: int, vocab_size: int = FULL.vocab) -> tuple[list[str], list[int]]:
    """Short reviews with <br /> breaks; labels 0/1 (neg/pos), -1 for 'unsupervised'."""
    vocab = vocabulary(vocab_size)
    rs = np.random.RandomState(_IMDB_SEEDS[split])
    zipf = _Zipf(min(vocab_size, 50_000), s=1.05)
    pos_ids = _rank_of(_POSITIVE, vocab)
    neg_ids = _rank_of(_NEGATIVE, vocab)
    if split == "unsupervised":
        labels = [-1] * count
        tone = rs.randint(0, 2, size=count)
    else:
        tone = np.zeros(count, dtype=np.int64)
        tone[count // 2 :] = 1
        tone = tone[rs.permutation(count)]
        labels = tone.tolist()
    lens = np.clip(rs.lognormal(np.log(55), 0.5, size=count), 8, 300).astype(np.int64)
    texts = []
    for n, t in zip(lens.tolist(), tone.tolist(), strict=True):
        ids = zipf.sample(rs, n)
        senti = rs.random_sample(n) < 0.08
        pool = pos_ids if t else neg_ids
        ids[senti] = pool[rs.randint(0, len(pool), size=int(senti.sum()))]
        words = [vocab[i] for i in ids.tolist()]
        stops = rs.randint(6, 20, size=n // 6 + 1).cumsum()
        cut = 0
        sentences = []
        for j in [*stops.tolist(), n]:
            if j > cut:
                part = words[cut : min(j, n)]
                part[0] = part[0].capitalize()
                sentences.append(" ".join(part) + ".")
                cut = j
            if cut >= n:
                break
        text = ""
        for i, sentence in enumerate(sentences):
            text += (
                "" if i == 0 else "<br /><br />" if rs.random_sample() < 0.15 else " "
            ) + sentence
        texts.append(text)
    return texts, labels


def imdb_vocab_subwords(
    path: Path, vocab_size: int = FULL.vocab, train: int = FULL.imdb[0]
) -> Path:
    """A WordPiece vocabulary (8,000 lines) like the one the labs download: reserved tokens,
    single characters, '##' characters, frequent suffixes, then whole words by frequency."""
    texts, _ = imdb_texts("train", train, vocab_size)
    counts: dict[str, int] = {}
    chars: set[str] = set()
    for text in texts:
        for w in text.replace("<br />", " <br /> ").replace(".", " . ").split():
            counts[w] = counts.get(w, 0) + 1
            chars.update(w)
    tokens = ["[PAD]", "[UNK]"]
    tokens += sorted(chars | set("abcdefghijklmnopqrstuvwxyz"))
    tokens += ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]
    tokens += ["##" + s for s in "s ed ing er ly ion est ness ment able al ic ous".split()]
    tokens = list(dict.fromkeys(tokens))
    have = set(tokens)
    for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(tokens) >= 8000:
            break
        if len(w) > 1 and w not in have:
            tokens.append(w)
            have.add(w)
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path


SUBWORDS_TARGET = 2**13  # the retired config's target vocabulary size (its name says 8k)


def imdb_tfds(
    data_dir: Path,
    sizes: tuple[int, int, int] = FULL.imdb,
    vocab_size: int = FULL.vocab,
    subwords_target: int = SUBWORDS_TARGET,
) -> Path:
    """Writes `imdb_reviews/plain_text/<version>` and `imdb_reviews/subwords8k/<version>` into
    `data_dir` with TFDS's own writer.

    A subclass of the installed ImdbReviews builder (same name, config, version and features,
    not registered) prepares the splits from generated reviews, so the registered builder reads
    plain_text back with `tfds.load("imdb_reviews", data_dir=..., download=False)`.
    subwords8k is the config tfds 4.x retired (the older lessons load it): the same reviews,
    int-encoded by a SubwordTextEncoder built from the train split as tfds built it, saved as
    `text.text.subwords` beside the records, where the config's Text feature reads it back.
    Returns the `imdb_reviews` folder.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow_datasets as tfds
    from etils import epath
    from tensorflow_datasets.core import example_serializer
    from tensorflow_datasets.datasets.imdb_reviews import imdb_reviews_dataset_builder as imdb

    split_sizes = dict(zip(("train", "test", "unsupervised"), sizes, strict=True))

    text = tfds.deprecated.text
    subwords = imdb.IMDBReviewsConfig(
        name="subwords8k",
        description="Uses `tfds.deprecated.text.SubwordTextEncoder` with 8k vocab size",
        text_encoder_config=text.TextEncoderConfig(
            encoder_cls=text.SubwordTextEncoder, vocab_size=subwords_target
        ),
    )

    class StandIn(imdb.Builder, skip_registration=True):
        name = "imdb_reviews"
        BUILDER_CONFIGS = [*imdb.Builder.BUILDER_CONFIGS, subwords]
        # the real builder's files, for its description, citation and checksums, wherever
        # this class is defined
        pkg_dir_path = imdb.Builder._get_pkg_dir_path()
        code_path = epath.Path(inspect.getfile(imdb.Builder))

        def _split_generators(self, dl_manager):
            # a no-op for plain_text; subwords8k builds its encoder from the train split
            train, _ = imdb_texts("train", split_sizes["train"], vocab_size)
            self.info.features["text"].maybe_build_from_corpus(iter(train))
            return {split: self._generate_examples(split) for split in split_sizes}

        def _generate_examples(self, split):
            texts, labels = imdb_texts(split, split_sizes[split], vocab_size)
            for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
                yield f"{split}_{i:06d}", {"text": text, "label": label}

    def deterministic(self, example):
        # tf.Example's feature map is written in hash order unless asked otherwise
        return self.get_tf_example(example).SerializeToString(deterministic=True)

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    serializer = example_serializer.ExampleSerializer
    with (
        tempfile.TemporaryDirectory(prefix="standin-tfds-") as tmp,
        mock.patch.object(serializer, "serialize_example", deterministic),
    ):
        tfds.disable_progress_bar()
        for config in ("plain_text", "subwords8k"):
            builder = StandIn(data_dir=tmp, config=config)
            builder.download_and_prepare(
                download_dir=os.path.join(tmp, "downloads"),
                download_config=tfds.download.DownloadConfig(try_download_gcs=False),
            )
        built = Path(tmp) / "imdb_reviews"
        _normalise_info(built, imdb.Builder.__module__)
        target = data_dir / "imdb_reviews"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(built, target)
    return target


def _normalise_info(folder: Path, module: str) -> None:
    """Names the real builder's module in dataset_info.json, so nothing points at this file."""
    for info in folder.rglob("dataset_info.json"):
        data = json.loads(info.read_text())
        if "moduleName" in data:
            data["moduleName"] = module
        info.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


# --------------------------------------------------------------------------------------------
# Everything at once
# --------------------------------------------------------------------------------------------


def _writers(sizes: Sizes) -> dict[str, Callable[[Path], Path]]:
    v = sizes.vocab
    return {
        "bbc-text.csv": lambda p: bbc_text(p, sizes.bbc, v),
        "training_cleaned.csv": lambda p: sentiment140(p, sizes.s140, v),
        "training_cleaned_160k.csv": lambda p: sentiment140(
            p, sizes.s140_dlai, v, shuffled=True, seed=160
        ),
        "glove.6B.100d.txt": lambda p: glove(p, v),
        "sonnets.txt": sonnets,
        "sarcasm.json": lambda p: sarcasm(p, sizes.sarcasm, v),
        "irish-lyrics-eof.txt": irish_lyrics,
        "imdb_vocab_subwords.txt": lambda p: imdb_vocab_subwords(p, v, sizes.imdb[0]),
        "imdb_reviews": lambda p: imdb_tfds(p.parent, sizes.imdb, v),
    }


NAMES = tuple(MANIFEST)


def write_all(
    out_dir: Path | str,
    small: bool = False,
    only: Iterable[str] | None = None,
    timings: dict[str, float] | None = None,
) -> dict[str, Path]:
    """Writes the stand-ins (all, or the names in `only`) and MANIFEST.json into `out_dir`.

    Returns name -> path; for "imdb_reviews" the path is the TFDS dataset folder, whose parent
    (`out_dir`) is the data_dir to load it from.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writers = _writers(SMALL if small else FULL)
    names = list(NAMES if only is None else only)
    unknown = [n for n in names if n not in writers]
    if unknown:
        raise ValueError(f"unknown stand-in(s): {unknown}; known: {list(NAMES)}")
    written: dict[str, Path] = {}
    for name in names:
        t0 = time.perf_counter()
        written[name] = writers[name](out / name)
        if timings is not None:
            timings[name] = time.perf_counter() - t0
    write_manifest(out, written)
    return written


def write_manifest(out_dir: Path, written: dict[str, Path]) -> Path:
    """MANIFEST.json: for each written file its relative path, course URLs and read paths."""
    entries = {
        name: {"path": str(path.relative_to(out_dir)), **MANIFEST[name]}
        for name, path in written.items()
    }
    path = out_dir / "MANIFEST.json"
    path.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.course.standins", description=__doc__.split("\n")[0]
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--small", action="store_true", help="small sizes, for fast tests")
    parser.add_argument("--only", nargs="+", choices=NAMES, help="write only these")
    args = parser.parse_args(argv)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    written = write_all(args.out_dir, small=args.small, only=args.only, timings=timings)
    for name, path in written.items():
        print(f"{name:28s} {_size(path):>13,d} bytes {timings[name]:7.2f} s  {path}")
    print(
        f"{'total':28s} {sum(_size(p) for p in written.values()):>13,d} bytes "
        f"{time.perf_counter() - t0:7.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
