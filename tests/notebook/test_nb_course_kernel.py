"""The course's kernel: what Course 3 imports, figures, offline downloads, course-era code.

Fast tests read the kernel shim's manifest matching and the harness's notes line on
the host; the slow ones run notebooks in a real sandboxed kernel (bubblewrap), with
a small data folder and download manifest made here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest

from graders.notebook import Limits
from graders.notebook import kernel_shim as shim
from graders.notebook.execute import execute
from graders.notebook.harness import harness_source, new_nonce, parse_kernel_notes
from graders.notebook.kernel import take_kernel

SARCASM_URL = "https://storage.googleapis.com/learning-datasets/sarcasm.json"
ZIP_URL = "https://example.org/files/archive.zip"
UNPACKED_URL = "https://example.org/files/unpacked.zip"
DRIVE_URL = "https://drive.google.com/uc?id=1AbCdEf"
MISSING_URL = "https://nowhere.example/missing.bin"
DATA_SLUG = "course-kernel-data"


# --- on the host: matching and the notes line ----------------------------------------------


def _manifest(data: Path, **doc) -> None:
    full = {"urls": {}, "names": {}, "tfds_dir": None, "paths": {}, **doc}
    (data / ".adventures-downloads.json").write_text(json.dumps(full))


def test_a_download_is_found_by_url_then_by_file_name(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "sarcasm.json").write_text("[]")
    (tmp_path / "bbc-text.csv").write_text("category,text\n")
    (tmp_path / "drive.csv").write_text("x\n")
    _manifest(
        tmp_path,
        urls={SARCASM_URL: "a/sarcasm.json", DRIVE_URL: "drive.csv", "https://x/esc": "../etc"},
        names={"renamed.json": "a/sarcasm.json"},
    )
    found = shim.Downloads(str(tmp_path)).find
    assert found(SARCASM_URL) == str(tmp_path / "a" / "sarcasm.json")
    assert found(SARCASM_URL.replace("https", "http") + "/") == str(tmp_path / "a/sarcasm.json")
    assert found("https://drive.google.com/file/d/1AbCdEf/view") == str(tmp_path / "drive.csv")
    assert found("https://other.host/x/renamed.json") == str(tmp_path / "a" / "sarcasm.json")
    assert found("https://other.host/bbc-text.csv") == str(tmp_path / "bbc-text.csv")
    assert found("https://other.host/data", "renamed.json") == str(tmp_path / "a/sarcasm.json")
    assert found("https://x/esc") is None  # a path out of ./data is never served
    assert found(MISSING_URL) is None
    assert found("https://h/.adventures-downloads.json") is None


def test_kernel_notes_come_from_the_nonce_line_capped():
    nonce = new_nonce()
    lines = [
        {"check": "__notes__", "nonce": "forged", "notes": ["not this"]},
        {"check": "a", "nonce": nonce, "ok": True, "value": 1},
        {
            "check": "__notes__",
            "nonce": nonce,
            "notes": ["x" * 400, 3, *[f"n{i}" for i in range(30)]],
        },
        {"check": "__notes__", "nonce": nonce, "notes": ["second line ignored"]},
    ]
    raw = b"\n".join(json.dumps(line).encode() for line in lines) + b"\nnot json " + nonce.encode()
    notes = parse_kernel_notes(raw, nonce)
    assert len(notes) == 20 and notes[0] == "x" * 300 and notes[1] == "n0"
    assert parse_kernel_notes(raw, new_nonce()) == []
    assert parse_kernel_notes(b"", nonce) == []


# --- in the sandbox --------------------------------------------------------------------------


def run(pool, cells, *, data=None, limits=None):
    """Run cells (then the harness with no checks) in a fresh sandboxed kernel.

    Returns (the executed cells, the kernel's notes as parse_kernel_notes reads them).
    """
    limits = (limits or Limits()).with_spec_times(180, 90)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nonce = new_nonce()
    with pool.slot({DATA_SLUG: data} if data else None) as slot:
        kernel = take_kernel(slot, DATA_SLUG if data else None, limits)
        try:
            report = execute(kernel, nb, harness_source(nonce, []), limits)
            raw = kernel.read_result()
        finally:
            kernel.close()
    assert report.harness_finished, report.harness_problem
    return report.notebook.cells, parse_kernel_notes(raw, nonce)


def text_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def errors_of(cell) -> list[tuple[str, str]]:
    return [(o["ename"], o["evalue"]) for o in cell.outputs if o.get("output_type") == "error"]


def facts_of(cell) -> dict:
    line = next(x for x in text_of(cell).splitlines() if x.startswith("FACTS "))
    return json.loads(line[len("FACTS ") :])


COURSE_IMPORTS = """
import csv, io, json, pickle
import numpy as np
import pandas as pd
import tensorflow as tf
import matplotlib.pyplot as plt
import matplotlib.image as mpimg
from scipy.stats import linregress
import tensorflow_datasets as tfds
import keras_nlp
from IPython.display import display, HTML
import gdown
from tensorflow.keras.preprocessing.text import Tokenizer
from tensorflow.keras.preprocessing.sequence import pad_sequences
tokenizer = keras_nlp.tokenizers.WordPieceTokenizer(vocabulary=["[UNK]", "the", "cat", "##s"])
frame = pd.read_csv(io.StringIO("category,text\\ntech,the cats\\n"))
print("FACTS " + json.dumps({
    "slope": float(linregress([1, 2, 3], [2, 4, 6]).slope),
    "tokens": [int(t) for t in tokenizer("the cats")],
    "frame": frame.shape,
    "tf": tf.__version__,
}))
"""


@pytest.mark.slow
def test_the_course_imports_work_in_the_sandbox(sandbox_pool):
    cells, _ = run(sandbox_pool, [COURSE_IMPORTS, "%tensorflow_version 2.x\nprint('ok')"])
    assert errors_of(cells[0]) == []
    facts = facts_of(cells[0])
    assert facts["slope"] == pytest.approx(2.0)
    assert facts["tokens"] == [1, 2, 3] and facts["frame"] == [1, 2]
    assert facts["tf"].startswith("2.")
    assert errors_of(cells[1]) == [] and text_of(cells[1]) == "ok\n"


def _pngs(cell) -> int:
    return sum(1 for o in cell.outputs if "image/png" in (o.get("data") or {}))


@pytest.mark.slow
def test_figures_become_png_outputs(sandbox_pool):
    cells, _ = run(
        sandbox_pool,
        [
            "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.xlabel('Epochs')\nplt.show()",
            "plt.plot([3, 2, 1])",  # a figure left at the cell's end
            "fig, ax = plt.subplots(1, 2, figsize=(10, 5))\nax[0].plot([1, 2])\nax[1].plot([2, 1])",
            "print('no figure here')",
        ],
    )
    assert [_pngs(c) for c in cells] == [1, 1, 1, 0]
    assert all(errors_of(c) == [] for c in cells)


STAND_INS = """
import unittests
unittests.test_parse_data_from_file(print)
from google.colab import files
files.download("vecs.tsv")
import google.protobuf
from google.protobuf import descriptor_pb2
print("FACTS " + json.dumps({"colab": files.__name__, "protobuf": google.protobuf.__name__}))
files.upload()
"""


@pytest.mark.slow
def test_unittests_and_google_colab_stand_ins(sandbox_pool):
    cells, notes = run(sandbox_pool, ["import json", STAND_INS])
    assert text_of(cells[1]).startswith(shim.NO_LOCAL_TEST + "\n")
    assert facts_of(cells[1]) == {"colab": "google.colab.files", "protobuf": "google.protobuf"}
    ((ename, evalue),) = errors_of(cells[1])
    assert ename == "ColabOnlyError" and "instructor" in evalue
    assert any("files.download('vecs.tsv')" in n for n in notes)


@pytest.mark.slow
def test_a_members_own_unittests_module_wins(sandbox_pool):
    cells, _ = run(
        sandbox_pool,
        [
            "open('unittests.py', 'w').write('def test_x(f):\\n    print(\"my own test\")\\n')",
            "import unittests\nunittests.test_x(None)",
        ],
    )
    assert text_of(cells[1]) == "my own test\n"


# --- downloads answered from ./data ----------------------------------------------------------

TFDS_WRITER = textwrap.dedent(
    """
    import os, shutil, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow_datasets as tfds
    from tensorflow_datasets.datasets.imdb_reviews import imdb_reviews_dataset_builder as imdb

    # subwords8k: the text-encoded config today's tfds no longer registers
    text = tfds.deprecated.text
    subwords = imdb.IMDBReviewsConfig(
        name="subwords8k",
        text_encoder_config=text.TextEncoderConfig(
            encoder_cls=text.SubwordTextEncoder, vocab_size=300
        ),
    )

    class Tiny(imdb.Builder, skip_registration=True):
        name = "imdb_reviews"
        BUILDER_CONFIGS = [*imdb.Builder.BUILDER_CONFIGS, subwords]
        pkg_dir_path = imdb.Builder._get_pkg_dir_path()
        url_infos = None  # nothing is downloaded

        def _split_generators(self, dl_manager):
            corpus = (f"train review {i}, a good film" for i in range(4))
            self.info.features["text"].maybe_build_from_corpus(corpus)
            return {s: self._generate_examples(s) for s in ("train", "test", "unsupervised")}

        def _generate_examples(self, split):
            for i in range(4):
                label = -1 if split == "unsupervised" else i % 2
                yield f"{split}_{i}", {"text": f"{split} review {i}", "label": label}

    tfds.disable_progress_bar()
    root = sys.argv[1]
    for config in ("plain_text", "subwords8k"):
        Tiny(data_dir=root, config=config).download_and_prepare(
            download_dir=os.path.join(root, "downloads"),
            download_config=tfds.download.DownloadConfig(try_download_gcs=False),
        )
    shutil.rmtree(os.path.join(root, "downloads"), ignore_errors=True)
    """
)


@pytest.fixture(scope="module")
def course_data(tmp_path_factory) -> Path:
    """An exercise data folder as graders.datasets lays it out, with its download manifest."""
    data = tmp_path_factory.mktemp("course-kernel") / "data"
    (data / "sarcasm").mkdir(parents=True)
    (data / "sarcasm" / "sarcasm.json").write_text('[{"headline": "a", "is_sarcastic": 1}]')
    (data / "bbc-text.csv").write_text("category,text\ntech,the cats\n")
    (data / "glove").mkdir()
    (data / "glove" / "glove.6B.100d.txt").write_text("the " + " ".join(["0.5"] * 100) + "\n")
    (data / "drive.csv").write_text("id,value\n1,2\n")
    with zipfile.ZipFile(data / "archive.zip", "w") as handle:
        handle.writestr("inner/a.txt", "from the zip")
    (data / "unpacked" / "inner").mkdir(parents=True)
    (data / "unpacked" / "inner" / "b.txt").write_text("already unpacked")
    subprocess.run(
        [sys.executable, "-c", TFDS_WRITER, str(data / "tfds")],
        check=True,
        capture_output=True,
        timeout=600,
    )
    assert (data / "tfds" / "imdb_reviews" / "plain_text").is_dir()
    assert (
        data / "tfds" / "imdb_reviews" / "subwords8k" / "1.0.0" / "text.text.subwords"
    ).is_file()
    _manifest(
        data,
        urls={
            SARCASM_URL: "sarcasm/sarcasm.json",
            ZIP_URL: "archive.zip",
            UNPACKED_URL: "unpacked",
            DRIVE_URL: "drive.csv",
        },
        names={"sarcasm.json": "sarcasm/sarcasm.json", "bbc-text.csv": "bbc-text.csv"},
        tfds_dir="tfds",
        paths={
            "/tmp/glove.6B.100d.txt": "glove/glove.6B.100d.txt",
            "/home/student/.keras/datasets/bbc.csv": "bbc-text.csv",
            "/etc/escape": "bbc-text.csv",  # not under /tmp or HOME: ignored
        },
    )
    for path in data.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    data.chmod(0o755)
    return data


DOWNLOADS = [
    # 0: the rewritten `!wget --no-check-certificate URL -O /tmp/sarcasm.json`, and `!wget -nc URL`
    f"""
import json, os
__adventures_fetch__({SARCASM_URL!r}, '/tmp/sarcasm.json')
__adventures_fetch__('https://mirror.example/course3/bbc-text.csv', None)
print("FACTS " + json.dumps({{
    "sarcasm": json.load(open('/tmp/sarcasm.json')),
    "link": os.path.islink('/tmp/sarcasm.json'),
    "bbc": open('bbc-text.csv').read().splitlines()[0],
    "glove": open('/tmp/glove.6B.100d.txt').read().split()[0],
    "keras_home": open('/home/student/.keras/datasets/bbc.csv').read().splitlines()[1],
    "escape": os.path.exists('/etc/escape'),
}}))
""",
    # 1: urllib
    f"""
import urllib.request
path, headers = urllib.request.urlretrieve({SARCASM_URL!r}, 'sarcasm_copy.json')
direct, _ = urllib.request.urlretrieve({SARCASM_URL!r})
print("FACTS " + json.dumps({{"path": path, "same": open(path).read() == open(direct).read()}}))
""",
    # 2: keras get_file, with a hash the stand-in cannot match, and an archive to extract
    f"""
import tensorflow as tf
plain = tf.keras.utils.get_file('sarcasm.json', origin={SARCASM_URL!r}, file_hash='0' * 64)
extracted = tf.keras.utils.get_file(origin={ZIP_URL!r}, extract=True)
unpacked = tf.keras.utils.get_file('unpacked.zip', origin={UNPACKED_URL!r}, extract=True)
print("FACTS " + json.dumps({{
    "plain": plain,
    "plain_text": json.load(open(plain))[0]["headline"],
    "zip": open(os.path.join(extracted, 'inner', 'a.txt')).read(),
    "unpacked": open(os.path.join(unpacked, 'inner', 'b.txt')).read(),
}}))
""",
    # 3: gdown, and the rewritten `!wget URL -O x.zip` + `!unzip x.zip -d /tmp/un`
    f"""
import gdown
out = gdown.download({DRIVE_URL!r}, 'drive_copy.csv', quiet=True)
by_id = gdown.download(id='1AbCdEf', output='/tmp/by_id.csv', quiet=True)
__adventures_fetch__({ZIP_URL!r}, '/tmp/archive.zip')
__adventures_unpack__('/tmp/archive.zip', '/tmp/un')
__adventures_fetch__({UNPACKED_URL!r}, '/tmp/unpacked.zip')
__adventures_unpack__('/tmp/unpacked.zip', None)
print("FACTS " + json.dumps({{
    "gdown": [out, open(out).read().splitlines()[1], open(by_id).read().splitlines()[0]],
    "unzip": open('/tmp/un/inner/a.txt').read(),
    "unpacked": open('inner/b.txt').read(),
}}))
""",
    # 4: tfds, whatever data_dir and download the notebook passes
    """
import tensorflow_datasets as tfds
imdb = tfds.load("imdb_reviews", as_supervised=True, data_dir="../data/", download=False)
imdb2, info = tfds.load("imdb_reviews", with_info=True, as_supervised=True)
text, label = next(iter(imdb["train"].take(1)))
print("FACTS " + json.dumps({
    "splits": sorted(imdb), "text": text.numpy().decode()[:5], "classes": info.features["label"].num_classes,
    "builder": tfds.builder("imdb_reviews").info.name,
}))
""",
    # 5: what is missing says what to add
    f"__adventures_fetch__({MISSING_URL!r}, '/tmp/missing.bin')",
    "urllib.request.urlretrieve('https://nowhere.example/other.csv', 'other.csv')",
    "tfds.load('mnist')",
    "open('/run/kernel/settings.json', 'w')",  # the shim's settings are read-only
]


@pytest.mark.slow
def test_downloads_are_answered_from_the_exercise_data(sandbox_pool, course_data):
    cells, notes = run(sandbox_pool, DOWNLOADS, data=course_data)
    for cell in cells[:5]:
        assert errors_of(cell) == [], text_of(cell)
    first = facts_of(cells[0])
    assert first["sarcasm"] == [{"headline": "a", "is_sarcastic": 1}] and first["link"] is True
    assert first["bbc"] == "category,text" and first["glove"] == "the"
    assert first["keras_home"] == "tech,the cats" and first["escape"] is False
    assert facts_of(cells[1]) == {"path": "sarcasm_copy.json", "same": True}
    keras = facts_of(cells[2])
    assert keras["plain"] == "/home/student/.keras/datasets/sarcasm.json"
    assert keras["plain_text"] == "a"
    assert keras["zip"] == "from the zip" and keras["unpacked"] == "already unpacked"
    third = facts_of(cells[3])
    assert third["gdown"] == ["drive_copy.csv", "1,2", "id,value"]
    assert third["unzip"] == "from the zip" and third["unpacked"] == "already unpacked"
    tfds_facts = facts_of(cells[4])
    assert tfds_facts["splits"] == ["test", "train", "unsupervised"]
    assert tfds_facts["text"] == "train" and tfds_facts["classes"] == 2
    assert tfds_facts["builder"] == "imdb_reviews"

    ((ename, evalue),) = errors_of(cells[5])
    assert ename == "DataNotAvailable" and MISSING_URL in evalue
    assert f"ask the instructor to add it: adventures data add FILE --url {MISSING_URL}" in evalue
    ((ename, evalue),) = errors_of(cells[6])
    assert ename == "DataNotAvailable" and "https://nowhere.example/other.csv" in evalue
    ((ename, evalue),) = errors_of(cells[7])
    assert ename == "DataNotAvailable" and "'mnist'" in evalue and "instructor" in evalue
    ((ename, _),) = errors_of(cells[8])
    assert ename == "OSError"

    served = [n for n in notes if n.startswith("Download served from the exercise's data")]
    assert any(SARCASM_URL in n and "/tmp/sarcasm.json" in n for n in served)
    assert any(DRIVE_URL in n for n in served) and any(ZIP_URL in n for n in served)
    assert any(n.startswith("tfds.load('imdb_reviews')") for n in notes)
    assert len(notes) <= 20


SUBWORDS_LESSON = """
import json
import tensorflow as tf
import tensorflow_datasets as tfds
imdb, info = tfds.load("imdb_reviews/subwords8k", with_info=True, as_supervised=True)
train_data, test_data = imdb["train"], imdb["test"]
tokenizer = info.features["text"].encoder
sample = "TensorFlow, from basics to mastery"
ids = tokenizer.encode(sample)
batches = train_data.shuffle(10).padded_batch(3, tf.compat.v1.data.get_output_shapes(train_data))
x, y = next(iter(batches))
tf1_style = test_data.padded_batch(2, test_data.output_shapes)  # TF 1.x's attribute
only_test = tfds.load("imdb_reviews/subwords8k", split="test")
print("FACTS " + json.dumps({
    "encoder": type(tokenizer).__name__, "vocab": tokenizer.vocab_size,
    "subwords": len(tokenizer.subwords), "round_trip": tokenizer.decode(ids) == sample,
    "batch": [list(x.shape), x.dtype.name, list(y.shape)],
    "decoded": tokenizer.decode([int(i) for i in x[0] if i]).startswith("train review"),
    "tf1_style": [list(next(iter(tf1_style))[0].shape)[0], str(test_data.output_types[0])],
    "splits": sorted(imdb), "test_spec": only_test.element_spec["text"].dtype.name,
    "builder": tfds.builder("imdb_reviews/subwords8k").info.features["text"].encoder.vocab_size,
}))
"""


@pytest.mark.slow
def test_a_retired_subwords_config_loads_from_the_prepared_copy(sandbox_pool, course_data):
    """The older lessons' tfds.load("imdb_reviews/subwords8k") and its SubwordTextEncoder."""
    missing = 'tfds.load("imdb_reviews/subwords32k", as_supervised=True)'
    cells, notes = run(sandbox_pool, [SUBWORDS_LESSON, missing], data=course_data)
    ((ename, evalue),) = errors_of(cells[1])
    assert ename == "DataNotAvailable" and "imdb_reviews/subwords32k/" in evalue
    assert errors_of(cells[0]) == [], text_of(cells[0])
    facts = facts_of(cells[0])
    assert facts["encoder"] == "SubwordTextEncoder" and facts["round_trip"] is True
    assert facts["vocab"] == facts["builder"] > 256 and facts["subwords"] >= 1
    (rows, length), dtype, labels = facts["batch"]
    assert rows == 3 and length > 0 and dtype == "int64" and labels == [3]
    assert facts["decoded"] is True
    assert facts["tf1_style"] == [2, "<dtype: 'int64'>"]
    assert any(n.startswith("dataset.output_shapes is TF 1.x") for n in notes)
    assert facts["splits"] == ["test", "train", "unsupervised"]
    assert facts["test_spec"] == "int64"
    assert any(n.startswith("tfds.load('imdb_reviews/subwords8k'): today's") for n in notes)


# --- course-era compatibility -------------------------------------------------------------------

COMPAT = """
import json
import numpy as np
import tensorflow as tf
tf.keras.utils.set_random_seed(0)
x = np.random.rand(6, 4).astype("float32")
softmax = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3, activation="softmax")])
sigmoid = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(1, activation="sigmoid")])
classes, binary = softmax.predict_classes(x), sigmoid.predict_classes(x)
model = tf.keras.Sequential([
    tf.keras.layers.Embedding(100, 8, input_length=10),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
unbuilt = tf.keras.Sequential([tf.keras.layers.Embedding(50, 4, input_length=7), tf.keras.layers.Flatten()])
print("FACTS " + json.dumps({
    "classes": classes.tolist(),
    "argmax": np.argmax(softmax.predict(x, verbose=0), axis=-1).tolist(),
    "binary": binary.tolist(),
    "threshold": (sigmoid.predict(x, verbose=0) > 0.5).astype("int32").tolist(),
    "binary_dtype": str(binary.dtype),
    "input_length": model.layers[0]._adventures_input_length,
    "built_before": model.built,
    "params": unbuilt.count_params(),
}))
model.summary()
print("FACTS " + json.dumps({"built": model.built, "output": list(model.output_shape), "params": model.count_params()}))
"""

FIT = """
y = (x.sum(axis=1) > 2).astype("float32")
sigmoid.compile(loss="binary_crossentropy", optimizer="adam")
by_name = sigmoid.fit(x, y, epochs=5, verbose=0)
positional = sigmoid.fit(x, y, 3, 4, verbose=0)
print("FACTS " + json.dumps([len(by_name.history["loss"]), len(positional.history["loss"])]))
"""


@pytest.mark.slow
def test_course_era_keras_code_runs_and_leaves_notes(sandbox_pool):
    cells, notes = run(sandbox_pool, [COMPAT, FIT])
    assert errors_of(cells[0]) == [] and errors_of(cells[1]) == []
    facts = [json.loads(x[6:]) for x in text_of(cells[0]).splitlines() if x.startswith("FACTS ")]
    first, after = facts
    assert first["classes"] == first["argmax"] and len(first["classes"]) == 6
    assert first["binary"] == first["threshold"] and first["binary_dtype"] == "int32"
    assert len(first["binary"]) == 6 and all(len(row) == 1 for row in first["binary"])
    assert first["input_length"] == 10 and first["built_before"] is False
    assert first["params"] == 50 * 4
    assert after == {"built": True, "output": [None, 1], "params": 100 * 8 + 80 + 1}
    assert facts_of(cells[1]) == [5, 4]  # no cap: every epoch runs
    assert shim.PREDICT_CLASSES_NOTE in notes
    assert any("start the model with tf.keras.Input(shape=(10,))" in n for n in notes)
    assert any("input_length is deprecated (accepted but ignored by Keras 3)" in n for n in notes)
    assert not any("capped" in n for n in notes)


@pytest.mark.slow
def test_the_training_cap_limits_epochs(sandbox_pool):
    cells, notes = run(
        sandbox_pool,
        [COMPAT.split("model = ")[0], FIT],
        limits=Limits(epochs_cap=2),
    )
    assert errors_of(cells[1]) == []
    assert facts_of(cells[1]) == [2, 2]
    assert any(n.startswith("Training is capped at 2 epoch(s)") and "epochs=5" in n for n in notes)


SUBWORDS = """
import keras_nlp
tokenizer = keras_nlp.tokenizers.WordPieceTokenizer(
    vocabulary=["[UNK]", "the", "cat", "##s", "sat"], lowercase=True)
ids = tokenizer.tokenize("the cats sat")
whole = tokenizer.detokenize(ids).numpy().decode("utf-8")
pieces = [tokenizer.detokenize([i]).numpy().decode("utf-8") for i in ids]
print("FACTS " + json.dumps([whole, pieces, whole.upper()]))
"""


@pytest.mark.slow
def test_course_era_keras_nlp_detokenize_still_has_numpy(sandbox_pool):
    """The labs call `.detokenize(ids).numpy()` (a tensor in keras-nlp 0.11, a str today)."""
    cells, notes = run(sandbox_pool, ["import json\n" + SUBWORDS])
    assert errors_of(cells[0]) == []
    assert facts_of(cells[0]) == ["the cats sat", ["the", "cat", "##s", "sat"], "THE CATS SAT"]
    assert any("detokenize() returns a str in today's keras-hub" in n for n in notes)


@pytest.mark.slow
def test_course_era_lr_reads_as_learning_rate(sandbox_pool):
    code = (
        "import json\nimport tensorflow as tf\n"
        "adam = tf.keras.optimizers.Adam(lr=0.01)\n"
        "sgd = tf.keras.optimizers.SGD(lr=0.5, momentum=0.9)\n"
        "print('FACTS ' + json.dumps([round(float(adam.learning_rate), 6),"
        " round(float(sgd.learning_rate), 6), float(sgd.momentum)]))\n"
    )
    cells, notes = run(sandbox_pool, [code])
    assert errors_of(cells[0]) == []
    assert facts_of(cells[0]) == [0.01, 0.5, 0.9]
    assert shim.LR_NOTE in notes
